//! Package URLs for OS packages (SPEC 3.4), following the purl-spec `deb`, `apk` and
//! `rpm` types and the conventions syft and Trivy share:
//!
//! - namespace: the distribution id (`debian`, `ubuntu`, `alpine`, `rhel`, ...); without a
//!   known distribution `deb` defaults to `debian`, `apk` to `alpine`, `rpm` has none;
//! - version: dpkg's full version (with its epoch, as syft writes it), apk's `V:`, rpm's
//!   `version-release` with the epoch in the `epoch` qualifier (purl-spec `rpm`);
//! - qualifiers, sorted by key: `arch`, `distro=ID-VERSION_ID` (the codename when the
//!   release has no number, as Debian testing), `epoch` (rpm), `upstream`: the source
//!   package when it differs from the binary (`NAME@VERSION` for deb when the versions
//!   differ too; the source rpm's file name for rpm).
//!
//! Language packages follow their purl-spec types and take no distribution: `pypi`
//! names are lower-cased with runs of `-`, `_`, `.` as one `-` (PEP 503), an npm
//! `@scope/name` has the namespace `@scope` (encoded `%40scope`), Maven `group:artifact`
//! is `pkg:maven/group/artifact@v`, Composer `vendor/name` is `pkg:composer/vendor/name`,
//! a Go module path is split at its last `/` into namespace and name
//! (`pkg:golang/github.com/pkg/errors@v0.9.1`).
//!
//! Values are percent-encoded by the `packageurl` crate (`+` becomes `%2B`).

use packageurl::PackageUrl;

use crate::{Distro, Package, PkgType};

impl Package {
    /// The package URL of this package in `distro`. See the module docs for the rules.
    ///
    /// ```
    /// # use vigil_detect::{Package, PkgType, Distro};
    /// let pkg = Package { ecosystem: PkgType::Deb, name: "libc6".into(),
    ///     version: "2.36-9+deb12u4".into(), epoch: None, arch: Some("amd64".into()),
    ///     source_name: Some("glibc".into()), source_version: Some("2.36-9+deb12u4".into()),
    ///     path: "var/lib/dpkg/status".into(), dev: false };
    /// let debian = Distro { id: "debian".into(), version_id: Some("12".into()),
    ///     codename: Some("bookworm".into()), pretty_name: None };
    /// assert_eq!(pkg.purl(Some(&debian)),
    ///     "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12&upstream=glibc");
    /// ```
    pub fn purl(&self, distro: Option<&Distro>) -> String {
        if self.ecosystem.is_language() {
            return self.language_purl();
        }
        let namespace = match (distro, self.ecosystem) {
            (Some(d), _) => Some(d.id.as_str()),
            (None, PkgType::Deb) => Some("debian"),
            (None, PkgType::Apk) => Some("alpine"),
            (None, _) => None,
        };
        let version = match self.ecosystem {
            PkgType::Rpm => self
                .version
                .split_once(':')
                .map_or(self.version.as_str(), |(_, vr)| vr),
            _ => self.version.as_str(),
        };
        let mut qualifiers: Vec<(&str, String)> = Vec::new();
        if let Some(arch) = &self.arch {
            qualifiers.push(("arch", arch.clone()));
        }
        if let Some(d) = distro {
            if let Some(release) = d.version_id.as_ref().or(d.codename.as_ref()) {
                qualifiers.push(("distro", format!("{}-{}", d.id, release)));
            }
        }
        if self.ecosystem == PkgType::Rpm {
            if let Some(epoch) = self.epoch {
                qualifiers.push(("epoch", epoch.to_string()));
            }
        }
        if let Some(upstream) = self.upstream() {
            qualifiers.push(("upstream", upstream));
        }
        build(
            self.ecosystem.as_str(),
            namespace,
            &self.name,
            version,
            &qualifiers,
        )
    }

    fn language_purl(&self) -> String {
        let ty = self.ecosystem.as_str();
        let (namespace, name) = match self.ecosystem {
            PkgType::Pypi => (None, pep503(&self.name)),
            PkgType::Npm | PkgType::Composer | PkgType::Golang => {
                match self.name.rsplit_once('/') {
                    Some((ns, name)) if !ns.is_empty() && !name.is_empty() => {
                        (Some(ns), name.to_owned())
                    }
                    _ => (None, self.name.clone()),
                }
            }
            PkgType::Maven => match self.name.split_once(':') {
                Some((group, artifact)) if !group.is_empty() && !artifact.is_empty() => {
                    (Some(group), artifact.to_owned())
                }
                _ => (None, self.name.clone()),
            },
            _ => (None, self.name.clone()),
        };
        build(ty, namespace, &name, &self.version, &[])
    }

    fn upstream(&self) -> Option<String> {
        let src = self.source_name.as_deref()?;
        match self.ecosystem {
            PkgType::Deb => {
                let src_version = self.source_version.as_deref().unwrap_or(&self.version);
                if src_version != self.version {
                    Some(format!("{src}@{src_version}"))
                } else if src != self.name {
                    Some(src.to_owned())
                } else {
                    None
                }
            }
            PkgType::Apk => (src != self.name).then(|| src.to_owned()),
            PkgType::Rpm => {
                let vr = self.source_version.as_deref()?;
                Some(format!("{src}-{vr}.src.rpm"))
            }
            _ => None,
        }
    }
}

/// PEP 503 normalisation: lower case, each run of `-`, `_`, `.` as one `-` (the name a
/// `pkg:pypi` purl carries).
pub fn pep503(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.extend(c.to_lowercase());
        }
    }
    out
}

fn build(
    ty: &str,
    namespace: Option<&str>,
    name: &str,
    version: &str,
    qualifiers: &[(&str, String)],
) -> String {
    let built = (|| -> Result<String, packageurl::Error> {
        let mut purl = PackageUrl::new(ty, name)?;
        if let Some(ns) = namespace {
            purl.with_namespace(ns)?;
        }
        purl.with_version(version)?;
        for (k, v) in qualifiers {
            purl.add_qualifier(*k, v.as_str())?;
        }
        Ok(purl.to_string())
    })();
    // The builder only refuses empty names and malformed qualifier keys, which our
    // parsers never produce; keep a readable, unencoded form rather than panic.
    built.unwrap_or_else(|_| {
        let ns = namespace.map(|n| format!("{n}/")).unwrap_or_default();
        format!("pkg:{ty}/{ns}{name}@{version}")
    })
}
