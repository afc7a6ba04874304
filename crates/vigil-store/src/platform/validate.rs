//! Checks on every name and value before it reaches the database, so a person gets a message
//! naming the input and the problem instead of a constraint failure.
//!
//! Cluster, environment and application names follow the Kubernetes label-value syntax
//! (1 to 63 characters: letters, digits, `-`, `_`, `.`, beginning and ending with a letter or a
//! digit), because the admission webhook maps a label value to an application (SPEC 7.6) and
//! because it keeps `:` and `@` free for the scope syntax `app:A@env:E`. Pipeline names may also
//! hold `/` (CI systems name pipelines after `group/project`). Namespaces are DNS-1123 labels,
//! as Kubernetes requires.

use super::error::{Error, Kind};

const NAME_MAX: usize = 63;
const PIPELINE_MAX: usize = 255;
const TEXT_MAX: usize = 1024;
/// Scan errors can carry a long chain; keep the start, which says what failed.
pub(crate) const ERROR_MAX: usize = 16 * 1024;

fn alnum(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

/// A cluster, environment or application name.
pub(crate) fn name(kind: Kind, value: &str) -> Result<(), Error> {
    label(kind, value, NAME_MAX, |c| {
        alnum(c) || matches!(c, '-' | '_' | '.')
    })
}

/// A CI pipeline name: as [`name`], plus `/`, up to 255 characters.
pub(crate) fn pipeline(value: &str) -> Result<(), Error> {
    label(Kind::Pipeline, value, PIPELINE_MAX, |c| {
        alnum(c) || matches!(c, '-' | '_' | '.' | '/')
    })
}

fn label(kind: Kind, value: &str, max: usize, allowed: impl Fn(char) -> bool) -> Result<(), Error> {
    if value.is_empty() {
        return Err(Error::invalid(
            kind,
            value,
            "expected a name, found nothing",
        ));
    }
    if value.len() > max {
        return Err(Error::invalid(
            kind,
            value,
            format!("expected at most {max} characters, found {}", value.len()),
        ));
    }
    if let Some(c) = value.chars().find(|&c| !allowed(c)) {
        return Err(Error::invalid(
            kind,
            value,
            format!(
                "{c:?} is not allowed: expected letters, digits, {}",
                extra(kind)
            ),
        ));
    }
    let first = value.chars().next().unwrap_or('a');
    let last = value.chars().next_back().unwrap_or('a');
    if !alnum(first) || !alnum(last) {
        return Err(Error::invalid(
            kind,
            value,
            "expected a letter or a digit at the beginning and the end",
        ));
    }
    Ok(())
}

fn extra(kind: Kind) -> &'static str {
    match kind {
        Kind::Pipeline => "'-', '_', '.' and '/'",
        _ => "'-', '_' and '.'",
    }
}

/// A Kubernetes namespace: a DNS-1123 label.
pub(crate) fn namespace(value: &str) -> Result<(), Error> {
    let kind = Kind::Namespace;
    if value.is_empty() || value.len() > NAME_MAX {
        return Err(Error::invalid(
            kind,
            value,
            format!("expected 1 to {NAME_MAX} characters, found {}", value.len()),
        ));
    }
    if let Some(c) = value
        .chars()
        .find(|&c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
    {
        return Err(Error::invalid(
            kind,
            value,
            format!(
                "{c:?} is not allowed: expected lower-case letters, digits and '-' (a DNS label)"
            ),
        ));
    }
    if value.starts_with('-') || value.ends_with('-') {
        return Err(Error::invalid(
            kind,
            value,
            "expected a letter or a digit at the beginning and the end",
        ));
    }
    Ok(())
}

/// An image digest as OCI writes it: `algorithm:encoded`; `sha256` and `sha512` digests must
/// have the length of their hash in lower-case hex (OCI image spec, descriptor.md).
pub(crate) fn digest(value: &str) -> Result<(), Error> {
    let bad = |problem: &str| Err(Error::invalid(Kind::Digest, value, problem.to_owned()));
    let Some((algorithm, encoded)) = value.split_once(':') else {
        return bad("expected algorithm:hex such as sha256:<64 hex digits>");
    };
    let algorithm_ok = !algorithm.is_empty()
        && algorithm.split(['+', '.', '_', '-']).all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
    if !algorithm_ok {
        return bad("expected a lower-case algorithm name before ':', such as sha256");
    }
    let hex_len = match algorithm {
        "sha256" => Some(64),
        "sha512" => Some(128),
        _ => None,
    };
    match hex_len {
        Some(n) => {
            if encoded.len() != n
                || !encoded
                    .bytes()
                    .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            {
                return Err(Error::invalid(
                    Kind::Digest,
                    value,
                    format!("expected {n} lower-case hex digits after {algorithm}:"),
                ));
            }
        }
        None => {
            if encoded.is_empty()
                || !encoded
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'=' | b'_' | b'-'))
            {
                return bad("expected letters, digits, '=', '_' or '-' after the algorithm");
            }
        }
    }
    Ok(())
}

/// Free text that people read on one line: a user, an image reference, a database version.
pub(crate) fn text(kind: Kind, value: &str) -> Result<(), Error> {
    if value.trim().is_empty() {
        return Err(Error::invalid(
            kind,
            value,
            "expected some text, found nothing",
        ));
    }
    if value.len() > TEXT_MAX {
        return Err(Error::invalid(
            kind,
            value,
            format!("expected at most {TEXT_MAX} bytes, found {}", value.len()),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::invalid(
            kind,
            value,
            "control characters are not allowed",
        ));
    }
    Ok(())
}

/// A scan's error, cut to [`ERROR_MAX`] bytes at a character boundary.
pub(crate) fn error_text(value: &str) -> String {
    if value.len() <= ERROR_MAX {
        return value.to_owned();
    }
    let mut end = ERROR_MAX;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    format!("{} [cut at {ERROR_MAX} bytes]", &value[..end])
}

/// A scan report: must be JSON.
pub(crate) fn report(value: &str) -> Result<(), Error> {
    serde_json::from_str::<serde::de::IgnoredAny>(value)
        .map(|_| ())
        .map_err(|e| Error::BadReport {
            len: value.len(),
            problem: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["prod", "a", "eu-west.1", "App_2", &"x".repeat(63)] {
            assert!(name(Kind::Cluster, ok).is_ok(), "{ok}");
        }
        for bad in ["", "-a", "a-", "a b", "app:x", "a@b", "é", &"x".repeat(64)] {
            assert!(name(Kind::Cluster, bad).is_err(), "{bad}");
        }
        assert!(pipeline("group/project").is_ok());
        assert!(pipeline("/x").is_err());
    }

    #[test]
    fn namespaces_are_dns_labels() {
        assert!(namespace("kube-system").is_ok());
        for bad in ["", "Prod", "a_b", "-a", "a.b"] {
            assert!(namespace(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn digests() {
        let hex = "a".repeat(64);
        assert!(digest(&format!("sha256:{hex}")).is_ok());
        assert!(digest("sha256:abc").is_err());
        assert!(digest(&format!("sha256:{}", "A".repeat(64))).is_err());
        assert!(digest("nocolon").is_err());
        assert!(digest("multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8").is_ok());
        assert!(digest("SHA256:x").is_err());
    }

    #[test]
    fn long_errors_are_cut_at_a_char_boundary() {
        let s = "é".repeat(ERROR_MAX);
        let cut = error_text(&s);
        assert!(cut.ends_with("[cut at 16384 bytes]"));
        assert!(cut.len() < s.len());
    }
}
