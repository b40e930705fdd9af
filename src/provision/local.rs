//! The `local` backend: an ephemeral cluster from PostgreSQL server binaries on this machine.
//!
//! `initdb` into a temporary directory, a free loopback port, the server as a child process
//! (as an unprivileged user when querygate runs as root: initdb and postgres refuse root), and
//! everything stopped and deleted at shutdown, on drop, or by the next run's sweep when the
//! process was killed outright. Directories are named `querygate-<pid>-…` for that sweep.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use nix::sys::signal::{kill, Signal};
use nix::unistd::{Pid, Uid, User};
use sqlx::postgres::PgConnectOptions;

use super::{BackendInfo, BackendKind, BoxFuture, Server};

const DIR_PREFIX: &str = "querygate-";

/// Finds a directory holding `initdb`, `pg_ctl` and `postgres`: an explicit one, `pg_config
/// --bindir`, `PATH`, then the newest `/usr/lib/postgresql/*/bin`.
pub fn find_bindir(explicit: Option<&Path>) -> Result<PathBuf> {
    let usable = |d: &Path| d.join("initdb").is_file() && d.join("postgres").is_file();
    if let Some(d) = explicit {
        if usable(d) {
            return Ok(d.to_path_buf());
        }
        bail!(
            "--pg-bindir {} has no initdb and postgres binaries",
            d.display()
        );
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let d = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && usable(&d) {
            return Ok(d);
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        if let Some(d) = std::env::split_paths(&path).find(|d| usable(d)) {
            return Ok(d);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, d): &(u32, PathBuf)| usable(d))
        .collect();
    versions.sort();
    versions.pop().map(|(_, d)| d).context(
        "no PostgreSQL server binaries found (looked at pg_config --bindir, PATH and /usr/lib/postgresql/*/bin); \
         install them (Debian: apt-get install postgresql) or pass --pg-bindir",
    )
}

/// The user the server runs as: ourselves, or an unprivileged account when we are root.
fn server_user() -> Result<Option<User>> {
    if !Uid::effective().is_root() {
        return Ok(None);
    }
    for name in ["postgres", "nobody"] {
        if let Some(u) = User::from_name(name)? {
            return Ok(Some(u));
        }
    }
    bail!("running as root, and neither a `postgres` nor a `nobody` user exists to run the server as (PostgreSQL refuses to run as root)")
}

/// A running ephemeral cluster.
pub struct LocalServer {
    dir: Option<tempfile::TempDir>,
    child: Option<Child>,
    port: u16,
    socket_dir: PathBuf,
    info: BackendInfo,
    pinned_cpu: Option<usize>,
}

impl LocalServer {
    /// initdb + start. `settings` become `-c name=value` flags.
    pub async fn start(
        bindir: PathBuf,
        settings: BTreeMap<String, String>,
        reason: String,
    ) -> Result<Self> {
        Self::start_pinned(bindir, settings, reason, None).await
    }

    /// As [`LocalServer::start`], with the server's processes pinned to `cpu`.
    pub async fn start_pinned(
        bindir: PathBuf,
        settings: BTreeMap<String, String>,
        reason: String,
        cpu: Option<usize>,
    ) -> Result<Self> {
        tokio::task::spawn_blocking(move || Self::start_blocking(bindir, settings, reason, cpu))
            .await?
    }

    fn start_blocking(
        bindir: PathBuf,
        settings: BTreeMap<String, String>,
        reason: String,
        cpu: Option<usize>,
    ) -> Result<Self> {
        let user = server_user()?;
        let dir = tempfile::Builder::new()
            .prefix(&format!("{DIR_PREFIX}{}-", std::process::id()))
            .tempdir()
            .context("cannot create a temporary directory for the cluster")?;
        let data = dir.path().join("data");
        if let Some(u) = &user {
            nix::unistd::chown(dir.path(), Some(u.uid), Some(u.gid))
                .context("cannot hand the cluster directory to the server user")?;
            fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700))?;
        }
        initdb(&bindir, &data, user.as_ref())?;

        let log_path = dir.path().join("server.log");
        let mut last_err = None;
        for _attempt in 0..3 {
            let port = free_port()?;
            let log = fs::File::create(&log_path)?;
            if let Some(u) = &user {
                nix::unistd::chown(&log_path, Some(u.uid), Some(u.gid))?;
            }
            let mut cmd = postgres_command(
                &bindir,
                &data,
                dir.path(),
                port,
                &settings,
                user.as_ref(),
                cpu,
            )?;
            cmd.stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log);
            let mut child = cmd
                .spawn()
                .with_context(|| format!("cannot start {}", bindir.join("postgres").display()))?;
            match wait_ready(&mut child, &log_path) {
                Ok(()) => {
                    let info = BackendInfo {
                        kind: BackendKind::Local,
                        reason,
                        image: None,
                        image_id: None,
                        bindir: Some(bindir.display().to_string()),
                        address: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
                    };
                    return Ok(LocalServer {
                        socket_dir: dir.path().to_path_buf(),
                        dir: Some(dir),
                        child: Some(child),
                        port,
                        info,
                        pinned_cpu: cpu,
                    });
                }
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    last_err = Some(e);
                }
            }
        }
        Err(last_err.expect("at least one attempt"))
    }

    fn stop_blocking(&mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            stop_child(&mut child);
        }
        if let Some(dir) = self.dir.take() {
            dir.close().context("cannot remove the cluster directory")?;
        }
        Ok(())
    }

    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }
}

/// SIGINT is PostgreSQL's "fast shutdown"; SIGKILL if it has not stopped in 10 s.
fn stop_child(child: &mut Child) {
    let pid = Pid::from_raw(child.id() as i32);
    let _ = kill(pid, Signal::SIGINT);
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")
        .context("cannot find a free port on 127.0.0.1")?;
    Ok(l.local_addr()?.port())
}

/// Ready when the server logs that it accepts connections (it accepts TCP earlier, during
/// recovery, and would answer "the database system is starting up").
fn wait_ready(child: &mut Child, log: &Path) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait()? {
            bail!(
                "the server exited during startup ({status}); its log:\n{}",
                tail(log)
            );
        }
        if fs::read_to_string(log)
            .is_ok_and(|s| s.contains("database system is ready to accept connections"))
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "the server did not accept connections within 60 s; its log:\n{}",
                tail(log)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn tail(log: &Path) -> String {
    let mut s = String::new();
    let _ = fs::File::open(log).and_then(|mut f| f.read_to_string(&mut s));
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

impl Server for LocalServer {
    fn admin_options(&self) -> PgConnectOptions {
        PgConnectOptions::new()
            .host("127.0.0.1")
            .port(self.port)
            .username("postgres")
            .database("postgres")
    }

    fn info(&self) -> &BackendInfo {
        &self.info
    }

    fn owns_server(&self) -> bool {
        true
    }

    fn pinned_cpu(&self) -> Option<usize> {
        self.pinned_cpu
    }

    fn process_namespace(&self) -> Option<u32> {
        // The server is querygate's child: same host, same pid namespace.
        Some(std::process::id())
    }

    fn shutdown(mut self: Box<Self>) -> BoxFuture<'static, Result<()>> {
        Box::pin(async move { tokio::task::spawn_blocking(move || self.stop_blocking()).await? })
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        let _ = self.stop_blocking();
    }
}

/// Removes clusters left by querygate processes that no longer exist (killed with SIGKILL).
/// Returns a line per removed cluster.
pub fn sweep_leftovers() -> Vec<String> {
    let mut removed = Vec::new();
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
        return removed;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(DIR_PREFIX) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        if pid == std::process::id() as i32 || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let dir = e.path();
        // Stop the orphaned server first: its pid is the first line of postmaster.pid.
        if let Ok(s) = fs::read_to_string(dir.join("data/postmaster.pid")) {
            if let Some(spid) = s.lines().next().and_then(|l| l.trim().parse::<i32>().ok()) {
                let p = Pid::from_raw(spid);
                if kill(p, Signal::SIGQUIT).is_ok() {
                    for _ in 0..200 {
                        if kill(p, None).is_err() {
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(25));
                    }
                    let _ = kill(p, Signal::SIGKILL);
                }
            }
        }
        if fs::remove_dir_all(&dir).is_ok() {
            removed.push(format!(
                "removed a cluster left by querygate process {pid} (killed?): {}",
                dir.display()
            ));
        }
    }
    removed
}

/// Runs the cluster's processes as `user` (when querygate runs as root).
fn as_user(cmd: &mut Command, user: Option<&User>) {
    if let Some(u) = user {
        cmd.uid(u.uid.as_raw()).gid(u.gid.as_raw());
    }
}

/// Creates the cluster in `data` (trust authentication, UTF8, no locale, no sync).
fn initdb(bindir: &Path, data: &Path, user: Option<&User>) -> Result<()> {
    let mut initdb = Command::new(bindir.join("initdb"));
    initdb.args(["-D"]).arg(data).args([
        "-U",
        "postgres",
        "--auth=trust",
        "--no-sync",
        "-E",
        "UTF8",
        "--no-locale",
    ]);
    initdb.stdin(Stdio::null());
    as_user(&mut initdb, user);
    let out = initdb
        .output()
        .with_context(|| format!("cannot run {}", bindir.join("initdb").display()))?;
    if !out.status.success() {
        bail!(
            "initdb failed: {}{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
    }
    Ok(())
}

/// The server command: loopback only, socket in `socket_dir`, the given settings, its own
/// process group, and pinned to `cpu` when asked.
fn postgres_command(
    bindir: &Path,
    data: &Path,
    socket_dir: &Path,
    port: u16,
    settings: &BTreeMap<String, String>,
    user: Option<&User>,
    cpu: Option<usize>,
) -> Result<Command> {
    let mut cmd = Command::new(bindir.join("postgres"));
    cmd.arg("-D")
        .arg(data)
        .arg("-p")
        .arg(port.to_string())
        .arg("-k")
        .arg(socket_dir);
    cmd.args(["-c", "listen_addresses=127.0.0.1"]);
    for (k, v) in settings {
        cmd.arg("-c").arg(format!("{k}={v}"));
    }
    as_user(&mut cmd, user);
    // Own process group: a Ctrl-C in the terminal reaches querygate, which then stops
    // the server in order, instead of the server dying under a running measurement.
    cmd.process_group(0);
    if let Some(cpu) = cpu {
        let mut set = nix::sched::CpuSet::new();
        set.set(cpu)?;
        // SAFETY: sched_setaffinity is async-signal-safe; nothing else runs in the child.
        unsafe {
            cmd.pre_exec(move || {
                nix::sched::sched_setaffinity(Pid::from_raw(0), &set).map_err(std::io::Error::from)
            });
        }
    }
    Ok(cmd)
}
