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
}

/// The alias kept for explanations: every finding is a [`GateFinding`].
pub type ExplainedFinding = GateFinding;

impl GateFinding {
    fn new(f: &StoredFinding, outcome: &Outcome<'_>) -> Self {
        Self {
            id: f.id.clone(),
            aliases: f.aliases.clone(),
            severity: f.severity,
            package: format!("{}/{}", f.package.ecosystem, f.package.name),
            version: f.package.version.clone(),
            fix_state: f.fix_state,
            fixed_version: f.fixed_version.clone(),
            verdict: outcome.verdict,
            rule: outcome.rule.as_ref().map(to_json),
            explanation: outcome.to_string(),
            expired: outcome.expired.iter().map(to_json).collect(),
        }
    }
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
    let target =
        vigil_store::platform::target(db, request.application, request.environment).await?;
    let digest = resolve_digest(request.image, opts).await?;
    let policies = db.policies().await?;
    let scan = db.latest_completed_scan(&digest).await?;
    let stored = scan.as_ref().map(Stored::read).transpose()?;
    let evaluator = Evaluator::new(&policies, &target, now);
    let state = stored.as_ref().map_or(ScanState::Missing, Stored::state);
    let findings: &[StoredFinding] = stored.as_ref().map_or(&[], |s| &s.findings);
    let decision = evaluator.gate(state, findings.iter().map(StoredFinding::as_ref));

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
            .map(|b| GateFinding::new(&findings[b.index], &b.outcome))
            .collect(),
        expired: decision.expired.iter().map(to_json).collect(),
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
    let decision = evaluator
        .gate(state, findings.iter().map(StoredFinding::as_ref))
        .decision;
    let explained = findings
        .iter()
        .map(|f| GateFinding::new(f, &evaluator.evaluate(&f.as_ref())))
        .collect();
    let unmatched = evaluator
        .unmatched(findings.iter().map(StoredFinding::as_ref))
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
    })
}

/// Blocked findings of a stored scan under `evaluator` (for `deployed`).
pub(crate) fn blocked_count(evaluator: &Evaluator<'_>, findings: &[StoredFinding]) -> usize {
    findings
        .iter()
        .filter(|f| evaluator.evaluate(&f.as_ref()).verdict == Verdict::Blocked)
        .count()
}
