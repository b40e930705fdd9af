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
