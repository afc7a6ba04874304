//! The real test app image's language packages: its second layer is unpacked at test
//! time and walked as the layer walker would; the Python and npm packages found must be
//! what pip and npm themselves list for the same files.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use vigil_detect::{Detection, Package, PkgType, detect, wants};

use crate::support::{have, read, test_images};

/// Regular files under `root` as (image path, file path).
pub fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        let ty = entry.file_type().unwrap();
        if ty.is_dir() {
            walk(root, &path, out);
        } else if ty.is_file() {
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

/// The files of the app image's last layer, unpacked into a temp dir.
fn app_layer(images: &Path) -> tempfile::TempDir {
    let oci = images.join("oci");
    let blob = |digest: &str| {
        oci.join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"))
    };
    let index: serde_json::Value = serde_json::from_slice(&read(&oci.join("index.json"))).unwrap();
    let app = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == "app")
        .expect("the oci layout has the tag app");
    let manifest: serde_json::Value =
        serde_json::from_slice(&read(&blob(app["digest"].as_str().unwrap()))).unwrap();
    let layers = manifest["layers"].as_array().unwrap();
    let layer = blob(layers.last().unwrap()["digest"].as_str().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(&layer)
        .arg("-C")
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success(), "tar could not unpack {}", layer.display());
    dir
}

/// Every package `detect` finds in the files `wants` picks under `dir`, with paths
/// relative to `root`.
fn detect_all(root: &Path, dir: &Path) -> (Vec<String>, Vec<Package>) {
    let mut files = Vec::new();
    walk(root, dir, &mut files);
    files.sort();
    let mut wanted = Vec::new();
    let mut packages = Vec::new();
    for (rel, path) in files {
        let Some(kind) = wants(&rel) else { continue };
        match detect(kind, &rel, &read(&path)) {
            Ok(Detection::Packages(p)) => packages.extend(p),
            Ok(other) => panic!("{rel}: unexpected {other:?}"),
            Err(e) => panic!("{e}"),
        }
        wanted.push(rel);
    }
    (wanted, packages)
}

fn pairs<'a>(packages: impl Iterator<Item = &'a Package>) -> BTreeSet<(String, String)> {
    packages
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect()
}

#[test]
fn python_and_npm_packages_of_the_app_image() {
    let Some(images) = test_images() else { return };
    let layer = app_layer(&images);
    let (wanted, packages) = detect_all(layer.path(), layer.path());
    let site = "usr/local/lib/python3.11/site-packages";
    assert_eq!(
        wanted,
        [
            "app/node_modules/lodash/package.json",
            "app/node_modules/minimist/package.json",
            "app/package-lock.json",
            &format!("{site}/Jinja2-2.10.dist-info/METADATA"),
            &format!("{site}/requests-2.19.1.dist-info/METADATA"),
            &format!("{site}/urllib3-1.23.dist-info/METADATA"),
            "var/lib/dpkg/status",
        ]
    );
    let of = |ty: PkgType| packages.iter().filter(move |p| p.ecosystem == ty);

    // pip, reading the same site-packages, is the oracle for Python
    if have("/usr/bin/python3") {
        let out = Command::new("/usr/bin/python3")
            .args(["-m", "pip", "list", "--format", "json", "--path"])
            .arg(layer.path().join(site))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let listed: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
        let pip: BTreeSet<(String, String)> = listed
            .iter()
            .map(|p| {
                (
                    p["name"].as_str().unwrap().into(),
                    p["version"].as_str().unwrap().into(),
                )
            })
            .collect();
        assert_eq!(pairs(of(PkgType::Pypi)), pip);
        assert_eq!(pip.len(), 3);
    }

    // npm ls, reading node_modules and the lockfile, is the oracle for npm
    if have("npm") {
        let out = Command::new("npm")
            .args(["ls", "--all", "--json", "--prefix"])
            .arg(layer.path().join("app"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let tree: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut npm = BTreeSet::new();
        let mut stack = vec![&tree];
        while let Some(node) = stack.pop() {
            if let Some(deps) = node["dependencies"].as_object() {
                for (name, dep) in deps {
                    npm.insert((name.clone(), dep["version"].as_str().unwrap().to_owned()));
                    stack.push(dep);
                }
            }
        }
        let from =
            |file: &str| pairs(of(PkgType::Npm).filter(|p| p.path.ends_with(file) && !p.dev));
        assert_eq!(from("package-lock.json"), npm);
        assert_eq!(from("/package.json"), npm);
        assert_eq!(npm.len(), 2);
    }

    let mut purls: Vec<String> = packages
        .iter()
        .filter(|p| p.ecosystem.is_language())
        .map(|p| format!("{}\t{}", p.purl(None), p.path))
        .collect();
    purls.sort();
    insta::assert_snapshot!(purls.join("\n"));
}

/// npm's own global tree on this machine (`npm root -g`: npm and corepack with their
/// bundled dependencies, nested node_modules): every installed manifest `wants` picks,
/// against `npm ls -g --all`.
#[test]
fn global_node_modules_match_npm_ls() {
    if !have("npm") {
        return;
    }
    let npm = |args: &[&str]| {
        let out = Command::new("npm").args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let root = String::from_utf8(npm(&["root", "-g"])).unwrap();
    let root = Path::new(root.trim());
    let tree: serde_json::Value =
        serde_json::from_slice(&npm(&["ls", "-g", "--all", "--json"])).unwrap();
    let mut listed = BTreeSet::new();
    let mut stack = vec![&tree];
    while let Some(node) = stack.pop() {
        for (name, dep) in node["dependencies"].as_object().into_iter().flatten() {
            if let Some(v) = dep["version"].as_str() {
                listed.insert((name.clone(), v.to_owned()));
            }
            stack.push(dep);
        }
    }
    // paths start with `node_modules/`, as in an image
    let (wanted, packages) = detect_all(root.parent().unwrap(), root);
    assert!(
        wanted.iter().all(|w| w.ends_with("/package.json")),
        "{wanted:?}"
    );
    assert_eq!(pairs(packages.iter()), listed);
    assert!(listed.len() > 50, "{listed:?}");
}
