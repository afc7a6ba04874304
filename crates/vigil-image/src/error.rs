//! Errors of this crate. Every message is lower case, names the input (image, digest, path)
//! and says what was expected and what was found (STYLE.md, Errors).

use std::fmt;

/// Why an IMAGE string could not be parsed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    /// The string was empty.
    #[error("image reference is empty")]
    Empty,
    /// A transport prefix was given without anything after it.
    #[error("image reference `{0}` names no file, directory or repository after the transport")]
    MissingTarget(String),
    /// A registry reference that the distribution grammar rejects.
    #[error("image reference `{reference}` is not a valid registry reference: {detail}")]
    InvalidRegistry {
        /// the string given
        reference: String,
        /// why it is invalid
        detail: String,
    },
    /// A digest that is not `ALGORITHM:HEX`.
    #[error("digest `{0}` is not of the form sha256:<64 hex digits>")]
    InvalidDigest(String),
    /// A platform that is not `OS/ARCH[/VARIANT]`.
    #[error("platform `{0}` is not of the form os/arch[/variant]")]
    InvalidPlatform(String),
}

/// An error while opening or reading an image: the image (as given) and what went wrong.
#[derive(Debug, thiserror::Error)]
#[error("image {image}: {kind}")]
pub struct Error {
    image: String,
    #[source]
    kind: ErrorKind,
}

impl Error {
    pub(crate) fn new(image: impl fmt::Display, kind: ErrorKind) -> Self {
        Self {
            image: image.to_string(),
            kind,
        }
    }

    /// The image the error is about, as displayed by [`crate::Reference`].
    pub fn image(&self) -> &str {
        &self.image
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// A stable kebab-case name of the kind, for JSON output and tests.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// A suggestion to print on a `hint:` line after the error, when there is one.
    pub fn hint(&self) -> Option<&'static str> {
        match &self.kind {
            // `ubuntu:22.04` or `myrepo/app` are read as paths: say how to name a registry
            ErrorKind::NotFound { .. }
                if ![
                    "oci:",
                    "oci-archive:",
                    "docker-archive:",
                    "dir:",
                    "docker://",
                ]
                .iter()
                .any(|t| self.image.starts_with(t)) =>
            {
                Some(
                    "a registry image is written docker://HOST/REPO[:TAG] or HOST/REPO[:TAG] with a host name",
                )
            }
            ErrorKind::LayerTooLarge { .. } => {
                Some("raise the layer size limit if the image is genuine")
            }
            _ => None,
        }
    }
}

/// What went wrong with an image. Each variant names the file, blob or path concerned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A file of the image source could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// the file or member
        path: String,
        /// the OS error
        source: std::io::Error,
    },
    /// The path given does not exist.
    #[error("{path} does not exist")]
    NotFound {
        /// the path given
        path: String,
    },
    /// The source exists but is neither an OCI layout, an archive nor a directory.
    #[error("{path} is not an oci layout, oci-archive, docker-archive or directory: {detail}")]
    UnknownFormat {
        /// the path given
        path: String,
        /// what was found
        detail: String,
    },
    /// A JSON document (index, manifest, config) is malformed.
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// which document, e.g. `index.json` or `manifest sha256:...`
        what: String,
        /// what is wrong
        detail: String,
    },
    /// A JSON document is larger than we accept.
    #[error("{what} is {size} bytes, more than the limit of {limit} bytes")]
    DocumentTooLarge {
        /// which document
        what: String,
        /// its declared or actual size
        size: u64,
        /// the limit
        limit: u64,
    },
    /// The tag asked for is not in the layout or archive.
    #[error("tag `{tag}` not found; available: {available}")]
    TagNotFound {
        /// the tag asked for
        tag: String,
        /// the tags present
        available: String,
    },
    /// The layout holds several images and none was picked.
    #[error("holds {count} images ({available}); pick one with :TAG or @DIGEST")]
    Ambiguous {
        /// how many
        count: usize,
        /// their tags or digests
        available: String,
    },
    /// An image index has no manifest for the wanted platform.
    #[error("no manifest for platform {wanted} in index {index}; available: {available}")]
    NoMatchingPlatform {
        /// the platform asked for
        wanted: String,
        /// the index digest or name
        index: String,
        /// the platforms it lists
        available: String,
    },
    /// A manifest, config or layer the image references is not there.
    #[error("blob {digest} is missing{detail}")]
    BlobMissing {
        /// its digest
        digest: String,
        /// where it was looked for
        detail: String,
    },
    /// A blob's content does not hash to its digest.
    #[error("blob {digest} does not match its digest: content hashes to {actual}")]
    DigestMismatch {
        /// the expected digest
        digest: String,
        /// what the content hashes to
        actual: String,
    },
    /// A blob is larger or smaller than its descriptor says.
    #[error("blob {digest} should be {expected} bytes but {actual}")]
    SizeMismatch {
        /// its digest
        digest: String,
        /// the size in the descriptor
        expected: u64,
        /// what was found, e.g. `is 12 bytes` or `is longer`
        actual: String,
    },
    /// A digest this crate cannot verify or that is malformed.
    #[error("unsupported or malformed digest `{0}` (expected sha256:<64 hex digits>)")]
    BadDigest(String),
    /// A layer decompresses to more bytes than allowed (decompression bomb).
    #[error("layer {digest} decompresses to more than {limit} bytes (the limit)")]
    LayerTooLarge {
        /// the layer digest
        digest: String,
        /// the limit
        limit: u64,
    },
    /// A layer whose decompressed size is out of all proportion to its compressed size: a
    /// decompression bomb (real layers inflate a few times, at most tens of times).
    #[error(
        "layer {digest} is a decompression bomb: {compressed} compressed bytes inflated to more than {decompressed} bytes"
    )]
    DecompressionBomb {
        /// the layer digest
        digest: String,
        /// compressed bytes read when it tripped
        compressed: u64,
        /// decompressed bytes produced when it tripped
        decompressed: u64,
    },
    /// A tar entry (or hard-link target) whose name climbs above the image root with `..`.
    #[error("layer {digest} has an entry `{path}` that climbs out of the image root")]
    PathEscapes {
        /// the layer digest
        digest: String,
        /// the entry name as stored
        path: String,
    },
    /// A layer ends early: truncated gzip, zstd or tar.
    #[error("layer {digest} is truncated: {detail}")]
    Truncated {
        /// the layer digest
        digest: String,
        /// where it stopped
        detail: String,
    },
    /// A layer is not a valid (compressed) tar.
    #[error("layer {digest} is corrupt: {detail}")]
    CorruptLayer {
        /// the layer digest
        digest: String,
        /// what is wrong
        detail: String,
    },
    /// A path in a layer or root filesystem is longer than PATH_MAX.
    #[error(
        "layer {digest} has a path of {len} bytes, longer than PATH_MAX ({max}): `{prefix}...`"
    )]
    PathTooLong {
        /// the layer digest, or `rootfs`
        digest: String,
        /// the first bytes of the path
        prefix: String,
        /// its length
        len: usize,
        /// the limit
        max: usize,
    },
    /// A whiteout that names nothing or a parent directory.
    #[error("layer {digest} has an invalid whiteout `{path}`: {detail}")]
    BadWhiteout {
        /// the layer digest
        digest: String,
        /// the whiteout entry
        path: String,
        /// what is wrong
        detail: String,
    },
    /// A file a detector wants is larger than the per-file read limit.
    #[error(
        "file {path} in {layer} is {size} bytes, more than the per-file limit of {limit} bytes"
    )]
    FileTooLarge {
        /// the file
        path: String,
        /// the layer digest or `rootfs`
        layer: String,
        /// its size
        size: u64,
        /// the limit
        limit: u64,
    },
    /// The sink failed while reading a file.
    #[error("reading {path} failed: {source}")]
    Sink {
        /// the file
        path: String,
        /// the sink's error
        source: std::io::Error,
    },
    /// A layer index out of range or a walk that does not fit the source.
    #[error("{0}")]
    Usage(String),
    /// A media type this crate does not read.
    #[error("unsupported media type `{media_type}` for {what}")]
    UnsupportedMediaType {
        /// the media type
        media_type: String,
        /// which document or blob
        what: String,
    },
    /// The registry refused credentials.
    #[error("registry {registry} refused authentication: {detail}")]
    Auth {
        /// the registry host
        registry: String,
        /// its answer
        detail: String,
    },
    /// The registry answered with an error or could not be reached.
    #[error("registry {registry}: {detail}")]
    Registry {
        /// the registry host
        registry: String,
        /// what happened
        detail: String,
    },
    /// The docker config file could not be read.
    #[error("docker config {path}: {detail}")]
    DockerConfig {
        /// its path
        path: String,
        /// what is wrong
        detail: String,
    },
    /// This build has no registry support.
    #[error("registry support is not compiled in (feature `registry`)")]
    RegistryDisabled,
}

impl ErrorKind {
    /// A stable kebab-case name for the kind.
    pub fn code(&self) -> &'static str {
        match self {
            ErrorKind::Io { .. } => "io",
            ErrorKind::NotFound { .. } => "not-found",
            ErrorKind::UnknownFormat { .. } => "unknown-format",
            ErrorKind::Malformed { .. } => "malformed",
            ErrorKind::DocumentTooLarge { .. } => "document-too-large",
            ErrorKind::TagNotFound { .. } => "tag-not-found",
            ErrorKind::Ambiguous { .. } => "ambiguous",
            ErrorKind::NoMatchingPlatform { .. } => "no-matching-platform",
            ErrorKind::BlobMissing { .. } => "blob-missing",
            ErrorKind::DigestMismatch { .. } => "digest-mismatch",
            ErrorKind::SizeMismatch { .. } => "size-mismatch",
            ErrorKind::BadDigest(_) => "bad-digest",
            ErrorKind::LayerTooLarge { .. } => "layer-too-large",
            ErrorKind::DecompressionBomb { .. } => "decompression-bomb",
            ErrorKind::PathEscapes { .. } => "path-escapes",
            ErrorKind::Truncated { .. } => "truncated",
            ErrorKind::CorruptLayer { .. } => "corrupt-layer",
            ErrorKind::PathTooLong { .. } => "path-too-long",
            ErrorKind::BadWhiteout { .. } => "bad-whiteout",
            ErrorKind::FileTooLarge { .. } => "file-too-large",
            ErrorKind::Sink { .. } => "sink",
            ErrorKind::Usage(_) => "usage",
            ErrorKind::UnsupportedMediaType { .. } => "unsupported-media-type",
            ErrorKind::Auth { .. } => "auth",
            ErrorKind::Registry { .. } => "registry",
            ErrorKind::DockerConfig { .. } => "docker-config",
            ErrorKind::RegistryDisabled => "registry-disabled",
        }
    }
}
