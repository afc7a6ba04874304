//! Package URLs back into packages: the inverse of `vigil_detect`'s purl building, also
//! accepting what other SBOM tools write (syft, Trivy, cdxgen).
//!
//! Traps:
//! - Epochs. Syft and vigil write a dpkg epoch inside the version (`1:4.13-1`); Trivy
//!   writes it as an `epoch` qualifier with the version left without it, for deb as for
//!   rpm (purl-spec `rpm`). An `epoch` qualifier is put back in front of the version,
//!   since vigil's versions are the package manager's own (`%{EVR}`, dpkg `Version:`).
//! - Source packages. `upstream` is `NAME` or `NAME@VERSION` for deb, the origin for apk,
//!   and the source rpm's file name (`NAME-VERSION-RELEASE.src.rpm`) for rpm.
//! - Names. The `packageurl` crate lower-cases what purl-spec says is case-insensitive
//!   (npm and PyPI names, Go namespaces), and vigil writes PyPI names normalised per PEP 503
//!   (`jinja2` for `Jinja2`). So the name as the SBOM spells it (CycloneDX `group` and
//!   `name`, SPDX `name`) is kept when it is the same name (PEP 503 for PyPI, ASCII case
//!   for the rest), because advisories and users know it that way; otherwise the purl wins.
//! - Namespaced names join as the ecosystem does: npm `@scope/name`, Composer
//!   `vendor/name`, Go `module/path`, Maven `group:artifact`.
//! - `distro=ID-VERSION` (Trivy, syft, vigil) splits at the last `-` (ids such as
//!   `opensuse-leap` have dashes); a release without a number is a codename
//!   (`debian-trixie`).

use std::str::FromStr;

use packageurl::PackageUrl;
use vigil_detect::{Distro, PkgType};

/// What a purl says about a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurlPackage {
    pub ecosystem: PkgType,
    pub name: String,
    pub version: String,
    pub arch: Option<String>,
    /// From the `upstream` qualifier only; `None` when the purl does not say.
    pub source_name: Option<String>,
    pub source_version: Option<String>,
    /// From the `distro` qualifier.
    pub distro: Option<Distro>,
}

/// Why a purl gives no package.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PurlError {
    #[error("invalid purl {purl:?}: {message}")]
    Invalid { purl: String, message: String },
    #[error("unsupported purl type {ty:?} in {purl:?}")]
    UnsupportedType { purl: String, ty: String },
    #[error("purl {purl:?} has no version")]
    NoVersion { purl: String },
}

/// The ecosystem of a purl type, for the types vigil matches.
pub fn ecosystem(ty: &str) -> Option<PkgType> {
    Some(match ty {
        "deb" => PkgType::Deb,
        "apk" => PkgType::Apk,
        "rpm" => PkgType::Rpm,
        "pypi" => PkgType::Pypi,
        "npm" => PkgType::Npm,
        "cargo" => PkgType::Cargo,
        "golang" => PkgType::Golang,
        "maven" => PkgType::Maven,
        "gem" => PkgType::Gem,
        "composer" => PkgType::Composer,
        "nuget" => PkgType::Nuget,
        _ => return None,
    })
}

/// Parses `purl`. `spelled` is the package's name as the SBOM spells it (see the module
/// docs), if it has one.
///
/// ```
/// let p = vigil_sbom::purl::parse(
///     "pkg:deb/debian/login@4.13%2Bdfsg1-1?arch=amd64&distro=debian-12.15&epoch=1",
///     None,
/// ).unwrap();
/// assert_eq!(p.version, "1:4.13+dfsg1-1");
/// assert_eq!(p.distro.unwrap().version_id.as_deref(), Some("12"));
/// ```
pub fn parse(purl: &str, spelled: Option<&str>) -> Result<PurlPackage, PurlError> {
    let parsed = PackageUrl::from_str(purl).map_err(|e| PurlError::Invalid {
        purl: purl.to_owned(),
        message: e.to_string(),
    })?;
    let ty = parsed.ty();
    let ecosystem = ecosystem(ty).ok_or_else(|| PurlError::UnsupportedType {
        purl: purl.to_owned(),
        ty: ty.to_owned(),
    })?;
    let version =
        parsed
            .version()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| PurlError::NoVersion {
                purl: purl.to_owned(),
            })?;
    let q = parsed.qualifiers();
    let qualifier = |k: &str| q.get(k).map(|v| v.as_ref()).filter(|v| !v.is_empty());

    let mut out = PurlPackage {
        ecosystem,
        name: name_of(ecosystem, parsed.namespace(), parsed.name(), spelled),
        version: version.to_owned(),
        arch: None,
        source_name: None,
        source_version: None,
        distro: qualifier("distro").and_then(distro),
    };
    if ecosystem.is_language() {
        return Ok(out);
    }
    out.arch = qualifier("arch").map(str::to_owned);
    if let Some(epoch) = qualifier("epoch") {
        if matches!(ecosystem, PkgType::Deb | PkgType::Rpm) && !out.version.contains(':') {
            out.version = format!("{epoch}:{}", out.version);
        }
    }
    if let Some(upstream) = qualifier("upstream") {
        match ecosystem {
            PkgType::Deb => match upstream.split_once('@') {
                Some((n, v)) => {
                    out.source_name = Some(n.to_owned());
                    out.source_version = Some(v.to_owned());
                }
                None => out.source_name = Some(upstream.to_owned()),
            },
            PkgType::Apk => out.source_name = Some(upstream.to_owned()),
            PkgType::Rpm => {
                if let Some((n, vr)) = source_rpm(upstream) {
                    out.source_name = Some(n.to_owned());
                    out.source_version = Some(vr.to_owned());
                } else {
                    out.source_name = Some(upstream.to_owned());
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// `NAME-VERSION-RELEASE.src.rpm` -> (`NAME`, `VERSION-RELEASE`).
pub fn source_rpm(file: &str) -> Option<(&str, &str)> {
    let stem = file
        .strip_suffix(".src.rpm")
        .or_else(|| file.strip_suffix(".nosrc.rpm"))?;
    let (rest, release) = stem.rsplit_once('-')?;
    let (name, version) = rest.rsplit_once('-')?;
    if name.is_empty() || version.is_empty() || release.is_empty() {
        return None;
    }
    Some((name, &stem[name.len() + 1..]))
}

fn name_of(eco: PkgType, namespace: Option<&str>, name: &str, spelled: Option<&str>) -> String {
    let joined = match (eco, namespace) {
        (PkgType::Maven, Some(ns)) => format!("{ns}:{name}"),
        (PkgType::Npm | PkgType::Composer | PkgType::Golang, Some(ns)) => format!("{ns}/{name}"),
        _ => name.to_owned(),
    };
    match spelled {
        Some(s)
            if eco == PkgType::Pypi && vigil_detect::pep503(s) == vigil_detect::pep503(&joined) =>
        {
            s.to_owned()
        }
        Some(s) if eco != PkgType::Pypi && s.eq_ignore_ascii_case(&joined) => s.to_owned(),
        _ => joined,
    }
}

/// The name an SBOM component spells, with its group joined as the ecosystem does.
pub(crate) fn spelled_name(ty: Option<&str>, group: Option<&str>, name: &str) -> String {
    match (ty, group.filter(|g| !g.is_empty())) {
        (Some("maven"), Some(g)) => format!("{g}:{name}"),
        (Some(_), Some(g)) if !name.starts_with(&format!("{g}/")) => format!("{g}/{name}"),
        _ => name.to_owned(),
    }
}

/// `ID-VERSION` or `ID-CODENAME`.
pub fn distro(qualifier: &str) -> Option<Distro> {
    let (id, release) = qualifier.rsplit_once('-')?;
    if id.is_empty() || release.is_empty() {
        return None;
    }
    let numbered = release.starts_with(|c: char| c.is_ascii_digit());
    Some(Distro {
        id: id.to_ascii_lowercase(),
        version_id: numbered.then(|| release_of(id, release)),
        codename: (!numbered).then(|| release.to_owned()),
        pretty_name: None,
    })
}

/// Debian's advisories name the major release only (`Debian:12`), as vigil reads
/// `debian_version`; other distributions keep their version as given.
pub(crate) fn release_of(id: &str, version: &str) -> String {
    if id.eq_ignore_ascii_case("debian") {
        version.split('.').next().unwrap_or(version).to_owned()
    } else {
        version.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_purls_give_epoch_arch_source_and_distro() {
        let p = parse(
            "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12&upstream=glibc",
            None,
        )
        .unwrap();
        assert_eq!(p.name, "libc6");
        assert_eq!(p.version, "2.36-9+deb12u4");
        assert_eq!(p.arch.as_deref(), Some("amd64"));
        assert_eq!(p.source_name.as_deref(), Some("glibc"));
        assert_eq!(p.source_version, None);
        let d = p.distro.unwrap();
        assert_eq!(
            (d.id.as_str(), d.version_id.as_deref()),
            ("debian", Some("12"))
        );

        let p = parse("pkg:deb/debian/x@1.0-1?upstream=y%401.0-2", None).unwrap();
        assert_eq!(p.source_name.as_deref(), Some("y"));
        assert_eq!(p.source_version.as_deref(), Some("1.0-2"));

        let p = parse(
            "pkg:rpm/rhel/bash@4.4.19-14.el8?arch=x86_64&epoch=2&upstream=bash-4.4.19-14.el8.src.rpm",
            None,
        )
        .unwrap();
        assert_eq!(p.version, "2:4.4.19-14.el8");
        assert_eq!(p.source_name.as_deref(), Some("bash"));
        assert_eq!(p.source_version.as_deref(), Some("4.4.19-14.el8"));

        let p = parse(
            "pkg:apk/alpine/libcrypto3@3.1.4-r0?arch=x86_64&upstream=openssl&distro=alpine-3.18.4",
            None,
        )
        .unwrap();
        assert_eq!(p.source_name.as_deref(), Some("openssl"));
        assert_eq!(p.distro.unwrap().version_id.as_deref(), Some("3.18.4"));
    }

    #[test]
    fn language_names_join_namespaces_and_keep_the_spelling() {
        let name = |purl: &str, spelled| parse(purl, spelled).unwrap().name;
        assert_eq!(name("pkg:npm/%40babel/core@7.0.0", None), "@babel/core");
        assert_eq!(
            name("pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1", None),
            "org.apache.logging.log4j:log4j-core"
        );
        assert_eq!(
            name("pkg:composer/symfony/http-kernel@5.0.0", None),
            "symfony/http-kernel"
        );
        assert_eq!(
            name("pkg:golang/github.com/pkg/errors@v0.9.1", None),
            "github.com/pkg/errors"
        );
        assert_eq!(name("pkg:pypi/jinja2@2.10", Some("Jinja2")), "Jinja2");
        assert_eq!(
            name("pkg:pypi/zope-interface@5", Some("zope.interface")),
            "zope.interface"
        );
        assert_eq!(name("pkg:pypi/jinja2@2.10", Some("requests")), "jinja2");
        assert_eq!(
            name(
                "pkg:golang/github.com/sirupsen/logrus@v1.9.0",
                Some("github.com/Sirupsen/logrus")
            ),
            "github.com/Sirupsen/logrus"
        );
    }

    #[test]
    fn every_supported_type_gives_its_ecosystem() {
        for (purl, eco, name, version) in [
            (
                "pkg:cargo/smallvec@0.6.9",
                PkgType::Cargo,
                "smallvec",
                "0.6.9",
            ),
            ("pkg:gem/rack@2.2.3", PkgType::Gem, "rack", "2.2.3"),
            (
                "pkg:nuget/Newtonsoft.Json@12.0.1",
                PkgType::Nuget,
                "Newtonsoft.Json",
                "12.0.1",
            ),
            (
                "pkg:golang/stdlib@v1.21.5",
                PkgType::Golang,
                "stdlib",
                "v1.21.5",
            ),
            (
                "pkg:apk/alpine/musl@1.2.4-r0?arch=x86_64",
                PkgType::Apk,
                "musl",
                "1.2.4-r0",
            ),
            (
                "pkg:rpm/fedora/curl@7.50.3-1.fc25?arch=i386",
                PkgType::Rpm,
                "curl",
                "7.50.3-1.fc25",
            ),
        ] {
            let p = parse(purl, None).unwrap();
            assert_eq!(
                (p.ecosystem, p.name.as_str(), p.version.as_str()),
                (eco, name, version),
                "{purl}"
            );
        }
    }

    #[test]
    fn unusable_purls_say_why() {
        assert_eq!(
            parse("pkg:github/a/b@1", None).unwrap_err().to_string(),
            "unsupported purl type \"github\" in \"pkg:github/a/b@1\""
        );
        assert_eq!(
            parse("pkg:npm/lodash", None).unwrap_err().to_string(),
            "purl \"pkg:npm/lodash\" has no version"
        );
        assert!(matches!(
            parse("lodash@1", None),
            Err(PurlError::Invalid { .. })
        ));
    }

    #[test]
    fn distro_qualifiers() {
        let d = distro("opensuse-leap-15.4").unwrap();
        assert_eq!(
            (d.id.as_str(), d.version_id.as_deref()),
            ("opensuse-leap", Some("15.4"))
        );
        let d = distro("debian-trixie").unwrap();
        assert_eq!(
            (d.version_id, d.codename.as_deref()),
            (None, Some("trixie"))
        );
        assert_eq!(distro("debian"), None);
    }
}
