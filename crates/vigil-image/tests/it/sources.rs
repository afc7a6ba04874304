//! Every source form of the real test images, checked against skopeo and the rootfs.

use std::cell::Cell;
use std::path::Path;

use vigil_image::{Image, Options, Reference, open};

use crate::common::{Recorder, have, skopeo_inspect, test_images};

const STATUS: &str = "var/lib/dpkg/status";

fn open_str(s: &str) -> Image {
    let r: Reference = s.parse().unwrap();
    open(&r, &Options::default()).unwrap_or_else(|e| panic!("open {s}: {e}"))
}

fn layer_digests(img: &Image) -> Vec<String> {
    img.info()
        .layers
        .iter()
        .map(|l| l.digest.to_string())
        .collect()
}

/// Walks the app image's two layers and checks what SPEC 2.2 needs: the whiteouts of the
/// upper layer, both dpkg status files, the os-release symlink, digests verified.
fn check_app_layers(img: &mut Image, images: &Path) {
    assert_eq!(img.info().layers.len(), 2);
    let mut base = Recorder::wanting(&[STATUS, "usr/lib/os-release"]);
    let last = Cell::new(0u64);
    let base_changes = img
        .walk_layer(0, &mut base, &|n| last.set(n))
        .expect("walk base layer");
    assert_eq!(
        last.get(),
        img.info().layers[0].size,
        "progress reaches the blob size"
    );
    assert!(base_changes.deleted.is_empty() && base_changes.opaque_dirs.is_empty());
    // the base layer is the rootfs: its dpkg status is byte for byte the rootfs one
    assert_eq!(
        base.files[STATUS],
        std::fs::read(images.join("rootfs").join(STATUS)).unwrap()
    );
    assert!(String::from_utf8_lossy(&base.files["usr/lib/os-release"]).contains("ID=debian"));
    assert_eq!(base.symlinks["etc/os-release"], "../usr/lib/os-release");

    let mut app = Recorder::wanting(&[STATUS]);
    let changes = img
        .walk_layer(1, &mut app, &|_| {})
        .expect("walk app layer");
    // build-test-images.sh deletes these two; dpkg itself removed status-old
    for gone in ["etc/issue.net", "usr/share/doc/bash"] {
        assert!(
            changes.deleted.iter().any(|d| d == gone),
            "{gone} in {:?}",
            changes.deleted
        );
    }
    assert!(changes.opaque_dirs.is_empty());
    let status = String::from_utf8_lossy(&app.files[STATUS]);
    assert!(
        status.contains("Package: libexpat1"),
        "upper dpkg status has libexpat1"
    );
}

#[test]
fn oci_layout_tags_match_skopeo() {
    let Some(images) = test_images() else { return };
    if !have("skopeo") {
        return;
    }
    let layout = images.join("oci");
    for tag in ["base", "app"] {
        let s = format!("oci:{}:{tag}", layout.display());
        let img = open_str(&s);
        let (digest, layers) = skopeo_inspect(&s);
        assert_eq!(
            img.info().manifest_digest.as_ref().unwrap().to_string(),
            digest
        );
        assert_eq!(layer_digests(&img), layers);
        assert_eq!(img.info().os.as_deref(), Some("linux"));
        assert_eq!(img.info().architecture.as_deref(), Some("amd64"));
        assert_eq!(img.info().reference, s);
    }
}

#[test]
fn oci_layout_app_walk_and_digest_selector() {
    let Some(images) = test_images() else { return };
    if !have("skopeo") {
        return;
    }
    let layout = images.join("oci");
    let (digest, layers) = skopeo_inspect(&format!("oci:{}:app", layout.display()));
    let mut img = open_str(&format!("oci:{}@{digest}", layout.display()));
    assert_eq!(layer_digests(&img), layers);
    check_app_layers(&mut img, &images);
}

#[test]
fn oci_layout_needs_a_tag_when_it_holds_two_images() {
    let Some(images) = test_images() else { return };
    let r: Reference = format!("oci:{}", images.join("oci").display())
        .parse()
        .unwrap();
    let err = open(&r, &Options::default()).unwrap_err();
    assert_eq!(err.code(), "ambiguous");
    assert!(
        err.to_string()
            .ends_with("holds 2 images (base, app); pick one with :TAG or @DIGEST"),
        "{err}"
    );
    let r: Reference = format!("oci:{}:nope", images.join("oci").display())
        .parse()
        .unwrap();
    let err = open(&r, &Options::default()).unwrap_err();
    assert_eq!(err.code(), "tag-not-found");
    assert!(
        err.to_string()
            .ends_with("tag `nope` not found; available: base, app"),
        "{err}"
    );
}

#[test]
fn oci_archive_matches_skopeo() {
    let Some(images) = test_images() else { return };
    if !have("skopeo") {
        return;
    }
    let s = format!("oci-archive:{}", images.join("app.oci.tar").display());
    let mut img = open_str(&s);
    let (digest, layers) = skopeo_inspect(&s);
    assert_eq!(
        img.info().manifest_digest.as_ref().unwrap().to_string(),
        digest
    );
    assert_eq!(layer_digests(&img), layers);
    check_app_layers(&mut img, &images);
    // with the tag the archive's index.json names
    let img = open_str(&format!("{s}:app"));
    assert_eq!(layer_digests(&img), layers);
}

#[test]
fn docker_archive_matches_skopeo() {
    let Some(images) = test_images() else { return };
    if !have("skopeo") {
        return;
    }
    let s = format!("docker-archive:{}", images.join("app.docker.tar").display());
    let mut img = open_str(&s);
    let (_, layers) = skopeo_inspect(&s);
    assert_eq!(layer_digests(&img), layers);
    assert_eq!(img.info().manifest_digest, None);
    check_app_layers(&mut img, &images);

    let s = format!(
        "docker-archive:{}",
        images.join("base.docker.tar").display()
    );
    let img = open_str(&s);
    assert_eq!(layer_digests(&img), skopeo_inspect(&s).1);
}

/// The legacy layout (no manifest.json): derived from the real archive by dropping
/// manifest.json, so `repositories` and the `ID/json` parent chain are all that is left.
#[test]
fn docker_archive_legacy_layout() {
    let Some(images) = test_images() else { return };
    if !have("skopeo") {
        return;
    }
    let src = images.join("app.docker.tar");
    let dir = tempfile::tempdir().unwrap();
    let legacy = dir.path().join("legacy.tar");
    {
        let mut ar = tar::Archive::new(std::fs::File::open(&src).unwrap());
        let mut out = tar::Builder::new(std::fs::File::create(&legacy).unwrap());
        for e in ar.entries().unwrap() {
            let mut e = e.unwrap();
            if e.path().unwrap().to_str() == Some("manifest.json") {
                continue;
            }
            let mut h = e.header().clone();
            let path = e.path().unwrap().into_owned();
            out.append_data(&mut h, path, &mut e).unwrap();
        }
        out.finish().unwrap();
    }
    let mut img = open_str(&format!("docker-archive:{}", legacy.display()));
    let (_, layers) = skopeo_inspect(&format!("docker-archive:{}", src.display()));
    assert_eq!(
        layer_digests(&img),
        layers,
        "legacy layers are hashed to their diff ids"
    );
    assert_eq!(img.info().architecture.as_deref(), Some("amd64"));
    check_app_layers(&mut img, &images);
}

#[test]
fn plain_paths_are_sniffed() {
    let Some(images) = test_images() else { return };
    let cases = [
        ("app.oci.tar", "oci-archive:"),
        ("app.docker.tar", "docker-archive:"),
        ("rootfs", "dir:"),
    ];
    for (name, prefix) in cases {
        let p = images.join(name);
        let r: Reference = p.display().to_string().parse().unwrap();
        assert_eq!(r, Reference::Path(p.clone()));
        let img = open(&r, &Options::default()).unwrap();
        assert_eq!(img.info().reference, format!("{prefix}{}", p.display()));
    }
    // a layout directory with two tags is sniffed as a layout, and asks for a tag
    let r: Reference = images.join("oci").display().to_string().parse().unwrap();
    assert_eq!(
        open(&r, &Options::default()).unwrap_err().code(),
        "ambiguous"
    );
}

#[test]
fn rootfs_walk_reads_files_and_reports_symlinks() {
    let Some(images) = test_images() else { return };
    let root = images.join("rootfs");
    let mut img = open_str(&format!("dir:{}", root.display()));
    assert!(img.info().layers.is_empty());
    let mut sink = Recorder::wanting(&[STATUS, "usr/lib/os-release", "etc/os-release"]);
    sink.suffixes = vec!["/uptime", "/null"];
    img.walk_rootfs(&mut sink).unwrap();
    assert_eq!(
        sink.files[STATUS],
        std::fs::read(root.join(STATUS)).unwrap()
    );
    assert!(sink.files.contains_key("usr/lib/os-release"));
    // a symlink is reported, not read through
    assert!(!sink.files.contains_key("etc/os-release"));
    assert_eq!(sink.symlinks["etc/os-release"], "../usr/lib/os-release");
    assert!(
        sink.files
            .keys()
            .all(|k| !k.starts_with("proc/") && !k.starts_with("dev/"))
    );
    // walk_layer on a rootfs is a usage error
    let err = img.walk_layer(0, &mut sink, &|_| {}).unwrap_err();
    assert_eq!(err.code(), "usage");
}
