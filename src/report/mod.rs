//! The results report and its renderers. Every output format reads [`Report`] only.

pub mod html;
pub mod junit;
pub mod markdown;
mod model;
pub mod schema;
pub mod table;
pub mod write;

pub use model::*;

/// The environment as (label, value) rows, in display order: what every renderer shows.
pub fn environment_rows(report: &Report) -> Vec<(String, String)> {
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
    if let Some(cpu) = e.pinned_cpu {
        rows.push(("pinned to CPU".into(), cpu.to_string()));
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
    rows
}
