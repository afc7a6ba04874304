//! Distribution detection (SPEC 3.1).
//!
//! Traps:
//! - `os-release` is a shell-like `KEY=value` file: values may be double- or
//!   single-quoted, double quotes allow backslash escapes, `#` starts a comment line
//!   (os-release(5)). `etc/os-release` wins over `usr/lib/os-release` (the former is
//!   usually a symlink to the latter; the glue follows links, we only parse contents).
//! - Debian testing and sid have no `VERSION_ID`, and their `debian_version` reads
//!   `trixie/sid`, a codename and not a version. Released Debian writes `12.5` there,
//!   where only the major number is the release (`Debian:12` in advisories).
//! - Ubuntu ships a `debian_version` too (`bookworm/sid`): it names the Debian release
//!   Ubuntu was branched from, which is why os-release always takes precedence.
//! - `redhat-release` is prose: `Red Hat Enterprise Linux release 8.0 (Ootpa)`.

use serde::{Deserialize, Serialize};

use crate::{FileKind, Problem};

/// What one distribution file says. Fields the file does not give are `None`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct DistroFacts {
    /// The kind of file these facts come from.
    pub kind: Option<FileKind>,
    /// os-release `ID` (lower case), or the id the file implies (`alpine`, `debian`,
    /// `rhel`, `centos`, ...).
    pub id: Option<String>,
    /// os-release `ID_LIKE`, space-separated ids.
    pub id_like: Vec<String>,
    /// os-release `VERSION_ID`, or the version the file gives (`3.18.0`, `12`, `8.0`).
    pub version_id: Option<String>,
    /// os-release `VERSION_CODENAME` (else `UBUNTU_CODENAME`, else the word in
    /// parentheses of `VERSION`), or the codename the file gives.
    pub codename: Option<String>,
    /// os-release `PRETTY_NAME`, or the whole line of `redhat-release`.
    pub pretty_name: Option<String>,
}

/// The distribution of an image.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Distro {
    /// e.g. `debian`, `ubuntu`, `alpine`, `rhel`, `mariner`, `sles`
    pub id: String,
    /// e.g. `12`, `18.04`, `3.18.0`, `8.0`; none for Debian testing and sid
    pub version_id: Option<String>,
    /// e.g. `bookworm`, `bionic`
    pub codename: Option<String>,
    pub pretty_name: Option<String>,
}

pub(crate) fn parse(kind: FileKind, data: &[u8]) -> Result<DistroFacts, Problem> {
    let text = crate::utf8(data)?;
    let mut facts = match kind {
        FileKind::OsRelease => os_release(text)?,
        FileKind::AlpineRelease => alpine_release(text)?,
        FileKind::DebianVersion => debian_version(text)?,
        FileKind::RedhatRelease => redhat_release(text)?,
        _ => unreachable!("distro::parse is only called for distribution files"),
    };
    facts.kind = Some(kind);
    Ok(facts)
}

fn os_release(text: &str) -> Result<DistroFacts, Problem> {
    let mut facts = DistroFacts::default();
    let mut version = None;
    let mut ubuntu_codename = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(Problem::syntax(
                i + 1,
                format!("expected KEY=value, found {line:?}"),
            ));
        };
        let value = unquote(value).map_err(|m| Problem::syntax(i + 1, m))?;
        let value = (!value.is_empty()).then_some(value);
        match key.trim() {
            "ID" => facts.id = value.map(|v| v.to_ascii_lowercase()),
            "ID_LIKE" => {
                facts.id_like = value
                    .unwrap_or_default()
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect()
            }
            "VERSION_ID" => facts.version_id = value,
            "VERSION_CODENAME" => facts.codename = value,
            "UBUNTU_CODENAME" => ubuntu_codename = value,
            "VERSION" => version = value,
            "PRETTY_NAME" => facts.pretty_name = value,
            _ => {}
        }
    }
    if facts.codename.is_none() {
        // `VERSION="9 (stretch)"`: Debian before 10 and old Ubuntu lack VERSION_CODENAME.
        let from_version = version.as_deref().and_then(|v| {
            let inner = v.split_once('(')?.1.split_once(')')?.0;
            let word = inner.split([',', ' ']).find(|w| !w.is_empty())?;
            Some(word.to_ascii_lowercase())
        });
        facts.codename = ubuntu_codename.or(from_version);
    }
    if facts.id.is_none() {
        return Err(Problem::corrupt("os-release has no ID field"));
    }
    Ok(facts)
}

/// Removes shell quoting from an os-release value.
fn unquote(value: &str) -> Result<String, String> {
    let value = value.trim();
    let Some(first) = value.chars().next() else {
        return Ok(String::new());
    };
    if first != '"' && first != '\'' {
        return Ok(value.to_owned());
    }
    let mut out = String::new();
    let mut chars = value[1..].chars();
    loop {
        match chars.next() {
            None => return Err(format!("unterminated quote in {value:?}")),
            Some(c) if c == first => break,
            Some('\\') if first == '"' => match chars.next() {
                Some(c) => out.push(c),
                None => return Err(format!("unterminated quote in {value:?}")),
            },
            Some(c) => out.push(c),
        }
    }
    if !chars.as_str().trim().is_empty() {
        return Err(format!("text after the closing quote in {value:?}"));
    }
    Ok(out)
}

fn first_line(text: &str, file: &str) -> Result<String, Problem> {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty());
    line.map(str::to_owned)
        .ok_or_else(|| Problem::corrupt(format!("{file} is empty")))
}

fn alpine_release(text: &str) -> Result<DistroFacts, Problem> {
    let version = first_line(text, "alpine-release")?;
    if !version.starts_with(|c: char| c.is_ascii_digit()) && !version.contains("edge") {
        return Err(Problem::syntax(
            1,
            format!("expected a version like 3.18.0, found {version:?}"),
        ));
    }
    Ok(DistroFacts {
        id: Some("alpine".into()),
        version_id: Some(version),
        ..DistroFacts::default()
    })
}

/// Debian's release codenames by major version, for `debian_version` files.
const DEBIAN_CODENAMES: [(&str, &str); 10] = [
    ("6", "squeeze"),
    ("7", "wheezy"),
    ("8", "jessie"),
    ("9", "stretch"),
    ("10", "buster"),
    ("11", "bullseye"),
    ("12", "bookworm"),
    ("13", "trixie"),
    ("14", "forky"),
    ("15", "duke"),
];

fn debian_version(text: &str) -> Result<DistroFacts, Problem> {
    let line = first_line(text, "debian_version")?;
    let mut facts = DistroFacts {
        id: Some("debian".into()),
        ..DistroFacts::default()
    };
    if line.starts_with(|c: char| c.is_ascii_digit()) {
        let major = line.split('.').next().unwrap_or_default();
        if !major.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Problem::syntax(
                1,
                format!("expected a version like 12.5, found {line:?}"),
            ));
        }
        facts.version_id = Some(major.to_owned());
        facts.codename = DEBIAN_CODENAMES
            .iter()
            .find(|(v, _)| *v == major)
            .map(|(_, c)| (*c).to_owned());
    } else if let Some((codename, _)) = line.split_once('/') {
        // `trixie/sid`: testing, no version number yet.
        if codename.is_empty() || !codename.bytes().all(|b| b.is_ascii_lowercase()) {
            return Err(Problem::syntax(
                1,
                format!("expected a codename like trixie/sid, found {line:?}"),
            ));
        }
        facts.codename = Some(codename.to_owned());
    } else {
        return Err(Problem::syntax(
            1,
            format!("expected a version like 12.5 or a codename like trixie/sid, found {line:?}"),
        ));
    }
    Ok(facts)
}

/// Vendor names in `redhat-release` and the os-release ID each uses.
const REDHAT_IDS: [(&str, &str); 8] = [
    ("red hat enterprise linux", "rhel"),
    ("centos stream", "centos"),
    ("centos", "centos"),
    ("rocky linux", "rocky"),
    ("almalinux", "almalinux"),
    ("fedora", "fedora"),
    ("oracle linux", "ol"),
    ("scientific linux", "scientific"),
];

fn redhat_release(text: &str) -> Result<DistroFacts, Problem> {
    let line = first_line(text, "redhat-release")?;
    let Some((name, rest)) = line.split_once(" release ") else {
        return Err(Problem::syntax(
            1,
            format!("expected \"NAME release VERSION (CODENAME)\", found {line:?}"),
        ));
    };
    let lower = name.to_ascii_lowercase();
    let id = REDHAT_IDS
        .iter()
        .find(|(prefix, _)| lower.starts_with(prefix))
        .map(|(_, id)| (*id).to_owned())
        .unwrap_or_else(|| lower.split_whitespace().next().unwrap_or("rhel").to_owned());
    let version = rest.split_whitespace().next().map(str::to_owned);
    let codename = rest
        .split_once('(')
        .and_then(|(_, c)| c.split_once(')'))
        .map(|(c, _)| c.to_owned());
    Ok(DistroFacts {
        id: Some(id),
        version_id: version,
        codename,
        pretty_name: Some(line.clone()),
        ..DistroFacts::default()
    })
}

/// Rank of a distribution file: lower wins.
fn precedence(path: &str) -> u8 {
    match path.trim_start_matches("./").trim_start_matches('/') {
        "etc/os-release" => 0,
        "usr/lib/os-release" => 1,
        "etc/alpine-release" => 2,
        "etc/redhat-release" => 3,
        "etc/debian_version" => 4,
        _ => 5,
    }
}

/// Combines what the distribution files of one image say. `etc/os-release` wins over
/// `usr/lib/os-release`, which wins over `alpine-release`, `redhat-release` and
/// `debian_version` (in that order). Fields the winner lacks (Debian testing has no
/// `VERSION_ID`, old releases no `VERSION_CODENAME`) are taken from lower-ranked files
/// that name the same id. `None` when no file names an id.
pub fn resolve_distro(facts: &[(String, DistroFacts)]) -> Option<Distro> {
    let mut ranked: Vec<&(String, DistroFacts)> =
        facts.iter().filter(|(_, f)| f.id.is_some()).collect();
    ranked.sort_by_key(|(path, _)| precedence(path));
    let (_, best) = ranked.first()?;
    let id = best.id.clone()?;
    let mut distro = Distro {
        id: id.clone(),
        version_id: best.version_id.clone(),
        codename: best.codename.clone(),
        pretty_name: best.pretty_name.clone(),
    };
    for (_, f) in ranked
        .iter()
        .skip(1)
        .filter(|(_, f)| f.id.as_deref() == Some(&id))
    {
        distro.version_id = distro.version_id.take().or_else(|| f.version_id.clone());
        distro.codename = distro.codename.take().or_else(|| f.codename.clone());
        distro.pretty_name = distro.pretty_name.take().or_else(|| f.pretty_name.clone());
    }
    Some(distro)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release_quotes_and_codename_from_version() {
        let f = os_release(
            "# comment\nID=debian\nVERSION=\"9 (stretch)\"\nVERSION_ID='9'\nPRETTY_NAME=\"a \\\"b\\\"\"\n",
        )
        .unwrap();
        assert_eq!(f.id.as_deref(), Some("debian"));
        assert_eq!(f.version_id.as_deref(), Some("9"));
        assert_eq!(f.codename.as_deref(), Some("stretch"));
        assert_eq!(f.pretty_name.as_deref(), Some("a \"b\""));
    }

    #[test]
    fn os_release_errors_name_the_line() {
        let e = os_release("ID=debian\ngarbage\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 2: expected KEY=value, found \"garbage\""
        );
        let e = os_release("ID=\"debian\n").unwrap_err();
        assert!(e.to_string().contains("unterminated quote"), "{e}");
    }

    #[test]
    fn debian_version_forms() {
        let f = debian_version("12.5\n").unwrap();
        assert_eq!(f.version_id.as_deref(), Some("12"));
        assert_eq!(f.codename.as_deref(), Some("bookworm"));
        let f = debian_version("trixie/sid\n").unwrap();
        assert_eq!(f.version_id, None);
        assert_eq!(f.codename.as_deref(), Some("trixie"));
        assert!(debian_version("\n").is_err());
    }

    #[test]
    fn redhat_release_prose() {
        let f = redhat_release("Red Hat Enterprise Linux release 8.0 (Ootpa)\n").unwrap();
        assert_eq!(f.id.as_deref(), Some("rhel"));
        assert_eq!(f.version_id.as_deref(), Some("8.0"));
        assert_eq!(f.codename.as_deref(), Some("Ootpa"));
        let f = redhat_release("CentOS Linux release 7.9.2009 (Core)").unwrap();
        assert_eq!(f.id.as_deref(), Some("centos"));
        assert_eq!(f.version_id.as_deref(), Some("7.9.2009"));
    }

    #[test]
    fn os_release_wins_and_testing_fills_codename() {
        let facts = vec![
            (
                "etc/debian_version".to_owned(),
                debian_version("trixie/sid").unwrap(),
            ),
            (
                "usr/lib/os-release".to_owned(),
                os_release("ID=debian\nPRETTY_NAME=\"Debian GNU/Linux trixie/sid\"").unwrap(),
            ),
        ];
        let d = resolve_distro(&facts).unwrap();
        assert_eq!(d.id, "debian");
        assert_eq!(d.version_id, None);
        assert_eq!(d.codename.as_deref(), Some("trixie"));
        assert_eq!(resolve_distro(&[]), None);
    }
}
