//! Lockfiles made by the real tools (`tests/fixtures/lockfiles/make.sh`): npm v1, v2 and
//! v3, yarn v1 and berry, pnpm v6 and v9 of one manifest, Cargo.lock v3 and v4. Each
//! lists what the tool itself listed when the lockfile was made (`*.expected.tsv`, from
//! `npm ls` and `cargo metadata`).

use std::collections::BTreeSet;
use std::path::Path;

use crate::support::{packages, read};

fn dir() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/lockfiles"
    ))
}

/// (name, version, dev) rows of an expected list.
fn expected(name: &str) -> BTreeSet<(String, String, bool)> {
    let text = String::from_utf8(read(&dir().join(name))).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].into(), f[1].into(), f[2] == "true")
        })
        .collect()
}

/// Checks one lockfile and returns its purls for the snapshot.
fn check(case: &str, file: &str, list: &str, dev_known: bool) -> String {
    let image_path = format!("app/{file}");
    let found = packages(&image_path, &read(&dir().join(case).join(file)));
    let want = expected(list);
    let got: BTreeSet<(String, String, bool)> = found
        .iter()
        .map(|p| (p.name.clone(), p.version.clone(), p.dev && dev_known))
        .collect();
    let want: BTreeSet<_> = want
        .into_iter()
        .map(|(n, v, d)| (n, v, d && dev_known))
        .collect();
    assert_eq!(got, want, "{case}");
    assert_eq!(got.len(), found.len(), "{case}: duplicates");
    assert!(found.iter().all(|p| p.path == image_path));
    found
        .iter()
        .map(|p| format!("{}{}", p.purl(None), if p.dev { " dev" } else { "" }))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn npm_lockfiles_v1_v2_v3() {
    for case in ["npm-v1", "npm-v2", "npm-v3"] {
        let purls = check(case, "package-lock.json", "npm.expected.tsv", true);
        insta::assert_snapshot!(case, purls);
    }
}

#[test]
fn yarn_classic_and_berry() {
    for case in ["yarn-v1", "yarn-berry"] {
        let purls = check(case, "yarn.lock", "npm.expected.tsv", false);
        insta::assert_snapshot!(case, purls);
    }
}

#[test]
fn pnpm_v6_and_v9() {
    for case in ["pnpm-v6", "pnpm-v9"] {
        let purls = check(case, "pnpm-lock.yaml", "npm.expected.tsv", true);
        insta::assert_snapshot!(case, purls);
    }
}

#[test]
fn cargo_lock_v3_v4() {
    for case in ["cargo-v3", "cargo-v4"] {
        let purls = check(case, "Cargo.lock", "cargo.expected.tsv", false);
        insta::assert_snapshot!(case, purls);
    }
}
