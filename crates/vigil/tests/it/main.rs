//! Integration tests of the `vigil` binary: one module per area (STYLE.md).

mod common;
mod inventory;
mod scan;
