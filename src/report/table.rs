//! The terminal view: one table per scenario, then claims and warnings.

use std::io::{self, Write};

use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, ContentArrangement, Table};

use super::text::{change_text, headline, mark};
use super::{
    scaling, server, ClaimVerdict, GateReport, Latency, OperationReport, Report, RunStatus,
    ScenarioReport,
};

/// "p50 / p95 / p99" in one unit, chosen by the p50.
fn triple(l: &Latency) -> String {
    if l.count == 0 {
        return "–".into();
    }
    let (div, unit, prec) = if l.p50_us < 1000.0 {
        (1.0, "µs", 0)
    } else if l.p50_us < 10_000_000.0 {
        (1000.0, "ms", 2)
    } else {
        (1_000_000.0, "s", 2)
    };
    let f = |v: f64| format!("{:.*}", prec, v / div);
    format!("{} / {} / {} {unit}", f(l.p50_us), f(l.p95_us), f(l.p99_us))
}

/// A claim verdict on the terminal: a refutation stands out.
fn verdict_word(v: ClaimVerdict) -> &'static str {
    match v {
        ClaimVerdict::Holds => "holds",
        ClaimVerdict::Refuted => "REFUTED",
        ClaimVerdict::Inconclusive => "inconclusive",
        ClaimVerdict::NotEvaluated => "not evaluated",
    }
}

fn render_load<W: Write + ?Sized>(w: &mut W, l: &super::LoadReport) -> io::Result<()> {
    use super::load_text;
    writeln!(w, "{}", load_text::summary(l))?;
    let (header, rows) = load_text::rows(l);
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    t.set_header(header);
    for r in rows {
        t.add_row(r);
    }
    writeln!(w, "{t}")?;
    for line in load_text::migration_lines(l) {
        writeln!(w, "{line}")?;
    }
    for c in &l.claims {
        writeln!(
            w,
            "  {} load claim `{}` {}: {}",
            mark(c.verdict),
            c.claim,
            verdict_word(c.verdict),
            c.reason
        )?;
    }
    if let Some(f) = &l.failure {
        writeln!(w, "  load failure: {f}")?;
    }
    Ok(())
}

/// The sweep view: one table per swept scenario, then its notes and claims.
pub fn sweeps<W: Write + ?Sized>(w: &mut W, report: &Report) -> io::Result<()> {
    for sw in scaling::views(report) {
        writeln!(w)?;
        writeln!(w, "{} — across scales {}", sw.scenario, sw.scales)?;
        let mut t = Table::new();
        t.load_style(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic);
        let mut header = vec!["operation"];
        header.extend(scaling::HEADER);
        t.set_header(header);
        for op in &sw.operations {
            for (k, row) in op.rows.iter().enumerate() {
                let name = if k == 0 { op.name } else { "" };
                let mut cells = vec![Cell::new(name)];
                cells.extend(row.iter().map(Cell::new));
                t.add_row(cells);
            }
        }
        writeln!(w, "{t}")?;
        for op in &sw.operations {
            for line in &op.lines {
                writeln!(w, "  {}: {line}", op.name)?;
            }
        }
    }
    Ok(())
}

pub fn render<W: Write + ?Sized>(w: &mut W, report: &Report) -> io::Result<()> {
    for s in &report.scenarios {
        scenario(w, report, s)?;
    }
    sweeps(w, report)?;
    if let Some(g) = &report.gate {
        gate(w, g)?;
    }
    for warn in &report.warnings {
        writeln!(w, "warning[{}]: {}", warn.id, warn.message)?;
    }
    writeln!(w, "\nresult: {}", headline(report).text)
}

/// One scenario: its title line, the operations table, then what did not hold.
fn scenario<W: Write + ?Sized>(w: &mut W, report: &Report, s: &ScenarioReport) -> io::Result<()> {
    writeln!(w)?;
    writeln!(
        w,
        "{} — scale {} — {} on PostgreSQL {} — {}{}",
        s.name,
        s.scale,
        report.environment.backend,
        report
            .environment
            .server_version
            .split_whitespace()
            .nth(1)
            .unwrap_or("?"),
        change_text(s),
        if s.status == RunStatus::Incomplete {
            " — INCOMPLETE"
        } else {
            ""
        }
    )?;
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    if s.single_side {
        single_side_rows(&mut t, s);
    } else {
        comparison_rows(&mut t, s);
    }
    writeln!(w, "{t}")?;
    if let Some(line) = server::round_trip_line(s) {
        writeln!(w, "  {line}")?;
    }
    let at = super::scaling::scale_suffix(report, s);
    for op in &s.operations {
        for c in op
            .claims
            .iter()
            .filter(|c| c.verdict != ClaimVerdict::Holds)
        {
            writeln!(
                w,
                "  {} `{}`{at} {}: {}",
                op.name,
                c.claim,
                verdict_word(c.verdict),
                c.reason
            )?;
        }
    }
    if let Some(l) = &s.load {
        render_load(w, l)?;
    }
    for warn in &s.warnings {
        writeln!(w, "  warning[{}]: {}", warn.id, warn.message)?;
    }
    if let Some(e) = &s.error {
        writeln!(w, "  error: {e}")?;
    }
    Ok(())
}

/// The claims of an operation, one per line, marked.
fn claims_cell(op: &OperationReport) -> Cell {
    let claims: Vec<String> = op
        .claims
        .iter()
        .map(|c| format!("{} {}", mark(c.verdict), c.parsed))
        .collect();
    Cell::new(if claims.is_empty() {
        "–".into()
    } else {
        claims.join("\n")
    })
}

/// Before and after side by side, with the speedups, plan change and result.
fn comparison_rows(t: &mut Table, s: &ScenarioReport) {
    t.set_header(vec![
        "operation",
        "before p50 / p95 / p99 (all executions)",
        "after p50 / p95 / p99 (all executions)",
        "speedup (95% CI)",
        "server speedup",
        "plan",
        "result",
        "claims",
    ]);
    for op in &s.operations {
        let speedup = server::speedup_cell(op.speedup.as_ref());
        let result = match op.same_result {
            Some(true) => "same".to_string(),
            Some(false) => "DIFFERENT".to_string(),
            None => "–".to_string(),
        };
        t.add_row(vec![
            Cell::new(&op.name),
            Cell::new(triple(&op.before.latency)),
            Cell::new(triple(&op.after.latency)),
            Cell::new(speedup),
            Cell::new(server::speedup_cell(op.server_speedup.as_ref())),
            Cell::new(&op.plan_change),
            Cell::new(result),
            claims_cell(op),
        ]);
    }
}

/// The one side of a scenario without a change: its latency, server time and plan.
fn single_side_rows(t: &mut Table, s: &ScenarioReport) {
    t.set_header(vec![
        "operation",
        "p50 / p95 / p99 (all executions)",
        "server time",
        "plan",
        "claims",
    ]);
    for op in &s.operations {
        t.add_row(vec![
            Cell::new(&op.name),
            Cell::new(triple(&op.after.latency)),
            Cell::new(server::server_cell(&op.after)),
            Cell::new(&op.plan_change),
            claims_cell(op),
        ]);
    }
}

/// The comparison with the baseline, operation by operation.
fn gate<W: Write + ?Sized>(w: &mut W, g: &GateReport) -> io::Result<()> {
    writeln!(w)?;
    writeln!(
        w,
        "gate against {} (measured {}): {}",
        g.baseline,
        g.baseline_started_at,
        format!("{:?}", g.verdict).to_uppercase()
    )?;
    for op in &g.operations {
        let interesting: Vec<_> = op.findings.iter().collect();
        if interesting.is_empty() {
            writeln!(w, "  {}/{}: {:?}", op.scenario, op.operation, op.verdict)?;
            continue;
        }
        writeln!(w, "  {}/{}: {:?}", op.scenario, op.operation, op.verdict)?;
        for f in interesting {
            writeln!(w, "    [{}] {}", f.id, f.message.replace('\n', "\n      "))?;
        }
    }
    for n in &g.notes {
        writeln!(w, "  note: {n}")?;
    }
    Ok(())
}
