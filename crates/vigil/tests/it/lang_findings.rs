//! Language findings of the app image (issue 7) against an independent oracle
//! (scripts/oracle-osv-findings.py: `packaging` for PEP 440, SemVer precedence written out,
//! no shared code), over the real GHSA and PyPA records of the shared fixtures, with a
//! PYSEC and a GHSA record of the same CVE merged into one finding.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use crate::common::*;

/// The Python and npm packages installed in an unpacked root file system, read directly:
/// `NAME-VERSION.dist-info` directories and `node_modules/*/package.json`.
fn installed(rootfs: &Path) -> Vec<[String; 3]> {
    let mut out = Vec::new();
    let site = rootfs.join("usr/local/lib/python3.11/site-packages");
    for e in std::fs::read_dir(&site).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(".dist-info") {
            let (n, v) = stem.rsplit_once('-').unwrap();
            out.push(["PyPI".to_owned(), n.to_owned(), v.to_owned()]);
        }
    }
    for e in std::fs::read_dir(rootfs.join("app/node_modules")).unwrap() {
        let manifest = e.unwrap().path().join("package.json");
        if !manifest.is_file() {
            continue; // `.bin`, `.package-lock.json`
        }
        let doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(manifest).unwrap()).unwrap();
        out.push([
            "npm".to_owned(),
            doc["name"].as_str().unwrap().to_owned(),
            doc["version"].as_str().unwrap().to_owned(),
        ]);
    }
    out.sort();
    out
}

#[test]
fn app_image_language_findings_equal_the_oracle_with_aliases_merged() {
    let Some(img) = images() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let Some(rootfs) = umoci_unpack(&img.join("oci"), "app", tmp.path()) else {
        return;
    };
    require(Path::new("/usr/bin/python3").exists(), "/usr/bin/python3").expect("python3");
    let feeds = shared_fixtures().join("feeds");
    let dirs = [
        feeds.join("github-advisory-database"),
        feeds.join("pypa-advisory-database"),
    ];
    let packages = installed(&rootfs);
    assert!(packages.len() >= 5, "{packages:?}");
    let out = Command::new("/usr/bin/python3")
        .arg(workspace().join("scripts/oracle-osv-findings.py"))
        .args(&dirs)
        .arg("--")
        .args(packages.iter().flatten())
        .output()
        .unwrap();
    assert!(out.status.success(), "oracle: {}", text(&out.stderr));
    let expected: BTreeSet<String> = text(&out.stdout).lines().map(str::to_owned).collect();
    assert!(
        expected
            .iter()
            .any(|l| l.contains("PYSEC-") && l.contains("GHSA-")),
        "the oracle merged no PYSEC with a GHSA record: the test would prove little"
    );

    let vigil = Vigil::new();
    vigil.import(&dirs);
    let image = format!("oci:{}:app", img.join("oci").display());
    let doc = json(&vigil.run(&["scan", "-f", "json", &image]));
    let got: BTreeSet<String> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["package"]["ecosystem"] != "deb")
        .map(|f| {
            let eco = match f["package"]["ecosystem"].as_str().unwrap() {
                "pypi" => "PyPI",
                other => other,
            };
            let mut ids: Vec<&str> = std::iter::once(&f["id"])
                .chain(f["aliases"].as_array().unwrap())
                .map(|v| v.as_str().unwrap())
                .collect();
            ids.sort();
            format!(
                "{eco} {} {} {}",
                f["package"]["name"].as_str().unwrap(),
                f["package"]["version"].as_str().unwrap(),
                ids.join(",")
            )
        })
        .collect();
    let missing: Vec<_> = expected.difference(&got).collect();
    let extra: Vec<_> = got.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing: {missing:#?}\nextra: {extra:#?}"
    );
}
