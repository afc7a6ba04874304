//! `cargo bench -p vigil-detect`: time to list the packages of each real fixture
//! database, vigil-detect against the distribution's own tool run in the same process
//! tree (rpm -qa, dpkg-query -W), printed as a ratio; then language files against
//! npm ls and go version -m. The peer's time includes starting
//! a process, as a scanner that shells out to it would pay.
// The report is this program's output.
#![allow(clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use vigil_detect::{detect, wants};

fn fixture(rel: &str) -> PathBuf {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/pkgdb"
    ))
    .join(rel)
}

/// Median of `runs` timings of `f`.
fn time(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut t: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    t.sort();
    t[runs / 2]
}

fn main() {
    let scratch = std::env::temp_dir().join(format!("vigil-detect-bench-{}", std::process::id()));
    let cases = [
        (
            "rpm/cbl-mariner-2.0/rpmdb.sqlite",
            "var/lib/rpm/rpmdb.sqlite",
        ),
        ("rpm/ubi8-minimal-8.0/Packages", "var/lib/rpm/Packages"),
        ("dpkg/ubuntu-18.04/status", "var/lib/dpkg/status"),
    ];
    println!(
        "{:<36} {:>12} {:>12} {:>11}",
        "database", "vigil", "peer", "peer/vigil"
    );
    for (rel, image_path) in cases {
        let src = fixture(rel);
        let data = std::fs::read(&src).expect("read fixture");
        let kind = wants(image_path).unwrap();
        let ours = time(21, || {
            std::hint::black_box(detect(kind, image_path, &data).unwrap());
        });
        let dir = scratch.join(rel.replace('/', "_"));
        std::fs::create_dir_all(dir.join("info")).unwrap();
        std::fs::write(dir.join(src.file_name().unwrap()), &data).unwrap();
        let mut peer = if rel.starts_with("rpm/") {
            let backend = if image_path.ends_with("Packages") {
                "bdb_ro"
            } else {
                "sqlite"
            };
            let mut c = Command::new("rpm");
            c.arg("--dbpath").arg(&dir).args([
                "--define",
                &format!("_db_backend {backend}"),
                "-qa",
            ]);
            c
        } else {
            let mut c = Command::new("dpkg-query");
            c.arg(format!("--admindir={}", dir.display())).arg("-W");
            c
        };
        if peer.output().is_err() {
            println!("{rel:<36} {ours:>12.2?} {:>12} {:>11}", "absent", "-");
            continue;
        }
        let theirs = time(21, || {
            std::hint::black_box(peer.output().unwrap());
        });
        let ratio = theirs.as_secs_f64() / ours.as_secs_f64();
        println!("{rel:<36} {ours:>12.2?} {theirs:>12.2?} {ratio:>10.1}x");
    }
    let _ = std::fs::remove_dir_all(&scratch);
    language();
}

/// Language files against the ecosystem's own listing tool: npm ls on a lockfile,
/// go version -m on a Go program (FileKind::Executable).
fn language() {
    let lock_dir = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/lockfiles/npm-v3"
    ));
    let go_program = Path::new("/usr/bin/docker-registry");
    let mut npm = Command::new("npm");
    npm.args(["ls", "--all", "--json", "--package-lock-only", "--prefix"])
        .arg(lock_dir);
    let mut go = Command::new("go");
    go.args(["version", "-m"]).arg(go_program);
    let cases = [
        (
            "npm-v3 package-lock.json / npm ls",
            lock_dir.join("package-lock.json"),
            "app/package-lock.json",
            npm,
        ),
        (
            "docker-registry / go version -m",
            go_program.to_owned(),
            "usr/bin/docker-registry",
            go,
        ),
    ];
    println!();
    for (label, file, image_path, mut peer) in cases {
        let Ok(data) = std::fs::read(&file) else {
            println!("{label:<36} {:>12}", "absent");
            continue;
        };
        let kind = wants(image_path).unwrap_or(vigil_detect::FileKind::Executable);
        let ours = time(21, || {
            std::hint::black_box(detect(kind, image_path, &data).unwrap());
        });
        if peer.output().is_err() {
            println!("{label:<36} {ours:>12.2?} {:>12} {:>11}", "absent", "-");
            continue;
        }
        let theirs = time(11, || {
            std::hint::black_box(peer.output().unwrap());
        });
        let ratio = theirs.as_secs_f64() / ours.as_secs_f64();
        println!("{label:<36} {ours:>12.2?} {theirs:>12.2?} {ratio:>10.1}x");
    }
}
