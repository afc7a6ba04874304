//! SARIF 2.1.0 (OASIS), as GitHub code scanning reads it: one rule per vulnerability id
//! (with help text and a `security-severity` score), one result per finding, located at the
//! package database the package was read from. Coverage gaps (SPEC 5.7) are tool execution
//! notifications of the run, so an incomplete scan is visible there too.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde_json::{Value, json};
use vigil_matcher::{Finding, FixState};
use vigil_scan::Report;
use vigil_vulndb::Severity;

use super::{advisory_url, best_score};

/// GitHub's bands for `security-severity`: a representative score when no CVSS vector is
/// known (critical >= 9.0, high >= 7.0, medium >= 4.0, low > 0).
fn fallback_score(sev: Severity) -> f64 {
    match sev {
        Severity::Critical => 9.5,
        Severity::High => 8.0,
        Severity::Medium => 5.5,
        Severity::Low => 2.0,
        Severity::Unknown => 0.0,
    }
}

fn level(sev: Severity) -> &'static str {
    match sev {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Unknown => "note",
    }
}

fn fix_sentence(f: &Finding) -> String {
    match (f.fix_state, &f.fixed_version) {
        (FixState::Fixed, Some(v)) => format!("Fixed in version {v}."),
        (FixState::WillNotFix, _) => "The distribution will not fix it.".to_string(),
        _ => "No fixed version is known yet.".to_string(),
    }
}

fn rule(f: &Finding) -> Value {
    let score = best_score(f).unwrap_or_else(|| fallback_score(f.severity));
    let title = f.summary.clone().unwrap_or_else(|| f.id.to_string());
    let ids: Vec<String> = std::iter::once(f.id.to_string())
        .chain(f.aliases.iter().map(ToString::to_string))
        .collect();
    let help_text = format!(
        "{}\nSeverity: {}\nIds: {}\n{}",
        title,
        f.severity.as_str(),
        ids.join(", "),
        advisory_url(f.id.as_str())
    );
    let help_md = format!(
        "**{}**\n\n| Severity | Ids |\n| --- | --- |\n| {} | {} |\n\n[{}]({})",
        title,
        f.severity.as_str(),
        ids.join(", "),
        f.id,
        advisory_url(f.id.as_str())
    );
    json!({
        "id": f.id.as_str(),
        "name": "KnownVulnerability",
        "shortDescription": { "text": format!("{}: {}", f.id, title) },
        "fullDescription": { "text": title },
        "helpUri": advisory_url(f.id.as_str()),
        "help": { "text": help_text, "markdown": help_md },
        "defaultConfiguration": { "level": level(f.severity) },
        "properties": {
            "security-severity": format!("{score:.1}"),
            "precision": "very-high",
            "tags": ["security", "vulnerability", f.severity.as_str()],
        },
    })
}

pub fn write(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    let mut rules: BTreeMap<&str, (usize, Value)> = BTreeMap::new();
    // Findings VEX suppressed are results too, with an accepted external suppression
    // (SARIF 2.1.0 3.35): code scanning UIs show them as dismissed, with the reason.
    let all: Vec<(&Finding, Option<&vigil_scan::VexNote>)> = report
        .findings
        .iter()
        .map(|f| (f, None))
        .chain(report.suppressed.iter().map(|s| (&s.finding, Some(&s.vex))))
        .collect();
    for (f, _) in &all {
        let next = rules.len();
        rules
            .entry(f.id.as_str())
            .or_insert_with(|| (next, rule(f)));
    }
    let results: Vec<Value> = all
        .iter()
        .map(|(f, vex)| {
            let p = &f.package;
            let message = format!(
                "{} {} in {}: {} {}. {}",
                f.id,
                f.severity.as_str(),
                report.image.reference,
                p.name,
                p.version,
                fix_sentence(f)
            );
            let mut result = json!({
                "ruleId": f.id.as_str(),
                "ruleIndex": rules[f.id.as_str()].0,
                "level": level(f.severity),
                "message": { "text": message },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": p.path.as_str() },
                        "region": { "startLine": 1, "startColumn": 1, "endLine": 1, "endColumn": 1 },
                    },
                    "message": { "text": format!("{}: {}", report.image.reference, p.path) },
                }],
                "partialFingerprints": {
                    "vigil/v1": format!("{}/{}/{}/{}", f.id, p.ecosystem, p.name, p.path),
                },
                "properties": {
                    "package": p.name, "installedVersion": p.version,
                    "fixedVersion": f.fixed_version, "fixState": f.fix_state.as_str(),
                    "purl": p.purl, "layer": p.layer,
                },
            });
            if let Some(v) = vex {
                result["suppressions"] = json!([{
                    "kind": "external",
                    "status": "accepted",
                    "justification": v.sentence(),
                    "properties": { "vex": v },
                }]);
            }
            result
        })
        .collect();
    let mut rules: Vec<(usize, Value)> = rules.into_values().collect();
    rules.sort_by_key(|(i, _)| *i);
    let notifications: Vec<Value> = report
        .coverage
        .gaps
        .iter()
        .map(|g| json!({ "level": "warning", "message": { "text": format!("not covered: {g}") } }))
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "vigil",
                "informationUri": "https://github.com/vigil-scanner/vigil",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules.into_iter().map(|(_, r)| r).collect::<Vec<_>>(),
            }},
            "invocations": [{
                "executionSuccessful": true,
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
            "properties": {
                "image": report.image.reference,
                "manifestDigest": report.image.manifest_digest,
                "coverageComplete": report.coverage.coverage.complete,
            },
        }],
    });
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}
