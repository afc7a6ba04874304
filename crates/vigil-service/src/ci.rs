//! The build-time scan (SPEC 7.2, 7.3): a CI pipeline submits the image it built; vigil
//! scans it once per digest and database version, retrying transient failures, and stores
//! the result (or the failure) under the image digest.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use vigil_store::Database;
use vigil_store::platform::{Error as PlatformError, Kind};

use crate::Error;
use crate::scan::{ScanOptions, digest_in_reference, resolve_digest, scan_image};
use crate::stored::{ScanSummary, Stored};

/// How often to try and how long to wait between tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Tries in all (at least 1): the first plus `scan.retries`.
    pub tries: u32,
    /// The wait after the first failed try; it doubles after each further one.
    pub backoff: Duration,
}

impl Retry {
    fn wait(&self, failed: u32) -> Duration {
        self.backoff
            .saturating_mul(1u32 << failed.saturating_sub(1).min(16))
    }
}

/// What a CI scan did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CiOutcome {
    /// The pipeline does not have scanning enabled: nothing was done (SPEC 7.2).
    Disabled,
    /// The digest was already scanned against the current database: its stored scan is
    /// the result (SPEC 7.3).
    Reused,
    /// The image was scanned now.
    Scanned,
}

/// The result of [`ci_scan`].
///
/// JSON (`vigil ci scan --format json`), a documented contract: `{"pipeline",
/// "application", "image", "outcome": "disabled|reused|scanned", "digest": null | "sha256:..",
/// "scan_id": null | n, "db_version": null | "sha256:..", "attempts": n, "complete": null |
/// bool, "summary": null | {"total", "critical", "high", "medium", "low", "unknown",
/// "fixable"}}`. Failures are errors, not results (the scan is stored as failed).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CiScan {
    pub pipeline: String,
    pub application: String,
    /// The image as submitted.
    pub image: String,
    pub outcome: CiOutcome,
    /// The image digest the scan is stored under.
    pub digest: Option<String>,
    pub scan_id: Option<i64>,
    /// The vulnerability database version the scan ran against.
    pub db_version: Option<String>,
    /// Tries made now (0 when disabled or reused).
    pub attempts: u32,
    /// Whether the scan covered everything (SPEC 5.7).
    pub complete: Option<bool>,
    pub summary: Option<ScanSummary>,
}

impl CiScan {
    /// The result before anything happened: the pipeline's image, not scanned (the answer
    /// for a pipeline without scanning); the scan fills in the rest.
    pub fn not_scanned(pipeline: &str, application: &str, image: &str) -> Self {
        Self {
            pipeline: pipeline.to_owned(),
            application: application.to_owned(),
            image: image.to_owned(),
            outcome: CiOutcome::Disabled,
            digest: None,
            scan_id: None,
            db_version: None,
            attempts: 0,
            complete: None,
            summary: None,
        }
    }
}

/// Scans `image` for CI `pipeline` (SPEC 7.2, 7.3).
///
/// - A pipeline without `scan_enabled` is not refused, but nothing is done
///   ([`CiOutcome::Disabled`]).
/// - The image digest is resolved ([`resolve_digest`]); a completed scan of that digest
///   against the current [`database_version`](vigil_store::platform::database_version) is
///   returned as it is ([`CiOutcome::Reused`]).
/// - Otherwise a scan is queued, started and run; a try that fails transiently
///   ([`Error::is_transient`]: network errors, resets, 5xx, timeouts) is repeated after
///   `retry.backoff` (doubling) up to `retry.tries` tries in all. The last failure is stored
///   as `failed` with its error and returned as [`Error::ScanFailed`]. When even the digest
///   cannot be resolved, nothing can be stored (scans are keyed by digest):
///   [`Error::Unresolved`]. Submit `HOST/REPO@sha256:...` to have such failures stored.
///
/// `clock` gives "now" for each state change (a scan takes time).
pub async fn ci_scan(
    db: &dyn Database,
    pipeline: &str,
    image: &str,
    opts: &ScanOptions,
    retry: Retry,
    clock: &(dyn Fn() -> SystemTime + Sync),
) -> Result<CiScan, Error> {
    let p = db
        .pipeline(pipeline)
        .await?
        .ok_or_else(|| PlatformError::Unknown {
            kind: Kind::Pipeline,
            name: pipeline.to_owned(),
        })?;
    let mut result = CiScan::not_scanned(&p.name, &p.application, image);
    if !p.scan_enabled {
        tracing::info!(pipeline, "scanning is not enabled for this pipeline");
        return Ok(result);
    }
    if db.ecosystems().await?.is_empty() {
        return Err(Error::EmptyDatabase);
    }
    let db_version = vigil_store::platform::database_version(db).await?;
    result.db_version = Some(db_version.clone());
    let tries = retry.tries.max(1);
    let mut attempts = 0u32;

    // The digest: named by the reference, or resolved from the source (with retries).
    let digest = match digest_in_reference(image) {
        Some(d) => d,
        None => loop {
            attempts += 1;
            match resolve_digest(image, opts).await {
                Ok(d) => break d,
                Err(e) if e.is_transient() && attempts < tries => {
                    tracing::warn!(image, attempt = attempts, error = %chain(&e), "retrying");
                    tokio::time::sleep(retry.wait(attempts)).await;
                }
                Err(e) => {
                    return Err(Error::Unresolved {
                        image: image.to_owned(),
                        attempts,
                        source: Box::new(e),
                    });
                }
            }
        },
    };
    result.digest = Some(digest.clone());

    if let Some(done) = db.completed_scan_against(&digest, &db_version).await? {
        let stored = Stored::read(&done)?;
        result.outcome = CiOutcome::Reused;
        result.scan_id = Some(done.scan.id);
        result.complete = Some(stored.complete);
        result.summary = Some(ScanSummary::of(&stored.findings));
        return Ok(result);
    }

    // Recorded for the pipeline's application: a token restricted to it sees the scan.
    let queued = db
        .submit_scan(&digest, image, Some(&p.application), clock())
        .await?;
    let scan = db.start_scan(queued.id, &db_version, clock()).await?;
    result.scan_id = Some(scan.id);
    // Tries that failed while resolving the digest count against the budget; the try that
    // resolved it goes on to scan.
    let mut used = attempts.saturating_sub(1);
    loop {
        used += 1;
        match scan_image(db, image, opts, clock()).await {
            Ok(report) => {
                let json = serde_json::to_string(&report).map_err(|e| Error::BadStoredReport {
                    scan_id: scan.id,
                    digest: digest.clone(),
                    problem: e.to_string(),
                })?;
                db.complete_scan(scan.id, &json, clock()).await?;
                result.outcome = CiOutcome::Scanned;
                result.attempts = used;
                result.complete = Some(report.coverage.coverage.complete);
                result.summary = Some(ScanSummary::of_report(&report));
                return Ok(result);
            }
            Err(e) if e.is_transient() && used < tries => {
                tracing::warn!(image, attempt = used, error = %chain(&e), "retrying");
                tokio::time::sleep(retry.wait(used)).await;
            }
            Err(e) => {
                db.fail_scan(scan.id, &chain(&e), clock()).await?;
                return Err(Error::ScanFailed {
                    scan_id: scan.id,
                    image: image.to_owned(),
                    digest,
                    attempts: used,
                    source: Box::new(e),
                });
            }
        }
    }
}

/// An error and its sources as one line, as stored with a failed scan.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.ends_with(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_after_each_failed_try() {
        let r = Retry {
            tries: 4,
            backoff: Duration::from_millis(100),
        };
        let waits: Vec<u128> = (1..=4).map(|n| r.wait(n).as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 800]);
        // No overflow however many tries are configured.
        assert!(r.wait(u32::MAX) >= r.wait(17));
    }

    #[test]
    fn chain_names_every_cause_once() {
        let inner = Error::Timeout {
            image: "127.0.0.1:5000/app@sha256:aa".into(),
            timeout: Duration::from_secs(1),
        };
        let outer = Error::ScanFailed {
            scan_id: 7,
            image: "127.0.0.1:5000/app@sha256:aa".into(),
            digest: "sha256:aa".into(),
            attempts: 2,
            source: Box::new(inner),
        };
        assert_eq!(
            chain(&outer),
            "scan 7 of 127.0.0.1:5000/app@sha256:aa (sha256:aa) failed after 2 tries: \
             image 127.0.0.1:5000/app@sha256:aa: no answer within 1s"
        );
        assert!(!outer.is_transient());
    }
}
