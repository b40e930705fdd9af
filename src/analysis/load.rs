//! Load runs: from what the clients recorded to the report's numbers and verdicts. Pure.
//!
//! Phased runs become paired samples: phases A, B, B, A … pair up (A0 with B1, B2 with A3, …)
//! and each pair is one "round" for the same statistics as single-client rounds (per-pair
//! p50/p95/p99 → speedup intervals; per-pair throughput → throughput ratio intervals).

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use super::{latency_of, stats, CONFIDENCE};
use crate::load::record::{decode, OpRec, Pair};
use crate::load::schedule::phase_side;
use crate::load::{LiveMigration, LoadRun};
use crate::measure::{new_histogram, OpSamples, SideSamples};
use crate::report::histogram::encode_histogram;
use crate::report::*;
use crate::scenario::{Bound, Claim, LoadSettings, Operation, Quantile, Scenario, Side};

const MS: f64 = 1e6;

/// A phased run's pairs as single-client-style samples, one entry per scenario operation
/// (operations outside the mix get none).
pub fn phase_samples(load: &LoadRun, operations: usize) -> Vec<OpSamples> {
    let mut out = vec![OpSamples::default(); operations];
    let Some(rec) = &load.recorder else {
        return out;
    };
    for (k, &i) in load.ops.iter().enumerate() {
        let op = &rec.ops[k];
        let s = &mut out[i];
        s.before.total = op.sides[0].latency.clone();
        s.after.total = op.sides[1].latency.clone();
        for pair in op.phases.chunks(2).enumerate() {
            let (p, phases) = pair;
            if phases.len() < 2 || phases.iter().any(|x| x.latency.is_empty()) {
                continue;
            }
            let first = phase_side(2 * p as u64);
            let (b, a) = match first {
                Side::Before => (&phases[0].latency, &phases[1].latency),
                Side::After => (&phases[1].latency, &phases[0].latency),
            };
            push_round(&mut s.before, b);
            push_round(&mut s.after, a);
            s.first.push(first);
        }
    }
    out
}

fn push_round(side: &mut SideSamples, h: &Histogram<u64>) {
    side.round_p50_ns.push(h.value_at_quantile(0.50));
    side.round_p95_ns.push(h.value_at_quantile(0.95));
    side.round_p99_ns.push(h.value_at_quantile(0.99));
    side.round_count.push(h.len());
}

fn load_side(p: &Pair, seconds: f64, phase_tps: Vec<f64>) -> LoadSide {
    let n = p.latency.len();
    LoadSide {
        executions: n,
        tps: if seconds > 0.0 {
            n as f64 / seconds
        } else {
            0.0
        },
        latency: latency_of(&p.latency),
        service: latency_of(&p.service),
        errors: p.errors.clone(),
        phase_tps,
        histogram_ns_v2z: encode_histogram(&p.latency),
    }
}

fn ratio(after: &[f64], before: &[f64]) -> Option<Interval> {
    let (e, geomean) = stats::speedup(after, before, CONFIDENCE)?;
    Some(Interval {
        estimate: e.estimate,
        geomean,
        low: e.low,
        high: e.high,
        confidence: e.confidence,
        rounds: after.len().min(before.len()),
    })
}

/// Per-phase throughput of both sides, paired like the latency rounds: (before, after).
fn phase_tps(op: &OpRec, measured_s: f64) -> (Vec<f64>, Vec<f64>) {
    let (mut b, mut a) = (vec![], vec![]);
    for (p, phases) in op.phases.chunks(2).enumerate() {
        if phases.len() < 2 {
            continue;
        }
        let tps = |i: usize| (phases[i].latency.len() + phases[i].errors) as f64 / measured_s;
        match phase_side(2 * p as u64) {
            Side::Before => {
                b.push(tps(0));
                a.push(tps(1));
            }
            Side::After => {
                b.push(tps(1));
                a.push(tps(0));
            }
        }
    }
    (b, a)
}

fn timeline(hists: &[(Histogram<u64>, u64)], interval_ms: u64) -> Vec<TimelinePoint> {
    let us = |v: u64| v as f64 / 1000.0;
    hists
        .iter()
        .enumerate()
        .map(|(i, (h, errors))| TimelinePoint {
            t_ms: (i as u64 * interval_ms) as f64,
            executions: h.len(),
            tps: h.len() as f64 * 1000.0 / interval_ms as f64,
            errors: *errors,
            p50_us: if h.is_empty() {
                0.0
            } else {
                us(h.value_at_quantile(0.5))
            },
            p99_us: if h.is_empty() {
                0.0
            } else {
                us(h.value_at_quantile(0.99))
            },
            max_us: if h.is_empty() { 0.0 } else { us(h.max()) },
        })
        .collect()
}

fn op_intervals(op: &OpRec) -> Vec<(Histogram<u64>, u64)> {
    op.timeline
        .iter()
        .map(|i| (decode(&i.latency_v2z), i.errors))
        .collect()
}

/// Fills the confirmation of each re-measured operation (`ops`, indices into the scenario's
/// operations) with the per-pair throughput of the fresh phased run `confirm`.
pub fn confirm_throughput(
    s: &Scenario,
    confirm: &LoadRun,
    ops: &[usize],
    operations: &mut [OperationReport],
) {
    let report = load_report(s, confirm);
    for &i in ops {
        let Some(op) = operations.get_mut(i) else {
            continue;
        };
        let fresh = report.operations.iter().find(|o| o.name == op.name);
        if let (Some(c), Some(f)) = (&mut op.confirmation, fresh) {
            c.before_phase_tps = f.before.as_ref().map_or(vec![], |x| x.phase_tps.clone());
            c.after_phase_tps = f.after.as_ref().map_or(vec![], |x| x.phase_tps.clone());
        }
    }
}

/// The measured time of each part of a load run, s.
struct Spans {
    /// Phased: one phase without its settle time.
    phase: f64,
    /// Under load: before the migration started …
    steady: f64,
    /// … while it ran …
    window: f64,
    /// … and after it ended.
    tail: f64,
}

impl Spans {
    fn of(load: &LoadRun) -> Spans {
        let set = &load.settings;
        let m = load.migration.as_ref();
        Spans {
            phase: (set.phase_ms().saturating_sub(set.settle_ms)) as f64 / 1000.0,
            steady: m.map_or(0.0, |m| {
                m.start_ns.saturating_sub(set.warmup_ms * 1_000_000) as f64 / 1e9
            }),
            window: m.map_or(0.0, |m| {
                (m.end_ns.unwrap_or(load.end_ns).saturating_sub(m.start_ns)) as f64 / 1e9
            }),
            tail: m.map_or(0.0, |m| {
                load.end_ns.saturating_sub(m.end_ns.unwrap_or(load.end_ns)) as f64 / 1e9
            }),
        }
    }
}

/// What the operations of the mix add up to.
#[derive(Default)]
struct Totals {
    /// Per timeline interval: the latencies and the errors of all operations.
    intervals: Vec<(Histogram<u64>, u64)>,
    /// Measured executions, failed ones included, and the failed ones.
    executions: u64,
    errors: u64,
    /// Phased: each side's throughput per phase pair.
    tps_before: Vec<f64>,
    tps_after: Vec<f64>,
}

/// The load section of a scenario's report.
pub fn load_report(s: &Scenario, load: &LoadRun) -> LoadReport {
    let set = &load.settings;
    let phased = load.migration.is_none() && !set.under_load;
    let spans = Spans::of(load);
    let mut totals = Totals::default();
    let operations: Vec<LoadOperation> = match &load.recorder {
        Some(rec) => load
            .ops
            .iter()
            .enumerate()
            .map(|(k, &i)| {
                load_operation(
                    &s.operations[i],
                    &rec.ops[k],
                    set,
                    phased,
                    &spans,
                    &mut totals,
                )
            })
            .collect(),
        None => vec![],
    };
    let achieved_tps = achieved_tps(load, phased, &spans, totals.executions);
    let saturation = saturation(load, &operations, achieved_tps, spans.steady);
    LoadReport {
        mode: if phased { "phased" } else { "under-load" }.into(),
        clients: set.clients,
        threads: set.threads.min(set.clients),
        target_tps: set.rate,
        arrival: format!("{:?}", set.arrival).to_lowercase(),
        latency_from: if set.rate.is_some() {
            "intended"
        } else {
            "actual"
        }
        .into(),
        warmup_ms: set.warmup_ms,
        duration_ms: set.duration_ms,
        phases: set.phases,
        phase_ms: set.phase_ms(),
        settle_ms: set.settle_ms,
        steady_ms: set.steady_ms,
        tail_ms: set.tail_ms,
        interval_ms: set.interval_ms,
        achieved_tps,
        executions: totals.executions,
        errors: totals.errors,
        saturated: saturation.is_some(),
        saturation,
        behind_at_end_ms: load.behind_end_ns as f64 / MS,
        operations,
        throughput_ratio: if phased {
            ratio(&totals.tps_after, &totals.tps_before)
        } else {
            None
        },
        timeline: timeline(&totals.intervals, set.interval_ms),
        migration: load
            .migration
            .as_ref()
            .map(|m| migration_report(m, load.end_ns)),
        claims: vec![],
        failure: load.failure.clone(),
    }
}

/// One operation of the mix from what its clients recorded, added into `totals`.
fn load_operation(
    op: &Operation,
    rec: &OpRec,
    set: &LoadSettings,
    phased: bool,
    spans: &Spans,
    totals: &mut Totals,
) -> LoadOperation {
    let intervals = op_intervals(rec);
    for (j, (h, e)) in intervals.iter().enumerate() {
        if totals.intervals.len() <= j {
            totals.intervals.push((new_histogram(), 0));
        }
        totals.intervals[j].0.add(h).expect("same bounds");
        totals.intervals[j].1 += e;
    }
    for p in [
        &rec.sides[0],
        &rec.sides[1],
        &rec.steady,
        &rec.window,
        &rec.tail,
    ] {
        totals.executions += p.latency.len() + p.error_count();
        totals.errors += p.error_count();
    }
    let mut report = LoadOperation {
        name: op.name.clone(),
        weight: op.weight,
        before: None,
        after: None,
        throughput_ratio: None,
        steady: None,
        window: None,
        tail: None,
        timeline: timeline(&intervals, set.interval_ms),
    };
    if phased {
        let (b, a) = phase_tps(rec, spans.phase);
        let side_s = spans.phase * f64::from(set.phases / 2);
        report.throughput_ratio = ratio(&a, &b);
        accumulate(&mut totals.tps_before, &b);
        accumulate(&mut totals.tps_after, &a);
        report.before = Some(load_side(&rec.sides[0], side_s, b));
        report.after = Some(load_side(&rec.sides[1], side_s, a));
    } else {
        report.steady = Some(load_side(&rec.steady, spans.steady, vec![]));
        report.window = Some(load_side(&rec.window, spans.window, vec![]));
        report.tail = Some(load_side(&rec.tail, spans.tail, vec![]));
    }
    report
}

/// Executions per second over the measured time. A phased open loop that fell behind serves
/// its phases' executions over a longer time than the phases last: the rate achieved is over
/// the time it really took.
fn achieved_tps(load: &LoadRun, phased: bool, spans: &Spans, executions: u64) -> f64 {
    let set = &load.settings;
    let (measured_s, stretch) = if phased {
        let nominal_s = (set.phase_ms() * u64::from(set.phases)) as f64 / 1000.0;
        let real_s = load.end_ns.saturating_sub(set.warmup_ms * 1_000_000) as f64 / 1e9;
        let stretch = if real_s > nominal_s && nominal_s > 0.0 {
            nominal_s / real_s
        } else {
            1.0
        };
        (spans.phase * f64::from(set.phases), stretch)
    } else {
        (spans.steady + spans.window + spans.tail, 1.0)
    };
    if measured_s > 0.0 {
        executions as f64 / measured_s * stretch
    } else {
        0.0
    }
}

fn accumulate(total: &mut Vec<f64>, v: &[f64]) {
    if total.len() < v.len() {
        total.resize(v.len(), 0.0);
    }
    for (t, x) in total.iter_mut().zip(v) {
        *t += x;
    }
}

/// Open loop only: the generator fell behind when it served under 95% of the target rate (over
/// the measured time, or the steady period of a run under load), or ended more than a second
/// behind its schedule.
fn saturation(
    load: &LoadRun,
    ops: &[LoadOperation],
    achieved_tps: f64,
    steady_s: f64,
) -> Option<String> {
    let target = load.settings.rate?;
    let rate = if load.migration.is_some() {
        let n: u64 = ops
            .iter()
            .filter_map(|o| o.steady.as_ref())
            .map(|s| s.executions + s.errors.values().sum::<u64>())
            .sum();
        if steady_s > 0.0 {
            n as f64 / steady_s
        } else {
            achieved_tps
        }
    } else {
        achieved_tps
    };
    if rate < 0.95 * target {
        return Some(format!(
            "achieved {rate:.0} of the {target:.0} executions per second asked: the clients or the server \
             cannot keep this rate, so the latencies describe the load they could keep. Add --clients \
             (or threads), or lower --rate"
        ));
    }
    let behind_ms = load.behind_end_ns as f64 / MS;
    (behind_ms > 1000.0).then(|| {
        format!(
            "the clients ended {behind_ms:.0} ms behind their schedule: the load had not been served \
             when the run ended"
        )
    })
}

fn lock_kind(mode: &str) -> String {
    match mode {
        "RowExclusiveLock" => "writes".into(),
        "AccessShareLock" => "reads".into(),
        "RowShareLock" => "row locks".into(),
        "ShareUpdateExclusiveLock" => "maintenance".into(),
        "ExclusiveLock" => "lock requests".into(),
        other => other.to_string(),
    }
}

fn migration_report(m: &LiveMigration, end_ns: u64) -> LiveMigrationReport {
    let ms = |ns: u64| ns as f64 / MS;
    let sample_ms = m.locks.sample_ms as f64;
    let mut groups: BTreeMap<(String, String), BlockedReport> = BTreeMap::new();
    let mut longest = 0.0f64;
    let mut on_migration = 0;
    for w in m.locks.waits.iter().filter(|w| w.by_migration) {
        on_migration += 1;
        longest = longest.max(ms(w.last_ns - w.first_ns) + sample_ms);
        let g = groups
            .entry((w.relation.clone(), w.mode.clone()))
            .or_insert_with(|| BlockedReport {
                relation: w.relation.clone(),
                mode: w.mode.clone(),
                kind: lock_kind(&w.mode),
                executions: 0,
                first_ms: ms(w.first_ns),
                last_ms: ms(w.last_ns),
                duration_ms: 0.0,
            });
        g.executions += 1;
        g.first_ms = g.first_ms.min(ms(w.first_ns));
        g.last_ms = g.last_ms.max(ms(w.last_ns));
        g.duration_ms = g.last_ms - g.first_ms + sample_ms;
    }
    let blocked: Vec<BlockedReport> = groups.into_values().collect();
    let mut findings: Vec<String> = blocked
        .iter()
        .map(|b| {
            format!(
                "blocked {} to {} for {:.1} s ({} execution(s) waited for {})",
                b.kind,
                b.relation,
                b.duration_ms / 1000.0,
                b.executions,
                b.mode
            )
        })
        .collect();
    // A window that never ended (the run was interrupted in it) lasted at least until the
    // end of the last statement seen, which `InFlight` stamps at the interruption.
    let last_statement = m.statements.iter().map(|s| s.end_ns).max().unwrap_or(0);
    let end = m.end_ns.unwrap_or(end_ns).max(last_statement);
    if findings.is_empty() && m.locks.error.is_none() {
        findings.push(format!(
            "no execution was seen waiting on the migration's locks (sampled every {} ms)",
            m.locks.sample_ms
        ));
    }
    LiveMigrationReport {
        start_ms: ms(m.start_ns),
        end_ms: m.end_ns.map(ms),
        duration_ms: ms(end.saturating_sub(m.start_ns)),
        statements: m
            .statements
            .iter()
            .map(|s| LiveStatement {
                file: s.file.clone(),
                line: s.line,
                sql: s.sql.clone(),
                start_ms: ms(s.start_ns),
                duration_ms: ms(s.end_ns - s.start_ns),
                error: s.error.clone(),
            })
            .collect(),
        error: m.statements.iter().find_map(|s| {
            s.error
                .as_ref()
                .map(|e| format!("{}:{}: {e}", s.file, s.line))
        }),
        locks_held: m
            .locks
            .held
            .iter()
            .map(|h| HeldLockReport {
                relation: h.relation.clone(),
                mode: h.mode.clone(),
                first_ms: ms(h.first_ns),
                last_ms: ms(h.last_ns),
                held_ms: ms(h.last_ns - h.first_ns),
            })
            .collect(),
        blocked,
        lock_waits: m.locks.waits.len() as u64 + m.locks.waits_dropped,
        lock_waits_on_migration: on_migration,
        longest_wait_ms: longest,
        migration_lock_waits: m.locks.waits.iter().filter(|w| w.migration_waiting).count() as u64,
        samples: m.locks.samples,
        sample_ms: m.locks.sample_ms,
        sampling_error: m.locks.error.clone(),
        findings,
    }
}

/// What load claims are checked against: one operation, or all of them.
pub struct LoadEvidence<'a> {
    pub report: &'a LoadReport,
    /// `None`: every operation of the mix (scenario-level claims).
    pub operation: Option<&'a LoadOperation>,
}

impl LoadEvidence<'_> {
    fn ops(&self) -> Vec<&LoadOperation> {
        match self.operation {
            Some(o) => vec![o],
            None => self.report.operations.iter().collect(),
        }
    }

    fn what(&self) -> String {
        match self.operation {
            Some(o) => format!("`{}`", o.name),
            None => "all operations".into(),
        }
    }
}

/// The verdict on a load claim; `None` when `claim` is not about load.
pub fn evaluate(claim: &Claim, ev: Option<&LoadEvidence<'_>>) -> Option<(ClaimVerdict, String)> {
    use ClaimVerdict::*;
    let is_load = matches!(
        claim,
        Claim::Throughput { .. }
            | Claim::MigrationLatency { .. }
            | Claim::NoErrors { .. }
            | Claim::NoBlocking
            | Claim::ZeroDowntime
    );
    if !is_load {
        return None;
    }
    let Some(ev) = ev else {
        return Some((
            Inconclusive,
            "no load run: add a [load] section or --clients/--rate (and --under-load for claims about the migration)".into(),
        ));
    };
    Some(match claim {
        Claim::Throughput { side, min_tps } => throughput(ev, *side, *min_tps),
        Claim::NoErrors {
            during_migration: false,
        } => {
            let errs = ev
                .ops()
                .iter()
                .map(|o| all_errors(o))
                .fold(BTreeMap::new(), merge);
            if errs.is_empty() {
                (
                    Holds,
                    format!("{}: no failed execution in the load run", ev.what()),
                )
            } else {
                (
                    Refuted,
                    format!("{}: {} failed", ev.what(), describe_errors(&errs)),
                )
            }
        }
        _ => return Some(migration_claim(claim, ev)),
    })
}

fn all_errors(o: &LoadOperation) -> BTreeMap<String, u64> {
    [&o.before, &o.after, &o.steady, &o.window, &o.tail]
        .into_iter()
        .flatten()
        .map(|s| s.errors.clone())
        .fold(BTreeMap::new(), merge)
}

fn merge(mut a: BTreeMap<String, u64>, b: BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    for (k, v) in b {
        *a.entry(k).or_default() += v;
    }
    a
}

fn describe_errors(e: &BTreeMap<String, u64>) -> String {
    let n: u64 = e.values().sum();
    let codes: Vec<String> = e.iter().map(|(k, v)| format!("{v}× {k}")).collect();
    format!("{n} execution(s) ({})", codes.join(", "))
}

fn throughput(ev: &LoadEvidence<'_>, side: Side, min: f64) -> (ClaimVerdict, String) {
    use ClaimVerdict::*;
    let r = ev.report;
    let ops = ev.ops();
    if r.mode == "phased" {
        let mut per_phase: Vec<f64> = Vec::new();
        for o in &ops {
            let s = match side {
                Side::Before => &o.before,
                Side::After => &o.after,
            };
            if let Some(s) = s {
                accumulate(&mut per_phase, &s.phase_tps);
            }
        }
        let Some(e) = stats::hodges_lehmann(&per_phase, CONFIDENCE) else {
            return (
                Inconclusive,
                "too few phases to judge (at least 4 phases give 2 per side)".into(),
            );
        };
        let measured = format!(
            "{} {side}: {:.0} executions/s ({:.0}% CI {:.0}–{:.0}, {} phases, {} clients{})",
            ev.what(),
            e.estimate,
            e.confidence * 100.0,
            e.low,
            e.high,
            per_phase.len(),
            r.clients,
            r.target_tps
                .map_or(", closed loop".into(), |t| format!(", target {t:.0}/s"))
        );
        if e.low >= min {
            (Holds, format!("{measured} reaches {min:.0}"))
        } else if e.high < min && r.target_tps.is_none_or(|t| t >= min) {
            (Refuted, format!("{measured} stays below {min:.0}"))
        } else if e.high < min {
            (Inconclusive, format!("{measured}: the load asked for only {:.0}/s; run with --rate {min:.0} or a closed loop", r.target_tps.unwrap_or(0.0)))
        } else {
            (Inconclusive, format!("{measured} straddles {min:.0}"))
        }
    } else {
        let tps: f64 = ops
            .iter()
            .filter_map(|o| o.steady.as_ref())
            .map(|s| s.tps)
            .sum();
        let measured = format!(
            "{}: {tps:.0} executions/s in the steady period before the migration",
            ev.what()
        );
        if tps >= min {
            (Holds, format!("{measured} reaches {min:.0}"))
        } else if r.target_tps.is_none_or(|t| t >= min) {
            (Refuted, format!("{measured} stays below {min:.0}"))
        } else {
            (
                Inconclusive,
                format!(
                    "{measured}: the load asked for only {:.0}/s",
                    r.target_tps.unwrap_or(0.0)
                ),
            )
        }
    }
}

/// One operation's executions in flight during the migration window: its name, the window,
/// and the steady period before the migration.
type Window<'a> = (&'a str, &'a LoadSide, Option<&'a LoadSide>);

fn migration_claim(claim: &Claim, ev: &LoadEvidence<'_>) -> (ClaimVerdict, String) {
    use ClaimVerdict::*;
    let Some(m) = &ev.report.migration else {
        return (
            Inconclusive,
            "no migration ran under load: run with --under-load (or `under_load = true` in [load])"
                .into(),
        );
    };
    if let Some(e) = &m.error {
        return (Inconclusive, format!("the migration failed under load, so its effect on traffic is not the one claimed: {e}"));
    }
    let ops = ev.ops();
    let windows: Vec<Window<'_>> = ops
        .iter()
        .filter_map(|o| {
            o.window
                .as_ref()
                .map(|w| (o.name.as_str(), w, o.steady.as_ref()))
        })
        .collect();
    let executed: u64 = windows
        .iter()
        .map(|(_, w, _)| w.executions + w.errors.values().sum::<u64>())
        .sum();
    let blocking = m
        .findings
        .iter()
        .filter(|f| f.starts_with("blocked"))
        .cloned()
        .collect::<Vec<_>>();
    // What the lock sampler saw is evidence of its own: traffic waiting on the migration's
    // locks refutes these claims even when no measured execution fell in the window.
    if matches!(claim, Claim::NoBlocking | Claim::ZeroDowntime) && !blocking.is_empty() {
        return (Refuted, format!("the migration {}", blocking.join("; ")));
    }
    if executed == 0 {
        return (Inconclusive, format!("{}: no execution was in flight during the {:.0} ms migration window; lengthen the migration or raise the rate", ev.what(), m.duration_ms));
    }
    let errors = windows
        .iter()
        .map(|(_, w, _)| w.errors.clone())
        .fold(BTreeMap::new(), merge);
    let resolution = format!("sampled every {} ms", m.sample_ms);
    match claim {
        Claim::MigrationLatency {
            quantile,
            bound,
            bound_us,
        } => migration_latency(*quantile, *bound, *bound_us, &windows, m),
        Claim::NoErrors { .. } => {
            if errors.is_empty() {
                (
                    Holds,
                    format!(
                        "{}: no failed execution among {executed} in flight during the migration",
                        ev.what()
                    ),
                )
            } else {
                (
                    Refuted,
                    format!(
                        "{}: {} failed during the migration",
                        ev.what(),
                        describe_errors(&errors)
                    ),
                )
            }
        }
        Claim::NoBlocking => {
            if m.blocked.is_empty() {
                (Holds, format!("no execution was seen waiting on the migration's locks ({resolution}; shorter waits can be missed)"))
            } else {
                (Refuted, format!("the migration {}", blocking.join("; ")))
            }
        }
        _ => {
            // zero downtime: no failed execution and nothing held up by the migration's locks.
            let mut why = Vec::new();
            if !errors.is_empty() {
                why.push(format!("{} failed", describe_errors(&errors)));
            }
            why.extend(blocking.iter().map(|b| format!("the migration {b}")));
            if why.is_empty() {
                (Holds, format!("during the {:.0} ms migration, no execution failed and none was seen waiting on its locks ({resolution})", m.duration_ms))
            } else {
                (Refuted, why.join("; "))
            }
        }
    }
}

/// `latency during the migration <= X`: the worst operation's quantile in the window, with its
/// steady period beside it.
fn migration_latency(
    quantile: Option<Quantile>,
    bound: Bound,
    bound_us: f64,
    windows: &[Window<'_>],
    m: &LiveMigrationReport,
) -> (ClaimVerdict, String) {
    let (name, value, steady) = windows
        .iter()
        .map(|(n, w, s)| {
            let v = match quantile {
                None => w.latency.max_us,
                Some(Quantile::P50) => w.latency.p50_us,
                Some(Quantile::P95) => w.latency.p95_us,
                Some(Quantile::P99) => w.latency.p99_us,
            };
            (*n, v, s.map(|s| (s.latency.p99_us, s.latency.max_us)))
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .expect("windows is not empty");
    let what = quantile.map_or("max latency".to_string(), |q| format!("{q} latency"));
    let steady = steady.map_or(String::new(), |(p99, max)| {
        format!(
            " (steady period before: p99 {}, max {})",
            fmt_ms(p99),
            fmt_ms(max)
        )
    });
    let measured = format!(
        "{what} during the {:.0} ms migration window: {} on `{name}`{steady}",
        m.duration_ms,
        fmt_ms(value)
    );
    if bound.admits(value, bound_us) {
        (
            ClaimVerdict::Holds,
            format!("{measured}, {bound} {}", fmt_ms(bound_us)),
        )
    } else {
        (
            ClaimVerdict::Refuted,
            format!("{measured}, not {bound} {}", fmt_ms(bound_us)),
        )
    }
}

/// A timing claim (speedup, latency, throughput, latency during the migration) on a load run
/// whose generator fell behind is not judged: from the intended start, latency then measures the
/// backlog, and a phase's executions ran after it. Claims about errors and blocking still are.
pub fn saturated_timing(claim: &Claim, report: &LoadReport) -> Option<String> {
    let timing = matches!(
        claim.inner(),
        Claim::Speedup { .. }
            | Claim::Latency { .. }
            | Claim::Throughput { .. }
            | Claim::MigrationLatency { .. }
    );
    (timing && report.saturated).then(|| {
        format!(
            "the load generator fell behind ({}): the timings describe its backlog, not the load asked for",
            report.saturation.as_deref().unwrap_or("saturated")
        )
    })
}

/// `CLAIM at N tps`: judged only on a load run that kept at least 95% of N.
pub fn at_rate(tps: f64, report: Option<&LoadReport>) -> Result<(), String> {
    let Some(r) = report else {
        return Err(format!("the claim is about {tps:.0} executions/s and there was no load run: add [load] with rate = {tps:.0} (or --rate {tps:.0})"));
    };
    if r.saturated {
        return Err(format!(
            "the generator did not keep its rate ({}), so nothing is known at {tps:.0}/s",
            r.saturation.clone().unwrap_or_default()
        ));
    }
    if r.achieved_tps < 0.95 * tps {
        return Err(format!("the load run served {:.0} executions/s, not the {tps:.0}/s the claim is about: run with --rate {tps:.0}", r.achieved_tps));
    }
    Ok(())
}

fn fmt_ms(us: f64) -> String {
    if us >= 1000.0 {
        format!("{:.1} ms", us / 1000.0)
    } else {
        format!("{us:.0} µs")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::claim::parse;

    #[test]
    fn a_saturated_run_judges_no_timing_claim() {
        let r: Report =
            serde_json::from_str(include_str!("../../tests/data/reports/load.json")).unwrap();
        let mut l = r.scenarios[0].load.clone().unwrap();
        let p = |t: &str| parse(t).unwrap();
        assert!(saturated_timing(&p("speedup >= 2"), &l).is_none());
        l.saturated = true;
        l.saturation = Some("achieved 10 of 100".into());
        for t in [
            "speedup >= 2",
            "after p95 <= 10ms",
            "throughput >= 10 tps",
            "max latency during migration <= 1s",
            "p95 speedup >= 2 at scale >= 10",
        ] {
            let why = saturated_timing(&p(t), &l).unwrap_or_else(|| panic!("{t}"));
            assert!(why.contains("achieved 10 of 100"), "{why}");
        }
        for t in [
            "zero downtime",
            "no errors",
            "uses index i",
            "no blocking during migration",
        ] {
            assert!(saturated_timing(&p(t), &l).is_none(), "{t}");
        }
    }
}
