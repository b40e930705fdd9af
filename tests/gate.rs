//! Baselines and the regression gate, end to end on the local backend.

mod common;

use common::*;
use std::path::Path;

fn setup(dir: &Path, migration: &str) {
    for f in ["gate.toml", "schema.sql", "seed.sql"] {
        std::fs::copy(root().join("scripts/validation").join(f), dir.join(f)).unwrap();
    }
    std::fs::copy(
        root().join("scripts/validation").join(migration),
        dir.join("migration.sql"),
    )
    .unwrap();
}

fn qg_run(dir: &Path, extra: &[&str]) -> std::process::Output {
    let scenario = dir.join("gate.toml");
    let mut args = vec![
        "run",
        scenario.to_str().unwrap(),
        "--backend",
        "local",
        "--rounds",
        "6",
        "--iterations",
        "5",
        "--warmup",
        "3",
        "-q",
    ];
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn baseline_gate_passes_same_code_and_fails_a_dropped_index() {
    let dir = tmpdir();
    let d = dir.path();
    setup(d, "noop.sql");
    let base = d.join("base.json");
    let base_s = base.to_str().unwrap();
    let o = qg_run(
        d,
        &[
            "--save-baseline",
            base_s,
            "--out",
            d.join("r0.json").to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(read_json(&base)["status"], "complete");

    // Baselines change only on request.
    let o = qg_run(d, &["--save-baseline", base_s]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--overwrite-baseline"),
        "{}",
        stderr(&o)
    );

    // Same code: no regression.
    let same = d.join("same.json");
    let o = qg_run(d, &["--baseline", base_s, "--out", same.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = read_json(&same);
    let gate = &r["gate"];
    assert_ne!(gate["verdict"], "regressed", "{gate}");
    assert_eq!(gate["operations"].as_array().unwrap().len(), 2);
    assert!(
        r["scenarios"][0]["calibration"]["round_p50_us"]
            .as_array()
            .unwrap()
            .len()
            == 6
    );

    // The index `lookup` reads is dropped by the migration: exit 1, naming the operation, the
    // plan change and the buffer increase.
    std::fs::copy(
        root().join("scripts/validation/drop_index.sql"),
        d.join("migration.sql"),
    )
    .unwrap();
    let bad = d.join("bad.json");
    let o = qg_run(d, &["--baseline", base_s, "--out", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let r = read_json(&bad);
    let lookup = r["gate"]["operations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["operation"] == "lookup")
        .unwrap()
        .clone();
    assert_eq!(lookup["verdict"], "regressed");
    let ids: Vec<&str> = lookup["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"plan-changed") && ids.contains(&"buffers-increased"),
        "{ids:?}"
    );
    let failures = r["failures"].as_array().unwrap();
    assert!(
        failures
            .iter()
            .any(|f| f.as_str().unwrap().contains("lookup")
                && f.as_str().unwrap().contains("items_grp_idx")),
        "{failures:?}"
    );

    // `compare` gives the same verdicts offline, with the same exit code.
    let o = run(&["compare", base_s, bad.to_str().unwrap(), "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let c: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let verdicts = |g: &serde_json::Value| {
        g["operations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| (o["operation"].clone(), o["verdict"].clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(verdicts(&c["gate"]), verdicts(&r["gate"]));
    let o = run(&["compare", base_s, same.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    // --fail-on claims: the regression is reported, marked as not failing, exit 0.
    let o = run(&[
        "compare",
        base_s,
        bad.to_str().unwrap(),
        "--fail-on",
        "claims",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(
            "result: pass, but 1 regression against the baseline (not failing: --fail-on claims)"
        ),
        "{}",
        stdout(&o)
    );

    // A baseline of other inputs (another seed) is refused, unless allowed.
    std::fs::write(
        d.join("seed.sql"),
        "INSERT INTO items SELECT g, 1, md5(g::text) FROM generate_series(1, :scale) g;\n",
    )
    .unwrap();
    let o = qg_run(d, &["--baseline", base_s]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("seed differs"), "{}", stderr(&o));
}

#[test]
fn a_gate_that_compares_nothing_is_a_usage_error() {
    let reports = root().join("tests/data/reports");
    let (sample, many) = (reports.join("sample.json"), reports.join("many.json"));
    // Same scenario name and scale, no operation in common.
    let o = run(&["compare", sample.to_str().unwrap(), many.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let e = stderr(&o);
    assert!(e.contains("nothing to compare"), "{e}");
    assert!(
        e.contains("`tiny` at scale 20000 (by_group, touch, impossible)"),
        "{e}"
    );
    assert!(e.contains("by_group_01"), "{e}");

    // The baseline of another scenario is refused before the server starts.
    let dir = tmpdir();
    setup(dir.path(), "noop.sql");
    let o = qg_run(dir.path(), &["--baseline", sample.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let e = stderr(&o);
    assert!(
        e.contains("nothing to compare") && e.contains("`gate_validation` at scale 50000"),
        "{e}"
    );
}

#[test]
fn a_dropped_index_a_claim_names_refutes_the_claim_and_the_gate_sees_the_plan_change() {
    let dir = tmpdir();
    let d = dir.path();
    setup(d, "noop.sql");
    let scenario = std::fs::read_to_string(d.join("gate.toml"))
        .unwrap()
        .replace(
            "params = [\"random(1, :groups)\"]",
            "params = [\"random(1, :groups)\"]\nclaim = \"uses index items_grp_idx\"",
        );
    std::fs::write(d.join("gate.toml"), scenario).unwrap();
    let base = d.join("base.json");
    let o = qg_run(d, &["--save-baseline", base.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    std::fs::copy(
        root().join("scripts/validation/drop_index.sql"),
        d.join("migration.sql"),
    )
    .unwrap();
    let bad = d.join("bad.json");
    let o = qg_run(
        d,
        &[
            "--baseline",
            base.to_str().unwrap(),
            "--out",
            bad.to_str().unwrap(),
        ],
    );
    // Not a scenario error: the run goes on, the claim is refuted and the gate regresses.
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let r = read_json(&bad);
    assert_eq!(r["status"], "complete");
    let lookup = &r["scenarios"][0]["operations"][0];
    assert_eq!(lookup["claims"][0]["verdict"], "refuted");
    assert_eq!(
        lookup["claims"][0]["reason"],
        "index `items_grp_idx` does not exist in the after database"
    );
    let ids: Vec<String> = r["gate"]["operations"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|o| o["findings"].as_array().unwrap().clone())
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect();
    assert!(ids.iter().any(|i| i == "plan-changed"), "{ids:?}");
    assert!(!ids.iter().any(|i| i == "statements-changed"), "{ids:?}");
}

#[test]
fn fail_on_chooses_what_fails_and_the_summary_says_which_kind_failed() {
    let reports = root().join("tests/data/reports");
    let compared = reports.join("compared.json");
    let sample = reports.join("sample.json");
    let compare = |fail_on: &str| {
        run(&[
            "compare",
            sample.to_str().unwrap(),
            compared.to_str().unwrap(),
            "--fail-on",
            fail_on,
        ])
    };
    // compared.json carries one refuted claim and no regression against sample.json.
    for fail_on in ["both", "claims"] {
        let o = compare(fail_on);
        assert_eq!(o.status.code(), Some(1), "{fail_on}: {}", stderr(&o));
        assert!(
            stdout(&o).contains("result: 1 refuted claim (exit code 1)"),
            "{}",
            stdout(&o)
        );
    }
    let o = compare("regressions");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o)
            .contains("result: pass, but 1 refuted claim (not failing: --fail-on regressions)"),
        "{}",
        stdout(&o)
    );
    let o = run(&[
        "compare",
        sample.to_str().unwrap(),
        compared.to_str().unwrap(),
        "--fail-on",
        "regressions",
        "--format",
        "json",
    ]);
    let r: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(r["fail_on"], "regressions");
    assert_eq!(r["exit_code"], 0);
}

/// A baseline fingerprints what changes measurements, not the scenario file's bytes: comments,
/// descriptions, claims and gate thresholds may change; SQL, parameters, variables, settings
/// and run parameters may not, and the refusal names the component that differs.
#[test]
fn baseline_survives_edits_that_change_no_measurement_and_names_what_differs() {
    let dir = tmpdir();
    let d = dir.path();
    setup(d, "noop.sql");
    let base = d.join("base.json");
    let base_s = base.to_str().unwrap();
    let o = qg_run(d, &["--save-baseline", base_s]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let original = std::fs::read_to_string(d.join("gate.toml")).unwrap();
    let write = |text: &str| std::fs::write(d.join("gate.toml"), text).unwrap();

    // Comments, a description, a claim and a gate threshold: the baseline still applies.
    write(
        &original
            .replace("name = \"gate_validation\"", "# edited\nname = \"gate_validation\"\ndescription = \"now described\"")
            .replace(
                "params = [\"random(1, :groups)\"]",
                "params = [\"random( 1, groups )\"]  # respelled\nclaim = \"uses index items_grp_idx\"\ngate = { latency_threshold = 0.2 }",
            ),
    );
    let o = qg_run(d, &["--baseline", base_s]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    // Each input that changes measurements is refused before the run, by name.
    let refused = |text: &str, extra: &[&str], expected: &str| {
        write(text);
        let mut args = vec!["--baseline", base_s];
        args.extend_from_slice(extra);
        let o = qg_run(d, &args);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{expected}: {e}");
        assert!(e.contains("measured different inputs"), "{e}");
        assert!(e.contains(expected), "expected `{expected}` in:\n{e}");
    };
    refused(
        &original.replace("payload = payload WHERE", "payload = payload || '' WHERE"),
        &[],
        "gate_validation: operation `write`: its before side (SQL, mode, transaction or Rust function) differs (baseline vs this run)",
    );
    refused(
        &original.replace("random(1, :groups)", "random(1, :groups / 2)"),
        &[],
        "operation `lookup`: its parameters differ (baseline vs this run)",
    );
    refused(
        &original.replace("scale / 50", "scale / 25"),
        &[],
        "the variables differ: groups = 1000 vs 2000",
    );
    refused(
        &format!("{original}\n[server]\nsettings = {{ work_mem = \"8MB\" }}\n"),
        &[],
        "the [server] settings differ",
    );
    refused(
        &original.replace("round_budget_ms = 100", "round_budget_ms = 200\nseed = 7"),
        &[],
        "the run parameters differ: round_budget_ms 100 vs 200, seed 42 vs 7",
    );
    refused(
        &original.replace("mode = \"rollback\"", "mode = \"commit\""),
        &[],
        "operation `write`: its before side (SQL, mode, transaction or Rust function) differs",
    );

    // The after side, like the migration, is the change under test: it may differ, and the
    // gate's notes say that it did.
    write(&original.replace(
        "sql = \"UPDATE items SET payload = payload WHERE id = $1\"",
        "before = \"UPDATE items SET payload = payload WHERE id = $1\"\nafter = \"UPDATE items SET payload = payload WHERE id = $1 AND true\"",
    ));
    let out = d.join("changed.json");
    let o = qg_run(d, &["--baseline", base_s, "--out", out.to_str().unwrap()]);
    assert!(
        matches!(o.status.code(), Some(0) | Some(1)),
        "{}",
        stderr(&o)
    );
    let notes = read_json(&out)["gate"]["notes"].to_string();
    assert!(
        notes.contains("the change under test: gate_validation: operation `write`: its after side"),
        "{notes}"
    );
}

/// A baseline made on another PostgreSQL major version is refused (exit 2, both versions
/// named) unless allowed, and then the gate notes it.
#[test]
fn a_baseline_of_another_major_version_is_refused() {
    let dir = tmpdir();
    let sample = root().join("tests/data/reports/sample.json");
    let mut other: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sample).unwrap()).unwrap();
    let num = other["environment"]["server_version_num"].as_u64().unwrap();
    other["environment"]["server_version_num"] = (num + 10_000).into();
    let base = dir.path().join("other_major.json");
    std::fs::write(&base, other.to_string()).unwrap();
    let o = run(&["compare", base.to_str().unwrap(), sample.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let e = stderr(&o);
    let (b, n) = ((num + 10_000) / 10_000, num / 10_000);
    assert!(
        e.contains(&format!(
            "the baseline ran on PostgreSQL {b}, this run on PostgreSQL {n}"
        )),
        "{e}"
    );
    let o = run(&[
        "compare",
        base.to_str().unwrap(),
        sample.to_str().unwrap(),
        "--allow-fingerprint-mismatch",
        "--format",
        "json",
    ]);
    assert_ne!(o.status.code(), Some(2), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let notes = report["gate"]["notes"].to_string();
    assert!(
        notes.contains("allowed: the baseline ran on PostgreSQL"),
        "{notes}"
    );
}
