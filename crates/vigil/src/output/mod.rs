//! The output layer: the only code that writes reports to stdout (STYLE.md). Reports are
//! built by the library crates; each module here prints one format.

pub mod cyclonedx;
pub mod sarif;
pub mod table;

use std::io::IsTerminal;

/// Colour only on a terminal, and never when `NO_COLOR` is set (any value).
pub fn color_for_stdout() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
}

/// `https://osv.dev/vulnerability/ID`: every id vigil reports (CVE, GHSA, PYSEC, DSA, ...)
/// has a page there.
pub fn advisory_url(id: &str) -> String {
    format!("https://osv.dev/vulnerability/{id}")
}

/// The best CVSS base score of a finding, if any vector parsed.
pub fn best_score(f: &vigil_matcher::Finding) -> Option<f64> {
    f.cvss
        .iter()
        .filter_map(|c| c.score)
        .fold(None, |acc: Option<f64>, s| {
            Some(acc.map_or(s, |a| a.max(s)))
        })
}

/// `debian 12 (bookworm)`, or `unknown distribution`.
pub fn distro_label(distro: Option<&vigil_detect::Distro>) -> String {
    let Some(d) = distro else {
        return "unknown distribution".to_string();
    };
    let mut s = d.id.clone();
    if let Some(v) = &d.version_id {
        s = format!("{s} {v}");
    }
    if let Some(c) = &d.codename {
        s = format!("{s} ({c})");
    }
    s
}
