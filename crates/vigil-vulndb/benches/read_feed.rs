//! Benchmark: reading large feeds with `open_feed`, against a peer measured in the same run:
//! Python's standard `json` (and `zipfile`) parsing the same bytes, without any conversion,
//! the floor any importer written on a mainstream stack pays.
//!
//! 1. A Debian tracker JSON of about 96 MB from `scripts/make-large-tracker.py` (set
//!    `VIGIL_BENCH_TRACKER` to reuse one). Python's `json.load` holds it all in memory; the
//!    reader streams it. Peak memory of both is printed.
//! 2. An OSV zip from `scripts/make-large-osv.py` (set `VIGIL_BENCH_OSV_ZIP` to reuse one,
//!    else `VIGIL_BENCH_COUNT` records, default 20000, are made).
//!
//! Run: `cargo bench -p vigil-vulndb --bench read_feed`. Prints records, seconds, the ratio
//! vigil/python, and peak resident memory after each stage. `cargo test --all-targets` runs
//! it without `--bench`: then both inputs are small (2 tracker copies, 500 OSV records), so
//! the test run checks that the bench works without writing 100 MB to the disk.

#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;
use vigil_vulndb::{FeedFormat, open_feed};

fn python() -> &'static str {
    if std::path::Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn tracker(tmp: &std::path::Path, quick: bool) {
    let path = match std::env::var_os("VIGIL_BENCH_TRACKER") {
        Some(p) => PathBuf::from(p),
        None => {
            let out = tmp.join("tracker.json");
            let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/make-large-tracker.py");
            let ok = Command::new(python())
                .args([script, out.to_str().unwrap()])
                .args(["--copies", if quick { "2" } else { "100" }])
                .status()
                .unwrap()
                .success();
            assert!(ok, "make-large-tracker.py failed");
            out
        }
    };
    let size = std::fs::metadata(&path).unwrap().len();
    let start = Instant::now();
    let (mut records, mut affected) = (0u64, 0u64);
    for item in open_feed(&path, FeedFormat::DebianTracker) {
        let item = item.unwrap();
        records += 1;
        affected += item.advisory.affected.len() as u64;
    }
    let ours = start.elapsed().as_secs_f64();
    let peer_src = r#"
import json, resource, sys, time
t = time.perf_counter()
with open(sys.argv[1], "rb") as f:
    d = json.load(f)
n = sum(len(v) for v in d.values())
print(n, time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"#;
    let out = Command::new(python())
        .args(["-c", peer_src, path.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text.split_whitespace();
    let pairs: u64 = parts.next().unwrap().parse().unwrap();
    let peer: f64 = parts.next().unwrap().parse().unwrap();
    let peer_kb: u64 = parts.next().unwrap().parse().unwrap();
    println!(
        "debian tracker: {} MB, {pairs} (package, CVE) entries",
        size / 1_000_000
    );
    println!("  vigil open_feed: {ours:.2} s, {records} advisories, {affected} affected entries");
    println!(
        "  python json.load: {peer:.2} s, peak RSS {} MiB",
        peer_kb / 1024
    );
    println!("  ratio vigil/python: {:.2}", ours / peer);
    if let Some(kb) = peak_rss_kb() {
        println!("  vigil peak RSS so far: {} MiB", kb / 1024);
    }
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let tmp = tempfile::tempdir().unwrap();
    tracker(tmp.path(), quick);
    let zip = match std::env::var_os("VIGIL_BENCH_OSV_ZIP") {
        Some(p) => PathBuf::from(p),
        None => {
            let default = if quick { "500" } else { "20000" };
            let count = std::env::var("VIGIL_BENCH_COUNT").unwrap_or_else(|_| default.into());
            let out = tmp.path().join("large-osv.zip");
            let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/make-large-osv.py");
            let ok = Command::new(python())
                .args([script, out.to_str().unwrap(), "--count", &count])
                .status()
                .unwrap()
                .success();
            assert!(ok, "make-large-osv.py failed");
            out
        }
    };

    let start = Instant::now();
    let mut records = 0u64;
    let mut affected = 0u64;
    for item in open_feed(&zip, FeedFormat::Auto) {
        let item = item.unwrap();
        records += 1;
        affected += item.advisory.affected.len() as u64;
    }
    let ours = start.elapsed().as_secs_f64();

    let peer_src = r#"
import json, sys, time, zipfile
t = time.perf_counter()
n = 0
with zipfile.ZipFile(sys.argv[1]) as z:
    for info in z.infolist():
        if info.filename.endswith(".json"):
            json.loads(z.read(info))
            n += 1
print(n, time.perf_counter() - t)
"#;
    let out = Command::new(python())
        .args(["-c", peer_src, zip.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text.split_whitespace();
    let peer_records: u64 = parts.next().unwrap().parse().unwrap();
    let peer: f64 = parts.next().unwrap().parse().unwrap();
    assert_eq!(peer_records, records, "both read every record");

    println!("osv zip: {records} records ({affected} affected entries)");
    println!("  vigil open_feed: {ours:.2} s");
    println!("  python zipfile+json.loads: {peer:.2} s");
    println!("  ratio vigil/python: {:.2}", ours / peer);
    if let Some(kb) = peak_rss_kb() {
        println!("  vigil peak RSS so far: {} MiB", kb / 1024);
    }
}
