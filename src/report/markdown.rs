//! Markdown for pull-request comments and `$GITHUB_STEP_SUMMARY`: the verdict line first, a
//! table per scenario, everything else folded in `<details>`.
//!
//! What every renderer says the same way (the verdict line, "not measured", a speedup with its
//! interval, whether a result difference was expected) comes from [`super::text`].

use std::fmt::Write as _;
use std::io::{self, Write};

use super::text::{change_text, shown_sides};
use super::text::{
    claim_word, describe_interval, environment_rows, fmt_us, gate_of, headline, mark, measured,
    op_warnings, p50_text, plural, result_text, server_speedup_text, short_server_version,
    speedup_text, statement_facts, unexpected_difference, verdict_word, State, NOT_MEASURED,
    QUANTILE_NOTE,
};
use super::{ClaimReport, OperationReport, Report, RunStatus, ScenarioReport, Warning};

// ---------------------------------------------------------------------------------------------
// Markdown escaping.

/// Text for a table cell or a paragraph: markdown punctuation backslash-escaped, HTML
/// specials as entities (GitHub would otherwise read `<b>` in SQL as a tag), `|` escaped so
/// it never splits a cell, and newlines as `<br>`.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => out.push_str("<br>"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '~' => {
                out.push('\\');
                out.push(c);
            }
            // These start a list only at the start of a line, and escaped text starts a line
            // only at its own start (a `<br>` does not start a block).
            '-' | '+' if out.is_empty() && chars.peek().is_none_or(|n| n.is_whitespace()) => {
                out.push('\\');
                out.push(c);
            }
            '.' | ')'
                if !out.is_empty()
                    && out.chars().all(|d| d.is_ascii_digit())
                    && chars.peek().is_none_or(|n| n.is_whitespace()) =>
            {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A fenced code block whose fence is longer than any backtick run inside.
fn code_block(w: &mut String, lang: &str, text: &str) {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat((longest + 1).max(3));
    let _ = writeln!(w, "{fence}{lang}\n{}\n{fence}", text.trim_end());
}

// ---------------------------------------------------------------------------------------------
// The renderer.

pub fn render<W: Write + ?Sized>(w: &mut W, report: &Report) -> io::Result<()> {
    w.write_all(to_string(report).as_bytes())
}

/// The most a GitHub comment or a job summary holds, in characters.
pub const GITHUB_LIMIT: usize = 65_536;

/// The whole document as a string (the markdown is assembled in memory, then written once).
///
/// It always fits [`GITHUB_LIMIT`]: when the whole document is longer, the per-operation
/// details are left out; when the verdict and the tables alone are still longer, the tables are
/// cut at a line. Either way a note points to the HTML report, which has everything.
pub fn to_string(report: &Report) -> String {
    let full = document(report, true);
    if full.chars().count() <= GITHUB_LIMIT {
        return full;
    }
    let ops: usize = report.scenarios.iter().map(|s| s.operations.len()).sum();
    let note = format!(
        "> **Shortened to fit a GitHub comment ({} characters):** the details of {} are left out{{}}; \
         the HTML report (`querygate report RESULTS.json --html report.html`, or the run's `--html` artifact) has everything.\n\n",
        super::text::group_digits(GITHUB_LIMIT as i64),
        plural(ops, "operation", "operations")
    );
    let brief = document(report, false);
    let with_note = |md: &str, cut: &str| {
        let note = note.replace("{}", cut);
        // The note goes right under the verdict line and the summary line.
        let at = md
            .match_indices("\n\n")
            .nth(1)
            .map_or(md.len(), |(i, _)| i + 2);
        format!("{}{note}{}", &md[..at], &md[at..])
    };
    let shortened = with_note(&brief, "");
    if shortened.chars().count() <= GITHUB_LIMIT {
        return shortened;
    }
    cut_to_fit(&with_note(&brief, ", and the tables are cut"))
}

/// Cuts `md` at a line so that it fits, closing a `<details>` left open.
fn cut_to_fit(md: &str) -> String {
    const CUT: &str = "\n> … cut here to fit: see the HTML report for the rest.\n";
    let budget = GITHUB_LIMIT - CUT.chars().count() - "</details>\n".len();
    let mut end = 0;
    let mut chars = 0;
    for line in md.split_inclusive('\n') {
        chars += line.chars().count();
        if chars > budget {
            break;
        }
        end += line.len();
    }
    let kept = &md[..end];
    let mut out = kept.to_string();
    out.push_str(CUT);
    if kept.matches("<details>").count() > kept.matches("</details>").count() {
        out.push_str("</details>\n");
    }
    out
}

fn document(report: &Report, details: bool) -> String {
    let mut md = String::new();
    let h = headline(report);
    let icon = match h.state {
        State::Pass => "✅",
        State::Fail => "❌",
        State::Incomplete => "⚠️",
        State::Undecided => "❔",
    };
    let _ = writeln!(md, "## {icon} querygate: {}\n", escape(&h.text));
    let ops: usize = report.scenarios.iter().map(|s| s.operations.len()).sum();
    let _ = writeln!(
        md,
        "{} {} · {} · {} backend · {} in {} · {:.1} s\n",
        escape(&report.tool.name),
        escape(&report.tool.version),
        escape(&short_server_version(report)),
        escape(&report.environment.backend),
        plural(ops, "operation", "operations"),
        super::scaling::scenarios_text(report),
        report.duration_ms / 1000.0
    );
    if let Some(e) = &report.error {
        let _ = writeln!(md, "> **Error:** {}\n", escape(e));
    }
    if !report.failures.is_empty() {
        for f in &report.failures {
            let _ = writeln!(md, "- {}", escape(f));
        }
        md.push('\n');
    }
    if let Some(g) = &report.gate {
        let _ = writeln!(
            md,
            "**Baseline** {} (measured {}): **{}**\n",
            escape(&g.baseline),
            escape(&g.baseline_started_at),
            verdict_word(g.verdict)
        );
        for n in &g.notes {
            let _ = writeln!(md, "- {}", escape(n));
        }
        if !g.notes.is_empty() {
            md.push('\n');
        }
    }
    sweeps(&mut md, report);
    for s in &report.scenarios {
        scenario(&mut md, report, s, details);
    }
    for warn in &report.warnings {
        let _ = writeln!(
            md,
            "> warning\\[{}\\]: {}",
            escape(&warn.id),
            escape(&warn.message)
        );
    }
    if !report.warnings.is_empty() {
        md.push('\n');
    }
    environment(&mut md, report);
    md
}

/// The sweep view: a table per swept scenario and its notes.
pub fn sweeps(md: &mut String, report: &Report) {
    for sw in super::scaling::views(report) {
        let _ = writeln!(
            md,
            "### {} across scales {}\n",
            escape(sw.scenario),
            sw.scales
        );
        let _ = writeln!(md, "| operation | {} |", super::scaling::HEADER.join(" | "));
        md.push_str("|---|--:|--:|--:|---|---|\n");
        for op in &sw.operations {
            for (k, row) in op.rows.iter().enumerate() {
                let name = if k == 0 {
                    escape(op.name)
                } else {
                    String::new()
                };
                let cells: Vec<String> = row.iter().map(|c| escape(c)).collect();
                let _ = writeln!(md, "| {name} | {} |", cells.join(" | "));
            }
        }
        md.push('\n');
        for op in &sw.operations {
            for line in &op.lines {
                let _ = writeln!(md, "- **{}**: {}", escape(op.name), escape(line));
            }
        }
        md.push('\n');
    }
}

fn scenario(md: &mut String, report: &Report, s: &ScenarioReport, details: bool) {
    let incomplete = if s.status == RunStatus::Incomplete {
        " — incomplete"
    } else {
        ""
    };
    let _ = writeln!(
        md,
        "### {} (scale {}){incomplete}\n",
        escape(&s.name),
        s.scale
    );
    if let Some(e) = &s.error {
        let _ = writeln!(md, "> **Error:** {}\n", escape(e));
    }
    if s.single_side {
        let _ = writeln!(md, "_{}_\n", escape(&change_text(s)));
    }
    operations_table(md, report, s);
    md.push('\n');
    if let Some(line) = super::server::round_trip_line(s) {
        let _ = writeln!(md, "{}\n", escape(&line));
    }
    if let Some(l) = &s.load {
        load_section(md, l, &super::scaling::scale_suffix(report, s));
    }
    for warn in s.warnings.iter().filter(|w| w.operation.is_none()) {
        let _ = writeln!(
            md,
            "> warning\\[{}\\]: {}",
            escape(&warn.id),
            escape(&warn.message)
        );
    }
    if s.warnings.iter().any(|w| w.operation.is_none()) {
        md.push('\n');
    }
    if details {
        for op in &s.operations {
            operation_details(md, report, s, op);
        }
    }
}

/// One row per operation: latencies, speedups, plan, result and claims (and the baseline's
/// verdict when there is one).
fn operations_table(md: &mut String, report: &Report, s: &ScenarioReport) {
    let with_gate = report.gate.is_some();
    md.push_str(if s.single_side {
        "| operation | p50 | p95 | server (mean) | plan | claims |"
    } else {
        "| operation | before p50 | after p50 | speedup (95% CI) | server speedup | plan | result | claims |"
    });
    md.push_str(if with_gate { " baseline |\n" } else { "\n" });
    md.push_str(if s.single_side {
        "|---|--:|--:|--:|---|---|"
    } else {
        "|---|--:|--:|---|---|---|---|---|"
    });
    md.push_str(if with_gate { "---|\n" } else { "\n" });
    for op in &s.operations {
        operation_row(md, s, op);
        if with_gate {
            let g = gate_of(report, s, op).map_or("–", |g| verdict_word(g.verdict));
            let _ = write!(md, " {g} |");
        }
        md.push('\n');
    }
}

/// An operation's cells up to its claims.
fn operation_row(md: &mut String, s: &ScenarioReport, op: &OperationReport) {
    let plan = if op.plan_changed {
        format!("**changed:** {}", escape(&op.plan_change))
    } else {
        escape(&op.plan_change)
    };
    let result = match result_text(op) {
        "different" if unexpected_difference(s, op) => "**different** ⚠️".to_string(),
        r => r.to_string(),
    };
    let claims = if op.claims.is_empty() {
        "–".to_string()
    } else {
        op.claims
            .iter()
            .map(|c| format!("{} {}", mark(c.verdict), escape(&c.parsed)))
            .collect::<Vec<_>>()
            .join("<br>")
    };
    if s.single_side {
        let p95 = if measured(&op.after) {
            fmt_us(op.after.latency.p95_us)
        } else {
            String::new()
        };
        let _ = write!(
            md,
            "| {} | {} | {} | {} | {plan} | {claims} |",
            escape(&op.name),
            escape(&p50_text(&op.after)),
            escape(&p95),
            escape(&super::server::server_cell(&op.after)),
        );
    } else {
        let _ = write!(
            md,
            "| {} | {} | {} | {} | {} | {plan} | {result} | {claims} |",
            escape(&op.name),
            escape(&p50_text(&op.before)),
            escape(&p50_text(&op.after)),
            escape(&speedup_text(op)),
            escape(&server_speedup_text(op)),
        );
    }
}

fn operation_details(md: &mut String, report: &Report, s: &ScenarioReport, op: &OperationReport) {
    // GitHub renders markdown inside <details> only with blank lines around it.
    let _ = writeln!(
        md,
        "<details><summary>{}: details</summary>\n",
        escape(&op.name)
    );
    if let Some(d) = &op.description {
        let _ = writeln!(md, "{}\n", escape(d));
    }
    let _ = writeln!(md, "Mode: {}\n", escape(&op.mode));
    side_latencies(md, s, op);
    let _ = writeln!(md, "\n_{}_\n", escape(QUANTILE_NOTE));
    if !s.single_side {
        let p95 = op
            .speedup_p95
            .as_ref()
            .map_or("–".into(), describe_interval);
        let _ = writeln!(
            md,
            "Speedup of per-round p50: {} · of per-round p95: {} · of server time: {}\n",
            escape(&speedup_text(op)),
            escape(&p95),
            escape(&server_speedup_text(op))
        );
    }
    if !op.claims.is_empty() {
        md.push_str("**Claims**\n\n");
        let at = super::scaling::scale_suffix(report, s);
        for c in &op.claims {
            claim_line(md, c, &at);
        }
        md.push('\n');
    }
    baseline_findings(md, report, s, op);
    plans(md, s, op);
    let warnings: Vec<&Warning> = op_warnings(s, op).collect();
    if !warnings.is_empty() {
        md.push_str("**Warnings**\n\n");
        for warn in warnings {
            let _ = writeln!(md, "- {}: {}", escape(&warn.id), escape(&warn.message));
        }
        md.push('\n');
    }
    md.push_str("</details>\n\n");
}

/// Each shown side's latency quantiles and server time.
fn side_latencies(md: &mut String, s: &ScenarioReport, op: &OperationReport) {
    md.push_str("| side | executions | p50 | p95 | p99 | max | server (mean) |\n|---|--:|--:|--:|--:|--:|--:|\n");
    for (name, side) in shown_sides(s, op) {
        if measured(side) {
            let l = &side.latency;
            let _ = writeln!(
                md,
                "| {name} | {} | {} | {} | {} | {} | {} |",
                l.count,
                fmt_us(l.p50_us),
                fmt_us(l.p95_us),
                fmt_us(l.p99_us),
                fmt_us(l.max_us),
                super::server::server_cell(side)
            );
        } else {
            let _ = writeln!(md, "| {name} | {NOT_MEASURED} | | | | | |");
        }
    }
}

/// The baseline's verdict on the operation and each finding behind it.
fn baseline_findings(md: &mut String, report: &Report, s: &ScenarioReport, op: &OperationReport) {
    let Some(g) = gate_of(report, s, op) else {
        return;
    };
    let _ = writeln!(md, "**Baseline:** {}\n", verdict_word(g.verdict));
    for f in &g.findings {
        let _ = writeln!(
            md,
            "- {} ({}): {}",
            escape(&f.id),
            verdict_word(f.verdict),
            escape(&f.message)
        );
    }
    if !g.findings.is_empty() {
        md.push('\n');
    }
}

/// Each shown side's statements: facts, SQL, parameters and plan signature.
fn plans(md: &mut String, s: &ScenarioReport, op: &OperationReport) {
    let _ = writeln!(md, "**Plans** ({})\n", escape(&op.plan_change));
    for (name, side) in shown_sides(s, op) {
        if side.explain.is_empty() {
            let _ = writeln!(md, "*{name}:* not explained\n");
            continue;
        }
        for (k, st) in side.explain.iter().enumerate() {
            let n = if side.explain.len() > 1 {
                format!(" statement {}", k + 1)
            } else {
                String::new()
            };
            let _ = writeln!(md, "*{name}{n}:* {}\n", escape(&statement_facts(st)));
            code_block(md, "sql", &st.sql);
            if !st.params.is_empty() {
                let _ = writeln!(md, "\nParameters: {}", escape(&st.params.join(", ")));
            }
            md.push('\n');
            code_block(md, "text", &st.signature);
            md.push('\n');
        }
        if let Some(c) = &side.result_checksum {
            let _ = writeln!(md, "Result checksum {name}: {}\n", escape(c));
        }
    }
}

fn load_section(md: &mut String, l: &super::LoadReport, at_scale: &str) {
    use super::load_text;
    let _ = writeln!(md, "{}\n", escape(&load_text::summary(l)));
    let (header, rows) = load_text::rows(l);
    let _ = writeln!(md, "| {} |", header.join(" | "));
    let _ = writeln!(md, "|{}", "---|".repeat(header.len()));
    for r in rows {
        let cells: Vec<String> = r.iter().map(|c| escape(c)).collect();
        let _ = writeln!(md, "| {} |", cells.join(" | "));
    }
    md.push('\n');
    let lines = load_text::migration_lines(l);
    if !lines.is_empty() {
        code_block(md, "text", &lines.join("\n"));
    }
    for c in &l.claims {
        claim_line(md, c, at_scale);
    }
    if !l.claims.is_empty() {
        md.push('\n');
    }
}

fn claim_line(md: &mut String, c: &ClaimReport, at_scale: &str) {
    let _ = writeln!(
        md,
        "- {} **{}** {}{}: {}",
        mark(c.verdict),
        claim_word(c.verdict),
        escape(&c.claim),
        escape(at_scale),
        escape(&c.reason)
    );
}

fn environment(md: &mut String, report: &Report) {
    md.push_str("<details><summary>Environment</summary>\n\n| | |\n|---|---|\n");
    for (k, v) in environment_rows(report) {
        let _ = writeln!(md, "| {} | {} |", escape(&k), escape(&v));
    }
    md.push('\n');
    for s in &report.scenarios {
        let r = &s.run;
        let _ = writeln!(
            md,
            "**{}** (scale {}): {} of {} rounds × {} iterations, {} order, warm-up {}, seed {}; \
             seeding {:.0} ms; {}; file {}\n",
            escape(&s.name),
            s.scale,
            r.rounds_completed,
            r.rounds,
            r.iterations,
            escape(&r.order),
            r.warmup,
            r.seed,
            s.seed_ms,
            escape(&change_text(s)),
            escape(&s.file)
        );
    }
    md.push_str("</details>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_keeps_cells_whole_and_tags_inert() {
        assert_eq!(escape("a | b"), "a \\| b");
        assert_eq!(escape("x < 1 && y > 2"), "x &lt; 1 &amp;&amp; y &gt; 2");
        assert_eq!(escape("a\nb"), "a<br>b");
        assert_eq!(escape("*_`[x]"), "\\*\\_\\`\\[x\\]");
        assert_eq!(escape("- item"), "\\- item");
        assert_eq!(escape("1. x"), "1\\. x");
        assert_eq!(escape("speedup >= 1.5"), "speedup &gt;= 1.5");
        assert_eq!(escape("a-b"), "a-b");
        assert_eq!(escape("1.41ms"), "1.41ms");
        assert_eq!(escape("-0.5"), "-0.5");
    }

    #[test]
    fn fences_outgrow_backticks_inside() {
        let mut s = String::new();
        code_block(&mut s, "sql", "SELECT '```'");
        assert!(s.starts_with("````sql\n"), "{s}");
    }
}
