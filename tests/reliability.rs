//! Cleanup in every exit path, nothing lost, timeouts, and safety on a server querygate did not
//! start. Signals are sent to a real running `querygate run`.

mod common;

use common::*;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// Every querygate run sweeps leftovers of dead querygate processes, so a test that leaves one
/// on purpose (SIGKILL) must not race with the others: the tests of this file run one at a time.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Starts `querygate run` and returns once it is measuring (its "rounds" line on stderr).
fn start_measuring(args: &[&str]) -> (Child, std::thread::JoinHandle<String>) {
    let mut child = querygate()
        .args(args)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("rounds") {
                let _ = tx.send(());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    rx.recv_timeout(Duration::from_secs(120))
        .expect("querygate started measuring");
    std::thread::sleep(Duration::from_millis(500));
    (child, reader)
}

fn wait(child: &mut Child) -> Option<i32> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s.code();
        }
        assert!(
            Instant::now() < deadline,
            "querygate did not exit within 60 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs `querygate run SCENARIO --backend local EXTRA… --out <tmp>` to its end; returns the
/// output, the process id, the results path and the directory that holds it.
fn run_local_to_end(
    scenario: &str,
    extra: &[&str],
) -> (
    std::process::Output,
    u32,
    std::path::PathBuf,
    tempfile::TempDir,
) {
    let dir = tmpdir();
    let out = dir.path().join("r.json");
    let child = querygate()
        .args([
            "run",
            scenario,
            "--backend",
            "local",
            "--out",
            out.to_str().unwrap(),
        ])
        .args(extra)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    (child.wait_with_output().unwrap(), pid, out, dir)
}

fn assert_clean(pid: u32) {
    assert!(
        leftover_clusters(pid).is_empty(),
        "cluster directories left: {:?}",
        leftover_clusters(pid)
    );
    assert!(
        leftover_postgres(pid).is_empty(),
        "server processes left: {:?}",
        leftover_postgres(pid)
    );
}

fn interrupted_run_cleans_up_and_keeps_results(signal: Signal, code: i32) {
    let dir = tmpdir();
    let out = dir.path().join("r.json");
    let (mut child, reader) = start_measuring(&[
        "run",
        "tests/data/scenarios/ok/slow.toml",
        "--backend",
        "local",
        "--out",
        out.to_str().unwrap(),
    ]);
    let pid = child.id();
    kill(Pid::from_raw(pid as i32), signal).unwrap();
    assert_eq!(wait(&mut child), Some(code));
    let err = reader.join().unwrap();
    assert!(
        err.contains(&format!("interrupted by {signal:?}"))
            || err.contains(&format!("interrupted by {}", signal.as_str())),
        "{err}"
    );
    assert_clean(pid);
    // Nothing lost: what was measured is in the results file, marked incomplete.
    let r = read_json(&out);
    assert_eq!(r["status"], "incomplete");
    assert!(r["error"].as_str().unwrap().contains(signal.as_str()));
    let s = &r["scenarios"][0];
    let done = s["run"]["rounds_completed"].as_u64().unwrap();
    assert!((1..1000).contains(&done), "rounds_completed {done}");
    let counts: u64 = s["operations"][0]["before"]["round_count"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_u64().unwrap())
        .sum();
    assert_eq!(
        s["operations"][0]["before"]["latency"]["count"]
            .as_u64()
            .unwrap(),
        counts
    );
}

#[test]
fn sigint_cleans_up_and_keeps_partial_results() {
    let _serial = serial();
    interrupted_run_cleans_up_and_keeps_results(Signal::SIGINT, 130);
}

#[test]
fn sigterm_cleans_up_and_keeps_partial_results() {
    let _serial = serial();
    interrupted_run_cleans_up_and_keeps_results(Signal::SIGTERM, 143);
}

#[test]
fn statement_timeout_names_operation_and_statement() {
    let _serial = serial();
    let (o, pid, out, _dir) = run_local_to_end("tests/data/scenarios/ok/hang.toml", &[]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("operation `sleepy`")
            && e.contains("SELECT pg_sleep($1)")
            && e.contains("statement_timeout_ms = 300"),
        "{e}"
    );
    assert_clean(pid);
    assert_eq!(read_json(&out)["status"], "incomplete");
}

#[test]
fn run_timeout_stops_with_exit_3() {
    let _serial = serial();
    let (o, pid, out, _dir) =
        run_local_to_end("tests/data/scenarios/ok/slow.toml", &["--timeout", "4"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("time limit of 4 s"), "{}", stderr(&o));
    assert_clean(pid);
    assert_eq!(read_json(&out)["status"], "incomplete");
}

#[test]
fn sql_error_mid_run_cleans_up() {
    let _serial = serial();
    let (o, pid, out, _dir) = run_local_to_end("tests/data/scenarios/ok/fails_midrun.toml", &[]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("division by zero") && stderr(&o).contains("operation `divides`"),
        "{}",
        stderr(&o)
    );
    assert_clean(pid);
    assert_eq!(read_json(&out)["status"], "incomplete");
}

#[test]
fn sigkill_leftovers_are_removed_by_the_next_run() {
    let _serial = serial();
    let dir = tmpdir();
    let (mut child, _reader) = start_measuring(&[
        "run",
        "tests/data/scenarios/ok/slow.toml",
        "--backend",
        "local",
        "--out",
        dir.path().join("r.json").to_str().unwrap(),
    ]);
    let pid = child.id();
    kill(Pid::from_raw(pid as i32), Signal::SIGKILL).unwrap();
    child.wait().unwrap();
    assert_eq!(
        leftover_clusters(pid).len(),
        1,
        "SIGKILL leaves the cluster behind"
    );
    let o = run(&[
        "run",
        "tests/data/scenarios/ok/slow.toml",
        "--backend",
        "local",
        "--rounds",
        "2",
        "--out",
        dir.path().join("r2.json").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("left by querygate process {pid}")),
        "{}",
        stderr(&o)
    );
    assert_clean(pid);
}

/// On `--backend url`: scratch databases only, the URL's database untouched, no password anywhere,
/// and a role without CREATEDB refused with an explanation.
#[tokio::test(flavor = "current_thread")]
// The guard serialises whole tests (each its own runtime); nothing else awaits this lock.
#[allow(clippy::await_holding_lock)]
async fn url_backend_touches_only_its_own_databases() {
    let _serial = serial();
    use querygate::provision::{local, Server};
    use sqlx::{ConnectOptions, Connection, Executor};
    let server = local::LocalServer::start(
        local::find_bindir(None).unwrap(),
        querygate::provision::pinned_settings(),
        "test".into(),
    )
    .await
    .unwrap();
    let opts = server.admin_options();
    let port = opts.get_port();
    let mut c = opts.connect().await.unwrap();
    c.execute("CREATE TABLE precious (id int PRIMARY KEY, v text); INSERT INTO precious SELECT g, md5(g::text) FROM generate_series(1, 1000) g; CREATE ROLE nocreate LOGIN")
        .await
        .unwrap();
    let snapshot = "SELECT (SELECT md5(string_agg(id || v, ',' ORDER BY id)) FROM precious) || (SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database) || (SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class WHERE relnamespace = 'public'::regnamespace)";
    let before: String = sqlx::query_scalar(snapshot)
        .fetch_one(&mut c)
        .await
        .unwrap();

    let dir = tmpdir();
    let out = dir.path().join("r.json");
    let url = format!("postgres://postgres:hunter2@127.0.0.1:{port}/postgres");
    let o = querygate()
        .args([
            "run",
            "tests/data/scenarios/ok/tiny.toml",
            "--backend",
            "url",
            "--rounds",
            "3",
            "--iterations",
            "3",
            "--out",
            out.to_str().unwrap(),
        ])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(
        matches!(o.status.code(), Some(0) | Some(1)),
        "{}",
        stderr(&o)
    );
    let after: String = sqlx::query_scalar(snapshot)
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert_eq!(
        before, after,
        "the URL's database and the database list are unchanged"
    );
    let leftovers: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_database WHERE datname LIKE 'qg\\_%'")
            .fetch_one(&mut c)
            .await
            .unwrap();
    assert_eq!(leftovers, 0);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        !text.contains("hunter2") && !stderr(&o).contains("hunter2"),
        "password leaked"
    );
    assert!(
        text.contains("postgres://postgres@127.0.0.1"),
        "the address is recorded, without the password"
    );

    let url = format!("postgres://nocreate:s3cret@127.0.0.1:{port}/postgres");
    let o = querygate()
        .args([
            "run",
            "tests/data/scenarios/ok/tiny.toml",
            "--backend",
            "url",
            "--database-url",
            &url,
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
    assert!(
        stderr(&o).contains("cannot create databases") && stderr(&o).contains("CREATEDB"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("s3cret"));
    c.close().await.unwrap();
    Box::new(server).shutdown().await.unwrap();
}

/// No output holds the password: an unparsable URL (`/` and `?` in the password) is refused
/// with exit 2, redacted; a libpq `key=value` string works, and neither stdout, stderr, the
/// results file nor the Markdown/HTML/JUnit files hold the password.
#[tokio::test(flavor = "current_thread")]
#[allow(clippy::await_holding_lock)]
async fn passwords_never_appear_in_any_output() {
    let _serial = serial();
    use querygate::provision::{local, Server};
    let server = local::LocalServer::start(
        local::find_bindir(None).unwrap(),
        querygate::provision::pinned_settings(),
        "test".into(),
    )
    .await
    .unwrap();
    let port = server.admin_options().get_port();
    let secret = "pa/ss?w0rd";
    let bad = format!("postgres://postgres:{secret}@127.0.0.1:{port}/postgres");
    let o = run(&[
        "run",
        "tests/data/scenarios/ok/tiny.toml",
        "--backend",
        "url",
        "--database-url",
        &bad,
    ]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains("percent-encoded"), "{e}");
    for piece in ["pa/ss", "ss?w0rd", "w0rd"] {
        assert!(
            !e.contains(piece) && !stdout(&o).contains(piece),
            "{piece} leaked:\n{e}"
        );
    }

    let dir = tmpdir();
    let d = dir.path();
    let kv =
        format!("host=127.0.0.1 port={port} user=postgres password='{secret}' dbname=postgres");
    let files = ["r.json", "r.md", "r.html", "r.xml"].map(|f| d.join(f));
    let paths: Vec<&str> = files.iter().map(|p| p.to_str().unwrap()).collect();
    let o = querygate()
        .args([
            "run",
            "tests/data/scenarios/ok/tiny.toml",
            "--backend",
            "url",
            "--rounds",
            "2",
            "--iterations",
            "2",
            "--format",
            "json",
            "--out",
            paths[0],
            "--markdown",
            paths[1],
            "--html",
            paths[2],
            "--junit",
            paths[3],
        ])
        .env("DATABASE_URL", &kv)
        .output()
        .unwrap();
    assert!(
        matches!(o.status.code(), Some(0) | Some(1)),
        "{}",
        stderr(&o)
    );
    let mut outputs = vec![stdout(&o), stderr(&o)];
    outputs.extend(files.iter().map(|f| std::fs::read_to_string(f).unwrap()));
    for (i, text) in outputs.iter().enumerate() {
        assert!(!text.contains("w0rd"), "output {i} holds the password");
    }
    assert!(
        outputs[2].contains("postgres://postgres@127.0.0.1"),
        "the address is recorded"
    );
    Box::new(server).shutdown().await.unwrap();
}

/// The sweep of scratch databases drops only what certainly belongs to a dead querygate
/// process of this machine and pid namespace, and never one with a session connected.
#[tokio::test(flavor = "current_thread")]
#[allow(clippy::await_holding_lock)]
async fn database_sweep_never_drops_what_may_be_alive() {
    let _serial = serial();
    use querygate::provision::{local, Server};
    use sqlx::{ConnectOptions, Connection, Executor};
    let server = local::LocalServer::start(
        local::find_bindir(None).unwrap(),
        querygate::provision::pinned_settings(),
        "test".into(),
    )
    .await
    .unwrap();
    let opts = server.admin_options();
    let mut c = opts.connect().await.unwrap();
    let dead = querygate::seed::owner_label(4_194_301);
    let other_namespace = dead
        .split_whitespace()
        .map(|w| {
            if w.starts_with("pidns=") {
                "pidns=pid4026599999"
            } else {
                w
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    let cases = [
        ("qg_1_dead", dead.clone()),
        ("qg_2_other_container", other_namespace),
        ("qg_3_busy", dead.clone()),
        ("qg_4_alive", querygate::seed::owner_label(1)),
        ("qg_5_old_label", "querygate pid=4194301 host=x".to_string()),
    ];
    for (db, comment) in &cases {
        c.execute(format!("CREATE DATABASE {db}").as_str())
            .await
            .unwrap();
        c.execute(format!("COMMENT ON DATABASE {db} IS '{comment}'").as_str())
            .await
            .unwrap();
    }
    let busy = opts.clone().database("qg_3_busy").connect().await.unwrap();
    let lines = querygate::seed::sweep_databases(&opts).await.unwrap();
    let left: Vec<String> = sqlx::query_scalar(
        "SELECT datname::text FROM pg_database WHERE datname LIKE 'qg\\_%' ORDER BY 1",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    assert_eq!(
        left,
        [
            "qg_2_other_container",
            "qg_3_busy",
            "qg_4_alive",
            "qg_5_old_label"
        ],
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("dropped scratch database qg_1_dead")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("left scratch database qg_3_busy alone")),
        "{lines:?}"
    );
    busy.close().await.unwrap();
    c.close().await.unwrap();
    Box::new(server).shutdown().await.unwrap();
}

/// `--backend url` with a role that may only create databases (no superuser): the settings it
/// may set are applied, `track_io_timing` (superuser-only) is not — the run completes, says so
/// on stderr, and records which setting was not applied and why in the environment and the
/// warnings. Once the role is granted SET on it, it is applied.
#[tokio::test(flavor = "current_thread")]
#[allow(clippy::await_holding_lock)]
async fn url_backend_with_a_createdb_role_applies_what_it_may_and_says_what_not() {
    let _serial = serial();
    use querygate::provision::{local, Server};
    use sqlx::{ConnectOptions, Connection, Executor};
    let server = local::LocalServer::start(
        local::find_bindir(None).unwrap(),
        querygate::provision::pinned_settings(),
        "test".into(),
    )
    .await
    .unwrap();
    let opts = server.admin_options();
    let port = opts.get_port();
    let mut c = opts.connect().await.unwrap();
    c.execute("CREATE ROLE measurer LOGIN CREATEDB PASSWORD 'm3asure'")
        .await
        .unwrap();
    let url = format!("postgres://measurer:m3asure@127.0.0.1:{port}/postgres");
    let dir = tmpdir();
    let run_as_measurer = |out: &std::path::Path| {
        querygate()
            .args([
                "run",
                "tests/data/scenarios/ok/tiny.toml",
                "--backend",
                "url",
                "--rounds",
                "2",
                "--iterations",
                "2",
                "--out",
                out.to_str().unwrap(),
            ])
            .env("DATABASE_URL", &url)
            .output()
            .unwrap()
    };
    let out = dir.path().join("r.json");
    let o = run_as_measurer(&out);
    let e = stderr(&o);
    assert!(matches!(o.status.code(), Some(0) | Some(1)), "{e}");
    assert!(
        e.contains("warning: setting track_io_timing = on not applied"),
        "{e}"
    );
    let r = read_json(&out);
    assert_eq!(r["status"], "complete");
    let not_applied = r["environment"]["settings_not_applied"].as_array().unwrap();
    let names: Vec<&str> = not_applied
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["track_io_timing"],
        "jit, parallel workers and synchronous_commit are the role's to set"
    );
    let reason = not_applied[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("role `measurer` is not a superuser")
            && reason.contains("GRANT SET ON PARAMETER track_io_timing TO measurer"),
        "{reason}"
    );
    assert!(
        r["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["id"] == "setting-not-applied"),
        "{}",
        r["warnings"]
    );
    assert!(!e.contains("m3asure") && !std::fs::read_to_string(&out).unwrap().contains("m3asure"));

    // Granted SET on the parameter (PostgreSQL 15+), the role applies it.
    c.execute("GRANT SET ON PARAMETER track_io_timing TO measurer")
        .await
        .unwrap();
    let out = dir.path().join("granted.json");
    let o = run_as_measurer(&out);
    assert!(
        matches!(o.status.code(), Some(0) | Some(1)),
        "{}",
        stderr(&o)
    );
    let r = read_json(&out);
    assert!(
        r["environment"].get("settings_not_applied").is_none(),
        "{}",
        r["environment"]
    );
    let leftovers: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_database WHERE datname LIKE 'qg\\_%'")
            .fetch_one(&mut c)
            .await
            .unwrap();
    assert_eq!(leftovers, 0);
    c.close().await.unwrap();
    Box::new(server).shutdown().await.unwrap();
}
