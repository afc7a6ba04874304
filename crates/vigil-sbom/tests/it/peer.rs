//! Trivy's SBOMs of the test images (scripts/make-peer-sboms.sh) read into the same packages
//! as vigil's own inventory of those images.

use std::collections::BTreeSet;

use vigil_scan::Inventory;

use crate::support::{IMAGES, inventory, peer_sboms};

fn os_packages(inv: &Inventory) -> BTreeSet<(String, String)> {
    inv.packages
        .iter()
        .filter(|p| p.ecosystem == "deb")
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect()
}

fn sources(inv: &Inventory) -> BTreeSet<(String, Option<String>, Option<String>)> {
    inv.packages
        .iter()
        .filter(|p| p.ecosystem == "deb")
        .map(|p| {
            (
                p.name.clone(),
                p.source_name.clone(),
                p.source_version.clone(),
            )
        })
        .collect()
}

fn language_packages(inv: &Inventory) -> BTreeSet<(String, String, String)> {
    inv.packages
        .iter()
        .filter(|p| p.ecosystem != "deb")
        .map(|p| (p.ecosystem.clone(), p.name.clone(), p.version.clone()))
        .collect()
}

#[test]
fn trivy_sboms_list_the_packages_vigil_finds() {
    let Some(dir) = peer_sboms() else { return };
    for which in IMAGES {
        let Some(ours) = inventory(which) else { return };
        // Trivy's SPDX names no files, so its CycloneDX tells which npm packages are
        // projects (their own package.json, outside node_modules).
        let projects: BTreeSet<(String, String, String)> =
            vigil_sbom::read(dir.join(format!("{which}.cyclonedx.json")))
                .unwrap()
                .packages
                .iter()
                .filter(|p| p.ecosystem == "npm" && p.path.ends_with("package.json"))
                .filter(|p| !p.path.contains("node_modules/"))
                .map(|p| (p.ecosystem.clone(), p.name.clone(), p.version.clone()))
                .collect();
        for format in ["cyclonedx", "spdx"] {
            let file = dir.join(format!("{which}.{format}.json"));
            let theirs = vigil_sbom::read(&file).unwrap_or_else(|e| panic!("{e}"));
            let what = format!("{which} ({format})");
            assert!(theirs.errors.is_empty(), "{what}: {:?}", theirs.errors);

            // OS packages: the same (name, version) set, and the same source packages.
            assert!(os_packages(ours).len() > 80, "{what}");
            assert_eq!(
                os_packages(&theirs),
                os_packages(ours),
                "{what}: OS packages"
            );
            assert_eq!(sources(&theirs), sources(ours), "{what}: source packages");

            // The distribution: Trivy writes Debian's point release (12.x), read as 12.
            let d = theirs.distro.as_ref().expect("a distribution");
            let o = ours.distro.as_ref().unwrap();
            assert_eq!((&d.id, &d.version_id), (&o.id, &o.version_id), "{what}");

            // Language packages Trivy lists are found by vigil too. Trivy also lists the
            // npm project itself (its own package.json, outside node_modules), which is
            // the application, not a dependency: that one is the only difference.
            let mine = language_packages(ours);
            let listed: BTreeSet<_> = language_packages(&theirs)
                .difference(&projects)
                .cloned()
                .collect();
            assert_eq!(listed, mine, "{what}: language packages");
            if which == "app" {
                assert_eq!(projects.len(), 1, "{projects:?}");
                assert!(mine.len() >= 5, "{mine:?}");
            }
            // Layers: Trivy names the layer digest of each package in an OCI image.
            if which == "app" && format == "cyclonedx" {
                for p in &theirs.packages {
                    let o = ours
                        .packages
                        .iter()
                        .find(|o| o.name == p.name && o.version == p.version);
                    if let Some(o) = o {
                        assert_eq!(p.layer, o.layer, "{what}: layer of {}", p.name);
                    }
                }
            }
        }
    }
}

/// CycloneDX 1.4, 1.5 and 1.6 from a second producer (`cyclonedx-py environment` on a venv
/// with the app image's Python packages) read into exactly what `pip list` says is
/// installed there.
#[test]
fn cyclonedx_py_sboms_of_each_spec_version_list_what_pip_lists() {
    let Some(dir) = peer_sboms() else { return };
    let have = dir.join("pyenv.pip-list.json").exists();
    if crate::support::require(have, "cyclonedx-py's SBOMs (scripts/make-peer-sboms.sh)").is_none()
    {
        return;
    }
    let pip: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(dir.join("pyenv.pip-list.json")).unwrap()).unwrap();
    let expected: BTreeSet<(String, String, String)> = pip
        .iter()
        .map(|p| {
            (
                "pypi".to_owned(),
                p["name"].as_str().unwrap().to_owned(),
                p["version"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        expected.iter().any(|(_, n, _)| n == "Jinja2"),
        "{expected:?}"
    );
    for sv in ["1.4", "1.5", "1.6"] {
        let file = dir.join(format!("pyenv.cyclonedx-{sv}.json"));
        let raw: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        assert_eq!(raw["specVersion"], sv);
        let inv = vigil_sbom::read(&file).unwrap_or_else(|e| panic!("{e}"));
        assert!(inv.errors.is_empty(), "{sv}: {:?}", inv.errors);
        assert_eq!(language_packages(&inv), expected, "CycloneDX {sv}");
        assert!(inv.distro.is_none());
    }
}
