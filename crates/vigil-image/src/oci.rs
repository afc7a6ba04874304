//! OCI and docker (schema 2) JSON documents, and picking one image out of an index.
//!
//! Traps: `index.json` of a layout may list several images (tags in the
//! `org.opencontainers.image.ref.name` annotation) or several platforms of one image; an
//! entry may itself be an index (nested); docker's manifest list is the same shape as an
//! OCI index with other media types; schema 1 manifests are not images we can verify.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::digest::Digest;
use crate::error::ErrorKind;
use crate::reference::{Platform, Selector};
use crate::source::{Blob, BlobSource, read_verified};
use crate::{ImageInfo, LayerInfo};

pub(crate) const MAX_MANIFEST: u64 = 4 << 20;
pub(crate) const MAX_CONFIG: u64 = 16 << 20;
const REF_NAME: &str = "org.opencontainers.image.ref.name";

const INDEX_TYPES: &[&str] = &[
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];
const MANIFEST_TYPES: &[&str] = &[
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];
const CONFIG_TYPES: &[&str] = &[
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.docker.container.image.v1+json",
];

#[derive(Debug, Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Descriptor {
    pub media_type: Option<String>,
    pub digest: String,
    pub size: i64,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    pub platform: Option<PlatformJson>,
}

#[derive(Debug, Deserialize, Clone)]
pub(crate) struct PlatformJson {
    pub architecture: String,
    pub os: String,
    pub variant: Option<String>,
}

/// Index or manifest: told apart by media type, else by which fields are present.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Doc {
    pub schema_version: Option<u32>,
    pub media_type: Option<String>,
    pub manifests: Option<Vec<Descriptor>>,
    pub config: Option<Descriptor>,
    pub layers: Option<Vec<Descriptor>>,
}

#[derive(Debug, Deserialize, Default)]
pub(crate) struct ConfigJson {
    pub os: Option<String>,
    pub architecture: Option<String>,
    pub variant: Option<String>,
    pub rootfs: Option<RootFs>,
}

#[derive(Debug, Deserialize, Default)]
pub(crate) struct RootFs {
    #[serde(default)]
    pub diff_ids: Vec<String>,
}

fn malformed(what: &str, detail: impl ToString) -> ErrorKind {
    ErrorKind::Malformed {
        what: what.to_string(),
        detail: detail.to_string(),
    }
}

pub(crate) fn parse_doc(bytes: &[u8], what: &str) -> Result<Doc, ErrorKind> {
    let doc: Doc = serde_json::from_slice(bytes).map_err(|e| malformed(what, e))?;
    match doc.schema_version {
        Some(2) => {}
        Some(1) => {
            return Err(ErrorKind::UnsupportedMediaType {
                media_type: "docker schema 1 manifest".into(),
                what: what.into(),
            });
        }
        Some(v) => return Err(malformed(what, format!("schemaVersion is {v}, expected 2"))),
        None => return Err(malformed(what, "schemaVersion is missing")),
    }
    Ok(doc)
}

impl Descriptor {
    pub fn blob(&self, what: &str) -> Result<Blob, ErrorKind> {
        let digest: Digest = self
            .digest
            .parse()
            .map_err(|_| ErrorKind::BadDigest(self.digest.clone()))?;
        let size = u64::try_from(self.size).map_err(|_| {
            malformed(
                what,
                format!("negative size {} for {}", self.size, self.digest),
            )
        })?;
        Ok(Blob::new(digest, Some(size)))
    }

    fn platform_string(&self) -> String {
        match &self.platform {
            Some(p) => {
                let mut s = format!("{}/{}", p.os, p.architecture);
                if let Some(v) = &p.variant {
                    s.push('/');
                    s.push_str(v);
                }
                s
            }
            None => "(no platform)".into(),
        }
    }

    fn is_index(&self) -> bool {
        self.media_type
            .as_deref()
            .is_some_and(|m| INDEX_TYPES.contains(&m))
    }
}

fn select_platform<'a>(
    entries: &'a [Descriptor],
    wanted: &Platform,
    index: &str,
) -> Result<&'a Descriptor, ErrorKind> {
    entries
        .iter()
        .find(|d| {
            d.platform
                .as_ref()
                .is_some_and(|p| wanted.matches(&p.os, &p.architecture, p.variant.as_deref()))
        })
        .ok_or_else(|| ErrorKind::NoMatchingPlatform {
            wanted: wanted.to_string(),
            index: index.to_string(),
            available: entries
                .iter()
                .map(Descriptor::platform_string)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// Picks the descriptor a selector names out of a layout's `index.json`.
pub(crate) fn select_in_index(
    index_bytes: &[u8],
    selector: &Selector,
    platform: &Platform,
) -> Result<Descriptor, ErrorKind> {
    let doc = parse_doc(index_bytes, "index.json")?;
    let entries = doc
        .manifests
        .ok_or_else(|| malformed("index.json", "no `manifests` list"))?;
    let name = |d: &Descriptor| {
        d.annotations
            .get(REF_NAME)
            .cloned()
            .unwrap_or_else(|| d.digest.clone())
    };
    let candidates: Vec<Descriptor> = match selector {
        Selector::Tag(tag) => entries
            .iter()
            .filter(|d| d.annotations.get(REF_NAME) == Some(tag))
            .cloned()
            .collect(),
        Selector::Digest(digest) => {
            let found: Vec<Descriptor> = entries
                .iter()
                .filter(|d| d.digest == digest.as_str())
                .cloned()
                .collect();
            if found.is_empty() {
                // a digest need not be listed in index.json to be in the layout
                return Ok(Descriptor {
                    media_type: None,
                    digest: digest.to_string(),
                    size: -1,
                    annotations: BTreeMap::new(),
                    platform: None,
                });
            }
            found
        }
        Selector::Default => entries.clone(),
    };
    let list = || {
        let v: Vec<String> = entries.iter().map(name).collect();
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        }
    };
    match candidates.len() {
        0 => match selector {
            Selector::Tag(tag) => Err(ErrorKind::TagNotFound {
                tag: tag.clone(),
                available: list(),
            }),
            _ => Err(malformed("index.json", "it lists no manifests")),
        },
        1 => Ok(candidates.into_iter().next().expect("one candidate")),
        n => {
            if candidates.iter().all(|d| d.platform.is_some()) {
                select_platform(&candidates, platform, "index.json").cloned()
            } else {
                Err(ErrorKind::Ambiguous {
                    count: n,
                    available: list(),
                })
            }
        }
    }
}

/// Follows a descriptor through nested indexes to an image manifest, then reads its config.
/// `first` is an already fetched document (a registry's answer for a tag).
pub(crate) fn resolve(
    src: &mut dyn BlobSource,
    mut desc: Option<Descriptor>,
    mut first: Option<(Digest, Vec<u8>)>,
    platform: &Platform,
    reference: &str,
) -> Result<ImageInfo, ErrorKind> {
    for _ in 0..4 {
        let (digest, bytes) = match first.take() {
            Some(f) => f,
            None => {
                let d = desc.take().expect("a descriptor or a fetched document");
                let mut blob = d.blob("index.json").or_else(|e| {
                    // a digest picked from the command line has no size
                    if d.size == -1 {
                        Ok(Blob::new(
                            d.digest
                                .parse()
                                .map_err(|_| ErrorKind::BadDigest(d.digest.clone()))?,
                            None,
                        ))
                    } else {
                        Err(e)
                    }
                })?;
                if d.size == -1 {
                    blob.size = None;
                }
                let what = format!("manifest {}", blob.digest);
                let bytes = src.manifest(&blob, MAX_MANIFEST, &what)?;
                (blob.digest, bytes)
            }
        };
        let what = format!("manifest {digest}");
        let doc = parse_doc(&bytes, &what)?;
        let is_index = doc
            .media_type
            .as_deref()
            .is_some_and(|m| INDEX_TYPES.contains(&m))
            || (doc.media_type.is_none() && doc.manifests.is_some());
        if is_index {
            let entries = doc
                .manifests
                .ok_or_else(|| malformed(&what, "image index without `manifests`"))?;
            let chosen = select_platform(&entries, platform, digest.as_str())?;
            desc = Some(chosen.clone());
            continue;
        }
        if let Some(m) = &doc.media_type
            && !MANIFEST_TYPES.contains(&m.as_str())
        {
            return Err(ErrorKind::UnsupportedMediaType {
                media_type: m.clone(),
                what,
            });
        }
        let config_desc = doc
            .config
            .ok_or_else(|| malformed(&what, "no `config` descriptor"))?;
        if let Some(m) = &config_desc.media_type
            && !CONFIG_TYPES.contains(&m.as_str())
        {
            return Err(ErrorKind::UnsupportedMediaType {
                media_type: m.clone(),
                what: format!("config of {what} (not a container image)"),
            });
        }
        let layers = doc
            .layers
            .ok_or_else(|| malformed(&what, "no `layers` list"))?;
        let config_blob = config_desc.blob(&what)?;
        let config_what = format!("config {}", config_blob.digest);
        let config_bytes = read_verified(src, &config_blob, MAX_CONFIG, &config_what)?;
        let config: ConfigJson =
            serde_json::from_slice(&config_bytes).map_err(|e| malformed(&config_what, e))?;
        let mut infos = Vec::with_capacity(layers.len());
        for l in &layers {
            let blob = l.blob(&what)?;
            if l.is_index() {
                return Err(malformed(&what, "a layer descriptor names an index"));
            }
            infos.push(LayerInfo {
                digest: blob.digest,
                size: blob.size.unwrap_or(0),
                media_type: l.media_type.clone().unwrap_or_default(),
            });
        }
        let diff_ids = parse_diff_ids(&config, &config_what)?;
        return Ok(ImageInfo {
            reference: reference.to_string(),
            manifest_digest: Some(digest),
            config_digest: Some(config_blob.digest),
            os: config.os,
            architecture: config.architecture,
            variant: config.variant,
            layers: infos,
            diff_ids,
        });
    }
    Err(malformed(
        "manifest",
        "image indexes nested more than 4 deep",
    ))
}

pub(crate) fn parse_diff_ids(config: &ConfigJson, what: &str) -> Result<Vec<Digest>, ErrorKind> {
    config
        .rootfs
        .as_ref()
        .map(|r| r.diff_ids.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|d| {
            d.parse()
                .map_err(|_| malformed(what, format!("diff_id `{d}` is not a sha256 digest")))
        })
        .collect()
}
