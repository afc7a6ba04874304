//! IMAGE strings, named the way skopeo names them (SPEC 2.1):
//! `oci:DIR[:TAG|@DIGEST]`, `oci-archive:FILE[:TAG]`, `docker-archive:FILE`, `dir:ROOTFS`,
//! `docker://HOST/REPO[:TAG|@DIGEST]`, a bare `HOST/REPO[:TAG|@DIGEST]`, or a plain path.
//!
//! Traps: a path may itself contain `:` (so `oci:DIR:TAG` splits at the *last* colon, and
//! only when what follows looks like a tag, not a path); a bare `host:5000/repo` has a colon
//! that is a port, not a tag; and a relative path like `images/app` looks like a repository,
//! so anything that exists on disk is a path first.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::digest::Digest;
use crate::error::ParseError;

/// Which image inside an OCI layout or archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// The only image there (or the one matching the platform).
    Default,
    /// The image whose `org.opencontainers.image.ref.name` is this tag.
    Tag(String),
    /// The manifest or index with this digest.
    Digest(Digest),
}

/// A parsed IMAGE string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// `oci:DIR[:TAG|@DIGEST]`
    OciLayout {
        /// the layout directory
        path: PathBuf,
        /// which image
        selector: Selector,
    },
    /// `oci-archive:FILE[:TAG]`
    OciArchive {
        /// the tar file
        path: PathBuf,
        /// which image
        selector: Selector,
    },
    /// `docker-archive:FILE` (`docker save`, manifest.json or legacy layout)
    DockerArchive {
        /// the tar file
        path: PathBuf,
    },
    /// `dir:ROOTFS`, an unpacked root filesystem
    Rootfs {
        /// the directory
        path: PathBuf,
    },
    /// `docker://HOST/REPO[:TAG|@DIGEST]` or a bare registry reference
    Registry {
        /// the registry host (with port)
        registry: String,
        /// the repository path
        repository: String,
        /// the tag, `latest` when neither tag nor digest is given
        tag: Option<String>,
        /// the digest
        digest: Option<Digest>,
    },
    /// A plain path, sniffed when opened.
    Path(PathBuf),
}

fn looks_like_tag(s: &str) -> bool {
    // OCI tag grammar: [A-Za-z0-9_][A-Za-z0-9._-]{0,127}
    !s.is_empty()
        && s.len() <= 128
        && !s.starts_with(['.', '-'])
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Splits `PATH[:TAG|@DIGEST]`.
fn split_selector(s: &str, allow_digest: bool) -> Result<(PathBuf, Selector), ParseError> {
    if allow_digest
        && let Some((path, digest)) = s.rsplit_once('@')
        && digest.contains(':')
    {
        return Ok((PathBuf::from(path), Selector::Digest(digest.parse()?)));
    }
    if let Some((path, tag)) = s.rsplit_once(':')
        && !path.is_empty()
        && looks_like_tag(tag)
        && !Path::new(s).exists()
    {
        return Ok((PathBuf::from(path), Selector::Tag(tag.to_string())));
    }
    Ok((PathBuf::from(s), Selector::Default))
}

fn parse_registry(full: &str, s: &str) -> Result<Reference, ParseError> {
    let invalid = |detail: &str| ParseError::InvalidRegistry {
        reference: full.to_string(),
        detail: detail.to_string(),
    };
    let (rest, digest) = match s.split_once('@') {
        Some((rest, d)) => (rest, Some(d.parse::<Digest>()?)),
        None => (s, None),
    };
    let (name, tag) = match rest.rfind(':') {
        Some(i) if !rest[i + 1..].contains('/') => (&rest[..i], Some(rest[i + 1..].to_string())),
        _ => (rest, None),
    };
    if let Some(t) = &tag
        && !looks_like_tag(t)
    {
        return Err(invalid(&format!("tag `{t}` is invalid")));
    }
    let (host, repo) = name
        .split_once('/')
        .ok_or_else(|| invalid("expected HOST/REPOSITORY"))?;
    if host.is_empty() || repo.is_empty() {
        return Err(invalid("expected HOST/REPOSITORY"));
    }
    if !repo.split('/').all(|c| {
        !c.is_empty()
            && c.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            })
    }) {
        return Err(invalid(
            "repository must be lower-case path components of [a-z0-9._-]",
        ));
    }
    let tag = if tag.is_none() && digest.is_none() {
        Some("latest".to_string())
    } else {
        tag
    };
    Ok(Reference::Registry {
        registry: host.to_string(),
        repository: repo.to_string(),
        tag,
        digest,
    })
}

/// A first path component that names a host: has a dot or a port, or is `localhost`.
fn looks_like_host(s: &str) -> bool {
    match s.split_once('/') {
        Some((host, _)) => host.contains('.') || host.contains(':') || host == "localhost",
        None => false,
    }
}

impl FromStr for Reference {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err(ParseError::Empty);
        }
        let nonempty = |rest: &str| {
            if rest.is_empty() {
                Err(ParseError::MissingTarget(s.to_string()))
            } else {
                Ok(())
            }
        };
        if let Some(rest) = s.strip_prefix("oci:") {
            nonempty(rest)?;
            let (path, selector) = split_selector(rest, true)?;
            return Ok(Reference::OciLayout { path, selector });
        }
        if let Some(rest) = s.strip_prefix("oci-archive:") {
            nonempty(rest)?;
            let (path, selector) = split_selector(rest, false)?;
            return Ok(Reference::OciArchive { path, selector });
        }
        if let Some(rest) = s.strip_prefix("docker-archive:") {
            nonempty(rest)?;
            // skopeo allows docker-archive:FILE:REF; we read the archive's only image
            let path = match rest.rsplit_once(':') {
                Some((p, _)) if !Path::new(rest).exists() && Path::new(p).exists() => p,
                _ => rest,
            };
            return Ok(Reference::DockerArchive {
                path: PathBuf::from(path),
            });
        }
        if let Some(rest) = s.strip_prefix("dir:") {
            nonempty(rest)?;
            return Ok(Reference::Rootfs {
                path: PathBuf::from(rest),
            });
        }
        if let Some(rest) = s.strip_prefix("docker://") {
            nonempty(rest)?;
            return parse_registry(s, rest);
        }
        if Path::new(s).exists()
            || s.starts_with(['/', '.', '~'])
            || !looks_like_host(s)
            || s.ends_with(".tar")
        {
            return Ok(Reference::Path(PathBuf::from(s)));
        }
        parse_registry(s, s)
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Selector::Default => Ok(()),
            Selector::Tag(t) => write!(f, ":{t}"),
            Selector::Digest(d) => write!(f, "@{d}"),
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reference::OciLayout { path, selector } => {
                write!(f, "oci:{}{selector}", path.display())
            }
            Reference::OciArchive { path, selector } => {
                write!(f, "oci-archive:{}{selector}", path.display())
            }
            Reference::DockerArchive { path } => write!(f, "docker-archive:{}", path.display()),
            Reference::Rootfs { path } => write!(f, "dir:{}", path.display()),
            Reference::Registry {
                registry,
                repository,
                tag,
                digest,
            } => {
                write!(f, "docker://{registry}/{repository}")?;
                if let Some(t) = tag {
                    write!(f, ":{t}")?;
                }
                if let Some(d) = digest {
                    write!(f, "@{d}")?;
                }
                Ok(())
            }
            Reference::Path(p) => write!(f, "{}", p.display()),
        }
    }
}

/// An OS and architecture, as in an image index (`linux/amd64`, `linux/arm64/v8`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// e.g. `linux`
    pub os: String,
    /// e.g. `amd64`
    pub architecture: String,
    /// e.g. `v8`
    pub variant: Option<String>,
}

impl Platform {
    /// `linux/amd64`, the default of SPEC 2.1.
    pub fn linux_amd64() -> Self {
        Platform {
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
        }
    }

    /// Whether an index entry's platform satisfies this one. A variant is compared only
    /// when this platform names one.
    pub fn matches(&self, os: &str, architecture: &str, variant: Option<&str>) -> bool {
        self.os == os
            && self.architecture == architecture
            && (self.variant.is_none() || self.variant.as_deref() == variant)
    }
}

impl FromStr for Platform {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split('/').collect();
        if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.is_empty()) {
            return Err(ParseError::InvalidPlatform(s.to_string()));
        }
        Ok(Platform {
            os: parts[0].to_string(),
            architecture: parts[1].to_string(),
            variant: parts.get(2).map(|v| v.to_string()),
        })
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Reference {
        s.parse().unwrap()
    }

    #[test]
    fn transports() {
        assert_eq!(
            p("oci:/x/layout:app"),
            Reference::OciLayout {
                path: "/x/layout".into(),
                selector: Selector::Tag("app".into())
            }
        );
        assert_eq!(
            p("oci:/x/layout"),
            Reference::OciLayout {
                path: "/x/layout".into(),
                selector: Selector::Default
            }
        );
        let d = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(
            p(&format!("oci:/x/l@{d}")),
            Reference::OciLayout {
                path: "/x/l".into(),
                selector: Selector::Digest(d.parse().unwrap())
            }
        );
        assert_eq!(
            p("oci-archive:a.tar:v1"),
            Reference::OciArchive {
                path: "a.tar".into(),
                selector: Selector::Tag("v1".into())
            }
        );
        assert_eq!(
            p("docker-archive:a.tar"),
            Reference::DockerArchive {
                path: "a.tar".into()
            }
        );
        assert_eq!(p("dir:/r"), Reference::Rootfs { path: "/r".into() });
        assert_eq!(
            p("docker://127.0.0.1:5000/test/app:latest"),
            Reference::Registry {
                registry: "127.0.0.1:5000".into(),
                repository: "test/app".into(),
                tag: Some("latest".into()),
                digest: None
            }
        );
        assert_eq!(
            p("localhost:5000/a/b"),
            Reference::Registry {
                registry: "localhost:5000".into(),
                repository: "a/b".into(),
                tag: Some("latest".into()),
                digest: None
            }
        );
        assert_eq!(p("/no/such/path"), Reference::Path("/no/such/path".into()));
    }

    #[test]
    fn errors() {
        assert_eq!("".parse::<Reference>(), Err(ParseError::Empty));
        assert!(matches!(
            "oci:".parse::<Reference>(),
            Err(ParseError::MissingTarget(_))
        ));
        assert!(matches!(
            "oci:/x@sha256:zz".parse::<Reference>(),
            Err(ParseError::InvalidDigest(_))
        ));
        assert!(matches!(
            "docker://reg.example/UPPER:tag".parse::<Reference>(),
            Err(ParseError::InvalidRegistry { .. })
        ));
        assert!("linux".parse::<Platform>().is_err());
        assert_eq!(
            "linux/arm64/v8".parse::<Platform>().unwrap().to_string(),
            "linux/arm64/v8"
        );
    }

    proptest::proptest! {
        #[test]
        fn display_round_trips(repo in "[a-z0-9]{1,8}(/[a-z0-9]{1,8}){0,2}", tag in "[a-zA-Z0-9_][a-zA-Z0-9._-]{0,20}", port in 1u16..) {
            let s = format!("docker://reg.example:{port}/{repo}:{tag}");
            let r: Reference = s.parse().unwrap();
            proptest::prop_assert_eq!(r.to_string(), s.clone());
            let r2: Reference = r.to_string().parse().unwrap();
            proptest::prop_assert_eq!(r2, r);
        }
    }
}
