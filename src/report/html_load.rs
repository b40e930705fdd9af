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
/// Top of the throughput plot.
const TPS_TOP: f64 = MT + LAT_H + GAP;
const TOTAL_H: f64 = MT + LAT_H + GAP + TPS_H + MB;

/// The timeline's scales: time to x, latency (log) to y in the upper plot, throughput to y in
/// the lower one.
struct Frame {
    /// Width of one interval and the end of the last, ms.
    dt: f64,
    t_end: f64,
    /// log10 of the latency axis' ends, µs.
    ylo: f64,
    yhi: f64,
    tps_max: f64,
}

impl Frame {
    fn x(&self, t_ms: f64) -> f64 {
        ML + (W - ML - MR) * t_ms / self.t_end.max(1.0)
    }

    fn y(&self, us: f64) -> f64 {
        MT + LAT_H * (1.0 - (us.max(1e-3).log10() - self.ylo) / (self.yhi - self.ylo).max(1e-9))
    }

    fn tps_y(&self, tps: f64) -> f64 {
        TPS_TOP + TPS_H * (1.0 - tps / self.tps_max)
    }
}

/// Latency percentiles on a log scale above throughput bars, over the load run's time, the
/// warm-up and the migration window shaded.
fn timeline_svg(h: &mut String, l: &LoadReport) {
    let points: Vec<&TimelinePoint> = l.timeline.iter().collect();
    if points.iter().all(|p| p.executions == 0) {
        return;
    }
    let lat: Vec<f64> = points
        .iter()
        .filter(|p| p.executions > 0)
        .flat_map(|p| [p.p50_us, p.max_us])
        .collect();
    let (lo, hi) = lat
        .iter()
        .fold((f64::INFINITY, 0f64), |(a, b), v| (a.min(*v), b.max(*v)));
    let ticks = y_ticks(lo, hi);
    let dt = l.interval_ms as f64;
    let frame = Frame {
        dt,
        t_end: points.len() as f64 * dt,
        ylo: ticks.first().copied().unwrap_or(lo).log10(),
        yhi: ticks.last().copied().unwrap_or(hi).log10(),
        tps_max: points.iter().map(|p| p.tps).fold(1.0f64, f64::max),
    };
    let _ = writeln!(
        h,
        "<svg class=\"timeline\" viewBox=\"0 0 {W} {TOTAL_H}\" role=\"img\" aria-label=\"latency and throughput over time\">"
    );
    shades(h, l, &frame);
    latency_grid(h, &ticks, &frame);
    latency_lines(h, &points, &frame);
    throughput_bars(h, &points, &frame);
    time_axis(h, &frame);
    h.push_str("</svg>\n");
}

/// Warm-up and the migration window, shaded behind everything.
fn shades(h: &mut String, l: &LoadReport, f: &Frame) {
    let shade = |h: &mut String, from: f64, to: f64, fill: &str, label: &str| {
        let _ = writeln!(
            h,
            "<rect x=\"{:.1}\" y=\"{MT}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{fill}\"><title>{}</title></rect>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" fill=\"#656d76\">{}</text>",
            f.x(from),
            (f.x(to) - f.x(from)).max(1.0),
            LAT_H + GAP + TPS_H,
            esc(label),
            f.x(from) + 3.0,
            MT - 6.0,
            esc(label)
        );
    };
    shade(h, 0.0, l.warmup_ms as f64, "#f6f8fa", "warm-up");
    if let Some(m) = &l.migration {
        shade(
            h,
            m.start_ms,
            m.end_ms.unwrap_or(f.t_end),
            "#fde68a",
            &format!("migration {:.0} ms", m.duration_ms),
        );
    }
}

/// A grid line and a label per latency tick.
fn latency_grid(h: &mut String, ticks: &[f64], f: &Frame) {
    for t in ticks {
        let _ = writeln!(
            h,
            "<line x1=\"{ML}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#d0d7de\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\">{}</text>",
            W - MR,
            f.y(*t),
            f.y(*t),
            ML - 4.0,
            f.y(*t) + 4.0,
            tick_label(*t)
        );
    }
}

/// The p50, p99 and max lines, each named at the right edge.
fn latency_lines(h: &mut String, points: &[&TimelinePoint], f: &Frame) {
    type Series<'a> = (&'a str, &'a str, fn(&TimelinePoint) -> f64);
    let series: [Series; 3] = [
        ("p50", "#1d4ed8", |p| p.p50_us),
        ("p99", "#c2410c", |p| p.p99_us),
        ("max", "#cf222e", |p| p.max_us),
    ];
    for (k, (name, color, value)) in series.iter().enumerate() {
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
                f.x((i as f64 + 0.5) * f.dt),
                f.y(value(p))
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
}

/// Throughput per interval as bars (red where executions failed), with the scale's top.
fn throughput_bars(h: &mut String, points: &[&TimelinePoint], f: &Frame) {
    let bars: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            format!(
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.2}\" height=\"{:.1}\" fill=\"{}\"><title>{:.1} s: {:.0}/s, {} errors</title></rect>",
                f.x(i as f64 * f.dt),
                f.tps_y(p.tps),
                (f.x(f.dt) - f.x(0.0)).max(0.5),
                TPS_TOP + TPS_H - f.tps_y(p.tps),
                if p.errors > 0 { "#cf222e" } else { "#8b949e" },
                i as f64 * f.dt / 1000.0,
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
        TPS_TOP + 10.0,
        f.tps_max,
        W - MR + 6.0,
        TPS_TOP + TPS_H
    );
}

/// Seconds along the bottom, about ten labels.
fn time_axis(h: &mut String, f: &Frame) {
    let secs = (f.t_end / 1000.0).ceil() as u64;
    let step = ((secs / 10).max(1)) as f64;
    let mut s = 0.0;
    while s <= secs as f64 {
        let _ = write!(
            h,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\">{s:.0}s</text>",
            f.x(s * 1000.0),
            TOTAL_H - MB + 16.0
        );
        s += step;
    }
}
