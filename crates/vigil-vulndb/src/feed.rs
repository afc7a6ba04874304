//! Reading a feed from disk (feature `fs`): a directory tree, a zip archive (osv.dev's
//! per-ecosystem `all.zip`) or one file, as an iterator of advisories.
//!
//! Memory stays bounded whatever the feed's size:
//! - OSV: one file or zip entry at a time, each at most [`Limits::max_record_bytes`]
//!   (checked before reading a file, and while decompressing a zip entry, whose declared
//!   size may lie). All decompressed bytes of an archive are capped by
//!   [`Limits::max_total_bytes`] (zip bombs).
//! - Debian tracker: the file is one big object, so it is read twice. Pass 1 scans its
//!   structure byte by byte (no values are built) and keeps, per CVE, where its entries are
//!   (package, offset, length). Pass 2 seeks to the entries of one CVE at a time, parses them
//!   and joins them into one advisory. Memory is a few dozen bytes per (package, CVE) pair,
//!   never the file. The file must therefore be a plain file, not a zip entry.
//! - Alpine secdb: one document is small (hundreds of KB) and a vulnerability appears in the
//!   documents of several releases and repositories, so the advisories of all secdb
//!   documents in a feed are joined in memory and yielded at the end. The whole of secdb is
//!   a few MB.
//!
//! Errors name the file, the zip entry and the record id where known. A record error
//! ([`FeedError::is_fatal`] false) spoils only its record and iteration goes on; a fatal one
//! ends it.
//!
//! Directory walks are sorted by name and skip hidden entries (`.git`), symbolic links to
//! directories (a link to an ancestor would loop) and files that are neither `.json`,
//! `.yaml`, `.yml` nor a zip, so the order of records is stable.

use crate::debian;
use crate::error::{FeedError, Location, ParseError};
use crate::format::{FeedFormat, is_yaml_name, sniff};
use crate::model::Advisory;
use crate::{alpine, osv, zipentry};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fs::{self, File};
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Size limits of a feed reader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest single record or document (OSV file, zip entry, secdb document, one Debian
    /// tracker entry). Default 16 MiB: the largest real OSV records are a few MB.
    pub max_record_bytes: u64,
    /// Largest total of decompressed bytes read from one zip archive. Default 16 GiB.
    pub max_total_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_record_bytes: 16 << 20,
            max_total_bytes: 16 << 30,
        }
    }
}

/// One advisory read from a feed and where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct FeedItem {
    /// The advisory.
    pub advisory: Advisory,
    /// File, zip entry and record id it was read from (for joined distribution records,
    /// the first place it was seen).
    pub location: Location,
}

/// Opens a feed with the default [`Limits`]. See [`open_feed_with`].
pub fn open_feed(path: impl AsRef<Path>, format: FeedFormat) -> Feed {
    open_feed_with(path, format, Limits::default())
}

/// Opens a feed: a directory (walked recursively), a zip archive or one file. Nothing is
/// read until the iterator is advanced; an unreadable path is the first (fatal) item.
pub fn open_feed_with(path: impl AsRef<Path>, format: FeedFormat, limits: Limits) -> Feed {
    Feed {
        format,
        limits,
        walk: walk_feed(path),
        current: None,
        pending: VecDeque::new(),
        parsed: VecDeque::new(),
        alpine: BTreeMap::new(),
        alpine_done: false,
        done: false,
    }
}

/// The iterator returned by [`open_feed`].
pub struct Feed {
    format: FeedFormat,
    limits: Limits,
    /// The feed's paths; one the caller named is read whatever its extension.
    walk: FeedWalk,
    current: Option<Source>,
    pending: VecDeque<Result<Document, FeedError>>,
    /// Items of a deferred OSV document parsed by `next`.
    parsed: VecDeque<Result<FeedItem, FeedError>>,
    alpine: BTreeMap<String, FeedItem>,
    alpine_done: bool,
    done: bool,
}

enum Source {
    Zip(Box<ZipSource>),
    Debian(Box<DebianSource>),
}

/// One document of a feed as [`Feed::documents`] yields it: a record already read, or an
/// OSV file whose parsing is left to the caller ([`OsvDocument::parse`]), so that several
/// threads can parse while one reads the feed.
#[derive(Debug)]
pub enum Document {
    Parsed(Box<FeedItem>),
    Osv(OsvDocument),
}

/// An OSV JSON or YAML document (one record or a list), read but not parsed yet.
#[derive(Debug)]
pub struct OsvDocument {
    yaml: bool,
    bytes: Vec<u8>,
    location: Location,
}

impl OsvDocument {
    /// Parses the document: its records, or the errors of the ones that do not parse.
    pub fn parse(self) -> Vec<Result<FeedItem, FeedError>> {
        let record_err = |record: Option<String>, source: ParseError| {
            let mut location = self.location.clone();
            location.record = record;
            FeedError::Record { location, source }
        };
        let results = if self.yaml {
            vec![osv::parse_yaml(&self.bytes)]
        } else {
            match osv::parse_json(&self.bytes) {
                Ok(r) => r,
                Err(e) => return vec![Err(record_err(None, e))],
            }
        };
        results
            .into_iter()
            .map(|r| match r {
                Ok(advisory) => {
                    let mut location = self.location.clone();
                    location.record = Some(advisory.id.to_string());
                    Ok(FeedItem { advisory, location })
                }
                Err(e) => Err(record_err(e.id, e.error)),
            })
            .collect()
    }
}

impl Document {
    /// The records of the document, parsing it if needed.
    pub fn into_items(self) -> Vec<Result<FeedItem, FeedError>> {
        match self {
            Document::Parsed(item) => vec![Ok(*item)],
            Document::Osv(doc) => doc.parse(),
        }
    }
}

impl Feed {
    /// The feed's documents in order, OSV documents unparsed (see [`Document`]). A fatal
    /// error ends the sequence, as it ends the iterator.
    pub fn documents(mut self) -> impl Iterator<Item = Result<Document, FeedError>> {
        std::iter::from_fn(move || self.next_document())
    }

    fn next_document(&mut self) -> Option<Result<Document, FeedError>> {
        loop {
            if self.done {
                return None;
            }
            if let Some(item) = self.pending.pop_front() {
                if item.as_ref().is_err_and(FeedError::is_fatal) {
                    self.done = true;
                }
                return Some(item);
            }
            if let Some(source) = &mut self.current {
                let next = match source {
                    Source::Zip(z) => z.next_item(self.format, self.limits, &mut self.alpine),
                    Source::Debian(d) => d.next_item(self.limits),
                };
                match next {
                    Some(items) => self.pending.extend(items),
                    None => self.current = None,
                }
                continue;
            }
            if let Some(walked) = self.walk.next() {
                match walked {
                    Ok(file) => {
                        let items = self.open_path(file);
                        self.pending.extend(items);
                    }
                    Err((path, e)) => self.pending.push_back(Err(io_err(loc(&path), &e))),
                }
                continue;
            }
            if !self.alpine_done {
                self.alpine_done = true;
                let joined = std::mem::take(&mut self.alpine);
                self.pending.extend(
                    joined
                        .into_values()
                        .map(|i| Ok(Document::Parsed(Box::new(i)))),
                );
                continue;
            }
            self.done = true;
        }
    }
}

impl Iterator for Feed {
    type Item = Result<FeedItem, FeedError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.parsed.pop_front() {
                return Some(item);
            }
            match self.next_document()? {
                Ok(doc) => self.parsed.extend(doc.into_items()),
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

fn loc(file: &Path) -> Location {
    Location {
        file: file.display().to_string(),
        entry: None,
        record: None,
    }
}

fn io_err(location: Location, e: &io::Error) -> FeedError {
    FeedError::Io {
        location,
        message: e.to_string(),
    }
}

/// The paths of a feed in the order the reader takes them: a directory is walked
/// recursively, entries sorted by name, hidden ones (`.git`) skipped, and symbolic links to
/// directories followed only when the link is the feed itself (a link to an ancestor would
/// make the walk endless). Yields every non-directory with its metadata and whether the
/// caller named it, and an error (then goes on) for a path it cannot read.
pub struct FeedWalk {
    /// A stack of sorted entry lists, each reversed so `pop` takes the next; the flag says
    /// whether the path was named by the caller.
    stack: Vec<Vec<(PathBuf, bool)>>,
}

/// Walks a feed path (see [`FeedWalk`]).
pub fn walk_feed(path: impl AsRef<Path>) -> FeedWalk {
    FeedWalk {
        stack: vec![vec![(path.as_ref().to_path_buf(), true)]],
    }
}

/// A path the walk could not read, and why.
pub type WalkError = (PathBuf, io::Error);

impl Iterator for FeedWalk {
    type Item = Result<(PathBuf, bool, fs::Metadata), WalkError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let top = self.stack.last_mut()?;
            let Some((path, named)) = top.pop() else {
                self.stack.pop();
                continue;
            };
            let meta = match fs::metadata(&path) {
                Ok(m) => m,
                Err(e) => return Some(Err((path, e))),
            };
            if !meta.is_dir() {
                return Some(Ok((path, named, meta)));
            }
            if !named && fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
                continue;
            }
            let mut entries = Vec::new();
            let listed = fs::read_dir(&path).and_then(|rd| {
                for entry in rd {
                    let entry = entry?;
                    if !entry.file_name().to_string_lossy().starts_with('.') {
                        entries.push((entry.path(), false));
                    }
                }
                Ok(())
            });
            if let Err(e) = listed {
                return Some(Err((path, e)));
            }
            entries.sort();
            entries.reverse();
            self.stack.push(entries);
        }
    }
}

impl Feed {
    /// Handles one non-directory path from the walk; returns items to yield (possibly none).
    fn open_path(
        &mut self,
        (path, named, meta): (PathBuf, bool, fs::Metadata),
    ) -> Vec<Result<Document, FeedError>> {
        if !meta.is_file() {
            // FIFOs, sockets and devices: reading one could block forever.
            if !named {
                return Vec::new();
            }
            return vec![Err(FeedError::Feed {
                location: loc(&path),
                message: "not a regular file or directory".into(),
            })];
        }
        let name = path.to_string_lossy().to_string();
        let is_zip = name.to_ascii_lowercase().ends_with(".zip") || has_zip_magic(&path);
        if is_zip {
            return match ZipSource::open(&path) {
                Ok(z) => {
                    self.current = Some(Source::Zip(Box::new(z)));
                    Vec::new()
                }
                Err(e) => vec![Err(e)],
            };
        }
        let lower = name.to_ascii_lowercase();
        if !(named || lower.ends_with(".json") || is_yaml_name(&lower)) {
            return Vec::new();
        }
        let format = match self.format {
            FeedFormat::Auto => {
                let prefix = match read_prefix(&path) {
                    Ok(p) => p,
                    Err(e) => return vec![Err(io_err(loc(&path), &e))],
                };
                match sniff(&name, &prefix) {
                    Some(f) => f,
                    None => {
                        return vec![Err(FeedError::Record {
                            location: loc(&path),
                            source: ParseError::Syntax(
                                "not an OSV record, an Alpine secdb document or a Debian tracker \
                                 file"
                                    .into(),
                            ),
                        })];
                    }
                }
            }
            f => f,
        };
        if format == FeedFormat::DebianTracker {
            return match DebianSource::open(&path) {
                Ok(d) => {
                    self.current = Some(Source::Debian(Box::new(d)));
                    Vec::new()
                }
                Err(e) => vec![Err(e)],
            };
        }
        if meta.len() > self.limits.max_record_bytes {
            return vec![Err(FeedError::Record {
                location: loc(&path),
                source: ParseError::TooLarge {
                    size: meta.len(),
                    limit: self.limits.max_record_bytes,
                },
            })];
        }
        let bytes =
            match File::open(&path).and_then(|f| read_limited(f, self.limits.max_record_bytes)) {
                Ok(Some(b)) => b,
                Ok(None) => {
                    return vec![Err(FeedError::Record {
                        location: loc(&path),
                        source: ParseError::TooLarge {
                            size: self.limits.max_record_bytes + 1,
                            limit: self.limits.max_record_bytes,
                        },
                    })];
                }
                Err(e) => return vec![Err(io_err(loc(&path), &e))],
            };
        convert_document(format, &name, bytes, loc(&path), &mut self.alpine)
    }
}

fn has_zip_magic(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && magic == *b"PK\x03\x04"
}

fn read_prefix(path: &Path) -> io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(4096);
    File::open(path)?.take(64 << 10).read_to_end(&mut buf)?;
    Ok(buf)
}

/// Reads at most `limit` bytes; `None` when there were more.
fn read_limited(r: impl Read, limit: u64) -> io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    r.take(limit + 1).read_to_end(&mut buf)?;
    Ok((buf.len() as u64 <= limit).then_some(buf))
}

/// Converts one OSV or Alpine document. Alpine advisories are joined into `alpine` and
/// yielded at the end of the feed.
fn convert_document(
    format: FeedFormat,
    name: &str,
    bytes: Vec<u8>,
    location: Location,
    alpine: &mut BTreeMap<String, FeedItem>,
) -> Vec<Result<Document, FeedError>> {
    let record_err = |record: Option<String>, source: ParseError| {
        let mut location = location.clone();
        location.record = record;
        FeedError::Record { location, source }
    };
    match format {
        FeedFormat::AlpineSecdb => {
            let syntax = if is_yaml_name(name) {
                alpine::Syntax::Yaml
            } else {
                alpine::Syntax::Json
            };
            match alpine::parse(&bytes, syntax) {
                Ok(advs) => {
                    for adv in advs {
                        match alpine.get_mut(adv.id.as_str()) {
                            Some(item) => item.advisory.merge(adv),
                            None => {
                                let mut location = location.clone();
                                location.record = Some(adv.id.to_string());
                                alpine.insert(
                                    adv.id.to_string(),
                                    FeedItem {
                                        advisory: adv,
                                        location,
                                    },
                                );
                            }
                        }
                    }
                    Vec::new()
                }
                Err(e) => vec![Err(record_err(None, e))],
            }
        }
        FeedFormat::Osv | FeedFormat::Auto => vec![Ok(Document::Osv(OsvDocument {
            yaml: is_yaml_name(name),
            // Moved, not copied: copying every entry took the reader half as long as
            // inflating it.
            bytes,
            location,
        }))],
        FeedFormat::DebianTracker => vec![Err(record_err(
            None,
            ParseError::Syntax(
                "a Debian tracker file must be read as a plain file, not from an archive".into(),
            ),
        ))],
    }
}

/// A zip archive, read entry by entry.
///
/// By default the archive is read as a stream of local file headers, which keeps no
/// per-entry state: the central directory of a 200,000-entry `all.zip` alone takes about
/// 100 MB in `zip::ZipArchive`. Archives written with data descriptors (sizes after the
/// data, as Go's archive/zip does) cannot be streamed; the first such entry switches to
/// `ZipArchive`, which resumes after the entries already read.
struct ZipSource {
    path: PathBuf,
    mode: ZipMode,
    /// Entries handled so far (in archive order).
    index: usize,
    total: u64,
    /// Reused for every entry (it holds libdeflate's tables).
    inflater: libdeflater::Decompressor,
}

enum ZipMode {
    Stream(BufReader<File>),
    Archive(Box<zip::ZipArchive<BufReader<File>>>),
}

/// One entry's content as read from the archive.
enum EntryRead {
    Skip,
    Bytes(Vec<u8>),
    /// More than `limit` decompressed bytes; the declared size.
    TooLarge(u64),
    /// The entry cannot be read (see [`zipentry::Content::Unreadable`]).
    Unreadable(String),
    /// Sizes are in a data descriptor: stream reading is impossible.
    NeedsArchive,
}

impl From<zipentry::Content> for EntryRead {
    fn from(c: zipentry::Content) -> Self {
        match c {
            zipentry::Content::Bytes(b) => Self::Bytes(b),
            zipentry::Content::TooLarge(n) => Self::TooLarge(n),
            zipentry::Content::Unreadable(why) => Self::Unreadable(why),
        }
    }
}

/// Entries other than `.json` and YAML files (and directories) are skipped unread.
fn wanted_entry(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    !lower.ends_with('/') && (lower.ends_with(".json") || is_yaml_name(&lower))
}

impl ZipSource {
    fn open(path: &Path) -> Result<Self, FeedError> {
        let file = File::open(path).map_err(|e| io_err(loc(path), &e))?;
        Ok(Self {
            path: path.to_path_buf(),
            mode: ZipMode::Stream(BufReader::with_capacity(256 << 10, file)),
            index: 0,
            total: 0,
            inflater: libdeflater::Decompressor::new(),
        })
    }

    fn switch_to_archive(&mut self) -> Result<(), FeedError> {
        let file = File::open(&self.path).map_err(|e| io_err(loc(&self.path), &e))?;
        let archive = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| FeedError::Feed {
            location: loc(&self.path),
            message: format!("not a readable zip archive: {e}"),
        })?;
        self.mode = ZipMode::Archive(Box::new(archive));
        Ok(())
    }

    /// Reads the next entry: its name and content. `None` at the end of the archive.
    fn read_entry(&mut self, limit: u64) -> Result<Option<(String, EntryRead)>, FeedError> {
        let zip_err = |i: usize, e: &dyn std::fmt::Display| FeedError::Feed {
            location: loc(&self.path),
            message: format!("zip entry {i} unreadable: {e}"),
        };
        let entry_err = |name: &str, e: &io::Error| {
            io_err(
                Location {
                    entry: Some(name.to_owned()),
                    ..loc(&self.path)
                },
                e,
            )
        };
        let i = self.index;
        match &mut self.mode {
            ZipMode::Stream(reader) => {
                let header = match zipentry::read_local_header(reader) {
                    Ok(zipentry::Next::Entry(h)) => h,
                    Ok(zipentry::Next::End) => return Ok(None),
                    Ok(zipentry::Next::SizesAfterData) => {
                        return Ok(Some((String::new(), EntryRead::NeedsArchive)));
                    }
                    Err(e) if i == 0 => {
                        return Err(FeedError::Feed {
                            location: loc(&self.path),
                            message: format!("not a readable zip archive: {e}"),
                        });
                    }
                    Err(e) => return Err(zip_err(i, &e)),
                };
                let read = if wanted_entry(&header.name) {
                    zipentry::read_content(reader, &header, limit, &mut self.inflater)
                        .map(EntryRead::from)
                } else {
                    zipentry::skip(reader, header.compressed_size).map(|()| EntryRead::Skip)
                };
                let read = read.map_err(|e| entry_err(&header.name, &e))?;
                Ok(Some((header.name, read)))
            }
            ZipMode::Archive(archive) => {
                if i >= archive.len() {
                    return Ok(None);
                }
                // Raw: the stored bytes, inflated below as a streamed entry's are.
                let mut entry = archive.by_index_raw(i).map_err(|e| zip_err(i, &e))?;
                let header = zipentry::EntryHeader {
                    name: entry.name().to_owned(),
                    method: match entry.compression() {
                        zip::CompressionMethod::Stored => zipentry::STORED,
                        zip::CompressionMethod::Deflated => zipentry::DEFLATED,
                        #[allow(deprecated)]
                        other => other.to_u16(),
                    },
                    encrypted: entry.encrypted(),
                    compressed_size: entry.compressed_size(),
                    size: entry.size(),
                    crc32: entry.crc32(),
                };
                if !wanted_entry(&header.name) {
                    return Ok(Some((header.name, EntryRead::Skip)));
                }
                let read = zipentry::read_content(&mut entry, &header, limit, &mut self.inflater)
                    .map_err(|e| entry_err(&header.name, &e))?;
                Ok(Some((header.name, read.into())))
            }
        }
    }

    fn next_item(
        &mut self,
        format: FeedFormat,
        limits: Limits,
        alpine: &mut BTreeMap<String, FeedItem>,
    ) -> Option<Vec<Result<Document, FeedError>>> {
        loop {
            let budget = limits.max_total_bytes.saturating_sub(self.total);
            let limit = limits.max_record_bytes.min(budget);
            let (name, read) = match self.read_entry(limit) {
                Ok(Some(x)) => x,
                Ok(None) => return None,
                Err(e) => return Some(vec![Err(e)]),
            };
            let location = Location {
                entry: Some(name.clone()),
                ..loc(&self.path)
            };
            let bytes = match read {
                EntryRead::Skip => {
                    self.index += 1;
                    continue;
                }
                EntryRead::NeedsArchive => {
                    if let Err(e) = self.switch_to_archive() {
                        return Some(vec![Err(e)]);
                    }
                    continue;
                }
                EntryRead::TooLarge(_) if limit < limits.max_record_bytes => {
                    return Some(vec![Err(FeedError::Feed {
                        location,
                        message: format!(
                            "decompressed size exceeds the limit of {} bytes for the archive",
                            limits.max_total_bytes
                        ),
                    })]);
                }
                EntryRead::Unreadable(why) => {
                    self.index += 1;
                    return Some(vec![Err(FeedError::Record {
                        location,
                        source: ParseError::Entry(why),
                    })]);
                }
                EntryRead::TooLarge(size) => {
                    self.index += 1;
                    return Some(vec![Err(FeedError::Record {
                        location,
                        source: ParseError::TooLarge {
                            size,
                            limit: limits.max_record_bytes,
                        },
                    })]);
                }
                EntryRead::Bytes(b) => b,
            };
            self.index += 1;
            self.total += bytes.len() as u64;
            let format = match format {
                FeedFormat::Auto => match sniff(&name, &bytes[..bytes.len().min(64 << 10)]) {
                    Some(f) => f,
                    None => {
                        return Some(vec![Err(FeedError::Record {
                            location,
                            source: ParseError::Syntax(
                                "not an OSV record or an Alpine secdb document".into(),
                            ),
                        })]);
                    }
                },
                f => f,
            };
            return Some(convert_document(format, &name, bytes, location, alpine));
        }
    }
}

/// Where the entries of one CVE are in a Debian tracker file.
struct Span {
    package: u32,
    offset: u64,
    len: u64,
}

struct DebianSource {
    path: PathBuf,
    file: File,
    packages: Vec<String>,
    order: std::vec::IntoIter<String>,
    spans: HashMap<String, Vec<Span>>,
}

impl DebianSource {
    fn open(path: &Path) -> Result<Self, FeedError> {
        let file = File::open(path).map_err(|e| io_err(loc(path), &e))?;
        let mut scanner = Scanner::new(file);
        let (packages, order, spans) = scanner.index().map_err(|e| match e {
            ScanError::Io(e) => io_err(loc(path), &e),
            ScanError::Syntax(message) => FeedError::Feed {
                location: loc(path),
                message,
            },
        })?;
        let file = File::open(path).map_err(|e| io_err(loc(path), &e))?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
            packages,
            order: order.into_iter(),
            spans,
        })
    }

    fn next_item(&mut self, limits: Limits) -> Option<Vec<Result<Document, FeedError>>> {
        let cve = self.order.next()?;
        let spans = self.spans.remove(&cve).unwrap_or_default();
        let mut location = loc(&self.path);
        location.record = Some(format!("DEBIAN-{cve}"));
        let mut joined: Option<Advisory> = None;
        for span in spans {
            let package = &self.packages[span.package as usize];
            let mut at = location.clone();
            at.record = Some(format!("DEBIAN-{cve} (source package {package})"));
            if span.len > limits.max_record_bytes {
                return Some(vec![Err(FeedError::Record {
                    location: at,
                    source: ParseError::TooLarge {
                        size: span.len,
                        limit: limits.max_record_bytes,
                    },
                })]);
            }
            let mut buf = vec![0; span.len as usize];
            if let Err(e) = self
                .file
                .seek(SeekFrom::Start(span.offset))
                .and_then(|_| self.file.read_exact(&mut buf))
            {
                return Some(vec![Err(io_err(at, &e))]);
            }
            match debian::parse_entry(package, &cve, &buf) {
                // The fragments of one CVE differ only in their package, so their affected
                // entries are distinct: append instead of merging (which dedups in O(n^2)).
                Ok(adv) => match &mut joined {
                    Some(j) => {
                        j.affected.extend(adv.affected);
                        if j.details.is_none() {
                            j.details = adv.details;
                        }
                    }
                    None => joined = Some(adv),
                },
                Err(source) => {
                    return Some(vec![Err(FeedError::Record {
                        location: at,
                        source,
                    })]);
                }
            }
        }
        let mut advisory = joined?;
        debian::sort_affected(&mut advisory);
        Some(vec![Ok(Document::Parsed(Box::new(FeedItem {
            advisory,
            location,
        })))])
    }
}

enum ScanError {
    Io(io::Error),
    Syntax(String),
}

impl From<io::Error> for ScanError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

/// Longest object key accepted in the tracker's two top levels (package names, CVE ids).
const MAX_KEY_BYTES: usize = 4096;

/// Pass 1 over the Debian tracker: a byte-level scanner of `{pkg: {cve: VALUE, ...}, ...}`
/// that records where each VALUE is without building it. Skipping a value is iterative
/// (depth counter), so nesting cannot overflow the stack.
struct Scanner<R> {
    r: R,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    /// File offset of `buf[start]`.
    pos: u64,
}

type Index = (Vec<String>, Vec<String>, HashMap<String, Vec<Span>>);

impl<R: Read> Scanner<R> {
    fn new(r: R) -> Self {
        Self {
            r,
            buf: vec![0; 64 << 10].into_boxed_slice(),
            start: 0,
            end: 0,
            pos: 0,
        }
    }

    fn peek(&mut self) -> Result<Option<u8>, ScanError> {
        if self.start == self.end {
            self.start = 0;
            self.end = loop {
                match self.r.read(&mut self.buf) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e.into()),
                }
            };
            if self.end == 0 {
                return Ok(None);
            }
        }
        Ok(Some(self.buf[self.start]))
    }

    fn next_byte(&mut self) -> Result<Option<u8>, ScanError> {
        let b = self.peek()?;
        if b.is_some() {
            self.start += 1;
            self.pos += 1;
        }
        Ok(b)
    }

    fn err<T>(&self, what: &str, found: Option<u8>) -> Result<T, ScanError> {
        let found = match found {
            Some(b) if b.is_ascii_graphic() => format!("{:?}", b as char),
            Some(b) => format!("byte 0x{b:02x}"),
            None => "end of file".into(),
        };
        Err(ScanError::Syntax(format!(
            "Debian tracker JSON: expected {what} at byte {}, found {found}",
            self.pos
        )))
    }

    fn skip_ws(&mut self) -> Result<Option<u8>, ScanError> {
        while let Some(b) = self.peek()? {
            if b.is_ascii_whitespace() {
                self.next_byte()?;
            } else {
                return Ok(Some(b));
            }
        }
        Ok(None)
    }

    fn expect(&mut self, want: u8, what: &str) -> Result<(), ScanError> {
        let b = self.skip_ws()?;
        if b == Some(want) {
            self.next_byte()?;
            Ok(())
        } else {
            self.err(what, b)
        }
    }

    /// Reads a JSON string (the opening quote is next) and decodes it.
    fn key(&mut self) -> Result<String, ScanError> {
        let start = self.pos;
        let mut raw = vec![b'"'];
        self.next_byte()?;
        let mut escaped = false;
        loop {
            let Some(b) = self.next_byte()? else {
                return self.err("the end of a string", None);
            };
            raw.push(b);
            if raw.len() > MAX_KEY_BYTES {
                return Err(ScanError::Syntax(format!(
                    "Debian tracker JSON: key at byte {start} is longer than {MAX_KEY_BYTES} bytes"
                )));
            }
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                break;
            }
        }
        serde_json::from_slice(&raw).map_err(|e| {
            ScanError::Syntax(format!("Debian tracker JSON: bad key at byte {start}: {e}"))
        })
    }

    /// Skips one JSON value (next after whitespace); returns (offset, length).
    fn skip_value(&mut self) -> Result<(u64, u64), ScanError> {
        let first = self.skip_ws()?;
        let start = self.pos;
        match first {
            Some(b'{' | b'[') => {
                let mut depth = 0u64;
                let mut in_string = false;
                let mut escaped = false;
                loop {
                    let Some(b) = self.next_byte()? else {
                        return self.err("the end of a value", None);
                    };
                    if in_string {
                        if escaped {
                            escaped = false;
                        } else if b == b'\\' {
                            escaped = true;
                        } else if b == b'"' {
                            in_string = false;
                        }
                        continue;
                    }
                    match b {
                        b'"' => in_string = true,
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
            }
            Some(b'"') => {
                self.key()?;
            }
            Some(_) => {
                while let Some(b) = self.peek()? {
                    if b == b',' || b == b'}' || b == b']' || b.is_ascii_whitespace() {
                        break;
                    }
                    self.next_byte()?;
                }
            }
            None => return self.err("a value", None),
        }
        Ok((start, self.pos - start))
    }

    fn index(&mut self) -> Result<Index, ScanError> {
        let mut packages = Vec::new();
        let mut order = Vec::new();
        let mut spans: HashMap<String, Vec<Span>> = HashMap::new();
        self.expect(b'{', "'{' opening the object of source packages")?;
        if self.skip_ws()? == Some(b'}') {
            self.next_byte()?;
        } else {
            loop {
                if self.skip_ws()? != Some(b'"') {
                    let b = self.peek()?;
                    return self.err("a source package name", b);
                }
                let package = self.key()?;
                self.expect(b':', "':' after a source package name")?;
                self.expect(b'{', "'{' opening the CVEs of a source package")?;
                let pkg_index = u32::try_from(packages.len()).map_err(|_| {
                    ScanError::Syntax("Debian tracker JSON: too many source packages".into())
                })?;
                packages.push(package);
                if self.skip_ws()? == Some(b'}') {
                    self.next_byte()?;
                } else {
                    loop {
                        if self.skip_ws()? != Some(b'"') {
                            let b = self.peek()?;
                            return self.err("a CVE id", b);
                        }
                        let cve = self.key()?;
                        self.expect(b':', "':' after a CVE id")?;
                        let (offset, len) = self.skip_value()?;
                        let span = Span {
                            package: pkg_index,
                            offset,
                            len,
                        };
                        match spans.get_mut(&cve) {
                            Some(v) => v.push(span),
                            None => {
                                order.push(cve.clone());
                                spans.insert(cve, vec![span]);
                            }
                        }
                        match self.skip_ws()? {
                            Some(b',') => {
                                self.next_byte()?;
                            }
                            Some(b'}') => {
                                self.next_byte()?;
                                break;
                            }
                            b => return self.err("',' or '}' after a CVE entry", b),
                        }
                    }
                }
                match self.skip_ws()? {
                    Some(b',') => {
                        self.next_byte()?;
                    }
                    Some(b'}') => {
                        self.next_byte()?;
                        break;
                    }
                    b => return self.err("',' or '}' after a source package", b),
                }
            }
        }
        match self.skip_ws()? {
            None => Ok((packages, order, spans)),
            b => self.err("the end of the file", b),
        }
    }
}
