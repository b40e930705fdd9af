//! Words and numbers every renderer (and the analysis's claim details) shares, so the table,
//! Markdown, HTML and JUnit never disagree: latency and speedup formatting, interval
//! descriptions, the verdict line, claim and verdict words, the environment rows. Escaping
//! stays with each renderer: Markdown, HTML and XML rules differ. Pure; reads only
//! [`Report`](super::Report) values.

use std::fmt::Write as _;

use serde_json::Value as Json;

use super::{
    ClaimReport, ClaimVerdict, FailOn, Interval, OperationGate, OperationReport, Report, RunStatus,
    ScenarioReport, SideReport, StatementReport, Verdict, Warning,
};

/// Human-friendly latency: µs below 1 ms, ms below 10 s.
pub fn fmt_us(us: f64) -> String {
    if us < 1000.0 {
        format!("{us:.0}µs")
    } else if us < 10_000.0 {
        format!("{:.2}ms", us / 1000.0)
    } else if us < 10_000_000.0 {
        format!("{:.1}ms", us / 1000.0)
    } else {
        format!("{:.1}s", us / 1_000_000.0)
    }
}

/// A speedup ratio: two decimals below 10×, one above.
pub fn fmt_x(v: f64) -> String {
    if v >= 10.0 {
        format!("{v:.1}×")
    } else {
        format!("{v:.2}×")
    }
}

/// Renders an interval the way Kalibera & Jones recommend: "5.7× (95% CI 5.4–6.0×)".
pub fn describe_interval(i: &Interval) -> String {
    format!(
        "{} ({:.0}% CI {}–{})",
        fmt_x(i.estimate),
        i.confidence * 100.0,
        fmt_x(i.low).trim_end_matches('×'),
        fmt_x(i.high)
    )
}

/// One plan node's own label: type, join type, relation and index (also the unit of
/// `explain`'s plan signatures, so labels and signatures agree).
pub fn node_label(node: &Json) -> String {
    let s = |k: &str| node.get(k).and_then(Json::as_str);
    let mut label = s("Node Type").unwrap_or("?").to_string();
    if let Some(op) = s("Operation").filter(|_| label == "ModifyTable") {
        label = op.to_string();
    }
    if let Some(j) = s("Join Type") {
        label.push_str(&format!(" ({j})"));
    }
    if let Some(i) = s("Index Name") {
        label.push_str(&format!(" using {i}"));
    }
    if let Some(r) = s("Relation Name") {
        label.push_str(&format!(" on {r}"));
    }
    if let Some(p) = s("Parent Relationship").filter(|p| *p == "SubPlan" || *p == "InitPlan") {
        label = format!("{p}: {label}");
    }
    label
}

// ---------------------------------------------------------------------------------------------
// What the report says, worded once for every renderer.

/// The overall state of a run, as the first line of every human-readable output shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Pass,
    Fail,
    Incomplete,
    /// Nothing failed, but nothing was decided either: every claim is inconclusive or not
    /// evaluated, and no baseline was compared. Not a pass.
    Undecided,
}

/// The verdict line: state and one sentence, e.g. `1 refuted claim (exit code 1)`.
pub(crate) struct Headline {
    pub state: State,
    pub text: String,
}

pub(crate) fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Every claim of a report: operations', load runs' and sweeps'.
fn all_claims(report: &Report) -> impl Iterator<Item = &ClaimReport> {
    let over_sweeps = report
        .sweeps
        .iter()
        .flat_map(|s| &s.operations)
        .flat_map(|o| &o.claims);
    report
        .scenarios
        .iter()
        .flat_map(|s| {
            s.operations
                .iter()
                .flat_map(|o| &o.claims)
                .chain(s.load.iter().flat_map(|l| &l.claims))
        })
        .chain(over_sweeps)
}

pub(crate) fn refuted_claims(report: &Report) -> usize {
    all_claims(report)
        .filter(|c| c.verdict == ClaimVerdict::Refuted)
        .count()
}

fn regressions(report: &Report) -> usize {
    report.gate.as_ref().map_or(0, |g| {
        g.operations
            .iter()
            .filter(|o| o.verdict == Verdict::Regressed)
            .count()
    })
}

pub(crate) fn headline(report: &Report) -> Headline {
    let mut parts = Vec::new();
    // A kind of failure `fail_on` did not choose is still shown, marked as not failing.
    let not_failing = |fails: bool| {
        if fails {
            String::new()
        } else {
            format!(" (not failing: --fail-on {})", fail_on_word(report.fail_on))
        }
    };
    let refuted = refuted_claims(report);
    if refuted > 0 {
        parts.push(format!(
            "{}{}",
            plural(refuted, "refuted claim", "refuted claims"),
            not_failing(report.fail_on.claims())
        ));
    }
    let regressed = regressions(report);
    if regressed > 0 {
        parts.push(format!(
            "{}{}",
            plural(
                regressed,
                "regression against the baseline",
                "regressions against the baseline",
            ),
            not_failing(report.fail_on.regressions())
        ));
    }
    let unexpected = report
        .scenarios
        .iter()
        .map(|s| {
            s.operations
                .iter()
                .filter(|o| unexpected_difference(s, o))
                .count()
        })
        .sum::<usize>();
    if unexpected > 0 {
        parts.push(plural(
            unexpected,
            "operation returns different rows",
            "operations return different rows",
        ));
    }
    let code = report.exit_code;
    if report.status == RunStatus::Incomplete {
        let so_far = if parts.is_empty() {
            String::new()
        } else {
            format!(": so far {}", parts.join(", "))
        };
        return Headline {
            state: State::Incomplete,
            text: format!("incomplete{so_far} (exit code {code})"),
        };
    }
    if code == 0 {
        return passing_headline(report, parts);
    }
    if parts.is_empty() {
        parts.push(plural(report.failures.len().max(1), "failure", "failures"));
    }
    Headline {
        state: State::Fail,
        text: format!("{} (exit code {code})", parts.join(", ")),
    }
}

/// The headline of a run that exits 0: a pass, a pass with differences that did not decide the
/// exit code, or undecided when its claims decided nothing and no baseline was compared.
fn passing_headline(report: &Report, parts: Vec<String>) -> Headline {
    let code = report.exit_code;
    if !parts.is_empty() {
        return Headline {
            state: State::Pass,
            text: format!("pass, but {} (exit code {code})", parts.join(", ")),
        };
    }
    let claims: Vec<ClaimVerdict> = all_claims(report).map(|c| c.verdict).collect();
    let compared = report
        .gate
        .as_ref()
        .is_some_and(|g| !g.operations.is_empty());
    if !claims.is_empty() && !compared && !claims.contains(&ClaimVerdict::Holds) {
        return Headline {
            state: State::Undecided,
            text: format!(
                "undecided: {} decided nothing (inconclusive or not evaluated; add rounds) (exit code {code})",
                plural(claims.len(), "claim", "claims")
            ),
        };
    }
    Headline {
        state: State::Pass,
        text: format!("pass (exit code {code})"),
    }
}

pub(crate) fn fail_on_word(f: FailOn) -> &'static str {
    match f {
        FailOn::Claims => "claims",
        FailOn::Regressions => "regressions",
        FailOn::Both => "both",
    }
}

/// One definition per word: the latency table's quantiles are over every execution, while
/// speedups and latency claims use per-round quantiles. Shown under every latency table.
pub(crate) const QUANTILE_NOTE: &str = "p50/p95/p99 here are over all executions; speedups and latency claims use per-round quantiles (each round's quantile, median over rounds, with its confidence interval)";

/// The sides the details of an operation show: before and after, or for a scenario that
/// measures one side (`single_side`) that side alone, labelled `measured`.
pub(crate) fn shown_sides<'a>(
    s: &ScenarioReport,
    op: &'a OperationReport,
) -> Vec<(&'static str, &'a SideReport)> {
    if s.single_side {
        vec![("measured", &op.after)]
    } else {
        vec![("before", &op.before), ("after", &op.after)]
    }
}

/// What a scenario's title says about its change: `migration 16 ms`, or that it measured one
/// side.
pub(crate) fn change_text(s: &ScenarioReport) -> String {
    if s.single_side {
        ONE_SIDE.into()
    } else {
        format!("migration {:.0} ms", s.migration.duration_ms)
    }
}

/// A scenario without a migration and with the same SQL on both sides is measured once.
pub(crate) const ONE_SIDE: &str = "one side (no migration: absolute targets, no speedups)";

/// A side was timed: its histogram holds at least one execution.
pub(crate) fn measured(side: &SideReport) -> bool {
    side.latency.count > 0
}

/// Where a latency would go, for a side that was not measured.
pub(crate) const NOT_MEASURED: &str = "not measured";

pub(crate) fn p50_text(side: &SideReport) -> String {
    if measured(side) {
        fmt_us(side.latency.p50_us)
    } else {
        NOT_MEASURED.into()
    }
}

/// `5.7× (95% CI 5.4–6.0×)`, or `–` without enough paired rounds.
pub(crate) fn speedup_text(op: &OperationReport) -> String {
    op.speedup.as_ref().map_or("–".into(), describe_interval)
}

/// The server-time speedup the same way, or `–` when server time was not measured.
pub(crate) fn server_speedup_text(op: &OperationReport) -> String {
    op.server_speedup
        .as_ref()
        .map_or("–".into(), describe_interval)
}

pub(crate) fn result_text(op: &OperationReport) -> &'static str {
    match op.same_result {
        Some(true) => "same",
        Some(false) => "different",
        None => "–",
    }
}

/// The analysis warns `results-differ` exactly when an operation returns other rows after the
/// change and the scenario did not say `expect_same_result = false`.
pub(crate) fn unexpected_difference(s: &ScenarioReport, op: &OperationReport) -> bool {
    op.same_result == Some(false)
        && s.warnings
            .iter()
            .any(|w| w.id == "results-differ" && w.operation.as_deref() == Some(op.name.as_str()))
}

pub(crate) fn mark(v: ClaimVerdict) -> &'static str {
    match v {
        ClaimVerdict::Holds => "✓",
        ClaimVerdict::Refuted => "✗",
        ClaimVerdict::Inconclusive => "?",
        ClaimVerdict::NotEvaluated => "–",
    }
}

pub(crate) fn claim_word(v: ClaimVerdict) -> &'static str {
    match v {
        ClaimVerdict::Holds => "holds",
        ClaimVerdict::Refuted => "refuted",
        ClaimVerdict::Inconclusive => "inconclusive",
        ClaimVerdict::NotEvaluated => "not evaluated",
    }
}

pub(crate) fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Improved => "improved",
        Verdict::Regressed => "regressed",
        Verdict::Inconclusive => "inconclusive",
    }
}

/// The baseline comparison of one operation, when the run had a baseline.
pub(crate) fn gate_of<'a>(
    report: &'a Report,
    s: &ScenarioReport,
    op: &OperationReport,
) -> Option<&'a OperationGate> {
    report
        .gate
        .as_ref()?
        .operations
        .iter()
        .find(|g| g.scenario == s.name && g.operation == op.name)
}

/// Warnings about one operation.
pub(crate) fn op_warnings<'a>(
    s: &'a ScenarioReport,
    op: &'a OperationReport,
) -> impl Iterator<Item = &'a Warning> {
    s.warnings
        .iter()
        .filter(move |w| w.operation.as_deref() == Some(op.name.as_str()))
}

/// `PostgreSQL 17.2` from `SELECT version()`.
pub(crate) fn short_server_version(report: &Report) -> String {
    let v = &report.environment.server_version;
    let mut words = v.split_whitespace();
    match (words.next(), words.next()) {
        (Some(name), Some(num)) => format!("{name} {}", num.trim_end_matches(',')),
        _ => v.clone(),
    }
}

/// `shared hit 4 + read 1 blocks, temp 0, rows 12, planning 0.050 ms, execution 0.123 ms`.
pub(crate) fn statement_facts(st: &StatementReport) -> String {
    let mut s = format!(
        "shared hit {} + read {} blocks, temp {}, rows {}",
        st.shared_hit_blocks, st.shared_read_blocks, st.temp_blocks, st.rows_returned
    );
    if st.rows_affected != st.rows_returned {
        let _ = write!(s, ", {} affected", st.rows_affected);
    }
    let _ = write!(
        s,
        ", planning {:.3} ms, execution {:.3} ms",
        st.planning_ms, st.execution_ms
    );
    if st.trigger_ms > 0.0 {
        let _ = write!(s, ", triggers {:.3} ms", st.trigger_ms);
    }
    s
}

/// The environment as (label, value) rows, in display order: what every renderer shows.
pub(crate) fn environment_rows(report: &Report) -> Vec<(String, String)> {
    let e = &report.environment;
    let m = &e.machine;
    let mut rows = vec![
        (
            "tool".to_string(),
            format!("{} {}", report.tool.name, report.tool.version),
        ),
        ("started".into(), report.started_at.clone()),
        (
            "duration".into(),
            format!("{:.1} s", report.duration_ms / 1000.0),
        ),
        ("exit code".into(), report.exit_code.to_string()),
        (
            "backend".into(),
            format!("{} — {}", e.backend, e.backend_reason),
        ),
        ("server".into(), e.server_version.clone()),
        ("address".into(), e.server_address.clone()),
    ];
    let optional = [
        ("image", &e.image),
        ("image id", &e.image_id),
        ("bindir", &e.bindir),
    ];
    rows.extend(
        optional
            .into_iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| (k.to_string(), v.clone()))),
    );
    if let Some(t) = &e.transport {
        rows.push(("transport".into(), t.clone()));
    }
    match &e.placement {
        Some(p) => rows.push(("placement".into(), p.clone())),
        None => {
            if let Some(cpu) = e.pinned_cpu {
                rows.push(("pinned to CPU".into(), cpu.to_string()));
            }
        }
    }
    rows.push((
        "machine".into(),
        format!(
            "{} · {} {} · {} CPUs · {} MiB",
            m.hostname, m.os, m.arch, m.cpus, m.memory_mib
        ),
    ));
    if let Some(c) = &e.git_commit {
        rows.push(("git commit".into(), c.clone()));
    }
    rows.extend(
        e.settings
            .iter()
            .map(|(k, v)| (format!("setting {k}"), v.clone())),
    );
    rows.extend(e.settings_not_applied.iter().map(|n| {
        (
            format!("setting {} not applied", n.name),
            format!("wanted {}: {}", n.value, n.reason),
        )
    }));
    rows
}

/// `100000` → `100 000`: scales read at a glance.
pub fn group_digits(n: i64) -> String {
    let s = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(' ');
        }
        out.push(ch);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// One line per plan flip: `before: Hash Join → Nested Loop between 10 000 and 100 000`.
pub fn describe_flip(f: &super::PlanFlip) -> String {
    format!(
        "{}: {} → {} between {} and {}",
        f.side,
        f.from,
        f.to,
        group_digits(f.from_scale),
        group_digits(f.to_scale)
    )
}

#[cfg(test)]
mod scale_tests {
    #[test]
    fn scales_are_grouped_by_thousands() {
        assert_eq!(super::group_digits(100000), "100 000");
        assert_eq!(super::group_digits(999), "999");
        assert_eq!(super::group_digits(1234567), "1 234 567");
    }
}
