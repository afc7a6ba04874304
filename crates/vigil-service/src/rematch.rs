//! Re-matching stored inventories after the vulnerability database changed (issue 12,
//! SPEC 5.5): every digest's latest completed scan holds the image's inventory (packages,
//! distribution, layers, detector errors); it is matched again against today's database
//! without pulling the image, stored as a new completed scan, and the findings it gained
//! and lost are recorded with it. The gate, the deployed view and the scan pages then read
//! the new scan like any other.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use serde_json::Value;
use vigil_scan::Inventory;
use vigil_store::Database;
use vigil_store::platform::{Rematch, database_version};

use crate::Error;
use crate::scan::{match_context, match_with};

/// What one re-match pass did.
#[derive(Debug, Default)]
pub struct RematchSummary {
    /// Digests whose latest scan was against another database version.
    pub images: usize,
    /// The re-matches recorded (one per image), with what changed.
    pub rematches: Vec<Rematch>,
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
        format!(
            "re-matched {} stored image(s) without pulling them: {new} new finding(s), {resolved} resolved, {changed} image(s) changed",
            self.images
        )
    }
}

/// A finding's identity across re-matches: `ID ECOSYSTEM/NAME@VERSION`.
fn keys(report: &Value) -> BTreeSet<String> {
    report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            let p = &f["package"];
            let s = |v: &Value| v.as_str().unwrap_or("").to_owned();
            format!(
                "{} {}/{}@{}",
                s(&f["id"]),
                s(&p["ecosystem"]),
                s(&p["name"]),
                s(&p["version"])
            )
        })
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
pub async fn rematch(
    db: &dyn Database,
    max_age: Duration,
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
    for head in db.latest_completed_scans().await? {
        if head.db_version.as_deref() == Some(version.as_str()) {
            continue;
        }
        let Some(done) = db.scan_report(head.id).await? else {
            continue;
        };
        let bad = |problem: String| Error::BadStoredReport {
            scan_id: head.id,
            digest: head.digest.clone(),
            problem,
        };
        let old: Value = done.json().map_err(|e| bad(e.to_string()))?;
        let inventory = inventory_of(&old).map_err(|e| bad(e.to_string()))?;
        let report = match_with(db, inventory, &ctx).await?;
        let new_json = serde_json::to_value(&report).map_err(|e| bad(e.to_string()))?;
        let (before, after) = (keys(&old), keys(&new_json));
        let gained: Vec<String> = after.difference(&before).cloned().collect();
        let lost: Vec<String> = before.difference(&after).cloned().collect();
        summary.images += 1;
        summary.rematches.push(
            db.record_rematch(&head, &version, &new_json.to_string(), &gained, &lost, now)
                .await?,
        );
    }
    Ok(summary)
}
