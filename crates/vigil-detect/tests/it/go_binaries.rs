//! Go build info in real binaries: a program with module dependencies built for Linux,
//! macOS and Windows by `tests/support/make-go-binaries.sh`, and the Go programs Debian
//! ships that the test setup installs (docker-registry, skopeo, umoci). `go version -m`
//! is the oracle.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use vigil_detect::{Detection, FileKind, Package, detect, wants_executable};

use crate::support::{have, read};

/// (module, version) pairs as `go version -m` lists them, the toolchain as `stdlib`.
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
    let first = lines.next().unwrap();
    let toolchain = first.rsplit(": ").next().unwrap().trim_start_matches("go");
    let mut modules: Vec<Option<(String, String)>> = Vec::new();
    for line in lines {
        let f: Vec<&str> = line.trim_start_matches('\t').split('\t').collect();
        match f[0] {
            "mod" | "dep" => modules.push(Some((f[1].into(), f[2].into()))),
            "=>" => {
                *modules.last_mut().unwrap() =
                    (!f[2].is_empty()).then(|| (f[1].into(), f[2].into()))
            }
            _ => {}
        }
    }
    let mut set: BTreeSet<(String, String)> = modules
        .into_iter()
        .flatten()
        .filter(|(_, v)| v != "(devel)")
        .collect();
    set.insert(("stdlib".into(), format!("v{toolchain}")));
    set
}

fn detected(binary: &Path) -> Vec<Package> {
    let meta = std::fs::metadata(binary).unwrap();
    let path = binary.to_str().unwrap().trim_start_matches('/');
    assert!(wants_executable(
        path,
        meta.permissions().mode(),
        meta.len()
    ));
    match detect(FileKind::Executable, path, &read(binary)) {
        Ok(Detection::Packages(p)) => p,
        other => panic!("{}: {other:?}", binary.display()),
    }
}

fn pairs(p: &[Package]) -> BTreeSet<(String, String)> {
    p.iter()
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect()
}

#[test]
fn built_go_binaries_match_go_version_m() {
    if !have("go") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/support/make-go-binaries.sh"
    );
    let status = Command::new("sh")
        .arg(script)
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success(), "{script} failed");
    for name in ["app-linux", "app-darwin", "app-windows.exe"] {
        let binary = dir.path().join(name);
        let found = detected(&binary);
        let oracle = go_version_m(&binary);
        assert_eq!(pairs(&found), oracle, "{name}");
        assert!(oracle.contains(&("example.org/fork".into(), "v0.2.0".into())));
        assert_eq!(found.len(), 3, "{name}: stdlib, greet and the fork");
        if name == "app-linux" {
            let purls: Vec<String> = found.iter().map(|p| p.purl(None)).collect();
            let toolchain = found[0].version.clone();
            let purls = purls.join("\n").replace(&toolchain, "[toolchain]");
            insta::assert_snapshot!(purls);
        }
    }
}

#[test]
fn debian_go_programs_match_go_version_m() {
    if !have("go") {
        return;
    }
    let programs: Vec<PathBuf> = ["docker-registry", "skopeo", "umoci"]
        .iter()
        .map(|p| Path::new("/usr/bin").join(p))
        .collect();
    for binary in &programs {
        assert!(binary.exists(), "{} is not installed", binary.display());
        assert_eq!(
            pairs(&detected(binary)),
            go_version_m(binary),
            "{}",
            binary.display()
        );
    }
}

#[test]
fn other_executables_have_no_packages() {
    for binary in ["/usr/bin/dpkg", "/bin/sh"] {
        assert_eq!(detected(Path::new(binary)), [], "{binary}");
    }
}
