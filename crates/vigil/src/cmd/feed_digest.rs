//! The fingerprint of a feed on disk: what `db import` and `db update` compare with the one
//! stored at the source's last import, to skip reading a feed whose bytes did not change
//! (a daily `db update` whose conditional GET found nothing new, a re-run import).
//!
//! SHA-256 over the vigil version, the format and `--skip-invalid` (they change what the
//! same bytes import to), then every regular file of the feed in the walk order of the feed
//! reader (sorted, hidden entries skipped, symbolic links to directories not followed): its
//! path relative to the feed, its length and its bytes, streamed. Hashing is a tenth of the
//! cost of importing the same bytes.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use vigil_vulndb::FeedFormat;

pub fn feed_digest(path: &Path, format: FeedFormat, skip_invalid: bool) -> io::Result<String> {
    let mut hasher = Sha256::new();
    hasher.update(format!(
        "vigil {} feed\0{format}\0{skip_invalid}\0",
        env!("CARGO_PKG_VERSION")
    ));
    let mut buf = vec![0u8; 256 << 10];
    // (path, named by the caller): as in the feed reader, a link to a directory is
    // followed only when it is the feed itself.
    let mut stack: Vec<(PathBuf, bool)> = vec![(path.to_path_buf(), true)];
    while let Some((p, named)) = stack.pop() {
        let meta = fs::metadata(&p)?;
        if meta.is_dir() {
            if !named && fs::symlink_metadata(&p)?.file_type().is_symlink() {
                continue;
            }
            let mut entries = Vec::new();
            for entry in fs::read_dir(&p)? {
                let entry = entry?;
                if !entry.file_name().to_string_lossy().starts_with('.') {
                    entries.push(entry.path());
                }
            }
            entries.sort();
            stack.extend(entries.into_iter().rev().map(|e| (e, false)));
        } else if meta.is_file() {
            // FIFOs and devices are never read: one could block forever.
            let relative = p.strip_prefix(path).unwrap_or(&p);
            hasher.update(relative.as_os_str().as_encoded_bytes());
            hasher.update([0]);
            hasher.update(meta.len().to_le_bytes());
            let mut file = File::open(&p)?;
            loop {
                let n = file.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
            }
        }
    }
    Ok(format!("sha256:{}", hex::encode(hasher.finalize())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_follows_bytes_names_and_reading_options() {
        let dir = tempfile::tempdir().unwrap();
        let feed = dir.path().join("feed");
        fs::create_dir_all(feed.join("sub")).unwrap();
        fs::write(feed.join("a.json"), "{}").unwrap();
        fs::write(feed.join("sub/b.json"), "[]").unwrap();
        let d = |p: &Path, skip: bool| feed_digest(p, FeedFormat::Auto, skip).unwrap();
        let first = d(&feed, false);
        assert_eq!(first, d(&feed, false), "deterministic");
        assert_ne!(
            first,
            d(&feed, true),
            "--skip-invalid reads the same bytes differently"
        );
        assert_ne!(first, feed_digest(&feed, FeedFormat::Osv, false).unwrap());
        // Hidden entries are not part of the feed.
        fs::write(feed.join(".git"), "x").unwrap();
        assert_eq!(first, d(&feed, false));
        // One changed byte, a renamed file, an added file: all differ.
        fs::write(feed.join("sub/b.json"), "[ ").unwrap();
        let changed = d(&feed, false);
        assert_ne!(first, changed);
        fs::write(feed.join("sub/b.json"), "[]").unwrap();
        assert_eq!(first, d(&feed, false));
        fs::rename(feed.join("sub/b.json"), feed.join("sub/c.json")).unwrap();
        assert_ne!(first, d(&feed, false));
        fs::rename(feed.join("sub/c.json"), feed.join("sub/b.json")).unwrap();
        fs::write(feed.join("z.json"), "").unwrap();
        assert_ne!(first, d(&feed, false));
        // A missing feed is an error, not an empty digest.
        assert!(feed_digest(&dir.path().join("missing"), FeedFormat::Auto, false).is_err());
    }
}
