//! vigil-version: see crates/README.md
