//! The harness's own costs. `cargo bench --bench harness`
//! - `execute/select_1_measuring`: one prepared `SELECT 1` through `measure::execute_measuring`
//!   on a measuring connection (what a measured execution costs end to end, round trip
//!   included) against a local ephemeral server;
//! - `execute/select_1`: the same through `measure::execute` (sqlx: load clients, Rust code);
//! - `execute/raw_sqlx`: the same statement through plain sqlx, for the difference;
//! - `params/draw`: drawing generator parameters (outside the timed region in a run);
//! - `stats/hodges_lehmann_100`: the interval for 100 rounds.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sqlx::{ConnectOptions, Executor};

use querygate::measure::{
    calibration_side, encode, execute, execute_measuring, ParamSource, Target, WireConn,
};
use querygate::provision::{local, pinned_settings, Server};
use querygate::scenario::expr::compile;

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = rt
        .block_on(local::LocalServer::start(
            local::find_bindir(None).unwrap(),
            pinned_settings(),
            "bench".into(),
        ))
        .unwrap();
    let mut conn = rt.block_on(server.admin_options().connect()).unwrap();
    let side = rt.block_on(calibration_side(&mut conn)).unwrap();
    let target = Target::from_options(&server.admin_options(), std::time::Duration::from_secs(60));
    let mut wire = WireConn::connect(&target).unwrap();
    side.statements[0].prepare_on(&mut wire).unwrap();
    let encoded = encode(&side, &[]).unwrap();
    c.bench_function("execute/select_1_measuring", |b| {
        b.iter(|| execute_measuring(&mut wire, &side, &encoded).unwrap())
    });
    drop(wire);
    c.bench_function("execute/select_1", |b| {
        b.iter(|| rt.block_on(execute(&mut conn, &side, &[])).unwrap())
    });
    c.bench_function("execute/raw_sqlx", |b| {
        b.iter(|| rt.block_on(async { sqlx::query("SELECT 1").execute(&mut conn).await.unwrap() }))
    });
    rt.block_on(conn.execute("SELECT 1")).unwrap();

    let vars = [(
        "scale".to_string(),
        querygate::scenario::Value::Int(100_000),
    )]
    .into_iter()
    .collect();
    let params = ParamSource::Generated(vec![
        compile("random(1, :scale)", &vars).unwrap(),
        compile("random_zipfian(1, 1000, 1.2)", &vars).unwrap(),
    ]);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    c.bench_function("params/draw", |b| {
        b.iter(|| black_box(params.draw(&mut rng)))
    });

    let d: Vec<f64> = (0..100).map(|i| (i as f64 * 0.37).sin()).collect();
    c.bench_function("stats/hodges_lehmann_100", |b| {
        b.iter(|| black_box(querygate::analysis::stats::hodges_lehmann(&d, 0.95)))
    });
    drop(conn);
    rt.block_on(Box::new(server).shutdown()).unwrap();
}

criterion_group!(harness, benches);
criterion_main!(harness);
