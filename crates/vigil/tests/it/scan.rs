//! `vigil scan` end to end (issue 6): findings against an independent oracle, every output
//! format valid against its official schema, coverage, filters and exit codes.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

fn feeds() -> PathBuf {
    shared_fixtures().join("feeds")
}

/// The tracker plus the OSV feeds of the languages in the app image (PyPI, npm), so that
/// the scan of the app image is complete.
fn all_language_feeds() -> Vec<PathBuf> {
    vec![
        tracker(),
        feeds().join("github-advisory-database"),
        feeds().join("pypa-advisory-database"),
    ]
}

fn tracker() -> PathBuf {
    feeds().join("debian-tracker/bookworm.json")
}

/// (id, source package, fix state, fixed version) rows of a scan JSON, as the oracle prints.
fn finding_rows(doc: &serde_json::Value) -> BTreeSet<String> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["package"]["ecosystem"] == "deb")
        .map(|f| {
            format!(
                "{}\t{}\t{}\t{}",
                f["id"].as_str().unwrap(),
                f["package"]["source_name"].as_str().unwrap(),
                f["fix_state"].as_str().unwrap(),
                f["fixed_version"].as_str().unwrap_or("")
            )
        })
        .collect()
}

fn oracle(rootfs: &Path) -> Option<BTreeSet<String>> {
    require(Path::new("/usr/bin/python3").exists(), "/usr/bin/python3")?;
    let out = Command::new("/usr/bin/python3")
        .arg(workspace().join("scripts/oracle-debian-findings.py"))
        .arg(rootfs)
        .arg(tracker())
        .output()
        .unwrap();
    if !out.status.success() && text(&out.stderr).contains("apt_pkg") {
        require(false, "python3-apt")?;
    }
    assert!(out.status.success(), "oracle: {}", text(&out.stderr));
    Some(text(&out.stdout).lines().map(str::to_owned).collect())
}

/// The Debian findings of the app image equal, row for row, what the independent oracle
/// (dpkg-query + apt_pkg.version_compare over the tracker JSON, no shared code) computes
/// for the root file system umoci unpacks from the same image.
#[test]
fn debian_findings_equal_the_oracle() {
    let Some(img) = images() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let Some(rootfs) = umoci_unpack(&img.join("oci"), "app", tmp.path()) else {
        return;
    };
    let Some(expected) = oracle(&rootfs) else {
        return;
    };
    assert!(
        !expected.is_empty(),
        "the oracle found nothing: the test would prove nothing"
    );

    let vigil = Vigil::new();
    vigil.import(&all_language_feeds());
    for reference in [
        format!("oci:{}:app", img.join("oci").display()),
        format!("docker-archive:{}", img.join("app.docker.tar").display()),
        format!("dir:{}", rootfs.display()),
    ] {
        let doc = json(&vigil.run(&["scan", "-f", "json", &reference]));
        let got = finding_rows(&doc);
        let missing: Vec<_> = expected.difference(&got).collect();
        let extra: Vec<_> = got.difference(&expected).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{reference}\nmissing: {missing:#?}\nextra: {extra:#?}"
        );
        assert_eq!(
            doc["coverage"]["complete"], true,
            "{reference}: {}",
            doc["coverage"]
        );
        let s = &doc["summary"];
        assert_eq!(
            s["total"].as_u64().unwrap() as usize,
            doc["findings"].as_array().unwrap().len()
        );
    }
}

/// The same, on a copy of the image's dpkg status with every source version lowered, so
/// that `fixed` findings with fixed versions are exercised too (the live image is too new
/// for most of the fixture's fixes).
#[test]
fn aged_packages_get_fixed_findings_equal_to_the_oracle() {
    let Some(img) = images() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("rootfs");
    std::fs::create_dir_all(root.join("var/lib/dpkg")).unwrap();
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::copy(
        img.join("rootfs/etc/os-release"),
        root.join("etc/os-release"),
    )
    .unwrap();
    let status = std::fs::read_to_string(img.join("rootfs/var/lib/dpkg/status")).unwrap();
    std::fs::write(root.join("var/lib/dpkg/status"), age_status(&status)).unwrap();
    let Some(expected) = oracle(&root) else {
        return;
    };
    assert!(
        expected.iter().any(|r| r.contains("\tfixed\t")),
        "aging made no fixed findings"
    );

    let vigil = Vigil::new();
    vigil.import(&[tracker()]);
    let doc = json(&vigil.run(&["scan", "-f", "json", &format!("dir:{}", root.display())]));
    assert_eq!(finding_rows(&doc), expected);
    assert!(doc["summary"]["fixable"].as_u64().unwrap() > 0);

    // --ignore-unfixed keeps exactly the fixed ones; --severity filters by level.
    let fixed = json(&vigil.run(&[
        "scan",
        "-f",
        "json",
        "--ignore-unfixed",
        &format!("dir:{}", root.display()),
    ]));
    let want: BTreeSet<_> = expected
        .iter()
        .filter(|r| r.contains("\tfixed\t"))
        .cloned()
        .collect();
    assert_eq!(finding_rows(&fixed), want);
    let high = json(&vigil.run(&[
        "scan",
        "-f",
        "json",
        "--severity",
        "high,critical",
        &format!("dir:{}", root.display()),
    ]));
    assert!(
        high["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["severity"] == "high" || f["severity"] == "critical")
    );
    assert_eq!(
        high["summary"]["total"].as_u64().unwrap(),
        doc["summary"]["high"].as_u64().unwrap() + doc["summary"]["critical"].as_u64().unwrap()
    );
}

/// Lowers every dpkg version in a status file (`1.2.3-4` -> `1.2.3-4~~old0`, which sorts
/// before the original, and a `Source: x (v)` likewise) and drops the upstream part by one
/// release for packages whose source version has a `+debNuM` suffix, so that a
/// tracker `fixed` version above the image's becomes reachable.
fn age_status(status: &str) -> String {
    let lower = |v: &str| -> String {
        // 2.38.1-5+deb12u3 -> 2.38.1-5 (before every bookworm point release of it)
        match v.find("+deb12u") {
            Some(i) => v[..i].to_owned(),
            None => format!("{v}~~old0"),
        }
    };
    status
        .lines()
        .map(|line| {
            if let Some(v) = line.strip_prefix("Version: ") {
                format!("Version: {}", lower(v))
            } else if let Some(rest) = line.strip_prefix("Source: ") {
                match rest.split_once(" (") {
                    Some((name, v)) => {
                        format!("Source: {name} ({})", lower(v.trim_end_matches(')')))
                    }
                    None => line.to_owned(),
                }
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

fn schemas() -> Option<PathBuf> {
    let dir = std::env::var_os("VIGIL_TEST_SCHEMAS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/schemas"));
    require(
        dir.join("sarif-schema-2.1.0.json").exists(),
        "the JSON schemas (scripts/fetch-schemas.sh)",
    )?;
    require(Path::new("/usr/bin/python3").exists(), "/usr/bin/python3")?;
    Some(dir)
}

fn validate(schemas: &Path, schema: &str, doc: &Path) {
    let out = Command::new("/usr/bin/python3")
        .arg(workspace().join("scripts/validate-json-schema.py"))
        .arg(schemas)
        .arg(schema)
        .arg(doc)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} is not valid against {schema}:\n{}{}",
        doc.display(),
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// SARIF and CycloneDX output validate against the official schemas, with the findings
/// and the coverage in them.
#[test]
fn sarif_and_cyclonedx_validate_against_official_schemas() {
    let Some(img) = images() else { return };
    let Some(schemas) = schemas() else { return };
    let vigil = Vigil::new();
    vigil.import(&[tracker()]);
    let tmp = tempfile::tempdir().unwrap();
    let reference = format!("oci:{}:app", img.join("oci").display());
    let doc = json(&vigil.run(&["scan", "-f", "json", &reference]));
    let n = doc["findings"].as_array().unwrap().len();
    assert!(n > 0);

    let sarif = tmp.path().join("report.sarif");
    let out = vigil.run(&[
        "scan",
        "-f",
        "sarif",
        "-o",
        sarif.to_str().unwrap(),
        &reference,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty(), "--output leaves stdout empty");
    validate(&schemas, "sarif-schema-2.1.0.json", &sarif);
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(&sarif).unwrap()).unwrap();
    let run = &s["runs"][0];
    assert_eq!(run["results"].as_array().unwrap().len(), n);
    for r in run["results"].as_array().unwrap() {
        let rule = &run["tool"]["driver"]["rules"][r["ruleIndex"].as_u64().unwrap() as usize];
        assert_eq!(rule["id"], r["ruleId"]);
        assert!(rule["help"]["text"].as_str().is_some_and(|t| !t.is_empty()));
        assert!(rule["properties"]["security-severity"].as_str().is_some());
        assert!(
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .is_some()
        );
    }

    let cdx = tmp.path().join("report.cdx.json");
    let out = vigil.run(&[
        "scan",
        "-f",
        "cyclonedx",
        "-o",
        cdx.to_str().unwrap(),
        &reference,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    validate(&schemas, "bom-1.5.schema.json", &cdx);
    let c: serde_json::Value = serde_json::from_slice(&std::fs::read(&cdx).unwrap()).unwrap();
    assert_eq!(c["vulnerabilities"].as_array().unwrap().len(), n);
    let refs: BTreeSet<&str> = c["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["bom-ref"].as_str().unwrap())
        .collect();
    for v in c["vulnerabilities"].as_array().unwrap() {
        assert!(refs.contains(v["affects"][0]["ref"].as_str().unwrap()));
    }
}

/// Never clean by accident (SPEC 5.7): with no Debian records in the database the scan is
/// incomplete in every format, and --fail-on-incomplete makes it exit 1.
#[test]
fn missing_ecosystem_is_reported_in_every_format() {
    let Some(img) = images() else { return };
    let vigil = Vigil::new();
    vigil.import(&[feeds().join("github-advisory-database")]);
    let reference = format!("oci:{}:base", img.join("oci").display());
    let doc = json(&vigil.run(&["scan", "-f", "json", &reference]));
    assert_eq!(doc["coverage"]["complete"], false);
    let gaps = doc["coverage"]["gaps"].to_string();
    assert!(gaps.contains("Debian:12"), "{gaps}");
    assert_eq!(doc["findings"].as_array().unwrap().len(), 0);

    let table = vigil.run(&["scan", &reference]);
    assert_eq!(table.status.code(), Some(0));
    let t = text(&table.stdout);
    assert!(t.contains("INCOMPLETE") && t.contains("Debian:12"), "{t}");
    let sarif = text(&vigil.run(&["scan", "-f", "sarif", &reference]).stdout);
    assert!(sarif.contains("not covered") && sarif.contains("Debian:12"));
    let cdx = text(&vigil.run(&["scan", "-f", "cyclonedx", &reference]).stdout);
    assert!(cdx.contains("vigil:coverage:gap") && cdx.contains("Debian:12"));

    let out = vigil.run(&["scan", "--fail-on-incomplete", &reference]);
    assert_eq!(out.status.code(), Some(1));
}

/// A database older than db.max_age is a coverage gap.
#[test]
fn stale_database_is_a_gap() {
    let Some(img) = images() else { return };
    let vigil = Vigil::new();
    vigil.import(&[tracker()]);
    let config = vigil.home.path().join("vigil.toml");
    std::fs::write(&config, "[db]\nmax_age = \"1s\"\n").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let out = vigil
        .cmd()
        .env("VIGIL_CONFIG", &config)
        .args([
            "scan",
            "-f",
            "json",
            &format!("oci:{}:base", img.join("oci").display()),
        ])
        .output()
        .unwrap();
    let doc = json(&out);
    assert_eq!(doc["coverage"]["database"]["stale"], true);
    assert!(
        doc["coverage"]["gaps"]
            .to_string()
            .contains("vulnerability database is")
    );
}

/// Exit codes (STYLE.md): 0 clean, 1 at or above --fail-on, 2 error; an empty database is
/// an error with a hint, never an empty result.
#[test]
fn exit_codes_and_empty_database() {
    let Some(img) = images() else { return };
    let vigil = Vigil::new();
    let reference = format!("oci:{}:app", img.join("oci").display());
    let out = vigil.run(&["scan", &reference]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("empty") && err.contains("hint: run `vigil db update`"),
        "{err}"
    );

    vigil.import(&[tracker()]);
    let doc = json(&vigil.run(&["scan", "-f", "json", &reference]));
    let top = doc["findings"][0]["severity"].as_str().unwrap().to_owned();
    assert_eq!(
        vigil
            .run(&["scan", "--fail-on", &top, &reference])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        vigil
            .run(&["scan", "--fail-on", "unknown", &reference])
            .status
            .code(),
        Some(1)
    );
    let none_critical = doc["summary"]["critical"] == 0;
    if none_critical {
        assert_eq!(
            vigil
                .run(&["scan", "--fail-on", "critical", &reference])
                .status
                .code(),
            Some(0)
        );
    }
    let bad = vigil.run(&["scan", "--fail-on", "severe", &reference]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("expected one of critical"));
    let missing = vigil.run(&["scan", "oci:/nonexistent/layout:tag"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("/nonexistent/layout"));
}

/// The table: grouped by package, a summary line, coverage; fits 80 columns except
/// for long ids or versions.
#[test]
fn table_output_reads_on_80_columns() {
    let Some(img) = images() else { return };
    let vigil = Vigil::new();
    vigil.import(&all_language_feeds());
    let reference = format!("oci:{}:app", img.join("oci").display());
    let out = vigil.run(&["scan", &reference]);
    let t = text(&out.stdout);
    assert!(t.contains("debian 12 (bookworm)"));
    assert!(t.lines().any(|l| l.starts_with("Total: ")));
    assert!(t.contains("Coverage: complete"));
    assert!(
        !t.contains('\x1b'),
        "no colour when NO_COLOR is set or stdout is not a terminal"
    );
    for line in t.lines().filter(|l| !l.starts_with(&reference)) {
        assert!(line.chars().count() <= 80, "too wide: {line}");
    }
}
