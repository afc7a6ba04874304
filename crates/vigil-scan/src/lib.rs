//! vigil-scan: see crates/README.md
