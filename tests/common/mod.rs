//! Helpers shared by the integration tests: they run the real binary against a real server.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The querygate binary, run from the repository root with progress silenced.
pub fn querygate() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_querygate"));
    c.current_dir(root());
    c.env_remove("DATABASE_URL");
    c
}

pub fn run(args: &[&str]) -> Output {
    querygate().args(args).output().expect("querygate runs")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A fresh temporary directory for a test's outputs.
pub fn tmpdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("qg-test-")
        .tempdir()
        .expect("tempdir")
}

pub fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("valid JSON")
}

/// Cluster directories a querygate process with this pid left in the temp directory.
pub fn leftover_clusters(pid: u32) -> Vec<PathBuf> {
    std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("querygate-{pid}-"))
        })
        .collect()
}

/// PostgreSQL server processes whose data directory belongs to querygate process `pid`.
pub fn leftover_postgres(pid: u32) -> Vec<String> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            if cmd.contains(&format!("querygate-{pid}-")) {
                found.push(cmd);
            }
        }
    }
    found
}

// ---- Docker (tests/docker.rs) ---------------------------------------------------------------

/// The image the docker tests run: the official one where a registry is reachable, else the
/// one scripts/build-pg-image.sh builds from Debian packages.
pub const DOCKER_IMAGE: &str = "postgres:17";

/// Fails the calling test (never skips it) unless a Docker engine answers; builds `image` with
/// `scripts/build-pg-image.sh` when it is absent (idempotent, cached, serialised by the script).
pub fn require_docker(image: &str) {
    use std::collections::HashMap;
    use std::sync::Mutex;
    static CHECKED: Mutex<Option<HashMap<String, Result<(), String>>>> = Mutex::new(None);
    let mut checked = CHECKED.lock().unwrap_or_else(|p| p.into_inner());
    let result = checked
        .get_or_insert_with(HashMap::new)
        .entry(image.to_string())
        .or_insert_with(|| check_docker(image))
        .clone();
    if let Err(e) = result {
        panic!("{e}");
    }
}

fn check_docker(image: &str) -> Result<(), String> {
    let engine = Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .output()
        .map_err(|e| {
            format!(
                "the docker tests need the docker CLI and a Docker engine, and never skip: cannot run `docker`: {e}"
            )
        })?;
    if !engine.status.success() {
        return Err(format!(
            "the docker tests need a Docker engine, and never skip: `docker version` failed: {}",
            String::from_utf8_lossy(&engine.stderr).trim()
        ));
    }
    let present = Command::new("docker")
        .args(["image", "inspect", image])
        .output()
        .map_err(|e| e.to_string())?;
    if present.status.success() {
        return Ok(());
    }
    eprintln!("image {image} is absent: building it with scripts/build-pg-image.sh {image}");
    let built = Command::new(root().join("scripts/build-pg-image.sh"))
        .arg(image)
        .current_dir(root())
        .output()
        .map_err(|e| format!("cannot run scripts/build-pg-image.sh: {e}"))?;
    if !built.status.success() {
        return Err(format!(
            "image {image} is absent and scripts/build-pg-image.sh {image} failed:\n{}",
            String::from_utf8_lossy(&built.stderr)
        ));
    }
    Ok(())
}

/// Ids of the containers (any state) labelled as started by querygate process `pid`.
pub fn containers_of(pid: u32) -> Vec<String> {
    let o = Command::new("docker")
        .args(["ps", "-a", "-q", "--no-trunc", "--filter"])
        .arg(format!("label=querygate.pid={pid}"))
        .output()
        .expect("docker ps runs");
    assert!(
        o.status.success(),
        "docker ps failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// Asserts that querygate process `pid` left no container; removes any it did leave (so that a
/// failing test does not leak), then fails with `what`.
pub fn assert_no_container_left(pid: u32, what: &str) {
    let left = containers_of(pid);
    if left.is_empty() {
        return;
    }
    let _ = Command::new("docker")
        .args(["rm", "-f", "-v"])
        .args(&left)
        .output();
    panic!("{what}: querygate process {pid} left containers behind: {left:?}");
}

/// The id (sha256:…) of a local image.
pub fn image_id(image: &str) -> String {
    let o = Command::new("docker")
        .args(["image", "inspect", "--format", "{{.Id}}", image])
        .output()
        .expect("docker image inspect runs");
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}
