//! The cross-scale view of a sweep (`Report::sweeps`), worded once as plain text: per
//! operation and scale the p50 of each side and the speedup, the growth exponent of each side,
//! where a plan flips, and the claims over the sweep. The table, Markdown and HTML renderers
//! each escape and lay out this text (HTML adds a latency-against-scale chart); nothing here
//! knows a renderer's syntax.

use super::text::{claim_word, describe_flip, describe_interval, fmt_us, group_digits, mark};
use super::{ClaimReport, Growth, OperationSweep, Report, ScenarioReport, SweepReport};

/// "2 scenarios", or "1 scenario at 3 scales": a sweep is one scenario, not one per scale.
pub(crate) fn scenarios_text(report: &Report) -> String {
    let mut names: Vec<&str> = report.scenarios.iter().map(|s| s.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let n = names.len();
    let runs = report.scenarios.len();
    let noun = if n == 1 { "scenario" } else { "scenarios" };
    match (n, runs) {
        (1, r) if r > 1 => format!("1 scenario at {r} scales"),
        (n, r) if r > n => format!("{n} {noun} ({r} scenario × scale runs)"),
        (n, _) => format!("{n} {noun}"),
    }
}

/// ` at scale N` for a scenario that ran at several scales, so each verdict line says which.
pub(crate) fn scale_suffix(report: &Report, s: &ScenarioReport) -> String {
    let sweep = report
        .scenarios
        .iter()
        .any(|x| x.name == s.name && x.scale != s.scale);
    if sweep {
        format!(" at scale {}", group_digits(s.scale))
    } else {
        String::new()
    }
}

/// The rows of one operation: scale, before p50, after p50, speedup, plan flips at that scale.
fn rows(op: &OperationSweep) -> Vec<[String; 5]> {
    let p50 = |v: Option<f64>| v.map_or("–".to_string(), fmt_us);
    op.points
        .iter()
        .map(|p| {
            let flips: Vec<String> = op
                .plan_flips
                .iter()
                .filter(|f| f.to_scale == p.scale)
                .map(|f| format!("{}: {} → {}", f.side, f.from, f.to))
                .collect();
            [
                group_digits(p.scale),
                p50(p.before_p50_us),
                p50(p.after_p50_us),
                p.speedup
                    .as_ref()
                    .map_or("–".to_string(), describe_interval),
                if flips.is_empty() {
                    "–".to_string()
                } else {
                    flips.join("; ")
                },
            ]
        })
        .collect()
}

/// The column headers of an operation's rows (after the operation's name).
pub const HEADER: [&str; 5] = [
    "scale",
    "before p50",
    "after p50",
    "speedup (95% CI)",
    "plan flip",
];

fn growth_text(g: Option<Growth>) -> String {
    // Two decimals, and never "-0.00".
    let f = |v: f64| format!("{:.2}", if v.abs() < 0.005 { 0.0 } else { v });
    g.map_or("– (needs two scales)".into(), |g| {
        format!(
            "scale^{} (95% CI {}–{})",
            f(g.exponent),
            f(g.low),
            f(g.high)
        )
    })
}

/// Lines under an operation's rows: growth per side, each plan flip named.
fn notes(op: &OperationSweep) -> Vec<String> {
    let mut out = vec![format!(
        "latency grows as before {}, after {}",
        growth_text(op.before_growth),
        growth_text(op.after_growth)
    )];
    out.extend(
        op.plan_flips
            .iter()
            .map(|f| format!("plan flips, {}", describe_flip(f))),
    );
    out
}

fn scales_text(sw: &SweepReport) -> String {
    sw.scales
        .iter()
        .map(|s| group_digits(*s))
        .collect::<Vec<_>>()
        .join(", ")
}

fn claim_text(c: &ClaimReport) -> String {
    format!(
        "{} `{}` over the sweep {}: {}",
        mark(c.verdict),
        c.claim,
        claim_word(c.verdict),
        c.reason
    )
}

/// One swept scenario, as the renderers show it.
pub struct SweepView<'a> {
    /// The scenario's name.
    pub scenario: &'a str,
    /// The scales measured, as a list.
    pub scales: String,
    pub operations: Vec<OperationView<'a>>,
}

/// One operation of a swept scenario.
pub struct OperationView<'a> {
    /// The operation's name.
    pub name: &'a str,
    /// One row per scale, under [`HEADER`].
    pub rows: Vec<[String; 5]>,
    /// The lines under the rows: growth per side, each plan flip, each claim over the sweep.
    pub lines: Vec<String>,
    /// The numbers behind the rows, for a chart.
    pub sweep: &'a OperationSweep,
}

/// The view of every swept scenario of `report`, in order.
pub fn views(report: &Report) -> Vec<SweepView<'_>> {
    report
        .sweeps
        .iter()
        .map(|sw| SweepView {
            scenario: &sw.scenario,
            scales: scales_text(sw),
            operations: sw
                .operations
                .iter()
                .map(|op| OperationView {
                    name: &op.name,
                    rows: rows(op),
                    lines: notes(op)
                        .into_iter()
                        .chain(op.claims.iter().map(claim_text))
                        .collect(),
                    sweep: op,
                })
                .collect(),
        })
        .collect()
}
