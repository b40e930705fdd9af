//! Executing one side of an operation: the statements, bound, in a transaction when asked.

use sqlx::postgres::{PgArguments, PgConnection, PgTypeInfo};
use sqlx::{Executor, Statement as _};

use super::params::{bind, Kind};
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
}

/// Where a failure happened, for messages that name the operation and statement.
#[derive(Debug)]
pub struct ExecError {
    pub statement: usize,
    pub error: sqlx::Error,
    /// Set when a drawn value could not be bound: a scenario error (the generator), not the
    /// server's.
    pub bind: Option<BindError>,
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
        statements.push(PreparedStatement {
            sql: st.sql.clone(),
            kinds,
        });
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
        statements: vec![PreparedStatement {
            sql: CALIBRATION_SQL.into(),
            kinds: vec![],
        }],
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
            error,
            bind: None,
        })?;
    }
    for (i, st) in side.statements.iter().enumerate() {
        let args = arguments(st, values).map_err(|b| ExecError {
            statement: i,
            error: sqlx::Error::Protocol(b.message.clone()),
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
                error,
                bind: None,
            });
        }
    }
    if side.transaction {
        let end = if side.rollback { "ROLLBACK" } else { "COMMIT" };
        conn.execute(end).await.map_err(|error| ExecError {
            statement: side.statements.len(),
            error,
            bind: None,
        })?;
    }
    Ok(())
}
