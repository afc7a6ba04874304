//! RubyGems versions, ordered as `Gem::Version#<=>` orders them.
//!
//! Format: `\d+(\.[0-9A-Za-z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?`; a `-` is read as
//! `.pre.` (so `1.0-1` is a pre-release of `1.0`).
//!
//! Traps:
//! - Segments are the runs of digits and of letters: `1.0.a2` = `1.0.a.2`.
//! - Any letter makes a pre-release: a string segment sorts before a number, so
//!   `1.2.4.beta` < `1.2.4` and `1` > `1beta`; strings compare as strings (`b` > `a`).
//! - Trailing zeros of the release part and of the pre-release part are dropped:
//!   `1.0` = `1`, `1.0.a` = `1.a`.
//! - An empty or blank version is `0`, as RubyGems reads it.

use std::cmp::Ordering;

use crate::num::cmp_digits;
use crate::{ParseError, Scheme};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    /// Digits without leading zeros.
    Num(Box<str>),
    Str(Box<str>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parsed(Vec<Seg>);

impl Ord for Parsed {
    fn cmp(&self, other: &Self) -> Ordering {
        let zero = Seg::Num("".into());
        for i in 0..self.0.len().max(other.0.len()) {
            let l = self.0.get(i).unwrap_or(&zero);
            let r = other.0.get(i).unwrap_or(&zero);
            let o = match (l, r) {
                (Seg::Num(a), Seg::Num(b)) => cmp_digits(a.as_bytes(), b.as_bytes()),
                (Seg::Str(_), Seg::Num(_)) => Ordering::Less,
                (Seg::Num(_), Seg::Str(_)) => Ordering::Greater,
                (Seg::Str(a), Seg::Str(b)) => a.cmp(b),
            };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    }
}

impl PartialOrd for Parsed {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn is_zero(s: &Seg) -> bool {
    matches!(s, Seg::Num(d) if d.is_empty())
}

pub(crate) fn parse(s: &str) -> Result<Parsed, ParseError> {
    let v = s.trim();
    if v.is_empty() {
        // `Gem::Version.new("")` is version 0.
        return Ok(Parsed(Vec::new()));
    }
    let err = |reason: String| ParseError::new(Scheme::RubyGems, s, reason);
    let (release, pre) = match v.split_once('-') {
        Some((r, p)) => (r, Some(p)),
        None => (v, None),
    };
    let mut parts = release.split('.');
    let first = parts.next().unwrap_or("");
    // RubyGems' pattern wants digits only before the first `.`; `1beta` is accepted here
    // (osv-scanner's vectors and old gem metadata carry it) and read as `1.beta`.
    if !first.starts_with(|c: char| c.is_ascii_digit())
        || !first.bytes().all(|c| c.is_ascii_alphanumeric())
    {
        return Err(err(format!(
            "expected a version starting with digits (like 1.2.3 or 1.0.pre1), found {first:?}"
        )));
    }
    for p in parts {
        if p.is_empty() || !p.bytes().all(|c| c.is_ascii_alphanumeric()) {
            return Err(err(format!(
                "expected dot-separated segments of letters and digits, found {p:?}"
            )));
        }
    }
    if let Some(p) = pre {
        if p.split('.')
            .any(|q| q.is_empty() || !q.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'))
        {
            return Err(err(format!(
                "expected a pre-release of dot-separated [0-9A-Za-z-] segments after `-`, found {p:?}"
            )));
        }
    }
    // `gsub("-", ".pre.")`, then `scan(/[0-9]+|[a-z]+/i)`.
    let text = v.replace('-', ".pre.");
    let b = text.as_bytes();
    let mut segs = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let digit = b[i].is_ascii_digit();
        let n = b[i..]
            .iter()
            .take_while(|c| {
                if digit {
                    c.is_ascii_digit()
                } else {
                    c.is_ascii_alphabetic()
                }
            })
            .count();
        if n == 0 {
            i += 1;
            continue;
        }
        let run = &text[i..i + n];
        segs.push(if digit {
            let d = crate::num::strip_zeros(run.as_bytes());
            Seg::Num(std::str::from_utf8(d).unwrap_or("").into())
        } else {
            Seg::Str(run.into())
        });
        i += n;
    }
    // `canonical_segments`: drop trailing zeros of the release part and of the rest.
    let split = segs
        .iter()
        .position(|s| matches!(s, Seg::Str(_)))
        .unwrap_or(segs.len());
    let mut rest = segs.split_off(split);
    while segs.last().is_some_and(is_zero) {
        segs.pop();
    }
    while rest.last().is_some_and(is_zero) {
        rest.pop();
    }
    segs.extend(rest);
    Ok(Parsed(segs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prereleases_and_trailing_zeros() {
        let c = |a: &str, b: &str| Scheme::RubyGems.compare(a, b).unwrap();
        assert_eq!(c("1.2.4.beta", "1.2.4"), Ordering::Less);
        assert_eq!(c("1.0.a2", "1.0.a.2"), Ordering::Equal);
        assert_eq!(c("1.0", "1"), Ordering::Equal);
        assert_eq!(c("1.0-1", "1.0"), Ordering::Less);
        assert!(Scheme::RubyGems.parse("1..2").is_err());
    }
}
