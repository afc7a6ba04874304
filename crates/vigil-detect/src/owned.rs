//! Files that OS packages installed, for the rule "a language package that belongs to an
//! OS package is reported once, as the OS package" (issue 7).
//!
//! Debian's `python3-urllib3` ships `urllib3-1.26.12.egg-info/PKG-INFO`, so the Python
//! detector finds urllib3 there too; reporting both counts one piece of code twice, with
//! two version schemes and two sets of advisories (Debian's tracker and PyPI's), which is
//! the double counting users complain about in other scanners. The OS package is the one
//! to report: its version carries the distribution's patches, and the distribution's
//! advisories are the ones that say whether it is fixed.
//!
//! Where the lists are:
//! - dpkg: `var/lib/dpkg/info/NAME.list` or `NAME:ARCH.list`, one absolute path per line
//!   (directories included, `/.` first), written by dpkg when it unpacks a package.
//! - apk: `lib/apk/db/installed`, where an `F:` line names a directory and the `R:` lines
//!   after it the files in it, per package stanza.
//!
//! Only the paths that a language detector reads by name are kept ([`crate::wants`] says
//! which): the metadata files that name a language package. Executables are not subject
//! to the rule: a Go or Rust program embeds its dependencies, and the distribution tracks
//! their vulnerabilities on the dependencies' own source packages, not on the program's.

use crate::{DetectError, Problem, wants_language};

/// Whether `path` is a dpkg file list (`var/lib/dpkg/info/NAME.list`) or the apk
/// database, whose file lists [`owned_files`] reads.
pub fn lists_files(path: &str) -> bool {
    dpkg_list_owner(path).is_some() || trim(path) == "lib/apk/db/installed"
}

/// The package a dpkg file list belongs to: `var/lib/dpkg/info/libc6:amd64.list` gives
/// `libc6`. `None` for any other path.
pub fn dpkg_list_owner(path: &str) -> Option<&str> {
    let name = trim(path)
        .strip_prefix("var/lib/dpkg/info/")?
        .strip_suffix(".list")?;
    let name = name.split_once(':').map_or(name, |(n, _)| n);
    (!name.is_empty() && !name.contains('/') && !name.starts_with('.')).then_some(name)
}

fn trim(path: &str) -> &str {
    path.trim_start_matches("./").trim_start_matches('/')
}

/// The language metadata files that the package database at `path` (see
/// [`lists_files`]) says its packages installed, as image paths (no leading `/`), each
/// with the name of the OS package that owns it, sorted.
pub fn owned_files(path: &str, data: &[u8]) -> Result<Vec<(String, String)>, DetectError> {
    let err = |problem| DetectError {
        path: path.to_owned(),
        problem,
    };
    // dpkg writes file names as the package has them, not always UTF-8; such a name is
    // no language metadata file anyway
    let text = String::from_utf8_lossy(data);
    let mut out = Vec::new();
    if let Some(owner) = dpkg_list_owner(path) {
        for line in text.lines() {
            let file = trim(line.trim_end_matches('\r'));
            if wants_language(file).is_some() {
                out.push((file.to_owned(), owner.to_owned()));
            }
        }
    } else {
        // apk: P: starts a stanza's package, F: a directory, R: a file in it
        let (mut package, mut dir) = ("", "");
        for (i, line) in text.lines().enumerate() {
            if line.is_empty() {
                (package, dir) = ("", "");
            } else if let Some(p) = line.strip_prefix("P:") {
                package = p;
            } else if let Some(d) = line.strip_prefix("F:") {
                dir = trim(d);
            } else if let Some(r) = line.strip_prefix("R:") {
                if package.is_empty() {
                    return Err(err(Problem::syntax(
                        i + 1,
                        "R: line before the stanza's P:",
                    )));
                }
                let file = if dir.is_empty() {
                    r.to_owned()
                } else {
                    format!("{dir}/{r}")
                };
                if wants_language(&file).is_some() {
                    out.push((file, package.to_owned()));
                }
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dpkg_list_names() {
        assert_eq!(
            dpkg_list_owner("var/lib/dpkg/info/python3-urllib3.list"),
            Some("python3-urllib3")
        );
        assert_eq!(
            dpkg_list_owner("/var/lib/dpkg/info/libc6:amd64.list"),
            Some("libc6")
        );
        assert_eq!(dpkg_list_owner("var/lib/dpkg/info/libc6.md5sums"), None);
        assert_eq!(dpkg_list_owner("var/lib/dpkg/info/.list"), None);
        assert_eq!(dpkg_list_owner("var/lib/dpkg/info/a/b.list"), None);
        assert!(lists_files("lib/apk/db/installed"));
        assert!(!lists_files("var/lib/dpkg/status"));
    }

    #[test]
    fn dpkg_list_keeps_language_metadata() {
        let list = "/.\n/usr\n/usr/lib/python3/dist-packages/urllib3-1.26.12.egg-info\n\
            /usr/lib/python3/dist-packages/urllib3-1.26.12.egg-info/PKG-INFO\n\
            /usr/lib/python3/dist-packages/urllib3/__init__.py\n\
            /usr/share/java/log4j-api.jar\n";
        let got = owned_files("var/lib/dpkg/info/python3-urllib3.list", list.as_bytes()).unwrap();
        let files: Vec<&str> = got.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            files,
            [
                "usr/lib/python3/dist-packages/urllib3-1.26.12.egg-info",
                "usr/lib/python3/dist-packages/urllib3-1.26.12.egg-info/PKG-INFO",
                "usr/share/java/log4j-api.jar",
            ]
        );
        assert!(got.iter().all(|(_, o)| o == "python3-urllib3"));
    }

    #[test]
    fn apk_file_lists() {
        let db = "P:py3-six\nV:1.16.0-r6\nF:usr/lib/python3.11/site-packages/six-1.16.0.dist-info\n\
            R:METADATA\nR:RECORD\nF:usr/lib/python3.11/site-packages\nR:six.py\n\n\
            P:musl\nV:1.2.4-r0\nF:lib\nR:ld-musl-x86_64.so.1\n";
        let got = owned_files("lib/apk/db/installed", db.as_bytes()).unwrap();
        assert_eq!(
            got,
            [(
                "usr/lib/python3.11/site-packages/six-1.16.0.dist-info/METADATA".to_owned(),
                "py3-six".to_owned()
            )]
        );
        let e = owned_files("lib/apk/db/installed", b"F:x\nR:y\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "lib/apk/db/installed: line 2: R: line before the stanza's P:"
        );
    }
}
