//! OS-owned language packages (issue 7: "reported once, as the OS package"): the
//! `os-owned` image has Debian's python3-urllib3 and python3-requests, whose egg-info
//! files the Python detector reads, and urllib3 and six installed by pip into /usr/local.
//! `pip inspect` of that directory is the oracle of what must be reported as PyPI.

use std::collections::BTreeSet;

use crate::support::{lang_images, scan, triples};

/// (name, version) of each distribution `pip inspect --path` found, as the script saved.
fn pip_inspect(dir: &std::path::Path) -> BTreeSet<(String, String)> {
    let text = std::fs::read(dir.join("os-owned/pip-inspect.json")).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&text).unwrap();
    json["installed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let m = &d["metadata"];
            (
                m["name"].as_str().unwrap().to_owned(),
                m["version"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn check(reference: &str, dir: &std::path::Path) {
    let inv = scan(reference, None);
    assert!(inv.errors.is_empty(), "{:?}", inv.errors);
    let debs: BTreeSet<String> = triples(&inv, "deb")
        .into_iter()
        .map(|(_, n, _)| n)
        .collect();
    assert_eq!(
        debs,
        BTreeSet::from(["python3-requests".into(), "python3-urllib3".into()])
    );
    let pypi = triples(&inv, "pypi");
    let found: BTreeSet<(String, String)> = pypi
        .iter()
        .map(|(_, n, v)| (n.clone(), v.clone()))
        .collect();
    let oracle = pip_inspect(dir);
    assert_eq!(oracle.len(), 2, "{oracle:?}");
    assert_eq!(found, oracle, "{reference}");
    assert!(
        pypi.iter()
            .all(|(p, _, _)| p.starts_with("usr/local/lib/python3.11/dist-packages/")),
        "{pypi:?}"
    );
}

#[test]
fn debian_python_packages_are_reported_once() {
    let Some(dir) = lang_images() else { return };
    // the Debian copies are there, and the Python detector reads them on their own: only
    // the rule drops them
    let egg = "usr/lib/python3/dist-packages/urllib3-1.26.12.egg-info/PKG-INFO";
    let data = std::fs::read(dir.join("os-owned/rootfs").join(egg)).unwrap();
    let kind = vigil_detect::wants(egg).unwrap();
    let vigil_detect::Detection::Packages(p) = vigil_detect::detect(kind, egg, &data).unwrap()
    else {
        panic!("{egg}: not packages")
    };
    assert_eq!(
        (p[0].name.as_str(), p[0].version.as_str()),
        ("urllib3", "1.26.12")
    );
    check(&format!("oci:{}:os-owned", dir.join("oci").display()), &dir);
    check(
        &format!("dir:{}", dir.join("os-owned/rootfs").display()),
        &dir,
    );
}

/// Without its dpkg file list, the same egg-info is a PyPI package again: a copy of the
/// root filesystem without `info/python3-urllib3.list` (requests stays owned).
#[test]
fn a_deleted_file_list_owns_nothing() {
    let Some(dir) = lang_images() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("rootfs");
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(dir.join("os-owned/rootfs"))
        .arg(&root)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::remove_file(root.join("var/lib/dpkg/info/python3-urllib3.list")).unwrap();
    let inv = scan(&format!("dir:{}", root.display()), None);
    let pypi = triples(&inv, "pypi");
    assert!(
        pypi.contains(&(
            "usr/lib/python3/dist-packages/urllib3-1.26.12.egg-info/PKG-INFO".into(),
            "urllib3".into(),
            "1.26.12".into()
        )),
        "{pypi:?}"
    );
    assert!(!pypi.iter().any(|(_, n, _)| n == "requests"), "{pypi:?}");
}
