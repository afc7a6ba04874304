//! The platform store on PostgreSQL.

use sqlx::postgres::PgPool;
use sqlx::{Postgres, Transaction};

use crate::postgres::PgDatabase;

type DB = Postgres;

/// READ COMMITTED: the constraints and the checks inside the transaction keep the data whole;
/// a conflicting concurrent write fails with a constraint error that is reported as such.
async fn begin_write(pool: &PgPool) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    pool.begin().await
}

/// `SKIP LOCKED`: a second worker takes the next queued scan instead of waiting for the
/// first one's row and then finding it no longer queued.
const CLAIM_SQL: &str = "UPDATE scans SET state = 'running', db_version = $1, started_at = $2 \
    WHERE id = (SELECT id FROM scans WHERE state = 'queued' ORDER BY id LIMIT 1 \
    FOR UPDATE SKIP LOCKED)";

/// The server's queue: the oldest queued scan, or a running one whose lease ran out;
/// replicas skip rows another one is claiming.
const CLAIM_LEASED_SQL: &str = "UPDATE scans SET state = 'running', db_version = $1, \
    started_at = $2, worker = $3, lease_until = $4, attempts = attempts + 1 \
    WHERE id = (SELECT id FROM scans WHERE state = 'queued' \
    OR (state = 'running' AND lease_until < $2) ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)";

/// The names in a JSON array bound as one parameter.
const WITHIN_SQL: &str = "SELECT jsonb_array_elements_text($5::jsonb)";

/// The webhook delivery due longest that no sender holds (SPEC 7.7).
const CLAIM_DELIVERY_SQL: &str = "UPDATE deliveries SET lease_until = $1 \
    WHERE id = (SELECT id FROM deliveries WHERE delivered_at IS NULL AND next_at <= $2 \
    AND (lease_until IS NULL OR lease_until < $2) ORDER BY next_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) \
    RETURNING id, event_id, url, attempts";

super::sql::platform_impl!(PgDatabase);

/// Policy changes take turns across replicas, so each audit entry's "before" is the rule it
/// replaced (released at commit or rollback).
const POLICY_LOCK_SQL: &str = "SELECT pg_advisory_xact_lock(hashtext('vigil-policy'))";

/// Install starts and take-overs take turns across replicas (released at commit or
/// rollback).
const INSTALL_LOCK_SQL: &str = "SELECT pg_advisory_xact_lock(hashtext('vigil-integrations'))";
