//! The measuring connection (`measure::wire`) against a real server: parameters bound with the
//! server's inferred types byte for byte as sqlx binds them, rows read, transactions and
//! rollback, errors with their SQLSTATE (the connection stays usable), statement_timeout, TCP
//! and unix socket.

use std::time::Duration;

use querygate::measure::exec::PreparedStatement;
use querygate::measure::params::{bind, Kind};
use querygate::measure::{encode, execute_measuring as execute, PreparedSide, Target, WireConn};
use querygate::provision::{local, pinned_settings, Server};
use querygate::scenario::Value;
use sqlx::postgres::{PgArguments, PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Executor, Statement};

async fn server() -> local::LocalServer {
    local::LocalServer::start(
        local::find_bindir(None).unwrap(),
        pinned_settings(),
        "test".into(),
    )
    .await
    .unwrap()
}

/// A side of one statement, its parameter kinds inferred by the server (as `prepare_side` does).
async fn side(
    conn: &mut PgConnection,
    sql: &str,
    transaction: bool,
    rollback: bool,
) -> PreparedSide {
    let st = conn.prepare(sql).await.unwrap();
    let types = match st.parameters() {
        Some(either::Either::Left(t)) => t.to_vec(),
        _ => vec![],
    };
    PreparedSide {
        statements: vec![PreparedStatement::new(
            sql,
            types.iter().map(|t| Kind::of(t).unwrap()).collect(),
            types.iter().map(|t| t.oid().unwrap().0).collect(),
        )],
        transaction,
        rollback,
        code: None,
    }
}

fn wire(opts: &PgConnectOptions, side: &PreparedSide) -> WireConn {
    let mut w = WireConn::connect(&Target::from_options(opts, Duration::from_secs(60))).unwrap();
    for st in &side.statements {
        st.prepare_on(&mut w).unwrap();
    }
    w
}

async fn count(conn: &mut PgConnection, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(conn).await.unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn measuring_connection_binds_reads_and_fails_like_sqlx() {
    let server = server().await;
    let opts = server.admin_options();
    let mut conn = opts.connect().await.unwrap();
    conn.execute(
        "CREATE TABLE t (src text, b bool, i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, \
         n numeric, s text, u uuid, tz timestamptz, ts timestamp, d date, j json, jb jsonb); \
         CREATE TABLE w (id int)",
    )
    .await
    .unwrap();

    // Every kind, bound by sqlx and by the measuring connection: the same rows.
    let insert =
        "INSERT INTO t VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)";
    let all = side(&mut conn, insert, false, false).await;
    let values = |src: &str| {
        vec![
            Value::Text(src.into()),
            Value::Text("t".into()),
            Value::Int(7),
            Value::Int(70_000),
            Value::Text("9000000000".into()),
            Value::Float(1.5),
            Value::Float(-2.25),
            Value::Text("12.345".into()),
            Value::Text("héllo".into()),
            Value::Text("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11".into()),
            Value::Text("2026-01-17 10:00:00.5+00".into()),
            Value::Text("2026-01-17 10:00:00".into()),
            Value::Text("2026-01-17".into()),
            Value::Text("{\"a\": [1, 2]}".into()),
            Value::Text("{\"a\": [1, 2]}".into()),
        ]
    };
    let mut args = PgArguments::default();
    for (v, k) in values("sqlx").iter().zip(&all.statements[0].kinds) {
        bind(&mut args, v, *k).unwrap();
    }
    sqlx::query_with(insert, args)
        .execute(&mut conn)
        .await
        .unwrap();
    let mut w = wire(&opts, &all);
    execute(&mut w, &all, &encode(&all, &values("wire")).unwrap()).unwrap();
    let same = "SELECT count(*) FROM (SELECT DISTINCT b, i2, i4, i8, f4, f8, n, s, u, tz, ts, d, \
                j::text, jb FROM t) x";
    assert_eq!(count(&mut conn, "SELECT count(*) FROM t").await, 2);
    assert_eq!(
        count(&mut conn, same).await,
        1,
        "sqlx and the wire bind alike"
    );
    // NULLs.
    let nulls = vec![Value::Null; 15];
    execute(&mut w, &all, &encode(&all, &nulls).unwrap()).unwrap();
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) FROM t WHERE i4 IS NULL AND j IS NULL"
        )
        .await,
        1
    );
    // A value the kind cannot take is refused before anything is sent.
    let mut bad = values("bad");
    bad[3] = Value::Text("x".into());
    let e = encode(&all, &bad).unwrap_err();
    assert_eq!(e.statement, 0);
    assert!(e.error.to_string().contains("parameter $4"), "{}", e.error);

    // Many rows are read to the end: the next exchange is in step.
    let many = side(
        &mut conn,
        "SELECT g, repeat('x', 100) FROM generate_series(1, $1) g",
        false,
        false,
    )
    .await;
    let mut w = wire(&opts, &many);
    execute(
        &mut w,
        &many,
        &encode(&many, &[Value::Int(200_000)]).unwrap(),
    )
    .unwrap();
    execute(&mut w, &many, &encode(&many, &[Value::Int(1)]).unwrap()).unwrap();

    // Transactions: rollback leaves nothing, commit keeps the row.
    let ins = "INSERT INTO w VALUES ($1)";
    let rolled = side(&mut conn, ins, true, true).await;
    let committed = side(&mut conn, ins, true, false).await;
    let mut w = wire(&opts, &rolled);
    execute(&mut w, &rolled, &encode(&rolled, &[Value::Int(1)]).unwrap()).unwrap();
    assert_eq!(count(&mut conn, "SELECT count(*) FROM w").await, 0);
    execute(
        &mut w,
        &committed,
        &encode(&committed, &[Value::Int(2)]).unwrap(),
    )
    .unwrap();
    assert_eq!(
        count(&mut conn, "SELECT count(*) FROM w WHERE id = 2").await,
        1
    );

    // An error carries its SQLSTATE, inside a transaction it is rolled back, and the
    // connection goes on.
    let div = side(&mut conn, "SELECT 1 / $1", true, false).await;
    let mut w = wire(&opts, &div);
    let e = execute(&mut w, &div, &encode(&div, &[Value::Int(0)]).unwrap()).unwrap_err();
    assert_eq!(e.statement, 0);
    assert_eq!(e.error.sqlstate().as_deref(), Some("22012"));
    assert!(
        e.error.describe().contains("division by zero"),
        "{}",
        e.error.describe()
    );
    execute(&mut w, &div, &encode(&div, &[Value::Int(2)]).unwrap()).unwrap();

    // statement_timeout from the connection options, over the unix socket.
    let sleepy_opts = opts
        .clone()
        .socket(server.socket_dir())
        .options([("statement_timeout", "200")]);
    let sleepy = side(&mut conn, "SELECT pg_sleep($1)", false, false).await;
    let mut w = wire(&sleepy_opts, &sleepy);
    let e = execute(
        &mut w,
        &sleepy,
        &encode(&sleepy, &[Value::Float(5.0)]).unwrap(),
    )
    .unwrap_err();
    assert_eq!(
        e.error.sqlstate().as_deref(),
        Some("57014"),
        "{}",
        e.error.describe()
    );
    execute(
        &mut w,
        &sleepy,
        &encode(&sleepy, &[Value::Float(0.0)]).unwrap(),
    )
    .unwrap();

    drop((w, conn));
    Box::new(server).shutdown().await.unwrap();
}
