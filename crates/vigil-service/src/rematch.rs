//! Re-matching stored inventories after the vulnerability database changed (issue 12,
//! SPEC 5.5): every digest's latest completed scan holds the image's inventory (packages,
//! distribution, layers, detector errors); it is matched again against today's database
//! without pulling the image, stored as a new completed scan, and the findings it gained
//! and lost are recorded with it. The gate, the deployed view and the scan pages then read
//! the new scan like any other.
//!
//! When a deployment of a re-matched digest gains findings that today's policy blocks for
//! its (application, environment), an event for the notifications outbox (SPEC 7.7) is
//! written in the same transaction, with a delivery to each configured webhook URL
//! ([`crate::notify`] sends them).

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, SystemTime};

use serde_json::Value;
use vigil_policy::{Evaluator, Verdict};
use vigil_scan::Inventory;
use vigil_store::Database;
use vigil_store::platform::{Deployment, DeploymentFilter, NewEvent, Rematch, database_version};

use crate::Error;
use crate::gate::GateFinding;
use crate::scan::match_context;
use crate::stored::StoredFinding;

/// What one re-match pass did.
#[derive(Debug, Default)]
pub struct RematchSummary {
    /// Digests whose latest scan was against another database version.
    pub images: usize,
    /// The re-matches recorded (one per image), with what changed.
    pub rematches: Vec<Rematch>,
    /// Notifications written: deployments that gained findings today's policy blocks.
    pub events: usize,
}

impl RematchSummary {
    /// One line: `re-matched 3 images without pulling them: 2 new findings, 1 resolved`.
    pub fn line(&self) -> String {
        let new: usize = self.rematches.iter().map(|r| r.new.len()).sum();
        let resolved: usize = self.rematches.iter().map(|r| r.resolved.len()).sum();
        let changed = self
            .rematches
            .iter()
            .filter(|r| !r.new.is_empty() || !r.resolved.is_empty())
            .count();
        let mut line = format!(
            "re-matched {} stored image(s) without pulling them: {new} new finding(s), {resolved} resolved, {changed} image(s) changed",
            self.images
        );
        if self.events > 0 {
            line.push_str(&format!(
                "; {} deployment(s) gained findings the policy blocks (notified)",
                self.events
            ));
        }
        line
    }
}

/// What a whole re-match pass reads once.
#[derive(Clone, Copy)]
struct Pass<'a> {
    policies: &'a vigil_policy::Policies,
    vex: &'a crate::vex::VexSet,
    version: &'a str,
    now: SystemTime,
}

/// The event kind of a deployment that gained blocked findings.
pub const FINDING_BLOCKED: &str = "finding.blocked";

/// The events for the deployments of one re-matched digest: for each current deployment,
/// the gained findings (keys in `gained`) that today's policy blocks there.
///
/// Payload (a documented contract, the webhook body without its `id`): `{"kind":
/// "finding.blocked", "at": RFC 3339, "application", "environment", "cluster", "image", "digest",
/// "db_version", "previous_scan_id", "findings": [GateFinding with verdict "blocked"]}`.
fn events_for(
    pass: &Pass<'_>,
    deployments: &[&Deployment],
    head: &vigil_store::platform::Scan,
    report: &Value,
    gained: &BTreeSet<String>,
) -> Result<Vec<NewEvent>, Error> {
    let Pass {
        policies,
        vex,
        version,
        now,
    } = *pass;
    if deployments.is_empty() || gained.is_empty() {
        return Ok(Vec::new());
    }
    let findings: Vec<StoredFinding> =
        serde_json::from_value(report["findings"].clone()).map_err(|e| Error::BadStoredReport {
            scan_id: head.id,
            digest: head.digest.clone(),
            problem: e.to_string(),
        })?;
    let fresh: Vec<&StoredFinding> = findings
        .iter()
        .filter(|f| gained.contains(&finding_key(f)))
        .collect();
    let mut events = Vec::new();
    for d in deployments {
        let target = crate::deployed::target_of(d)?;
        let evaluator = Evaluator::new(policies, &target, now);
        let blocked: Vec<GateFinding> = fresh
            .iter()
            // A finding a VEX statement suppresses for the application is no news.
            .filter(|f| {
                f.vex(
                    vex,
                    Some(&d.application),
                    &head.digest,
                    &mut Default::default(),
                )
                .is_none()
            })
            .filter_map(|f| {
                let outcome = evaluator.evaluate(&f.as_ref());
                (outcome.verdict == Verdict::Blocked).then(|| GateFinding::new(f, &outcome))
            })
            .collect();
        if blocked.is_empty() {
            continue;
        }
        let payload = serde_json::json!({
            "kind": FINDING_BLOCKED,
            "at": vigil_policy::time::format(now),
            "application": d.application,
            "environment": d.environment,
            "cluster": d.cluster,
            "image": head.reference,
            "digest": head.digest,
            "db_version": version,
            "previous_scan_id": head.id,
            "findings": blocked,
        });
        events.push(NewEvent {
            kind: FINDING_BLOCKED.to_owned(),
            application: d.application.clone(),
            environment: d.environment.clone(),
            payload: payload.to_string(),
        });
    }
    Ok(events)
}

fn finding_key(f: &StoredFinding) -> String {
    format!(
        "{} {}/{}@{}",
        f.id, f.package.ecosystem, f.package.name, f.package.version
    )
}

/// Stored images re-matched with one read of their advisories.
const BATCH: usize = 64;

/// A finding's identity across re-matches, from a stored report's finding:
/// `ID ECOSYSTEM/NAME@VERSION` (what [`Rematch`] lists).
pub fn report_finding_key(f: &Value) -> String {
    let p = &f["package"];
    let s = |v: &Value| v.as_str().unwrap_or("").to_owned();
    format!(
        "{} {}/{}@{}",
        s(&f["id"]),
        s(&p["ecosystem"]),
        s(&p["name"]),
        s(&p["version"])
    )
}

fn bad_report(head: &vigil_store::platform::Scan, problem: impl std::fmt::Display) -> Error {
    Error::BadStoredReport {
        scan_id: head.id,
        digest: head.digest.clone(),
        problem: problem.to_string(),
    }
}

fn keys_of(report: &Value) -> BTreeSet<String> {
    report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(report_finding_key)
        .collect()
}

/// The inventory a stored report was made from.
pub fn inventory_of(report: &Value) -> Result<Inventory, serde_json::Error> {
    Ok(Inventory {
        image: serde_json::from_value(report["image"].clone())?,
        distro: serde_json::from_value(report["distro"].clone())?,
        packages: serde_json::from_value(report["packages"].clone())?,
        errors: match report["coverage"].get("detector_errors") {
            Some(e) => serde_json::from_value(e.clone())?,
            None => Vec::new(),
        },
    })
}

/// Re-matches the latest completed scan of every digest that was scanned against another
/// database version than today's. Does nothing on an empty database.
///
/// `webhooks`: the URLs each notification is to be delivered to (SPEC 7.7).
pub async fn rematch(
    db: &dyn Database,
    max_age: Duration,
    webhooks: &[String],
    now: SystemTime,
) -> Result<RematchSummary, Error> {
    let mut summary = RematchSummary::default();
    // One context for the whole pass: the database does not change during it.
    let ctx = match match_context(db, max_age, now).await {
        Ok(ctx) => ctx,
        Err(Error::EmptyDatabase) => return Ok(summary),
        Err(e) => return Err(e),
    };
    let version = database_version(db).await?;
    let deployments = db.current_deployments(&DeploymentFilter::default()).await?;
    let mut deployed: HashMap<&str, Vec<&Deployment>> = HashMap::new();
    for d in &deployments {
        deployed.entry(d.digest.as_str()).or_default().push(d);
    }
    let policies = db.policies().await?;
    let vex = crate::vex::VexSet::load(db).await?;
    let heads: Vec<vigil_store::platform::Scan> = db
        .latest_completed_scans()
        .await?
        .into_iter()
        .filter(|h| h.db_version.as_deref() != Some(version.as_str()))
        .collect();
    let pass = Pass {
        policies: &policies,
        vex: &vex,
        version: &version,
        now,
    };
    // Images of one fleet share most packages: a batch's advisories are read and indexed
    // once for all its images, instead of once per image (memory stays bounded by BATCH).
    for batch in heads.chunks(BATCH) {
        let mut items = Vec::with_capacity(batch.len());
        for head in batch {
            let Some(done) = db.scan_report(head.id).await? else {
                continue;
            };
            let old: Value = done.json().map_err(|e| bad_report(head, e))?;
            let inventory = inventory_of(&old).map_err(|e| bad_report(head, e))?;
            items.push((head, old, inventory));
        }
        let keys: BTreeSet<(String, String)> = items
            .iter()
            .flat_map(|(_, _, inv)| vigil_scan::report::lookup_keys(inv))
            .map(|k| (k.ecosystem, k.name))
            .collect();
        let keys: Vec<(String, String)> = keys.into_iter().collect();
        let advisories: Vec<vigil_vulndb::Advisory> = db
            .advisories_for(&keys)
            .await?
            .into_iter()
            .map(|s| s.advisory)
            .collect();
        let matcher = vigil_matcher::Matcher::new(&advisories);
        for (head, old, inventory) in items {
            let report = vigil_scan::report::build_with(inventory, &matcher, &ctx);
            let new_json = serde_json::to_value(&report).map_err(|e| bad_report(head, e))?;
            let (before, after) = (keys_of(&old), keys_of(&new_json));
            let gained: BTreeSet<String> = after.difference(&before).cloned().collect();
            let lost: Vec<String> = before.difference(&after).cloned().collect();
            let events = events_for(
                &pass,
                deployed
                    .get(head.digest.as_str())
                    .map_or(&[][..], |d| &d[..]),
                head,
                &new_json,
                &gained,
            )?;
            let gained: Vec<String> = gained.into_iter().collect();
            summary.images += 1;
            summary.events += events.len();
            summary.rematches.push(
                db.record_rematch(
                    head,
                    &version,
                    &new_json.to_string(),
                    &gained,
                    &lost,
                    &events,
                    webhooks,
                    now,
                )
                .await?,
            );
        }
    }
    Ok(summary)
}
