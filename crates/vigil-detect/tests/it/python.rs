//! Debian's Python packages on this machine (`/usr/lib/python3/dist-packages`: wheels'
//! `.dist-info`, eggs' `.egg-info` directories and single `.egg-info` files), checked
//! against what pip lists for the same directory.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use vigil_detect::{Detection, detect, wants};

use crate::app_image::walk;
use crate::support::{have, read};

const DIST: &str = "/usr/lib/python3/dist-packages";

#[test]
fn debian_dist_packages_match_pip_list() {
    if !have("/usr/bin/python3") {
        return;
    }
    let out = Command::new("/usr/bin/python3")
        .args(["-m", "pip", "list", "--format", "json", "--path", DIST])
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
            let name = p["name"].as_str().unwrap();
            (
                name.to_lowercase().replace('_', "-"),
                p["version"].as_str().unwrap().to_owned(),
            )
        })
        .collect();

    let root = Path::new("/");
    let mut files = Vec::new();
    // only the top level: the metadata of each distribution, not the packages' own files
    for entry in std::fs::read_dir(DIST).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir()
            && path
                .extension()
                .is_some_and(|e| e == "dist-info" || e == "egg-info")
        {
            walk(root, &path, &mut files);
        } else if path.is_file() {
            let rel = path.to_str().unwrap().trim_start_matches('/').to_owned();
            files.push((rel, path));
        }
    }
    let mut found = BTreeSet::new();
    let mut kinds = BTreeSet::new();
    for (rel, path) in files {
        let Some(kind) = wants(&rel) else { continue };
        kinds.insert(match rel.rsplit('/').next().unwrap() {
            "METADATA" => "dist-info",
            "PKG-INFO" => "egg-info directory",
            _ => "egg-info file",
        });
        match detect(kind, &rel, &read(&path)) {
            Ok(Detection::Packages(p)) => found.extend(
                p.into_iter()
                    .map(|p| (p.name.to_lowercase().replace('_', "-"), p.version)),
            ),
            other => panic!("{rel}: {other:?}"),
        }
    }
    assert_eq!(found, pip);
    assert!(pip.len() > 10, "{pip:?}");
    // python3-rpm (an oracle of other tests) installs its metadata as a single file
    assert_eq!(kinds.len(), 3, "{kinds:?}");
}
