//! vigil-matcher: see crates/README.md
