//! The cross-scale view of a sweep (`Report::sweeps`), worded once and drawn by the table,
//! Markdown and HTML renderers: per operation and scale the p50 of each side and the speedup,
//! the growth exponent of each side, where a plan flips, the claims over the sweep, and in
//! HTML a latency-against-scale chart on log axes.

use std::fmt::Write as _;
use std::io::{self, Write};

use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, ContentArrangement, Table};

use super::html::esc;
use super::markdown::escape;
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

const HEADER: [&str; 5] = [
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

/// The terminal view: one table per swept scenario.
pub fn table<W: Write + ?Sized>(w: &mut W, report: &Report) -> io::Result<()> {
    for sw in &report.sweeps {
        writeln!(w)?;
        writeln!(w, "{} — across scales {}", sw.scenario, scales_text(sw))?;
        let mut t = Table::new();
        t.load_style(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic);
        let mut header = vec!["operation"];
        header.extend(HEADER);
        t.set_header(header);
        for op in &sw.operations {
            for (k, row) in rows(op).into_iter().enumerate() {
                let name = if k == 0 { op.name.as_str() } else { "" };
                let mut cells = vec![Cell::new(name)];
                cells.extend(row.iter().map(Cell::new));
                t.add_row(cells);
            }
        }
        writeln!(w, "{t}")?;
        for op in &sw.operations {
            for n in notes(op) {
                writeln!(w, "  {}: {n}", op.name)?;
            }
            for c in &op.claims {
                writeln!(w, "  {}: {}", op.name, claim_text(c))?;
            }
        }
    }
    Ok(())
}

/// The Markdown view: a table per swept scenario and its notes.
pub fn markdown(md: &mut String, report: &Report) {
    for sw in &report.sweeps {
        let _ = writeln!(
            md,
            "### {} across scales {}\n",
            escape(&sw.scenario),
            scales_text(sw)
        );
        let _ = writeln!(md, "| operation | {} |", HEADER.join(" | "));
        md.push_str("|---|--:|--:|--:|---|---|\n");
        for op in &sw.operations {
            for (k, row) in rows(op).iter().enumerate() {
                let name = if k == 0 {
                    escape(&op.name)
                } else {
                    String::new()
                };
                let cells: Vec<String> = row.iter().map(|c| escape(c)).collect();
                let _ = writeln!(md, "| {name} | {} |", cells.join(" | "));
            }
        }
        md.push('\n');
        for op in &sw.operations {
            for n in notes(op) {
                let _ = writeln!(md, "- **{}**: {}", escape(&op.name), escape(&n));
            }
            for c in &op.claims {
                let _ = writeln!(md, "- **{}**: {}", escape(&op.name), escape(&claim_text(c)));
            }
        }
        md.push('\n');
    }
}

/// The HTML view: per swept scenario a table, the notes and a chart per operation.
pub fn html(h: &mut String, report: &Report) {
    for sw in &report.sweeps {
        let _ = writeln!(
            h,
            "<section class=\"sweep\"><h2>{} <small>across scales {}</small></h2>",
            esc(&sw.scenario),
            esc(&scales_text(sw))
        );
        let _ = write!(h, "<table class=\"summary\"><thead><tr><th>operation</th>");
        for c in HEADER {
            let _ = write!(h, "<th>{c}</th>");
        }
        h.push_str("</tr></thead><tbody>\n");
        for op in &sw.operations {
            for (k, row) in rows(op).iter().enumerate() {
                let name = if k == 0 { esc(&op.name) } else { String::new() };
                let _ = write!(h, "<tr><td>{name}</td>");
                for c in row {
                    let _ = write!(h, "<td>{}</td>", esc(c));
                }
                h.push_str("</tr>\n");
            }
        }
        h.push_str("</tbody></table>\n");
        for op in &sw.operations {
            let _ = writeln!(h, "<h3>{}</h3>\n<ul class=\"notes\">", esc(&op.name));
            for n in notes(op) {
                let _ = write!(h, "<li>{}</li>", esc(&n));
            }
            for c in &op.claims {
                let _ = write!(h, "<li>{}</li>", esc(&claim_text(c)));
            }
            h.push_str("</ul>\n");
            chart(h, op);
        }
        h.push_str("</section>\n");
    }
}

const W: f64 = 520.0;
const H: f64 = 260.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 40.0;

/// Latency (p50) against scale, both axes logarithmic, before and after.
fn chart(h: &mut String, op: &OperationSweep) {
    let pts = |f: fn(&super::SweepPoint) -> Option<f64>| -> Vec<(f64, f64)> {
        op.points
            .iter()
            .filter_map(|p| f(p).filter(|v| *v > 0.0).map(|v| (p.scale as f64, v)))
            .collect()
    };
    let before = pts(|p| p.before_p50_us);
    let after = pts(|p| p.after_p50_us);
    let all: Vec<&(f64, f64)> = before.iter().chain(&after).collect();
    if all.len() < 2 {
        return;
    }
    let lg = |v: f64| v.log10();
    let (x0, x1) = bounds(all.iter().map(|p| lg(p.0)));
    let (y0, y1) = bounds(all.iter().map(|p| lg(p.1)));
    let sx = |x: f64| LEFT + (lg(x) - x0) / (x1 - x0) * (W - LEFT - RIGHT);
    let sy = |y: f64| TOP + (y1 - lg(y)) / (y1 - y0) * (H - TOP - BOTTOM);
    let _ = write!(
        h,
        "<svg class=\"sweep-chart\" viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\" role=\"img\" \
         aria-label=\"{} p50 latency against scale, log axes\">",
        esc(&op.name)
    );
    let _ = write!(
        h,
        "<rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#999\"/>",
        W - LEFT - RIGHT,
        H - TOP - BOTTOM
    );
    for p in &op.points {
        let x = sx(p.scale as f64);
        let _ = write!(
            h,
            "<text class=\"axis\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            H - BOTTOM + 14.0,
            group_digits(p.scale)
        );
    }
    for e in (y0.floor() as i32)..=(y1.ceil() as i32) {
        let v = 10f64.powi(e);
        if lg(v) < y0 - 1e-9 || lg(v) > y1 + 1e-9 {
            continue;
        }
        let _ = write!(
            h,
            "<text class=\"axis\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            LEFT - 4.0,
            sy(v) + 4.0,
            fmt_us(v)
        );
    }
    let _ = write!(
        h,
        "<text class=\"axis\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">scale (log)</text>",
        LEFT + (W - LEFT - RIGHT) / 2.0,
        H - 6.0
    );
    for (name, pts, color) in [("before", &before, "#c0392b"), ("after", &after, "#2471a3")] {
        if pts.is_empty() {
            continue;
        }
        let path: Vec<String> = pts
            .iter()
            .map(|(x, y)| format!("{:.1},{:.1}", sx(*x), sy(*y)))
            .collect();
        let _ = write!(
            h,
            "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\"><title>{name}</title></polyline>",
            path.join(" ")
        );
        for (x, y) in pts.iter() {
            let _ = write!(
                h,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{color}\"><title>{name} at {}: {}</title></circle>",
                sx(*x),
                sy(*y),
                group_digits(*x as i64),
                fmt_us(*y)
            );
        }
    }
    let _ = writeln!(
        h,
        "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"#c0392b\">before</text>\
         <text x=\"{:.1}\" y=\"{:.1}\" fill=\"#2471a3\">after</text></svg>",
        LEFT + 8.0,
        TOP + 14.0,
        LEFT + 64.0,
        TOP + 14.0
    );
}

/// The range of `vals` with a little room, never empty.
fn bounds(vals: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = vals.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    if hi - lo < 1e-9 {
        (lo - 0.5, hi + 0.5)
    } else {
        let pad = (hi - lo) * 0.06;
        (lo - pad, hi + pad)
    }
}
