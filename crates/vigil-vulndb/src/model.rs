//! The advisory model: OSV schema 1.6 (SPEC 4.1), as vigil keeps it.
//!
//! Every feed is converted INTO this model: OSV records nearly field for field, Alpine
//! secdb and the Debian security tracker the way osv.dev's own converters do (one advisory
//! per CVE, one [`Affected`] entry per release and package). What the OSV schema cannot
//! say but SPEC 5.2 needs (a distribution's "will not fix" or "not affected") is carried in
//! the typed [`Affected::fix_state`] field instead of an untyped `ecosystem_specific` blob.
//!
//! Traps of the OSV format this model keeps in mind:
//! - Only `ECOSYSTEM` and `SEMVER` ranges are kept; `GIT` ranges hold commit hashes that no
//!   installed package can be compared with, so the parsers drop them (SPEC 4.1).
//! - The events of one range are a sorted list of `introduced` / `fixed` /
//!   `last_affected` / `limit` points. A range may reopen (`introduced` again after a
//!   `fixed`), as PYSEC records do for several release branches.
//! - `introduced: "0"` means "from the first version".
//! - `versions` lists affected versions explicitly, in addition to the ranges.
//! - Timestamps are kept as the RFC 3339 text the feed gave; the model does no clock work.
//!
//! This module is pure: no IO, no clock.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An advisory identifier (`CVE-2023-4911`, `GHSA-j8r2-6x86-q33q`, `PYSEC-2023-74`, ...).
///
/// No assumption is made about its format: feeds invent new prefixes all the time.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct VulnId(String);

impl VulnId {
    /// Wraps an identifier as given by a feed.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The identifier text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for VulnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for VulnId {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

/// One vulnerability record (an OSV entry).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Advisory {
    /// The record's own id.
    pub id: VulnId,
    /// OSV `schema_version` as given, when the feed states one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<String>,
    /// Last modification, RFC 3339 text as in the feed (`None` for feeds without dates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    /// First publication, RFC 3339 text as in the feed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// When set, the advisory was withdrawn and must never match (SPEC 5.4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<String>,
    /// Other ids of the same vulnerability (CVE, GHSA, PYSEC, ...), for alias merging.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<VulnId>,
    /// OSV 1.6 `upstream`: ids this record is derived from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upstream: Vec<VulnId>,
    /// OSV `related`: ids of closely related but different vulnerabilities.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<VulnId>,
    /// One-line summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Longer description (Markdown in OSV).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    /// Severity vectors of the whole record.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub severity: Vec<SeverityVector>,
    /// The record's own severity label, where the feed gives one: GHSA
    /// `database_specific.severity` (`"HIGH"`, `"MODERATE"`, ...). Kept as the feed's text;
    /// [`crate::severity::assess`] maps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Affected packages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub affected: Vec<Affected>,
    /// Links.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<Reference>,
}

impl Advisory {
    /// An advisory with only an id, to fill in field by field.
    pub fn new(id: VulnId) -> Self {
        Self {
            id,
            schema_version: None,
            modified: None,
            published: None,
            withdrawn: None,
            aliases: Vec::new(),
            upstream: Vec::new(),
            related: Vec::new(),
            summary: None,
            details: None,
            severity: Vec::new(),
            label: None,
            affected: Vec::new(),
            references: Vec::new(),
        }
    }

    /// Merges a fragment of the same advisory into this one: aliases, upstream ids and
    /// affected entries are united (order kept, duplicates dropped); texts, dates and the
    /// label of `self` win where set. Distribution feeds list one vulnerability in several
    /// places (Alpine: per release and repository; Debian: per source package), and the
    /// readers join the fragments into one advisory per id with this.
    pub fn merge(&mut self, other: Advisory) {
        fn unite<T: PartialEq>(into: &mut Vec<T>, from: Vec<T>) {
            for x in from {
                if !into.contains(&x) {
                    into.push(x);
                }
            }
        }
        unite(&mut self.aliases, other.aliases);
        unite(&mut self.upstream, other.upstream);
        unite(&mut self.related, other.related);
        unite(&mut self.severity, other.severity);
        unite(&mut self.affected, other.affected);
        unite(&mut self.references, other.references);
        self.summary = self.summary.take().or(other.summary);
        self.details = self.details.take().or(other.details);
        self.label = self.label.take().or(other.label);
        self.modified = self.modified.take().or(other.modified);
        self.published = self.published.take().or(other.published);
        self.withdrawn = self.withdrawn.take().or(other.withdrawn);
    }

    /// Whether the advisory was withdrawn (SPEC 5.4: withdrawn advisories never match).
    pub fn is_withdrawn(&self) -> bool {
        self.withdrawn.is_some()
    }
}

/// The kind of a severity vector (OSV `severity[].type`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SeverityKind {
    /// `CVSS_V2`
    CvssV2,
    /// `CVSS_V3` (3.0 and 3.1)
    CvssV3,
    /// `CVSS_V4`
    CvssV4,
    /// `Ubuntu` (a label such as `medium`, not a vector)
    Ubuntu,
}

impl SeverityKind {
    /// The OSV spelling (`CVSS_V3`).
    pub fn osv_name(&self) -> &'static str {
        match self {
            Self::CvssV2 => "CVSS_V2",
            Self::CvssV3 => "CVSS_V3",
            Self::CvssV4 => "CVSS_V4",
            Self::Ubuntu => "Ubuntu",
        }
    }

    /// Parses the OSV spelling; `None` for a type this model does not know.
    pub fn from_osv_name(s: &str) -> Option<Self> {
        match s {
            "CVSS_V2" => Some(Self::CvssV2),
            "CVSS_V3" => Some(Self::CvssV3),
            "CVSS_V4" => Some(Self::CvssV4),
            "Ubuntu" => Some(Self::Ubuntu),
            _ => None,
        }
    }
}

/// One OSV `severity` entry: a kind and its vector text (`CVSS:3.1/AV:N/...`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeverityVector {
    /// The vector's kind.
    pub kind: SeverityKind,
    /// The vector as given (for CVSS, the vector string, never a bare number).
    pub score: String,
}

/// A package named by an affected entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Package {
    /// OSV ecosystem, with the release for distributions: `PyPI`, `Debian:12`,
    /// `Alpine:v3.11`. Debian unstable is `Debian:unstable`.
    pub ecosystem: String,
    /// Package name; for Debian the SOURCE package, for Alpine the origin (SPEC 5.1).
    pub name: String,
    /// Package URL, when the feed gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
}

/// A fix state a distribution states explicitly (SPEC 5.2), beyond what ranges say.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FixState {
    /// Fixed in the version of the range's `fixed` event.
    Fixed,
    /// Affected, no fix yet (may come later).
    NotFixed,
    /// Affected, and the distribution says it will not fix it (Debian `ignored`,
    /// end-of-life packages).
    WillNotFix,
    /// The distribution says this package in this release was never affected (Debian
    /// `resolved` with version `0`). Such an entry has no ranges and must not match.
    NotAffected,
}

impl FixState {
    /// The stable kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fixed => "fixed",
            Self::NotFixed => "not-fixed",
            Self::WillNotFix => "will-not-fix",
            Self::NotAffected => "not-affected",
        }
    }
}

impl fmt::Display for FixState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One OSV `affected` entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Affected {
    /// The package.
    pub package: Package,
    /// Version ranges (ECOSYSTEM and SEMVER only; GIT ranges are dropped by the parsers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<Range>,
    /// Explicitly listed affected versions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
    /// OSV 1.6 per-package severity vectors.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub severity: Vec<SeverityVector>,
    /// A severity label for this package only: a distribution's urgency (Debian tracker
    /// `urgency`, osv.dev's `ecosystem_specific.urgency`), as the feed spells it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The fix state where the feed states one explicitly (distribution feeds);
    /// `None` means "derive it from the ranges".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix_state: Option<FixState>,
}

impl Affected {
    /// An entry for a package with nothing else set.
    pub fn new(package: Package) -> Self {
        Self {
            package,
            ranges: Vec::new(),
            versions: Vec::new(),
            severity: Vec::new(),
            label: None,
            fix_state: None,
        }
    }
}

/// The ordering a range's versions follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RangeKind {
    /// The package ecosystem's own version ordering (dpkg, apk, PEP 440, ...).
    Ecosystem,
    /// SemVer 2.0 ordering (Go modules, Rust crates).
    Semver,
}

/// A version range: events in the order the feed lists them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    /// How versions of this range compare.
    pub kind: RangeKind,
    /// The events.
    pub events: Vec<Event>,
}

/// One range event, serialised as OSV does: `{"introduced": "1.0"}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// Versions from here on are affected (`"0"` = from the start).
    Introduced(String),
    /// Versions from here on are not affected.
    Fixed(String),
    /// This version is the last affected one.
    LastAffected(String),
    /// Upper bound of the range (used with GIT ranges mostly).
    Limit(String),
}

impl Event {
    /// The version the event names.
    pub fn version(&self) -> &str {
        match self {
            Self::Introduced(v) | Self::Fixed(v) | Self::LastAffected(v) | Self::Limit(v) => v,
        }
    }
}

/// A reference link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    /// OSV reference type (`ADVISORY`, `FIX`, `WEB`, ...), as given.
    pub kind: String,
    /// The URL.
    pub url: String,
}
