//! rpm databases (SPEC 3.2): SQLite `rpmdb.sqlite` ([`sqlite`]), Berkeley DB hash
//! `Packages` ([`bdb`]) and ndb `Packages.db` ([`ndb`]). The `rpm` crate reads package
//! files, not databases, so the three containers and the header blobs inside them are
//! parsed here.
//!
//! Every container stores one *header blob* per installed package, in the layout rpm
//! writes with `headerExport` (rpm `lib/header.c`), big-endian:
//!
//! ```text
//! il: u32   number of index entries
//! dl: u32   size of the data store
//! il x { tag: i32, type: u32, offset: i32, count: u32 }
//! dl bytes of data; strings are NUL-terminated
//! ```
//!
//! Traps:
//! - `il` and `dl` come from the file: they are checked against the blob's length (and
//!   rpm's own limits, 0xffff tags and 256 MiB of data) before any index is read.
//! - The `%{EVR}` that rpm prints is `epoch:version-release` only when the header has an
//!   EPOCH tag; an absent epoch is not written as `0:`.
//! - `gpg-pubkey` entries are imported signing keys, not packages: skipped.
//! - The source package name is SOURCERPM minus `.src.rpm` and its last two `-` fields
//!   (`util-linux-2.32.1-8.el8.src.rpm` -> `util-linux`).

pub(crate) mod bdb;
pub(crate) mod ndb;
pub(crate) mod sqlite;

use crate::{Package, PkgType};

const TAG_NAME: i32 = 1000;
const TAG_VERSION: i32 = 1001;
const TAG_RELEASE: i32 = 1002;
const TAG_EPOCH: i32 = 1003;
const TAG_ARCH: i32 = 1022;
const TAG_SOURCERPM: i32 = 1044;

const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_STRING_ARRAY: u32 = 8;
const TYPE_I18NSTRING: u32 = 9;

/// rpm's `HEADER_TAGS_MAX` and `HEADER_DATA_MAX` (lib/header_internal.h).
const MAX_TAGS: u32 = 0xffff;
const MAX_DATA: u32 = 256 * 1024 * 1024;

pub(crate) fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

pub(crate) fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// The index entries of the tags we read: (type, offset, count).
#[derive(Default)]
struct Wanted {
    name: Option<(u32, u32, u32)>,
    version: Option<(u32, u32, u32)>,
    release: Option<(u32, u32, u32)>,
    epoch: Option<(u32, u32, u32)>,
    arch: Option<(u32, u32, u32)>,
    sourcerpm: Option<(u32, u32, u32)>,
}

/// Reads one header blob into a package; `Ok(None)` for `gpg-pubkey`. The error says
/// what is wrong with the blob; the caller adds which record it was.
pub(crate) fn package(blob: &[u8], path: &str) -> Result<Option<Package>, String> {
    if blob.len() < 8 {
        return Err(format!(
            "header blob is {} bytes, shorter than its 8-byte preamble",
            blob.len()
        ));
    }
    let il = be32(blob, 0);
    let dl = be32(blob, 4);
    if il == 0 || il > MAX_TAGS {
        return Err(format!(
            "header declares {il} tags, expected 1 to {MAX_TAGS}"
        ));
    }
    if dl > MAX_DATA {
        return Err(format!(
            "header declares {dl} bytes of data, more than rpm's limit of {MAX_DATA}"
        ));
    }
    let index_end = 8 + il as usize * 16;
    let need = index_end + dl as usize;
    if blob.len() < need {
        return Err(format!(
            "header blob is {} bytes, shorter than the {need} its {il} tags and {dl} data bytes need",
            blob.len()
        ));
    }
    let data = &blob[index_end..need];
    let mut w = Wanted::default();
    for entry in blob[8..index_end].chunks_exact(16) {
        let tag = be32(entry, 0) as i32;
        let slot = match tag {
            TAG_NAME => &mut w.name,
            TAG_VERSION => &mut w.version,
            TAG_RELEASE => &mut w.release,
            TAG_EPOCH => &mut w.epoch,
            TAG_ARCH => &mut w.arch,
            TAG_SOURCERPM => &mut w.sourcerpm,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some((be32(entry, 4), be32(entry, 8), be32(entry, 12)));
        }
    }
    let name = string(data, w.name, "NAME")?.ok_or("header has no NAME tag")?;
    if name == "gpg-pubkey" {
        return Ok(None);
    }
    let missing = |tag: &str| format!("header of {name} has no {tag} tag");
    let version = string(data, w.version, "VERSION")?.ok_or_else(|| missing("VERSION"))?;
    let release = string(data, w.release, "RELEASE")?.ok_or_else(|| missing("RELEASE"))?;
    let epoch = int32(data, w.epoch, "EPOCH")?;
    let arch = string(data, w.arch, "ARCH")?;
    let sourcerpm = string(data, w.sourcerpm, "SOURCERPM")?;
    let evr = match epoch {
        Some(e) => format!("{e}:{version}-{release}"),
        None => format!("{version}-{release}"),
    };
    let (source_name, source_version) = match sourcerpm.as_deref().and_then(split_srpm) {
        Some((n, vr)) => (Some(n.to_owned()), Some(vr.to_owned())),
        None => (None, None),
    };
    Ok(Some(Package {
        ecosystem: PkgType::Rpm,
        name,
        version: evr,
        epoch,
        arch,
        source_name,
        source_version,
        path: path.to_owned(),
        dev: false,
    }))
}

/// `openssl-1.1.1-8.el8.src.rpm` -> (`openssl`, `1.1.1-8.el8`).
fn split_srpm(srpm: &str) -> Option<(&str, &str)> {
    let base = srpm
        .strip_suffix(".src.rpm")
        .or_else(|| srpm.strip_suffix(".nosrc.rpm"))?;
    let release_dash = base.rfind('-')?;
    let version_dash = base[..release_dash].rfind('-')?;
    let name = &base[..version_dash];
    (!name.is_empty()).then(|| (name, &base[version_dash + 1..]))
}

fn string(
    data: &[u8],
    entry: Option<(u32, u32, u32)>,
    tag: &str,
) -> Result<Option<String>, String> {
    let Some((ty, offset, count)) = entry else {
        return Ok(None);
    };
    if !matches!(ty, TYPE_STRING | TYPE_STRING_ARRAY | TYPE_I18NSTRING) || count == 0 {
        return Err(format!(
            "{tag} tag has type {ty} and count {count}, expected a string"
        ));
    }
    let start = offset as usize;
    let Some(rest) = data.get(start..).filter(|r| !r.is_empty()) else {
        return Err(format!(
            "{tag} tag points at offset {offset}, past the {} bytes of data",
            data.len()
        ));
    };
    let Some(nul) = rest.iter().position(|&b| b == 0) else {
        return Err(format!(
            "{tag} string at offset {offset} has no terminating NUL"
        ));
    };
    let s = std::str::from_utf8(&rest[..nul])
        .map_err(|_| format!("{tag} string at offset {offset} is not valid UTF-8"))?;
    Ok(Some(s.to_owned()))
}

fn int32(data: &[u8], entry: Option<(u32, u32, u32)>, tag: &str) -> Result<Option<u32>, String> {
    let Some((ty, offset, count)) = entry else {
        return Ok(None);
    };
    if ty != TYPE_INT32 || count == 0 {
        return Err(format!(
            "{tag} tag has type {ty} and count {count}, expected an int32"
        ));
    }
    let start = offset as usize;
    if start.checked_add(4).is_none_or(|end| end > data.len()) {
        return Err(format!(
            "{tag} tag points at offset {offset}, past the {} bytes of data",
            data.len()
        ));
    }
    Ok(Some(be32(data, start)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn srpm_names() {
        assert_eq!(
            split_srpm("util-linux-2.32.1-8.el8.src.rpm"),
            Some(("util-linux", "2.32.1-8.el8"))
        );
        assert_eq!(split_srpm("nonsense"), None);
        assert_eq!(split_srpm("a-1.src.rpm"), None);
    }

    #[test]
    fn bogus_counts_are_errors() {
        let mut blob = vec![0, 0, 0, 1, 0, 0, 0, 4];
        blob.extend_from_slice(&[0, 0, 3, 232, 0, 0, 0, 6, 0, 0, 0, 9, 0, 0, 0, 1]);
        blob.extend_from_slice(b"abc\0");
        assert_eq!(
            package(&blob, "p").unwrap_err(),
            "NAME tag points at offset 9, past the 4 bytes of data"
        );
        blob[3] = 200;
        assert!(package(&blob, "p").unwrap_err().contains("shorter than"));
    }
}
