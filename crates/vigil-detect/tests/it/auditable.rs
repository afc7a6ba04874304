//! cargo-auditable data: `tests/fixtures/auditable/hello` was built by `cargo auditable
//! build` (`make.sh` beside it); its registry dependencies are those of the build's
//! Cargo.lock (`hello.expected.tsv`), the path dependency and the package itself left
//! out.

use std::collections::BTreeSet;
use std::path::Path;

use object::{Object, ObjectSection};
use vigil_detect::{Detection, FileKind, detect, wants_executable};

use crate::support::read;

fn fixture(name: &str) -> Vec<u8> {
    read(
        &Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/auditable"
        ))
        .join(name),
    )
}

#[test]
fn auditable_binary_lists_its_registry_dependencies() {
    let data = fixture("hello");
    assert!(wants_executable(
        "usr/local/bin/hello",
        0o755,
        data.len() as u64
    ));
    let Detection::Packages(found) =
        detect(FileKind::Executable, "usr/local/bin/hello", &data).unwrap()
    else {
        panic!("packages expected")
    };
    let expected: BTreeSet<(String, String)> = String::from_utf8(fixture("hello.expected.tsv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let (n, v) = l.split_once('\t').unwrap();
            (n.to_owned(), v.to_owned())
        })
        .collect();
    let got: BTreeSet<(String, String)> = found
        .iter()
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect();
    assert_eq!(got, expected);
    let purls: Vec<String> = found.iter().map(|p| p.purl(None)).collect();
    insta::assert_snapshot!(purls.join("\n"), @r"
    pkg:cargo/itoa@1.0.11
    pkg:cargo/memchr@2.7.4
    ");
}

#[test]
fn damaged_auditable_data_is_an_error() {
    let data = fixture("hello");
    let file = object::File::parse(&*data).unwrap();
    let section = file.section_by_name(".dep-v0").unwrap();
    let (offset, size) = section.file_range().unwrap();
    let (offset, size) = (offset as usize, size as usize);
    let mut bad = data.clone();
    bad[offset] ^= 0xff; // the zlib header
    let err = detect(FileKind::Executable, "bin/hello", &bad).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("bin/hello: cargo-auditable data: not zlib data"),
        "{err}"
    );
    for i in offset..offset + size {
        let mut d = data.clone();
        d[i] ^= 0x55;
        let _ = detect(FileKind::Executable, "bin/hello", &d);
    }
}
