//! Integrations and their install life cycle (issue 10, SPEC 8).
//!
//! Two integrations: `cicd` ("Build and Deploy (CI/CD)"), which enables the platform
//! entities (clusters, environments, applications, pipelines, deployments) on the server,
//! and `vulnerability-scanning`, which requires it and loads the vulnerability database from
//! the configured feed sources, checks it, and starts the scan workers. Until an integration
//! is installed, the server refuses what it enables with a 409 naming it.
//!
//! The statuses and their transitions are [`IntegrationStatus::after`] (vigil-store), the one
//! place they are written; the store applies them with compare-and-set under a lock, so two
//! replicas racing to install get one install and one refusal. An install runs in the
//! background on the replica that accepted it, which renews a lease while it works and
//! writes every step, with its timing, to the install log. A replica that dies mid-install
//! stops renewing; [`supervise`] on any replica takes the install over once the lease ran
//! out and runs it again from its first step (every step can run twice: feeds are fetched
//! with conditional GET and imports replace a source whole).
//!
//! A failing step is tried again with a doubling backoff, up to `max_retries` more times and
//! until `deadline` has passed since the install began; then the status is `timed_out`. A
//! step error that retrying cannot fix (a feed failing its checksum, a corrupt feed, an
//! empty database) makes it `failed` at once.

use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};
use vigil_store::platform::{
    IllegalTransition, InstallEvent, InstallStart, IntegrationState, IntegrationStatus,
};

use crate::error::{ApiError, chain};
use crate::{AppState, api::rfc3339};

/// The version of every integration: the server's. An integration installed by an older
/// server shows that an update is available (SPEC 8.4).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// One integration of the catalog.
#[derive(Debug, Clone, Copy)]
pub struct Integration {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    /// Integrations that must be installed first.
    pub requires: &'static [&'static str],
}

pub const CICD: &str = "cicd";
pub const SCANNING: &str = "vulnerability-scanning";

/// Every integration the server knows, prerequisites first.
pub const CATALOG: [Integration; 2] = [
    Integration {
        name: CICD,
        title: "Build and Deploy (CI/CD)",
        description: "Clusters, environments, applications, CI pipelines and deployments: \
                      what the deployment gate decides about.",
        requires: &[],
    },
    Integration {
        name: SCANNING,
        title: "Vulnerability Scanning",
        description: "Loads the vulnerability database from the configured feed sources, \
                      checks it, and starts the scan workers; scans and the deployment gate \
                      need it.",
        requires: &[CICD],
    },
];

pub fn find(name: &str) -> Option<&'static Integration> {
    CATALOG.iter().find(|i| i.name == name)
}

/// How installs run (`[integrations]` in the configuration).
#[derive(Debug, Clone)]
pub struct InstallOptions {
    /// Tries after the first one when a step fails in a way that may pass.
    pub max_retries: u32,
    /// No try starts, and a running try is cut short, this long after the install began.
    pub deadline: Duration,
    /// The wait after the first failed try, doubled after each further one.
    pub backoff: Duration,
    /// How long a runner's claim holds without renewal.
    pub lease: Duration,
    /// How often a replica looks for an install whose runner stopped.
    pub supervise_every: Duration,
}

impl Default for InstallOptions {
    fn default() -> Self {
        Self {
            max_retries: 3,
            deadline: Duration::from_secs(600),
            backoff: Duration::from_secs(2),
            lease: Duration::from_secs(30),
            supervise_every: Duration::from_secs(5),
        }
    }
}

/// A step's failure: whether trying again may help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepError {
    pub message: String,
    pub transient: bool,
}

impl StepError {
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            transient: false,
        }
    }

    pub fn transient(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            transient: true,
        }
    }
}

/// The JSON of one integration, as the API and `vigil integrations` show it.
pub fn to_json(i: &Integration, state: Option<&IntegrationState>) -> Value {
    let status = state.map_or(IntegrationStatus::NotInstalled, |s| s.status);
    let installed = state.and_then(|s| s.version.clone());
    let update = status == IntegrationStatus::Installed
        && installed.as_deref().is_some_and(|v| older(v, VERSION));
    json!({
        "name": i.name,
        "title": i.title,
        "description": i.description,
        "requires": i.requires,
        "version": VERSION,
        "installed_version": installed,
        "update_available": update,
        "status": status.as_str(),
        "status_at": state.map(|s| rfc3339(s.status_at)),
        "attempts": state.map_or(0, |s| s.attempts),
        "started_at": state.and_then(|s| s.started_at.map(rfc3339)),
        "runner": state.and_then(|s| s.runner.clone()),
        "reason": state.and_then(|s| s.reason.clone()),
    })
}

/// `a` is an older version than `b` (dotted numbers; a part that is not a number compares
/// as text).
pub fn older(a: &str, b: &str) -> bool {
    let parts = |v: &str| -> Vec<(u64, String)> {
        v.split(['.', '-', '+'])
            .map(|p| (p.parse::<u64>().unwrap_or(0), p.to_owned()))
            .collect()
    };
    parts(a) < parts(b)
}

async fn state_of(s: &AppState, name: &str) -> Result<Option<IntegrationState>, ApiError> {
    Ok(s.db.integration(name).await?)
}

/// Refuses (409) what `name` enables while it is not installed. An install re-running for
/// an update keeps what the installed version enabled.
pub async fn require(s: &AppState, name: &str) -> Result<(), ApiError> {
    if s.installed.is_fresh(name) {
        return Ok(());
    }
    let state = state_of(s, name).await?;
    let usable = state.as_ref().is_some_and(|st| {
        st.status == IntegrationStatus::Installed
            || (st.status.is_running() && st.version.is_some())
    });
    if usable {
        s.installed.mark(name);
        return Ok(());
    }
    let i = find(name).expect("a catalog integration");
    let status = state.map_or(IntegrationStatus::NotInstalled, |st| st.status);
    Err(ApiError::Conflict(format!(
        "the {} integration ({name}) is not installed (it is {status}): an admin installs it \
         with `vigil integrations install {name}`",
        i.title
    )))
}

/// Remembers for a short while which integrations were seen installed, so that the gate
/// answered 2,000 times a second does not read the integrations table each time.
#[derive(Default)]
pub struct InstalledCache {
    seen: std::sync::Mutex<std::collections::HashMap<String, Instant>>,
}

const INSTALLED_TTL: Duration = Duration::from_secs(2);

impl InstalledCache {
    fn is_fresh(&self, name: &str) -> bool {
        self.lock()
            .get(name)
            .is_some_and(|at| at.elapsed() < INSTALLED_TTL)
    }

    fn mark(&self, name: &str) {
        self.lock().insert(name.to_owned(), Instant::now());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, Instant>> {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Whether the scan workers may take scans.
pub async fn scanning_installed(s: &AppState) -> bool {
    require(s, SCANNING).await.is_ok()
}

/// Starts `event` (install, retry, update) of `name` on this replica. On success the
/// install is `initializing` and held by `runner`; the caller runs [`run`] (the server
/// spawns it, the CLI awaits it).
pub async fn start(
    s: &AppState,
    name: &str,
    event: InstallEvent,
    runner: &str,
) -> Result<IntegrationState, ApiError> {
    let i = find(name).ok_or_else(|| {
        ApiError::NotFound(format!(
            "no integration {name:?}: there are {}",
            CATALOG.map(|i| i.name).join(" and ")
        ))
    })?;
    for pre in i.requires {
        let ok = state_of(s, pre)
            .await?
            .is_some_and(|st| st.status == IntegrationStatus::Installed);
        if !ok {
            let p = find(pre).expect("a catalog integration");
            return Err(ApiError::Conflict(format!(
                "{name} requires {pre} ({}): install {pre} first",
                p.title
            )));
        }
    }
    if event == InstallEvent::Update {
        let current = state_of(s, name).await?;
        let version = current.as_ref().and_then(|c| c.version.clone());
        if current
            .as_ref()
            .is_some_and(|c| c.status == IntegrationStatus::Installed)
            && !version.as_deref().is_some_and(|v| older(v, VERSION))
        {
            return Err(ApiError::Conflict(format!(
                "{name} is installed at version {}, the server's: no update is available",
                version.unwrap_or_default()
            )));
        }
    }
    let opts = &s.install;
    let now = SystemTime::now();
    match s
        .db
        .begin_install(name, event, runner, now + opts.lease, now)
        .await?
    {
        InstallStart::Started(st) => {
            let what = match event {
                InstallEvent::Retry => "retry",
                InstallEvent::Update => "update",
                _ => "install",
            };
            log(
                s,
                name,
                &format!("{what} of {} {VERSION} requested on {runner}", i.title),
            )
            .await;
            Ok(st)
        }
        InstallStart::Refused(st, IllegalTransition(why)) => Err(ApiError::Conflict(format!(
            "cannot {} {name}: {why} (status {})",
            match event {
                InstallEvent::Retry => "retry",
                InstallEvent::Update => "update",
                _ => "install",
            },
            st.status
        ))),
        InstallStart::Busy(other) => Err(ApiError::Conflict(format!(
            "cannot start {name}: the install of {other} is running; one install at a time"
        ))),
    }
}

/// Writes one line to `name`'s install log (and the server's log); a failure to write is
/// logged, not fatal.
pub async fn log(s: &AppState, name: &str, line: &str) {
    tracing::info!(integration = name, "{line}");
    if let Err(e) = s.db.append_install_log(name, SystemTime::now(), line).await {
        tracing::warn!(integration = name, error = %e, "could not write the install log");
    }
}

/// Runs the install of `name` held by `runner` to its end: `installed`, `failed` or
/// `timed_out`. Returns the final status (`None` when the runner lost its claim).
pub async fn run(s: AppState, name: String, runner: String) -> Option<IntegrationStatus> {
    let renew = renew_until_lost(s.clone(), name.clone(), runner.clone());
    let work = run_steps(&s, &name, &runner);
    tokio::pin!(renew, work);
    tokio::select! {
        done = &mut work => done,
        () = &mut renew => {
            tracing::warn!(integration = %name, "lost the install to another replica");
            None
        }
    }
}

async fn renew_until_lost(s: AppState, name: String, runner: String) {
    let lease = s.install.lease;
    let every = (lease / 3).max(Duration::from_millis(100));
    loop {
        tokio::time::sleep(every).await;
        match s
            .db
            .renew_install(&name, &runner, SystemTime::now() + lease)
            .await
        {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                tracing::warn!(integration = %name, error = %e, "could not renew the install lease")
            }
        }
    }
}

async fn run_steps(s: &AppState, name: &str, runner: &str) -> Option<IntegrationStatus> {
    let opts = s.install.clone();
    // One read: when the install began (its deadline) and whether it was just started.
    let current = s.db.integration(name).await.ok().flatten();
    let started = current
        .as_ref()
        .and_then(|st| st.started_at)
        .unwrap_or_else(SystemTime::now);
    let deadline_at = started + opts.deadline;
    let advance = |event, attempts, reason: Option<String>, version: Option<&'static str>| async move {
        match s
            .db
            .advance_install(
                name,
                runner,
                event,
                attempts,
                reason.as_deref(),
                version,
                SystemTime::now(),
            )
            .await
        {
            Ok(moved) => moved,
            Err(e) => {
                tracing::error!(integration = name, error = %e, "could not record the install status");
                false
            }
        }
    };
    // A take-over after a restart finds it `installing`: only a fresh start moves it.
    if current.is_some_and(|st| st.status == IntegrationStatus::Initializing)
        && !advance(InstallEvent::Begin, 0, None, None).await
    {
        return None;
    }
    let mut wait = opts.backoff;
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        log(
            s,
            name,
            &format!("attempt {attempt} of at most {}", opts.max_retries + 1),
        )
        .await;
        if let Err(e) = s.db.record_install_attempt(name, runner, attempt).await {
            tracing::warn!(integration = name, error = %e, "could not record the attempt");
        }
        let remaining = deadline_at
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        let outcome = if remaining.is_zero() {
            Err(StepError::transient("the deadline has passed"))
        } else {
            match tokio::time::timeout(remaining, steps(s, name, remaining)).await {
                Ok(r) => r,
                Err(_) => Err(StepError::transient(format!(
                    "cut short: the install deadline ({}) has passed",
                    humantime::format_duration(opts.deadline)
                ))),
            }
        };
        match outcome {
            Ok(()) => {
                log(
                    s,
                    name,
                    &format!("installed {VERSION} after {attempt} attempt(s)"),
                )
                .await;
                if !advance(InstallEvent::Succeed, attempt, None, Some(VERSION)).await {
                    return None;
                }
                s.queue.notify_waiters();
                return Some(IntegrationStatus::Installed);
            }
            Err(e) if !e.transient => {
                log(s, name, &format!("failed: {}", e.message)).await;
                let moved = advance(InstallEvent::Fail, attempt, Some(e.message), None).await;
                return moved.then_some(IntegrationStatus::Failed);
            }
            Err(e) => {
                let past_deadline = SystemTime::now() + wait >= deadline_at;
                if attempt > opts.max_retries || past_deadline {
                    let why = if attempt > opts.max_retries {
                        format!(
                            "maximum retries reached ({} attempts); last error: {}",
                            attempt, e.message
                        )
                    } else {
                        format!(
                            "deadline of {} reached after {attempt} attempt(s); last error: {}",
                            humantime::format_duration(opts.deadline),
                            e.message
                        )
                    };
                    log(s, name, &format!("timed out: {why}")).await;
                    let moved = advance(InstallEvent::TimeOut, attempt, Some(why), None).await;
                    return moved.then_some(IntegrationStatus::TimedOut);
                }
                log(
                    s,
                    name,
                    &format!(
                        "attempt {attempt} failed: {}; retrying in {}",
                        e.message,
                        humantime::format_duration(wait)
                    ),
                )
                .await;
                // Attempts so far are visible while it waits.
                if let Err(err) =
                    s.db.renew_install(name, runner, SystemTime::now() + opts.lease + wait)
                        .await
                {
                    tracing::warn!(integration = name, error = %err, "could not renew the install lease");
                }
                tokio::time::sleep(wait).await;
                wait = wait.saturating_mul(2);
            }
        }
    }
}

/// The steps of one try, each logged with its timing.
async fn steps(s: &AppState, name: &str, remaining: Duration) -> Result<(), StepError> {
    match name {
        CICD => {
            step(s, name, "check the platform store", async {
                let clusters = s.db.clusters().await.map_err(store_error)?;
                let envs = s.db.environments().await.map_err(store_error)?;
                let apps = s.db.applications().await.map_err(store_error)?;
                let pipelines = s.db.pipelines().await.map_err(store_error)?;
                Ok(format!(
                    "{} clusters, {} environments, {} applications, {} pipelines",
                    clusters.len(),
                    envs.len(),
                    apps.len(),
                    pipelines.len()
                ))
            })
            .await?;
            step(
                s,
                name,
                "enable clusters, environments, applications, pipelines and deployments",
                async {
                    Ok("the entity and deployment routes accept changes once installed".to_owned())
                },
            )
            .await
        }
        SCANNING => {
            let feeds = s
                .feeds
                .clone()
                .ok_or_else(|| StepError::permanent("this server has no feed importer"))?;
            let sources = feeds.sources();
            if sources.is_empty() {
                log(
                    s,
                    name,
                    "no feed sources are configured (db.sources is empty): the database is used as imported",
                )
                .await;
            }
            for source in sources {
                let feeds = feeds.clone();
                let label = format!("load feed {source}");
                step(s, name, &label, async move {
                    let src = source.clone();
                    tokio::task::spawn_blocking(move || feeds.update_source(&src, remaining))
                        .await
                        .map_err(|e| StepError::permanent(format!("feed {source}: {e}")))?
                })
                .await?;
            }
            step(s, name, "check the vulnerability database", async {
                let ecosystems = s.db.ecosystems().await.map_err(store_error)?;
                if ecosystems.is_empty() {
                    return Err(StepError::permanent(
                        "the vulnerability database is empty: configure db.sources or import feeds (vigil db import)",
                    ));
                }
                let version = vigil_store::platform::database_version(&*s.db)
                    .await
                    .map_err(|e| StepError::transient(chain(&e)))?;
                Ok(format!("{} ecosystems, version {version}", ecosystems.len()))
            })
            .await?;
            step(s, name, "start the scan workers", async {
                s.queue.notify_waiters();
                Ok("queued scans are taken once the install completes".to_owned())
            })
            .await
        }
        other => Err(StepError::permanent(format!("no integration {other:?}"))),
    }
}

fn store_error(e: impl std::error::Error) -> StepError {
    StepError::transient(format!("the database: {}", chain(&e)))
}

async fn step(
    s: &AppState,
    name: &str,
    what: &str,
    work: impl std::future::Future<Output = Result<String, StepError>>,
) -> Result<(), StepError> {
    log(s, name, &format!("step: {what}")).await;
    let t = Instant::now();
    let result = work.await;
    let took = humantime::format_duration(Duration::from_millis(
        u64::try_from(t.elapsed().as_millis()).unwrap_or(u64::MAX),
    ));
    match &result {
        Ok(note) => log(s, name, &format!("done: {what} in {took}: {note}")).await,
        Err(e) => {
            log(
                s,
                name,
                &format!("error: {what} after {took}: {}", e.message),
            )
            .await
        }
    }
    result.map(|_| ())
}

/// Takes over installs whose runner stopped (a replica killed or restarted mid-install) and
/// runs them, until `shutdown` turns true.
pub async fn supervise(
    s: AppState,
    runner: String,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let now = SystemTime::now();
        match s
            .db
            .adopt_install(&runner, now + s.install.lease, now)
            .await
        {
            Ok(Some(st)) => {
                log(
                    &s,
                    &st.name,
                    &format!(
                        "resumed on {runner}: the previous runner ({}) stopped renewing its claim",
                        st.runner.as_deref().unwrap_or("unknown")
                    ),
                )
                .await;
                // Runs here; meanwhile no other install is adopted by this replica.
                let task = run(s.clone(), st.name.clone(), runner.clone());
                tokio::select! {
                    _ = task => {}
                    _ = shutdown.changed() => return,
                }
                continue;
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "cannot look for interrupted installs"),
        }
        tokio::select! {
            _ = tokio::time::sleep(s.install.supervise_every) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Spawns [`run`] for an install this replica started.
pub fn spawn(s: &AppState, name: &str, runner: &str) {
    let task = run(s.clone(), name.to_owned(), runner.to_owned());
    tokio::spawn(async move {
        let _ = task.await;
    });
}

/// Shared by handlers: the state and catalog entry of one integration as JSON.
pub async fn json_of(s: &AppState, name: &str) -> Result<Value, ApiError> {
    let i = find(name).ok_or_else(|| ApiError::NotFound(format!("no integration {name:?}")))?;
    let st = state_of(s, name).await?;
    Ok(to_json(i, st.as_ref()))
}

/// Every integration as JSON.
pub async fn all_json(s: &AppState) -> Result<Vec<Value>, ApiError> {
    let states = s.db.integrations().await?;
    Ok(CATALOG
        .iter()
        .map(|i| to_json(i, states.iter().find(|st| st.name == i.name)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_by_their_numbers() {
        assert!(older("0.0.1", "0.1.0"));
        assert!(older("0.9.0", "0.10.0"));
        assert!(!older("0.1.0", "0.1.0"));
        assert!(!older("1.0.0", "0.9.9"));
    }

    #[test]
    fn the_catalog_lists_prerequisites_first() {
        for (n, i) in CATALOG.iter().enumerate() {
            for pre in i.requires {
                let at = CATALOG.iter().position(|c| c.name == *pre).unwrap();
                assert!(at < n, "{} before {pre}", i.name);
            }
        }
    }
}
