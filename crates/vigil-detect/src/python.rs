//! Python distributions: the core metadata of an installed wheel (`*.dist-info/METADATA`)
//! or egg (`*.egg-info/PKG-INFO`, or `*.egg-info` as a single file).
//!
//! The format is RFC 822 style headers (core metadata spec, "Metadata-Version 2.x"): the
//! headers end at the first empty line, after which the long description may follow in
//! any encoding, so only the header block is decoded. A header value may continue on
//! lines starting with whitespace. `Name` is kept as written (`Jinja2`); the purl
//! normalises it (PEP 503). The version is not normalised: pip reports it as written.

use crate::{Package, PkgType, Problem, utf8};

pub(crate) fn parse(data: &[u8], path: &str) -> Result<Vec<Package>, Problem> {
    let end = header_end(data);
    let text = utf8(&data[..end])?;
    let mut name = None;
    let mut version = None;
    for (i, line) in text.lines().enumerate() {
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(Problem::syntax(
                i + 1,
                format!("expected a `Key: value` header, found {:?}", clip(line)),
            ));
        };
        // header names are case-insensitive, as in e-mail (core metadata spec)
        let value = value.trim();
        if key.eq_ignore_ascii_case("name") && name.is_none() {
            name = Some((i + 1, value));
        } else if key.eq_ignore_ascii_case("version") && version.is_none() {
            version = Some((i + 1, value));
        }
    }
    let (_, name) = name
        .filter(|(_, n)| !n.is_empty())
        .ok_or_else(|| Problem::corrupt("no `Name` header in the metadata"))?;
    let (line, version) =
        version.ok_or_else(|| Problem::corrupt(format!("no `Version` header for {name}")))?;
    if version.is_empty() {
        return Err(Problem::syntax(line, format!("empty `Version` for {name}")));
    }
    Ok(vec![Package::language(PkgType::Pypi, name, version, path)])
}

/// The offset of the empty line ending the headers (or the end of the data).
fn header_end(data: &[u8]) -> usize {
    let mut start = 0;
    for line in data.split_inclusive(|&b| b == b'\n') {
        if line == b"\n" || line == b"\r\n" {
            return start;
        }
        start += line.len();
    }
    data.len()
}

/// A line, cut to a readable length for an error message.
pub(crate) fn clip(line: &str) -> &str {
    match line.char_indices().nth(60) {
        Some((i, _)) => &line[..i],
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_end_at_the_first_empty_line() {
        let data = b"Metadata-Version: 2.1\nName: Jinja2\nversion: 2.10\nSummary: x\n  more\n\nName: not-this\n\xff\n";
        let p = parse(data, "a.dist-info/METADATA").unwrap();
        assert_eq!(
            (p[0].name.as_str(), p[0].version.as_str()),
            ("Jinja2", "2.10")
        );
    }

    #[test]
    fn missing_headers_are_errors() {
        let e = parse(b"Metadata-Version: 2.1\nName: x\n", "p").unwrap_err();
        assert_eq!(e.to_string(), "no `Version` header for x");
        let e = parse(b"Version: 1\n", "p").unwrap_err();
        assert_eq!(e.to_string(), "no `Name` header in the metadata");
        let e = parse(b"Name: x\njunk\n", "p").unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 2: expected a `Key: value` header, found \"junk\""
        );
    }
}
