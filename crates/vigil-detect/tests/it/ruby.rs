//! Ruby's installed gem specifications on this machine (Debian's ruby: default gems,
//! bundled gems, rubygems-integration), each checked against what RubyGems itself
//! loads from the same file.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use crate::support::{have, packages, read};

#[test]
fn installed_gemspecs_match_rubygems() {
    if !have("ruby") {
        return;
    }
    let script =
        r##"Gem::Specification.each { |s| puts "#{s.name}\t#{s.version}\t#{s.loaded_from}" }"##;
    let out = Command::new("ruby").args(["-e", script]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut oracle = BTreeSet::new();
    let mut found = BTreeSet::new();
    let mut default_gems = 0;
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let (name, version, file) = (f[0], f[1], f[2]);
        oracle.insert((name.to_owned(), version.to_owned()));
        let image_path = file.trim_start_matches('/');
        default_gems += usize::from(image_path.contains("/specifications/default/"));
        for p in packages(image_path, &read(Path::new(file))) {
            assert_eq!(p.purl(None), format!("pkg:gem/{name}@{version}"));
            found.insert((p.name, p.version));
        }
    }
    assert_eq!(found, oracle);
    assert!(oracle.len() > 20 && default_gems > 20, "{oracle:?}");
}

#[test]
fn gemspec_snapshot() {
    let file = "/usr/share/rubygems-integration/all/specifications/rake-13.0.6.gemspec";
    if !have("ruby") {
        return;
    }
    let p = packages(file.trim_start_matches('/'), &read(Path::new(file)));
    insta::assert_snapshot!(p[0].purl(None), @"pkg:gem/rake@13.0.6");
}

/// `tests/fixtures/gemfile-lock/Gemfile.lock`, made by Bundler (`make.sh` beside it),
/// against Bundler's own lockfile parser: every gem not from a `PATH` source.
#[test]
fn gemfile_lock_matches_bundler() {
    if !have("ruby") {
        return;
    }
    let lock = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/gemfile-lock/Gemfile.lock"
    ));
    // the parser resolves PATH sources against a Gemfile, any will do
    let gemfile = tempfile::NamedTempFile::new().unwrap();
    let script = r#"Bundler::LockfileParser.new(File.read(ARGV[0])).specs.each { |s|
        puts [s.name, s.version, s.source.class].join("\t") }"#;
    let out = Command::new("ruby")
        .env("BUNDLE_GEMFILE", gemfile.path())
        .args(["-rbundler", "-e", script])
        .arg(lock)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bundler: BTreeSet<(String, String)> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .filter(|f| f[2] != "Bundler::Source::Path")
        .map(|f| (f[0].to_owned(), f[1].to_owned()))
        .collect();
    let found = packages("app/Gemfile.lock", &read(lock));
    let got: BTreeSet<(String, String)> = found
        .iter()
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect();
    assert_eq!(got, bundler);
    assert_eq!(bundler.len(), 7);
    let purls: Vec<String> = found.iter().map(|p| p.purl(None)).collect();
    insta::assert_snapshot!(purls.join("\n"));
}
