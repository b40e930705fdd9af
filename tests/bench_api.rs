//! The Rust API against a real server (local backend): Rust operations measured old vs new,
//! their statements' plans captured with auto_explain, round trips counted, and a plan change
//! in the new code caught by the gate against a baseline.

mod common;

use std::path::Path;

use common::{read_json, root, tmpdir};
use querygate::bench::{before, both, Bench, Params};
use serde_json::Value as Json;
use sqlx::{Connection, PgConnection};

async fn by_category(c: &mut PgConnection, p: &Params) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar("SELECT id FROM items WHERE category = $1 ORDER BY id")
        .bind(p.i32(0))
        .fetch_all(c)
        .await
}

/// The same rows, but `category + 0` cannot use the index: a plan regression in new code.
async fn by_category_no_index(c: &mut PgConnection, p: &Params) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar("SELECT id FROM items WHERE category + 0 = $1 ORDER BY id")
        .bind(p.i32(0))
        .fetch_all(c)
        .await
}

/// Two statements in a transaction of its own.
async fn delete_two(c: &mut PgConnection, p: &Params) -> sqlx::Result<u64> {
    let mut tx = c.begin().await?;
    sqlx::query("DELETE FROM item_tags WHERE item_id = $1")
        .bind(p.i64(0))
        .execute(&mut *tx)
        .await?;
    let n = sqlx::query("DELETE FROM items WHERE id = $1")
        .bind(p.i64(0))
        .execute(&mut *tx)
        .await?
        .rows_affected();
    tx.commit().await?;
    Ok(n)
}

/// One statement: the foreign key cascades.
async fn delete_cascade(c: &mut PgConnection, p: &Params) -> sqlx::Result<u64> {
    Ok(sqlx::query("DELETE FROM items WHERE id = $1")
        .bind(p.i64(0))
        .execute(c)
        .await?
        .rows_affected())
}

fn scenario() -> std::path::PathBuf {
    root().join("tests/data/bench/items.toml")
}

fn args(out: &Path, extra: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = [
        "--backend",
        "local",
        "--quiet",
        "--format",
        "json",
        "--rounds",
        "3",
        "--iterations",
        "3",
        "--out",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    a.push(out.display().to_string());
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

fn op<'a>(report: &'a Json, name: &str) -> &'a Json {
    report["scenarios"][0]["operations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == name)
        .unwrap_or_else(|| panic!("no operation {name} in the report"))
}

fn signatures(side: &Json) -> Vec<String> {
    side["explain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["signature"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn rust_operations_are_measured_explained_and_gated() {
    let dir = tmpdir();
    let base = dir.path().join("base.json");
    let mut out = Vec::new();
    let code = Bench::from_scenario(scenario())
        .operation("by_category", both(by_category))
        .operation("delete_item", before(delete_two).after(delete_cascade))
        .args(args(&base, &[]))
        .try_run(&mut out)
        .unwrap_or_else(|e| panic!("first run failed: {e:#}"));
    let report = read_json(&base);
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&out));
    assert_eq!(report["status"], "complete");

    // The function's statement, planned by the server on each side: the index after the migration.
    let by = op(&report, "by_category");
    assert!(by["after"]["code"]
        .as_str()
        .unwrap()
        .ends_with("by_category"));
    assert_eq!(
        by["before"]["round_trips"],
        1,
        "statements {}, signatures {:?}",
        by["before"]["statements"],
        signatures(&by["before"])
    );
    assert_eq!(
        by["after"]["statements"][0],
        "SELECT id FROM items WHERE category = $1 ORDER BY id"
    );
    assert!(
        signatures(&by["before"])[0].contains("Seq Scan on items"),
        "{by:#}"
    );
    assert!(
        signatures(&by["after"])[0].contains("items_category"),
        "{by:#}"
    );
    assert!(by["after"]["latency"]["count"].as_u64().unwrap() >= 6);
    assert_eq!(by["same_result"], true);
    assert_eq!(by["claims"][0]["verdict"], "holds", "{:#}", by["claims"]);

    // Round trips counted from what the code ran: BEGIN (sqlx's `begin()` waits for its reply;
    // sqlx does not report it, the server's announcement does), 2 DELETEs and COMMIT → 1 DELETE.
    // Inside the EXPLAIN pass's transaction the function's BEGIN and COMMIT are a SAVEPOINT and
    // its RELEASE, listed as the function sends them when measured.
    let del = op(&report, "delete_item");
    assert_eq!(
        del["before"]["round_trips"], 4,
        "{:#}",
        del["before"]["statements"]
    );
    assert_eq!(
        del["after"]["round_trips"], 1,
        "{:#}",
        del["after"]["statements"]
    );
    let before_sigs = signatures(&del["before"]);
    assert_eq!(before_sigs[0], "(no plan) BEGIN", "{before_sigs:?}");
    assert!(
        before_sigs[1].contains("Delete on item_tags"),
        "{before_sigs:?}"
    );
    assert!(
        before_sigs[2].contains("Delete on items"),
        "{before_sigs:?}"
    );
    assert_eq!(before_sigs[3], "(no plan) COMMIT", "{before_sigs:?}");
    assert_eq!(del["before"]["statements"][3], "COMMIT");
    assert_eq!(del["before"]["explain"][2]["rows_affected"], 1);
    // The cascade runs in a trigger, which the plan records.
    assert!(del["after"]["explain"][0]["trigger_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(del["same_result"], true);

    // New code that defeats the index: the gate finds the plan change against the baseline.
    let again = dir.path().join("again.json");
    let code = Bench::from_scenario(scenario())
        .operation(
            "by_category",
            before(by_category).after(by_category_no_index),
        )
        .operation("delete_item", before(delete_two).after(delete_cascade))
        .args(args(&again, &["--baseline", base.to_str().unwrap()]))
        .try_run(&mut Vec::new())
        .unwrap_or_else(|e| panic!("second run failed: {e:#}"));
    assert_eq!(code, 1);
    let report = read_json(&again);
    let gate = &report["gate"];
    assert_eq!(gate["verdict"], "regressed", "{gate:#}");
    let gated = gate["operations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["operation"] == "by_category")
        .unwrap();
    assert_eq!(gated["verdict"], "regressed");
    assert!(
        gated["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["id"] == "plan-changed" && f["verdict"] == "regressed"),
        "{gated:#}"
    );
    assert!(signatures(&op(&report, "by_category")["after"])[0].contains("Seq Scan on items"));
    let delete_gate = gate["operations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["operation"] == "delete_item")
        .unwrap();
    assert_ne!(delete_gate["verdict"], "regressed", "{delete_gate:#}");
}

#[test]
fn bench_flags_are_querygate_s_and_cargo_s_are_ignored() {
    let dir = tmpdir();
    let out = dir.path().join("r.json");
    // A filter word, cargo's --bench, and libtest's flags (querygate's `--format json` stays):
    // only `delete_item` runs.
    let a = args(
        &out,
        &[
            "delete",
            "--bench",
            "--nocapture",
            "--test-threads",
            "1",
            "--format",
            "terse",
            "-Z",
            "unstable-options",
        ],
    );
    let code = Bench::from_scenario(scenario())
        .operation("by_category", both(by_category))
        .operation("delete_item", before(delete_two).after(delete_cascade))
        .args(a)
        .try_run(&mut Vec::new())
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(code, 0);
    let report = read_json(&out);
    let ops = report["scenarios"][0]["operations"].as_array().unwrap();
    assert_eq!(ops.len(), 1);
    assert_eq!(ops[0]["name"], "delete_item");

    // libtest's --list (cargo-nextest, IDEs): nothing printed, exit 0, nothing run.
    let mut listed = Vec::new();
    let code = Bench::from_scenario(scenario())
        .operation("by_category", both(by_category))
        .args(["--list", "--format", "terse", "--ignored"])
        .try_run(&mut listed)
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!((code, listed.len()), (0, 0));

    // An operation the scenario does not have is refused before any work, with exit code 2.
    let err = Bench::from_scenario(scenario())
        .operation("by_categroy", both(by_category))
        .args(args(&out, &[]))
        .try_run(&mut Vec::new())
        .unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(
        err.to_string().contains("it has: by_category, delete_item"),
        "{err}"
    );
}
