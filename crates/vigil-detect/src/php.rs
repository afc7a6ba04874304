//! PHP: Composer's `composer.lock` (`packages` and `packages-dev`, the latter flagged
//! `dev`) and `vendor/composer/installed.json`, which Composer 1 wrote as a bare array
//! and Composer 2 as `{"packages": [...], "dev-package-names": [...]}`. Names are
//! `vendor/name`; versions are kept as written (`v5.4.0` and `5.4.0` both occur).

use serde::Deserialize;

use crate::{Package, PkgType, Problem, json};

#[derive(Deserialize)]
struct Entry {
    name: String,
    version: String,
}

#[derive(Deserialize)]
struct Lock {
    packages: Vec<Entry>,
    #[serde(default, rename = "packages-dev")]
    packages_dev: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Installed {
    V1(Vec<Entry>),
    V2 {
        packages: Vec<Entry>,
        #[serde(default, rename = "dev-package-names")]
        dev: Vec<String>,
    },
}

fn package(e: Entry, dev: bool, path: &str) -> Package {
    let mut p = Package::language(PkgType::Composer, e.name, e.version, path);
    p.dev = dev;
    p
}

pub(crate) fn lock(data: &[u8], path: &str) -> Result<Vec<Package>, Problem> {
    let lock: Lock = json(data)?;
    let mut out: Vec<Package> = lock
        .packages
        .into_iter()
        .map(|e| package(e, false, path))
        .collect();
    out.extend(
        lock.packages_dev
            .into_iter()
            .map(|e| package(e, true, path)),
    );
    out.sort();
    Ok(out)
}

pub(crate) fn installed(data: &[u8], path: &str) -> Result<Vec<Package>, Problem> {
    let (packages, dev) = match json::<Installed>(data)? {
        Installed::V1(p) => (p, Vec::new()),
        Installed::V2 { packages, dev } => (packages, dev),
    };
    let mut out: Vec<Package> = packages
        .into_iter()
        .map(|e| {
            let is_dev = dev.contains(&e.name);
            package(e, is_dev, path)
        })
        .collect();
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installed_v1_and_v2() {
        let v1 = br#"[{"name":"monolog/monolog","version":"1.0.0"}]"#;
        let p = installed(v1, "vendor/composer/installed.json").unwrap();
        assert_eq!(p[0].purl(None), "pkg:composer/monolog/monolog@1.0.0");
        let v2 = br#"{"packages":[{"name":"a/b","version":"v2.0.0"}],"dev-package-names":["a/b"]}"#;
        assert!(installed(v2, "x").unwrap()[0].dev);
        assert!(installed(br#"{"packages":{}}"#, "x").is_err());
    }
}
