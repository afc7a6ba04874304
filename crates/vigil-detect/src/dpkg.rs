//! dpkg databases: `var/lib/dpkg/status` and distroless `var/lib/dpkg/status.d/*`
//! (SPEC 3.2).
//!
//! Traps:
//! - A stanza is a block of `Field: value` lines ended by a blank line; a line starting
//!   with a space or tab continues the previous field (deb822(5)).
//! - `status` keeps packages that are gone: only stanzas whose `Status:` ends in
//!   `installed` count (`deinstall ok config-files` leaves only conffiles behind). The
//!   states `triggers-awaited` and `triggers-pending` also count: such a package was
//!   configured and its files are on disk; it only waits for another package's trigger.
//! - `status.d/` files have no `Status:` field: each is one installed package. Their
//!   neighbours `NAME.md5sums` and maintainer scripts are not stanzas ([`crate::wants`]
//!   skips them).
//! - `Source: util-linux (2.31.1-0.4ubuntu3)`: the source version is in parentheses and
//!   differs from the binary version for binNMUs and packages like `liblzma5` (built
//!   from `xz-utils`). Advisories name source packages (SPEC 5.1), so both are kept.
//! - Descriptions of old packages may be Latin-1: only the fields we read must be UTF-8.

use crate::{Package, PkgType, Problem};

#[derive(Default)]
struct Stanza<'a> {
    line: usize,
    package: Option<&'a [u8]>,
    version: Option<&'a [u8]>,
    status: Option<&'a [u8]>,
    source: Option<&'a [u8]>,
    arch: Option<&'a [u8]>,
    /// The field a continuation line belongs to, if any.
    in_field: bool,
}

pub(crate) fn parse(data: &[u8], path: &str, status_d: bool) -> Result<Vec<Package>, Problem> {
    let mut packages = Vec::new();
    let mut stanza: Option<Stanza> = None;
    let mut stanzas = 0usize;
    for (i, raw) in data.split(|&b| b == b'\n').enumerate() {
        let line_no = i + 1;
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if line.iter().all(u8::is_ascii_whitespace) {
            if let Some(s) = stanza.take() {
                stanzas += 1;
                finish(s, path, status_d, &mut packages)?;
            }
            continue;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            match &stanza {
                Some(s) if s.in_field => continue,
                _ => {
                    return Err(Problem::syntax(
                        line_no,
                        "continuation line outside a field",
                    ));
                }
            }
        }
        if line[0] == b'#' && stanza.is_none() {
            // deb822 allows comment lines; dpkg never writes them, but be tolerant.
            continue;
        }
        let s = stanza.get_or_insert_with(|| Stanza {
            line: line_no,
            ..Stanza::default()
        });
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return Err(Problem::syntax(
                line_no,
                format!(
                    "expected \"Field: value\", found {:?}",
                    String::from_utf8_lossy(&line[..line.len().min(80)])
                ),
            ));
        };
        let key = &line[..colon];
        if key.is_empty() || key.iter().any(|b| b.is_ascii_whitespace()) {
            return Err(Problem::syntax(
                line_no,
                format!("bad field name {:?}", String::from_utf8_lossy(key)),
            ));
        }
        let value = line[colon + 1..].trim_ascii();
        s.in_field = true;
        let slot = if key.eq_ignore_ascii_case(b"Package") {
            &mut s.package
        } else if key.eq_ignore_ascii_case(b"Version") {
            &mut s.version
        } else if key.eq_ignore_ascii_case(b"Status") {
            &mut s.status
        } else if key.eq_ignore_ascii_case(b"Source") {
            &mut s.source
        } else if key.eq_ignore_ascii_case(b"Architecture") {
            &mut s.arch
        } else {
            continue;
        };
        if slot.is_some() {
            return Err(Problem::syntax(
                line_no,
                format!("duplicate {} field", String::from_utf8_lossy(key)),
            ));
        }
        *slot = Some(value);
    }
    if let Some(s) = stanza.take() {
        stanzas += 1;
        finish(s, path, status_d, &mut packages)?;
    }
    if status_d && stanzas == 0 {
        return Err(Problem::corrupt("status.d file holds no package stanza"));
    }
    Ok(packages)
}

fn text(value: &[u8], field: &str, line: usize) -> Result<String, Problem> {
    let s = std::str::from_utf8(value).map_err(|_| {
        Problem::syntax(
            line,
            format!("{field} field of the stanza is not valid UTF-8"),
        )
    })?;
    if s.is_empty() {
        return Err(Problem::syntax(
            line,
            format!("empty {field} field in the stanza"),
        ));
    }
    Ok(s.to_owned())
}

fn finish(s: Stanza, path: &str, status_d: bool, out: &mut Vec<Package>) -> Result<(), Problem> {
    let line = s.line;
    let Some(name) = s.package else {
        return Err(Problem::syntax(
            line,
            "stanza starting here has no Package field",
        ));
    };
    let name = text(name, "Package", line)?;
    if !status_d {
        let Some(status) = s.status else {
            return Err(Problem::syntax(
                line,
                format!("stanza of {name} has no Status field"),
            ));
        };
        let status = text(status, "Status", line)?;
        let words: Vec<&str> = status.split_ascii_whitespace().collect();
        let [_want, _flag, state] = words[..] else {
            return Err(Problem::syntax(
                line,
                format!("Status of {name} should be three words, found {status:?}"),
            ));
        };
        if !matches!(state, "installed" | "triggers-awaited" | "triggers-pending") {
            return Ok(());
        }
    }
    let Some(version) = s.version else {
        return Err(Problem::syntax(
            line,
            format!("installed package {name} has no Version field"),
        ));
    };
    let version = text(version, "Version", line)?;
    let (source_name, source_version) = match s.source {
        None => (name.clone(), version.clone()),
        Some(src) => {
            let src = text(src, "Source", line)?;
            match src.split_once('(') {
                None => (src, version.clone()),
                Some((n, rest)) => {
                    let Some(v) = rest.strip_suffix(')') else {
                        return Err(Problem::syntax(
                            line,
                            format!(
                                "Source of {name} should read \"NAME (VERSION)\", found {src:?}"
                            ),
                        ));
                    };
                    (n.trim().to_owned(), v.trim().to_owned())
                }
            }
        }
    };
    let arch = s.arch.map(|a| text(a, "Architecture", line)).transpose()?;
    out.push(Package {
        ecosystem: PkgType::Deb,
        epoch: epoch(&version),
        name,
        version,
        arch,
        source_name: Some(source_name),
        source_version: Some(source_version),
        path: path.to_owned(),
        dev: false,
    });
    Ok(())
}

/// The epoch of a dpkg version (`1:2.31` -> 1); none when it has no epoch.
fn epoch(version: &str) -> Option<u32> {
    version.split_once(':')?.0.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_version_and_epoch() {
        let data = b"Package: liblzma5\nStatus: install ok installed\nSource: xz-utils (5.1.1alpha+20120614-2)\nVersion: 1:5.2.2-1.3\nArchitecture: amd64\nDescription: x\n more\n .\n\n";
        let p = parse(data, "s", false).unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].source_name.as_deref(), Some("xz-utils"));
        assert_eq!(
            p[0].source_version.as_deref(),
            Some("5.1.1alpha+20120614-2")
        );
        assert_eq!(p[0].epoch, Some(1));
    }

    #[test]
    fn broken_stanzas_name_the_line() {
        let e = parse(b"Package: a\nnonsense\n", "s", false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 2: expected \"Field: value\", found \"nonsense\""
        );
        let e = parse(b" leading\n", "s", false).unwrap_err();
        assert_eq!(e.to_string(), "line 1: continuation line outside a field");
        let e = parse(b"Package: a\nStatus: install ok installed\n", "s", false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 1: installed package a has no Version field"
        );
        let e = parse(
            b"\n\nVersion: 1\nStatus: install ok installed\n",
            "s",
            false,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 3: stanza starting here has no Package field"
        );
        assert!(parse(b"", "s", true).is_err());
    }

    #[test]
    fn removed_packages_are_skipped() {
        let data = b"Package: git\nStatus: deinstall ok config-files\nVersion: 1\n";
        assert_eq!(parse(data, "s", false).unwrap(), vec![]);
    }
}
