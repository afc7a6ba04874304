//! One zip entry at a time: its local header read from a stream, its stored bytes read
//! whole, then inflated in one call by libdeflate and checked against the declared size and
//! CRC-32 (APPNOTE 4.3.7, 4.4, 4.5.3).
//!
//! The `zip` crate's stream reader only hands out an inflating reader, fed a few KiB at a
//! time through zlib: for osv.dev's `all.zip` (hundreds of thousands of entries of a few
//! KiB) that took 2.6 times as long as reading each entry's deflate stream whole and
//! inflating it with libdeflate. `zip::ZipArchive` still reads archives whose sizes are in
//! data descriptors (see `feed::ZipSource`); both paths end in [`decode`].
//!
//! A hostile entry cannot make memory grow past the caller's limit: the declared size is
//! checked before anything is read, the stored bytes are bounded by what deflate could
//! make of that size, and libdeflate never writes past the buffer of the declared size.

use std::io::{self, Read};

const LOCAL_HEADER: u32 = 0x0403_4b50;
const CENTRAL_HEADER: u32 = 0x0201_4b50;
const END_OF_CENTRAL_DIRECTORY: u32 = 0x0605_4b50;
/// General purpose flag bits.
const FLAG_ENCRYPTED: u16 = 1;
const FLAG_DATA_DESCRIPTOR: u16 = 1 << 3;
/// The zip64 extended information extra field.
const ZIP64_EXTRA: u16 = 0x0001;

pub(crate) const STORED: u16 = 0;
pub(crate) const DEFLATED: u16 = 8;

/// What a local file header says about the entry that follows it.
#[derive(Debug)]
pub(crate) struct EntryHeader {
    pub name: String,
    pub method: u16,
    pub encrypted: bool,
    pub compressed_size: u64,
    pub size: u64,
    pub crc32: u32,
}

/// The next thing in a stream of local entries.
pub(crate) enum Next {
    Entry(EntryHeader),
    /// The entry's sizes follow its data (a data descriptor), so a stream reader cannot
    /// find its end; only the central directory knows them.
    SizesAfterData,
    /// The central directory (or, for an empty archive, its end record): no more entries.
    End,
}

/// Reads the local file header at the stream's position.
pub(crate) fn read_local_header(r: &mut impl Read) -> io::Result<Next> {
    let mut fixed = [0u8; 30];
    r.read_exact(&mut fixed[..4])?;
    match u32_at(&fixed, 0) {
        LOCAL_HEADER => {}
        CENTRAL_HEADER | END_OF_CENTRAL_DIRECTORY => return Ok(Next::End),
        other => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("expected a local file header, found signature {other:#010x}"),
            ));
        }
    }
    r.read_exact(&mut fixed[4..])?;
    let flags = u16_at(&fixed, 6);
    let method = u16_at(&fixed, 8);
    let crc32 = u32_at(&fixed, 14);
    let mut compressed_size = u64::from(u32_at(&fixed, 18));
    let mut size = u64::from(u32_at(&fixed, 22));
    let name_len = usize::from(u16_at(&fixed, 26));
    let extra_len = usize::from(u16_at(&fixed, 28));
    let mut name = vec![0u8; name_len];
    r.read_exact(&mut name)?;
    let mut extra = vec![0u8; extra_len];
    r.read_exact(&mut extra)?;
    if flags & FLAG_DATA_DESCRIPTOR != 0 {
        return Ok(Next::SizesAfterData);
    }
    if size == u64::from(u32::MAX) || compressed_size == u64::from(u32::MAX) {
        // Zip64: the real sizes are in the extra field, uncompressed first, each present
        // only when its header field is saturated.
        let mut fields = zip64_field(&extra).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                "a saturated size without a zip64 extra field",
            )
        })?;
        let mut take = |field: &mut u64| -> io::Result<()> {
            if *field == u64::from(u32::MAX) {
                let (value, rest) = fields.split_first_chunk::<8>().ok_or_else(|| {
                    io::Error::new(io::ErrorKind::InvalidData, "a truncated zip64 extra field")
                })?;
                *field = u64::from_le_bytes(*value);
                fields = rest;
            }
            Ok(())
        };
        take(&mut size)?;
        take(&mut compressed_size)?;
    }
    Ok(Next::Entry(EntryHeader {
        // Names are UTF-8 (flag 11) or CP437, which agrees with ASCII: every name a feed
        // uses. Anything else is shown lossily; it is only used in messages and to pick
        // `.json`/`.yaml` entries.
        name: String::from_utf8_lossy(&name).into_owned(),
        method,
        encrypted: flags & FLAG_ENCRYPTED != 0,
        compressed_size,
        size,
        crc32,
    }))
}

/// The data of the zip64 extra field within an extra block.
fn zip64_field(mut extra: &[u8]) -> Option<&[u8]> {
    while extra.len() >= 4 {
        let id = u16_at(extra, 0);
        let len = usize::from(u16_at(extra, 2));
        let data = extra.get(4..4 + len)?;
        if id == ZIP64_EXTRA {
            return Some(data);
        }
        extra = &extra[4 + len..];
    }
    None
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// An entry's content, or why there is none. The stream is always left after the
/// entry's data, so the next entry can be read.
pub(crate) enum Content {
    Bytes(Vec<u8>),
    /// The declared size is over the limit; nothing was inflated.
    TooLarge(u64),
    /// The entry cannot be read (unsupported method, encryption, bad data), said why.
    Unreadable(String),
}

/// Reads the entry's stored bytes (exactly `compressed_size` of them) and decodes them.
/// Only IO errors of `r` are errors: the stream may then be anywhere.
pub(crate) fn read_content(
    r: &mut impl Read,
    header: &EntryHeader,
    limit: u64,
    inflater: &mut libdeflater::Decompressor,
) -> io::Result<Content> {
    let problem = if header.encrypted {
        Some(Content::Unreadable(
            "the entry is encrypted; feeds are read from unencrypted archives".into(),
        ))
    } else if header.method != STORED && header.method != DEFLATED {
        Some(Content::Unreadable(format!(
            "compression method {} is not supported (stored and deflate are)",
            header.method
        )))
    } else if header.size > limit {
        Some(Content::TooLarge(header.size))
    } else if header.compressed_size > max_stored_size(header) {
        Some(Content::Unreadable(format!(
            "{} stored bytes cannot hold {} bytes compressed by method {}",
            header.compressed_size, header.size, header.method
        )))
    } else {
        None
    };
    if let Some(problem) = problem {
        skip(r, header.compressed_size)?;
        return Ok(problem);
    }
    // Bounded above: at most a little more than `limit`.
    let mut stored = Vec::with_capacity(header.compressed_size as usize);
    r.take(header.compressed_size).read_to_end(&mut stored)?;
    if (stored.len() as u64) < header.compressed_size {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(decode(header, stored, inflater))
}

/// Skips `n` bytes of the stream without holding them.
pub(crate) fn skip(r: &mut impl Read, n: u64) -> io::Result<()> {
    let skipped = io::copy(&mut r.take(n), &mut io::sink())?;
    if skipped < n {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(())
}

/// The most stored bytes a well-formed entry of this size can have. Stored data is its own
/// size; deflate's worst case is 5 bytes of block header per 65,535-byte stored block plus
/// a final empty block, so anything much bigger is padding or a lie.
pub(crate) fn max_stored_size(header: &EntryHeader) -> u64 {
    match header.method {
        STORED => header.size,
        _ => header.size + header.size / 1024 + 1024,
    }
}

/// Inflates (or takes as is) the stored bytes of an entry and checks them against the
/// header's size and CRC-32.
pub(crate) fn decode(
    header: &EntryHeader,
    stored: Vec<u8>,
    inflater: &mut libdeflater::Decompressor,
) -> Content {
    let content = if header.method == STORED {
        if stored.len() as u64 != header.size {
            return Content::Unreadable(format!(
                "stored entry has {} bytes, not the declared {}",
                stored.len(),
                header.size
            ));
        }
        stored
    } else {
        let mut out = vec![0u8; header.size as usize];
        match inflater.deflate_decompress(&stored, &mut out) {
            Ok(n) if n as u64 == header.size => out,
            Ok(n) => {
                return Content::Unreadable(format!(
                    "inflates to {n} bytes, not the declared {}",
                    header.size
                ));
            }
            Err(libdeflater::DecompressionError::InsufficientSpace) => {
                return Content::Unreadable(format!(
                    "inflates to more than the declared {} bytes",
                    header.size
                ));
            }
            Err(libdeflater::DecompressionError::BadData) => {
                return Content::Unreadable("invalid deflate data".into());
            }
        }
    };
    let crc = libdeflater::crc32(&content);
    if crc != header.crc32 {
        return Content::Unreadable(format!(
            "CRC-32 {crc:08x} of the content differs from the declared {:08x}",
            header.crc32
        ));
    }
    Content::Bytes(content)
}
