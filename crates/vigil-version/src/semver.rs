//! SemVer 2 versions as npm, crates.io and Go order them.
//!
//! Format: `[v]MAJOR[.MINOR[.PATCH[.MORE...]]][-PRERELEASE][+BUILD]`.
//!
//! Traps:
//! - A pre-release sorts **before** its release: `1.0.0-rc.1` < `1.0.0`.
//! - Pre-release identifiers compare one by one: numeric ones as numbers (`beta.2` <
//!   `beta.11`), others as ASCII strings (so `R2` < `r100`, upper case first), a numeric
//!   identifier before an alphanumeric one (`a.5` < `a.b`), and a shorter list first when it is
//!   a prefix (`alpha` < `alpha.1`). A hyphen inside the pre-release is just a character
//!   (`1.2.3-4-foo`).
//! - Build metadata is ignored: `1.2.3+a` = `1.2.3+b`. Go's `+incompatible` is build metadata.
//! - Go pseudo-versions (`v0.0.0-20191109021931-daa7c04131f5`, `v1.2.4-0.2019...`) are
//!   pre-releases and need no special case: their timestamps order them.
//! - Numbers of any length are compared by value, never overflowing.
//!
//! This scheme is deliberately lenient where the ecosystem's tools are (npm's loose mode, Go's
//! `v` prefix, OSV records): a `v` or `=` prefix is ignored, a missing minor or patch is `0`
//! (Go's `v1.2` = `v1.2.0`), leading zeros are read as numbers, and components after the
//! patch are compared too (`1.1.3.4` > `1.1.3`). The `semver` crate was not used because it
//! rejects these forms and numbers over 64 bits, which real advisory data contains.

use std::cmp::Ordering;

use crate::num::{cmp_digits, strip_zeros};
use crate::{ParseError, Scheme};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parsed {
    /// Digit strings without leading zeros; trailing zero components dropped.
    release: Vec<Box<str>>,
    pre: Vec<Ident>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Ident {
    Num(Box<str>),
    Alpha(Box<str>),
}

impl Ord for Ident {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Ident::Num(a), Ident::Num(b)) => cmp_digits(a.as_bytes(), b.as_bytes()),
            (Ident::Num(_), Ident::Alpha(_)) => Ordering::Less,
            (Ident::Alpha(_), Ident::Num(_)) => Ordering::Greater,
            (Ident::Alpha(a), Ident::Alpha(b)) => a.cmp(b),
        }
    }
}

impl PartialOrd for Ident {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Parsed {
    fn cmp(&self, other: &Self) -> Ordering {
        let n = self.release.len().max(other.release.len());
        for i in 0..n {
            let a = self.release.get(i).map_or(&b""[..], |s| s.as_bytes());
            let b = other.release.get(i).map_or(&b""[..], |s| s.as_bytes());
            let o = cmp_digits(a, b);
            if o != Ordering::Equal {
                return o;
            }
        }
        match (self.pre.is_empty(), other.pre.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => self.pre.cmp(&other.pre),
        }
    }
}

impl PartialOrd for Parsed {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-'
}

pub(crate) fn parse(s: &str, scheme: Scheme) -> Result<Parsed, ParseError> {
    let err = |reason: String| ParseError::new(scheme, s, reason);
    let t = s.trim();
    if t.is_empty() {
        return Err(err("expected a version, found an empty string".into()));
    }
    let t = t.strip_prefix('=').unwrap_or(t).trim_start();
    let t = t
        .strip_prefix('v')
        .or_else(|| t.strip_prefix('V'))
        .unwrap_or(t);
    let (t, build) = match t.split_once('+') {
        Some((v, b)) => (v, Some(b)),
        None => (t, None),
    };
    if let Some(b) = build {
        if b.is_empty()
            || b.split('.')
                .any(|p| p.is_empty() || !p.chars().all(is_ident_char))
        {
            return Err(err(format!(
                "expected build metadata of dot-separated [0-9A-Za-z-] identifiers after `+`, found {b:?}"
            )));
        }
    }
    let (core, pre) = match t.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (t, None),
    };
    let mut release: Vec<Box<str>> = Vec::new();
    for part in core.split('.') {
        if part.is_empty() || !part.bytes().all(|c| c.is_ascii_digit()) {
            return Err(err(format!(
                "expected MAJOR.MINOR.PATCH of digits, found {part:?} in {core:?}"
            )));
        }
        release.push(Box::from(
            std::str::from_utf8(strip_zeros(part.as_bytes())).unwrap_or(""),
        ));
    }
    while release.last().is_some_and(|p| p.is_empty()) {
        release.pop();
    }
    let mut idents = Vec::new();
    if let Some(p) = pre {
        for id in p.split('.') {
            if id.is_empty() || !id.chars().all(is_ident_char) {
                return Err(err(format!(
                    "expected a pre-release of dot-separated [0-9A-Za-z-] identifiers after `-`, found {p:?}"
                )));
            }
            idents.push(if id.bytes().all(|c| c.is_ascii_digit()) {
                Ident::Num(Box::from(
                    std::str::from_utf8(strip_zeros(id.as_bytes())).unwrap_or(""),
                ))
            } else {
                Ident::Alpha(id.into())
            });
        }
    }
    Ok(Parsed {
        release,
        pre: idents,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_pseudo_versions_and_incompatible() {
        let c = |a: &str, b: &str| Scheme::Go.compare(a, b).unwrap();
        assert_eq!(
            c("v0.0.0-20191109021931-daa7c04131f5", "v0.1.0"),
            Ordering::Less
        );
        assert_eq!(c("v2.0.0+incompatible", "v2.0.0"), Ordering::Equal);
        assert_eq!(c("v1.2", "v1.2.0"), Ordering::Equal);
        assert!(Scheme::Semver.parse("1.x").is_err());
    }
}
