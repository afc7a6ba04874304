//! `vigil inventory` on the real test images, in every source form (issue 3).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::*;

/// Every source form of the app image lists exactly the packages that dpkg-query finds in
/// the root file system umoci unpacks from the same image (whiteouts and the upper-layer
/// dpkg status included).
#[test]
fn every_source_form_matches_dpkg_query_of_the_unpacked_image() {
    let Some(img) = images() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let Some(rootfs) = umoci_unpack(&img.join("oci"), "app", tmp.path()) else {
        return;
    };
    let Some(expected) = dpkg_query(&rootfs) else {
        return;
    };
    assert!(
        expected.iter().any(|r| r.starts_with("libexpat1\t")),
        "the app layer adds libexpat1"
    );

    let vigil = Vigil::new();
    let p = |s: &str| img.join(s).display().to_string();
    for reference in [
        format!("oci:{}:app", p("oci")),
        format!("oci-archive:{}:app", p("app.oci.tar")),
        format!("oci-archive:{}", p("app.oci.tar")),
        format!("docker-archive:{}", p("app.docker.tar")),
        p("app.docker.tar"),
        p("app.oci.tar"),
        format!("dir:{}", rootfs.display()),
        rootfs.display().to_string(),
    ] {
        let out = vigil.run(&["inventory", "--format", "json", &reference]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{reference}: {}",
            text(&out.stderr)
        );
        let doc = json(&out);
        assert_eq!(package_rows(&doc), expected, "{reference}");
        assert_eq!(doc["distro"]["id"], "debian", "{reference}");
        assert_eq!(doc["distro"]["version_id"], "12", "{reference}");
        assert_eq!(doc["distro"]["codename"], "bookworm", "{reference}");
        assert_eq!(
            doc["errors"].as_array().map(Vec::len),
            Some(0),
            "{reference}"
        );
    }
}

/// The base image equals its own rootfs as dpkg sees it, and the OCI layout's manifest
/// digest and layers are reported as skopeo sees them.
#[test]
fn base_image_matches_dpkg_query_and_skopeo() {
    let Some(img) = images() else { return };
    let Some(expected) = dpkg_query(&img.join("rootfs")) else {
        return;
    };
    let vigil = Vigil::new();
    let reference = format!("oci:{}:base", img.join("oci").display());
    let doc = json(&vigil.run(&["inventory", "-f", "json", &reference]));
    assert_eq!(package_rows(&doc), expected);
    if require(have("skopeo"), "skopeo").is_none() {
        return;
    }
    let raw = Command::new("skopeo")
        .args(["inspect", "--raw", &reference])
        .output()
        .unwrap();
    assert!(raw.status.success());
    let manifest: serde_json::Value = serde_json::from_slice(&raw.stdout).unwrap();
    let digest = {
        use sha2::Digest as _;
        format!("sha256:{}", hex::encode(sha2::Sha256::digest(&raw.stdout)))
    };
    assert_eq!(doc["image"]["manifest_digest"], digest.as_str());
    let layers: Vec<&serde_json::Value> = manifest["layers"].as_array().unwrap().iter().collect();
    let ours = doc["image"]["layers"].as_array().unwrap();
    assert_eq!(ours.len(), layers.len());
    for (a, b) in ours.iter().zip(layers) {
        assert_eq!(a["digest"], b["digest"]);
        assert_eq!(a["size"], b["size"]);
    }
}

/// Each package names the layer that introduced it: libexpat1 the app layer, the rest the
/// base layer; and every purl carries the distro qualifier.
#[test]
fn packages_name_their_layer_and_purl() {
    let Some(img) = images() else { return };
    let vigil = Vigil::new();
    let doc = json(&vigil.run(&[
        "inventory",
        "-f",
        "json",
        &format!("oci:{}:app", img.join("oci").display()),
    ]));
    let layers: Vec<&str> = doc["image"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap())
        .collect();
    assert_eq!(layers.len(), 2);
    for p in doc["packages"].as_array().unwrap() {
        // The app layer adds libexpat1 and every language package.
        let app = p["name"] == "libexpat1" || p["ecosystem"] != "deb";
        let want = if app { layers[1] } else { layers[0] };
        assert_eq!(p["layer"], want, "{}", p["name"]);
        if p["ecosystem"] != "deb" {
            continue;
        }
        let purl = p["purl"].as_str().unwrap();
        assert!(purl.starts_with("pkg:deb/debian/"), "{purl}");
        assert!(purl.contains("distro=debian-12"), "{purl}");
        assert_eq!(p["path"], "var/lib/dpkg/status");
    }
}

/// Issue 3: a package purged in an upper layer (dpkg status rewritten there) is gone.
#[test]
fn package_purged_in_an_upper_layer_is_gone() {
    let Some(img) = images() else { return };
    if require(
        have("umoci") && have("skopeo") && have("dpkg"),
        "umoci, skopeo and dpkg",
    )
    .is_none()
    {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("purged");
    let script = workspace().join("scripts/make-purged-image.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg(&img)
        .arg(&layout)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "make-purged-image.sh: {}",
        text(&out.stderr)
    );
    let Some(rootfs) = umoci_unpack(&layout, "purged", tmp.path()) else {
        return;
    };
    let Some(expected) = dpkg_query(&rootfs) else {
        return;
    };
    let base = dpkg_query(&img.join("rootfs")).unwrap();
    assert!(base.iter().any(|r| r.starts_with("tzdata\t")));
    assert!(!expected.iter().any(|r| r.starts_with("tzdata\t")));

    let vigil = Vigil::new();
    let doc = json(&vigil.run(&[
        "inventory",
        "-f",
        "json",
        &format!("oci:{}:purged", layout.display()),
    ]));
    assert_eq!(package_rows(&doc), expected);
    // The packages that stayed still name the base layer: the rewrite did not reintroduce them.
    let first = doc["image"]["layers"][0]["digest"].clone();
    assert!(
        doc["packages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["layer"] == first)
    );
}

/// A repeat run reads no layer at all: with every layer blob deleted after the first run,
/// the second still answers the same from the layer cache.
#[test]
fn warm_run_reads_no_layer() {
    let Some(img) = images() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("oci");
    copy_dir(&img.join("oci"), &layout);
    let vigil = Vigil::new();
    let reference = format!("oci:{}:app", layout.display());
    let cold = json(&vigil.run(&["inventory", "-f", "json", &reference]));
    for l in cold["image"]["layers"].as_array().unwrap() {
        let d = l["digest"].as_str().unwrap().replace(':', "/");
        std::fs::remove_file(layout.join("blobs").join(d)).unwrap();
    }
    let warm = json(&vigil.run(&["inventory", "-f", "json", &reference]));
    assert_eq!(cold, warm);
    // Without the cache, the missing blob is an error that names it.
    let out = vigil.run(&["inventory", "--no-cache", &reference]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains(&reference) && err.contains("sha256:"), "{err}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let t = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), t).unwrap();
        }
    }
}

/// A real docker-registry on 127.0.0.1 with htpasswd basic auth: credentials from the
/// docker config file (`DOCKER_CONFIG`) and from the command line both work, none is a
/// clear error, and the result equals the OCI layout's.
#[test]
fn registry_with_basic_auth() {
    let Some(img) = images() else { return };
    if require(
        have("docker-registry") && have("htpasswd"),
        "docker-registry and htpasswd",
    )
    .is_none()
    {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let pw = Command::new("htpasswd")
        .args(["-Bbn", "ci", "s3cret"])
        .output()
        .unwrap();
    let htpasswd = tmp.path().join("htpasswd");
    std::fs::write(&htpasswd, &pw.stdout).unwrap();
    let port = free_port();
    let _registry = serve_registry(
        &img.join("registry"),
        port,
        &["htpasswd".as_ref(), htpasswd.as_os_str()],
    );

    let vigil = Vigil::new();
    let expected = package_rows(&json(&vigil.run(&[
        "inventory",
        "-f",
        "json",
        &format!("oci:{}:app", img.join("oci").display()),
    ])));
    let reference = format!("127.0.0.1:{port}/test/debian-app:latest");

    let out = vigil.run(&[
        "inventory",
        "--insecure",
        "--username",
        "ci",
        "--password",
        "s3cret",
        "-f",
        "json",
        &reference,
    ]);
    assert_eq!(package_rows(&json(&out)), expected);

    let docker = tmp.path().join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    let auth = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode("ci:s3cret")
    };
    std::fs::write(
        docker.join("config.json"),
        format!(r#"{{"auths":{{"127.0.0.1:{port}":{{"auth":"{auth}"}}}}}}"#),
    )
    .unwrap();
    let out = vigil
        .cmd()
        .env("DOCKER_CONFIG", &docker)
        .args([
            "inventory",
            "--insecure",
            "-f",
            "json",
            &format!("docker://{reference}"),
        ])
        .output()
        .unwrap();
    let doc = json(&out);
    assert_eq!(package_rows(&doc), expected);
    assert!(
        doc["image"]["manifest_digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );

    let out = vigil.run(&["inventory", "--insecure", &reference]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains(&reference), "{err}");
}

/// Corpus images that are legal, if nasty, and must be read safely rather than refused:
/// real images carry device nodes and FIFOs, 100k files are just many, a root file system
/// with a FIFO and links out of it must be read without blocking or leaving it, and the
/// rest are valid layers.
const READ_SAFELY: [&str; 5] = [
    "rootfs-nasty",
    "device-files",
    "many-files",
    "zstd-layer",
    "gzip-labelled-uncompressed",
];

/// The hostile corpus (SPEC 2.4, generated by scripts/hostile-images.py): every hostile
/// image gives exit code 2 and a message naming the image, in bounded time, and nothing is
/// written outside vigil's own directories.
#[test]
fn hostile_images_are_rejected_clearly() {
    if require(have("python3") && have("zstd"), "python3 and zstd").is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let corpus = tmp.path().join("corpus");
    let out = Command::new("python3")
        .arg(workspace().join("scripts/hostile-images.py"))
        .arg(&corpus)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "hostile-images.py: {}",
        text(&out.stderr)
    );
    let vigil = Vigil::new();
    let mut entries: Vec<_> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    assert!(
        entries.len() >= 25,
        "corpus has only {} cases",
        entries.len()
    );
    let mut failures = Vec::new();
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let reference = path.display().to_string();
        let start = Instant::now();
        let out = vigil.run(&["inventory", "--no-cache", &reference]);
        let err = text(&out.stderr);
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "{name}: took {:?}",
            start.elapsed()
        );
        assert!(!err.contains("panicked"), "{name}: {err}");
        if READ_SAFELY.contains(&name.as_str()) {
            assert_eq!(out.status.code(), Some(0), "{name}: {err}");
            if name == "rootfs-nasty" {
                // var/lib/dpkg/status links to the host's /etc/passwd: never followed.
                let out = vigil.run(&["inventory", "--no-cache", "-f", "json", &reference]);
                assert_eq!(json(&out)["packages"], serde_json::json!([]), "{name}");
            }
            continue;
        }
        if out.status.code() != Some(2) || !err.starts_with("error: ") || !err.contains(&reference)
        {
            failures.push(format!("{name}: exit {:?}: {err}", out.status.code()));
        }
    }
    assert!(
        failures.is_empty(),
        "not rejected clearly:\n{}",
        failures.join("\n")
    );
    let mut left: Vec<String> = std::fs::read_dir(vigil.home.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert!(
        left.iter()
            .all(|n| n == "cache" || n == "data" || n == "config"),
        "{left:?}"
    );
}

/// The JSON contract, snapshotted on a real package database (the Ubuntu 18.04 dpkg status
/// of the shared fixtures, laid out as a root file system).
#[test]
fn json_contract_snapshot() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("rootfs");
    std::fs::create_dir_all(root.join("var/lib/dpkg")).unwrap();
    std::fs::copy(
        shared_fixtures().join("pkgdb/dpkg/ubuntu-18.04/status"),
        root.join("var/lib/dpkg/status"),
    )
    .unwrap();
    // The fixture has no os-release; give it the one an Ubuntu 18.04 image carries.
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(
        root.join("etc/os-release"),
        "NAME=\"Ubuntu\"\nVERSION=\"18.04.1 LTS (Bionic Beaver)\"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"18.04\"\nVERSION_CODENAME=bionic\n",
    )
    .unwrap();
    let vigil = Vigil::new();
    let reference = format!("dir:{}", root.display());
    let mut doc = json(&vigil.run(&["inventory", "-f", "json", &reference]));
    doc["image"]["reference"] = "dir:[ROOTFS]".into();
    doc["packages"] = doc["packages"].as_array().unwrap()[..3].to_vec().into();
    insta::assert_json_snapshot!(doc);
    let out = vigil.run(&["inventory", &reference]);
    let table = text(&out.stdout).replace(&reference, "dir:[ROOTFS]");
    insta::assert_snapshot!(table.lines().take(8).collect::<Vec<_>>().join("\n"));
}
