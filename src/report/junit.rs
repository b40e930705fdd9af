//! JUnit XML for CI systems that show test reports (Jenkins, GitLab, GitHub test reporters).
//!
//! The shape, valid against the JUnit schema Jenkins' xUnit plugin validates with
//! (`junit-10.xsd`), which GitLab and the others read too:
//!
//! - one `<testsuite>` per scenario (per scale, for a sweep), with the run's settings as
//!   `<properties>`;
//! - per operation a test case `gate` (classname `scenario.operation`): a `<failure>` when
//!   the operation returns different rows without `expect_same_result = false`, or regressed
//!   against the baseline; an `<error>` when the run ended before it was measured; the
//!   latencies, speedup, plan change and result in `<system-out>`;
//! - per claim a test case `claim: <claim>` (same classname): `<failure>` with the reason when
//!   refuted, `<skipped>` with the reason when inconclusive (the evidence decides neither way,
//!   which is neither a pass nor a failure; CI shows it as skipped), nothing when it holds;
//! - a scenario that stopped with an error gets a test case `scenario` with an `<error>`.
//!
//! `time` is the measured execution time in seconds (the sum of every timed execution, both
//! sides), so CI duration charts show where the measurement time went. The root element has
//! no `skipped` attribute because `junit-10.xsd` does not allow one there; the suites carry it.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::text::{
    claim_word, gate_of, measured, result_text, server_speedup_text, speedup_text,
    unexpected_difference, verdict_word, NOT_MEASURED,
};
use super::text::{describe_interval, fail_on_word, fmt_us, shown_sides, ONE_SIDE};
use super::{
    ClaimReport, ClaimVerdict, OperationGate, OperationReport, Report, RunStatus, ScenarioReport,
    SideReport, SweepReport, Verdict,
};

/// Escapes text for XML content and double-quoted attributes. Characters XML 1.0 cannot
/// carry at all (most control characters) become U+FFFD; in attributes, newlines and tabs are
/// written as references so that parsers keep them.
pub fn xml_escape(s: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\r' if attribute => out.push_str("&#13;"),
            '\t' if attribute => out.push_str("&#9;"),
            '\n' | '\r' | '\t' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

fn attr(s: &str) -> String {
    xml_escape(s, true)
}

fn text(s: &str) -> String {
    xml_escape(s, false)
}

/// What a test case reports besides passing.
enum Outcome {
    Pass,
    Failure {
        kind: &'static str,
        message: String,
        body: String,
    },
    Error {
        kind: &'static str,
        message: String,
        body: String,
    },
    Skipped {
        message: String,
    },
}

struct Case {
    name: String,
    classname: String,
    time_s: f64,
    outcome: Outcome,
    out: String,
}

impl Case {
    /// An error case for a run or scenario that did not finish.
    fn incomplete(name: &str, classname: &str, error: &str) -> Case {
        Case {
            name: name.into(),
            classname: classname.into(),
            time_s: 0.0,
            outcome: Outcome::Error {
                kind: "incomplete",
                message: error.to_string(),
                body: format!("{error}\n"),
            },
            out: String::new(),
        }
    }
}

struct Suite {
    name: String,
    timestamp: String,
    hostname: String,
    properties: Vec<(String, String)>,
    cases: Vec<Case>,
}

impl Suite {
    fn count(&self, f: fn(&Outcome) -> bool) -> usize {
        self.cases.iter().filter(|c| f(&c.outcome)).count()
    }
    fn time_s(&self) -> f64 {
        self.cases.iter().map(|c| c.time_s).sum()
    }
}

fn is_failure(o: &Outcome) -> bool {
    matches!(o, Outcome::Failure { .. })
}
fn is_error(o: &Outcome) -> bool {
    matches!(o, Outcome::Error { .. })
}
fn is_skipped(o: &Outcome) -> bool {
    matches!(o, Outcome::Skipped { .. })
}

/// Seconds spent in the timed executions of a side.
fn measured_s(side: &SideReport) -> f64 {
    side.latency.mean_us * side.latency.count as f64 / 1e6
}

fn side_line(name: &str, side: &SideReport) -> String {
    if !measured(side) {
        return format!("{name}: {NOT_MEASURED}");
    }
    let l = &side.latency;
    format!(
        "{name}: p50 {}, p95 {}, p99 {}, max {} ({} executions); server {}",
        fmt_us(l.p50_us),
        fmt_us(l.p95_us),
        fmt_us(l.p99_us),
        fmt_us(l.max_us),
        l.count,
        super::server::server_cell(side)
    )
}

fn gate_case(report: &Report, s: &ScenarioReport, op: &OperationReport, classname: &str) -> Case {
    let gate = gate_of(report, s, op);
    // A regression fails the case only when the run fails on regressions (--fail-on).
    let gate_fails = gate.filter(|_| report.fail_on.regressions());
    let problems = gate_problems(s, op, gate_fails);
    Case {
        name: "gate".into(),
        classname: classname.into(),
        time_s: measured_s(&op.before) + measured_s(&op.after),
        outcome: gate_outcome(report, s, op, &problems),
        out: gate_output(s, op, gate),
    }
}

/// The measurements, the plan and result, the baseline comparison and the warnings, as the
/// case's system-out.
fn gate_output(s: &ScenarioReport, op: &OperationReport, gate: Option<&OperationGate>) -> String {
    let mut out = String::new();
    for (name, side) in shown_sides(s, op) {
        let _ = writeln!(out, "{}", side_line(name, side));
    }
    if s.single_side {
        let _ = writeln!(out, "{ONE_SIDE}");
        let _ = writeln!(out, "plan: {}", op.plan_change);
    } else {
        let _ = writeln!(out, "speedup p50: {}", speedup_text(op));
        let _ = writeln!(out, "server speedup: {}", server_speedup_text(op));
        let _ = writeln!(
            out,
            "speedup p95: {}",
            op.speedup_p95
                .as_ref()
                .map_or("–".into(), describe_interval)
        );
        let _ = writeln!(
            out,
            "plan: {}{}",
            if op.plan_changed { "changed: " } else { "" },
            op.plan_change
        );
        let _ = writeln!(out, "result: {}", result_text(op));
    }
    if let Some(g) = gate {
        let _ = writeln!(out, "baseline: {}", verdict_word(g.verdict));
        for f in &g.findings {
            let _ = writeln!(
                out,
                "  {} ({}): {}",
                f.id,
                verdict_word(f.verdict),
                f.message
            );
        }
    }
    for w in s
        .warnings
        .iter()
        .filter(|w| w.operation.as_deref() == Some(op.name.as_str()))
    {
        let _ = writeln!(out, "warning[{}]: {}", w.id, w.message);
    }
    out
}

/// What fails the gate case: rows that differ unexpectedly, a regression against the baseline.
fn gate_problems(
    s: &ScenarioReport,
    op: &OperationReport,
    gate: Option<&OperationGate>,
) -> Vec<(&'static str, String)> {
    let mut problems: Vec<(&'static str, String)> = Vec::new();
    if unexpected_difference(s, op) {
        let detail = match (&op.before.result_checksum, &op.after.result_checksum) {
            (Some(b), Some(a)) => format!(" ({b} before, {a} after)"),
            _ => String::new(),
        };
        problems.push((
            "results-differ",
            format!("returns different rows after the change{detail}"),
        ));
    }
    if let Some(g) = gate.filter(|g| g.verdict == Verdict::Regressed) {
        let why: Vec<&str> = g
            .findings
            .iter()
            .filter(|f| f.verdict == Verdict::Regressed)
            .map(|f| f.message.as_str())
            .collect();
        problems.push((
            "regressed",
            if why.is_empty() {
                "regressed against the baseline".into()
            } else {
                format!("regressed against the baseline: {}", why.join("; "))
            },
        ));
    }
    problems
}

/// An error when a side was not measured, else a failure listing the problems, else a pass.
fn gate_outcome(
    report: &Report,
    s: &ScenarioReport,
    op: &OperationReport,
    problems: &[(&'static str, String)],
) -> Outcome {
    if s.load.as_ref().is_some_and(|l| l.mode == "under-load") && problems.is_empty() {
        // The migration under load replaces the single-client comparison: the operation's
        // verdicts are the load claims.
        return Outcome::Pass;
    }
    if shown_sides(s, op).iter().any(|(_, side)| !measured(side)) {
        let why = s
            .error
            .as_deref()
            .or(report.error.as_deref())
            .unwrap_or("the run ended before this operation was measured");
        let mut body = format!("{NOT_MEASURED}: {why}\n");
        for (_, p) in problems {
            let _ = writeln!(body, "{p}");
        }
        Outcome::Error {
            kind: "not-measured",
            message: format!("{NOT_MEASURED}: {why}"),
            body,
        }
    } else if problems.is_empty() {
        Outcome::Pass
    } else {
        let message = problems
            .iter()
            .map(|(_, p)| p.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        Outcome::Failure {
            kind: problems[0].0,
            body: message.clone() + "\n",
            message,
        }
    }
}

/// A claim as a test case: refuted fails, inconclusive is skipped, holds passes.
fn claim_case(report: &Report, c: &ClaimReport, classname: &str) -> Case {
    let outcome = match c.verdict {
        ClaimVerdict::Holds => Outcome::Pass,
        // A refuted claim fails the case only when the run fails on claims (--fail-on).
        ClaimVerdict::Refuted if !report.fail_on.claims() => Outcome::Skipped {
            message: format!(
                "refuted (not failing: --fail-on {}): {}",
                fail_on_word(report.fail_on),
                c.reason
            ),
        },
        ClaimVerdict::Refuted => Outcome::Failure {
            kind: "refuted",
            message: c.reason.clone(),
            body: format!("claim `{}` ({}) refuted: {}\n", c.claim, c.parsed, c.reason),
        },
        ClaimVerdict::Inconclusive => Outcome::Skipped {
            message: format!("inconclusive: {}", c.reason),
        },
        ClaimVerdict::NotEvaluated => Outcome::Skipped {
            message: format!("not evaluated: {}", c.reason),
        },
    };
    Case {
        name: format!("claim: {}", c.claim),
        classname: classname.to_string(),
        time_s: 0.0,
        out: format!("{}: {}\n", claim_word(c.verdict), c.reason),
        outcome,
    }
}

/// The claims judged over a sweep, one suite per swept scenario.
fn sweep_suite(report: &Report, sw: &SweepReport) -> Option<Suite> {
    let cases: Vec<Case> = sw
        .operations
        .iter()
        .flat_map(|op| {
            let classname = format!("{}.{}", sw.scenario, op.name);
            op.claims
                .iter()
                .map(move |c| claim_case(report, c, &classname))
        })
        .collect();
    let scales: Vec<String> = sw.scales.iter().map(|s| s.to_string()).collect();
    (!cases.is_empty()).then(|| Suite {
        name: format!("{} across scales", sw.scenario),
        timestamp: report.started_at.clone(),
        hostname: report.environment.machine.hostname.clone(),
        properties: vec![("scales".into(), scales.join(","))],
        cases,
    })
}

fn suite(report: &Report, s: &ScenarioReport) -> Suite {
    let mut cases = Vec::new();
    if let Some(e) = &s.error {
        cases.push(Case::incomplete("scenario", &s.name, e));
    }
    for op in &s.operations {
        let classname = format!("{}.{}", s.name, op.name);
        cases.push(gate_case(report, s, op, &classname));
        for c in &op.claims {
            cases.push(claim_case(report, c, &classname));
        }
    }
    for c in s.load.iter().flat_map(|l| &l.claims) {
        cases.push(claim_case(report, c, &format!("{}.load", s.name)));
    }
    let env = &report.environment;
    let mut properties = vec![
        ("scenario_file".to_string(), s.file.clone()),
        ("scale".into(), s.scale.to_string()),
        (
            "status".into(),
            match s.status {
                RunStatus::Complete => "complete".into(),
                RunStatus::Incomplete => "incomplete".into(),
            },
        ),
        (
            "rounds".into(),
            format!("{} of {}", s.run.rounds_completed, s.run.rounds),
        ),
        ("iterations".into(), s.run.iterations.to_string()),
        ("backend".into(), env.backend.clone()),
        ("server_version".into(), env.server_version.clone()),
        ("querygate".into(), report.tool.version.clone()),
    ];
    if let Some(c) = &env.git_commit {
        properties.push(("git_commit".into(), c.clone()));
    }
    Suite {
        name: format!("{}{}", s.name, super::scaling::scale_suffix(report, s)),
        timestamp: report.started_at.clone(),
        hostname: env.machine.hostname.clone(),
        properties,
        cases,
    }
}

pub fn render<W: Write + ?Sized>(w: &mut W, report: &Report) -> io::Result<()> {
    w.write_all(to_string(report).as_bytes())
}

/// The whole document as a string.
pub fn to_string(report: &Report) -> String {
    let mut suites: Vec<Suite> = report.scenarios.iter().map(|s| suite(report, s)).collect();
    suites.extend(
        report
            .sweeps
            .iter()
            .filter_map(|sw| sweep_suite(report, sw)),
    );
    if let (Some(e), true) = (&report.error, suites.is_empty()) {
        // The run failed before any scenario started: CI should still see a red test.
        suites.push(Suite {
            name: report.tool.name.clone(),
            timestamp: report.started_at.clone(),
            hostname: report.environment.machine.hostname.clone(),
            properties: vec![],
            cases: vec![Case::incomplete("run", &report.tool.name, e)],
        });
    }
    let total = |f: fn(&Outcome) -> bool| suites.iter().map(|s| s.count(f)).sum::<usize>();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{:.3}\">",
        attr(&report.tool.name),
        suites.iter().map(|s| s.cases.len()).sum::<usize>(),
        total(is_failure),
        total(is_error),
        report.duration_ms / 1000.0
    );
    for (id, s) in suites.iter().enumerate() {
        let _ = writeln!(
            x,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" \
             time=\"{:.3}\" timestamp=\"{}\" hostname=\"{}\" id=\"{id}\">",
            attr(&s.name),
            s.cases.len(),
            s.count(is_failure),
            s.count(is_error),
            s.count(is_skipped),
            s.time_s(),
            attr(&s.timestamp),
            attr(&s.hostname),
        );
        if !s.properties.is_empty() {
            x.push_str("    <properties>\n");
            for (k, v) in &s.properties {
                let _ = writeln!(
                    x,
                    "      <property name=\"{}\" value=\"{}\"/>",
                    attr(k),
                    attr(v)
                );
            }
            x.push_str("    </properties>\n");
        }
        for c in &s.cases {
            testcase(&mut x, c);
        }
        x.push_str("  </testsuite>\n");
    }
    x.push_str("</testsuites>\n");
    x
}

/// One `<testcase>` element.
fn testcase(x: &mut String, c: &Case) {
    let _ = write!(
        x,
        "    <testcase name=\"{}\" classname=\"{}\" time=\"{:.3}\"",
        attr(&c.name),
        attr(&c.classname),
        c.time_s
    );
    if matches!(c.outcome, Outcome::Pass) && c.out.is_empty() {
        x.push_str("/>\n");
        return;
    }
    x.push_str(">\n");
    match &c.outcome {
        Outcome::Pass => {}
        Outcome::Failure {
            kind,
            message,
            body,
        } => {
            let _ = writeln!(
                x,
                "      <failure type=\"{kind}\" message=\"{}\">{}</failure>",
                attr(message),
                text(body)
            );
        }
        Outcome::Error {
            kind,
            message,
            body,
        } => {
            let _ = writeln!(
                x,
                "      <error type=\"{kind}\" message=\"{}\">{}</error>",
                attr(message),
                text(body)
            );
        }
        Outcome::Skipped { message } => {
            let _ = writeln!(x, "      <skipped message=\"{}\"/>", attr(message));
        }
    }
    if !c.out.is_empty() {
        let _ = writeln!(x, "      <system-out>{}</system-out>", text(&c.out));
    }
    x.push_str("    </testcase>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_keeps_xml_well_formed() {
        assert_eq!(
            xml_escape("a<b & \"c\"\n\u{1}", true),
            "a&lt;b &amp; &quot;c&quot;&#10;\u{FFFD}"
        );
        assert_eq!(xml_escape("x > 1\n\"y\"", false), "x &gt; 1\n\"y\"");
    }
}
