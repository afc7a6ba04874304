//! Feed formats and their detection from content (pure).

use serde::{Deserialize, Serialize};
use std::fmt;

/// The format of a feed. [`FeedFormat::Auto`] detects it from each file's content.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FeedFormat {
    /// Detect per file with [`sniff`].
    Auto,
    /// OSV records, JSON or YAML.
    Osv,
    /// Alpine secdb, JSON or the legacy YAML.
    AlpineSecdb,
    /// The Debian security tracker JSON.
    DebianTracker,
}

impl FeedFormat {
    /// The stable kebab-case name (`alpine-secdb`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Osv => "osv",
            Self::AlpineSecdb => "alpine-secdb",
            Self::DebianTracker => "debian-tracker",
        }
    }
}

impl fmt::Display for FeedFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error of [`FeedFormat::from_str`](std::str::FromStr).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown feed format {0:?}: expected auto, osv, alpine-secdb or debian-tracker")]
pub struct FormatNameError(String);

impl std::str::FromStr for FeedFormat {
    type Err = FormatNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            Self::Auto,
            Self::Osv,
            Self::AlpineSecdb,
            Self::DebianTracker,
        ]
        .into_iter()
        .find(|f| f.as_str() == s)
        .ok_or_else(|| FormatNameError(s.to_owned()))
    }
}

/// Whether a file name looks like YAML (`.yaml`, `.yml`).
pub fn is_yaml_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.ends_with(".yaml") || n.ends_with(".yml")
}

/// Top-level keys of an OSV record.
const OSV_KEYS: &[&str] = &[
    "schema_version",
    "id",
    "modified",
    "published",
    "withdrawn",
    "aliases",
    "upstream",
    "related",
    "summary",
    "details",
    "severity",
    "affected",
    "references",
    "credits",
    "database_specific",
];

/// Top-level keys of an Alpine secdb document.
const SECDB_KEYS: &[&str] = &[
    "distroversion",
    "reponame",
    "archs",
    "urlprefix",
    "apkurl",
    "packages",
];

/// Detects a file's format from its name and the first bytes of its content.
///
/// JSON: an array is OSV; for an object the first key decides: an OSV field name means OSV,
/// a secdb field name means Alpine secdb, and any other key whose value is an object is a
/// source package of the Debian tracker (`{"acl": {"CVE-2009-4411": {...}}}`).
/// YAML: a top-level `distroversion:` key means Alpine secdb, else OSV. `None` when the
/// content fits none of them.
pub fn sniff(name: &str, prefix: &[u8]) -> Option<FeedFormat> {
    // The first key (JSON) or the top lines (YAML) decide; 4 KiB is plenty. Valid UTF-8 (a
    // cut inside the last character aside) is borrowed: this runs for every file of a feed.
    let prefix = &prefix[..prefix.len().min(4096)];
    let text = match std::str::from_utf8(prefix) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(e) if e.error_len().is_none() => std::borrow::Cow::Borrowed(
            std::str::from_utf8(&prefix[..e.valid_up_to()]).unwrap_or(""),
        ),
        Err(_) => String::from_utf8_lossy(prefix),
    };
    if is_yaml_name(name) {
        let alpine = text.lines().any(|l| l.starts_with("distroversion:"));
        return Some(if alpine {
            FeedFormat::AlpineSecdb
        } else {
            FeedFormat::Osv
        });
    }
    let mut s = text.trim_start_matches('\u{feff}').trim_start();
    if s.starts_with('[') {
        return Some(FeedFormat::Osv);
    }
    s = s.strip_prefix('{')?.trim_start();
    // Read the first key, a JSON string.
    let rest = s.strip_prefix('"')?;
    let mut end = None;
    let mut escaped = false;
    for (i, c) in rest.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => {
                end = Some(i);
                break;
            }
            _ => {}
        }
    }
    let end = end?;
    let key: String = serde_json::from_str(&s[..end + 2]).ok()?;
    if OSV_KEYS.contains(&key.as_str()) {
        return Some(FeedFormat::Osv);
    }
    if SECDB_KEYS.contains(&key.as_str()) {
        return Some(FeedFormat::AlpineSecdb);
    }
    let after = rest[end + 1..].trim_start().strip_prefix(':')?.trim_start();
    after.starts_with('{').then_some(FeedFormat::DebianTracker)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_first_key() {
        assert_eq!(sniff("a.json", b" {\"id\": \"X\"}"), Some(FeedFormat::Osv));
        assert_eq!(sniff("a.json", b"[{}]"), Some(FeedFormat::Osv));
        assert_eq!(
            sniff("a.json", b"{\"archs\": [], \"distroversion\": \"v3.18\"}"),
            Some(FeedFormat::AlpineSecdb)
        );
        assert_eq!(
            sniff("a.json", b"{\n \"acl\": {\"CVE-1\""),
            Some(FeedFormat::DebianTracker)
        );
        assert_eq!(sniff("a.json", b"{\"x\": 1}"), None);
        assert_eq!(sniff("a.json", b"hello"), None);
        assert_eq!(
            sniff("a.yml", b"---\ndistroversion: v3.11\n"),
            Some(FeedFormat::AlpineSecdb)
        );
        assert_eq!(sniff("a.yaml", b"id: PYSEC-1\n"), Some(FeedFormat::Osv));
    }

    #[test]
    fn sniffs_a_prefix_cut_inside_a_character_or_with_invalid_bytes() {
        // 4 KiB of a record whose details hold "é" across the 4096th byte.
        let mut cut = b"{\"id\": \"X\", \"details\": \"".to_vec();
        cut.resize(4095, b'a');
        cut.extend_from_slice("é\"}".as_bytes());
        assert_eq!(sniff("a.json", &cut), Some(FeedFormat::Osv));
        assert_eq!(
            sniff("a.json", b"{\"id\": \"X\", \"summary\": \"\xff\xfe\"}"),
            Some(FeedFormat::Osv)
        );
        assert_eq!(sniff("a.json", b"\xff{\"id\": 1}"), None);
    }
}
