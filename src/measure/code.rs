//! One measured execution of a side written in Rust (`scenario::code::Code`).

use sqlx::postgres::PgConnection;
use sqlx::Connection;

use super::exec::ExecError;
use crate::scenario::code::Code;
use crate::scenario::Value;

/// Calls the function once. In rollback mode the call runs inside a transaction that is
/// rolled back (the function's own transactions become savepoints).
pub async fn execute(
    code: &Code,
    conn: &mut PgConnection,
    values: &[Value],
    rollback: bool,
) -> Result<(), ExecError> {
    if !rollback {
        return code.run(conn, values).await.map_err(code_error);
    }
    let mut tx = conn.begin().await.map_err(|error| ExecError {
        statement: 0,
        error: error.into(),
        bind: None,
    })?;
    let result = code.run(&mut tx, values).await.map_err(code_error);
    tx.rollback().await.map_err(|error| ExecError {
        statement: 0,
        error: error.into(),
        bind: None,
    })?;
    result
}

/// A failure inside the function: a database error stays one (so messages show the server's
/// words); anything else is carried as text.
fn code_error(e: anyhow::Error) -> ExecError {
    let error = match e.downcast::<sqlx::Error>() {
        Ok(sqlx) => sqlx,
        Err(other) => sqlx::Error::Protocol(format!("{other:#}")),
    };
    ExecError {
        statement: 0,
        error: error.into(),
        bind: None,
    }
}
