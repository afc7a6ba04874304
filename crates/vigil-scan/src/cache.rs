//! Per-layer cache: `CACHE_DIR/layers/<algo>/<hex>.json`, one file per layer digest and
//! detector version, written atomically (temp file + rename), so a crash never leaves a
//! half-written entry and concurrent scans never read one.
//!
//! A corrupt or unreadable entry is treated as a miss (and rewritten), never as an error:
//! the cache only saves time.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::merge::LayerResult;

/// Bumped whenever what a layer yields changes shape or meaning (new detector, fixed parser),
/// so old entries are not reused. The crate version is part of the key too, so a new release
/// never reads an older release's entries.
/// 2: executables are read (Go build info, cargo-auditable data); only those with
/// packages or errors are recorded.
const CACHE_FORMAT: u32 = 2;
const CACHE_KEY_VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Debug, Clone)]
pub struct LayerCache {
    root: PathBuf,
}

impl LayerCache {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LayerCache { root: root.into() }
    }

    fn entry(&self, digest: &str) -> Option<PathBuf> {
        let (algo, hex) = digest.split_once(':')?;
        let safe = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric());
        if !safe(algo) || !safe(hex) {
            return None;
        }
        Some(
            self.root
                .join("layers")
                .join(format!("v{CACHE_FORMAT}-{CACHE_KEY_VERSION}"))
                .join(algo)
                .join(format!("{hex}.json")),
        )
    }

    pub fn get(&self, digest: &str) -> Option<LayerResult> {
        let path = self.entry(digest)?;
        let bytes = fs::read(&path).ok()?;
        match serde_json::from_slice(&bytes) {
            Ok(result) => Some(result),
            Err(err) => {
                tracing::warn!(
                    "ignoring corrupt layer cache entry {}: {err}",
                    path.display()
                );
                None
            }
        }
    }

    pub fn put(&self, digest: &str, result: &LayerResult) {
        let Some(path) = self.entry(digest) else {
            return;
        };
        if let Err(err) = write_atomic(&path, result) {
            tracing::warn!("cannot write layer cache entry {}: {err}", path.display());
        }
    }
}

fn write_atomic(path: &Path, result: &LayerResult) -> std::io::Result<()> {
    let dir = path.parent().expect("cache entries live in a directory");
    fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    serde_json::to_writer(&mut tmp, result)?;
    tmp.flush()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
