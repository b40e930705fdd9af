//! The load section as text, shared by the terminal table, Markdown and HTML renderers: a
//! summary, one row per operation, the migration's lines, the claims.

use super::text::fmt_us;
use super::{Latency, LoadReport, LoadSide};

/// One line saying what load was run and what it achieved.
pub fn summary(l: &LoadReport) -> String {
    let rate = match l.target_tps {
        Some(t) => format!(
            "open loop at {t:.0}/s ({}), latency from the intended start",
            l.arrival
        ),
        None => "closed loop, latency from the actual start".into(),
    };
    let shape = if l.mode == "phased" {
        format!(
            "{} phases A/B of {:.1} s (first {:.1} s of each discarded)",
            l.phases,
            l.phase_ms as f64 / 1000.0,
            l.settle_ms as f64 / 1000.0
        )
    } else {
        format!(
            "migration under load: {:.1} s steady, then the migration, then {:.1} s tail",
            l.steady_ms as f64 / 1000.0,
            l.tail_ms as f64 / 1000.0
        )
    };
    format!(
        "load: {} clients on {} threads, {rate}; {shape}; achieved {:.0} executions/s, {} errors",
        l.clients, l.threads, l.achieved_tps, l.errors
    )
}

fn p99_max(s: &Option<LoadSide>) -> String {
    match s {
        Some(s) if s.latency.count > 0 => {
            format!(
                "{} / {}",
                fmt_us(s.latency.p99_us),
                fmt_us(s.latency.max_us)
            )
        }
        _ => "–".into(),
    }
}

fn triple(l: &Latency) -> String {
    if l.count == 0 {
        return "–".into();
    }
    format!(
        "{} / {} / {}",
        fmt_us(l.p50_us),
        fmt_us(l.p95_us),
        fmt_us(l.p99_us)
    )
}

fn errors(sides: &[&Option<LoadSide>]) -> String {
    let mut all = std::collections::BTreeMap::<String, u64>::new();
    for s in sides.iter().copied().flatten() {
        for (k, v) in &s.errors {
            *all.entry(k.clone()).or_default() += v;
        }
    }
    if all.is_empty() {
        return "0".into();
    }
    all.iter()
        .map(|(k, v)| format!("{v}× {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The operations table: header and rows.
pub fn rows(l: &LoadReport) -> (Vec<&'static str>, Vec<Vec<String>>) {
    if l.mode == "phased" {
        let header = vec![
            "operation",
            "before tps",
            "after tps",
            "throughput after/before (95% CI)",
            "before p50 / p95 / p99",
            "after p50 / p95 / p99",
            "errors",
        ];
        let rows = l
            .operations
            .iter()
            .map(|o| {
                let tps = |s: &Option<LoadSide>| {
                    s.as_ref().map_or("–".into(), |s| format!("{:.0}", s.tps))
                };
                let lat =
                    |s: &Option<LoadSide>| s.as_ref().map_or("–".into(), |s| triple(&s.latency));
                vec![
                    o.name.clone(),
                    tps(&o.before),
                    tps(&o.after),
                    o.throughput_ratio.as_ref().map_or("–".into(), |i| {
                        format!("{:.2}× ({:.2}–{:.2})", i.estimate, i.low, i.high)
                    }),
                    lat(&o.before),
                    lat(&o.after),
                    errors(&[&o.before, &o.after]),
                ]
            })
            .collect();
        (header, rows)
    } else {
        let header = vec![
            "operation",
            "steady p99 / max",
            "during migration p99 / max",
            "tail p99 / max",
            "in flight during migration",
            "errors during migration",
        ];
        let rows = l
            .operations
            .iter()
            .map(|o| {
                vec![
                    o.name.clone(),
                    p99_max(&o.steady),
                    p99_max(&o.window),
                    p99_max(&o.tail),
                    o.window.as_ref().map_or("0".into(), |w| {
                        (w.executions + w.errors.values().sum::<u64>()).to_string()
                    }),
                    errors(&[&o.window]),
                ]
            })
            .collect();
        (header, rows)
    }
}

/// The migration under load, one line each: window, statements, locks held, findings.
pub fn migration_lines(l: &LoadReport) -> Vec<String> {
    let Some(m) = &l.migration else {
        return vec![];
    };
    let mut out = vec![format!(
        "migration under load: {:.0} ms, from {:.1} s to {}",
        m.duration_ms,
        m.start_ms / 1000.0,
        m.end_ms.map_or("(did not finish)".into(), |e| format!(
            "{:.1} s",
            e / 1000.0
        ))
    )];
    for s in &m.statements {
        let first = s.sql.lines().next().unwrap_or("");
        out.push(format!(
            "  {:>9} ms  {}:{}  {}{}",
            format!("{:.1}", s.duration_ms),
            s.file.rsplit('/').next().unwrap_or(&s.file),
            s.line,
            first,
            s.error
                .as_ref()
                .map_or(String::new(), |e| format!("  FAILED: {e}"))
        ));
    }
    let (long, brief): (Vec<_>, Vec<_>) = m.locks_held.iter().partition(|h| h.held_ms > 0.0);
    for h in long {
        out.push(format!(
            "  held {} on {} for {:.0} ms (seen from {:.1} s to {:.1} s)",
            h.mode,
            h.relation,
            h.held_ms,
            h.first_ms / 1000.0,
            h.last_ms / 1000.0
        ));
    }
    if !brief.is_empty() {
        let locks: Vec<String> = brief
            .iter()
            .map(|h| format!("{} on {}", h.mode, h.relation))
            .collect();
        out.push(format!(
            "  held in one sample only (under {} ms): {}",
            m.sample_ms,
            locks.join(", ")
        ));
    }
    for f in &m.findings {
        out.push(format!("  {f}"));
    }
    if m.migration_lock_waits > 0 {
        out.push(format!(
            "  the migration itself waited on a lock held by traffic {} time(s)",
            m.migration_lock_waits
        ));
    }
    if let Some(e) = &m.sampling_error {
        out.push(format!("  {e}"));
    }
    out
}
