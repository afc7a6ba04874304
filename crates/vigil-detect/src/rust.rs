//! Rust: `Cargo.lock`, versions 1 to 4 (all list `[[package]]` tables with `name`,
//! `version` and, for packages not in the workspace, `source`; v1 has no top-level
//! `version` and keeps checksums in `[metadata]`).
//!
//! As cargo-audit does, packages without a `source` are left out: they are the
//! workspace's own members and path dependencies, which no advisory is about.

use serde::Deserialize;

use crate::{Package, PkgType, Problem, utf8};

#[derive(Deserialize)]
struct Lock {
    version: Option<i64>,
    #[serde(default)]
    package: Vec<LockPackage>,
}

#[derive(Deserialize)]
struct LockPackage {
    name: String,
    version: String,
    source: Option<String>,
}

pub(crate) fn cargo_lock(data: &[u8], path: &str) -> Result<Vec<Package>, Problem> {
    let text = utf8(data)?;
    let lock: Lock = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map_or(0, |s| text[..s.start].matches('\n').count() + 1);
        Problem::syntax(line, format!("invalid Cargo.lock: {}", e.message()))
    })?;
    if let Some(v) = lock.version {
        if !(1..=4).contains(&v) {
            return Err(Problem::corrupt(format!(
                "Cargo.lock version {v} is not one of 1, 2, 3, 4"
            )));
        }
    }
    let mut out: Vec<Package> = lock
        .package
        .into_iter()
        .filter(|p| p.source.is_some())
        .map(|p| Package::language(PkgType::Cargo, p.name, p.version, path))
        .collect();
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_without_source_are_left_out() {
        let data = b"version = 4\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\n\n[[package]]\nname = \"serde\"\nversion = \"1.0.1\"\nsource = \"registry+https://example.org/index\"\n";
        let p = cargo_lock(data, "Cargo.lock").unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].purl(None), "pkg:cargo/serde@1.0.1");
    }

    #[test]
    fn broken_locks_name_the_line() {
        let e = cargo_lock(b"version = 3\n[[package]]\nname = 1\n", "p").unwrap_err();
        assert!(
            e.to_string().starts_with("line 3: invalid Cargo.lock"),
            "{e}"
        );
        let e = cargo_lock(b"version = 7\n", "p").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Cargo.lock version 7 is not one of 1, 2, 3, 4"
        );
    }
}
