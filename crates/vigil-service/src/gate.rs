//! The deployment gate (SPEC 7.4) and explanations (SPEC 6.7).

use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use vigil_matcher::FixState;
use vigil_policy::{Decision, Evaluator, Outcome, ScanState, ScanStatus, Verdict};
use vigil_store::Database;
use vigil_store::platform::NewDeployment;
use vigil_vulndb::{Severity, VulnId};

use crate::Error;
use crate::scan::{ScanOptions, resolve_digest};
use crate::stored::{Stored, StoredFinding};
use crate::vex::{UnusedStatement, VexSet};

/// What the gate reads, kept between requests (the server answers the gate for the same
/// few images many times a second, and every database round trip costs more than the
/// decision itself).
///
/// Parsed reports of completed scans are kept by scan id: a completed scan never changes.
/// With a `ttl` (the server's is 1 s), the policies, the (application, environment) targets
/// and which completed scan of a digest is the latest are reused for that long: a change
/// made on another replica applies within `ttl`; one made through this cache's owner is
/// applied at once by calling [`GateCache::forget`]. A digest without a completed scan is
/// never remembered, so a scan that just completed is seen by the next gate. Bounded: past
/// [`GateCache::CAPACITY`] entries a map starts over.
#[derive(Default)]
pub struct GateCache {
    ttl: std::time::Duration,
    reports: Locked<std::collections::HashMap<i64, std::sync::Arc<Stored>>>,
    heads: Locked<std::collections::HashMap<String, (std::time::Instant, i64)>>,
    policies: Locked<Option<(std::time::Instant, std::sync::Arc<vigil_policy::Policies>)>>,
    vex: Locked<Option<(std::time::Instant, std::sync::Arc<VexSet>)>>,
    targets: Locked<
        std::collections::HashMap<(String, String), (std::time::Instant, vigil_policy::Target)>,
    >,
}

/// A mutex that shrugs off poisoning (the maps hold no invariant a panic could break).
#[derive(Default)]
struct Locked<T>(std::sync::Mutex<T>);

impl<T> Locked<T> {
    fn lock(&self) -> std::sync::MutexGuard<'_, T> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl GateCache {
    pub const CAPACITY: usize = 512;

    /// Reuses policies, targets and latest scans for `ttl` (reports always).
    pub fn with_ttl(ttl: std::time::Duration) -> Self {
        Self {
            ttl,
            ..Self::default()
        }
    }

    /// Forgets everything but the reports: after a change of policies or entities.
    pub fn forget(&self) {
        *self.policies.lock() = None;
        *self.vex.lock() = None;
        self.targets.lock().clear();
        self.heads.lock().clear();
    }

    fn fresh(&self, at: std::time::Instant) -> bool {
        at.elapsed() < self.ttl
    }

    async fn policies(
        &self,
        db: &dyn Database,
    ) -> Result<std::sync::Arc<vigil_policy::Policies>, Error> {
        if let Some((at, p)) = &*self.policies.lock()
            && self.fresh(*at)
        {
            return Ok(p.clone());
        }
        let p = std::sync::Arc::new(db.policies().await?);
        if !self.ttl.is_zero() {
            *self.policies.lock() = Some((std::time::Instant::now(), p.clone()));
        }
        Ok(p)
    }

    async fn vex(&self, db: &dyn Database) -> Result<std::sync::Arc<VexSet>, Error> {
        if let Some((at, v)) = &*self.vex.lock()
            && self.fresh(*at)
        {
            return Ok(v.clone());
        }
        let v = std::sync::Arc::new(VexSet::load(db).await?);
        if !self.ttl.is_zero() {
            *self.vex.lock() = Some((std::time::Instant::now(), v.clone()));
        }
        Ok(v)
    }

    async fn target(
        &self,
        db: &dyn Database,
        application: &str,
        environment: &str,
    ) -> Result<vigil_policy::Target, Error> {
        let key = (application.to_owned(), environment.to_owned());
        if let Some((at, t)) = self.targets.lock().get(&key)
            && self.fresh(*at)
        {
            return Ok(t.clone());
        }
        let t = vigil_store::platform::target(db, application, environment).await?;
        if !self.ttl.is_zero() {
            let mut map = self.targets.lock();
            if map.len() >= Self::CAPACITY {
                map.clear();
            }
            map.insert(key, (std::time::Instant::now(), t.clone()));
        }
        Ok(t)
    }

    /// The parsed report of the completed scan of `digest` that finished last.
    pub(crate) async fn latest(
        &self,
        db: &dyn Database,
        digest: &str,
    ) -> Result<Option<std::sync::Arc<Stored>>, Error> {
        let cached = self
            .heads
            .lock()
            .get(digest)
            .filter(|(at, _)| self.fresh(*at))
            .map(|(_, id)| *id);
        let id = match cached {
            Some(id) => id,
            None => {
                let Some(head) = db.latest_completed_scan_head(digest).await? else {
                    return Ok(None);
                };
                if !self.ttl.is_zero() {
                    let mut map = self.heads.lock();
                    if map.len() >= Self::CAPACITY {
                        map.clear();
                    }
                    map.insert(digest.to_owned(), (std::time::Instant::now(), head.id));
                }
                head.id
            }
        };
        if let Some(hit) = self.reports.lock().get(&id) {
            return Ok(Some(hit.clone()));
        }
        let Some(full) = db.scan_report(id).await? else {
            return Ok(None);
        };
        let stored = std::sync::Arc::new(Stored::read(&full)?);
        let mut map = self.reports.lock();
        if map.len() >= Self::CAPACITY {
            map.clear();
        }
        map.insert(id, stored.clone());
        Ok(Some(stored))
    }
}

/// What to gate.
#[derive(Debug, Clone)]
pub struct GateRequest<'a> {
    pub application: &'a str,
    pub environment: &'a str,
    /// An image reference or a bare digest (`sha256:...`).
    pub image: &'a str,
    /// Skip the decision: the caller says this deployment is a rollback (SPEC 7.4). It is
    /// logged: recorded as a deployment with `rollback` set, by `who`.
    pub rollback: bool,
    /// Who asks (kept with a rollback).
    pub who: &'a str,
}

/// A finding and the policy's word on it.
///
/// JSON: `{"id", "aliases", "severity", "package", "version", "fix_state",
/// "fixed_version", "verdict": "blocked|whitelisted|allowed", "rule": null | {"scope", "key",
/// "action", ("author", "reason", "expires" for a CVE rule)}, "explanation", "expired":
/// [CVE rules that ran out]}`. `explanation` is the sentence `vigil explain` prints:
/// `blocked by global severity critical block`, `no rule: allowed`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GateFinding {
    pub id: VulnId,
    pub aliases: Vec<VulnId>,
    pub severity: Severity,
    /// `ECOSYSTEM/NAME` of the affected package.
    pub package: String,
    pub version: String,
    pub fix_state: FixState,
    pub fixed_version: Option<String>,
    pub verdict: Verdict,
    pub rule: Option<serde_json::Value>,
    pub explanation: String,
    pub expired: Vec<serde_json::Value>,
    /// The VEX statement that suppressed it (verdict `suppressed`, SPEC 5.6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vex: Option<vigil_scan::VexNote>,
}

/// The alias kept for explanations: every finding is a [`GateFinding`].
pub type ExplainedFinding = GateFinding;

impl GateFinding {
    pub(crate) fn new(f: &StoredFinding, outcome: &Outcome<'_>) -> Self {
        Self {
            rule: outcome.rule.as_ref().map(to_json),
            expired: outcome.expired.iter().map(to_json).collect(),
            ..Self::of(f, outcome.verdict, outcome.to_string(), None)
        }
    }

    /// A finding a VEX statement suppressed: no rule looked at it.
    pub(crate) fn suppressed(f: &StoredFinding, note: vigil_scan::VexNote) -> Self {
        let explanation = format!("suppressed: {}", note.sentence());
        Self::of(f, Verdict::Suppressed, explanation, Some(note))
    }

    fn of(
        f: &StoredFinding,
        verdict: Verdict,
        explanation: String,
        vex: Option<vigil_scan::VexNote>,
    ) -> Self {
        Self {
            id: f.id.clone(),
            aliases: f.aliases.clone(),
            severity: f.severity,
            package: format!("{}/{}", f.package.ecosystem, f.package.name),
            version: f.package.version.clone(),
            fix_state: f.fix_state,
            fixed_version: f.fixed_version.clone(),
            verdict,
            rule: None,
            explanation,
            expired: Vec::new(),
            vex,
        }
    }
}

/// The findings of image `digest` split by the VEX statements in force for `application`:
/// those that stay (for the policy) and those suppressed, with the statements used.
pub(crate) fn split_by_vex<'f>(
    findings: &'f [StoredFinding],
    vex: &VexSet,
    application: Option<&str>,
    digest: &str,
    used: &mut std::collections::HashSet<crate::vex::StatementKey>,
) -> (
    Vec<&'f StoredFinding>,
    Vec<(&'f StoredFinding, vigil_scan::VexNote)>,
) {
    let mut active = Vec::with_capacity(findings.len());
    let mut suppressed = Vec::new();
    for f in findings {
        match f.vex(vex, application, digest, used) {
            Some(note) => suppressed.push((f, note)),
            None => active.push(f),
        }
    }
    (active, suppressed)
}

fn to_json<T: Serialize>(v: &T) -> serde_json::Value {
    // Rules of vigil-policy are plain strings, enums and times: they always serialise.
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

/// The gate's answer for one deployment.
///
/// JSON (`vigil gate --format json`), a documented contract: `{"application",
/// "environment", "cluster", "image", "digest", "decision": "allow|block" (what the caller
/// does), "policy_decision": "allow|block" (what the policy said; differs only for a
/// rollback), "rollback": bool, "rollback_deployment": null | id, "scan":
/// "completed|incomplete|missing", "scan_id": null | n, "scanned_at": null | RFC 3339,
/// "db_version": null | "sha256:..", "incomplete_reasons": [..], "unscanned_rule": null |
/// {"scope", "action"}, "blocking": [GateFinding], "expired": [CVE rules]}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GateReport {
    pub application: String,
    pub environment: String,
    pub cluster: String,
    pub image: String,
    pub digest: String,
    pub decision: Decision,
    pub policy_decision: Decision,
    pub rollback: bool,
    pub rollback_deployment: Option<i64>,
    pub scan: ScanStatus,
    pub scan_id: Option<i64>,
    pub scanned_at: Option<String>,
    pub db_version: Option<String>,
    pub incomplete_reasons: Vec<String>,
    pub unscanned_rule: Option<serde_json::Value>,
    pub blocking: Vec<GateFinding>,
    pub expired: Vec<serde_json::Value>,
    /// Findings VEX statements suppressed (SPEC 5.6): the policy did not count them.
    #[serde(default)]
    pub suppressed: usize,
}

/// The gate (SPEC 7.4): the latest completed scan of the image's digest, evaluated under
/// today's policies for (application, environment and its cluster). No completed scan, or
/// an incomplete one, is decided by the `unscanned` setting (SPEC 6.6). With
/// `request.rollback` the decision is still computed and reported, but the answer is allow,
/// and the bypass is recorded as a rollback deployment by `request.who`.
pub async fn gate(
    db: &dyn Database,
    request: &GateRequest<'_>,
    opts: &ScanOptions,
    now: SystemTime,
) -> Result<GateReport, Error> {
    gate_cached(db, &GateCache::default(), request, opts, now).await
}

/// [`gate`] reading through `cache`.
pub async fn gate_cached(
    db: &dyn Database,
    cache: &GateCache,
    request: &GateRequest<'_>,
    opts: &ScanOptions,
    now: SystemTime,
) -> Result<GateReport, Error> {
    let target = cache
        .target(db, request.application, request.environment)
        .await?;
    let digest = resolve_digest(request.image, opts).await?;
    let policies = cache.policies(db).await?;
    let stored = cache.latest(db, &digest).await?;
    let evaluator = Evaluator::new(&policies, &target, now);
    let state = stored.as_ref().map_or(ScanState::Missing, |s| s.state());
    let findings: &[StoredFinding] = stored.as_ref().map_or(&[], |s| &s.findings);
    let vex = cache.vex(db).await?;
    let (active, suppressed) = split_by_vex(
        findings,
        &vex,
        Some(request.application),
        &digest,
        &mut Default::default(),
    );
    let decision = evaluator.gate(state, active.iter().map(|f| f.as_ref()));

    let mut report = GateReport {
        application: target.application.to_string(),
        environment: target.environment.to_string(),
        cluster: target.cluster.to_string(),
        image: request.image.to_owned(),
        digest: digest.clone(),
        decision: decision.decision,
        policy_decision: decision.decision,
        rollback: request.rollback,
        rollback_deployment: None,
        scan: decision.scan,
        scan_id: stored.as_ref().map(|s| s.scan_id),
        scanned_at: stored
            .as_ref()
            .and_then(|s| s.finished_at)
            .map(vigil_policy::time::format),
        db_version: stored.as_ref().and_then(|s| s.db_version.clone()),
        incomplete_reasons: decision.incomplete_reasons.clone(),
        unscanned_rule: decision.unscanned_rule.map(to_json),
        blocking: decision
            .blocking
            .iter()
            .map(|b| GateFinding::new(active[b.index], &b.outcome))
            .collect(),
        expired: decision.expired.iter().map(to_json).collect(),
        suppressed: suppressed.len(),
    };
    if request.rollback {
        let deployment = db
            .record_deployment(
                &NewDeployment {
                    application: report.application.clone(),
                    environment: report.environment.clone(),
                    digest,
                    by: request.who.to_owned(),
                    rollback: true,
                },
                now,
            )
            .await?;
        tracing::warn!(
            application = %report.application,
            environment = %report.environment,
            digest = %report.digest,
            who = request.who,
            policy_decision = %report.policy_decision,
            deployment = deployment.id,
            "rollback: the gate was skipped"
        );
        report.decision = Decision::Allow;
        report.rollback_deployment = Some(deployment.id);
    }
    Ok(report)
}

/// Every finding of an image's latest completed scan with its verdict and the rule behind
/// it, for one deployment target (SPEC 6.7, `vigil explain`).
///
/// JSON (`vigil explain --format json`), a documented contract: `{"application",
/// "environment", "cluster", "digest", "scan": "completed|incomplete|missing", "scan_id",
/// "decision": "allow|block", "findings": [GateFinding], "unmatched_rules": [live CVE rules
/// of the target that name none of the findings]}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Explanation {
    pub application: String,
    pub environment: String,
    pub cluster: String,
    pub digest: String,
    pub scan: ScanStatus,
    pub scan_id: Option<i64>,
    pub decision: Decision,
    pub findings: Vec<ExplainedFinding>,
    pub unmatched_rules: Vec<serde_json::Value>,
    /// VEX statements in force for the application that suppress none of the findings
    /// (their products match none of this image's findings).
    #[serde(default)]
    pub unused_vex: Vec<UnusedStatement>,
}

/// Explains the gate's view of `image` (a digest or a reference) for (application,
/// environment): every finding with its verdict and rule, or "no rule: allowed".
pub async fn explain(
    db: &dyn Database,
    application: &str,
    environment: &str,
    image: &str,
    opts: &ScanOptions,
    now: SystemTime,
) -> Result<Explanation, Error> {
    let target = vigil_store::platform::target(db, application, environment).await?;
    let digest = resolve_digest(image, opts).await?;
    let policies = db.policies().await?;
    let scan = db.latest_completed_scan(&digest).await?;
    let stored = scan.as_ref().map(Stored::read).transpose()?;
    let evaluator = Evaluator::new(&policies, &target, now);
    let state = stored.as_ref().map_or(ScanState::Missing, Stored::state);
    let findings: &[StoredFinding] = stored.as_ref().map_or(&[], |s| &s.findings);
    let vex = VexSet::load(db).await?;
    let mut used = std::collections::HashSet::new();
    // One VEX decision per finding, in the report's order.
    let notes: Vec<Option<vigil_scan::VexNote>> = findings
        .iter()
        .map(|f| f.vex(&vex, Some(application), &digest, &mut used))
        .collect();
    let active: Vec<&StoredFinding> = findings
        .iter()
        .zip(&notes)
        .filter(|(_, n)| n.is_none())
        .map(|(f, _)| f)
        .collect();
    let decision = evaluator
        .gate(state, active.iter().map(|f| f.as_ref()))
        .decision;
    let explained = findings
        .iter()
        .zip(notes)
        .map(|(f, note)| match note {
            Some(note) => GateFinding::suppressed(f, note),
            None => GateFinding::new(f, &evaluator.evaluate(&f.as_ref())),
        })
        .collect();
    let unused_vex = vex.unused(Some(application), &used);
    let unmatched = evaluator
        .unmatched(active.iter().map(|f| f.as_ref()))
        .iter()
        .map(to_json)
        .collect();
    Ok(Explanation {
        application: target.application.to_string(),
        environment: target.environment.to_string(),
        cluster: target.cluster.to_string(),
        digest,
        scan: if stored.is_some() {
            if stored.as_ref().is_some_and(|s| s.complete) {
                ScanStatus::Completed
            } else {
                ScanStatus::Incomplete
            }
        } else {
            ScanStatus::Missing
        },
        scan_id: stored.as_ref().map(|s| s.scan_id),
        decision,
        findings: explained,
        unmatched_rules: unmatched,
        unused_vex,
    })
}

/// Blocked findings of a stored scan under `evaluator` (for `deployed`).
pub(crate) fn blocked_count(evaluator: &Evaluator<'_>, findings: &[&StoredFinding]) -> usize {
    findings
        .iter()
        .filter(|f| evaluator.evaluate(&f.as_ref()).verdict == Verdict::Blocked)
        .count()
}
