//! Integration tests of vigil-matcher, on real records from `shared/fixtures/feeds` parsed
//! with vigil-vulndb, and on the real test images when they are built.

mod coverage;
mod oracle;
mod props;
mod rules;

use std::path::{Path, PathBuf};

use vigil_detect::Distro;
use vigil_matcher::Package;
use vigil_vulndb::Advisory;

/// `shared/fixtures/feeds`, relative to this crate.
pub fn feeds() -> PathBuf {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/feeds"
    ))
    .to_path_buf()
}

/// One OSV record (JSON or YAML) from the shared feeds, parsed by vigil-vulndb.
pub fn osv(rel: &str) -> Advisory {
    let path = feeds().join(rel);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let parsed = if rel.ends_with(".yaml") {
        vigil_vulndb::osv::parse_yaml(&bytes)
    } else {
        vigil_vulndb::osv::parse_json_record(&bytes)
    };
    parsed.unwrap_or_else(|e| panic!("{rel}: {e:?}"))
}

/// Every OSV record under a folder of the shared feeds.
pub fn osv_dir(rel: &str) -> Vec<Advisory> {
    let mut files = Vec::new();
    let mut stack = vec![feeds().join(rel)];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "json" || e == "yaml") {
                files.push(path);
            }
        }
    }
    files.sort();
    let root = feeds();
    files
        .iter()
        .map(|f| osv(f.strip_prefix(&root).unwrap().to_str().unwrap()))
        .collect()
}

pub fn distro(id: &str, version: Option<&str>, codename: Option<&str>) -> Distro {
    Distro {
        id: id.to_owned(),
        version_id: version.map(str::to_owned),
        codename: codename.map(str::to_owned),
        pretty_name: None,
    }
}

pub fn bookworm() -> Distro {
    distro("debian", Some("12"), Some("bookworm"))
}

/// A Debian binary package built from `source` at `source_version`.
pub fn deb(name: &str, version: &str, source: &str, source_version: &str) -> Package {
    Package {
        ecosystem: "deb".into(),
        name: name.into(),
        version: version.into(),
        arch: Some("amd64".into()),
        source_name: Some(source.into()),
        source_version: Some(source_version.into()),
        purl: Some(format!("pkg:deb/debian/{name}@{version}?arch=amd64")),
        layer: None,
        path: "var/lib/dpkg/status".into(),
    }
}

pub fn lang(kind: &str, name: &str, version: &str) -> Package {
    Package {
        ecosystem: kind.into(),
        name: name.into(),
        version: version.into(),
        path: format!("site-packages/{name}-{version}.dist-info/METADATA"),
        ..Package::default()
    }
}
