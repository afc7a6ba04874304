//! vigil's platform operations (SPEC 7): what `vigil scan`, `vigil ci scan`, `vigil gate`,
//! `vigil deploy record`, `vigil deployed` and `vigil explain` do, shared by the CLI and the
//! HTTP server (issue 9), so both behave alike by construction.
//!
//! Nothing here prints, parses arguments or exits the process; "now" and the caller's name are
//! passed in. The operations are `async` over a [`vigil_store::Database`]; image reading is
//! blocking, so it runs on a thread of its own, bounded by a timeout (a registry that never
//! answers must not hang a CI job or a request).
//!
//! - [`mod@scan`]: [`scan_image`] and [`match_inventory`] (inventory -> lookup keys -> advisories
//!   -> report), [`resolve_digest`].
//! - [`mod@ci`]: [`ci_scan`], the build-time scan of SPEC 7.2-7.3 with retries and the digest
//!   cache.
//! - [`mod@gate`]: [`gate()`] (SPEC 7.4) and [`explain`] (SPEC 6.7).
//! - [`mod@deployed`]: [`deploy_record`] and [`deployed()`] (SPEC 7.5).
//!
//! The JSON of [`GateReport`], [`Explanation`], [`DeployedRow`] and [`CiScan`] are documented
//! contracts: `vigil ... --format json` prints them as they serialise.

pub mod ci;
pub mod deployed;
pub mod gate;
pub mod notify;
pub mod rematch;
pub mod scan;
mod stored;
pub mod vex;

pub use ci::{CiOutcome, CiScan, Retry, ci_scan};
pub use deployed::{DeployedFilter, DeployedRow, DeployedSort, Page, deploy_record, deployed};
pub use gate::{
    ExplainedFinding, Explanation, GateCache, GateFinding, GateReport, GateRequest, explain, gate,
    gate_cached,
};
pub use notify::{DeliverySummary, NotifyOptions, deliver_due};
pub use rematch::{RematchSummary, rematch};
pub use scan::{ScanOptions, match_inventory, resolve_digest, scan_image};
pub use stored::ScanSummary;

use std::time::Duration;

/// What went wrong in a platform operation. Messages name the input and the problem.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Scanning needs advisories.
    #[error("the vulnerability database is empty: a scan against it would find nothing")]
    EmptyDatabase,
    /// Reading the image failed.
    #[error(transparent)]
    Scan(#[from] vigil_scan::Error),
    /// Reading the image took longer than allowed.
    #[error("image {image}: no answer within {}s", timeout.as_secs_f64())]
    Timeout { image: String, timeout: Duration },
    /// An `sbom:FILE` that cannot be read.
    #[error(transparent)]
    Sbom(#[from] vigil_sbom::Error),
    /// A bare digest that is not one.
    #[error("digest {0:?} is not of the form sha256:<64 lower-case hex digits>")]
    BadDigest(String),
    /// The image has no digest to key its scan by.
    #[error("image {image} has no digest: {why}")]
    NoDigest { image: String, why: &'static str },
    /// A CI scan that failed after its last try; it is stored as failed.
    #[error("scan {scan_id} of {image} ({digest}) failed after {attempts} tries")]
    ScanFailed {
        scan_id: i64,
        image: String,
        digest: String,
        attempts: u32,
        #[source]
        source: Box<Error>,
    },
    /// A CI scan whose image could not even be resolved to a digest after its last try;
    /// nothing is stored (scans are keyed by digest).
    #[error("image {image} could not be resolved to a digest after {attempts} tries")]
    Unresolved {
        image: String,
        attempts: u32,
        #[source]
        source: Box<Error>,
    },
    /// The stored report of a completed scan does not read.
    #[error("stored report of scan {scan_id} ({digest}) does not read: {problem}")]
    BadStoredReport {
        scan_id: i64,
        digest: String,
        problem: String,
    },
    #[error("{0}")]
    BadVex(String),
    #[error("stored VEX document {id} cannot be read: {problem}")]
    BadStoredVex { id: i64, problem: String },
    /// A platform store failure: unknown names, bad digests, database errors.
    #[error(transparent)]
    Platform(#[from] vigil_store::platform::Error),
    /// A vulnerability database failure.
    #[error(transparent)]
    Store(#[from] vigil_store::Error),
    /// The thread reading the image died (a bug; reported, never a panic of the caller).
    #[error("image {image}: the scan thread stopped without an answer")]
    Worker { image: String },
}

impl Error {
    /// Whether trying again may succeed (SPEC 7.2: "retrying transient failures"): the
    /// registry could not be reached, reset the connection, answered 5xx or too slowly.
    /// Bad references, missing images or tags, refused credentials and corrupt content are
    /// not transient: trying again gives the same answer.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Timeout { .. } => true,
            Self::Scan(vigil_scan::Error::Image(e)) => image_error_is_transient(e),
            Self::ScanFailed { .. } | Self::Unresolved { .. } => false,
            _ => false,
        }
    }
}

fn image_error_is_transient(e: &vigil_image::Error) -> bool {
    use vigil_image::ErrorKind;
    match e.kind() {
        ErrorKind::Registry { detail, .. } => {
            let d = detail.to_ascii_lowercase();
            // The registry answered "no such thing" or "not you": asking again changes
            // nothing. Status codes are whole words (a port number may contain "404").
            let words = [
                "not found",
                "unknown",
                "denied",
                "unauthorized",
                "invalid",
                "unsupported",
            ];
            let codes = ["400", "401", "403", "404", "405"];
            let definite = words.iter().any(|w| d.contains(w))
                || d.split(|c: char| !c.is_ascii_alphanumeric())
                    .any(|t| codes.contains(&t));
            !definite
        }
        // A blob whose stream broke off mid-read.
        ErrorKind::Truncated { .. } => false,
        _ => false,
    }
}

/// Whether a completed scan covered everything (SPEC 5.7) and the counts of its findings,
/// read from its stored report (the server's scan resource shows them).
pub fn scan_outcome(
    scan: &vigil_store::platform::CompletedScan,
) -> Result<(bool, ScanSummary), Error> {
    let stored = stored::Stored::read(scan)?;
    Ok((stored.complete, ScanSummary::of(&stored.findings)))
}
