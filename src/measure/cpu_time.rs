//! The server process's own CPU time: how long each measuring connection's backend ran on a
//! CPU, read from Linux's `/proc/<pid>/schedstat` (first field, ns) around each side's block,
//! outside the timed region.
//!
//! `pg_stat_statements` times the executor by the wall clock, so a backend that waits for a
//! CPU while it executes is charged for the wait: on a busy machine a side's server time rose by
//! half for a whole run with no change in the query's work (docs/gate.md). Time on a CPU does
//! not count the wait; it is the evidence the cross-run gate asks a slower server time to carry.
//! It covers the whole process (protocol handling too), so it is compared in µs per execution,
//! never read as the executor's time.
//!
//! It is readable only where querygate's host sees the server's processes: the local backend
//! (same pid namespace) and a container of the local Docker engine (the backend's pid is found
//! in the container's pid namespace through `NSpid`). Elsewhere it is simply absent.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Reads the on-CPU time of server processes named by their pid in the server's namespace.
pub struct CpuClock {
    /// The server's pid namespace (`/proc/<pid>/ns/pid` link), and whether it is querygate's.
    namespace: PathBuf,
    same_namespace: bool,
    /// Backend pid (server's namespace) → `/proc/<host pid>/schedstat`, `None` when not found.
    paths: HashMap<i32, Option<PathBuf>>,
    proc_root: PathBuf,
}

impl CpuClock {
    /// A clock for the server whose processes share the pid namespace of host process
    /// `reference` (querygate itself for a local server; the container's first process for a
    /// container). `None` when that namespace cannot be read (not Linux, no /proc access).
    pub fn new(reference: u32) -> Option<CpuClock> {
        CpuClock::with_proc(Path::new("/proc"), reference)
    }

    fn with_proc(proc_root: &Path, reference: u32) -> Option<CpuClock> {
        let ns = |pid: &str| std::fs::read_link(proc_root.join(pid).join("ns/pid")).ok();
        let namespace = ns(&reference.to_string())?;
        let same_namespace = ns("self").is_some_and(|own| own == namespace);
        Some(CpuClock {
            namespace,
            same_namespace,
            paths: HashMap::new(),
            proc_root: proc_root.to_path_buf(),
        })
    }

    /// Nanoseconds the server process `pid` (server's namespace) has spent on a CPU, `None`
    /// when it cannot be read.
    pub fn on_cpu_ns(&mut self, pid: i32) -> Option<u64> {
        if !self.paths.contains_key(&pid) {
            let path = self.resolve(pid);
            self.paths.insert(pid, path);
        }
        let path = self.paths.get(&pid)?.as_ref()?;
        let text = std::fs::read_to_string(path).ok()?;
        text.split_whitespace().next()?.parse().ok()
    }

    /// The summed on-CPU time of one side's server processes, `None` when there are none or
    /// one cannot be read.
    pub fn processes_ns(&mut self, pids: &[i32]) -> Option<u64> {
        if pids.is_empty() {
            return None;
        }
        pids.iter().map(|&p| self.on_cpu_ns(p)).sum()
    }

    /// The schedstat file of backend `pid`: a `postgres` process in the server's namespace.
    fn resolve(&self, pid: i32) -> Option<PathBuf> {
        let host_pid = if self.same_namespace {
            let dir = self.proc_root.join(pid.to_string());
            self.in_namespace(&dir).then_some(pid)?
        } else {
            self.find_in_namespace(pid)?
        };
        let dir = self.proc_root.join(host_pid.to_string());
        let comm = std::fs::read_to_string(dir.join("comm")).ok()?;
        (comm.trim() == "postgres").then(|| dir.join("schedstat"))
    }

    fn in_namespace(&self, dir: &Path) -> bool {
        std::fs::read_link(dir.join("ns/pid")).is_ok_and(|l| l == self.namespace)
    }

    /// The host pid of the process whose innermost pid (`NSpid`, last field) is `pid`, among
    /// the processes of the server's namespace.
    fn find_in_namespace(&self, pid: i32) -> Option<i32> {
        let wanted = pid.to_string();
        for entry in std::fs::read_dir(&self.proc_root).ok()?.flatten() {
            let name = entry.file_name();
            let Some(host) = name.to_str().and_then(|n| n.parse::<i32>().ok()) else {
                continue;
            };
            let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else {
                continue;
            };
            let inner = status
                .lines()
                .find_map(|l| l.strip_prefix("NSpid:"))
                .and_then(|l| l.split_whitespace().last());
            if inner == Some(wanted.as_str()) && self.in_namespace(&entry.path()) {
                return Some(host);
            }
        }
        None
    }
}

/// On-CPU time per execution (ns) of a block of `executions`, from two readings of the
/// side's server processes (summed), or `None` when either is missing or they went backwards
/// (a process was replaced between the readings).
pub fn per_execution_ns(from: Option<u64>, to: Option<u64>, executions: u64) -> Option<f64> {
    let (from, to) = (from?, to?);
    (executions > 0 && to >= from).then(|| (to - from) as f64 / executions as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process_and_refuses_what_is_not_postgres() {
        let mut clock = CpuClock::new(std::process::id()).expect("/proc is readable here");
        assert!(clock.same_namespace);
        // The test binary is not a postgres process: never read as a server's time.
        assert_eq!(clock.on_cpu_ns(std::process::id() as i32), None);
        assert_eq!(clock.on_cpu_ns(i32::MAX), None);
    }

    #[test]
    fn per_execution_divides_and_refuses_what_went_backwards() {
        assert_eq!(per_execution_ns(Some(1_000), Some(5_000), 4), Some(1_000.0));
        assert_eq!(per_execution_ns(Some(5_000), Some(1_000), 4), None);
        assert_eq!(per_execution_ns(None, Some(1_000), 4), None);
        assert_eq!(per_execution_ns(Some(0), Some(1_000), 0), None);
    }
}
