//! `vigil` CLI integration tests: the built binary on real inputs (STYLE.md: one
//! integration binary, a module per area).

#![allow(clippy::print_stderr)] // tests say why they skip

mod db;
