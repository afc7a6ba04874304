//! Debian and Ubuntu versions, ordered as `dpkg --compare-versions` orders them.
//!
//! Format: `[epoch:]upstream[-revision]` (deb-version(7)).
//!
//! - The epoch is the digits before the **first** `:`; the revision is what follows the
//!   **last** `-`. So `1:2:3-4-5` has epoch 1, upstream `2:3-4`, revision `5`.
//! - A missing epoch is `0`, a missing revision compares equal to `0`: `1.0` = `0:1.0-0`.
//! - Upstream and revision are compared by alternating runs: a run of non-digits compared
//!   character by character, then a run of digits compared as a number (`1.09` = `1.9`).
//! - In the non-digit runs, letters sort before every other character, and **`~` sorts
//!   before everything, even the end of the string**: `1.0~rc1` < `1.0` < `1.0a` < `1.0+b1`
//!   (letters come before `+`), and `1.0~~` < `1.0~` < `1.0`.
//! - dpkg only *warns* about odd characters (`0:0!-0`) and an upstream that does not start
//!   with a digit; such versions compare normally and are accepted here too. It *rejects* an
//!   empty version, embedded spaces, a non-numeric or empty epoch, an empty upstream, an empty
//!   revision after `-`: those are errors here (`t-version-parse.jsonl` in the fixtures).
//! - Leading and trailing whitespace is ignored, as dpkg does.

use std::cmp::Ordering;

use crate::{ParseError, Scheme};

/// Where the parts of a dpkg version lie in its string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Parts {
    epoch: u32,
    upstream: (u32, u32),
    revision: (u32, u32),
}

fn err(s: &str, reason: impl Into<String>) -> ParseError {
    ParseError::new(Scheme::Dpkg, s, reason)
}

pub(crate) fn parse(s: &str) -> Result<Parts, ParseError> {
    if s.len() > u32::MAX as usize {
        return Err(err(s, "expected a version string, found one over 4 GiB"));
    }
    let start = s.len() - s.trim_start().len();
    let end = s.trim_end().len();
    if start >= end {
        return Err(err(s, "expected a version, found an empty string"));
    }
    let v = &s[start..end];
    if let Some(c) = v.chars().find(|c| c.is_whitespace()) {
        return Err(err(
            s,
            format!("expected no whitespace inside a version, found {c:?}"),
        ));
    }
    let (epoch, rest_start) = match v.find(':') {
        Some(colon) => {
            let e = &v[..colon];
            if e.is_empty() {
                return Err(err(s, "expected an epoch before `:`, found nothing"));
            }
            if let Some(c) = e.chars().find(|c| !c.is_ascii_digit()) {
                return Err(err(
                    s,
                    format!("expected an epoch of digits, found {c:?} in {e:?}"),
                ));
            }
            let epoch = match e.parse::<u32>() {
                Ok(n) if n <= i32::MAX as u32 => n,
                _ => {
                    return Err(err(
                        s,
                        format!("expected an epoch up to {}, found {e}", i32::MAX),
                    ));
                }
            };
            if colon + 1 == v.len() {
                return Err(err(s, "expected a version after the epoch, found nothing"));
            }
            (epoch, colon + 1)
        }
        None => (0, 0),
    };
    let rest = &v[rest_start..];
    let (up_len, rev) = match rest.rfind('-') {
        Some(dash) => {
            if dash + 1 == rest.len() {
                return Err(err(
                    s,
                    "expected a revision after the last `-`, found nothing",
                ));
            }
            (dash, (rest_start + dash + 1, v.len()))
        }
        None => (rest.len(), (v.len(), v.len())),
    };
    if up_len == 0 {
        return Err(err(s, "expected an upstream version, found nothing"));
    }
    let off = |i: usize| (start + i) as u32;
    Ok(Parts {
        epoch,
        upstream: (off(rest_start), off(rest_start + up_len)),
        revision: (off(rev.0), off(rev.1)),
    })
}

#[inline]
fn part(s: &str, (x, y): (u32, u32)) -> &[u8] {
    &s.as_bytes()[x as usize..y as usize]
}

pub(crate) fn cmp(a: &str, pa: &Parts, b: &str, pb: &Parts) -> Ordering {
    pa.epoch
        .cmp(&pb.epoch)
        .then_with(|| verrevcmp(part(a, pa.upstream), part(b, pb.upstream)))
        .then_with(|| verrevcmp(part(a, pa.revision), part(b, pb.revision)))
}

/// The weight of a character in a non-digit run (dpkg `order()`): `~` before the end,
/// the end before letters, letters before everything else.
#[inline]
fn order(c: Option<&u8>) -> i32 {
    match c {
        None => 0,
        Some(b'~') => -1,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(*c),
        Some(c) => i32::from(*c) + 256,
    }
}

/// dpkg's `verrevcmp`: alternating non-digit and digit runs.
fn verrevcmp(mut a: &[u8], mut b: &[u8]) -> Ordering {
    while !a.is_empty() || !b.is_empty() {
        while a.first().is_some_and(|c| !c.is_ascii_digit())
            || b.first().is_some_and(|c| !c.is_ascii_digit())
        {
            let (ac, bc) = (order(a.first()), order(b.first()));
            if ac != bc {
                return ac.cmp(&bc);
            }
            a = a.get(1..).unwrap_or_default();
            b = b.get(1..).unwrap_or_default();
        }
        let na = a.iter().take_while(|c| c.is_ascii_digit()).count();
        let nb = b.iter().take_while(|c| c.is_ascii_digit()).count();
        let ord = crate::num::cmp_digits(&a[..na], &b[..nb]);
        if ord != Ordering::Equal {
            return ord;
        }
        a = &a[na..];
        b = &b[nb..];
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(a: &str, b: &str) -> Ordering {
        Scheme::Dpkg.compare(a, b).unwrap()
    }

    #[test]
    fn tilde_sorts_before_the_end() {
        assert_eq!(c("1.0~rc1", "1.0"), Ordering::Less);
        assert_eq!(c("1.0~~", "1.0~"), Ordering::Less);
        assert_eq!(c("1.0a", "1.0+b1"), Ordering::Less);
        assert_eq!(c("1:2:3-4-5", "1:2:3-4-5"), Ordering::Equal);
    }

    #[test]
    fn errors_say_what_was_expected() {
        let e = Scheme::Dpkg.parse("a:1").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid dpkg version \"a:1\": expected an epoch of digits, found 'a' in \"a\""
        );
    }
}
