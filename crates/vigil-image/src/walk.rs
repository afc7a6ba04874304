//! Streaming a layer: decompress (sniffed), read the tar, push wanted files to a [`Sink`],
//! collect whiteouts, and verify the blob's digest at the end.
//!
//! Whiteouts (OCI image spec, "Representing Changes"): an entry `DIR/.wh.NAME` deletes
//! `DIR/NAME` from the layers below; `DIR/.wh..wh..opq` makes `DIR` opaque, hiding every
//! lower entry under it but not the entries of this same layer. Other `.wh..wh.` names are
//! aufs bookkeeping and mean nothing to a reader. A whiteout never deletes from its own
//! layer, and one named `.wh.`, `.wh..` or `.wh...` names no file: it is refused.
//!
//! Hostile tars (SPEC 2.4): an entry name (or hard-link target) that climbs above the root
//! with `..` is refused (no image builder writes one; it only exists to attack extractors);
//! other names are normalised lexically (`/x` becomes `x`); symlink targets are reported,
//! never followed; device files and FIFOs are ignored; GNU long names and PAX headers are
//! read by us with a cap (the tar crate would buffer any size); the decompressed stream is
//! capped by `max_layer_bytes`, and a layer that inflates more than [`BOMB_RATIO`] times its
//! compressed size (past [`BOMB_MIN_BYTES`]) is refused as a decompression bomb.

use std::cell::Cell;
use std::io::{self, BufRead, BufReader, Read};
use std::rc::Rc;

use crate::digest::{Digest, ReadState, VerifyingReader};
use crate::error::ErrorKind;

/// The longest path a Linux syscall accepts.
pub const PATH_MAX: usize = 4096;
/// Decompressed bytes before the bomb ratio is checked: small layers of zeros are fine.
pub const BOMB_MIN_BYTES: u64 = 256 << 20;
/// The largest decompressed/compressed ratio a layer may reach past [`BOMB_MIN_BYTES`].
/// Real layers inflate about 2-5 times (text and binaries), rarely 50; gzip's ceiling is
/// about 1030 and a bomb sits near it.
pub const BOMB_RATIO: u64 = 200;
/// The largest PAX extended header we read.
const MAX_PAX: u64 = 1 << 20;

/// Receives the files a layer or root filesystem holds. The walker pushes; the sink picks.
pub trait Sink {
    /// Whether the sink wants the regular file at `path` (normalised: relative to the image
    /// root, no leading `/`, no `.` or `..`), of `size` bytes as declared.
    fn wants(&self, path: &str, size: u64) -> bool;
    /// The content of a wanted file. `data` yields at most the per-file limit.
    fn file(&mut self, path: &str, data: &mut dyn Read) -> io::Result<()>;
    /// Whether the sink wants the regular file at `path`, which [`Sink::wants`] declined,
    /// as an executable: asked only when `mode` (the tar header's mode, or the file's
    /// permission bits in a root filesystem) has an execute bit. Binaries cannot be named
    /// up front (Go build info, cargo-auditable data), so this is how a sink sees them.
    fn wants_executable(&self, _path: &str, _mode: u32, _size: u64) -> bool {
        false
    }
    /// The content of an executable that [`Sink::wants_executable`] wanted, with its
    /// declared `size`. Unlike [`Sink::file`], a file over the per-file limit is not an
    /// error of the walk: `data` stops at the limit and the sink, knowing `size`, decides
    /// what to read (a prefix is enough to tell an object file from a script) and how to
    /// report what it skips. What the sink leaves unread is skipped by the walker.
    fn executable(&mut self, path: &str, _size: u64, data: &mut dyn Read) -> io::Result<()> {
        self.file(path, data)
    }
    /// A symbolic link at `path` with its target as stored (relative to the link's
    /// directory, or absolute meaning the image root). Never followed by the walker.
    fn symlink(&mut self, _path: &str, _target: &str) {}
    /// A hard link at `path` to `target` (normalised like paths), a file of this layer
    /// that came earlier in the stream. The content is not pushed again: a sink that wants
    /// `path` must have wanted (and kept) `target` when it passed.
    fn hardlink(&mut self, _path: &str, _target: &str) {}
}

/// What a layer removes from the layers below it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LayerChanges {
    /// Paths deleted by `.wh.NAME` entries (normalised, relative).
    pub deleted: Vec<String>,
    /// Directories made opaque by `.wh..wh..opq` (normalised; `""` is the root).
    pub opaque_dirs: Vec<String>,
}

/// Limits that keep hostile input bounded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub max_layer_bytes: u64,
    pub max_file_bytes: u64,
}

/// Lexical normalisation against the image root: `/`, `.` and empty components vanish,
/// `..` pops (and stops at the root). Non-UTF-8 bytes are replaced.
pub fn normalise(raw: &[u8]) -> String {
    let s = String::from_utf8_lossy(raw);
    let mut out: Vec<&str> = Vec::new();
    for c in s.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out.join("/")
}

/// True when `raw` climbs above the root with `..` (lexically, as `normalise` reads it).
pub fn escapes_root(raw: &[u8]) -> bool {
    let mut depth = 0usize;
    for c in raw.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return true,
            },
            _ => depth += 1,
        }
    }
    false
}

/// Caps the decompressed stream, and trips on a decompression bomb.
struct Limited<R> {
    inner: R,
    left: u64,
    tripped: Rc<Cell<bool>>,
    /// Decompressed bytes so far, and the compressed reader's state (its byte count).
    produced: u64,
    compressed: Rc<std::cell::RefCell<ReadState>>,
    bomb: Rc<Cell<Option<(u64, u64)>>>,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            // one probe byte tells "exactly at the limit" from "over it"
            let mut probe = [0u8; 1];
            if self.inner.read(&mut probe)? == 0 {
                return Ok(0);
            }
            self.tripped.set(true);
            return Err(io::Error::other("decompressed size limit reached"));
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.left -= n as u64;
        self.produced += n as u64;
        if self.produced > BOMB_MIN_BYTES {
            let compressed = self.compressed.borrow().bytes;
            if self.produced > BOMB_RATIO.saturating_mul(compressed.max(1)) {
                self.bomb.set(Some((compressed, self.produced)));
                return Err(io::Error::other("decompression bomb"));
            }
        }
        Ok(n)
    }
}

enum Decoded<R: BufRead> {
    // boxed: the inflate state is large, the other variants small
    Gzip(Box<flate2::bufread::MultiGzDecoder<R>>),
    Zstd(zstd::stream::read::Decoder<'static, R>),
    Plain(R),
}

impl<R: BufRead> Read for Decoded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoded::Gzip(d) => d.read(buf),
            Decoded::Zstd(d) => d.read(buf),
            Decoded::Plain(d) => d.read(buf),
        }
    }
}

impl<R: BufRead> Decoded<R> {
    fn into_inner(self) -> R {
        match self {
            Decoded::Gzip(d) => (*d).into_inner(),
            Decoded::Zstd(d) => d.finish(),
            Decoded::Plain(d) => d,
        }
    }
}

/// Remembers whether the stream under a sink failed, to tell a broken layer from a
/// failing sink.
struct Watched<'a, R> {
    inner: R,
    failed: &'a Cell<bool>,
}

impl<R: Read> Read for Watched<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).inspect_err(|_| self.failed.set(true))
    }
}

/// Turns an IO error from somewhere in the pipeline into what really happened.
fn classify(
    e: io::Error,
    digest: &Digest,
    size: Option<u64>,
    state: &ReadState,
    tripped: bool,
    limit: u64,
) -> ErrorKind {
    if state.oversize {
        return ErrorKind::SizeMismatch {
            digest: digest.to_string(),
            expected: size.unwrap_or(0),
            actual: "is longer".into(),
        };
    }
    if let Some(actual) = &state.actual {
        if actual != digest {
            return ErrorKind::DigestMismatch {
                digest: digest.to_string(),
                actual: actual.to_string(),
            };
        }
        if let Some(size) = size
            && state.bytes != size
        {
            return ErrorKind::SizeMismatch {
                digest: digest.to_string(),
                expected: size,
                actual: format!("is {} bytes", state.bytes),
            };
        }
    }
    if tripped {
        return ErrorKind::LayerTooLarge {
            digest: digest.to_string(),
            limit,
        };
    }
    if let Some(src) = &state.source_error {
        return ErrorKind::Io {
            path: format!("blob {digest}"),
            source: io::Error::new(e.kind(), src.clone()),
        };
    }
    let detail = e.to_string().to_lowercase();
    if e.kind() == io::ErrorKind::UnexpectedEof
        || detail.contains("unexpected end")
        || detail.contains("unexpected eof")
        || detail.contains("entire block")
        || detail.contains("incomplete")
        || detail.contains("premature")
    {
        return ErrorKind::Truncated {
            digest: digest.to_string(),
            detail: format!("{detail} after {} compressed bytes", state.bytes),
        };
    }
    ErrorKind::CorruptLayer {
        digest: digest.to_string(),
        detail,
    }
}

/// Streams one layer blob (`raw`, compressed or not) to `sink` and returns its whiteouts.
pub(crate) fn walk_blob(
    raw: Box<dyn Read + '_>,
    digest: &Digest,
    size: Option<u64>,
    limits: Limits,
    sink: &mut dyn Sink,
    progress: &dyn Fn(u64),
) -> Result<LayerChanges, ErrorKind> {
    let verifying = VerifyingReader::new(raw, digest.clone(), size).with_progress(progress);
    let state = verifying.state();
    let tripped = Rc::new(Cell::new(false));
    let bomb: Rc<Cell<Option<(u64, u64)>>> = Rc::new(Cell::new(None));
    let fail = |e: io::Error| {
        if let Some((compressed, decompressed)) = bomb.get() {
            return ErrorKind::DecompressionBomb {
                digest: digest.to_string(),
                compressed,
                decompressed,
            };
        }
        classify(
            e,
            digest,
            size,
            &state.borrow(),
            tripped.get(),
            limits.max_layer_bytes,
        )
    };

    let mut buffered = BufReader::with_capacity(64 * 1024, verifying);
    let magic = buffered.fill_buf().map_err(fail)?;
    // Sniff by magic bytes: media types lie (docker-archive layers say nothing at all).
    let decoded = if magic.starts_with(&[0x1f, 0x8b]) {
        Decoded::Gzip(Box::new(flate2::bufread::MultiGzDecoder::new(buffered)))
    } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Decoded::Zstd(zstd::stream::read::Decoder::with_buffer(buffered).map_err(fail)?)
    } else {
        Decoded::Plain(buffered)
    };
    let limited = Limited {
        inner: decoded,
        left: limits.max_layer_bytes,
        tripped: Rc::clone(&tripped),
        produced: 0,
        compressed: Rc::clone(&state),
        bomb: Rc::clone(&bomb),
    };
    // The tar reader asks for 512-byte headers and small chunks; a large buffer lets the
    // decoder inflate in long runs instead (about a tenth less time on gzip layers).
    let mut archive = tar::Archive::new(BufReader::with_capacity(256 * 1024, limited));
    let walked = walk_tar(&mut archive, digest, limits, sink);
    // Consume the rest (tar padding, trailing data, the compressed stream's end) so that
    // the digest covers every byte of the blob.
    let mut rest = archive.into_inner();
    let walked = walked.and_then(|changes| {
        io::copy(&mut rest, &mut io::sink())?;
        Ok(changes)
    });
    let mut buffered = rest.into_inner().inner.into_inner();
    // Even after a failure, read the raw blob to its end (bounded by its declared size):
    // a blob that does not match its digest is reported as such, not as whatever its
    // corrupted content made the decoder say.
    let drained = io::copy(&mut buffered, &mut io::sink());
    let mismatch = {
        let st = state.borrow();
        st.oversize || st.actual.as_ref().is_some_and(|a| a != digest)
    };
    let changes = match walked {
        Err(e) if mismatch => {
            let e = match e {
                WalkError::Io(e) => e,
                WalkError::Kind(_) => io::Error::other("digest mismatch"),
            };
            return Err(fail(e));
        }
        Err(WalkError::Io(e)) => return Err(fail(e)),
        Err(WalkError::Kind(k)) => return Err(k),
        Ok(changes) => changes,
    };
    drained.map_err(fail)?;
    if !state.borrow().eof {
        return Err(fail(io::Error::other("blob not read to its end")));
    }
    Ok(changes)
}

enum WalkError {
    Io(io::Error),
    Kind(ErrorKind),
}

impl From<io::Error> for WalkError {
    fn from(e: io::Error) -> Self {
        WalkError::Io(e)
    }
}

fn read_capped(entry: &mut dyn Read, size: u64) -> io::Result<Vec<u8>> {
    let mut v = Vec::with_capacity(usize::try_from(size.min(64 * 1024)).unwrap_or(0));
    entry.take(size).read_to_end(&mut v)?;
    while v.last() == Some(&0) {
        v.pop();
    }
    Ok(v)
}

/// PAX records `LEN KEY=VALUE\n`; returns path, linkpath and size.
type Pax = (Option<Vec<u8>>, Option<Vec<u8>>, Option<u64>);

fn parse_pax(data: &[u8]) -> Result<Pax, String> {
    let (mut path, mut link, mut size) = (None, None, None);
    let mut rest = data;
    while !rest.is_empty() {
        let sp = rest
            .iter()
            .position(|&b| b == b' ')
            .ok_or("pax record without length")?;
        let len: usize = std::str::from_utf8(&rest[..sp])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or("pax record length is not a number")?;
        if len <= sp + 1 || len > rest.len() {
            return Err("pax record length out of range".into());
        }
        let rec = &rest[sp + 1..len];
        let rec = rec.strip_suffix(b"\n").unwrap_or(rec);
        if let Some(eq) = rec.iter().position(|&b| b == b'=') {
            let (k, v) = (&rec[..eq], &rec[eq + 1..]);
            match k {
                b"path" => path = Some(v.to_vec()),
                b"linkpath" => link = Some(v.to_vec()),
                b"size" => {
                    size = Some(
                        std::str::from_utf8(v)
                            .ok()
                            .and_then(|s| s.parse().ok())
                            .ok_or("pax size is not a number")?,
                    )
                }
                _ => {}
            }
        }
        rest = &rest[len..];
    }
    Ok((path, link, size))
}

fn walk_tar<R: Read>(
    archive: &mut tar::Archive<R>,
    digest: &Digest,
    limits: Limits,
    sink: &mut dyn Sink,
) -> Result<LayerChanges, WalkError> {
    let corrupt = |detail: String| {
        WalkError::Kind(ErrorKind::CorruptLayer {
            digest: digest.to_string(),
            detail,
        })
    };
    let too_long = |raw: &[u8], len: usize| {
        WalkError::Kind(ErrorKind::PathTooLong {
            digest: digest.to_string(),
            prefix: String::from_utf8_lossy(&raw[..raw.len().min(64)]).into_owned(),
            len,
            max: PATH_MAX,
        })
    };
    let mut changes = LayerChanges::default();
    let mut long_name: Option<Vec<u8>> = None;
    let mut long_link: Option<Vec<u8>> = None;
    let mut pax: Option<Pax> = None;
    let mut entries = archive.entries()?;
    // raw: we handle GNU long names and PAX ourselves, with caps
    entries = entries.raw(true);
    for entry in entries {
        let mut entry = entry?;
        let header = entry.header();
        let kind = header.entry_type();
        // permission bits, for executables; an unreadable mode field is no exec bit
        let mode = header.mode().unwrap_or(0);
        let size = entry.size();
        if kind.is_gnu_longname() || kind.is_gnu_longlink() {
            if size > PATH_MAX as u64 * 4 {
                return Err(too_long(
                    b"(gnu long name)",
                    usize::try_from(size).unwrap_or(usize::MAX),
                ));
            }
            let v = read_capped(&mut entry, size)?;
            if kind.is_gnu_longname() {
                long_name = Some(v);
            } else {
                long_link = Some(v);
            }
            continue;
        }
        if kind.is_pax_local_extensions() || kind.is_pax_global_extensions() {
            if size > MAX_PAX {
                return Err(corrupt(format!(
                    "pax header of {size} bytes (more than {MAX_PAX})"
                )));
            }
            let v = read_capped(&mut entry, size)?;
            if kind.is_pax_local_extensions() {
                pax = Some(parse_pax(&v).map_err(corrupt)?);
            }
            continue;
        }
        let (pax_path, pax_link, pax_size) = pax.take().unwrap_or_default();
        if let Some(s) = pax_size
            && s != size
        {
            return Err(corrupt(format!(
                "pax size {s} differs from header size {size}; not supported"
            )));
        }
        if kind.is_gnu_sparse() && header.as_gnu().is_some_and(|g| g.is_extended()) {
            return Err(corrupt(
                "extended gnu sparse entries are not supported".into(),
            ));
        }
        let raw_path = pax_path
            .or(long_name.take())
            .unwrap_or_else(|| entry.path_bytes().into_owned());
        let raw_link = pax_link
            .or(long_link.take())
            .or_else(|| entry.link_name_bytes().map(|l| l.into_owned()));
        if raw_path.len() > PATH_MAX {
            return Err(too_long(&raw_path, raw_path.len()));
        }
        let escapes = |raw: &[u8]| {
            WalkError::Kind(ErrorKind::PathEscapes {
                digest: digest.to_string(),
                path: String::from_utf8_lossy(raw).into_owned(),
            })
        };
        if escapes_root(&raw_path) {
            return Err(escapes(&raw_path));
        }
        let path = normalise(&raw_path);
        if path.is_empty() {
            continue;
        }
        let (parent, name) = match path.rsplit_once('/') {
            Some((p, n)) => (p, n),
            None => ("", path.as_str()),
        };
        if let Some(wh) = name.strip_prefix(".wh.") {
            if wh == ".wh..opq" {
                changes.opaque_dirs.push(parent.to_string());
            } else if wh.starts_with(".wh.") {
                // aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs): not a whiteout
            } else if wh.is_empty() || wh == "." || wh == ".." {
                return Err(WalkError::Kind(ErrorKind::BadWhiteout {
                    digest: digest.to_string(),
                    path: String::from_utf8_lossy(&raw_path).into_owned(),
                    detail: "it names no file in its directory".into(),
                }));
            } else if parent.is_empty() {
                changes.deleted.push(wh.to_string());
            } else {
                changes.deleted.push(format!("{parent}/{wh}"));
            }
            continue;
        }
        match kind {
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                if !sink.wants(&path, size) {
                    if mode & 0o111 != 0 && sink.wants_executable(&path, mode, size) {
                        let failed = Cell::new(false);
                        let mut data = Watched {
                            inner: (&mut entry).take(limits.max_file_bytes),
                            failed: &failed,
                        };
                        if let Err(e) = sink.executable(&path, size, &mut data) {
                            if failed.get() {
                                return Err(WalkError::Io(e));
                            }
                            return Err(WalkError::Kind(ErrorKind::Sink { path, source: e }));
                        }
                    }
                    continue;
                }
                if size > limits.max_file_bytes {
                    return Err(WalkError::Kind(ErrorKind::FileTooLarge {
                        path,
                        layer: digest.to_string(),
                        size,
                        limit: limits.max_file_bytes,
                    }));
                }
                let failed = Cell::new(false);
                let mut data = Watched {
                    inner: (&mut entry).take(limits.max_file_bytes),
                    failed: &failed,
                };
                if let Err(e) = sink.file(&path, &mut data) {
                    if failed.get() {
                        return Err(WalkError::Io(e));
                    }
                    return Err(WalkError::Kind(ErrorKind::Sink { path, source: e }));
                }
            }
            tar::EntryType::Symlink => {
                if let Some(t) = raw_link {
                    sink.symlink(&path, &String::from_utf8_lossy(&t));
                }
            }
            tar::EntryType::Link => {
                if let Some(t) = raw_link {
                    if escapes_root(&t) {
                        return Err(escapes(&t));
                    }
                    let target = normalise(&t);
                    if !target.is_empty() && target != path {
                        sink.hardlink(&path, &target);
                    }
                }
            }
            // directories, devices, FIFOs: nothing to read, nothing is ever created
            _ => {}
        }
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_clamps_at_root() {
        assert_eq!(normalise(b"/etc/os-release"), "etc/os-release");
        assert_eq!(normalise(b"./a/./b//c/"), "a/b/c");
        assert_eq!(normalise(b"../../etc/passwd"), "etc/passwd");
        assert!(escapes_root(b"../../etc/passwd"));
        assert!(escapes_root(b"a/../../b"));
        assert!(!escapes_root(b"a/../b"));
        assert!(!escapes_root(b"/etc/./os-release"));
        assert_eq!(normalise(b"a/../../../b"), "b");
        assert_eq!(normalise(b"/"), "");
    }

    #[test]
    fn pax_records() {
        let (p, l, s) = parse_pax(b"15 path=a/b/cd\n11 size=42\n").unwrap();
        assert_eq!(p.as_deref(), Some(&b"a/b/cd"[..]));
        assert_eq!(l, None);
        assert_eq!(s, Some(42));
        assert!(parse_pax(b"99 path=x\n").is_err());
        assert!(parse_pax(b"x path=x\n").is_err());
    }
}
