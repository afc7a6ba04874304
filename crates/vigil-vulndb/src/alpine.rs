//! Alpine secdb (SPEC 4.2) -> [`Advisory`], the way osv.dev's Alpine converter does it.
//!
//! A secdb document covers one release and one repository (`v3.11`, `main`) and lists, per
//! package, `secfixes`: a map from the version that fixed something to the ids it fixed.
//! The same layout comes as JSON (what Alpine's secdb site serves) and as the legacy YAML.
//!
//! Mapping (document by document; the caller joins documents with [`Advisory::merge`]):
//! - one advisory per vulnerability id, named `ALPINE-<id>` (osv.dev's naming), with the
//!   upstream id in `upstream` and `aliases`;
//! - one [`Affected`] per (release, package): ecosystem `Alpine:v3.11` (a missing `v` is
//!   added), name = the package name secdb lists, which is the ORIGIN (source) package
//!   (SPEC 5.1), range `introduced 0` / `fixed <version>`, fix state fixed;
//! - a fixed version of `0` means "this package was never affected" (secdb's convention):
//!   fix state not-affected and no range;
//! - a line like `CVE-2017-12122 TALOS-2017-0488` names one vulnerability by several ids:
//!   the first is the record, the others are aliases;
//! - keys that YAML reads as numbers (`1.10:`) are taken as text; a YAML float loses
//!   trailing zeros, which no Alpine version (always `-rN`) has.
//!
//! Pure: no IO.

use crate::error::ParseError;
use crate::model::{Advisory, Affected, Event, FixState, Package, Range, RangeKind, VulnId};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
struct RawSecdb {
    distroversion: String,
    #[serde(default)]
    packages: Option<Vec<RawPackageWrap>>,
}

#[derive(Deserialize)]
struct RawPackageWrap {
    pkg: RawPackage,
}

#[derive(Deserialize)]
struct RawPackage {
    name: String,
    #[serde(default)]
    secfixes: Option<BTreeMap<Text, Option<Vec<Option<Text>>>>>,
}

/// A scalar taken as text whatever YAML typed it as.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Text(String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Text;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a version or an id")
            }
            fn visit_str<E>(self, v: &str) -> Result<Text, E> {
                Ok(Text(v.to_owned()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// The document's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syntax {
    /// JSON (what Alpine's secdb site serves).
    Json,
    /// The legacy YAML.
    Yaml,
}

/// Converts one secdb document into advisories, one per vulnerability id, sorted by id.
pub fn parse(bytes: &[u8], syntax: Syntax) -> Result<Vec<Advisory>, ParseError> {
    let text = crate::osv::check_utf8(bytes)?;
    crate::osv::check_depth(bytes)?;
    let raw: RawSecdb = match syntax {
        Syntax::Json => {
            serde_json::from_str(text).map_err(|e| ParseError::Syntax(e.to_string()))?
        }
        Syntax::Yaml => {
            serde_norway::from_str(text).map_err(|e| ParseError::Syntax(e.to_string()))?
        }
    };
    let release = raw.distroversion.trim();
    if release.is_empty() {
        return Err(ParseError::field(
            "distroversion",
            "expected a release such as v3.18, found an empty string",
        ));
    }
    let ecosystem = if release.starts_with('v') {
        format!("Alpine:{release}")
    } else {
        format!("Alpine:v{release}")
    };
    let mut out: BTreeMap<String, Advisory> = BTreeMap::new();
    for (i, wrap) in raw.packages.unwrap_or_default().into_iter().enumerate() {
        let pkg = wrap.pkg;
        if pkg.name.is_empty() {
            return Err(ParseError::field(
                format!("packages[{i}].pkg.name"),
                "expected a package name, found an empty string",
            ));
        }
        for (version, ids) in pkg.secfixes.unwrap_or_default() {
            let version = version.0;
            for line in ids.unwrap_or_default().into_iter().flatten() {
                let mut tokens = line.0.split_whitespace();
                let Some(first) = tokens.next() else {
                    continue;
                };
                let id = format!("ALPINE-{first}");
                let adv = out.entry(id.clone()).or_insert_with(|| {
                    let mut a = Advisory::new(VulnId::new(id));
                    a.upstream.push(VulnId::from(first));
                    a.aliases.push(VulnId::from(first));
                    a
                });
                for alias in tokens {
                    let alias = VulnId::from(alias);
                    if !adv.aliases.contains(&alias) {
                        adv.aliases.push(alias);
                    }
                }
                let mut affected = Affected::new(Package {
                    ecosystem: ecosystem.clone(),
                    name: pkg.name.clone(),
                    purl: None,
                });
                if version == "0" {
                    affected.fix_state = Some(FixState::NotAffected);
                } else {
                    affected.fix_state = Some(FixState::Fixed);
                    affected.ranges.push(Range {
                        kind: RangeKind::Ecosystem,
                        events: vec![Event::Introduced("0".into()), Event::Fixed(version.clone())],
                    });
                }
                if !adv.affected.contains(&affected) {
                    adv.affected.push(affected);
                }
            }
        }
    }
    Ok(out.into_values().collect())
}
