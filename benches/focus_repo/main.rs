//! The focus repository measured through querygate's Rust API: the real functions, old and new,
//! on the data, migration, parameters and claims of scenarios/focus_sessions.toml.
//!
//! ```text
//! cargo bench --bench focus_repo -- --backend local --out results/focus_repo.json
//! cargo bench --bench focus_repo -- add_track          # only operations whose name matches
//! ```

mod repo;

use std::process::ExitCode;

use querygate::bench::{after, before, both, Bench, Params};
use sqlx::PgConnection;

// Adapters: a row of the scenario's parameters → the repository's typed arguments.

async fn get_active_session(
    c: &mut PgConnection,
    p: &Params,
) -> sqlx::Result<Option<repo::FocusSession>> {
    repo::get_active_session(c, p.i64(0)).await
}

async fn list_old(c: &mut PgConnection, p: &Params) -> sqlx::Result<repo::Page> {
    repo::old::list_sessions(c, p.i64(0), p.i64(1)).await
}

async fn list_new(c: &mut PgConnection, p: &Params) -> sqlx::Result<repo::Page> {
    repo::new::list_sessions(c, p.i64(0), p.i64(1)).await
}

async fn delete_old(c: &mut PgConnection, p: &Params) -> sqlx::Result<bool> {
    repo::old::delete_library(c, p.i64(0)).await
}

async fn delete_new(c: &mut PgConnection, p: &Params) -> sqlx::Result<bool> {
    repo::new::delete_library(c, p.i64(0)).await
}

async fn add_track_old(c: &mut PgConnection, p: &Params) -> sqlx::Result<()> {
    repo::old::add_track(c, p.i64(0), &p.text(1), &p.text(2), p.i32(3)).await
}

async fn add_track_new(c: &mut PgConnection, p: &Params) -> sqlx::Result<()> {
    repo::new::add_track(c, p.i64(0), &p.text(1), &p.text(2), p.i32(3)).await
}

async fn complete_old(
    c: &mut PgConnection,
    p: &Params,
) -> sqlx::Result<Option<repo::CompletedSession>> {
    repo::old::complete_session(c, p.i64(0)).await
}

async fn complete_new(
    c: &mut PgConnection,
    p: &Params,
) -> sqlx::Result<Option<repo::CompletedSession>> {
    repo::new::complete_session(c, p.i64(0)).await
}

fn main() -> ExitCode {
    Bench::from_scenario("scenarios/focus_sessions.toml")
        .operation("get_active_session", both(get_active_session))
        .operation(
            "list_sessions_paginated",
            (before(list_old), after(list_new)),
        )
        .operation("delete_library", before(delete_old).after(delete_new))
        .operation("add_track", before(add_track_old).after(add_track_new))
        .operation("complete_session", before(complete_old).after(complete_new))
        .run()
}
