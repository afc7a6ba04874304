//! Where blobs come from: an OCI layout directory, a tar archive (read in place), or a
//! registry. A source hands out raw bytes; verification happens in the reader on top.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::digest::{Digest, VerifyingReader, read_limited};
use crate::error::ErrorKind;
use crate::walk::normalise;

/// A blob to read: its digest, declared size and, for archives, the member holding it.
#[derive(Debug, Clone)]
pub(crate) struct Blob {
    pub digest: Digest,
    pub size: Option<u64>,
    /// archive member or layout-relative path; `None` means `blobs/sha256/HEX`
    pub location: Option<String>,
}

impl Blob {
    pub fn new(digest: Digest, size: Option<u64>) -> Self {
        Blob {
            digest,
            size,
            location: None,
        }
    }

    pub fn location(&self) -> String {
        self.location
            .clone()
            .unwrap_or_else(|| format!("blobs/sha256/{}", self.digest.hex()))
    }
}

pub(crate) trait BlobSource {
    /// The raw, unverified bytes of a blob.
    fn open(&mut self, blob: &Blob) -> Result<Box<dyn Read + '_>, ErrorKind>;

    /// A manifest or index by digest, verified, at most `limit` bytes.
    fn manifest(&mut self, blob: &Blob, limit: u64, what: &str) -> Result<Vec<u8>, ErrorKind> {
        read_verified(self, blob, limit, what)
    }
}

/// Reads a small blob (manifest, config) whole, verifying digest and size.
pub(crate) fn read_verified<S: BlobSource + ?Sized>(
    src: &mut S,
    blob: &Blob,
    limit: u64,
    what: &str,
) -> Result<Vec<u8>, ErrorKind> {
    if let Some(size) = blob.size
        && size > limit
    {
        return Err(ErrorKind::DocumentTooLarge {
            what: what.to_string(),
            size,
            limit,
        });
    }
    let raw = src.open(blob)?;
    let mut r = VerifyingReader::new(raw, blob.digest.clone(), blob.size);
    let state = r.state();
    let res = read_limited(&mut r, limit);
    let st = state.borrow();
    if st.oversize {
        return Err(ErrorKind::SizeMismatch {
            digest: blob.digest.to_string(),
            expected: blob.size.unwrap_or(0),
            actual: "is longer".into(),
        });
    }
    if let Some(actual) = &st.actual
        && *actual != blob.digest
    {
        return Err(ErrorKind::DigestMismatch {
            digest: blob.digest.to_string(),
            actual: actual.to_string(),
        });
    }
    match res {
        Ok(Ok(bytes)) => {
            if let Some(size) = blob.size
                && bytes.len() as u64 != size
            {
                return Err(ErrorKind::SizeMismatch {
                    digest: blob.digest.to_string(),
                    expected: size,
                    actual: format!("is {} bytes", bytes.len()),
                });
            }
            Ok(bytes)
        }
        Ok(Err(size)) => Err(ErrorKind::DocumentTooLarge {
            what: what.to_string(),
            size,
            limit,
        }),
        Err(e) => Err(ErrorKind::Io {
            path: format!("{what} {}", blob.location()),
            source: e,
        }),
    }
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(io::Error) -> ErrorKind + '_ {
    move |source| {
        if source.kind() == io::ErrorKind::NotFound {
            return ErrorKind::NotFound {
                path: path.display().to_string(),
            };
        }
        ErrorKind::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

/// An OCI image layout directory.
pub(crate) struct LayoutDir {
    pub root: PathBuf,
}

impl BlobSource for LayoutDir {
    fn open(&mut self, blob: &Blob) -> Result<Box<dyn Read + '_>, ErrorKind> {
        // the digest is validated hex, so this path cannot leave the layout
        let path = self.root.join(blob.location());
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.is_file() => {}
            Ok(_) => {
                return Err(ErrorKind::BlobMissing {
                    digest: blob.digest.to_string(),
                    detail: " (not a regular file in the layout; symlinks are never followed)"
                        .into(),
                });
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(ErrorKind::BlobMissing {
                    digest: blob.digest.to_string(),
                    detail: " (not in the layout's blobs directory)".into(),
                });
            }
            Err(e) => return Err(io_err(&path)(e)),
        }
        Ok(Box::new(File::open(&path).map_err(io_err(&path))?))
    }
}

/// A tar file whose members are read in place: an index of member offsets, built by
/// seeking over the data, never extracting.
pub(crate) struct Archive {
    pub path: PathBuf,
    file: File,
    members: HashMap<String, (u64, u64)>,
    links: HashMap<String, String>,
}

impl Archive {
    pub fn index(path: &Path) -> Result<Self, ErrorKind> {
        let file = File::open(path).map_err(io_err(path))?;
        // the tar crate's messages quote raw header bytes: keep only printable text
        let not_tar = |e: io::Error, at: usize| ErrorKind::UnknownFormat {
            path: path.display().to_string(),
            detail: if at == 0 {
                "not a tar archive (no valid tar header at its start)".to_string()
            } else {
                format!(
                    "a tar archive whose header after {at} members is invalid ({})",
                    printable(&e.to_string())
                )
            },
        };
        let mut members = HashMap::new();
        let mut links = HashMap::new();
        {
            let mut ar = tar::Archive::new(&file);
            // raw: archive member names are short (digests); long-name and PAX records are
            // skipped instead of being buffered whole
            let entries = ar.entries_with_seek().map_err(|e| not_tar(e, 0))?.raw(true);
            for (n, entry) in entries.enumerate() {
                let entry = entry.map_err(|e| not_tar(e, n))?;
                let name = normalise(&entry.path_bytes());
                let kind = entry.header().entry_type();
                match kind {
                    tar::EntryType::Regular | tar::EntryType::Continuous => {
                        members.insert(name, (entry.raw_file_position(), entry.size()));
                    }
                    tar::EntryType::Symlink | tar::EntryType::Link => {
                        if let Some(t) = entry.link_name_bytes() {
                            let target = if kind == tar::EntryType::Symlink {
                                let dir = name.rsplit_once('/').map_or("", |(d, _)| d);
                                normalise(
                                    format!("{dir}/{}", String::from_utf8_lossy(&t)).as_bytes(),
                                )
                            } else {
                                normalise(&t)
                            };
                            links.insert(name, target);
                        }
                    }
                    _ => {}
                }
            }
        }
        if members.is_empty() {
            return Err(ErrorKind::UnknownFormat {
                path: path.display().to_string(),
                detail: "not a tar archive, or an empty one".into(),
            });
        }
        Ok(Archive {
            path: path.to_path_buf(),
            file,
            members,
            links,
        })
    }

    fn lookup(&self, name: &str) -> Option<(u64, u64)> {
        let mut name = normalise(name.as_bytes());
        // links inside the archive (legacy docker layouts link layer.tar files); a bounded
        // number of hops, so a link loop ends
        for _ in 0..16 {
            if let Some(m) = self.members.get(&name) {
                return Some(*m);
            }
            name = self.links.get(&name)?.clone();
        }
        None
    }

    pub fn has(&self, name: &str) -> bool {
        self.lookup(name).is_some()
    }

    pub fn member_size(&self, name: &str) -> Option<u64> {
        self.lookup(name).map(|(_, s)| s)
    }

    /// A member's bytes, straight out of the tar file.
    pub fn member(&self, name: &str) -> Option<io::Result<io::Take<File>>> {
        let (offset, size) = self.lookup(name)?;
        Some((|| {
            let mut f = self.file.try_clone()?;
            f.seek(SeekFrom::Start(offset))?;
            Ok(f.take(size))
        })())
    }

    /// A small member read whole (index.json, manifest.json), at most `limit` bytes.
    pub fn read_small(&self, name: &str, limit: u64) -> Result<Option<Vec<u8>>, ErrorKind> {
        let Some(r) = self.member(name) else {
            return Ok(None);
        };
        let what = format!("{}!{name}", self.path.display());
        let mut r = r.map_err(|e| ErrorKind::Io {
            path: what.clone(),
            source: e,
        })?;
        match read_limited(&mut r, limit) {
            Ok(Ok(v)) => Ok(Some(v)),
            Ok(Err(size)) => Err(ErrorKind::DocumentTooLarge {
                what: name.to_string(),
                size,
                limit,
            }),
            Err(e) => Err(ErrorKind::Io {
                path: what,
                source: e,
            }),
        }
    }
}

impl BlobSource for Archive {
    fn open(&mut self, blob: &Blob) -> Result<Box<dyn Read + '_>, ErrorKind> {
        let name = blob.location();
        match self.member(&name) {
            Some(Ok(r)) => Ok(Box::new(r)),
            Some(Err(e)) => Err(ErrorKind::Io {
                path: format!("{}!{name}", self.path.display()),
                source: e,
            }),
            None => Err(ErrorKind::BlobMissing {
                digest: blob.digest.to_string(),
                detail: format!(" (no member {name} in the archive)"),
            }),
        }
    }
}

/// `s` with control and non-ASCII characters replaced, at most 80 characters.
pub(crate) fn printable(s: &str) -> String {
    s.chars()
        .take(80)
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect()
}
