//! Real oracles: dpkg-query on the Debian test image, rpm on the rpm fixtures.

use std::path::Path;
use std::process::Command;

use vigil_detect::{Detection, DistroFacts, detect, resolve_distro, wants};

use crate::support::{have, packages, pkgdb, read, row, test_images};

/// Our parse of the test image's `var/lib/dpkg/status` equals what dpkg-query reads.
#[test]
fn dpkg_status_of_test_image_matches_dpkg_query() {
    let Some(images) = test_images() else { return };
    if !have("dpkg-query") {
        return;
    }
    let admindir = images.join("rootfs/var/lib/dpkg");
    let out = Command::new("dpkg-query")
        .arg(format!("--admindir={}", admindir.display()))
        .args([
            "-W",
            "-f",
            "${Package}\\t${Version}\\t${source:Package}\\t${source:Version}\\t${Architecture}\\t${db:Status-Status}\\n",
        ])
        .output()
        .expect("run dpkg-query");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut want: Vec<Vec<String>> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split('\t').map(str::to_owned).collect::<Vec<_>>())
        .filter(|r| r[5] == "installed")
        .map(|r| {
            vec![
                r[0].clone(),
                r[1].clone(),
                r[2].clone(),
                r[3].clone(),
                r[4].clone(),
            ]
        })
        .collect();
    want.sort();
    let data = read(&admindir.join("status"));
    let mut got: Vec<Vec<String>> = packages("var/lib/dpkg/status", &data)
        .iter()
        .map(|p| {
            vec![
                p.name.clone(),
                p.version.clone(),
                p.source_name.clone().unwrap(),
                p.source_version.clone().unwrap(),
                p.arch.clone().unwrap(),
            ]
        })
        .collect();
    got.sort();
    assert!(
        want.len() > 50,
        "dpkg-query listed only {} packages",
        want.len()
    );
    assert_eq!(got, want);
}

/// The test image is Debian 12 bookworm, by os-release and by debian_version alike.
#[test]
fn distro_of_test_image_is_debian_12_bookworm() {
    let Some(images) = test_images() else { return };
    let rootfs = images.join("rootfs");
    let mut facts: Vec<(String, DistroFacts)> = Vec::new();
    for path in ["usr/lib/os-release", "etc/os-release", "etc/debian_version"] {
        let file = rootfs.join(path);
        if !file.exists() {
            continue;
        }
        let kind = wants(path).unwrap();
        match detect(kind, path, &read(&file)).unwrap() {
            Detection::Distro(f) => facts.push((path.to_owned(), f)),
            other => panic!("{path}: {other:?}"),
        }
    }
    let distro = resolve_distro(&facts).expect("a distro");
    assert_eq!(distro.id, "debian");
    assert_eq!(distro.version_id.as_deref(), Some("12"));
    assert_eq!(distro.codename.as_deref(), Some("bookworm"));
    // debian_version alone says the same
    let only: Vec<_> = facts
        .into_iter()
        .filter(|(p, _)| p == "etc/debian_version")
        .collect();
    let distro = resolve_distro(&only).expect("a distro from debian_version");
    assert_eq!(
        (
            distro.id.as_str(),
            distro.version_id.as_deref(),
            distro.codename.as_deref()
        ),
        ("debian", Some("12"), Some("bookworm"))
    );
}

/// rpm itself, run read-only on a scratch copy, lists what we parse (sqlite and bdb;
/// Debian's rpm has no ndb backend).
pub fn rpm_oracle(src: &Path) {
    if !have("rpm") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let name = src.file_name().unwrap().to_str().unwrap();
    let data = read(src);
    std::fs::write(dir.path().join(name), &data).unwrap();
    let backend = if name == "Packages" {
        "bdb_ro"
    } else {
        "sqlite"
    };
    let out = Command::new("rpm")
        .arg("--dbpath")
        .arg(dir.path())
        .args(["--define", &format!("_db_backend {backend}")])
        .args([
            "-qa",
            "--qf",
            "%{NAME}\\t%{EVR}\\t%{SOURCERPM}\\t%{ARCH}\\n",
        ])
        .output()
        .expect("run rpm");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut want: Vec<Vec<String>> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split('\t').map(str::to_owned).collect::<Vec<_>>())
        .filter(|r| r[0] != "gpg-pubkey")
        .map(|r| vec![r[0].clone(), r[1].clone(), r[3].clone(), r[2].clone()])
        .collect();
    want.sort();
    let mut got: Vec<Vec<String>> = packages(&format!("var/lib/rpm/{name}"), &data)
        .iter()
        .map(|p| {
            let r = row(p);
            vec![r[0].clone(), r[1].clone(), r[3].clone(), r[4].clone()]
        })
        .collect();
    got.sort();
    assert!(
        want.len() > 50,
        "rpm listed only {} packages from {}",
        want.len(),
        src.display()
    );
    assert_eq!(got, want, "{}", src.display());
}

#[test]
fn rpm_sqlite_matches_rpm() {
    rpm_oracle(&pkgdb("rpm/cbl-mariner-2.0/rpmdb.sqlite"));
}

#[test]
fn rpm_bdb_matches_rpm() {
    rpm_oracle(&pkgdb("rpm/ubi8-minimal-8.0/Packages"));
}
