//! Benchmark: match 10,000 Debian packages against the relevant subset of 200,000
//! advisories (issue 6: target under 100 ms), and print the ratio to a peer measured in the
//! same run (SPEC 10: ratios, never timed tests).
//!
//! Run: `cargo bench -p vigil-matcher --bench match`.
//!
//! Workload, generated here from real records: the `Debian:12` entries of the real
//! tracker data (`shared/fixtures/feeds/debian-tracker/bookworm.json`, read with
//! vigil-vulndb's feed reader: 1,471 entries, mostly resolved, some open) are copied onto
//! synthetic source packages `pkg-N`, 20 real entries per package, each copy under its own
//! id (`DEBIAN-CVE-…-N`, aliases suffixed likewise), so 10,000 packages face 200,000
//! advisories with real event versions, urgencies and fix states. Like the real test image,
//! 9 packages in 10 are up to date (installed at the highest fixed version among their
//! entries: only open issues remain); 1 in 10 is old (at the lowest one: most of its
//! entries are fixed above it). Descriptions are dropped: matching never reads them.
//!
//! Peer: the floor of the work itself, measured on the same data: parse each package's
//! installed version and compare it with every event version of its 20 entries with
//! `vigil_version::Scheme::compare` (no index, no sorting, no merging, no findings). The
//! printed ratio `matcher / floor` is the matcher's overhead over bare version comparison.
//! Times are medians of wall time and of the thread's CPU time (which, on a shared
//! machine, leaves out waiting for a core); ratios use CPU time where the OS reports it.

#![allow(clippy::print_stdout)] // the benchmark's report is its output

use std::hint::black_box;
use std::time::{Duration, Instant};

use vigil_detect::Distro;
use vigil_matcher::{Matcher, Package};
use vigil_version::Scheme;
use vigil_vulndb::{Advisory, Affected, VulnId};

const PACKAGES: usize = 10_000;
const PER_PACKAGE: usize = 20;
const RUNS: usize = 15;

/// The `Debian:12` entries of the real tracker data, each with its advisory's ids.
fn real_entries() -> Vec<(Advisory, Affected)> {
    let path = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/feeds/debian-tracker/bookworm.json"
    ));
    let mut out = Vec::new();
    for item in vigil_vulndb::open_feed(path, vigil_vulndb::FeedFormat::DebianTracker) {
        let adv = item.expect("bookworm.json reads").advisory;
        for aff in adv
            .affected
            .iter()
            .filter(|a| a.package.ecosystem == "Debian:12")
        {
            let mut slim = Advisory::new(adv.id.clone());
            slim.aliases = adv.aliases.clone();
            slim.upstream = adv.upstream.clone();
            slim.summary = adv.summary.clone();
            slim.severity = adv.severity.clone();
            out.push((slim, aff.clone()));
        }
    }
    out
}

struct Workload {
    advisories: Vec<Advisory>,
    packages: Vec<Package>,
    /// Per package, the indices of its advisories (for the peer).
    candidates: Vec<Vec<usize>>,
}

fn workload() -> Workload {
    let real = real_entries();
    assert!(
        real.len() >= 100,
        "expected the osv-debian fixtures, found {} entries",
        real.len()
    );
    let mut advisories = Vec::with_capacity(PACKAGES * PER_PACKAGE);
    let mut packages = Vec::with_capacity(PACKAGES);
    let mut candidates = Vec::with_capacity(PACKAGES);
    for n in 0..PACKAGES {
        let name = format!("pkg-{n}");
        let mut mine = Vec::with_capacity(PER_PACKAGE);
        for k in 0..PER_PACKAGE {
            let (adv, aff) = &real[(n * 7 + k * 13) % real.len()];
            let mut copy = adv.clone();
            copy.id = VulnId::new(format!("{}-{n}", adv.id));
            let suffix = |ids: &[VulnId]| {
                ids.iter()
                    .map(|a| VulnId::new(format!("{a}-{n}")))
                    .collect()
            };
            copy.aliases = suffix(&adv.aliases);
            copy.upstream = suffix(&adv.upstream);
            let mut entry = aff.clone();
            entry.package.name = name.clone();
            copy.affected = vec![entry];
            mine.push(advisories.len());
            advisories.push(copy);
        }
        let mut fixes: Vec<&str> = mine
            .iter()
            .flat_map(|&i: &usize| advisories[i].affected[0].ranges.iter())
            .flat_map(|r: &vigil_vulndb::Range| r.events.iter())
            .filter_map(|e| match e {
                vigil_vulndb::Event::Fixed(v) => Some(v.as_str()),
                _ => None,
            })
            .collect();
        fixes.sort_by(|a, b| Scheme::Dpkg.compare(a, b).unwrap());
        let version = if n % 10 == 9 {
            fixes.first()
        } else {
            fixes.last()
        }
        .map_or_else(|| "1.0-1".to_owned(), |v| (*v).to_owned());
        packages.push(Package {
            ecosystem: "deb".into(),
            name: format!("lib{name}"),
            version: version.clone(),
            source_name: Some(name),
            source_version: Some(version),
            path: "var/lib/dpkg/status".into(),
            ..Package::default()
        });
        candidates.push(mine);
    }
    Workload {
        advisories,
        packages,
        candidates,
    }
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

/// CPU time of this thread so far (Linux `schedstat`, nanoseconds): on a shared machine
/// wall time includes waiting for a core, CPU time does not. `None` elsewhere.
fn cpu_now() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Median wall time and median CPU time of `RUNS` runs, after one warm-up run.
fn time<T>(mut f: impl FnMut() -> T) -> (Duration, Option<Duration>) {
    let _warm = black_box(f());
    let mut wall = Vec::with_capacity(RUNS);
    let mut cpu = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let (t, c) = (Instant::now(), cpu_now());
        black_box(f());
        wall.push(t.elapsed());
        if let (Some(c0), Some(c1)) = (c, cpu_now()) {
            cpu.push(c1.saturating_sub(c0));
        }
    }
    let cpu = (cpu.len() == RUNS).then(|| median(cpu));
    (median(wall), cpu)
}

fn main() {
    // `cargo test --benches` runs this with `--bench` absent: keep that run short.
    let quick = !std::env::args().any(|a| a == "--bench");
    let w = workload();
    let distro = Distro {
        id: "debian".into(),
        version_id: Some("12".into()),
        codename: Some("bookworm".into()),
        pretty_name: None,
    };
    if quick {
        let m = Matcher::new(&w.advisories).match_packages(Some(&distro), &w.packages);
        assert!(!m.findings.is_empty() && m.errors.is_empty());
        return;
    }

    let peer = time(|| {
        let mut affected_cmp = 0usize;
        for (p, cands) in w.packages.iter().zip(&w.candidates) {
            let installed = p.source_version.as_deref().unwrap();
            for &i in cands {
                for r in &w.advisories[i].affected[0].ranges {
                    for e in &r.events {
                        if e.version() != "0"
                            && Scheme::Dpkg
                                .compare(installed, e.version())
                                .unwrap()
                                .is_lt()
                        {
                            affected_cmp += 1;
                        }
                    }
                }
            }
        }
        affected_cmp
    });
    let index = time(|| Matcher::new(&w.advisories).indexed_entries());
    let matcher = Matcher::new(&w.advisories);
    let matching = time(|| matcher.match_packages(Some(&distro), &w.packages));
    let total = time(|| Matcher::new(&w.advisories).match_packages(Some(&distro), &w.packages));
    let result = matcher.match_packages(Some(&distro), &w.packages);

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let cpu = |c: Option<Duration>| c.map_or("n/a".to_owned(), |c| format!("{:.2} ms", ms(c)));
    println!(
        "workload: {} packages x {} advisories ({} findings, {} match errors), median of {RUNS} runs",
        w.packages.len(),
        w.advisories.len(),
        result.findings.len(),
        result.errors.len()
    );
    println!("                                    wall         cpu");
    println!(
        "peer  bare dpkg comparisons:   {:8.2} ms   {}",
        ms(peer.0),
        cpu(peer.1)
    );
    println!(
        "index Matcher::new:            {:8.2} ms   {}",
        ms(index.0),
        cpu(index.1)
    );
    println!(
        "match match_packages:          {:8.2} ms   {}",
        ms(matching.0),
        cpu(matching.1)
    );
    println!(
        "total index + match:           {:8.2} ms   {}   (target < 100 ms)",
        ms(total.0),
        cpu(total.1)
    );
    let ratio = |a: (Duration, Option<Duration>), b: (Duration, Option<Duration>)| match (a.1, b.1)
    {
        (Some(x), Some(y)) => ms(x) / ms(y),
        _ => ms(a.0) / ms(b.0),
    };
    println!(
        "ratio match / peer:            {:8.2}x",
        ratio(matching, peer)
    );
    println!("ratio total / peer:            {:8.2}x", ratio(total, peer));
}
