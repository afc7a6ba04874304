//! Real advisories from the shared fixtures, and small builders.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use vigil_policy::{CveAction, CveRule, FindingRef, Name, Policies, Scope, Target};
use vigil_vulndb::osv::parse_json_record;
use vigil_vulndb::severity::assess;
use vigil_vulndb::{Event, Severity, VulnId};

pub const FEEDS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/feeds"
);

/// A finding built from a real advisory, the way the matcher presents it (SPEC 5.3): the
/// CVE alias is the primary id, the advisory's own id an alias.
#[derive(Clone, Debug)]
pub struct Owned {
    pub id: VulnId,
    pub aliases: Vec<VulnId>,
    pub severity: Severity,
    pub has_fix: bool,
}

impl Owned {
    pub fn as_ref(&self) -> FindingRef<'_> {
        FindingRef {
            id: &self.id,
            aliases: &self.aliases,
            severity: self.severity,
            has_fix: self.has_fix,
        }
    }
}

fn find(dir: &Path, file: &str) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).ok()? {
        let path = entry.ok()?.path();
        if path.is_dir() {
            if let Some(found) = find(&path, file) {
                return Some(found);
            }
        } else if path.file_name().is_some_and(|n| n == file) {
            return Some(path);
        }
    }
    None
}

/// The GitHub advisory `ghsa` from the shared fixtures, as a finding: severity from its
/// label (SPEC 4.4), fixed when one of its ranges has a `fixed` event.
pub fn github(ghsa: &str) -> Owned {
    let dir = Path::new(FEEDS).join("github-advisory-database");
    let path = find(&dir, &format!("{ghsa}.json"))
        .unwrap_or_else(|| panic!("{ghsa}.json not in {}", dir.display()));
    let advisory = parse_json_record(&std::fs::read(&path).unwrap()).unwrap();
    let (severity, _) = assess(&advisory);
    let has_fix = advisory.affected.iter().any(|a| {
        a.ranges
            .iter()
            .any(|r| r.events.iter().any(|e| matches!(e, Event::Fixed(_))))
    });
    let mut ids: Vec<VulnId> = std::iter::once(advisory.id.clone())
        .chain(advisory.aliases.iter().cloned())
        .collect();
    // The CVE first, as the matcher's primary id.
    ids.sort_by_key(|id| !id.as_str().starts_with("CVE-"));
    Owned {
        id: ids[0].clone(),
        aliases: ids[1..].to_vec(),
        severity,
        has_fix,
    }
}

pub fn name(s: &str) -> Name {
    Name::new(s).unwrap()
}

pub fn scope(s: &str) -> Scope {
    s.parse().unwrap()
}

/// `web` deployed to `prod` of cluster `eu`.
pub fn target() -> Target {
    Target {
        cluster: name("eu"),
        environment: name("prod"),
        application: name("web"),
    }
}

/// A fixed "now": 2026-11-25T12:00:00Z.
pub fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_795_608_000)
}

pub fn days(n: i64) -> Duration {
    Duration::from_secs(n.unsigned_abs() * 86_400)
}

/// A CVE rule created a week before [`now`].
pub fn cve_rule(at: &str, id: &str, action: CveAction, expires: Option<SystemTime>) -> CveRule {
    CveRule::new(
        scope(at),
        id,
        action,
        "alice",
        "reviewed in the weekly triage",
        now() - days(7),
        expires,
    )
    .unwrap()
    .0
}

pub fn fresh() -> Policies {
    Policies::default()
}

/// The Debian tracker entry `cve` of source package `package` for bookworm, from the real
/// tracker data in the shared fixtures, as a finding: severity from its urgency (SPEC 4.4),
/// fixed when the tracker says `resolved`, `DEBIAN-CVE-…` (osv.dev's id) as its alias.
pub fn debian(package: &str, cve: &str) -> Owned {
    let path = Path::new(FEEDS).join("debian-tracker/bookworm.json");
    let tracker: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let entry = &tracker[package][cve]["releases"]["bookworm"];
    assert!(
        entry.is_object(),
        "{package} {cve} not in {}",
        path.display()
    );
    let urgency = entry["urgency"].as_str().unwrap_or("");
    Owned {
        id: VulnId::new(cve),
        aliases: vec![VulnId::new(format!("DEBIAN-{cve}"))],
        severity: Severity::from_label(urgency).unwrap_or(Severity::Unknown),
        has_fix: entry["status"] == "resolved",
    }
}
