//! The EXPLAIN pass, separate from timing: plans, buffers, rows and result checksums.
//!
//! Every statement of a side runs under `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)` inside a
//! transaction that is rolled back (writes leave no trace; later statements see the earlier
//! ones' effects, as in the real operation). A second rolled-back pass executes the statements
//! themselves and hashes the rows they return.

pub mod capture;
pub mod signature;

use futures::TryStreamExt;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};
use sqlx::postgres::PgConnection;
use sqlx::{Executor, Row};

pub use signature::{facts, node_signature, PlanFacts};

use crate::measure::exec::{arguments, PreparedSide};
use crate::scenario::Value;

/// What the EXPLAIN pass learned about one statement.
#[derive(Debug, Clone)]
pub struct StatementPlan {
    pub sql: String,
    pub plan: Json,
    pub facts: PlanFacts,
    /// Rows the statement returned (SELECT, or RETURNING) in the checksum pass.
    pub rows_returned: u64,
    /// Rows affected, for writes.
    pub rows_affected: u64,
    pub checksum: u64,
    /// For a side written in Rust, on its last statement: the digest of the value its function
    /// returned. The side's result is that value alone (see [`side_digest`]).
    pub returned: Option<u64>,
}

/// An order-insensitive digest of a multiset of rows: the wrapping sum of per-row SHA-256
/// prefixes over the columns' wire bytes (NULL distinct from empty).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResultDigest {
    pub rows: u64,
    pub sum: u64,
}

impl ResultDigest {
    pub fn add_row(&mut self, columns: &[Option<&[u8]>]) {
        let mut h = Sha256::new();
        for c in columns {
            match c {
                None => h.update([0u8]),
                Some(b) => {
                    h.update([1u8]);
                    h.update((b.len() as u64).to_le_bytes());
                    h.update(b);
                }
            }
        }
        let d = h.finalize();
        self.sum = self
            .sum
            .wrapping_add(u64::from_le_bytes(d[..8].try_into().expect("8 bytes")));
        self.rows += 1;
    }

    pub fn merge(&mut self, other: ResultDigest) {
        self.rows += other.rows;
        self.sum = self.sum.wrapping_add(other.sum);
    }

    /// `rows:hex`, the form stored in results files.
    pub fn render(&self) -> String {
        format!("{}:{:016x}", self.rows, self.sum)
    }
}

/// Explains and checksums each statement of `side` with parameter `values`. A side written
/// in Rust runs once under auto_explain instead (`capture`).
pub async fn explain_side(
    conn: &mut PgConnection,
    side: &PreparedSide,
    values: &[Value],
) -> anyhow::Result<Vec<StatementPlan>> {
    if let Some(code) = &side.code {
        return capture::explain_code(conn, code, values).await;
    }
    // The results first, then the plans, each in a transaction rolled back: the first run warms
    // the session's caches (relation and function lookups, a PL/pgSQL function's compilation),
    // so the plan's buffer counts are the steady state the rounds measure, not a cold session's
    // catalog reads (a CHECK calling a PL/pgSQL function read 15 → 47 blocks cold, 15 warm).
    let mut out: Vec<StatementPlan> = side
        .statements
        .iter()
        .map(|st| StatementPlan {
            sql: st.sql.clone(),
            plan: Json::Null,
            facts: Default::default(),
            rows_returned: 0,
            rows_affected: 0,
            checksum: 0,
            returned: None,
        })
        .collect();
    conn.execute("BEGIN").await?;
    let checked = async {
        for (st, plan) in side.statements.iter().zip(out.iter_mut()) {
            let args = arguments(st, values).map_err(|b| anyhow::Error::msg(b.message))?;
            let mut digest = ResultDigest::default();
            // fetch_many is deprecated for multi-statement queries; here it is one statement,
            // and it is the one call that yields both the rows and the affected count.
            #[allow(deprecated)]
            let mut stream = sqlx::query_with(st.sql.as_str(), args).fetch_many(&mut *conn);
            while let Some(item) = stream.try_next().await? {
                match item {
                    either::Either::Left(done) => plan.rows_affected += done.rows_affected(),
                    either::Either::Right(row) => {
                        let cols: Vec<Option<&[u8]>> = (0..row.len())
                            .map(|i| {
                                row.try_get_raw(i).ok().and_then(|v| {
                                    if sqlx::ValueRef::is_null(&v) {
                                        None
                                    } else {
                                        v.as_bytes().ok()
                                    }
                                })
                            })
                            .collect();
                        digest.add_row(&cols);
                    }
                }
            }
            plan.rows_returned = digest.rows;
            plan.checksum = digest.sum;
        }
        anyhow::Ok(())
    }
    .await;
    conn.execute("ROLLBACK").await?;
    checked?;

    conn.execute("BEGIN").await?;
    let explained = async {
        for (st, out) in side.statements.iter().zip(out.iter_mut()) {
            let args = arguments(st, values).map_err(|b| anyhow::Error::msg(b.message))?;
            let sql = format!(
                "EXPLAIN (ANALYZE, BUFFERS, VERBOSE, FORMAT JSON) {}",
                st.sql
            );
            let row = sqlx::query_with(&sql, args).fetch_one(&mut *conn).await?;
            out.plan = row.try_get::<sqlx::types::Json<Json>, _>(0)?.0;
            out.facts = facts(&out.plan).unwrap_or_default();
        }
        anyhow::Ok(())
    }
    .await;
    conn.execute("ROLLBACK").await?;
    explained?;
    Ok(out)
}

/// The digest of everything a side returned: the rows of its statements, or, for a side
/// written in Rust, the value its function returned (one value: `rows` 1). What the Rust
/// function's statements returned on the way is not its result: old code that reads a row
/// back after updating it and new code that gets it from `UPDATE … RETURNING` return the same.
pub fn side_digest(plans: &[StatementPlan]) -> ResultDigest {
    if let Some(sum) = plans.iter().find_map(|p| p.returned) {
        return ResultDigest { rows: 1, sum };
    }
    let mut d = ResultDigest::default();
    for p in plans {
        d.merge(ResultDigest {
            rows: p.rows_returned,
            sum: p.checksum,
        });
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_ignores_row_order_but_not_content() {
        let (a, b): (&[u8], &[u8]) = (b"1", b"2");
        let mut x = ResultDigest::default();
        x.add_row(&[Some(a), None]);
        x.add_row(&[Some(b), Some(a)]);
        let mut y = ResultDigest::default();
        y.add_row(&[Some(b), Some(a)]);
        y.add_row(&[Some(a), None]);
        assert_eq!(x, y);
        let mut z = ResultDigest::default();
        z.add_row(&[Some(a), Some(b"")]);
        z.add_row(&[Some(b), Some(a)]);
        assert_ne!(x, z, "NULL and empty differ");
    }

    #[test]
    fn a_rust_side_s_result_is_the_value_it_returned() {
        let entry = |rows_returned, returned: Option<u64>| StatementPlan {
            sql: String::new(),
            plan: Json::Null,
            facts: PlanFacts::default(),
            rows_returned,
            rows_affected: 0,
            checksum: returned.unwrap_or(0),
            returned,
        };
        // Old: SELECT, UPDATE, UPDATE, SELECT back (2 rows on the way); new: UPDATE … RETURNING,
        // UPDATE, COMMIT (1 row). The same value returned.
        let old = [
            entry(1, None),
            entry(0, None),
            entry(0, None),
            entry(1, Some(7)),
        ];
        let new = [entry(1, None), entry(0, None), entry(0, Some(7))];
        assert_eq!(side_digest(&old), side_digest(&new));
        assert_eq!(side_digest(&new).render(), "1:0000000000000007");
        assert_ne!(side_digest(&old), side_digest(&[entry(1, Some(8))]));
    }
}
