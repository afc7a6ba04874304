//! vigil-detect: distribution, OS package and language package detectors (SPEC 3.1 to
//! 3.4).
//!
//! This crate is pure: it opens no files and reads no clock. The layer walker asks
//! [`wants`] about every path it meets, hands the bytes of the wanted files to [`detect`],
//! and the glue combines what one image says about its distribution with
//! [`resolve_distro`]. Packages carry a purl built by [`Package::purl`].
//!
//! Language packages (SPEC 3.3) are found by file name too (lockfiles, Python metadata,
//! installed npm manifests, gemspecs, jars), except binaries: Go build info and
//! cargo-auditable data can be in any executable, so the walker also asks
//! [`wants_executable`] with the entry's mode and size and sends those files as
//! [`FileKind::Executable`]. Packages found inside a nested Java archive carry the path
//! `outer.war!/WEB-INF/lib/inner.jar`.
//!
//! A language package whose metadata file an installed OS package lists (Debian's
//! `python3-urllib3` ships `urllib3-1.26.12.egg-info/PKG-INFO`) is reported once, as the
//! OS package: [`lists_files`] names the package databases that list files (dpkg's
//! `info/*.list`, apk's `installed`) and [`owned_files`] reads from them the language
//! metadata files they own, for the caller to drop those language packages (issue 7; see
//! the `owned` module for why, and why executables are exempt).
//!
//! ```
//! use vigil_detect::{detect, wants, Detection};
//!
//! let path = "lib/apk/db/installed";
//! let kind = wants(path).unwrap();
//! let data = b"P:musl\nV:1.2.4-r0\nA:x86_64\no:musl\n\n";
//! let Detection::Packages(pkgs) = detect(kind, path, data).unwrap() else { unreachable!() };
//! assert_eq!(pkgs[0].purl(None), "pkg:apk/alpine/musl@1.2.4-r0?arch=x86_64");
//! ```
//!
//! Why push and not pull: the walker streams each layer once and must not keep a whole
//! image; by naming the files up front ([`wants`]) the detectors never seek in a tar
//! (STYLE.md, "Detectors never pull from a tar").
//!
//! Every parser bounds its work by the size of its input: lengths, counts and page
//! numbers read from a file are checked against the file before they are used, and chains
//! of pages are walked at most once per page, so corrupt or hostile data gives a
//! [`DetectError`] naming the path and the problem, never a panic or a hang.

mod apk;
mod binary;
mod distro;
mod dotnet;
mod dpkg;
mod java;
mod npm;
mod owned;
mod php;
mod purl;
mod python;
mod rpm;
mod ruby;
mod rust;
mod yarn;

use serde::{Deserialize, Serialize};

pub use distro::{Distro, DistroFacts, resolve_distro};
pub use owned::{dpkg_list_owner, lists_files, owned_files};
pub use purl::pep503;

/// The largest file [`detect`] accepts, in bytes. rpm databases are the big ones (a
/// Fedora workstation's `rpmdb.sqlite` is about 100 MiB); anything larger is refused
/// rather than held in memory.
pub const MAX_FILE_SIZE: u64 = 256 * 1024 * 1024;

/// Which parser a wanted file goes to.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum FileKind {
    /// `etc/os-release`, `usr/lib/os-release`
    OsRelease,
    /// `etc/alpine-release`
    AlpineRelease,
    /// `etc/debian_version`
    DebianVersion,
    /// `etc/redhat-release`
    RedhatRelease,
    /// `var/lib/dpkg/status`
    DpkgStatus,
    /// `var/lib/dpkg/status.d/NAME` (distroless): one file per package, no `Status:`
    DpkgStatusD,
    /// `lib/apk/db/installed`
    ApkInstalled,
    /// `rpmdb.sqlite` (rpm >= 4.16)
    RpmSqlite,
    /// Berkeley DB hash `Packages` (rpm < 4.16)
    RpmBdb,
    /// ndb `Packages.db` (SUSE)
    RpmNdb,
    /// `*.dist-info/METADATA`, `*.egg-info/PKG-INFO`, `*.egg-info` (a file)
    PythonMetadata,
    /// `package-lock.json` (npm lockfile v1, v2, v3)
    NpmLock,
    /// `node_modules/NAME/package.json`, `node_modules/@SCOPE/NAME/package.json`
    NpmPackageJson,
    /// `yarn.lock` (yarn v1 and berry)
    YarnLock,
    /// `pnpm-lock.yaml`
    PnpmLock,
    /// `Cargo.lock` (v1 to v4)
    CargoLock,
    /// An executable file that may carry Go build info or cargo-auditable data; found by
    /// [`wants_executable`], not by name.
    Executable,
    /// `*.jar`, `*.war`, `*.ear`
    JavaArchive,
    /// `specifications/*.gemspec`, `specifications/default/*.gemspec` (Ruby's default gems)
    Gemspec,
    /// `Gemfile.lock`
    GemfileLock,
    /// `composer.lock`
    ComposerLock,
    /// `vendor/composer/installed.json`
    ComposerInstalled,
    /// `*.deps.json`
    DotnetDeps,
}

/// The ecosystem of a package, named as its purl type: `deb`, `apk`, `rpm` for OS
/// packages, `pypi`, `npm`, `cargo`, `golang`, `maven`, `gem`, `composer`, `nuget` for
/// language packages.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum PkgType {
    Deb,
    Apk,
    Rpm,
    Pypi,
    Npm,
    Cargo,
    Golang,
    Maven,
    Gem,
    Composer,
    Nuget,
}

impl PkgType {
    /// The stable kebab-case name, as in JSON and purls.
    pub fn as_str(self) -> &'static str {
        match self {
            PkgType::Deb => "deb",
            PkgType::Apk => "apk",
            PkgType::Rpm => "rpm",
            PkgType::Pypi => "pypi",
            PkgType::Npm => "npm",
            PkgType::Cargo => "cargo",
            PkgType::Golang => "golang",
            PkgType::Maven => "maven",
            PkgType::Gem => "gem",
            PkgType::Composer => "composer",
            PkgType::Nuget => "nuget",
        }
    }

    /// Whether this is a language ecosystem (no distribution namespace, no source package).
    pub fn is_language(self) -> bool {
        !matches!(self, PkgType::Deb | PkgType::Apk | PkgType::Rpm)
    }
}

/// One installed OS package.
///
/// `version` is the version exactly as the ecosystem writes it: dpkg's `Version:` (with
/// its epoch), apk's `V:`, rpm's `[epoch:]version-release` (`%{EVR}`). `epoch` repeats
/// the epoch when the database names one. `source_name` is the package the binary was
/// built from: dpkg `Source:` (else the binary name), apk origin `o:` (else the name),
/// rpm SOURCERPM without `-version-release.src.rpm` (none when the header has no
/// SOURCERPM); `source_version` likewise (dpkg `Source: name (ver)` else the binary
/// version; rpm the version-release in SOURCERPM; apk none). `path` is the database file
/// the package was read from.
///
/// Language packages have no epoch, arch or source package. Their `name` is the one the
/// ecosystem's advisories use: npm `@scope/name`, Maven `groupId:artifactId`, Composer
/// `vendor/name`, Go the module path (the toolchain is the module `stdlib`, its version
/// spelt `v1.21.5` as in the Go vulnerability database), PyPI the name as written in
/// the metadata (normalised only in the purl). `dev` marks packages a lockfile lists as
/// needed only for development (npm, yarn berry and pnpm `dev`, Composer
/// `packages-dev`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Package {
    pub ecosystem: PkgType,
    pub name: String,
    pub version: String,
    pub epoch: Option<u32>,
    pub arch: Option<String>,
    pub source_name: Option<String>,
    pub source_version: Option<String>,
    pub path: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dev: bool,
}

impl Package {
    /// A language package found in the file at `path`.
    pub(crate) fn language(
        ecosystem: PkgType,
        name: impl Into<String>,
        version: impl Into<String>,
        path: &str,
    ) -> Self {
        Package {
            ecosystem,
            name: name.into(),
            version: version.into(),
            epoch: None,
            arch: None,
            source_name: None,
            source_version: None,
            path: path.to_owned(),
            dev: false,
        }
    }
}

/// What one wanted file says.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Detection {
    Distro(DistroFacts),
    Packages(Vec<Package>),
}

/// A file that could not be read, with the path it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct DetectError {
    /// The path as passed to [`detect`].
    pub path: String,
    /// What is wrong with it.
    pub problem: Problem,
}

/// What is wrong with a file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    #[error("file is {size} bytes, more than the limit of {limit} bytes")]
    TooLarge { size: u64, limit: u64 },
    #[error("line {line}: {message}")]
    Syntax { line: usize, message: String },
    #[error("{0}")]
    Corrupt(String),
}

impl Problem {
    pub(crate) fn corrupt(message: impl Into<String>) -> Self {
        Problem::Corrupt(message.into())
    }
    pub(crate) fn syntax(line: usize, message: impl Into<String>) -> Self {
        Problem::Syntax {
            line,
            message: message.into(),
        }
    }
}

/// Paths of the rpm database directories (rpm < 4.16 and rpm >= 4.16 / SUSE usrmerge).
const RPM_DIRS: [&str; 2] = ["var/lib/rpm/", "usr/lib/sysimage/rpm/"];

/// Files in `var/lib/dpkg/status.d/` that are not control stanzas (distroless images
/// keep the package's md5sums and maintainer scripts beside it).
const DPKG_STATUS_D_COMPANIONS: [&str; 12] = [
    ".md5sums",
    ".conffiles",
    ".list",
    ".preinst",
    ".postinst",
    ".prerm",
    ".postrm",
    ".config",
    ".templates",
    ".triggers",
    ".shlibs",
    ".symbols",
];

/// Says whether a detector wants the file at `path` (relative to the image root, e.g.
/// `var/lib/dpkg/status`; a leading `/` or `./` is ignored), and which one. Cheap: called
/// for every entry of every layer.
pub fn wants(path: &str) -> Option<FileKind> {
    let path = path.trim_start_matches("./").trim_start_matches('/');
    match path {
        "etc/os-release" | "usr/lib/os-release" => return Some(FileKind::OsRelease),
        "etc/alpine-release" => return Some(FileKind::AlpineRelease),
        "etc/debian_version" => return Some(FileKind::DebianVersion),
        "etc/redhat-release" => return Some(FileKind::RedhatRelease),
        "var/lib/dpkg/status" => return Some(FileKind::DpkgStatus),
        "lib/apk/db/installed" => return Some(FileKind::ApkInstalled),
        _ => {}
    }
    if let Some(name) = path.strip_prefix("var/lib/dpkg/status.d/") {
        let companion = DPKG_STATUS_D_COMPANIONS.iter().any(|s| name.ends_with(s));
        if !name.is_empty() && !name.contains('/') && !name.starts_with('.') && !companion {
            return Some(FileKind::DpkgStatusD);
        }
        return None;
    }
    for dir in RPM_DIRS {
        if let Some(name) = path.strip_prefix(dir) {
            return match name {
                "rpmdb.sqlite" => Some(FileKind::RpmSqlite),
                "Packages" => Some(FileKind::RpmBdb),
                "Packages.db" => Some(FileKind::RpmNdb),
                _ => None,
            };
        }
    }
    wants_language(path)
}

/// The language package files, by name (SPEC 3.3).
pub(crate) fn wants_language(path: &str) -> Option<FileKind> {
    let (dir, file) = path.rsplit_once('/').unwrap_or(("", path));
    let kind = match file {
        "package-lock.json" => Some(FileKind::NpmLock),
        "yarn.lock" => Some(FileKind::YarnLock),
        "pnpm-lock.yaml" => Some(FileKind::PnpmLock),
        "Cargo.lock" => Some(FileKind::CargoLock),
        "Gemfile.lock" => Some(FileKind::GemfileLock),
        "composer.lock" => Some(FileKind::ComposerLock),
        "installed.json" if last_dirs(dir, &["vendor", "composer"]) => {
            Some(FileKind::ComposerInstalled)
        }
        "METADATA" if dir.ends_with(".dist-info") => Some(FileKind::PythonMetadata),
        "PKG-INFO" if dir.ends_with(".egg-info") => Some(FileKind::PythonMetadata),
        "package.json" if in_node_modules(dir) => Some(FileKind::NpmPackageJson),
        _ => None,
    };
    if kind.is_some() {
        return kind;
    }
    let ext = |e: &str| {
        file.len() > e.len()
            && file.is_char_boundary(file.len() - e.len())
            && file[file.len() - e.len()..].eq_ignore_ascii_case(e)
    };
    if file.ends_with(".egg-info") {
        Some(FileKind::PythonMetadata)
    } else if file.ends_with(".deps.json") {
        Some(FileKind::DotnetDeps)
    } else if file.ends_with(".gemspec")
        && (last_dirs(dir, &["specifications"]) || last_dirs(dir, &["specifications", "default"]))
    {
        Some(FileKind::Gemspec)
    } else if ext(".jar") || ext(".war") || ext(".ear") {
        Some(FileKind::JavaArchive)
    } else {
        None
    }
}

/// Whether `dir` ends with the directories `names`.
fn last_dirs(dir: &str, names: &[&str]) -> bool {
    let mut parts = dir.rsplit('/');
    names.iter().rev().all(|n| parts.next() == Some(*n))
}

/// Whether `dir` is `node_modules/NAME` or `node_modules/@SCOPE/NAME`: the manifest of
/// an installed package, not one of the files a package ships.
fn in_node_modules(dir: &str) -> bool {
    let mut parts = dir.rsplit('/');
    let Some(name) = parts.next() else {
        return false;
    };
    if name.is_empty() || name.starts_with('.') || name.starts_with('@') {
        return false;
    }
    match parts.next() {
        Some("node_modules") => true,
        Some(scope) if scope.len() > 1 && scope.starts_with('@') => {
            parts.next() == Some("node_modules")
        }
        _ => false,
    }
}

/// The largest executable [`detect`] reads, in bytes. An executable is parsed from
/// memory (the object file's section table usually sits at its end, so no prefix tells
/// where the build info is), and this cap keeps a scan within SPEC 10.3's memory bound:
/// real Go programs are 10 to 100 MiB (kubectl about 50 MiB). A larger object file is
/// left unread and the caller reports it as a coverage gap, not silently.
pub const MAX_EXECUTABLE_SIZE: u64 = 128 * 1024 * 1024;

/// How many first bytes [`is_object_file`] needs.
pub const OBJECT_MAGIC_LEN: usize = 4;

/// Says whether the regular file at `path`, with permission bits `mode` and `size`
/// bytes, may hold Go build info or cargo-auditable data and so should go to [`detect`]
/// as [`FileKind::Executable`]. Binaries cannot be named up front, so the walker asks
/// about every regular file with an executable bit; pseudo file systems and files too
/// small to be an object file are left out. Files larger than [`MAX_EXECUTABLE_SIZE`]
/// are wanted too, so that the caller can report them (after [`is_object_file`]) as
/// binaries it did not read; [`detect`] refuses them.
pub fn wants_executable(path: &str, mode: u32, size: u64) -> bool {
    let path = path.trim_start_matches("./").trim_start_matches('/');
    let pseudo = ["proc/", "sys/", "dev/"]
        .iter()
        .any(|p| path.starts_with(p));
    // the smallest ELF with a section table is larger than this
    mode & 0o111 != 0 && size >= 64 && !pseudo
}

/// Whether the first bytes of a file (at least [`OBJECT_MAGIC_LEN`] of them) are the
/// magic of an ELF, Mach-O (thin or fat) or PE object file: the only files in which
/// [`detect`] can find Go or Rust dependencies. Scripts and data files with an exec bit
/// fail this check, so a caller reads no more of them than the prefix.
pub fn is_object_file(prefix: &[u8]) -> bool {
    binary::is_object_file(prefix)
}

/// Parses one wanted file. `path` is recorded in each [`Package`] and in errors.
pub fn detect(kind: FileKind, path: &str, data: &[u8]) -> Result<Detection, DetectError> {
    let err = |problem| DetectError {
        path: path.to_owned(),
        problem,
    };
    let size = data.len() as u64;
    if size > MAX_FILE_SIZE {
        return Err(err(Problem::TooLarge {
            size,
            limit: MAX_FILE_SIZE,
        }));
    }
    if kind == FileKind::Executable && size > MAX_EXECUTABLE_SIZE {
        return Err(err(Problem::TooLarge {
            size,
            limit: MAX_EXECUTABLE_SIZE,
        }));
    }
    let result = match kind {
        FileKind::OsRelease
        | FileKind::AlpineRelease
        | FileKind::DebianVersion
        | FileKind::RedhatRelease => distro::parse(kind, data).map(Detection::Distro),
        FileKind::DpkgStatus => dpkg::parse(data, path, false).map(Detection::Packages),
        FileKind::DpkgStatusD => dpkg::parse(data, path, true).map(Detection::Packages),
        FileKind::ApkInstalled => apk::parse(data, path).map(Detection::Packages),
        FileKind::RpmSqlite => rpm::sqlite::parse(data, path).map(Detection::Packages),
        FileKind::RpmBdb => rpm::bdb::parse(data, path).map(Detection::Packages),
        FileKind::RpmNdb => rpm::ndb::parse(data, path).map(Detection::Packages),
        FileKind::PythonMetadata => python::parse(data, path).map(Detection::Packages),
        FileKind::NpmLock => npm::lock(data, path).map(Detection::Packages),
        FileKind::NpmPackageJson => npm::package_json(data, path).map(Detection::Packages),
        FileKind::YarnLock => yarn::yarn_lock(data, path).map(Detection::Packages),
        FileKind::PnpmLock => yarn::pnpm_lock(data, path).map(Detection::Packages),
        FileKind::CargoLock => rust::cargo_lock(data, path).map(Detection::Packages),
        FileKind::Executable => binary::parse(data, path).map(Detection::Packages),
        FileKind::JavaArchive => java::parse(data, path).map(Detection::Packages),
        FileKind::Gemspec => ruby::gemspec(data, path).map(Detection::Packages),
        FileKind::GemfileLock => ruby::gemfile_lock(data, path).map(Detection::Packages),
        FileKind::ComposerLock => php::lock(data, path).map(Detection::Packages),
        FileKind::ComposerInstalled => php::installed(data, path).map(Detection::Packages),
        FileKind::DotnetDeps => dotnet::deps(data, path).map(Detection::Packages),
    };
    result.map_err(err)
}

/// Decodes a text file, naming the first bad byte.
pub(crate) fn utf8(data: &[u8]) -> Result<&str, Problem> {
    std::str::from_utf8(data).map_err(|e| {
        let line = data[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        Problem::syntax(line, format!("not valid UTF-8 at byte {}", e.valid_up_to()))
    })
}

/// Parses a JSON document into `T`. serde_json refuses nesting deeper than 128 levels,
/// so hostile documents cannot exhaust the stack; unknown fields are ignored.
pub(crate) fn json<T: serde::de::DeserializeOwned>(data: &[u8]) -> Result<T, Problem> {
    serde_json::from_slice(data).map_err(|e| {
        let message = e.to_string();
        let message = match message.rfind(" at line ") {
            Some(i) => message[..i].to_owned(),
            None => message,
        };
        Problem::syntax(e.line(), format!("invalid JSON: {message}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wants_names_each_database() {
        assert_eq!(wants("etc/os-release"), Some(FileKind::OsRelease));
        assert_eq!(wants("/usr/lib/os-release"), Some(FileKind::OsRelease));
        assert_eq!(wants("./var/lib/dpkg/status"), Some(FileKind::DpkgStatus));
        assert_eq!(wants("var/lib/dpkg/status-old"), None);
        assert_eq!(
            wants("var/lib/dpkg/status.d/libgtk2.0-0"),
            Some(FileKind::DpkgStatusD)
        );
        assert_eq!(wants("var/lib/dpkg/status.d/libc6.md5sums"), None);
        assert_eq!(wants("var/lib/dpkg/status.d/"), None);
        assert_eq!(wants("var/lib/dpkg/status.d/a/b"), None);
        assert_eq!(
            wants("usr/lib/sysimage/rpm/Packages.db"),
            Some(FileKind::RpmNdb)
        );
        assert_eq!(wants("var/lib/rpm/Packages"), Some(FileKind::RpmBdb));
        assert_eq!(wants("var/lib/rpm/rpmdb.sqlite"), Some(FileKind::RpmSqlite));
        assert_eq!(wants("var/lib/rpm/Name"), None);
        assert_eq!(wants("lib/apk/db/installed"), Some(FileKind::ApkInstalled));
        assert_eq!(wants("usr/bin/ls"), None);
    }

    #[test]
    fn wants_names_each_language_file() {
        let lib = "usr/lib/python3/dist-packages";
        assert_eq!(
            wants(&format!("{lib}/requests-2.28.1.dist-info/METADATA")),
            Some(FileKind::PythonMetadata)
        );
        assert_eq!(wants(&format!("{lib}/x.dist-info/RECORD")), None);
        assert_eq!(
            wants(&format!("{lib}/six-1.16.0.egg-info")),
            Some(FileKind::PythonMetadata)
        );
        assert_eq!(
            wants(&format!("{lib}/six-1.16.0.egg-info/PKG-INFO")),
            Some(FileKind::PythonMetadata)
        );
        assert_eq!(wants("app/package-lock.json"), Some(FileKind::NpmLock));
        assert_eq!(wants("app/node_modules/.package-lock.json"), None);
        assert_eq!(
            wants("app/node_modules/lodash/package.json"),
            Some(FileKind::NpmPackageJson)
        );
        assert_eq!(
            wants("node_modules/@babel/core/package.json"),
            Some(FileKind::NpmPackageJson)
        );
        assert_eq!(wants("node_modules/@babel/package.json"), None);
        assert_eq!(wants("node_modules/lodash/fp/package.json"), None);
        assert_eq!(wants("app/package.json"), None);
        assert_eq!(wants("node_modules/.bin/package.json"), None);
        assert_eq!(wants("yarn.lock"), Some(FileKind::YarnLock));
        assert_eq!(wants("srv/pnpm-lock.yaml"), Some(FileKind::PnpmLock));
        assert_eq!(wants("src/Cargo.lock"), Some(FileKind::CargoLock));
        assert_eq!(wants("opt/app/lib/x.JAR"), Some(FileKind::JavaArchive));
        assert_eq!(wants("opt/app.war"), Some(FileKind::JavaArchive));
        assert_eq!(wants("opt/jar"), None);
        assert_eq!(
            wants("usr/lib/ruby/gems/3.1.0/specifications/rake-13.0.6.gemspec"),
            Some(FileKind::Gemspec)
        );
        assert_eq!(
            wants("usr/lib/ruby/gems/3.1.0/specifications/default/uri-0.12.1.gemspec"),
            Some(FileKind::Gemspec)
        );
        assert_eq!(wants("src/rake.gemspec"), None);
        assert_eq!(wants("app/Gemfile.lock"), Some(FileKind::GemfileLock));
        assert_eq!(wants("app/composer.lock"), Some(FileKind::ComposerLock));
        assert_eq!(
            wants("app/vendor/composer/installed.json"),
            Some(FileKind::ComposerInstalled)
        );
        assert_eq!(
            wants("vendor/composer/installed.json"),
            Some(FileKind::ComposerInstalled)
        );
        assert_eq!(wants("app/installed.json"), None);
        assert_eq!(wants("app/App.deps.json"), Some(FileKind::DotnetDeps));
    }

    #[test]
    fn wants_executables_by_mode_and_size() {
        assert!(wants_executable("usr/bin/docker-registry", 0o755, 1 << 20));
        assert!(!wants_executable("usr/bin/readme", 0o644, 1 << 20));
        assert!(!wants_executable("proc/self/exe", 0o755, 1 << 20));
        // wanted, so that the caller reports it; detect refuses it
        assert!(wants_executable(
            "usr/bin/huge",
            0o755,
            MAX_EXECUTABLE_SIZE + 1
        ));
        assert!(!wants_executable("usr/bin/empty", 0o755, 0));
        assert!(!wants_executable("usr/bin/tiny", 0o755, 63));
    }

    #[test]
    fn object_file_magic() {
        assert!(is_object_file(b"\x7fELF\x02\x01"));
        assert!(is_object_file(b"MZ\x90\x00"));
        assert!(is_object_file(&[0xcf, 0xfa, 0xed, 0xfe]));
        assert!(is_object_file(&[0xfe, 0xed, 0xfa, 0xce]));
        assert!(is_object_file(&[0xca, 0xfe, 0xba, 0xbe]));
        assert!(!is_object_file(b"#!/bin/sh\n"));
        assert!(!is_object_file(b"\x7fEL"));
        assert!(!is_object_file(b""));
    }

    #[test]
    fn oversized_executables_are_refused() {
        // a sparse file would be cheaper, but detect takes bytes: the check comes first
        let big = vec![0u8; usize::try_from(MAX_EXECUTABLE_SIZE).unwrap() + 1];
        let e = detect(FileKind::Executable, "usr/bin/huge", &big).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "usr/bin/huge: file is {} bytes, more than the limit of {MAX_EXECUTABLE_SIZE} bytes",
                MAX_EXECUTABLE_SIZE + 1
            )
        );
    }

    #[test]
    fn ecosystem_serializes_lowercase() {
        assert_eq!(serde_json::to_string(&PkgType::Deb).unwrap(), "\"deb\"");
        assert_eq!(serde_json::to_string(&PkgType::Pypi).unwrap(), "\"pypi\"");
        assert_eq!(
            serde_json::to_string(&PkgType::Golang).unwrap(),
            "\"golang\""
        );
    }

    #[test]
    fn dev_is_optional_in_json() {
        // a package cached before `dev` existed still reads, and `dev: false` is not written
        let old = r#"{"ecosystem":"deb","name":"a","version":"1","epoch":null,"arch":null,
            "source_name":null,"source_version":null,"path":"var/lib/dpkg/status"}"#;
        let p: Package = serde_json::from_str(old).unwrap();
        assert!(!p.dev);
        assert!(!serde_json::to_string(&p).unwrap().contains("dev"));
        let mut npm = Package::language(PkgType::Npm, "ms", "2.1.3", "package-lock.json");
        npm.dev = true;
        assert!(
            serde_json::to_string(&npm)
                .unwrap()
                .contains(r#""dev":true"#)
        );
    }
}
