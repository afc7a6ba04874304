//! vigil-store integration tests: one story on SQLite every time, and on PostgreSQL when
//! `VIGIL_TEST_DATABASE_URL` is set (STYLE.md, as atuin's tests-database). Under `CI=true`
//! a missing PostgreSQL URL fails the test instead of skipping it.

#![allow(clippy::print_stderr)] // tests say why they skip

mod platform;
mod platform_policy;
mod story;
