//! vigil-image: image sources, verified streamed layers and whiteouts (SPEC 2).
//!
//! [`open`] reads an image's manifest and config from any source of SPEC 2.1 (OCI layout,
//! oci-archive, docker-archive, root filesystem directory, registry) and returns an
//! [`Image`]; [`Image::walk_layer`] then streams one layer, pushing the files a [`Sink`]
//! wants and returning the layer's whiteouts. Nothing is ever written to disk, archives
//! are read in place, and every blob (manifest, config, layer) is verified against its
//! digest while it streams: a walk reads its layer to the very end so that the check
//! covers every byte.
//!
//! Hostile input (SPEC 2.4) gives an [`Error`] naming the image and the problem; see
//! `walk` for how paths, links, whiteouts and bombs are handled.

mod digest;
mod docker;
mod error;
mod oci;
mod reference;
#[cfg(feature = "registry")]
mod registry;
mod rootfs;
mod source;
mod walk;

use std::fmt;
use std::path::{Path, PathBuf};

pub use digest::Digest;
pub use error::{Error, ErrorKind, ParseError};
pub use reference::{Platform, Reference, Selector};
pub use walk::{LayerChanges, PATH_MAX, Sink, normalise};

use source::{Archive, Blob, BlobSource, LayoutDir, io_err};
use walk::Limits;

/// How to open and read images.
#[derive(Clone)]
pub struct Options {
    /// The platform to pick from an image index; `linux/amd64` when `None`.
    pub platform: Option<Platform>,
    /// Talk plain HTTP to the registry.
    pub insecure: bool,
    /// Registry user name (overrides the docker config file).
    pub username: Option<String>,
    /// Registry password.
    pub password: Option<String>,
    /// The most bytes one layer may decompress to (decompression bombs stop here).
    pub max_layer_bytes: u64,
    /// The most bytes read of one file a sink wants.
    pub max_file_bytes: u64,
    /// Where `config.json` is, instead of `$DOCKER_CONFIG` or `~/.docker`.
    pub docker_config_dir: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            platform: None,
            insecure: false,
            username: None,
            password: None,
            max_layer_bytes: 16 << 30,
            max_file_bytes: 512 << 20,
            docker_config_dir: None,
        }
    }
}

impl fmt::Debug for Options {
    // the password never reaches a log (STYLE.md: Debug redacts credentials)
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("platform", &self.platform)
            .field("insecure", &self.insecure)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("max_layer_bytes", &self.max_layer_bytes)
            .field("max_file_bytes", &self.max_file_bytes)
            .field("docker_config_dir", &self.docker_config_dir)
            .finish()
    }
}

/// One layer of an image, as its manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerInfo {
    /// The digest of the blob (compressed, as stored); for docker archives the digest of
    /// the uncompressed tar.
    pub digest: Digest,
    /// Its size in bytes.
    pub size: u64,
    /// Its media type (informational: compression is sniffed from the bytes).
    pub media_type: String,
}

/// What [`open`] learnt about an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    /// The image as given, normalised (`oci:DIR:TAG`, `docker://HOST/REPO:TAG`, ...).
    pub reference: String,
    /// The digest of the image manifest bytes (none for docker archives and directories).
    pub manifest_digest: Option<Digest>,
    /// The digest of the config blob, when known.
    pub config_digest: Option<Digest>,
    /// `os` from the config.
    pub os: Option<String>,
    /// `architecture` from the config.
    pub architecture: Option<String>,
    /// `variant` from the config.
    pub variant: Option<String>,
    /// The layers, base first; empty for a `dir:` image.
    pub layers: Vec<LayerInfo>,
    /// The config's `rootfs.diff_ids` (uncompressed layer digests), when given.
    pub diff_ids: Vec<Digest>,
}

enum Source {
    Blobs(Box<dyn BlobSource + Send>),
    Rootfs(PathBuf),
}

/// An opened image. Layers are read one at a time with [`Image::walk_layer`].
pub struct Image {
    info: ImageInfo,
    blobs: Vec<Blob>,
    source: Source,
    limits: Limits,
}

impl fmt::Debug for Image {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Image")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

/// Opens an image: reads (and verifies) its manifest and config; no layer is read yet.
pub fn open(reference: &Reference, opts: &Options) -> Result<Image, Error> {
    let label = reference.to_string();
    open_inner(reference, opts, &label).map_err(|k| Error::new(&label, k))
}

fn open_inner(reference: &Reference, opts: &Options, label: &str) -> Result<Image, ErrorKind> {
    let platform = opts.platform.clone().unwrap_or_else(Platform::linux_amd64);
    let limits = Limits {
        max_layer_bytes: opts.max_layer_bytes,
        max_file_bytes: opts.max_file_bytes,
    };
    let image = |info: ImageInfo, source: Box<dyn BlobSource + Send>| {
        let blobs = info
            .layers
            .iter()
            .map(|l| Blob::new(l.digest.clone(), Some(l.size)))
            .collect();
        Image {
            info,
            blobs,
            source: Source::Blobs(source),
            limits,
        }
    };
    match reference {
        Reference::OciLayout { path, selector } => {
            require_dir(path)?;
            let index_path = path.join("index.json");
            let bytes = read_small_file(&index_path, oci::MAX_MANIFEST)?;
            let desc = oci::select_in_index(&bytes, selector, &platform)?;
            let mut src = LayoutDir { root: path.clone() };
            let info = oci::resolve(&mut src, Some(desc), None, &platform, label)?;
            Ok(image(info, Box::new(src)))
        }
        Reference::OciArchive { path, selector } => {
            let mut ar = Archive::index(path)?;
            open_oci_archive(&mut ar, selector, &platform, label)
                .map(|info| image(info, Box::new(ar)))
        }
        Reference::DockerArchive { path } => {
            let mut ar = Archive::index(path)?;
            let (info, blobs) = docker::open(&mut ar, label)?;
            Ok(Image {
                info,
                blobs,
                source: Source::Blobs(Box::new(ar)),
                limits,
            })
        }
        Reference::Rootfs { path } => {
            require_dir(path)?;
            Ok(Image {
                info: ImageInfo {
                    reference: label.to_string(),
                    manifest_digest: None,
                    config_digest: None,
                    os: None,
                    architecture: None,
                    variant: None,
                    layers: Vec::new(),
                    diff_ids: Vec::new(),
                },
                blobs: Vec::new(),
                source: Source::Rootfs(path.clone()),
                limits,
            })
        }
        #[cfg(feature = "registry")]
        Reference::Registry {
            registry,
            repository,
            tag,
            digest,
        } => {
            let (info, src) = registry::open(
                registry,
                repository,
                tag.as_deref(),
                digest.as_ref(),
                opts,
                &platform,
                label,
            )?;
            Ok(image(info, Box::new(src)))
        }
        #[cfg(not(feature = "registry"))]
        Reference::Registry { .. } => Err(ErrorKind::RegistryDisabled),
        Reference::Path(path) => {
            let meta = std::fs::metadata(path).map_err(io_err(path))?;
            let sniffed = if meta.is_dir() {
                if path.join("index.json").exists() {
                    Reference::OciLayout {
                        path: path.clone(),
                        selector: Selector::Default,
                    }
                } else {
                    Reference::Rootfs { path: path.clone() }
                }
            } else {
                let ar = Archive::index(path)?;
                if ar.has("index.json") && ar.has("oci-layout") && !ar.has("manifest.json") {
                    Reference::OciArchive {
                        path: path.clone(),
                        selector: Selector::Default,
                    }
                } else if ar.has("manifest.json") || ar.has("repositories") {
                    Reference::DockerArchive { path: path.clone() }
                } else if ar.has("index.json") {
                    Reference::OciArchive {
                        path: path.clone(),
                        selector: Selector::Default,
                    }
                } else {
                    return Err(ErrorKind::UnknownFormat {
                        path: path.display().to_string(),
                        detail: "a tar without index.json, manifest.json or repositories".into(),
                    });
                }
            };
            let mut img = open_inner(&sniffed, opts, label)?;
            img.info.reference = sniffed.to_string();
            Ok(img)
        }
    }
}

fn open_oci_archive(
    ar: &mut Archive,
    selector: &Selector,
    platform: &Platform,
    label: &str,
) -> Result<ImageInfo, ErrorKind> {
    let bytes = ar
        .read_small("index.json", oci::MAX_MANIFEST)?
        .ok_or_else(|| ErrorKind::UnknownFormat {
            path: ar.path.display().to_string(),
            detail: "no index.json in the archive".into(),
        })?;
    let desc = oci::select_in_index(&bytes, selector, platform)?;
    oci::resolve(ar, Some(desc), None, platform, label)
}

fn require_dir(path: &Path) -> Result<(), ErrorKind> {
    let meta = std::fs::metadata(path).map_err(io_err(path))?;
    if !meta.is_dir() {
        return Err(ErrorKind::UnknownFormat {
            path: path.display().to_string(),
            detail: "expected a directory".into(),
        });
    }
    Ok(())
}

fn read_small_file(path: &Path, limit: u64) -> Result<Vec<u8>, ErrorKind> {
    let mut f = std::fs::File::open(path).map_err(io_err(path))?;
    match digest::read_limited(&mut f, limit).map_err(io_err(path))? {
        Ok(v) => Ok(v),
        Err(size) => Err(ErrorKind::DocumentTooLarge {
            what: path.display().to_string(),
            size,
            limit,
        }),
    }
}

impl Image {
    /// What the manifest and config say.
    pub fn info(&self) -> &ImageInfo {
        &self.info
    }

    /// Streams layer `index` (base is 0): verifies its digest, pushes each regular file
    /// the sink wants, and returns the layer's whiteouts. `progress` gets the number of
    /// blob bytes read so far.
    pub fn walk_layer(
        &mut self,
        index: usize,
        sink: &mut dyn Sink,
        progress: &dyn Fn(u64),
    ) -> Result<LayerChanges, Error> {
        let label = &self.info.reference;
        let Source::Blobs(src) = &mut self.source else {
            return Err(Error::new(
                label,
                ErrorKind::Usage("a root filesystem has no layers; use walk_rootfs".into()),
            ));
        };
        let Some(blob) = self.blobs.get(index) else {
            return Err(Error::new(
                label,
                ErrorKind::Usage(format!(
                    "layer {index} does not exist (the image has {} layers)",
                    self.blobs.len()
                )),
            ));
        };
        let raw = src.open(blob).map_err(|k| Error::new(label, k))?;
        walk::walk_blob(raw, &blob.digest, blob.size, self.limits, sink, progress)
            .map_err(|k| Error::new(label, k))
    }

    /// Walks a `dir:` image: every regular file the sink wants, symlinks reported and never
    /// followed, `proc`, `sys` and `dev` skipped.
    pub fn walk_rootfs(&mut self, sink: &mut dyn Sink) -> Result<(), Error> {
        let label = &self.info.reference;
        let Source::Rootfs(root) = &self.source else {
            return Err(Error::new(
                label,
                ErrorKind::Usage("a layered image is read with walk_layer".into()),
            ));
        };
        rootfs::walk(root, self.limits, sink).map_err(|k| Error::new(label, k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_plain_path_hints_at_registry_syntax() {
        let r: Reference = "ubuntu:22.04".parse().unwrap();
        let err = open(&r, &Options::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "image ubuntu:22.04: ubuntu:22.04 does not exist"
        );
        assert_eq!(err.code(), "not-found");
        assert!(err.hint().unwrap().contains("docker://HOST/REPO"));
        let r: Reference = "oci:/nonexistent/layout:app".parse().unwrap();
        let err = open(&r, &Options::default()).unwrap_err();
        assert_eq!(err.code(), "not-found");
        assert_eq!(err.hint(), None);
    }

    #[test]
    fn image_can_move_to_a_worker_thread() {
        fn send<T: Send>() {}
        send::<Image>();
        send::<Error>();
    }

    #[test]
    fn walks_that_do_not_fit_the_source_are_usage_errors() {
        let dir = tempfile::tempdir().unwrap();
        let r = Reference::Rootfs {
            path: dir.path().to_path_buf(),
        };
        let mut img = open(&r, &Options::default()).unwrap();
        struct None_;
        impl Sink for None_ {
            fn wants(&self, _: &str, _: u64) -> bool {
                false
            }
            fn file(&mut self, _: &str, _: &mut dyn std::io::Read) -> std::io::Result<()> {
                Ok(())
            }
        }
        let err = img.walk_layer(0, &mut None_, &|_| {}).unwrap_err();
        assert_eq!(err.code(), "usage");
        img.walk_rootfs(&mut None_).unwrap();
    }
}
