//! The gate on load runs (docs/load.md, "Against a baseline"). Pure.
//!
//! Phased runs are compared through same-run quantities, as single-client runs are: the
//! speedup of each phase pair (the generic speedup signal, on the pairs' medians) and here the
//! after/before **throughput ratio** of each phase pair, both as a two-sample shift against the
//! baseline's pairs, screened (95 %) and then confirmed (99.5 %) on a fresh phased run.
//!
//! A migration under load is one window, so its timing has no interval to gate on (claims such
//! as `max latency during migration <= 200ms` judge it). What is gated is structural: the
//! traffic the migration now blocks (a relation and lock kind the baseline's migration did not
//! block, seen for at least two sampling periods), errors during the window with a SQLSTATE the
//! baseline did not have, and a migration that now fails.

use crate::analysis::stats;
use crate::report::{Finding, LoadOperation, LoadReport, OperationGate, ScenarioReport, Verdict};

/// Name of the gate entry that holds a migration-under-load's findings.
pub const MIGRATION_ENTRY: &str = "(migration under load)";

/// Whether the load runs of `base` and `new` measured the same thing; `Err` says why not
/// (latency and throughput are then not compared). `Ok(None)`: neither is a load run.
pub fn comparable<'a>(
    base: &'a ScenarioReport,
    new: &'a ScenarioReport,
) -> Result<Option<(&'a LoadReport, &'a LoadReport)>, String> {
    match (&base.load, &new.load) {
        (None, None) => Ok(None),
        (Some(_), None) => Err("the baseline is a load run and this run is not".into()),
        (None, Some(_)) => Err("this run is a load run and the baseline is not".into()),
        (Some(b), Some(n)) => {
            let what = |l: &LoadReport| {
                format!(
                    "{} with {} client(s) {}",
                    l.mode,
                    l.clients,
                    l.target_tps.map_or("in a closed loop".into(), |r| format!(
                        "at {r:.0}/s ({})",
                        l.arrival
                    ))
                )
            };
            if what(b) == what(n) {
                Ok(Some((b, n)))
            } else {
                Err(format!(
                    "the load differs: baseline {}, now {}",
                    what(b),
                    what(n)
                ))
            }
        }
    }
}

/// The test of one stage: its confidence, name and threshold.
#[derive(Clone, Copy)]
pub struct Stage {
    pub confidence: f64,
    pub label: &'static str,
    pub threshold: f64,
}

/// ln(after/before) per phase pair of one operation.
fn pair_logs(before: &[f64], after: &[f64]) -> Vec<f64> {
    before
        .iter()
        .zip(after)
        .filter(|(b, a)| **b > 0.0 && **a > 0.0)
        .map(|(b, a)| (a / b).ln())
        .collect()
}

/// The per-pair throughput of both sides of a phased operation.
pub fn phase_tps(op: &LoadOperation) -> Option<(&[f64], &[f64])> {
    Some((
        &op.before.as_ref()?.phase_tps,
        &op.after.as_ref()?.phase_tps,
    ))
}

/// The after/before throughput ratio against the baseline's: a lower ratio now (the change
/// serves fewer executions per second relative to before than it did) beyond the threshold is
/// a regression. `now` are this run's (or its confirmation's) per-pair throughputs.
pub fn throughput_signal(
    base: &LoadOperation,
    now: (&[f64], &[f64]),
    stage: Stage,
) -> Option<Finding> {
    let (bb, ba) = phase_tps(base)?;
    let e = stats::shift(
        &pair_logs(bb, ba),
        &pair_logs(now.0, now.1),
        stage.confidence,
    )
    // Too few phase pairs for an interval at this confidence: nothing to say.
    .filter(|e| e.confidence + 1e-9 >= stage.confidence)?;
    let margin = (1.0 + stage.threshold).ln();
    let ratio = |b: &[f64], a: &[f64]| {
        let l = pair_logs(b, a);
        (l.iter().sum::<f64>() / l.len().max(1) as f64).exp()
    };
    let message = |what: &str| {
        format!(
            "throughput after/before {:.2}× → {:.2}× ({what}; change {:+.1}% ({:.1}% CI {:+.1}%…{:+.1}%), {} threshold {:.0}%)",
            ratio(bb, ba),
            ratio(now.0, now.1),
            (e.estimate.exp() - 1.0) * 100.0,
            stage.confidence * 100.0,
            (e.low.exp() - 1.0) * 100.0,
            (e.high.exp() - 1.0) * 100.0,
            stage.label,
            stage.threshold * 100.0
        )
    };
    let (id, verdict, what) = if e.high < -margin {
        (
            "throughput-regressed",
            Verdict::Regressed,
            "under load the change serves less than it did",
        )
    } else if e.low > margin {
        (
            "throughput-improved",
            Verdict::Improved,
            "under load the change serves more than it did",
        )
    } else {
        return None;
    };
    Some(Finding {
        id: id.into(),
        side: None,
        statement: None,
        verdict,
        message: message(what),
    })
}

fn finding(id: &str, verdict: Verdict, message: String) -> Finding {
    Finding {
        id: id.into(),
        side: None,
        statement: None,
        verdict,
        message,
    }
}

/// The structural findings of a migration under load against the baseline's (module doc);
/// `None` when neither ran one.
pub fn migration_gate(
    scenario: &str,
    base: &LoadReport,
    new: &LoadReport,
) -> Option<OperationGate> {
    let (b, n) = (base.migration.as_ref()?, new.migration.as_ref()?);
    let mut findings = Vec::new();
    if let (None, Some(e)) = (&b.error, &n.error) {
        findings.push(finding(
            "migration-failed",
            Verdict::Regressed,
            format!("the migration now fails under load: {e}"),
        ));
    }
    let floor_ms = 2.0 * n.sample_ms as f64;
    for x in &n.blocked {
        let known = b
            .blocked
            .iter()
            .any(|y| y.relation == x.relation && y.kind == x.kind);
        if !known && x.duration_ms >= floor_ms {
            findings.push(finding(
                "migration-blocks",
                Verdict::Regressed,
                format!(
                    "the migration now blocks {} to {} for {:.1} s ({} execution(s) waited for {}); the baseline's migration blocked no {} there",
                    x.kind,
                    x.relation,
                    x.duration_ms / 1000.0,
                    x.executions,
                    x.mode,
                    x.kind
                ),
            ));
        }
    }
    for y in &b.blocked {
        if !n
            .blocked
            .iter()
            .any(|x| x.relation == y.relation && x.kind == y.kind)
        {
            findings.push(finding(
                "migration-unblocks",
                Verdict::Improved,
                format!(
                    "the migration no longer blocks {} to {} (the baseline's did, for {:.1} s)",
                    y.kind,
                    y.relation,
                    y.duration_ms / 1000.0
                ),
            ));
        }
    }
    for op in &new.operations {
        let errors = |o: &LoadOperation| o.window.as_ref().map(|w| w.errors.clone());
        let now = errors(op).unwrap_or_default();
        let was = base
            .operations
            .iter()
            .find(|o| o.name == op.name)
            .and_then(errors)
            .unwrap_or_default();
        for (code, count) in now.iter().filter(|(c, _)| !was.contains_key(*c)) {
            findings.push(finding(
                "migration-errors",
                Verdict::Regressed,
                format!(
                    "`{}`: {count} execution(s) failed with {code} during the migration; the baseline had none",
                    op.name
                ),
            ));
        }
    }
    Some(OperationGate {
        scenario: scenario.to_string(),
        operation: MIGRATION_ENTRY.into(),
        verdict: super::overall(findings.iter().map(|f| f.verdict)),
        findings,
    })
}
