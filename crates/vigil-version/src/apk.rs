//! Alpine (and Wolfi, Chainguard) versions, ordered as apk-tools 3 (`apk version -t`) orders
//! them.
//!
//! Format: `digits{.digits}...{letter}{_suffix{digits}}...{~hash}{-rN}`, for example
//! `1.2.3a_rc1_p2~1a2b-r4`.
//!
//! Traps:
//! - Suffixes have a fixed order: `_alpha` < `_beta` < `_pre` < `_rc` < *(none)* < `_cvs` <
//!   `_svn` < `_git` < `_hg` < `_p`. So `1.2_rc1` < `1.2` < `1.2_p1`; only these nine words are
//!   valid (`_foo` is invalid), and a suffix may repeat (`0.1_alpha1_pre2`).
//! - One lower-case letter may follow the numbers (`1.2.3b`). apk-tools 3 refuses digits
//!   after it (`6.6.2p1`, meant as `6.6.2_p1`), but apk-tools 2, which every Alpine 3.x
//!   release ships, reads them as one more number, and Alpine's own security database holds
//!   such versions (`5.1p1-r0`, `1.7.4p6-r1`): they are accepted and ordered as apk-tools 2
//!   does, so `6.6.2p1` < `6.6.2p2` and `6.6.2_p1` < `6.6.2p1` (a letter beats a suffix).
//! - Numbers after the first compare as numbers unless either has a leading zero, then as
//!   strings (Gentoo's rule): `1.9` < `1.10`, but `1.0001` < `1.001` and `1.05` > `1.100`.
//! - `-rN` is the package revision, compared as a number (`1-r1` = `1-r01`).
//! - `~hash` is a commit hash, compared as a string.
//! - When all shared parts are equal, the longer version is newer, unless what follows is a
//!   pre-release suffix (`1.2_rc1` < `1.2`).
//! - apk-tools compares invalid versions too (tokens up to the first invalid one), but it
//!   refuses them in packages. Here an invalid version is a [`ParseError`]:
//!   a feed or database with one is broken, and a silent guess would hide that.
//!   [`compare_fuzzy`] reproduces apk's own answer for callers that need it.

use std::cmp::Ordering;

use crate::{ParseError, Scheme};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Tok {
    InitialDigit,
    Digit,
    Letter,
    Suffix,
    SuffixNo,
    CommitHash,
    RevisionNo,
    End,
    Invalid,
}

const SUFFIX_NONE: u8 = 5;

#[derive(Clone, Copy)]
struct State<'a> {
    tok: Tok,
    suffix: u8,
    value: &'a [u8],
    rest: &'a [u8],
}

fn suffix_value(s: &[u8]) -> u8 {
    match s {
        b"alpha" => 1,
        b"beta" => 2,
        b"pre" => 3,
        b"rc" => 4,
        b"cvs" => 6,
        b"svn" => 7,
        b"git" => 8,
        b"hg" => 9,
        b"p" => 10,
        _ => 0,
    }
}

fn span(s: &[u8], f: impl Fn(u8) -> bool) -> (&[u8], &[u8]) {
    let n = s.iter().take_while(|&&c| f(c)).count();
    s.split_at(n)
}

impl<'a> State<'a> {
    fn first(s: &'a [u8]) -> Self {
        let (value, rest) = span(s, |c| c.is_ascii_digit());
        State {
            tok: if value.is_empty() {
                Tok::Invalid
            } else {
                Tok::InitialDigit
            },
            suffix: 0,
            value,
            rest,
        }
    }

    fn next(&mut self) {
        let Some(&c) = self.rest.first() else {
            self.tok = Tok::End;
            return;
        };
        let t = self.tok;
        match c {
            b'a'..=b'z' if t <= Tok::Digit => {
                self.value = &self.rest[..1];
                self.rest = &self.rest[1..];
                self.tok = Tok::Letter;
            }
            // A digit right after the letter is apk-tools 2 (see the module docs).
            b'.' | b'0'..=b'9'
                if t <= Tok::Digit || (c != b'.' && (t == Tok::Suffix || t == Tok::Letter)) =>
            {
                if c == b'.' {
                    self.rest = &self.rest[1..];
                }
                self.tok = if t == Tok::Suffix {
                    Tok::SuffixNo
                } else {
                    Tok::Digit
                };
                self.digits();
            }
            b'_' if t <= Tok::SuffixNo => {
                let (value, rest) = span(&self.rest[1..], |c| c.is_ascii_lowercase());
                self.value = value;
                self.rest = rest;
                self.suffix = suffix_value(value);
                self.tok = if self.suffix == 0 {
                    Tok::Invalid
                } else {
                    Tok::Suffix
                };
            }
            b'~' if t < Tok::CommitHash => {
                let (value, rest) = span(&self.rest[1..], |c| c.is_ascii_hexdigit());
                self.value = value;
                self.rest = rest;
                self.tok = if value.is_empty() {
                    Tok::Invalid
                } else {
                    Tok::CommitHash
                };
            }
            b'-' if t < Tok::RevisionNo && self.rest.starts_with(b"-r") => {
                self.rest = &self.rest[2..];
                self.tok = Tok::RevisionNo;
                self.digits();
            }
            _ => self.tok = Tok::Invalid,
        }
    }

    fn digits(&mut self) {
        let (value, rest) = span(self.rest, |c| c.is_ascii_digit());
        self.value = value;
        self.rest = rest;
        if value.is_empty() {
            self.tok = Tok::Invalid;
        }
    }
}

fn token_cmp(a: &State<'_>, b: &State<'_>) -> Ordering {
    match a.tok {
        Tok::Digit if a.value[0] == b'0' || b.value[0] == b'0' => a.value.cmp(b.value),
        Tok::Digit | Tok::InitialDigit | Tok::SuffixNo | Tok::RevisionNo => {
            crate::num::cmp_digits(a.value, b.value)
        }
        Tok::Letter => a.value[0].cmp(&b.value[0]),
        Tok::Suffix => a.suffix.cmp(&b.suffix),
        _ => a.value.cmp(b.value),
    }
}

/// Checks `s` as `apk_version_validate` does; the error says where it stops being a version.
pub(crate) fn parse(s: &str) -> Result<(), ParseError> {
    if s.is_empty() {
        return Err(ParseError::new(
            Scheme::Apk,
            s,
            "expected a version, found an empty string",
        ));
    }
    let mut t = State::first(s.as_bytes());
    let mut at = 0;
    while t.tok < Tok::End {
        at = s.len() - t.rest.len();
        t.next();
    }
    if t.tok == Tok::End {
        return Ok(());
    }
    let reason = if at == 0 && !s.as_bytes()[0].is_ascii_digit() {
        format!(
            "expected `digits{{.digits}}{{letter}}{{_suffix{{N}}}}{{~hash}}{{-rN}}` starting with a digit, found {:?}",
            &s[..s.chars().next().map_or(0, char::len_utf8)]
        )
    } else if t.tok == Tok::Invalid && s.as_bytes().get(at) == Some(&b'_') && t.suffix == 0 {
        format!(
            "expected a suffix alpha, beta, pre, rc, cvs, svn, git, hg or p after `_`, found {:?} at byte {at}",
            &s[at..]
        )
    } else {
        format!(
            "expected `digits{{.digits}}{{letter}}{{_suffix{{N}}}}{{~hash}}{{-rN}}`, found {:?} at byte {at}",
            &s[at..]
        )
    };
    Err(ParseError::new(Scheme::Apk, s, reason))
}

/// apk-tools' `apk_version_compare` on two valid versions.
pub(crate) fn cmp(a: &str, b: &str) -> Ordering {
    cmp_fuzzy(a, b, false)
}

/// Compares exactly as `apk version -t` and apk's operators do, valid or not. With `fuzzy`
/// (apk's `~`, `<~`, `>~`), `a` equals `b` when `b` is a prefix of `a` at a token boundary
/// (`3.6.9` `~` `3.6`).
///
/// apk-tools compares strings it would refuse in a package (`23_foo`, `1.0bc`): tokens are
/// compared up to the first invalid one, and an invalid token sorts below the end of a version
/// but above a pre-release suffix. [`Scheme::compare`](crate::Scheme::compare) refuses such
/// versions instead; this function is for callers that must reproduce apk itself.
pub fn compare_fuzzy(a: &str, b: &str, fuzzy: bool) -> Ordering {
    cmp_fuzzy(a, b, fuzzy)
}

fn cmp_fuzzy(a: &str, b: &str, fuzzy: bool) -> Ordering {
    let mut ta = State::first(a.as_bytes());
    let mut tb = State::first(b.as_bytes());
    while ta.tok == tb.tok && ta.tok < Tok::End {
        let r = token_cmp(&ta, &tb);
        if r != Ordering::Equal {
            return r;
        }
        ta.next();
        tb.next();
    }
    if ta.tok == tb.tok || (fuzzy && tb.tok == Tok::End) {
        return Ordering::Equal;
    }
    if ta.tok == Tok::Suffix && ta.suffix < SUFFIX_NONE {
        return Ordering::Less;
    }
    if tb.tok == Tok::Suffix && tb.suffix < SUFFIX_NONE {
        return Ordering::Greater;
    }
    // The one that goes on (smaller token kind, not at the end) is newer.
    tb.tok.cmp(&ta.tok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_order() {
        let c = |a: &str, b: &str| Scheme::Apk.compare(a, b).unwrap();
        assert_eq!(c("1.2_rc1", "1.2"), Ordering::Less);
        assert_eq!(c("1.2_p1", "1.2"), Ordering::Greater);
        assert_eq!(c("1-r1", "1-r01"), Ordering::Equal);
        assert_eq!(c("10.0001", "10.0039"), Ordering::Less);
    }

    #[test]
    fn invalid_versions_are_errors() {
        for s in ["1.0bc", "1.0_foo", "a", "1-r", "1.0-", "1.0a.1"] {
            assert!(parse(s).is_err(), "{s}");
        }
        let e = Scheme::Apk.parse("1.0_foo").unwrap_err();
        assert!(e.to_string().contains("expected a suffix"), "{e}");
    }
}
