//! Image -> inventory: the distribution and every package, each with the layer that
//! introduced it, and every detector failure (SPEC 3, 5.7).

use std::io::Read;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use vigil_detect::{Detection, Distro};

use crate::cache::LayerCache;
use crate::merge::{FileOutcome, LayerResult, Merger};

/// Why an image could not be read. Detector failures are not errors: they are reported in
/// [`Inventory::errors`] (an incomplete inventory is still an inventory, SPEC 5.7).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid image reference {reference:?}")]
    Reference {
        reference: String,
        #[source]
        source: vigil_image::ParseError,
    },
    #[error(transparent)]
    Image(#[from] vigil_image::Error),
}

/// How to read the image.
#[derive(Default)]
pub struct Options {
    pub image: vigil_image::Options,
    /// Where per-layer results are cached; `None` disables the cache.
    pub cache_dir: Option<PathBuf>,
}

/// Progress callbacks, for a progress bar on a terminal. All methods default to nothing.
pub trait Progress {
    fn layer_start(&self, _index: usize, _count: usize, _digest: &str, _size: u64) {}
    fn bytes(&self, _read: u64) {}
    fn layer_done(&self, _cached: bool) {}
}

struct NoProgress;
impl Progress for NoProgress {}

/// The inventory of one image. Serialised as the JSON output of `vigil inventory`, a
/// documented contract:
///
/// - `image`: `reference` (as given), `manifest_digest` (`sha256:...`, absent for a root
///   file system), `layers[]` with `digest` and `size` in bytes.
/// - `distro`: `id` (`debian`, `alpine`, ...), `version_id`, `codename`; absent when unknown.
/// - `packages[]`, sorted by ecosystem, name, version, arch, path: `ecosystem` (`deb`, `apk`,
///   `rpm`; for language packages `pypi`, `npm`, `cargo`, `golang`, `maven`, `gem`,
///   `composer`, `nuget`), `name` (binary package name; for language packages the name
///   their advisories use), `version` (as the package manager prints it), `arch`,
///   `source_name`, `source_version`, `purl`, `layer` (digest of the layer that introduced
///   the package at this version; absent for a root file system), `path` (the package
///   database, lock file, metadata file or executable it was read from; `outer.war!/inner.jar`
///   inside archives). A language package that an installed OS package owns is listed
///   once, as the OS package (see `drop_os_owned`).
/// - `errors[]`: detector failures, each with `path`, `layer` and `message`, including
///   executables too large to read. A non-empty list means the inventory is incomplete.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Inventory {
    pub image: ImageSummary,
    pub distro: Option<Distro>,
    pub packages: Vec<InventoryPackage>,
    pub errors: Vec<DetectorError>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImageSummary {
    pub reference: String,
    pub manifest_digest: Option<String>,
    pub layers: Vec<LayerSummary>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LayerSummary {
    pub digest: String,
    pub size: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct InventoryPackage {
    pub ecosystem: String,
    pub name: String,
    pub version: String,
    pub arch: Option<String>,
    pub source_name: Option<String>,
    pub source_version: Option<String>,
    pub purl: String,
    pub layer: Option<String>,
    pub path: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DetectorError {
    pub path: String,
    pub layer: Option<String>,
    pub message: String,
}

/// Collects the files the detectors want from one layer (or a root file system).
#[derive(Default)]
struct Collector {
    result: LayerResult,
    /// Record executables without packages too: in an upper layer such a file may replace
    /// a lower layer's Go or Rust program, which must then stop counting. Upper layers hold
    /// few executables; the base layer (most of them, and nothing below) records none.
    record_empty: bool,
    /// One buffer for every executable of the layer: hundreds of them, each read whole,
    /// would otherwise leave the allocator holding many freed buffers of a few MiB.
    exe_buf: Vec<u8>,
}

/// The largest executable buffer kept for the next one.
const KEEP_EXE_BUF: usize = 16 << 20;

impl vigil_image::Sink for Collector {
    fn wants(&self, path: &str, _size: u64) -> bool {
        // Oversized files are still accepted, so that `file` can report them as a detector
        // error instead of silently skipping them.
        vigil_detect::wants(path).is_some() || vigil_detect::lists_files(path)
    }

    fn file(&mut self, path: &str, data: &mut dyn Read) -> std::io::Result<()> {
        let kind = vigil_detect::wants(path);
        let lists = vigil_detect::lists_files(path);
        if kind.is_none() && !lists {
            return Ok(());
        }
        let limit = vigil_detect::MAX_FILE_SIZE;
        let mut buf = Vec::new();
        data.take(limit + 1).read_to_end(&mut buf)?;
        if lists && buf.len() as u64 <= limit {
            // which language metadata files OS packages own (the rule in `inventory`); a
            // broken list is reported with its database when that is a wanted file too
            let owned = match vigil_detect::owned_files(path, &buf) {
                Ok(owned) => owned,
                Err(err) if kind.is_none() => {
                    self.result
                        .files
                        .insert(path.to_string(), FileOutcome::Failed(err.to_string()));
                    Vec::new()
                }
                Err(_) => Vec::new(),
            };
            self.result.owned.insert(path.to_string(), owned);
        }
        let Some(kind) = kind else {
            return Ok(());
        };
        let outcome = if buf.len() as u64 > limit {
            FileOutcome::Failed(format!(
                "file is larger than the {limit} byte limit for package databases"
            ))
        } else {
            match vigil_detect::detect(kind, path, &buf) {
                Ok(detection) => FileOutcome::Detected(detection),
                Err(err) => FileOutcome::Failed(err.to_string()),
            }
        };
        self.result.files.insert(path.to_string(), outcome);
        Ok(())
    }

    /// Executables (Go build info, cargo-auditable data, SPEC 3.3): every regular file
    /// with an exec bit that no detector names; see [`Collector::executable`].
    fn wants_executable(&self, path: &str, mode: u32, size: u64) -> bool {
        vigil_detect::wants_executable(path, mode, size)
    }

    /// Reads the first bytes only, and stops there unless they are an object file's magic
    /// (scripts, data files): the walker skips the rest, so cold inventory speed stays that
    /// of the layer's decompression. An object file larger than
    /// [`vigil_detect::MAX_EXECUTABLE_SIZE`] is not read (memory stays bounded) and is
    /// reported as a detector error, a gap in coverage, never silently dropped. An
    /// executable without Go or Rust dependencies (most of them) is not recorded in the
    /// base layer, so the layer cache holds no entry for it; see `record_empty`.
    fn executable(&mut self, path: &str, size: u64, data: &mut dyn Read) -> std::io::Result<()> {
        let mut prefix = Vec::with_capacity(vigil_detect::OBJECT_MAGIC_LEN);
        data.take(vigil_detect::OBJECT_MAGIC_LEN as u64)
            .read_to_end(&mut prefix)?;
        if !vigil_detect::is_object_file(&prefix) {
            return Ok(());
        }
        let limit = vigil_detect::MAX_EXECUTABLE_SIZE;
        if size > limit {
            let message = format!(
                "{path}: executable is {size} bytes, more than the {limit} byte limit for \
                 binaries: its Go and Rust dependencies were not read"
            );
            self.result
                .files
                .insert(path.to_string(), FileOutcome::Failed(message));
            return Ok(());
        }
        let mut buf = std::mem::take(&mut self.exe_buf);
        buf.clear();
        buf.extend_from_slice(&prefix);
        buf.reserve_exact(usize::try_from(size).unwrap_or(0).saturating_sub(buf.len()));
        data.take(limit + 1 - buf.len() as u64)
            .read_to_end(&mut buf)?;
        let detected = vigil_detect::detect(vigil_detect::FileKind::Executable, path, &buf);
        if buf.capacity() <= KEEP_EXE_BUF {
            self.exe_buf = buf;
        }
        match detected {
            Ok(Detection::Packages(pkgs)) if pkgs.is_empty() && !self.record_empty => {}
            Ok(detection) => {
                self.result
                    .files
                    .insert(path.to_string(), FileOutcome::Detected(detection));
            }
            Err(err) => {
                self.result
                    .files
                    .insert(path.to_string(), FileOutcome::Failed(err.to_string()));
            }
        }
        Ok(())
    }

    fn symlink(&mut self, path: &str, target: &str) {
        if vigil_detect::wants(path).is_some() {
            self.result
                .symlinks
                .insert(path.to_string(), target.to_string());
        }
    }
}

/// Reads the image named by `reference` and returns its inventory.
pub fn inventory(
    reference: &str,
    opts: &Options,
    progress: Option<&dyn Progress>,
) -> Result<Inventory, Error> {
    let progress = progress.unwrap_or(&NoProgress);
    let parsed: vigil_image::Reference = reference.parse().map_err(|source| Error::Reference {
        reference: reference.to_string(),
        source,
    })?;
    let mut image = vigil_image::open(&parsed, &opts.image)?;
    let info = image.info().clone();
    let layers: Vec<LayerSummary> = info
        .layers
        .iter()
        .map(|l| LayerSummary {
            digest: l.digest.to_string(),
            size: l.size,
        })
        .collect();
    let cache = opts.cache_dir.as_ref().map(LayerCache::new);

    let mut merger = Merger::new();
    if layers.is_empty() {
        let mut collector = Collector::default();
        image.walk_rootfs(&mut collector)?;
        merger.apply(0, &collector.result);
    } else {
        for (index, layer) in layers.iter().enumerate() {
            progress.layer_start(index, layers.len(), &layer.digest, layer.size);
            if let Some(hit) = cache.as_ref().and_then(|c| c.get(&layer.digest)) {
                merger.apply(index, &hit);
                progress.layer_done(true);
                continue;
            }
            let mut collector = Collector {
                record_empty: index > 0,
                ..Collector::default()
            };
            let changes = image.walk_layer(index, &mut collector, &|n| progress.bytes(n))?;
            collector.result.whiteouts = changes.deleted;
            collector.result.opaque_dirs = changes.opaque_dirs;
            if let Some(cache) = &cache {
                cache.put(&layer.digest, &collector.result);
            }
            merger.apply(index, &collector.result);
            progress.layer_done(false);
        }
    }

    let merged = merger.finish();
    let distro = vigil_detect::resolve_distro(&merged.distro_facts);
    let layer_digest = |i: usize| layers.get(i).map(|l| l.digest.clone());
    let mut packages: Vec<InventoryPackage> = merged
        .packages
        .into_iter()
        .map(|m| InventoryPackage {
            ecosystem: m.package.ecosystem.as_str().to_string(),
            purl: m.package.purl(distro.as_ref()),
            name: m.package.name,
            version: m.package.version,
            arch: m.package.arch,
            source_name: m.package.source_name,
            source_version: m.package.source_version,
            layer: layer_digest(m.layer),
            path: m.package.path,
        })
        .collect();
    dedupe_lock_and_installed(&mut packages);
    drop_os_owned(&mut packages, &merged.owned);
    packages.sort();
    let errors = merged
        .errors
        .into_iter()
        .map(|e| DetectorError {
            layer: layer_digest(e.layer),
            path: e.path,
            message: e.message,
        })
        .collect();
    Ok(Inventory {
        image: ImageSummary {
            reference: reference.to_string(),
            manifest_digest: info.manifest_digest.as_ref().map(|d| d.to_string()),
            layers,
        },
        distro,
        packages,
        errors,
    })
}

/// A language package whose metadata file an installed OS package lists is reported once,
/// as the OS package (issue 7): Debian's `python3-urllib3` ships
/// `usr/lib/python3/dist-packages/urllib3-1.26.12.egg-info/PKG-INFO`, and that urllib3 is
/// the deb `python3-urllib3` (source `python-urllib3`), with Debian's version, patches and
/// advisories, not a second, PyPI urllib3. The rule, exactly:
///
/// - The OS package databases that list files are read: dpkg's `var/lib/dpkg/info/*.list`
///   (`NAME.list`, `NAME:ARCH.list`) and apk's `F:`/`R:` lines in `lib/apk/db/installed`
///   (rpm's file lists are not read yet). Their final state counts (whiteouts apply), and
///   a list counts only while its package is in the inventory (an installed package).
/// - A language package is dropped when the file it was read from by name (a dist-info
///   `METADATA`, an egg-info `PKG-INFO`, a gemspec, an installed `package.json`, a jar,
///   a lock file; for a nested jar, the outermost archive) is in such a list.
/// - Executables are exempt: a Go or Rust program embeds its dependencies, and the
///   distribution tracks their vulnerabilities on the dependencies' source packages, so
///   the modules in Debian's `/usr/bin/umoci` are still reported.
/// - Packages installed by pip, npm or gem outside the OS package manager (e.g. in
///   `/usr/local`) are listed by no OS package and are always reported.
fn drop_os_owned(packages: &mut Vec<InventoryPackage>, owned: &[crate::merge::OwnedFile]) {
    use std::collections::HashSet;
    if owned.is_empty() {
        return;
    }
    let installed: HashSet<(&str, &str)> = packages
        .iter()
        .filter(|p| p.ecosystem == "deb" || p.ecosystem == "apk")
        .map(|p| (p.ecosystem.as_str(), p.name.as_str()))
        .collect();
    let files: HashSet<String> = owned
        .iter()
        .filter(|o| {
            let ecosystem = if vigil_detect::dpkg_list_owner(&o.database).is_some() {
                "deb"
            } else {
                "apk"
            };
            installed.contains(&(ecosystem, o.owner.as_str()))
        })
        .map(|o| o.path.clone())
        .collect();
    if files.is_empty() {
        return;
    }
    packages.retain(|p| {
        if p.ecosystem == "deb" || p.ecosystem == "apk" || p.ecosystem == "rpm" {
            return true;
        }
        let file = p.path.split("!/").next().unwrap_or(&p.path);
        // found by name (not an executable) and listed by an installed OS package
        !(vigil_detect::wants(file).is_some() && files.contains(file))
    });
}

/// Where a language package was read from, for [`dedupe_lock_and_installed`]: the project
/// directory and whether the file records what is installed or only what was locked.
fn project_of(path: &str) -> Option<(&str, bool)> {
    let file = path.rsplit('/').next().unwrap_or(path);
    match file {
        "package-lock.json"
        | "npm-shrinkwrap.json"
        | "yarn.lock"
        | "pnpm-lock.yaml"
        | "composer.lock" => return Some((path.rsplit_once('/').map_or("", |(d, _)| d), false)),
        _ => {}
    }
    if let Some(i) = path.find("node_modules/") {
        if i == 0 || path[..i].ends_with('/') {
            return Some((path[..i].trim_end_matches('/'), true));
        }
    }
    path.strip_suffix("/vendor/composer/installed.json")
        .map(|d| (d, true))
        .or_else(|| (path == "vendor/composer/installed.json").then_some(("", true)))
}

/// A project's lock file and its installed tree (`node_modules`, Composer's `vendor/`)
/// describe the same packages: a package found in both is reported once, from the installed
/// tree, which is what runs (issue 7: no double counting). A locked package that is not
/// installed stays.
fn dedupe_lock_and_installed(packages: &mut Vec<InventoryPackage>) {
    use std::collections::HashSet;
    let installed: HashSet<(String, String, String, String)> = packages
        .iter()
        .filter_map(|p| match project_of(&p.path) {
            Some((dir, true)) => Some((
                p.ecosystem.clone(),
                p.name.clone(),
                p.version.clone(),
                dir.to_string(),
            )),
            _ => None,
        })
        .collect();
    if installed.is_empty() {
        return;
    }
    packages.retain(|p| match project_of(&p.path) {
        Some((dir, false)) => !installed.contains(&(
            p.ecosystem.clone(),
            p.name.clone(),
            p.version.clone(),
            dir.to_string(),
        )),
        _ => true,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projects_of_lock_files_and_installed_trees() {
        assert_eq!(project_of("app/package-lock.json"), Some(("app", false)));
        assert_eq!(
            project_of("app/node_modules/lodash/package.json"),
            Some(("app", true))
        );
        assert_eq!(
            project_of("app/node_modules/a/node_modules/b/package.json"),
            Some(("app", true))
        );
        assert_eq!(project_of("node_modules/x/package.json"), Some(("", true)));
        assert_eq!(
            project_of("srv/vendor/composer/installed.json"),
            Some(("srv", true))
        );
        assert_eq!(project_of("srv/composer.lock"), Some(("srv", false)));
        assert_eq!(
            project_of("usr/lib/python3/dist-packages/x.dist-info/METADATA"),
            None
        );
        assert_eq!(project_of("my_node_modules/x/package.json"), None);
    }
}
