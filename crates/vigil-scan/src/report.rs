//! Inventory + advisories -> the scan report (SPEC 5, 9.1). The report is built here, in
//! one place, and printed by the binary's output layer in each format (STYLE.md: build a
//! report in one place and print it in another).

use std::time::{Duration, SystemTime};

use serde::Serialize;
use vigil_detect::Distro;
use vigil_matcher::{
    Coverage, CoverageInput, DatabaseState, Finding, FixState, LookupKey, MatchError, Matcher,
};
use vigil_vulndb::{Advisory, Severity};

use crate::inventory::{ImageSummary, Inventory, InventoryPackage};

/// The result of `vigil scan`. Serialised as its JSON output, a documented contract:
///
/// - `image`: as in the inventory (`reference`, `manifest_digest`, `layers[]`).
/// - `distro`: `id`, `version_id`, `codename`, `pretty_name`; absent when unknown.
/// - `coverage`: what was and was not checked (SPEC 5.7): `complete` (bool), `gaps[]`
///   (one sentence each), `ecosystems[]` (`ecosystem`, `packages`, `advisories`,
///   `covered`), `unsupported[]`, `end_of_life`, `database` (`updated`, `age_seconds`,
///   `max_age_seconds`, `stale`), `detector_errors[]`, `match_errors` (a count).
/// - `summary`: `total`, per severity `critical`, `high`, `medium`, `low`, `unknown`, and
///   `fixable` (findings with a fixed version), over the findings listed.
/// - `packages[]`: the inventory's packages (see `vigil inventory`).
/// - `findings[]`, ordered by severity (most severe first), id, then package: `id` (the CVE
///   when there is one), `aliases[]`, `severity`, `severity_source` (`{"label": ..}`,
///   `{"cvss": {kind, vector, score}}` or `"none"`), `cvss[]` (`advisory`, `kind`, `vector`,
///   `score`), `summary`, `package` (`ecosystem`, `name`, `version`, `arch`, `source_name`,
///   `source_version`, `purl`, `layer`, `path`), `installed_version` (the version compared:
///   the source version for Debian and Ubuntu), `fixed_version`, `fix_state` (`fixed`,
///   `not-fixed`, `will-not-fix`), `data_source` (`ecosystem`, `name`, `advisories[]`).
/// - `match_errors[]`: (package, advisory) pairs whose versions could not be compared.
/// - `suppressed[]`: findings a VEX statement says do not apply (SPEC 5.6), each the
///   finding's fields plus `vex` ([`VexNote`]); they are not in `findings`, `summary` or
///   `--fail-on`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub image: ImageSummary,
    pub distro: Option<Distro>,
    pub coverage: CoverageReport,
    pub summary: Summary,
    pub packages: Vec<InventoryPackage>,
    pub findings: Vec<Finding>,
    pub match_errors: Vec<MatchError>,
    pub suppressed: Vec<SuppressedFinding>,
}

/// The VEX statement that suppressed a finding (SPEC 5.6). JSON: `{"document": the
/// document's id or file name, "format": "openvex|cyclonedx", "statement": its index in
/// the document (0-based), "vulnerability": the id it names, "status": "not_affected|fixed",
/// "justification", "detail", "scope": "global" or "app:NAME"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct VexNote {
    pub document: String,
    pub format: String,
    pub statement: usize,
    pub vulnerability: String,
    pub status: String,
    #[serde(default)]
    pub justification: Option<String>,
    #[serde(default)]
    pub detail: Option<String>,
    pub scope: String,
}

impl VexNote {
    /// `VEX not_affected (vulnerable_code_not_in_execute_path) by vex.json #2, global`.
    pub fn sentence(&self) -> String {
        let why = self
            .justification
            .as_deref()
            .map(|j| format!(" ({j})"))
            .unwrap_or_default();
        format!(
            "VEX {}{why} by {} #{}, {}",
            self.status, self.document, self.statement, self.scope
        )
    }
}

/// A finding a VEX statement suppressed.
#[derive(Debug, Clone, Serialize)]
pub struct SuppressedFinding {
    #[serde(flatten)]
    pub finding: Finding,
    pub vex: VexNote,
}

/// [`Coverage`] plus its gaps spelt out, so that JSON readers need not re-derive them.
#[derive(Debug, Clone, Serialize)]
pub struct CoverageReport {
    #[serde(flatten)]
    pub coverage: Coverage,
    pub gaps: Vec<String>,
}

/// Counts over the findings of a report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub total: usize,
    pub critical: usize,
    pub high: usize,
    pub medium: usize,
    pub low: usize,
    pub unknown: usize,
    pub fixable: usize,
}

impl Summary {
    pub fn of(findings: &[Finding]) -> Summary {
        let mut s = Summary {
            total: findings.len(),
            ..Summary::default()
        };
        for f in findings {
            *match f.severity {
                Severity::Critical => &mut s.critical,
                Severity::High => &mut s.high,
                Severity::Medium => &mut s.medium,
                Severity::Low => &mut s.low,
                Severity::Unknown => &mut s.unknown,
            } += 1;
            if f.fix_state == FixState::Fixed {
                s.fixable += 1;
            }
        }
        s
    }
}

/// The matcher's view of an inventory package.
pub fn matcher_packages(inventory: &Inventory) -> Vec<vigil_matcher::Package> {
    inventory
        .packages
        .iter()
        .map(|p| vigil_matcher::Package {
            ecosystem: p.ecosystem.clone(),
            name: p.name.clone(),
            version: p.version.clone(),
            arch: p.arch.clone(),
            source_name: p.source_name.clone(),
            source_version: p.source_version.clone(),
            purl: Some(p.purl.clone()),
            layer: p.layer.clone(),
            path: p.path.clone(),
        })
        .collect()
}

/// The (ecosystem, name) pairs whose advisories the store must supply for this inventory.
pub fn lookup_keys(inventory: &Inventory) -> Vec<LookupKey> {
    vigil_matcher::lookup_keys(inventory.distro.as_ref(), &matcher_packages(inventory))
}

/// How the database and the clock look to this scan; "now" is passed in (STYLE.md).
#[derive(Debug, Clone)]
pub struct MatchContext {
    pub database: DatabaseState,
    pub max_age: Duration,
    pub now: SystemTime,
}

/// Matches `inventory` against `advisories` (those the store returned for
/// [`lookup_keys`]) and assesses coverage.
pub fn build(inventory: Inventory, advisories: &[Advisory], ctx: &MatchContext) -> Report {
    build_with(inventory, &Matcher::new(advisories), ctx)
}

/// [`build`] with a matcher indexed once for many inventories (a re-match pass): it may
/// hold more advisories than this inventory's lookup keys fetch; packages find only theirs.
pub fn build_with(inventory: Inventory, matcher: &Matcher<'_>, ctx: &MatchContext) -> Report {
    let packages = matcher_packages(&inventory);
    let matches = matcher.match_packages(inventory.distro.as_ref(), &packages);
    let detector_errors: Vec<vigil_matcher::DetectorError> = inventory
        .errors
        .iter()
        .map(|e| vigil_matcher::DetectorError {
            path: e.path.clone(),
            layer: e.layer.clone(),
            message: e.message.clone(),
        })
        .collect();
    let coverage = Coverage::assess(&CoverageInput {
        distro: inventory.distro.as_ref(),
        packages: &packages,
        detector_errors: &detector_errors,
        match_errors: &matches.errors,
        database: &ctx.database,
        max_age: ctx.max_age,
        now: ctx.now,
    });
    let gaps = coverage.gaps();
    Report {
        summary: Summary::of(&matches.findings),
        image: inventory.image,
        distro: inventory.distro,
        coverage: CoverageReport { coverage, gaps },
        packages: inventory.packages,
        findings: matches.findings,
        match_errors: matches.errors,
        suppressed: Vec::new(),
    }
}

impl Report {
    /// Keeps only findings of the given severities (all when empty) and, with
    /// `ignore_unfixed`, only those with a fixed version; the summary follows.
    pub fn filter(&mut self, severities: &[Severity], ignore_unfixed: bool) {
        self.findings.retain(|f| {
            (severities.is_empty() || severities.contains(&f.severity))
                && (!ignore_unfixed || f.fix_state == FixState::Fixed)
        });
        self.summary = Summary::of(&self.findings);
    }

    /// Moves the findings `vex` names a suppressing statement for into `suppressed`; the
    /// summary follows.
    pub fn suppress(&mut self, mut vex: impl FnMut(&Finding) -> Option<VexNote>) {
        let mut kept = Vec::with_capacity(self.findings.len());
        for f in std::mem::take(&mut self.findings) {
            match vex(&f) {
                Some(note) => self.suppressed.push(SuppressedFinding {
                    finding: f,
                    vex: note,
                }),
                None => kept.push(f),
            }
        }
        self.findings = kept;
        self.summary = Summary::of(&self.findings);
    }

    /// Whether any finding is at or above `threshold`.
    pub fn has_at_or_above(&self, threshold: Severity) -> bool {
        self.findings.iter().any(|f| f.severity >= threshold)
    }
}
