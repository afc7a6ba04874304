//! Scan workers: the shared queue of SPEC 9.5 (issue 9).
//!
//! Scan requests are rows of the `scans` table. A worker claims the oldest one with a lease
//! (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so replicas never wait on each other; SQLite: one
//! writer at a time), renews the lease every third of its length while it scans, and
//! completes or fails it only while it still holds it. A worker that dies (SIGKILL, a lost
//! machine) stops renewing; once its lease runs out, the next claim on any replica takes the
//! scan again. A worker that merely lost its lease (paused too long) finds that out at its
//! next renewal or when it completes, and drops the scan: each scan completes exactly once.
//!
//! On shutdown a worker claims nothing more, gives the scan it holds `grace` to finish, then
//! puts it back in the queue for another replica.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::watch;
use vigil_store::platform::Scan;

use crate::AppState;
use crate::error::chain;

/// How the workers of one replica run.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Scans run at once on this replica.
    pub workers: usize,
    /// How long a claim holds without renewal.
    pub lease: Duration,
    /// How often an idle worker looks at the queue (a scan queued on this replica wakes one
    /// at once).
    pub poll: Duration,
    /// Tries of one claim for a transient failure (registry down, 5xx, timeout).
    pub tries: u32,
    /// Wait after the first failed try, doubled after each further one.
    pub backoff: Duration,
    /// A scan claimed this many times (its workers kept dying) is failed, not retried.
    pub max_claims: u32,
    /// How long a scan in progress may take to finish after shutdown begins.
    pub grace: Duration,
    /// Names this replica's workers (`<id>/<n>`): host name and process id by default.
    pub id: String,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self {
            workers: 2,
            lease: Duration::from_secs(300),
            poll: Duration::from_secs(1),
            tries: 3,
            backoff: Duration::from_secs(2),
            max_claims: 5,
            grace: Duration::from_secs(20),
            id: default_id(),
        }
    }
}

/// `hostname:pid`: unique among live replicas, and tells a person where a scan ran.
pub fn default_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "vigil".to_owned());
    format!("{host}:{}", std::process::id())
}

/// Runs the workers until `shutdown` turns true, then returns once each has finished or
/// released its scan.
pub async fn run(state: AppState, opts: WorkerOptions, shutdown: watch::Receiver<bool>) {
    let opts = Arc::new(opts);
    let mut handles = Vec::new();
    for n in 0..opts.workers {
        let name = format!("{}/{n}", opts.id);
        handles.push(tokio::spawn(worker(
            state.clone(),
            opts.clone(),
            name,
            shutdown.clone(),
        )));
    }
    for h in handles {
        if let Err(e) = h.await {
            tracing::error!(error = %e, "a scan worker stopped abnormally");
        }
    }
}

fn stopping(rx: &watch::Receiver<bool>) -> bool {
    *rx.borrow()
}

async fn worker(
    state: AppState,
    opts: Arc<WorkerOptions>,
    name: String,
    mut shutdown: watch::Receiver<bool>,
) {
    tracing::info!(worker = %name, "scan worker started");
    while !stopping(&shutdown) {
        match claim(&state, &opts, &name).await {
            Ok(Some(scan)) => run_one(&state, &opts, &name, scan, &mut shutdown).await,
            Ok(None) => {
                tokio::select! {
                    _ = tokio::time::sleep(opts.poll) => {}
                    _ = state.queue.notified() => {}
                    _ = shutdown.changed() => {}
                }
            }
            Err(e) => {
                tracing::warn!(worker = %name, error = %e, "cannot claim a scan; trying again");
                tokio::select! {
                    _ = tokio::time::sleep(opts.poll.max(Duration::from_secs(1))) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
    }
    // A scan claimed between the last check and here is given back too.
    match state.db.release_leases(&name).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(worker = %name, scans = n, "released scans"),
        Err(e) => tracing::warn!(worker = %name, error = %e, "could not release scans"),
    }
    tracing::info!(worker = %name, "scan worker stopped");
}

async fn claim(state: &AppState, opts: &WorkerOptions, name: &str) -> Result<Option<Scan>, String> {
    // Scans wait for the vulnerability-scanning integration to be installed.
    if !crate::integrations::scanning_installed(state).await {
        return Ok(None);
    }
    // Nothing to scan against: leave the queue alone until a feed is imported.
    if state
        .db
        .ecosystems()
        .await
        .map_err(|e| e.to_string())?
        .is_empty()
    {
        return Ok(None);
    }
    let version = vigil_store::platform::database_version(&*state.db)
        .await
        .map_err(|e| e.to_string())?;
    let now = SystemTime::now();
    state
        .db
        .claim_leased(name, &version, now + opts.lease, now)
        .await
        .map_err(|e| e.to_string())
}

enum Outcome {
    Done(Result<String, String>),
    Lost,
    Released,
}

async fn run_one(
    state: &AppState,
    opts: &WorkerOptions,
    name: &str,
    scan: Scan,
    shutdown: &mut watch::Receiver<bool>,
) {
    let id = scan.id;
    tracing::info!(worker = %name, scan = id, image = %scan.reference, attempt = scan.attempts, "scanning");
    if scan.attempts > opts.max_claims {
        let why = format!(
            "claimed {} times: every worker that took it stopped before finishing",
            scan.attempts
        );
        finish(state, name, id, Err(why)).await;
        return;
    }
    let renew = renew_until_lost(state.clone(), opts.lease, name.to_owned(), id);
    let work = scan_with_retries(state, opts, &scan);
    tokio::pin!(renew, work);
    let mut deadline: Option<tokio::time::Instant> = None;
    let outcome = loop {
        tokio::select! {
            r = &mut work => break Outcome::Done(r),
            () = &mut renew => break Outcome::Lost,
            _ = shutdown.changed(), if deadline.is_none() => {
                deadline = Some(tokio::time::Instant::now() + opts.grace);
            }
            () = async { tokio::time::sleep_until(deadline.unwrap_or_else(tokio::time::Instant::now)).await },
                if deadline.is_some() => break Outcome::Released,
        }
    };
    match outcome {
        Outcome::Done(result) => finish(state, name, id, result).await,
        Outcome::Lost => {
            tracing::warn!(worker = %name, scan = id, "lost the lease: another worker has the scan");
            state.metrics.worked("lost");
        }
        Outcome::Released => {
            match state.db.release_leases(name).await {
                Ok(_) => {
                    tracing::info!(worker = %name, scan = id, "shutting down: scan put back in the queue")
                }
                Err(e) => {
                    tracing::warn!(worker = %name, scan = id, error = %e, "could not release the scan; its lease will run out")
                }
            }
            state.metrics.worked("released");
        }
    }
}

async fn finish(state: &AppState, name: &str, id: i64, result: Result<String, String>) {
    let now = SystemTime::now();
    let (done, label) = match &result {
        Ok(report) => (
            state.db.complete_leased(id, name, report, now).await,
            "completed",
        ),
        Err(why) => (state.db.fail_leased(id, name, why, now).await, "failed"),
    };
    match done {
        Ok(_) => {
            tracing::info!(worker = %name, scan = id, outcome = label, "scan finished");
            state.metrics.worked(label);
        }
        Err(e) => {
            // Most often: the lease ran out and another worker holds the scan now.
            tracing::warn!(worker = %name, scan = id, error = %e, "scan result dropped");
            state.metrics.worked("lost");
        }
    }
}

/// Renews the lease every third of its length; returns when the worker no longer holds it.
async fn renew_until_lost(state: AppState, lease: Duration, name: String, id: i64) {
    let every = (lease / 3).max(Duration::from_millis(200));
    loop {
        tokio::time::sleep(every).await;
        match state
            .db
            .renew_lease(id, &name, SystemTime::now() + lease)
            .await
        {
            Ok(true) => {}
            Ok(false) => return,
            // A database hiccup: try again at the next beat; the lease has slack for it.
            Err(e) => tracing::warn!(scan = id, error = %e, "could not renew the lease"),
        }
    }
}

/// What the worker reads: a registry reference by tag is read by the digest it had when it
/// was submitted, so a tag moved since then does not change what the scan is of.
fn pinned(reference: &str, digest: &str) -> String {
    let local = [
        "oci:",
        "oci-archive:",
        "docker-archive:",
        "dir:",
        "sbom:",
        "/",
        ".",
    ];
    if reference.contains('@') || local.iter().any(|p| reference.starts_with(p)) {
        return reference.to_owned();
    }
    let slash = reference.rfind('/').map_or(0, |i| i + 1);
    let repo = match reference[slash..].rfind(':') {
        Some(colon) => &reference[..slash + colon],
        None => reference,
    };
    format!("{repo}@{digest}")
}

async fn scan_with_retries(
    state: &AppState,
    opts: &WorkerOptions,
    scan: &Scan,
) -> Result<String, String> {
    let image = pinned(&scan.reference, &scan.digest);
    let tries = opts.tries.max(1);
    let mut wait = opts.backoff;
    for attempt in 1..=tries {
        match vigil_service::scan_image(&*state.db, &image, &state.opts, SystemTime::now()).await {
            Ok(report) => {
                return serde_json::to_string(&report)
                    .map_err(|e| format!("the report does not serialise: {e}"));
            }
            Err(e) if e.is_transient() && attempt < tries => {
                tracing::warn!(scan = scan.id, attempt, error = %chain(&e), "retrying");
                tokio::time::sleep(wait).await;
                wait = wait.saturating_mul(2);
            }
            Err(e) => return Err(chain(&e)),
        }
    }
    Err("no try was made".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_pinned_to_the_submitted_digest() {
        let d = "sha256:aaaa";
        assert_eq!(
            pinned("127.0.0.1:5000/app:1.0", d),
            "127.0.0.1:5000/app@sha256:aaaa"
        );
        assert_eq!(
            pinned("127.0.0.1:5000/app", d),
            "127.0.0.1:5000/app@sha256:aaaa"
        );
        assert_eq!(
            pinned("registry.test/a/b@sha256:bb", d),
            "registry.test/a/b@sha256:bb"
        );
        assert_eq!(pinned("oci:/images/app:app", d), "oci:/images/app:app");
        assert_eq!(pinned("docker-archive:x.tar", d), "docker-archive:x.tar");
    }
}
