//! The database-only fixture for criterion users: before/after databases as `querygate run`
//! prepares them, and nothing left behind when the holder panics. Its own test binary, so
//! that the leftover check sees only this process's clusters.

mod common;

use std::sync::Mutex;

use querygate::bench::BackendKind;
use querygate::Fixture;
use sqlx::postgres::PgConnectOptions;
use sqlx::ConnectOptions;

async fn has_index(opts: &PgConnectOptions, name: &str) -> bool {
    let mut c = opts
        .connect()
        .await
        .expect("fixture database accepts connections");
    sqlx::query_scalar("SELECT count(*) = 1 FROM pg_indexes WHERE indexname = $1")
        .bind(name)
        .fetch_one(&mut c)
        .await
        .unwrap()
}

#[test]
fn fixture_prepares_both_databases_and_is_removed_when_a_panic_unwinds() {
    let seen: Mutex<Option<PgConnectOptions>> = Mutex::new(None);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let db = Fixture::builder(common::root().join("tests/data/bench/items.toml"))
            .backend(BackendKind::Local)
            .scale(2_000)
            .quiet()
            .start()
            .unwrap_or_else(|e| panic!("fixture: {e:#}"));
        rt.block_on(async {
            assert!(!has_index(&db.before(), "items_category").await);
            assert!(has_index(&db.after(), "items_category").await);
            let mut c = db.before().connect().await.unwrap();
            let n: i64 = sqlx::query_scalar("SELECT count(*) FROM items")
                .fetch_one(&mut c)
                .await
                .unwrap();
            assert_eq!(n, 2_000, "seeded at the fixture's scale");
        });
        assert_eq!(common::leftover_clusters(std::process::id()).len(), 1);
        *seen.lock().unwrap() = Some(db.before());
        panic!("a benchmark panics while holding the fixture");
    }));
    assert!(unwound.is_err());
    let opts = seen.lock().unwrap().take().expect("the fixture started");
    let gone = rt.block_on(opts.connect());
    assert!(
        gone.is_err(),
        "the fixture's server still accepts connections"
    );
    assert_eq!(
        common::leftover_clusters(std::process::id()),
        Vec::<std::path::PathBuf>::new()
    );
    assert_eq!(
        common::leftover_postgres(std::process::id()),
        Vec::<String>::new()
    );
}
