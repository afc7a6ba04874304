//! The real header blobs of the cbl-mariner rpmdb.sqlite, rebuilt by
//! `tests/support/make-rpmdbs.py` into SQLite files of other page sizes (deep b-trees,
//! free pages, WAL mode) and Berkeley DB hash files of both byte orders and several
//! page sizes (made by Berkeley DB's own db5.3_load): every layout lists the same
//! packages, and rpm agrees on the Berkeley DB ones.

use std::path::Path;
use std::process::Command;

use crate::oracles::rpm_oracle;
use crate::support::{have, packages, pkgdb, read};

fn python() -> &'static str {
    // python3-apt and friends live in Debian's python; any python3 with sqlite3 will do
    if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

fn sorted(path: &str, data: &[u8]) -> Vec<vigil_detect::Package> {
    let mut p = packages(path, data);
    for pkg in &mut p {
        pkg.path = String::new();
    }
    p.sort();
    p
}

#[test]
fn rebuilt_databases_list_the_same_packages() {
    if !have("db5.3_load") || !have(python()) {
        return;
    }
    let source = pkgdb("rpm/cbl-mariner-2.0/rpmdb.sqlite");
    let want = sorted("var/lib/rpm/rpmdb.sqlite", &read(&source));
    let out = tempfile::tempdir().unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/make-rpmdbs.py");
    let status = Command::new(python())
        .arg(script)
        .arg(&source)
        .arg(out.path())
        .status()
        .expect("run make-rpmdbs.py");
    assert!(status.success(), "make-rpmdbs.py failed");
    let mut dirs: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    assert_eq!(dirs.len(), 9, "{dirs:?}");
    for dir in dirs {
        let name = if dir.join("Packages").exists() {
            "Packages"
        } else {
            "rpmdb.sqlite"
        };
        let file = dir.join(name);
        let got = sorted(&format!("var/lib/rpm/{name}"), &read(&file));
        assert_eq!(got.len(), want.len(), "{}", dir.display());
        assert_eq!(got, want, "{}", dir.display());
        if name == "Packages" {
            rpm_oracle(&file);
        }
    }
}
