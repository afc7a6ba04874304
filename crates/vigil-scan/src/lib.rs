//! vigil-scan: the glue that turns an image into an inventory (and, with the matcher, into
//! findings).
//!
//! An image is read layer by layer (`vigil-image` streams each layer and pushes the files the
//! detectors want into a [`inventory()`] sink). What a layer yields depends only on the layer's
//! bytes, so it is cached by layer digest ([`cache`]); a second image sharing base layers
//! reads only its new layers, and a repeat run reads no layer at all (SPEC 2.5, as Clair
//! indexes layers once). The per-layer results are then merged in layer order with the OCI
//! whiteout rules, so only the final state of each package database counts (SPEC 2.2).

pub mod cache;
pub mod inventory;
pub mod merge;
pub mod report;

pub use inventory::{
    DetectorError, Error, ImageSummary, Inventory, InventoryPackage, LayerSummary, Options,
    Progress, inventory,
};
pub use report::{CoverageReport, MatchContext, Report, Summary, SuppressedFinding, VexNote};
