//! Java archives (jar, war, ear: zip files) and the archives nested in them.
//!
//! Maven writes `META-INF/maven/GROUP/ARTIFACT/pom.properties` (`groupId`, `artifactId`,
//! `version`) into each jar it builds; a shaded ("uber") jar keeps one per bundled
//! artifact, so every one found is a package, named `groupId:artifactId`. An archive
//! without any falls back to its manifest's main section (`META-INF/MANIFEST.MF`):
//! `Implementation-Title` (else `Bundle-SymbolicName`) with `Implementation-Version`
//! (else `Bundle-Version`), prefixed by `Implementation-Vendor-Id:` when present.
//! Manifest lines longer than 72 bytes continue on lines starting with one space.
//!
//! Archives inside archives (`WEB-INF/lib/*.jar`, Spring Boot `BOOT-INF/lib`, ear
//! modules) are read to a depth of [`MAX_DEPTH`]; their packages carry the path
//! `outer.war!/WEB-INF/lib/inner.jar`. Zip headers can lie about sizes, so every entry
//! is read through a limit and all entries of one file together may decompress to at
//! most [`MAX_UNCOMPRESSED`] bytes: a zip bomb ends in an error, not in exhausted memory.

use std::io::{Cursor, Read};

use crate::{Package, PkgType, Problem};

/// How deep archives nest before the inner ones are no longer opened.
pub(crate) const MAX_DEPTH: usize = 4;
/// The most bytes all entries of one archive (nested ones included) may decompress to.
pub(crate) const MAX_UNCOMPRESSED: u64 = 512 * 1024 * 1024;

pub(crate) fn parse(data: &[u8], path: &str) -> Result<Vec<Package>, Problem> {
    let mut budget = MAX_UNCOMPRESSED;
    let mut out = Vec::new();
    archive(data, path, 1, &mut budget, &mut out)?;
    out.sort();
    out.dedup();
    Ok(out)
}

fn archive(
    data: &[u8],
    path: &str,
    depth: usize,
    budget: &mut u64,
    out: &mut Vec<Package>,
) -> Result<(), Problem> {
    let inside = |p: &str| {
        if depth == 1 {
            String::new()
        } else {
            format!("{p}: ")
        }
    };
    let mut zip = zip::ZipArchive::new(Cursor::new(data))
        .map_err(|e| Problem::corrupt(format!("{}not a zip archive: {e}", inside(path))))?;
    let mut found = Vec::new();
    let mut manifest = None;
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .map_err(|e| Problem::corrupt(format!("{}zip entry {i}: {e}", inside(path))))?;
        if entry.is_dir() {
            continue;
        }
        let name = entry.name().to_owned();
        let lower = name.to_ascii_lowercase();
        let pom = name.starts_with("META-INF/maven/") && name.ends_with("/pom.properties");
        let is_manifest = name.eq_ignore_ascii_case("META-INF/MANIFEST.MF");
        let is_archive = [".jar", ".war", ".ear"].iter().any(|e| lower.ends_with(e));
        if !(pom || is_manifest || (is_archive && depth < MAX_DEPTH)) {
            continue;
        }
        let mut bytes = Vec::new();
        (&mut entry)
            .take(*budget + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Problem::corrupt(format!("{}{name}: {e}", inside(path))))?;
        if bytes.len() as u64 > *budget {
            return Err(Problem::corrupt(format!(
                "archive decompresses to more than {MAX_UNCOMPRESSED} bytes"
            )));
        }
        *budget -= bytes.len() as u64;
        if pom {
            if let Some(p) = pom_properties(&bytes, path) {
                found.push(p);
            }
        } else if is_manifest {
            manifest = Some(bytes);
        } else {
            // opened now and dropped after: one inner archive per level in memory
            drop(entry);
            archive(&bytes, &format!("{path}!/{name}"), depth + 1, budget, out)?;
        }
    }
    if found.is_empty() {
        if let Some(m) = manifest.and_then(|m| from_manifest(&m, path)) {
            found.push(m);
        }
    }
    out.extend(found);
    Ok(())
}

/// `groupId`, `artifactId`, `version` of a `pom.properties` (Java properties syntax:
/// `key=value` or `key: value`, `#` and `!` comments); none when one is missing or is
/// an unexpanded `${...}`.
fn pom_properties(bytes: &[u8], path: &str) -> Option<Package> {
    let text = String::from_utf8_lossy(bytes);
    let (mut group, mut artifact, mut version) = (None, None, None);
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with(['#', '!']) {
            continue;
        }
        let Some(i) = line.find(['=', ':']) else {
            continue;
        };
        let (key, value) = (line[..i].trim(), line[i + 1..].trim());
        match key {
            "groupId" => group = Some(value),
            "artifactId" => artifact = Some(value),
            "version" => version = Some(value),
            _ => {}
        }
    }
    let ok = |v: &Option<&str>| v.is_some_and(|v| !v.is_empty() && !v.contains("${"));
    if !(ok(&group) && ok(&artifact) && ok(&version)) {
        return None;
    }
    Some(Package::language(
        PkgType::Maven,
        format!("{}:{}", group?, artifact?),
        version?,
        path,
    ))
}

/// The package a manifest's main section names, if any.
fn from_manifest(bytes: &[u8], path: &str) -> Option<Package> {
    let text = String::from_utf8_lossy(bytes);
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            break; // the main section ends here
        }
        if let Some(more) = line.strip_prefix(' ') {
            if let Some((_, v)) = headers.last_mut() {
                v.push_str(more);
            }
        } else if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let get = |key: &str| {
        headers
            .iter()
            .find(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.as_str())
    };
    let title = get("Implementation-Title")
        .or_else(|| get("Bundle-SymbolicName").map(|s| s.split(';').next().unwrap_or(s)))?;
    let version = get("Implementation-Version").or_else(|| get("Bundle-Version"))?;
    let name = match get("Implementation-Vendor-Id") {
        Some(group) => format!("{group}:{title}"),
        None => title.to_owned(),
    };
    Some(Package::language(PkgType::Maven, name, version, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_continuations_and_fallbacks() {
        let m = b"Manifest-Version: 1.0\r\nBundle-SymbolicName: org.example.very\r\n .long;singleton:=true\r\nBundle-Version: 1.2.3\r\n\r\nName: x\r\nImplementation-Title: no\r\n";
        let p = from_manifest(m, "a.jar").unwrap();
        assert_eq!(
            (p.name.as_str(), p.version.as_str()),
            ("org.example.very.long", "1.2.3")
        );
    }

    #[test]
    fn pom_properties_need_all_three() {
        let p = pom_properties(b"#c\ngroupId=g\nartifactId=a\nversion=1\n", "x").unwrap();
        assert_eq!(p.purl(None), "pkg:maven/g/a@1");
        assert!(pom_properties(b"groupId=g\nartifactId=a\nversion=${v}\n", "x").is_none());
    }

    #[test]
    fn not_a_zip_is_an_error() {
        let e = parse(b"PK\x03\x04 garbage", "a.jar").unwrap_err();
        assert!(e.to_string().starts_with("not a zip archive"), "{e}");
    }
}
