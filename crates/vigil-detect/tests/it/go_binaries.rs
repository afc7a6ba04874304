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

/// A Go unsigned varint and its length in bytes.
fn uvarint(b: &[u8]) -> (usize, usize) {
    let mut v = 0usize;
    for (i, &byte) in b.iter().enumerate() {
        v |= usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return (v, i + 1);
        }
    }
    panic!("bad varint")
}

/// The same ELF program with its build info rewritten in the pointer format of Go <
/// 1.18 (no such toolchain is packaged here): the header points at two Go string headers
/// (data pointer, length) written into a run of zero bytes of `.noptrdata`, which point
/// at the version and module info bytes where the inline format left them.
fn as_pointer_format(data: &[u8]) -> Vec<u8> {
    use object::{Object, ObjectSection};
    let file = object::File::parse(data).unwrap();
    let info = file.section_by_name(".go.buildinfo").unwrap();
    let (h, _) = info.file_range().unwrap();
    let h = h as usize;
    let vaddr_of_info = |pos: usize| info.address() + (pos - h) as u64;
    assert!(data[h..].starts_with(b"\xff Go buildinf:") && data[h + 15] & 2 != 0);
    let (vlen, n1) = uvarint(&data[h + 32..]);
    let version = h + 32 + n1;
    let (mlen, n2) = uvarint(&data[version + vlen..]);
    let modinfo = version + vlen + n2;
    let spare = file.section_by_name(".noptrdata").unwrap();
    let (s_off, s_size) = spare.file_range().unwrap();
    let (s_off, s_size) = (s_off as usize, s_size as usize);
    let pos = (s_off..s_off + s_size - 32)
        .step_by(8)
        .find(|&p| data[p..p + 32].iter().all(|&b| b == 0))
        .expect("32 zero bytes in .noptrdata");
    let vaddr_of_spare = |p: usize| spare.address() + (p - s_off) as u64;
    let mut out = data.to_vec();
    let mut put = |at: usize, v: u64| out[at..at + 8].copy_from_slice(&v.to_le_bytes());
    put(pos, vaddr_of_info(version));
    put(pos + 8, vlen as u64);
    put(pos + 16, vaddr_of_info(modinfo));
    put(pos + 24, mlen as u64);
    put(h + 16, vaddr_of_spare(pos));
    put(h + 24, vaddr_of_spare(pos + 16));
    out[h + 14] = 8;
    out[h + 15] = 0; // little endian, pointers
    out
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
            let old = as_pointer_format(&read(&binary));
            let from_old = match detect(FileKind::Executable, "bin/app", &old) {
                Ok(Detection::Packages(p)) => p,
                other => panic!("pointer format: {other:?}"),
            };
            assert_eq!(pairs(&from_old), oracle, "pointer format");
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

/// A Go program whose ELF section headers were stripped (as `sstrip` does) is still read,
/// from its loaded segments.
#[test]
fn section_headers_stripped() {
    let binary = Path::new("/usr/bin/docker-registry");
    if !binary.exists() || !have("go") {
        return;
    }
    let mut data = read(binary);
    // ELF64: e_shoff at 0x28, e_shnum at 0x3c, e_shstrndx at 0x3e
    data[0x28..0x30].fill(0);
    data[0x3c..0x40].fill(0);
    let found = match detect(FileKind::Executable, "usr/bin/docker-registry", &data) {
        Ok(Detection::Packages(p)) => p,
        other => panic!("{other:?}"),
    };
    assert_eq!(pairs(&found), go_version_m(binary));
}
