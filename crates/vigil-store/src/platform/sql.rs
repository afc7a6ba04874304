//! The SQL of the platform store, written once for both backends.
//!
//! SQLite and PostgreSQL both take `$N` placeholders, `RETURNING`, `ON CONFLICT DO NOTHING`
//! and the statements below unchanged, so one body serves both: [`platform_impl!`] expands it
//! inside each backend's module, where three items differ and are defined beside the call:
//! `begin_write(&Pool) -> Transaction` (SQLite begins `IMMEDIATE`), `CLAIM_SQL` (PostgreSQL
//! skips rows another worker has locked) and `DB` (the sqlx database type). A macro rather
//! than generic functions: sqlx's executor bounds over two databases would outweigh the code.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::error::{Error, Kind};

pub(crate) const SCAN_COLUMNS: &str = "id, digest, reference, state, error, db_version, \
    queued_at, started_at, finished_at, application, attempts, worker, lease_until";

pub(crate) fn from_unix(secs: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs.max(0) as u64)
}

/// `environments "a", "b" and 3 more`, for [`Error::InUse`].
pub(crate) fn describe_users(groups: &[(&str, &str, Vec<String>)]) -> Option<String> {
    let parts: Vec<String> = groups
        .iter()
        .filter(|(_, _, names)| !names.is_empty())
        .map(|(one, many, names)| {
            let noun = if names.len() == 1 { one } else { many };
            const SHOWN: usize = 5;
            let mut listed: Vec<String> =
                names.iter().take(SHOWN).map(|n| format!("{n:?}")).collect();
            if names.len() > SHOWN {
                listed.push(format!("{} more", names.len() - SHOWN));
            }
            format!("{noun} {}", listed.join(", "))
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// A foreign-key failure means a referenced row vanished (or a referencing one appeared)
/// while the transaction ran: report `instead`; anything else is a database failure.
pub(crate) fn or_constraint(
    what: &'static str,
    instead: impl FnOnce() -> Error,
) -> impl FnOnce(sqlx::Error) -> Error {
    move |e| match &e {
        sqlx::Error::Database(d) if d.is_foreign_key_violation() || d.is_unique_violation() => {
            instead()
        }
        _ => super::error::db(what)(e),
    }
}

pub(crate) fn unknown(kind: Kind, name: &str) -> Error {
    Error::Unknown {
        kind,
        name: name.to_owned(),
    }
}

pub(crate) fn in_use_race(kind: Kind, name: &str) -> Error {
    Error::InUse {
        kind,
        name: name.to_owned(),
        users: "a record added while it was being removed".to_owned(),
    }
}

/// A `rematches` row (id, digest, scan_id, previous_scan_id, db_version, at, new_findings,
/// resolved) read back.
pub(crate) fn rematch_row<R: sqlx::Row>(r: &R) -> super::types::Rematch
where
    for<'c> &'c str: sqlx::ColumnIndex<R>,
    usize: sqlx::ColumnIndex<R>,
    i64: for<'q> sqlx::Decode<'q, R::Database> + sqlx::Type<R::Database>,
    String: for<'q> sqlx::Decode<'q, R::Database> + sqlx::Type<R::Database>,
{
    let list = |t: String| serde_json::from_str::<Vec<String>>(&t).unwrap_or_default();
    super::types::Rematch {
        id: r.get(0),
        digest: r.get(1),
        scan_id: r.get(2),
        previous_scan_id: r.get(3),
        db_version: r.get(4),
        at: from_unix(r.get(5)),
        new: list(r.get(6)),
        resolved: list(r.get(7)),
    }
}

macro_rules! platform_impl {
    ($Store:ty) => {
        use std::time::SystemTime;

        use sqlx::Row;

        use $crate::platform::error::{db, Error, Kind};
        use $crate::platform::sql::{
            describe_users, from_unix, in_use_race, or_constraint, rematch_row, unknown,
            SCAN_COLUMNS,
        };
        use $crate::platform::types::*;
        use $crate::platform::{to_unix, validate, Platform};

        type DbRow = <DB as sqlx::Database>::Row;

        fn scan_row(r: &DbRow) -> Result<Scan, Error> {
            let state: String = r.get(3);
            let id: i64 = r.get(0);
            let state = ScanState::parse(&state).ok_or_else(|| {
                Error::Store($crate::Error::Query {
                    what: "read scan",
                    problem: format!("scan {id} has an unknown state {state:?}"),
                })
            })?;
            Ok(Scan {
                id,
                digest: r.get(1),
                reference: r.get(2),
                state,
                error: r.get(4),
                db_version: r.get(5),
                queued_at: from_unix(r.get(6)),
                started_at: r.get::<Option<i64>, _>(7).map(from_unix),
                finished_at: r.get::<Option<i64>, _>(8).map(from_unix),
                application: r.get(9),
                attempts: u32::try_from(r.get::<i32, _>(10)).unwrap_or(0),
                worker: r.get(11),
                lease_until: r.get::<Option<i64>, _>(12).map(from_unix),
            })
        }

        fn completed_row(r: &DbRow) -> Result<CompletedScan, Error> {
            Ok(CompletedScan {
                scan: scan_row(r)?,
                report: r.get::<Option<String>, _>(13).unwrap_or_default(),
            })
        }

        fn deployment_row(r: &DbRow) -> Deployment {
            Deployment {
                id: r.get(0),
                application: r.get(1),
                environment: r.get(2),
                cluster: r.get(3),
                digest: r.get(4),
                at: from_unix(r.get(5)),
                by: r.get(6),
                rollback: r.get(7),
            }
        }

        fn token_row(r: &DbRow) -> Result<Token, Error> {
            let id: i64 = r.get(0);
            let role: String = r.get(2);
            let bad = |problem: String| {
                Error::Store($crate::Error::Query {
                    what: "read token",
                    problem: format!("token {id}: {problem}"),
                })
            };
            let role = Role::parse(&role).ok_or_else(|| bad(format!("unknown role {role:?}")))?;
            let apps = r
                .get::<Option<String>, _>(3)
                .map(|a| serde_json::from_str::<Vec<String>>(&a))
                .transpose()
                .map_err(|e| bad(format!("applications do not read: {e}")))?;
            Ok(Token {
                id,
                name: r.get(1),
                role,
                apps,
                created_at: from_unix(r.get(4)),
                created_by: r.get(5),
            })
        }

        const INTEGRATION_COLUMNS: &str =
            "name, status, status_at, version, attempts, started_at, runner, lease_until, reason";

        fn integration_row(r: &DbRow) -> Result<IntegrationState, Error> {
            let name: String = r.get(0);
            let status: String = r.get(1);
            let status = IntegrationStatus::parse(&status).ok_or_else(|| {
                Error::Store($crate::Error::Query {
                    what: "read integration",
                    problem: format!("integration {name} has an unknown status {status:?}"),
                })
            })?;
            Ok(IntegrationState {
                name,
                status,
                status_at: from_unix(r.get(2)),
                version: r.get(3),
                attempts: u32::try_from(r.get::<i32, _>(4)).unwrap_or(0),
                started_at: r.get::<Option<i64>, _>(5).map(from_unix),
                runner: r.get(6),
                lease_until: r.get::<Option<i64>, _>(7).map(from_unix),
                reason: r.get(8),
            })
        }

        /// `status IN ('a', 'b')` of the statuses `event` starts from (names are constants).
        fn statuses_of(event: InstallEvent) -> String {
            let names: Vec<String> = IntegrationStatus::sources_of(event)
                .iter()
                .map(|s| format!("'{}'", s.as_str()))
                .collect();
            format!("status IN ({})", names.join(", "))
        }

        const DEPLOYMENT_COLUMNS: &str = "d.id, d.application, d.environment, e.cluster, \
            d.digest, d.deployed_at, d.deployed_by, d.rollback";

        async fn names(
            conn: &mut <DB as sqlx::Database>::Connection,
            sql: &'static str,
            key: &str,
            what: &'static str,
        ) -> Result<Vec<String>, Error> {
            sqlx::query_scalar(sql)
                .bind(key)
                .fetch_all(conn)
                .await
                .map_err(db(what))
        }

        async fn exists(
            conn: &mut <DB as sqlx::Database>::Connection,
            sql: &'static str,
            key: &str,
        ) -> Result<bool, Error> {
            Ok(sqlx::query(sql)
                .bind(key)
                .fetch_optional(conn)
                .await
                .map_err(db("look up a name"))?
                .is_some())
        }

        /// Scan state change that failed: unknown id or a state that does not allow it.
        async fn state_error(
            store: &$Store,
            id: i64,
            action: &'static str,
        ) -> Result<Scan, Error> {
            match store.scan(id).await? {
                None => Err(unknown(Kind::Scan, &id.to_string())),
                Some(scan) => Err(Error::ScanState {
                    id,
                    state: scan.state,
                    action,
                }),
            }
        }

        async fn completed(
            store: &$Store,
            sql: &str,
            digest: &str,
            db_version: Option<&str>,
        ) -> Result<Option<CompletedScan>, Error> {
            validate::digest(digest)?;
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).bind(digest.to_owned());
            if let Some(v) = db_version {
                q = q.bind(v.to_owned());
            }
            q.fetch_optional(&store.pool)
                .await
                .map_err(db("read completed scan"))?
                .map(|r| completed_row(&r))
                .transpose()
        }

        const RULE_COLUMNS: &str =
            "scope, kind, key, action, author, reason, expires_at, changed_at";

        fn rule_row(r: &DbRow) -> Result<vigil_policy::Rule, Error> {
            $crate::platform::policy::rule_from_row(
                r.get::<&str, _>(0),
                r.get::<&str, _>(1),
                r.get::<&str, _>(2),
                r.get::<&str, _>(3),
                r.get(4),
                r.get(5),
                r.get(6),
                r.get(7),
            )
        }

        #[async_trait::async_trait]
        impl Platform for $Store {
            async fn add_cluster(&self, name: &str) -> Result<(), Error> {
                validate::name(Kind::Cluster, name)?;
                let done = sqlx::query("INSERT INTO clusters (name) VALUES ($1) ON CONFLICT DO NOTHING")
                    .bind(name)
                    .execute(&self.pool)
                    .await
                    .map_err(db("add cluster"))?;
                if done.rows_affected() == 0 {
                    return Err(Error::Duplicate { kind: Kind::Cluster, name: name.to_owned() });
                }
                Ok(())
            }

            async fn clusters(&self) -> Result<Vec<String>, Error> {
                sqlx::query_scalar("SELECT name FROM clusters ORDER BY name")
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db("list clusters"))
            }

            async fn remove_cluster(&self, name: &str) -> Result<(), Error> {
                let mut tx = begin_write(&self.pool).await.map_err(db("remove cluster"))?;
                if !exists(&mut tx, "SELECT 1 FROM clusters WHERE name = $1", name).await? {
                    return Err(unknown(Kind::Cluster, name));
                }
                let envs = names(&mut tx, "SELECT name FROM environments WHERE cluster = $1 ORDER BY name", name, "find environments of cluster").await?;
                let rules = names(&mut tx, "SELECT TRIM(scope || ' ' || kind || ' ' || key) FROM policy_rules WHERE cluster = $1 ORDER BY scope, kind, key", name, "find policy rules of cluster").await?;
                if let Some(users) = describe_users(&[("environment", "environments", envs), ("policy rule", "policy rules", rules)]) {
                    return Err(Error::InUse { kind: Kind::Cluster, name: name.to_owned(), users });
                }
                sqlx::query("DELETE FROM clusters WHERE name = $1")
                    .bind(name)
                    .execute(&mut *tx)
                    .await
                    .map_err(or_constraint("remove cluster", || in_use_race(Kind::Cluster, name)))?;
                tx.commit().await.map_err(or_constraint("remove cluster", || in_use_race(Kind::Cluster, name)))
            }

            async fn add_environment(&self, env: &Environment) -> Result<(), Error> {
                validate::name(Kind::Environment, &env.name)?;
                validate::name(Kind::Cluster, &env.cluster)?;
                validate::namespace(&env.namespace)?;
                let mut tx = begin_write(&self.pool).await.map_err(db("add environment"))?;
                if !exists(&mut tx, "SELECT 1 FROM clusters WHERE name = $1", &env.cluster).await? {
                    return Err(unknown(Kind::Cluster, &env.cluster));
                }
                let done = sqlx::query(
                    "INSERT INTO environments (name, cluster, namespace) VALUES ($1, $2, $3) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(&env.name)
                .bind(&env.cluster)
                .bind(&env.namespace)
                .execute(&mut *tx)
                .await
                .map_err(or_constraint("add environment", || unknown(Kind::Cluster, &env.cluster)))?;
                if done.rows_affected() == 0 {
                    if exists(&mut tx, "SELECT 1 FROM environments WHERE name = $1", &env.name).await? {
                        return Err(Error::Duplicate { kind: Kind::Environment, name: env.name.clone() });
                    }
                    let holder: Option<String> = sqlx::query_scalar(
                        "SELECT name FROM environments WHERE cluster = $1 AND namespace = $2",
                    )
                    .bind(&env.cluster)
                    .bind(&env.namespace)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db("add environment"))?;
                    return Err(Error::NamespaceTaken {
                        cluster: env.cluster.clone(),
                        namespace: env.namespace.clone(),
                        environment: holder.unwrap_or_default(),
                    });
                }
                tx.commit().await.map_err(db("add environment"))
            }

            async fn environments(&self) -> Result<Vec<Environment>, Error> {
                let rows = sqlx::query("SELECT name, cluster, namespace FROM environments ORDER BY name")
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db("list environments"))?;
                Ok(rows
                    .iter()
                    .map(|r| Environment { name: r.get(0), cluster: r.get(1), namespace: r.get(2) })
                    .collect())
            }

            async fn environment(&self, name: &str) -> Result<Option<Environment>, Error> {
                let row = sqlx::query("SELECT name, cluster, namespace FROM environments WHERE name = $1")
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db("read environment"))?;
                Ok(row.map(|r| Environment { name: r.get(0), cluster: r.get(1), namespace: r.get(2) }))
            }

            async fn remove_environment(&self, name: &str) -> Result<(), Error> {
                let mut tx = begin_write(&self.pool).await.map_err(db("remove environment"))?;
                if !exists(&mut tx, "SELECT 1 FROM environments WHERE name = $1", name).await? {
                    return Err(unknown(Kind::Environment, name));
                }
                let apps = names(&mut tx, "SELECT DISTINCT application FROM deployments WHERE environment = $1 ORDER BY application", name, "find deployments to environment").await?;
                let rules = names(&mut tx, "SELECT TRIM(scope || ' ' || kind || ' ' || key) FROM policy_rules WHERE environment = $1 ORDER BY scope, kind, key", name, "find policy rules of environment").await?;
                if let Some(users) = describe_users(&[("deployments of application", "deployments of applications", apps), ("policy rule", "policy rules", rules)]) {
                    return Err(Error::InUse { kind: Kind::Environment, name: name.to_owned(), users });
                }
                sqlx::query("DELETE FROM environments WHERE name = $1")
                    .bind(name)
                    .execute(&mut *tx)
                    .await
                    .map_err(or_constraint("remove environment", || in_use_race(Kind::Environment, name)))?;
                tx.commit().await.map_err(or_constraint("remove environment", || in_use_race(Kind::Environment, name)))
            }

            async fn add_application(&self, name: &str) -> Result<(), Error> {
                validate::name(Kind::Application, name)?;
                let done = sqlx::query("INSERT INTO applications (name) VALUES ($1) ON CONFLICT DO NOTHING")
                    .bind(name)
                    .execute(&self.pool)
                    .await
                    .map_err(db("add application"))?;
                if done.rows_affected() == 0 {
                    return Err(Error::Duplicate { kind: Kind::Application, name: name.to_owned() });
                }
                Ok(())
            }

            async fn applications(&self) -> Result<Vec<String>, Error> {
                sqlx::query_scalar("SELECT name FROM applications ORDER BY name")
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db("list applications"))
            }

            async fn remove_application(&self, name: &str) -> Result<(), Error> {
                let mut tx = begin_write(&self.pool).await.map_err(db("remove application"))?;
                if !exists(&mut tx, "SELECT 1 FROM applications WHERE name = $1", name).await? {
                    return Err(unknown(Kind::Application, name));
                }
                let pipelines = names(&mut tx, "SELECT name FROM pipelines WHERE application = $1 ORDER BY name", name, "find pipelines of application").await?;
                let envs = names(&mut tx, "SELECT DISTINCT environment FROM deployments WHERE application = $1 ORDER BY environment", name, "find deployments of application").await?;
                let rules = names(&mut tx, "SELECT TRIM(scope || ' ' || kind || ' ' || key) FROM policy_rules WHERE application = $1 ORDER BY scope, kind, key", name, "find policy rules of application").await?;
                if let Some(users) = describe_users(&[
                    ("pipeline", "pipelines", pipelines),
                    ("deployments to environment", "deployments to environments", envs),
                    ("policy rule", "policy rules", rules),
                ]) {
                    return Err(Error::InUse { kind: Kind::Application, name: name.to_owned(), users });
                }
                sqlx::query("DELETE FROM applications WHERE name = $1")
                    .bind(name)
                    .execute(&mut *tx)
                    .await
                    .map_err(or_constraint("remove application", || in_use_race(Kind::Application, name)))?;
                tx.commit().await.map_err(or_constraint("remove application", || in_use_race(Kind::Application, name)))
            }

            async fn add_pipeline(&self, pipeline: &Pipeline) -> Result<(), Error> {
                validate::pipeline(&pipeline.name)?;
                validate::name(Kind::Application, &pipeline.application)?;
                let mut tx = begin_write(&self.pool).await.map_err(db("add pipeline"))?;
                if !exists(&mut tx, "SELECT 1 FROM applications WHERE name = $1", &pipeline.application).await? {
                    return Err(unknown(Kind::Application, &pipeline.application));
                }
                let done = sqlx::query(
                    "INSERT INTO pipelines (name, application, scan_enabled) VALUES ($1, $2, $3) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(&pipeline.name)
                .bind(&pipeline.application)
                .bind(pipeline.scan_enabled)
                .execute(&mut *tx)
                .await
                .map_err(or_constraint("add pipeline", || unknown(Kind::Application, &pipeline.application)))?;
                if done.rows_affected() == 0 {
                    return Err(Error::Duplicate { kind: Kind::Pipeline, name: pipeline.name.clone() });
                }
                tx.commit().await.map_err(db("add pipeline"))
            }

            async fn pipelines(&self) -> Result<Vec<Pipeline>, Error> {
                let rows = sqlx::query("SELECT name, application, scan_enabled FROM pipelines ORDER BY name")
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db("list pipelines"))?;
                Ok(rows
                    .iter()
                    .map(|r| Pipeline { name: r.get(0), application: r.get(1), scan_enabled: r.get(2) })
                    .collect())
            }

            async fn pipeline(&self, name: &str) -> Result<Option<Pipeline>, Error> {
                let row = sqlx::query("SELECT name, application, scan_enabled FROM pipelines WHERE name = $1")
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db("read pipeline"))?;
                Ok(row.map(|r| Pipeline { name: r.get(0), application: r.get(1), scan_enabled: r.get(2) }))
            }

            async fn remove_pipeline(&self, name: &str) -> Result<(), Error> {
                let done = sqlx::query("DELETE FROM pipelines WHERE name = $1")
                    .bind(name)
                    .execute(&self.pool)
                    .await
                    .map_err(db("remove pipeline"))?;
                if done.rows_affected() == 0 {
                    return Err(unknown(Kind::Pipeline, name));
                }
                Ok(())
            }

            async fn record_deployment(
                &self,
                d: &NewDeployment,
                at: SystemTime,
            ) -> Result<Deployment, Error> {
                validate::name(Kind::Application, &d.application)?;
                validate::name(Kind::Environment, &d.environment)?;
                validate::digest(&d.digest)?;
                validate::text(Kind::User, &d.by)?;
                let mut tx = begin_write(&self.pool).await.map_err(db("record deployment"))?;
                if !exists(&mut tx, "SELECT 1 FROM applications WHERE name = $1", &d.application).await? {
                    return Err(unknown(Kind::Application, &d.application));
                }
                let cluster: Option<String> =
                    sqlx::query_scalar("SELECT cluster FROM environments WHERE name = $1")
                        .bind(&d.environment)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(db("record deployment"))?;
                let Some(cluster) = cluster else {
                    return Err(unknown(Kind::Environment, &d.environment));
                };
                let at = to_unix(at);
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO deployments \
                     (application, environment, digest, deployed_at, deployed_by, rollback) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(&d.application)
                .bind(&d.environment)
                .bind(&d.digest)
                .bind(at)
                .bind(&d.by)
                .bind(d.rollback)
                .fetch_one(&mut *tx)
                .await
                .map_err(or_constraint("record deployment", || unknown(Kind::Environment, &d.environment)))?;
                tx.commit().await.map_err(db("record deployment"))?;
                Ok(Deployment {
                    id,
                    application: d.application.clone(),
                    environment: d.environment.clone(),
                    cluster,
                    digest: d.digest.clone(),
                    at: from_unix(at),
                    by: d.by.clone(),
                    rollback: d.rollback,
                })
            }

            async fn current_deployments(
                &self,
                filter: &DeploymentFilter,
            ) -> Result<Vec<Deployment>, Error> {
                let sql = format!(
                    "SELECT {DEPLOYMENT_COLUMNS} FROM deployments d \
                     JOIN environments e ON e.name = d.environment \
                     WHERE d.id IN (SELECT MAX(id) FROM deployments GROUP BY application, environment) \
                     AND ($1 IS NULL OR d.application = $1) \
                     AND ($2 IS NULL OR d.environment = $2) \
                     AND ($3 IS NULL OR e.cluster = $3) \
                     ORDER BY d.application, d.environment"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(filter.application.clone())
                    .bind(filter.environment.clone())
                    .bind(filter.cluster.clone())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db("list deployments"))?;
                Ok(rows.iter().map(deployment_row).collect())
            }

            async fn deployment_history(
                &self,
                application: &str,
                environment: &str,
                limit: u32,
            ) -> Result<Vec<Deployment>, Error> {
                let sql = format!(
                    "SELECT {DEPLOYMENT_COLUMNS} FROM deployments d \
                     JOIN environments e ON e.name = d.environment \
                     WHERE d.application = $1 AND d.environment = $2 \
                     ORDER BY d.id DESC LIMIT $3"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(application)
                    .bind(environment)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db("list deployment history"))?;
                Ok(rows.iter().map(deployment_row).collect())
            }

            async fn queue_scan(
                &self,
                digest: &str,
                reference: &str,
                at: SystemTime,
            ) -> Result<Scan, Error> {
                self.submit_scan(digest, reference, None, at).await
            }

            async fn submit_scan(
                &self,
                digest: &str,
                reference: &str,
                application: Option<&str>,
                at: SystemTime,
            ) -> Result<Scan, Error> {
                validate::digest(digest)?;
                validate::text(Kind::Reference, reference)?;
                let sql = format!(
                    "INSERT INTO scans (digest, reference, state, queued_at, application) \
                     VALUES ($1, $2, 'queued', $3, $4) RETURNING {SCAN_COLUMNS}"
                );
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(digest)
                    .bind(reference)
                    .bind(to_unix(at))
                    .bind(application)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db("queue scan"))?;
                scan_row(&row)
            }

            async fn claim_leased(
                &self,
                worker: &str,
                db_version: &str,
                lease_until: SystemTime,
                at: SystemTime,
            ) -> Result<Option<Scan>, Error> {
                validate::text(Kind::DatabaseVersion, db_version)?;
                let sql = format!("{CLAIM_LEASED_SQL} RETURNING {SCAN_COLUMNS}");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(db_version)
                    .bind(to_unix(at))
                    .bind(worker)
                    .bind(to_unix(lease_until))
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db("claim scan"))?;
                row.map(|r| scan_row(&r)).transpose()
            }

            async fn renew_lease(
                &self,
                id: i64,
                worker: &str,
                lease_until: SystemTime,
            ) -> Result<bool, Error> {
                let done = sqlx::query(
                    "UPDATE scans SET lease_until = $3 \
                     WHERE id = $1 AND worker = $2 AND state = 'running'",
                )
                .bind(id)
                .bind(worker)
                .bind(to_unix(lease_until))
                .execute(&self.pool)
                .await
                .map_err(db("renew scan lease"))?;
                Ok(done.rows_affected() == 1)
            }

            async fn complete_leased(
                &self,
                id: i64,
                worker: &str,
                report: &str,
                at: SystemTime,
            ) -> Result<Scan, Error> {
                validate::report(report)?;
                let sql = format!(
                    "UPDATE scans SET state = 'completed', report = $2, finished_at = $3, \
                     lease_until = NULL \
                     WHERE id = $1 AND state = 'running' AND worker = $4 RETURNING {SCAN_COLUMNS}"
                );
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(id)
                    .bind(report)
                    .bind(to_unix(at))
                    .bind(worker)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db("complete scan"))?;
                match row {
                    Some(r) => scan_row(&r),
                    None => state_error(self, id, "complete").await,
                }
            }

            async fn fail_leased(
                &self,
                id: i64,
                worker: &str,
                error: &str,
                at: SystemTime,
            ) -> Result<Scan, Error> {
                let error = validate::error_text(error);
                let sql = format!(
                    "UPDATE scans SET state = 'failed', error = $2, finished_at = $3, \
                     lease_until = NULL \
                     WHERE id = $1 AND state = 'running' AND worker = $4 RETURNING {SCAN_COLUMNS}"
                );
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(id)
                    .bind(error)
                    .bind(to_unix(at))
                    .bind(worker)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db("fail scan"))?;
                match row {
                    Some(r) => scan_row(&r),
                    None => state_error(self, id, "fail").await,
                }
            }

            async fn release_leases(&self, worker: &str) -> Result<u64, Error> {
                let done = sqlx::query(
                    "UPDATE scans SET state = 'queued', worker = NULL, lease_until = NULL, \
                     started_at = NULL, db_version = NULL \
                     WHERE worker = $1 AND state = 'running'",
                )
                .bind(worker)
                .execute(&self.pool)
                .await
                .map_err(db("release scans"))?;
                Ok(done.rows_affected())
            }

            async fn scan_counts(&self) -> Result<ScanCounts, Error> {
                let rows: Vec<(String, i64)> =
                    sqlx::query_as("SELECT state, COUNT(*) FROM scans GROUP BY state")
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db("count scans"))?;
                let mut c = ScanCounts::default();
                for (state, n) in rows {
                    let n = u64::try_from(n).unwrap_or(0);
                    match ScanState::parse(&state) {
                        Some(ScanState::Queued) => c.queued = n,
                        Some(ScanState::Running) => c.running = n,
                        Some(ScanState::Completed) => c.completed = n,
                        Some(ScanState::Failed) => c.failed = n,
                        None => {}
                    }
                }
                Ok(c)
            }

            async fn create_token(&self, token: &NewToken, at: SystemTime) -> Result<Token, Error> {
                validate::name(Kind::Token, &token.name)?;
                if let Some(apps) = &token.apps {
                    for a in apps {
                        validate::name(Kind::Application, a)?;
                    }
                }
                let mut tx = begin_write(&self.pool).await.map_err(db("create token"))?;
                if let Some(apps) = &token.apps {
                    for a in apps {
                        if !exists(&mut tx, "SELECT 1 FROM applications WHERE name = $1", a).await? {
                            return Err(unknown(Kind::Application, a));
                        }
                    }
                }
                if exists(&mut tx, "SELECT 1 FROM api_tokens WHERE name = $1", &token.name).await? {
                    return Err(Error::Duplicate {
                        kind: Kind::Token,
                        name: token.name.clone(),
                    });
                }
                let apps = token
                    .apps
                    .as_ref()
                    .map(|a| serde_json::to_string(a).unwrap_or_default());
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO api_tokens (name, hash, role, apps, created_at, created_by) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(&token.name)
                .bind(&token.hash)
                .bind(token.role.as_str())
                .bind(apps)
                .bind(to_unix(at))
                .bind(&token.created_by)
                .fetch_one(&mut *tx)
                .await
                .map_err(or_constraint("create token", || Error::Duplicate {
                    kind: Kind::Token,
                    name: token.name.clone(),
                }))?;
                tx.commit().await.map_err(db("create token"))?;
                Ok(Token {
                    id,
                    name: token.name.clone(),
                    role: token.role,
                    apps: token.apps.clone(),
                    created_at: from_unix(to_unix(at)),
                    created_by: token.created_by.clone(),
                })
            }

            async fn token_by_hash(&self, hash: &str) -> Result<Option<Token>, Error> {
                let row = sqlx::query(
                    "SELECT id, name, role, apps, created_at, created_by FROM api_tokens \
                     WHERE hash = $1",
                )
                .bind(hash)
                .fetch_optional(&self.pool)
                .await
                .map_err(db("look up token"))?;
                row.map(|r| token_row(&r)).transpose()
            }

            async fn tokens(&self) -> Result<Vec<Token>, Error> {
                let rows = sqlx::query(
                    "SELECT id, name, role, apps, created_at, created_by FROM api_tokens \
                     ORDER BY id",
                )
                .fetch_all(&self.pool)
                .await
                .map_err(db("list tokens"))?;
                rows.iter().map(token_row).collect()
            }

            async fn revoke_token(&self, id: i64) -> Result<(), Error> {
                let done = sqlx::query("DELETE FROM api_tokens WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(db("revoke token"))?;
                if done.rows_affected() == 0 {
                    return Err(unknown(Kind::Token, &id.to_string()));
                }
                Ok(())
            }

            async fn start_scan(
                &self,
                id: i64,
                db_version: &str,
                at: SystemTime,
            ) -> Result<Scan, Error> {
                validate::text(Kind::DatabaseVersion, db_version)?;
                let sql = format!(
                    "UPDATE scans SET state = 'running', db_version = $2, started_at = $3 \
                     WHERE id = $1 AND state = 'queued' RETURNING {SCAN_COLUMNS}"
                );
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(id)
                    .bind(db_version)
                    .bind(to_unix(at))
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db("start scan"))?;
                match row {
                    Some(r) => scan_row(&r),
                    None => state_error(self, id, "start").await,
                }
            }

            async fn claim_scan(
                &self,
                db_version: &str,
                at: SystemTime,
            ) -> Result<Option<Scan>, Error> {
                validate::text(Kind::DatabaseVersion, db_version)?;
                let row = sqlx::query(sqlx::AssertSqlSafe(format!("{CLAIM_SQL} RETURNING {SCAN_COLUMNS}")))
                    .bind(db_version)
                    .bind(to_unix(at))
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db("claim scan"))?;
                row.map(|r| scan_row(&r)).transpose()
            }

            async fn complete_scan(
                &self,
                id: i64,
                report: &str,
                at: SystemTime,
            ) -> Result<Scan, Error> {
                validate::report(report)?;
                let sql = format!(
                    "UPDATE scans SET state = 'completed', report = $2, finished_at = $3 \
                     WHERE id = $1 AND state = 'running' RETURNING {SCAN_COLUMNS}"
                );
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(id)
                    .bind(report)
                    .bind(to_unix(at))
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db("complete scan"))?;
                match row {
                    Some(r) => scan_row(&r),
                    None => state_error(self, id, "complete").await,
                }
            }

            async fn fail_scan(&self, id: i64, error: &str, at: SystemTime) -> Result<Scan, Error> {
                let error = validate::error_text(error);
                let sql = format!(
                    "UPDATE scans SET state = 'failed', error = $2, finished_at = $3 \
                     WHERE id = $1 AND state IN ('queued', 'running') RETURNING {SCAN_COLUMNS}"
                );
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(id)
                    .bind(error)
                    .bind(to_unix(at))
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db("fail scan"))?;
                match row {
                    Some(r) => scan_row(&r),
                    None => state_error(self, id, "fail").await,
                }
            }

            async fn fail_stale_scans(
                &self,
                started_before: SystemTime,
                at: SystemTime,
            ) -> Result<Vec<Scan>, Error> {
                let sql = format!(
                    "UPDATE scans SET state = 'failed', error = $3, finished_at = $2 \
                     WHERE state = 'running' AND started_at < $1 RETURNING {SCAN_COLUMNS}"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(to_unix(started_before))
                    .bind(to_unix(at))
                    .bind("abandoned: still running at the deadline, its worker is gone")
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db("fail stale scans"))?;
                let mut out = rows.iter().map(scan_row).collect::<Result<Vec<_>, _>>()?;
                out.sort_by_key(|s| s.id);
                Ok(out)
            }

            async fn scan(&self, id: i64) -> Result<Option<Scan>, Error> {
                let sql = format!("SELECT {SCAN_COLUMNS} FROM scans WHERE id = $1");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db("read scan"))?;
                row.map(|r| scan_row(&r)).transpose()
            }

            async fn scan_report(&self, id: i64) -> Result<Option<CompletedScan>, Error> {
                let sql = format!(
                    "SELECT {SCAN_COLUMNS}, report FROM scans WHERE id = $1 AND state = 'completed' \
                     AND report IS NOT NULL"
                );
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db("read scan report"))?;
                row.map(|r| completed_row(&r)).transpose()
            }

            async fn scans(&self, filter: &ScanFilter) -> Result<Vec<Scan>, Error> {
                // `within` travels as a JSON array: one statement for both backends,
                // whatever its length.
                let within = filter
                    .within
                    .as_ref()
                    .map(|apps| serde_json::to_string(apps).unwrap_or_default());
                let sql = format!(
                    "SELECT {SCAN_COLUMNS} FROM scans \
                     WHERE ($1 IS NULL OR digest = $1) AND ($2 IS NULL OR state = $2) \
                     AND ($4 IS NULL OR application = $4) \
                     AND ($5 IS NULL OR application IN ({WITHIN_SQL})) \
                     ORDER BY id DESC LIMIT $3 OFFSET $6"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(filter.digest.clone())
                    .bind(filter.state.map(|s| s.as_str().to_owned()))
                    .bind(i64::from(filter.limit))
                    .bind(filter.application.clone())
                    .bind(within)
                    .bind(i64::from(filter.offset))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db("list scans"))?;
                rows.iter().map(scan_row).collect()
            }

            async fn latest_completed_scan(
                &self,
                digest: &str,
            ) -> Result<Option<CompletedScan>, Error> {
                let sql = format!(
                    "SELECT {SCAN_COLUMNS}, report FROM scans \
                     WHERE digest = $1 AND state = 'completed' \
                     ORDER BY finished_at DESC, id DESC LIMIT 1"
                );
                completed(self, &sql, digest, None).await
            }

            async fn latest_completed_scan_head(&self, digest: &str) -> Result<Option<Scan>, Error> {
                validate::digest(digest)?;
                let sql = format!(
                    "SELECT {SCAN_COLUMNS} FROM scans \
                     WHERE digest = $1 AND state = 'completed' \
                     ORDER BY finished_at DESC, id DESC LIMIT 1"
                );
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(digest)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db("read completed scan"))?;
                row.map(|r| scan_row(&r)).transpose()
            }

            async fn latest_completed_scans(&self) -> Result<Vec<Scan>, Error> {
                let sql = format!(
                    "SELECT {SCAN_COLUMNS} FROM scans s WHERE state = 'completed' AND id = \
                     (SELECT t.id FROM scans t WHERE t.digest = s.digest AND t.state = 'completed' \
                      ORDER BY t.finished_at DESC, t.id DESC LIMIT 1) ORDER BY digest"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db("read completed scans"))?;
                rows.iter().map(scan_row).collect()
            }

            async fn record_rematch(
                &self,
                previous: &Scan,
                db_version: &str,
                report: &str,
                new: &[String],
                resolved: &[String],
                events: &[NewEvent],
                webhooks: &[String],
                at: SystemTime,
            ) -> Result<Rematch, Error> {
                validate::text(Kind::DatabaseVersion, db_version)?;
                validate::report(report)?;
                let json = |v: &[String]| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
                let mut tx = begin_write(&self.pool).await.map_err(db("record re-match"))?;
                let sql = format!(
                    "INSERT INTO scans (digest, reference, state, db_version, queued_at, started_at, \
                     finished_at, report, application) \
                     VALUES ($1, $2, 'completed', $3, $4, $4, $4, $5, $6) RETURNING {SCAN_COLUMNS}"
                );
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(&previous.digest)
                    .bind(&previous.reference)
                    .bind(db_version)
                    .bind(to_unix(at))
                    .bind(report)
                    .bind(previous.application.as_deref())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db("record re-match"))?;
                let scan = scan_row(&row)?;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO rematches (digest, scan_id, previous_scan_id, db_version, at, \
                     new_findings, resolved) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                )
                .bind(&previous.digest)
                .bind(scan.id)
                .bind(previous.id)
                .bind(db_version)
                .bind(to_unix(at))
                .bind(json(new))
                .bind(json(resolved))
                .fetch_one(&mut *tx)
                .await
                .map_err(db("record re-match"))?;
                // Retention: a re-match scan that two later ones superseded loses its report
                // (its row stays; the image's first scan, the previous and the new one keep
                // theirs), so a fleet's database does not grow by a full report per image
                // with every feed update.
                sqlx::query(
                    "UPDATE scans SET report = NULL WHERE digest = $1 AND state = 'completed' \
                     AND report IS NOT NULL AND id < $2 \
                     AND id IN (SELECT scan_id FROM rematches WHERE digest = $1)",
                )
                .bind(&previous.digest)
                .bind(previous.id)
                .execute(&mut *tx)
                .await
                .map_err(db("record re-match"))?;
                // The outbox (SPEC 7.7): the events commit with the scan that caused them.
                for event in events {
                    validate::report(&event.payload)?;
                    let event_id: i64 = sqlx::query_scalar(
                        "INSERT INTO events (at, kind, digest, application, environment, \
                         rematch_id, payload) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                    )
                    .bind(to_unix(at))
                    .bind(&event.kind)
                    .bind(&previous.digest)
                    .bind(&event.application)
                    .bind(&event.environment)
                    .bind(id)
                    .bind(&event.payload)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db("write event"))?;
                    for url in webhooks {
                        sqlx::query(
                            "INSERT INTO deliveries (event_id, url, attempts, next_at) \
                             VALUES ($1, $2, 0, $3)",
                        )
                        .bind(event_id)
                        .bind(url)
                        .bind(to_unix(at))
                        .execute(&mut *tx)
                        .await
                        .map_err(db("write event"))?;
                    }
                }
                tx.commit().await.map_err(db("record re-match"))?;
                Ok(Rematch {
                    id,
                    digest: previous.digest.clone(),
                    scan_id: scan.id,
                    previous_scan_id: previous.id,
                    db_version: db_version.to_owned(),
                    at: from_unix(to_unix(at)),
                    new: new.to_vec(),
                    resolved: resolved.to_vec(),
                })
            }

            async fn rematches(&self, digest: Option<&str>, limit: u32) -> Result<Vec<Rematch>, Error> {
                let rows = sqlx::query(
                    "SELECT id, digest, scan_id, previous_scan_id, db_version, at, new_findings, \
                     resolved FROM rematches WHERE ($1 IS NULL OR digest = $1) \
                     ORDER BY id DESC LIMIT $2",
                )
                .bind(digest)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err(db("read re-matches"))?;
                Ok(rows.iter().map(rematch_row).collect())
            }

            async fn rematches_against(
                &self,
                db_version: &str,
                offset: u64,
                limit: u32,
            ) -> Result<Vec<Rematch>, Error> {
                let rows = sqlx::query(
                    "SELECT id, digest, scan_id, previous_scan_id, db_version, at, new_findings, \
                     resolved FROM rematches WHERE db_version = $1 ORDER BY id LIMIT $2 OFFSET $3",
                )
                .bind(db_version)
                .bind(i64::from(limit))
                .bind(i64::try_from(offset).unwrap_or(i64::MAX))
                .fetch_all(&self.pool)
                .await
                .map_err(db("read re-matches"))?;
                Ok(rows.iter().map(rematch_row).collect())
            }

            async fn delete_notification_set(&self, id: &str, at: SystemTime) -> Result<bool, Error> {
                let done = sqlx::query(
                    "INSERT INTO deleted_notification_sets (id, at) VALUES ($1, $2) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(id)
                .bind(to_unix(at))
                .execute(&self.pool)
                .await
                .map_err(db("delete notification set"))?;
                Ok(done.rows_affected() == 1)
            }

            async fn notification_set_deleted(&self, id: &str) -> Result<bool, Error> {
                let found: Option<i64> = sqlx::query_scalar(
                    "SELECT 1 FROM deleted_notification_sets WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(db("read notification sets"))?;
                Ok(found.is_some())
            }

            async fn events(
                &self,
                application: Option<&str>,
                within: Option<&[String]>,
                limit: u32,
            ) -> Result<Vec<Event>, Error> {
                let within = within.map(|apps| serde_json::to_string(apps).unwrap_or_default());
                // WITHIN_SQL reads its list from the fifth parameter of the scan list.
                let within_sql = WITHIN_SQL.replace("$5", "$2");
                let sql = format!(
                    "SELECT id, at, kind, digest, application, environment, rematch_id, payload \
                     FROM events WHERE ($1 IS NULL OR application = $1) \
                     AND ($2 IS NULL OR application IN ({within_sql})) \
                     ORDER BY id DESC LIMIT $3"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(application)
                    .bind(within)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db("read events"))?;
                let mut events: Vec<Event> = rows
                    .iter()
                    .map(|r| Event {
                        id: r.get(0),
                        at: from_unix(r.get(1)),
                        kind: r.get(2),
                        digest: r.get(3),
                        application: r.get(4),
                        environment: r.get(5),
                        rematch_id: r.get(6),
                        payload: r.get(7),
                        deliveries: Vec::new(),
                    })
                    .collect();
                let (Some(first), Some(last)) = (events.last(), events.first()) else {
                    return Ok(events);
                };
                let rows = sqlx::query(
                    "SELECT event_id, url, attempts, next_at, delivered_at, last_error \
                     FROM deliveries WHERE event_id BETWEEN $1 AND $2 ORDER BY event_id, url",
                )
                .bind(first.id)
                .bind(last.id)
                .fetch_all(&self.pool)
                .await
                .map_err(db("read deliveries"))?;
                let mut by_event: std::collections::HashMap<i64, Vec<DeliveryState>> =
                    std::collections::HashMap::new();
                for r in &rows {
                    by_event.entry(r.get(0)).or_default().push(DeliveryState {
                        url: r.get(1),
                        attempts: u32::try_from(r.get::<i64, _>(2)).unwrap_or(u32::MAX),
                        next_at: from_unix(r.get(3)),
                        delivered_at: r.get::<Option<i64>, _>(4).map(from_unix),
                        last_error: r.get(5),
                    });
                }
                for e in &mut events {
                    e.deliveries = by_event.remove(&e.id).unwrap_or_default();
                }
                Ok(events)
            }

            async fn add_vex(&self, vex: &NewVex, at: SystemTime) -> Result<Vex, Error> {
                if let Some(app) = &vex.application {
                    validate::name(Kind::Application, app)?;
                }
                validate::report(&vex.statements)?;
                let mut tx = begin_write(&self.pool).await.map_err(db("import VEX"))?;
                if let Some(app) = &vex.application {
                    if !exists(&mut tx, "SELECT 1 FROM applications WHERE name = $1", app).await? {
                        return Err(unknown(Kind::Application, app));
                    }
                }
                let seen: Option<i64> = sqlx::query_scalar(
                    "SELECT id FROM vex_documents WHERE digest = $1 \
                     AND (application = $2 OR (application IS NULL AND $2 IS NULL))",
                )
                .bind(&vex.digest)
                .bind(vex.application.as_deref())
                .fetch_optional(&mut *tx)
                .await
                .map_err(db("import VEX"))?;
                if let Some(id) = seen {
                    return Err(Error::Duplicate {
                        kind: Kind::Vex,
                        name: format!("{} (document {id}, {})", vex.name, vex.digest),
                    });
                }
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO vex_documents (application, name, format, document_id, author, \
                     digest, imported_at, imported_by, statements) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                )
                .bind(vex.application.as_deref())
                .bind(&vex.name)
                .bind(&vex.format)
                .bind(vex.document_id.as_deref())
                .bind(vex.author.as_deref())
                .bind(&vex.digest)
                .bind(to_unix(at))
                .bind(&vex.imported_by)
                .bind(&vex.statements)
                .fetch_one(&mut *tx)
                .await
                .map_err(or_constraint("import VEX", || {
                    unknown(Kind::Application, vex.application.as_deref().unwrap_or(""))
                }))?;
                tx.commit().await.map_err(db("import VEX"))?;
                Ok(Vex {
                    id,
                    imported_at: from_unix(to_unix(at)),
                    doc: vex.clone(),
                })
            }

            async fn vex_documents(&self) -> Result<Vec<Vex>, Error> {
                let rows = sqlx::query(
                    "SELECT id, imported_at, application, name, format, document_id, author, \
                     digest, imported_by, statements FROM vex_documents ORDER BY id",
                )
                .fetch_all(&self.pool)
                .await
                .map_err(db("read VEX documents"))?;
                Ok(rows
                    .iter()
                    .map(|r| Vex {
                        id: r.get(0),
                        imported_at: from_unix(r.get(1)),
                        doc: NewVex {
                            application: r.get(2),
                            name: r.get(3),
                            format: r.get(4),
                            document_id: r.get(5),
                            author: r.get(6),
                            digest: r.get(7),
                            imported_by: r.get(8),
                            statements: r.get(9),
                        },
                    })
                    .collect())
            }

            async fn remove_vex(&self, id: i64) -> Result<bool, Error> {
                let done = sqlx::query("DELETE FROM vex_documents WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(db("remove VEX document"))?;
                Ok(done.rows_affected() == 1)
            }

            async fn claim_delivery(
                &self,
                lease_until: SystemTime,
                at: SystemTime,
            ) -> Result<Option<Delivery>, Error> {
                let row = sqlx::query(CLAIM_DELIVERY_SQL)
                    .bind(to_unix(lease_until))
                    .bind(to_unix(at))
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db("claim delivery"))?;
                let Some(row) = row else {
                    return Ok(None);
                };
                let event_id: i64 = row.get(1);
                let event = sqlx::query("SELECT kind, at, payload FROM events WHERE id = $1")
                    .bind(event_id)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db("claim delivery"))?;
                Ok(Some(Delivery {
                    id: row.get(0),
                    event_id,
                    url: row.get(2),
                    attempts: u32::try_from(row.get::<i64, _>(3)).unwrap_or(u32::MAX),
                    kind: event.get(0),
                    at: from_unix(event.get(1)),
                    payload: event.get(2),
                }))
            }

            async fn finish_delivery(
                &self,
                id: i64,
                error: Option<&str>,
                retry_at: SystemTime,
                at: SystemTime,
            ) -> Result<(), Error> {
                let query = match error {
                    None => sqlx::query(
                        "UPDATE deliveries SET attempts = attempts + 1, delivered_at = $2, \
                         lease_until = NULL, last_error = NULL WHERE id = $1",
                    )
                    .bind(id)
                    .bind(to_unix(at)),
                    Some(e) => sqlx::query(
                        "UPDATE deliveries SET attempts = attempts + 1, next_at = $2, \
                         lease_until = NULL, last_error = $3 WHERE id = $1",
                    )
                    .bind(id)
                    .bind(to_unix(retry_at))
                    .bind(e.chars().take(1000).collect::<String>()),
                };
                query
                    .execute(&self.pool)
                    .await
                    .map_err(db("record delivery"))?;
                Ok(())
            }

            async fn completed_scan_against(
                &self,
                digest: &str,
                db_version: &str,
            ) -> Result<Option<CompletedScan>, Error> {
                let sql = format!(
                    "SELECT {SCAN_COLUMNS}, report FROM scans \
                     WHERE digest = $1 AND state = 'completed' AND db_version = $2 \
                     ORDER BY finished_at DESC, id DESC LIMIT 1"
                );
                completed(self, &sql, digest, Some(db_version)).await
            }

            async fn integrations(&self) -> Result<Vec<IntegrationState>, Error> {
                let sql = format!("SELECT {INTEGRATION_COLUMNS} FROM integrations ORDER BY name");
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db("list integrations"))?;
                rows.iter().map(integration_row).collect()
            }

            async fn integration(&self, name: &str) -> Result<Option<IntegrationState>, Error> {
                let sql =
                    format!("SELECT {INTEGRATION_COLUMNS} FROM integrations WHERE name = $1");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db("read integration"))?;
                row.map(|r| integration_row(&r)).transpose()
            }

            async fn begin_install(
                &self,
                name: &str,
                event: InstallEvent,
                runner: &str,
                lease_until: SystemTime,
                at: SystemTime,
            ) -> Result<InstallStart, Error> {
                let mut tx = begin_write(&self.pool).await.map_err(db("start install"))?;
                // Installs take turns across replicas: one check-and-start at a time.
                sqlx::query(INSTALL_LOCK_SQL)
                    .execute(&mut *tx)
                    .await
                    .map_err(db("lock integrations"))?;
                sqlx::query(
                    "INSERT INTO integrations (name, status, status_at) \
                     VALUES ($1, 'not_installed', $2) ON CONFLICT (name) DO NOTHING",
                )
                .bind(name)
                .bind(to_unix(at))
                .execute(&mut *tx)
                .await
                .map_err(db("start install"))?;
                let sql = format!("SELECT {INTEGRATION_COLUMNS} FROM integrations WHERE name = $1");
                let current = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(name)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db("start install"))?;
                let current = integration_row(&current)?;
                if let Err(why) = current.status.after(event) {
                    return Ok(InstallStart::Refused(current, why));
                }
                // Its own status first (the more telling refusal), then any other install.
                let busy: Option<String> = sqlx::query_scalar(
                    "SELECT name FROM integrations \
                     WHERE status IN ('initializing', 'installing') AND name <> $1 \
                     ORDER BY name LIMIT 1",
                )
                .bind(name)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db("start install"))?;
                if let Some(other) = busy {
                    return Ok(InstallStart::Busy(other));
                }
                let sql = format!(
                    "UPDATE integrations SET status = 'initializing', status_at = $2, \
                     attempts = 0, started_at = $2, runner = $3, lease_until = $4, reason = NULL \
                     WHERE name = $1 AND {} RETURNING {INTEGRATION_COLUMNS}",
                    statuses_of(event)
                );
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(name)
                    .bind(to_unix(at))
                    .bind(runner)
                    .bind(to_unix(lease_until))
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db("start install"))?;
                let started = integration_row(&row)?;
                tx.commit().await.map_err(db("start install"))?;
                Ok(InstallStart::Started(started))
            }

            async fn advance_install(
                &self,
                name: &str,
                runner: &str,
                event: InstallEvent,
                attempts: u32,
                reason: Option<&str>,
                version: Option<&str>,
                at: SystemTime,
            ) -> Result<bool, Error> {
                // The target status: the same from every source status of the event.
                let Some(to) = IntegrationStatus::sources_of(event)
                    .first()
                    .and_then(|s| s.after(event).ok())
                else {
                    return Ok(false);
                };
                let keep_lease = to.is_running();
                let sql = format!(
                    "UPDATE integrations SET status = $3, status_at = $4, attempts = $5, \
                     reason = $6, version = COALESCE($7, version), \
                     runner = CASE WHEN $8 THEN runner ELSE NULL END, \
                     lease_until = CASE WHEN $8 THEN lease_until ELSE NULL END \
                     WHERE name = $1 AND runner = $2 AND {}",
                    statuses_of(event)
                );
                let done = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(name)
                    .bind(runner)
                    .bind(to.as_str())
                    .bind(to_unix(at))
                    .bind(i32::try_from(attempts).unwrap_or(i32::MAX))
                    .bind(reason)
                    .bind(version)
                    .bind(keep_lease)
                    .execute(&self.pool)
                    .await
                    .map_err(db("advance install"))?;
                Ok(done.rows_affected() == 1)
            }

            async fn record_install_attempt(
                &self,
                name: &str,
                runner: &str,
                attempts: u32,
            ) -> Result<bool, Error> {
                let done = sqlx::query(
                    "UPDATE integrations SET attempts = $3 \
                     WHERE name = $1 AND runner = $2 AND status IN ('initializing', 'installing')",
                )
                .bind(name)
                .bind(runner)
                .bind(i32::try_from(attempts).unwrap_or(i32::MAX))
                .execute(&self.pool)
                .await
                .map_err(db("record install attempt"))?;
                Ok(done.rows_affected() == 1)
            }

            async fn renew_install(
                &self,
                name: &str,
                runner: &str,
                lease_until: SystemTime,
            ) -> Result<bool, Error> {
                let done = sqlx::query(
                    "UPDATE integrations SET lease_until = $3 \
                     WHERE name = $1 AND runner = $2 AND status IN ('initializing', 'installing')",
                )
                .bind(name)
                .bind(runner)
                .bind(to_unix(lease_until))
                .execute(&self.pool)
                .await
                .map_err(db("renew install lease"))?;
                Ok(done.rows_affected() == 1)
            }

            async fn adopt_install(
                &self,
                runner: &str,
                lease_until: SystemTime,
                at: SystemTime,
            ) -> Result<Option<IntegrationState>, Error> {
                let mut tx = begin_write(&self.pool).await.map_err(db("adopt install"))?;
                sqlx::query(INSTALL_LOCK_SQL)
                    .execute(&mut *tx)
                    .await
                    .map_err(db("lock integrations"))?;
                let sql = format!(
                    "UPDATE integrations SET runner = $1, lease_until = $2 \
                     WHERE name = (SELECT name FROM integrations \
                       WHERE status IN ('initializing', 'installing') \
                       AND (lease_until IS NULL OR lease_until < $3) ORDER BY name LIMIT 1) \
                     RETURNING {INTEGRATION_COLUMNS}"
                );
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(runner)
                    .bind(to_unix(lease_until))
                    .bind(to_unix(at))
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db("adopt install"))?;
                tx.commit().await.map_err(db("adopt install"))?;
                row.map(|r| integration_row(&r)).transpose()
            }

            async fn append_install_log(
                &self,
                name: &str,
                at: SystemTime,
                line: &str,
            ) -> Result<(), Error> {
                sqlx::query("INSERT INTO integration_log (integration, at, line) VALUES ($1, $2, $3)")
                    .bind(name)
                    .bind(to_unix(at))
                    .bind(line)
                    .execute(&self.pool)
                    .await
                    .map_err(db("write install log"))?;
                Ok(())
            }

            async fn install_log(
                &self,
                name: &str,
                after: i64,
                limit: u32,
            ) -> Result<Vec<InstallLogLine>, Error> {
                let rows = sqlx::query(
                    "SELECT id, at, line FROM integration_log \
                     WHERE integration = $1 AND id > $2 ORDER BY id LIMIT $3",
                )
                .bind(name)
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err(db("read install log"))?;
                Ok(rows
                    .iter()
                    .map(|r| InstallLogLine {
                        id: r.get(0),
                        at: from_unix(r.get(1)),
                        line: r.get(2),
                    })
                    .collect())
            }

            async fn policies(&self) -> Result<vigil_policy::Policies, Error> {
                let sql = format!("SELECT {RULE_COLUMNS} FROM policy_rules ORDER BY scope, kind, key");
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db("read policy rules"))?;
                let rules = rows.iter().map(rule_row).collect::<Result<Vec<_>, _>>()?;
                Ok(vigil_policy::Policies::from_rules(rules)?)
            }

            async fn edit_policy(
                &self,
                edit: $crate::platform::PolicyEdit,
                who: &str,
                at: SystemTime,
            ) -> Result<Vec<vigil_policy::AuditEntry>, Error> {
                use $crate::platform::policy::{changes, key_columns, rule_json, scope_entities, RuleRow};
                validate::text(Kind::User, who)?;
                let scope = edit.scope().clone();
                let scope_text = scope.to_string();
                let mut tx = begin_write(&self.pool).await.map_err(db("change policy"))?;
                // Changes take turns, so each audit entry's "before" is what it replaced.
                sqlx::query(POLICY_LOCK_SQL)
                    .execute(&mut *tx)
                    .await
                    .map_err(db("lock policy rules"))?;
                let entities = scope_entities(&scope);
                for (kind, name) in entities.iter().flatten() {
                    let sql = match kind {
                        Kind::Cluster => "SELECT 1 FROM clusters WHERE name = $1",
                        Kind::Environment => "SELECT 1 FROM environments WHERE name = $1",
                        _ => "SELECT 1 FROM applications WHERE name = $1",
                    };
                    if !exists(&mut tx, sql, name).await? {
                        return Err(unknown(*kind, name));
                    }
                }
                let sql = format!("SELECT {RULE_COLUMNS} FROM policy_rules WHERE scope = $1");
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(&scope_text)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(db("read policy rules"))?;
                let rules = rows.iter().map(rule_row).collect::<Result<Vec<_>, _>>()?;
                let mut policies = vigil_policy::Policies::from_rules(rules)?;
                let applied = edit.apply(&mut policies)?;
                let [cluster, environment, application] = entities.map(|e| e.map(|(_, n)| n.to_owned()));
                let mut entries = Vec::with_capacity(applied.len());
                for change in applied {
                    if changes(&change) {
                        let (kind, key) = key_columns(&change.key);
                        match &change.after {
                            Some(rule) => {
                                let row = RuleRow::new(rule, who, at);
                                sqlx::query(
                                    "INSERT INTO policy_rules (scope, cluster, environment, application, \
                                     kind, key, action, author, reason, expires_at, changed_at) \
                                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                                     ON CONFLICT (scope, kind, key) DO UPDATE SET \
                                     action = excluded.action, author = excluded.author, \
                                     reason = excluded.reason, expires_at = excluded.expires_at, \
                                     changed_at = excluded.changed_at",
                                )
                                .bind(&row.scope)
                                .bind(&cluster)
                                .bind(&environment)
                                .bind(&application)
                                .bind(row.kind)
                                .bind(&row.key)
                                .bind(row.action)
                                .bind(&row.author)
                                .bind(&row.reason)
                                .bind(row.expires_at)
                                .bind(row.changed_at)
                                .execute(&mut *tx)
                                .await
                                .map_err(or_constraint("write policy rule", || unknown(Kind::Scope, &scope_text)))?;
                            }
                            None => {
                                sqlx::query("DELETE FROM policy_rules WHERE scope = $1 AND kind = $2 AND key = $3")
                                    .bind(&scope_text)
                                    .bind(kind)
                                    .bind(&key)
                                    .execute(&mut *tx)
                                    .await
                                    .map_err(db("remove policy rule"))?;
                            }
                        }
                        sqlx::query(
                            "INSERT INTO policy_audit (at, who, scope, kind, key, before, after) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7)",
                        )
                        .bind(to_unix(at))
                        .bind(who)
                        .bind(&scope_text)
                        .bind(kind)
                        .bind(&key)
                        .bind(rule_json(&change.before))
                        .bind(rule_json(&change.after))
                        .execute(&mut *tx)
                        .await
                        .map_err(db("write policy audit log"))?;
                    }
                    entries.push(vigil_policy::AuditEntry::new(who, from_unix(to_unix(at)), change));
                }
                tx.commit().await.map_err(db("change policy"))?;
                Ok(entries)
            }

            async fn policy_audit(
                &self,
                filter: &$crate::platform::AuditFilter,
            ) -> Result<Vec<vigil_policy::AuditEntry>, Error> {
                let rows = sqlx::query(
                    "SELECT who, at, scope, kind, key, before, after FROM policy_audit \
                     WHERE ($1 IS NULL OR scope = $1) ORDER BY id DESC LIMIT $2",
                )
                .bind(filter.scope.as_ref().map(|s| s.to_string()))
                .bind(i64::from(filter.limit))
                .fetch_all(&self.pool)
                .await
                .map_err(db("read policy audit log"))?;
                let mut out = rows
                    .iter()
                    .map(|r| {
                        $crate::platform::policy::audit_from_row(
                            r.get(0),
                            r.get(1),
                            r.get::<&str, _>(2),
                            r.get::<&str, _>(3),
                            r.get::<&str, _>(4),
                            r.get::<Option<&str>, _>(5),
                            r.get::<Option<&str>, _>(6),
                        )
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                out.reverse();
                Ok(out)
            }
        }
    };
}

pub(crate) use platform_impl;
