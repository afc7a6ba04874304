//! Which advisories a package can match: the OSV ecosystem of a distribution release, the
//! name a package is known by in advisories, and the lookup keys of a whole inventory
//! (SPEC 5.1).
//!
//! Traps:
//! - Debian and Ubuntu advisories name the SOURCE package (`openssl`), not the binary that
//!   is installed (`libssl3`), and give source versions: `bsdutils 1:2.38.1-5+deb12u3` is
//!   built from `util-linux 2.38.1-5+deb12u3` (no epoch), and binNMUs (`+b1`) exist only
//!   on binaries. So both the name AND the version come from the source package.
//! - Alpine advisories name the origin package (`o:` in the apk database).
//! - The release is part of the ecosystem: `Debian:12`, `Alpine:v3.18` (with the `v`),
//!   `Ubuntu:22.04:LTS` (with `:LTS` for LTS releases only). A package never matches
//!   another release's advisories: a fix in bookworm says nothing about bullseye.
//! - Debian testing and sid have no `VERSION_ID`; testing has a codename that becomes a
//!   number at release time (trixie is 13), sid is `Debian:unstable` (the name vigil-vulndb
//!   documents for the tracker's sid).
//! - rpm distributions disagree on which name OSV carries: Red Hat uses binary or source
//!   names, Rocky and SUSE source names. An rpm package is looked up under both.
//! - PyPI names are compared in PEP 503 normal form (`Jinja2`, `jinja2`, `jinja_2` are not
//!   all the same, but `Foo.Bar` and `foo-bar` are); npm, Go, crates.io names as they are.

use serde::{Deserialize, Serialize};
use std::fmt;
use vigil_detect::Distro;

use crate::Package;

/// An (OSV ecosystem, package name) pair under which advisories are stored. The name is in
/// the ecosystem's normal form ([`normalize_name`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LookupKey {
    /// OSV ecosystem with its release: `Debian:12`, `PyPI`.
    pub ecosystem: String,
    /// The package name as advisories of that ecosystem give it, normalised.
    pub name: String,
}

impl LookupKey {
    /// A key for `name` in `ecosystem`, normalising the name.
    pub fn new(ecosystem: &str, name: &str) -> Self {
        Self {
            ecosystem: ecosystem.to_owned(),
            name: normalize_name(ecosystem, name),
        }
    }
}

impl fmt::Display for LookupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.ecosystem, self.name)
    }
}

/// A package's name in the normal form its ecosystem compares names in (the same rules as
/// vigil-store's index, so a fetched advisory is found again here):
/// - PyPI: PEP 503 (lower case, each run of `-`, `_`, `.` becomes one `-`);
/// - crates.io: lower case, `_` as `-` (crates.io refuses names that differ only so);
/// - NuGet and Packagist: lower case (their ids are case-insensitive);
/// - everything else as is (npm, Go, Maven and RubyGems names are case-sensitive).
pub fn normalize_name(ecosystem: &str, name: &str) -> String {
    normalized(ecosystem, name).into_owned()
}

/// [`normalize_name`] without a copy when the name is already normal.
pub(crate) fn normalized<'n>(ecosystem: &str, name: &'n str) -> std::borrow::Cow<'n, str> {
    use std::borrow::Cow;
    let folded = match ecosystem_base(ecosystem) {
        "PyPI" => pep503(name),
        "crates.io" => name.to_ascii_lowercase().replace('_', "-"),
        "NuGet" | "Packagist" => name.to_lowercase(),
        _ => return Cow::Borrowed(name),
    };
    if folded == name {
        Cow::Borrowed(name)
    } else {
        Cow::Owned(folded)
    }
}

fn pep503(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_sep = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_sep {
                out.push('-');
            }
            in_sep = true;
        } else {
            out.push(c.to_ascii_lowercase());
            in_sep = false;
        }
    }
    out
}

/// `Debian:12` -> `Debian`.
pub(crate) fn ecosystem_base(ecosystem: &str) -> &str {
    ecosystem.split_once(':').map_or(ecosystem, |(b, _)| b)
}

/// Debian codenames and their release numbers (distro-info-data `debian.csv`).
const DEBIAN_CODENAMES: [(&str, &str); 10] = [
    ("squeeze", "6"),
    ("wheezy", "7"),
    ("jessie", "8"),
    ("stretch", "9"),
    ("buster", "10"),
    ("bullseye", "11"),
    ("bookworm", "12"),
    ("trixie", "13"),
    ("forky", "14"),
    ("duke", "15"),
];

/// Why a package cannot be looked up: the coverage report names it (SPEC 5.7).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "reason")]
pub enum Unsupported {
    /// An OS package (deb, apk, rpm) in an image whose distribution is unknown.
    NoDistro {
        /// The package type.
        package_type: String,
    },
    /// A distribution vigil has no OSV ecosystem mapping for (or a release it cannot place).
    Distro {
        /// os-release `ID`.
        id: String,
        /// os-release `VERSION_ID`, when given.
        version_id: Option<String>,
    },
    /// A package type without an OSV ecosystem.
    PackageType {
        /// The package type as the detector named it.
        package_type: String,
    },
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoDistro { package_type } => write!(
                f,
                "{package_type} packages found but the distribution is unknown: their advisories cannot be chosen"
            ),
            Self::Distro { id, version_id } => write!(
                f,
                "distribution {id} {} has no advisory ecosystem in vigil",
                version_id.as_deref().unwrap_or("(no version)")
            ),
            Self::PackageType { package_type } => {
                write!(f, "package type {package_type:?} has no advisory ecosystem")
            }
        }
    }
}

/// The OSV ecosystem (with release) that the OS packages of `distro` match, e.g.
/// `debian` 12 -> `Debian:12`, `alpine` 3.18.4 -> `Alpine:v3.18`, `ubuntu` 22.04 ->
/// `Ubuntu:22.04:LTS`, `rocky` 9.3 -> `Rocky Linux:9`. See the module docs for the traps.
pub fn distro_ecosystem(distro: &Distro) -> Result<String, Unsupported> {
    let unsupported = || Unsupported::Distro {
        id: distro.id.clone(),
        version_id: distro.version_id.clone(),
    };
    let version = distro
        .version_id
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let major = || {
        version
            .and_then(|v| v.split('.').next())
            .filter(|m| is_digits(m))
    };
    let major_minor = || {
        let v = version?;
        let mut parts = v.split('.');
        let (a, b) = (parts.next()?, parts.next()?);
        (is_digits(a) && b.chars().take_while(char::is_ascii_digit).count() > 0).then(|| {
            format!(
                "{a}.{}",
                b.split(|c: char| !c.is_ascii_digit()).next().unwrap_or(b)
            )
        })
    };
    match distro.id.as_str() {
        "debian" => {
            if let Some(m) = major() {
                return Ok(format!("Debian:{m}"));
            }
            let codename = distro.codename.as_deref().unwrap_or("sid");
            if codename == "sid" || codename == "unstable" {
                return Ok("Debian:unstable".to_owned());
            }
            DEBIAN_CODENAMES
                .iter()
                .find(|(c, _)| *c == codename)
                .map(|(_, n)| format!("Debian:{n}"))
                .ok_or_else(unsupported)
        }
        "ubuntu" => {
            let v = major_minor().ok_or_else(unsupported)?;
            // LTS releases are the April releases of even years (wiki.ubuntu.com/Releases).
            let (year, month) = v.split_once('.').unwrap_or((&v, ""));
            let lts = month == "04" && year.parse::<u32>().is_ok_and(|y| y % 2 == 0);
            Ok(if lts {
                format!("Ubuntu:{v}:LTS")
            } else {
                format!("Ubuntu:{v}")
            })
        }
        "alpine" => {
            let v = major_minor().ok_or_else(unsupported)?;
            Ok(format!("Alpine:v{v}"))
        }
        "wolfi" => Ok("Wolfi".to_owned()),
        "chainguard" => Ok("Chainguard".to_owned()),
        "rocky" => Ok(format!("Rocky Linux:{}", major().ok_or_else(unsupported)?)),
        "almalinux" => Ok(format!("AlmaLinux:{}", major().ok_or_else(unsupported)?)),
        // SUSE and openSUSE ecosystems carry the marketing name of os-release PRETTY_NAME
        // without the vendor word (ossf/osv-schema, ecosystems table).
        "sles" | "sled" | "sle-micro" => {
            let pretty = distro.pretty_name.as_deref().ok_or_else(unsupported)?;
            let name = pretty.strip_prefix("SUSE ").unwrap_or(pretty);
            Ok(format!("SUSE:{name}"))
        }
        "opensuse-leap" | "opensuse-tumbleweed" | "opensuse" => {
            let pretty = distro.pretty_name.as_deref().ok_or_else(unsupported)?;
            let name = pretty.strip_prefix("openSUSE ").unwrap_or(pretty);
            Ok(format!("openSUSE:{name}"))
        }
        _ => Err(unsupported()),
    }
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// The OSV ecosystem of a language package type (purl type): `pypi` -> `PyPI`.
pub fn language_ecosystem(package_type: &str) -> Option<&'static str> {
    Some(match package_type {
        "pypi" => "PyPI",
        "npm" => "npm",
        "cargo" => "crates.io",
        "golang" => "Go",
        "maven" => "Maven",
        "gem" => "RubyGems",
        "nuget" => "NuGet",
        "composer" => "Packagist",
        "cran" => "CRAN",
        "hex" => "Hex",
        "pub" => "Pub",
        _ => return None,
    })
}

fn is_os_type(package_type: &str) -> bool {
    matches!(package_type, "deb" | "apk" | "rpm")
}

/// How one package is looked up and compared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PackageQuery {
    /// OSV ecosystem with release.
    pub ecosystem: String,
    /// Names to look up (normalised), most specific first; at most two (rpm binary and
    /// source).
    pub names: Vec<String>,
    /// The version to compare with the advisories' versions.
    pub version: String,
}

/// The ecosystem of the distribution, computed once per inventory.
pub(crate) type DistroEcosystem = Option<Result<String, Unsupported>>;

pub(crate) fn distro_context(distro: Option<&Distro>) -> DistroEcosystem {
    distro.map(distro_ecosystem)
}

/// How `package` is looked up in an image whose distribution maps to `distro`.
pub(crate) fn query(
    distro: &DistroEcosystem,
    package: &Package,
) -> Result<PackageQuery, Unsupported> {
    let kind = package.ecosystem.as_str();
    if is_os_type(kind) {
        let ecosystem = match distro {
            None => {
                return Err(Unsupported::NoDistro {
                    package_type: kind.to_owned(),
                });
            }
            Some(Err(e)) => return Err(e.clone()),
            Some(Ok(e)) => e.clone(),
        };
        let source = package.source_name.as_deref().filter(|s| !s.is_empty());
        let (names, version) = match kind {
            // SPEC 5.1: Debian and Ubuntu by source name and source version.
            "deb" => (
                vec![source.unwrap_or(&package.name).to_owned()],
                package
                    .source_version
                    .clone()
                    .filter(|v| !v.is_empty())
                    .unwrap_or_else(|| package.version.clone()),
            ),
            // Alpine by origin; the origin's version is the package's.
            "apk" => (
                vec![source.unwrap_or(&package.name).to_owned()],
                package.version.clone(),
            ),
            // rpm by name (and source name), with the epoch the version carries.
            _ => {
                let mut names = vec![package.name.clone()];
                if let Some(s) = source.filter(|s| *s != package.name) {
                    names.push(s.to_owned());
                }
                (names, package.version.clone())
            }
        };
        return Ok(PackageQuery {
            names: names
                .iter()
                .map(|n| normalize_name(&ecosystem, n))
                .collect(),
            ecosystem,
            version,
        });
    }
    let ecosystem = language_ecosystem(kind).ok_or_else(|| Unsupported::PackageType {
        package_type: kind.to_owned(),
    })?;
    Ok(PackageQuery {
        names: vec![normalize_name(ecosystem, &package.name)],
        ecosystem: ecosystem.to_owned(),
        version: package.version.clone(),
    })
}

/// The (ecosystem, name) keys under which advisories for `packages` are stored, sorted and
/// without duplicates, so the caller can fetch exactly those from the database. Packages
/// that cannot be looked up are left out here and reported by [`crate::Coverage`].
pub fn lookup_keys(distro: Option<&Distro>, packages: &[Package]) -> Vec<LookupKey> {
    let ctx = distro_context(distro);
    let mut keys: Vec<LookupKey> = packages
        .iter()
        .filter_map(|p| query(&ctx, p).ok())
        .flat_map(|q| {
            let eco = q.ecosystem;
            q.names.into_iter().map(move |name| LookupKey {
                ecosystem: eco.clone(),
                name,
            })
        })
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    fn distro(id: &str, version: Option<&str>, codename: Option<&str>) -> Distro {
        Distro {
            id: id.to_owned(),
            version_id: version.map(str::to_owned),
            codename: codename.map(str::to_owned),
            pretty_name: None,
        }
    }

    #[test]
    fn distro_ecosystems_follow_osv_names() {
        let e = |id, v, c| distro_ecosystem(&distro(id, v, c));
        assert_eq!(
            e("debian", Some("12"), Some("bookworm")).unwrap(),
            "Debian:12"
        );
        assert_eq!(e("debian", None, Some("trixie")).unwrap(), "Debian:13");
        assert_eq!(e("debian", None, Some("sid")).unwrap(), "Debian:unstable");
        assert_eq!(e("debian", None, None).unwrap(), "Debian:unstable");
        assert_eq!(e("alpine", Some("3.18.4"), None).unwrap(), "Alpine:v3.18");
        assert_eq!(
            e("alpine", Some("3.20.0_alpha20240315"), None).unwrap(),
            "Alpine:v3.20"
        );
        assert_eq!(
            e("ubuntu", Some("22.04"), None).unwrap(),
            "Ubuntu:22.04:LTS"
        );
        assert_eq!(e("ubuntu", Some("23.10"), None).unwrap(), "Ubuntu:23.10");
        assert_eq!(e("rocky", Some("9.3"), None).unwrap(), "Rocky Linux:9");
        assert_eq!(e("almalinux", Some("8.9"), None).unwrap(), "AlmaLinux:8");
        let mut sles = distro("sles", Some("15.5"), None);
        sles.pretty_name = Some("SUSE Linux Enterprise Server 15 SP5".into());
        assert_eq!(
            distro_ecosystem(&sles).unwrap(),
            "SUSE:Linux Enterprise Server 15 SP5"
        );
        assert_eq!(
            e("gentoo", Some("2.14"), None).unwrap_err().to_string(),
            "distribution gentoo 2.14 has no advisory ecosystem in vigil"
        );
        assert!(e("alpine", None, None).is_err());
    }

    #[test]
    fn names_are_normalised_per_ecosystem() {
        assert_eq!(normalize_name("PyPI", "Jinja2"), "jinja2");
        assert_eq!(normalize_name("PyPI", "zope.interface"), "zope-interface");
        assert_eq!(normalize_name("PyPI", "Foo__Bar-.baz"), "foo-bar-baz");
        assert_eq!(normalize_name("npm", "@Scope/Pkg"), "@Scope/Pkg");
        assert_eq!(normalize_name("crates.io", "Serde_JSON"), "serde-json");
        assert_eq!(
            normalize_name("NuGet", "Newtonsoft.Json"),
            "newtonsoft.json"
        );
        assert_eq!(normalize_name("Maven", "org.Foo:Bar"), "org.Foo:Bar");
    }
}
