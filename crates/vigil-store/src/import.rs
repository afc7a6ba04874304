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
    /// Writes the source row and its ecosystem counts, then commits.
    async fn commit(
        self: Box<Self>,
        meta: &SourceMeta,
        records: u64,
        digest: &str,
    ) -> Result<Vec<(String, u64)>, Error>;
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

pub(crate) struct Batching {
    writer: Box<dyn Writer>,
    meta: SourceMeta,
    previous: Option<Previous>,
    batch: Vec<Record>,
    batch_bytes: usize,
    /// `modified` of every id kept so far, to resolve duplicate ids.
    kept: HashMap<String, String>,
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
            hasher: Sha256::new(),
            seen: 0,
            duplicates: 0,
        }
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
        if let Some(kept_modified) = self.kept.get(&record.id) {
            self.duplicates += 1;
            if record.modified <= *kept_modified {
                return Ok(());
            }
            // A newer copy of a record already added: it replaces the older one.
            if let Some(pending) = self.batch.iter_mut().find(|r| r.id == record.id) {
                self.batch_bytes = self.batch_bytes - pending.json.len() + record.json.len();
                self.kept.insert(record.id.clone(), record.modified.clone());
                *pending = record;
                return Ok(());
            }
            self.writer.delete(&record.id).await?;
        }
        self.kept.insert(record.id.clone(), record.modified.clone());
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
            this.writer.commit(&this.meta, records, &digest).await?
        };
        Ok(ImportStats {
            source: this.meta.name,
            records,
            duplicates: this.duplicates,
            ecosystems,
            digest,
            unchanged,
        })
    }
}
