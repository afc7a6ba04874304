//! Severity of an advisory (SPEC 4.4).
//!
//! Order of precedence, and why:
//! 1. The advisory's own label: GHSA `database_specific.severity`, or a distribution's
//!    urgency on the affected entry (Debian tracker `urgency`). A person at the vendor chose
//!    it, it is what the peers show, and it is what users expect to see.
//! 2. Else the base score of a CVSS vector, computed with rustsec's `cvss` crate. When a
//!    record carries several, the newest CVSS version wins (v4, then v3.x, then v2): it is the
//!    one the publisher updated last. Record-level vectors come before per-package ones.
//! 3. Else [`Severity::Unknown`].
//!
//! Label traps:
//! - `moderate` (GHSA) is an alias of `medium`.
//! - Debian marks urgencies that came from NVD with a `**` suffix (`high**`); it is dropped.
//! - Debian `unimportant` and Ubuntu `negligible` are low: the distribution looked and
//!   judged it so.
//! - `not yet assigned` (Debian), `end-of-life` and an empty label are no label at all, so
//!   the CVSS vector decides.
//! - Any other label is [`Severity::Unknown`], never low: a label we cannot read says
//!   nothing about the risk (SPEC 4.4 improvement over the compat behaviour).

use crate::model::{Advisory, Affected, SeverityKind, SeverityVector};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A severity level. `Ord` sorts from least to most severe: `Unknown < Low < ... < Critical`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// No usable label or vector.
    Unknown,
    /// Low.
    Low,
    /// Medium (alias: moderate).
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl Severity {
    /// Every level, least severe first.
    pub const ALL: [Severity; 5] = [
        Severity::Unknown,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The stable kebab-case name used by the CLI, JSON and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }

    /// Maps a vendor label to a level; `None` when the label means "no label"
    /// (`not yet assigned`, `end-of-life`, empty). See the module docs for each mapping.
    pub fn from_label(label: &str) -> Option<Severity> {
        let l = label
            .trim()
            .trim_end_matches('*')
            .trim()
            .to_ascii_lowercase();
        Some(match l.as_str() {
            "" | "not yet assigned" | "end-of-life" => return None,
            "critical" => Self::Critical,
            "high" | "important" => Self::High,
            "medium" | "moderate" => Self::Medium,
            "low" | "unimportant" | "negligible" => Self::Low,
            _ => Self::Unknown,
        })
    }

    /// The band of a CVSS base score for the given CVSS version (see [`assess`]).
    ///
    /// v3.x and v4.0 share the standard's bands (9.0+ critical, 7.0+ high, 4.0+ medium,
    /// 0.1+ low); v2 has NVD's bands (7.0+ high, 4.0+ medium, 0.1+ low, no critical). A 0.0
    /// score ("none") and anything out of range is unknown.
    pub fn from_score(kind: &SeverityKind, score: f64) -> Severity {
        if !(0.1..=10.0).contains(&score) {
            return Self::Unknown;
        }
        let critical = !matches!(kind, SeverityKind::CvssV2);
        if critical && score >= 9.0 {
            Self::Critical
        } else if score >= 7.0 {
            Self::High
        } else if score >= 4.0 {
            Self::Medium
        } else {
            Self::Low
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error of [`Severity::from_str`]: the name is not one of the five stable names.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown severity name {0:?}: expected critical, high, medium, low or unknown")]
pub struct SeverityNameError(String);

impl FromStr for Severity {
    type Err = SeverityNameError;

    /// Parses the stable name only (as written by [`Severity::as_str`]), not vendor labels.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| SeverityNameError(s.to_owned()))
    }
}

/// Where a severity came from; the scan output shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "from")]
pub enum SeveritySource {
    /// The feed's own label (GHSA severity or distribution urgency), as spelt there.
    Label {
        /// The label text.
        label: String,
    },
    /// Computed from a CVSS vector's base score.
    Cvss {
        /// Which CVSS version.
        kind: SeverityKind,
        /// The vector.
        vector: String,
        /// Its base score.
        score: f64,
    },
    /// Neither a label nor a usable vector.
    None,
}

/// The severity of an advisory as a whole (SPEC 4.4); see the module docs for the order.
///
/// With several per-package labels (a Debian CVE with an urgency per release), the most
/// severe recognised one is taken.
pub fn assess(advisory: &Advisory) -> (Severity, SeveritySource) {
    if let Some(found) = advisory.label.as_deref().and_then(from_label) {
        return found;
    }
    let best_label = advisory
        .affected
        .iter()
        .filter_map(|a| a.label.as_deref().and_then(from_label))
        .max_by_key(|(s, _)| *s);
    if let Some(found) = best_label {
        return found;
    }
    let vectors = advisory
        .severity
        .iter()
        .chain(advisory.affected.iter().flat_map(|a| a.severity.iter()));
    from_vectors(vectors)
}

/// The severity of an advisory for one of its affected entries: that entry's own label
/// first (a release's urgency), then the advisory's label, then the entry's vectors, then
/// the advisory's vectors.
pub fn assess_affected(advisory: &Advisory, affected: &Affected) -> (Severity, SeveritySource) {
    if let Some(found) = affected
        .label
        .as_deref()
        .and_then(from_label)
        .or_else(|| advisory.label.as_deref().and_then(from_label))
    {
        return found;
    }
    from_vectors(affected.severity.iter().chain(advisory.severity.iter()))
}

fn from_label(label: &str) -> Option<(Severity, SeveritySource)> {
    Severity::from_label(label).map(|s| {
        (
            s,
            SeveritySource::Label {
                label: label.to_owned(),
            },
        )
    })
}

/// The base score of one vector, `None` when it does not parse or is not CVSS.
pub fn cvss_base_score(vector: &SeverityVector) -> Option<f64> {
    if !matches!(
        vector.kind,
        SeverityKind::CvssV2 | SeverityKind::CvssV3 | SeverityKind::CvssV4
    ) {
        return None;
    }
    let text = vector.score.trim();
    // OSV CVSS_V2 vectors have no prefix (`AV:N/AC:L/...`); the `cvss` crate takes those as
    // v2. A v3 or v4 vector must carry its `CVSS:3.x/` or `CVSS:4.0/` prefix.
    let parsed: cvss::Cvss = text.parse().ok()?;
    let version_matches = matches!(
        (&vector.kind, &parsed),
        (SeverityKind::CvssV2, cvss::Cvss::CvssV20(_))
            | (
                SeverityKind::CvssV3,
                cvss::Cvss::CvssV30(_) | cvss::Cvss::CvssV31(_)
            )
            | (SeverityKind::CvssV4, cvss::Cvss::CvssV40(_))
    );
    version_matches.then(|| parsed.score())
}

fn from_vectors<'a>(
    vectors: impl Iterator<Item = &'a SeverityVector>,
) -> (Severity, SeveritySource) {
    let rank = |k: &SeverityKind| match k {
        SeverityKind::CvssV4 => 0,
        SeverityKind::CvssV3 => 1,
        SeverityKind::CvssV2 => 2,
        SeverityKind::Ubuntu => 3,
    };
    let mut best: Option<(u8, &SeverityVector, f64)> = None;
    for v in vectors {
        let Some(score) = cvss_base_score(v) else {
            continue;
        };
        let r = rank(&v.kind);
        if best.as_ref().is_none_or(|(br, _, _)| r < *br) {
            best = Some((r, v, score));
        }
    }
    match best {
        Some((_, v, score)) => (
            Severity::from_score(&v.kind, score),
            SeveritySource::Cvss {
                kind: v.kind.clone(),
                vector: v.score.clone(),
                score,
            },
        ),
        None => (Severity::Unknown, SeveritySource::None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_map_with_aliases_and_unknowns() {
        assert_eq!(Severity::from_label("MODERATE"), Some(Severity::Medium));
        assert_eq!(Severity::from_label("high**"), Some(Severity::High));
        assert_eq!(Severity::from_label("unimportant"), Some(Severity::Low));
        assert_eq!(Severity::from_label("not yet assigned"), None);
        assert_eq!(Severity::from_label("bogus"), Some(Severity::Unknown));
    }

    #[test]
    fn order_is_least_to_most_severe() {
        let mut all = Severity::ALL;
        all.reverse();
        all.sort();
        assert_eq!(all, Severity::ALL);
        assert!(Severity::Unknown < Severity::Low);
    }

    #[test]
    fn names_round_trip() {
        for s in Severity::ALL {
            assert_eq!(s.as_str().parse::<Severity>(), Ok(s));
        }
        assert!("moderate".parse::<Severity>().is_err());
    }
}
