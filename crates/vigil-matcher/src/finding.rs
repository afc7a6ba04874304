//! Findings, and how matches of one package are merged into them (SPEC 5.3).
//!
//! A finding is one vulnerability in one installed package. Several advisories often
//! describe the same vulnerability for the same package: the Debian tracker's `CVE-…`
//! record, a GHSA that aliases the CVE, a PYSEC that aliases both. They are grouped with a
//! union-find over their alias links, so chains (`PYSEC -> GHSA -> CVE`) join too. What
//! links two ids:
//! - `aliases`: by OSV's definition the same vulnerability.
//! - `upstream`, only when it names exactly one id (`DEBIAN-CVE-X` -> `CVE-X`): an
//!   advisory derived from several upstream ids (a USN) covers several vulnerabilities
//!   and must not fuse them into one.
//! - Never `related`: a DSA lists every CVE it fixes there, and those stay separate.
//!
//! A merged finding:
//! - lists every id; its primary id is the CVE when there is one (the lowest, should a
//!   feed alias two), else the lowest id;
//! - takes a severity label from an advisory that gives one (the highest such label),
//!   else the highest severity computed from CVSS, keeping where it came from (SPEC 4.4);
//! - is `fixed` when any merged advisory knows a fix; the fixed version is then the
//!   highest of the advisories' fixed versions, the one that clears them all; else
//!   `will-not-fix` when the distribution says so, else `not-fixed`.
//!
//! JSON contract of a [`Finding`] (serde, stable kebab-case enum names), from which the
//! scan's output is built:
//!
//! ```text
//! { "id": "CVE-2023-32681",                      primary id (the CVE when there is one)
//!   "aliases": ["GHSA-j8r2-6x86-q33q", ...],     every other id, sorted
//!   "severity": "critical|high|medium|low|unknown",
//!   "severity_source": {"from": "label", "label": "MODERATE"}
//!                    | {"from": "cvss", "kind": "cvss-v3", "vector": "...", "score": 6.1}
//!                    | {"from": "none"},
//!   "cvss": [{"advisory", "kind", "vector", "score" (null if unparsable)}],
//!   "summary": "...",                            absent when no record has text
//!   "package": {"ecosystem" (purl type), "name", "version", "arch"?, "source_name"?,
//!               "source_version"?, "purl"?, "layer"?, "path"},
//!   "installed_version": "...",                  the version compared (source version
//!                                                for deb)
//!   "fixed_version": "...",                      present iff fix_state is "fixed"
//!   "fix_state": "fixed|not-fixed|will-not-fix",
//!   "data_source": {"ecosystem": "Debian:12", "name": "openssl",
//!                   "advisories": ["DEBIAN-CVE-...", ...]} }
//! ```

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use vigil_vulndb::severity::{assess_affected, cvss_base_score};
use vigil_vulndb::{Advisory, Affected, Severity, SeverityKind, SeveritySource, VulnId};

/// The fix state of a finding (SPEC 5.2). Stable kebab-case names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FixState {
    /// A fixed version above the installed one exists.
    Fixed,
    /// Affected and no fix is known yet.
    NotFixed,
    /// Affected, and the distribution says it will not fix it.
    WillNotFix,
}

impl FixState {
    /// The stable name: `fixed`, `not-fixed`, `will-not-fix`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fixed => "fixed",
            Self::NotFixed => "not-fixed",
            Self::WillNotFix => "will-not-fix",
        }
    }
}

impl fmt::Display for FixState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The installed package a finding is about (copied from the input [`crate::Package`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FindingPackage {
    /// Package type (purl type): `deb`, `apk`, `rpm`, `pypi`, `npm`, ...
    pub ecosystem: String,
    /// Installed (binary) package name.
    pub name: String,
    /// Installed version, as the package manager prints it.
    pub version: String,
    /// Architecture, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// Source package name (dpkg `Source:`, apk origin, rpm source rpm name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_name: Option<String>,
    /// Source package version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_version: Option<String>,
    /// Package URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    /// Digest of the layer that introduced the package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
    /// The file the package was read from.
    pub path: String,
}

/// A CVSS vector of a merged finding, with its base score when it parses.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cvss {
    /// The advisory the vector comes from.
    pub advisory: VulnId,
    /// CVSS version.
    pub kind: SeverityKind,
    /// The vector text.
    pub vector: String,
    /// Base score; `None` when the vector does not parse.
    pub score: Option<f64>,
}

/// Which records produced a finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataSource {
    /// The OSV ecosystem matched (`Debian:12`).
    pub ecosystem: Arc<str>,
    /// The package name matched in it (`openssl` for the binary `libssl3`).
    pub name: Arc<str>,
    /// Ids of the advisory records that matched, sorted.
    pub advisories: Vec<VulnId>,
}

/// One vulnerability in one installed package: the scan's JSON contract is built from it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The primary id: the CVE when there is one (SPEC 5.3).
    pub id: VulnId,
    /// Every other id of the vulnerability (advisory ids and aliases), sorted.
    pub aliases: Vec<VulnId>,
    /// Severity (SPEC 4.4).
    pub severity: Severity,
    /// Where the severity came from.
    pub severity_source: SeveritySource,
    /// Every CVSS vector of the merged advisories.
    pub cvss: Vec<Cvss>,
    /// One-line summary (the advisory's summary, else the first line of its details).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// The package (shared by the findings of one package).
    pub package: Arc<FindingPackage>,
    /// The version compared with the advisories: the source version for Debian and
    /// Ubuntu packages, else the installed version.
    pub installed_version: Arc<str>,
    /// The lowest fixed version above the installed one, when the state is `fixed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_version: Option<String>,
    /// Fix state.
    pub fix_state: FixState,
    /// The records behind the finding.
    pub data_source: DataSource,
}

impl Finding {
    /// Every id of the finding, primary first.
    pub fn ids(&self) -> impl Iterator<Item = &VulnId> {
        std::iter::once(&self.id).chain(self.aliases.iter())
    }

    /// The stable order of findings: severity (most severe first), id, then package.
    pub fn stable_cmp(&self, other: &Self) -> Ordering {
        other
            .severity
            .cmp(&self.severity)
            .then_with(|| self.id.cmp(&other.id))
            .then_with(|| self.package.cmp(&other.package))
            .then_with(|| self.data_source.ecosystem.cmp(&other.data_source.ecosystem))
            .then_with(|| self.data_source.name.cmp(&other.data_source.name))
    }
}

/// One advisory entry that matched a package, before merging.
pub(crate) struct Hit<'a> {
    pub advisory: &'a Advisory,
    pub affected: &'a Affected,
    pub state: FixState,
    pub fixed: Option<&'a str>,
}

/// Union-find over the indices of `hits`, linked by shared ids. A package has a handful
/// of hits, so ids are kept in a flat list rather than a hash map.
fn groups(hits: &[Hit<'_>]) -> Vec<Vec<usize>> {
    fn find(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut parent: Vec<usize> = (0..hits.len()).collect();
    // Each id with the first hit that carries it; a second carrier joins the first.
    let mut owner: Vec<(&str, usize)> = Vec::with_capacity(hits.len() * 2);
    for (i, hit) in hits.iter().enumerate() {
        for id in links(hit.advisory) {
            match owner.iter().find(|(o, _)| *o == id.as_str()) {
                Some(&(_, j)) => {
                    let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                    if a != b {
                        parent[a.max(b)] = a.min(b);
                    }
                }
                None => owner.push((id.as_str(), i)),
            }
        }
    }
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut root_of_group: Vec<usize> = Vec::new();
    for i in 0..hits.len() {
        let root = find(&mut parent, i);
        match root_of_group.iter().position(|&r| r == root) {
            Some(g) => out[g].push(i),
            None => {
                root_of_group.push(root);
                out.push(vec![i]);
            }
        }
    }
    out
}

/// The ids that identify `advisory` as one vulnerability (see the module docs).
fn links(advisory: &Advisory) -> impl Iterator<Item = &VulnId> {
    let upstream = if advisory.upstream.len() == 1 {
        &advisory.upstream[..]
    } else {
        &[]
    };
    std::iter::once(&advisory.id)
        .chain(advisory.aliases.iter())
        .chain(upstream.iter())
}

fn is_cve(id: &VulnId) -> bool {
    id.as_str().starts_with("CVE-")
}

/// Longest summary kept, in characters: a summary is one line for a table; tracker
/// records have only a description, often a long paragraph.
const SUMMARY_MAX: usize = 200;

fn summary_of(advisory: &Advisory) -> Option<String> {
    let pick = |s: &str| {
        let line = s.lines().map(str::trim).find(|l| !l.is_empty())?;
        Some(match line.char_indices().nth(SUMMARY_MAX) {
            None => line.to_owned(),
            Some((cut, _)) => {
                // Cut at the last space before the limit, so no word is split.
                let head = &line[..cut];
                let head = head.rfind(' ').map_or(head, |sp| &head[..sp]);
                format!("{}…", head.trim_end())
            }
        })
    };
    advisory
        .summary
        .as_deref()
        .and_then(pick)
        .or_else(|| advisory.details.as_deref().and_then(pick))
}

/// Merges the hits of one package (under all its lookup names) into findings.
pub(crate) fn merge(
    hits: Vec<Hit<'_>>,
    package: &Arc<FindingPackage>,
    installed_version: &Arc<str>,
    ecosystem: &Arc<str>,
    scheme: vigil_version::Scheme,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for group in groups(&hits) {
        let members: Vec<&Hit<'_>> = group.iter().map(|&i| &hits[i]).collect();
        let mut all: Vec<&VulnId> = members.iter().flat_map(|h| links(h.advisory)).collect();
        all.sort_unstable();
        all.dedup();
        let primary = *all
            .iter()
            .find(|id| is_cve(id))
            .or_else(|| all.first())
            .expect("a group has at least one advisory id");
        let ids: Vec<VulnId> = all
            .iter()
            .filter(|id| **id != primary)
            .map(|id| (*id).clone())
            .collect();
        let primary = primary.clone();

        // Severity: the highest label any advisory gives, else the highest computed.
        let mut best: Option<(bool, Severity, SeveritySource)> = None;
        for h in &members {
            let (sev, src) = assess_affected(h.advisory, h.affected);
            let label = matches!(src, SeveritySource::Label { .. });
            if best
                .as_ref()
                .is_none_or(|(bl, bs, _)| (label, sev) > (*bl, *bs))
            {
                best = Some((label, sev, src));
            }
        }
        let (severity, severity_source) = best
            .map(|(_, s, src)| (s, src))
            .unwrap_or((Severity::Unknown, SeveritySource::None));

        let mut cvss: Vec<Cvss> = Vec::new();
        for h in &members {
            for v in h.advisory.severity.iter().chain(h.affected.severity.iter()) {
                if !matches!(
                    v.kind,
                    SeverityKind::CvssV2 | SeverityKind::CvssV3 | SeverityKind::CvssV4
                ) {
                    continue;
                }
                let c = Cvss {
                    advisory: h.advisory.id.clone(),
                    kind: v.kind.clone(),
                    vector: v.score.clone(),
                    score: cvss_base_score(v),
                };
                if !cvss.contains(&c) {
                    cvss.push(c);
                }
            }
        }

        // Fix state: a known fix wins; the highest fixed version clears every advisory.
        let mut fixed: Option<&str> = None;
        for h in &members {
            let Some(f) = h.fixed else {
                continue;
            };
            fixed = Some(match fixed {
                None => f,
                Some(cur) => {
                    let higher = scheme.compare(f, cur).unwrap_or_else(|_| f.cmp(cur));
                    if higher == Ordering::Greater { f } else { cur }
                }
            });
        }
        let fix_state = if fixed.is_some() {
            FixState::Fixed
        } else if members.iter().any(|h| h.state == FixState::WillNotFix) {
            FixState::WillNotFix
        } else {
            FixState::NotFixed
        };

        // The lead record (summary, matched name): the primary's own record when it
        // matched, else the lowest id, so the choice does not depend on input order.
        let lead = members
            .iter()
            .min_by(|a, b| {
                (a.advisory.id != primary)
                    .cmp(&(b.advisory.id != primary))
                    .then_with(|| a.advisory.id.cmp(&b.advisory.id))
            })
            .expect("a group has at least one hit");
        let summary = summary_of(lead.advisory).or_else(|| {
            members
                .iter()
                .filter_map(|h| Some((&h.advisory.id, summary_of(h.advisory)?)))
                .min_by(|a, b| a.0.cmp(b.0))
                .map(|(_, s)| s)
        });
        let mut advisories: Vec<VulnId> = members.iter().map(|h| h.advisory.id.clone()).collect();
        advisories.sort();
        advisories.dedup();

        findings.push(Finding {
            id: primary,
            aliases: ids,
            severity,
            severity_source,
            cvss,
            summary,
            package: package.clone(),
            installed_version: installed_version.clone(),
            fixed_version: fixed.map(str::to_owned),
            fix_state,
            data_source: DataSource {
                ecosystem: ecosystem.clone(),
                name: Arc::from(lead.affected.package.name.as_str()),
                advisories,
            },
        });
    }
    findings
}
