//! The load section of the HTML report: summary, operations table, the migration's lines, the
//! claims, and a timeline chart (latency percentiles on a log scale, throughput below, the
//! migration window shaded). A child module of `html`, sharing its helpers.

use std::fmt::Write as _;

use super::super::{load_text, LoadReport, TimelinePoint};
use super::{claim_word, esc, mark, tick_label, y_ticks};

pub(super) fn section(h: &mut String, l: &LoadReport) {
    let _ = writeln!(
        h,
        "<div class=\"load\"><h3>Under load</h3>\n<p class=\"meta\">{}</p>",
        esc(&load_text::summary(l))
    );
    if let Some(s) = &l.saturation {
        let _ = writeln!(h, "<p class=\"warning\">saturated: {}</p>", esc(s));
    }
    timeline_svg(h, l);
    let (header, rows) = load_text::rows(l);
    h.push_str("<table class=\"ops\"><thead><tr>");
    for c in header {
        let _ = write!(h, "<th>{}</th>", esc(c));
    }
    h.push_str("</tr></thead><tbody>");
    for r in rows {
        h.push_str("<tr>");
        for c in r {
            let _ = write!(h, "<td>{}</td>", esc(&c));
        }
        h.push_str("</tr>");
    }
    h.push_str("</tbody></table>\n");
    let lines = load_text::migration_lines(l);
    if !lines.is_empty() {
        let _ = writeln!(h, "<pre>{}</pre>", esc(&lines.join("\n")));
    }
    if !l.claims.is_empty() {
        h.push_str("<ul class=\"claims\">");
        for c in &l.claims {
            let _ = write!(
                h,
                "<li>{} <strong>{}</strong> {}: {}</li>",
                mark(c.verdict),
                claim_word(c.verdict),
                esc(&c.claim),
                esc(&c.reason)
            );
        }
        h.push_str("</ul>\n");
    }
    h.push_str("</div>\n");
}

const W: f64 = 720.0;
const ML: f64 = 60.0;
const MR: f64 = 60.0;
const MT: f64 = 30.0;
/// Height of the latency plot and of the throughput plot under it.
const LAT_H: f64 = 200.0;
const TPS_H: f64 = 80.0;
const GAP: f64 = 24.0;
const MB: f64 = 30.0;

fn timeline_svg(h: &mut String, l: &LoadReport) {
    let points: Vec<&TimelinePoint> = l.timeline.iter().collect();
    if points.iter().all(|p| p.executions == 0) {
        return;
    }
    let dt = l.interval_ms as f64;
    let t_end = points.len() as f64 * dt;
    let x = |t_ms: f64| ML + (W - ML - MR) * t_ms / t_end.max(1.0);
    let lat: Vec<f64> = points
        .iter()
        .filter(|p| p.executions > 0)
        .flat_map(|p| [p.p50_us, p.max_us])
        .collect();
    let (lo, hi) = lat
        .iter()
        .fold((f64::INFINITY, 0f64), |(a, b), v| (a.min(*v), b.max(*v)));
    let ticks = y_ticks(lo, hi);
    let (ylo, yhi) = (
        ticks.first().copied().unwrap_or(lo).log10(),
        ticks.last().copied().unwrap_or(hi).log10(),
    );
    let y = |us: f64| MT + LAT_H * (1.0 - (us.max(1e-3).log10() - ylo) / (yhi - ylo).max(1e-9));
    let tps_max = points.iter().map(|p| p.tps).fold(1.0f64, f64::max);
    let tps_top = MT + LAT_H + GAP;
    let ty = |tps: f64| tps_top + TPS_H * (1.0 - tps / tps_max);
    let total_h = MT + LAT_H + GAP + TPS_H + MB;
    let _ = writeln!(
        h,
        "<svg class=\"timeline\" viewBox=\"0 0 {W} {total_h}\" role=\"img\" aria-label=\"latency and throughput over time\">"
    );
    // Warm-up and the migration window, shaded behind everything.
    let shade = |h: &mut String, from: f64, to: f64, fill: &str, label: &str| {
        let _ = writeln!(
            h,
            "<rect x=\"{:.1}\" y=\"{MT}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{fill}\"><title>{}</title></rect>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" fill=\"#656d76\">{}</text>",
            x(from),
            (x(to) - x(from)).max(1.0),
            LAT_H + GAP + TPS_H,
            esc(label),
            x(from) + 3.0,
            MT - 6.0,
            esc(label)
        );
    };
    shade(h, 0.0, l.warmup_ms as f64, "#f6f8fa", "warm-up");
    if let Some(m) = &l.migration {
        shade(
            h,
            m.start_ms,
            m.end_ms.unwrap_or(t_end),
            "#fde68a",
            &format!("migration {:.0} ms", m.duration_ms),
        );
    }
    for t in &ticks {
        let _ = writeln!(
            h,
            "<line x1=\"{ML}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#d0d7de\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\">{}</text>",
            W - MR,
            y(*t),
            y(*t),
            ML - 4.0,
            y(*t) + 4.0,
            tick_label(*t)
        );
    }
    type Series<'a> = (&'a str, &'a str, fn(&TimelinePoint) -> f64);
    let series: [Series; 3] = [
        ("p50", "#1d4ed8", |p| p.p50_us),
        ("p99", "#c2410c", |p| p.p99_us),
        ("max", "#cf222e", |p| p.max_us),
    ];
    for (k, (name, color, f)) in series.iter().enumerate() {
        // An interval where nothing completed (a stall) breaks the line: no value is drawn
        // across it.
        let mut path = String::new();
        let mut pen_down = false;
        for (i, p) in points.iter().enumerate() {
            if p.executions == 0 {
                pen_down = false;
                continue;
            }
            let _ = write!(
                path,
                "{}{:.1},{:.1} ",
                if pen_down { "L" } else { "M" },
                x((i as f64 + 0.5) * dt),
                y(f(p))
            );
            pen_down = true;
        }
        let _ = writeln!(
            h,
            "<path fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\" d=\"{}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" fill=\"{color}\">{name}</text>",
            path.trim_end(),
            W - MR + 6.0,
            MT + 12.0 + 14.0 * k as f64
        );
    }
    let bars: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            format!(
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.2}\" height=\"{:.1}\" fill=\"{}\"><title>{:.1} s: {:.0}/s, {} errors</title></rect>",
                x(i as f64 * dt),
                ty(p.tps),
                (x(dt) - x(0.0)).max(0.5),
                tps_top + TPS_H - ty(p.tps),
                if p.errors > 0 { "#cf222e" } else { "#8b949e" },
                i as f64 * dt / 1000.0,
                p.tps,
                p.errors
            )
        })
        .collect();
    let _ = writeln!(
        h,
        "{}<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\">{:.0}/s</text>\
         <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\">tps</text>",
        bars.join(""),
        W - MR + 6.0,
        tps_top + 10.0,
        tps_max,
        W - MR + 6.0,
        tps_top + TPS_H
    );
    let secs = (t_end / 1000.0).ceil() as u64;
    let step = ((secs / 10).max(1)) as f64;
    let mut s = 0.0;
    while s <= secs as f64 {
        let _ = write!(
            h,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\">{s:.0}s</text>",
            x(s * 1000.0),
            total_h - MB + 16.0
        );
        s += step;
    }
    h.push_str("</svg>\n");
}
