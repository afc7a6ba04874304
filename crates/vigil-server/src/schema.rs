//! The request and response bodies of the API as the OpenAPI document describes them.
//!
//! The routes answer with the very types the CLI prints as JSON (`vigil_service`'s
//! `GateReport`, `Explanation`, `DeployedRow`, `vigil_policy`'s effective policy and audit
//! entries); those crates stay free of HTTP concerns, so their shapes are written here for
//! the document. They cannot drift unnoticed: the API tests validate every response of a
//! real server against the document (tests/it/openapi.rs).

#![allow(dead_code)] // schema-only twins: read by utoipa's derive, never built

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `{"error": "<reason>"}`, the body of every 4xx and 5xx.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NameBody {
    /// Lower-case letters, digits and `-`, as Kubernetes names.
    pub name: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EnvironmentBody {
    pub name: String,
    pub cluster: String,
    /// The Kubernetes namespace, unique in its cluster.
    pub namespace: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PipelineBody {
    pub name: String,
    pub application: String,
    /// Only pipelines with scanning enabled have their images scanned (SPEC 7.2).
    #[serde(default)]
    pub scan_enabled: bool,
}

/// One scan of an image digest (SPEC 7.3).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ScanBody {
    pub id: i64,
    pub digest: String,
    /// The reference it was submitted as.
    pub reference: String,
    /// The application it was submitted for (through one of its pipelines).
    pub application: Option<String>,
    #[schema(pattern = "^(queued|running|completed|failed)$")]
    pub state: String,
    /// Why it failed.
    pub error: Option<String>,
    /// The vulnerability database version it ran against.
    pub db_version: Option<String>,
    /// How many times a worker took it.
    pub attempts: u32,
    /// RFC 3339.
    pub queued_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// Whether it covered everything (SPEC 5.7); set once completed.
    pub complete: Option<bool>,
    pub summary: Option<Summary>,
}

/// Counts of a scan's findings.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Summary {
    pub total: u64,
    pub critical: u64,
    pub high: u64,
    pub medium: u64,
    pub low: u64,
    pub unknown: u64,
    /// Findings with a fixed version.
    pub fixable: u64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SubmitBody {
    /// `HOST/REPO:TAG`, `HOST/REPO@sha256:...` (or a path the server can read).
    pub image: String,
    /// The CI pipeline submitting it; its application owns the scan.
    pub pipeline: Option<String>,
    /// Queue a new scan even when one of the digest against today's database exists.
    #[serde(default)]
    pub force: bool,
}

/// The answer to a scan submission.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Submitted {
    /// `queued`: a scan waits for a worker (or was already waiting); `reused`: the digest has
    /// a completed scan against today's database; `disabled`: the pipeline does not scan.
    #[schema(pattern = "^(queued|reused|disabled)$")]
    pub outcome: String,
    pub pipeline: Option<String>,
    pub application: Option<String>,
    pub scan: Option<ScanBody>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct GateBody {
    pub application: String,
    pub environment: String,
    /// A digest (`sha256:...`) or a reference whose digest is looked up.
    pub image: String,
    /// Skip the decision: a rollback, recorded as such (SPEC 7.4).
    #[serde(default)]
    pub rollback: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeploymentBody {
    pub application: String,
    pub environment: String,
    pub digest: String,
}

/// A recorded deployment.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Deployment {
    pub id: i64,
    pub application: String,
    pub environment: String,
    pub cluster: String,
    pub digest: String,
    /// RFC 3339.
    pub deployed_at: String,
    pub deployed_by: String,
    pub rollback: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SeverityPolicyBody {
    /// `global`, `cluster:C`, `env:E`, `app:A`, `app:A@env:E`.
    pub scope: String,
    #[schema(pattern = "^(critical|high|medium|low|unknown)$")]
    pub severity: String,
    /// `allow`, `warn`, `block` or `inherit`.
    pub action: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UnscannedPolicyBody {
    pub scope: String,
    /// `allow`, `block`, or null to inherit.
    pub action: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CveRuleBody {
    pub scope: String,
    /// The vulnerability id (CVE-..., GHSA-..., ...).
    pub id: String,
    /// `whitelist` or `blacklist` (also `allow`, `block`, as the CLI says).
    pub action: String,
    pub reason: String,
    /// `YYYY-MM-DD` or RFC 3339.
    pub expires: Option<String>,
}

/// One entry of the policy audit log (SPEC 6.5).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    pub who: String,
    /// RFC 3339.
    pub when: String,
    pub scope: String,
    /// `{"severity": "critical"}`, `{"cve": "CVE-..."}` or `"unscanned"`.
    pub key: serde_json::Value,
    #[schema(pattern = "^(added|changed|removed|unchanged)$")]
    pub change: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// The effective policy of a scope (`vigil policy show --format json`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Effective {
    pub scope: String,
    /// From global down to the scope.
    pub lineage: Vec<String>,
    pub severities: Vec<EffectiveSeverity>,
    pub unscanned: EffectiveUnscanned,
    pub cve_rules: Vec<EffectiveCve>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EffectiveSeverity {
    pub severity: String,
    pub action: String,
    pub from: Option<String>,
    #[schema(pattern = "^(here|inherited|default)$")]
    pub origin: String,
    pub overrides: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EffectiveUnscanned {
    pub action: String,
    pub from: Option<String>,
    #[schema(pattern = "^(here|inherited|default)$")]
    pub origin: String,
    pub overrides: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EffectiveCve {
    pub rule: serde_json::Value,
    pub origin: String,
    pub expired: bool,
    pub overridden_by: Option<String>,
}

/// A finding and the policy's word on it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct GateFinding {
    pub id: String,
    pub aliases: Vec<String>,
    pub severity: String,
    /// `ECOSYSTEM/NAME`.
    pub package: String,
    pub version: String,
    pub fix_state: String,
    pub fixed_version: Option<String>,
    #[schema(pattern = "^(blocked|whitelisted|allowed|suppressed)$")]
    pub verdict: String,
    pub rule: Option<serde_json::Value>,
    pub explanation: String,
    pub expired: Vec<serde_json::Value>,
    /// The VEX statement that suppressed it (verdict `suppressed`): document, format,
    /// statement, vulnerability, status, justification, detail, scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vex: Option<serde_json::Value>,
}

/// The gate's answer (`vigil gate --format json`, SPEC 7.4).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct GateReport {
    pub application: String,
    pub environment: String,
    pub cluster: String,
    pub image: String,
    pub digest: String,
    #[schema(pattern = "^(allow|block)$")]
    pub decision: String,
    #[schema(pattern = "^(allow|block)$")]
    pub policy_decision: String,
    pub rollback: bool,
    pub rollback_deployment: Option<i64>,
    #[schema(pattern = "^(completed|incomplete|missing)$")]
    pub scan: String,
    pub scan_id: Option<i64>,
    pub scanned_at: Option<String>,
    pub db_version: Option<String>,
    pub incomplete_reasons: Vec<String>,
    pub unscanned_rule: Option<serde_json::Value>,
    pub blocking: Vec<GateFinding>,
    pub expired: Vec<serde_json::Value>,
    /// Findings VEX statements suppressed: the policy did not count them.
    pub suppressed: u64,
}

/// Every finding with its verdict and rule (`vigil explain --format json`, SPEC 6.7).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Explanation {
    pub application: String,
    pub environment: String,
    pub cluster: String,
    pub digest: String,
    #[schema(pattern = "^(completed|incomplete|missing)$")]
    pub scan: String,
    pub scan_id: Option<i64>,
    #[schema(pattern = "^(allow|block)$")]
    pub decision: String,
    pub findings: Vec<GateFinding>,
    pub unmatched_rules: Vec<serde_json::Value>,
    /// VEX statements in force for the application that suppress none of the findings.
    pub unused_vex: Vec<UnusedVexBody>,
}

/// One deployed (application, environment) pair (`vigil deployed --format json`, SPEC 7.5).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeployedRow {
    pub application: String,
    pub environment: String,
    pub cluster: String,
    pub digest: String,
    pub deployed_at: String,
    pub deployed_by: String,
    pub rollback: bool,
    #[schema(pattern = "^(completed|incomplete|missing)$")]
    pub scan: String,
    pub scan_id: Option<i64>,
    pub scanned_at: Option<String>,
    pub summary: Summary,
    pub blocked: u64,
    /// Findings VEX statements suppress for the application (not in `summary`).
    pub suppressed: u64,
}

/// One webhook's delivery of a notification.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeliveryBody {
    pub url: String,
    pub attempts: u32,
    pub delivered_at: Option<String>,
    /// When the next try is due; null once delivered.
    pub next_attempt_at: Option<String>,
    pub last_error: Option<String>,
}

/// A notification (SPEC 7.7): a deployment a re-match gave findings the policy blocks.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EventBody {
    pub id: i64,
    pub at: String,
    #[schema(pattern = "^finding\\.blocked$")]
    pub kind: String,
    pub application: String,
    pub environment: String,
    pub digest: String,
    pub rematch_id: Option<i64>,
    /// The webhook body without its `id`: kind, at, application, environment, cluster,
    /// image, digest, db_version, previous_scan_id and the blocked findings.
    pub payload: serde_json::Value,
    pub deliveries: Vec<DeliveryBody>,
}

/// A re-match of a stored inventory (SPEC 5.5); findings are `ID ECOSYSTEM/NAME@VERSION`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RematchBody {
    pub id: i64,
    pub digest: String,
    pub scan_id: i64,
    pub previous_scan_id: i64,
    pub db_version: String,
    pub at: String,
    pub new: Vec<String>,
    pub resolved: Vec<String>,
}

/// A statement that suppresses nothing it could (SPEC 5.6).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UnusedVexBody {
    pub document_id: Option<i64>,
    pub document: String,
    pub statement: u64,
    pub vulnerability: String,
    #[schema(pattern = "^(not_affected|fixed)$")]
    pub status: String,
    pub products: Vec<String>,
    /// `global` or `app:NAME`.
    pub scope: String,
}

/// A VEX document imported (SPEC 5.6).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VexBody {
    pub id: i64,
    pub name: String,
    #[schema(pattern = "^(openvex|cyclonedx)$")]
    pub format: String,
    pub document_id: Option<String>,
    /// `global` or `app:NAME`.
    pub scope: String,
    pub statements: u64,
    /// Statements with status not_affected or fixed.
    pub suppressing: u64,
    /// Suppressing statements that cover no finding of any image's latest scan.
    pub unused: Vec<UnusedVexBody>,
}

/// A stored VEX document as listed.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VexListingBody {
    #[serde(flatten)]
    pub document: VexBody,
    pub imported_at: String,
    pub imported_by: String,
}

/// An API token (never its secret).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenBody {
    pub id: i64,
    pub name: String,
    #[schema(pattern = "^(admin|ci|viewer)$")]
    pub role: String,
    /// The applications it is restricted to; null for all.
    pub apps: Option<Vec<String>>,
    pub created_at: String,
    pub created_by: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NewTokenBody {
    pub name: String,
    /// `admin`, `ci` or `viewer`.
    pub role: String,
    /// Restrict it to these applications (not for admin tokens).
    pub apps: Option<Vec<String>>,
}

/// A created token: the secret, shown this once, and the token.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedToken {
    pub token: String,
    pub id: i64,
    pub name: String,
    pub role: String,
    pub apps: Option<Vec<String>>,
    pub created_at: String,
    pub created_by: String,
}

/// The vulnerability database (`vigil db status --format json`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DbStatus {
    pub database: String,
    pub last_update: Option<String>,
    pub stale: bool,
    pub sources: Vec<serde_json::Value>,
}

/// What an import did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ImportSummary {
    pub source: String,
    pub records: u64,
    pub unchanged: bool,
    pub duplicates: u64,
    pub ecosystems: serde_json::Value,
}

/// An integration and its install status (SPEC 8).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IntegrationBody {
    /// `cicd` or `vulnerability-scanning`.
    pub name: String,
    pub title: String,
    pub description: String,
    /// Integrations that must be installed first.
    pub requires: Vec<String>,
    /// The server's version of it.
    pub version: String,
    /// The version installed last; null until installed once.
    pub installed_version: Option<String>,
    /// Installed, at an older version than the server's.
    pub update_available: bool,
    #[schema(pattern = "^(not_installed|initializing|installing|installed|failed|timed_out)$")]
    pub status: String,
    /// When it entered its status (RFC 3339); null when never touched.
    pub status_at: Option<String>,
    /// Tries of the current or last install.
    pub attempts: u32,
    pub started_at: Option<String>,
    /// The replica running the install.
    pub runner: Option<String>,
    /// Why it failed or timed out.
    pub reason: Option<String>,
}

/// One line of an install log.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InstallLogLineBody {
    /// Ask for the lines after this one with `?after=ID`.
    pub id: i64,
    pub at: String,
    pub line: String,
}

/// A part of an install log, with the status it was read at.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InstallLogBody {
    pub name: String,
    #[schema(pattern = "^(not_installed|initializing|installing|installed|failed|timed_out)$")]
    pub status: String,
    /// True while an install runs: more lines will come.
    pub running: bool,
    pub lines: Vec<InstallLogLineBody>,
}
