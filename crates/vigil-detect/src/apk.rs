//! apk database: `lib/apk/db/installed` (SPEC 3.2).
//!
//! Traps:
//! - Each line is one letter, a colon and a value (`P:musl`); blank lines separate
//!   packages. Letters repeat within a package (`F:` directory, `R:` file, `Z:` checksum),
//!   so the file is large but we keep only `P:` name, `V:` version, `A:` arch and `o:`
//!   origin.
//! - The origin is the source package (`busybox` for `ssl_client`); Alpine's secdb and
//!   OSV records name origins (SPEC 5.1).
//! - Versions carry suffixes (`1.2.3_rc1-r0`, `_p`, `-rN`): they are kept verbatim.

use crate::{Package, PkgType, Problem};

#[derive(Default)]
struct Entry<'a> {
    line: usize,
    name: Option<&'a [u8]>,
    version: Option<&'a [u8]>,
    arch: Option<&'a [u8]>,
    origin: Option<&'a [u8]>,
}

pub(crate) fn parse(data: &[u8], path: &str) -> Result<Vec<Package>, Problem> {
    let mut packages = Vec::new();
    let mut entry: Option<Entry> = None;
    for (i, raw) in data.split(|&b| b == b'\n').enumerate() {
        let line_no = i + 1;
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if line.is_empty() {
            if let Some(e) = entry.take() {
                finish(e, path, &mut packages)?;
            }
            continue;
        }
        let e = entry.get_or_insert_with(|| Entry {
            line: line_no,
            ..Entry::default()
        });
        let (key, value) = match line {
            [k, b':', value @ ..] if k.is_ascii_alphanumeric() => (*k, value),
            _ => {
                return Err(Problem::syntax(
                    line_no,
                    format!(
                        "expected \"X:value\", found {:?}",
                        String::from_utf8_lossy(&line[..line.len().min(80)])
                    ),
                ));
            }
        };
        let slot = match key {
            b'P' => &mut e.name,
            b'V' => &mut e.version,
            b'A' => &mut e.arch,
            b'o' => &mut e.origin,
            _ => continue,
        };
        if slot.is_some() {
            return Err(Problem::syntax(
                line_no,
                format!("duplicate {}: field in one package", key as char),
            ));
        }
        *slot = Some(value);
    }
    if let Some(e) = entry.take() {
        finish(e, path, &mut packages)?;
    }
    Ok(packages)
}

fn text(value: &[u8], field: char, line: usize) -> Result<String, Problem> {
    match std::str::from_utf8(value) {
        Ok(s) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
        Ok(_) => Err(Problem::syntax(
            line,
            format!("empty {field}: field in the package starting here"),
        )),
        Err(_) => Err(Problem::syntax(
            line,
            format!("{field}: field of the package starting here is not valid UTF-8"),
        )),
    }
}

fn finish(e: Entry, path: &str, out: &mut Vec<Package>) -> Result<(), Problem> {
    let line = e.line;
    let Some(name) = e.name else {
        return Err(Problem::syntax(
            line,
            "package starting here has no P: field",
        ));
    };
    let name = text(name, 'P', line)?;
    let Some(version) = e.version else {
        return Err(Problem::syntax(
            line,
            format!("package {name} has no V: field"),
        ));
    };
    let version = text(version, 'V', line)?;
    let arch = e.arch.map(|a| text(a, 'A', line)).transpose()?;
    let origin = e.origin.map(|o| text(o, 'o', line)).transpose()?;
    out.push(Package {
        ecosystem: PkgType::Apk,
        source_name: Some(origin.unwrap_or_else(|| name.clone())),
        name,
        version,
        epoch: None,
        arch,
        source_version: None,
        path: path.to_owned(),
        dev: false,
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_defaults_to_name() {
        let p = parse(b"C:x\nP:a\nV:1-r0\n\nP:b\nV:2\no:src\n", "i").unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].source_name.as_deref(), Some("a"));
        assert_eq!(p[1].source_name.as_deref(), Some("src"));
    }

    #[test]
    fn broken_entries_name_the_line() {
        let e = parse(b"P:a\nV:1\nbad line\n", "i").unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 3: expected \"X:value\", found \"bad line\""
        );
        let e = parse(b"P:a\n\n", "i").unwrap_err();
        assert_eq!(e.to_string(), "line 1: package a has no V: field");
    }
}
