//! Never "clean" by accident (SPEC 5.7): what a match result did and did not cover.
//!
//! Zero findings means "no known vulnerability" only when every part of the inventory was
//! actually checked. Each of these makes a result incomplete, and is reported as such:
//! - an ecosystem of the inventory for which the database holds no records (an Alpine
//!   image scanned with only Debian feeds imported);
//! - packages that cannot be placed in any ecosystem (unknown distribution, package type
//!   without advisories);
//! - an end-of-life release: its distribution stopped publishing fixes, so the feed goes
//!   quiet about it while vulnerabilities keep coming;
//! - a database older than the configured limit, or never updated;
//! - a detector that failed on a file (its packages are missing from the inventory);
//! - a version the comparator could not read (those packages were not checked).
//!
//! The crate is pure: "now", the database's last update and its per-ecosystem record
//! counts are passed in.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize, Serializer};
use vigil_detect::Distro;

use crate::keys::{Unsupported, distro_context, query};
use crate::{MatchError, Package};

/// A calendar date (UTC), serialised as `YYYY-MM-DD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// Year.
    pub year: i32,
    /// Month, 1-12.
    pub month: u8,
    /// Day, 1-31.
    pub day: u8,
}

impl Date {
    const fn new(year: i32, month: u8, day: u8) -> Self {
        Self { year, month, day }
    }

    /// Midnight UTC at the start of this date.
    pub fn start(&self) -> SystemTime {
        // Days from civil (H. Hinnant's algorithm, public domain description).
        let (m, d) = (i64::from(self.month), i64::from(self.day));
        let y = i64::from(self.year) - i64::from(m <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        let secs = days * 86_400;
        if secs >= 0 {
            UNIX_EPOCH + Duration::from_secs(secs as u64)
        } else {
            UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
        }
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// End of security support per OSV ecosystem (release). Debian: the end of LTS, which the
/// security tracker still covers (wiki.debian.org/LTS); Ubuntu: end of standard support
/// (ubuntu.com/about/release-cycle); Alpine: end of the main repository's support
/// (alpinelinux.org/releases); Rocky and AlmaLinux: end of security support.
/// Dates are the first day without support.
const END_OF_LIFE: &[(&str, Date)] = &[
    ("Debian:8", Date::new(2020, 7, 1)),
    ("Debian:9", Date::new(2022, 7, 1)),
    ("Debian:10", Date::new(2024, 7, 1)),
    ("Debian:11", Date::new(2026, 9, 1)),
    ("Debian:12", Date::new(2028, 7, 1)),
    ("Debian:13", Date::new(2030, 7, 1)),
    ("Ubuntu:16.04:LTS", Date::new(2021, 5, 1)),
    ("Ubuntu:18.04:LTS", Date::new(2023, 6, 1)),
    ("Ubuntu:20.04:LTS", Date::new(2025, 5, 30)),
    ("Ubuntu:22.04:LTS", Date::new(2027, 6, 1)),
    ("Ubuntu:24.04:LTS", Date::new(2029, 6, 1)),
    ("Ubuntu:22.10", Date::new(2023, 7, 21)),
    ("Ubuntu:23.04", Date::new(2024, 1, 26)),
    ("Ubuntu:23.10", Date::new(2024, 7, 12)),
    ("Ubuntu:24.10", Date::new(2025, 7, 11)),
    ("Alpine:v3.10", Date::new(2021, 5, 1)),
    ("Alpine:v3.11", Date::new(2021, 11, 1)),
    ("Alpine:v3.12", Date::new(2022, 5, 1)),
    ("Alpine:v3.13", Date::new(2022, 11, 1)),
    ("Alpine:v3.14", Date::new(2023, 5, 1)),
    ("Alpine:v3.15", Date::new(2023, 11, 1)),
    ("Alpine:v3.16", Date::new(2024, 5, 23)),
    ("Alpine:v3.17", Date::new(2024, 11, 22)),
    ("Alpine:v3.18", Date::new(2025, 5, 9)),
    ("Alpine:v3.19", Date::new(2025, 11, 1)),
    ("Alpine:v3.20", Date::new(2026, 4, 1)),
    ("Alpine:v3.21", Date::new(2026, 11, 1)),
    ("Alpine:v3.22", Date::new(2027, 5, 1)),
    ("Alpine:v3.23", Date::new(2027, 11, 1)),
    ("Rocky Linux:8", Date::new(2029, 6, 1)),
    ("Rocky Linux:9", Date::new(2032, 6, 1)),
    ("AlmaLinux:8", Date::new(2029, 6, 1)),
    ("AlmaLinux:9", Date::new(2032, 6, 1)),
];

/// The first day without security support of a release (an OSV ecosystem with release),
/// when vigil's table knows it.
pub fn end_of_life(ecosystem: &str) -> Option<Date> {
    END_OF_LIFE
        .iter()
        .find(|(e, _)| *e == ecosystem)
        .map(|(_, d)| *d)
}

/// A detector failure of the inventory (the glue copies them in).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetectorError {
    /// The file the detector failed on.
    pub path: String,
    /// Digest of the layer holding it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
    /// What went wrong.
    pub message: String,
}

/// The state of the vulnerability database, as the caller's store reports it.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct DatabaseState {
    /// Record counts per OSV ecosystem with release (`Debian:12` -> 1471).
    pub ecosystems: BTreeMap<String, u64>,
    /// When the database was last updated; `None` if never.
    pub updated: Option<SystemTime>,
}

/// Everything [`Coverage::assess`] needs.
#[derive(Clone, Debug)]
pub struct CoverageInput<'a> {
    /// The image's distribution.
    pub distro: Option<&'a Distro>,
    /// The inventory's packages.
    pub packages: &'a [Package],
    /// The inventory's detector failures.
    pub detector_errors: &'a [DetectorError],
    /// The matcher's errors ([`crate::Matches::errors`]).
    pub match_errors: &'a [MatchError],
    /// The database.
    pub database: &'a DatabaseState,
    /// The oldest database that still counts as current.
    pub max_age: Duration,
    /// The time of the scan.
    pub now: SystemTime,
}

/// Coverage of one ecosystem of the inventory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EcosystemCoverage {
    /// OSV ecosystem with release.
    pub ecosystem: String,
    /// Packages of the inventory in it.
    pub packages: usize,
    /// Records the database holds for it.
    pub advisories: u64,
    /// Whether the database has any record for it.
    pub covered: bool,
}

/// Packages that could not be placed in an ecosystem, grouped by reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UnsupportedPackages {
    /// Why.
    #[serde(flatten)]
    pub reason: Unsupported,
    /// How many packages.
    pub packages: usize,
}

/// An end-of-life release.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EndOfLife {
    /// The release (OSV ecosystem).
    pub ecosystem: String,
    /// The first day without security support.
    pub since: Date,
}

/// How old the database is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DatabaseAge {
    /// Last update, RFC 3339; absent when never updated.
    #[serde(serialize_with = "rfc3339", skip_serializing_if = "Option::is_none")]
    pub updated: Option<SystemTime>,
    /// Age in seconds at the time of the scan; absent when never updated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_seconds: Option<u64>,
    /// The configured limit, in seconds.
    pub max_age_seconds: u64,
    /// Older than the limit, or never updated.
    pub stale: bool,
}

fn rfc3339<S: Serializer>(t: &Option<SystemTime>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.collect_str(&humantime::format_rfc3339_seconds(*t)),
        None => s.serialize_none(),
    }
}

/// What a match result covered (SPEC 5.7). Serialised as the `coverage` object of the
/// scan's JSON: `complete`, `ecosystems[]`, `unsupported[]`, `end_of_life`, `database`,
/// `detector_errors[]`, `match_errors` (a count; the errors themselves are listed with the
/// findings).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Coverage {
    /// [`Coverage::is_complete`], for readers of the JSON.
    pub complete: bool,
    /// One entry per ecosystem of the inventory, sorted by ecosystem.
    pub ecosystems: Vec<EcosystemCoverage>,
    /// Packages in no ecosystem, by reason.
    pub unsupported: Vec<UnsupportedPackages>,
    /// Set when the image's release is past its end of life.
    pub end_of_life: Option<EndOfLife>,
    /// Database age.
    pub database: DatabaseAge,
    /// Detector failures.
    pub detector_errors: Vec<DetectorError>,
    /// Number of (package, advisory) pairs that could not be evaluated.
    pub match_errors: usize,
}

impl Coverage {
    /// Assesses the coverage of a match result.
    pub fn assess(input: &CoverageInput<'_>) -> Coverage {
        let ctx = distro_context(input.distro);
        let mut ecosystems: BTreeMap<String, usize> = BTreeMap::new();
        let mut unsupported: BTreeMap<Unsupported, usize> = BTreeMap::new();
        for p in input.packages {
            match query(&ctx, p) {
                Ok(q) => *ecosystems.entry(q.ecosystem).or_default() += 1,
                Err(u) => *unsupported.entry(u).or_default() += 1,
            }
        }
        let ecosystems: Vec<EcosystemCoverage> = ecosystems
            .into_iter()
            .map(|(ecosystem, packages)| {
                let advisories = input
                    .database
                    .ecosystems
                    .get(&ecosystem)
                    .copied()
                    .unwrap_or(0);
                EcosystemCoverage {
                    ecosystem,
                    packages,
                    advisories,
                    covered: advisories > 0,
                }
            })
            .collect();
        let end_of_life = match &ctx {
            Some(Ok(eco)) => end_of_life(eco)
                .filter(|d| input.now >= d.start())
                .map(|since| EndOfLife {
                    ecosystem: eco.clone(),
                    since,
                }),
            _ => None,
        };
        let age = input
            .database
            .updated
            .map(|u| input.now.duration_since(u).unwrap_or(Duration::ZERO));
        let database = DatabaseAge {
            updated: input.database.updated,
            age_seconds: age.map(|a| a.as_secs()),
            max_age_seconds: input.max_age.as_secs(),
            stale: age.is_none_or(|a| a > input.max_age),
        };
        let mut coverage = Coverage {
            complete: false,
            ecosystems,
            unsupported: unsupported
                .into_iter()
                .map(|(reason, packages)| UnsupportedPackages { reason, packages })
                .collect(),
            end_of_life,
            database,
            detector_errors: input.detector_errors.to_vec(),
            match_errors: input.match_errors.len(),
        };
        coverage.complete = coverage.gaps().is_empty();
        coverage
    }

    /// True when nothing was left unchecked: zero findings then really means "none known".
    pub fn is_complete(&self) -> bool {
        self.gaps().is_empty()
    }

    /// Every gap, one lower-case sentence each, in a stable order (for the table output
    /// and the gate's reasons).
    pub fn gaps(&self) -> Vec<String> {
        let mut gaps = Vec::new();
        for e in self.ecosystems.iter().filter(|e| !e.covered) {
            gaps.push(format!(
                "the database has no advisories for {} ({} packages not checked)",
                e.ecosystem, e.packages
            ));
        }
        for u in &self.unsupported {
            gaps.push(format!(
                "{} ({} packages not checked)",
                u.reason, u.packages
            ));
        }
        if let Some(eol) = &self.end_of_life {
            gaps.push(format!(
                "{} is end-of-life since {}: it no longer receives fixes or advisories",
                eol.ecosystem, eol.since
            ));
        }
        match (self.database.age_seconds, self.database.stale) {
            (None, _) => gaps.push("the vulnerability database was never updated".to_owned()),
            (Some(age), true) => gaps.push(format!(
                "the vulnerability database is {} old, more than the limit of {}",
                humantime::format_duration(Duration::from_secs(age)),
                humantime::format_duration(Duration::from_secs(self.database.max_age_seconds))
            )),
            _ => {}
        }
        for d in &self.detector_errors {
            gaps.push(format!("detector failed on {}: {}", d.path, d.message));
        }
        if self.match_errors > 0 {
            gaps.push(format!(
                "{} package/advisory pairs could not be compared (unreadable versions)",
                self.match_errors
            ));
        }
        gaps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_convert_to_unix_time() {
        let secs = |d: Date| d.start().duration_since(UNIX_EPOCH).unwrap().as_secs();
        assert_eq!(secs(Date::new(1970, 1, 1)), 0);
        assert_eq!(secs(Date::new(2000, 3, 1)), 951_868_800);
        assert_eq!(secs(Date::new(2028, 7, 1)), 1_846_022_400);
        assert_eq!(Date::new(2028, 7, 1).to_string(), "2028-07-01");
    }
}
