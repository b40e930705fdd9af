//! Analysis: from raw measurements to the report's numbers and verdicts. Pure: no I/O.

pub mod claims;
pub mod load;
pub mod scaling;
pub mod server;
pub mod stats;

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use sha2::{Digest, Sha256};

use crate::explain::{side_digest, StatementPlan};
use crate::measure::{OpSamples, SideSamples};
use crate::measured::{Catalog, OpPlans, ScenarioRun};
use crate::report::histogram::encode_histogram;
use crate::report::*;
use crate::scenario::{LocatedClaim, Mode, Operation, Params, Scenario, SideSql};

pub const CONFIDENCE: f64 = 0.95;

/// Builds the report of one scenario from what was measured (complete or not).
pub fn scenario_report(run: &ScenarioRun) -> ScenarioReport {
    let s = &run.scenario;
    let mut warnings = run.warnings.clone();
    let mut load_report = run.load.as_ref().map(|l| load::load_report(s, l));
    let mut operations = operation_reports(run, load_report.as_ref(), &mut warnings);
    if let (Some(r), Some(l)) = (&mut load_report, &run.load) {
        judge_load(&l.settings, r, &mut warnings);
    }
    let rounds_completed = run.samples.first().map_or(0, |o| o.first.len() as u64);
    let calibration = calibration(run);
    add_confirmations(run, &mut operations);
    let server_time = server_time(run, rounds_completed, &mut warnings);
    warnings.extend(few_rounds_warning(run, rounds_completed));
    let prepared = run.prepared.clone().unwrap_or_default();
    ScenarioReport {
        name: s.name.clone(),
        description: s.description.clone(),
        file: s.path.display().to_string(),
        scale: s.scale,
        vars: s
            .vars
            .iter()
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect(),
        status: status(run, rounds_completed),
        error: run.error.clone(),
        single_side: !s.compares(),
        fingerprints: fingerprints(s),
        run: run_info(s, rounds_completed),
        seed_ms: prepared.seed_ms,
        migration: MigrationReport {
            duration_ms: prepared.migration_ms,
            files: prepared
                .migration_files
                .into_iter()
                .map(|f| MigrationFile {
                    file: f.file,
                    duration_ms: f.duration_ms,
                })
                .collect(),
        },
        operations,
        calibration,
        server_time,
        warnings,
        load: load_report,
    }
}

/// Each operation's report, in the scenario's order, with the load run's evidence when there
/// is one.
fn operation_reports(
    run: &ScenarioRun,
    load_report: Option<&LoadReport>,
    warnings: &mut Vec<Warning>,
) -> Vec<OperationReport> {
    let s = &run.scenario;
    s.operations
        .iter()
        .enumerate()
        .map(|(i, op)| {
            let load = load_report.map(|r| load::LoadEvidence {
                report: r,
                operation: r.operations.iter().find(|o| o.name == op.name),
            });
            operation_report(
                op,
                s.scale,
                !s.compares(),
                run.samples.get(i),
                run.plans.get(i).and_then(Option::as_ref),
                run.catalogs.as_ref(),
                load,
                warnings,
            )
        })
        .collect()
}

/// The verdicts on the `[load] claim` list into the load report, and a warning when the load
/// generator fell behind.
fn judge_load(
    settings: &crate::scenario::LoadSettings,
    r: &mut LoadReport,
    warnings: &mut Vec<Warning>,
) {
    r.claims = load_claims(settings, r);
    if let Some(why) = &r.saturation {
        warnings.push(Warning {
            id: "load-saturated".into(),
            operation: None,
            message: format!("the load generator fell behind: {why}"),
        });
    }
}

/// The calibration statement's rounds (the last entry of the samples), when measured.
fn calibration(run: &ScenarioRun) -> Option<Calibration> {
    let n = run.scenario.operations.len();
    run.samples.get(n).map(|c| {
        let round_p50_us = calibration_rounds(c);
        let server_round_us = server::calibration_server_rounds(c);
        Calibration {
            sql: crate::measure::CALIBRATION_SQL.into(),
            round_trip_us: server::round_trip_us(&round_p50_us, &server_round_us),
            round_p50_us,
            confirm_round_p50_us: run
                .confirm_samples
                .last()
                .filter(|_| !run.confirm_ops.is_empty())
                .map(calibration_rounds)
                .unwrap_or_default(),
            server_round_us,
        }
    })
}

/// The confirmation stage's numbers onto the operations it re-measured.
fn add_confirmations(run: &ScenarioRun, operations: &mut [OperationReport]) {
    for (k, &i) in run.confirm_ops.iter().enumerate() {
        if let (Some(op), Some(c)) = (operations.get_mut(i), run.confirm_samples.get(k)) {
            op.confirmation = Some(confirmation(c));
        }
    }
    if let Some(confirm) = &run.confirm_load {
        load::confirm_throughput(&run.scenario, confirm, &run.confirm_ops, operations);
    }
}

/// How server time was measured, or `None` (with a warning when rounds ran without it).
fn server_time(
    run: &ScenarioRun,
    rounds_completed: u64,
    warnings: &mut Vec<Warning>,
) -> Option<String> {
    match &run.server_time_unavailable {
        // Load runs measure client latency only (docs/load.md).
        _ if run.load.is_some() => None,
        None if rounds_completed > 0 => Some("pg_stat_statements".to_string()),
        None => None,
        Some(why) => {
            if rounds_completed > 0 {
                warnings.push(Warning {
                    id: "server-time-unavailable".into(),
                    operation: None,
                    message: format!("no server time for this scenario: {why}; only end-to-end latencies and speedups are reported, `server speedup` claims are inconclusive and the gate's cross-run latency check cannot confirm a regression"),
                });
            }
            None
        }
    }
}

/// Too few rounds (or phase pairs) for a 95% interval.
fn few_rounds_warning(run: &ScenarioRun, rounds_completed: u64) -> Option<Warning> {
    if rounds_completed == 0 || rounds_completed >= 6 {
        return None;
    }
    let message = if run.load.is_some() {
        format!("only {rounds_completed} phase pair(s): a 95% interval of a speedup or throughput ratio under load needs at least 6 pairs; consider [load] phases = 12 or more (--phases; docs/method.md)")
    } else {
        format!("only {rounds_completed} rounds: a 95% interval needs at least 6 paired rounds; consider run.rounds = 10 or more")
    };
    Some(Warning {
        id: "few-rounds".into(),
        operation: None,
        message,
    })
}

/// Complete when nothing failed and every round (or the whole load run) ran.
fn status(run: &ScenarioRun, rounds_completed: u64) -> RunStatus {
    let all_ran = run
        .load
        .as_ref()
        .map_or(rounds_completed == run.scenario.run.rounds, |l| l.complete);
    if run.error.is_none() && all_ran {
        RunStatus::Complete
    } else {
        RunStatus::Incomplete
    }
}

fn run_info(s: &Scenario, rounds_completed: u64) -> RunInfo {
    RunInfo {
        warmup: s.run.warmup,
        rounds: s.run.rounds,
        iterations: s.run.iterations,
        round_budget_ms: s.run.round_budget_ms,
        seed: s.run.seed,
        order: format!("{:?}", s.run.order).to_lowercase(),
        statement_timeout_ms: s.run.statement_timeout_ms,
        reconnect: s.run.reconnect.unwrap_or(true),
        rounds_completed,
        confidence: CONFIDENCE,
    }
}

/// The confirmation stage's per-round numbers of one operation.
fn confirmation(c: &OpSamples) -> Confirmation {
    let us = |v: &Vec<u64>| v.iter().map(|x| *x as f64 / 1000.0).collect();
    let server = |s: &SideSamples| server::complete_rounds_us(&s.round_server_ns, s);
    let cpu = |s: &SideSamples| server::complete_rounds_us(&s.round_cpu_ns, s);
    Confirmation {
        before_round_p50_us: us(&c.before.round_p50_ns),
        after_round_p50_us: us(&c.after.round_p50_ns),
        before_round_server_us: server(&c.before),
        after_round_server_us: server(&c.after),
        before_round_cpu_us: cpu(&c.before),
        after_round_cpu_us: cpu(&c.after),
        before_phase_tps: vec![],
        after_phase_tps: vec![],
    }
}

/// Verdicts on the `[load] claim` list, checked against every operation of the mix.
fn load_claims(settings: &crate::scenario::LoadSettings, r: &LoadReport) -> Vec<ClaimReport> {
    settings
        .claims
        .iter()
        .map(|c| {
            let evidence = claims::Evidence {
                speedup_p50: None,
                speedup_p95: None,
                server_speedup: None,
                before_rounds_us: [&[]; 3],
                after_rounds_us: [&[]; 3],
                before_plans: &[],
                after_plans: &[],
                same_result: None,
                load: Some(load::LoadEvidence {
                    report: r,
                    operation: None,
                }),
                rounds: 0,
                catalogs: None,
            };
            claim_report(c, &evidence)
        })
        .collect()
}

/// The calibration's per-round value: the geometric mean of its two connections' medians.
/// The calibration's per-round client latency (µs): the geometric mean of both connections,
/// or the one connection of a run of one side.
fn calibration_rounds(c: &OpSamples) -> Vec<f64> {
    let us = |v: &Vec<u64>| v.iter().map(|x| *x as f64 / 1000.0).collect::<Vec<f64>>();
    server::pair_rounds(&us(&c.before.round_p50_ns), &us(&c.after.round_p50_ns))
}

#[allow(clippy::too_many_arguments)]
fn operation_report(
    op: &Operation,
    scale: i64,
    single_side: bool,
    samples: Option<&OpSamples>,
    plans: Option<&OpPlans>,
    catalogs: Option<&[Catalog; 2]>,
    load: Option<load::LoadEvidence<'_>>,
    warnings: &mut Vec<Warning>,
) -> OperationReport {
    let empty = OpSamples::default();
    let samples = samples.unwrap_or(&empty);
    let no_plans: Vec<StatementPlan> = vec![];
    let (bp, ap) = plans.map_or((&no_plans, &no_plans), |p| (&p.before, &p.after));
    let params: Vec<String> =
        plans.map_or(vec![], |p| p.params.iter().map(|v| v.to_string()).collect());

    let ratio = |f: fn(&SideSamples) -> &Vec<u64>| -> Option<Interval> {
        let b: Vec<f64> = f(&samples.before).iter().map(|v| *v as f64).collect();
        let a: Vec<f64> = f(&samples.after).iter().map(|v| *v as f64).collect();
        speedup_interval(&b, &a)
    };
    let speedup = ratio(|s| &s.round_p50_ns);
    let speedup_p95 = ratio(|s| &s.round_p95_ns);
    let server_speedup = server::server_speedup(samples, speedup_interval);

    let same_result = plans
        .filter(|_| !single_side)
        .map(|_| side_digest(bp) == side_digest(ap));
    if same_result == Some(false) && op.expect_same_result != Some(false) {
        warnings.push(results_differ_warning(op, bp, ap));
    }
    let before = side_report(&op.before, op.mode, &samples.before, bp, &params);
    let after = side_report(&op.after, op.mode, &samples.after, ap, &params);
    // Under load, latency is queueing and concurrency as much as round trip: the single-client
    // round-trip reading does not apply.
    if load.is_none() {
        warnings.extend(round_trip_warning(
            op,
            &after,
            ap,
            speedup,
            server_speedup,
            single_side,
        ));
    }
    let evidence = claims::Evidence {
        speedup_p50: speedup,
        speedup_p95,
        server_speedup,
        same_result,
        load,
        catalogs,
        ..side_evidence(samples, [&before, &after], [bp, ap])
    };
    let claims = op
        .claims
        .iter()
        .filter(|c| c.claim.applies_at(scale))
        .map(|c| claim_report(c, &evidence))
        .collect();
    let (plan_changed, plan_change) = if single_side {
        (false, plan_summary(ap))
    } else {
        plan_change(bp, ap)
    };
    OperationReport {
        name: op.name.clone(),
        description: op.description.clone(),
        mode: format!("{:?}", op.mode).to_lowercase(),
        before,
        after,
        speedup,
        speedup_p95,
        server_speedup,
        plan_changed,
        plan_change,
        same_result,
        expect_same_result: op.expect_same_result,
        claims,
        thresholds: op.thresholds,
        confirmation: None,
        sweep_claims: op
            .claims
            .iter()
            .filter(|c| c.claim.is_sweep())
            .map(|c| c.text.clone())
            .collect(),
    }
}

/// The evidence of one operation's sides for its claims: per-round quantiles, plans and the
/// rounds measured; the rest is filled by the caller.
fn side_evidence<'a>(
    samples: &OpSamples,
    [before, after]: [&'a SideReport; 2],
    [before_plans, after_plans]: [&'a [StatementPlan]; 2],
) -> claims::Evidence<'a> {
    claims::Evidence {
        speedup_p50: None,
        speedup_p95: None,
        server_speedup: None,
        before_rounds_us: [
            &before.round_p50_us,
            &before.round_p95_us,
            &before.round_p99_us,
        ],
        after_rounds_us: [
            &after.round_p50_us,
            &after.round_p95_us,
            &after.round_p99_us,
        ],
        before_plans,
        after_plans,
        same_result: None,
        load: None,
        rounds: samples
            .before
            .round_p50_ns
            .len()
            .max(samples.after.round_p50_ns.len()),
        catalogs: None,
    }
}

/// The verdict on one claim as written in the scenario.
fn claim_report(c: &LocatedClaim, evidence: &claims::Evidence<'_>) -> ClaimReport {
    let (verdict, reason) = claims::evaluate(&c.claim, evidence);
    ClaimReport {
        claim: c.text.clone(),
        parsed: c.claim.to_string(),
        verdict,
        reason,
    }
}

/// The sides return different rows, and the scenario did not say that is intended.
fn results_differ_warning(op: &Operation, bp: &[StatementPlan], ap: &[StatementPlan]) -> Warning {
    Warning {
        id: "results-differ".into(),
        operation: Some(op.name.clone()),
        message: format!(
            "`{}` returns different rows after the change ({} before, {} after): the optimisation changes what the operation returns. \
             If that is intended, set expect_same_result = false",
            op.name,
            side_digest(bp).render(),
            side_digest(ap).render()
        ),
    }
}

/// For fast statements the client round trip dominates latency and compresses the end-to-end
/// speedup (MEASUREMENT.md, "Server time and round trip"). Server time from pg_stat_statements
/// (mean per execution, against the mean client latency) when measured, else EXPLAIN ANALYZE's
/// planning + execution of one execution (against the median).
fn round_trip_warning(
    op: &Operation,
    after: &SideReport,
    after_plans: &[StatementPlan],
    speedup: Option<Interval>,
    server_speedup: Option<Interval>,
    single_side: bool,
) -> Option<Warning> {
    if after.latency.count == 0 {
        return None;
    }
    let (server_us, client_us, source) = match &after.server {
        Some(s) => (s.mean_us, after.latency.mean_us, "pg_stat_statements"),
        None if !after_plans.is_empty() => (
            after_plans
                .iter()
                .map(|p| (p.facts.execution_ms + p.facts.planning_ms) * 1000.0)
                .sum(),
            after.latency.p50_us,
            "EXPLAIN ANALYZE",
        ),
        None => return None,
    };
    server::round_trip_warning(&server::RoundTripEvidence {
        operation: &op.name,
        server_us,
        client_us,
        source,
        speedup,
        server_speedup,
        single_side,
    })
}

fn side_report(
    sql: &SideSql,
    mode: Mode,
    s: &SideSamples,
    plans: &[StatementPlan],
    params: &[String],
) -> SideReport {
    let h = &s.total;
    let us = |ns: u64| ns as f64 / 1000.0;
    let latency = latency_of(h);
    let transaction = (sql.transaction && sql.code.is_none()) || mode == Mode::Rollback;
    // Round trips the operation itself makes: its statements, with BEGIN and COMMIT when the
    // side is a transaction of its own (a function's are among what it ran); not the
    // BEGIN … ROLLBACK querygate puts around rollback-mode executions.
    let (statements, round_trips) = match &sql.code {
        Some(_) => (
            plans.iter().map(|p| p.sql.clone()).collect(),
            plans.len() as u64,
        ),
        None => (
            sql.statements
                .iter()
                .map(|s| s.sql.clone())
                .collect::<Vec<_>>(),
            sql.statements.len() as u64 + if sql.transaction { 2 } else { 0 },
        ),
    };
    SideReport {
        statements,
        code: sql.code.as_ref().map(|c| c.name.clone()),
        round_trips: (!plans.is_empty()).then_some(round_trips),
        transaction,
        server: server::side_server(s, &latency),
        latency,
        round_p50_us: s.round_p50_ns.iter().map(|v| us(*v)).collect(),
        round_p95_us: s.round_p95_ns.iter().map(|v| us(*v)).collect(),
        round_p99_us: s.round_p99_ns.iter().map(|v| us(*v)).collect(),
        round_count: s.round_count.clone(),
        histogram_ns_v2z: encode_histogram(h),
        explain: plans
            .iter()
            .map(|p| StatementReport {
                sql: p.sql.clone(),
                params: params.to_vec(),
                signature: p.facts.signature.clone(),
                indexes: p.facts.indexes.clone(),
                shared_hit_blocks: p.facts.shared_hit_blocks,
                shared_read_blocks: p.facts.shared_read_blocks,
                temp_blocks: p.facts.temp_blocks,
                plan_rows: p.facts.rows,
                rows_returned: p.rows_returned,
                rows_affected: p.rows_affected,
                checksum: crate::explain::ResultDigest {
                    rows: p.rows_returned,
                    sum: p.checksum,
                }
                .render(),
                planning_ms: p.facts.planning_ms,
                execution_ms: p.facts.execution_ms,
                trigger_ms: p.facts.trigger_ms,
                plan: p.plan.clone(),
            })
            .collect(),
        result_checksum: (!plans.is_empty()).then(|| side_digest(plans).render()),
    }
}

/// The speedup of paired per-round samples (before, after; any one unit) with its interval.
pub fn speedup_interval(before: &[f64], after: &[f64]) -> Option<Interval> {
    let (e, geomean) = stats::speedup(before, after, CONFIDENCE)?;
    Some(Interval {
        estimate: e.estimate,
        geomean,
        low: e.low,
        high: e.high,
        confidence: e.confidence,
        rounds: before.len().min(after.len()),
    })
}

/// Latency percentiles over every execution recorded in `h` (nanoseconds).
pub fn latency_of(h: &Histogram<u64>) -> Latency {
    if h.is_empty() {
        return Latency::default();
    }
    let us = |ns: u64| ns as f64 / 1000.0;
    Latency {
        count: h.len(),
        min_us: us(h.min()),
        p50_us: us(h.value_at_quantile(0.50)),
        p90_us: us(h.value_at_quantile(0.90)),
        p95_us: us(h.value_at_quantile(0.95)),
        p99_us: us(h.value_at_quantile(0.99)),
        max_us: us(h.max()),
        mean_us: h.mean() / 1000.0,
        stdev_us: h.stdev() / 1000.0,
    }
}

/// One line per refuted claim, per-scale and over a sweep: what makes a run exit 1.
pub fn claim_failures(scenarios: &[ScenarioReport], sweeps: &[SweepReport]) -> Vec<String> {
    let sweep = is_sweep(scenarios);
    let mut failures = Vec::new();
    for s in scenarios {
        let at = if sweep.contains(&s.name.as_str()) {
            format!(" at scale {}", s.scale)
        } else {
            String::new()
        };
        for op in &s.operations {
            for c in op
                .claims
                .iter()
                .filter(|c| c.verdict == ClaimVerdict::Refuted)
            {
                failures.push(format!(
                    "{}/{}: claim `{}`{at} refuted: {}",
                    s.name, op.name, c.claim, c.reason
                ));
            }
        }
        for c in s.load.iter().flat_map(|l| &l.claims) {
            if c.verdict == ClaimVerdict::Refuted {
                failures.push(format!(
                    "{}: load claim `{}`{at} refuted: {}",
                    s.name, c.claim, c.reason
                ));
            }
        }
    }
    for sw in sweeps {
        for op in &sw.operations {
            for c in op
                .claims
                .iter()
                .filter(|c| c.verdict == ClaimVerdict::Refuted)
            {
                failures.push(format!(
                    "{}/{}: claim `{}` over the sweep refuted: {}",
                    sw.scenario, op.name, c.claim, c.reason
                ));
            }
        }
    }
    failures
}

/// Names of the scenarios that ran at more than one scale.
pub fn is_sweep(scenarios: &[ScenarioReport]) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for s in scenarios {
        let other_scale = scenarios
            .iter()
            .any(|x| x.name == s.name && x.scale != s.scale);
        if other_scale && !names.contains(&s.name.as_str()) {
            names.push(&s.name);
        }
    }
    names
}

/// The scans of a run of one side, per relation (`items: Index Scan`), or `not explained`.
pub fn plan_summary(plans: &[StatementPlan]) -> String {
    if plans.is_empty() {
        return "not explained".into();
    }
    let mut m: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for p in plans {
        for (rel, how) in p.facts.scans.iter().filter(|(r, _)| !r.starts_with("pg_")) {
            let v = m.entry(rel).or_default();
            if !v.contains(&how.as_str()) {
                v.push(how);
            }
        }
    }
    if m.is_empty() {
        return "no table read".into();
    }
    m.iter()
        .map(|(rel, how)| format!("{rel}: {}", how.join(" + ")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A one-line account of what changed between the plans (system catalogs left out).
pub fn plan_change(before: &[StatementPlan], after: &[StatementPlan]) -> (bool, String) {
    if before.is_empty() || after.is_empty() {
        return (false, "not explained".into());
    }
    let sig = |ps: &[StatementPlan]| {
        ps.iter()
            .map(|p| p.facts.signature.clone())
            .collect::<Vec<_>>()
    };
    if sig(before) == sig(after) {
        return (false, "same plan".into());
    }
    let scans = |ps: &[StatementPlan]| {
        let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for p in ps {
            for (rel, how) in p.facts.scans.iter().filter(|(r, _)| !r.starts_with("pg_")) {
                let v = m.entry(rel.clone()).or_default();
                if !v.contains(how) {
                    v.push(how.clone());
                }
            }
        }
        m
    };
    let (b, a) = (scans(before), scans(after));
    let mut parts = Vec::new();
    if before.len() != after.len() {
        parts.push(format!("{} statements → {}", before.len(), after.len()));
    }
    let rels: std::collections::BTreeSet<&String> = b.keys().chain(a.keys()).collect();
    for rel in rels {
        let (x, y) = (
            b.get(rel).map(|v| v.join(" + ")),
            a.get(rel).map(|v| v.join(" + ")),
        );
        if x != y {
            parts.push(format!(
                "{rel}: {} → {}",
                x.unwrap_or_else(|| "not read".into()),
                y.unwrap_or_else(|| "not read".into())
            ));
        }
    }
    if parts.is_empty() {
        parts.push("plan shape changed (same scans)".into());
    }
    (true, parts.join("; "))
}

/// SHA-256 fingerprints of what changes measurements: the SQL files, the server settings and
/// each operation's SQL and parameters — not the scenario file's bytes (comments, names,
/// descriptions, claims and gate thresholds change no measurement).
pub fn fingerprints(s: &Scenario) -> Fingerprints {
    let files = |files: &mut dyn Iterator<Item = &crate::scenario::SqlFile>| {
        hash(files.map(|f| f.text.clone()))
    };
    Fingerprints {
        schema: files(&mut s.schema.iter().chain(&s.migration.base)),
        seed: files(&mut s.seed.iter()),
        migration: files(&mut s.migration.up.iter()),
        settings: hash(s.settings.iter().map(|(k, v)| format!("{k} = {v}"))),
        operations: s
            .operations
            .iter()
            .map(|op| {
                let side = |side: &SideSql| {
                    let code = side.code.as_ref().map(|c| format!("rust {}", c.name));
                    hash(
                        [
                            format!("{:?}", op.mode),
                            format!("transaction {}", side.transaction),
                        ]
                        .into_iter()
                        .chain(code)
                        .chain(side.statements.iter().map(|st| st.sql.clone())),
                    )
                };
                let params = match &op.params {
                    Params::None => hash(["none".to_string()]),
                    Params::Generated(exprs) => hash(
                        std::iter::once("generated".to_string())
                            .chain(exprs.iter().map(|e| e.to_string())),
                    ),
                    Params::Sample { sql, .. } => hash(["sample".to_string(), sql.clone()]),
                };
                let f = OperationFingerprint {
                    before: side(&op.before),
                    after: side(&op.after),
                    params,
                };
                (op.name.clone(), f)
            })
            .collect(),
    }
}

/// SHA-256 of a sequence of texts, each length-prefixed so that boundaries count.
fn hash(texts: impl IntoIterator<Item = String>) -> String {
    let mut h = Sha256::new();
    for t in texts {
        h.update((t.len() as u64).to_le_bytes());
        h.update(t.as_bytes());
    }
    hex::encode(h.finalize())
}
