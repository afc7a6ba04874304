//! npm: `package-lock.json` and the manifests of installed packages
//! (`node_modules/NAME/package.json`).
//!
//! Lockfile traps: v1 (npm 5, 6) nests a `dependencies` tree, each entry with its own
//! `dependencies`; v3 (npm >= 9) has only the flat `packages` map keyed by install path
//! (`node_modules/a/node_modules/b`), and v2 has both, where the map wins. In the map the
//! root project is the key `""`, workspace members are keys without `node_modules/`, and
//! `link: true` entries point at a folder listed under its own key; none of these is a
//! registry package. An aliased install (`"x": "npm:y@1"`) has its real name in `name`.
//! Packages only needed for development carry `dev: true`.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::{Package, PkgType, Problem, json};

#[derive(Deserialize)]
struct Lock {
    #[serde(rename = "lockfileVersion")]
    lockfile_version: Option<u64>,
    packages: Option<BTreeMap<String, Entry>>,
    dependencies: Option<BTreeMap<String, TreeEntry>>,
}

#[derive(Deserialize)]
struct Entry {
    name: Option<String>,
    version: Option<String>,
    #[serde(default)]
    dev: bool,
    #[serde(default)]
    link: bool,
}

#[derive(Deserialize)]
struct TreeEntry {
    version: Option<String>,
    #[serde(default)]
    dev: bool,
    #[serde(default)]
    dependencies: BTreeMap<String, TreeEntry>,
}

pub(crate) fn lock(data: &[u8], path: &str) -> Result<Vec<Package>, Problem> {
    let lock: Lock = json(data)?;
    let mut out = Vec::new();
    match (lock.lockfile_version, lock.packages, lock.dependencies) {
        (Some(v), _, _) if v > 3 => {
            return Err(Problem::corrupt(format!(
                "lockfileVersion {v} is not one of 1, 2, 3"
            )));
        }
        (_, Some(packages), _) => {
            for (key, entry) in packages {
                let Some(at) = key.rfind("node_modules/") else {
                    continue; // the root project or a workspace member
                };
                if entry.link {
                    continue;
                }
                let name = entry
                    .name
                    .unwrap_or_else(|| key[at + "node_modules/".len()..].to_owned());
                let version = entry
                    .version
                    .ok_or_else(|| Problem::corrupt(format!("package {key:?} has no version")))?;
                let mut p = Package::language(PkgType::Npm, name, version, path);
                p.dev = entry.dev;
                out.push(p);
            }
        }
        (_, None, Some(deps)) => {
            let mut stack: Vec<(String, TreeEntry)> = deps.into_iter().collect();
            while let Some((name, entry)) = stack.pop() {
                let version = entry.version.ok_or_else(|| {
                    Problem::corrupt(format!("dependency {name:?} has no version"))
                })?;
                // local folders (`file:../lib`) are not registry packages; an alias
                // (`"x": {"version": "npm:real@1.0.0"}`) installs `real`
                let aliased = version
                    .strip_prefix("npm:")
                    .and_then(|spec| spec.get(1..)?.find('@').map(|i| spec.split_at(i + 1)))
                    .map(|(n, v)| (n.to_owned(), v[1..].to_owned()));
                let (name, version) = aliased.unwrap_or((name, version));
                if !version.starts_with("file:") {
                    let mut p = Package::language(PkgType::Npm, name, version, path);
                    p.dev = entry.dev;
                    out.push(p);
                }
                stack.extend(entry.dependencies);
            }
        }
        (_, None, None) => {
            return Err(Problem::corrupt(
                "neither `packages` nor `dependencies`: not an npm lockfile",
            ));
        }
    }
    out.sort();
    Ok(out)
}

#[derive(Deserialize)]
struct Manifest {
    name: Option<String>,
    version: Option<String>,
    #[serde(default)]
    private: bool,
}

pub(crate) fn package_json(data: &[u8], path: &str) -> Result<Vec<Package>, Problem> {
    let manifest: Manifest = json(data)?;
    if manifest.private {
        return Ok(Vec::new());
    }
    let name = manifest
        .name
        .filter(|n| !n.is_empty())
        .ok_or_else(|| Problem::corrupt("package.json has no `name`"))?;
    let version = manifest
        .version
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Problem::corrupt(format!("package.json of {name} has no `version`")))?;
    Ok(vec![Package::language(PkgType::Npm, name, version, path)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_tree_is_walked_and_dev_flagged() {
        let data = br#"{"lockfileVersion":1,"dependencies":{
            "a":{"version":"1.0.0","dependencies":{"b":{"version":"2.0.0","dev":true}}},
            "alias":{"version":"npm:@s/real@3.0.0"},
            "local":{"version":"file:../local"}}}"#;
        let p = lock(data, "package-lock.json").unwrap();
        let got: Vec<_> = p
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.dev))
            .collect();
        assert_eq!(
            got,
            [
                ("@s/real", "3.0.0", false),
                ("a", "1.0.0", false),
                ("b", "2.0.0", true)
            ]
        );
    }

    #[test]
    fn v3_map_skips_root_workspaces_and_links() {
        let data = br#"{"lockfileVersion":3,"packages":{
            "":{"name":"app","version":"1.0.0"},
            "packages/w":{"name":"w","version":"0.1.0"},
            "node_modules/w":{"resolved":"packages/w","link":true},
            "node_modules/@s/x":{"version":"1.2.3","dev":true},
            "node_modules/@s/x/node_modules/y":{"version":"3.0.0"},
            "node_modules/alias":{"name":"real","version":"4.0.0"}}}"#;
        let p = lock(data, "package-lock.json").unwrap();
        let got: Vec<_> = p
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.dev))
            .collect();
        assert_eq!(
            got,
            [
                ("@s/x", "1.2.3", true),
                ("real", "4.0.0", false),
                ("y", "3.0.0", false)
            ]
        );
    }

    #[test]
    fn broken_locks_are_errors() {
        let e = lock(b"{\n\"packages\": [", "p").unwrap_err();
        assert!(e.to_string().starts_with("line 2: invalid JSON"), "{e}");
        let e = lock(br#"{"lockfileVersion":9,"packages":{}}"#, "p").unwrap_err();
        assert_eq!(e.to_string(), "lockfileVersion 9 is not one of 1, 2, 3");
        let e = lock(br#"{"packages":{"node_modules/a":{}}}"#, "p").unwrap_err();
        assert_eq!(e.to_string(), "package \"node_modules/a\" has no version");
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(lock(deep.as_bytes(), "p").is_err());
    }
}
