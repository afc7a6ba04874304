//! The platform store on SQLite.

use sqlx::sqlite::SqlitePool;
use sqlx::{Sqlite, Transaction};

use crate::sqlite::SqliteDatabase;

type DB = Sqlite;

/// Write transactions take the write lock first (`BEGIN IMMEDIATE`): a deferred one that
/// reads, then writes after another writer committed fails at once with SQLITE_BUSY instead
/// of waiting for the lock (WAL mode, stale snapshot).
async fn begin_write(pool: &SqlitePool) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

/// One statement: SQLite runs it under the write lock, so two workers never claim one scan.
const CLAIM_SQL: &str = "UPDATE scans SET state = 'running', db_version = $1, started_at = $2 \
    WHERE id = (SELECT id FROM scans WHERE state = 'queued' ORDER BY id LIMIT 1)";

/// The server's queue: the oldest queued scan, or a running one whose lease ran out.
const CLAIM_LEASED_SQL: &str = "UPDATE scans SET state = 'running', db_version = $1, \
    started_at = $2, worker = $3, lease_until = $4, attempts = attempts + 1 \
    WHERE id = (SELECT id FROM scans WHERE state = 'queued' \
    OR (state = 'running' AND lease_until < $2) ORDER BY id LIMIT 1)";

/// The names in a JSON array bound as one parameter.
const WITHIN_SQL: &str = "SELECT value FROM json_each($5)";

/// The webhook delivery due longest that no sender holds (SPEC 7.7).
const CLAIM_DELIVERY_SQL: &str = "UPDATE deliveries SET lease_until = $1 \
    WHERE id = (SELECT id FROM deliveries WHERE delivered_at IS NULL AND next_at <= $2 \
    AND (lease_until IS NULL OR lease_until < $2) ORDER BY next_at, id LIMIT 1) \
    RETURNING id, event_id, url, attempts";

super::sql::platform_impl!(SqliteDatabase);

/// `BEGIN IMMEDIATE` already serialises writers.
const POLICY_LOCK_SQL: &str = "SELECT 1";

/// Install starts and take-overs take turns across replicas (released at commit or
/// rollback); `BEGIN IMMEDIATE` already serialises writers.
const INSTALL_LOCK_SQL: &str = "SELECT 1";
