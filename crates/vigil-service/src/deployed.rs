//! Deployments and the "vulnerabilities in deployed applications" view (SPEC 7.5).

use std::collections::HashMap;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use vigil_policy::{Evaluator, ScanStatus};
use vigil_store::Database;
use vigil_store::platform::{Deployment, DeploymentFilter, Kind, NewDeployment};
use vigil_vulndb::Severity;

use crate::Error;
use crate::gate::blocked_count;
use crate::stored::{ScanSummary, Stored};

/// Records that `application` runs `digest` in `environment` from `now` on, deployed by
/// `who` (not a rollback: the gate records those itself).
pub async fn deploy_record(
    db: &dyn Database,
    application: &str,
    environment: &str,
    digest: &str,
    who: &str,
    now: SystemTime,
) -> Result<Deployment, Error> {
    Ok(db
        .record_deployment(
            &NewDeployment {
                application: application.to_owned(),
                environment: environment.to_owned(),
                digest: digest.to_owned(),
                by: who.to_owned(),
                rollback: false,
            },
            now,
        )
        .await?)
}

/// Which deployed pairs to list; `None` matches everything.
#[derive(Debug, Clone, Default)]
pub struct DeployedFilter {
    pub application: Option<String>,
    pub environment: Option<String>,
    pub cluster: Option<String>,
    /// Only pairs whose image has a finding of this severity.
    pub severity: Option<Severity>,
    /// Only pairs whose image has a finding with this id or alias (case-insensitive).
    pub cve: Option<String>,
}

/// The order of the rows. Counts sort the largest first; ties keep application then
/// environment order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DeployedSort {
    /// Application, then environment (the default).
    #[default]
    Application,
    Environment,
    Cluster,
    /// Newest deployment first.
    Deployed,
    Critical,
    High,
    Total,
    Fixable,
    Blocked,
}

impl DeployedSort {
    /// Every key with its stable name, for the CLI and the API.
    pub const ALL: [(&'static str, DeployedSort); 9] = [
        ("application", Self::Application),
        ("environment", Self::Environment),
        ("cluster", Self::Cluster),
        ("deployed", Self::Deployed),
        ("critical", Self::Critical),
        ("high", Self::High),
        ("total", Self::Total),
        ("fixable", Self::Fixable),
        ("blocked", Self::Blocked),
    ];
}

/// Which rows of the sorted list: skip `offset`, then at most `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub offset: usize,
    pub limit: usize,
}

impl Default for Page {
    fn default() -> Self {
        Self {
            offset: 0,
            limit: 100,
        }
    }
}

/// One deployed (application, environment) pair.
///
/// JSON (`vigil deployed --format json` prints an array of these), a documented contract:
/// `{"application", "environment", "cluster", "digest", "deployed_at" (RFC 3339),
/// "deployed_by", "rollback", "scan": "completed|incomplete|missing", "scan_id": null | n,
/// "scanned_at": null | RFC 3339, "summary": {"total", "critical", "high", "medium", "low",
/// "unknown", "fixable"}, "blocked": n, "suppressed": n}`. Counts are zero when the image
/// has no completed scan; `blocked` counts findings that today's policy blocks for this
/// pair; findings VEX statements suppress for the application (SPEC 5.6) are counted in
/// `suppressed` only.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeployedRow {
    pub application: String,
    pub environment: String,
    pub cluster: String,
    pub digest: String,
    pub deployed_at: String,
    pub deployed_by: String,
    pub rollback: bool,
    pub scan: ScanStatus,
    pub scan_id: Option<i64>,
    pub scanned_at: Option<String>,
    pub summary: ScanSummary,
    pub blocked: usize,
    #[serde(default)]
    pub suppressed: usize,
    // Only `deployed` sorts by it, before the rows leave the service; a row read back
    // from JSON (the CLI reading a server's answer) is already sorted.
    #[serde(skip, default = "SystemTime::now")]
    deployed_time: SystemTime,
}

/// The current deployment of every pair `filter` matches, with the latest completed scan of
/// its digest and today's policy (as of `now`), sorted and paged (SPEC 7.5).
pub async fn deployed(
    db: &dyn Database,
    filter: &DeployedFilter,
    sort: DeployedSort,
    page: Page,
    now: SystemTime,
) -> Result<Vec<DeployedRow>, Error> {
    let current = db
        .current_deployments(&DeploymentFilter {
            application: filter.application.clone(),
            environment: filter.environment.clone(),
            cluster: filter.cluster.clone(),
        })
        .await?;
    let policies = db.policies().await?;
    let vex = crate::vex::VexSet::load(db).await?;
    // Several pairs often run one digest: read each report once.
    let mut reports: HashMap<String, Option<Stored>> = HashMap::new();
    let mut rows = Vec::new();
    for d in current {
        if !reports.contains_key(&d.digest) {
            let scan = db.latest_completed_scan(&d.digest).await?;
            let stored = scan.as_ref().map(Stored::read).transpose()?;
            reports.insert(d.digest.clone(), stored);
        }
        let stored = reports[&d.digest].as_ref();
        let (findings, suppressed) = crate::gate::split_by_vex(
            stored.map_or(&[][..], |s| &s.findings[..]),
            &vex,
            Some(&d.application),
            &d.digest,
            &mut Default::default(),
        );
        if let Some(sev) = filter.severity
            && !findings.iter().any(|f| f.severity == sev)
        {
            continue;
        }
        if let Some(id) = &filter.cve
            && !findings.iter().any(|f| f.names(id))
        {
            continue;
        }
        let target = target_of(&d)?;
        let evaluator = Evaluator::new(&policies, &target, now);
        rows.push(DeployedRow {
            application: d.application,
            environment: d.environment,
            cluster: d.cluster,
            digest: d.digest,
            deployed_at: vigil_policy::time::format(d.at),
            deployed_by: d.by,
            rollback: d.rollback,
            scan: match stored {
                None => ScanStatus::Missing,
                Some(s) if s.complete => ScanStatus::Completed,
                Some(_) => ScanStatus::Incomplete,
            },
            scan_id: stored.map(|s| s.scan_id),
            scanned_at: stored
                .and_then(|s| s.finished_at)
                .map(vigil_policy::time::format),
            summary: ScanSummary::of(findings.iter().copied()),
            blocked: blocked_count(&evaluator, &findings),
            suppressed: suppressed.len(),
            deployed_time: d.at,
        });
    }
    let by_count = |r: &DeployedRow| -> usize {
        match sort {
            DeployedSort::Critical => r.summary.critical,
            DeployedSort::High => r.summary.high,
            DeployedSort::Total => r.summary.total,
            DeployedSort::Fixable => r.summary.fixable,
            DeployedSort::Blocked => r.blocked,
            _ => 0,
        }
    };
    // The store lists pairs by application then environment; a stable sort keeps that
    // order among ties.
    match sort {
        DeployedSort::Application => {}
        DeployedSort::Environment => rows.sort_by(|a, b| a.environment.cmp(&b.environment)),
        DeployedSort::Cluster => rows.sort_by(|a, b| a.cluster.cmp(&b.cluster)),
        DeployedSort::Deployed => rows.sort_by_key(|r| std::cmp::Reverse(r.deployed_time)),
        _ => rows.sort_by_key(|r| std::cmp::Reverse(by_count(r))),
    }
    Ok(rows
        .into_iter()
        .skip(page.offset)
        .take(page.limit)
        .collect())
}

/// A stored name as a policy name (stored names passed the store's stricter checks).
/// The policy target of a deployment (it names its cluster: no lookup).
pub(crate) fn target_of(d: &Deployment) -> Result<vigil_policy::Target, Error> {
    Ok(vigil_policy::Target {
        cluster: name(Kind::Cluster, &d.cluster)?,
        environment: name(Kind::Environment, &d.environment)?,
        application: name(Kind::Application, &d.application)?,
    })
}

fn name(kind: Kind, value: &str) -> Result<vigil_policy::Name, Error> {
    vigil_policy::Name::new(value).map_err(|e| {
        Error::Platform(vigil_store::platform::Error::Invalid {
            kind,
            value: value.to_owned(),
            problem: e.to_string(),
        })
    })
}
