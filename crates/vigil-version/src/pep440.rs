//! PyPI versions: PEP 440, ordered as Python's `packaging` orders them, with the legacy
//! fallback that `packaging` had until version 22 (and that pip used for years).
//!
//! PEP 440 proper is parsed and ordered by the `pep440_rs` crate (the uv team's, tested
//! against `packaging`); this module adds the legacy fallback.
//!
//! Traps:
//! - Normalisation: `1.0RC1` = `1.0rc1` = `1.0-rc.1` = `1.0c1`; `1.0alpha` = `1.0a0`;
//!   `1.0-1` = `1.0.post1`; `1.0.r` = `1.0.post0`; `v1.0` = `1.0`; trailing zeros do not
//!   count (`1.0` = `1.0.0`).
//! - Order within a release: `.devN` < `aN` < `bN` < `rcN` < *(final)* < `.postN`, and a dev
//!   release of a pre or post release sorts just before it (`1.0a1.dev1` < `1.0a1`).
//! - An epoch `N!` beats everything (`1!0.1` > `2024.1`).
//! - A local label `+abc.1` sorts after the same version without one; numeric local segments
//!   sort after alphanumeric ones (`1.0+local.a` < `1.0+local.1`).
//! - **Legacy versions**: a string that is not PEP 440 (`0.1-bulbasaur`,
//!   `2004d-unofficial`) is not an error, because PyPI still serves releases with such
//!   versions and `packaging` < 22 ordered them: every legacy version sorts before every PEP
//!   440 version, and legacy versions order among themselves by `packaging`'s
//!   `_legacy_cmpkey` (runs of digits zero-padded to 8, `pre`/`preview`/`rc` read as `c`,
//!   `dev` as `@`, `-` as `final-`). This is the documented exception to "no string compare".
//!   Only an empty string or one with whitespace inside is an error.

use std::cmp::Ordering;
use std::str::FromStr;

use crate::{ParseError, Scheme};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// `packaging.version.LegacyVersion`: the key parts of `_legacy_cmpkey`.
    Legacy(Vec<String>),
    Pep440(pep440_rs::Version),
}

impl Ord for Parsed {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Parsed::Legacy(a), Parsed::Legacy(b)) => a.cmp(b),
            (Parsed::Legacy(_), Parsed::Pep440(_)) => Ordering::Less,
            (Parsed::Pep440(_), Parsed::Legacy(_)) => Ordering::Greater,
            (Parsed::Pep440(a), Parsed::Pep440(b)) => a.cmp(b),
        }
    }
}

impl PartialOrd for Parsed {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

pub(crate) fn parse(s: &str) -> Result<Parsed, ParseError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(ParseError::new(
            Scheme::Pep440,
            s,
            "expected a version, found an empty string",
        ));
    }
    if let Some(c) = t.chars().find(|c| c.is_whitespace()) {
        return Err(ParseError::new(
            Scheme::Pep440,
            s,
            format!("expected no whitespace inside a version, found {c:?}"),
        ));
    }
    match pep440_rs::Version::from_str(t) {
        Ok(v) => Ok(Parsed::Pep440(v)),
        Err(_) => Ok(Parsed::Legacy(legacy_key(t))),
    }
}

/// Whether `s` is a PEP 440 version (not a legacy one).
pub fn is_pep440(s: &str) -> bool {
    pep440_rs::Version::from_str(s.trim()).is_ok()
}

/// `packaging.version._legacy_cmpkey` (packaging 21.3), without the constant epoch -1.
fn legacy_key(s: &str) -> Vec<String> {
    let lower = s.to_lowercase();
    let mut parts: Vec<String> = Vec::new();
    for part in legacy_parts(&lower) {
        if part.starts_with('*') {
            if part.as_str() < "*final" {
                while parts.last().is_some_and(|p| p == "*final-") {
                    parts.pop();
                }
            }
            while parts.last().is_some_and(|p| p == "00000000") {
                parts.pop();
            }
        }
        parts.push(part);
    }
    parts
}

/// `packaging.version._parse_version_parts`: splits on `\d+|[a-z]+|\.|-`, keeping the pieces
/// in between too, as `re.split` with a capturing group does.
fn legacy_parts(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut pieces: Vec<&str> = Vec::new();
    let (mut i, mut gap) = (0, 0);
    while i < b.len() {
        let n = if b[i].is_ascii_digit() {
            b[i..].iter().take_while(|c| c.is_ascii_digit()).count()
        } else if b[i].is_ascii_lowercase() {
            b[i..].iter().take_while(|c| c.is_ascii_lowercase()).count()
        } else if b[i] == b'.' || b[i] == b'-' {
            1
        } else {
            0
        };
        if n == 0 {
            i += s[i..].chars().next().map_or(1, char::len_utf8);
            continue;
        }
        pieces.push(&s[gap..i]);
        pieces.push(&s[i..i + n]);
        i += n;
        gap = i;
    }
    pieces.push(&s[gap..]);
    for piece in pieces {
        let piece = match piece {
            "pre" | "preview" | "rc" => "c",
            "-" => "final-",
            "dev" => "@",
            p => p,
        };
        if piece.is_empty() || piece == "." {
            continue;
        }
        if piece.as_bytes()[0].is_ascii_digit() {
            out.push(format!("{piece:0>8}"));
        } else {
            out.push(format!("*{piece}"));
        }
    }
    out.push("*final".to_owned());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_sorts_before_pep440() {
        let c = |a: &str, b: &str| Scheme::Pep440.compare(a, b).unwrap();
        assert_eq!(c("0.1-bulbasaur", "0.1-charmander"), Ordering::Less);
        assert_eq!(c("0.9-ivysaur", "0.1"), Ordering::Less);
        assert_eq!(c("1.0RC1", "1.0rc1"), Ordering::Equal);
        assert_eq!(
            legacy_key("1.0-pre_2"),
            ["00000001", "*c", "*_", "00000002", "*final"]
        );
    }
}
