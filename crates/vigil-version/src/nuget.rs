//! NuGet versions, ordered as NuGet's `NuGetVersion` (`VersionComparer.Default`) orders them.
//!
//! Format: `MAJOR[.MINOR[.PATCH[.REVISION]]][-LABEL(.LABEL)*][+METADATA]`.
//!
//! Traps:
//! - Up to four numbers; missing ones are `0` (`1.0` = `1.0.0.0`), leading zeros are allowed
//!   (`1.0.01` = `1.0.1.0`).
//! - Pre-release labels compare as in SemVer 2 but **ignoring case**: `1.0.0-BETA` =
//!   `1.0.0-beta`, numeric labels as numbers, a numeric label before an alphanumeric one.
//! - Metadata after `+` is ignored.

use std::cmp::Ordering;

use crate::num::{cmp_digits, strip_zeros};
use crate::{ParseError, Scheme};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Label {
    Num(Box<str>),
    /// Lower-cased.
    Alpha(Box<str>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parsed {
    /// Four digit strings without leading zeros.
    release: [Box<str>; 4],
    pre: Vec<Label>,
}

impl Ord for Parsed {
    fn cmp(&self, other: &Self) -> Ordering {
        for (a, b) in self.release.iter().zip(&other.release) {
            let o = cmp_digits(a.as_bytes(), b.as_bytes());
            if o != Ordering::Equal {
                return o;
            }
        }
        match (self.pre.is_empty(), other.pre.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => {
                for (a, b) in self.pre.iter().zip(&other.pre) {
                    let o = match (a, b) {
                        (Label::Num(x), Label::Num(y)) => cmp_digits(x.as_bytes(), y.as_bytes()),
                        (Label::Num(_), Label::Alpha(_)) => Ordering::Less,
                        (Label::Alpha(_), Label::Num(_)) => Ordering::Greater,
                        (Label::Alpha(x), Label::Alpha(y)) => x.cmp(y),
                    };
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                self.pre.len().cmp(&other.pre.len())
            }
        }
    }
}

impl PartialOrd for Parsed {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn ident_ok(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
}

pub(crate) fn parse(s: &str) -> Result<Parsed, ParseError> {
    let err = |reason: String| ParseError::new(Scheme::NuGet, s, reason);
    let v = s.trim();
    if v.is_empty() {
        return Err(err("expected a version, found an empty string".into()));
    }
    let (v, meta) = match v.split_once('+') {
        Some((v, m)) => (v, Some(m)),
        None => (v, None),
    };
    if let Some(m) = meta {
        if !m.split('.').all(ident_ok) {
            return Err(err(format!(
                "expected metadata of dot-separated [0-9A-Za-z-] identifiers after `+`, found {m:?}"
            )));
        }
    }
    let (core, pre) = match v.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (v, None),
    };
    let nums: Vec<&str> = core.split('.').collect();
    if nums.len() > 4
        || nums
            .iter()
            .any(|n| n.is_empty() || !n.bytes().all(|c| c.is_ascii_digit()))
    {
        return Err(err(format!(
            "expected one to four dot-separated numbers (MAJOR.MINOR.PATCH.REVISION), found {core:?}"
        )));
    }
    let mut release: [Box<str>; 4] = Default::default();
    for (slot, n) in release.iter_mut().zip(&nums) {
        *slot = std::str::from_utf8(strip_zeros(n.as_bytes()))
            .unwrap_or("")
            .into();
    }
    let mut labels = Vec::new();
    if let Some(p) = pre {
        if !p.split('.').all(ident_ok) {
            return Err(err(format!(
                "expected a pre-release of dot-separated [0-9A-Za-z-] labels after `-`, found {p:?}"
            )));
        }
        for l in p.split('.') {
            labels.push(if l.bytes().all(|c| c.is_ascii_digit()) {
                Label::Num(
                    std::str::from_utf8(strip_zeros(l.as_bytes()))
                        .unwrap_or("")
                        .into(),
                )
            } else {
                Label::Alpha(l.to_ascii_lowercase().into())
            });
        }
    }
    Ok(Parsed {
        release,
        pre: labels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_ignore_case() {
        let c = |a: &str, b: &str| Scheme::NuGet.compare(a, b).unwrap();
        assert_eq!(c("1.0.0-BETA+AA", "1.0.0-beta+aa"), Ordering::Equal);
        assert_eq!(c("1.0", "1.0.0.0"), Ordering::Equal);
        assert_eq!(c("1.0.0-beta2", "1.0.0-BETA"), Ordering::Greater);
        assert!(Scheme::NuGet.parse("1.2.3.4.5").is_err());
    }
}
