//! `docker save` archives. Two layouts:
//! - `manifest.json`: `[{Config, RepoTags, Layers}]`, layers named by member path; the
//!   layers are uncompressed tars whose digests are the config's `rootfs.diff_ids`
//!   (newer docker writes `blobs/sha256/HEX` members, named by their own digest);
//! - legacy (docker < 1.10): `repositories` maps name/tag to the top layer id, and each
//!   `ID/json` names its `parent`; layers are `ID/layer.tar` and carry no digest at all, so
//!   we hash them once when opening.

use std::collections::BTreeMap;
use std::io::Read;

use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use crate::digest::Digest;
use crate::error::ErrorKind;
use crate::oci::{ConfigJson, MAX_CONFIG, MAX_MANIFEST, parse_diff_ids};
use crate::source::{Archive, Blob, read_verified};
use crate::{ImageInfo, LayerInfo};

const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar";

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Entry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

#[derive(Deserialize)]
struct LegacyJson {
    parent: Option<String>,
    os: Option<String>,
    architecture: Option<String>,
}

fn malformed(what: &str, detail: impl ToString) -> ErrorKind {
    ErrorKind::Malformed {
        what: what.to_string(),
        detail: detail.to_string(),
    }
}

/// `sha256:HEX` when the member is named by its digest (`HEX.json`, `blobs/sha256/HEX`).
fn digest_in_name(name: &str) -> Option<Digest> {
    let base = name.rsplit('/').next()?;
    let hex = base
        .strip_suffix(".json")
        .or(base.strip_suffix(".tar"))
        .unwrap_or(base);
    format!("sha256:{hex}").parse().ok()
}

/// Reads the image of a docker archive; returns its info and the layer blobs.
pub(crate) fn open(ar: &mut Archive, reference: &str) -> Result<(ImageInfo, Vec<Blob>), ErrorKind> {
    match ar.read_small("manifest.json", MAX_MANIFEST)? {
        Some(bytes) => open_manifest(ar, &bytes, reference),
        None => open_legacy(ar, reference),
    }
}

fn open_manifest(
    ar: &mut Archive,
    bytes: &[u8],
    reference: &str,
) -> Result<(ImageInfo, Vec<Blob>), ErrorKind> {
    let entries: Vec<Entry> =
        serde_json::from_slice(bytes).map_err(|e| malformed("manifest.json", e))?;
    let entry = match entries.len() {
        0 => return Err(malformed("manifest.json", "it lists no images")),
        1 => &entries[0],
        n => {
            return Err(ErrorKind::Ambiguous {
                count: n,
                available: entries
                    .iter()
                    .map(|e| e.repo_tags.clone().unwrap_or_default().join(" "))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    };
    let config_what = format!("config {}", entry.config);
    let config_size = ar.member_size(&entry.config);
    let config_bytes = match digest_in_name(&entry.config) {
        Some(digest) => {
            let blob = Blob {
                digest,
                size: config_size,
                location: Some(entry.config.clone()),
            };
            read_verified(ar, &blob, MAX_CONFIG, &config_what)?
        }
        None => {
            ar.read_small(&entry.config, MAX_CONFIG)?
                .ok_or_else(|| ErrorKind::BlobMissing {
                    digest: entry.config.clone(),
                    detail: " (config member not in the archive)".into(),
                })?
        }
    };
    let config: ConfigJson =
        serde_json::from_slice(&config_bytes).map_err(|e| malformed(&config_what, e))?;
    let diff_ids = parse_diff_ids(&config, &config_what)?;
    if !diff_ids.is_empty() && diff_ids.len() != entry.layers.len() {
        return Err(malformed(
            "manifest.json",
            format!(
                "{} layers but the config lists {} diff_ids",
                entry.layers.len(),
                diff_ids.len()
            ),
        ));
    }
    let mut blobs = Vec::new();
    let mut layers = Vec::new();
    for (i, name) in entry.layers.iter().enumerate() {
        let size = ar.member_size(name);
        let digest = match digest_in_name(name).filter(|_| name.starts_with("blobs/")) {
            Some(d) => d,
            None => match diff_ids.get(i) {
                Some(d) => d.clone(),
                None => hash_member(ar, name)?,
            },
        };
        layers.push(LayerInfo {
            digest: digest.clone(),
            size: size.unwrap_or(0),
            media_type: DOCKER_LAYER.into(),
        });
        blobs.push(Blob {
            digest,
            size,
            location: Some(name.clone()),
        });
    }
    Ok((
        ImageInfo {
            reference: reference.to_string(),
            manifest_digest: None,
            config_digest: digest_in_name(&entry.config),
            os: config.os,
            architecture: config.architecture,
            variant: config.variant,
            layers,
            diff_ids,
        },
        blobs,
    ))
}

fn hash_member(ar: &Archive, name: &str) -> Result<Digest, ErrorKind> {
    let mut r = match ar.member(name) {
        Some(r) => r.map_err(|e| ErrorKind::Io {
            path: name.to_string(),
            source: e,
        })?,
        None => {
            return Err(ErrorKind::BlobMissing {
                digest: name.to_string(),
                detail: " (layer member not in the archive)".into(),
            });
        }
    };
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = r.read(&mut buf).map_err(|e| ErrorKind::Io {
            path: name.to_string(),
            source: e,
        })?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(format!("sha256:{}", hex::encode(h.finalize()))
        .parse()
        .expect("a sha256 digest"))
}

fn open_legacy(ar: &mut Archive, reference: &str) -> Result<(ImageInfo, Vec<Blob>), ErrorKind> {
    let bytes = ar
        .read_small("repositories", MAX_MANIFEST)?
        .ok_or_else(|| ErrorKind::UnknownFormat {
            path: ar.path.display().to_string(),
            detail: "a tar without index.json, manifest.json or repositories".into(),
        })?;
    let repos: BTreeMap<String, BTreeMap<String, String>> =
        serde_json::from_slice(&bytes).map_err(|e| malformed("repositories", e))?;
    let tops: Vec<(String, String)> = repos
        .iter()
        .flat_map(|(name, tags)| {
            tags.iter()
                .map(move |(t, id)| (format!("{name}:{t}"), id.clone()))
        })
        .collect();
    let top = match tops.len() {
        0 => return Err(malformed("repositories", "it lists no images")),
        1 => tops[0].1.clone(),
        n => {
            return Err(ErrorKind::Ambiguous {
                count: n,
                available: tops
                    .iter()
                    .map(|t| t.0.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    };
    let mut chain = Vec::new();
    let mut id = Some(top);
    let mut os = None;
    let mut arch = None;
    while let Some(cur) = id {
        if cur.is_empty() || cur.contains(['/', '.']) {
            return Err(malformed(
                "repositories",
                format!("layer id `{cur}` is invalid"),
            ));
        }
        if chain.contains(&cur) || chain.len() > 1000 {
            return Err(malformed(
                &format!("{cur}/json"),
                "the parent chain loops or is longer than 1000 layers",
            ));
        }
        let what = format!("{cur}/json");
        let j = ar
            .read_small(&what, MAX_CONFIG)?
            .ok_or_else(|| ErrorKind::BlobMissing {
                digest: cur.clone(),
                detail: format!(" (no {what} in the archive)"),
            })?;
        let j: LegacyJson = serde_json::from_slice(&j).map_err(|e| malformed(&what, e))?;
        if chain.is_empty() {
            os = j.os;
            arch = j.architecture;
        }
        chain.push(cur);
        id = j.parent;
    }
    chain.reverse();
    let mut blobs = Vec::new();
    let mut layers = Vec::new();
    for id in chain {
        let name = format!("{id}/layer.tar");
        let digest = hash_member(ar, &name)?;
        let size = ar.member_size(&name);
        layers.push(LayerInfo {
            digest: digest.clone(),
            size: size.unwrap_or(0),
            media_type: DOCKER_LAYER.into(),
        });
        blobs.push(Blob {
            digest,
            size,
            location: Some(name),
        });
    }
    Ok((
        ImageInfo {
            reference: reference.to_string(),
            manifest_digest: None,
            config_digest: None,
            os,
            architecture: arch,
            variant: None,
            diff_ids: layers.iter().map(|l| l.digest.clone()).collect(),
            layers,
        },
        blobs,
    ))
}
