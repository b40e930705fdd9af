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

fn shifts(
    calibrated: stats::Estimate,
    server: Option<stats::Estimate>,
    stage: Stage,
) -> Option<Finding> {
    let describe = |what: &str, e: &stats::Estimate| format!("{what} {:.2}", e.estimate);
    side_latency_finding(&Shifts {
        side: "after",
        calibrated,
        server,
        margin: 1.1f64.ln(),
        describe: &describe,
        suffix: "threshold 10%".into(),
        stage,
    })
}

#[test]
fn cross_run_latency_needs_the_server_time_to_agree() {
    let up = est(0.2, 0.15, 0.25); // +22%, whole interval beyond +10%
                                   // The A/A false alarms: calibrated latency up, server time flat → a pass, explained.
    let f = shifts(up, Some(est(0.01, -0.03, 0.05)), Stage::Confirm).unwrap();
    assert_eq!(
        (f.id.as_str(), f.verdict),
        ("latency-unconfirmed", Verdict::Pass)
    );
    assert!(f.message.contains("did not move"), "{}", f.message);
    // A real regression moves both.
    let f = shifts(up, Some(est(0.4, 0.3, 0.5)), Stage::Confirm).unwrap();
    assert_eq!(
        (f.id.as_str(), f.verdict),
        ("latency-regressed", Verdict::Regressed)
    );
    // Without server time: screened (so it is re-measured), then only inconclusive.
    let f = shifts(up, None, Stage::Screen).unwrap();
    assert_eq!(f.verdict, Verdict::Regressed);
    let f = shifts(up, None, Stage::Confirm).unwrap();
    assert_eq!(
        (f.id.as_str(), f.verdict),
        ("latency-regressed", Verdict::Inconclusive)
    );
    // Nothing beyond the threshold: no finding whatever the server time does.
    assert!(shifts(
        est(0.05, -0.02, 0.12),
        Some(est(0.4, 0.3, 0.5)),
        Stage::Confirm
    )
    .is_none());
    // Improvements need the agreement too.
    let down = est(-0.3, -0.35, -0.2);
    let f = shifts(down, Some(est(-0.3, -0.4, -0.2)), Stage::Confirm).unwrap();
    assert_eq!(
        (f.id.as_str(), f.verdict),
        ("latency-improved", Verdict::Improved)
    );
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
