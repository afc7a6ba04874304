//! Shared helpers: fixture paths, expected lists, the test-image location.

use std::path::{Path, PathBuf};

use vigil_detect::{Detection, FileKind, Package, detect, wants};

/// `shared/fixtures/pkgdb/<rel>` beside the workspace.
pub fn pkgdb(rel: &str) -> PathBuf {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/pkgdb"
    ))
    .join(rel)
}

pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Parses `data` as the image file at `image_path`, which a detector must want.
pub fn packages(image_path: &str, data: &[u8]) -> Vec<Package> {
    let kind = wants(image_path).unwrap_or_else(|| panic!("{image_path} is not wanted"));
    match detect(kind, image_path, data) {
        Ok(Detection::Packages(p)) => p,
        Ok(other) => panic!("{image_path}: expected packages, got {other:?}"),
        Err(e) => panic!("{e}"),
    }
}

/// The package database files of one fixture, as (path in the image, bytes).
pub fn fixture_files(fixture: &str) -> Vec<(String, Vec<u8>)> {
    let dir = pkgdb(fixture);
    if dir.is_dir() {
        // a distroless status.d directory: each file as it would sit in an image
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        return names
            .into_iter()
            .map(|n| {
                let data = read(&dir.join(&n));
                (format!("var/lib/dpkg/status.d/{n}"), data)
            })
            .filter(|(p, _)| wants(p) == Some(FileKind::DpkgStatusD))
            .collect();
    }
    let name = dir.file_name().unwrap().to_str().unwrap();
    let image_path = match name {
        "installed" => "lib/apk/db/installed".to_owned(),
        "status" => "var/lib/dpkg/status".to_owned(),
        other => format!("var/lib/rpm/{other}"),
    };
    vec![(image_path, read(&dir))]
}

/// Rows of `<fixture>.expected.tsv`, without the header, sorted.
pub fn expected(fixture: &str) -> Vec<Vec<String>> {
    let text = String::from_utf8(read(&pkgdb(&format!("{fixture}.expected.tsv")))).unwrap();
    let mut rows: Vec<Vec<String>> = text
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect();
    rows.sort();
    rows
}

/// A package as a row of the expected-list format (pkgdb/README.md).
pub fn row(p: &Package) -> Vec<String> {
    let source = p.source_name.clone().unwrap_or_default();
    let mut row = vec![
        p.name.clone(),
        p.version.clone(),
        source.clone(),
        p.arch.clone().unwrap_or_default(),
    ];
    match p.ecosystem {
        vigil_detect::PkgType::Deb => row.push(p.source_version.clone().unwrap_or_default()),
        vigil_detect::PkgType::Rpm => row.push(format!(
            "{source}-{}.src.rpm",
            p.source_version.clone().unwrap_or_default()
        )),
        _ => {}
    }
    row
}

/// The real test images (`VIGIL_TEST_IMAGES`, else `<workspace>/target/test-images`).
/// `None` (with a message) when absent, except under `CI=true` where absence fails.
pub fn test_images() -> Option<PathBuf> {
    let dir = std::env::var_os("VIGIL_TEST_IMAGES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../target/test-images"
            ))
            .into()
        });
    if dir.join("rootfs").is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "test images missing at {} (build them with shared/tools/build-test-images.sh)",
            dir.display()
        );
    }
    eprintln!("skipped: no test images at {}", dir.display());
    None
}

/// Whether an oracle program is on PATH; under `CI=true` a missing one fails.
pub fn have(program: &str) -> bool {
    let found = std::process::Command::new(program)
        .arg("--version")
        .output()
        .is_ok();
    if !found {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("oracle {program} is not installed");
        }
        eprintln!("skipped: {program} is not installed");
    }
    found
}
