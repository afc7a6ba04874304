//! Integration tests of vigil-vulndb, one module per area.

mod feeds;
#[cfg(feature = "fetch")]
mod fetch;
mod hostile;
mod props;
mod snapshots;

use std::path::PathBuf;
use vigil_vulndb::{FeedFormat, FeedItem, open_feed};

/// The shared feed fixtures (`shared/fixtures/feeds`).
pub fn feeds_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/feeds"
    ))
}

/// Reads a whole feed, failing the test on any error.
pub fn read_all(path: impl Into<PathBuf>, format: FeedFormat) -> Vec<FeedItem> {
    let path = path.into();
    open_feed(&path, format)
        .map(|r| r.unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .collect()
}
