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

/// C's `isspace` in the C locale, which dpkg uses.
#[inline]
fn is_space(c: u8) -> bool {
    c == b' ' || (b'\t'..=b'\r').contains(&c)
}

pub(crate) fn parse(s: &str) -> Result<Parts, ParseError> {
    if s.len() > u32::MAX as usize {
        return Err(err(s, "expected a version string, found one over 4 GiB"));
    }
    // One pass over the bytes (this runs for every comparison): trim, then find the first
    // `:` and the last `-`, refusing whitespace inside. dpkg's `isspace` is ASCII only.
    let b = s.as_bytes();
    let mut start = 0;
    while start < b.len() && is_space(b[start]) {
        start += 1;
    }
    let mut end = b.len();
    while end > start && is_space(b[end - 1]) {
        end -= 1;
    }
    if start == end {
        return Err(err(s, "expected a version, found an empty string"));
    }
    let (mut colon, mut dash) = (usize::MAX, usize::MAX);
    let mut i = start;
    while i < end {
        let c = b[i];
        // One comparison lets the common bytes through: `:`, `-` and the C locale's
        // `isspace` (space, \t, \n, \v, \f, \r) are all at or below `:`.
        if c <= b':' {
            if c == b':' {
                if colon == usize::MAX {
                    colon = i;
                }
            } else if c == b'-' {
                dash = i;
            } else if is_space(c) {
                return Err(err(
                    s,
                    format!(
                        "expected no whitespace inside a version, found {:?}",
                        c as char
                    ),
                ));
            }
        }
        i += 1;
    }
    let (epoch, rest) = if colon == usize::MAX {
        (0, start)
    } else {
        let e = &s[start..colon];
        if e.is_empty() {
            return Err(err(s, "expected an epoch before `:`, found nothing"));
        }
        let mut epoch: u64 = 0;
        for c in e.chars() {
            let Some(d) = c.to_digit(10) else {
                return Err(err(
                    s,
                    format!("expected an epoch of digits, found {c:?} in {e:?}"),
                ));
            };
            epoch = epoch * 10 + u64::from(d);
            if epoch > i32::MAX as u64 {
                return Err(err(
                    s,
                    format!("expected an epoch up to {}, found {e}", i32::MAX),
                ));
            }
        }
        if colon + 1 == end {
            return Err(err(s, "expected a version after the epoch, found nothing"));
        }
        (epoch as u32, colon + 1)
    };
    let (up_end, rev) = if dash != usize::MAX && dash >= rest {
        if dash + 1 == end {
            return Err(err(
                s,
                "expected a revision after the last `-`, found nothing",
            ));
        }
        (dash, (dash + 1, end))
    } else {
        (end, (end, end))
    };
    if up_end == rest {
        return Err(err(s, "expected an upstream version, found nothing"));
    }
    Ok(Parts {
        epoch,
        upstream: (rest as u32, up_end as u32),
        revision: (rev.0 as u32, rev.1 as u32),
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
/// the end before letters, letters before everything else. Digits and the end weigh 0, and
/// nothing else does. A table, because this runs for every character compared.
static ORDER: [i16; 256] = {
    let mut t = [0i16; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = if b == b'~' {
            -1
        } else if b.is_ascii_digit() {
            0
        } else if b.is_ascii_alphabetic() {
            c as i16
        } else {
            c as i16 + 256
        };
        c += 1;
    }
    t
};

#[inline]
fn weight(s: &[u8], i: usize) -> i16 {
    match s.get(i) {
        Some(&c) => ORDER[c as usize],
        None => 0,
    }
}

/// dpkg's `verrevcmp`: alternating non-digit and digit runs.
fn verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        // A non-digit run. Only digits and the end weigh 0, so equal non-zero weights mean
        // the same non-digit on both sides, and both advance.
        loop {
            let (wa, wb) = (weight(a, i), weight(b, j));
            if wa != wb {
                return wa.cmp(&wb);
            }
            if wa == 0 {
                break;
            }
            i += 1;
            j += 1;
        }
        // A digit run, compared by value.
        while a.get(i) == Some(&b'0') {
            i += 1;
        }
        while b.get(j) == Some(&b'0') {
            j += 1;
        }
        let (si, sj) = (i, j);
        while i < a.len() && a[i].is_ascii_digit() {
            i += 1;
        }
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        let ord = (i - si)
            .cmp(&(j - sj))
            .then_with(|| crate::num::cmp_bytes(&a[si..i], &b[sj..j]));
        if ord != Ordering::Equal {
            return ord;
        }
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
