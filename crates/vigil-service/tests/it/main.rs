//! vigil-service against the real store: SQLite every time, PostgreSQL when
//! `VIGIL_TEST_DATABASE_URL` is set (a fresh database per run; under `CI=true` a missing URL
//! fails). The CLI tests (crates/vigil/tests/it/{gate,ci,platform}.rs) cover the rest end
//! to end on the real test images.

mod ci;
