//! Executing one side of an operation: the statements, bound, in a transaction when asked.
//! Preparing (type inference, located errors) uses sqlx. The timed loop of a run executes SQL
//! sides on the measuring connection ([`super::wire`], [`execute_measuring`]); load clients
//! and sides written in Rust execute through sqlx ([`execute`]).

use sha2::{Digest, Sha256};
use sqlx::postgres::{PgArguments, PgConnection, PgTypeInfo};
use sqlx::{Executor, Statement as _};

use super::params::{bind, Encoded, Kind};
use super::wire::{WireConn, WireError};
use crate::error::{Error, Located, Result};
use crate::scenario::code::Code;
use crate::scenario::{Mode, Operation, Scenario, SideSql, Value};

/// One side of an operation, with the bind kinds of each statement's placeholders.
#[derive(Debug, Clone)]
pub struct PreparedSide {
    pub statements: Vec<PreparedStatement>,
    /// BEGIN … COMMIT/ROLLBACK around the statements.
    pub transaction: bool,
    pub rollback: bool,
    /// Rust code instead of statements (`statements` is then empty): see `measure::code`.
    pub code: Option<Code>,
}

#[derive(Debug, Clone)]
pub struct PreparedStatement {
    pub sql: String,
    pub kinds: Vec<Kind>,
    /// The parameter types the server inferred (checked again on each measuring connection).
    pub oids: Vec<u32>,
    /// The server-side name on a measuring connection: derived from the text, so a statement
    /// used by several operations is prepared once.
    pub name: String,
}

impl PreparedStatement {
    pub fn new(sql: &str, kinds: Vec<Kind>, oids: Vec<u32>) -> Self {
        let digest = Sha256::digest(sql.as_bytes());
        PreparedStatement {
            sql: sql.to_string(),
            kinds,
            oids,
            name: format!("qg_{}", hex::encode(&digest[..12])),
        }
    }

    /// Prepares the statement on a measuring connection; the server must infer the same
    /// parameter types as when the statement was checked.
    pub fn prepare_on(&self, conn: &mut WireConn) -> std::result::Result<(), WireError> {
        match conn.prepare(&self.name, &self.sql)? {
            Some(oids) if oids != self.oids => Err(WireError::Protocol(format!(
                "the server inferred parameter types {oids:?} on the measuring connection, \
                 {:?} before",
                self.oids
            ))),
            _ => Ok(()),
        }
    }
}

/// Where a failure happened, for messages that name the operation and statement.
#[derive(Debug)]
pub struct ExecError {
    pub statement: usize,
    pub error: Failure,
    /// Set when a drawn value could not be bound: a scenario error (the generator), not the
    /// server's.
    pub bind: Option<BindError>,
}

/// What failed: a sqlx call (preparing, load clients, Rust code) or the measuring connection.
#[derive(Debug)]
pub enum Failure {
    Sqlx(sqlx::Error),
    /// Boxed: a server error's fields would make every `Result` of the timed loop large.
    Wire(Box<WireError>),
}

impl Failure {
    /// The server's SQLSTATE, when the server refused the statement.
    pub fn sqlstate(&self) -> Option<String> {
        match self {
            Failure::Sqlx(sqlx::Error::Database(db)) => db.code().map(|c| c.into_owned()),
            Failure::Wire(w) => match &**w {
                WireError::Db(db) => Some(db.code.clone()),
                _ => None,
            },
            _ => None,
        }
    }

    /// The server's words (message, detail, SQLSTATE) or the client's, for messages.
    pub fn describe(&self) -> String {
        match self {
            Failure::Sqlx(e) => {
                crate::pg::pg_error_parts(e).map_or_else(|| e.to_string(), |(m, _)| m)
            }
            Failure::Wire(e) => e.to_string(),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Self {
        Failure::Sqlx(e)
    }
}

impl From<WireError> for Failure {
    fn from(e: WireError) -> Self {
        Failure::Wire(Box::new(e))
    }
}

/// A parameter value that does not fit the type the server inferred for its placeholder.
#[derive(Debug, Clone)]
pub struct BindError {
    /// 0-based: placeholder `$param+1`.
    pub param: usize,
    pub message: String,
}

/// Prepares each statement on `conn` (so the server infers parameter types and the statement
/// is cached on this connection) and decides how to bind each placeholder.
pub async fn prepare_side(
    conn: &mut PgConnection,
    scenario: &Scenario,
    op: &Operation,
    side: &SideSql,
    side_name: &str,
) -> Result<PreparedSide> {
    let rollback = op.mode == Mode::Rollback;
    if let Some(code) = &side.code {
        return Ok(PreparedSide {
            statements: vec![],
            transaction: false,
            rollback,
            code: Some(code.clone()),
        });
    }
    let mut statements = Vec::new();
    for st in &side.statements {
        let prepared = conn.prepare(st.sql.as_str()).await.map_err(|e| {
            match crate::pg::pg_error_parts(&e) {
                Some((message, pos)) => {
                    // The server's position is inside the statement, a string in the scenario file:
                    // point there (exact for strings without escapes), else at the string.
                    let offset = pos.map_or(st.span.start, |p| {
                        st.span.start + 1 + crate::pg::char_to_byte(&st.sql, p)
                    });
                    let text = format!(
                        "operation `{}` ({side_name}): {message}\n  statement: {}",
                        op.name, st.sql
                    );
                    Error::Scenario(Located::at(
                        &scenario.path,
                        &scenario.text,
                        offset.min(st.span.end),
                        text,
                    ))
                }
                None => Error::Infra(anyhow::Error::new(e).context(format!(
                    "cannot prepare a statement of operation `{}`",
                    op.name
                ))),
            }
        })?;
        let types: Vec<PgTypeInfo> = match prepared.parameters() {
            Some(either::Either::Left(types)) => types.to_vec(),
            _ => vec![],
        };
        let kinds = types
            .iter()
            .enumerate()
            .map(|(i, t)| {
                Kind::of(t).map_err(|why| {
                    Error::Scenario(Located::at(
                        &scenario.path,
                        &scenario.text,
                        st.span.start,
                        format!(
                            "operation `{}` ({side_name}), parameter ${}: {why}",
                            op.name,
                            i + 1
                        ),
                    ))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let oids = types.iter().map(|t| t.oid().map_or(0, |o| o.0)).collect();
        statements.push(PreparedStatement::new(&st.sql, kinds, oids));
    }
    Ok(PreparedSide {
        statements,
        transaction: side.transaction || rollback,
        rollback,
        code: None,
    })
}

/// The calibration statement, `SELECT 1`: the cost of a round trip on this connection.
pub async fn calibration_side(conn: &mut PgConnection) -> Result<PreparedSide> {
    conn.prepare(CALIBRATION_SQL)
        .await
        .map_err(|e| Error::Infra(e.into()))?;
    Ok(PreparedSide {
        statements: vec![PreparedStatement::new(CALIBRATION_SQL, vec![], vec![])],
        transaction: false,
        rollback: false,
        code: None,
    })
}

pub const CALIBRATION_SQL: &str = "SELECT 1";

/// Binds the first `kinds.len()` values.
pub fn arguments(
    st: &PreparedStatement,
    values: &[Value],
) -> std::result::Result<PgArguments, BindError> {
    let mut args = PgArguments::default();
    for (i, kind) in st.kinds.iter().enumerate() {
        let v = values.get(i).ok_or_else(|| BindError {
            param: i,
            message: format!("no value for parameter ${}", i + 1),
        })?;
        bind(&mut args, v, *kind).map_err(|e| BindError {
            param: i,
            message: format!("parameter ${} (type {}): {e}", i + 1, kind.pg_name()),
        })?;
    }
    Ok(args)
}

/// Runs the side once, discarding rows (they are still transferred and read), or calls its
/// Rust code.
pub async fn execute(
    conn: &mut PgConnection,
    side: &PreparedSide,
    values: &[Value],
) -> std::result::Result<(), ExecError> {
    if let Some(code) = &side.code {
        return super::code::execute(code, conn, values, side.rollback).await;
    }
    if side.transaction {
        conn.execute("BEGIN").await.map_err(|error| ExecError {
            statement: 0,
            error: error.into(),
            bind: None,
        })?;
    }
    for (i, st) in side.statements.iter().enumerate() {
        let args = arguments(st, values).map_err(|b| ExecError {
            statement: i,
            error: sqlx::Error::Protocol(b.message.clone()).into(),
            bind: Some(b),
        })?;
        if let Err(error) = sqlx::query_with(st.sql.as_str(), args)
            .execute(&mut *conn)
            .await
        {
            if side.transaction {
                let _ = conn.execute("ROLLBACK").await;
            }
            return Err(ExecError {
                statement: i,
                error: error.into(),
                bind: None,
            });
        }
    }
    if side.transaction {
        let end = if side.rollback { "ROLLBACK" } else { "COMMIT" };
        conn.execute(end).await.map_err(|error| ExecError {
            statement: side.statements.len(),
            error: error.into(),
            bind: None,
        })?;
    }
    Ok(())
}

/// The oid of `json` (as opposed to `jsonb`): sqlx's JSON encoding starts with jsonb's version
/// byte, which it patches to a space for `json` parameters; so does [`encode`].
const JSON_OID: u32 = 114;

/// Each statement's parameters of one execution, encoded for the measuring connection
/// (outside the timed region).
pub fn encode(
    side: &PreparedSide,
    values: &[Value],
) -> std::result::Result<Vec<Encoded>, ExecError> {
    side.statements
        .iter()
        .enumerate()
        .map(|(i, st)| {
            let mut enc = Encoded::default();
            for (k, kind) in st.kinds.iter().enumerate() {
                let fail = |message: String| ExecError {
                    statement: i,
                    error: WireError::Protocol(message.clone()).into(),
                    bind: Some(BindError { param: k, message }),
                };
                let v = values
                    .get(k)
                    .ok_or_else(|| fail(format!("no value for parameter ${}", k + 1)))?;
                bind(&mut enc, v, *kind).map_err(|e| {
                    fail(format!(
                        "parameter ${} (type {}): {e}",
                        k + 1,
                        kind.pg_name()
                    ))
                })?;
                if let (Some(JSON_OID), Some(Some(bytes))) =
                    (st.oids.get(k).copied(), enc.0.last_mut())
                {
                    bytes[0] = b' ';
                }
            }
            Ok(enc)
        })
        .collect()
}

/// Runs a SQL side once on a measuring connection, reading and discarding every row. On an
/// error inside a transaction, the transaction is rolled back before returning.
pub fn execute_measuring(
    conn: &mut WireConn,
    side: &PreparedSide,
    params: &[Encoded],
) -> std::result::Result<(), ExecError> {
    let fail = |statement| {
        move |error: WireError| ExecError {
            statement,
            error: error.into(),
            bind: None,
        }
    };
    if side.transaction {
        conn.simple("BEGIN").map_err(fail(0))?;
    }
    for (i, (st, p)) in side.statements.iter().zip(params).enumerate() {
        if let Err(error) = conn.execute(&st.name, &p.0) {
            if side.transaction {
                let _ = conn.simple("ROLLBACK");
            }
            return Err(fail(i)(error));
        }
    }
    if side.transaction {
        let end = if side.rollback { "ROLLBACK" } else { "COMMIT" };
        conn.simple(end).map_err(fail(side.statements.len()))?;
    }
    Ok(())
}
