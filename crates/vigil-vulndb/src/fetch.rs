//! Downloading a feed (feature `fetch`, SPEC 4.3 `vigil db update`): conditional GET,
//! resume, optional sha256 verification, atomic rename.
//!
//! Files in the cache directory, for a target named `NAME`:
//! - `NAME`: the last complete download; only ever replaced by an atomic rename, so a reader
//!   never sees a half-written feed;
//! - `NAME.part`: bytes of an unfinished download, kept when the connection drops;
//! - `NAME.meta.json`: the sidecar with the validators (`ETag`, `Last-Modified`) of the
//!   complete file and of the partial one, and the complete file's sha256.
//!
//! A call:
//! 1. with a `.part` whose validator is known, asks for the rest (`Range: bytes=N-`) and
//!    guards it with `If-Range`: a server whose file changed meanwhile answers 200 with the
//!    whole new file instead of a mismatched tail;
//! 2. else, with a complete file, asks conditionally (`If-None-Match`, `If-Modified-Since`)
//!    and returns [`Fetched::NotModified`] on 304;
//! 3. streams the body to `.part` (never into memory), recording the response's
//!    validators first, so a dropped connection can resume; on a drop it retries up to
//!    [`FetchOptions::retries`] times from where it stopped;
//! 4. hashes the finished `.part`, checks the expected sha256 if given (a mismatch deletes
//!    the partial file), renames it over `NAME` and rewrites the sidecar (also by rename).
//!
//! Transfer encodings are not requested (no `Accept-Encoding`), so byte ranges count the
//! file's own bytes.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Options of [`fetch`].
#[derive(Clone, Debug)]
pub struct FetchOptions {
    /// The expected sha256 of the whole file, lower-case hex.
    pub sha256: Option<String>,
    /// The file name in the cache directory; default: derived from the URL (see
    /// [`cache_name`]).
    pub file_name: Option<String>,
    /// How many times a dropped transfer is resumed within one call.
    pub retries: u32,
    /// Timeout to connect and to receive response headers.
    pub timeout: Duration,
    /// Largest file accepted; a server sending more is cut off (the partial file is
    /// deleted). Default 8 GiB, above any real feed.
    pub max_bytes: u64,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self {
            sha256: None,
            file_name: None,
            retries: 3,
            timeout: Duration::from_secs(30),
            max_bytes: 8 << 30,
        }
    }
}

/// The result of a successful [`fetch`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fetched {
    /// The server says the cached file is current (304).
    NotModified {
        /// The cached file.
        path: PathBuf,
    },
    /// A new complete file is in place.
    Downloaded {
        /// The file.
        path: PathBuf,
        /// Its sha256, lower-case hex.
        sha256: String,
    },
}

/// Errors of [`fetch`]; each names the URL.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The request failed before a response (DNS, connect, TLS, timeout).
    #[error("download {url}: request failed: {message}")]
    Request {
        /// The URL.
        url: String,
        /// What failed.
        message: String,
    },
    /// The server answered with an unexpected status.
    #[error("download {url}: unexpected HTTP status {status}")]
    Status {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
    },
    /// The server answered a range request with a range that does not continue the partial
    /// file.
    #[error("download {url}: asked for bytes from {expected}, server sent {content_range:?}")]
    BadRange {
        /// The URL.
        url: String,
        /// The offset asked for.
        expected: u64,
        /// The `Content-Range` header received.
        content_range: String,
    },
    /// The transfer broke off and the retries ran out; the partial file is kept and the next
    /// call resumes it.
    #[error("download {url}: transfer interrupted after {received} bytes: {message}")]
    Interrupted {
        /// The URL.
        url: String,
        /// Bytes of the file held in the partial file.
        received: u64,
        /// The cause.
        message: String,
    },
    /// The downloaded file does not have the expected sha256; the partial file is deleted.
    #[error("download {url}: sha256 mismatch: expected {expected}, found {found}")]
    Checksum {
        /// The URL.
        url: String,
        /// Expected digest.
        expected: String,
        /// Digest of what was received.
        found: String,
    },
    /// The server sent more than [`FetchOptions::max_bytes`].
    #[error("download {url}: more than {limit} bytes, the limit")]
    TooLarge {
        /// The URL.
        url: String,
        /// The limit.
        limit: u64,
    },
    /// A local file operation failed.
    #[error("download {url}: {path}: {message}")]
    Io {
        /// The URL.
        url: String,
        /// The local file.
        path: String,
        /// The IO error.
        message: String,
    },
}

/// The sidecar `NAME.meta.json`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Meta {
    url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_modified: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sha256: Option<String>,
    /// Validators of the response the `.part` file came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    partial_etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    partial_last_modified: Option<String>,
}

/// The default file name of a URL in the cache: the last path segment (letters, digits,
/// `.`, `-`, `_` kept, anything else `_`), prefixed by 12 hex digits of the URL's sha256 so
/// that `.../PyPI/all.zip` and `.../npm/all.zip` do not collide.
pub fn cache_name(url: &str) -> String {
    let digest = hex::encode(Sha256::digest(url.as_bytes()));
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let last = path.rsplit('/').next().unwrap_or("");
    let clean: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let clean = clean.trim_start_matches('.');
    if clean.is_empty() {
        digest[..12].to_owned()
    } else {
        format!("{}-{clean}", &digest[..12])
    }
}

/// Downloads `url` into `cache_dir` (see the module docs).
pub fn fetch(url: &str, cache_dir: &Path, opts: &FetchOptions) -> Result<Fetched, FetchError> {
    let name = opts.file_name.clone().unwrap_or_else(|| cache_name(url));
    let target = cache_dir.join(&name);
    let part = cache_dir.join(format!("{name}.part"));
    let meta_path = cache_dir.join(format!("{name}.meta.json"));
    let io = |path: &Path, e: io::Error| FetchError::Io {
        url: url.to_owned(),
        path: path.display().to_string(),
        message: e.to_string(),
    };
    fs::create_dir_all(cache_dir).map_err(|e| io(cache_dir, e))?;
    let mut meta = read_meta(&meta_path)
        .filter(|m| m.url == url)
        .unwrap_or_else(|| Meta {
            url: url.to_owned(),
            ..Meta::default()
        });
    if !target.exists() {
        meta.etag = None;
        meta.last_modified = None;
        meta.sha256 = None;
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(opts.timeout))
        .timeout_recv_response(Some(opts.timeout))
        .build()
        .into();

    let mut attempt = 0;
    loop {
        let have = fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
        let resume_validator = meta
            .partial_etag
            .clone()
            .or_else(|| meta.partial_last_modified.clone());
        let mut req = agent.get(url);
        let resuming = have > 0 && resume_validator.is_some();
        if let (true, Some(v)) = (resuming, &resume_validator) {
            req = req
                .header("Range", &format!("bytes={have}-"))
                .header("If-Range", v);
        } else if target.exists() {
            if let Some(etag) = &meta.etag {
                req = req.header("If-None-Match", etag);
            }
            if let Some(lm) = &meta.last_modified {
                req = req.header("If-Modified-Since", lm);
            }
        }
        let mut resp = req.call().map_err(|e| FetchError::Request {
            url: url.to_owned(),
            message: e.to_string(),
        })?;
        let header = |n: &str| {
            resp.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let etag = header("etag");
        let last_modified = header("last-modified");
        let status = resp.status().as_u16();
        let mut file = match status {
            304 if target.exists() => return Ok(Fetched::NotModified { path: target }),
            206 if resuming => {
                let range = header("content-range").unwrap_or_default();
                if content_range_start(&range) != Some(have) {
                    return Err(FetchError::BadRange {
                        url: url.to_owned(),
                        expected: have,
                        content_range: range,
                    });
                }
                OpenOptions::new()
                    .append(true)
                    .open(&part)
                    .map_err(|e| io(&part, e))?
            }
            200 => {
                // A fresh transfer: record its validators before the first byte, so a drop
                // can resume.
                meta.partial_etag = etag.clone();
                meta.partial_last_modified = last_modified.clone();
                write_meta(&meta_path, &meta).map_err(|e| io(&meta_path, e))?;
                File::create(&part).map_err(|e| io(&part, e))?
            }
            status => {
                return Err(FetchError::Status {
                    url: url.to_owned(),
                    status,
                });
            }
        };
        let already = if status == 206 { have } else { 0 };
        let mut reader = resp.body_mut().as_reader();
        match copy(
            &mut reader,
            &mut file,
            opts.max_bytes.saturating_sub(already),
        ) {
            Ok(()) => {}
            Err(CopyError::Write(e)) => return Err(io(&part, e)),
            Err(CopyError::TooLarge) => {
                drop(file);
                let _ = fs::remove_file(&part);
                meta.partial_etag = None;
                meta.partial_last_modified = None;
                let _ = write_meta(&meta_path, &meta);
                return Err(FetchError::TooLarge {
                    url: url.to_owned(),
                    limit: opts.max_bytes,
                });
            }
            Err(CopyError::Read(e)) => {
                drop(file);
                let received = fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
                if attempt < opts.retries {
                    attempt += 1;
                    continue;
                }
                return Err(FetchError::Interrupted {
                    url: url.to_owned(),
                    received,
                    message: e.to_string(),
                });
            }
        }
        file.sync_all().map_err(|e| io(&part, e))?;
        drop(file);
        let sha256 = hash_file(&part).map_err(|e| io(&part, e))?;
        if let Some(want) = &opts.sha256
            && !want.eq_ignore_ascii_case(&sha256)
        {
            let _ = fs::remove_file(&part);
            meta.partial_etag = None;
            meta.partial_last_modified = None;
            let _ = write_meta(&meta_path, &meta);
            return Err(FetchError::Checksum {
                url: url.to_owned(),
                expected: want.clone(),
                found: sha256,
            });
        }
        fs::rename(&part, &target).map_err(|e| io(&target, e))?;
        // On 206 the validators are those of the partial transfer, which If-Range proved
        // to be the same file.
        meta.etag = etag.or(meta.partial_etag.take());
        meta.last_modified = last_modified.or(meta.partial_last_modified.take());
        meta.partial_etag = None;
        meta.partial_last_modified = None;
        meta.sha256 = Some(sha256.clone());
        write_meta(&meta_path, &meta).map_err(|e| io(&meta_path, e))?;
        return Ok(Fetched::Downloaded {
            path: target,
            sha256,
        });
    }
}

/// The first byte of `bytes START-END/TOTAL`.
fn content_range_start(v: &str) -> Option<u64> {
    let rest = v.trim().strip_prefix("bytes")?.trim_start();
    rest.split('-').next()?.trim().parse().ok()
}

enum CopyError {
    Read(io::Error),
    Write(io::Error),
    TooLarge,
}

/// Copies the body to the file, at most `limit` bytes.
fn copy(r: &mut impl Read, w: &mut File, limit: u64) -> Result<(), CopyError> {
    let mut buf = vec![0u8; 64 << 10];
    let mut written = 0u64;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyError::Read(e)),
        };
        written += n as u64;
        if written > limit {
            return Err(CopyError::TooLarge);
        }
        w.write_all(&buf[..n]).map_err(CopyError::Write)?;
    }
}

fn hash_file(path: &Path) -> io::Result<String> {
    let mut f = File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(hex::encode(h.finalize()));
        }
        h.update(&buf[..n]);
    }
}

fn read_meta(path: &Path) -> Option<Meta> {
    let bytes = fs::read(path).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn write_meta(path: &Path, meta: &Meta) -> io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    let bytes = serde_json::to_vec_pretty(meta).map_err(io::Error::other)?;
    fs::write(&tmp, bytes)?;
    fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_names_are_distinct_and_safe() {
        let a = cache_name("https://example.invalid/PyPI/all.zip");
        let b = cache_name("https://example.invalid/npm/all.zip");
        assert_ne!(a, b);
        assert!(a.ends_with("-all.zip"));
        assert_eq!(cache_name("https://h.invalid/../..").len(), 12);
        assert!(!cache_name("https://h.invalid/a b?x=1").contains(' '));
    }

    #[test]
    fn content_range_parses_the_start() {
        assert_eq!(content_range_start("bytes 100-199/200"), Some(100));
        assert_eq!(content_range_start("bytes */200"), None);
    }
}
