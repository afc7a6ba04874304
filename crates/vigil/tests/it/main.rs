//! Integration tests of the `vigil` binary: one module per area (STYLE.md).

mod common;
mod db;
mod inventory;
mod lang_findings;
mod sbom;
mod scan;
