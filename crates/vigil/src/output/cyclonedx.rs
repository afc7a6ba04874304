//! CycloneDX 1.5 JSON: the image as the metadata component, every package as a component
//! (bom-ref = its purl), every finding as a vulnerability that affects it. Coverage
//! (SPEC 5.7) is in `metadata.properties` (`vigil:coverage:complete`, one
//! `vigil:coverage:gap` per gap), so an incomplete scan is never read as a clean BOM.

use std::collections::HashMap;
use std::io::{self, Write};
use std::time::SystemTime;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use vigil_matcher::{Finding, FixState};
use vigil_scan::Report;
use vigil_vulndb::SeverityKind;

use super::advisory_url;

fn method(kind: &SeverityKind, vector: &str) -> &'static str {
    match kind {
        SeverityKind::CvssV2 => "CVSSv2",
        SeverityKind::CvssV3 if vector.starts_with("CVSS:3.1") => "CVSSv31",
        SeverityKind::CvssV3 => "CVSSv3",
        SeverityKind::CvssV4 => "CVSSv4",
        _ => "other",
    }
}

/// A deterministic serial number: a UUID (version 5 layout) from the SHA-256 of the image
/// and what was found, so the same scan gives the same BOM identity.
fn serial(report: &Report) -> String {
    let mut h = Sha256::new();
    h.update(report.image.reference.as_bytes());
    h.update(
        report
            .image
            .manifest_digest
            .as_deref()
            .unwrap_or("")
            .as_bytes(),
    );
    for f in &report.findings {
        h.update(f.id.as_str().as_bytes());
        h.update(f.package.name.as_bytes());
    }
    let mut b: [u8; 16] = h.finalize()[..16].try_into().expect("16 bytes");
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x = hex::encode(b);
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &x[..8],
        &x[8..12],
        &x[12..16],
        &x[16..20],
        &x[20..]
    )
}

fn prop(name: &str, value: impl Into<String>) -> Value {
    json!({ "name": name, "value": value.into() })
}

pub fn write(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    // bom-refs: the purl, made unique with the database path when a purl repeats.
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut refs: HashMap<(&str, &str, &str), String> = HashMap::new();
    let mut components = Vec::new();
    for p in &report.packages {
        let n = seen.entry(p.purl.as_str()).or_insert(0);
        *n += 1;
        let bom_ref = if *n == 1 {
            p.purl.clone()
        } else {
            format!("{}#{}", p.purl, p.path)
        };
        refs.insert(
            (p.name.as_str(), p.version.as_str(), p.path.as_str()),
            bom_ref.clone(),
        );
        let mut props = vec![prop("vigil:package:path", &p.path)];
        if let Some(l) = &p.layer {
            props.push(prop("vigil:package:layer", l));
        }
        if let Some(s) = &p.source_name {
            props.push(prop("vigil:package:source_name", s));
        }
        if let Some(s) = &p.source_version {
            props.push(prop("vigil:package:source_version", s));
        }
        components.push(json!({
            "type": "library",
            "bom-ref": bom_ref,
            "name": p.name,
            "version": p.version,
            "purl": p.purl,
            "properties": props,
        }));
    }
    if let Some(d) = &report.distro {
        components.push(json!({
            "type": "operating-system",
            "bom-ref": format!("os:{}:{}", d.id, d.version_id.as_deref().unwrap_or("")),
            "name": d.id,
            "version": d.version_id.as_deref().unwrap_or(""),
        }));
    }

    let mut vulnerabilities: Vec<Value> = report
        .findings
        .iter()
        .enumerate()
        .map(|(i, f)| vulnerability(i, f, &refs))
        .collect();
    // VEX-suppressed findings keep their entry, with the statement as the analysis.
    let n = vulnerabilities.len();
    vulnerabilities.extend(report.suppressed.iter().enumerate().map(|(i, s)| {
        let mut v = vulnerability(n + i, &s.finding, &refs);
        v["analysis"] = vex_analysis(&s.vex);
        v["affects"][0]["versions"][0]["status"] = json!("unaffected");
        v
    }));

    let mut meta_props = vec![prop(
        "vigil:coverage:complete",
        report.coverage.coverage.complete.to_string(),
    )];
    meta_props.extend(
        report
            .coverage
            .gaps
            .iter()
            .map(|g| prop("vigil:coverage:gap", g)),
    );
    let image_ref = report
        .image
        .manifest_digest
        .clone()
        .unwrap_or_else(|| report.image.reference.clone());
    let doc = json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": serial(report),
        "version": 1,
        "metadata": {
            "timestamp": humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            "tools": { "components": [{
                "type": "application", "name": "vigil", "version": env!("CARGO_PKG_VERSION"),
            }]},
            "component": {
                "type": "container",
                "bom-ref": image_ref,
                "name": report.image.reference,
            },
            "properties": meta_props,
        },
        "components": components,
        "vulnerabilities": vulnerabilities,
    });
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

fn vulnerability(i: usize, f: &Finding, refs: &HashMap<(&str, &str, &str), String>) -> Value {
    let p = &f.package;
    let affects_ref = refs
        .get(&(p.name.as_str(), p.version.as_str(), p.path.as_str()))
        .cloned()
        .unwrap_or_else(|| p.purl.clone().unwrap_or_default());
    let mut ratings: Vec<Value> = f
        .cvss
        .iter()
        .map(|c| {
            let mut r = json!({
                "source": { "name": c.advisory.as_str() },
                "method": method(&c.kind, &c.vector),
                "vector": c.vector,
            });
            if let Some(score) = c.score {
                r["score"] = json!(score);
            }
            r
        })
        .collect();
    ratings.insert(
        0,
        // our severity names are CycloneDX's severity values
        json!({ "severity": f.severity.as_str(), "method": "other" }),
    );
    let references: Vec<Value> = f
        .aliases
        .iter()
        .map(|a| json!({ "id": a.as_str(), "source": { "url": advisory_url(a.as_str()) } }))
        .collect();
    let mut v = json!({
        "bom-ref": format!("vuln-{i}"),
        "id": f.id.as_str(),
        "source": { "name": f.data_source.ecosystem, "url": advisory_url(f.id.as_str()) },
        "references": references,
        "ratings": ratings,
        "affects": [{
            "ref": affects_ref,
            "versions": [{ "version": p.version, "status": "affected" }],
        }],
        "properties": [
            prop("vigil:fix_state", f.fix_state.as_str()),
            prop("vigil:installed_version", f.installed_version.to_string()),
        ],
    });
    if let Some(s) = &f.summary {
        v["description"] = json!(s);
    }
    match (f.fix_state, &f.fixed_version) {
        (FixState::Fixed, Some(fixed)) => {
            v["recommendation"] = json!(format!("Upgrade {} to {fixed} or later.", p.name));
        }
        (FixState::WillNotFix, _) => {
            v["analysis"] = json!({ "state": "exploitable", "response": ["will_not_fix"] });
        }
        _ => {}
    }
    v
}

/// A VEX statement as a CycloneDX `analysis`: `not_affected` stays, `fixed` is `resolved`;
/// OpenVEX justifications map to CycloneDX's (`vulnerable_code_not_in_execute_path` is
/// `code_not_reachable`, ...); the statement is named in `detail`.
fn vex_analysis(v: &vigil_scan::VexNote) -> Value {
    let state = if v.status == "fixed" {
        "resolved"
    } else {
        "not_affected"
    };
    let justification = v.justification.as_deref().and_then(|j| {
        Some(match j {
            "code_not_present"
            | "code_not_reachable"
            | "requires_configuration"
            | "requires_dependency"
            | "requires_environment"
            | "protected_by_compiler"
            | "protected_at_runtime"
            | "protected_at_perimeter"
            | "protected_by_mitigating_control" => j,
            "component_not_present" | "vulnerable_code_not_present" => "code_not_present",
            "vulnerable_code_not_in_execute_path" => "code_not_reachable",
            "vulnerable_code_cannot_be_controlled_by_adversary"
            | "inline_mitigations_already_exist" => "protected_by_mitigating_control",
            _ => return None,
        })
    });
    let mut detail = v.sentence();
    if let Some(d) = &v.detail {
        detail = format!("{detail}: {d}");
    }
    let mut a = json!({ "state": state, "detail": detail });
    if let Some(j) = justification
        && state == "not_affected"
    {
        a["justification"] = json!(j);
    }
    a
}
