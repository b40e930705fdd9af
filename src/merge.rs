//! `querygate merge`: several results files (CI shards) into one report. Pure: no I/O.
//!
//! Scenarios found in one file are taken as they are. Where several files hold the same
//! scenario at the same scale, each operation's rounds are pooled: the HdrHistograms add
//! exactly, the per-round samples are concatenated (every round is a paired before/after
//! sample of its own run, so the pooled rounds are still paired), and the latency, speedup
//! intervals and timing claims are recomputed from them with the same analysis as a run.
//! The cross-scale view, the failures and the exit code are recomputed too.
//!
//! Refused, with a reason: files from different PostgreSQL versions, or the same scenario
//! with different fingerprints (another scenario file, schema, seed or migration).

use std::collections::BTreeMap;

use crate::analysis::{self, claims, scaling};
use crate::report::histogram::{decode_histogram, encode_histogram};
use crate::report::{
    ClaimReport, FailOn, GateReport, OperationReport, Report, RunStatus, ScenarioReport,
    SideReport, Tool, Verdict, Warning, SCHEMA_VERSION,
};
use crate::scenario::claim::{self, Claim};

/// A results file to merge: where it came from (for messages) and what it holds.
pub struct Input {
    pub name: String,
    pub report: Report,
}

/// Merges `inputs` into one report, or says why they cannot be merged.
pub fn merge(inputs: &[Input]) -> Result<Report, String> {
    let first = inputs.first().ok_or("nothing to merge")?;
    check_compatible(inputs)?;
    let mut scenarios: Vec<ScenarioReport> = Vec::new();
    let mut sources: Vec<Vec<&str>> = Vec::new();
    for input in inputs {
        for s in &input.report.scenarios {
            match scenarios
                .iter()
                .position(|m| m.name == s.name && m.scale == s.scale)
            {
                Some(k) => {
                    let from = format!("{} and {}", sources[k].join(", "), input.name);
                    scenarios[k] = merge_scenario(&scenarios[k], s, &from)?;
                    sources[k].push(&input.name);
                }
                None => {
                    scenarios.push(s.clone());
                    sources.push(vec![&input.name]);
                }
            }
        }
    }
    let sweeps = scaling::sweeps(&scenarios);
    let gate = merge_gates(inputs);
    let incomplete: Vec<&Input> = inputs
        .iter()
        .filter(|i| i.report.status == RunStatus::Incomplete)
        .collect();
    let mut failures = Vec::new();
    for i in &incomplete {
        failures.push(format!(
            "{}: the run is incomplete: {}",
            i.name,
            i.report.error.as_deref().unwrap_or("no reason recorded")
        ));
    }
    // An incomplete input keeps the code its run decided (3, or 130/143 when interrupted);
    // otherwise `gate::decide` settles it from the pooled claims and the gates.
    let exit_code = incomplete
        .iter()
        .map(|i| i.report.exit_code.max(3))
        .max()
        .unwrap_or(0);
    // The shards of one CI job share their --fail-on; shards that disagree fail on both.
    let fail_on = if inputs
        .iter()
        .all(|i| i.report.fail_on == first.report.fail_on)
    {
        first.report.fail_on
    } else {
        FailOn::Both
    };
    let mut merged = Report {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: "querygate".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        status: if incomplete.is_empty() {
            RunStatus::Complete
        } else {
            RunStatus::Incomplete
        },
        error: (!incomplete.is_empty()).then(|| {
            incomplete
                .iter()
                .map(|i| format!("{}: {}", i.name, i.report.error.as_deref().unwrap_or("?")))
                .collect::<Vec<_>>()
                .join("; ")
        }),
        started_at: inputs
            .iter()
            .map(|i| i.report.started_at.clone())
            .min()
            .unwrap_or_default(),
        duration_ms: inputs.iter().map(|i| i.report.duration_ms).sum(),
        environment: first.report.environment.clone(),
        scenarios,
        exit_code,
        fail_on,
        failures: vec![],
        warnings: merged_warnings(inputs),
        gate,
        sweeps,
    };
    crate::gate::decide(&mut merged);
    merged.failures.extend(failures);
    Ok(merged)
}

/// Same server version everywhere; the same fingerprints for every scenario name.
fn check_compatible(inputs: &[Input]) -> Result<(), String> {
    let first = &inputs[0];
    let v0 = &first.report.environment;
    for i in &inputs[1..] {
        let v = &i.report.environment;
        if v.server_version_num != v0.server_version_num {
            return Err(format!(
                "{} ran on PostgreSQL {} ({}), {} on {} ({}): numbers from different server versions measure different things; merge files from one version",
                first.name, v0.server_version_num, v0.server_version, i.name, v.server_version_num, v.server_version
            ));
        }
    }
    let mut seen: BTreeMap<&str, (&str, &ScenarioReport)> = BTreeMap::new();
    for i in inputs {
        for s in &i.report.scenarios {
            let Some((name0, s0)) = seen.get(s.name.as_str()) else {
                seen.insert(&s.name, (&i.name, s));
                continue;
            };
            let d = crate::gate::input_differences(s0, s);
            let differences = [d.inputs, d.change].concat();
            if !differences.is_empty() {
                return Err(format!(
                    "scenario `{}`: {name0} and {} measured different inputs: {} ({name0} vs {}); re-run the shards from one commit",
                    s.name,
                    i.name,
                    differences.join("; "),
                    i.name
                ));
            }
        }
    }
    Ok(())
}

/// One scenario at one scale measured in two files: rounds pooled, statistics recomputed.
fn merge_scenario(
    a: &ScenarioReport,
    b: &ScenarioReport,
    from: &str,
) -> Result<ScenarioReport, String> {
    let names = |s: &ScenarioReport| {
        s.operations
            .iter()
            .map(|o| o.name.clone())
            .collect::<Vec<_>>()
    };
    if names(a) != names(b) {
        return Err(format!(
            "scenario `{}` at scale {} has operations [{}] in one file and [{}] in another ({from})",
            a.name,
            a.scale,
            names(a).join(", "),
            names(b).join(", ")
        ));
    }
    let mut m = a.clone();
    let mut warnings = Vec::new();
    for (op, other) in m.operations.iter_mut().zip(&b.operations) {
        let where_ = format!("{}/{} at scale {} ({from})", a.name, op.name, a.scale);
        *op = merge_operation(op, other, &where_, &mut warnings)?;
    }
    m.status = if a.status == RunStatus::Complete && b.status == RunStatus::Complete {
        RunStatus::Complete
    } else {
        RunStatus::Incomplete
    };
    m.error = match (&a.error, &b.error) {
        (Some(x), Some(y)) => Some(format!("{x}; {y}")),
        (x, y) => x.clone().or(y.clone()),
    };
    m.run.rounds += b.run.rounds;
    m.run.rounds_completed += b.run.rounds_completed;
    if let (Some(c), Some(d)) = (&mut m.calibration, &b.calibration) {
        c.round_p50_us.extend(&d.round_p50_us);
        c.confirm_round_p50_us.extend(&d.confirm_round_p50_us);
    }
    // The rounds are pooled now: a "few rounds" warning of either file may no longer hold.
    m.warnings.retain(|w| w.id != "few-rounds");
    for w in b.warnings.iter().filter(|w| w.id != "few-rounds") {
        if !m.warnings.contains(w) {
            m.warnings.push(w.clone());
        }
    }
    m.warnings.extend(warnings);
    m.warnings.push(Warning {
        id: "merged-rounds".into(),
        operation: None,
        message: format!(
            "rounds of {from} pooled ({} in all); plans, seed and migration times are those of the first file",
            m.run.rounds_completed
        ),
    });
    Ok(m)
}

fn merge_operation(
    a: &OperationReport,
    b: &OperationReport,
    where_: &str,
    warnings: &mut Vec<Warning>,
) -> Result<OperationReport, String> {
    let mut m = a.clone();
    m.before = merge_side(&a.before, &b.before, &format!("{where_}, before"))?;
    m.after = merge_side(&a.after, &b.after, &format!("{where_}, after"))?;
    m.speedup = analysis::speedup_interval(&m.before.round_p50_us, &m.after.round_p50_us);
    m.speedup_p95 = analysis::speedup_interval(&m.before.round_p95_us, &m.after.round_p95_us);
    m.server_speedup = match (&m.before.server, &m.after.server) {
        (Some(b), Some(a)) => analysis::speedup_interval(&b.round_us, &a.round_us),
        _ => None,
    };
    m.confirmation = match (&a.confirmation, &b.confirmation) {
        (Some(x), Some(y)) => {
            let mut c = x.clone();
            c.before_round_p50_us.extend(&y.before_round_p50_us);
            c.after_round_p50_us.extend(&y.after_round_p50_us);
            Some(c)
        }
        (x, y) => x.clone().or(y.clone()),
    };
    if a.before.result_checksum != b.before.result_checksum
        || a.after.result_checksum != b.after.result_checksum
    {
        warnings.push(Warning {
            id: "merged-results-differ".into(),
            operation: Some(a.name.clone()),
            message: format!(
                "{where_}: the files recorded different result checksums for the same inputs; the data is not deterministic, or the server differs"
            ),
        });
    }
    m.claims = a.claims.iter().map(|c| rejudge(c, &m)).collect();
    Ok(m)
}

/// Timing claims are judged again on the pooled rounds; plan and result claims keep the
/// verdict of the first file's EXPLAIN pass (the plans are not pooled).
fn rejudge(c: &ClaimReport, op: &OperationReport) -> ClaimReport {
    let Ok(parsed) = claim::parse(&c.parsed) else {
        return c.clone();
    };
    let timing = |cl: &Claim| matches!(cl, Claim::Speedup { .. } | Claim::Latency { .. });
    let inner = parsed.inner();
    if !timing(inner) {
        return c.clone();
    }
    let ev = claims::Evidence {
        speedup_p50: op.speedup,
        speedup_p95: op.speedup_p95,
        server_speedup: op.server_speedup,
        before_rounds_us: [
            &op.before.round_p50_us,
            &op.before.round_p95_us,
            &op.before.round_p99_us,
        ],
        after_rounds_us: [
            &op.after.round_p50_us,
            &op.after.round_p95_us,
            &op.after.round_p99_us,
        ],
        before_plans: &[],
        after_plans: &[],
        same_result: op.same_result,
        load: None,
        rounds: op.before.round_p50_us.len(),
        catalogs: None,
    };
    let (verdict, reason) = claims::evaluate(inner, &ev);
    ClaimReport {
        verdict,
        reason,
        ..c.clone()
    }
}

fn merge_side(a: &SideReport, b: &SideReport, where_: &str) -> Result<SideReport, String> {
    let read = |s: &SideReport| {
        if s.histogram_ns_v2z.is_empty() {
            return Ok(None);
        }
        decode_histogram(&s.histogram_ns_v2z)
            .map(Some)
            .ok_or_else(|| format!("{where_}: the histogram cannot be decoded (histogram_ns_v2z is not V2+deflate base64)"))
    };
    let total = match (read(a)?, read(b)?) {
        (Some(mut x), Some(y)) => {
            x.add(&y)
                .map_err(|e| format!("{where_}: the histograms cannot be added: {e:?}"))?;
            Some(x)
        }
        (x, y) => x.or(y),
    };
    let mut m = a.clone();
    m.round_p50_us.extend(&b.round_p50_us);
    m.round_p95_us.extend(&b.round_p95_us);
    m.round_p99_us.extend(&b.round_p99_us);
    m.round_count.extend(&b.round_count);
    // Server time pools only when both files measured it (a mean over the pooled rounds).
    m.server = match (&a.server, &b.server) {
        (Some(x), Some(y)) => {
            let mut s = x.clone();
            s.round_us.extend(&y.round_us);
            let n = s.round_us.len().max(1) as f64;
            s.mean_us = s.round_us.iter().sum::<f64>() / n;
            // CPU time likewise: pooled when both have it, dropped when either lacks it.
            if x.cpu_round_us.is_empty() || y.cpu_round_us.is_empty() {
                s.cpu_round_us.clear();
            } else {
                s.cpu_round_us.extend(&y.cpu_round_us);
            }
            Some(s)
        }
        _ => None,
    };
    if let Some(h) = total {
        m.latency = analysis::latency_of(&h);
        m.histogram_ns_v2z = encode_histogram(&h);
    }
    if m.explain.is_empty() {
        m.explain = b.explain.clone();
        m.result_checksum = b.result_checksum.clone();
    }
    Ok(m)
}

/// The inputs' gate verdicts, when they compared with one baseline: per operation the worst
/// verdict with every finding. A gate on the pooled numbers is `querygate compare`'s job.
fn merge_gates(inputs: &[Input]) -> Option<GateReport> {
    let gates: Vec<(&str, &GateReport)> = inputs
        .iter()
        .filter_map(|i| i.report.gate.as_ref().map(|g| (i.name.as_str(), g)))
        .collect();
    let (_, first) = *gates.first()?;
    let mut merged = GateReport {
        operations: Vec::new(),
        notes: Vec::new(),
        ..first.clone()
    };
    for (name, g) in &gates {
        if g.baseline != first.baseline {
            merged.notes.push(format!(
                "{name} was gated against {}, not {}; its verdicts are included",
                g.baseline, first.baseline
            ));
        }
        for n in &g.notes {
            if !merged.notes.contains(n) {
                merged.notes.push(n.clone());
            }
        }
        for op in &g.operations {
            match merged
                .operations
                .iter_mut()
                .find(|m| m.scenario == op.scenario && m.operation == op.operation)
            {
                Some(m) => {
                    m.verdict = crate::gate::overall([m.verdict, op.verdict].into_iter());
                    m.findings.extend(op.findings.iter().cloned());
                }
                None => merged.operations.push(op.clone()),
            }
        }
    }
    if gates.len() < inputs.len() {
        merged
            .notes
            .push("some merged files were not gated against a baseline".into());
    }
    merged.verdict = crate::gate::overall(merged.operations.iter().map(|o| o.verdict));
    if merged.verdict == Verdict::Pass && merged.operations.is_empty() {
        merged.notes.push("no operation was gated".into());
    }
    Some(merged)
}

/// The inputs' run-level warnings, once each, and a note when the environments differ.
fn merged_warnings(inputs: &[Input]) -> Vec<Warning> {
    let mut out: Vec<Warning> = Vec::new();
    for i in inputs {
        for w in &i.report.warnings {
            if !out.contains(w) {
                out.push(w.clone());
            }
        }
    }
    let env0 = &inputs[0].report.environment;
    let differ: Vec<String> = inputs[1..]
        .iter()
        .filter(|i| {
            let e = &i.report.environment;
            e.machine.hostname != env0.machine.hostname || e.backend != env0.backend
        })
        .map(|i| {
            let e = &i.report.environment;
            format!("{} ({} on {})", i.name, e.backend, e.machine.hostname)
        })
        .collect();
    if !differ.is_empty() {
        out.push(Warning {
            id: "merged-environments".into(),
            operation: None,
            message: format!(
                "the environment shown is {}'s ({} on {}); also merged: {}. Latencies of different machines are not comparable; speedups (same-run ratios) are",
                inputs[0].name,
                env0.backend,
                env0.machine.hostname,
                differ.join(", ")
            ),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::write::parse_report;

    fn sample() -> Report {
        parse_report(include_str!("../tests/data/reports/sample.json")).unwrap()
    }

    fn input(name: &str, report: Report) -> Input {
        Input {
            name: name.into(),
            report,
        }
    }

    fn count(side: &SideReport) -> u64 {
        decode_histogram(&side.histogram_ns_v2z).unwrap().len()
    }

    #[test]
    fn the_same_scenario_twice_pools_rounds_and_adds_histograms_exactly() {
        let a = sample();
        let m = merge(&[input("a.json", a.clone()), input("b.json", a.clone())]).unwrap();
        assert_eq!(m.scenarios.len(), a.scenarios.len());
        let (s0, s) = (&a.scenarios[0], &m.scenarios[0]);
        assert_eq!(s.run.rounds_completed, 2 * s0.run.rounds_completed);
        for (o0, o) in s0.operations.iter().zip(&s.operations) {
            for (x, y) in [(&o0.before, &o.before), (&o0.after, &o.after)] {
                assert_eq!(count(y), 2 * count(x), "{}", o.name);
                assert_eq!(y.latency.count, 2 * x.latency.count);
                assert_eq!(y.round_p50_us.len(), 2 * x.round_p50_us.len());
                assert_eq!(
                    y.round_count.iter().sum::<u64>(),
                    2 * x.round_count.iter().sum::<u64>()
                );
                // Doubling every execution moves no percentile.
                assert_eq!(y.latency.p50_us, x.latency.p50_us);
            }
            if let (Some(i0), Some(i)) = (o0.speedup, o.speedup) {
                assert_eq!(i.rounds, 2 * i0.rounds);
                assert!(i.low <= i.estimate && i.estimate <= i.high);
            }
            assert_eq!(o.claims.len(), o0.claims.len());
        }
        assert!(s.warnings.iter().any(|w| w.id == "merged-rounds"));
    }

    #[test]
    fn shards_of_different_scales_become_one_sweep() {
        let a = sample();
        let mut b = a.clone();
        b.scenarios[0].scale *= 10;
        let m = merge(&[input("a.json", a.clone()), input("b.json", b)]).unwrap();
        assert_eq!(m.scenarios.len(), 2);
        assert_eq!(m.sweeps.len(), 1);
        assert_eq!(m.sweeps[0].scales, vec![20_000, 200_000]);
        // The exit code follows the claims of the merged report, nothing else.
        let refuted = m
            .scenarios
            .iter()
            .flat_map(|s| &s.operations)
            .flat_map(|o| &o.claims)
            .any(|c| c.verdict == crate::report::ClaimVerdict::Refuted);
        assert_eq!(m.exit_code, u8::from(refuted));
        assert!(m.failures.iter().all(|f| f.contains("at scale")));
    }

    #[test]
    fn other_server_versions_and_fingerprints_are_refused_with_a_reason() {
        let a = sample();
        let mut b = a.clone();
        b.environment.server_version_num += 10_000;
        let e = merge(&[input("a.json", a.clone()), input("b.json", b)]).unwrap_err();
        assert!(
            e.contains("a.json") && e.contains("b.json") && e.contains("server versions"),
            "{e}"
        );
        let mut c = a.clone();
        c.scenarios[0].fingerprints.seed = "f".repeat(64);
        c.scenarios[0].scale += 1;
        let e = merge(&[input("a.json", a.clone()), input("c.json", c)]).unwrap_err();
        assert!(
            e.contains("the seed differs") && e.contains("c.json"),
            "{e}"
        );
    }

    #[test]
    fn an_incomplete_shard_makes_the_merge_incomplete() {
        let a = sample();
        let mut b = a.clone();
        b.scenarios[0].name = "other".into();
        b.status = RunStatus::Incomplete;
        b.error = Some("server went away".into());
        b.exit_code = 3;
        let m = merge(&[input("a.json", a), input("b.json", b)]).unwrap();
        assert_eq!(m.status, RunStatus::Incomplete);
        assert_eq!(m.exit_code, 3);
        assert!(m.error.unwrap().contains("b.json: server went away"));
    }
}
