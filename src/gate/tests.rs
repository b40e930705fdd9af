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
