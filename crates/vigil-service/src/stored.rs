//! The parts of a stored scan report (the `vigil scan` JSON contract, [`vigil_scan::Report`])
//! that the gate, `explain` and `deployed` read back.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use vigil_matcher::FixState;
use vigil_policy::{FindingRef, ScanState};
use vigil_store::platform::CompletedScan;
use vigil_vulndb::{Severity, VulnId};

use crate::Error;

#[derive(Debug, Deserialize)]
struct Raw {
    coverage: RawCoverage,
    findings: Vec<StoredFinding>,
}

#[derive(Debug, Deserialize)]
struct RawCoverage {
    complete: bool,
    #[serde(default)]
    gaps: Vec<String>,
}

/// One finding of a stored report.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct StoredFinding {
    pub id: VulnId,
    #[serde(default)]
    pub aliases: Vec<VulnId>,
    pub severity: Severity,
    pub fix_state: FixState,
    #[serde(default)]
    pub fixed_version: Option<String>,
    pub package: StoredPackage,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct StoredPackage {
    pub ecosystem: String,
    pub name: String,
    pub version: String,
    #[serde(default)]
    pub source_name: Option<String>,
    #[serde(default)]
    pub source_version: Option<String>,
}

impl StoredFinding {
    pub fn as_ref(&self) -> FindingRef<'_> {
        FindingRef {
            id: &self.id,
            aliases: &self.aliases,
            severity: self.severity,
            has_fix: self.fix_state == FixState::Fixed,
        }
    }

    /// The VEX statement that suppresses it in image `digest` for `application`, if any
    /// (SPEC 5.6); the deciding statement is recorded in `used`.
    pub fn vex(
        &self,
        vex: &crate::vex::VexSet,
        application: Option<&str>,
        digest: &str,
        used: &mut std::collections::HashSet<crate::vex::StatementKey>,
    ) -> Option<vigil_scan::VexNote> {
        self.with_target(digest, |t| vex.suppression(application, t, used))
    }

    /// Calls `f` with what VEX statements are checked against: this finding in `digest`.
    pub fn with_target<R>(
        &self,
        digest: &str,
        f: impl FnOnce(&vigil_sbom::vex::FindingTarget<'_>) -> R,
    ) -> R {
        let ids: Vec<&str> = std::iter::once(&self.id)
            .chain(&self.aliases)
            .map(VulnId::as_str)
            .collect();
        let p = &self.package;
        f(&vigil_sbom::vex::FindingTarget {
            digest: Some(digest),
            ids: &ids,
            ecosystem: &p.ecosystem,
            name: &p.name,
            version: &p.version,
            source_name: p.source_name.as_deref(),
            source_version: p.source_version.as_deref(),
        })
    }

    /// Whether `id` is the finding's id or one of its aliases.
    pub fn names(&self, id: &str) -> bool {
        self.id.as_str().eq_ignore_ascii_case(id)
            || self
                .aliases
                .iter()
                .any(|a| a.as_str().eq_ignore_ascii_case(id))
    }
}

/// A completed scan read back.
#[derive(Debug)]
pub(crate) struct Stored {
    pub scan_id: i64,
    pub finished_at: Option<SystemTime>,
    pub db_version: Option<String>,
    pub complete: bool,
    pub gaps: Vec<String>,
    pub findings: Vec<StoredFinding>,
}

impl Stored {
    pub fn read(scan: &CompletedScan) -> Result<Self, Error> {
        let raw: Raw = serde_json::from_str(&scan.report).map_err(|e| Error::BadStoredReport {
            scan_id: scan.scan.id,
            digest: scan.scan.digest.clone(),
            problem: e.to_string(),
        })?;
        Ok(Self {
            scan_id: scan.scan.id,
            finished_at: scan.scan.finished_at,
            db_version: scan.scan.db_version.clone(),
            complete: raw.coverage.complete,
            gaps: raw.coverage.gaps,
            findings: raw.findings,
        })
    }

    pub fn state(&self) -> ScanState<'_> {
        if self.complete {
            ScanState::Completed
        } else {
            ScanState::Incomplete {
                reasons: &self.gaps,
            }
        }
    }
}

/// Counts over a scan's findings (as `summary` in the scan report).
///
/// JSON: `{"total", "critical", "high", "medium", "low", "unknown", "fixable"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanSummary {
    pub total: usize,
    pub critical: usize,
    pub high: usize,
    pub medium: usize,
    pub low: usize,
    pub unknown: usize,
    /// Findings with a fixed version.
    pub fixable: usize,
}

impl ScanSummary {
    pub(crate) fn of<'f>(findings: impl IntoIterator<Item = &'f StoredFinding>) -> Self {
        let mut s = Self::default();
        for f in findings {
            s.total += 1;
            match f.severity {
                Severity::Critical => s.critical += 1,
                Severity::High => s.high += 1,
                Severity::Medium => s.medium += 1,
                Severity::Low => s.low += 1,
                Severity::Unknown => s.unknown += 1,
            }
            if f.fix_state == FixState::Fixed {
                s.fixable += 1;
            }
        }
        s
    }

    pub(crate) fn of_report(report: &vigil_scan::Report) -> Self {
        let s = &report.summary;
        Self {
            total: s.total,
            critical: s.critical,
            high: s.high,
            medium: s.medium,
            low: s.low,
            unknown: s.unknown,
            fixable: s.fixable,
        }
    }
}
