//! `vigil sbom` and `sbom:FILE` (issue 7): an image written as an SBOM and scanned back
//! gives exactly the image's findings, in both SBOM formats.

use std::collections::BTreeSet;

use crate::common::*;

/// Every finding as (id, ecosystem, package, version, fix state, fixed version).
fn findings(doc: &serde_json::Value) -> BTreeSet<String> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {} {} {} {} {}",
                f["id"].as_str().unwrap(),
                f["package"]["ecosystem"].as_str().unwrap(),
                f["package"]["name"].as_str().unwrap(),
                f["package"]["version"].as_str().unwrap(),
                f["fix_state"].as_str().unwrap(),
                f["fixed_version"].as_str().unwrap_or("-"),
            )
        })
        .collect()
}

#[test]
fn scanning_the_sbom_of_an_image_gives_the_image_findings() {
    let Some(img) = images() else { return };
    let feeds = shared_fixtures().join("feeds");
    let vigil = Vigil::new();
    vigil.import(&[
        feeds.join("debian-tracker/bookworm.json"),
        feeds.join("github-advisory-database"),
        feeds.join("pypa-advisory-database"),
    ]);
    let image = format!("oci:{}:app", img.join("oci").display());
    let direct = json(&vigil.run(&["scan", "-f", "json", &image]));
    let expected = findings(&direct);
    assert!(
        expected.iter().any(|f| f.contains(" deb "))
            && expected.iter().any(|f| f.contains(" pypi "))
            && expected.iter().any(|f| f.contains(" npm ")),
        "the app image should have Debian, PyPI and npm findings: {expected:#?}"
    );

    let tmp = tempfile::tempdir().unwrap();
    for format in ["cyclonedx", "spdx"] {
        let file = tmp.path().join(format!("app.{format}.json"));
        let out = vigil.run(&["sbom", &image, "-f", format, "-o", file.to_str().unwrap()]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let sbom = format!("sbom:{}", file.display());

        let inv = json(&vigil.run(&["inventory", "-f", "json", &sbom]));
        let direct_inv = json(&vigil.run(&["inventory", "-f", "json", &image]));
        assert_eq!(package_rows(&inv), package_rows(&direct_inv), "{format}");
        // Every field of every package, language packages included (layer and path
        // travel in vigil's own SBOM properties).
        assert_eq!(inv["packages"], direct_inv["packages"], "{format}");
        assert_eq!(inv["distro"], direct_inv["distro"], "{format}");
        assert_eq!(inv["image"]["reference"], sbom.as_str());

        let doc = json(&vigil.run(&["scan", "-f", "json", &sbom]));
        let got = findings(&doc);
        let missing: Vec<_> = expected.difference(&got).collect();
        let extra: Vec<_> = got.difference(&expected).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{format}\nmissing: {missing:#?}\nextra: {extra:#?}"
        );
    }
}

#[test]
fn a_file_that_is_not_an_sbom_is_a_clear_error() {
    let vigil = Vigil::new();
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("notes.json");
    std::fs::write(&file, br#"{"hello": "world"}"#).unwrap();
    let out = vigil.run(&["inventory", &format!("sbom:{}", file.display())]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("notes.json") && err.contains("neither CycloneDX JSON"),
        "{err}"
    );
}
