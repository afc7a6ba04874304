//! One scan: image -> inventory -> lookup keys -> advisories -> report (SPEC 5), the pipeline
//! of `vigil scan`, also run by CI scans and the server's workers.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use vigil_matcher::DatabaseState;
use vigil_scan::{Inventory, MatchContext, Report};
use vigil_store::Database;

use crate::Error;

/// How to read and match an image.
#[derive(Clone)]
pub struct ScanOptions {
    /// How to open the image (platform, registry credentials, limits).
    pub image: vigil_image::Options,
    /// The layer cache; `None` reads every layer.
    pub cache_dir: Option<PathBuf>,
    /// A database last updated longer ago than this makes the scan incomplete (SPEC 5.7).
    pub max_age: Duration,
    /// The longest one read of the image may take: a registry that accepts connections and
    /// never answers fails the try after this long instead of hanging.
    pub timeout: Duration,
    /// Layer progress (a progress bar on a terminal).
    pub progress: Option<Arc<dyn vigil_scan::Progress + Send + Sync>>,
}

impl std::fmt::Debug for ScanOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScanOptions")
            .field("cache_dir", &self.cache_dir)
            .field("max_age", &self.max_age)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Default for ScanOptions {
    fn default() -> Self {
        Self {
            image: vigil_image::Options::default(),
            cache_dir: None,
            max_age: Duration::from_secs(7 * 24 * 3600),
            timeout: Duration::from_secs(600),
            progress: None,
        }
    }
}

impl ScanOptions {
    fn scan_options(&self) -> vigil_scan::Options {
        vigil_scan::Options {
            image: self.image.clone(),
            cache_dir: self.cache_dir.clone(),
        }
    }
}

/// What every match against today's database shares: its ecosystems and age. Refuses an
/// empty database ([`Error::EmptyDatabase`]): a scan against it finds nothing and would read
/// as clean.
pub async fn match_context(
    db: &dyn Database,
    max_age: Duration,
    now: SystemTime,
) -> Result<MatchContext, Error> {
    let ecosystems = db.ecosystems().await?;
    if ecosystems.is_empty() {
        return Err(Error::EmptyDatabase);
    }
    let updated = db.last_update().await?;
    Ok(MatchContext {
        database: DatabaseState {
            ecosystems: ecosystems.into_iter().collect(),
            updated,
        },
        max_age,
        now,
    })
}

/// Matches an inventory under a [`match_context`]: the advisories of its packages are read,
/// then matched.
pub async fn match_with(
    db: &dyn Database,
    inventory: Inventory,
    ctx: &MatchContext,
) -> Result<Report, Error> {
    let keys: Vec<(String, String)> = vigil_scan::report::lookup_keys(&inventory)
        .into_iter()
        .map(|k| (k.ecosystem, k.name))
        .collect();
    let advisories: Vec<_> = db
        .advisories_for(&keys)
        .await?
        .into_iter()
        .map(|s| s.advisory)
        .collect();
    Ok(vigil_scan::report::build(inventory, &advisories, ctx))
}

/// Matches an inventory against the vulnerability database: the report of `vigil scan`.
/// Refuses an empty database ([`Error::EmptyDatabase`]).
pub async fn match_inventory(
    db: &dyn Database,
    inventory: Inventory,
    max_age: Duration,
    now: SystemTime,
) -> Result<Report, Error> {
    let ctx = match_context(db, max_age, now).await?;
    match_with(db, inventory, &ctx).await
}

/// Scans `image` (any IMAGE form of SPEC 2.1): reads its inventory on a thread of its own,
/// bounded by `opts.timeout`, then matches it ([`match_inventory`]).
pub async fn scan_image(
    db: &dyn Database,
    image: &str,
    opts: &ScanOptions,
    now: SystemTime,
) -> Result<Report, Error> {
    // Refuse an empty database before reading a whole image.
    if db.ecosystems().await?.is_empty() {
        return Err(Error::EmptyDatabase);
    }
    let inventory = {
        let reference = image.to_owned();
        let scan_opts = opts.scan_options();
        let progress = opts.progress.clone();
        on_thread(image, opts.timeout, move || {
            if let Some(path) = reference.strip_prefix("sbom:") {
                return sbom_inventory(&reference, path);
            }
            let p = progress.as_deref().map(|p| p as &dyn vigil_scan::Progress);
            vigil_scan::inventory(&reference, &scan_opts, p).map_err(Error::from)
        })
        .await?
    };
    match_inventory(db, inventory, opts.max_age, now).await
}

/// The digest `image` names itself (`HOST/REPO@sha256:...`, `oci:DIR@sha256:...`), or a
/// bare digest (`sha256:...`).
pub fn digest_in_reference(image: &str) -> Option<String> {
    if is_digest(image) {
        return Some(image.to_owned());
    }
    use vigil_image::{Reference, Selector};
    match image.parse::<Reference>().ok()? {
        Reference::Registry {
            digest: Some(d), ..
        } => Some(d.to_string()),
        Reference::OciLayout {
            selector: Selector::Digest(d),
            ..
        }
        | Reference::OciArchive {
            selector: Selector::Digest(d),
            ..
        } => Some(d.to_string()),
        _ => None,
    }
}

/// Whether `s` is a bare image digest: `sha256:` and 64 lower-case hex digits (or
/// `sha512:` and 128).
pub fn is_digest(s: &str) -> bool {
    let Some((alg, hex)) = s.split_once(':') else {
        return false;
    };
    let len = match alg {
        "sha256" => 64,
        "sha512" => 128,
        _ => return false,
    };
    hex.len() == len && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The digest scans of `image` are keyed by (SPEC 7.3): the one the reference names, else
/// the image manifest's digest as the source serves it, else (a docker archive, which has
/// no manifest digest) its config digest, the image id. A root file system directory has
/// none ([`Error::NoDigest`]).
pub async fn resolve_digest(image: &str, opts: &ScanOptions) -> Result<String, Error> {
    if let Some(d) = digest_in_reference(image) {
        return Ok(d);
    }
    if image.starts_with("sha256:") || image.starts_with("sha512:") {
        return Err(Error::BadDigest(image.to_owned()));
    }
    let reference = image.to_owned();
    if let Some(path) = image.strip_prefix("sbom:") {
        let path = path.to_owned();
        return on_thread(image, opts.timeout, move || sbom_digest(&path)).await;
    }
    let image_opts = opts.image.clone();
    on_thread(image, opts.timeout, move || {
        let parsed: vigil_image::Reference =
            reference
                .parse()
                .map_err(|source| vigil_scan::Error::Reference {
                    reference: reference.clone(),
                    source,
                })?;
        let img = vigil_image::open(&parsed, &image_opts).map_err(vigil_scan::Error::from)?;
        let info = img.info();
        info.manifest_digest
            .as_ref()
            .or(info.config_digest.as_ref())
            .map(|d| d.to_string())
            .ok_or(Error::NoDigest {
                image: reference.clone(),
                why: "a root file system directory is not an image with a manifest; scan an OCI layout, archive or registry image",
            })
    })
    .await
}

/// The inventory `sbom:FILE` stands for: the SBOM's packages, as `reference`.
pub fn sbom_inventory(reference: &str, path: &str) -> Result<Inventory, Error> {
    let mut inv = vigil_sbom::read(path)?;
    inv.image.reference = reference.to_owned();
    Ok(inv)
}

/// The digest scans of `sbom:FILE` are keyed by: the image's manifest digest when the SBOM
/// names it (vigil's and Trivy's do), so that the gate of that image finds the scan; else
/// the SBOM file's own SHA-256.
fn sbom_digest(path: &str) -> Result<String, Error> {
    let inv = vigil_sbom::read(path)?;
    if let Some(d) = inv.image.manifest_digest.filter(|d| is_digest(d)) {
        return Ok(d);
    }
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    std::fs::File::open(path)
        .and_then(|mut file| std::io::copy(&mut file, &mut hasher))
        .map_err(|source| {
            Error::Sbom(vigil_sbom::Error::Io {
                path: path.into(),
                source,
            })
        })?;
    Ok(format!("sha256:{}", hex::encode(hasher.finalize())))
}

/// Runs blocking image work on a thread of its own and waits at most `timeout` for it.
///
/// A plain thread, not tokio's blocking pool: a runtime waits for its blocking tasks when it
/// shuts down, so a read stuck on a silent registry would hold the process until the
/// client's own read timeout (minutes). A thread that overran is left behind; it ends with
/// that read timeout, or with the process.
pub(crate) async fn on_thread<T: Send + 'static>(
    image: &str,
    timeout: Duration,
    work: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("vigil-image".into())
        .spawn(move || {
            let _ = tx.send(work());
        })
        .map_err(|_| Error::Worker {
            image: image.to_owned(),
        })?;
    match tokio::time::timeout(timeout, rx).await {
        Ok(Ok(result)) => result,
        Ok(Err(_)) => Err(Error::Worker {
            image: image.to_owned(),
        }),
        Err(_) => Err(Error::Timeout {
            image: image.to_owned(),
            timeout,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests() {
        let hex = "a".repeat(64);
        assert!(is_digest(&format!("sha256:{hex}")));
        assert!(!is_digest(&format!("sha256:{}", "A".repeat(64))));
        assert!(!is_digest("sha256:abc"));
        assert!(!is_digest("registry.example/app:1"));
        assert_eq!(
            digest_in_reference(&format!("127.0.0.1:5000/app@sha256:{hex}")),
            Some(format!("sha256:{hex}"))
        );
        assert_eq!(digest_in_reference("127.0.0.1:5000/app:latest"), None);
    }
}
