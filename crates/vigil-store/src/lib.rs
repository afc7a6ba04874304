//! vigil-store: the vulnerability database on SQLite (default, one file) or PostgreSQL
//! (`postgres://...`), behind one narrow trait, [`Database`] (SPEC 4.3, 9.5).
//!
//! What is stored: each advisory as the JSON of [`vigil_vulndb::Advisory`], grouped by the
//! *source* it was imported from (a feed: `osv-PyPI`, `debian-tracker`, ...), plus index rows
//! for the matcher's two questions: "which advisories affect these (ecosystem, name)
//! packages?" ([`Database::advisories_for`]) and "which advisory is this id or alias?"
//! ([`Database::advisory`]). Ecosystem keys keep the release (`Debian:12`, `Alpine:v3.18`);
//! package names are normalised per ecosystem ([`normalize_name`], PEP 503 for PyPI).
//!
//! Imports are atomic (SPEC 4.3): [`Database::begin_import`] opens one transaction that
//! first deletes the source's previous records and then streams the new ones in batches;
//! only [`Import::commit`] makes them visible. A crash or an error before that leaves the
//! previous records complete (SQLite rolls back its WAL on the next open, PostgreSQL aborts
//! the transaction). Re-importing identical content (same digest) changes nothing but the
//! source's `checked_at` time, which the "database too old" check reads.
//!
//! Migrations live per backend in `migrations/{sqlite,postgres}/` and run on open.

mod error;
mod import;
mod location;
mod names;
pub mod platform;
mod postgres;
mod record;
mod sqlite;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use error::Error;
pub use location::{Location, redact_url};
pub use names::{family, normalize_name};
pub use platform::Platform;
pub use record::Record;
pub use vigil_vulndb::Advisory;

/// The backend behind a [`Database`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Stable kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// What an import is about: the source it replaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceMeta {
    /// The source's name, the key whose previous records the import replaces.
    pub name: String,
    /// The feed format (`osv`, `alpine-secdb`, `debian-tracker`).
    pub format: String,
    /// Where the records came from (paths or URL), for `db status`.
    pub location: String,
    /// A fingerprint of the feed's bytes (and of how they are read), stored with the
    /// source so that the next import of the same bytes can skip reading them
    /// ([`Database::reuse_unchanged_feed`]). `None` when the caller has none.
    pub feed_digest: Option<String>,
}

/// The outcome of one import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportStats {
    /// The source name.
    pub source: String,
    /// Records stored (after dropping duplicate ids).
    pub records: u64,
    /// Records dropped because a record with the same id and a newer (or equal) `modified`
    /// came in the same import.
    pub duplicates: u64,
    /// Advisories per ecosystem key, sorted by ecosystem.
    pub ecosystems: Vec<(String, u64)>,
    /// SHA-256 of the stored records' JSON, in import order.
    pub digest: String,
    /// True when the content was identical to the stored one and nothing was rewritten.
    pub unchanged: bool,
    /// True when the feed's bytes were those of the source's last import, so the feed
    /// was not read at all (then `unchanged` is true too, and `duplicates` 0).
    pub feed_reused: bool,
}

/// One source as `db status` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceStatus {
    pub name: String,
    pub format: String,
    pub location: String,
    pub records: u64,
    /// Advisories per ecosystem key, sorted by ecosystem.
    pub ecosystems: Vec<(String, u64)>,
    /// When its content last changed.
    pub imported_at: SystemTime,
    /// When it was last imported, changed or not.
    pub checked_at: SystemTime,
    /// SHA-256 of its records' JSON.
    pub digest: String,
    /// The fingerprint of the feed it was last imported from ([`SourceMeta::feed_digest`]).
    pub feed_digest: Option<String>,
}

/// An advisory and the source it was imported from.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAdvisory {
    pub source: String,
    pub advisory: Advisory,
}

/// The storage trait: one implementation per backend (STYLE.md, as atuin's database trait).
#[async_trait::async_trait]
pub trait Database: Platform + Send + Sync + std::fmt::Debug {
    /// Which backend this is.
    fn backend(&self) -> Backend;

    /// Turns an advisory into the record this backend stores. Not async and `&self` only,
    /// so that an importer can build records on another thread while the previous ones
    /// are being written. SQLite stores the JSON compressed (a fifth of the pages to
    /// write); PostgreSQL compresses large values itself (TOAST).
    fn prepare(&self, advisory: &Advisory) -> Result<Record, Error> {
        Record::new(advisory)
    }

    /// When `source.name` was last imported from a feed with this same
    /// [`SourceMeta::feed_digest`], records that it was checked again now (its location too)
    /// and returns its stats, marked unchanged: the feed need not be read. `None` (and
    /// nothing written) otherwise, or when `source` has no feed digest.
    async fn reuse_unchanged_feed(&self, source: &SourceMeta)
    -> Result<Option<ImportStats>, Error>;

    /// Starts an atomic import that replaces every record of `source.name`.
    /// Nothing is visible to readers before [`Import::commit`]; dropping the import
    /// without committing rolls it back.
    async fn begin_import(&self, source: SourceMeta) -> Result<Box<dyn Import>, Error>;

    /// Every advisory that names one of `packages` (`(ecosystem key, name)`, the name as the
    /// package manager spells it) in its affected list. One batched query however many
    /// packages; each advisory once, ordered by id then source.
    async fn advisories_for(
        &self,
        packages: &[(String, String)],
    ) -> Result<Vec<StoredAdvisory>, Error>;

    /// The advisories whose id, alias or upstream id is `id_or_alias` (exact id matches
    /// first). Ids are compared as given, then upper-cased if nothing matched.
    async fn advisory(&self, id_or_alias: &str) -> Result<Vec<StoredAdvisory>, Error>;

    /// Every source, by name.
    async fn status(&self) -> Result<Vec<SourceStatus>, Error>;

    /// Advisories per ecosystem key over all sources, sorted by ecosystem (coverage:
    /// "no records for Debian:13", SPEC 5.7).
    async fn ecosystems(&self) -> Result<Vec<(String, u64)>, Error>;

    /// The last time any source was imported (changed or not); `None` for an empty database.
    async fn last_update(&self) -> Result<Option<SystemTime>, Error>;

    /// Closes every connection, waiting for those in use. SQLite checkpoints its
    /// write-ahead log into the database file and removes it when the last one closes.
    async fn close(&self);
}

/// An import in progress: one transaction.
#[async_trait::async_trait]
pub trait Import: Send {
    /// Adds one record. A second record with the same id keeps the one with the newer
    /// `modified` (RFC 3339 text compared as text).
    async fn add(&mut self, record: Record) -> Result<(), Error>;

    /// Records added so far (duplicates included).
    fn seen(&self) -> u64;

    /// Sets the feed fingerprint stored at commit ([`SourceMeta::feed_digest`]), for a
    /// caller that computes it while the import runs.
    fn set_feed_digest(&mut self, feed_digest: Option<String>);

    /// Commits: the new records replace the source's previous ones.
    async fn commit(self: Box<Self>) -> Result<ImportStats, Error>;

    /// Abandons the import: the source keeps its previous records. (Dropping an import
    /// rolls it back too, but only inside the async runtime that opened it.)
    async fn rollback(self: Box<Self>) -> Result<(), Error>;
}

/// Opens (creating if needed) the database at `location` and runs its migrations.
pub async fn open(location: &Location) -> Result<Box<dyn Database>, Error> {
    match location {
        Location::Sqlite(path) => Ok(Box::new(sqlite::SqliteDatabase::open(path).await?)),
        Location::Postgres(url) => Ok(Box::new(postgres::PgDatabase::open(url).await?)),
    }
}

/// Imports every record of an iterator in one transaction (see [`Database::begin_import`]).
pub async fn import(
    db: &dyn Database,
    source: SourceMeta,
    records: impl IntoIterator<Item = Record>,
) -> Result<ImportStats, Error> {
    let mut import = db.begin_import(source).await?;
    for record in records {
        import.add(record).await?;
    }
    import.commit().await
}

pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

pub(crate) fn from_unix(secs: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs.max(0) as u64)
}

pub(crate) fn decode(source: String, id: &str, json: &str) -> Result<StoredAdvisory, Error> {
    let advisory = serde_json::from_str(json).map_err(|e| Error::Corrupt {
        source_name: source.clone(),
        id: id.to_owned(),
        problem: e.to_string(),
    })?;
    Ok(StoredAdvisory { source, advisory })
}

/// [`decode`] of what [`Record::stored_bytes`] wrote (compressed or plain JSON).
pub(crate) fn decode_stored(
    source: String,
    id: &str,
    bytes: &[u8],
) -> Result<StoredAdvisory, Error> {
    let json = record::unpack(bytes).map_err(|problem| Error::Corrupt {
        source_name: source.clone(),
        id: id.to_owned(),
        problem,
    })?;
    decode(source, id, &json)
}

pub(crate) fn sort_stored(v: &mut [StoredAdvisory]) {
    v.sort_by(|a, b| {
        (a.advisory.id.as_str(), a.source.as_str())
            .cmp(&(b.advisory.id.as_str(), b.source.as_str()))
    });
}

/// Exact id matches first, then by id and source.
pub(crate) fn sort_by_exact_id(v: &mut [StoredAdvisory], id: &str) {
    v.sort_by(|a, b| {
        let ka = (
            !a.advisory.id.as_str().eq_ignore_ascii_case(id),
            a.advisory.id.as_str(),
            a.source.as_str(),
        );
        let kb = (
            !b.advisory.id.as_str().eq_ignore_ascii_case(id),
            b.advisory.id.as_str(),
            b.source.as_str(),
        );
        ka.cmp(&kb)
    });
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn source_status(
    name: String,
    format: String,
    location: String,
    records: i64,
    digest: String,
    imported_at: i64,
    checked_at: i64,
    feed_digest: Option<String>,
    ecosystems: &[(String, String, i64)],
) -> SourceStatus {
    let mut ecos: Vec<(String, u64)> = ecosystems
        .iter()
        .filter(|(s, _, _)| *s == name)
        .map(|(_, e, n)| (e.clone(), *n as u64))
        .collect();
    ecos.sort();
    SourceStatus {
        name,
        format,
        location,
        records: records as u64,
        ecosystems: ecos,
        imported_at: from_unix(imported_at),
        checked_at: from_unix(checked_at),
        digest,
        feed_digest,
    }
}
