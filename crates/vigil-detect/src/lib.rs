//! vigil-detect: see crates/README.md
