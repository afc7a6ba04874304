//! rpm, apk and dpkg packages from the real package databases in shared/fixtures/pkgdb,
//! through both formats and back: epochs, source rpms, apk origins and distroless dpkg.
//! With vigil's own properties removed, the purls alone must still give the same packages,
//! which checks `vigil_sbom::purl` against `vigil_detect`'s purl building.

use std::path::PathBuf;

use vigil_detect::{Detection, Distro};
use vigil_scan::{ImageSummary, Inventory, InventoryPackage};

use crate::support::{cyclonedx, inventory, require, spdx, workspace};

fn pkgdb() -> Option<PathBuf> {
    let dir = std::env::var_os("VIGIL_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("../shared"))
        .join("fixtures/pkgdb");
    require(dir.join("README.md").exists(), "shared/fixtures/pkgdb")?;
    Some(dir)
}

fn distro(id: &str, version: &str) -> Distro {
    Distro {
        id: id.into(),
        version_id: Some(version.into()),
        codename: None,
        pretty_name: None,
    }
}

/// (fixture files, the path in the image, the distribution the image had)
fn cases() -> Vec<(Vec<&'static str>, &'static str, Distro)> {
    vec![
        (
            vec!["apk/alpine-3.18.0/installed"],
            "lib/apk/db/installed",
            distro("alpine", "3.18.0"),
        ),
        (
            vec!["apk/alpine-3.16/installed"],
            "lib/apk/db/installed",
            distro("alpine", "3.16.0"),
        ),
        (
            vec!["rpm/cbl-mariner-2.0/rpmdb.sqlite"],
            "var/lib/rpm/rpmdb.sqlite",
            distro("mariner", "2.0"),
        ),
        (
            vec!["rpm/ubi8-minimal-8.0/Packages"],
            "var/lib/rpm/Packages",
            distro("rhel", "8.0"),
        ),
        (
            vec!["rpm/sles-15.3-bci-minimal/Packages.db"],
            "usr/lib/sysimage/rpm/Packages.db",
            distro("sles", "15.3"),
        ),
        (
            vec!["dpkg/ubuntu-18.04/status"],
            "var/lib/dpkg/status",
            distro("ubuntu", "18.04"),
        ),
        (
            vec![
                "dpkg/distroless-debian9/status.d/dash",
                "dpkg/distroless-debian9/status.d/netbase",
            ],
            "var/lib/dpkg/status.d/",
            distro("debian", "9"),
        ),
    ]
}

fn inventory_of(dir: &std::path::Path, files: &[&str], at: &str, distro: &Distro) -> Inventory {
    let mut packages = Vec::new();
    for f in files {
        let path = if at.ends_with('/') {
            format!("{at}{}", f.rsplit('/').next().unwrap())
        } else {
            at.to_owned()
        };
        let kind = vigil_detect::wants(&path).unwrap_or_else(|| panic!("{path} is wanted"));
        let data = std::fs::read(dir.join(f)).unwrap();
        let Detection::Packages(pkgs) = vigil_detect::detect(kind, &path, &data).unwrap() else {
            panic!("{f}: packages expected");
        };
        for p in pkgs {
            packages.push(InventoryPackage {
                ecosystem: p.ecosystem.as_str().to_owned(),
                purl: p.purl(Some(distro)),
                name: p.name,
                version: p.version,
                arch: p.arch,
                source_name: p.source_name,
                source_version: p.source_version,
                layer: Some(
                    "sha256:0b993811a94e310973d73f04ffac72d483c7fac7f22bdd82cc6491feb45fb27c"
                        .into(),
                ),
                path: p.path,
            });
        }
    }
    packages.sort();
    Inventory {
        image: ImageSummary {
            reference: format!("pkgdb:{}", files[0]),
            manifest_digest: None,
            layers: Vec::new(),
        },
        distro: Some(distro.clone()),
        packages,
        errors: Vec::new(),
    }
}

/// The package facts a purl carries (no layer, no path).
type Facts = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
);

fn facts(inv: &Inventory) -> Vec<Facts> {
    inv.packages
        .iter()
        .map(|p| {
            (
                p.ecosystem.clone(),
                p.name.clone(),
                p.version.clone(),
                p.arch.clone(),
                p.source_name.clone(),
                p.source_version.clone(),
                p.purl.clone(),
            )
        })
        .collect()
}

/// Removes every `vigil:*` property (CycloneDX) and annotation (SPDX).
fn strip_vigil(doc: &[u8]) -> Vec<u8> {
    fn walk(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(o) => {
                for key in ["properties", "annotations"] {
                    if let Some(serde_json::Value::Array(a)) = o.get_mut(key) {
                        a.retain(|p| {
                            let text = p.get("name").or_else(|| p.get("comment"));
                            !text
                                .and_then(|t| t.as_str())
                                .is_some_and(|t| t.starts_with("vigil:"))
                        });
                    }
                }
                o.values_mut().for_each(walk);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(walk),
            _ => {}
        }
    }
    let mut v: serde_json::Value = serde_json::from_slice(doc).unwrap();
    walk(&mut v);
    assert!(!v.to_string().contains("\"vigil:layer"), "stripped");
    serde_json::to_vec(&v).unwrap()
}

#[test]
fn os_package_databases_round_trip_with_and_without_vigil_properties() {
    let Some(dir) = pkgdb() else { return };
    let mut epochs = 0;
    for (files, at, distro) in cases() {
        let inv = inventory_of(&dir, &files, at, &distro);
        assert!(!inv.packages.is_empty(), "{files:?}");
        epochs += inv
            .packages
            .iter()
            .filter(|p| p.version.contains(':'))
            .count();
        for (format, doc) in [("CycloneDX", cyclonedx(&inv)), ("SPDX", spdx(&inv))] {
            let back = vigil_sbom::read_from(&doc[..], "db.json").unwrap();
            assert_eq!(facts(&back), facts(&inv), "{files:?} via {format}");
            assert_eq!(back.distro, inv.distro, "{files:?} via {format}");
            let layers: Vec<_> = back.packages.iter().map(|p| &p.layer).collect();
            assert!(layers.iter().all(|l| l.is_some()), "{files:?} via {format}");

            let bare = vigil_sbom::read_from(&strip_vigil(&doc)[..], "bare.json").unwrap();
            assert_eq!(
                facts(&bare),
                facts(&inv),
                "{files:?} via {format}, purls only"
            );
            assert!(
                bare.packages
                    .iter()
                    .all(|p| p.path == "bare.json" && p.layer.is_none())
            );
        }
    }
    assert!(epochs > 0, "the fixtures have packages with an epoch");
}

#[test]
fn the_test_images_round_trip_from_purls_alone() {
    for which in crate::support::IMAGES {
        let Some(inv) = inventory(which) else { return };
        for (format, doc) in [("CycloneDX", cyclonedx(inv)), ("SPDX", spdx(inv))] {
            let bare = vigil_sbom::read_from(&strip_vigil(&doc)[..], "bare.json").unwrap();
            assert_eq!(facts(&bare), facts(inv), "{which} via {format}, purls only");
        }
    }
}
