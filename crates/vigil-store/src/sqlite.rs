//! The SQLite backend: one file, WAL journal (readers never wait for an import, and an
//! interrupted import is rolled back on the next open).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions, QueryBuilder, Row, Sqlite, Transaction};

use crate::import::{Batching, Previous, Writer};
use crate::names::normalize_name;
use crate::{
    Backend, Database, Error, Import, Record, SourceMeta, SourceStatus, StoredAdvisory,
    decode_stored, from_unix, unix_now,
};

/// Rows per multi-row INSERT of index rows (SQLite allows 32,766 bound parameters).
const INDEX_ROWS: usize = 2048;

#[derive(Debug)]
pub(crate) struct SqliteDatabase {
    pub(crate) pool: SqlitePool,
    path: PathBuf,
}

impl SqliteDatabase {
    /// Opens an import: one write transaction, which first deletes the source's records.
    pub(crate) async fn batching(&self, source: SourceMeta) -> Result<Batching, Error> {
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(Error::query("begin import"))?;
        // The first statement writes, so the transaction holds the write lock from here on.
        for sql in [
            "DELETE FROM affected WHERE source = ?1",
            "DELETE FROM aliases WHERE source = ?1",
            "DELETE FROM advisories WHERE source = ?1",
            "DELETE FROM source_ecosystems WHERE source = ?1",
        ] {
            sqlx::query(sql)
                .bind(&source.name)
                .execute(&mut *tx)
                .await
                .map_err(Error::query("delete previous records"))?;
        }
        let previous = sqlx::query("SELECT digest, records FROM sources WHERE name = ?1")
            .bind(&source.name)
            .fetch_optional(&mut *tx)
            .await
            .map_err(Error::query("read source"))?
            .map(|r| Previous {
                digest: r.get(0),
                records: r.get::<i64, _>(1) as u64,
            });
        let writer = SqliteWriter {
            tx,
            pool: self.pool.clone(),
            source: source.name.clone(),
        };
        Ok(Batching::new(Box::new(writer), source, previous))
    }

    pub(crate) async fn open(path: &Path) -> Result<Self, Error> {
        let open_err = |problem: String| Error::Open {
            location: path.display().to_string(),
            problem,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| open_err(format!("cannot create {}: {e}", parent.display())))?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // In WAL mode NORMAL loses no committed transaction when the process dies;
            // only a power cut may lose the last ones, and never corrupts the file.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(60))
            // 64 MiB of page cache (the default is 2 MiB): an import's transaction then
            // rarely spills pages to the WAL before its commit, only to read them back.
            .pragma("cache_size", "-65536")
            // New databases get 16 KiB pages: an import writes a quarter of the pages
            // (each written twice: to the WAL, then by the checkpoint), and a packed
            // advisory never needs an overflow page. Existing files keep theirs.
            .page_size(16384)
            // After a checkpoint the WAL shrinks back to 64 MiB rather than keeping the size
            // of the largest import on disk.
            .pragma("journal_size_limit", "67108864")
            // Bulk imports are slow statements by design; sqlx would warn about each.
            .disable_statement_logging();
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|e| open_err(e.to_string()))?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&pool)
            .await
            .map_err(|e| Error::Migrate {
                location: path.display().to_string(),
                problem: e.to_string(),
            })?;
        Ok(Self {
            pool,
            path: path.to_owned(),
        })
    }

    async fn lookup(&self, id: &str) -> Result<Vec<StoredAdvisory>, Error> {
        let rows = sqlx::query(
            "SELECT a.source, a.id, a.json FROM aliases l \
             JOIN advisories a ON a.source = l.source AND a.id = l.advisory_id \
             WHERE l.alias = ?1",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .map_err(Error::query("lookup by id"))?;
        rows.into_iter().map(|r| stored(&r)).collect()
    }
}

#[async_trait::async_trait]
impl Database for SqliteDatabase {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn prepare(&self, advisory: &crate::Advisory) -> Result<Record, Error> {
        Ok(Record::new(advisory)?.pack())
    }

    async fn reuse_unchanged_feed(
        &self,
        source: &SourceMeta,
    ) -> Result<Option<crate::ImportStats>, Error> {
        let Some(feed_digest) = &source.feed_digest else {
            return Ok(None);
        };
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(Error::query("check feed digest"))?;
        let row = sqlx::query(
            "UPDATE sources SET checked_at = ?1, location = ?2 \
             WHERE name = ?3 AND feed_digest = ?4 RETURNING records, digest",
        )
        .bind(unix_now())
        .bind(&source.location)
        .bind(&source.name)
        .bind(feed_digest)
        .fetch_optional(&mut *tx)
        .await
        .map_err(Error::query("check feed digest"))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let ecosystems = SqliteWriter::ecosystems(&mut tx, &source.name).await?;
        tx.commit().await.map_err(Error::query("write source"))?;
        Ok(Some(crate::ImportStats {
            source: source.name.clone(),
            records: row.get::<i64, _>(0) as u64,
            duplicates: 0,
            ecosystems,
            digest: row.get(1),
            unchanged: true,
            feed_reused: true,
        }))
    }

    async fn begin_import(&self, source: SourceMeta) -> Result<Box<dyn Import>, Error> {
        Ok(Box::new(self.batching(source).await?))
    }

    async fn advisories_for(
        &self,
        packages: &[(String, String)],
    ) -> Result<Vec<StoredAdvisory>, Error> {
        if packages.is_empty() {
            return Ok(Vec::new());
        }
        // All packages travel as one JSON parameter that json_each() unpacks, so 10,000
        // packages are one statement and one index probe each.
        let keys: Vec<(&str, std::borrow::Cow<'_, str>)> = packages
            .iter()
            .map(|(e, n)| (e.as_str(), normalize_name(e, n)))
            .collect();
        let keys = serde_json::to_string(&keys).map_err(|e| Error::Query {
            what: "encode packages",
            problem: e.to_string(),
        })?;
        let rows = sqlx::query(
            "WITH q(ecosystem, name) AS ( \
                 SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?1)) \
             SELECT a.source, a.id, a.json FROM advisories a \
             WHERE (a.source, a.id) IN ( \
                 SELECT f.source, f.advisory_id FROM q \
                 JOIN affected f ON f.ecosystem = q.ecosystem AND f.name = q.name)",
        )
        .bind(keys)
        .fetch_all(&self.pool)
        .await
        .map_err(Error::query("advisories for packages"))?;
        let mut out = rows
            .into_iter()
            .map(|r| stored(&r))
            .collect::<Result<Vec<_>, _>>()?;
        crate::sort_stored(&mut out);
        Ok(out)
    }

    async fn advisory(&self, id_or_alias: &str) -> Result<Vec<StoredAdvisory>, Error> {
        let mut out = self.lookup(id_or_alias).await?;
        if out.is_empty() && id_or_alias.to_uppercase() != id_or_alias {
            out = self.lookup(&id_or_alias.to_uppercase()).await?;
        }
        crate::sort_by_exact_id(&mut out, id_or_alias);
        Ok(out)
    }

    async fn status(&self) -> Result<Vec<SourceStatus>, Error> {
        let rows = sqlx::query(
            "SELECT name, format, location, records, digest, imported_at, checked_at, feed_digest \
             FROM sources ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(Error::query("read sources"))?;
        let eco_rows = sqlx::query("SELECT source, ecosystem, advisories FROM source_ecosystems")
            .fetch_all(&self.pool)
            .await
            .map_err(Error::query("read source ecosystems"))?;
        let ecos: Vec<(String, String, i64)> = eco_rows
            .into_iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        Ok(rows
            .into_iter()
            .map(|r| {
                crate::source_status(
                    r.get(0),
                    r.get(1),
                    r.get(2),
                    r.get(3),
                    r.get(4),
                    r.get(5),
                    r.get(6),
                    r.get(7),
                    &ecos,
                )
            })
            .collect())
    }

    async fn ecosystems(&self) -> Result<Vec<(String, u64)>, Error> {
        let rows = sqlx::query(
            "SELECT ecosystem, SUM(advisories) FROM source_ecosystems GROUP BY ecosystem",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(Error::query("count ecosystems"))?;
        let mut out: Vec<(String, u64)> = rows
            .into_iter()
            .map(|r| (r.get(0), r.get::<i64, _>(1) as u64))
            .collect();
        out.sort();
        Ok(out)
    }

    async fn last_update(&self) -> Result<Option<SystemTime>, Error> {
        let row: Option<i64> = sqlx::query_scalar("SELECT MAX(checked_at) FROM sources")
            .fetch_one(&self.pool)
            .await
            .map_err(Error::query("read last update"))?;
        Ok(row.map(from_unix))
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

/// Decodes a `(source, id, json)` row; `json` is compressed or plain JSON
/// ([`Record::stored_bytes`]), read as bytes whatever its SQLite storage class.
fn stored(row: &sqlx::sqlite::SqliteRow) -> Result<StoredAdvisory, Error> {
    let source: String = row.get(0);
    let id: &str = row.get(1);
    let bytes: &[u8] = row
        .try_get_unchecked(2)
        .map_err(Error::query("read advisory"))?;
    decode_stored(source, id, bytes)
}

impl std::fmt::Display for SqliteDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sqlite {}", self.path.display())
    }
}

struct SqliteWriter {
    tx: Transaction<'static, Sqlite>,
    pool: SqlitePool,
    source: String,
}

impl SqliteWriter {
    async fn ecosystems(
        conn: &mut sqlx::SqliteConnection,
        source: &str,
    ) -> Result<Vec<(String, u64)>, Error> {
        let rows =
            sqlx::query("SELECT ecosystem, advisories FROM source_ecosystems WHERE source = ?1")
                .bind(source)
                .fetch_all(conn)
                .await
                .map_err(Error::query("read source ecosystems"))?;
        let mut out: Vec<(String, u64)> = rows
            .into_iter()
            .map(|r| (r.get(0), r.get::<i64, _>(1) as u64))
            .collect();
        out.sort();
        Ok(out)
    }
}

#[async_trait::async_trait]
impl Writer for SqliteWriter {
    async fn write(&mut self, batch: &[Record]) -> Result<(), Error> {
        // `OR FAIL`, not the default `OR ABORT`: a multi-row INSERT that may abort makes
        // SQLite copy every page it touches to a statement journal (a temporary file) so it
        // can undo just that statement, about 18 times the database's size over a large
        // import. A failed statement here abandons the whole import's transaction anyway,
        // so the statement-level undo is never needed; the error is reported all the same.
        let source = self.source.as_str();
        let mut q: QueryBuilder<Sqlite> =
            QueryBuilder::new("INSERT OR FAIL INTO advisories (source, id, modified, json) ");
        q.push_values(batch, |mut b, r| {
            b.push_bind(source)
                .push_bind(r.id.as_str())
                .push_bind(r.modified.as_str())
                .push_bind(r.stored_bytes());
        });
        q.build()
            .execute(&mut *self.tx)
            .await
            .map_err(Error::query("insert advisories"))?;

        // In key order, so that each insert lands next to the previous one in the B-tree.
        let mut affected: Vec<(&str, &str, &str)> = batch
            .iter()
            .flat_map(|r| {
                r.packages
                    .iter()
                    .map(move |(e, n)| (r.id.as_str(), e.as_str(), n.as_str()))
            })
            .collect();
        affected.sort_unstable_by_key(|&(id, e, n)| (e, n, id));
        for chunk in affected.chunks(INDEX_ROWS) {
            let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT OR FAIL INTO affected (source, advisory_id, ecosystem, name) ",
            );
            q.push_values(chunk, |mut b, (id, e, n)| {
                b.push_bind(source)
                    .push_bind(*id)
                    .push_bind(*e)
                    .push_bind(*n);
            });
            q.build()
                .execute(&mut *self.tx)
                .await
                .map_err(Error::query("insert affected packages"))?;
        }

        let mut aliases: Vec<(&str, &str)> = batch
            .iter()
            .flat_map(|r| r.ids.iter().map(move |a| (r.id.as_str(), a.as_str())))
            .collect();
        aliases.sort_unstable_by_key(|&(id, a)| (a, id));
        for chunk in aliases.chunks(INDEX_ROWS) {
            let mut q: QueryBuilder<Sqlite> =
                QueryBuilder::new("INSERT OR FAIL INTO aliases (source, advisory_id, alias) ");
            q.push_values(chunk, |mut b, (id, a)| {
                b.push_bind(source).push_bind(*id).push_bind(*a);
            });
            q.build()
                .execute(&mut *self.tx)
                .await
                .map_err(Error::query("insert aliases"))?;
        }
        Ok(())
    }

    async fn stored(&mut self, id: &str) -> Result<Option<Record>, Error> {
        let row = sqlx::query("SELECT json FROM advisories WHERE source = ?1 AND id = ?2")
            .bind(&self.source)
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(Error::query("read duplicate record"))?;
        let Some(row) = row else { return Ok(None) };
        let bytes: &[u8] = row
            .try_get_unchecked(0)
            .map_err(Error::query("read duplicate record"))?;
        let json = crate::record::unpack(bytes).map_err(|problem| Error::Corrupt {
            source_name: self.source.clone(),
            id: id.to_owned(),
            problem,
        })?;
        Record::from_json(json.into_owned()).map(Some)
    }

    async fn delete(&mut self, old: &Record) -> Result<(), Error> {
        // The index tables are keyed for lookups, not by advisory: delete the stored
        // record's exact index rows, as read back from its JSON.
        let id = old.id.as_str();
        for (ecosystem, name) in &old.packages {
            sqlx::query(
                "DELETE FROM affected WHERE ecosystem = ?1 AND name = ?2 AND source = ?3 \
                 AND advisory_id = ?4",
            )
            .bind(ecosystem)
            .bind(name)
            .bind(&self.source)
            .bind(id)
            .execute(&mut *self.tx)
            .await
            .map_err(Error::query("delete duplicate record"))?;
        }
        for alias in &old.ids {
            sqlx::query(
                "DELETE FROM aliases WHERE alias = ?1 AND source = ?2 AND advisory_id = ?3",
            )
            .bind(alias)
            .bind(&self.source)
            .bind(id)
            .execute(&mut *self.tx)
            .await
            .map_err(Error::query("delete duplicate record"))?;
        }
        sqlx::query("DELETE FROM advisories WHERE source = ?1 AND id = ?2")
            .bind(&self.source)
            .bind(id)
            .execute(&mut *self.tx)
            .await
            .map_err(Error::query("delete duplicate record"))?;
        Ok(())
    }

    async fn commit(
        mut self: Box<Self>,
        meta: &SourceMeta,
        records: u64,
        digest: &str,
        ecosystems: &[(String, u64)],
    ) -> Result<(), Error> {
        if !ecosystems.is_empty() {
            let mut q: QueryBuilder<Sqlite> =
                QueryBuilder::new("INSERT INTO source_ecosystems (source, ecosystem, advisories) ");
            q.push_values(ecosystems, |mut b, (ecosystem, n)| {
                b.push_bind(&meta.name)
                    .push_bind(ecosystem)
                    .push_bind(*n as i64);
            });
            q.build()
                .execute(&mut *self.tx)
                .await
                .map_err(Error::query("count ecosystems"))?;
        }
        let now = unix_now();
        sqlx::query(
            "INSERT INTO sources (name, format, location, records, digest, imported_at, checked_at, \
             feed_digest) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7) \
             ON CONFLICT (name) DO UPDATE SET format = excluded.format, \
             location = excluded.location, records = excluded.records, digest = excluded.digest, \
             imported_at = excluded.imported_at, checked_at = excluded.checked_at, \
             feed_digest = excluded.feed_digest",
        )
        .bind(&meta.name)
        .bind(&meta.format)
        .bind(&meta.location)
        .bind(records as i64)
        .bind(digest)
        .bind(now)
        .bind(&meta.feed_digest)
        .execute(&mut *self.tx)
        .await
        .map_err(Error::query("write source"))?;
        self.tx
            .commit()
            .await
            .map_err(Error::query("commit import"))
    }

    async fn rollback(self: Box<Self>) -> Result<(), Error> {
        self.tx
            .rollback()
            .await
            .map_err(Error::query("roll back import"))
    }

    async fn unchanged(self: Box<Self>, meta: &SourceMeta) -> Result<Vec<(String, u64)>, Error> {
        let this = *self;
        this.tx
            .rollback()
            .await
            .map_err(Error::query("roll back unchanged import"))?;
        let mut conn = this.pool.acquire().await.map_err(Error::query("connect"))?;
        sqlx::query(
            "UPDATE sources SET checked_at = ?1, location = ?2, feed_digest = ?3 WHERE name = ?4",
        )
        .bind(unix_now())
        .bind(&meta.location)
        .bind(&meta.feed_digest)
        .bind(&meta.name)
        .execute(&mut *conn)
        .await
        .map_err(Error::query("write source"))?;
        Self::ecosystems(&mut conn, &meta.name).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Database, Import};

    /// The first advisory of the real GitHub advisories fixture, under another id and
    /// `modified`, with every affected package renamed to `package`.
    fn record(base: &crate::Advisory, id: &str, modified: &str, package: &str) -> Record {
        let mut a = base.clone();
        a.id = id.into();
        a.modified = Some(modified.into());
        for affected in &mut a.affected {
            affected.package.name = package.into();
        }
        Record::new(&a).unwrap().pack()
    }

    /// Every id hashed alike: the import must still tell them apart (by the batch, then by
    /// the records it wrote) and keep the newer copy of each duplicate.
    #[test]
    fn ids_with_one_hash_are_told_apart() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let db = SqliteDatabase::open(&dir.path().join("vigil.db"))
                .await
                .unwrap();
            let meta = SourceMeta {
                name: "collide".into(),
                format: "osv".into(),
                location: "test".into(),
                feed_digest: None,
            };
            let feed = concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../../shared/fixtures/feeds/github-advisory-database"
            );
            let base = vigil_vulndb::open_feed(feed, vigil_vulndb::FeedFormat::Osv)
                .next()
                .expect("the fixture holds advisories")
                .unwrap()
                .advisory;
            let ecosystem = base.affected[0].package.ecosystem.clone();
            assert!(
                base.affected
                    .iter()
                    .all(|a| a.package.ecosystem == ecosystem)
            );
            let mut import = db.batching(meta).await.unwrap().with_id_hash(|_| 7);
            let old = "2024-01-01T00:00:00Z";
            let new = "2025-01-01T00:00:00Z";
            let add =
                |id: &str, modified: &str, package: &str| record(&base, id, modified, package);
            for i in 0..600 {
                import
                    .add(add(&format!("ID-{i:04}"), old, "first"))
                    .await
                    .unwrap();
            }
            // ID-0000 was written with the first batch; ID-0599 waits in the second.
            import.add(add("ID-0000", new, "second")).await.unwrap();
            import.add(add("ID-0599", new, "second")).await.unwrap();
            import.add(add("ID-0001", old, "second")).await.unwrap();
            let stats = Box::new(import).commit().await.unwrap();
            assert_eq!((stats.records, stats.duplicates), (600, 3));
            assert_eq!(stats.ecosystems, [(ecosystem.clone(), 600)]);

            let key = |name: &str| [(ecosystem.clone(), name.to_owned())];
            let second = db.advisories_for(&key("second")).await.unwrap();
            let mut ids: Vec<&str> = second.iter().map(|a| a.advisory.id.as_str()).collect();
            ids.sort_unstable();
            assert_eq!(ids, ["ID-0000", "ID-0599"]);
            assert_eq!(db.advisories_for(&key("first")).await.unwrap().len(), 598);
        });
    }
}
