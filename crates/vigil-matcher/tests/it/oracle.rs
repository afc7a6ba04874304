//! The matcher against the independent oracle `scripts/oracle-debian-findings.py` (dpkg-query
//! and python3-apt's `apt_pkg.version_compare`, written without looking at this crate).
//!
//! Inputs: the root file system of the real test image (`$VIGIL_TEST_IMAGES/rootfs`, built
//! by `shared/tools/build-test-images.sh`) and the real tracker data
//! `shared/fixtures/feeds/debian-tracker/bookworm.json`. The matcher reads the dpkg status
//! with vigil-detect and the tracker with vigil-vulndb; the oracle reads them with dpkg and
//! its own JSON walk. Both must give the same set of (CVE, source package, fix state, fixed
//! version).
//!
//! The real image is current, so every tracker fix is installed and only open issues
//! remain. A second case rewrites the same status file (in a temporary root) so that each
//! source package sits at a version the tracker names as a fix for it: some of its
//! advisories are then fixed above it, others at or below it. That exercises every branch
//! of the comparison against the oracle, on real package names and real tracker versions.
//!
//! Skips with a message when the images, dpkg-query or python3-apt are absent, except
//! under `CI=true`, where that fails.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use vigil_detect::{Detection, FileKind, resolve_distro};
use vigil_matcher::{Matcher, Package};
use vigil_vulndb::{Advisory, Event, FeedFormat, open_feed};

use crate::feeds;

type Row = (String, String, String, String);

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

#[allow(clippy::print_stderr)] // a skipped test says why, as STYLE.md asks
fn skip(why: &str) {
    assert!(!ci(), "CI=true and {why}");
    eprintln!("skipping the oracle comparison: {why}");
}

fn images() -> PathBuf {
    std::env::var_os("VIGIL_TEST_IMAGES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../target/test-images"
            ))
            .to_path_buf()
        })
}

fn tracker_path() -> PathBuf {
    feeds().join("debian-tracker/bookworm.json")
}

fn tracker() -> Vec<Advisory> {
    open_feed(tracker_path(), FeedFormat::DebianTracker)
        .map(|item| item.expect("bookworm.json reads").advisory)
        .collect()
}

fn repo_root() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).to_path_buf()
}

/// Runs the oracle; `None` (after a skip message) when it cannot run here.
fn oracle(rootfs: &Path) -> Option<BTreeSet<Row>> {
    let script = repo_root().join("scripts/oracle-debian-findings.py");
    let out = match Command::new("/usr/bin/python3")
        .arg(&script)
        .arg(rootfs)
        .arg(tracker_path())
        .output()
    {
        Ok(out) => out,
        Err(e) => {
            skip(&format!("/usr/bin/python3 cannot run: {e}"));
            return None;
        }
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        if stderr.contains("python3-apt is missing") || stderr.contains("dpkg-query") {
            skip(&format!("the oracle's tools are missing: {stderr}"));
            return None;
        }
        panic!("oracle failed on {}: {stderr}", rootfs.display());
    }
    let text = String::from_utf8(out.stdout).expect("oracle prints UTF-8");
    Some(
        text.lines()
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                assert_eq!(f.len(), 4, "oracle line {l:?}");
                (f[0].into(), f[1].into(), f[2].into(), f[3].into())
            })
            .collect(),
    )
}

/// The rootfs's distribution and dpkg packages, read with vigil-detect.
fn inventory(rootfs: &Path) -> (vigil_detect::Distro, Vec<Package>) {
    let status_path = "var/lib/dpkg/status";
    let bytes = std::fs::read(rootfs.join(status_path)).expect("dpkg status");
    let Detection::Packages(pkgs) =
        vigil_detect::detect(FileKind::DpkgStatus, status_path, &bytes).expect("status parses")
    else {
        panic!("dpkg status gave no packages")
    };
    // etc/os-release is a link to ../usr/lib/os-release: read the target inside the root.
    let os = "usr/lib/os-release";
    let facts = match vigil_detect::detect(
        FileKind::OsRelease,
        os,
        &std::fs::read(rootfs.join(os)).expect("os-release"),
    )
    .expect("os-release parses")
    {
        Detection::Distro(f) => f,
        Detection::Packages(_) => unreachable!(),
    };
    let distro = resolve_distro(&[(os.to_owned(), facts)]).expect("a distribution");
    let packages = pkgs
        .into_iter()
        .map(|p| Package {
            ecosystem: p.ecosystem.as_str().to_owned(),
            purl: Some(p.purl(Some(&distro))),
            name: p.name,
            version: p.version,
            arch: p.arch,
            source_name: p.source_name,
            source_version: p.source_version,
            layer: None,
            path: p.path,
        })
        .collect();
    (distro, packages)
}

fn matcher_rows(rootfs: &Path, advisories: &[Advisory]) -> BTreeSet<Row> {
    let (distro, packages) = inventory(rootfs);
    assert_eq!(distro.id, "debian");
    let matches = Matcher::new(advisories).match_packages(Some(&distro), &packages);
    assert!(matches.errors.is_empty(), "{:?}", matches.errors);
    matches
        .findings
        .iter()
        .map(|f| {
            (
                f.id.to_string(),
                f.data_source.name.to_string(),
                f.fix_state.as_str().to_owned(),
                f.fixed_version.clone().unwrap_or_default(),
            )
        })
        .collect()
}

fn compare(rootfs: &Path, advisories: &[Advisory]) -> Option<BTreeSet<Row>> {
    let expected = oracle(rootfs)?;
    let got = matcher_rows(rootfs, advisories);
    let missing: Vec<_> = expected.difference(&got).collect();
    let extra: Vec<_> = got.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "matcher vs oracle on {}:\nmissing {missing:#?}\nextra {extra:#?}",
        rootfs.display()
    );
    Some(got)
}

#[test]
fn real_image_matches_the_oracle() {
    let rootfs = images().join("rootfs");
    if !rootfs.join("var/lib/dpkg/status").is_file() {
        return skip(&format!("no test images at {}", images().display()));
    }
    let advisories = tracker();
    let Some(rows) = compare(&rootfs, &advisories) else {
        return;
    };
    assert!(!rows.is_empty(), "a bookworm minbase has open issues");
}

/// See the module docs: each source package moved to a fixed version the tracker names.
#[test]
fn aged_image_matches_the_oracle() {
    let rootfs = images().join("rootfs");
    if !rootfs.join("var/lib/dpkg/status").is_file() {
        return skip(&format!("no test images at {}", images().display()));
    }
    let advisories = tracker();
    // Per source package, the bookworm fixed versions the tracker gives, sorted by dpkg.
    let mut fixes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for a in &advisories {
        for e in a
            .affected
            .iter()
            .filter(|e| e.package.ecosystem == "Debian:12")
        {
            for ev in e.ranges.iter().flat_map(|r| r.events.iter()) {
                if let Event::Fixed(v) = ev {
                    fixes
                        .entry(e.package.name.clone())
                        .or_default()
                        .push(v.clone());
                }
            }
        }
    }
    for v in fixes.values_mut() {
        v.sort_by(|a, b| vigil_version::Scheme::Dpkg.compare(a, b).unwrap());
        v.dedup();
    }

    let tmp = tempfile::tempdir().unwrap();
    let dpkg = tmp.path().join("var/lib/dpkg");
    std::fs::create_dir_all(&dpkg).unwrap();
    let status = std::fs::read_to_string(rootfs.join("var/lib/dpkg/status")).unwrap();
    let aged = age_status(&status, &fixes);
    std::fs::write(dpkg.join("status"), aged).unwrap();
    let usr_lib = tmp.path().join("usr/lib");
    std::fs::create_dir_all(&usr_lib).unwrap();
    std::fs::copy(
        rootfs.join("usr/lib/os-release"),
        usr_lib.join("os-release"),
    )
    .unwrap();

    let Some(rows) = compare(tmp.path(), &advisories) else {
        return;
    };
    let fixed = rows.iter().filter(|r| r.2 == "fixed").count();
    assert!(
        fixed > 100,
        "only {fixed} fixed findings: the aged image is not aged"
    );
}

/// Rewrites each stanza of a dpkg status file so that its source package is at the middle
/// fixed version in `fixes` (`Source: name (version)`, the binary at `1:version+b1`).
fn age_status(status: &str, fixes: &BTreeMap<String, Vec<String>>) -> String {
    let mut out = String::with_capacity(status.len());
    for stanza in status.split("\n\n").filter(|s| !s.trim().is_empty()) {
        let field = |name: &str| {
            stanza
                .lines()
                .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
        };
        let package = field("Package:").expect("Package field");
        let source = field("Source:")
            .map(|s| s.split_whitespace().next().unwrap().to_owned())
            .unwrap_or_else(|| package.clone());
        let Some(version) = fixes.get(&source).map(|v| v[v.len() / 2].clone()) else {
            out.push_str(stanza);
            out.push_str("\n\n");
            continue;
        };
        for line in stanza.lines() {
            if line.starts_with("Version:") {
                // The binary gets an epoch and a binNMU suffix its source does not have
                // (as `bsdutils 1:2.38.1-5+deb12u3` from `util-linux 2.38.1-5+deb12u3`): a
                // matcher comparing binary versions would find nothing fixed here.
                out.push_str(&format!("Version: 1:{version}+b1\n"));
            } else if line.starts_with("Source:") {
                out.push_str(&format!("Source: {source} ({version})\n"));
            } else {
                out.push_str(line);
                out.push('\n');
            }
        }
        if field("Source:").is_none() {
            out.push_str(&format!("Source: {source} ({version})\n"));
        }
        out.push('\n');
    }
    out
}
