//! Integration tests of the `vigil` binary: one module per area (STYLE.md).

mod admission;
mod ci;
mod clair;
mod common;
mod db;
mod gate;
mod integrations;
mod inventory;
mod lang_findings;
mod notify;
mod platform;
mod rematch;
mod sbom;
mod scan;
mod serve;
mod ui;
mod vex;
