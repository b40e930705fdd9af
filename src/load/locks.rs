//! Sampling who waits on which lock while the migration runs under load: `pg_stat_activity`
//! (`wait_event_type = 'Lock'`), `pg_locks` (the lock asked for) and `pg_blocking_pids()` (who
//! holds it), and the locks the migration's own session holds. A sample every `sample_ms`
//! (20 ms by default): a wait shorter than that may be missed, a longer one is seen with that
//! resolution.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::Duration;

use sqlx::postgres::PgConnection;
use sqlx::Row;

/// One execution's wait on a lock (a session, a statement start, the lock asked for).
#[derive(Debug, Clone)]
pub struct LockWait {
    pub pid: i32,
    /// The relation (or lock type, e.g. `transactionid` for a row lock) waited on.
    pub relation: String,
    /// The mode asked for, e.g. `RowExclusiveLock` (a write).
    pub mode: String,
    /// Held up by the migration's session.
    pub by_migration: bool,
    /// The wait is the migration's own (it queued behind traffic).
    pub migration_waiting: bool,
    /// First and last sample that saw it, ns since the load origin.
    pub first_ns: u64,
    pub last_ns: u64,
}

/// A lock the migration's session held.
#[derive(Debug, Clone)]
pub struct HeldLock {
    pub relation: String,
    pub mode: String,
    pub first_ns: u64,
    pub last_ns: u64,
}

/// What the sampler saw.
#[derive(Debug, Clone, Default)]
pub struct LockSamples {
    pub samples: u64,
    pub sample_ms: u64,
    pub waits: Vec<LockWait>,
    /// Waits seen beyond the kept ones (memory bound).
    pub waits_dropped: u64,
    pub held: Vec<HeldLock>,
    /// The first sampling error, if sampling stopped.
    pub error: Option<String>,
}

/// At most this many distinct waits are kept.
const MAX_WAITS: usize = 100_000;

const WAITS_SQL: &str = "SELECT a.pid, coalesce(a.query_start::text, ''), l.mode, \
     coalesce(l.relation::regclass::text, l.locktype), pg_blocking_pids(a.pid) \
     FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid AND NOT l.granted \
     WHERE a.datname = current_database() AND a.wait_event_type = 'Lock' AND a.pid <> pg_backend_pid()";

/// User relations only (OIDs from FirstNormalObjectId, 16384): the catalog rows every DDL
/// statement writes are not what traffic waits on.
const HELD_SQL: &str = "SELECT l.mode, coalesce(l.relation::regclass::text, l.relation::text) \
     FROM pg_locks l WHERE l.pid = $1 AND l.granted AND l.locktype = 'relation' \
     AND l.relation >= 16384::oid";

/// Samples into `out` until `stop`; `migration_pid` is 0 until the migration's session
/// exists. Every sample lands in `out` as it is taken, so an interrupted run keeps what was
/// seen.
pub async fn sample(
    conn: &mut PgConnection,
    every: Duration,
    migration_pid: &AtomicI32,
    stop: &AtomicBool,
    now_ns: impl Fn() -> u64,
    out: &mut LockSamples,
) {
    out.sample_ms = every.as_millis() as u64;
    // (pid, statement start, relation, mode) → index in out.waits
    let mut index: BTreeMap<(i32, String, String, String), usize> = BTreeMap::new();
    let mut held: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        let t = now_ns();
        let mig = migration_pid.load(Ordering::Relaxed);
        let rows = match sqlx::query(WAITS_SQL).fetch_all(&mut *conn).await {
            Ok(r) => r,
            Err(e) => {
                out.error = Some(format!("lock sampling stopped: {e}"));
                break;
            }
        };
        out.samples += 1;
        for r in rows {
            let pid: i32 = r.get(0);
            let key = (
                pid,
                r.get::<String, _>(1),
                r.get::<String, _>(3),
                r.get::<String, _>(2),
            );
            let blockers: Vec<i32> = r.get(4);
            match index.get(&key) {
                Some(&i) => {
                    let w = &mut out.waits[i];
                    w.last_ns = t;
                    w.by_migration |= mig != 0 && blockers.contains(&mig);
                }
                None if out.waits.len() < MAX_WAITS => {
                    index.insert(key.clone(), out.waits.len());
                    out.waits.push(LockWait {
                        pid,
                        relation: key.2,
                        mode: key.3,
                        by_migration: mig != 0 && blockers.contains(&mig),
                        migration_waiting: mig != 0 && pid == mig,
                        first_ns: t,
                        last_ns: t,
                    });
                }
                None => out.waits_dropped += 1,
            }
        }
        if mig != 0 {
            let rows = sqlx::query(HELD_SQL).bind(mig).fetch_all(&mut *conn).await;
            for r in rows.unwrap_or_default() {
                let key = (r.get::<String, _>(1), r.get::<String, _>(0));
                match held.get(&key) {
                    Some(&i) => out.held[i].last_ns = t,
                    None => {
                        held.insert(key.clone(), out.held.len());
                        out.held.push(HeldLock {
                            relation: key.0,
                            mode: key.1,
                            first_ns: t,
                            last_ns: t,
                        });
                    }
                }
            }
        }
    }
}
