//! The `docker` backend: PostgreSQL in a container started with testcontainers.
//!
//! The image is configurable (`--image`, e.g. `postgres:17`); the testcontainers-modules
//! `Postgres` definition supplies the official image's interface (`POSTGRES_PASSWORD`, …) and
//! its readiness wait (the "ready to accept connections" line of the init server on stdout and
//! of the real server on stderr). The pinned settings become `-c` arguments.
//!
//! Cleanup, in the order it is relied on:
//! 1. [`Server::shutdown`] removes the container and waits for Docker to confirm (normal exit,
//!    errors, and SIGINT/SIGTERM, which `app.rs` turns into an orderly shutdown);
//! 2. `Drop` removes it when the server is dropped without a shutdown (a panic that unwinds);
//! 3. a start that fails or is cancelled (a signal while the container starts) removes the
//!    containers labelled with that start's token;
//! 4. [`sweep_leftovers`], at the next docker start, removes containers whose querygate process
//!    no longer exists (SIGKILL, power loss).
//!
//! Every container carries testcontainers' `org.testcontainers.managed-by=testcontainers`
//! and querygate's own labels: [`LABEL_PID`] and the facts that make a pid unambiguous
//! (host, pid namespace, process start time), so the sweep never touches a live run, nor one
//! on another machine or in another container sharing the same engine.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use futures::StreamExt;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};
use testcontainers::bollard::query_parameters::{
    CreateImageOptionsBuilder, ListContainersOptionsBuilder, LogsOptionsBuilder,
    RemoveContainerOptionsBuilder,
};
use testcontainers::bollard::Docker;
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, ContainerRequest, ImageExt};
use testcontainers_modules::postgres::Postgres;

use super::{BackendInfo, BackendKind, BoxFuture, Server};

/// Label holding the pid of the querygate process that started the container.
pub const LABEL_PID: &str = "querygate.pid";
/// Start time of that process (clock ticks after boot, `/proc/PID/stat` field 22): a reused
/// pid does not keep a leftover alive.
const LABEL_PID_START: &str = "querygate.pid_start";
/// Hostname and pid namespace: pids are only comparable on the same host, in the same namespace.
const LABEL_HOST: &str = "querygate.host";
const LABEL_PIDNS: &str = "querygate.pidns";
/// One value per start: what a failed or cancelled start removes.
const LABEL_TOKEN: &str = "querygate.token";

/// Test hook: when set (to anything), querygate panics right after the container is ready,
/// so that a test can check that a panic (unwinding) still removes the container. Read in
/// this one place only.
const PANIC_HOOK_ENV: &str = "QUERYGATE_TEST_PANIC_AFTER_START";

/// The official image is ready in 3–6 s here; a cold page cache or a slow CI machine gets margin.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);
/// Docker's default /dev/shm is 64 MB; PostgreSQL's dynamic shared memory lives there.
const SHM_BYTES: u64 = 1 << 30;
const PING_TIMEOUT: Duration = Duration::from_secs(3);
const PULL_TIMEOUT: Duration = Duration::from_secs(600);
const API_TIMEOUT: Duration = Duration::from_secs(30);
/// See [`remove_settled`].
const SETTLE: Duration = Duration::from_millis(300);
const SETTLE_LIMIT: Duration = Duration::from_secs(15);

/// Why the docker backend cannot be used.
#[derive(Debug, Clone)]
pub enum Unusable {
    /// No Docker engine answers.
    NoEngine(String),
    /// The engine answers, but the image is not present locally.
    ImageMissing { image: String, engine: String },
    /// The image is missing and pulling it failed.
    PullFailed { image: String, error: String },
    /// Anything else the engine said.
    Engine(String),
}

impl fmt::Display for Unusable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unusable::NoEngine(why) => write!(f, "no Docker engine answers: {why}"),
            Unusable::ImageMissing { image, engine } => write!(
                f,
                "{engine} answers, but image {image} is not present locally \
                 (pull it, or where no registry is reachable build it: scripts/build-pg-image.sh {image})"
            ),
            Unusable::PullFailed { image, error } => write!(
                f,
                "image {image} is not present locally and pulling it failed ({error}); \
                 where no registry is reachable, build it: scripts/build-pg-image.sh {image}"
            ),
            Unusable::Engine(why) => write!(f, "{why}"),
        }
    }
}

/// What [`probe`] found: enough to say why docker was chosen.
#[derive(Debug, Clone)]
pub struct Usable {
    /// "Docker 20.10.24 at unix:///var/run/docker.sock".
    pub engine: String,
    /// The image reference asked for.
    pub image: String,
    /// The image's id (sha256:…).
    pub image_id: String,
}

impl fmt::Display for Usable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} answers and image {} is present ({})",
            self.engine,
            self.image,
            short_id(&self.image_id)
        )
    }
}

fn connect() -> std::result::Result<Docker, Unusable> {
    Docker::connect_with_defaults()
        .map_err(|e| Unusable::NoEngine(format!("cannot connect to {}: {e}", docker_host())))
}

/// Where the engine is expected (what `connect_with_defaults` and testcontainers use).
fn docker_host() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into())
}

/// `Ok` when a Docker engine answers (within [`PING_TIMEOUT`]) and `image` is present locally.
/// Nothing is pulled here: see [`pull`].
pub async fn probe(image: &str) -> std::result::Result<Usable, Unusable> {
    let docker = connect()?;
    match tokio::time::timeout(PING_TIMEOUT, docker.ping()).await {
        Err(_) => {
            return Err(Unusable::NoEngine(format!(
                "{} did not answer a ping within {} s",
                docker_host(),
                PING_TIMEOUT.as_secs()
            )))
        }
        Ok(Err(e)) => return Err(Unusable::NoEngine(format!("{}: {e}", docker_host()))),
        Ok(Ok(_)) => {}
    }
    let engine = match tokio::time::timeout(PING_TIMEOUT, docker.version()).await {
        Ok(Ok(v)) => format!(
            "Docker {} at {}",
            v.version.unwrap_or_else(|| "?".into()),
            docker_host()
        ),
        _ => format!("Docker at {}", docker_host()),
    };
    match tokio::time::timeout(API_TIMEOUT, docker.inspect_image(image)).await {
        Ok(Ok(i)) => Ok(Usable {
            engine,
            image: image.to_string(),
            image_id: i.id.unwrap_or_default(),
        }),
        Ok(Err(testcontainers::bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        })) => Err(Unusable::ImageMissing {
            image: image.to_string(),
            engine,
        }),
        Ok(Err(e)) => Err(Unusable::Engine(format!(
            "{engine}: cannot inspect image {image}: {e}"
        ))),
        Err(_) => Err(Unusable::Engine(format!(
            "{engine}: inspecting image {image} took more than {} s",
            API_TIMEOUT.as_secs()
        ))),
    }
}

/// Pulls `image` (used when [`probe`] says it is missing). Fails fast where no registry is
/// reachable (a DNS error); a real pull may take minutes, bounded by [`PULL_TIMEOUT`].
pub async fn pull(image: &str) -> std::result::Result<Usable, Unusable> {
    let docker = connect()?;
    // A digest reference is pulled as one `fromImage`; a tag goes in its own parameter.
    let options = if image.contains('@') {
        CreateImageOptionsBuilder::new().from_image(image).build()
    } else {
        let (name, tag) = split_image(image);
        CreateImageOptionsBuilder::new()
            .from_image(name)
            .tag(tag)
            .build()
    };
    let pulled = async {
        let mut stream = docker.create_image(Some(options), None, None);
        while let Some(item) = stream.next().await {
            item.map_err(|e| e.to_string())?;
        }
        Ok::<(), String>(())
    };
    let failed = |error: String| Unusable::PullFailed {
        image: image.to_string(),
        error,
    };
    match tokio::time::timeout(PULL_TIMEOUT, pulled).await {
        Err(_) => Err(failed(format!(
            "no result within {} s",
            PULL_TIMEOUT.as_secs()
        ))),
        Ok(Err(e)) => Err(failed(e)),
        Ok(Ok(())) => probe(image).await,
    }
}

/// `postgres:17` → (`postgres`, `17`); `registry:5000/pg` → (`registry:5000/pg`, `latest`);
/// `postgres@sha256:ab…` → (`postgres@sha256`, `ab…`), which testcontainers joins back with `:`.
fn split_image(image: &str) -> (&str, &str) {
    match image.rfind(':') {
        Some(colon) if colon > image.rfind('/').unwrap_or(0) => {
            (&image[..colon], &image[colon + 1..])
        }
        _ => (image, "latest"),
    }
}

fn short_id(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    &hex[..hex.len().min(12)]
}

/// The labels that identify this querygate process (see the module docs).
fn owner_labels() -> Vec<(&'static str, String)> {
    let pid = std::process::id();
    let mut labels = vec![
        (LABEL_PID, pid.to_string()),
        (LABEL_HOST, crate::pg::hostname()),
    ];
    if let Some(ns) = pid_namespace() {
        labels.push((LABEL_PIDNS, ns));
    }
    if let Some(t) = process_start(pid as i32) {
        labels.push((LABEL_PID_START, t.to_string()));
    }
    labels
}

fn pid_namespace() -> Option<String> {
    std::fs::read_link("/proc/self/ns/pid")
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

/// Field 22 of `/proc/PID/stat` (after the parenthesised command, which may hold spaces).
fn process_start(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_comm = &stat[stat.rfind(')')? + 1..];
    after_comm.split_whitespace().nth(19)?.parse().ok()
}

/// Sweeps leftovers, starts the container and says so on `progress`: the docker path of
/// [`super::start`].
pub async fn start_reported(
    image: &str,
    settings: BTreeMap<String, String>,
    reason: String,
    cpu: Option<usize>,
    progress: &mut crate::progress::Progress,
) -> Result<DockerServer> {
    for line in sweep_leftovers().await {
        progress.step(&format!("docker: {line}"));
    }
    progress.step(&format!(
        "docker: starting a PostgreSQL container from {image}"
    ));
    let cpu = cpu.filter(|_| engine_is_local());
    let server = DockerServer::start(image, settings, reason, cpu).await?;
    progress.step(&format!(
        "docker: container {} ({}) ready at {} ({}) in {:.1} s",
        short_id(&server.id),
        server.info.image_id.as_deref().map_or("?", short_id),
        server.info.address,
        server.route,
        server.startup.as_secs_f64()
    ));
    Ok(server)
}

const DIRECT_ROUTE: &str = "the container's own address";

/// Whether the Docker engine runs on this machine (no `DOCKER_HOST`, or a unix socket): only
/// then do its containers' CPUs and querygate's measuring thread share a scheduler, and pinning
/// the container means something.
fn engine_is_local() -> bool {
    std::env::var("DOCKER_HOST").map_or(true, |h| h.is_empty() || h.starts_with("unix://"))
}

/// The container to start: `image` running `postgres` with `settings` as `-c name=value`
/// arguments, querygate's labels (`token` and the owner), and limited to `cpu` when there is one.
fn container_request(
    image: &str,
    settings: &BTreeMap<String, String>,
    password: &str,
    token: &str,
    cpu: Option<usize>,
) -> ContainerRequest<Postgres> {
    let (name, tag) = split_image(image);
    let mut cmd = vec!["postgres".to_string()];
    for (k, v) in settings {
        cmd.push("-c".into());
        cmd.push(format!("{k}={v}"));
    }
    let mut request = Postgres::default()
        .with_user("postgres")
        .with_db_name("postgres")
        .with_password(password)
        .with_name(name)
        .with_tag(tag)
        // Replaces the module's default command (`-c fsync=off`); the pinned settings
        // include fsync=off for a throwaway server anyway.
        .with_cmd(cmd)
        .with_env_var("POSTGRES_INITDB_ARGS", "--no-sync")
        .with_shm_size(SHM_BYTES)
        .with_startup_timeout(STARTUP_TIMEOUT)
        .with_label(LABEL_TOKEN, token);
    for (k, v) in owner_labels() {
        request = request.with_label(k, v);
    }
    if let Some(cpu) = cpu {
        request = request.with_host_config_modifier(move |hc| {
            hc.cpuset_cpus = Some(cpu.to_string());
        });
    }
    request
}

/// A running PostgreSQL container.
pub struct DockerServer {
    /// `None` once removed.
    container: Option<ContainerAsync<Postgres>>,
    id: String,
    options: PgConnectOptions,
    info: BackendInfo,
    /// How querygate reaches the server: the container's own address or the published port.
    route: &'static str,
    startup: Duration,
    /// The CPU the container's processes are limited to (`--cpuset-cpus`), as a local server is
    /// pinned: see docs/method.md, "Where the processes run".
    pinned_cpu: Option<usize>,
    /// The container's first process as this host sees it, when the engine runs here.
    host_pid: Option<u32>,
}

impl DockerServer {
    /// Starts a container from `image` with `settings` as `-c name=value` arguments, waits until
    /// PostgreSQL accepts connections, and records the image id.
    pub async fn start(
        image: &str,
        settings: BTreeMap<String, String>,
        reason: String,
        cpu: Option<usize>,
    ) -> Result<Self> {
        let t0 = Instant::now();
        let token = format!("{}-{:016x}", std::process::id(), rand::random::<u64>());
        // Removes what this start created if it fails or is cancelled (the future dropped
        // by a signal) before the container is owned by a `DockerServer`.
        let mut guard = StartGuard {
            token: Some(token.clone()),
        };
        let password = format!("{:032x}", rand::random::<u128>());
        let request = container_request(image, &settings, &password, &token, cpu);
        let container = match request.start().await {
            Ok(c) => c,
            Err(e) => {
                let detail = guard.remove_now().await;
                return Err(anyhow::anyhow!(
                    "cannot start a PostgreSQL container from {image}: {e}{detail}"
                ));
            }
        };
        // From here on, the container is removed by `ContainerAsync`'s own drop if anything fails.
        guard.disarm();
        let id = container.id().to_string();
        let host = container
            .get_host()
            .await
            .context("cannot find the Docker host's address")?;
        let port = container
            .get_host_port_ipv4(5432)
            .await
            .context("the container publishes no port for 5432")?;
        let (image_id, container_ips, host_pid) = inspect(&id).await;
        let credentials = PgConnectOptions::new()
            .username("postgres")
            .password(&password)
            .database("postgres");
        let published = credentials.clone().host(&host.to_string()).port(port);
        let (options, address, route) = match direct(&credentials, &container_ips).await {
            Some((options, ip)) => (options, format!("{ip}:5432"), DIRECT_ROUTE),
            None => {
                wait_connectable(&published).await?;
                (
                    published,
                    format!("{host}:{port}"),
                    "the published port, through Docker's proxy",
                )
            }
        };
        let info = BackendInfo {
            kind: BackendKind::Docker,
            reason,
            image: Some(image.to_string()),
            image_id: (!image_id.is_empty()).then_some(image_id),
            bindir: None,
            address: format!("postgres://postgres:***@{address}/postgres"),
        };
        let server = DockerServer {
            container: Some(container),
            id,
            options,
            info,
            route,
            startup: t0.elapsed(),
            pinned_cpu: cpu,
            host_pid: host_pid.filter(|_| engine_is_local()),
        };
        if std::env::var_os(PANIC_HOOK_ENV).is_some() {
            panic!(
                "{PANIC_HOOK_ENV} is set: panicking with container {} running",
                server.id
            );
        }
        Ok(server)
    }

    /// The container's id.
    pub fn container_id(&self) -> &str {
        &self.id
    }

    /// How long the start took, from the request to a working connection.
    pub fn startup(&self) -> Duration {
        self.startup
    }
}

/// The image id the container runs (sha256:…), its addresses on Docker's networks and the
/// host pid of its first process.
async fn inspect(container: &str) -> (String, Vec<String>, Option<u32>) {
    let Ok(docker) = Docker::connect_with_defaults() else {
        return Default::default();
    };
    let Ok(Ok(c)) =
        tokio::time::timeout(API_TIMEOUT, docker.inspect_container(container, None)).await
    else {
        return Default::default();
    };
    let ips = c
        .network_settings
        .and_then(|n| n.networks)
        .into_iter()
        .flat_map(|n| n.into_values())
        .filter_map(|e| e.ip_address)
        .filter(|ip| !ip.is_empty())
        .collect();
    let pid = c
        .state
        .and_then(|s| s.pid)
        .and_then(|p| u32::try_from(p).ok())
        .filter(|p| *p > 0);
    (c.image.unwrap_or_default(), ips, pid)
}

/// Docker's published port goes through its userland proxy, which here adds 0.2–0.3 ms to
/// every round trip (pgbench `SELECT 1`: 0.22–0.35 ms via 127.0.0.1:<published port>, 0.055 ms
/// via the container's bridge address): more than a point query costs, so it would flatten
/// every speedup. The container's own address is used when it is reachable from here (the
/// engine runs on this host, or querygate runs in a container on the same network); the
/// published port otherwise (a remote engine, Docker Desktop).
async fn direct(
    credentials: &PgConnectOptions,
    ips: &[String],
) -> Option<(PgConnectOptions, String)> {
    let deadline = Instant::now() + Duration::from_secs(2);
    for ip in ips {
        let options = credentials.clone().host(ip).port(5432);
        // Bounded: an unroutable address would otherwise hang until the TCP timeout.
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match tokio::time::timeout(left, options.connect()).await {
                Ok(Ok(c)) => {
                    c.close().await.ok();
                    return Some((options, ip.clone()));
                }
                Ok(Err(sqlx::Error::Io(_))) => tokio::time::sleep(Duration::from_millis(100)).await,
                _ => break,
            }
        }
    }
    None
}

/// The ready line can come a moment before docker's port forwarding passes connections.
async fn wait_connectable(options: &PgConnectOptions) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match options.connect().await {
            Ok(c) => {
                c.close().await.ok();
                return Ok(());
            }
            Err(sqlx::Error::Io(_)) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => {
                return Err(anyhow::anyhow!(
                    "the container logged that it is ready, but connecting failed: {}",
                    super::redact_url(&e.to_string())
                ))
            }
        }
    }
}

impl Server for DockerServer {
    fn transport(&self) -> String {
        if self.route == DIRECT_ROUTE {
            "container-bridge".into()
        } else {
            "docker-published-port".into()
        }
    }

    fn admin_options(&self) -> PgConnectOptions {
        self.options.clone()
    }

    fn info(&self) -> &BackendInfo {
        &self.info
    }

    fn pinned_cpu(&self) -> Option<usize> {
        self.pinned_cpu
    }

    fn process_namespace(&self) -> Option<u32> {
        self.host_pid
    }

    fn owns_server(&self) -> bool {
        true
    }

    fn shutdown(mut self: Box<Self>) -> BoxFuture<'static, Result<()>> {
        let container = self.container.take();
        let id = self.id.clone();
        Box::pin(async move {
            if let Some(c) = container {
                // Forced removal (the server is throwaway) with its anonymous data volume.
                tokio::time::timeout(API_TIMEOUT, c.rm())
                    .await
                    .map_err(|_| {
                        anyhow::anyhow!(
                            "removing container {id} took more than {} s",
                            API_TIMEOUT.as_secs()
                        )
                    })?
                    .with_context(|| format!("cannot remove container {id}"))?;
            }
            Ok(())
        })
    }
}

impl Drop for DockerServer {
    fn drop(&mut self) {
        let Some(container) = self.container.take() else {
            return;
        };
        // `ContainerAsync`'s drop removes the container and blocks until Docker confirms: on a
        // current-thread runtime (querygate's) it hands the removal to testcontainers' own
        // drop-worker thread; it needs a runtime handle only to learn the flavour. Outside any
        // runtime (a drop after `block_on` returned), lend it one.
        if tokio::runtime::Handle::try_current().is_ok() {
            drop(container);
        } else if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            let _enter = rt.enter();
            drop(container);
        } else {
            remove_labelled_blocking(format!("id={}", self.id));
            std::mem::forget(container);
        }
    }
}

/// Removes the containers of one start unless disarmed.
struct StartGuard {
    token: Option<String>,
}

impl StartGuard {
    fn disarm(&mut self) {
        self.token = None;
    }

    /// Removes now (the start failed), returning the container's last log lines for the error.
    async fn remove_now(&mut self) -> String {
        let Some(token) = self.token.take() else {
            return String::new();
        };
        let Ok(docker) = Docker::connect_with_defaults() else {
            return String::new();
        };
        let filter = format!("label={LABEL_TOKEN}={token}");
        let mut detail = String::new();
        for c in list(&docker, &filter).await.unwrap_or_default() {
            let Some(id) = c.id else { continue };
            let logs = log_tail(&docker, &id, 30).await;
            if !logs.trim().is_empty() {
                detail.push_str(&format!("\nthe container's last log lines:\n{logs}"));
            }
        }
        for warning in remove_settled(&docker, &filter).await {
            detail.push_str(&format!("\nwarning: {warning}"));
        }
        detail
    }
}

impl Drop for StartGuard {
    fn drop(&mut self) {
        if let Some(token) = self.token.take() {
            remove_labelled_blocking(format!("label={LABEL_TOKEN}={token}"));
        }
    }
}

/// Removes the containers matching `filter` (`label=k=v` or `id=…`) from a plain thread with
/// its own runtime: usable from `Drop`, inside or outside a runtime, without deadlocking a
/// current-thread runtime that is blocked in this very call.
fn remove_labelled_blocking(filter: String) {
    let worker = std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            let Ok(docker) = Docker::connect_with_defaults() else {
                return;
            };
            for warning in remove_settled(&docker, &filter).await {
                eprintln!("querygate: warning: {warning}");
            }
        });
    });
    let _ = worker.join();
}

/// Removes every container matching `filter` until two listings [`SETTLE`] apart find none
/// (at most [`SETTLE_LIMIT`]): when a start is cancelled, its create request may still be in
/// flight and land a moment after a first listing, and a removal that races the start may need
/// a second try. Returns what could not be removed.
async fn remove_settled(docker: &Docker, filter: &str) -> Vec<String> {
    let deadline = Instant::now() + SETTLE_LIMIT;
    let mut empty_listings = 0;
    let mut failures: HashMap<String, String> = HashMap::new();
    loop {
        match list(docker, filter).await {
            Ok(found) if found.is_empty() => {
                empty_listings += 1;
                failures.clear();
                if empty_listings == 2 {
                    break;
                }
            }
            Ok(found) => {
                empty_listings = 0;
                for id in found.into_iter().filter_map(|c| c.id) {
                    match remove(docker, &id).await {
                        Ok(()) => {
                            failures.remove(&id);
                        }
                        Err(e) => {
                            failures.insert(id, format!("{e:#}"));
                        }
                    }
                }
            }
            Err(e) => {
                failures.insert(String::new(), format!("{e:#}"));
            }
        }
        if Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(SETTLE).await;
    }
    failures
        .into_iter()
        .map(|(id, e)| match id.as_str() {
            "" => format!("cannot list containers ({filter}) to remove them: {e}"),
            _ => format!("cannot remove container {}: {e}", short_id(&id)),
        })
        .collect()
}

async fn list(
    docker: &Docker,
    filter: &str,
) -> Result<Vec<testcontainers::bollard::models::ContainerSummary>> {
    let (key, value) = filter.split_once('=').expect("key=value filter");
    let filters = HashMap::from([(key.to_string(), vec![value.to_string()])]);
    let options = ListContainersOptionsBuilder::new()
        .all(true)
        .filters(&filters)
        .build();
    Ok(
        tokio::time::timeout(API_TIMEOUT, docker.list_containers(Some(options)))
            .await
            .context("listing containers timed out")??,
    )
}

async fn remove(docker: &Docker, id: &str) -> Result<()> {
    let options = RemoveContainerOptionsBuilder::new()
        .force(true)
        .v(true)
        .build();
    tokio::time::timeout(API_TIMEOUT, docker.remove_container(id, Some(options)))
        .await
        .context("removing the container timed out")??;
    Ok(())
}

async fn log_tail(docker: &Docker, id: &str, lines: usize) -> String {
    let options = LogsOptionsBuilder::new()
        .stdout(true)
        .stderr(true)
        .tail(&lines.to_string())
        .build();
    let mut out = String::new();
    let collect = async {
        let mut stream = docker.logs(id, Some(options));
        while let Some(Ok(chunk)) = stream.next().await {
            out.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(5), collect).await;
    out
}

/// Removes containers left by querygate processes that no longer exist (killed with SIGKILL,
/// or a machine that lost power). Only containers started on this host, in this pid namespace,
/// are considered; one whose process is alive (same pid, same start time) is left alone.
/// Returns a line per removed container (and one if the sweep itself failed).
pub async fn sweep_leftovers() -> Vec<String> {
    let mut lines = Vec::new();
    let Ok(docker) = Docker::connect_with_defaults() else {
        return lines;
    };
    let containers = match list(&docker, &format!("label={LABEL_PID}")).await {
        Ok(c) => c,
        Err(e) => {
            lines.push(format!("warning: cannot list leftover containers: {e:#}"));
            return lines;
        }
    };
    let host = crate::pg::hostname();
    let pidns = pid_namespace();
    for c in containers {
        let labels = c.labels.unwrap_or_default();
        let Some(pid) = labels.get(LABEL_PID).and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        if labels.get(LABEL_HOST) != Some(&host) || labels.get(LABEL_PIDNS) != pidns.as_ref() {
            continue;
        }
        let started = labels
            .get(LABEL_PID_START)
            .and_then(|s| s.parse::<u64>().ok());
        let alive = match process_start(pid) {
            None => false,
            Some(now) => started.is_none_or(|t| t == now),
        };
        if alive {
            continue;
        }
        let Some(id) = c.id else { continue };
        match remove(&docker, &id).await {
            Ok(()) => lines.push(format!(
                "removed container {} ({}) left by querygate process {pid} (killed?)",
                short_id(&id),
                c.image.as_deref().unwrap_or("?")
            )),
            Err(e) => lines.push(format!(
                "warning: cannot remove container {} left by querygate process {pid}: {e:#}",
                short_id(&id)
            )),
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references_split_into_name_and_tag() {
        assert_eq!(split_image("postgres:17"), ("postgres", "17"));
        assert_eq!(split_image("postgres"), ("postgres", "latest"));
        assert_eq!(
            split_image("registry.local:5000/team/pg:17.2"),
            ("registry.local:5000/team/pg", "17.2")
        );
        assert_eq!(
            split_image("registry.local:5000/team/pg"),
            ("registry.local:5000/team/pg", "latest")
        );
        let (n, t) = split_image("postgres@sha256:abcd");
        assert_eq!(format!("{n}:{t}"), "postgres@sha256:abcd");
    }

    #[test]
    fn own_process_start_time_is_readable() {
        let pid = std::process::id() as i32;
        assert!(process_start(pid).is_some());
        assert_eq!(process_start(pid), process_start(pid));
        assert!(owner_labels().iter().any(|(k, _)| *k == LABEL_PID));
    }

    #[test]
    fn unusable_reasons_say_how_to_fix() {
        let e = Unusable::ImageMissing {
            image: "postgres:17".into(),
            engine: "Docker 20.10 at unix:///var/run/docker.sock".into(),
        };
        assert!(e
            .to_string()
            .contains("scripts/build-pg-image.sh postgres:17"));
        let e = Unusable::PullFailed {
            image: "postgres:17".into(),
            error: "no such host".into(),
        };
        assert!(e
            .to_string()
            .contains("scripts/build-pg-image.sh postgres:17"));
    }
}
