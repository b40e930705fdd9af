//! The regression gate: a run compared with a stored baseline. Pure: no I/O.
//!
//! Hard gates on deterministic signals (MEASUREMENT.md, "Gate against a stored baseline"):
//! plan signature, result checksum and row counts, shared blocks beyond a relative tolerance
//! *and* an absolute floor, temp blocks appearing. They do not depend on the machine.
//!
//! Latency is compared only through same-run quantities that survive a change of machine:
//! the after/before speedup, and each side's latency divided by the calibration statement
//! measured in the same rounds. Both are compared with the baseline's per-round values by a
//! two-sample Hodges–Lehmann shift on log scale. A regression must clear two stages: the
//! screening interval (95 %) lies entirely beyond the threshold, and then the confirmation
//! interval (99.5 %) on *fresh* rounds does too. Screened but unconfirmed is a pass, noted.
//!
//! A side's latency across runs is judged by the server's own work when both runs measured it
//! (pg_stat_statements, per round): the change in server time per execution, in µs, taken as a
//! fraction of the baseline's client latency, must lie beyond the threshold as a whole interval.
//! Latency relative to the calibration does not decide: it tracks the round trip, not every
//! machine-state episode (A/A runs saw both sides' calibrated latency up ~20% together, server
//! time unchanged), and under CPU contention it scatters so much that a doubled server time
//! never cleared its screen. A calibrated shift the server time does not carry is
//! `latency-unconfirmed` (pass); without server time in both runs, a confirmed calibrated
//! shift is only `inconclusive`.

pub mod load;

use crate::analysis::stats;
use crate::report::{
    Environment, Finding, GateReport, OperationGate, OperationReport, Report, ScenarioReport,
    StatementReport, Thresholds, Verdict,
};

/// Compares every scenario and operation of `new` with `base`.
pub fn compare(base: &Report, base_path: &str, new: &Report) -> GateReport {
    let mut operations = Vec::new();
    let mut notes = Vec::new();
    for s in &new.scenarios {
        let Some(b) = find_scenario(base, s) else {
            notes.push(format!(
                "scenario `{}` at scale {} is not in the baseline",
                s.name, s.scale
            ));
            continue;
        };
        let load = load::comparable(b, s);
        if let Err(why) = &load {
            notes.push(format!(
                "{}: {why}; latency and throughput are not compared with the baseline (plans, results and buffers are)",
                s.name
            ));
        }
        for op in &s.operations {
            match b.operations.iter().find(|o| o.name == op.name) {
                Some(bop) => operations.push(gate_operation(b, bop, s, op, load.is_ok())),
                None => notes.push(format!(
                    "{}/{}: new operation, not in the baseline",
                    s.name, op.name
                )),
            }
        }
        if let Ok(Some((bl, nl))) = load {
            operations.extend(load::migration_gate(&s.name, bl, nl));
        }
        for bop in &b.operations {
            if !s.operations.iter().any(|o| o.name == bop.name) {
                notes.push(format!(
                    "{}/{}: in the baseline, not measured in this run",
                    s.name, bop.name
                ));
            }
        }
    }
    for b in &base.scenarios {
        if !new
            .scenarios
            .iter()
            .any(|s| s.name == b.name && s.scale == b.scale)
        {
            notes.push(format!(
                "scenario `{}` at scale {} is in the baseline, not in this run",
                b.name, b.scale
            ));
        }
    }
    let verdict = overall(operations.iter().map(|o| o.verdict));
    GateReport {
        baseline: base_path.to_string(),
        baseline_started_at: base.started_at.clone(),
        verdict,
        operations,
        notes,
    }
}

/// Settles a finished run's verdict by the kinds of failure `report.fail_on` chose: `failures`
/// becomes one line per refuted claim (per scale and over sweeps) and per regression against
/// the baseline, of the chosen kinds; the exit code becomes 1 when there is one, 0 otherwise,
/// unless an error already decided it (2, 3, 130, 143). The kind not chosen is still in the
/// report (claims, gate) and in every headline, marked as not failing.
pub fn decide(report: &mut Report) {
    let mut lines = Vec::new();
    if report.fail_on.claims() {
        lines.extend(crate::analysis::claim_failures(
            &report.scenarios,
            &report.sweeps,
        ));
    }
    if let Some(g) = report
        .gate
        .as_ref()
        .filter(|_| report.fail_on.regressions())
    {
        lines.extend(failures(g));
    }
    report.failures = lines;
    if report.exit_code <= 1 {
        report.exit_code = u8::from(!report.failures.is_empty());
    }
}

/// One line per regressed finding: what makes a gated run exit 1.
pub fn failures(gate: &GateReport) -> Vec<String> {
    gate.operations
        .iter()
        .filter(|o| o.verdict == Verdict::Regressed)
        .flat_map(|op| {
            op.findings
                .iter()
                .filter(|f| f.verdict == Verdict::Regressed)
                .map(move |f| {
                    format!(
                        "{}/{}: regression ({}): {}",
                        op.scenario, op.operation, f.id, f.message
                    )
                })
        })
        .collect()
}

/// When nothing of `new` matches `base` (no scenario at the same scale with an operation of
/// the same name), what each side holds: a gate that compares nothing must not pass.
pub fn nothing_in_common(base: &Report, new: &[ScenarioReport]) -> Option<String> {
    let matched = new.iter().any(|s| {
        base.scenarios
            .iter()
            .filter(|b| b.name == s.name && b.scale == s.scale)
            .any(|b| {
                b.operations
                    .iter()
                    .any(|bo| s.operations.iter().any(|o| o.name == bo.name))
            })
    });
    let list = |ss: &mut dyn Iterator<Item = &ScenarioReport>| {
        let v: Vec<String> = ss
            .map(|s| {
                let ops: Vec<&str> = s.operations.iter().map(|o| o.name.as_str()).collect();
                format!("`{}` at scale {} ({})", s.name, s.scale, ops.join(", "))
            })
            .collect();
        if v.is_empty() {
            "no scenario".to_string()
        } else {
            v.join("; ")
        }
    };
    (!matched).then(|| {
        format!(
            "nothing to compare: no scenario at the same scale with an operation of the same name\n  baseline: {}\n  this run: {}",
            list(&mut base.scenarios.iter()),
            list(&mut new.iter())
        )
    })
}

pub fn find_scenario<'a>(base: &'a Report, s: &ScenarioReport) -> Option<&'a ScenarioReport> {
    base.scenarios
        .iter()
        .find(|b| b.name == s.name && b.scale == s.scale)
}

/// A baseline measured on another PostgreSQL major version than `new`'s server: plans, costs
/// and executor speed differ between major versions, so the gate would report the upgrade as
/// the change. `None` for the same major version, or when either version is unknown (0).
pub fn server_mismatch(base: &Environment, new: &Environment) -> Option<String> {
    let major = |v: u32| v / 10_000;
    let (b, n) = (base.server_version_num, new.server_version_num);
    (b != 0 && n != 0 && major(b) != major(n)).then(|| {
        format!(
            "the baseline ran on PostgreSQL {}, this run on PostgreSQL {}",
            major(b),
            major(n)
        )
    })
}

/// Input differences that make a comparison meaningless, one line per component, each naming
/// its scenario. (The change under test — the migration and the after side of each operation
/// — may differ: `change_notes` lists it.)
pub fn fingerprint_mismatches(base: &Report, new: &[ScenarioReport]) -> Vec<String> {
    each_scenario(base, new, |d| d.inputs)
}

/// What the change under test changed since the baseline (the migration, operations' after
/// sides), one note per component, for the gate's notes.
pub fn change_notes(base: &Report, new: &[ScenarioReport]) -> Vec<String> {
    each_scenario(base, new, |d| d.change)
}

fn each_scenario(
    base: &Report,
    new: &[ScenarioReport],
    pick: impl Fn(Differences) -> Vec<String>,
) -> Vec<String> {
    let mut out = Vec::new();
    for s in new {
        let Some(b) = find_scenario(base, s) else {
            continue;
        };
        out.extend(
            pick(input_differences(b, s))
                .into_iter()
                .map(|d| format!("{}: {d} (baseline vs this run)", s.name)),
        );
    }
    out
}

/// Differences between two runs of one scenario, one line per component, saying what; pairs
/// read `first vs second`.
#[derive(Debug, Default, PartialEq)]
pub struct Differences {
    /// Inputs that change measurements and must match for a comparison: schema, seed,
    /// variables and parameters (at the same scale: they derive from it), server settings,
    /// run parameters, each operation's before side.
    pub inputs: Vec<String>,
    /// The change under test: the migration and each operation's after side (SQL, or the Rust
    /// function). A gate compares exactly this; runs to be pooled (merge) must agree on it too.
    pub change: Vec<String>,
}

/// What differs between two runs of one scenario. Components that a file written by an older
/// querygate did not record are not compared.
pub fn input_differences(b: &ScenarioReport, n: &ScenarioReport) -> Differences {
    let (fb, fnew) = (&b.fingerprints, &n.fingerprints);
    let mut d = Differences::default();
    let out = &mut d.inputs;
    for (what, x, y) in [
        (
            "the schema differs (schema files and migration base)",
            &fb.schema,
            &fnew.schema,
        ),
        ("the seed differs (seed scripts)", &fb.seed, &fnew.seed),
    ] {
        if x != y {
            out.push(what.to_string());
        }
    }
    let same_scale = b.scale == n.scale;
    let vars: Vec<String> = b
        .vars
        .iter()
        .chain(n.vars.iter().filter(|(k, _)| !b.vars.contains_key(*k)))
        // The scale is matched on, the seed is a run parameter.
        .filter(|(k, _)| same_scale && !matches!(k.as_str(), "scale" | "seed"))
        .filter_map(|(k, _)| {
            let (x, y) = (b.vars.get(k), n.vars.get(k));
            let show = |v: Option<&String>| v.map_or("(unset)".to_string(), Clone::clone);
            (x != y).then(|| format!("{k} = {} vs {}", show(x), show(y)))
        })
        .collect();
    if !vars.is_empty() {
        out.push(format!("the variables differ: {}", vars.join(", ")));
    }
    if !fb.settings.is_empty() && fb.settings != fnew.settings {
        out.push("the [server] settings differ".into());
    }
    let (rb, rn) = (&b.run, &n.run);
    let run: Vec<String> = [
        ("warmup", rb.warmup.to_string(), rn.warmup.to_string()),
        (
            "iterations",
            rb.iterations.to_string(),
            rn.iterations.to_string(),
        ),
        (
            "round_budget_ms",
            rb.round_budget_ms.to_string(),
            rn.round_budget_ms.to_string(),
        ),
        ("seed", rb.seed.to_string(), rn.seed.to_string()),
        ("order", rb.order.clone(), rn.order.clone()),
    ]
    .into_iter()
    .filter(|(_, x, y)| x != y)
    .map(|(k, x, y)| format!("{k} {x} vs {y}"))
    .collect();
    if !run.is_empty() {
        out.push(format!("the run parameters differ: {}", run.join(", ")));
    }
    for (name, ob) in &fb.operations {
        let Some(on) = fnew.operations.get(name) else {
            continue;
        };
        let before = ob.before != on.before;
        // Generators fold variables, which derive from the scale.
        let params = same_scale && ob.params != on.params;
        let what = match (before, params) {
            (true, true) => Some(
                "before side (SQL, mode, transaction or Rust function) and its parameters differ",
            ),
            (true, false) => Some("before side (SQL, mode, transaction or Rust function) differs"),
            (false, true) => Some("parameters differ"),
            (false, false) => None,
        };
        if let Some(what) = what {
            out.push(format!("operation `{name}`: its {what}"));
        }
        if ob.after != on.after {
            d.change.push(format!(
                "operation `{name}`: its after side (SQL, mode, transaction or Rust function) differs"
            ));
        }
    }
    if fb.migration != fnew.migration {
        d.change.insert(0, "the migration differs".into());
    }
    d
}

pub fn overall(verdicts: impl Iterator<Item = Verdict>) -> Verdict {
    let v: Vec<Verdict> = verdicts.collect();
    if v.contains(&Verdict::Regressed) {
        Verdict::Regressed
    } else if v.contains(&Verdict::Inconclusive) {
        Verdict::Inconclusive
    } else if v.contains(&Verdict::Improved) {
        Verdict::Improved
    } else {
        Verdict::Pass
    }
}

/// Operations whose latency looks worse than the baseline at the screening stage: the run
/// re-measures these on fresh rounds before the gate decides.
pub fn suspects(base: &ScenarioReport, new: &ScenarioReport) -> Vec<String> {
    if load::comparable(base, new).is_err() {
        return vec![];
    }
    new.operations
        .iter()
        .filter(|op| {
            base.operations
                .iter()
                .find(|b| b.name == op.name)
                .is_some_and(|b| {
                    latency_signals(base, b, new, op, Stage::Screen)
                        .iter()
                        .any(|f| f.verdict == Verdict::Regressed)
                })
        })
        .map(|op| op.name.clone())
        .collect()
}

fn gate_operation(
    bs: &ScenarioReport,
    b: &OperationReport,
    ns: &ScenarioReport,
    n: &OperationReport,
    latency: bool,
) -> OperationGate {
    let t = n.thresholds;
    let mut findings = Vec::new();
    for (side, bside, nside) in [
        ("before", &b.before, &n.before),
        ("after", &b.after, &n.after),
    ] {
        if nside.explain.is_empty() && !bside.explain.is_empty() {
            // A run that stopped before its EXPLAIN pass has no plans: that is no evidence of
            // a changed statement list, only of nothing compared.
            findings.push(finding(
                "not-compared",
                Some(side),
                None,
                Verdict::Inconclusive,
                format!("{side}: no plans in this run (it stopped before the EXPLAIN pass); plans not compared"),
            ));
            continue;
        }
        if bside.explain.len() != nside.explain.len() {
            findings.push(finding(
                "statements-changed",
                Some(side),
                None,
                Verdict::Regressed,
                format!(
                    "{side}: {} statements in the baseline, {} now",
                    bside.explain.len(),
                    nside.explain.len()
                ),
            ));
        }
        for (i, (x, y)) in bside.explain.iter().zip(&nside.explain).enumerate() {
            findings.extend(statement_findings(side, i, x, y, &t));
        }
    }
    let screened = if latency {
        latency_signals(bs, b, ns, n, Stage::Screen)
    } else {
        vec![]
    };
    if !screened.iter().any(|f| f.verdict == Verdict::Regressed) {
        findings.extend(screened);
    } else {
        // A suspect: the confirmation rounds decide. Without them (a file written without
        // --baseline), the suspicion stays inconclusive; unconfirmed, it is noted and passes.
        let confirmed = if n.confirmation.is_some() {
            latency_signals(bs, b, ns, n, Stage::Confirm)
        } else {
            vec![]
        };
        let regressed = |f: &Finding| f.verdict == Verdict::Regressed;
        let decisive =
            |f: &Finding| matches!(f.verdict, Verdict::Regressed | Verdict::Inconclusive);
        if confirmed.iter().any(decisive) {
            findings.extend(confirmed.into_iter().filter(decisive));
        } else {
            let (verdict, why) = if n.confirmation.is_some() {
                (Verdict::Pass, "not confirmed on fresh rounds")
            } else {
                (Verdict::Inconclusive, "screening only: this run has no confirmation rounds (run with --baseline to re-measure)")
            };
            for f in screened.into_iter().filter(regressed) {
                findings.push(Finding {
                    id: "latency-suspected".into(),
                    verdict,
                    message: format!("{} — {why}", f.message),
                    ..f
                });
            }
        }
    }
    let verdict = overall(findings.iter().map(|f| f.verdict));
    OperationGate {
        scenario: ns.name.clone(),
        operation: n.name.clone(),
        verdict,
        findings,
    }
}

fn finding(
    id: &str,
    side: Option<&str>,
    statement: Option<usize>,
    verdict: Verdict,
    message: String,
) -> Finding {
    Finding {
        id: id.into(),
        side: side.map(str::to_string),
        statement,
        verdict,
        message,
    }
}

/// The deterministic signals of one statement.
pub fn statement_findings(
    side: &str,
    i: usize,
    x: &StatementReport,
    y: &StatementReport,
    t: &Thresholds,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let at = format!("{side} statement {}", i + 1);
    let (was, now) = (signature(x), signature(y));
    if was != now {
        let lost: Vec<&String> = x
            .indexes
            .iter()
            .filter(|ix| !y.indexes.contains(ix))
            .collect();
        let gained: Vec<&String> = y
            .indexes
            .iter()
            .filter(|ix| !x.indexes.contains(ix))
            .collect();
        let mut msg = format!("{at}: plan changed\n    was: {was}\n    now: {now}");
        if !lost.is_empty() {
            msg.push_str(&format!("\n    no longer reads index {}", join(&lost)));
        }
        if !gained.is_empty() {
            msg.push_str(&format!("\n    now reads index {}", join(&gained)));
        }
        out.push(finding(
            "plan-changed",
            Some(side),
            Some(i),
            Verdict::Regressed,
            msg,
        ));
    }
    if x.checksum != y.checksum {
        out.push(finding(
            "result-changed",
            Some(side),
            Some(i),
            Verdict::Regressed,
            format!(
                "{at}: result changed: {} rows → {} rows (checksum {} → {})",
                x.rows_returned, y.rows_returned, x.checksum, y.checksum
            ),
        ));
    } else if x.rows_affected != y.rows_affected {
        out.push(finding(
            "rows-changed",
            Some(side),
            Some(i),
            Verdict::Regressed,
            format!(
                "{at}: rows affected {} → {}",
                x.rows_affected, y.rows_affected
            ),
        ));
    }
    let (bx, by) = (
        x.shared_hit_blocks + x.shared_read_blocks,
        y.shared_hit_blocks + y.shared_read_blocks,
    );
    if by as f64 > bx as f64 * (1.0 + t.buffers_relative) && by.saturating_sub(bx) > t.buffers_floor
    {
        out.push(finding(
            "buffers-increased",
            Some(side),
            Some(i),
            Verdict::Regressed,
            format!(
                "{at}: shared blocks {bx} → {by} (+{:.0}%, tolerance {:.0}% and {} blocks)",
                (by as f64 / bx.max(1) as f64 - 1.0) * 100.0,
                t.buffers_relative * 100.0,
                t.buffers_floor
            ),
        ));
    }
    let (tx, ty) = (x.temp_blocks, y.temp_blocks);
    if (tx == 0 && ty > 0)
        || (ty as f64 > tx as f64 * (1.0 + t.buffers_relative)
            && ty.saturating_sub(tx) > t.buffers_floor)
    {
        out.push(finding(
            "temp-blocks",
            Some(side),
            Some(i),
            Verdict::Regressed,
            format!("{at}: temp blocks {tx} → {ty} (spilling to disk)"),
        ));
    }
    out
}

fn join(v: &[&String]) -> String {
    v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
}

#[derive(Clone, Copy, PartialEq)]
enum Stage {
    Screen,
    Confirm,
}

/// Latency signals: the speedup, and each side's calibrated latency, against the baseline.
fn latency_signals(
    bs: &ScenarioReport,
    b: &OperationReport,
    ns: &ScenarioReport,
    n: &OperationReport,
    stage: Stage,
) -> Vec<Finding> {
    let t = n.thresholds;
    let (conf, label) = match stage {
        Stage::Screen => (t.screen_confidence, "screen"),
        Stage::Confirm => (t.confirm_confidence, "confirm"),
    };
    let test = ShiftTest {
        conf,
        label,
        margin: (1.0 + t.latency).ln(),
        latency: t.latency,
        stage,
    };
    let (n_before, n_after, n_calib): (&[f64], &[f64], Option<&[f64]>) =
        match (stage, &n.confirmation) {
            (Stage::Confirm, Some(c)) => (
                &c.before_round_p50_us,
                &c.after_round_p50_us,
                ns.calibration
                    .as_ref()
                    .map(|c| c.confirm_round_p50_us.as_slice()),
            ),
            _ => (
                &n.before.round_p50_us,
                &n.after.round_p50_us,
                ns.calibration.as_ref().map(|c| c.round_p50_us.as_slice()),
            ),
        };
    let (n_server_before, n_server_after) = match (stage, &n.confirmation) {
        (Stage::Confirm, Some(c)) => (
            c.before_round_server_us.clone(),
            c.after_round_server_us.clone(),
        ),
        _ => (server_rounds(&n.before), server_rounds(&n.after)),
    };
    let (n_cpu_before, n_cpu_after) = match (stage, &n.confirmation) {
        (Stage::Confirm, Some(c)) => (c.before_round_cpu_us.clone(), c.after_round_cpu_us.clone()),
        _ => (cpu_rounds(&n.before), cpu_rounds(&n.after)),
    };
    let mut out = Vec::new();
    out.extend(speedup_signal(b, n_before, n_after, &test));
    let server = ServerRounds {
        time: [&n_server_before, &n_server_after],
        cpu: [&n_cpu_before, &n_cpu_after],
    };
    out.extend(server_speedup_signal(b, server, n_after, &test));
    out.extend(throughput_signal(bs, b, ns, n, &test));
    let calibration = match (bs.calibration.as_ref(), n_calib) {
        (Some(bc), Some(nc)) => Some((bc.round_p50_us.as_slice(), nc)),
        _ => None,
    };
    out.extend(calibrated_signals(
        b,
        [n_before, n_after],
        server,
        calibration,
        &test,
    ));
    out
}

/// Phased load runs: the after/before throughput ratio per phase pair against the baseline's
/// (`load::throughput_signal`), on the confirmation's fresh phases at that stage.
fn throughput_signal(
    bs: &ScenarioReport,
    b: &OperationReport,
    ns: &ScenarioReport,
    n: &OperationReport,
    test: &ShiftTest,
) -> Option<Finding> {
    let Ok(Some((bl, nl))) = load::comparable(bs, ns) else {
        return None;
    };
    let bop = bl.operations.iter().find(|o| o.name == b.name)?;
    let nop = nl.operations.iter().find(|o| o.name == n.name)?;
    let now = match (test.stage, &n.confirmation) {
        (Stage::Confirm, Some(c)) => (c.before_phase_tps.as_slice(), c.after_phase_tps.as_slice()),
        _ => load::phase_tps(nop)?,
    };
    load::throughput_signal(
        bop,
        now,
        load::Stage {
            confidence: test.conf,
            label: test.label,
            threshold: test.latency,
        },
    )
}

/// The interval test of one stage: its confidence, name, and threshold (as a fraction and as
/// a log-ratio margin).
#[derive(Clone, Copy)]
struct ShiftTest {
    conf: f64,
    label: &'static str,
    margin: f64,
    latency: f64,
    stage: Stage,
}

/// The speedup: ln(before/after) per round; a lower value now is a regression of the change.
fn speedup_signal(
    b: &OperationReport,
    n_before: &[f64],
    n_after: &[f64],
    test: &ShiftTest,
) -> Option<Finding> {
    let ShiftTest {
        conf,
        label,
        margin,
        latency,
        ..
    } = *test;
    let e = stats::shift(
        &log_ratios(&b.before.round_p50_us, &b.after.round_p50_us),
        &log_ratios(n_before, n_after),
        conf,
    )
    // Too few rounds (or phase pairs) for an interval at this confidence: nothing to say.
    .filter(|e| e.confidence + 1e-9 >= conf)?;
    let (was, now) = (
        b.speedup.map_or(f64::NAN, |s| s.estimate),
        speedup_of(n_before, n_after),
    );
    let msg = |what: &str| {
        format!(
            "speedup {was:.2}× → {now:.2}× ({what}; change {} ({:.1}% CI {}…{}), {label} threshold {:.0}%)",
            pct(e.estimate),
            conf * 100.0,
            pct(e.low),
            pct(e.high),
            latency * 100.0
        )
    };
    if e.high < -margin {
        Some(finding(
            "speedup-regressed",
            None,
            None,
            Verdict::Regressed,
            msg("the change gains less than it did"),
        ))
    } else if e.low > margin {
        Some(finding(
            "speedup-improved",
            None,
            None,
            Verdict::Improved,
            msg("the change gains more than it did"),
        ))
    } else {
        None
    }
}

/// The change's effect on the server's own work, within each run: per round
/// ln(before server time / after server time), this run against the baseline. As with the
/// speedup, whatever the machine does to a round it does to both sides, so it cancels; unlike
/// the speedup, the round trip is not in it, so it is precise where end-to-end latency scatters.
/// A lower server speedup is read as the after side's added server µs per execution, taken as a
/// fraction of the baseline's after-side client latency: the threshold stays about what a
/// client sees.
fn server_speedup_signal(
    b: &OperationReport,
    n: ServerRounds<'_>,
    n_after_latency: &[f64],
    test: &ShiftTest,
) -> Option<Finding> {
    let ShiftTest {
        conf,
        label,
        latency,
        ..
    } = *test;
    let (b_before, b_after) = (server_rounds(&b.before), server_rounds(&b.after));
    // The smaller of the two runs' client latencies: a loaded run on either side must not
    // dilute the effect.
    let latency_us = median(&b.after.round_p50_us)?.min(median(n_after_latency)?);
    let (e, effect) = speedup_shift([&b_before, &b_after], n.time, latency_us, conf)?;
    let server_us = median(&b_after)?;
    let (was, now) = (
        speedup_of(&b_before, &b_after),
        speedup_of(n.time[0], n.time[1]),
    );
    let msg = |what: &str| {
        format!(
            "server speedup {was:.2}× → {now:.2}× ({what}; change {} ({:.1}% CI {}…{})): the after side's server time per execution from {} µs, {} of its baseline client latency of {} µs (CI {}…{}); {label} threshold {:.0}%",
            pct(e.estimate),
            conf * 100.0,
            pct(e.low),
            pct(e.high),
            fmt_us(server_us),
            signed_pct(effect.estimate),
            fmt_us(latency_us),
            signed_pct(effect.low),
            signed_pct(effect.high),
            latency * 100.0
        )
    };
    // The same ratio of the server processes' CPU time, when both runs read it: a side that
    // waited for a CPU while it executed lowers the wall-clock ratio, not this one.
    let (b_cpu_before, b_cpu_after) = (cpu_rounds(&b.before), cpu_rounds(&b.after));
    let cpu = speedup_shift([&b_cpu_before, &b_cpu_after], n.cpu, latency_us, conf);
    let up = effect.low > latency;
    if !up && effect.high >= -latency {
        return None;
    }
    // Confirmed when the CPU-time ratio moved beyond the threshold the same way (or was not read).
    let unconfirmed = cpu.filter(|(_, c)| {
        if up {
            c.low <= latency
        } else {
            c.high >= -latency
        }
    });
    let (id, verdict, message) = match (unconfirmed, up) {
        (Some((c, c_effect)), _) => (
            "server-speedup-unconfirmed",
            Verdict::Pass,
            format!(
                "{}; but the server processes' CPU time ratio moved only {} ({:.1}% CI {}…{}), {} of the client latency (CI {}…{}): a side waited for a CPU while it executed (the machine was busy), the change's work did not {}",
                msg("wall-clock server time"),
                pct(c.estimate),
                conf * 100.0,
                pct(c.low),
                pct(c.high),
                signed_pct(c_effect.estimate),
                signed_pct(c_effect.low),
                signed_pct(c_effect.high),
                if up { "grow" } else { "shrink" },
            ),
        ),
        (None, true) => (
            "server-speedup-regressed",
            Verdict::Regressed,
            msg("the change costs the server more than it did"),
        ),
        (None, false) => (
            "server-speedup-improved",
            Verdict::Improved,
            msg("the change saves the server more than it did"),
        ),
    };
    Some(finding(id, None, None, verdict, message))
}

/// The within-run ratio before/after of per-execution server figures (`base` and `new`, each
/// `[before, after]` per round), this run against the baseline: the log shift, and the after
/// side's added µs per execution that a lower ratio means, as a fraction of `latency_us`.
fn speedup_shift(
    base: [&[f64]; 2],
    new: [&[f64]; 2],
    latency_us: f64,
    conf: f64,
) -> Option<(stats::Estimate, stats::Estimate)> {
    let e = stats::shift(
        &log_ratios(base[0], base[1]),
        &log_ratios(new[0], new[1]),
        conf,
    )?;
    let after_us = median(base[1])?;
    // A speedup lower by `log` multiplies the after side's time by exp(-log).
    let added = |log: f64| after_us * ((-log).exp() - 1.0) / latency_us;
    let effect = stats::Estimate {
        estimate: added(e.estimate),
        low: added(e.high),
        high: added(e.low),
        confidence: e.confidence,
    };
    Some((e, effect))
}

/// Each side's cross-run latency evidence: its server time per execution (when both runs have
/// it) and its latency in units of the calibration statement of the same rounds (module doc).
fn calibrated_signals(
    b: &OperationReport,
    n_latency: [&[f64]; 2],
    n_server: ServerRounds<'_>,
    calibration: Option<(&[f64], &[f64])>,
    test: &ShiftTest,
) -> Vec<Finding> {
    let ShiftTest {
        conf,
        label,
        margin,
        latency,
        stage,
    } = *test;
    let sides = [("before", &b.before), ("after", &b.after)];
    let server: Vec<Option<ServerShift>> = sides
        .iter()
        .enumerate()
        .map(|(k, (_, bside))| {
            let base_server = server_rounds(bside);
            let e = stats::shift(&logs(&base_server), &logs(n_server.time[k]), conf)?;
            let latency_us = median(&bside.round_p50_us)?.min(median(n_latency[k])?);
            let server_us = median(&base_server)?;
            let base_cpu = cpu_rounds(bside);
            let cpu = stats::shift(&logs(&base_cpu), &logs(n_server.cpu[k]), conf).and_then(|c| {
                let cpu_us = median(&base_cpu)?;
                Some(CpuShift {
                    effect: effect(&c, cpu_us, latency_us),
                    ratio: c,
                    cpu_us,
                })
            });
            Some(ServerShift {
                effect: effect(&e, server_us, latency_us),
                ratio: e,
                server_us,
                latency_us,
                cpu,
            })
        })
        .collect();
    // Both sides' server time beyond the threshold the same way: the side the change does not
    // touch moved as much as the other, so the machine did, not the change.
    let beyond = |s: &Option<ServerShift>, up: bool| {
        s.as_ref().is_some_and(|s| {
            if up {
                s.effect.low > latency
            } else {
                s.effect.high < -latency
            }
        })
    };
    let together = (beyond(&server[0], true) && beyond(&server[1], true))
        || (beyond(&server[0], false) && beyond(&server[1], false));
    let mut out = Vec::new();
    for (k, ((side, bside), server)) in sides.into_iter().zip(server).enumerate() {
        let calibrated = calibration.and_then(|(b_calib, n_calib)| {
            stats::shift(
                &log_ratios(&bside.round_p50_us, b_calib),
                &log_ratios(n_latency[k], n_calib),
                conf,
            )
        });
        if calibrated.is_none() && server.is_none() {
            continue;
        }
        let describe = |what: &str, e: &stats::Estimate| {
            format!(
                "{what} {} ({:.1}% CI {}…{})",
                pct(e.estimate),
                conf * 100.0,
                pct(e.low),
                pct(e.high)
            )
        };
        out.extend(side_latency_finding(&Shifts {
            side,
            calibrated,
            server,
            together,
            margin,
            threshold: latency,
            describe: &describe,
            suffix: format!("{label} threshold {:.0}%", latency * 100.0),
            stage,
        }));
    }
    out
}

/// A statement's plan signature as this version of querygate reads it: recomputed from the
/// stored plan where there is one, so that a baseline written by an earlier version is judged by
/// the same rules as the run (a refined signature, such as catalog lookups folded into one, is
/// then no plan change); the stored signature otherwise.
fn signature(s: &StatementReport) -> String {
    if s.plan.is_null() {
        return s.signature.clone();
    }
    crate::explain::facts(&s.plan).map_or_else(|| s.signature.clone(), |f| f.signature)
}

/// A side's per-round server time (µs), empty when it was not measured.
fn server_rounds(side: &crate::report::SideReport) -> Vec<f64> {
    side.server.as_ref().map_or(vec![], |s| s.round_us.clone())
}

/// A side's per-round server-process CPU time (µs), empty when it was not measured.
fn cpu_rounds(side: &crate::report::SideReport) -> Vec<f64> {
    side.server
        .as_ref()
        .map_or(vec![], |s| s.cpu_round_us.clone())
}

/// Per round ln(x / y), over the rounds where both are measured.
fn log_ratios(xs: &[f64], ys: &[f64]) -> Vec<f64> {
    xs.iter()
        .zip(ys)
        .filter(|(x, y)| **x > 0.0 && **y > 0.0)
        .map(|(x, y)| (x / y).ln())
        .collect()
}

fn logs(xs: &[f64]) -> Vec<f64> {
    xs.iter().filter(|x| **x > 0.0).map(|x| x.ln()).collect()
}

fn median(xs: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = xs
        .iter()
        .copied()
        .filter(|x| x.is_finite() && *x > 0.0)
        .collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// A server-time log shift as what a client sees: the µs the server's own work added (or
/// saved) per execution, as a fraction of the baseline's client latency. Monotonic in the
/// shift, so the interval maps end to end.
fn effect(shift: &stats::Estimate, server_us: f64, latency_us: f64) -> stats::Estimate {
    let f = |log: f64| server_us * (log.exp() - 1.0) / latency_us;
    stats::Estimate {
        estimate: f(shift.estimate),
        low: f(shift.low),
        high: f(shift.high),
        confidence: shift.confidence,
    }
}

/// This run's per-round server time and server-process CPU time (µs), before and after side.
#[derive(Clone, Copy)]
struct ServerRounds<'a> {
    time: [&'a [f64]; 2],
    cpu: [&'a [f64]; 2],
}

/// A side's server-process CPU time, this run against the baseline.
struct CpuShift {
    /// CPU time per execution, log ratio.
    ratio: stats::Estimate,
    /// That change as a fraction of the baseline's client latency (`effect`).
    effect: stats::Estimate,
    /// The baseline's CPU time per execution (µs, median of rounds).
    cpu_us: f64,
}

/// A side's server time, this run against the baseline.
struct ServerShift {
    /// Server time per execution, log ratio.
    ratio: stats::Estimate,
    /// That change as a fraction of the baseline's client latency (`effect`).
    effect: stats::Estimate,
    /// The baseline's server time per execution (µs, median of rounds).
    server_us: f64,
    /// The baseline's client latency (µs, median of the rounds' p50).
    latency_us: f64,
    /// The server processes' CPU time, when both runs read it.
    cpu: Option<CpuShift>,
}

/// One side's cross-run latency evidence.
struct Shifts<'a> {
    side: &'a str,
    /// Latency relative to the calibration statement, this run against the baseline (log);
    /// `None` without a calibration in both runs.
    calibrated: Option<stats::Estimate>,
    /// `None` when either run lacks server time.
    server: Option<ServerShift>,
    /// Both sides' server time moved beyond the threshold the same way (machine state).
    together: bool,
    /// The threshold as a log ratio (calibrated latency).
    margin: f64,
    /// The threshold as a fraction (server time's effect on client latency).
    threshold: f64,
    describe: &'a dyn Fn(&str, &stats::Estimate) -> String,
    suffix: String,
    stage: Stage,
}

/// The verdict on one side's latency across runs (module doc).
///
/// With server time in both runs, the server's own work decides: its change, in µs per
/// execution, taken as a fraction of the baseline's client latency, must lie beyond the
/// threshold as a whole interval. The round trip and the machine's wake-up latency, which the
/// calibration does not track, cannot move it; a slower query can. A calibrated shift the
/// server time does not carry is reported as `latency-unconfirmed` (pass). Without server
/// time, the calibrated latency is screened and re-measured, but confirms only `inconclusive`.
fn side_latency_finding(s: &Shifts<'_>) -> Option<Finding> {
    let m = s.margin;
    let calibrated = s.calibrated.as_ref().map_or(String::new(), |e| {
        (s.describe)("latency relative to calibration", e)
    });
    let calibrated_up = s.calibrated.as_ref().is_some_and(|e| e.low > m);
    let calibrated_down = s.calibrated.as_ref().is_some_and(|e| e.high < -m);
    let context = if calibrated.is_empty() {
        String::new()
    } else {
        format!("; {calibrated}")
    };
    let (id, verdict, why) = match &s.server {
        Some(v) => {
            let server = format!(
                "{} from {} µs: {} of the baseline's client latency of {} µs (CI {}…{})",
                (s.describe)("server time per execution", &v.ratio),
                fmt_us(v.server_us),
                signed_pct(v.effect.estimate),
                fmt_us(v.latency_us),
                signed_pct(v.effect.low),
                signed_pct(v.effect.high),
            );
            if s.together {
                (
                    "latency-unconfirmed",
                    Verdict::Pass,
                    format!("{server}{context}: both sides' server time moved alike, including the side the change does not touch, so the machine's state moved, not the change"),
                )
            } else if v.effect.low > s.threshold {
                judged_with_cpu(s, v, &server, &context, true)
            } else if v.effect.high < -s.threshold {
                judged_with_cpu(s, v, &server, &context, false)
            } else if calibrated_up || calibrated_down {
                (
                    "latency-unconfirmed",
                    Verdict::Pass,
                    format!(
                        "{calibrated}; {server}: the server's own work did not move beyond the threshold, so the round trip or the machine's state did, not the query"
                    ),
                )
            } else {
                return None;
            }
        }
        None if calibrated_down => (
            "latency-improved",
            Verdict::Improved,
            format!("{calibrated}; no server time to compare"),
        ),
        // Screened: re-measure; confirmed without server time: not enough to fail.
        None if calibrated_up && s.stage == Stage::Screen => (
            "latency-regressed",
            Verdict::Regressed,
            format!("{calibrated}; no server time to compare yet"),
        ),
        None if calibrated_up => (
            "latency-regressed",
            Verdict::Inconclusive,
            format!(
                "{calibrated}; no server time in both runs (pg_stat_statements) to tell the query's work from the machine's state: inconclusive"
            ),
        ),
        None => return None,
    };
    Some(finding(
        id,
        Some(s.side),
        None,
        verdict,
        format!("{}: {why}; {}", s.side, s.suffix),
    ))
}

/// A side's server time beyond the threshold (`up`: slower), as its server process's CPU time
/// confirms it: with CPU time in both runs, it must have moved beyond the threshold the same way,
/// or the backend waited for a CPU in one of the runs and the query's work did not change.
fn judged_with_cpu(
    s: &Shifts<'_>,
    v: &ServerShift,
    server: &str,
    context: &str,
    up: bool,
) -> (&'static str, Verdict, String) {
    let (id, verdict) = if up {
        ("latency-regressed", Verdict::Regressed)
    } else {
        ("latency-improved", Verdict::Improved)
    };
    let Some(c) = &v.cpu else {
        return (id, verdict, format!("{server}{context}"));
    };
    let cpu = describe_cpu(s, c);
    let moved = if up {
        c.effect.low > s.threshold
    } else {
        c.effect.high < -s.threshold
    };
    if moved {
        return (id, verdict, format!("{server}; {cpu}{context}"));
    }
    let why = if up {
        "did not grow beyond the threshold, so it waited for a CPU (the machine was busy); the query's work did not grow"
    } else {
        "did not fall beyond the threshold, so the baseline's backend waited for a CPU; the query's work did not shrink"
    };
    (
        "latency-unconfirmed",
        Verdict::Pass,
        format!("{server}; {cpu}{context}: the server process's time on a CPU {why}"),
    )
}

/// A CPU-time shift as a finding says it.
fn describe_cpu(s: &Shifts<'_>, c: &CpuShift) -> String {
    format!(
        "{} from {} µs: {} of the client latency (CI {}…{})",
        (s.describe)("server process CPU time per execution", &c.ratio),
        fmt_us(c.cpu_us),
        signed_pct(c.effect.estimate),
        signed_pct(c.effect.low),
        signed_pct(c.effect.high),
    )
}

fn fmt_us(us: f64) -> String {
    if us >= 100.0 {
        format!("{us:.0}")
    } else {
        format!("{us:.1}")
    }
}

/// A fraction as a signed percentage.
fn signed_pct(x: f64) -> String {
    format!("{:+.1}%", x * 100.0)
}

fn speedup_of(before: &[f64], after: &[f64]) -> f64 {
    stats::speedup(before, after, 0.95).map_or(f64::NAN, |(e, _)| e.estimate)
}

/// A log shift as a signed percentage.
fn pct(log: f64) -> String {
    format!("{:+.1}%", (log.exp() - 1.0) * 100.0)
}

#[cfg(test)]
mod tests;
