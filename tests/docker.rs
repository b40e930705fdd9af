//! The docker backend end to end: the real binary, a real Docker engine, the image
//! `postgres:17` (built by scripts/build-pg-image.sh where no registry is reachable).
//!
//! These tests never skip: without a Docker engine they fail and say so. They run one at a
//! time: each starts a container, the machines are small, and the SIGKILL test must not have
//! its leftover swept by a parallel test before it looks.
//!
//! Every exit path is checked for leftovers by the label querygate puts on its containers
//! (`querygate.pid=<pid of the querygate process>`).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use common::*;

static SERIAL: Mutex<()> = Mutex::new(());

/// Takes the one-test-at-a-time lock and checks that Docker and the image are there.
fn docker_test() -> MutexGuard<'static, ()> {
    let guard = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    require_docker(DOCKER_IMAGE);
    guard
}

/// The binary with the environment that would change its backend or image removed.
fn qg() -> Command {
    let mut c = querygate();
    for var in [
        "QUERYGATE_BACKEND",
        "QUERYGATE_IMAGE",
        "QUERYGATE_TEST_PANIC_AFTER_START",
    ] {
        c.env_remove(var);
    }
    c
}

/// A small but complete run of the focus scenario.
const FOCUS_SMALL: &[&str] = &[
    "run",
    "scenarios/focus_sessions.toml",
    "--scale",
    "20000",
    "--rounds",
    "6",
    "--iterations",
    "5",
    "--warmup",
    "2",
];

/// Runs querygate to completion; returns its pid (for the label) and output.
fn run_pid(mut cmd: Command) -> (u32, Output) {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("querygate starts");
    let pid = child.id();
    (pid, wait_output(child, Duration::from_secs(300)))
}

/// Runs querygate with `args` to completion: its pid, output and stderr.
fn run_args(args: &[&str]) -> (u32, Output, String) {
    run_cmd(args, |_| {})
}

/// [`run_args`] with the command adjusted first (environment variables).
fn run_cmd(args: &[&str], adjust: impl FnOnce(&mut Command)) -> (u32, Output, String) {
    let mut cmd = qg();
    cmd.args(args);
    adjust(&mut cmd);
    let (pid, o) = run_pid(cmd);
    let e = stderr(&o);
    (pid, o, e)
}

/// `run <tiny scenario>` followed by `rest`.
fn tiny(rest: &[&str]) -> Vec<String> {
    ["run", "tests/data/scenarios/ok/tiny.toml"]
        .iter()
        .chain(rest)
        .map(|a| a.to_string())
        .collect()
}

/// The strings of `args` as the `&str` slice `run_args` takes.
fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// `run <focus scenario> --backend docker --scale 20000 --rounds 500 --out <out>`: a run long
/// enough to be interrupted during its rounds, started with stderr read line by line.
fn spawn_long_focus_run(out: &str) -> Running {
    let mut cmd = qg();
    cmd.args([
        "run",
        "scenarios/focus_sessions.toml",
        "--backend",
        "docker",
        "--scale",
        "20000",
        "--rounds",
        "500",
        "--out",
        out,
    ]);
    Running::spawn(cmd)
}

/// `wait_with_output` with a deadline: a hung run kills the child and fails the test.
fn wait_output(child: Child, limit: Duration) -> Output {
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(o) => o.expect("querygate output"),
        Err(_) => {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
            panic!("querygate {pid} did not finish within {limit:?}");
        }
    }
}

/// A running querygate whose stderr is read line by line.
struct Running {
    child: Option<Child>,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    fn spawn(mut cmd: Command) -> Running {
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("querygate starts");
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running {
            child: Some(child),
            lines,
            seen: vec![],
        }
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// Waits for a stderr line containing `needle`.
    fn wait_for(&mut self, needle: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = line.contains(needle);
                    self.seen.push(line);
                    if found {
                        return;
                    }
                }
                Err(_) => break,
            }
        }
        panic!(
            "no stderr line with {needle:?} within {limit:?}; stderr so far:\n{}",
            self.seen.join("\n")
        );
    }

    fn signal(&self, sig: Signal) {
        kill(Pid::from_raw(self.pid() as i32), sig).expect("signal delivered");
    }

    /// Waits for the exit (at most `limit`); returns the code and the whole stderr.
    fn wait(&mut self, limit: Duration) -> (Option<i32>, String) {
        let mut child = self.child.take().unwrap();
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("querygate {} did not exit within {limit:?}", child.id());
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        // The reader thread ends at EOF: collect the rest.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line);
        }
        (status.code(), self.seen.join("\n"))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The focus scenario end to end on PostgreSQL 17 in Docker: the report says where the numbers
/// come from, the pinned settings reached the server, and the container is gone afterwards.
#[test]
fn focus_scenario_on_docker() {
    let _serial = docker_test();
    let dir = tmpdir();
    let out = dir.path().join("focus-docker.json");
    let args = [
        FOCUS_SMALL,
        &["--backend", "docker", "--image", DOCKER_IMAGE],
    ]
    .concat();
    let (pid, o, e) = run_args(&[&args[..], &["--out", out.to_str().unwrap()]].concat());
    assert!(
        matches!(o.status.code(), Some(0) | Some(1)),
        "exit {:?}\n{e}",
        o.status.code(),
    );
    assert_no_container_left(pid, "after a normal exit");

    let r = read_json(&out);
    assert_eq!(r["status"], "complete");
    let env = &r["environment"];
    assert_eq!(env["backend"], "docker");
    assert_eq!(env["image"], DOCKER_IMAGE);
    let id = env["image_id"].as_str().unwrap();
    assert!(id.starts_with("sha256:"), "{id}");
    assert_eq!(id, image_id(DOCKER_IMAGE), "the id of the image that ran");
    let version = env["server_version"].as_str().unwrap();
    assert!(version.contains("PostgreSQL 17"), "{version}");
    assert_eq!(env["server_version_num"].as_i64().unwrap() / 10000, 17);
    let reason = env["backend_reason"].as_str().unwrap();
    assert!(
        reason.starts_with("--backend docker") && reason.contains(DOCKER_IMAGE),
        "{reason}"
    );
    let address = env["server_address"].as_str().unwrap();
    assert!(address.contains(":***@"), "password redacted: {address}");
    // The pinned settings were passed as -c arguments (these differ from PostgreSQL's defaults).
    let settings = &env["settings"];
    for (name, value) in [
        ("jit", "off"),
        ("max_parallel_workers_per_gather", "0"),
        ("autovacuum", "off"),
        ("fsync", "off"),
        ("full_page_writes", "off"),
        ("synchronous_commit", "off"),
        ("track_io_timing", "on"),
    ] {
        assert_eq!(settings[name], value, "setting {name}");
    }

    let s = &r["scenarios"][0];
    assert_eq!(s["scale"], 20000);
    assert_eq!(s["run"]["rounds_completed"], 6);
    let ops = s["operations"].as_array().unwrap();
    assert_eq!(ops.len(), 5);
    for op in ops {
        for side in ["before", "after"] {
            let sd = &op[side];
            assert!(
                sd["latency"]["count"].as_u64().unwrap() > 0,
                "{}",
                op["name"]
            );
            // The container's server processes are found in its pid namespace: their CPU time
            // is read for every round.
            let cpu = sd["server"]["cpu_round_us"].as_array().unwrap();
            assert_eq!(cpu.len(), 6, "{} {side}", op["name"]);
            assert!(cpu.iter().all(|v| v.as_f64().unwrap() > 0.0), "{cpu:?}");
            for st in sd["explain"].as_array().unwrap() {
                assert!(
                    st["plan"][0]["Plan"]["Node Type"].is_string(),
                    "plan kept for {} {side}",
                    op["name"]
                );
            }
        }
    }
    let get = &ops[0];
    assert_eq!(get["name"], "get_active_session");
    assert!(get["after"]["explain"][0]["indexes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i == "idx_focus_sessions_user_active"));
    // How querygate reached the server is said: the container's own address where it is
    // reachable (no Docker proxy in the measured round trips), else the published port.
    assert!(
        e.contains("(the container's own address)")
            || e.contains("(the published port, through Docker's proxy)"),
        "{e}"
    );
}

/// Load mode on docker: the migration under live load holds a SHARE lock (tests/load.rs has
/// the local-backend twin); the report names the blocked writes; SIGINT during the migration
/// leaves no container.
#[test]
fn migration_under_load_on_docker() {
    let _serial = docker_test();
    let dir = tmpdir();
    let out = dir.path().join("load-docker.json");
    let (pid, o, e) = run_args(&[
        "run",
        "tests/data/scenarios/load/blocking.toml",
        "--backend",
        "docker",
        "--image",
        DOCKER_IMAGE,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert_no_container_left(pid, "after a load run");
    let r = read_json(&out);
    assert_eq!(r["environment"]["backend"], "docker");
    let m = &r["scenarios"][0]["load"]["migration"];
    assert!(
        m["blocked"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["relation"] == "items" && b["kind"] == "writes"),
        "{m}"
    );

    let out = dir.path().join("load-docker-sigint.json");
    let mut cmd = qg();
    cmd.args([
        "run",
        "tests/data/scenarios/load/blocking.toml",
        "--backend",
        "docker",
        "--image",
        DOCKER_IMAGE,
        "--out",
        out.to_str().unwrap(),
    ]);
    let mut q = Running::spawn(cmd);
    let pid = q.pid();
    q.wait_for("migration starts under load", Duration::from_secs(180));
    std::thread::sleep(Duration::from_millis(500));
    q.signal(Signal::SIGINT);
    let (exit, e) = q.wait(Duration::from_secs(60));
    assert_eq!(exit, Some(130), "{e}");
    assert_no_container_left(pid, "after SIGINT during the migration under load");
    assert_eq!(read_json(&out)["status"], "incomplete");
}

/// An SQL error part-way through the measurement: exit 3, a partial report, no container.
#[test]
fn sql_error_mid_run_removes_the_container() {
    let _serial = docker_test();
    let dir = tmpdir();
    let out = dir.path().join("err.json");
    let (pid, o, e) = run_args(&[
        "run",
        "tests/data/scenarios/run_err/sql_error_mid_run.toml",
        "--backend",
        "docker",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(3), "{e}");
    assert!(e.contains("division by zero"), "{e}");
    assert!(
        e.contains("rounds"),
        "the error came during the rounds: {e}"
    );
    assert_no_container_left(pid, "after an SQL error");
    let r = read_json(&out);
    assert_eq!(r["status"], "incomplete");
    assert_eq!(r["environment"]["backend"], "docker");
}

/// SIGINT or SIGTERM while the rounds run: querygate stops, removes the container, exits
/// 128 + signal.
fn signal_mid_run(sig: Signal, code: i32) {
    let _serial = docker_test();
    let dir = tmpdir();
    let out = dir.path().join("sig.json");
    let mut q = spawn_long_focus_run(out.to_str().unwrap());
    let pid = q.pid();
    q.wait_for("round", Duration::from_secs(120));
    assert_eq!(containers_of(pid).len(), 1, "the run's container exists");
    q.signal(sig);
    let (exit, e) = q.wait(Duration::from_secs(60));
    assert_eq!(exit, Some(code), "{e}");
    assert!(e.contains(&format!("interrupted by {sig:?}")), "{e}");
    assert_no_container_left(pid, &format!("after {sig:?}"));
    assert_eq!(read_json(&out)["status"], "incomplete");
}

#[test]
fn sigint_removes_the_container() {
    signal_mid_run(Signal::SIGINT, 130);
}

#[test]
fn sigterm_removes_the_container() {
    signal_mid_run(Signal::SIGTERM, 143);
}

/// A signal while the container is still starting: the start is abandoned and what it created
/// is removed.
#[test]
fn signal_during_container_start_removes_it() {
    let _serial = docker_test();
    for delay_ms in [300, 1500] {
        let mut cmd = qg();
        cmd.args(tiny(&["--backend", "docker", "--out", "/dev/null"]));
        let mut q = Running::spawn(cmd);
        let pid = q.pid();
        q.wait_for("starting a PostgreSQL container", Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(delay_ms));
        q.signal(Signal::SIGTERM);
        let (exit, e) = q.wait(Duration::from_secs(60));
        // 143, or a normal end if the whole run beat the signal.
        assert!(matches!(exit, Some(143) | Some(0) | Some(1)), "{e}");
        assert_no_container_left(pid, &format!("after SIGTERM {delay_ms} ms into the start"));
    }
}

/// A panic (unwinding) with the container running: `Drop` removes it, on querygate's
/// current-thread runtime.
#[test]
fn panic_removes_the_container() {
    let _serial = docker_test();
    let args = tiny(&["--backend", "docker", "--out", "/dev/null"]);
    let (pid, o, e) = run_cmd(&strs(&args), |cmd| {
        cmd.env("QUERYGATE_TEST_PANIC_AFTER_START", "1")
            .env("RUST_BACKTRACE", "0");
    });
    assert_eq!(o.status.code(), Some(101), "a panic: {e}");
    assert!(e.contains("panicking with container"), "{e}");
    assert_no_container_left(pid, "after a panic");
}

/// SIGKILL leaves the container (nothing can run); the next docker run removes it and says so.
#[test]
fn sigkill_leftover_is_swept_by_the_next_run() {
    let _serial = docker_test();
    let mut q = spawn_long_focus_run("/dev/null");
    let killed = q.pid();
    q.wait_for("round", Duration::from_secs(120));
    q.signal(Signal::SIGKILL);
    let (exit, _) = q.wait(Duration::from_secs(30));
    assert_eq!(exit, None, "killed by a signal");
    let leftover = containers_of(killed);
    assert_eq!(leftover.len(), 1, "SIGKILL leaves the container");

    let (pid, o, e) = run_args(&strs(&tiny(&["--backend", "docker", "--out", "/dev/null"])));
    assert!(matches!(o.status.code(), Some(0) | Some(1)), "{e}");
    assert_no_container_left(killed, "after the next run's sweep");
    assert_no_container_left(pid, "after the sweeping run");
    assert!(
        e.contains(&format!(
            "removed container {} (postgres:17) left by querygate process {killed}",
            &leftover[0][..12]
        )),
        "the sweep is reported: {e}"
    );
}

/// One scenario on the local backend (this machine's PostgreSQL, 15 here) and on docker
/// (PostgreSQL 17): each report says which server produced its numbers.
#[test]
fn same_scenario_on_local_and_docker_records_which_server() {
    let _serial = docker_test();
    let dir = tmpdir();
    let mut reports = Vec::new();
    for backend in ["local", "docker"] {
        let out = dir.path().join(format!("{backend}.json"));
        let args = [
            FOCUS_SMALL,
            &["--backend", backend, "--out", out.to_str().unwrap()],
        ]
        .concat();
        let (pid, o, e) = run_args(&args);
        assert!(
            matches!(o.status.code(), Some(0) | Some(1)),
            "{backend}: exit {:?}\n{e}",
            o.status.code(),
        );
        assert_no_container_left(pid, backend);
        reports.push(read_json(&out));
    }
    let (local, docker) = (&reports[0]["environment"], &reports[1]["environment"]);
    assert_eq!(local["backend"], "local");
    assert_eq!(docker["backend"], "docker");
    assert!(local["image"].is_null() && local["image_id"].is_null());
    assert!(docker["bindir"].is_null());
    assert_eq!(docker["image"], DOCKER_IMAGE);

    // The local server's version is that of the binaries the report names.
    let bindir = local["bindir"].as_str().unwrap();
    let pg = Command::new(format!("{bindir}/postgres"))
        .arg("--version")
        .output()
        .unwrap();
    let local_major = String::from_utf8_lossy(&pg.stdout)
        .split_whitespace()
        .nth(2)
        .and_then(|v| v.split('.').next()?.parse::<i64>().ok())
        .unwrap();
    assert_eq!(
        local["server_version_num"].as_i64().unwrap() / 10000,
        local_major
    );
    assert_eq!(docker["server_version_num"].as_i64().unwrap() / 10000, 17);
    assert_ne!(local["server_version"], docker["server_version"]);

    // Both reports carry measured numbers, each next to the server that produced them.
    for r in &reports {
        let env = &r["environment"];
        eprintln!(
            "{:>6} {}:",
            env["backend"].as_str().unwrap(),
            env["server_version"].as_str().unwrap()
        );
        for op in r["scenarios"][0]["operations"].as_array().unwrap() {
            let p50 = |side: &str| op[side]["latency"]["p50_us"].as_f64().unwrap_or(f64::NAN);
            eprintln!(
                "   {:<26} before p50 {:>8.0} µs  after p50 {:>8.0} µs  speedup {:.2}",
                op["name"].as_str().unwrap(),
                p50("before"),
                p50("after"),
                op["speedup"]["estimate"].as_f64().unwrap()
            );
            assert!(op["before"]["latency"]["count"].as_u64().unwrap() > 0);
            assert!(op["speedup"]["estimate"].as_f64().unwrap() > 0.0);
        }
    }
}

/// `auto` picks docker when the engine answers and the image is there, and says why.
#[test]
fn auto_chooses_docker_and_says_why() {
    let _serial = docker_test();
    let dir = tmpdir();
    let out = dir.path().join("auto.json");
    let (pid, o, e) = run_args(&strs(&tiny(&["--out", out.to_str().unwrap()])));
    assert!(matches!(o.status.code(), Some(0) | Some(1)), "{e}");
    assert_no_container_left(pid, "after an auto run");
    let env = &read_json(&out)["environment"];
    assert_eq!(env["backend"], "docker");
    let reason = env["backend_reason"].as_str().unwrap();
    assert!(
        reason.starts_with("auto: docker, because Docker")
            && reason.contains("answers and image postgres:17 is present"),
        "{reason}"
    );
    assert!(e.contains(&format!("backend {reason}")), "printed too: {e}");
}

/// `auto` falls back to local when the image is missing (and cannot be pulled) or no engine
/// answers, and says which and how to fix it; `--backend docker` fails with the same reason.
#[test]
fn auto_falls_back_to_local_and_docker_explains_why_not() {
    let _serial = docker_test();
    let absent = "querygate-test-absent-image:0";
    let no_engine = "unix:///nonexistent/querygate-test-docker.sock";
    let dir = tmpdir();
    for (i, (image, docker_host, why)) in [
        (
            absent,
            None,
            "scripts/build-pg-image.sh querygate-test-absent-image:0",
        ),
        (DOCKER_IMAGE, Some(no_engine), "no Docker engine answers"),
    ]
    .into_iter()
    .enumerate()
    {
        let out = dir.path().join(format!("fallback{i}.json"));
        let with_host = |cmd: &mut Command| {
            if let Some(h) = docker_host {
                cmd.env("DOCKER_HOST", h);
            }
        };
        let args = tiny(&["--image", image, "--out", out.to_str().unwrap()]);
        let (_, o, e) = run_cmd(&strs(&args), with_host);
        assert!(matches!(o.status.code(), Some(0) | Some(1)), "{e}");
        let env = &read_json(&out)["environment"];
        assert_eq!(env["backend"], "local");
        let reason = env["backend_reason"].as_str().unwrap();
        assert!(
            reason.starts_with("auto: local, because docker is not usable") && reason.contains(why),
            "{reason}"
        );

        let args = tiny(&[
            "--backend",
            "docker",
            "--image",
            image,
            "--out",
            "/dev/null",
        ]);
        let (_, o, e) = run_cmd(&strs(&args), with_host);
        assert_eq!(o.status.code(), Some(3), "{e}");
        assert!(e.contains("--backend docker") && e.contains(why), "{e}");
    }
}
