//! vigil-image: see crates/README.md
