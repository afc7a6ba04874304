//! `vigil db ...` and `vigil config show` (issue 5): every feed kind in shared fixtures,
//! spot checks read from the files themselves, snapshots of what a person reads,
//! atomicity under kill -9, and the same story on PostgreSQL when
//! `VIGIL_TEST_DATABASE_URL` is set (required under `CI=true`).

#![allow(clippy::print_stderr)] // tests say why they skip

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use crate::common::drop_test_database;
use serde_json::Value;

fn feeds() -> PathBuf {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/feeds"
    ))
    .to_owned()
}

/// A vigil run isolated from the user's configuration: HOME and the XDG directories point
/// into `home`, no `VIGIL_*` variable leaks in.
struct Env {
    home: tempfile::TempDir,
    database_url: Option<String>,
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(url) = &self.database_url {
            drop_test_database(url);
        }
    }
}

impl Env {
    fn sqlite() -> Self {
        Self {
            home: tempfile::tempdir().unwrap(),
            database_url: None,
        }
    }

    /// A fresh database on the PostgreSQL test server, or `None` (skip) without one.
    fn postgres(test: &str) -> Option<Self> {
        let Ok(url) = std::env::var("VIGIL_TEST_DATABASE_URL") else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "VIGIL_TEST_DATABASE_URL is not set (start one with scripts/pg-test-server.sh)"
            );
            eprintln!("skipping the PostgreSQL run of {test}: VIGIL_TEST_DATABASE_URL is not set");
            return None;
        };
        let name = format!(
            "vigil_cli_{test}_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        );
        let status = Command::new("psql")
            .args([url.as_str(), "-q", "-c", &format!("CREATE DATABASE {name}")])
            .status()
            .expect("psql (Debian postgresql-client) runs");
        assert!(status.success());
        let (base, _) = url.rsplit_once('/').unwrap();
        Some(Self {
            home: tempfile::tempdir().unwrap(),
            database_url: Some(format!("{base}/{name}")),
        })
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_vigil"));
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("VIGIL_") {
                c.env_remove(k);
            }
        }
        let h = self.home.path();
        c.env("HOME", h)
            .env("XDG_CONFIG_HOME", h.join("config"))
            .env("XDG_DATA_HOME", h.join("data"))
            .env("XDG_CACHE_HOME", h.join("cache"))
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        if let Some(url) = &self.database_url {
            c.env("VIGIL_DATABASE_URL", url);
        }
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }

    /// Runs and expects exit 0; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "vigil {args:?} failed: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(args)).unwrap()
    }
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Every feed directory in shared fixtures, each kind: OSV JSON (GHSA, Go, RustSec, osv.dev
/// Debian), OSV YAML (PyPA), the Debian tracker JSON and Alpine secdb YAML.
fn all_feeds() -> Vec<PathBuf> {
    let f = feeds();
    vec![
        f.join("github-advisory-database"),
        f.join("pypa-advisory-database"),
        f.join("golang-vulndb"),
        f.join("rustsec/osv"),
        f.join("osv-debian"),
        f.join("debian-tracker/bookworm.json"),
        f.join("alpine-secdb-legacy-yaml"),
    ]
}

fn import_all(env: &Env) -> String {
    let paths = all_feeds();
    let mut args = vec!["db", "import"];
    args.extend(paths.iter().map(|x| p(x)));
    env.ok(&args)
}

fn count_files(dir: &Path, exts: &[&str]) -> u64 {
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.is_dir() {
            n += count_files(&path, exts);
        } else if exts
            .iter()
            .any(|x| path.extension().is_some_and(|e| e == *x))
        {
            n += 1;
        }
    }
    n
}

fn source<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no source {name} in {status:#}"))
}

/// The story, on one backend.
fn import_story(env: &Env) {
    let out = import_all(env);
    assert!(out.contains("imported bookworm: "), "{out}");

    let status = env.json(&["db", "status", "--format", "json"]);
    // One OSV record per file in the OSV directories.
    for (name, dir, exts) in [
        (
            "github-advisory-database",
            "github-advisory-database",
            &["json"][..],
        ),
        (
            "pypa-advisory-database",
            "pypa-advisory-database",
            &["yaml"][..],
        ),
        ("golang-vulndb", "golang-vulndb", &["json"][..]),
        ("osv-debian", "osv-debian", &["json"][..]),
    ] {
        let s = source(&status, name);
        assert_eq!(
            s["records"],
            count_files(&feeds().join(dir), exts),
            "{name}"
        );
        assert_eq!(s["format"], "osv", "{name}");
    }
    assert_eq!(source(&status, "bookworm")["format"], "debian-tracker");
    assert_eq!(
        source(&status, "alpine-secdb-legacy-yaml")["format"],
        "alpine-secdb"
    );
    assert_eq!(status["stale"], false);

    // The Debian tracker: one advisory per CVE, with the bookworm fixed version of the file.
    let tracker: Value = serde_json::from_slice(
        &std::fs::read(feeds().join("debian-tracker/bookworm.json")).unwrap(),
    )
    .unwrap();
    let cves: std::collections::BTreeSet<&str> = tracker
        .as_object()
        .unwrap()
        .values()
        .flat_map(|cves| cves.as_object().unwrap().keys().map(String::as_str))
        .collect();
    assert_eq!(source(&status, "bookworm")["records"], cves.len() as u64);
    let fixed = tracker["openssl"]["CVE-2023-5678"]["releases"]["bookworm"]["fixed_version"]
        .as_str()
        .unwrap();
    let shown = env.json(&["db", "show", "CVE-2023-5678", "--format", "json"]);
    let from_tracker = shown
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == "bookworm")
        .expect("the tracker's record");
    let affected = from_tracker["advisory"]["affected"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["package"]["ecosystem"] == "Debian:12" && a["package"]["name"] == "openssl")
        .expect("Debian:12 openssl");
    assert!(
        affected.to_string().contains(&format!("\"{fixed}\"")),
        "fixed version {fixed} not in {affected}"
    );

    // Alpine secdb: the first package and fix of the file, read line by line.
    let yaml = std::fs::read_to_string(feeds().join("alpine-secdb-legacy-yaml/v3.11/main.yaml"))
        .unwrap_or_else(|_| {
            let dir = feeds().join("alpine-secdb-legacy-yaml");
            let first = walk(&dir)
                .into_iter()
                .find(|f| f.ends_with("main.yaml"))
                .unwrap();
            std::fs::read_to_string(first).unwrap()
        });
    let mut lines = yaml
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("name:"));
    let pkg = lines
        .next()
        .unwrap()
        .split("name:")
        .nth(1)
        .unwrap()
        .trim()
        .to_owned();
    let ver = lines
        .find(|l| l.trim_end().ends_with(':') && !l.contains("secfixes"))
        .unwrap()
        .trim()
        .trim_end_matches(':')
        .trim_matches('"')
        .to_owned();
    let cve = lines
        .next()
        .unwrap()
        .trim()
        .trim_start_matches("- ")
        .to_owned();
    let shown = env.json(&["db", "show", &cve, "--format", "json"]);
    let alpine = shown
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == "alpine-secdb-legacy-yaml")
        .unwrap();
    let aff = alpine["advisory"]["affected"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| {
            a["package"]["ecosystem"] == "Alpine:v3.11" && a["package"]["name"] == pkg.as_str()
        })
        .unwrap_or_else(|| panic!("{pkg} in {alpine}"));
    assert!(
        aff.to_string().contains(&format!("\"{ver}\"")),
        "{ver} in {aff}"
    );

    // By alias: the CVE of a GHSA record finds the GHSA and the PYSEC record.
    let shown = env.json(&["db", "show", "CVE-2023-32681", "--format", "json"]);
    let ids: Vec<&str> = shown
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["advisory"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["GHSA-j8r2-6x86-q33q", "PYSEC-2023-74"]);

    // Re-importing the same data changes nothing.
    let again = import_all(env);
    assert_eq!(
        again.matches("unchanged ").count(),
        all_feeds().len(),
        "{again}"
    );
    assert_eq!(
        again.matches("not read again").count(),
        all_feeds().len(),
        "{again}"
    );
    let status2 = env.json(&["db", "status", "--format", "json"]);
    for (a, b) in status["sources"]
        .as_array()
        .unwrap()
        .iter()
        .zip(status2["sources"].as_array().unwrap())
    {
        assert_eq!(a["digest"], b["digest"]);
        assert_eq!(a["imported_at"], b["imported_at"]);
        assert_eq!(a["records"], b["records"]);
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

#[test]
fn import_every_feed_kind_sqlite() {
    import_story(&Env::sqlite());
}

#[test]
fn import_every_feed_kind_postgres() {
    if let Some(env) = Env::postgres("story") {
        import_story(&env);
    }
}

/// `2026-11-25T12:49:02Z` -> `[TIME]`; an age such as `2m 3s` after it -> `[AGE]`.
fn times_and_ages(s: &str) -> String {
    let mut out = String::new();
    for line in s.lines() {
        let mut words: Vec<String> = Vec::new();
        let mut after_time = false;
        for w in line.split_inclusive(' ') {
            let bare = w.trim();
            if bare.len() == 20 && bare.ends_with('Z') && bare.as_bytes()[10] == b'T' {
                words.push(w.replace(bare, "[TIME]"));
                after_time = true;
            } else if after_time
                && !bare.is_empty()
                && bare.starts_with(|c: char| c.is_ascii_digit())
                && !bare.starts_with("sha256")
            {
                words.push(w.replace(bare, "[AGE]"));
            } else {
                if !bare.is_empty() {
                    after_time = false;
                }
                words.push(w.to_owned());
            }
        }
        out.push_str(&words.concat());
        out.push('\n');
    }
    out
}

/// Replace temp paths, times and ages so snapshots are stable.
fn filtered(env: &Env, text: &str) -> String {
    let mut t = text.replace(p(env.home.path()), "[HOME]");
    t = t.replace(p(&feeds()), "[FEEDS]");
    t = times_and_ages(&t);
    // Digests follow vigil-vulndb's serialisation of the model; tests above check them.
    let mut out = String::new();
    for w in t.split_inclusive(' ') {
        match w.trim().strip_prefix("sha256:") {
            Some(h) if h.len() >= 12 => out.push_str(&w.replace(h, "[DIGEST]")),
            _ => out.push_str(w),
        }
    }
    t = out;
    // The AGE column's width varies with the age.
    while t.contains("[AGE]  ") {
        t = t.replace("[AGE]  ", "[AGE] ");
    }
    t
}

#[test]
fn status_and_show_snapshots() {
    let env = Env::sqlite();
    let f = feeds();
    env.ok(&[
        "db",
        "import",
        p(&f.join("github-advisory-database")),
        p(&f.join("pypa-advisory-database")),
    ]);
    let status = env.ok(&["db", "status"]);
    // Ages: the imports just happened; the AGE column is a few seconds at most.
    insta::assert_snapshot!("db_status", filtered(&env, &status));
    insta::assert_snapshot!("db_show_alias", env.ok(&["db", "show", "CVE-2023-32681"]));
    let missing = env.run(&["db", "show", "CVE-1999-0000000"]);
    assert_eq!(missing.status.code(), Some(2));
    insta::assert_snapshot!("db_show_missing", String::from_utf8_lossy(&missing.stderr));
}

#[test]
fn empty_database_status_says_so() {
    let env = Env::sqlite();
    let out = env.run(&["db", "status", "--format", "json"]);
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["sources"], serde_json::json!([]));
    assert_eq!(v["stale"], true);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the vulnerability database is empty"), "{err}");
}

/// Copies a feed directory (a fixture must not be edited in place).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

#[test]
fn newer_copy_of_a_record_replaces_it_and_bad_records_are_rejected() {
    let env = Env::sqlite();
    let feed = env.home.path().join("feed");
    copy_dir(&feeds().join("github-advisory-database"), &feed);
    let out = env.ok(&["db", "import", "--source", "ghsa", p(&feed)]);
    assert!(out.starts_with("imported ghsa: 20 advisories"), "{out}");
    // The feed's fingerprint, taken beside the first import, is stored for the next one.
    let status = env.json(&["db", "status", "--format", "json"]);
    let fingerprint = status["sources"][0]["feed_digest"].as_str().unwrap();
    assert!(fingerprint.starts_with("sha256:"), "{status}");

    // A newer copy of one record.
    let file = walk(&feed)
        .into_iter()
        .find(|f| f.to_string_lossy().contains("GHSA-j8r2-6x86-q33q"))
        .unwrap();
    let mut rec: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    rec["modified"] = "2099-01-01T00:00:00Z".into();
    rec["summary"] = "a newer copy".into();
    std::fs::write(&file, serde_json::to_vec_pretty(&rec).unwrap()).unwrap();
    let out = env.ok(&["db", "import", "--source", "ghsa", p(&feed)]);
    assert!(out.starts_with("imported ghsa: 20 advisories"), "{out}");
    let shown = env.json(&["db", "show", "GHSA-j8r2-6x86-q33q", "--format", "json"]);
    assert_eq!(shown[0]["advisory"]["summary"], "a newer copy");
    let before = env.json(&["db", "status", "--format", "json"]);

    // A malformed record: the feed is rejected, naming the file and the record.
    let bad = feed.join("bad.json");
    std::fs::write(&bad, br#"{"id": "GHSA-bad0-bad0-bad0", "modified": "2024-01-01T00:00:00Z", "affected": "not a list"}"#).unwrap();
    let out = env.run(&["db", "import", "--source", "ghsa", p(&feed)]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.json") && err.contains("GHSA-bad0-bad0-bad0"),
        "{err}"
    );
    assert!(err.contains("rejected; source ghsa is unchanged"), "{err}");
    assert!(err.contains("--skip-invalid"), "{err}");
    assert_eq!(
        settled(&env.json(&["db", "status", "--format", "json"])),
        settled(&before)
    );

    // With --skip-invalid it is skipped and counted.
    let skip = [
        "db",
        "import",
        "--skip-invalid",
        "--source",
        "ghsa",
        p(&feed),
    ];
    let out = env.ok(&skip);
    assert!(
        out.starts_with("unchanged ghsa: 20 advisories") && out.contains("1 invalid skipped"),
        "{out}"
    );
    // The same bytes read the same way again: recognised by the feed's fingerprint, not
    // read. Read without --skip-invalid, the same bytes are read (and rejected) again.
    let out = env.ok(&skip);
    assert!(
        out.starts_with(&format!(
            "unchanged ghsa: 20 advisories from {} (the same feed bytes as the last import, \
             not read again)",
            feed.display()
        )),
        "{out}"
    );
    let out = env.run(&["db", "import", "--source", "ghsa", p(&feed)]);
    assert_eq!(out.status.code(), Some(2));
    // One byte of one record changed: read again, and the change is imported.
    rec["summary"] = "a newer copy!".into();
    std::fs::write(&file, serde_json::to_vec_pretty(&rec).unwrap()).unwrap();
    let out = env.ok(&skip);
    assert!(out.starts_with("imported ghsa: 20 advisories"), "{out}");
    let shown = env.json(&["db", "show", "GHSA-j8r2-6x86-q33q", "--format", "json"]);
    assert_eq!(shown[0]["advisory"]["summary"], "a newer copy!");

    let before = env.json(&["db", "status", "--format", "json"]);

    // A path with no feed in it never wipes a source.
    let empty = env.home.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = env.run(&["db", "import", "--source", "ghsa", p(&empty)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no advisories found"));
    assert_eq!(
        settled(&env.json(&["db", "status", "--format", "json"])),
        settled(&before)
    );
}

/// A status without the fields that move with the clock.
fn settled(status: &Value) -> Value {
    let mut v = status["sources"].clone();
    for s in v.as_array_mut().unwrap() {
        let o = s.as_object_mut().unwrap();
        o.remove("age_seconds");
        o.remove("checked_at");
    }
    v
}

/// Writes `n` OSV records as one JSON array; `tag` changes every record's content.
fn generated_feed(path: &Path, n: usize, tag: &str) {
    let mut records = Vec::with_capacity(n);
    for i in 0..n {
        records.push(serde_json::json!({
            "id": format!("GEN-{i:06}"),
            "modified": format!("2024-01-01T00:00:00Z"),
            "aliases": [format!("CVE-2099-{i:06}")],
            "summary": format!("generated record {i} ({tag})"),
            "affected": [{
                "package": {"ecosystem": "PyPI", "name": format!("gen-package-{}", i % 5000)},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": format!("{}.0", i % 7 + 1)}]}]
            }]
        }));
    }
    std::fs::write(path, serde_json::to_vec(&records).unwrap()).unwrap();
}

/// SPEC 4.3 / 11.2: kill -9 at random moments of an import; the previous database stays
/// complete and usable every time.
fn kill_story(env: &Env, rounds: usize) {
    let dir = env.home.path().join("gen");
    std::fs::create_dir_all(&dir).unwrap();
    let old = dir.join("old.json");
    let new = dir.join("new.json");
    generated_feed(&old, 3_000, "old");
    generated_feed(&new, 12_000, "new");
    env.ok(&["db", "import", "--source", "gen", p(&old)]);
    let old_status = env.json(&["db", "status", "--format", "json"]);
    let old_digest = source(&old_status, "gen")["digest"].clone();

    // How long a full import of the new feed takes, to spread the kills over it.
    let probe = env.home.path().join("probe");
    let t = Instant::now();
    {
        let mut c = env.cmd();
        if env.database_url.is_none() {
            c.env("VIGIL_DATA_DIR", &probe);
        }
        let out = c
            .args(["db", "import", "--source", "probe", p(&new)])
            .output()
            .unwrap();
        assert!(out.status.success());
    }
    let full = t.elapsed();

    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("kill -9 seed {seed}, full import {full:?}");
    let mut completed = 0;
    for round in 0..rounds {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let at = full.mul_f64((seed % 1000) as f64 / 1000.0);
        let mut child = env
            .cmd()
            .args(["db", "import", "--source", "gen", p(&new)])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(at);
        // SIGKILL: no destructor, no rollback runs in the process.
        let _ = child.kill();
        let status = child.wait().unwrap();
        let now = env.json(&["db", "status", "--format", "json"]);
        let current = source(&now, "gen");
        let digest = current["digest"].clone();
        if status.success() {
            completed += 1;
        }
        if digest == old_digest {
            assert_eq!(current["records"], 3_000, "round {round}");
            let shown = env.json(&["db", "show", "GEN-002999", "--format", "json"]);
            assert!(
                shown[0]["advisory"]["summary"]
                    .as_str()
                    .unwrap()
                    .ends_with("(old)")
            );
            let newer = env.run(&["db", "show", "GEN-003000", "--format", "json"]);
            if newer.status.success() {
                // Only the probe's copy (PostgreSQL shares one database with it).
                let v: Value = serde_json::from_slice(&newer.stdout).unwrap();
                assert!(
                    v.as_array().unwrap().iter().all(|s| s["source"] == "probe"),
                    "round {round}"
                );
            }
        } else {
            // The import committed before the kill: the whole new feed is there.
            assert_eq!(current["records"], 12_000, "round {round}");
            let shown = env.json(&["db", "show", "CVE-2099-011999", "--format", "json"]);
            assert!(
                shown[0]["advisory"]["summary"]
                    .as_str()
                    .unwrap()
                    .ends_with("(new)")
            );
            // Start the next round from the old state again.
            env.ok(&["db", "import", "--source", "gen", p(&old)]);
        }
    }
    eprintln!("{completed} of {rounds} imports completed before the kill");
}

#[test]
fn kill_9_during_import_keeps_the_previous_database_sqlite() {
    kill_story(&Env::sqlite(), 24);
}

#[test]
fn kill_9_during_import_keeps_the_previous_database_postgres() {
    if let Some(env) = Env::postgres("kill") {
        kill_story(&env, 8);
    }
}

#[test]
fn config_show_masks_secrets() {
    let env = Env::sqlite();
    let cfg = env.home.path().join("vigil.toml");
    std::fs::write(
        &cfg,
        r#"
data_dir = "data"
token = "file-token"

[db]
max_age = "36h"

[[db.sources]]
name = "bookworm"
url = "http://127.0.0.1:1/bookworm.json"
format = "debian-tracker"
"#,
    )
    .unwrap();
    let out = env
        .cmd()
        .args(["config", "show"])
        .env("VIGIL_CONFIG", &cfg)
        .env(
            "VIGIL_DATABASE_URL",
            "postgres://vigil:hunter2@db.invalid:5432/vigil",
        )
        .env("VIGIL_TOKEN", "env-token")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains("hunter2") && !text.contains("token\"") && !text.contains("env-token"));
    insta::assert_snapshot!("config_show", filtered(&env, &text));

    // A flag beats the variable.
    let out = env
        .cmd()
        .args(["--data-dir", "/flag/data", "config", "show"])
        .env("VIGIL_DATA_DIR", "/env/data")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("data_dir = \"/flag/data\"") && text.contains("/flag/data/vigil.db"),
        "{text}"
    );

    // A broken file is named, with the problem.
    std::fs::write(&cfg, "[db]\nmax_age = 7\nbogus = 1\n").unwrap();
    let out = env
        .cmd()
        .args(["config", "show"])
        .env("VIGIL_CONFIG", &cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("invalid configuration file") && err.contains("vigil.toml"),
        "{err}"
    );
}

/// `db update` downloads from a real HTTP server on 127.0.0.1 (STYLE.md: no mocked HTTP).
#[test]
fn update_downloads_and_imports_configured_sources() {
    let env = Env::sqlite();
    let mut server = Command::new("/usr/bin/python3")
        .args([
            "-u",
            "-m",
            "http.server",
            "0",
            "--bind",
            "127.0.0.1",
            "--directory",
            p(&feeds()),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 http.server");
    let port = {
        use std::io::BufRead;
        let mut line = String::new();
        std::io::BufReader::new(server.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        // "Serving HTTP on 127.0.0.1 port 43210 (http://127.0.0.1:43210/) ..."
        line.split("port ")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .to_owned()
    };
    let cfg = env.home.path().join("vigil.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"
[[db.sources]]
name = "debian-tracker"
url = "http://127.0.0.1:{port}/debian-tracker/bookworm.json"
format = "debian-tracker"

[[db.sources]]
name = "alpine-v3.11-main"
url = "http://127.0.0.1:{port}/alpine-secdb-legacy-yaml/v3.11/main.yaml"
"#
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        env.cmd()
            .args(args)
            .env("VIGIL_CONFIG", &cfg)
            .output()
            .unwrap()
    };
    let first = run(&["db", "update"]);
    let second = run(&["db", "update"]);
    let _ = server.kill();
    let _ = server.wait();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let out = String::from_utf8_lossy(&first.stdout);
    assert!(
        out.contains("imported debian-tracker: ") && out.contains("imported alpine-v3.11-main: "),
        "{out}"
    );
    let out = String::from_utf8_lossy(&second.stdout);
    assert!(
        out.contains("unchanged debian-tracker: ") && out.contains("unchanged alpine-v3.11-main: "),
        "{out}"
    );
    let status = env.json(&["db", "status", "--format", "json"]);
    assert_eq!(
        source(&status, "alpine-v3.11-main")["format"],
        "alpine-secdb"
    );
    assert!(
        source(&status, "debian-tracker")["location"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
}

#[test]
fn update_failure_keeps_previous_records() {
    let env = Env::sqlite();
    let cfg = env.home.path().join("vigil.toml");
    std::fs::write(
        &cfg,
        "[[db.sources]]\nname = \"nowhere\"\nurl = \"http://127.0.0.1:1/feed.json\"\n",
    )
    .unwrap();
    let out = env
        .cmd()
        .args(["db", "update"])
        .env("VIGIL_CONFIG", &cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("1 of the sources failed to update (nowhere)"),
        "{err}"
    );
}
