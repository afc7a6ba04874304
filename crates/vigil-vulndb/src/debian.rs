//! Debian security tracker JSON (SPEC 4.2) -> [`Advisory`], the way osv.dev's Debian
//! converter does it, plus the fix states OSV cannot express.
//!
//! The tracker JSON (the security tracker's `tracker/data/json` export) is one big object:
//! `{source package: {CVE id: {description, scope, debianbug, releases: {codename:
//! {status, fixed_version, urgency, nodsa, nodsa_reason, repositories}}}}}`. This module
//! converts ONE (package, CVE) entry; the streaming reader in [`crate::feed`] finds the
//! entries and joins the packages of one CVE into one advisory.
//!
//! Mapping, per release of an entry:
//! - codename -> ecosystem: `bookworm` -> `Debian:12` (and so on for every release from
//!   `lenny` to `duke`), `sid` -> `Debian:unstable`. A codename not in the table (a release
//!   newer than this code) becomes `Debian:<codename>`, which matches no image but loses
//!   nothing and breaks no import.
//! - package name: the tracker's key, a SOURCE package (SPEC 5.1).
//! - `resolved` with `fixed_version` `0`: the release was never affected. Fix state
//!   not-affected, no range (osv.dev drops such entries; we keep them so the matcher can say
//!   "not affected" instead of "no data").
//! - `resolved` with a version F: range `introduced 0` / `fixed F`, fix state fixed.
//! - `open`: range `introduced 0`, fix state not-fixed; but `nodsa_reason` `ignored` (the
//!   security team decided not to fix it in this release) gives will-not-fix, and
//!   `postponed` (to a point release) stays not-fixed.
//! - `undetermined`: range `introduced 0`, fix state not-fixed: the team has not decided
//!   whether the release is affected, so it is reported rather than hidden (osv.dev does the
//!   same, see the fixtures' PROVENANCE).
//! - `end-of-life` (as a status, or as the urgency of an open entry): the package is no
//!   longer supported in that release; range `introduced 0`, fix state will-not-fix.
//! - `urgency` -> [`Affected::label`] as spelt (`high**`, `unimportant`, `not yet
//!   assigned`); [`crate::severity`] maps it to a level.
//! - the advisory: id `DEBIAN-<CVE>` (osv.dev's naming), the CVE in `upstream` and
//!   `aliases` (a `TEMP-…` id only in `upstream`), the description as `details`.
//!
//! Trap: the tracker writes an empty `releases` as `[]` instead of `{}` (seen in real data,
//! `chromium-browser` CVE-2022-0358 in the vunnel fixture); it is read as no releases.
//!
//! Pure: no IO.

use crate::error::ParseError;
use crate::model::{Advisory, Affected, Event, FixState, Package, Range, RangeKind, VulnId};
use serde::Deserialize;

/// Debian codenames and their OSV ecosystem suffix.
pub const RELEASES: &[(&str, &str)] = &[
    ("lenny", "5"),
    ("squeeze", "6"),
    ("wheezy", "7"),
    ("jessie", "8"),
    ("stretch", "9"),
    ("buster", "10"),
    ("bullseye", "11"),
    ("bookworm", "12"),
    ("trixie", "13"),
    ("forky", "14"),
    ("duke", "15"),
    ("sid", "unstable"),
];

/// The OSV ecosystem of a Debian codename (`bookworm` -> `Debian:12`).
pub fn ecosystem(codename: &str) -> String {
    let suffix = RELEASES
        .iter()
        .find(|(c, _)| *c == codename)
        .map_or(codename, |(_, n)| n);
    format!("Debian:{suffix}")
}

#[derive(Deserialize)]
struct RawCve {
    description: Option<String>,
    #[serde(default)]
    releases: Releases,
}

#[derive(Default)]
struct Releases(Vec<(String, RawRelease)>);

impl<'de> Deserialize<'de> for Releases {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Releases;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of releases (or an empty array)")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Releases, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = a.next_entry::<String, RawRelease>()? {
                    out.push(entry);
                }
                Ok(Releases(out))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Releases, A::Error> {
                if a.next_element::<serde::de::IgnoredAny>()?.is_some() {
                    return Err(serde::de::Error::custom(
                        "expected an object of releases, found a non-empty array",
                    ));
                }
                Ok(Releases::default())
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
struct RawRelease {
    status: String,
    fixed_version: Option<String>,
    urgency: Option<String>,
    nodsa_reason: Option<String>,
}

/// Converts the tracker entry of one CVE under one source package (the JSON text of the
/// value of `json[package][cve_id]`) into an advisory fragment.
pub fn parse_entry(package: &str, cve_id: &str, bytes: &[u8]) -> Result<Advisory, ParseError> {
    let text = crate::osv::check_utf8(bytes)?;
    crate::osv::check_depth(bytes)?;
    let raw: RawCve = serde_json::from_str(text).map_err(|e| ParseError::Syntax(e.to_string()))?;
    let mut adv = Advisory::new(VulnId::new(format!("DEBIAN-{cve_id}")));
    adv.upstream.push(VulnId::from(cve_id));
    // The tracker's `TEMP-…` ids name issues without a CVE yet; they are nobody else's id,
    // so they are no alias.
    if !cve_id.starts_with("TEMP-") {
        adv.aliases.push(VulnId::from(cve_id));
    }
    adv.details = raw.description.filter(|d| !d.is_empty());
    for (codename, rel) in raw.releases.0 {
        let mut affected = Affected::new(Package {
            ecosystem: ecosystem(&codename),
            name: package.to_owned(),
            purl: None,
        });
        let from_start = || Range {
            kind: RangeKind::Ecosystem,
            events: vec![Event::Introduced("0".into())],
        };
        let eol = rel.urgency.as_deref() == Some("end-of-life");
        let state = match rel.status.as_str() {
            "resolved" => match rel.fixed_version.as_deref().map(str::trim) {
                Some("0") => FixState::NotAffected,
                Some(v) if !v.is_empty() => {
                    affected.ranges.push(Range {
                        kind: RangeKind::Ecosystem,
                        events: vec![Event::Introduced("0".into()), Event::Fixed(v.to_owned())],
                    });
                    FixState::Fixed
                }
                _ => {
                    return Err(ParseError::field(
                        format!("releases.{codename}.fixed_version"),
                        "expected a fixed version for a resolved entry, found none",
                    ));
                }
            },
            "open" | "undetermined" | "end-of-life" => {
                affected.ranges.push(from_start());
                if eol
                    || rel.status == "end-of-life"
                    || rel.nodsa_reason.as_deref() == Some("ignored")
                {
                    FixState::WillNotFix
                } else {
                    FixState::NotFixed
                }
            }
            other => {
                return Err(ParseError::field(
                    format!("releases.{codename}.status"),
                    format!(
                        "expected resolved, open, undetermined or end-of-life, found {other:?}"
                    ),
                ));
            }
        };
        affected.fix_state = Some(state);
        affected.label = rel.urgency;
        adv.affected.push(affected);
    }
    Ok(adv)
}

/// Orders affected entries by release number, then package, for stable output: the tracker
/// lists releases in no particular order.
pub fn sort_affected(adv: &mut Advisory) {
    let key = |a: &Affected| {
        let suffix = a.package.ecosystem.trim_start_matches("Debian:");
        let n = suffix.parse::<u32>().unwrap_or(u32::MAX);
        (n, suffix.to_owned(), a.package.name.clone())
    };
    adv.affected.sort_by_key(key);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_map_as_documented() {
        let entry = br#"{"description":"d","releases":{
            "bookworm":{"status":"open","urgency":"low","nodsa_reason":"ignored"},
            "trixie":{"status":"open","urgency":"low","nodsa_reason":"postponed"},
            "bullseye":{"status":"resolved","fixed_version":"0","urgency":"unimportant"},
            "sid":{"status":"undetermined"},
            "buster":{"status":"open","urgency":"end-of-life"},
            "forky":{"status":"resolved","fixed_version":"1.2-3","urgency":"high**"}}}"#;
        let mut adv = parse_entry("pkg", "CVE-1-2", entry).unwrap();
        sort_affected(&mut adv);
        let got: Vec<_> = adv
            .affected
            .iter()
            .map(|a| {
                (
                    a.package.ecosystem.as_str(),
                    a.fix_state.unwrap().as_str(),
                    a.ranges.len(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("Debian:10", "will-not-fix", 1),
                ("Debian:11", "not-affected", 0),
                ("Debian:12", "will-not-fix", 1),
                ("Debian:13", "not-fixed", 1),
                ("Debian:14", "fixed", 1),
                ("Debian:unstable", "not-fixed", 1),
            ]
        );
    }

    #[test]
    fn unknown_status_names_release_and_value() {
        let err = parse_entry(
            "p",
            "CVE-1",
            br#"{"releases":{"bookworm":{"status":"weird"}}}"#,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "field releases.bookworm.status: expected resolved, open, undetermined or end-of-life, found \"weird\""
        );
    }
}
