//! What one layer yields, and how the layers of an image combine (SPEC 2.2).
//!
//! OCI whiteout rules, applied in layer order:
//! - `.wh.NAME` in a layer deletes `NAME` (a file, or a directory with everything under it)
//!   as left by the layers below.
//! - `.wh..wh..opq` in directory `D` hides everything under `D` from the layers below; the
//!   layer's own entries under `D` stay.
//!
//! Both are applied to the lower layers' state *before* the layer's own files are added, so a
//! layer that deletes and recreates a file keeps its new copy. A package database rewritten
//! in an upper layer (a package purged, another installed) is therefore read from its final
//! state only, and a database deleted by an upper layer yields nothing.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use vigil_detect::{Detection, DistroFacts, Package};

/// The outcome of the detector on one file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileOutcome {
    Detected(Detection),
    /// The detector failed on the file: reported as a coverage gap, never dropped (SPEC 5.7).
    Failed(String),
}

/// Everything the detectors need from one layer; cached by the layer's digest.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LayerResult {
    /// Wanted regular files, by normalised path.
    pub files: BTreeMap<String, FileOutcome>,
    /// Symbolic links at wanted paths, by normalised path, with their raw target.
    pub symlinks: BTreeMap<String, String>,
    /// Paths deleted by `.wh.NAME` entries.
    pub whiteouts: Vec<String>,
    /// Directories made opaque by `.wh..wh..opq` entries.
    pub opaque_dirs: Vec<String>,
    /// Per OS package database that lists files (dpkg `info/*.list`, apk `installed`):
    /// the language metadata files its packages own, each with the owning package
    /// (`vigil_detect::owned_files`). A listed database with no such file is kept with an
    /// empty list, so that it replaces what a lower layer said.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub owned: BTreeMap<String, Vec<(String, String)>>,
}

#[derive(Debug, Clone)]
enum Entry {
    File { layer: usize, outcome: FileOutcome },
    Symlink { target: String },
}

/// A package in the final file system state, with the layer that introduced it.
#[derive(Debug, Clone)]
pub struct MergedPackage {
    pub package: Package,
    /// Index of the layer that introduced this package at this version.
    pub layer: usize,
}

/// A detector failure in the final state.
#[derive(Debug, Clone)]
pub struct MergedError {
    pub path: String,
    pub layer: usize,
    pub message: String,
}

/// A language metadata file that an OS package installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedFile {
    /// The file (normalised image path).
    pub path: String,
    /// The OS package that lists it.
    pub owner: String,
    /// The database that says so (`var/lib/dpkg/info/NAME.list`, `lib/apk/db/installed`).
    pub database: String,
}

#[derive(Debug, Default)]
pub struct Merged {
    pub distro_facts: Vec<(String, DistroFacts)>,
    pub packages: Vec<MergedPackage>,
    pub errors: Vec<MergedError>,
    /// Language metadata files owned by OS packages, in the final state.
    pub owned: Vec<OwnedFile>,
}

/// Package identity within one database file, for layer attribution.
type PkgKey = (String, Option<String>);

/// Applies layers in order; call [`Merger::finish`] for the final state.
#[derive(Default)]
pub struct Merger {
    state: BTreeMap<String, Entry>,
    /// Per database path: which layer introduced each package at its current version.
    introduced: HashMap<String, HashMap<PkgKey, (String, usize)>>,
    /// Owned language files per listing database, as [`LayerResult::owned`].
    owned: BTreeMap<String, Vec<(String, String)>>,
}

fn is_under(path: &str, dir: &str) -> bool {
    dir.is_empty()
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

impl Merger {
    pub fn new() -> Self {
        Self::default()
    }

    fn remove_where(&mut self, pred: impl Fn(&str) -> bool) {
        self.state.retain(|path, _| !pred(path));
        self.introduced.retain(|path, _| !pred(path));
        self.owned.retain(|path, _| !pred(path));
    }

    pub fn apply(&mut self, layer: usize, result: &LayerResult) {
        for dir in &result.opaque_dirs {
            self.remove_where(|p| is_under(p, dir));
        }
        for deleted in &result.whiteouts {
            self.remove_where(|p| p == deleted || is_under(p, deleted));
        }
        for (database, files) in &result.owned {
            self.owned.insert(database.clone(), files.clone());
        }
        for (path, target) in &result.symlinks {
            self.introduced.remove(path);
            self.owned.remove(path);
            self.state.insert(
                path.clone(),
                Entry::Symlink {
                    target: target.clone(),
                },
            );
        }
        for (path, outcome) in &result.files {
            let previous = self.introduced.remove(path).unwrap_or_default();
            if let FileOutcome::Detected(Detection::Packages(pkgs)) = outcome {
                let mut now = HashMap::with_capacity(pkgs.len());
                for pkg in pkgs {
                    let key = (pkg.name.clone(), pkg.arch.clone());
                    let intro = match previous.get(&key) {
                        Some((version, at)) if *version == pkg.version => *at,
                        _ => layer,
                    };
                    now.insert(key, (pkg.version.clone(), intro));
                }
                self.introduced.insert(path.clone(), now);
            }
            self.state.insert(
                path.clone(),
                Entry::File {
                    layer,
                    outcome: outcome.clone(),
                },
            );
        }
    }

    /// Follows a symlink chain inside the image (at most 16 hops, never above the root).
    fn resolve<'a>(&'a self, path: &str) -> Option<&'a FileOutcome> {
        let mut current = path.to_string();
        for _ in 0..16 {
            match self.state.get(&current)? {
                Entry::File { outcome, .. } => return Some(outcome),
                Entry::Symlink { target } => current = join_link(&current, target)?,
            }
        }
        None
    }

    pub fn finish(self) -> Merged {
        let mut merged = Merged::default();
        for (database, files) in &self.owned {
            for (path, owner) in files {
                merged.owned.push(OwnedFile {
                    path: path.clone(),
                    owner: owner.clone(),
                    database: database.clone(),
                });
            }
        }
        for (path, entry) in &self.state {
            match entry {
                Entry::File { layer, outcome } => match outcome {
                    FileOutcome::Detected(Detection::Distro(facts)) => {
                        merged.distro_facts.push((path.clone(), facts.clone()));
                    }
                    FileOutcome::Detected(Detection::Packages(pkgs)) => {
                        let intro = self.introduced.get(path);
                        for pkg in pkgs {
                            let key = (pkg.name.clone(), pkg.arch.clone());
                            let at = intro.and_then(|m| m.get(&key)).map_or(*layer, |(_, l)| *l);
                            merged.packages.push(MergedPackage {
                                package: pkg.clone(),
                                layer: at,
                            });
                        }
                    }
                    FileOutcome::Failed(message) => merged.errors.push(MergedError {
                        path: path.clone(),
                        layer: *layer,
                        message: message.clone(),
                    }),
                },
                Entry::Symlink { .. } => {
                    // Only distribution files are read through links (etc/os-release is
                    // usually a link to usr/lib/os-release); package databases are found
                    // at their real paths by the walker.
                    if let Some(FileOutcome::Detected(Detection::Distro(facts))) =
                        self.resolve(path)
                    {
                        merged.distro_facts.push((path.clone(), facts.clone()));
                    }
                }
            }
        }
        merged
    }
}

/// Resolves `target` of the link at `link` to a normalised image path.
fn join_link(link: &str, target: &str) -> Option<String> {
    let mut parts: Vec<&str> = if target.starts_with('/') {
        Vec::new()
    } else {
        let mut p: Vec<&str> = link.split('/').collect();
        p.pop();
        p
    };
    for comp in target.split('/') {
        match comp {
            "" | "." => {}
            // `..` at the root stays at the root, as inside the container (chroot
            // semantics): a link can never reach outside the image.
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_resolution_stays_inside_the_root() {
        assert_eq!(
            join_link("etc/os-release", "../usr/lib/os-release").as_deref(),
            Some("usr/lib/os-release")
        );
        assert_eq!(
            join_link("etc/os-release", "/usr/lib/os-release").as_deref(),
            Some("usr/lib/os-release")
        );
        assert_eq!(
            join_link("etc/os-release", "../../../x").as_deref(),
            Some("x")
        );
    }

    #[test]
    fn is_under_matches_whole_components() {
        assert!(is_under("usr/share/doc/bash/x", "usr/share/doc/bash"));
        assert!(!is_under("usr/share/doc/bashrc", "usr/share/doc/bash"));
        assert!(is_under("anything", ""));
    }
}
