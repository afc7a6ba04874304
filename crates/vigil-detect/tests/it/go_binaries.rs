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

/// A real Go program with its build info header damaged: lengths that run past the
/// section are errors naming the problem; every other change a list or an error.
#[test]
fn damaged_build_info() {
    let binary = Path::new("/usr/bin/docker-registry");
    if !binary.exists() {
        return;
    }
    let data = read(binary);
    let magic = b"\xff Go buildinf:";
    let at = (0..data.len() - magic.len())
        .step_by(16)
        .find(|&i| &data[i..i + magic.len()] == magic)
        .expect("docker-registry has Go build info");
    let mut long = data.clone();
    // the toolchain version's varint length: 5 bytes of 0xff ask for ~2^35 bytes
    long[at + 32..at + 37].copy_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x7f]);
    let err = detect(FileKind::Executable, "usr/bin/docker-registry", &long).unwrap_err();
    assert!(
        err.to_string().contains("runs past the end of the section"),
        "{err}"
    );
    let mut d = data;
    for i in at..at + 96 {
        let original = d[i];
        for byte in [0x00, 0x01, 0x7f, 0x80, 0xff] {
            d[i] = byte;
            let _ = detect(FileKind::Executable, "usr/bin/docker-registry", &d);
        }
        d[i] = original;
    }
}
