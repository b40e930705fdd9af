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
