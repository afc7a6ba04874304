//! `vigil-version`: parse and order package versions exactly as each ecosystem's own tool
//! does (SPEC 4.5, issue 4). Every "is this package affected" answer rests on it.
//!
//! The crate is pure: no files, no sockets, no clock. An [`Ecosystem`] (an OSV name such as
//! `Debian:12` or a purl type such as `deb`) names a [`Scheme`], the comparison rules; a scheme
//! parses strings into [`Version`]s, which are ordered within that scheme.
//!
//! ```
//! use std::cmp::Ordering;
//! use vigil_version::{Ecosystem, Scheme};
//!
//! let eco: Ecosystem = "Debian:12".parse().unwrap();
//! assert_eq!(eco.scheme(), Scheme::Dpkg);
//! assert_eq!(eco.scheme().compare("1.0~rc1-1", "1.0-1").unwrap(), Ordering::Less);
//! assert!(Scheme::Rpm.parse("").is_err());
//! ```
//!
//! Each scheme's module documents the traps of its format: [`dpkg`] (`~`), [`rpm`] (`~`, `^`,
//! missing release), [`apk`] (suffixes, `-rN`, invalid versions), [`pep440`] (normalisation,
//! legacy versions), [`semver`] (npm, crates.io and Go), [`maven`], [`rubygems`], [`nuget`],
//! [`composer`], [`cran`].
//!
//! Design: a [`Version`] keeps the input string (so `Display` round-trips it byte for byte)
//! and a parsed form. Comparing two versions of one scheme never allocates. Versions of two
//! different schemes are never "equal": they order by scheme first, so `Ord` stays total
//! (a caller that mixes schemes has a bug; the order only keeps collections consistent).

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

pub mod apk;
pub mod composer;
pub mod cran;
pub mod dpkg;
pub mod maven;
pub mod nuget;
mod num;
pub mod pep440;
pub mod rpm;
pub mod rubygems;
pub mod semver;

/// A version string that its scheme rejects.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {scheme} version {input:?}: {reason}")]
pub struct ParseError {
    scheme: Scheme,
    input: String,
    reason: String,
}

impl ParseError {
    pub(crate) fn new(scheme: Scheme, input: &str, reason: impl Into<String>) -> Self {
        ParseError {
            scheme,
            input: input.to_owned(),
            reason: reason.into(),
        }
    }
    /// The scheme that rejected the input.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }
    /// The rejected input, as given.
    pub fn input(&self) -> &str {
        &self.input
    }
    /// What was expected and what was found.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// An ecosystem name that is neither an OSV ecosystem nor a purl type we know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown ecosystem {0:?}: expected an OSV ecosystem (Debian, Ubuntu, Alpine, Red Hat, \
     Rocky Linux, AlmaLinux, SUSE, openSUSE, Wolfi, Chainguard, PyPI, npm, crates.io, Go, Maven, \
     RubyGems, NuGet, Packagist, CRAN, optionally with `:RELEASE`) or a purl type (deb, apk, rpm, \
     pypi, npm, cargo, golang, maven, gem, nuget, composer, cran)"
)]
pub struct UnknownEcosystem(pub String);

/// The comparison rules of one package manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scheme {
    /// Debian and Ubuntu: `dpkg --compare-versions`.
    Dpkg,
    /// Alpine, Wolfi, Chainguard: apk-tools 3.
    Apk,
    /// Red Hat and its rebuilds, SUSE: `rpmvercmp` on epoch, version, release.
    Rpm,
    /// PyPI: PEP 440, with `packaging`'s legacy fallback.
    Pep440,
    /// npm and crates.io: SemVer 2.
    Semver,
    /// Go modules: SemVer 2 with `v`, `+incompatible` and pseudo-versions.
    Go,
    /// Maven: `ComparableVersion`.
    Maven,
    /// RubyGems: `Gem::Version`.
    RubyGems,
    /// NuGet: `NuGetVersion`.
    NuGet,
    /// Packagist: Composer's normalisation and PHP's `version_compare`.
    Composer,
    /// CRAN: R's `package_version`.
    Cran,
}

impl Scheme {
    /// Every scheme, in a stable order.
    pub const ALL: [Scheme; 11] = [
        Scheme::Dpkg,
        Scheme::Apk,
        Scheme::Rpm,
        Scheme::Pep440,
        Scheme::Semver,
        Scheme::Go,
        Scheme::Maven,
        Scheme::RubyGems,
        Scheme::NuGet,
        Scheme::Composer,
        Scheme::Cran,
    ];

    /// The stable kebab-case name (CLI, JSON, database).
    pub fn name(&self) -> &'static str {
        match self {
            Scheme::Dpkg => "dpkg",
            Scheme::Apk => "apk",
            Scheme::Rpm => "rpm",
            Scheme::Pep440 => "pep440",
            Scheme::Semver => "semver",
            Scheme::Go => "go",
            Scheme::Maven => "maven",
            Scheme::RubyGems => "rubygems",
            Scheme::NuGet => "nuget",
            Scheme::Composer => "composer",
            Scheme::Cran => "cran",
        }
    }

    /// Parses `s` under this scheme's rules.
    pub fn parse(&self, s: &str) -> Result<Version, ParseError> {
        let repr = match self {
            Scheme::Dpkg => Repr::Dpkg(dpkg::parse(s)?),
            Scheme::Apk => Repr::Apk(apk::parse(s)?),
            Scheme::Rpm => Repr::Rpm(rpm::parse(s)?),
            Scheme::Pep440 => Repr::Pep440(pep440::parse(s)?),
            Scheme::Semver => Repr::Semver(semver::parse(s, Scheme::Semver)?),
            Scheme::Go => Repr::Go(semver::parse(s, Scheme::Go)?),
            Scheme::Maven => Repr::Maven(maven::parse(s)?),
            Scheme::RubyGems => Repr::RubyGems(rubygems::parse(s)?),
            Scheme::NuGet => Repr::NuGet(nuget::parse(s)?),
            Scheme::Composer => Repr::Composer(composer::parse(s)?),
            Scheme::Cran => Repr::Cran(cran::parse(s)?),
        };
        Ok(Version {
            raw: s.into(),
            repr,
        })
    }

    /// Parses both strings and orders them. dpkg, rpm and apk compare without allocating.
    pub fn compare(&self, a: &str, b: &str) -> Result<Ordering, ParseError> {
        match self {
            Scheme::Dpkg => {
                let (pa, pb) = (dpkg::parse(a)?, dpkg::parse(b)?);
                Ok(dpkg::cmp(a, &pa, b, &pb))
            }
            Scheme::Rpm => {
                let (pa, pb) = (rpm::parse(a)?, rpm::parse(b)?);
                Ok(rpm::cmp(a, &pa, b, &pb))
            }
            Scheme::Apk => {
                apk::parse(a)?;
                apk::parse(b)?;
                Ok(apk::cmp(a, b))
            }
            _ => Ok(self.parse(a)?.cmp(&self.parse(b)?)),
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A parsed version. `Display` prints the input exactly as given; `Ord` follows the scheme.
///
/// Equality is the scheme's equality (`1.0` and `1.00` are equal under dpkg), not string
/// equality: use [`Version::as_str`] for the latter.
#[derive(Debug, Clone)]
pub struct Version {
    raw: Box<str>,
    repr: Repr,
}

#[derive(Debug, Clone)]
enum Repr {
    Dpkg(dpkg::Parts),
    Apk(()),
    Rpm(rpm::Parts),
    Pep440(pep440::Parsed),
    Semver(semver::Parsed),
    Go(semver::Parsed),
    Maven(maven::Parsed),
    RubyGems(rubygems::Parsed),
    NuGet(nuget::Parsed),
    Composer(composer::Parsed),
    Cran(cran::Parsed),
}

impl Version {
    /// The input string, exactly as given to [`Scheme::parse`].
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The scheme this version was parsed with.
    pub fn scheme(&self) -> Scheme {
        match self.repr {
            Repr::Dpkg(_) => Scheme::Dpkg,
            Repr::Apk(_) => Scheme::Apk,
            Repr::Rpm(_) => Scheme::Rpm,
            Repr::Pep440(_) => Scheme::Pep440,
            Repr::Semver(_) => Scheme::Semver,
            Repr::Go(_) => Scheme::Go,
            Repr::Maven(_) => Scheme::Maven,
            Repr::RubyGems(_) => Scheme::RubyGems,
            Repr::NuGet(_) => Scheme::NuGet,
            Repr::Composer(_) => Scheme::Composer,
            Repr::Cran(_) => Scheme::Cran,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let (a, b) = (&*self.raw, &*other.raw);
        match (&self.repr, &other.repr) {
            (Repr::Dpkg(x), Repr::Dpkg(y)) => dpkg::cmp(a, x, b, y),
            (Repr::Apk(()), Repr::Apk(())) => apk::cmp(a, b),
            (Repr::Rpm(x), Repr::Rpm(y)) => rpm::cmp(a, x, b, y),
            (Repr::Pep440(x), Repr::Pep440(y)) => x.cmp(y),
            (Repr::Semver(x), Repr::Semver(y)) | (Repr::Go(x), Repr::Go(y)) => x.cmp(y),
            (Repr::Maven(x), Repr::Maven(y)) => x.cmp(y),
            (Repr::RubyGems(x), Repr::RubyGems(y)) => x.cmp(y),
            (Repr::NuGet(x), Repr::NuGet(y)) => x.cmp(y),
            (Repr::Composer(x), Repr::Composer(y)) => x.cmp(y),
            (Repr::Cran(x), Repr::Cran(y)) => x.cmp(y),
            _ => self.scheme().cmp(&other.scheme()),
        }
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

/// A package ecosystem, as OSV and purl name it. Releases (`Debian:12`) are dropped here:
/// the matcher keeps them; the ordering does not depend on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Ecosystem {
    Debian,
    Ubuntu,
    Alpine,
    Wolfi,
    Chainguard,
    RedHat,
    Rocky,
    Alma,
    Suse,
    OpenSuse,
    /// A generic rpm distribution (purl type `rpm`); OSV has no such ecosystem.
    Rpm,
    PyPI,
    Npm,
    CratesIo,
    Go,
    Maven,
    RubyGems,
    NuGet,
    Packagist,
    Cran,
}

impl Ecosystem {
    /// Every ecosystem, in a stable order.
    pub const ALL: [Ecosystem; 20] = [
        Ecosystem::Debian,
        Ecosystem::Ubuntu,
        Ecosystem::Alpine,
        Ecosystem::Wolfi,
        Ecosystem::Chainguard,
        Ecosystem::RedHat,
        Ecosystem::Rocky,
        Ecosystem::Alma,
        Ecosystem::Suse,
        Ecosystem::OpenSuse,
        Ecosystem::Rpm,
        Ecosystem::PyPI,
        Ecosystem::Npm,
        Ecosystem::CratesIo,
        Ecosystem::Go,
        Ecosystem::Maven,
        Ecosystem::RubyGems,
        Ecosystem::NuGet,
        Ecosystem::Packagist,
        Ecosystem::Cran,
    ];

    /// The OSV ecosystem name (`Red Hat`, `crates.io`). The generic [`Ecosystem::Rpm`] has
    /// none in OSV and answers `rpm`, which parses back to it.
    pub fn osv_name(&self) -> &'static str {
        match self {
            Ecosystem::Debian => "Debian",
            Ecosystem::Ubuntu => "Ubuntu",
            Ecosystem::Alpine => "Alpine",
            Ecosystem::Wolfi => "Wolfi",
            Ecosystem::Chainguard => "Chainguard",
            Ecosystem::RedHat => "Red Hat",
            Ecosystem::Rocky => "Rocky Linux",
            Ecosystem::Alma => "AlmaLinux",
            Ecosystem::Suse => "SUSE",
            Ecosystem::OpenSuse => "openSUSE",
            Ecosystem::Rpm => "rpm",
            Ecosystem::PyPI => "PyPI",
            Ecosystem::Npm => "npm",
            Ecosystem::CratesIo => "crates.io",
            Ecosystem::Go => "Go",
            Ecosystem::Maven => "Maven",
            Ecosystem::RubyGems => "RubyGems",
            Ecosystem::NuGet => "NuGet",
            Ecosystem::Packagist => "Packagist",
            Ecosystem::Cran => "CRAN",
        }
    }

    /// The purl type of the ecosystem's packages.
    pub fn purl_type(&self) -> &'static str {
        match self {
            Ecosystem::Debian | Ecosystem::Ubuntu => "deb",
            Ecosystem::Alpine | Ecosystem::Wolfi | Ecosystem::Chainguard => "apk",
            Ecosystem::RedHat
            | Ecosystem::Rocky
            | Ecosystem::Alma
            | Ecosystem::Suse
            | Ecosystem::OpenSuse
            | Ecosystem::Rpm => "rpm",
            Ecosystem::PyPI => "pypi",
            Ecosystem::Npm => "npm",
            Ecosystem::CratesIo => "cargo",
            Ecosystem::Go => "golang",
            Ecosystem::Maven => "maven",
            Ecosystem::RubyGems => "gem",
            Ecosystem::NuGet => "nuget",
            Ecosystem::Packagist => "composer",
            Ecosystem::Cran => "cran",
        }
    }

    /// The comparison rules of the ecosystem's package manager.
    pub fn scheme(&self) -> Scheme {
        match self {
            Ecosystem::Debian | Ecosystem::Ubuntu => Scheme::Dpkg,
            Ecosystem::Alpine | Ecosystem::Wolfi | Ecosystem::Chainguard => Scheme::Apk,
            Ecosystem::RedHat
            | Ecosystem::Rocky
            | Ecosystem::Alma
            | Ecosystem::Suse
            | Ecosystem::OpenSuse
            | Ecosystem::Rpm => Scheme::Rpm,
            Ecosystem::PyPI => Scheme::Pep440,
            Ecosystem::Npm | Ecosystem::CratesIo => Scheme::Semver,
            Ecosystem::Go => Scheme::Go,
            Ecosystem::Maven => Scheme::Maven,
            Ecosystem::RubyGems => Scheme::RubyGems,
            Ecosystem::NuGet => Scheme::NuGet,
            Ecosystem::Packagist => Scheme::Composer,
            Ecosystem::Cran => Scheme::Cran,
        }
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.osv_name())
    }
}

impl FromStr for Ecosystem {
    type Err = UnknownEcosystem;

    /// Accepts OSV names with an optional `:RELEASE` suffix and purl types, ignoring case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim();
        // `Debian:12`, `Alpine:v3.18`, `Red Hat:enterprise_linux:9::appstream`: the first `:`
        // ends the ecosystem name.
        let name = name.split_once(':').map_or(name, |(n, _)| n).trim();
        let lower = name.to_ascii_lowercase();
        let eco = match lower.as_str() {
            "debian" | "deb" => Ecosystem::Debian,
            "ubuntu" => Ecosystem::Ubuntu,
            "alpine" | "apk" | "alpaquita" => Ecosystem::Alpine,
            "wolfi" => Ecosystem::Wolfi,
            "chainguard" => Ecosystem::Chainguard,
            "red hat" | "redhat" => Ecosystem::RedHat,
            "rocky linux" => Ecosystem::Rocky,
            "almalinux" => Ecosystem::Alma,
            "suse" => Ecosystem::Suse,
            "opensuse" => Ecosystem::OpenSuse,
            "rpm" => Ecosystem::Rpm,
            "pypi" => Ecosystem::PyPI,
            "npm" => Ecosystem::Npm,
            "crates.io" | "cargo" => Ecosystem::CratesIo,
            "go" | "golang" => Ecosystem::Go,
            "maven" => Ecosystem::Maven,
            "rubygems" | "gem" => Ecosystem::RubyGems,
            "nuget" => Ecosystem::NuGet,
            "packagist" | "composer" => Ecosystem::Packagist,
            "cran" => Ecosystem::Cran,
            _ => return Err(UnknownEcosystem(s.to_owned())),
        };
        Ok(eco)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn osv_names_parse_back() {
        for eco in Ecosystem::ALL {
            assert_eq!(eco.osv_name().parse::<Ecosystem>().unwrap(), eco);
            assert_eq!(
                format!("{}:1", eco.osv_name().to_uppercase())
                    .parse::<Ecosystem>()
                    .unwrap(),
                eco
            );
            let purl: Ecosystem = eco.purl_type().parse().unwrap();
            assert_eq!(purl.scheme(), eco.scheme());
        }
    }

    #[test]
    fn unknown_ecosystem_names_the_input() {
        let err = "Debain:12".parse::<Ecosystem>().unwrap_err();
        assert!(
            err.to_string()
                .starts_with("unknown ecosystem \"Debain:12\": expected")
        );
    }
}
