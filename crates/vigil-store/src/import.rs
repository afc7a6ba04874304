//! The backend-independent half of an import: batching, duplicate ids, the digest.
//! Each backend supplies a [`Writer`] that owns the open transaction.

use std::collections::HashMap;

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
    /// Deletes a record of this import (a duplicate id being replaced by a newer copy).
    async fn delete(&mut self, id: &str) -> Result<(), Error>;
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

/// What the import remembers of each id it kept.
struct Kept {
    /// To resolve duplicate ids: the newer `modified` wins.
    modified: String,
    /// The record's ecosystems (indexes into `Batching::ecosystem_names`), to count them
    /// down again if a newer copy replaces it.
    ecosystems: Box<[u32]>,
}

pub(crate) struct Batching {
    writer: Box<dyn Writer>,
    meta: SourceMeta,
    previous: Option<Previous>,
    batch: Vec<Record>,
    batch_bytes: usize,
    kept: HashMap<String, Kept>,
    /// Advisories per ecosystem, counted here rather than by a query over the index rows
    /// at commit (which took half a second of the commit of 200,000 records on SQLite).
    ecosystem_names: Vec<String>,
    ecosystem_index: HashMap<String, u32>,
    ecosystem_counts: Vec<u64>,
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
            kept: HashMap::new(),
            ecosystem_names: Vec::new(),
            ecosystem_index: HashMap::new(),
            ecosystem_counts: Vec::new(),
            hasher: Sha256::new(),
            seen: 0,
            duplicates: 0,
        }
    }

    /// The distinct ecosystems of a record's packages, interned.
    fn ecosystems_of(&mut self, record: &Record) -> Box<[u32]> {
        // Packages are sorted by ecosystem first, so equal ecosystems are adjacent.
        let mut out: Vec<u32> = Vec::new();
        let mut last: Option<&str> = None;
        for (ecosystem, _) in &record.packages {
            if last == Some(ecosystem.as_str()) {
                continue;
            }
            last = Some(ecosystem);
            let index = match self.ecosystem_index.get(ecosystem) {
                Some(&i) => i,
                None => {
                    let i = self.ecosystem_names.len() as u32;
                    self.ecosystem_names.push(ecosystem.clone());
                    self.ecosystem_counts.push(0);
                    self.ecosystem_index.insert(ecosystem.clone(), i);
                    i
                }
            };
            out.push(index);
        }
        out.into_boxed_slice()
    }

    /// `(ecosystem, advisories)` of the records kept, sorted by ecosystem.
    fn kept_ecosystems(&self) -> Vec<(String, u64)> {
        let mut out: Vec<(String, u64)> = self
            .ecosystem_names
            .iter()
            .zip(&self.ecosystem_counts)
            .filter(|(_, n)| **n > 0)
            .map(|(e, n)| (e.clone(), *n))
            .collect();
        out.sort();
        out
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
        if let Some(kept) = self.kept.get(&record.id) {
            self.duplicates += 1;
            if record.modified <= kept.modified {
                return Ok(());
            }
        }
        let ecosystems = self.ecosystems_of(&record);
        for &e in &ecosystems {
            self.ecosystem_counts[e as usize] += 1;
        }
        let kept = Kept {
            modified: record.modified.clone(),
            ecosystems,
        };
        if let Some(older) = self.kept.insert(record.id.clone(), kept) {
            // A newer copy of a record already added: it replaces the older one.
            for &e in &older.ecosystems {
                self.ecosystem_counts[e as usize] -= 1;
            }
            if let Some(pending) = self.batch.iter_mut().find(|r| r.id == record.id) {
                self.batch_bytes = self.batch_bytes - pending.json.len() + record.json.len();
                *pending = record;
                return Ok(());
            }
            self.writer.delete(&record.id).await?;
        }
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
        let records = this.kept.len() as u64;
        let unchanged = this
            .previous
            .as_ref()
            .is_some_and(|p| p.digest == digest && p.records == records);
        let ecosystems = if unchanged {
            this.writer.unchanged(&this.meta).await?
        } else {
            this.flush().await?;
            let ecosystems = this.kept_ecosystems();
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
