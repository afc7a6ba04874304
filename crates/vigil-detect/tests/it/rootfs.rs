//! The real Debian test image's root filesystem, walked as the layer walker would: every
//! path is offered to `wants`, the wanted files go to `detect`.

use std::path::{Path, PathBuf};

use vigil_detect::{Detection, DistroFacts, Package, detect, resolve_distro, wants};

use crate::support::{read, test_images};

/// Regular files and symlinks under `root`, as image paths (no leading '/').
fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        let ty = entry.file_type().unwrap();
        if ty.is_dir() {
            walk(root, &path, out);
        } else {
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned();
            out.push((rel, path));
        }
    }
}

/// Follows a symlink inside the root filesystem (absolute targets are rooted there).
fn resolve(root: &Path, path: &Path) -> PathBuf {
    match std::fs::read_link(path) {
        Ok(target) if target.is_absolute() => {
            resolve(root, &root.join(target.strip_prefix("/").unwrap()))
        }
        Ok(target) => resolve(root, &path.parent().unwrap().join(target)),
        Err(_) => path.to_owned(),
    }
}

#[test]
fn debian_rootfs_as_the_walker_sees_it() {
    let Some(images) = test_images() else { return };
    let root = images.join("rootfs");
    let mut files = Vec::new();
    walk(&root, &root, &mut files);
    let mut wanted = Vec::new();
    let mut facts: Vec<(String, DistroFacts)> = Vec::new();
    let mut packages: Vec<Package> = Vec::new();
    for (rel, path) in files {
        let Some(kind) = wants(&rel) else { continue };
        wanted.push(rel.clone());
        match detect(kind, &rel, &read(&resolve(&root, &path))).unwrap() {
            Detection::Distro(f) => facts.push((rel, f)),
            Detection::Packages(p) => packages.extend(p),
        }
    }
    wanted.sort();
    assert_eq!(
        wanted,
        [
            "etc/debian_version",
            "etc/os-release",
            "usr/lib/os-release",
            "var/lib/dpkg/status"
        ]
    );
    let distro = resolve_distro(&facts).unwrap();
    assert_eq!(
        (
            distro.id.as_str(),
            distro.version_id.as_deref(),
            distro.codename.as_deref()
        ),
        ("debian", Some("12"), Some("bookworm"))
    );
    assert_eq!(
        distro.pretty_name.as_deref(),
        Some("Debian GNU/Linux 12 (bookworm)")
    );
    let info = String::from_utf8(read(&images.join("build-info.txt"))).unwrap();
    let count: usize = info
        .lines()
        .find_map(|l| l.strip_prefix("rootfs dpkg packages: "))
        .expect("build-info.txt names the package count")
        .trim()
        .parse()
        .unwrap();
    assert_eq!(packages.len(), count);
    let bash = packages.iter().find(|p| p.name == "bash").unwrap();
    assert!(
        bash.purl(Some(&distro))
            .starts_with("pkg:deb/debian/bash@5.2."),
        "{}",
        bash.purl(Some(&distro))
    );
    assert!(
        bash.purl(Some(&distro))
            .contains("arch=amd64&distro=debian-12")
    );
}
