//! vigil-detect: distribution and OS package detectors (SPEC 3.1, 3.2, 3.4).
//!
//! This crate is pure: it opens no files and reads no clock. The layer walker asks
//! [`wants`] about every path it meets, hands the bytes of the wanted files to [`detect`],
//! and the glue combines what one image says about its distribution with
//! [`resolve_distro`]. Packages carry a purl built by [`Package::purl`].
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
mod distro;
mod dpkg;
mod purl;
mod rpm;

use serde::{Deserialize, Serialize};

pub use distro::{Distro, DistroFacts, resolve_distro};

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
}

/// The package ecosystem of an OS package. Serialized as `deb`, `apk`, `rpm`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum PkgType {
    Deb,
    Apk,
    Rpm,
}

impl PkgType {
    /// The stable kebab-case name, as in JSON and purls.
    pub fn as_str(self) -> &'static str {
        match self {
            PkgType::Deb => "deb",
            PkgType::Apk => "apk",
            PkgType::Rpm => "rpm",
        }
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
    None
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
    fn ecosystem_serializes_lowercase() {
        assert_eq!(serde_json::to_string(&PkgType::Deb).unwrap(), "\"deb\"");
    }
}
