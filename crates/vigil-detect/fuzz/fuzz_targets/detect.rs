//! Any bytes, handed to any detector, give Ok or a DetectError: never a panic, a hang or
//! unbounded memory. The first input byte picks the detector.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_detect::{FileKind, detect};

const KINDS: [(FileKind, &str); 23] = [
    (FileKind::OsRelease, "etc/os-release"),
    (FileKind::AlpineRelease, "etc/alpine-release"),
    (FileKind::DebianVersion, "etc/debian_version"),
    (FileKind::RedhatRelease, "etc/redhat-release"),
    (FileKind::DpkgStatus, "var/lib/dpkg/status"),
    (FileKind::DpkgStatusD, "var/lib/dpkg/status.d/pkg"),
    (FileKind::ApkInstalled, "lib/apk/db/installed"),
    (FileKind::RpmSqlite, "var/lib/rpm/rpmdb.sqlite"),
    (FileKind::RpmBdb, "var/lib/rpm/Packages"),
    (FileKind::RpmNdb, "var/lib/rpm/Packages.db"),
    (FileKind::PythonMetadata, "site/x-1.dist-info/METADATA"),
    (FileKind::NpmLock, "app/package-lock.json"),
    (FileKind::NpmPackageJson, "app/node_modules/x/package.json"),
    (FileKind::YarnLock, "app/yarn.lock"),
    (FileKind::PnpmLock, "app/pnpm-lock.yaml"),
    (FileKind::CargoLock, "app/Cargo.lock"),
    (FileKind::Executable, "usr/bin/x"),
    (FileKind::JavaArchive, "app/x.jar"),
    (FileKind::Gemspec, "gems/specifications/x-1.gemspec"),
    (FileKind::GemfileLock, "app/Gemfile.lock"),
    (FileKind::ComposerLock, "app/composer.lock"),
    (FileKind::ComposerInstalled, "app/vendor/composer/installed.json"),
    (FileKind::DotnetDeps, "app/App.deps.json"),
];

fuzz_target!(|input: &[u8]| {
    if let Some((&pick, data)) = input.split_first() {
        let (kind, path) = KINDS[usize::from(pick) % KINDS.len()];
        if let Err(e) = detect(kind, path, data) {
            assert_eq!(e.path, path);
        }
    }
});
