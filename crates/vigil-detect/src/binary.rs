//! Executables: Go build info and cargo-auditable dependency lists (SPEC 3.3).
//!
//! Go (`runtime/debug.BuildInfo`, as `go version -m` reads it): the linker writes a
//! 32-byte header starting with the magic `\xff Go buildinf:` at a 16-byte aligned
//! address, in the `.go.buildinfo` section (ELF), `__go_buildinfo` (Mach-O) or the data
//! section. Byte 14 is the pointer size, byte 15 flags: bit 1 set (Go >= 1.18) means the
//! toolchain version and the module info follow the header inline as two
//! varint-length-prefixed strings; otherwise two pointers after the magic point at Go
//! string headers (data pointer, length), in the byte order bit 0 names, which must be
//! translated from virtual addresses to file offsets. Module info of Go >= 1.13 is framed
//! by 16 sentinel bytes at each end. Its lines are `path`, `mod` (the main module),
//! `dep` (a dependency) and `=>` (a replacement of the module on the previous line),
//! tab-separated `path version sum`.
//!
//! The main module of a `go build` from a checkout has the version `(devel)` and a
//! replacement by a local directory has no version: neither names a release any
//! advisory could be about, so both are left out. The toolchain is the package
//! `stdlib`, its version written like the modules' (`go1.21.5` gives `v1.21.5`, `go1.20`
//! gives `v1.20.0`).
//!
//! cargo-auditable (`cargo auditable build`) stores the dependency tree as
//! zlib-compressed JSON in a `.dep-v0` section: `{"packages": [{"name", "version",
//! "source", "kind", ...}]}`. Packages with `source: "local"` are the workspace's own,
//! left out as in a `Cargo.lock`. The decompressed size is capped at
//! [`MAX_AUDIT_DATA`] (auditable-info's default limit too), so a zlib bomb stops early.
//!
//! A file that is not an object file (a shell script with the executable bit) or has
//! neither kind of data gives no packages, not an error.

use std::io::Read;

use object::{Object, ObjectSection, ObjectSegment};
use serde::Deserialize;

use crate::{Package, PkgType, Problem, json};

const GO_MAGIC: &[u8; 14] = b"\xff Go buildinf:";

/// The largest decompressed cargo-auditable JSON accepted, in bytes.
pub(crate) const MAX_AUDIT_DATA: u64 = 8 * 1024 * 1024;

/// ELF, Mach-O (32 and 64 bit, both byte orders, fat) and PE (the DOS stub) magics.
pub(crate) fn is_object_file(prefix: &[u8]) -> bool {
    const MAGICS: [&[u8]; 7] = [
        b"\x7fELF",
        &[0xfe, 0xed, 0xfa, 0xce],
        &[0xfe, 0xed, 0xfa, 0xcf],
        &[0xce, 0xfa, 0xed, 0xfe],
        &[0xcf, 0xfa, 0xed, 0xfe],
        &[0xca, 0xfe, 0xba, 0xbe],
        b"MZ",
    ];
    MAGICS.iter().any(|m| prefix.starts_with(m))
}

pub(crate) fn parse(data: &[u8], path: &str) -> Result<Vec<Package>, Problem> {
    let Ok(file) = object::File::parse(data) else {
        return Ok(Vec::new());
    };
    let mut out = go(&file, path)?;
    out.extend(auditable(&file, path)?);
    Ok(out)
}

fn go(file: &object::File, path: &str) -> Result<Vec<Package>, Problem> {
    // the dedicated section when there is one, else every writable data section
    let named = file
        .sections()
        .find(|s| matches!(s.name(), Ok(".go.buildinfo" | "__go_buildinfo")));
    // (address, bytes) of the places to search
    let regions: Vec<(u64, &[u8])> = match named {
        Some(s) => s.data().map(|d| vec![(s.address(), d)]).unwrap_or_default(),
        None if file.sections().next().is_none() => {
            // section headers stripped: the loaded segments, as Go's debug/buildinfo
            file.segments()
                .filter_map(|s| Some((s.address(), s.data().ok()?)))
                .collect()
        }
        None => file
            .sections()
            .filter(|s| s.kind() == object::SectionKind::Data)
            .filter_map(|s| Some((s.address(), s.data().ok()?)))
            .collect(),
    };
    for (address, bytes) in regions {
        let skew = (address % 16) as usize;
        let mut at = (16 - skew) % 16;
        while at + 32 <= bytes.len() {
            if bytes[at..].starts_with(GO_MAGIC) {
                let (version, modinfo) = go_strings(file, &bytes[at..])?;
                return go_packages(&text(version, "Go version")?, &modinfo_text(modinfo)?, path);
            }
            at += 16;
        }
    }
    Ok(Vec::new())
}

/// The toolchain version and the module info that the header at `h[0]` points to.
fn go_strings<'a>(file: &object::File<'a>, h: &'a [u8]) -> Result<(&'a [u8], &'a [u8]), Problem> {
    let ptr_size = usize::from(h[14]);
    let flags = h[15];
    if flags & 2 != 0 {
        let (version, rest) = varint_string(&h[32..])?;
        let (modinfo, _) = varint_string(rest)?;
        return Ok((version, modinfo));
    }
    if ptr_size != 4 && ptr_size != 8 {
        return Err(Problem::corrupt(format!(
            "Go build info: pointer size {ptr_size} is not 4 or 8"
        )));
    }
    let big = flags & 1 != 0;
    let word = |b: &[u8]| -> u64 {
        let mut v = 0u64;
        for i in 0..ptr_size {
            let byte = if big { b[i] } else { b[ptr_size - 1 - i] };
            v = (v << 8) | u64::from(byte);
        }
        v
    };
    let version_ptr = word(&h[16..]);
    let modinfo_ptr = word(&h[16 + ptr_size..]);
    let read_string = |ptr: u64, what: &str| -> Result<&'a [u8], Problem> {
        let header = at_address(file, ptr, 2 * ptr_size as u64).ok_or_else(|| {
            Problem::corrupt(format!(
                "Go build info: {what} at {ptr:#x} is outside the file"
            ))
        })?;
        let (data, len) = (word(header), word(&header[ptr_size..]));
        if len == 0 {
            return Ok(&[]);
        }
        at_address(file, data, len).ok_or_else(|| {
            Problem::corrupt(format!(
                "Go build info: {what} of {len} bytes at {data:#x} is outside the file"
            ))
        })
    };
    Ok((
        read_string(version_ptr, "Go version")?,
        read_string(modinfo_ptr, "Go module info")?,
    ))
}

/// `size` bytes at virtual address `addr`, from the section or segment holding them.
fn at_address<'a>(file: &object::File<'a>, addr: u64, size: u64) -> Option<&'a [u8]> {
    file.sections()
        .find_map(|s| s.data_range(addr, size).ok().flatten())
        .or_else(|| {
            file.segments()
                .find_map(|s| s.data_range(addr, size).ok().flatten())
        })
}

/// A Go `uvarint`-prefixed string and the bytes after it.
fn varint_string(b: &[u8]) -> Result<(&[u8], &[u8]), Problem> {
    let mut len: u64 = 0;
    for (i, &byte) in b.iter().enumerate().take(10) {
        len |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            let rest = &b[i + 1..];
            let n = usize::try_from(len).ok().filter(|&n| n <= rest.len());
            let Some(n) = n else {
                return Err(Problem::corrupt(format!(
                    "Go build info: string of {len} bytes runs past the end of the section"
                )));
            };
            return Ok(rest.split_at(n));
        }
    }
    Err(Problem::corrupt("Go build info: bad string length"))
}

fn text(bytes: &[u8], what: &str) -> Result<String, Problem> {
    String::from_utf8(bytes.to_vec())
        .map_err(|_| Problem::corrupt(format!("Go build info: {what} is not UTF-8")))
}

/// The module info without the sentinel bytes framing it (binary, not UTF-8).
fn modinfo_text(modinfo: &[u8]) -> Result<String, Problem> {
    let mut modinfo = modinfo;
    if modinfo.len() >= 33 && modinfo[modinfo.len() - 17] == b'\n' {
        modinfo = &modinfo[16..modinfo.len() - 16];
    }
    text(modinfo, "Go module info")
}

fn go_packages(version: &str, modinfo: &str, path: &str) -> Result<Vec<Package>, Problem> {
    let mut out: Vec<Package> = Vec::new();
    if let Some(v) = toolchain_version(version) {
        out.push(Package::language(PkgType::Golang, "stdlib", v, path));
    }
    // (module, version) of each `mod`/`dep`, a `=>` line rewriting the last one
    let mut modules: Vec<Option<(String, String)>> = Vec::new();
    for (i, line) in modinfo.lines().enumerate() {
        let fields: Vec<&str> = line.split('\t').collect();
        match fields[0] {
            "mod" | "dep" => {
                let [_, module, version, ..] = fields[..] else {
                    return Err(Problem::syntax(
                        i + 1,
                        format!("Go module info: `{}` line without a version", fields[0]),
                    ));
                };
                modules.push(Some((module.to_owned(), version.to_owned())));
            }
            "=>" => {
                let Some(last) = modules.last_mut() else {
                    return Err(Problem::syntax(
                        i + 1,
                        "Go module info: replacement before any module",
                    ));
                };
                *last = match fields[..] {
                    [_, module, version, ..] if !version.is_empty() => {
                        Some((module.to_owned(), version.to_owned()))
                    }
                    _ => None, // a local directory
                };
            }
            _ => {}
        }
    }
    for (module, version) in modules.into_iter().flatten() {
        if version != "(devel)" && !version.is_empty() {
            out.push(Package::language(PkgType::Golang, module, version, path));
        }
    }
    Ok(out)
}

/// `go1.21.5` as `v1.21.5`, `go1.20` as `v1.20.0`; a `devel` toolchain has none.
fn toolchain_version(version: &str) -> Option<String> {
    let v = version.split_whitespace().next()?.strip_prefix("go")?;
    let plain = v.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    if plain && v.matches('.').count() == 1 {
        Some(format!("v{v}.0"))
    } else {
        Some(format!("v{v}"))
    }
}

#[derive(Deserialize)]
struct AuditData {
    packages: Vec<AuditPackage>,
}

#[derive(Deserialize)]
struct AuditPackage {
    name: String,
    version: String,
    source: String,
}

fn auditable(file: &object::File, path: &str) -> Result<Vec<Package>, Problem> {
    let Some(section) = file.sections().find(|s| s.name() == Ok(".dep-v0")) else {
        return Ok(Vec::new());
    };
    let compressed = section
        .data()
        .map_err(|e| Problem::corrupt(format!("cargo-auditable data: {e}")))?;
    let mut json_bytes = Vec::new();
    flate2::read::ZlibDecoder::new(compressed)
        .take(MAX_AUDIT_DATA + 1)
        .read_to_end(&mut json_bytes)
        .map_err(|e| Problem::corrupt(format!("cargo-auditable data: not zlib data: {e}")))?;
    if json_bytes.len() as u64 > MAX_AUDIT_DATA {
        return Err(Problem::corrupt(format!(
            "cargo-auditable data decompresses to more than {MAX_AUDIT_DATA} bytes"
        )));
    }
    let data: AuditData =
        json(&json_bytes).map_err(|e| Problem::corrupt(format!("cargo-auditable data: {e}")))?;
    let mut out: Vec<Package> = data
        .packages
        .into_iter()
        .filter(|p| p.source != "local")
        .map(|p| Package::language(PkgType::Cargo, p.name, p.version, path))
        .collect();
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toolchain_versions() {
        assert_eq!(toolchain_version("go1.21.5").as_deref(), Some("v1.21.5"));
        assert_eq!(toolchain_version("go1.20").as_deref(), Some("v1.20.0"));
        assert_eq!(
            toolchain_version("go1.22.1 X:boringcrypto").as_deref(),
            Some("v1.22.1")
        );
        assert_eq!(toolchain_version("devel go1.23-abc"), None);
    }

    #[test]
    fn replacements_rewrite_the_module_before() {
        let info = "path\tx/cmd\nmod\tx\t(devel)\t\ndep\ta/b\tv1.0.0\th1:x\n=>\tc/d\tv1.1.0\th1:y\ndep\te/f\tv2.0.0\th1:z\n=>\t../f\t\t\n";
        let p = go_packages("go1.19.8", info, "bin/x").unwrap();
        let got: Vec<_> = p.iter().map(|p| p.purl(None)).collect();
        assert_eq!(got, ["pkg:golang/stdlib@v1.19.8", "pkg:golang/c/d@v1.1.0"]);
    }

    #[test]
    fn not_an_object_file_has_no_packages() {
        assert_eq!(parse(b"#!/bin/sh\necho hi\n", "bin/x").unwrap(), []);
    }
}
