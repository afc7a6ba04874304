//! The platform store (issue 8, SPEC 6 and 7.1-7.5): clusters, environments, applications,
//! CI pipelines, deployments, scans keyed by image digest, and (below) the policy rules with
//! their audit log, behind one narrow trait, [`Platform`], implemented for both backends.
//!
//! Every [`crate::Database`] is a [`Platform`]: the platform tables live in the same database
//! as the advisories (one SQLite file, or one PostgreSQL database shared by replicas, SPEC 9.5),
//! and their migrations run when the database opens. Callers holding a `Box<dyn Database>`
//! call these methods on it directly.
//!
//! Design:
//! - Every write is one transaction. Checks that produce friendly messages (unknown
//!   references, things still in use) run inside it; the schema's constraints catch whatever
//!   a concurrent writer slips in between, and those failures are reported the same way.
//!   SQLite write transactions begin `IMMEDIATE` (the write lock first, so a read-then-write
//!   transaction never fails on a stale snapshot); PostgreSQL relies on its constraints and
//!   `FOR UPDATE SKIP LOCKED` for the scan queue.
//! - "Now" is passed in by the caller (`at`), as everywhere in vigil; times are kept in whole
//!   unix seconds, and ties are broken by the row id, which only grows.
//! - Error messages name the input and the problem, never SQL (see [`Error`]).

mod error;
mod policy;
mod types;
mod validate;

mod sql;

mod postgres;
mod sqlite;

use std::time::SystemTime;

pub use error::{Error, Kind};
pub use policy::{AuditFilter, PolicyEdit};
pub use types::{
    CompletedScan, Delivery, DeliveryState, Deployment, DeploymentFilter, Environment, Event,
    IllegalTransition, InstallEvent, InstallLogLine, InstallStart, IntegrationState,
    IntegrationStatus, NewDeployment, NewEvent, NewToken, NewVex, Pipeline, Rematch, Role, Scan,
    ScanCounts, ScanFilter, ScanState, Token, Vex,
};

/// The platform store: one implementation per backend (STYLE.md, as atuin's database trait).
#[async_trait::async_trait]
pub trait Platform: Send + Sync {
    /// Adds a cluster.
    async fn add_cluster(&self, name: &str) -> Result<(), Error>;
    /// Every cluster, by name.
    async fn clusters(&self) -> Result<Vec<String>, Error>;
    /// Removes a cluster that no environment or policy rule refers to.
    async fn remove_cluster(&self, name: &str) -> Result<(), Error>;

    /// Adds an environment of an existing cluster; its namespace must be free in that cluster.
    async fn add_environment(&self, env: &Environment) -> Result<(), Error>;
    /// Every environment, by name.
    async fn environments(&self) -> Result<Vec<Environment>, Error>;
    /// One environment.
    async fn environment(&self, name: &str) -> Result<Option<Environment>, Error>;
    /// Removes an environment that no deployment or policy rule refers to.
    async fn remove_environment(&self, name: &str) -> Result<(), Error>;

    /// Adds an application.
    async fn add_application(&self, name: &str) -> Result<(), Error>;
    /// Every application, by name.
    async fn applications(&self) -> Result<Vec<String>, Error>;
    /// Removes an application that no pipeline, deployment or policy rule refers to.
    async fn remove_application(&self, name: &str) -> Result<(), Error>;

    /// Adds a CI pipeline of an existing application.
    async fn add_pipeline(&self, pipeline: &Pipeline) -> Result<(), Error>;
    /// Every pipeline, by name.
    async fn pipelines(&self) -> Result<Vec<Pipeline>, Error>;
    /// One pipeline.
    async fn pipeline(&self, name: &str) -> Result<Option<Pipeline>, Error>;
    /// Removes a pipeline.
    async fn remove_pipeline(&self, name: &str) -> Result<(), Error>;

    /// Records that `deployment.application` runs `deployment.digest` in
    /// `deployment.environment` since `at` (SPEC 7.5).
    async fn record_deployment(
        &self,
        deployment: &NewDeployment,
        at: SystemTime,
    ) -> Result<Deployment, Error>;
    /// The current deployment of every (application, environment) pair that `filter`
    /// matches: the one recorded last. Ordered by application, then environment.
    async fn current_deployments(
        &self,
        filter: &DeploymentFilter,
    ) -> Result<Vec<Deployment>, Error>;
    /// Every deployment of one pair, newest first, at most `limit`.
    async fn deployment_history(
        &self,
        application: &str,
        environment: &str,
        limit: u32,
    ) -> Result<Vec<Deployment>, Error>;

    /// Queues a scan of `digest`, submitted as `reference`. A digest may be queued again;
    /// whether it needs scanning is the caller's question ([`Platform::completed_scan_against`]).
    async fn queue_scan(
        &self,
        digest: &str,
        reference: &str,
        at: SystemTime,
    ) -> Result<Scan, Error>;
    /// Moves a queued scan to running against database version `db_version`.
    async fn start_scan(&self, id: i64, db_version: &str, at: SystemTime) -> Result<Scan, Error>;
    /// Takes the oldest queued scan and moves it to running, for a worker; two workers never
    /// get the same scan. `None` when nothing is queued.
    async fn claim_scan(&self, db_version: &str, at: SystemTime) -> Result<Option<Scan>, Error>;
    /// Moves a running scan to completed with its report (the scan report JSON; a
    /// `serde_json::Value` is passed as its `to_string()`).
    async fn complete_scan(&self, id: i64, report: &str, at: SystemTime) -> Result<Scan, Error>;
    /// Moves a queued or running scan to failed with its error (cut at 16 KiB).
    async fn fail_scan(&self, id: i64, error: &str, at: SystemTime) -> Result<Scan, Error>;
    /// Fails every running scan started before `started_before`: its worker died or hung
    /// (a crash mid-scan, a registry that never answers). Returns the scans failed, so the
    /// caller can queue them again.
    async fn fail_stale_scans(
        &self,
        started_before: SystemTime,
        at: SystemTime,
    ) -> Result<Vec<Scan>, Error>;
    /// One scan.
    async fn scan(&self, id: i64) -> Result<Option<Scan>, Error>;
    /// The report of a completed scan.
    async fn scan_report(&self, id: i64) -> Result<Option<CompletedScan>, Error>;
    /// Scans, newest first.
    async fn scans(&self, filter: &ScanFilter) -> Result<Vec<Scan>, Error>;
    /// The completed scan of `digest` that finished last, with its report (the gate's
    /// input, SPEC 7.4).
    async fn latest_completed_scan(&self, digest: &str) -> Result<Option<CompletedScan>, Error>;
    /// The same scan as [`Platform::latest_completed_scan`] without its report: enough to
    /// find a parsed copy of the report in a cache.
    async fn latest_completed_scan_head(&self, digest: &str) -> Result<Option<Scan>, Error>;
    /// The latest completed scan of every digest (without reports), by digest: the stored
    /// inventories a re-match goes over (SPEC 5.5).
    async fn latest_completed_scans(&self) -> Result<Vec<Scan>, Error>;
    /// Records a re-match (SPEC 5.5) in one transaction: a completed scan of `previous`'s
    /// digest, reference and application against `db_version` with `report`, and the
    /// findings it gained (`new`) and lost (`resolved`) since `previous`, with `events` for
    /// the outbox and a delivery of each to every URL of `webhooks` (SPEC 7.7). Re-match
    /// scans of the digest older than `previous` lose their reports (retention).
    #[allow(clippy::too_many_arguments)]
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
    ) -> Result<Rematch, Error>;
    /// Recorded re-matches, newest first, of one digest or of all.
    async fn rematches(&self, digest: Option<&str>, limit: u32) -> Result<Vec<Rematch>, Error>;
    /// The re-matches against one database version (a notification set of Clair's
    /// notifier), oldest first, `limit` of them after skipping `offset`.
    async fn rematches_against(
        &self,
        db_version: &str,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<Rematch>, Error>;
    /// Marks a notification set deleted (Clair's DeleteNotification); true if it was not.
    async fn delete_notification_set(&self, id: &str, at: SystemTime) -> Result<bool, Error>;
    /// Whether a notification set was deleted.
    async fn notification_set_deleted(&self, id: &str) -> Result<bool, Error>;
    /// Notifications, newest first, with their deliveries: of one application, and only of
    /// the applications in `within` when given (a restricted token).
    async fn events(
        &self,
        application: Option<&str>,
        within: Option<&[String]>,
        limit: u32,
    ) -> Result<Vec<Event>, Error>;
    /// Stores a VEX document; the same bytes at the same scope again are refused as a
    /// duplicate (named by its digest).
    async fn add_vex(&self, vex: &NewVex, at: SystemTime) -> Result<Vex, Error>;
    /// Every stored VEX document, oldest first (import order decides ties, SPEC 5.6).
    async fn vex_documents(&self) -> Result<Vec<Vex>, Error>;
    /// Removes a VEX document; false when there was none with that id.
    async fn remove_vex(&self, id: i64) -> Result<bool, Error>;
    /// Claims the delivery due longest (`next_at` passed, not delivered, not held by
    /// another sender) until `lease_until`; `None` when nothing is due.
    async fn claim_delivery(
        &self,
        lease_until: SystemTime,
        at: SystemTime,
    ) -> Result<Option<Delivery>, Error>;
    /// Ends a try of a claimed delivery: delivered at `at` (`error` none), or failed with
    /// `error` and due again at `retry_at`.
    async fn finish_delivery(
        &self,
        id: i64,
        error: Option<&str>,
        retry_at: SystemTime,
        at: SystemTime,
    ) -> Result<(), Error>;
    /// The latest completed scan of `digest` against `db_version`: when there is one, the
    /// digest need not be scanned again (SPEC 7.3).
    async fn completed_scan_against(
        &self,
        digest: &str,
        db_version: &str,
    ) -> Result<Option<CompletedScan>, Error>;

    /// Queues a scan of `digest` submitted for `application` (by one of its pipelines).
    async fn submit_scan(
        &self,
        digest: &str,
        reference: &str,
        application: Option<&str>,
        at: SystemTime,
    ) -> Result<Scan, Error>;
    /// The server's queue (issue 9): takes the oldest scan that is queued, or running with
    /// its lease run out (its worker died), and gives it to `worker` until `lease_until`,
    /// against database version `db_version`. Two workers never hold one scan at once
    /// (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: one writer at a time).
    async fn claim_leased(
        &self,
        worker: &str,
        db_version: &str,
        lease_until: SystemTime,
        at: SystemTime,
    ) -> Result<Option<Scan>, Error>;
    /// Extends `worker`'s lease on a running scan; `false` when the worker no longer holds
    /// it (the lease ran out and another worker took it, or it finished).
    async fn renew_lease(
        &self,
        id: i64,
        worker: &str,
        lease_until: SystemTime,
    ) -> Result<bool, Error>;
    /// Completes a scan `worker` holds; [`Error::ScanState`] when it holds it no longer.
    async fn complete_leased(
        &self,
        id: i64,
        worker: &str,
        report: &str,
        at: SystemTime,
    ) -> Result<Scan, Error>;
    /// Fails a scan `worker` holds; [`Error::ScanState`] when it holds it no longer.
    async fn fail_leased(
        &self,
        id: i64,
        worker: &str,
        error: &str,
        at: SystemTime,
    ) -> Result<Scan, Error>;
    /// Puts every scan `worker` holds back in the queue (a graceful shutdown); returns how
    /// many.
    async fn release_leases(&self, worker: &str) -> Result<u64, Error>;
    /// How many scans are in each state.
    async fn scan_counts(&self) -> Result<ScanCounts, Error>;

    /// Stores a new API token; its name and hash must be new.
    async fn create_token(&self, token: &NewToken, at: SystemTime) -> Result<Token, Error>;
    /// The token whose secret hashes to `hash`.
    async fn token_by_hash(&self, hash: &str) -> Result<Option<Token>, Error>;
    /// Every token, by id.
    async fn tokens(&self) -> Result<Vec<Token>, Error>;
    /// Deletes a token.
    async fn revoke_token(&self, id: i64) -> Result<(), Error>;

    /// Every policy rule, on top of the defaults of a fresh install (SPEC 6.4).
    // Integrations (issue 10, SPEC 8).
    /// Every integration with a stored state (one without is not installed).
    async fn integrations(&self) -> Result<Vec<IntegrationState>, Error>;
    async fn integration(&self, name: &str) -> Result<Option<IntegrationState>, Error>;
    /// Starts an install (`Install`, `Retry` or `Update`) if the integration's status allows
    /// it and no other install is running: it becomes `initializing`, held by `runner` until
    /// `lease_until`, with its attempts reset. One transaction; replicas take turns.
    async fn begin_install(
        &self,
        name: &str,
        event: InstallEvent,
        runner: &str,
        lease_until: SystemTime,
        at: SystemTime,
    ) -> Result<InstallStart, Error>;
    /// Moves an install `runner` holds by `event` (`Begin`, `Succeed`, `Fail`, `TimeOut`);
    /// `attempts` and `reason` are stored with it, `version` on success. False when the
    /// runner no longer holds it or the event does not apply.
    #[allow(clippy::too_many_arguments)]
    async fn advance_install(
        &self,
        name: &str,
        runner: &str,
        event: InstallEvent,
        attempts: u32,
        reason: Option<&str>,
        version: Option<&str>,
        at: SystemTime,
    ) -> Result<bool, Error>;
    /// Records that the install `runner` holds is on try `attempts` (visible while it runs).
    async fn record_install_attempt(
        &self,
        name: &str,
        runner: &str,
        attempts: u32,
    ) -> Result<bool, Error>;
    /// Extends the lease of an install `runner` holds; false when it no longer does.
    async fn renew_install(
        &self,
        name: &str,
        runner: &str,
        lease_until: SystemTime,
    ) -> Result<bool, Error>;
    /// Takes over one running install whose lease ran out (its replica stopped): the caller
    /// becomes its runner.
    async fn adopt_install(
        &self,
        runner: &str,
        lease_until: SystemTime,
        at: SystemTime,
    ) -> Result<Option<IntegrationState>, Error>;
    async fn append_install_log(&self, name: &str, at: SystemTime, line: &str)
    -> Result<(), Error>;
    /// Lines of `name`'s log with an id above `after`, oldest first, at most `limit`.
    async fn install_log(
        &self,
        name: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<InstallLogLine>, Error>;

    async fn policies(&self) -> Result<vigil_policy::Policies, Error>;
    /// Applies one policy change by `who` at `at` and writes its audit entries in the same
    /// transaction (SPEC 6.5). The scope's cluster, environment and application must exist.
    /// Returns the audit entries; an edit that changes nothing is returned as `unchanged`
    /// and not logged.
    async fn edit_policy(
        &self,
        edit: PolicyEdit,
        who: &str,
        at: SystemTime,
    ) -> Result<Vec<vigil_policy::AuditEntry>, Error>;
    /// The audit log, oldest first (the newest `filter.limit` entries).
    async fn policy_audit(
        &self,
        filter: &AuditFilter,
    ) -> Result<Vec<vigil_policy::AuditEntry>, Error>;
}

/// The version of the vulnerability database that scans record (SPEC 7.3): `sha256:` and the
/// first 16 hex digits of a hash over every source's name and content digest. Importing
/// identical content keeps it; any change to any source changes it; an empty database has
/// one too. Every process sharing the database computes the same value.
pub async fn database_version(db: &dyn crate::Database) -> Result<String, crate::Error> {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for source in db.status().await? {
        // Lengths first, so ("ab", "c") and ("a", "bc") hash apart.
        for part in [&source.name, &source.digest] {
            hash.update((part.len() as u64).to_le_bytes());
            hash.update(part.as_bytes());
        }
    }
    Ok(format!("sha256:{}", &hex::encode(hash.finalize())[..16]))
}

/// The deployment target of `application` in `environment` (its cluster looked up), as the
/// gate evaluates it. Both must exist.
///
/// Generic rather than `&dyn Platform`, so a `&dyn Database` is accepted without trait
/// upcasting (Rust 1.86; the workspace supports 1.85).
pub async fn target<P: Platform + ?Sized>(
    db: &P,
    application: &str,
    environment: &str,
) -> Result<vigil_policy::Target, Error> {
    use vigil_policy::Name;
    let unknown = |kind, name: &str| Error::Unknown {
        kind,
        name: name.to_owned(),
    };
    let env = db
        .environment(environment)
        .await?
        .ok_or_else(|| unknown(Kind::Environment, environment))?;
    if !db.applications().await?.iter().any(|a| a == application) {
        return Err(unknown(Kind::Application, application));
    }
    // Stored names passed the store's checks, which are stricter than Name's.
    let name = |kind, n: &str| Name::new(n).map_err(|e| Error::invalid(kind, n, e.to_string()));
    Ok(vigil_policy::Target {
        cluster: name(Kind::Cluster, &env.cluster)?,
        environment: name(Kind::Environment, &env.name)?,
        application: name(Kind::Application, application)?,
    })
}

pub(crate) fn to_unix(t: SystemTime) -> i64 {
    match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_secs().min(i64::MAX as u64) as i64,
        Err(_) => 0,
    }
}
