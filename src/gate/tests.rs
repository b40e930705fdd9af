use super::*;
use crate::report::*;

fn stmt(signature: &str, blocks: u64, checksum: &str) -> StatementReport {
    StatementReport {
        sql: "SELECT 1".into(),
        params: vec![],
        signature: signature.into(),
        indexes: if signature.contains("using i") {
            vec!["i".into()]
        } else {
            vec![]
        },
        shared_hit_blocks: blocks,
        shared_read_blocks: 0,
        temp_blocks: 0,
        plan_rows: 1,
        rows_returned: 1,
        rows_affected: 0,
        checksum: checksum.into(),
        planning_ms: 0.0,
        execution_ms: 0.0,
        trigger_ms: 0.0,
        plan: serde_json::Value::Null,
    }
}

#[test]
fn plan_change_and_buffer_growth_are_hard_failures() {
    let t = Thresholds::default();
    let f = statement_findings(
        "after",
        0,
        &stmt("Index Scan using i on t", 4, "1:a"),
        &stmt("Seq Scan on t", 400, "1:a"),
        &t,
    );
    let ids: Vec<&str> = f.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids, ["plan-changed", "buffers-increased"]);
    assert!(
        f[0].message.contains("no longer reads index i"),
        "{}",
        f[0].message
    );
    assert!(f.iter().all(|f| f.verdict == Verdict::Regressed));
}

#[test]
fn small_buffer_changes_and_equal_plans_pass() {
    let t = Thresholds::default();
    // +50% but only 4 blocks: under the absolute floor.
    assert!(statement_findings(
        "after",
        0,
        &stmt("Seq Scan on t", 8, "1:a"),
        &stmt("Seq Scan on t", 12, "1:a"),
        &t
    )
    .is_empty());
    // +9 blocks but only +5%: under the relative tolerance.
    assert!(statement_findings(
        "after",
        0,
        &stmt("Seq Scan on t", 180, "1:a"),
        &stmt("Seq Scan on t", 189, "1:a"),
        &t
    )
    .is_empty());
}

#[test]
fn result_changes_fail() {
    let f = statement_findings(
        "before",
        1,
        &stmt("Seq Scan on t", 8, "1:a"),
        &stmt("Seq Scan on t", 8, "2:b"),
        &Thresholds::default(),
    );
    assert_eq!(f[0].id, "result-changed");
    assert!(f[0].message.starts_with("before statement 2"));
}

fn est(estimate: f64, low: f64, high: f64) -> stats::Estimate {
    stats::Estimate {
        estimate,
        low,
        high,
        confidence: 0.95,
    }
}

/// `server`: the log shift of server time; `share`: the baseline's server time as a fraction of
/// its client latency (100 µs).
fn shifts(
    calibrated: Option<stats::Estimate>,
    server: Option<(stats::Estimate, f64)>,
    stage: Stage,
) -> Option<Finding> {
    let describe = |what: &str, e: &stats::Estimate| format!("{what} {:.2}", e.estimate);
    side_latency_finding(&Shifts {
        side: "after",
        calibrated,
        server: server.map(|(e, share)| ServerShift {
            effect: effect(&e, share * 100.0, 100.0),
            ratio: e,
            server_us: share * 100.0,
            latency_us: 100.0,
            cpu: None,
        }),
        together: false,
        margin: 1.1f64.ln(),
        threshold: 0.10,
        describe: &describe,
        suffix: "threshold 10%".into(),
        stage,
    })
}

#[test]
fn both_sides_slower_alike_is_the_machine_not_the_change() {
    let describe = |what: &str, e: &stats::Estimate| format!("{what} {:.2}", e.estimate);
    let up = est(0.85, 0.4, 1.3); // server time +134%, far beyond on both sides
    let f = side_latency_finding(&Shifts {
        side: "after",
        calibrated: Some(est(0.6, 0.1, 1.1)),
        server: Some(ServerShift {
            effect: effect(&up, 100.0, 250.0),
            ratio: up,
            server_us: 100.0,
            latency_us: 250.0,
            cpu: None,
        }),
        together: true,
        margin: 1.1f64.ln(),
        threshold: 0.10,
        describe: &describe,
        suffix: "confirm threshold 10%".into(),
        stage: Stage::Confirm,
    })
    .unwrap();
    assert_eq!(
        (f.id.as_str(), f.verdict),
        ("latency-unconfirmed", Verdict::Pass)
    );
    assert!(
        f.message.contains("both sides' server time moved alike"),
        "{}",
        f.message
    );
}

/// A side whose server time rose by `server` (log; half the 100 µs latency) and whose server
/// processes' CPU time (60 µs per execution) rose by `cpu` (log).
fn with_cpu(server: stats::Estimate, cpu: stats::Estimate) -> Option<Finding> {
    let describe = |what: &str, e: &stats::Estimate| format!("{what} {:.2}", e.estimate);
    side_latency_finding(&Shifts {
        side: "before",
        calibrated: None,
        server: Some(ServerShift {
            effect: effect(&server, 50.0, 100.0),
            ratio: server,
            server_us: 50.0,
            latency_us: 100.0,
            cpu: Some(CpuShift {
                effect: effect(&cpu, 60.0, 100.0),
                ratio: cpu,
                cpu_us: 60.0,
            }),
        }),
        together: false,
        margin: 1.1f64.ln(),
        threshold: 0.10,
        describe: &describe,
        suffix: "confirm threshold 10%".into(),
        stage: Stage::Confirm,
    })
}

#[test]
fn a_slower_server_time_must_show_in_the_server_process_s_cpu_time() {
    // The A/A false alarm on a busy machine: server time +57% (52 → 82 µs), the backend's time
    // on a CPU unchanged: it waited for a CPU while it executed. A pass, explained.
    let waited = with_cpu(est(0.45, 0.40, 0.50), est(0.02, -0.03, 0.07)).unwrap();
    assert_eq!(
        (waited.id.as_str(), waited.verdict),
        ("latency-unconfirmed", Verdict::Pass)
    );
    assert!(
        waited.message.contains("waited for a CPU")
            && waited
                .message
                .contains("server process CPU time per execution"),
        "{}",
        waited.message
    );
    // A CPU rise that may be below the threshold (interval reaching under +10% of the latency)
    // does not confirm either.
    let f = with_cpu(est(0.45, 0.40, 0.50), est(0.2, 0.1, 0.3)).unwrap();
    assert_eq!(f.verdict, Verdict::Pass);
    // A real regression: the query does more work, on the CPU too (+25 µs of 60).
    let f = with_cpu(est(0.45, 0.40, 0.50), est(0.35, 0.3, 0.4)).unwrap();
    assert_eq!(
        (f.id.as_str(), f.verdict),
        ("latency-regressed", Verdict::Regressed)
    );
    assert!(f.message.contains("CPU time"), "{}", f.message);
    // CPU time alone never fails a side whose server time did not move.
    assert!(with_cpu(est(0.0, -0.05, 0.05), est(0.35, 0.3, 0.4)).is_none());
    // The mirror image: a baseline whose backend waited is no improvement for this run.
    let f = with_cpu(est(-0.45, -0.5, -0.4), est(-0.02, -0.07, 0.03)).unwrap();
    assert_eq!(
        (f.id.as_str(), f.verdict),
        ("latency-unconfirmed", Verdict::Pass)
    );
    let f = with_cpu(est(-0.45, -0.5, -0.4), est(-0.45, -0.5, -0.4)).unwrap();
    assert_eq!(f.verdict, Verdict::Improved);
}

fn id_verdict(f: Option<Finding>) -> Option<(String, Verdict)> {
    f.map(|f| (f.id, f.verdict))
}

#[test]
fn cross_run_latency_is_decided_by_the_server_time_s_effect_on_the_client() {
    let up = Some(est(0.2, 0.15, 0.25)); // +22%, whole interval beyond +10%
    let flat = Some(est(0.0, -0.03, 0.03));
    let regressed = Some(("latency-regressed".to_string(), Verdict::Regressed));
    // The A/A false alarms: calibrated latency up, server time flat → a pass, explained.
    let f = shifts(up, Some((est(0.01, -0.03, 0.05), 0.5)), Stage::Confirm).unwrap();
    assert_eq!(
        (f.id.as_str(), f.verdict),
        ("latency-unconfirmed", Verdict::Pass)
    );
    assert!(f.message.contains("did not move"), "{}", f.message);
    // A real regression: server time +49%…+65% on a query whose server time is half its latency
    // adds 25%…32% to what the client sees, whatever the noisy end-to-end latency shows.
    assert_eq!(
        id_verdict(shifts(up, Some((est(0.45, 0.4, 0.5), 0.5)), Stage::Confirm)),
        regressed
    );
    assert_eq!(
        id_verdict(shifts(
            flat,
            Some((est(0.45, 0.4, 0.5), 0.5)),
            Stage::Confirm
        )),
        regressed
    );
    assert_eq!(
        id_verdict(shifts(
            None,
            Some((est(0.45, 0.4, 0.5), 0.5)),
            Stage::Screen
        )),
        regressed
    );
    let f = shifts(flat, Some((est(0.45, 0.4, 0.5), 0.5)), Stage::Confirm).unwrap();
    assert!(
        f.message
            .contains("+28.4% of the baseline's client latency of 100 µs"),
        "{}",
        f.message
    );
    // The same server-time change behind a round trip that is 90% of the latency adds ~5%: no
    // regression a client would see.
    assert!(shifts(flat, Some((est(0.45, 0.4, 0.5), 0.1)), Stage::Confirm).is_none());
    // An interval that reaches below the threshold does not decide.
    assert!(shifts(up, Some((est(0.3, 0.1, 0.5), 0.5)), Stage::Confirm)
        .is_some_and(|f| f.verdict == Verdict::Pass));
    // Without server time: screened (so it is re-measured), then only inconclusive.
    assert_eq!(id_verdict(shifts(up, None, Stage::Screen)), regressed);
    let f = shifts(up, None, Stage::Confirm).unwrap();
    assert_eq!(
        (f.id.as_str(), f.verdict),
        ("latency-regressed", Verdict::Inconclusive)
    );
    // Nothing moved: no finding.
    assert!(shifts(flat, Some((est(0.0, -0.05, 0.05), 0.5)), Stage::Confirm).is_none());
    assert!(shifts(flat, None, Stage::Confirm).is_none());
    // Improvements: by the server time's effect, or by the calibrated latency without it.
    let f = shifts(flat, Some((est(-0.7, -0.8, -0.6), 0.5)), Stage::Confirm).unwrap();
    assert_eq!(
        (f.id.as_str(), f.verdict),
        ("latency-improved", Verdict::Improved)
    );
    let f = shifts(Some(est(-0.3, -0.35, -0.2)), None, Stage::Confirm).unwrap();
    assert_eq!(f.verdict, Verdict::Improved);
}

fn sample_scenario() -> ScenarioReport {
    crate::report::write::parse_report(include_str!("../../tests/data/reports/sample.json"))
        .unwrap()
        .scenarios
        .remove(0)
}

#[test]
fn input_differences_name_the_component_and_skip_what_an_older_file_lacks() {
    let base = sample_scenario();
    let mut new = base.clone();
    // A file written before settings and operations were fingerprinted compares on the rest.
    new.fingerprints.settings = "a".repeat(64);
    new.fingerprints.operations.insert(
        "by_group".into(),
        OperationFingerprint {
            before: "b".into(),
            after: "c".into(),
            params: "d".into(),
        },
    );
    assert_eq!(input_differences(&base, &new), Differences::default());
    let mut old = new.clone();
    // The change under test may differ: it is listed apart from the inputs.
    new.fingerprints.migration = "e".repeat(64);
    new.fingerprints
        .operations
        .get_mut("by_group")
        .unwrap()
        .after = "x".into();
    let d = input_differences(&old, &new);
    assert!(d.inputs.is_empty(), "{d:?}");
    assert_eq!(
        d.change,
        vec![
            "the migration differs",
            "operation `by_group`: its after side (SQL, mode, transaction or Rust function) differs"
        ]
    );
    new.fingerprints
        .operations
        .get_mut("by_group")
        .unwrap()
        .before = "y".into();
    new.run.iterations += 1;
    new.vars.insert("groups".into(), "7".into());
    assert_eq!(
        input_differences(&old, &new).inputs,
        vec![
            "the variables differ: groups = 400 vs 7".to_string(),
            format!(
                "the run parameters differ: iterations {} vs {}",
                old.run.iterations, new.run.iterations
            ),
            "operation `by_group`: its before side (SQL, mode, transaction or Rust function) differs"
                .to_string(),
        ]
    );
    // At another scale, variables and generated parameters legitimately differ.
    old.scale += 1;
    new.fingerprints
        .operations
        .get_mut("by_group")
        .unwrap()
        .before = "b".into();
    new.fingerprints
        .operations
        .get_mut("by_group")
        .unwrap()
        .params = "p".into();
    assert_eq!(input_differences(&old, &new).inputs.len(), 1, "run only");
}

fn sample_operation() -> OperationReport {
    let report =
        crate::report::write::parse_report(include_str!("../../tests/data/reports/sample.json"))
            .unwrap();
    report.scenarios[0].operations[0].clone()
}

fn with_rounds(mut op: OperationReport, before: &[f64], after: &[f64]) -> OperationReport {
    let server = |rounds: &[f64]| {
        Some(ServerTime {
            round_us: rounds.to_vec(),
            ..Default::default()
        })
    };
    op.before.server = server(before);
    op.after.server = server(after);
    op.after.round_p50_us = vec![200.0; after.len()];
    op
}

fn jitter(level: f64) -> Vec<f64> {
    (0..10)
        .map(|i| level * (1.0 + 0.02 * ((i * 7 % 5) as f64 - 2.0)))
        .collect()
}

/// The server-speedup signal of a run whose sides' server time per execution is `before` and
/// `after` µs (and their server processes' CPU time `cpu`, when read), against `base`.
fn speedup_signal(
    base: &OperationReport,
    before: f64,
    after: f64,
    cpu: Option<(f64, f64)>,
) -> Option<Finding> {
    let test = ShiftTest {
        conf: 0.95,
        label: "screen",
        margin: 1.1f64.ln(),
        latency: 0.10,
        stage: Stage::Screen,
    };
    let (b, a) = (jitter(before), jitter(after));
    let (cb, ca) = cpu.map_or((vec![], vec![]), |(x, y)| (jitter(x), jitter(y)));
    let server = ServerRounds {
        time: [&b, &a],
        cpu: [&cb, &ca],
    };
    server_speedup_signal(base, server, &[200.0; 10], &test)
}

#[test]
fn the_server_speedup_is_judged_within_each_run() {
    // Baseline: before 100 µs, after 50 µs of server time; the after side's client sees 200 µs.
    let base = with_rounds(sample_operation(), &jitter(100.0), &jitter(50.0));
    // The whole machine 60% slower in this run: both sides alike, the ratio unchanged: nothing.
    assert!(speedup_signal(&base, 160.0, 80.0, None).is_none());
    // The after side's server time doubles (+50 µs, 25% of its client latency): regressed.
    let f = speedup_signal(&base, 100.0, 100.0, None).unwrap();
    assert_eq!(
        (f.id.as_str(), f.verdict),
        ("server-speedup-regressed", Verdict::Regressed)
    );
    assert!(
        f.message
            .contains("+25.0% of its baseline client latency of 200 µs"),
        "{}",
        f.message
    );
    // +10 µs on 200 µs (+5%) is below the threshold, however precisely measured.
    assert!(speedup_signal(&base, 100.0, 60.0, None).is_none());
    // Half the after side's server work saved: an improvement.
    let f = speedup_signal(&base, 100.0, 10.0, None).unwrap();
    assert_eq!(f.verdict, Verdict::Improved);
    // Without server time in the baseline: no signal.
    let mut old = base.clone();
    old.after.server = None;
    assert!(speedup_signal(&old, 100.0, 100.0, None).is_none());
}

#[test]
fn a_lower_server_speedup_must_show_in_the_server_processes_cpu_time() {
    // Baseline: server time 100/50 µs, the processes' CPU time 150/100 µs.
    let mut base = with_rounds(sample_operation(), &jitter(100.0), &jitter(50.0));
    base.before.server.as_mut().unwrap().cpu_round_us = jitter(150.0);
    base.after.server.as_mut().unwrap().cpu_round_us = jitter(100.0);
    // The after side's wall-clock server time doubled while its CPU time did not move: it
    // waited for a CPU (a busy machine), a pass that says so.
    let f = speedup_signal(&base, 100.0, 100.0, Some((150.0, 100.0))).unwrap();
    assert_eq!(
        (f.id.as_str(), f.verdict),
        ("server-speedup-unconfirmed", Verdict::Pass)
    );
    assert!(f.message.contains("waited for a CPU"), "{}", f.message);
    // The change's work grew: +50 µs of CPU per execution too. Regressed.
    let f = speedup_signal(&base, 100.0, 100.0, Some((150.0, 150.0))).unwrap();
    assert_eq!(f.verdict, Verdict::Regressed);
    // A baseline without CPU time: the wall-clock rule alone, as before.
    let f = speedup_signal(
        &with_rounds(sample_operation(), &jitter(100.0), &jitter(50.0)),
        100.0,
        100.0,
        Some((150.0, 100.0)),
    )
    .unwrap();
    assert_eq!(f.verdict, Verdict::Regressed);
}

mod load_gate {
    use super::super::load::*;
    use crate::report::*;

    fn fixture() -> Report {
        serde_json::from_str(include_str!("../../tests/data/reports/load.json")).unwrap()
    }

    fn phased_op(before: &[f64], after: &[f64]) -> LoadOperation {
        let side = |tps: &[f64]| {
            serde_json::json!({
                "executions": 1, "tps": 1.0, "latency": Latency::default(),
                "service": Latency::default(), "errors": {}, "phase_tps": tps,
                "histogram_ns_v2z": ""
            })
        };
        serde_json::from_value(serde_json::json!({
            "name": "write", "weight": 1, "before": side(before), "after": side(after),
            "throughput_ratio": null, "steady": null, "window": null, "tail": null,
            "timeline": []
        }))
        .unwrap()
    }

    const SCREEN: Stage = Stage {
        confidence: 0.95,
        label: "screen",
        threshold: 0.10,
    };

    #[test]
    fn a_lower_throughput_ratio_under_load_is_a_regression() {
        // Baseline: after serves 2× before in every pair; now only ~1.2×.
        let base = phased_op(
            &[100.0, 102.0, 98.0, 101.0, 99.0, 100.0],
            &[200.0, 205.0, 197.0, 201.0, 199.0, 202.0],
        );
        let now = phased_op(
            &[100.0, 101.0, 99.0, 100.0, 98.0, 102.0],
            &[120.0, 121.0, 118.0, 122.0, 119.0, 120.0],
        );
        let f = throughput_signal(&base, phase_tps(&now).unwrap(), SCREEN).unwrap();
        assert_eq!(f.id, "throughput-regressed");
        assert_eq!(f.verdict, Verdict::Regressed);
        assert!(f.message.contains("→ 1.20×"), "{}", f.message);
        // The same ratio again: nothing to say.
        assert!(throughput_signal(&base, phase_tps(&base).unwrap(), SCREEN).is_none());
        // Two pairs each cannot reach 95%: no finding either way.
        let few = phased_op(&[100.0, 100.0], &[120.0, 120.0]);
        assert!(throughput_signal(
            &phased_op(&[100.0, 100.0], &[200.0, 200.0]),
            phase_tps(&few).unwrap(),
            SCREEN
        )
        .is_none());
    }

    #[test]
    fn load_runs_are_compared_only_at_the_same_load() {
        let r = fixture();
        let s = &r.scenarios[0];
        assert!(matches!(comparable(s, s), Ok(Some(_))));
        let mut other = s.clone();
        other.load.as_mut().unwrap().clients += 4;
        let why = comparable(s, &other).unwrap_err();
        assert!(why.contains("the load differs"), "{why}");
        let mut single = s.clone();
        single.load = None;
        assert!(comparable(s, &single).is_err());
        assert!(matches!(comparable(&single, &single), Ok(None)));
        // The gate says so, and compares no latency.
        let mut new = r.clone();
        new.scenarios[0] = other;
        let g = crate::gate::compare(&r, "base.json", &new);
        assert!(
            g.notes.iter().any(|n| n.contains("the load differs")),
            "{:?}",
            g.notes
        );
    }

    #[test]
    fn a_migration_that_now_blocks_traffic_fails_the_gate() {
        let r = fixture();
        let blocking = r.scenarios[0].load.clone().unwrap();
        let mut quiet = blocking.clone();
        let m = quiet.migration.as_mut().unwrap();
        m.blocked.clear();
        let g = migration_gate("s", &quiet, &blocking).unwrap();
        assert_eq!(g.operation, MIGRATION_ENTRY);
        assert_eq!(g.verdict, Verdict::Regressed);
        assert!(
            g.findings[0].message.contains("now blocks writes to items"),
            "{:?}",
            g.findings
        );
        let g = migration_gate("s", &blocking, &quiet).unwrap();
        assert_eq!(g.verdict, Verdict::Improved);
        let g = migration_gate("s", &blocking, &blocking).unwrap();
        assert_eq!(g.verdict, Verdict::Pass);
        // New errors during the window.
        let mut failing = blocking.clone();
        let w = failing.operations[0].window.as_mut().unwrap();
        w.errors.insert("55P03".into(), 3);
        let g = migration_gate("s", &blocking, &failing).unwrap();
        assert_eq!(g.verdict, Verdict::Regressed);
        assert!(g
            .findings
            .iter()
            .any(|f| f.id == "migration-errors" && f.message.contains("55P03")));
        // In the whole gate, the migration's findings are an entry of their own.
        let mut new = r.clone();
        new.scenarios[0].load = Some(failing);
        let g = crate::gate::compare(&r, "base.json", &new);
        assert!(g
            .operations
            .iter()
            .any(|o| o.operation == MIGRATION_ENTRY && o.verdict == Verdict::Regressed));
        assert!(crate::gate::failures(&g)
            .iter()
            .any(|f| f.contains("migration-errors")));
    }
}

/// A baseline written before catalog lookups were folded into one carries the old signature
/// string; the gate reads both files' plans by today's rules, so the catalog join's strategy
/// (Nested Loop in the baseline, Hash Join now) is no plan change, while a change to the
/// user's own scan still is.
#[test]
fn signatures_are_recomputed_from_the_stored_plans() {
    let plan = |join: &str, user_scan: &str| {
        serde_json::json!([{ "Plan": {
            "Node Type": "Result",
            "Plans": [
                {"Node Type": join, "Join Type": "Inner", "Parent Relationship": "InitPlan",
                 "Plans": [
                    {"Node Type": "Seq Scan", "Relation Name": "pg_class", "Schema": "pg_catalog",
                     "Parent Relationship": "Outer"},
                    {"Node Type": "Seq Scan", "Relation Name": "pg_namespace", "Schema": "pg_catalog",
                     "Parent Relationship": "Inner"}
                 ]},
                {"Node Type": user_scan, "Relation Name": "t", "Schema": "public",
                 "Parent Relationship": "InitPlan"}
            ]
        }}])
    };
    let with_plan = |old_signature: &str, doc: serde_json::Value| StatementReport {
        plan: doc,
        ..stmt(old_signature, 4, "1:a")
    };
    let t = Thresholds::default();
    let baseline = with_plan(
        "Result [InitPlan: Nested Loop (Inner) [Seq Scan on pg_class; Seq Scan on pg_namespace]; InitPlan: Seq Scan on t]",
        plan("Nested Loop", "Seq Scan"),
    );
    let same = with_plan("(ignored)", plan("Hash Join", "Seq Scan"));
    assert!(statement_findings("after", 0, &baseline, &same, &t).is_empty());
    let changed = with_plan("(ignored)", plan("Hash Join", "Index Scan"));
    let f = statement_findings("after", 0, &baseline, &changed, &t);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].id, "plan-changed");
    assert!(f[0].message.contains("(catalog lookup)"), "{:?}", f[0]);
}
