//! Every pkgdb fixture parses to exactly its `*.expected.tsv`.

use crate::support::{expected, fixture_files, packages, row};

fn check(fixture: &str) {
    let mut got: Vec<Vec<String>> = fixture_files(fixture)
        .iter()
        .flat_map(|(path, data)| packages(path, data))
        .map(|p| row(&p))
        .collect();
    got.sort();
    let want = expected(fixture);
    assert!(!want.is_empty(), "{fixture}: empty expected list");
    assert_eq!(got, want, "{fixture}");
}

#[test]
fn apk_alpine_3_18() {
    check("apk/alpine-3.18.0/installed");
}

#[test]
fn apk_alpine_3_16() {
    check("apk/alpine-3.16/installed");
}

#[test]
fn dpkg_ubuntu_18_04() {
    check("dpkg/ubuntu-18.04/status");
}

#[test]
fn dpkg_distroless_debian11_arm64() {
    check("dpkg/distroless-debian11-arm64/status.d");
}

#[test]
fn dpkg_distroless_debian9() {
    check("dpkg/distroless-debian9/status.d");
}

#[test]
fn rpm_sqlite_cbl_mariner_2() {
    check("rpm/cbl-mariner-2.0/rpmdb.sqlite");
}

#[test]
fn rpm_bdb_ubi8() {
    check("rpm/ubi8-minimal-8.0/Packages");
}

#[test]
fn rpm_ndb_sles_15_3() {
    check("rpm/sles-15.3-bci-minimal/Packages.db");
}

#[test]
fn every_package_records_its_database() {
    for (path, data) in fixture_files("rpm/ubi8-minimal-8.0/Packages") {
        for p in packages(&path, &data) {
            assert_eq!(p.path, path);
        }
    }
}
