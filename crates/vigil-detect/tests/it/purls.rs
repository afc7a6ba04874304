//! The purls of one fixture per database format, snapshotted (a person reads them in
//! SBOMs and reports).

use vigil_detect::Distro;

use crate::support::{fixture_files, packages};

fn purls(fixture: &str, id: &str, version_id: &str, codename: Option<&str>) -> String {
    let distro = Distro {
        id: id.into(),
        version_id: Some(version_id.into()),
        codename: codename.map(Into::into),
        pretty_name: None,
    };
    let mut lines: Vec<String> = fixture_files(fixture)
        .iter()
        .flat_map(|(path, data)| packages(path, data))
        .map(|p| p.purl(Some(&distro)))
        .collect();
    lines.sort();
    lines.join("\n")
}

#[test]
fn dpkg_ubuntu_18_04() {
    insta::assert_snapshot!(purls(
        "dpkg/ubuntu-18.04/status",
        "ubuntu",
        "18.04",
        Some("bionic")
    ));
}

#[test]
fn apk_alpine_3_18() {
    insta::assert_snapshot!(purls(
        "apk/alpine-3.18.0/installed",
        "alpine",
        "3.18.0",
        None
    ));
}

#[test]
fn rpm_sqlite_cbl_mariner_2() {
    insta::assert_snapshot!(purls(
        "rpm/cbl-mariner-2.0/rpmdb.sqlite",
        "mariner",
        "2.0",
        None
    ));
}

#[test]
fn rpm_bdb_ubi8() {
    insta::assert_snapshot!(purls(
        "rpm/ubi8-minimal-8.0/Packages",
        "rhel",
        "8.0",
        Some("Ootpa")
    ));
}

#[test]
fn rpm_ndb_sles_15_3() {
    insta::assert_snapshot!(purls(
        "rpm/sles-15.3-bci-minimal/Packages.db",
        "sles",
        "15.3",
        None
    ));
}

#[test]
fn without_a_distro() {
    let pkgs = crate::support::packages(
        "lib/apk/db/installed",
        b"P:ssl_client\nV:1.36.0-r9\nA:x86_64\no:busybox\n",
    );
    assert_eq!(
        pkgs[0].purl(None),
        "pkg:apk/alpine/ssl_client@1.36.0-r9?arch=x86_64&upstream=busybox"
    );
}
