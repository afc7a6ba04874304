//! vigil-sbom: software bills of materials in and out (SPEC 2.1 `sbom:`, 3.4, issue 7).
//!
//! [`read`] turns a CycloneDX JSON (1.2 to 1.7) or SPDX JSON (2.2, 2.3) document into an
//! [`Inventory`], so that its packages are matched like an image's; [`write_cyclonedx`]
//! (CycloneDX 1.6) and [`write_spdx`] (SPDX 2.3) write an inventory out. What vigil writes,
//! vigil reads back to the same packages and distribution (the round trip is tested on the
//! real test images).
//!
//! # Reading
//!
//! The format is sniffed from the document: `"bomFormat": "CycloneDX"` or `"spdxVersion":
//! "SPDX-2.x"`. The document is parsed as a stream (it is never held whole in memory) and
//! refused past [`MAX_SBOM_SIZE`] bytes. Only the fields vigil needs are kept.
//!
//! - Packages come from purls (CycloneDX `purl`, SPDX `externalRefs` of type `purl`), for
//!   the types `deb`, `apk`, `rpm`, `pypi`, `npm`, `cargo`, `golang`, `maven`, `gem`,
//!   `composer`, `nuget` (see [`purl`] for the traps: epochs, scopes, Maven groups).
//! - The source package comes from, in order: vigil's own properties, the purl's
//!   `upstream` qualifier, Trivy's `SrcName`/`SrcVersion`/`SrcRelease`/`SrcEpoch`
//!   properties (CycloneDX) or annotations (SPDX), SPDX `sourceInfo` (`built package from:
//!   NAME VERSION`), else the package manager's default (a dpkg package without `Source:`
//!   is its own source; an apk package without origin likewise; rpm has none).
//! - The distribution comes from the CycloneDX `operating-system` component or the SPDX
//!   package whose `primaryPackagePurpose` is `OPERATING_SYSTEM`, else from the first
//!   `distro=ID-VERSION` purl qualifier. Debian's point release is cut to its major
//!   number (`12.15` is `Debian:12` in advisories, as `debian_version` is read).
//! - The image (reference, manifest digest, layers) comes from CycloneDX
//!   `metadata.component` / the SPDX `CONTAINER` package (else the document name), with
//!   vigil's properties where present and Trivy's `RepoDigest`.
//! - A component with no purl, an unsupported purl type, an invalid purl or no version is
//!   never dropped silently: each is an entry of [`Inventory::errors`] naming the SBOM and
//!   the component, so the scan's coverage says the inventory is incomplete (SPEC 5.7).
//!
//! # Writing
//!
//! Both writers are deterministic apart from the timestamp the caller passes in: identifiers
//! (CycloneDX `serialNumber` and `bom-ref`, SPDX `documentNamespace` and `SPDXID`s) are
//! derived from the inventory's content. vigil's own facts that the formats have no field
//! for are kept as properties (CycloneDX) or annotations whose comment is `NAME=VALUE`
//! (SPDX), all named `vigil:*` — a documented contract:
//!
//! | name | on | value |
//! |---|---|---|
//! | `vigil:manifest_digest` | image | `sha256:...` |
//! | `vigil:image_layer` | image, once per layer in order | `DIGEST SIZE` |
//! | `vigil:detector_error` | image, once per error | JSON `{"path","layer","message"}` |
//! | `vigil:codename` | operating system | e.g. `bookworm` |
//! | `vigil:layer` | package | digest of the layer that introduced it |
//! | `vigil:path` | package | the file it was read from |
//! | `vigil:source_name`, `vigil:source_version` | package | the source package |

mod cyclonedx;
mod limit;
pub mod purl;
mod read;
mod spdx;
pub mod vex;
mod write;

use std::io::{Read, Write};
use std::path::Path;
use std::time::SystemTime;

pub use vigil_scan::Inventory;

/// The largest SBOM [`read`] accepts, in bytes (an SBOM of a very large image is tens of
/// megabytes).
pub const MAX_SBOM_SIZE: u64 = 256 * 1024 * 1024;

/// An SBOM format vigil writes. Stable kebab-case names: `cyclonedx`, `spdx`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// CycloneDX 1.6 JSON
    CycloneDx,
    /// SPDX 2.3 JSON
    Spdx,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::CycloneDx => "cyclonedx",
            Format::Spdx => "spdx",
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Format {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "cyclonedx" => Ok(Format::CycloneDx),
            "spdx" => Ok(Format::Spdx),
            _ => Err(Error::UnknownFormat(s.to_owned())),
        }
    }
}

/// Why an SBOM could not be read or written. Each message names the SBOM.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("cannot read sbom {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("sbom {path} is larger than the limit of {limit} bytes")]
    TooLarge { path: String, limit: u64 },
    #[error("sbom {path}: {problem}")]
    Invalid { path: String, problem: String },
    #[error(
        "sbom {path} is neither CycloneDX JSON (\"bomFormat\": \"CycloneDX\") nor SPDX JSON (\"spdxVersion\": \"SPDX-2.3\")"
    )]
    NotSbom { path: String },
    #[error("sbom {path}: {format} version {version:?} is not supported (expected {expected})")]
    UnsupportedVersion {
        path: String,
        format: &'static str,
        version: String,
        expected: &'static str,
    },
    #[error("unknown sbom format {0:?} (expected cyclonedx or spdx)")]
    UnknownFormat(String),
    #[error("cannot write sbom: {0}")]
    Write(#[source] std::io::Error),
}

/// Reads the SBOM at `path`. See the crate docs for what is taken from it.
pub fn read(path: impl AsRef<Path>) -> Result<Inventory, Error> {
    let path = path.as_ref();
    let name = path.display().to_string();
    let io = |source| Error::Io {
        path: name.clone(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if meta.is_dir() {
        return Err(Error::Invalid {
            path: name,
            problem: "is a directory, not an SBOM file".into(),
        });
    }
    if meta.len() > MAX_SBOM_SIZE {
        return Err(Error::TooLarge {
            path: name,
            limit: MAX_SBOM_SIZE,
        });
    }
    read_from(std::io::BufReader::new(file), &name)
}

/// Reads an SBOM from `reader`; `name` names it in errors and stands for the file the
/// packages were found in when the SBOM does not say.
pub fn read_from(reader: impl Read, name: &str) -> Result<Inventory, Error> {
    read_limited(reader, name, MAX_SBOM_SIZE)
}

/// [`read_from`] with a size limit of `max_size` bytes instead of [`MAX_SBOM_SIZE`].
pub fn read_limited(reader: impl Read, name: &str, max_size: u64) -> Result<Inventory, Error> {
    read::read(reader, name, max_size)
}

/// Writes `inventory` as a CycloneDX 1.6 JSON document, created at `timestamp`.
pub fn write_cyclonedx(
    inventory: &Inventory,
    timestamp: SystemTime,
    w: impl Write,
) -> Result<(), Error> {
    cyclonedx::write(inventory, timestamp, w)
}

/// Writes `inventory` as an SPDX 2.3 JSON document, created at `timestamp`.
pub fn write_spdx(
    inventory: &Inventory,
    timestamp: SystemTime,
    w: impl Write,
) -> Result<(), Error> {
    spdx::write(inventory, timestamp, w)
}

/// Writes `inventory` in `format`.
pub fn write(
    format: Format,
    inventory: &Inventory,
    timestamp: SystemTime,
    w: impl Write,
) -> Result<(), Error> {
    match format {
        Format::CycloneDx => write_cyclonedx(inventory, timestamp, w),
        Format::Spdx => write_spdx(inventory, timestamp, w),
    }
}
