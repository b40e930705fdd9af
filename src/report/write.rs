//! Reading and writing results files. Writes are atomic: a temporary file in the same
//! directory, then a rename, so a reader never sees half a file.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context, Result};

use super::{Report, SCHEMA_VERSION};

/// Writes `bytes` to `path` atomically, creating parent directories.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    // A device or pipe (/dev/stdout, /dev/null) cannot be replaced by a rename: write through.
    if path.exists() && !path.is_file() {
        return std::fs::write(path, bytes)
            .with_context(|| format!("cannot write {}", path.display()));
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create directory {}", dir.display()))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".querygate-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    tmp.write_all(bytes)?;
    // tempfile creates 0600; results are ordinary files others read (CI artifacts, reviewers).
    std::fs::set_permissions(
        tmp.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )?;
    tmp.as_file().sync_all()?;
    tmp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Checks, before any work, that `path` can be written the way `write_atomic` will: not a
/// directory, in a directory that exists (`create_missing`: or can be created) and where a
/// file can be created (probed with a temporary file, so read-only mounts and permissions are
/// both seen). The reason, in the user's terms, on failure.
pub fn check_writable(path: &Path, create_missing: bool) -> std::result::Result<(), String> {
    if path.is_dir() {
        return Err(format!(
            "{} is a directory; give a file path (e.g. {})",
            path.display(),
            path.join("run.json").display()
        ));
    }
    if path.exists() && !path.is_file() {
        return Ok(()); // a device or pipe (/dev/stdout), written through
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.exists() {
        if !create_missing {
            return Err(format!(
                "directory {} does not exist; create it first (mkdir -p {})",
                dir.display(),
                dir.display()
            ));
        }
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create directory {}: {e}", dir.display()))?;
    }
    if !dir.is_dir() {
        return Err(format!("{} is not a directory", dir.display()));
    }
    tempfile::Builder::new()
        .prefix(".querygate-probe-")
        .tempfile_in(dir)
        .map(drop)
        .map_err(|e| format!("cannot write in directory {}: {e}", dir.display()))
}

pub fn to_json(report: &Report) -> String {
    serde_json::to_string_pretty(report).expect("reports serialize") + "\n"
}

pub fn write_report(path: &Path, report: &Report) -> Result<()> {
    write_atomic(path, to_json(report).as_bytes())
}

/// Reads a results file, refusing other schema versions with an explanation.
pub fn read_report(path: &Path) -> Result<Report> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read results file {}", path.display()))?;
    parse_report(&text)
        .with_context(|| format!("{} is not a querygate results file", path.display()))
}

pub fn parse_report(text: &str) -> Result<Report> {
    let value: serde_json::Value = serde_json::from_str(text).context("invalid JSON")?;
    match value.get("schema_version").and_then(|v| v.as_u64()) {
        Some(v) if v == SCHEMA_VERSION as u64 => {}
        Some(v) => {
            bail!("it has schema_version {v}; this querygate reads version {SCHEMA_VERSION}")
        }
        None => bail!("it has no schema_version"),
    }
    Ok(serde_json::from_value(value)?)
}
