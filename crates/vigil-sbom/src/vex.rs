//! VEX documents in (issue 12, SPEC 5.6): OpenVEX (0.0.x and 0.2.x) and CycloneDX VEX
//! (the `vulnerabilities` of a CycloneDX 1.4+ JSON BOM) read into one statement model, and
//! the rule that decides whether a statement covers a finding.
//!
//! Mappings, made here:
//! - Status. OpenVEX `not_affected`, `fixed`, `affected`, `under_investigation` as they
//!   are. CycloneDX `analysis.state`: `not_affected` and `false_positive` are
//!   `not_affected`; `resolved` and `resolved_with_pedigree` are `fixed`; `exploitable` is
//!   `affected`; `in_triage` is `under_investigation`. Only `not_affected` and `fixed`
//!   suppress a finding.
//! - Justification: OpenVEX `justification`, CycloneDX `analysis.justification`, kept as
//!   written. Detail: OpenVEX `impact_statement` (else `action_statement`), CycloneDX
//!   `analysis.detail`.
//! - Vulnerability: OpenVEX `vulnerability.name` (0.2) or the string (0.0.x), plus
//!   `vulnerability.aliases`; CycloneDX `id` plus the ids of `references[]`.
//! - Products: OpenVEX `products[]` (`@id` or `identifiers.purl`, each with
//!   `subcomponents[]`; 0.0.x: strings and a statement-wide `subcomponents`); CycloneDX
//!   `affects[].ref`, resolved through the `bom-ref` of `components[]` and
//!   `metadata.component` to their purl (a ref that is itself a purl is taken as it is).
//!
//! A product is a package (a purl of a package type: deb, apk, rpm, pypi, npm, ...; with a
//! version it covers that version only, without one every version) or an image: a
//! `pkg:oci/...@sha256:...` purl, a bare `sha256:...` digest or an image reference
//! `NAME@sha256:...`. An image covers every package of that image, or only its
//! subcomponents when it lists some. Anything else (a CPE, a purl without a digest for an
//! image) matches nothing and so shows up as unused.
//!
//! Precedence: among the statements that cover a finding, the one with the latest
//! timestamp (the statement's, else its document's) decides; on a tie, the one imported
//! last. So a later `affected` statement revokes an earlier `not_affected` one.

use std::str::FromStr;

use packageurl::PackageUrl;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The largest VEX document read (they are small; this bounds memory on hostile input).
pub const MAX_VEX_SIZE: usize = 32 * 1024 * 1024;

/// Why a VEX document cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum VexError {
    #[error("{name}: not JSON: {source}")]
    Json {
        name: String,
        source: serde_json::Error,
    },
    #[error("{name}: {size} bytes is more than a VEX document may have ({limit})")]
    TooLarge {
        name: String,
        size: usize,
        limit: usize,
    },
    #[error(
        "{name}: neither an OpenVEX document (\"@context\" of openvex.dev) nor CycloneDX with \"vulnerabilities\""
    )]
    UnknownFormat { name: String },
    #[error("{name}: statement {index}: {problem}")]
    Statement {
        name: String,
        index: usize,
        problem: String,
    },
}

/// The format a document came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VexFormat {
    Openvex,
    Cyclonedx,
}

impl VexFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Openvex => "openvex",
            Self::Cyclonedx => "cyclonedx",
        }
    }
}

/// A statement's status (OpenVEX's four; CycloneDX states are mapped, see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VexStatus {
    NotAffected,
    Fixed,
    Affected,
    UnderInvestigation,
}

impl VexStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotAffected => "not_affected",
            Self::Fixed => "fixed",
            Self::Affected => "affected",
            Self::UnderInvestigation => "under_investigation",
        }
    }

    /// Whether a finding it covers is suppressed.
    pub fn suppresses(self) -> bool {
        matches!(self, Self::NotAffected | Self::Fixed)
    }
}

/// A package named by a purl.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageRef {
    /// The purl as written.
    pub purl: String,
    /// The purl type (vigil's ecosystem names: `deb`, `pypi`, `npm`, ...).
    pub ecosystem: String,
    /// The name as vigil spells it (namespace joined as the ecosystem does).
    pub name: String,
    /// The version (epoch put back as vigil writes it); none: every version.
    pub version: Option<String>,
}

/// What a statement is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Product {
    Package(PackageRef),
    Image {
        /// `sha256:...`
        digest: String,
        /// Only these packages of the image; empty: all of them.
        subcomponents: Vec<PackageRef>,
    },
    /// An identifier vigil cannot match (reported unused).
    Unsupported {
        id: String,
    },
}

/// One statement, normalised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VexStatement {
    /// Its index in the document (0-based).
    pub index: usize,
    pub vulnerability: String,
    pub aliases: Vec<String>,
    pub products: Vec<Product>,
    pub status: VexStatus,
    pub justification: Option<String>,
    pub detail: Option<String>,
    /// RFC 3339, the statement's or the document's.
    pub timestamp: Option<String>,
}

/// A document read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VexDocument {
    pub format: VexFormat,
    /// OpenVEX `@id`, CycloneDX `serialNumber`.
    pub id: Option<String>,
    pub author: Option<String>,
    pub timestamp: Option<String>,
    pub statements: Vec<VexStatement>,
}

/// What a statement is checked against: one finding of one image.
#[derive(Debug, Clone, Copy)]
pub struct FindingTarget<'a> {
    /// The image's manifest digest, when known.
    pub digest: Option<&'a str>,
    /// The finding's id and aliases.
    pub ids: &'a [&'a str],
    pub ecosystem: &'a str,
    pub name: &'a str,
    pub version: &'a str,
    /// The source package (Debian, Alpine, RPM): a statement may name it instead of the
    /// binary package (distributions' VEX and CSAF do).
    pub source_name: Option<&'a str>,
    pub source_version: Option<&'a str>,
}

impl PackageRef {
    fn covers(&self, t: &FindingTarget<'_>) -> bool {
        if !self.ecosystem.eq_ignore_ascii_case(t.ecosystem) {
            return false;
        }
        let same = |name: &str| {
            if self.ecosystem == "pypi" {
                vigil_detect::pep503(&self.name) == vigil_detect::pep503(name)
            } else {
                self.name.eq_ignore_ascii_case(name)
            }
        };
        let version_ok = |v: Option<&str>| self.version.is_none() || self.version.as_deref() == v;
        (same(t.name) && version_ok(Some(t.version)))
            || t.source_name
                .is_some_and(|s| same(s) && version_ok(t.source_version.or(Some(t.version))))
    }
}

impl Product {
    fn covers(&self, t: &FindingTarget<'_>) -> bool {
        match self {
            Product::Package(p) => p.covers(t),
            Product::Image {
                digest,
                subcomponents,
            } => {
                t.digest.is_some_and(|d| d.eq_ignore_ascii_case(digest))
                    && (subcomponents.is_empty() || subcomponents.iter().any(|s| s.covers(t)))
            }
            Product::Unsupported { .. } => false,
        }
    }
}

impl VexStatement {
    /// Whether it names the finding's vulnerability and covers its package in its image.
    pub fn covers(&self, t: &FindingTarget<'_>) -> bool {
        let named = std::iter::once(&self.vulnerability)
            .chain(&self.aliases)
            .any(|v| t.ids.iter().any(|id| id.eq_ignore_ascii_case(v)));
        named && self.products.iter().any(|p| p.covers(t))
    }
}

/// Reads an OpenVEX or CycloneDX VEX document; `name` names it in errors.
pub fn read(bytes: &[u8], name: &str) -> Result<VexDocument, VexError> {
    if bytes.len() > MAX_VEX_SIZE {
        return Err(VexError::TooLarge {
            name: name.to_owned(),
            size: bytes.len(),
            limit: MAX_VEX_SIZE,
        });
    }
    // serde_json refuses nesting past 128 levels and invalid UTF-8 with an error.
    let doc: Value = serde_json::from_slice(bytes).map_err(|source| VexError::Json {
        name: name.to_owned(),
        source,
    })?;
    let context = doc.get("@context").and_then(Value::as_str).unwrap_or("");
    if context.contains("openvex") {
        openvex(&doc, name)
    } else if doc.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX")
        && doc.get("vulnerabilities").is_some_and(Value::is_array)
    {
        cyclonedx(&doc, name)
    } else {
        Err(VexError::UnknownFormat {
            name: name.to_owned(),
        })
    }
}

fn string(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn openvex(doc: &Value, name: &str) -> Result<VexDocument, VexError> {
    let doc_time = string(doc, "last_updated").or_else(|| string(doc, "timestamp"));
    let bad = |index: usize, problem: &str| VexError::Statement {
        name: name.to_owned(),
        index,
        problem: problem.to_owned(),
    };
    let mut statements = Vec::new();
    for (index, st) in doc
        .get("statements")
        .and_then(Value::as_array)
        .ok_or_else(|| bad(0, "the document has no \"statements\" array"))?
        .iter()
        .enumerate()
    {
        let (vulnerability, aliases) = match st.get("vulnerability") {
            Some(Value::String(s)) => (s.trim().to_owned(), Vec::new()),
            Some(v @ Value::Object(_)) => (
                string(v, "name")
                    .or_else(|| string(v, "@id"))
                    .unwrap_or_default(),
                v.get("aliases")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|a| a.as_str().map(str::to_owned))
                    .collect(),
            ),
            _ => (String::new(), Vec::new()),
        };
        if vulnerability.is_empty() {
            return Err(bad(index, "no vulnerability named"));
        }
        let status = match st.get("status").and_then(Value::as_str) {
            Some("not_affected") => VexStatus::NotAffected,
            Some("fixed") => VexStatus::Fixed,
            Some("affected") => VexStatus::Affected,
            Some("under_investigation") => VexStatus::UnderInvestigation,
            Some(other) => {
                return Err(bad(
                    index,
                    &format!(
                        "status {other:?} is not one of not_affected, affected, fixed, under_investigation"
                    ),
                ));
            }
            None => return Err(bad(index, "no status")),
        };
        // 0.0.x: statement-wide subcomponents, products as strings.
        let shared: Vec<Value> = st
            .get("subcomponents")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let products = st
            .get("products")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|p| {
                let subs = p
                    .get("subcomponents")
                    .and_then(Value::as_array)
                    .unwrap_or(&shared);
                product(&identifier(p), subs.iter().map(identifier))
            })
            .collect();
        statements.push(VexStatement {
            index,
            vulnerability,
            aliases,
            products,
            status,
            justification: string(st, "justification"),
            detail: string(st, "impact_statement").or_else(|| string(st, "action_statement")),
            timestamp: string(st, "last_updated")
                .or_else(|| string(st, "timestamp"))
                .or_else(|| doc_time.clone()),
        });
    }
    Ok(VexDocument {
        format: VexFormat::Openvex,
        id: string(doc, "@id"),
        author: string(doc, "author"),
        timestamp: doc_time,
        statements,
    })
}

/// An OpenVEX component's identifier: a string, `@id`, or `identifiers.purl`.
fn identifier(v: &Value) -> String {
    match v {
        Value::String(s) => s.trim().to_owned(),
        _ => string(v, "@id")
            .or_else(|| v.get("identifiers").and_then(|i| string(i, "purl")))
            .unwrap_or_default(),
    }
}

fn cyclonedx(doc: &Value, name: &str) -> Result<VexDocument, VexError> {
    // bom-ref -> purl, over metadata.component and (nested) components.
    let mut refs = std::collections::HashMap::new();
    fn walk(c: &Value, refs: &mut std::collections::HashMap<String, String>) {
        if let (Some(r), Some(p)) = (string(c, "bom-ref"), string(c, "purl")) {
            refs.insert(r, p);
        }
        for sub in c
            .get("components")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            walk(sub, refs);
        }
    }
    if let Some(c) = doc.pointer("/metadata/component") {
        walk(c, &mut refs);
    }
    walk(doc, &mut refs);
    let doc_time = doc.pointer("/metadata/timestamp").and_then(Value::as_str);
    let mut statements = Vec::new();
    for (index, v) in doc["vulnerabilities"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let Some(id) = string(v, "id") else {
            return Err(VexError::Statement {
                name: name.to_owned(),
                index,
                problem: "a vulnerability without an id".into(),
            });
        };
        let analysis = v.get("analysis").cloned().unwrap_or(Value::Null);
        let status = match analysis.get("state").and_then(Value::as_str) {
            Some("not_affected" | "false_positive") => VexStatus::NotAffected,
            Some("resolved" | "resolved_with_pedigree") => VexStatus::Fixed,
            Some("exploitable") => VexStatus::Affected,
            Some("in_triage") | None => VexStatus::UnderInvestigation,
            Some(other) => {
                return Err(VexError::Statement {
                    name: name.to_owned(),
                    index,
                    problem: format!("analysis.state {other:?} is not a CycloneDX impact state"),
                });
            }
        };
        let products = v
            .get("affects")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|a| string(a, "ref"))
            .map(|r| {
                // `urn:cdx:SERIAL/VERSION#BOM-REF` points into another BOM by its bom-ref.
                let local = r.rsplit_once('#').map_or(r.as_str(), |(_, b)| b);
                let id = refs
                    .get(&r)
                    .or_else(|| refs.get(local))
                    .cloned()
                    .unwrap_or(r.clone());
                product(&id, std::iter::empty())
            })
            .collect();
        statements.push(VexStatement {
            index,
            vulnerability: id,
            aliases: v
                .get("references")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|r| string(r, "id"))
                .collect(),
            products,
            status,
            justification: string(&analysis, "justification"),
            detail: string(&analysis, "detail"),
            timestamp: string(&analysis, "lastUpdated")
                .or_else(|| string(&analysis, "firstIssued"))
                .or_else(|| string(v, "updated"))
                .or_else(|| string(v, "published"))
                .or_else(|| doc_time.map(str::to_owned)),
        });
    }
    Ok(VexDocument {
        format: VexFormat::Cyclonedx,
        id: string(doc, "serialNumber"),
        author: doc
            .pointer("/metadata/authors/0/name")
            .and_then(Value::as_str)
            .map(str::to_owned),
        timestamp: doc_time.map(str::to_owned),
        statements,
    })
}

/// A product from its identifier and its subcomponents' identifiers.
fn product(id: &str, subcomponents: impl Iterator<Item = String>) -> Product {
    if let Some(digest) = image_digest(id) {
        return Product::Image {
            digest,
            subcomponents: subcomponents.filter_map(|s| package(&s)).collect(),
        };
    }
    match package(id) {
        Some(p) => Product::Package(p),
        None => Product::Unsupported { id: id.to_owned() },
    }
}

/// `sha256:HEX` of `pkg:oci/NAME@sha256:HEX`, a bare digest or `NAME@sha256:HEX`.
fn image_digest(id: &str) -> Option<String> {
    let candidate = if id.starts_with("pkg:oci/") || id.starts_with("pkg:docker/") {
        let parsed = PackageUrl::from_str(id).ok()?;
        parsed.version()?.to_owned()
    } else {
        id.rsplit_once('@').map_or(id, |(_, d)| d).to_owned()
    };
    let hex = candidate.strip_prefix("sha256:")?;
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| format!("sha256:{}", hex.to_ascii_lowercase()))
}

/// A package purl of a type vigil matches.
fn package(id: &str) -> Option<PackageRef> {
    if !id.starts_with("pkg:") {
        return None;
    }
    let parsed = PackageUrl::from_str(id).ok()?;
    crate::purl::ecosystem(parsed.ty())?;
    // With a version, the purl module spells it as vigil does (epochs, names).
    let (ecosystem, name, version) = match crate::purl::parse(id, None) {
        Ok(p) => (p.ecosystem.as_str().to_owned(), p.name, Some(p.version)),
        Err(_) => {
            let versioned = format!("{}@0", id.split(['?', '#']).next().unwrap_or(id));
            let p = crate::purl::parse(&versioned, None).ok()?;
            (p.ecosystem.as_str().to_owned(), p.name, None)
        }
    };
    Some(PackageRef {
        purl: id.to_owned(),
        ecosystem,
        name,
        version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:b1462da19e80b233a56c04ec23e0faf457effc74b284d577d6cfaad09723cce3";

    fn target<'a>(ids: &'a [&'a str], name: &'a str, version: &'a str) -> FindingTarget<'a> {
        FindingTarget {
            digest: Some(DIGEST),
            ids,
            ecosystem: "deb",
            name,
            version,
            source_name: None,
            source_version: None,
        }
    }

    #[test]
    fn openvex_image_with_a_subcomponent_covers_that_package_only() {
        let doc = serde_json::json!({
            "@context": "https://openvex.dev/ns/v0.2.0",
            "@id": "https://example.com/vex/1",
            "author": "security@example.com",
            "timestamp": "2026-12-01T00:00:00Z",
            "version": 1,
            "statements": [{
                "vulnerability": {"name": "CVE-2024-45491", "aliases": ["DEBIAN-CVE-2024-45491"]},
                "products": [{
                    "@id": format!("pkg:oci/app@{}", DIGEST.replace(':', "%3A")),
                    "subcomponents": [{"@id": "pkg:deb/debian/libexpat1@2.5.0-1%2Bdeb12u5?arch=amd64"}]
                }],
                "status": "not_affected",
                "justification": "vulnerable_code_not_in_execute_path",
                "impact_statement": "expat parses no untrusted XML here"
            }]
        });
        let d = read(doc.to_string().as_bytes(), "vex.json").unwrap();
        assert_eq!(d.format, VexFormat::Openvex);
        let s = &d.statements[0];
        assert_eq!(s.timestamp.as_deref(), Some("2026-12-01T00:00:00Z"));
        assert!(s.covers(&target(&["CVE-2024-45491"], "libexpat1", "2.5.0-1+deb12u5")));
        assert!(s.covers(&target(
            &["DEBIAN-CVE-2024-45491"],
            "libexpat1",
            "2.5.0-1+deb12u5"
        )));
        assert!(!s.covers(&target(&["CVE-2024-45491"], "libexpat1", "2.5.0-1+deb12u6")));
        assert!(!s.covers(&target(&["CVE-2024-45491"], "zlib1g", "1:1.2.13.dfsg-1")));
        assert!(!s.covers(&target(&["CVE-2024-0001"], "libexpat1", "2.5.0-1+deb12u5")));
        let elsewhere = FindingTarget {
            digest: Some("sha256:0000000000000000000000000000000000000000000000000000000000000000"),
            ..target(&["CVE-2024-45491"], "libexpat1", "2.5.0-1+deb12u5")
        };
        assert!(!s.covers(&elsewhere));
    }

    #[test]
    fn cyclonedx_refs_resolve_through_bom_refs_and_states_map() {
        let doc = serde_json::json!({
            "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
            "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
            "components": [{"bom-ref": "minimist", "type": "library", "name": "minimist",
                            "purl": "pkg:npm/minimist"}],
            "vulnerabilities": [
                {"id": "CVE-2021-44906", "references": [{"id": "GHSA-xvch-5gv4-984h"}],
                 "analysis": {"state": "false_positive", "detail": "not loaded"},
                 "affects": [{"ref": "minimist"}]},
                {"id": "CVE-2020-1", "analysis": {"state": "resolved"},
                 "affects": [{"ref": "pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1"}]},
                {"id": "CVE-2020-2", "analysis": {"state": "exploitable"}, "affects": [{"ref": "cpe:/a:x:y"}]}
            ]
        });
        let d = read(doc.to_string().as_bytes(), "cdx.json").unwrap();
        let st: Vec<VexStatus> = d.statements.iter().map(|s| s.status).collect();
        assert_eq!(
            st,
            [
                VexStatus::NotAffected,
                VexStatus::Fixed,
                VexStatus::Affected
            ]
        );
        let npm = FindingTarget {
            digest: None,
            ids: &["GHSA-xvch-5gv4-984h"],
            ecosystem: "npm",
            name: "minimist",
            version: "1.2.5",
            source_name: None,
            source_version: None,
        };
        assert!(d.statements[0].covers(&npm), "any version, by alias");
        let zlib = FindingTarget {
            digest: None,
            ids: &["CVE-2020-1"],
            ecosystem: "deb",
            name: "zlib1g",
            version: "1:1.2.13.dfsg-1",
            source_name: Some("zlib"),
            source_version: None,
        };
        assert!(d.statements[1].covers(&zlib), "epoch kept in the version");
        let by_source = serde_json::json!({
            "@context": "https://openvex.dev/ns/v0.2.0",
            "statements": [{"vulnerability": {"name": "CVE-2020-1"}, "status": "fixed",
                            "products": [{"@id": "pkg:deb/debian/zlib"}]}]
        });
        let src = read(by_source.to_string().as_bytes(), "src.json").unwrap();
        assert!(
            src.statements[0].covers(&zlib),
            "the source package covers its binaries"
        );
        assert!(matches!(
            d.statements[2].products[0],
            Product::Unsupported { .. }
        ));
    }

    #[test]
    fn bad_documents_are_named() {
        for (bytes, want) in [
            (&b"{\"@context\": \"https://openvex.dev/ns/v0.2.0\", \"statements\": [{\"vulnerability\": {\"name\": \"CVE-1\"}, \"status\": \"maybe\"}]}"[..], "statement 0: status \"maybe\""),
            (b"{\"bomFormat\": \"CycloneDX\"}", "neither an OpenVEX"),
            (b"\xff\xfe", "not JSON"),
        ] {
            let e = read(bytes, "x.json").unwrap_err().to_string();
            assert!(e.starts_with("x.json: ") && e.contains(want), "{e}");
        }
        let deep = "[".repeat(100_000);
        assert!(
            read(deep.as_bytes(), "deep.json")
                .unwrap_err()
                .to_string()
                .contains("not JSON")
        );
    }
}
