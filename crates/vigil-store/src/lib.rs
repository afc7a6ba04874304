//! vigil-store: see crates/README.md
