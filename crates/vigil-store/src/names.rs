//! Package-name normalisation per ecosystem, applied to both the stored index rows and the
//! matcher's queries, so `Jinja2` finds the advisory written for `jinja2`.
//!
//! Traps:
//! - PyPI names compare by PEP 503: lower case, and every run of `-`, `_`, `.` is one `-`
//!   (`zope.interface` = `Zope_Interface`).
//! - crates.io refuses two crates that differ only in case or in `-` versus `_`, so folding
//!   both is safe there; Cargo.lock keeps the spelling the author chose.
//! - NuGet and Packagist (Composer) ids are case-insensitive.
//! - Everything else is kept as given: Maven, Go modules and RubyGems names are
//!   case-sensitive, and distribution package names are lower case by policy already.
//!
//! The ecosystem key itself is kept as the feed spells it, release included (`Debian:12`,
//! `Alpine:v3.18`): the matcher asks for exactly one release (SPEC 5.1).

use std::borrow::Cow;

/// The ecosystem family: `Debian:12` -> `Debian`.
pub fn family(ecosystem: &str) -> &str {
    ecosystem.split(':').next().unwrap_or(ecosystem)
}

/// The name under which `name` is indexed and looked up in `ecosystem`.
pub fn normalize_name<'a>(ecosystem: &str, name: &'a str) -> Cow<'a, str> {
    match family(ecosystem) {
        "PyPI" => Cow::Owned(pep503(name)),
        "crates.io" => {
            if name.bytes().any(|b| b == b'_' || b.is_ascii_uppercase()) {
                Cow::Owned(name.to_ascii_lowercase().replace('_', "-"))
            } else {
                Cow::Borrowed(name)
            }
        }
        "NuGet" | "Packagist" => {
            if name.chars().any(char::is_uppercase) {
                Cow::Owned(name.to_lowercase())
            } else {
                Cow::Borrowed(name)
            }
        }
        _ => Cow::Borrowed(name),
    }
}

/// PEP 503: `re.sub(r"[-_.]+", "-", name).lower()`.
fn pep503(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_run {
                out.push('-');
            }
            in_run = true;
        } else {
            in_run = false;
            out.extend(c.to_lowercase());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pep503_examples_from_the_pep() {
        // PEP 503 "Normalized Names": all of these are the same project.
        for n in [
            "friendly-bard",
            "Friendly-Bard",
            "FRIENDLY-BARD",
            "friendly.bard",
            "friendly_bard",
            "friendly--bard",
            "FrIeNdLy-._.-bArD",
        ] {
            assert_eq!(normalize_name("PyPI", n), "friendly-bard", "{n}");
        }
    }

    #[test]
    fn only_case_insensitive_ecosystems_fold_case() {
        assert_eq!(normalize_name("crates.io", "Serde_JSON"), "serde-json");
        assert_eq!(
            normalize_name("NuGet", "Newtonsoft.Json"),
            "newtonsoft.json"
        );
        assert_eq!(normalize_name("Maven", "org.Apache:Foo"), "org.Apache:Foo");
        assert_eq!(
            normalize_name("Go", "github.com/BurntSushi/toml"),
            "github.com/BurntSushi/toml"
        );
        assert_eq!(normalize_name("Debian:12", "libssl3"), "libssl3");
    }

    proptest::proptest! {
        #[test]
        fn normalising_is_idempotent(eco in proptest::sample::select(vec!["PyPI", "crates.io", "NuGet", "npm", "Debian:12"]), name in "[A-Za-z0-9._-]{0,20}") {
            let once = normalize_name(eco, &name).into_owned();
            proptest::prop_assert_eq!(normalize_name(eco, &once), once.as_str());
        }
    }
}
