//! One self-contained HTML page: no network, no external scripts, fonts or style sheets.
//!
//! Per operation: the latency distributions before and after as an inline SVG percentile plot
//! (decoded from the HdrHistograms, HdrHistogram's usual log axis 1/(1−q)), the claims and
//! their verdicts, the plans side by side as trees with rows, loops and buffers per node, and
//! each plan's EXPLAIN JSON ready to paste into PEV2 / explain.dalibo.com. A summary table with
//! anchors comes first and operations fold into `<details>`, so 20 operations stay readable.
//!
//! Changed plan nodes: a node is marked when the other side has no node with the same chain
//! of labels from its statement's root down to it (counted, so a node that appears twice on
//! one side and once on the other is marked once). This catches changed nodes, nodes on one
//! side only, and nodes that moved (a join whose inputs swapped), while a plan with the same
//! signature on both sides marks nothing. Labels are those of the plan signature
//! ([`super::text::node_label`]): node type, join type, index, relation.
//!
//! The page works without JavaScript; a few lines of inline script add "expand all", open an
//! operation when its anchor is followed, and copy plan JSON to the clipboard.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, Write};

use hdrhistogram::Histogram;
use serde_json::Value as Json;

use super::histogram::decode_histogram;
use super::text::{change_text, shown_sides};
use super::text::{
    claim_word, gate_of, headline, mark, measured, op_warnings, p50_text, result_text,
    server_speedup_text, short_server_version, speedup_text, statement_facts,
    unexpected_difference, verdict_word, State, NOT_MEASURED, QUANTILE_NOTE,
};
use super::text::{describe_interval, environment_rows, fmt_us, node_label};
use super::{OperationReport, Report, RunStatus, ScenarioReport, SideReport, Verdict};

/// Operations are unfolded when the whole report has at most this many.
const OPEN_UP_TO: usize = 4;

/// Escapes text for HTML element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && !matches!(c, '\n' | '\t') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// A fragment identifier from a name: letters, digits, `-` and `_` kept.
fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

fn op_anchor(si: usize, oi: usize, op: &OperationReport) -> String {
    format!("op-{}-{}-{}", si + 1, oi + 1, slug(&op.name))
}

pub fn render<W: Write + ?Sized>(w: &mut W, report: &Report) -> io::Result<()> {
    w.write_all(to_string(report).as_bytes())
}

/// The whole page as a string.
pub fn to_string(report: &Report) -> String {
    let mut h = String::with_capacity(64 * 1024);
    let head = headline(report);
    let state = match head.state {
        State::Pass => "pass",
        State::Fail => "fail",
        State::Incomplete => "incomplete",
        State::Undecided => "undecided",
    };
    let names: Vec<&str> = report.scenarios.iter().map(|s| s.name.as_str()).collect();
    let _ = writeln!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>querygate: {} — {}</title>\n<style>{CSS}</style>\n</head>\n<body>",
        esc(&head.text),
        esc(&names.join(", "))
    );
    let total_ops: usize = report.scenarios.iter().map(|s| s.operations.len()).sum();
    let _ = write!(
        h,
        "<header class=\"verdict {state}\"><h1>querygate: {}</h1>\n<p>{} {} · {} · {} backend · \
         {} operation(s) in {} · started {} · {:.1} s</p>",
        esc(&head.text),
        esc(&report.tool.name),
        esc(&report.tool.version),
        esc(&short_server_version(report)),
        esc(&report.environment.backend),
        total_ops,
        super::scaling::scenarios_text(report),
        esc(&report.started_at),
        report.duration_ms / 1000.0
    );
    if total_ops > 1 {
        h.push_str(
            "<p class=\"tools\"><button type=\"button\" data-expand=\"1\">expand all</button> \
             <button type=\"button\" data-expand=\"0\">collapse all</button></p>",
        );
    }
    h.push_str("</header>\n<main>\n");
    if let Some(e) = &report.error {
        let _ = writeln!(
            h,
            "<div class=\"error\"><strong>Run incomplete:</strong><pre>{}</pre></div>",
            esc(e)
        );
    }
    if !report.failures.is_empty() {
        h.push_str("<ul class=\"failures\">");
        for f in &report.failures {
            let _ = write!(h, "<li>{}</li>", esc(f));
        }
        h.push_str("</ul>\n");
    }
    if let Some(g) = &report.gate {
        let _ = writeln!(
            h,
            "<p class=\"gate\">Baseline <code>{}</code> (measured {}): <span class=\"v-{}\">{}</span></p>",
            esc(&g.baseline),
            esc(&g.baseline_started_at),
            verdict_word(g.verdict),
            verdict_word(g.verdict)
        );
        if !g.notes.is_empty() {
            h.push_str("<ul class=\"notes\">");
            for n in &g.notes {
                let _ = write!(h, "<li>{}</li>", esc(n));
            }
            h.push_str("</ul>\n");
        }
    }
    for warn in &report.warnings {
        let _ = writeln!(
            h,
            "<p class=\"warning\">warning[{}]: {}</p>",
            esc(&warn.id),
            esc(&warn.message)
        );
    }
    sweeps(&mut h, report);
    let open = total_ops <= OPEN_UP_TO;
    for (si, s) in report.scenarios.iter().enumerate() {
        scenario(&mut h, report, si, s, open);
    }
    environment(&mut h, report);
    let _ = writeln!(
        h,
        "</main>\n<footer>{} {} · results schema_version {} · plan JSON blocks paste into PEV2 \
         (explain.dalibo.com)</footer>\n<script>{JS}</script>\n</body>\n</html>",
        esc(&report.tool.name),
        esc(&report.tool.version),
        report.schema_version
    );
    h
}

#[path = "html_load.rs"]
mod load;

#[path = "html_sweep.rs"]
mod sweep;
pub use sweep::sweeps;

fn scenario(h: &mut String, report: &Report, si: usize, s: &ScenarioReport, open: bool) {
    let _ = writeln!(
        h,
        "<section class=\"scenario\" id=\"scenario-{}-{}\">\n<h2>{} <small>scale {}{}</small></h2>",
        si + 1,
        slug(&s.name),
        esc(&s.name),
        s.scale,
        if s.status == RunStatus::Incomplete {
            " · <span class=\"bad\">incomplete</span>"
        } else {
            ""
        }
    );
    if let Some(d) = &s.description {
        let _ = writeln!(h, "<p class=\"desc\">{}</p>", esc(d));
    }
    let measured = match &s.load {
        Some(l) if l.mode == "phased" => format!(
            "{} of {} phase pairs under load",
            s.run.rounds_completed, s.run.rounds
        ),
        Some(_) => "the migration under load (below)".to_string(),
        None => format!(
            "{} of {} rounds × {} iterations ({} order)",
            s.run.rounds_completed,
            s.run.rounds,
            s.run.iterations,
            esc(&s.run.order)
        ),
    };
    let _ = writeln!(
        h,
        "<p class=\"meta\">{measured}, {}, seeding {:.0} ms</p>",
        esc(&change_text(s)),
        s.seed_ms
    );
    if let Some(e) = &s.error {
        let _ = writeln!(
            h,
            "<div class=\"error\"><strong>Error:</strong><pre>{}</pre></div>",
            esc(e)
        );
    }
    summary_table(h, report, si, s);
    if let Some(l) = &s.load {
        load::section(h, l);
    }
    for warn in s.warnings.iter().filter(|w| w.operation.is_none()) {
        let _ = writeln!(
            h,
            "<p class=\"warning\">warning[{}]: {}</p>",
            esc(&warn.id),
            esc(&warn.message)
        );
    }
    for (oi, op) in s.operations.iter().enumerate() {
        operation(h, report, si, oi, s, op, open);
    }
    scenario_inputs(h, s);
    h.push_str("</section>\n");
}

fn summary_table(h: &mut String, report: &Report, si: usize, s: &ScenarioReport) {
    let with_gate = report.gate.is_some();
    h.push_str(if s.single_side {
        "<table class=\"summary\"><thead><tr><th>operation</th><th>p50</th><th>p95</th>\
         <th>server (mean)</th><th>plan</th><th>claims</th>"
    } else {
        "<table class=\"summary\"><thead><tr><th>operation</th><th>before p50</th><th>after p50</th>\
         <th>speedup (95% CI)</th><th>server speedup</th><th>plan</th><th>result</th><th>claims</th>"
    });
    if with_gate {
        h.push_str("<th>baseline</th>");
    }
    h.push_str("</tr></thead><tbody>\n");
    for (oi, op) in s.operations.iter().enumerate() {
        let _ = write!(
            h,
            "<tr><td><a href=\"#{}\">{}</a></td>",
            op_anchor(si, oi, op),
            esc(&op.name),
        );
        if s.single_side {
            let p95 = if measured(&op.after) {
                esc(&fmt_us(op.after.latency.p95_us))
            } else {
                String::new()
            };
            let _ = write!(
                h,
                "<td class=\"num\">{}</td><td class=\"num\">{p95}</td><td class=\"num\">{}</td><td>{}</td>",
                side_p50_cell(&op.after),
                esc(&super::server::server_cell(&op.after)),
                esc(&op.plan_change),
            );
        } else {
            let _ = write!(
                h,
                "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"sp\">{}</td><td class=\"sp\">{}</td>",
                side_p50_cell(&op.before),
                side_p50_cell(&op.after),
                esc(&speedup_text(op)),
                esc(&server_speedup_text(op))
            );
            let _ = write!(
                h,
                "<td{}>{}</td><td>{}</td>",
                if op.plan_changed {
                    " class=\"chg\""
                } else {
                    ""
                },
                esc(&op.plan_change),
                result_html(s, op),
            );
        }
        let _ = write!(h, "<td class=\"claims\">{}</td>", claims_marks(op));
        if with_gate {
            let g = gate_of(report, s, op).map(|g| g.verdict);
            let _ = write!(h, "<td>{}</td>", g.map_or("–".into(), verdict_html));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody></table>\n");
}

fn side_p50_cell(side: &SideReport) -> String {
    if measured(side) {
        esc(&p50_text(side))
    } else {
        format!("<span class=\"muted\">{NOT_MEASURED}</span>")
    }
}

fn result_html(s: &ScenarioReport, op: &OperationReport) -> String {
    match result_text(op) {
        "different" if unexpected_difference(s, op) => {
            "<span class=\"bad\">different</span>".into()
        }
        r => esc(r),
    }
}

fn verdict_html(v: Verdict) -> String {
    format!("<span class=\"v-{0}\">{0}</span>", verdict_word(v))
}

fn claims_marks(op: &OperationReport) -> String {
    if op.claims.is_empty() {
        return "–".into();
    }
    op.claims
        .iter()
        .map(|c| {
            format!(
                "<span class=\"c-{}\" title=\"{}\">{} {}</span>",
                claim_word(c.verdict),
                esc(&c.reason),
                mark(c.verdict),
                esc(&c.parsed)
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[allow(clippy::too_many_arguments)]
fn operation(
    h: &mut String,
    report: &Report,
    si: usize,
    oi: usize,
    s: &ScenarioReport,
    op: &OperationReport,
    open: bool,
) {
    operation_summary(h, si, oi, s, op, open);
    h.push_str("</summary>\n<div class=\"body\">\n");
    if let Some(d) = &op.description {
        let _ = writeln!(h, "<p class=\"desc\">{}</p>", esc(d));
    }
    if s.single_side {
        let _ = writeln!(h, "<p class=\"meta\">mode {}</p>", esc(&op.mode));
    } else {
        let _ = writeln!(
            h,
            "<p class=\"meta\">mode {} · speedup p50 {} · p95 {} · server time {} · result {}</p>",
            esc(&op.mode),
            esc(&speedup_text(op)),
            esc(&op
                .speedup_p95
                .as_ref()
                .map_or("–".into(), describe_interval)),
            esc(&server_speedup_text(op)),
            result_html(s, op)
        );
    }
    h.push_str("<div class=\"latency\">\n");
    latency_table(h, s, op);
    percentile_svg(h, s, op);
    h.push_str("</div>\n");
    claims_and_baseline(h, report, s, op);
    let _ = writeln!(
        h,
        "<h4>Plans <small>{}</small></h4>\n<div class=\"plans\">",
        esc(&op.plan_change)
    );
    if s.single_side {
        plan_side(h, "measured", &op.after, &op.after, false);
    } else {
        let both = !op.before.explain.is_empty() && !op.after.explain.is_empty();
        plan_side(h, "before", &op.before, &op.after, both);
        plan_side(h, "after", &op.after, &op.before, both);
    }
    h.push_str("</div>\n");
    let warnings: Vec<_> = op_warnings(s, op).collect();
    for warn in warnings {
        let _ = writeln!(
            h,
            "<p class=\"warning\">warning[{}]: {}</p>",
            esc(&warn.id),
            esc(&warn.message)
        );
    }
    h.push_str("</div>\n</details>\n");
}

/// The `<summary>` line of an operation: name, speedup and tags.
fn operation_summary(
    h: &mut String,
    si: usize,
    oi: usize,
    s: &ScenarioReport,
    op: &OperationReport,
    open: bool,
) {
    let _ = write!(
        h,
        "<details class=\"op\" id=\"{}\"{}>\n<summary><span class=\"name\">{}</span> \
         <span class=\"sum\">{}</span>",
        op_anchor(si, oi, op),
        if open { " open" } else { "" },
        esc(&op.name),
        esc(&if s.single_side {
            format!("p50 {}", p50_text(&op.after))
        } else {
            speedup_text(op)
        }),
    );
    if op.plan_changed {
        h.push_str(" <span class=\"tag chg\">plan changed</span>");
    }
    if unexpected_difference(s, op) {
        h.push_str(" <span class=\"tag bad\">result differs</span>");
    }
    if shown_sides(s, op).iter().any(|(_, side)| !measured(side)) {
        h.push_str(" <span class=\"tag muted\">not measured</span>");
    }
    for c in &op.claims {
        let _ = write!(
            h,
            " <span class=\"tag c-{}\">{} {}</span>",
            claim_word(c.verdict),
            mark(c.verdict),
            esc(&c.parsed)
        );
    }
}

/// The claims table and the baseline comparison of an operation, when it has them.
fn claims_and_baseline(h: &mut String, report: &Report, s: &ScenarioReport, op: &OperationReport) {
    if !op.claims.is_empty() {
        h.push_str(
            "<h4>Claims</h4>\n<table class=\"claims\"><thead><tr><th>verdict</th><th>claim</th><th>reason</th></tr></thead><tbody>\n",
        );
        let at = super::scaling::scale_suffix(report, s);
        for c in &op.claims {
            let _ = writeln!(
                h,
                "<tr><td class=\"c-{0}\">{1} {0}</td><td>{2}{4}</td><td>{3}</td></tr>",
                claim_word(c.verdict),
                mark(c.verdict),
                esc(&c.claim),
                esc(&c.reason),
                esc(&at)
            );
        }
        h.push_str("</tbody></table>\n");
    }
    if let Some(g) = gate_of(report, s, op) {
        let _ = writeln!(h, "<h4>Baseline: {}</h4>", verdict_html(g.verdict));
        if !g.findings.is_empty() {
            h.push_str("<ul class=\"findings\">");
            for f in &g.findings {
                let _ = write!(
                    h,
                    "<li>{} <code>{}</code>: {}</li>",
                    verdict_html(f.verdict),
                    esc(&f.id),
                    esc(&f.message)
                );
            }
            h.push_str("</ul>\n");
        }
    }
}

fn latency_table(h: &mut String, s: &ScenarioReport, op: &OperationReport) {
    h.push_str(
        "<table class=\"lat\"><thead><tr><th></th><th>executions</th><th>min</th><th>p50</th>\
         <th>p90</th><th>p95</th><th>p99</th><th>max</th><th>server (mean)</th></tr></thead><tbody>\n",
    );
    for (name, side) in shown_sides(s, op) {
        if measured(side) {
            let l = &side.latency;
            let _ = write!(
                h,
                "<tr><th class=\"{name}\">{name}</th><td class=\"num\">{}</td>",
                l.count
            );
            for v in [l.min_us, l.p50_us, l.p90_us, l.p95_us, l.p99_us, l.max_us] {
                let _ = write!(h, "<td class=\"num\">{}</td>", esc(&fmt_us(v)));
            }
            let _ = writeln!(
                h,
                "<td class=\"num\">{}</td></tr>",
                esc(&super::server::server_cell(side))
            );
        } else {
            let _ = writeln!(
                h,
                "<tr><th class=\"{name}\">{name}</th><td colspan=\"8\" class=\"muted\">{NOT_MEASURED}</td></tr>"
            );
        }
    }
    h.push_str("</tbody></table>\n");
    let _ = writeln!(h, "<p class=\"muted\">{}</p>", esc(QUANTILE_NOTE));
}

// ---------------------------------------------------------------------------------------------
// The percentile plot.

/// One side's percentile curve: (x = log10(1/(1−q)), latency µs).
struct Curve {
    points: Vec<(f64, f64)>,
    /// x of the last measured quantile, 1 − 1/count.
    x_end: f64,
}

/// Points per decade of the x axis: enough for a smooth curve, few enough for a small file.
const STEPS_PER_DECADE: usize = 40;

fn curve(side: &SideReport) -> Option<Curve> {
    if !measured(side) {
        return None;
    }
    let h: Histogram<u64> = decode_histogram(&side.histogram_ns_v2z)?;
    if h.is_empty() {
        return None;
    }
    let x_end = (h.len() as f64).log10().max(0.1);
    let steps = ((x_end * STEPS_PER_DECADE as f64).ceil() as usize).max(8);
    let mut points = Vec::with_capacity(steps + 2);
    for k in 0..=steps {
        let x = x_end * k as f64 / steps as f64;
        let q = (1.0 - 10f64.powf(-x)).clamp(0.0, 1.0);
        points.push((x, h.value_at_quantile(q) as f64 / 1000.0));
    }
    // HdrHistogram plots end at the maximum, drawn at the last measured quantile.
    points.push((x_end, h.max() as f64 / 1000.0));
    Some(Curve { points, x_end })
}

/// Nice latency values (1, 2, 5 × 10^k µs) for a log axis from `lo` to `hi`.
fn y_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let lo = lo.max(0.001);
    let hi = hi.max(lo * 1.0001);
    let nice: Vec<f64> = (-3..=9)
        .flat_map(|e| [1.0, 2.0, 5.0].map(|m| m * 10f64.powi(e)))
        .collect();
    let below = |v: f64, set: &[f64]| set.iter().rev().find(|t| **t <= v * 1.0000001).copied();
    let above = |v: f64, set: &[f64]| set.iter().find(|t| **t >= v / 1.0000001).copied();
    let pick = |set: &[f64]| {
        let a = below(lo, set).unwrap_or(set[0]);
        let b = above(hi, set).unwrap_or(set[set.len() - 1]);
        set.iter()
            .copied()
            .filter(|t| *t >= a && *t <= b)
            .collect::<Vec<f64>>()
    };
    let ticks = pick(&nice);
    if ticks.len() <= 8 {
        return ticks;
    }
    let decades: Vec<f64> = nice
        .iter()
        .copied()
        .filter(|t| {
            let l = t.log10();
            (l - l.round()).abs() < 1e-9
        })
        .collect();
    pick(&decades)
}

/// `500µs`, `2ms`, `1.5s`: tick labels without trailing zeros.
fn tick_label(us: f64) -> String {
    let trim = |v: f64| {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    };
    if us < 1000.0 {
        format!("{}µs", trim(us))
    } else if us < 1_000_000.0 {
        format!("{}ms", trim(us / 1000.0))
    } else {
        format!("{}s", trim(us / 1_000_000.0))
    }
}

/// `99.9%` for x = 3.
fn percentile_label(x: f64) -> String {
    let q = 100.0 * (1.0 - 10f64.powf(-x));
    let s = format!("{q:.5}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}%")
}

const W: f64 = 640.0;
const HT: f64 = 290.0;
const ML: f64 = 60.0;
const MR: f64 = 16.0;
// The legend sits above the plot, where no curve can hide it.
const MT: f64 = 44.0;
const MB: f64 = 40.0;

/// The plot's scales: log latency on y (from the nice ticks), log10(1/(1−q)) on x.
struct Frame {
    ticks: Vec<f64>,
    x_max: f64,
    ylo: f64,
    span: f64,
}

impl Frame {
    fn new<'a>(curves: impl Iterator<Item = &'a Curve>) -> Frame {
        let (mut lo, mut hi, mut x_end) = (f64::INFINITY, 0f64, 1f64);
        for c in curves {
            for (_, v) in &c.points {
                lo = lo.min(*v);
                hi = hi.max(*v);
            }
            x_end = x_end.max(c.x_end);
        }
        let ticks = y_ticks(lo, hi);
        let (ylo, yhi) = (
            ticks.first().copied().unwrap_or(lo).log10(),
            ticks.last().copied().unwrap_or(hi).log10(),
        );
        Frame {
            ticks,
            x_max: x_end.ceil(),
            ylo,
            span: (yhi - ylo).max(1e-9),
        }
    }

    fn px(&self, x: f64) -> f64 {
        ML + (W - ML - MR) * x / self.x_max
    }

    fn py(&self, v: f64) -> f64 {
        MT + (HT - MT - MB) * (1.0 - (v.max(1e-9).log10() - self.ylo) / self.span)
    }
}

fn percentile_svg(h: &mut String, s: &ScenarioReport, op: &OperationReport) {
    let sides = shown_sides(s, op);
    let curves: Vec<(&str, Option<Curve>)> = sides
        .iter()
        .map(|(name, side)| (*name, curve(side)))
        .collect();
    if curves.iter().all(|(_, c)| c.is_none()) {
        let _ = writeln!(
            h,
            "<div class=\"nochart\">latency distribution: {NOT_MEASURED}</div>"
        );
        return;
    }
    let frame = Frame::new(curves.iter().filter_map(|(_, c)| c.as_ref()));
    let title = format!(
        "Latency percentiles of {}: {}",
        op.name,
        sides
            .iter()
            .map(|(name, side)| format!("{name} {}", p50_text(side)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        h,
        "<svg class=\"chart\" viewBox=\"0 0 {W} {HT}\" role=\"img\" aria-label=\"{0}\" \
         xmlns=\"http://www.w3.org/2000/svg\"><title>{0}</title>",
        esc(&title)
    );
    svg_axes(h, &frame);
    for (k, ((name, c), (_, side))) in curves.iter().zip(&sides).enumerate() {
        svg_curve(h, &frame, k, name, side, c.as_ref());
    }
    h.push_str("</svg>\n");
}

/// The plot area, the grid with its tick labels, and the axis titles.
fn svg_axes(h: &mut String, frame: &Frame) {
    let _ = writeln!(
        h,
        "<rect class=\"plot\" x=\"{ML}\" y=\"{MT}\" width=\"{}\" height=\"{}\"/>",
        W - ML - MR,
        HT - MT - MB
    );
    for t in &frame.ticks {
        let y = frame.py(*t);
        let _ = writeln!(
            h,
            "<line class=\"grid\" x1=\"{ML}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>\
             <text class=\"yl\" x=\"{}\" y=\"{:.1}\">{}</text>",
            W - MR,
            ML - 6.0,
            y + 4.0,
            esc(&tick_label(*t))
        );
    }
    let mut xs: Vec<f64> = vec![0.0, 2f64.log10()];
    xs.extend((1..=frame.x_max as usize).map(|k| k as f64));
    for x in xs {
        let xp = frame.px(x);
        let _ = writeln!(
            h,
            "<line class=\"grid{}\" x1=\"{xp:.1}\" x2=\"{xp:.1}\" y1=\"{MT}\" y2=\"{}\"/>\
             <text class=\"xl\" x=\"{xp:.1}\" y=\"{}\">{}</text>",
            if x > 0.0 && x < 1.0 { " p50" } else { "" },
            HT - MB,
            HT - MB + 14.0,
            percentile_label(x)
        );
    }
    let _ = writeln!(
        h,
        "<text class=\"axis\" x=\"{}\" y=\"{}\">percentile (log scale of 1/(1−q))</text>\n\
         <text class=\"axis\" transform=\"translate(12 {}) rotate(-90)\">latency (log)</text>",
        ML + (W - ML - MR) / 2.0,
        HT - 6.0,
        MT + (HT - MT - MB) / 2.0
    );
}

/// One side's legend line (the `k`-th) and its curve, when it has one.
fn svg_curve(
    h: &mut String,
    frame: &Frame,
    k: usize,
    name: &str,
    side: &SideReport,
    c: Option<&Curve>,
) {
    let ly = 12.0 + 16.0 * k as f64;
    let legend = match c {
        Some(_) => format!(
            "{name}: p50 {}, p99 {}, max {} ({} executions)",
            fmt_us(side.latency.p50_us),
            fmt_us(side.latency.p99_us),
            fmt_us(side.latency.max_us),
            side.latency.count
        ),
        None if measured(side) => {
            format!("{name}: histogram_ns_v2z is not a readable histogram")
        }
        None => format!("{name}: {NOT_MEASURED}"),
    };
    let _ = writeln!(
        h,
        "<line class=\"{name}\" x1=\"{}\" x2=\"{}\" y1=\"{ly}\" y2=\"{ly}\"/>\
         <text class=\"legend\" x=\"{}\" y=\"{}\">{}</text>",
        ML + 8.0,
        ML + 30.0,
        ML + 36.0,
        ly + 4.0,
        esc(&legend)
    );
    if let Some(c) = c {
        let pts: Vec<String> = c
            .points
            .iter()
            .map(|(x, v)| format!("{:.1},{:.1}", frame.px(*x), frame.py(*v)))
            .collect();
        let _ = writeln!(
            h,
            "<polyline class=\"{name}\" points=\"{}\"><title>{}</title></polyline>",
            pts.join(" "),
            esc(&legend)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Plans as trees.

fn children(node: &Json) -> impl Iterator<Item = &Json> {
    node.get("Plans")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
}

/// The root node of an EXPLAIN (FORMAT JSON) document.
fn root(doc: &Json) -> Option<&Json> {
    doc.as_array()
        .and_then(|a| a.first())
        .unwrap_or(doc)
        .get("Plan")
}

/// Counts of root-to-node label chains over all statements of a side.
fn label_paths(side: &SideReport) -> HashMap<String, usize> {
    fn walk(node: &Json, prefix: &str, out: &mut HashMap<String, usize>) {
        let path = format!("{prefix}/{}", node_label(node));
        for c in children(node) {
            walk(c, &path, out);
        }
        *out.entry(path).or_default() += 1;
    }
    let mut out = HashMap::new();
    for st in &side.explain {
        if let Some(r) = root(&st.plan) {
            walk(r, "", &mut out);
        }
    }
    out
}

fn plan_side(h: &mut String, name: &str, side: &SideReport, other: &SideReport, mark: bool) {
    let _ = writeln!(h, "<div class=\"side\"><h5 class=\"{name}\">{name}</h5>");
    if side.explain.is_empty() {
        let _ = writeln!(h, "<p class=\"muted\">not explained</p>");
        for sql in &side.statements {
            let _ = writeln!(h, "<pre class=\"sql\">{}</pre>", esc(sql));
        }
        h.push_str("</div>\n");
        return;
    }
    let mut unmatched = if mark {
        label_paths(other)
    } else {
        HashMap::new()
    };
    for (k, st) in side.explain.iter().enumerate() {
        if side.explain.len() > 1 {
            let _ = writeln!(h, "<h6>statement {}</h6>", k + 1);
        }
        let _ = writeln!(h, "<pre class=\"sql\">{}</pre>", esc(&st.sql));
        if !st.params.is_empty() {
            let _ = writeln!(
                h,
                "<p class=\"meta\">parameters: {}</p>",
                esc(&st.params.join(", "))
            );
        }
        let _ = writeln!(h, "<p class=\"meta\">{}</p>", esc(&statement_facts(st)));
        match root(&st.plan) {
            Some(r) => {
                h.push_str("<ul class=\"tree\">");
                tree_node(h, r, "", mark, &mut unmatched);
                h.push_str("</ul>\n");
            }
            None => h.push_str("<p class=\"muted\">no plan</p>\n"),
        }
        let json = serde_json::to_string_pretty(&st.plan).unwrap_or_default();
        let _ = writeln!(
            h,
            "<details class=\"json\"><summary>copy plan JSON (for PEV2)</summary>\
             <button type=\"button\" class=\"copy\">copy</button><pre>{}</pre></details>",
            esc(&json)
        );
    }
    if let Some(c) = &side.result_checksum {
        let _ = writeln!(h, "<p class=\"meta\">result checksum {}</p>", esc(c));
    }
    h.push_str("</div>\n");
}

/// Per-node conditions worth seeing next to the label.
const CONDITIONS: [&str; 8] = [
    "Index Cond",
    "Recheck Cond",
    "Filter",
    "Join Filter",
    "Hash Cond",
    "Merge Cond",
    "Sort Key",
    "Group Key",
];

fn tree_node(
    h: &mut String,
    node: &Json,
    prefix: &str,
    mark: bool,
    unmatched: &mut HashMap<String, usize>,
) {
    let label = node_label(node);
    let path = format!("{prefix}/{label}");
    // Children first, as label_paths counted them, so that both sides consume matches in
    // the same order.
    let mut kids = String::new();
    for c in children(node) {
        tree_node(&mut kids, c, &path, mark, unmatched);
    }
    let changed = mark
        && match unmatched.get_mut(&path) {
            Some(n) if *n > 0 => {
                *n -= 1;
                false
            }
            _ => true,
        };
    let num = |k: &str| node.get(k).and_then(Json::as_f64);
    let int = |v: Option<f64>| v.map_or("?".into(), |v| format!("{v}"));
    let _ = write!(
        h,
        "<li><div class=\"node{}\"><span class=\"label\">{}</span>{}",
        if changed { " chg" } else { "" },
        esc(&label),
        if changed {
            " <span class=\"tag chg\">changed</span>"
        } else {
            ""
        }
    );
    let mut facts = format!(
        "rows {} × {} loops",
        int(num("Actual Rows")),
        int(num("Actual Loops"))
    );
    if let Some(t) = num("Actual Total Time") {
        let _ = write!(facts, " · {t:.3} ms");
    }
    let _ = write!(
        facts,
        " · shared hit {} read {}",
        int(num("Shared Hit Blocks").or(Some(0.0))),
        int(num("Shared Read Blocks").or(Some(0.0)))
    );
    let temp = num("Temp Read Blocks").unwrap_or(0.0) + num("Temp Written Blocks").unwrap_or(0.0);
    if temp > 0.0 {
        let _ = write!(facts, " · temp {temp}");
    }
    if let Some(r) = num("Rows Removed by Filter").filter(|r| *r > 0.0) {
        let _ = write!(facts, " · removed by filter {r}");
    }
    let _ = write!(h, "<span class=\"facts\">{}</span>", esc(&facts));
    for k in CONDITIONS {
        let v = match node.get(k) {
            Some(Json::String(s)) => s.clone(),
            Some(Json::Array(a)) => a
                .iter()
                .map(|x| x.as_str().map_or(x.to_string(), str::to_string))
                .collect::<Vec<_>>()
                .join(", "),
            _ => continue,
        };
        let _ = write!(h, "<span class=\"cond\">{}: {}</span>", esc(k), esc(&v));
    }
    h.push_str("</div>");
    if !kids.is_empty() {
        let _ = write!(h, "<ul>{kids}</ul>");
    }
    h.push_str("</li>");
}

// ---------------------------------------------------------------------------------------------
// Inputs and environment.

fn scenario_inputs(h: &mut String, s: &ScenarioReport) {
    h.push_str("<details class=\"inputs\"><summary>inputs: files, fingerprints, variables, run settings</summary>\n<table class=\"kv\">");
    let mut row = |k: &str, v: &str| {
        let _ = write!(h, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(v));
    };
    row("scenario file", &s.file);
    let f = &s.fingerprints;
    row("fingerprint schema", &f.schema);
    row("fingerprint seed", &f.seed);
    row("fingerprint migration", &f.migration);
    if !f.settings.is_empty() {
        row("fingerprint settings", &f.settings);
    }
    for m in &s.migration.files {
        row(
            "migration file",
            &format!("{} ({:.0} ms)", m.file, m.duration_ms),
        );
    }
    for (k, v) in &s.vars {
        row(&format!("var {k}"), v);
    }
    let r = &s.run;
    row(
        "run",
        &format!(
            "warm-up {}, {} rounds ({} completed) × {} iterations, budget {} ms/round, {} order, seed {}, statement timeout {} ms, confidence {}",
            r.warmup,
            r.rounds,
            r.rounds_completed,
            r.iterations,
            r.round_budget_ms,
            r.order,
            r.seed,
            r.statement_timeout_ms,
            r.confidence
        ),
    );
    h.push_str("</table></details>\n");
}

fn environment(h: &mut String, report: &Report) {
    h.push_str("<section id=\"environment\"><h2>Environment</h2>\n<table class=\"kv\">");
    for (k, v) in environment_rows(report) {
        let _ = write!(h, "<tr><th>{}</th><td>{}</td></tr>", esc(&k), esc(&v));
    }
    h.push_str("</table></section>\n");
}

const CSS: &str = include_str!("assets/report.css");

const JS: &str = include_str!("assets/report.js");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc("a < b && c > \"d\" 'e'"),
            "a &lt; b &amp;&amp; c &gt; &quot;d&quot; &#39;e&#39;"
        );
    }

    #[test]
    fn ticks_are_nice_and_cover_the_range() {
        assert_eq!(y_ticks(130.0, 900.0), vec![100.0, 200.0, 500.0, 1000.0]);
        let wide = y_ticks(3.0, 2_000_000.0);
        assert_eq!(wide.first(), Some(&1.0));
        assert_eq!(wide.last(), Some(&10_000_000.0));
        assert!(wide.len() <= 8);
    }

    #[test]
    fn labels() {
        assert_eq!(percentile_label(0.0), "0%");
        assert_eq!(percentile_label(1.0), "90%");
        assert_eq!(percentile_label(3.0), "99.9%");
        assert_eq!(percentile_label(2f64.log10()), "50%");
        assert_eq!(tick_label(500.0), "500µs");
        assert_eq!(tick_label(2000.0), "2ms");
        assert_eq!(tick_label(1_500_000.0), "1.5s");
    }

    #[test]
    fn changed_nodes_are_those_without_a_match_on_the_other_side() {
        use serde_json::json;
        let side = |plan: Json| SideReport {
            statements: vec![],
            code: None,
            round_trips: None,
            transaction: false,
            latency: Default::default(),
            round_p50_us: vec![],
            round_p95_us: vec![],
            round_p99_us: vec![],
            round_count: vec![],
            server: None,
            histogram_ns_v2z: String::new(),
            explain: vec![super::super::StatementReport {
                sql: "q".into(),
                params: vec![],
                signature: String::new(),
                indexes: vec![],
                shared_hit_blocks: 0,
                shared_read_blocks: 0,
                temp_blocks: 0,
                plan_rows: 0,
                rows_returned: 0,
                rows_affected: 0,
                checksum: String::new(),
                planning_ms: 0.0,
                execution_ms: 0.0,
                trigger_ms: 0.0,
                plan,
            }],
            result_checksum: None,
        };
        let before = side(json!([{"Plan": {"Node Type": "Sort", "Plans": [
            {"Node Type": "Seq Scan", "Relation Name": "t"}]}}]));
        let after = side(json!([{"Plan": {"Node Type": "Sort", "Plans": [
            {"Node Type": "Index Scan", "Index Name": "i", "Relation Name": "t"}]}}]));
        let mut h = String::new();
        plan_side(&mut h, "after", &after, &before, true);
        assert_eq!(h.matches("node chg").count(), 1, "{h}");
        assert!(h.contains("<div class=\"node\"><span class=\"label\">Sort</span>"));
        let mut same = String::new();
        plan_side(&mut same, "before", &before, &before, true);
        assert!(!same.contains("node chg"));
    }
}
