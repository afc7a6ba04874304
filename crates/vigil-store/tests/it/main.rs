//! vigil-store integration tests: one story on SQLite every time, and on PostgreSQL when
//! `VIGIL_TEST_DATABASE_URL` is set (STYLE.md, as atuin's tests-database). Under `CI=true`
//! a missing PostgreSQL URL fails the test instead of skipping it.

#![allow(clippy::print_stderr)] // tests say why they skip

mod platform;
mod platform_policy;
mod story;

use std::time::{SystemTime, UNIX_EPOCH};

use vigil_store::{Database, Location, open};

/// A fresh database on each backend in turn (PostgreSQL when a URL is set; under `CI=true`
/// a missing URL fails). The SQLite file is in a directory that does not exist yet.
pub(crate) fn on_both_backends(test: &str, story: impl AsyncFn(Box<dyn Database>)) {
    rt().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let db = open(&Location::Sqlite(dir.path().join("nested/vigil.db")))
            .await
            .unwrap();
        story(db).await;
        if let Some(loc) = fresh_postgres(test).await {
            let db = open(&loc).await.unwrap();
            story(db).await;
            drop_postgres(&loc).await;
        }
    });
}

pub(crate) fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

pub(crate) async fn fresh_postgres(test: &str) -> Option<Location> {
    let Ok(url) = std::env::var("VIGIL_TEST_DATABASE_URL") else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "VIGIL_TEST_DATABASE_URL is not set (start one with scripts/pg-test-server.sh)"
        );
        eprintln!("skipping the PostgreSQL run of {test}: VIGIL_TEST_DATABASE_URL is not set");
        return None;
    };
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    let name = format!(
        "vigil_{test}_{}_{}",
        std::process::id(),
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .unwrap();
    let (base, _) = url.rsplit_once('/').unwrap();
    Some(Location::Postgres(format!("{base}/{name}")))
}

/// Drops a database that [`fresh_postgres`] made (after a passing test: a failing one keeps
/// its database to look at), so that a test run does not keep a hundred of them on disk.
/// `FORCE` ends connections that a dropped pool has not closed yet.
pub(crate) async fn drop_postgres(location: &Location) {
    let (Location::Postgres(db_url), Ok(url)) =
        (location, std::env::var("VIGIL_TEST_DATABASE_URL"))
    else {
        return;
    };
    use sqlx::Connection;
    let (_, name) = db_url.rsplit_once('/').unwrap();
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await
    .unwrap();
}
