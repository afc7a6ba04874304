//! The PostgreSQL backend, for several `vigil serve` replicas sharing one database
//! (SPEC 9.5). Batches travel as arrays through `UNNEST`, one prepared statement per table.

use std::time::{Duration, SystemTime};

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Postgres, QueryBuilder, Row, Transaction};

use crate::import::{Batching, Previous, Writer};
use crate::location::redact_url;
use crate::names::normalize_name;
use crate::{
    Backend, Database, Error, Import, Record, SourceMeta, SourceStatus, StoredAdvisory, decode,
    from_unix, unix_now,
};

#[derive(Debug)]
pub(crate) struct PgDatabase {
    pub(crate) pool: PgPool,
}

impl PgDatabase {
    pub(crate) async fn open(url: &str) -> Result<Self, Error> {
        let open_err = |problem: String| Error::Open {
            location: redact_url(url),
            problem,
        };
        let options: PgConnectOptions = url
            .parse::<PgConnectOptions>()
            .map_err(|e: sqlx::Error| open_err(e.to_string()))?
            // Bulk imports are slow statements by design; sqlx would warn about each.
            .disable_statement_logging();
        // One direct connection first: a refused or misconfigured server fails at once with
        // its own message, instead of after the pool's retries.
        {
            use sqlx::Connection;
            let conn = sqlx::PgConnection::connect_with(&options)
                .await
                .map_err(|e| open_err(e.to_string()))?;
            let _ = conn.close().await;
        }
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .map_err(|e| open_err(e.to_string()))?;
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .map_err(|e| Error::Migrate {
                location: redact_url(url),
                problem: e.to_string(),
            })?;
        Ok(Self { pool })
    }

    async fn lookup(&self, id: &str) -> Result<Vec<StoredAdvisory>, Error> {
        let rows = sqlx::query(
            "SELECT a.source, a.id, a.json FROM aliases l \
             JOIN advisories a ON a.source = l.source AND a.id = l.advisory_id \
             WHERE l.alias = $1",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .map_err(Error::query("lookup by id"))?;
        rows.into_iter()
            .map(|r| decode(r.get(0), r.get::<&str, _>(1), r.get::<&str, _>(2)))
            .collect()
    }
}

#[async_trait::async_trait]
impl Database for PgDatabase {
    fn backend(&self) -> Backend {
        Backend::Postgres
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
            "UPDATE sources SET checked_at = $1, location = $2 \
             WHERE name = $3 AND feed_digest = $4 RETURNING records, digest",
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
        let ecosystems = source_ecosystems(&mut tx, &source.name).await?;
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
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(Error::query("begin import"))?;
        // Two imports of one source (two replicas running `db update`) take turns.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind(format!("vigil-import:{}", source.name))
            .execute(&mut *tx)
            .await
            .map_err(Error::query("lock source"))?;
        for sql in [
            "DELETE FROM affected WHERE source = $1",
            "DELETE FROM aliases WHERE source = $1",
            "DELETE FROM advisories WHERE source = $1",
            "DELETE FROM source_ecosystems WHERE source = $1",
        ] {
            sqlx::query(sql)
                .bind(&source.name)
                .execute(&mut *tx)
                .await
                .map_err(Error::query("delete previous records"))?;
        }
        let previous = sqlx::query("SELECT digest, records FROM sources WHERE name = $1")
            .bind(&source.name)
            .fetch_optional(&mut *tx)
            .await
            .map_err(Error::query("read source"))?
            .map(|r| Previous {
                digest: r.get(0),
                records: r.get::<i64, _>(1) as u64,
            });
        let writer = PgWriter {
            tx,
            pool: self.pool.clone(),
            source: source.name.clone(),
        };
        Ok(Box::new(Batching::new(Box::new(writer), source, previous)))
    }

    async fn advisories_for(
        &self,
        packages: &[(String, String)],
    ) -> Result<Vec<StoredAdvisory>, Error> {
        if packages.is_empty() {
            return Ok(Vec::new());
        }
        let ecosystems: Vec<&str> = packages.iter().map(|(e, _)| e.as_str()).collect();
        let names: Vec<String> = packages
            .iter()
            .map(|(e, n)| normalize_name(e, n).into_owned())
            .collect();
        let rows = sqlx::query(
            "SELECT a.source, a.id, a.json FROM advisories a \
             WHERE (a.source, a.id) IN ( \
                 SELECT f.source, f.advisory_id \
                 FROM UNNEST($1::text[], $2::text[]) AS q(ecosystem, name) \
                 JOIN affected f ON f.ecosystem = q.ecosystem AND f.name = q.name)",
        )
        .bind(ecosystems)
        .bind(names)
        .fetch_all(&self.pool)
        .await
        .map_err(Error::query("advisories for packages"))?;
        let mut out = rows
            .into_iter()
            .map(|r| decode(r.get(0), r.get::<&str, _>(1), r.get::<&str, _>(2)))
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
             FROM sources",
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
        let mut out: Vec<SourceStatus> = rows
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
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    async fn ecosystems(&self) -> Result<Vec<(String, u64)>, Error> {
        let rows = sqlx::query(
            "SELECT ecosystem, SUM(advisories)::BIGINT FROM source_ecosystems GROUP BY ecosystem",
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

struct PgWriter {
    tx: Transaction<'static, Postgres>,
    pool: PgPool,
    source: String,
}

async fn source_ecosystems(
    conn: &mut sqlx::PgConnection,
    source: &str,
) -> Result<Vec<(String, u64)>, Error> {
    let rows = sqlx::query("SELECT ecosystem, advisories FROM source_ecosystems WHERE source = $1")
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

#[async_trait::async_trait]
impl Writer for PgWriter {
    async fn write(&mut self, batch: &[Record]) -> Result<(), Error> {
        let ids: Vec<&str> = batch.iter().map(|r| r.id.as_str()).collect();
        let modified: Vec<&str> = batch.iter().map(|r| r.modified.as_str()).collect();
        let json: Vec<&str> = batch.iter().map(|r| r.json.as_str()).collect();
        sqlx::query(
            "INSERT INTO advisories (source, id, modified, json) \
             SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::text[])",
        )
        .bind(&self.source)
        .bind(&ids)
        .bind(&modified)
        .bind(&json)
        .execute(&mut *self.tx)
        .await
        .map_err(Error::query("insert advisories"))?;

        let (mut a_ids, mut a_ecos, mut a_names) = (Vec::new(), Vec::new(), Vec::new());
        for r in batch {
            for (e, n) in &r.packages {
                a_ids.push(r.id.as_str());
                a_ecos.push(e.as_str());
                a_names.push(n.as_str());
            }
        }
        sqlx::query(
            "INSERT INTO affected (source, advisory_id, ecosystem, name) \
             SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::text[])",
        )
        .bind(&self.source)
        .bind(&a_ids)
        .bind(&a_ecos)
        .bind(&a_names)
        .execute(&mut *self.tx)
        .await
        .map_err(Error::query("insert affected packages"))?;

        let (mut l_ids, mut l_aliases) = (Vec::new(), Vec::new());
        for r in batch {
            for a in &r.ids {
                l_ids.push(r.id.as_str());
                l_aliases.push(a.as_str());
            }
        }
        sqlx::query(
            "INSERT INTO aliases (source, advisory_id, alias) \
             SELECT $1, * FROM UNNEST($2::text[], $3::text[])",
        )
        .bind(&self.source)
        .bind(&l_ids)
        .bind(&l_aliases)
        .execute(&mut *self.tx)
        .await
        .map_err(Error::query("insert aliases"))?;
        Ok(())
    }

    async fn stored(&mut self, id: &str) -> Result<Option<Record>, Error> {
        let json: Option<String> =
            sqlx::query_scalar("SELECT json FROM advisories WHERE source = $1 AND id = $2")
                .bind(&self.source)
                .bind(id)
                .fetch_optional(&mut *self.tx)
                .await
                .map_err(Error::query("read duplicate record"))?;
        json.map(Record::from_json).transpose()
    }

    async fn delete(&mut self, old: &Record) -> Result<(), Error> {
        let id = old.id.as_str();
        for sql in [
            "DELETE FROM affected WHERE source = $1 AND advisory_id = $2",
            "DELETE FROM aliases WHERE source = $1 AND advisory_id = $2",
            "DELETE FROM advisories WHERE source = $1 AND id = $2",
        ] {
            sqlx::query(sql)
                .bind(&self.source)
                .bind(id)
                .execute(&mut *self.tx)
                .await
                .map_err(Error::query("delete duplicate record"))?;
        }
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
            let mut q: QueryBuilder<Postgres> =
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
        sqlx::query(
            "INSERT INTO sources (name, format, location, records, digest, imported_at, checked_at, \
             feed_digest) VALUES ($1, $2, $3, $4, $5, $6, $6, $7) \
             ON CONFLICT (name) DO UPDATE SET format = EXCLUDED.format, \
             location = EXCLUDED.location, records = EXCLUDED.records, digest = EXCLUDED.digest, \
             imported_at = EXCLUDED.imported_at, checked_at = EXCLUDED.checked_at, \
             feed_digest = EXCLUDED.feed_digest",
        )
        .bind(&meta.name)
        .bind(&meta.format)
        .bind(&meta.location)
        .bind(records as i64)
        .bind(digest)
        .bind(unix_now())
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
            "UPDATE sources SET checked_at = $1, location = $2, feed_digest = $3 WHERE name = $4",
        )
        .bind(unix_now())
        .bind(&meta.location)
        .bind(&meta.feed_digest)
        .bind(&meta.name)
        .execute(&mut *conn)
        .await
        .map_err(Error::query("write source"))?;
        source_ecosystems(&mut conn, &meta.name).await
    }
}
