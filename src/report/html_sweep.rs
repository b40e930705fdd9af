//! The sweep view in HTML: per swept scenario a table, the notes and a latency-against-scale
//! chart per operation. A child module of `html`, sharing its escaping.

use std::fmt::Write as _;

use super::super::scaling;
use super::super::text::{fmt_us, group_digits};
use super::super::{OperationSweep, Report, SweepPoint};
use super::esc;

/// Per swept scenario a table, the notes and a chart per operation.
pub fn sweeps(h: &mut String, report: &Report) {
    for sw in scaling::views(report) {
        let _ = writeln!(
            h,
            "<section class=\"sweep\"><h2>{} <small>across scales {}</small></h2>",
            esc(sw.scenario),
            esc(&sw.scales)
        );
        let _ = write!(h, "<table class=\"summary\"><thead><tr><th>operation</th>");
        for c in scaling::HEADER {
            let _ = write!(h, "<th>{c}</th>");
        }
        h.push_str("</tr></thead><tbody>\n");
        for op in &sw.operations {
            for (k, row) in op.rows.iter().enumerate() {
                let name = if k == 0 { esc(op.name) } else { String::new() };
                let _ = write!(h, "<tr><td>{name}</td>");
                for c in row {
                    let _ = write!(h, "<td>{}</td>", esc(c));
                }
                h.push_str("</tr>\n");
            }
        }
        h.push_str("</tbody></table>\n");
        for op in &sw.operations {
            let _ = writeln!(h, "<h3>{}</h3>\n<ul class=\"notes\">", esc(op.name));
            for line in &op.lines {
                let _ = write!(h, "<li>{}</li>", esc(line));
            }
            h.push_str("</ul>\n");
            chart(h, op.sweep);
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
    let pts = |f: fn(&SweepPoint) -> Option<f64>| -> Vec<(f64, f64)> {
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
