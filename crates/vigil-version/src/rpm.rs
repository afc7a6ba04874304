//! RPM versions (Red Hat, Rocky, Alma, SUSE...), ordered as rpm's `rpmvercmp` and
//! `rpm.labelCompare` order them.
//!
//! Format: `[epoch:]version[-release]`, split the way rpm's `rpmEVRparse` splits: the epoch is
//! a run of digits followed by `:` at the very start (so `a:1` has no epoch: its version is
//! `a:1`), the release is what follows the **last** `-`.
//!
//! Traps:
//! - Only letters and digits carry meaning; every other character is a separator, and runs of
//!   separators are equivalent: `1.0` = `1_0` = `1+0`, `+` = `_`.
//! - Digit runs compare as numbers (`10.0001` = `10.1`) and beat letter runs (`1.0a` < `1.01`).
//! - **`~` sorts before everything, even the end**: `1.0~rc1` < `1.0`.
//! - **`^` sorts after the end but before anything else**: `1.0` < `1.0^git1` < `1.0.1`,
//!   and `1.0^` > `1.0` (rpm 4.15 and later; snapshots of a released version).
//! - A missing epoch is `0`. A **missing release**: rpm's own `rpmverCmp` ignores the release
//!   when one side has none, so `1.0` "equals" both `1.0-1` and `1.0-2`, which is not an
//!   order (not transitive). Here a missing release sorts before any release, even an empty
//!   one: `1.0` < `1.0-` = `1.0-.` < `1.0-0` (as osv-scanner orders them). Advisory data and
//!   package databases carry both or neither.
//! - rpm accepts any bytes; this crate rejects only what cannot be a version: an empty string,
//!   ASCII whitespace or control characters, an empty version after the epoch or before the
//!   release.
//!   Non-ASCII letters are separators, as in rpm: `1.1.α` = `1.1.β`.

use std::cmp::Ordering;

use crate::{ParseError, Scheme};

/// Where the parts of an rpm EVR lie in its string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Parts {
    /// Digits of the epoch; empty when absent (= 0).
    epoch: (u32, u32),
    version: (u32, u32),
    release: (u32, u32),
    /// `1-` has an empty release, `1` none; none sorts first.
    has_release: bool,
}

fn err(s: &str, reason: impl Into<String>) -> ParseError {
    ParseError::new(Scheme::Rpm, s, reason)
}

pub(crate) fn parse(s: &str) -> Result<Parts, ParseError> {
    if s.len() > u32::MAX as usize {
        return Err(err(s, "expected a version string, found one over 4 GiB"));
    }
    if s.is_empty() {
        return Err(err(s, "expected a version, found an empty string"));
    }
    // One pass over the bytes (this runs for every comparison).
    let bytes = s.as_bytes();
    let mut dash = usize::MAX;
    for (i, &c) in bytes.iter().enumerate() {
        if c == b'-' {
            dash = i;
        } else if c <= b' ' || c == 0x7f {
            return Err(err(
                s,
                format!(
                    "expected no whitespace or control characters, found {:?}",
                    c as char
                ),
            ));
        }
    }
    let digits = bytes.iter().take_while(|c| c.is_ascii_digit()).count();
    // rpmEVRparse: digits then `:` are the epoch; an empty epoch before `:` is `0`.
    let (epoch, vstart) = if bytes.get(digits) == Some(&b':') {
        ((0, digits as u32), digits + 1)
    } else {
        ((0, 0), 0)
    };
    let (vend, release) = if dash != usize::MAX && dash >= vstart {
        (dash, Some(((dash + 1) as u32, s.len() as u32)))
    } else {
        (s.len(), None)
    };
    if vend == vstart {
        return Err(err(
            s,
            "expected a version, found nothing before the release",
        ));
    }
    Ok(Parts {
        epoch,
        version: (vstart as u32, vend as u32),
        release: release.unwrap_or((0, 0)),
        has_release: release.is_some(),
    })
}

#[inline]
fn part(s: &str, (x, y): (u32, u32)) -> &[u8] {
    &s.as_bytes()[x as usize..y as usize]
}

pub(crate) fn cmp(a: &str, pa: &Parts, b: &str, pb: &Parts) -> Ordering {
    crate::num::cmp_digits(part(a, pa.epoch), part(b, pb.epoch))
        .then_with(|| rpmvercmp(part(a, pa.version), part(b, pb.version)))
        .then_with(|| pa.has_release.cmp(&pb.has_release))
        .then_with(|| rpmvercmp(part(a, pa.release), part(b, pb.release)))
}

fn is_sep(c: u8) -> bool {
    !c.is_ascii_alphanumeric() && c != b'~' && c != b'^'
}

/// rpm's `rpmvercmp` on one field (version or release).
pub fn rpmvercmp(a: &[u8], b: &[u8]) -> Ordering {
    let (mut i, mut j) = (0, 0);
    loop {
        while i < a.len() && is_sep(a[i]) {
            i += 1;
        }
        while j < b.len() && is_sep(b[j]) {
            j += 1;
        }
        let (ca, cb) = (a.get(i).copied(), b.get(j).copied());
        // `~` sorts before everything, even the end.
        if ca == Some(b'~') || cb == Some(b'~') {
            if ca != Some(b'~') {
                return Ordering::Greater;
            }
            if cb != Some(b'~') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        // `^` sorts after the end but before anything else.
        if ca == Some(b'^') || cb == Some(b'^') {
            if ca.is_none() {
                return Ordering::Less;
            }
            if cb.is_none() {
                return Ordering::Greater;
            }
            if ca != Some(b'^') {
                return Ordering::Greater;
            }
            if cb != Some(b'^') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        let (Some(ca), Some(_)) = (ca, cb) else {
            // One ran out: whichever has something left is newer.
            return match (ca, cb) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Less,
                _ => Ordering::Greater,
            };
        };
        let (si, sj) = (i, j);
        if ca.is_ascii_digit() {
            while i < a.len() && a[i].is_ascii_digit() {
                i += 1;
            }
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            if j == sj {
                // Segments of different types: a number is newer than letters.
                return Ordering::Greater;
            }
            let ord = crate::num::cmp_digits(&a[si..i], &b[sj..j]);
            if ord != Ordering::Equal {
                return ord;
            }
        } else {
            while i < a.len() && a[i].is_ascii_alphabetic() {
                i += 1;
            }
            while j < b.len() && b[j].is_ascii_alphabetic() {
                j += 1;
            }
            if j == sj {
                return Ordering::Less;
            }
            let ord = crate::num::cmp_bytes(&a[si..i], &b[sj..j]);
            if ord != Ordering::Equal {
                return ord;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caret_and_tilde() {
        let c = |a: &str, b: &str| Scheme::Rpm.compare(a, b).unwrap();
        assert_eq!(c("1.0^git1", "1.0"), Ordering::Greater);
        assert_eq!(c("1.0^git1", "1.01"), Ordering::Less);
        assert_eq!(c("1.0~rc1", "1.0"), Ordering::Less);
        assert_eq!(c("1:1.0", "2.0"), Ordering::Greater);
        assert_eq!(c("1.0", "1.0-1"), Ordering::Less);
    }
}
