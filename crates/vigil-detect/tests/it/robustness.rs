//! Corrupt inputs give errors naming the path and the problem: never a panic, a hang or
//! a silently short list. The corrupt files are derived here, at test time, from the
//! real fixtures.

use std::path::Path;

use proptest::prelude::*;
use vigil_detect::{DetectError, Detection, detect, wants};

use crate::support::fixture_files;

/// Every fixture file as (image path, bytes).
fn all_files() -> Vec<(String, Vec<u8>)> {
    [
        "apk/alpine-3.18.0/installed",
        "apk/alpine-3.16/installed",
        "dpkg/ubuntu-18.04/status",
        "dpkg/distroless-debian11-arm64/status.d",
        "dpkg/distroless-debian9/status.d",
        "rpm/cbl-mariner-2.0/rpmdb.sqlite",
        "rpm/ubi8-minimal-8.0/Packages",
        "rpm/sles-15.3-bci-minimal/Packages.db",
    ]
    .iter()
    .flat_map(|f| fixture_files(f))
    .collect()
}

fn run(path: &str, data: &[u8]) -> Result<Detection, DetectError> {
    let result = detect(wants(path).unwrap(), path, data);
    if let Err(e) = &result {
        assert_eq!(e.path, path);
        assert!(e.to_string().starts_with(&format!("{path}: ")), "{e}");
    }
    result
}

fn rpm_files() -> Vec<(String, Vec<u8>)> {
    all_files()
        .into_iter()
        .filter(|(p, _)| p.starts_with("var/lib/rpm/"))
        .collect()
}

/// A truncated rpm database is an error, or (when only unused tail pages were cut) the
/// complete list: never a shorter list.
#[test]
fn truncated_rpm_databases_never_give_a_short_list() {
    for (path, data) in rpm_files() {
        let full = run(&path, &data).unwrap();
        let step = (data.len() / 300).max(1);
        let mut errors = 0;
        for len in (0..data.len())
            .step_by(step)
            .chain([1, 7, 99, 100, 4095, 4096, 4097])
        {
            match run(&path, &data[..len]) {
                Err(_) => errors += 1,
                Ok(d) => assert_eq!(d, full, "{path} cut at {len} gave a different list"),
            }
        }
        assert!(
            errors > 250,
            "{path}: only {errors} truncations were errors"
        );
    }
}

/// Text databases cut anywhere parse or fail; a cut inside a stanza's fields that
/// removes its Version is an error.
#[test]
fn truncated_text_databases_do_not_panic() {
    for (path, data) in all_files() {
        if path.starts_with("var/lib/rpm/") {
            continue;
        }
        for len in 0..data.len().min(4096) {
            let _ = run(&path, &data[..len]);
        }
        for len in (0..data.len()).step_by((data.len() / 500).max(1)) {
            let _ = run(&path, &data[..len]);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random byte changes anywhere in any fixture: Ok or Err, never a panic.
    #[test]
    fn flipped_bytes_anywhere(file in 0usize..10, flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..16)) {
        let files = all_files();
        let (path, mut data) = files[file % files.len()].clone();
        for (at, byte) in flips {
            let at = at % data.len();
            data[at] ^= byte | 1;
        }
        let _ = run(&path, &data);
    }

    /// Random byte changes in the structural parts of rpm databases: page and slot
    /// headers, cell pointers, the first bytes of header blobs.
    #[test]
    fn flipped_bytes_in_rpm_structures(file in 0usize..3, page in any::<usize>(), offset in 0usize..64, byte in any::<u8>(), count in 1usize..4) {
        let files = rpm_files();
        let (path, mut data) = files[file % files.len()].clone();
        let pages = data.len() / 4096;
        for i in 0..count {
            let at = (page.wrapping_add(i * 7919) % pages) * 4096 + offset;
            data[at] ^= byte | 1;
        }
        let _ = run(&path, &data);
    }
}

fn u32_le(d: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(d[at..at + 4].try_into().unwrap())
}

fn file(path_suffix: &str) -> (String, Vec<u8>) {
    all_files()
        .into_iter()
        .find(|(p, _)| p.ends_with(path_suffix))
        .unwrap()
}

/// What a person reads when a database is corrupt.
#[test]
fn corruption_diagnostics() {
    let mut out = Vec::new();
    let mut show = |what: &str, path: &str, data: &[u8]| {
        let e = run(path, data).expect_err(what);
        out.push(format!("{what}\n  {e}"));
    };

    // bdb: an overflow page whose next pointer loops back to itself
    let (path, data) = file("rpm/Packages");
    let mut looped = data.clone();
    let pgno = (1..data.len() / 4096)
        .find(|&p| data[p * 4096 + 25] == 7 && u32_le(&data, p * 4096 + 16) != 0)
        .unwrap();
    looped[pgno * 4096 + 16..pgno * 4096 + 20].copy_from_slice(&(pgno as u32).to_le_bytes());
    show("bdb overflow chain that loops", &path, &looped);
    let mut beyond = data.clone();
    beyond[pgno * 4096 + 16..pgno * 4096 + 20].copy_from_slice(&999_999u32.to_le_bytes());
    show("bdb overflow page pointing past the file", &path, &beyond);
    show("bdb truncated", &path, &data[..data.len() - 4096]);

    // sqlite
    let (path, data) = file("rpmdb.sqlite");
    show(
        "sqlite truncated inside a page",
        &path,
        &data[..data.len() / 2 + 10],
    );
    show(
        "sqlite truncated at a page boundary",
        &path,
        &data[..data.len() / 2],
    );
    show("not sqlite at all", &path, b"hello world");

    // ndb: first used slot pointing past the file, then a header blob with a bogus
    // tag count
    let (path, data) = file("Packages.db");
    let slot = (32..4096)
        .step_by(16)
        .find(|&s| u32_le(&data, s + 4) != 0)
        .unwrap();
    let mut beyond = data.clone();
    beyond[slot + 8..slot + 12].copy_from_slice(&u32::MAX.to_le_bytes());
    show("ndb slot pointing past the file", &path, &beyond);
    let mut bogus = data.clone();
    let blob = u32_le(&data, slot + 8) as usize * 16 + 16;
    bogus[blob..blob + 4].copy_from_slice(&0x00ff_ffffu32.to_be_bytes());
    show("ndb header blob with a bogus tag count", &path, &bogus);

    // dpkg: a line that is no field, in the middle of the status file
    let (path, data) = file("dpkg/status");
    let text = String::from_utf8(data).unwrap();
    let broken = text.replacen("Priority: required\n", "Priority required\n", 1);
    show("dpkg status with a broken line", &path, broken.as_bytes());
    let no_version = text.replacen("Version: 3.116ubuntu1\n", "", 1);
    show(
        "dpkg status stanza without Version",
        &path,
        no_version.as_bytes(),
    );

    // apk
    let (path, data) = file("lib/apk/db/installed");
    show(
        "apk database cut after a name",
        &path,
        &[&data[..], b"\nP:orphan\n"].concat(),
    );

    insta::assert_snapshot!(out.join("\n"));
}

/// Files over the limit are refused before they are read.
#[test]
fn files_over_the_size_limit_are_refused() {
    let big = vec![0u8; vigil_detect::MAX_FILE_SIZE as usize + 1];
    let e = run("var/lib/rpm/rpmdb.sqlite", &big).unwrap_err();
    assert_eq!(
        e.to_string(),
        "var/lib/rpm/rpmdb.sqlite: file is 268435457 bytes, more than the limit of 268435456 bytes"
    );
}

/// The language package files of the lockfile fixtures and small real-format samples,
/// as (image path, bytes).
fn language_files() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/lockfiles"
    ));
    let mut files: Vec<(String, Vec<u8>)> = [
        "npm-v1/package-lock.json",
        "npm-v3/package-lock.json",
        "yarn-v1/yarn.lock",
        "yarn-berry/yarn.lock",
        "pnpm-v6/pnpm-lock.yaml",
        "pnpm-v9/pnpm-lock.yaml",
        "cargo-v4/Cargo.lock",
    ]
    .iter()
    .map(|f| {
        let name = f.rsplit('/').next().unwrap();
        (format!("app/{name}"), std::fs::read(dir.join(f)).unwrap())
    })
    .collect();
    for (path, text) in [
        (
            "site/x-1.dist-info/METADATA",
            "Metadata-Version: 2.1\nName: x\nVersion: 1\n\nbody\n",
        ),
        (
            "app/node_modules/x/package.json",
            r#"{"name":"x","version":"1.0.0"}"#,
        ),
        (
            "gems/specifications/x-1.gemspec",
            "s.name = \"x\".freeze\ns.version = \"1\"\n",
        ),
        (
            "app/Gemfile.lock",
            "GEM\n  specs:\n    x (1)\n      y (>= 0)\n    y (2)\n",
        ),
        (
            "app/composer.lock",
            r#"{"packages":[{"name":"a/b","version":"1"}],"packages-dev":[]}"#,
        ),
        (
            "app/vendor/composer/installed.json",
            r#"{"packages":[{"name":"a/b","version":"1"}]}"#,
        ),
        (
            "app/App.deps.json",
            r#"{"libraries":{"A/1.0.0":{"type":"package"}}}"#,
        ),
    ] {
        files.push((path.to_owned(), text.as_bytes().to_vec()));
    }
    files
}

/// Every prefix of every language file gives a list or an error naming the path.
#[test]
fn truncated_language_files_do_not_panic() {
    for (path, data) in language_files() {
        let full = run(&path, &data).unwrap();
        assert!(
            matches!(&full, Detection::Packages(p) if !p.is_empty()),
            "{path}"
        );
        for len in 0..data.len() {
            let _ = run(&path, &data[..len]);
        }
    }
}

/// Nesting far deeper than any real file is refused with an error, not a stack overflow.
#[test]
fn deeply_nested_language_files_are_errors() {
    let json = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
    let yaml = format!("{}x\n", "- ".repeat(100_000));
    for (path, data) in [
        ("app/package-lock.json", json.as_str()),
        ("app/node_modules/x/package.json", json.as_str()),
        ("app/composer.lock", json.as_str()),
        ("app/App.deps.json", json.as_str()),
        ("app/pnpm-lock.yaml", yaml.as_str()),
        ("app/Cargo.lock", &format!("a = {}", "[".repeat(100_000))),
    ] {
        assert!(run(path, data.as_bytes()).is_err(), "{path}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random byte changes in language files: a list or an error, never a panic.
    #[test]
    fn flipped_bytes_in_language_files(file in 0usize..14, flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
        let files = language_files();
        let (path, mut data) = files[file % files.len()].clone();
        for (at, byte) in flips {
            let i = at % data.len();
            data[i] = byte;
        }
        let _ = run(&path, &data);
    }

    /// Arbitrary bytes as an executable or a Java archive.
    #[test]
    fn arbitrary_binaries(data in prop::collection::vec(any::<u8>(), 0..4096)) {
        let _ = detect(vigil_detect::FileKind::Executable, "bin/x", &data);
        let _ = detect(vigil_detect::FileKind::JavaArchive, "x.jar", &data);
    }
}
