//! The other JavaScript lockfiles: `yarn.lock` (yarn v1's own format and yarn berry's
//! YAML) and `pnpm-lock.yaml` (lockfile versions 5, 6 and 9).
//!
//! yarn v1: each block opens with its comma-separated specs (`lodash@^4.17.20,
//! lodash@^4.17.21:`, scoped names quoted) and holds an indented `version "4.17.21"`.
//! Berry: YAML with a `__metadata` entry; each entry's `resolution`
//! (`lodash@npm:4.17.21`) names the package, and `@workspace:`, `@link:`, `@portal:`,
//! `@file:` resolutions are the project's own folders, left out. Neither format says
//! which packages are for development only.
//!
//! pnpm: the `packages` map is keyed `/name/1.0.0_peer` (v5), `/name@1.0.0(peer@1)` (v6)
//! or `name@1.0.0` (v9); entries installed from a tarball or git have `name` and
//! `version` fields instead. v5 and v6 mark `dev: true`; v9 dropped the flag, so a v9
//! package is `dev` when the `snapshots` graph reaches it from the importers'
//! `devDependencies` and not from their `dependencies` or `optionalDependencies`.
//! A name is split from its version at the first `@` after the first character, so
//! `@scope/name@1.0.0` keeps its scope.

use std::collections::{BTreeMap, BTreeSet};

use serde_norway::Value;

use crate::python::clip;
use crate::{Package, PkgType, Problem, utf8};

/// `name` and the rest of `spec` split at the first `@` that does not start a scope.
fn split_at(spec: &str) -> Option<(&str, &str)> {
    let i = spec.get(1..)?.find('@')? + 1;
    Some((&spec[..i], &spec[i + 1..]))
}

pub(crate) fn yarn_lock(data: &[u8], path: &str) -> Result<Vec<Package>, Problem> {
    let text = utf8(data)?;
    let mut out = if text.lines().any(|l| l == "__metadata:") {
        berry(text, path)?
    } else {
        classic(text, path)?
    };
    out.sort();
    out.dedup();
    Ok(out)
}

fn classic(text: &str, path: &str) -> Result<Vec<Package>, Problem> {
    let mut out = Vec::new();
    // the name of the block being read and the line it opened on
    let mut open: Option<(String, usize)> = None;
    for (i, line) in text.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !line.starts_with(' ') {
            if let Some((name, at)) = open.take() {
                return Err(Problem::syntax(at, format!("no version for {name}")));
            }
            let first = line.trim_end_matches(':').split(',').next().unwrap_or("");
            let first = first.trim().trim_matches('"');
            let Some((name, _)) = split_at(first) else {
                return Err(Problem::syntax(
                    i + 1,
                    format!("expected `name@range:`, found {:?}", clip(line)),
                ));
            };
            open = Some((name.to_owned(), i + 1));
        } else if let Some(v) = line.strip_prefix("  version ") {
            if let Some((name, _)) = open.take() {
                let version = v.trim().trim_matches('"');
                out.push(Package::language(PkgType::Npm, name, version, path));
            }
        }
    }
    if let Some((name, at)) = open {
        return Err(Problem::syntax(at, format!("no version for {name}")));
    }
    Ok(out)
}

fn yaml(text: &str, what: &str) -> Result<BTreeMap<String, Value>, Problem> {
    serde_norway::from_str(text).map_err(|e| {
        let line = e.location().map_or(0, |l| l.line());
        Problem::syntax(line, format!("invalid {what}: {e}"))
    })
}

/// A YAML scalar as written (versions like `1.10` must not become numbers).
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn berry(text: &str, path: &str) -> Result<Vec<Package>, Problem> {
    let mut out = Vec::new();
    for (key, entry) in yaml(text, "yarn.lock")? {
        if key == "__metadata" {
            continue;
        }
        let resolution = entry.get("resolution").and_then(scalar);
        let version = entry.get("version").and_then(scalar);
        let (Some(resolution), Some(version)) = (resolution, version) else {
            return Err(Problem::corrupt(format!(
                "entry {key:?} has no resolution or version"
            )));
        };
        let Some((name, how)) = split_at(&resolution) else {
            return Err(Problem::corrupt(format!(
                "resolution {resolution:?} names no package"
            )));
        };
        let local = ["workspace:", "link:", "portal:", "file:"];
        if local.iter().any(|l| how.starts_with(l)) {
            continue;
        }
        out.push(Package::language(PkgType::Npm, name, version, path));
    }
    Ok(out)
}

pub(crate) fn pnpm_lock(data: &[u8], path: &str) -> Result<Vec<Package>, Problem> {
    let text = utf8(data)?;
    let doc = yaml(text, "pnpm-lock.yaml")?;
    let version = doc
        .get("lockfileVersion")
        .and_then(scalar)
        .ok_or_else(|| Problem::corrupt("no lockfileVersion: not a pnpm lockfile"))?;
    let major: u32 = version
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .filter(|m| (5..=9).contains(m))
        .ok_or_else(|| Problem::corrupt(format!("lockfileVersion {version} is not 5 to 9")))?;
    let mut out = Vec::new();
    let v9_prod = if major >= 9 {
        v9_production(&doc)
    } else {
        None
    };
    let Some(packages) = doc.get("packages") else {
        return Ok(out);
    };
    let Value::Mapping(packages) = packages else {
        return Err(Problem::corrupt("`packages` is not a map"));
    };
    for (key, entry) in packages {
        let key = scalar(key).unwrap_or_default();
        let spec = key.trim_start_matches('/');
        let spec = spec.split('(').next().unwrap_or(spec);
        let named = (
            entry.get("name").and_then(scalar),
            entry.get("version").and_then(scalar),
        );
        let (name, version) = match named {
            (Some(n), Some(v)) => (n, v),
            _ => {
                let split = if major >= 6 {
                    split_at(spec)
                } else {
                    spec.rsplit_once('/')
                        .map(|(n, v)| (n, v.split('_').next().unwrap_or(v)))
                };
                match split {
                    Some((n, v)) if !n.is_empty() && !v.is_empty() => (n.to_owned(), v.to_owned()),
                    _ => {
                        return Err(Problem::corrupt(format!(
                            "package key {key:?} names no version"
                        )));
                    }
                }
            }
        };
        let mut p = Package::language(PkgType::Npm, name, version, path);
        p.dev = match &v9_prod {
            Some(prod) => !prod.contains(&(p.name.clone(), p.version.clone())),
            None => entry.get("dev").and_then(Value::as_bool).unwrap_or(false),
        };
        out.push(p);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The (name, version) pairs a v9 lockfile's production dependencies reach, walking
/// `snapshots` from the importers' `dependencies` and `optionalDependencies`; none when
/// the lockfile lists no importer `devDependencies` (then nothing is dev).
fn v9_production(doc: &BTreeMap<String, Value>) -> Option<BTreeSet<(String, String)>> {
    let importers = doc.get("importers")?.as_mapping()?;
    let prod_groups = ["dependencies", "optionalDependencies"];
    let mut has_dev = false;
    let mut stack: Vec<String> = Vec::new();
    for importer in importers.values() {
        has_dev |= importer.get("devDependencies").is_some();
        for group in prod_groups {
            let Some(deps) = importer.get(group).and_then(Value::as_mapping) else {
                continue;
            };
            for (name, dep) in deps {
                if let (Some(n), Some(v)) = (scalar(name), dep.get("version").and_then(scalar)) {
                    stack.push(format!("{n}@{v}"));
                }
            }
        }
    }
    if !has_dev {
        return None;
    }
    let snapshots = doc.get("snapshots").and_then(Value::as_mapping);
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut reached = BTreeSet::new();
    while let Some(key) = stack.pop() {
        if !seen.insert(key.clone()) {
            continue;
        }
        let plain = key.split('(').next().unwrap_or(&key);
        if let Some((n, v)) = split_at(plain) {
            reached.insert((n.to_owned(), v.to_owned()));
        }
        let Some(snapshot) = snapshots.and_then(|s| s.get(key.as_str())) else {
            continue;
        };
        for group in prod_groups {
            let Some(deps) = snapshot.get(group).and_then(Value::as_mapping) else {
                continue;
            };
            for (name, version) in deps {
                if let (Some(n), Some(v)) = (scalar(name), scalar(version)) {
                    stack.push(format!("{n}@{v}"));
                }
            }
        }
    }
    Some(reached)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(p: Vec<Package>) -> Vec<String> {
        p.iter()
            .map(|p| format!("{} {}", p.purl(None), p.dev))
            .collect()
    }

    #[test]
    fn pnpm_keys_of_each_version() {
        let v5 = "lockfileVersion: 5.4\npackages:\n  /@babel/core/7.0.0_x:\n    dev: true\n  /ms/2.1.3:\n    dev: false\n";
        assert_eq!(
            list(pnpm_lock(v5.as_bytes(), "p").unwrap()),
            ["pkg:npm/%40babel/core@7.0.0 true", "pkg:npm/ms@2.1.3 false"]
        );
        let v6 =
            "lockfileVersion: '6.0'\npackages:\n  /@babel/core@7.0.0(ms@2.1.3):\n    dev: true\n";
        assert_eq!(
            list(pnpm_lock(v6.as_bytes(), "p").unwrap()),
            ["pkg:npm/%40babel/core@7.0.0 true"]
        );
        let v9 = "lockfileVersion: '9.0'\npackages:\n  ms@2.1.3:\n    resolution: {integrity: x}\n";
        assert_eq!(
            list(pnpm_lock(v9.as_bytes(), "p").unwrap()),
            ["pkg:npm/ms@2.1.3 false"]
        );
    }

    #[test]
    fn yarn_berry_skips_workspaces() {
        let data = "__metadata:\n  version: 6\n\n\"app@workspace:.\":\n  version: 0.0.0-use.local\n  resolution: \"app@workspace:.\"\n\n\"@types/node@npm:^18\":\n  version: 18.0.0\n  resolution: \"@types/node@npm:18.0.0\"\n";
        assert_eq!(
            list(yarn_lock(data.as_bytes(), "p").unwrap()),
            ["pkg:npm/%40types/node@18.0.0 false"]
        );
    }

    #[test]
    fn yarn_classic_block_without_version() {
        let e = yarn_lock(b"# yarn lockfile v1\n\nms@^2:\n  resolved \"x\"\n", "p").unwrap_err();
        assert_eq!(e.to_string(), "line 3: no version for ms");
    }
}
