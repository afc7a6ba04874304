//! One converted record per feed kind, snapshotted with its assessed severity.

use crate::{feeds_dir, read_all};
use vigil_vulndb::{FeedFormat, severity};

fn snap(path: &str, format: FeedFormat, id: &str) -> serde_json::Value {
    let items = read_all(feeds_dir().join(path), format);
    let item = items
        .into_iter()
        .find(|i| i.advisory.id.as_str() == id)
        .unwrap_or_else(|| panic!("{id} not in {path}"));
    let (sev, source) = severity::assess(&item.advisory);
    let mut v = serde_json::to_value(&item.advisory).unwrap();
    // Long texts and links do not help a reader of the snapshot.
    if let Some(d) = v.get_mut("details") {
        *d = serde_json::Value::String(format!("{} chars", d.as_str().unwrap().chars().count()));
    }
    if let Some(r) = v.get_mut("references") {
        *r = serde_json::json!(r.as_array().unwrap().len());
    }
    serde_json::json!({"advisory": v, "severity": sev, "severity_source": source})
}

#[test]
fn ghsa() {
    insta::assert_json_snapshot!(snap(
        "github-advisory-database",
        FeedFormat::Osv,
        "GHSA-j8r2-6x86-q33q"
    ));
}

#[test]
fn pysec_yaml() {
    insta::assert_json_snapshot!(snap(
        "pypa-advisory-database",
        FeedFormat::Osv,
        "PYSEC-2023-192"
    ));
}

#[test]
fn rustsec() {
    insta::assert_json_snapshot!(snap("rustsec/osv", FeedFormat::Osv, "RUSTSEC-2023-0044"));
}

#[test]
fn go() {
    insta::assert_json_snapshot!(snap("golang-vulndb", FeedFormat::Osv, "GO-2022-0969"));
}

#[test]
fn osv_debian_dsa() {
    insta::assert_json_snapshot!(snap("osv-debian", FeedFormat::Osv, "DSA-5514-1"));
}

#[test]
fn alpine_secdb() {
    insta::assert_json_snapshot!(snap(
        "alpine-secdb-legacy-yaml",
        FeedFormat::AlpineSecdb,
        "ALPINE-CVE-2019-14904"
    ));
}

#[test]
fn debian_tracker() {
    insta::assert_json_snapshot!(snap(
        "debian-tracker/vuln-list-update-debian.json",
        FeedFormat::DebianTracker,
        "DEBIAN-CVE-2008-7220"
    ));
}
