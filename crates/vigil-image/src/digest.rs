//! Content digests and a reader that verifies one while the bytes stream through.
//!
//! Only `sha256` is accepted: it is what every OCI and docker tool writes, and a digest we
//! cannot verify is refused rather than trusted (SPEC 2.4).

use std::cell::RefCell;
use std::fmt;
use std::io::{self, Read};
use std::rc::Rc;
use std::str::FromStr;

use sha2::{Digest as _, Sha256};

use crate::error::ParseError;

/// A validated `sha256:<64 lowercase hex>` content digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(String);

impl Digest {
    /// The digest as `sha256:HEX`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The hex part, safe to use as a file name (validated to be hex only).
    pub fn hex(&self) -> &str {
        &self.0["sha256:".len()..]
    }

    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Digest(format!("sha256:{}", hex::encode(Sha256::digest(bytes))))
    }
}

impl FromStr for Digest {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let hex = s
            .strip_prefix("sha256:")
            .ok_or_else(|| ParseError::InvalidDigest(s.to_string()))?;
        if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(ParseError::InvalidDigest(s.to_string()));
        }
        Ok(Digest(s.to_string()))
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a [`VerifyingReader`] saw, shared with whoever built the reader pipeline so that
/// errors deep inside a decoder or tar reader can be told apart afterwards.
#[derive(Debug, Default)]
pub(crate) struct ReadState {
    /// bytes read so far
    pub bytes: u64,
    /// the reader reached the end of the blob
    pub eof: bool,
    /// the blob had more bytes than its descriptor said
    pub oversize: bool,
    /// the digest of the whole content, once at the end
    pub actual: Option<Digest>,
    /// the underlying source (file, network) failed
    pub source_error: Option<String>,
}

/// SHA-256 of a blob, inline or on a helper thread. For big blobs the hash runs beside the
/// decompressor on another core: the reader hands each chunk over a bounded channel (at
/// most [`HASH_QUEUE`] chunks in flight, so memory stays bounded) and the digest is
/// collected at the end.
enum Hasher {
    Inline(Sha256),
    Threaded {
        tx: Option<std::sync::mpsc::SyncSender<Vec<u8>>>,
        handle: Option<std::thread::JoinHandle<Sha256>>,
    },
}

/// Blobs at least this big are hashed on a helper thread.
const THREAD_MIN: u64 = 8 << 20;
/// Chunks in flight to the hashing thread.
const HASH_QUEUE: usize = 32;

impl Hasher {
    fn for_size(size: Option<u64>) -> Self {
        if size.is_some_and(|s| s >= THREAD_MIN) {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(HASH_QUEUE);
            let spawned = std::thread::Builder::new()
                .name("vigil-sha256".into())
                .spawn(move || {
                    let mut h = Sha256::new();
                    for chunk in rx {
                        h.update(&chunk);
                    }
                    h
                });
            if let Ok(handle) = spawned {
                return Hasher::Threaded {
                    tx: Some(tx),
                    handle: Some(handle),
                };
            }
        }
        Hasher::Inline(Sha256::new())
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Inline(h) => h.update(data),
            Hasher::Threaded { tx, handle } => {
                let sent = tx.as_ref().is_some_and(|t| t.send(data.to_vec()).is_ok());
                if !sent {
                    // The thread is gone (only a panic could do that): `finish` then gives
                    // no digest and the blob is reported as not matching, never accepted
                    // unverified.
                    *tx = None;
                    handle.take();
                }
            }
        }
    }

    fn finish(&mut self) -> Option<[u8; 32]> {
        match self {
            Hasher::Inline(h) => Some(std::mem::take(h).finalize().into()),
            Hasher::Threaded { tx, handle } => {
                tx.take();
                let h = handle.take()?.join().ok()?;
                Some(h.finalize().into())
            }
        }
    }
}

/// Hashes every byte read and, at the end, compares with the expected digest. A mismatch
/// (or more bytes than the descriptor's size) is an `io::Error` at the end, and is also
/// recorded in the shared [`ReadState`].
pub(crate) struct VerifyingReader<'p, R> {
    inner: R,
    hasher: Hasher,
    expected: Digest,
    size: Option<u64>,
    state: Rc<RefCell<ReadState>>,
    progress: Option<&'p dyn Fn(u64)>,
}

impl<'p, R: Read> VerifyingReader<'p, R> {
    pub fn new(inner: R, expected: Digest, size: Option<u64>) -> Self {
        Self {
            inner,
            hasher: Hasher::for_size(size),
            expected,
            size,
            state: Rc::default(),
            progress: None,
        }
    }

    pub fn with_progress(mut self, progress: &'p dyn Fn(u64)) -> Self {
        self.progress = Some(progress);
        self
    }

    pub fn state(&self) -> Rc<RefCell<ReadState>> {
        Rc::clone(&self.state)
    }
}

impl<R: Read> Read for VerifyingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.state.borrow().eof {
            return Ok(0);
        }
        // Never read (much) past the declared size: a registry or archive that sends an
        // endless blob is stopped one byte after the size it promised.
        let want = match self.size {
            Some(size) => {
                let left = (size + 1).saturating_sub(self.state.borrow().bytes);
                buf.len().min(usize::try_from(left).unwrap_or(usize::MAX))
            }
            None => buf.len(),
        };
        let n = match self.inner.read(&mut buf[..want]) {
            Ok(n) => n,
            Err(e) => {
                self.state.borrow_mut().source_error = Some(e.to_string());
                return Err(e);
            }
        };
        let mut st = self.state.borrow_mut();
        st.bytes += n as u64;
        if let Some(size) = self.size
            && st.bytes > size
        {
            st.oversize = true;
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("blob {} is longer than its size {size}", self.expected),
            ));
        }
        if let Some(p) = self.progress {
            p(st.bytes);
        }
        if n == 0 && want > 0 {
            st.eof = true;
            // A lost hashing thread yields no digest: never a silent pass.
            let actual = Digest(format!(
                "sha256:{}",
                self.hasher
                    .finish()
                    .map_or_else(|| "unavailable".to_string(), hex::encode)
            ));
            let ok = actual == self.expected;
            st.actual = Some(actual);
            if !ok {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("blob {} does not match its digest", self.expected),
                ));
            }
            if let Some(size) = self.size
                && st.bytes != size
            {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("blob {} is shorter than its size {size}", self.expected),
                ));
            }
            return Ok(0);
        }
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Reads everything from `r` into memory, at most `limit` bytes, for small JSON documents.
pub(crate) fn read_limited(r: &mut dyn Read, limit: u64) -> io::Result<Result<Vec<u8>, u64>> {
    let mut buf = Vec::new();
    r.take(limit + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > limit {
        return Ok(Err(buf.len() as u64));
    }
    Ok(Ok(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_parse() {
        let d: Digest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
            .parse()
            .unwrap();
        assert_eq!(d, Digest::of(b""));
        assert!("sha256:E3B0".parse::<Digest>().is_err());
        assert!("sha512:00".parse::<Digest>().is_err());
        assert!("sha256:../../etc/passwd".parse::<Digest>().is_err());
    }

    #[test]
    fn verifying_reader_detects_mismatch_and_size() {
        let good = Digest::of(b"hello");
        let mut r = VerifyingReader::new(&b"hello"[..], good.clone(), Some(5));
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"hello");

        let mut r = VerifyingReader::new(&b"hellO"[..], good.clone(), Some(5));
        let st = r.state();
        assert!(r.read_to_end(&mut Vec::new()).is_err());
        assert_ne!(st.borrow().actual.as_ref(), Some(&good));

        let mut r = VerifyingReader::new(&b"hello world"[..], good.clone(), Some(5));
        let st = r.state();
        assert!(r.read_to_end(&mut Vec::new()).is_err());
        assert!(st.borrow().oversize);

        let mut r = VerifyingReader::new(&b"hello"[..], good, Some(9));
        assert_eq!(
            r.read_to_end(&mut Vec::new()).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
    }

    #[test]
    fn big_blobs_are_verified_on_the_hashing_thread() {
        let data: Vec<u8> = (0..(THREAD_MIN as usize + 12_345))
            .map(|i| (i % 251) as u8)
            .collect();
        let good = Digest::of(&data);
        let mut r = VerifyingReader::new(&data[..], good.clone(), Some(data.len() as u64));
        assert!(matches!(r.hasher, Hasher::Threaded { .. }));
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(out, data);
        assert_eq!(r.state().borrow().actual.as_ref(), Some(&good));

        let mut bad = data.clone();
        bad[THREAD_MIN as usize] ^= 1;
        let mut r = VerifyingReader::new(&bad[..], good, Some(bad.len() as u64));
        let err = r.read_to_end(&mut Vec::new()).unwrap_err();
        assert!(
            err.to_string().contains("does not match its digest"),
            "{err}"
        );
    }
}
