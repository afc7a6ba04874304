//! Executables in a real image (issue 7): Debian's Go programs and a cargo-auditable
//! binary in the `go` image, read from the OCI layout and as a root filesystem, checked
//! against `go version -m` and the binary's Cargo.lock; a script and a non-executable copy
//! are not read, and a binary deleted by an upper layer is gone.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use crate::support::{have, lang_images, scan, triples};

/// (module, version) as `go version -m` lists them, the toolchain as `stdlib` (`go1.19.8`
/// is `v1.19.8`, the Go vulnerability database's spelling); `(devel)` and local
/// replacements have no version an advisory could name.
fn go_version_m(binary: &Path) -> BTreeSet<(String, String)> {
    let out = Command::new("go")
        .arg("version")
        .arg("-m")
        .arg(binary)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let toolchain = lines
        .next()
        .unwrap()
        .rsplit(": go")
        .next()
        .unwrap()
        .to_owned();
    let mut modules: Vec<Option<(String, String)>> = Vec::new();
    for line in lines {
        let f: Vec<&str> = line.trim_start().split('\t').collect();
        match f[0] {
            "mod" | "dep" => modules.push(Some((f[1].into(), f[2].into()))),
            "=>" => {
                *modules.last_mut().unwrap() =
                    (!f[2].is_empty()).then(|| (f[1].into(), f[2].into()))
            }
            _ => {}
        }
    }
    let mut set: BTreeSet<_> = modules
        .into_iter()
        .flatten()
        .filter(|(_, v)| v != "(devel)")
        .collect();
    set.insert(("stdlib".into(), format!("v{toolchain}")));
    set
}

fn of_path(t: &[(String, String, String)], path: &str) -> BTreeSet<(String, String)> {
    t.iter()
        .filter(|(p, _, _)| p == path)
        .map(|(_, n, v)| (n.clone(), v.clone()))
        .collect()
}

/// The `name\tversion` rows of vigil-detect's cargo-auditable fixture list.
fn hello_expected() -> BTreeSet<(String, String)> {
    let tsv = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../vigil-detect/tests/fixtures/auditable/hello.expected.tsv"
    );
    std::fs::read_to_string(tsv)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let (n, v) = l.split_once('\t').unwrap();
            (n.to_owned(), v.to_owned())
        })
        .collect()
}

#[test]
fn go_and_rust_binaries_in_a_layered_image() {
    let Some(dir) = lang_images() else { return };
    if !have("go") {
        return;
    }
    let rootfs = dir.join("go/rootfs");
    let umoci = go_version_m(&rootfs.join("usr/bin/umoci"));
    // Debian builds in GOPATH mode: the toolchain is all `go version -m` names
    assert!(umoci.iter().any(|(n, _)| n == "stdlib"), "{umoci:?}");
    let reference = format!("oci:{}:go", dir.join("oci").display());
    let inv = scan(&reference, None);
    assert!(inv.errors.is_empty(), "{:?}", inv.errors);
    let go = triples(&inv, "golang");
    assert_eq!(of_path(&go, "usr/bin/umoci"), umoci);
    // deleted by layer 2, replaced by a C program in layer 2, a non-executable copy, a
    // script: none counts
    let paths: BTreeSet<&str> = go.iter().map(|(p, _, _)| p.as_str()).collect();
    assert_eq!(paths, BTreeSet::from(["usr/bin/umoci"]), "{go:?}");
    let cargo = triples(&inv, "cargo");
    assert_eq!(of_path(&cargo, "usr/local/bin/hello"), hello_expected());
    assert_eq!(cargo.len(), hello_expected().len());
    // the layer that introduced them: the first
    let first = inv.image.layers[0].digest.clone();
    assert!(
        inv.packages
            .iter()
            .all(|p| p.layer.as_deref() == Some(first.as_str()))
    );
    let purl = &inv
        .packages
        .iter()
        .find(|p| p.name == "stdlib")
        .unwrap()
        .purl;
    assert!(purl.starts_with("pkg:golang/stdlib@v1."), "{purl}");
}

#[test]
fn root_filesystem_reads_executables_by_mode() {
    let Some(dir) = lang_images() else { return };
    if !have("go") {
        return;
    }
    let rootfs = dir.join("go/rootfs");
    let inv = scan(&format!("dir:{}", rootfs.display()), None);
    assert!(inv.errors.is_empty(), "{:?}", inv.errors);
    let go = triples(&inv, "golang");
    // go/rootfs is layer 1: usr/local/bin/tool is still umoci there
    for binary in [
        "usr/bin/umoci",
        "usr/bin/docker-registry",
        "usr/local/bin/tool",
    ] {
        assert_eq!(
            of_path(&go, binary),
            go_version_m(&rootfs.join(binary)),
            "{binary}"
        );
    }
    // opt/data/umoci.bin has no exec bit
    assert!(go.iter().all(|(p, _, _)| !p.starts_with("opt/")), "{go:?}");
    assert_eq!(
        of_path(&triples(&inv, "cargo"), "usr/local/bin/hello"),
        hello_expected()
    );
}

/// A cached layer gives the same packages, and the cache holds only the executables that
/// had packages, and in the upper layer the one without (it replaces a Go program): the
/// script and other files are not recorded.
#[test]
fn executables_in_the_layer_cache() {
    let Some(dir) = lang_images() else { return };
    let cache = tempfile::tempdir().unwrap();
    let reference = format!("oci:{}:go", dir.join("oci").display());
    let cold = scan(&reference, Some(cache.path().to_path_buf()));
    let warm = scan(&reference, Some(cache.path().to_path_buf()));
    assert_eq!(cold.packages, warm.packages);
    assert!(!cold.packages.is_empty());
    let mut entries = Vec::new();
    let mut stack = vec![cache.path().to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                entries.push(p);
            }
        }
    }
    assert_eq!(entries.len(), 2, "one entry per layer: {entries:?}");
    let mut files = BTreeSet::new();
    for e in &entries {
        let json: serde_json::Value = serde_json::from_slice(&std::fs::read(e).unwrap()).unwrap();
        files.extend(json["files"].as_object().unwrap().keys().cloned());
    }
    let want: BTreeSet<String> = [
        "usr/bin/docker-registry",
        "usr/bin/umoci",
        "usr/local/bin/hello",
        "usr/local/bin/tool",
    ]
    .map(String::from)
    .into();
    assert_eq!(files, want);
}

/// The Debian app image of `build-test-images.sh` has hundreds of ELF files with an exec
/// bit and no Go or Rust program: they are read without an error and add no package.
#[test]
fn debian_elf_files_add_nothing() {
    let Some(images) = crate::support::test_images() else {
        return;
    };
    let inv = scan(&format!("oci:{}:app", images.join("oci").display()), None);
    assert!(inv.errors.is_empty(), "{:?}", inv.errors);
    assert!(triples(&inv, "golang").is_empty());
    assert!(triples(&inv, "cargo").is_empty());
    assert!(triples(&inv, "deb").len() > 80);
}

/// An object file over `MAX_EXECUTABLE_SIZE` is not read (its first bytes only) and is a
/// detector error, a gap in coverage; a script of that size is nothing. Both are sparse
/// files, so the test writes and reads a few bytes.
#[test]
fn oversized_object_files_are_coverage_gaps() {
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir().unwrap();
    let bin = root.path().join("usr/bin");
    std::fs::create_dir_all(&bin).unwrap();
    let size = vigil_detect::MAX_EXECUTABLE_SIZE + 1;
    for (name, head) in [
        ("big", &b"\x7fELF\x02\x01\x01"[..]),
        ("big.sh", b"#!/bin/sh\n"),
    ] {
        let path = bin.join(name);
        std::fs::write(&path, head).unwrap();
        let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(size).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let inv = scan(&format!("dir:{}", root.path().display()), None);
    assert!(inv.packages.is_empty());
    let messages: Vec<(&str, &str)> = inv
        .errors
        .iter()
        .map(|e| (e.path.as_str(), e.message.as_str()))
        .collect();
    let message = format!(
        "usr/bin/big: executable is {size} bytes, more than the {} byte limit for binaries: \
         its Go and Rust dependencies were not read",
        vigil_detect::MAX_EXECUTABLE_SIZE
    );
    assert_eq!(messages, [("usr/bin/big", message.as_str())]);
}
