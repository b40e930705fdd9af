//! The whole flow on the local backend: a real ephemeral PostgreSQL, the real binary.

mod common;

use common::*;

/// The focus scenario end to end, at a small scale: the report has what DESIGN.md promises.
#[test]
fn focus_scenario_end_to_end() {
    let dir = tmpdir();
    let out = dir.path().join("focus.json");
    let o = run(&[
        "run",
        "scenarios/focus_sessions.toml",
        "--backend",
        "local",
        "--scale",
        "20000",
        "--rounds",
        "6",
        "--iterations",
        "6",
        "--warmup",
        "3",
        "--out",
        out.to_str().unwrap(),
    ]);
    // Claims may be refuted (exit 1); anything else is a failure.
    assert!(
        matches!(o.status.code(), Some(0) | Some(1)),
        "exit {:?}\n{}",
        o.status.code(),
        stderr(&o)
    );
    let r = read_json(&out);
    assert_eq!(r["schema_version"], 1);
    assert_eq!(r["status"], "complete");
    assert_eq!(r["environment"]["backend"], "local");
    assert!(r["environment"]["server_version"]
        .as_str()
        .unwrap()
        .starts_with("PostgreSQL"));
    assert_eq!(r["environment"]["settings"]["jit"], "off");
    assert_eq!(
        r["environment"]["settings"]["max_parallel_workers_per_gather"],
        "0"
    );
    let s = &r["scenarios"][0];
    assert_eq!(s["scale"], 20000);
    assert_eq!(s["vars"]["users"], "200");
    assert_eq!(s["run"]["rounds_completed"], 6);
    assert!(s["migration"]["duration_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(s["fingerprints"]["settings"].as_str().unwrap().len(), 64);
    let op = &s["fingerprints"]["operations"]["get_active_session"];
    assert_eq!(op["params"].as_str().unwrap().len(), 64);
    assert_eq!(op["before"], op["after"], "both sides run the same `sql`");
    let ops = s["operations"].as_array().unwrap();
    let names: Vec<&str> = ops.iter().map(|o| o["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "get_active_session",
            "list_sessions_paginated",
            "delete_library",
            "add_track",
            "complete_session"
        ]
    );
    for op in ops {
        let sp = &op["speedup"];
        let (lo, est, hi) = (
            sp["low"].as_f64().unwrap(),
            sp["estimate"].as_f64().unwrap(),
            sp["high"].as_f64().unwrap(),
        );
        assert!(lo <= est && est <= hi && lo > 0.0, "{}: {sp}", op["name"]);
        assert_eq!(sp["rounds"], 6);
        for side in ["before", "after"] {
            let sd = &op[side];
            let counts: u64 = sd["round_count"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_u64().unwrap())
                .sum();
            assert_eq!(
                sd["latency"]["count"].as_u64().unwrap(),
                counts,
                "histogram holds every execution"
            );
            assert_eq!(sd["round_p50_us"].as_array().unwrap().len(), 6);
            assert!(!sd["histogram_ns_v2z"].as_str().unwrap().is_empty());
            let explain = sd["explain"].as_array().unwrap();
            assert_eq!(explain.len(), sd["statements"].as_array().unwrap().len());
            for st in explain {
                assert!(
                    st["plan"][0]["Plan"]["Node Type"].is_string(),
                    "plan JSON kept"
                );
                assert!(!st["signature"].as_str().unwrap().is_empty());
            }
        }
    }
    let get = &ops[0];
    assert!(get["before"]["explain"][0]["signature"]
        .as_str()
        .unwrap()
        .contains("Seq Scan on focus_sessions"));
    assert!(get["after"]["explain"][0]["indexes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i == "idx_focus_sessions_user_active"));
    assert_eq!(get["plan_changed"], true);
    assert_eq!(get["same_result"], true);
    // The estimate replaces an exact count: querygate must say the result changed.
    let list = &ops[1];
    assert_eq!(list["same_result"], false);
    assert!(s["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w["id"] == "results-differ" && w["operation"] == "list_sessions_paginated"));
    // Every claim has a verdict and a reason; the targets stated at a rate (`… at 100 tps`)
    // need a load run, which a single-client run is not: not evaluated, and said why.
    for op in ops {
        for c in op["claims"].as_array().unwrap() {
            let (verdict, reason) = (
                c["verdict"].as_str().unwrap(),
                c["reason"].as_str().unwrap(),
            );
            if c["claim"].as_str().unwrap().ends_with(" tps") {
                assert_eq!(verdict, "not-evaluated", "{c}");
                assert!(reason.contains("no load run"), "{c}");
            } else {
                assert!(
                    ["holds", "refuted", "inconclusive"].contains(&verdict),
                    "{c}"
                );
            }
            assert!(!reason.is_empty());
        }
    }
    // The table names every operation.
    let table = stdout(&o);
    for n in names {
        assert!(table.contains(n), "table lacks {n}:\n{table}");
    }
}

/// Claims decide the exit code, and verdicts follow the evidence.
#[test]
fn refuted_claim_exits_1_and_plan_claims_hold() {
    let dir = tmpdir();
    let out = dir.path().join("tiny.json");
    let o = run(&[
        "run",
        "tests/data/scenarios/ok/tiny.toml",
        "--backend",
        "local",
        "--out",
        out.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let r: serde_json::Value =
        serde_json::from_str(&stdout(&o)).expect("stdout is the JSON report");
    assert_eq!(r, read_json(&out), "stdout and the results file agree");
    let ops = r["scenarios"][0]["operations"].as_array().unwrap();
    let verdict = |op: usize, claim: &str| {
        ops[op]["claims"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["claim"] == claim)
            .unwrap()["verdict"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(verdict(0, "uses index items_grp_idx"), "holds");
    assert_eq!(verdict(0, "no seq scan on items"), "holds");
    assert_eq!(verdict(0, "same result"), "holds");
    assert_eq!(verdict(1, "same result"), "holds");
    assert_eq!(verdict(2, "speedup >= 1000"), "refuted");
    assert_eq!(r["exit_code"], 1);
    assert!(r["failures"][0].as_str().unwrap().contains("impossible"));
    // The rolled-back write really was rolled back: its sampled row returns the same on both sides.
    assert_eq!(ops[1]["before"]["explain"][0]["rows_returned"], 1);
}

/// An SQL error in the seed script names the file, line and column, and exits 2.
#[test]
fn seed_sql_error_is_located() {
    let dir = tmpdir();
    let out = dir.path().join("r.json");
    let o = run(&[
        "run",
        "tests/data/scenarios/err/seed_error.toml",
        "--backend",
        "local",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("seed_error.sql:3:13"), "{e}");
    assert!(e.contains("relation \"itemz\" does not exist"), "{e}");
}

/// A run-time error (no position from the server) in the migration's second statement is
/// located at that statement, which the message shows; exit 2.
#[test]
fn migration_runtime_error_is_located_at_its_statement() {
    let dir = tmpdir();
    let out = dir.path().join("r.json");
    let o = run(&[
        "run",
        "tests/data/scenarios/err/migration_runtime_error.toml",
        "--backend",
        "local",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("migration_runtime_error.sql:3:3: PostgreSQL error 23505"),
        "{e}"
    );
    assert!(
        e.contains("statement: CREATE UNIQUE INDEX items_grp_key ON items (grp)"),
        "{e}"
    );
}

/// A statement that writes in a `read` operation is refused before any server starts: exit 2,
/// located at the keyword, no results file written.
#[test]
fn read_mode_write_is_refused_before_the_run() {
    let dir = tmpdir();
    let out = dir.path().join("r.json");
    let o = run(&[
        "run",
        "tests/data/scenarios/err/read_mode_insert.toml",
        "--backend",
        "local",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("read_mode_insert.toml:10:8"), "{e}");
    assert!(e.contains("mode = \"rollback\""), "{e}");
    assert!(
        !e.contains("starting"),
        "work was done before the refusal:\n{e}"
    );
}

/// Output paths that cannot be written are refused (exit 2) before the server is contacted:
/// the url points at a port where nothing listens, so any later check would exit 3 instead.
#[test]
fn unwritable_output_paths_are_refused_before_any_work() {
    let dir = tmpdir();
    let d = dir.path();
    let missing = d.join("no/such/dir/r.json");
    let cases: Vec<(&str, String, &str)> = vec![
        ("--out", missing.display().to_string(), "does not exist"),
        ("--out", d.display().to_string(), "is a directory"),
        (
            "--html",
            "/sys/querygate-report.html".into(),
            "cannot write in directory /sys",
        ),
        (
            "--markdown",
            missing.display().to_string(),
            "does not exist",
        ),
        ("--junit", d.display().to_string(), "is a directory"),
        (
            "--save-baseline",
            missing.display().to_string(),
            "does not exist",
        ),
    ];
    for (flag, path, why) in cases {
        let mut args = vec![
            "run",
            "tests/data/scenarios/ok/tiny.toml",
            "--backend",
            "url",
            "--database-url",
            "postgres://nobody@127.0.0.1:1/postgres",
        ];
        if flag != "--out" {
            args.extend(["--out", "/dev/null"]);
        }
        args.extend([flag, path.as_str()]);
        let o = run(&args);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{flag} {path}: {e}");
        assert!(e.contains(flag) && e.contains(why), "{flag} {path}: {e}");
    }
    assert!(!d.join("no").exists(), "a missing directory was created");
}

/// A generator value outside its parameter's type is a scenario error (exit 2) located at the
/// generator, in PostgreSQL's terms (no Rust type name).
#[test]
fn parameter_out_of_range_is_a_located_scenario_error() {
    let dir = tmpdir();
    let o = run(&[
        "run",
        "tests/data/scenarios/err/param_out_of_range.toml",
        "--backend",
        "local",
        "--out",
        dir.path().join("r.json").to_str().unwrap(),
    ]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains("param_out_of_range.toml:11:11"), "{e}");
    assert!(
        e.contains("parameter $1 (type integer)") && e.contains("out of range for type integer"),
        "{e}"
    );
    assert!(!e.contains("I32"), "{e}");
}

/// An enormous scale is warned about, with an estimate, before the server is contacted (the
/// url has nothing listening: the run then stops with exit 3, having seeded nothing).
#[test]
fn enormous_scale_is_warned_about_before_seeding() {
    let o = run(&[
        "run",
        "tests/data/scenarios/ok/tiny.toml",
        "--scale",
        "1000000000000",
        "--backend",
        "url",
        "--database-url",
        "postgres://nobody@127.0.0.1:1/postgres",
        "--out",
        "/dev/null",
    ]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(3), "{e}");
    let warned = e.find("has scale 1000000000000").expect("a warning");
    assert!(e.contains("days of seeding"), "{e}");
    assert!(
        warned < e.find("cannot connect").expect("the connection error"),
        "{e}"
    );
}

/// A `[server] settings` value the server refuses at start is a scenario error (exit 2) located
/// at the setting, with the server's reason; not "the server exited during startup".
#[test]
fn refused_server_setting_is_located() {
    let o = run(&[
        "run",
        "tests/data/scenarios/err/server_setting_invalid.toml",
        "--backend",
        "local",
        "--out",
        "/dev/null",
    ]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains("server_setting_invalid.toml:8:38"), "{e}");
    assert!(
        e.contains("invalid value for parameter \"work_mem\""),
        "{e}"
    );
}

/// `check` validates without a server.
#[test]
fn check_accepts_good_files_and_locates_bad_ones() {
    let o = run(&[
        "check",
        "scenarios/focus_sessions.toml",
        "tests/data/scenarios/ok/tiny.toml",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("5 operations"));
    let dir = tmpdir();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "name = \"x\"\n[data]\nscale = 10\n[[operation]]\nname = \"q\"\nsql = \"SELECT $1\"\nparams = [\"random(5, 1)\"]\n").unwrap();
    let o = run(&["check", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("bad.toml:7:12") && e.contains("empty range"),
        "{e}"
    );
}

/// Server time (pg_stat_statements) is recorded for every operation, side and round, is
/// smaller than the client latency it is part of, and gives a server speedup and a round trip.
#[test]
fn server_time_is_recorded_beside_client_latency() {
    let dir = tmpdir();
    let out = dir.path().join("tiny.json");
    let o = run(&[
        "run",
        "tests/data/scenarios/ok/tiny.toml",
        "--backend",
        "local",
        "--out",
        out.to_str().unwrap(),
        "--format",
        "json",
        "-q",
    ]);
    assert!(
        matches!(o.status.code(), Some(0) | Some(1)),
        "{}",
        stderr(&o)
    );
    let r = read_json(&out);
    let env = &r["environment"];
    assert_eq!(env["transport"], "tcp-loopback");
    assert!(
        env["placement"].as_str().unwrap().contains("server CPU"),
        "{env}"
    );
    assert!(env["settings"]["shared_preload_libraries"]
        .as_str()
        .unwrap()
        .contains("pg_stat_statements"));
    let s = &r["scenarios"][0];
    assert_eq!(s["server_time"], "pg_stat_statements", "{}", s["warnings"]);
    let rounds = s["run"]["rounds_completed"].as_u64().unwrap() as usize;
    for op in s["operations"].as_array().unwrap() {
        for side in ["before", "after"] {
            let sd = &op[side];
            let server = &sd["server"];
            let per_round = server["round_us"].as_array().unwrap();
            assert_eq!(per_round.len(), rounds, "{} {side}", op["name"]);
            for (k, v) in per_round.iter().enumerate() {
                // With ≤ 8 executions a round's p99 is its slowest execution, which is at least
                // the round's mean client latency, which contains the mean server time
                // (1% for the histogram's 3 significant figures).
                let (server_us, client_max) = (
                    v.as_f64().unwrap(),
                    sd["round_p99_us"][k].as_f64().unwrap() * 1.01,
                );
                assert!(
                    server_us > 0.0,
                    "{} {side} round {k}: {server_us}",
                    op["name"]
                );
                assert!(
                    server_us < client_max,
                    "{} {side} round {k}: server {server_us} µs, slowest client {client_max} µs",
                    op["name"]
                );
            }
            // The server process's time on a CPU per execution, every round: positive, and in
            // µs (an execution's CPU time is spent while its client waits; a unit slip would
            // be 1000× off).
            let cpu = server["cpu_round_us"].as_array().unwrap();
            assert_eq!(cpu.len(), rounds, "{} {side}", op["name"]);
            for (k, v) in cpu.iter().enumerate() {
                let slowest = sd["round_p99_us"][k].as_f64().unwrap();
                let cpu_us = v.as_f64().unwrap();
                assert!(
                    cpu_us > 0.0 && cpu_us < slowest * 1.5,
                    "{} {side} round {k}: CPU {cpu_us} µs, slowest client {slowest} µs",
                    op["name"]
                );
            }
            let mean = server["mean_us"].as_f64().unwrap();
            assert!(mean > 0.0 && mean < sd["latency"]["mean_us"].as_f64().unwrap());
            // BEGIN, the statement and ROLLBACK for the write; one statement for the reads.
            let expected = if op["mode"] == "rollback" { 3.0 } else { 1.0 };
            assert_eq!(
                server["statements_per_execution"].as_f64().unwrap(),
                expected
            );
            let share = server["round_trip_share"].as_f64().unwrap();
            assert!((0.0..1.0).contains(&share), "{share}");
        }
        let sp = &op["server_speedup"];
        assert!(sp["low"].as_f64().unwrap() <= sp["estimate"].as_f64().unwrap());
        assert!(sp["estimate"].as_f64().unwrap() <= sp["high"].as_f64().unwrap());
    }
    let c = &s["calibration"];
    assert_eq!(c["server_round_us"].as_array().unwrap().len(), rounds);
    let rt = c["round_trip_us"].as_f64().unwrap();
    assert!(
        rt > 0.0 && rt < c["round_p50_us"][0].as_f64().unwrap() * 10.0,
        "{c}"
    );
}

/// The round budget bounds both sides: a write that takes 50 ms after the change runs as few
/// executions as fit the budget even in rounds where the fast side goes first (it used to run
/// the fast side's full count: 12 × 50 ms), both sides run the same count, the run's length is
/// estimated up front, and the operation that dominates it is named with its share.
#[test]
fn the_round_budget_bounds_both_sides_and_the_run_is_estimated_up_front() {
    let dir = tmpdir();
    let d = dir.path();
    std::fs::write(d.join("schema.sql"), "CREATE TABLE t (id int);\n").unwrap();
    std::fs::write(
        d.join("budget.toml"),
        r#"name = "budget"

[data]
schema = ["schema.sql"]

[run]
warmup = 3
rounds = 4
iterations = 12
round_budget_ms = 150
order = "abba"

[[operation]]
name = "fast"
sql = "SELECT 1"

[[operation]]
name = "slow_after"
mode = "rollback"
before = "SELECT 1"
after = "SELECT pg_sleep(0.05)"
"#,
    )
    .unwrap();
    let out = d.join("r.json");
    let o = run(&[
        "run",
        d.join("budget.toml").to_str().unwrap(),
        "--backend",
        "local",
        "--out",
        out.to_str().unwrap(),
    ]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{e}");
    assert!(
        e.contains("budget (scale 1): measuring should take about"),
        "{e}"
    );
    let r = read_json(&out);
    let ops = r["scenarios"][0]["operations"].as_array().unwrap();
    let counts = |op: &serde_json::Value, side: &str| -> Vec<u64> {
        op[side]["round_count"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_u64().unwrap())
            .collect()
    };
    let slow = &ops[1];
    let (before, after) = (counts(slow, "before"), counts(slow, "after"));
    assert_eq!(before.len(), 4);
    assert_eq!(before, after, "both sides run as many executions");
    // 150 ms / 50 ms: two or three fit; never the fast side's 12 (600 ms per round).
    assert!(after.iter().all(|&n| (1..=4).contains(&n)), "{after:?}");
    let fast: u64 = counts(&ops[0], "before").iter().sum();
    assert!(
        fast > after.iter().sum::<u64>(),
        "the fast operation keeps more executions per round ({fast})"
    );
    let warning = r["scenarios"][0]["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["id"] == "dominant-operation")
        .unwrap_or_else(|| {
            panic!(
                "no dominant-operation warning: {}",
                r["scenarios"][0]["warnings"]
            )
        })
        .clone();
    assert_eq!(warning["operation"], "slow_after");
    let m = warning["message"].as_str().unwrap();
    assert!(
        m.contains("% of the measuring time") && m.contains("on the after side"),
        "{m}"
    );
    assert!(e.contains("warning: `slow_after` takes"), "{e}");
}

/// A scenario without a migration and with the same SQL on both sides measures one side:
/// absolute targets are judged, nothing is headlined as a speedup or a "migration 0 ms", and
/// every output shows one side. A speedup claim there is a located scenario error before any
/// work; a baseline of such a run gates the next one.
#[test]
fn a_scenario_without_a_change_runs_one_side_and_refuses_speedup_claims() {
    let dir = tmpdir();
    let d = dir.path();
    std::fs::write(
        d.join("schema.sql"),
        "CREATE TABLE items (id int PRIMARY KEY, grp int, payload text);\n\
         INSERT INTO items SELECT g, g % 50, md5(g::text) FROM generate_series(1, 5000) g;\n",
    )
    .unwrap();
    let scenario = |claims: &str| {
        format!(
            r#"name = "targets"

[data]
schema = ["schema.sql"]

[run]
warmup = 5
rounds = 6
iterations = 10

[[operation]]
name = "by_id"
sql = "SELECT payload FROM items WHERE id = $1"
params = ["random(1, 5000)"]
claim = [{claims}]
"#
        )
    };
    std::fs::write(
        d.join("targets.toml"),
        scenario(r#""p95 < 1 s", "after p50 > 1 us", "uses index items_pkey""#),
    )
    .unwrap();
    let p = |f: &str| d.join(f).to_str().unwrap().to_string();
    let o = run(&[
        "run",
        &p("targets.toml"),
        "--backend",
        "local",
        "--out",
        &p("r.json"),
        "--markdown",
        &p("r.md"),
        "--html",
        &p("r.html"),
        "--junit",
        &p("r.xml"),
        "--save-baseline",
        &p("base.json"),
    ]);
    let (out, e) = (stdout(&o), stderr(&o));
    assert_eq!(o.status.code(), Some(0), "{e}");
    let r = read_json(&d.join("r.json"));
    let s = &r["scenarios"][0];
    assert_eq!(s["single_side"], true);
    let op = &s["operations"][0];
    assert_eq!(
        op["before"]["latency"]["count"], 0,
        "before is not measured"
    );
    assert_eq!(op["after"]["latency"]["count"], 60);
    assert!(op["speedup"].is_null() && op["server_speedup"].is_null());
    assert!(op["same_result"].is_null());
    assert_eq!(op["plan_change"], "items: Index Scan using items_pkey");
    let verdicts: Vec<&str> = op["claims"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts, ["holds", "holds", "holds"]);
    assert!(out.contains("one side (no migration"), "{out}");
    assert!(out.contains("result: pass (exit code 0)"), "{out}");
    for text in [&out, &std::fs::read_to_string(d.join("r.md")).unwrap()] {
        assert!(
            !text.contains("migration 0 ms")
                && !text.contains("before p50")
                && !text.contains("× ("),
            "{text}"
        );
    }
    let html = std::fs::read_to_string(d.join("r.html")).unwrap();
    assert!(html.contains("one side (no migration"));
    assert!(!html.contains("<th class=\"before\">") && !html.contains("speedup p50"));
    let junit = std::fs::read_to_string(d.join("r.xml")).unwrap();
    assert!(
        junit.contains("measured: p50") && !junit.contains("before:"),
        "{junit}"
    );
    assert!(!junit.contains("<error"), "{junit}");

    // The baseline of a run of one side gates the next one.
    let o = run(&[
        "run",
        &p("targets.toml"),
        "--backend",
        "local",
        "--out",
        &p("again.json"),
        "--baseline",
        &p("base.json"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let again = read_json(&d.join("again.json"));
    assert_ne!(again["gate"]["verdict"], "regressed", "{}", again["gate"]);

    // A speedup, a `before` claim or a comparison of results: refused, located, before work.
    std::fs::write(
        d.join("targets.toml"),
        scenario(r#""p95 < 1 s", "speedup >= 2", "before p50 <= 5ms", "same result""#),
    )
    .unwrap();
    for args in [
        vec!["run", &p("targets.toml"), "--backend", "local"],
        vec!["check", &p("targets.toml")],
    ] {
        let o = run(&args);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{e}");
        assert!(e.contains("targets.toml:15:"), "{e}");
        assert!(
            e.contains("the claim `speedup >= 2` compares before with after")
                && e.contains("the claim `before p50 <= 5ms` names the before side")
                && e.contains("the claim `same result` compares the rows"),
            "{e}"
        );
        assert!(
            !e.contains("starting"),
            "work was done before the refusal:\n{e}"
        );
    }
}
