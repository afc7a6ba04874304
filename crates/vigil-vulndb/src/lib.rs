//! vigil-vulndb: see crates/README.md
