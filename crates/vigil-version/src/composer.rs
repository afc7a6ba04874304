//! Packagist (Composer) versions, ordered as PHP's `version_compare`, which Composer's
//! comparator uses, after Composer drops a leading `v`.
//!
//! The version is canonicalised: `-`, `_` and `+` become `.`, and a `.` is put between a digit
//! and a non-digit wherever they touch (`1.0rc1` becomes `1.0.rc.1`). Then the parts compare
//! one by one: numbers by value; words by their special form, `dev` < `alpha` = `a` < `beta` =
//! `b` < `RC` = `rc` < `#` (a number) < `pl` = `p` (a word matches the first form it starts
//! with; other words sort before `dev`); a word against a number compares the word with `#`.
//! When one version runs out, a number left over makes the longer version newer, and a word
//! left over compares with `#`: `1.0` < `1.0.0`, `1.0rc1` < `1.0`, `1.0` < `1.0pl1`.
//!
//! Traps:
//! - Case matters for `RC` only in that both spellings are known: `1.0RC1` = `1.0rc1`.
//! - `#` stands for "any number": PHP's order is not transitive once `#` appears in a version
//!   (`1.2.3.#` equals both `1.2.3.1` and `1.2.3.2`). Real versions do not contain it.
//! - Numbers of any length compare by value.
//! - Everything is a version to PHP; only an empty string (or whitespace) is refused here.

use std::cmp::Ordering;

use crate::num::{cmp_digits, strip_zeros};
use crate::{ParseError, Scheme};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    /// Digits without leading zeros.
    Num(Box<str>),
    /// The special-form rank of a word.
    Word(i8),
}

const NUMBER: i8 = 4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parsed(Vec<Part>);

/// `compare_special_version_forms`: the first form the word starts with.
fn rank(word: &str) -> i8 {
    const FORMS: [(&str, i8); 10] = [
        ("dev", 0),
        ("alpha", 1),
        ("a", 1),
        ("beta", 2),
        ("b", 2),
        ("RC", 3),
        ("rc", 3),
        ("#", NUMBER),
        ("pl", 5),
        ("p", 5),
    ];
    FORMS
        .iter()
        .find(|(f, _)| word.starts_with(f))
        .map_or(-6, |&(_, r)| r)
}

fn cmp_part(a: &Part, b: &Part) -> Ordering {
    match (a, b) {
        (Part::Num(x), Part::Num(y)) => cmp_digits(x.as_bytes(), y.as_bytes()),
        (Part::Word(x), Part::Word(y)) => x.cmp(y),
        (Part::Num(_), Part::Word(y)) => NUMBER.cmp(y),
        (Part::Word(x), Part::Num(_)) => x.cmp(&NUMBER),
    }
}

fn cmp_parts(a: &[Part], b: &[Part]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let o = cmp_part(x, y);
        if o != Ordering::Equal {
            return o;
        }
    }
    let hash = [Part::Word(NUMBER)];
    match a.len().cmp(&b.len()) {
        Ordering::Equal => Ordering::Equal,
        Ordering::Greater => match &a[b.len()] {
            Part::Num(_) => Ordering::Greater,
            Part::Word(_) => cmp_parts(&a[b.len()..], &hash),
        },
        Ordering::Less => match &b[a.len()] {
            Part::Num(_) => Ordering::Less,
            Part::Word(_) => cmp_parts(&hash, &b[a.len()..]),
        },
    }
}

impl Ord for Parsed {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_parts(&self.0, &other.0)
    }
}

impl PartialOrd for Parsed {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

pub(crate) fn parse(s: &str) -> Result<Parsed, ParseError> {
    let v = s.trim();
    if v.is_empty() {
        return Err(ParseError::new(
            Scheme::Composer,
            s,
            "expected a version, found an empty string",
        ));
    }
    if let Some(c) = v.chars().find(|c| c.is_whitespace()) {
        return Err(ParseError::new(
            Scheme::Composer,
            s,
            format!("expected no whitespace inside a version, found {c:?}"),
        ));
    }
    let v = v.strip_prefix('v').unwrap_or(v);
    let v = v.strip_prefix('V').unwrap_or(v);
    // Split at separators and at every digit/non-digit boundary; empty parts vanish, as with
    // PHP's `strtok`.
    let mut parts = Vec::new();
    let b = v.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if matches!(b[i], b'.' | b'-' | b'_' | b'+') {
            i += 1;
            continue;
        }
        let digit = b[i].is_ascii_digit();
        let n = b[i..]
            .iter()
            .take_while(|&&c| {
                !matches!(c, b'.' | b'-' | b'_' | b'+') && c.is_ascii_digit() == digit
            })
            .count();
        let run = &v[i..i + n];
        parts.push(if digit {
            Part::Num(
                std::str::from_utf8(strip_zeros(run.as_bytes()))
                    .unwrap_or("")
                    .into(),
            )
        } else {
            Part::Word(rank(run))
        });
        i += n;
    }
    Ok(Parsed(parts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_forms() {
        let c = |a: &str, b: &str| Scheme::Composer.compare(a, b).unwrap();
        assert_eq!(c("1.0-dev", "1.0a1"), Ordering::Less);
        assert_eq!(c("1.0RC1", "1.0rc1"), Ordering::Equal);
        assert_eq!(c("1.0", "1.0pl1"), Ordering::Less);
        assert_eq!(c("1.0.0", "1.0"), Ordering::Greater);
        assert_eq!(c("dev-foo", "1.26.0"), Ordering::Less);
    }
}
