//! Where the PostgreSQL server comes from. One trait, one small implementation per backend.
//!
//! A backend hands out a server that querygate may create scratch databases on, reports what
//! it is (for the results file), and removes everything it started when shut down. `Drop` is
//! the last resort (panics); the orderly path is [`Server::shutdown`].

pub mod docker;
pub mod local;
pub mod url;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use serde::Serialize;
use sqlx::postgres::PgConnectOptions;

use crate::config::BackendKind;

/// What the results file records about the server.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct BackendInfo {
    /// The backend used: docker, local or url.
    pub kind: BackendKind,
    /// Why this backend was chosen (relevant for `auto`).
    pub reason: String,
    /// Docker image reference, for the docker backend.
    pub image: Option<String>,
    /// Docker image id (sha256:…), for the docker backend.
    pub image_id: Option<String>,
    /// Directory of the server binaries, for the local backend.
    pub bindir: Option<String>,
    /// Server address with any password redacted.
    pub address: String,
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A running server querygate may use.
pub trait Server: Send + Sync {
    /// Options for a maintenance connection (the database querygate connects to in order to
    /// create its scratch databases; it never writes there).
    fn admin_options(&self) -> PgConnectOptions;
    fn info(&self) -> &BackendInfo;
    /// True when querygate started the server and chose its settings (`-c` flags).
    fn owns_server(&self) -> bool;
    /// Stops and removes what the backend started. Idempotent with `Drop`.
    fn shutdown(self: Box<Self>) -> BoxFuture<'static, anyhow::Result<()>>;
    /// The CPU the server's processes are pinned to, when querygate pinned them.
    fn pinned_cpu(&self) -> Option<usize> {
        None
    }
    /// A process of this host in the server's pid namespace, when this host sees the server's
    /// processes (their CPU time is then readable: `measure::cpu_time`).
    fn process_namespace(&self) -> Option<u32> {
        None
    }
    /// How querygate reaches the server (`environment.transport`).
    fn transport(&self) -> String {
        transport_of(&self.admin_options())
    }
}

/// `unix-socket`, `tcp-loopback` or `tcp-remote`, from the connection options.
pub fn transport_of(o: &PgConnectOptions) -> String {
    let host = o.get_host();
    if o.get_socket().is_some() || host.starts_with('/') {
        "unix-socket".into()
    } else if matches!(host, "localhost" | "::1" | "[::1]") || host.starts_with("127.") {
        "tcp-loopback".into()
    } else {
        "tcp-remote".into()
    }
}

/// Another CPU than `server` that this process may run on, for the measuring thread.
pub fn other_cpu(server: usize) -> Option<usize> {
    let set = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)).ok()?;
    (0..nix::sched::CpuSet::count()).find(|c| *c != server && set.is_set(*c).unwrap_or(false))
}

/// The CPU to pin a local server and querygate's measuring thread to: the last one this
/// process may run on. Client and server on one CPU remove the run-long bias of where the
/// scheduler happens to place each server process (measured: A/A speedups 0.85–1.69× unpinned,
/// 0.99–1.18× pinned, same machine and load).
pub fn pick_cpu() -> Option<usize> {
    let set = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)).ok()?;
    (0..nix::sched::CpuSet::count())
        .rev()
        .find(|c| set.is_set(*c).unwrap_or(false))
}

/// Pins the calling thread to `cpu`.
pub fn pin_current_thread(cpu: usize) -> anyhow::Result<()> {
    let mut set = nix::sched::CpuSet::new();
    set.set(cpu)?;
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set)?;
    Ok(())
}

/// Server settings pinned for repeatable numbers (DESIGN.md "Provisioning backends").
/// A scenario's `[server] settings` override these.
pub fn pinned_settings() -> BTreeMap<String, String> {
    [
        ("jit", "off"),
        ("max_parallel_workers_per_gather", "0"),
        ("autovacuum", "off"),
        ("fsync", "off"),
        ("synchronous_commit", "off"),
        ("full_page_writes", "off"),
        ("shared_buffers", "512MB"),
        ("track_io_timing", "on"),
        ("max_connections", "100"),
        ("max_wal_size", "4GB"),
        ("checkpoint_timeout", "30min"),
        ("logging_collector", "off"),
        // Server time per statement (docs/method.md, "Server time and round trip").
        ("shared_preload_libraries", "pg_stat_statements"),
        ("pg_stat_statements.track", "top"),
        ("pg_stat_statements.track_utility", "on"),
        ("pg_stat_statements.track_planning", "on"),
        ("pg_stat_statements.save", "off"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Keeps `pg_stat_statements` loaded when a scenario sets its own `shared_preload_libraries`
/// (server time needs it; the scenario's libraries are kept too).
pub fn keep_server_time(settings: &mut BTreeMap<String, String>) {
    let libs = settings
        .entry("shared_preload_libraries".into())
        .or_default();
    if !libs.split(',').any(|l| l.trim() == "pg_stat_statements") {
        *libs = if libs.trim().is_empty() {
            "pg_stat_statements".into()
        } else {
            format!("{libs},pg_stat_statements")
        };
    }
}

/// Settings that only take effect per session or database; on a server querygate did not
/// start, these are applied with `ALTER DATABASE … SET` on its scratch databases.
pub const SESSION_SETTINGS: &[&str] = &[
    "jit",
    "max_parallel_workers_per_gather",
    "track_io_timing",
    "synchronous_commit",
];

/// The settings the results file records, read back from the server.
pub const RECORDED_SETTINGS: &[&str] = &[
    "jit",
    "max_parallel_workers_per_gather",
    "autovacuum",
    "fsync",
    "synchronous_commit",
    "full_page_writes",
    "shared_buffers",
    "work_mem",
    "effective_cache_size",
    "random_page_cost",
    "track_io_timing",
    "plan_cache_mode",
    "server_version",
    "shared_preload_libraries",
    "pg_stat_statements.track",
    "pg_stat_statements.track_utility",
    "pg_stat_statements.track_planning",
];

/// Replaces the password in a connection URL (user info or `password=` parameter) or a libpq
/// `key=value` string (`password=…`) with `***`, also in text that merely contains one (an error
/// message). When unsure where the password ends (unencoded `/`, `?` or `@` in it), it redacts
/// too much rather than too little: everything between the user's `:` and the last `@`.
pub fn redact_url(url: &str) -> String {
    let url = redact_password_values(url);
    let Some(scheme_end) = url.find("://") else {
        return url;
    };
    let rest = &url[scheme_end + 3..];
    let Some(at) = rest.rfind('@') else {
        return url;
    };
    match rest[..at].find(':') {
        Some(colon) => format!(
            "{}{}:***{}",
            &url[..scheme_end + 3],
            &rest[..colon],
            &rest[at..]
        ),
        None => url.to_string(),
    }
}

/// `password=value` (URL query or key=value form, value quoted or not) becomes `password=***`.
fn redact_password_values(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.to_ascii_lowercase().find("password") {
        let after = &rest[i + "password".len()..];
        let trimmed = after.trim_start();
        let Some(value) = trimmed.strip_prefix('=') else {
            out.push_str(&rest[..i + "password".len()]);
            rest = after;
            continue;
        };
        let value = value.trim_start();
        let end = if let Some(q) = value.strip_prefix('\'') {
            let mut escaped = false;
            q.char_indices()
                .find(|&(_, c)| {
                    let close = c == '\'' && !escaped;
                    escaped = c == '\\' && !escaped;
                    close
                })
                .map_or(value.len(), |(j, _)| j + 2)
        } else {
            value
                .find(|c: char| c.is_whitespace() || c == '&')
                .unwrap_or(value.len())
        };
        out.push_str(&rest[..i]);
        out.push_str("password=***");
        rest = &value[end..];
    }
    out.push_str(rest);
    out
}

/// Starts (or connects to) the server the configuration asks for. `auto` tries docker, then
/// local, and records why it chose what it chose.
pub async fn start(
    cfg: &crate::config::BackendConfig,
    settings: BTreeMap<String, String>,
    progress: &mut crate::progress::Progress,
) -> crate::Result<Box<dyn Server>> {
    // The CPU a server querygate starts is pinned to (local) or limited to (docker).
    let cpu = match cfg.placement {
        crate::config::Placement::Free => None,
        _ => pick_cpu(),
    };
    match cfg.kind {
        BackendKind::Local => {
            progress.step("starting a local ephemeral PostgreSQL cluster");
            Ok(start_local(cfg, settings, "--backend local".into(), cpu).await?)
        }
        BackendKind::Url => connect_url(cfg, progress).await,
        BackendKind::Docker => start_docker(cfg, settings, cpu, progress).await,
        BackendKind::Auto => start_auto(cfg, settings, cpu, progress).await,
    }
}

/// A local ephemeral cluster, after sweeping the clusters earlier runs left; pinned to `cpu`
/// when there is one.
async fn start_local(
    cfg: &crate::config::BackendConfig,
    settings: BTreeMap<String, String>,
    reason: String,
    cpu: Option<usize>,
) -> anyhow::Result<Box<dyn Server>> {
    for line in local::sweep_leftovers() {
        progress_line(&line);
    }
    let bindir = local::find_bindir(cfg.pg_bindir.as_deref())?;
    let server = local::LocalServer::start_pinned(bindir, settings, reason, cpu).await?;
    Ok(Box::new(server))
}

/// The server at `--database-url`, after sweeping the scratch databases earlier runs left.
async fn connect_url(
    cfg: &crate::config::BackendConfig,
    progress: &mut crate::progress::Progress,
) -> crate::Result<Box<dyn Server>> {
    let url = cfg.database_url.as_deref().ok_or_else(|| {
        crate::Error::Usage("--backend url needs --database-url or DATABASE_URL".into())
    })?;
    let address = url::parse_connection(url)
        .map(|o| url::display_address(&o))
        .unwrap_or_else(|_| redact_url(url));
    progress.step(&format!("using the server at {address}"));
    let server = url::UrlServer::connect(url, "--backend url".into()).await?;
    match crate::seed::sweep_databases(&server.admin_options()).await {
        Ok(lines) => lines.iter().for_each(|l| progress.step(l)),
        Err(e) => progress.step(&format!(
            "warning: the sweep of scratch databases left by earlier runs failed: {}",
            redact_url(&format!("{e:#}"))
        )),
    }
    Ok(Box::new(server))
}

/// Whether Docker can run `image`: probed, and pulled when the engine answers but the image is
/// missing (`pulling` says so on the progress line, given the engine's description).
async fn usable_engine(
    image: &str,
    progress: &mut crate::progress::Progress,
    pulling: impl FnOnce(&str) -> String,
) -> std::result::Result<docker::Usable, docker::Unusable> {
    match docker::probe(image).await {
        Err(docker::Unusable::ImageMissing { engine, .. }) => {
            progress.step(&pulling(&engine));
            docker::pull(image).await
        }
        found => found,
    }
}

/// A container of `--image`, pulled first when it is not present, limited to `cpu` when
/// there is one.
async fn start_docker(
    cfg: &crate::config::BackendConfig,
    settings: BTreeMap<String, String>,
    cpu: Option<usize>,
    progress: &mut crate::progress::Progress,
) -> crate::Result<Box<dyn Server>> {
    let usable = usable_engine(&cfg.image, progress, |_| {
        format!(
            "docker: image {} is not present locally: pulling it",
            cfg.image
        )
    })
    .await
    .map_err(|why| anyhow::anyhow!("--backend docker: {why}"))?;
    let reason = format!("--backend docker: {usable}");
    Ok(Box::new(
        docker::start_reported(&cfg.image, settings, reason, cpu, progress).await?,
    ))
}

/// Docker when an engine answers and the image is present or can be pulled; else local.
/// A docker start that fails after that is an error, not a silent switch of server.
async fn start_auto(
    cfg: &crate::config::BackendConfig,
    settings: BTreeMap<String, String>,
    cpu: Option<usize>,
    progress: &mut crate::progress::Progress,
) -> crate::Result<Box<dyn Server>> {
    let usable = usable_engine(&cfg.image, progress, |engine| {
        format!(
            "backend auto: {engine} answers, but image {} is not present locally: trying to pull it",
            cfg.image
        )
    })
    .await;
    match usable {
        Ok(usable) => {
            let reason = format!("auto: docker, because {usable}");
            progress.step(&format!("backend {reason}"));
            Ok(Box::new(
                docker::start_reported(&cfg.image, settings, reason, cpu, progress)
                    .await
                    .map_err(|e| {
                        anyhow::anyhow!(
                            "{e:#}\n(backend auto chose docker; --backend local runs on this machine's PostgreSQL binaries instead)"
                        )
                    })?,
            ))
        }
        Err(why) => {
            let reason = format!("auto: local, because docker is not usable: {why}");
            progress.step(&format!("backend {reason}"));
            Ok(start_local(cfg, settings, reason, cpu).await.map_err(|e| {
                crate::Error::Infra(anyhow::anyhow!(
                    "no backend available.\n  docker: {why}\n  local: {e:#}\n\
                     Start a Docker engine (and pull the image, or build it where no registry is reachable: \
                     scripts/build-pg-image.sh {}), install PostgreSQL server binaries \
                     (apt-get install postgresql), or pass --backend url --database-url URL",
                    cfg.image
                ))
            })?)
        }
    }
}

fn progress_line(line: &str) {
    eprintln!("querygate: {line}");
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(
            redact_url("postgresql://u:p%40ss@h/db?sslmode=disable"),
            "postgresql://u:***@h/db?sslmode=disable"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(
            redact_url("postgres://h/db?user=u&password=x"),
            "postgres://h/db?user=u&password=***"
        );
        // Unencoded `/`, `?` and `@` in the password: redact up to the last `@`.
        assert_eq!(
            redact_url("postgres://u:pa/ss?w@rd@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(
            redact_url("host=h user=u password='it\\'s x' dbname=d"),
            "host=h user=u password=*** dbname=d"
        );
        assert_eq!(
            redact_url("cannot parse host=h password = s3cret port=1"),
            "cannot parse host=h password=*** port=1"
        );
    }
}
