//! CRAN versions, ordered as R's `package_version` orders them.
//!
//! Format: numbers separated by `.` or `-` (`1.2-3`); R requires at least two, this crate
//! accepts one too (OSV records sometimes carry `1`).
//!
//! Traps:
//! - `.` and `-` are the same separator: `0.01.0` = `0.1-0`.
//! - Numbers compare by value (`0.9` < `0.75`, `0.01` = `0.1`), and a longer version is newer
//!   when the shorter is its prefix, even with zeros: `0.1.0` < `0.1.0.0`.

use std::cmp::Ordering;

use crate::num::{cmp_digits, strip_zeros};
use crate::{ParseError, Scheme};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parsed(Vec<Box<str>>);

impl Ord for Parsed {
    fn cmp(&self, other: &Self) -> Ordering {
        for (a, b) in self.0.iter().zip(&other.0) {
            let o = cmp_digits(a.as_bytes(), b.as_bytes());
            if o != Ordering::Equal {
                return o;
            }
        }
        self.0.len().cmp(&other.0.len())
    }
}

impl PartialOrd for Parsed {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

pub(crate) fn parse(s: &str) -> Result<Parsed, ParseError> {
    let v = s.trim();
    let mut parts = Vec::new();
    for p in v.split(['.', '-']) {
        if p.is_empty() || !p.bytes().all(|c| c.is_ascii_digit()) {
            return Err(ParseError::new(
                Scheme::Cran,
                s,
                format!("expected numbers separated by `.` or `-` (like 1.2-3), found {p:?}"),
            ));
        }
        parts.push(
            std::str::from_utf8(strip_zeros(p.as_bytes()))
                .unwrap_or("")
                .into(),
        );
    }
    Ok(Parsed(parts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_are_equal() {
        let c = |a: &str, b: &str| Scheme::Cran.compare(a, b).unwrap();
        assert_eq!(c("0.01.0", "0.1-0"), Ordering::Equal);
        assert_eq!(c("0.1.0", "0.1.0.0"), Ordering::Less);
        assert!(Scheme::Cran.parse("1.2a").is_err());
    }
}
