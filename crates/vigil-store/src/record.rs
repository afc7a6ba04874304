//! What the store keeps of one advisory: the JSON of the model, plus the keys it is indexed
//! by, extracted once at import.

use std::borrow::Cow;

use serde::Deserialize;

use crate::names::normalize_name;
use crate::{Advisory, Error};

/// One advisory ready to be stored: its JSON text and its index keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub(crate) id: String,
    pub(crate) modified: String,
    /// Every id it is known by: its own id, `aliases` and `upstream`, sorted, unique.
    pub(crate) ids: Vec<String>,
    /// `(ecosystem, normalised name)` of each affected package, sorted, unique.
    pub(crate) packages: Vec<(String, String)>,
    pub(crate) json: String,
    /// The JSON compressed with LZ4, for backends that store it so ([`Record::pack`]).
    pub(crate) packed: Option<Vec<u8>>,
}

/// First byte of packed JSON: never the first byte of JSON text. Then the uncompressed
/// length (u32, little endian) and an LZ4 block. LZ4, not zstd: advisory JSON shrinks
/// about 3x either way, but on records of a few KiB zstd spends more time building its
/// entropy tables than LZ4 spends compressing, and the import is CPU-bound.
const PACKED_TAG: u8 = 0;
/// The largest JSON a packed value may claim to hold (a corrupt length must not allocate
/// gigabytes); the feed readers refuse records over 16 MiB.
const MAX_UNPACKED: usize = 64 << 20;

/// Decodes what [`Record::stored_bytes`] wrote: packed values (recognised by their first
/// byte) are decompressed, anything else is the JSON text itself (databases written
/// before packing).
pub(crate) fn unpack(bytes: &[u8]) -> Result<Cow<'_, str>, String> {
    match bytes.split_first() {
        Some((&PACKED_TAG, block)) => {
            let len = block
                .get(..4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
                .ok_or("packed value too short")?;
            if len > MAX_UNPACKED {
                return Err(format!("packed value claims {len} bytes"));
            }
            let out = lz4_flex::block::decompress_size_prepended(block)
                .map_err(|e| format!("cannot decompress: {e}"))?;
            String::from_utf8(out)
                .map(Cow::Owned)
                .map_err(|e| format!("not UTF-8: {e}"))
        }
        _ => std::str::from_utf8(bytes)
            .map(Cow::Borrowed)
            .map_err(|e| format!("not UTF-8: {e}")),
    }
}

#[derive(Deserialize)]
struct Keys<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(default, borrow)]
    modified: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    aliases: Vec<Cow<'a, str>>,
    #[serde(default, borrow)]
    upstream: Vec<Cow<'a, str>>,
    #[serde(default, borrow)]
    affected: Vec<AffectedKeys<'a>>,
}

#[derive(Deserialize)]
struct AffectedKeys<'a> {
    #[serde(default, borrow)]
    package: Option<PackageKeys<'a>>,
}

#[derive(Deserialize)]
struct PackageKeys<'a> {
    #[serde(borrow)]
    ecosystem: Cow<'a, str>,
    #[serde(borrow)]
    name: Cow<'a, str>,
}

impl Record {
    /// Serialises an advisory of the model and takes its keys from the model itself (the
    /// same keys [`Record::from_json`] would extract from the JSON, without parsing it again).
    pub fn new(advisory: &Advisory) -> Result<Self, Error> {
        let json = serde_json::to_string(advisory).map_err(|e| Error::Record {
            id: advisory.id.to_string(),
            problem: format!("cannot serialise: {e}"),
        })?;
        let id = advisory.id.as_str();
        if id.trim().is_empty() {
            return Err(Error::Record {
                id: String::new(),
                problem: "empty id".into(),
            });
        }
        let ids = std::iter::once(&advisory.id)
            .chain(&advisory.aliases)
            .chain(&advisory.upstream)
            .map(|v| Cow::Borrowed(v.as_str()));
        let packages = advisory
            .affected
            .iter()
            .map(|a| (a.package.ecosystem.as_str(), a.package.name.as_str()));
        let (ids, packages) = index_keys(ids, packages);
        Ok(Self {
            id: id.to_owned(),
            modified: advisory.modified.clone().unwrap_or_default(),
            ids,
            packages,
            json,
            packed: None,
        })
    }

    /// Takes the JSON of an advisory of the model (field names as in OSV) and extracts
    /// its keys. The JSON must decode as the model: it is what queries return.
    pub fn from_json(json: String) -> Result<Self, Error> {
        let keys: Keys<'_> = serde_json::from_str(&json).map_err(|e| Error::Record {
            id: id_hint(&json),
            problem: format!("not an advisory: {e}"),
        })?;
        if keys.id.trim().is_empty() {
            return Err(Error::Record {
                id: String::new(),
                problem: "empty id".into(),
            });
        }
        let ids = std::iter::once(&keys.id)
            .chain(&keys.aliases)
            .chain(&keys.upstream)
            .cloned();
        let packages = keys
            .affected
            .iter()
            .filter_map(|a| a.package.as_ref())
            .map(|p| (p.ecosystem.as_ref(), p.name.as_ref()));
        let (ids, packages) = index_keys(ids, packages);
        let id = keys.id.into_owned();
        let modified = keys.modified.map(Cow::into_owned).unwrap_or_default();
        Ok(Self {
            id,
            modified,
            ids,
            packages,
            json,
            packed: None,
        })
    }

    /// Compresses the JSON for a backend that stores it compressed ([`Database::prepare`]).
    /// Done by whoever builds records, so that on a multi-core machine compression runs
    /// beside the database writes.
    ///
    /// [`Database::prepare`]: crate::Database::prepare
    pub(crate) fn pack(mut self) -> Self {
        let mut packed = Vec::with_capacity(1 + 4 + self.json.len() / 2);
        packed.push(PACKED_TAG);
        packed.extend_from_slice(&lz4_flex::block::compress_prepend_size(
            self.json.as_bytes(),
        ));
        self.packed = Some(packed);
        self
    }

    /// What a backend that stores compressed JSON writes.
    pub(crate) fn stored_bytes(&self) -> &[u8] {
        self.packed.as_deref().unwrap_or(self.json.as_bytes())
    }

    /// The advisory's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// `(ecosystem, normalised name)` of each affected package.
    pub fn packages(&self) -> &[(String, String)] {
        &self.packages
    }
}

/// The `"id"` of a JSON text that failed to decode, for the error message.
fn id_hint(json: &str) -> String {
    #[derive(Deserialize)]
    struct IdOnly {
        id: String,
    }
    serde_json::from_str::<IdOnly>(json)
        .map(|i| i.id)
        .unwrap_or_else(|_| "<unknown>".into())
}

/// Sorted, unique ids and `(ecosystem, normalised name)` keys.
#[allow(clippy::type_complexity)]
fn index_keys<'a>(
    ids: impl Iterator<Item = Cow<'a, str>>,
    packages: impl Iterator<Item = (&'a str, &'a str)>,
) -> (Vec<String>, Vec<(String, String)>) {
    let mut ids: Vec<String> = ids.map(Cow::into_owned).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut packages: Vec<(String, String)> = packages
        .map(|(e, n)| (e.to_owned(), normalize_name(e, n).into_owned()))
        .collect();
    packages.sort_unstable();
    packages.dedup();
    (ids, packages)
}
