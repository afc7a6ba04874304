//! The backend-independent half of an import: batching, duplicate ids, the digest.
//! Each backend supplies a [`Writer`] that owns the open transaction.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

use sha2::{Digest, Sha256};

use crate::{Error, Import, ImportStats, Record, SourceMeta};

/// Records per batch written with one multi-row statement. Bigger batches amortise the
/// per-statement cost; this many keep a batch's memory small (records are a few KiB).
const BATCH_RECORDS: usize = 512;
/// A batch is also written once its JSON passes this size, so memory stays bounded
/// whatever the records' size.
const BATCH_BYTES: usize = 8 << 20;

/// A backend's side of an import: one open transaction.
#[async_trait::async_trait]
pub(crate) trait Writer: Send {
    /// Writes records whose ids are new to this import.
    async fn write(&mut self, batch: &[Record]) -> Result<(), Error>;
    /// The record with this id that this import wrote, read back; `None` if it wrote none.
    async fn stored(&mut self, id: &str) -> Result<Option<Record>, Error>;
    /// Deletes a record of this import, as [`Writer::stored`] read it back (a duplicate id
    /// being replaced by a newer copy).
    async fn delete(&mut self, old: &Record) -> Result<(), Error>;
    /// Writes the source row and its ecosystem counts (advisories per ecosystem, sorted),
    /// then commits.
    async fn commit(
        self: Box<Self>,
        meta: &SourceMeta,
        records: u64,
        digest: &str,
        ecosystems: &[(String, u64)],
    ) -> Result<(), Error>;
    /// Rolls back: the import is abandoned.
    async fn rollback(self: Box<Self>) -> Result<(), Error>;
    /// Rolls back (the content is unchanged) and only records that the source was checked.
    async fn unchanged(self: Box<Self>, meta: &SourceMeta) -> Result<Vec<(String, u64)>, Error>;
}

/// What the source held before this import.
pub(crate) struct Previous {
    pub digest: String,
    pub records: u64,
}

/// A 64-bit hash of a record id. The import keeps only these in memory (8 bytes per id,
/// so memory hardly grows with the feed): a hash seen before means a possible duplicate,
/// which the batch and then the database settle by the id itself, so a collision of two
/// ids costs one lookup and never loses a record.
fn id_hash(id: &str) -> u64 {
    // SipHash with fixed keys: the same ids give the same hashes in every run.
    let mut h = std::hash::DefaultHasher::new();
    id.hash(&mut h);
    h.finish()
}

/// Advisories per ecosystem, counted while importing rather than by a query over the index
/// rows at commit (which took half a second of the commit of 200,000 records on SQLite).
#[derive(Default)]
struct EcosystemCounts {
    names: Vec<String>,
    index: HashMap<String, usize>,
    counts: Vec<u64>,
}

impl EcosystemCounts {
    /// Counts a record's distinct ecosystems up (a record kept) or down (a record replaced
    /// by a newer copy).
    fn count(&mut self, record: &Record, up: bool) {
        // Packages are sorted by ecosystem first, so equal ecosystems are adjacent.
        let mut last: Option<&str> = None;
        for (ecosystem, _) in &record.packages {
            if last == Some(ecosystem.as_str()) {
                continue;
            }
            last = Some(ecosystem);
            let i = match self.index.get(ecosystem) {
                Some(&i) => i,
                None => {
                    self.names.push(ecosystem.clone());
                    self.counts.push(0);
                    self.index.insert(ecosystem.clone(), self.counts.len() - 1);
                    self.counts.len() - 1
                }
            };
            if up {
                self.counts[i] += 1;
            } else {
                self.counts[i] -= 1;
            }
        }
    }

    /// `(ecosystem, advisories)` of the records kept, sorted by ecosystem.
    fn kept(&self) -> Vec<(String, u64)> {
        let mut out: Vec<(String, u64)> = self
            .names
            .iter()
            .zip(&self.counts)
            .filter(|(_, n)| **n > 0)
            .map(|(e, n)| (e.clone(), *n))
            .collect();
        out.sort();
        out
    }
}

pub(crate) struct Batching {
    writer: Box<dyn Writer>,
    meta: SourceMeta,
    previous: Option<Previous>,
    batch: Vec<Record>,
    batch_bytes: usize,
    /// [`id_hash`] of every id kept.
    id_hashes: HashSet<u64>,
    /// [`id_hash`], or a test's hash that makes ids collide.
    id_hash: fn(&str) -> u64,
    /// Distinct ids kept.
    kept: u64,
    ecosystems: EcosystemCounts,
    hasher: Sha256,
    seen: u64,
    duplicates: u64,
}

impl Batching {
    pub(crate) fn new(
        writer: Box<dyn Writer>,
        meta: SourceMeta,
        previous: Option<Previous>,
    ) -> Self {
        Self {
            writer,
            meta,
            previous,
            batch: Vec::with_capacity(BATCH_RECORDS),
            batch_bytes: 0,
            id_hashes: HashSet::new(),
            id_hash,
            kept: 0,
            ecosystems: EcosystemCounts::default(),
            hasher: Sha256::new(),
            seen: 0,
            duplicates: 0,
        }
    }

    /// Hashes ids with `f` instead of [`id_hash`], to test colliding ids.
    #[cfg(test)]
    pub(crate) fn with_id_hash(mut self, f: fn(&str) -> u64) -> Self {
        self.id_hash = f;
        self
    }

    async fn flush(&mut self) -> Result<(), Error> {
        if !self.batch.is_empty() {
            self.writer.write(&self.batch).await?;
            self.batch.clear();
            self.batch_bytes = 0;
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl Import for Batching {
    async fn add(&mut self, record: Record) -> Result<(), Error> {
        self.seen += 1;
        self.hasher.update(record.json.as_bytes());
        self.hasher.update(b"\n");
        if self.id_hashes.insert((self.id_hash)(&record.id)) {
            self.kept += 1;
        } else if let Some(pending) = self.batch.iter().position(|r| r.id == record.id) {
            // A copy of this id waits in the batch: the newer one stays there.
            self.duplicates += 1;
            if record.modified <= self.batch[pending].modified {
                return Ok(());
            }
            let older = std::mem::replace(&mut self.batch[pending], record);
            self.ecosystems.count(&older, false);
            self.ecosystems.count(&self.batch[pending], true);
            self.batch_bytes = self.batch_bytes - older.json.len() + self.batch[pending].json.len();
            return Ok(());
        } else if let Some(older) = self.writer.stored(&record.id).await? {
            // A copy of this id was written: a newer copy replaces it.
            self.duplicates += 1;
            if record.modified <= older.modified {
                return Ok(());
            }
            self.ecosystems.count(&older, false);
            self.writer.delete(&older).await?;
        } else {
            // Another id with the same hash.
            self.kept += 1;
        }
        self.ecosystems.count(&record, true);
        self.batch_bytes += record.json.len();
        self.batch.push(record);
        if self.batch.len() >= BATCH_RECORDS || self.batch_bytes >= BATCH_BYTES {
            self.flush().await?;
        }
        Ok(())
    }

    fn seen(&self) -> u64 {
        self.seen
    }

    fn set_feed_digest(&mut self, feed_digest: Option<String>) {
        self.meta.feed_digest = feed_digest;
    }

    async fn rollback(self: Box<Self>) -> Result<(), Error> {
        self.writer.rollback().await
    }

    async fn commit(self: Box<Self>) -> Result<ImportStats, Error> {
        let mut this = *self;
        let digest = hex::encode(std::mem::take(&mut this.hasher).finalize());
        let records = this.kept;
        let unchanged = this
            .previous
            .as_ref()
            .is_some_and(|p| p.digest == digest && p.records == records);
        let ecosystems = if unchanged {
            this.writer.unchanged(&this.meta).await?
        } else {
            this.flush().await?;
            let ecosystems = this.ecosystems.kept();
            let writer = this.writer;
            writer
                .commit(&this.meta, records, &digest, &ecosystems)
                .await?;
            ecosystems
        };
        Ok(ImportStats {
            source: this.meta.name,
            records,
            duplicates: this.duplicates,
            ecosystems,
            digest,
            unchanged,
            feed_reused: false,
        })
    }
}
