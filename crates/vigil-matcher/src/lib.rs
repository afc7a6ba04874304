//! vigil-matcher: installed packages x advisories -> findings, with what was covered
//! (SPEC 5.1-5.4, 5.7).
//!
//! The crate is pure: no files, sockets or clock. The caller (vigil-scan) does the IO:
//!
//! 1. [`lookup_keys`] lists the (OSV ecosystem, name) pairs of an inventory, so the caller
//!    fetches exactly those advisories from the store.
//! 2. [`Matcher::new`] indexes the fetched advisories (parsing every event version once),
//!    and [`Matcher::match_packages`] returns [`Matches`]: findings in a stable order,
//!    aliases merged, and the (package, advisory) pairs that could not be compared.
//! 3. [`Coverage::assess`] says what the result did not cover (SPEC 5.7), with "now" and
//!    the database's state passed in.
//!
//! ```
//! use vigil_matcher::{Matcher, Package, lookup_keys};
//! use vigil_vulndb::{Advisory, Affected, Event, Range, RangeKind, VulnId};
//!
//! let distro = vigil_detect::Distro {
//!     id: "debian".into(), version_id: Some("12".into()),
//!     codename: Some("bookworm".into()), pretty_name: None,
//! };
//! let pkg = Package {
//!     ecosystem: "deb".into(), name: "libssl3".into(), version: "3.0.11-1~deb12u1".into(),
//!     source_name: Some("openssl".into()), source_version: Some("3.0.11-1~deb12u1".into()),
//!     ..Package::default()
//! };
//! let keys = lookup_keys(Some(&distro), std::slice::from_ref(&pkg));
//! assert_eq!(keys[0].to_string(), "Debian:12/openssl");
//!
//! let mut adv = Advisory::new(VulnId::new("CVE-2023-5363"));
//! let mut affected = Affected::new(vigil_vulndb::Package {
//!     ecosystem: "Debian:12".into(), name: "openssl".into(), purl: None,
//! });
//! affected.ranges.push(Range { kind: RangeKind::Ecosystem, events: vec![
//!     Event::Introduced("0".into()), Event::Fixed("3.0.11-1~deb12u2".into()),
//! ]});
//! adv.affected.push(affected);
//! let advisories = [adv];
//! let matches = Matcher::new(&advisories).match_packages(Some(&distro), &[pkg]);
//! assert_eq!(matches.findings[0].fixed_version.as_deref(), Some("3.0.11-1~deb12u2"));
//! ```
//!
//! Design: the index maps a [`LookupKey`] to the `affected` entries that name it, each
//! prepared once (events parsed and sorted), so matching 10,000 packages costs one hash
//! lookup and one parse of the installed version per package plus one comparison walk per
//! candidate entry; advisories are borrowed, never copied.

mod coverage;
mod eval;
mod finding;
mod keys;

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use vigil_detect::Distro;
use vigil_vulndb::{Advisory, FixState as FeedFixState, VulnId};

pub use coverage::{
    Coverage, CoverageInput, DatabaseAge, DatabaseState, Date, DetectorError, EcosystemCoverage,
    EndOfLife, UnsupportedPackages, end_of_life,
};
pub use finding::{Cvss, DataSource, Finding, FindingPackage, FixState};
pub use keys::{
    LookupKey, Unsupported, distro_ecosystem, language_ecosystem, lookup_keys, normalize_name,
};

use eval::{Outcome, Schemes};
use finding::Hit;

/// An installed package, as the inventory gives it. Field for field the inventory's
/// package (vigil-scan `InventoryPackage`), so the glue copies it over.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Package {
    /// Package type (purl type): `deb`, `apk`, `rpm`, `pypi`, `npm`, `cargo`, `golang`,
    /// `maven`, `gem`, `nuget`, `composer`, ...
    pub ecosystem: String,
    /// Name (binary package name for OS packages; `group:artifact` for Maven).
    pub name: String,
    /// Version as the package manager prints it (rpm: `[epoch:]version-release`).
    pub version: String,
    /// Architecture.
    pub arch: Option<String>,
    /// Source package (dpkg `Source:`, apk origin, rpm source rpm name).
    pub source_name: Option<String>,
    /// Source package version (dpkg).
    pub source_version: Option<String>,
    /// Package URL.
    pub purl: Option<String>,
    /// Digest of the layer that introduced it.
    pub layer: Option<String>,
    /// The file it was read from.
    pub path: String,
}

impl Package {
    fn finding_package(&self) -> Arc<FindingPackage> {
        Arc::new(FindingPackage {
            ecosystem: self.ecosystem.clone(),
            name: self.name.clone(),
            version: self.version.clone(),
            arch: self.arch.clone(),
            source_name: self.source_name.clone(),
            source_version: self.source_version.clone(),
            purl: self.purl.clone(),
            layer: self.layer.clone(),
            path: self.path.clone(),
        })
    }
}

/// A (package, advisory) pair that could not be compared: never silently "not affected"
/// (SPEC 5.7).
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, thiserror::Error,
)]
#[error("{package} {version} ({ecosystem}): cannot check {}: {message}", advisories_text(.advisories))]
pub struct MatchError {
    /// The installed package name.
    pub package: String,
    /// The version that was compared.
    pub version: String,
    /// The OSV ecosystem.
    pub ecosystem: String,
    /// The advisories that could not be evaluated.
    pub advisories: Vec<VulnId>,
    /// What was wrong, naming the version and the scheme.
    pub message: String,
}

fn advisories_text(ids: &[VulnId]) -> String {
    match ids {
        [one] => one.to_string(),
        [first, ..] => format!("{first} and {} other advisories", ids.len() - 1),
        [] => "advisories".to_owned(),
    }
}

/// The result of matching an inventory.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Matches {
    /// Findings, ordered by severity (most severe first), id, then package.
    pub findings: Vec<Finding>,
    /// Pairs that could not be compared, sorted.
    pub errors: Vec<MatchError>,
}

/// FNV-1a: the index is hashed once per advisory entry and looked up once per package
/// name, over short keys, where SipHash showed in profiles. Keys come from the store's
/// feeds, not from the scanned image, so flooding resistance is not needed here.
#[derive(Default, Clone, Copy)]
struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

type FnvMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<Fnv>>;

/// The entries of one OSV ecosystem, by normalised package name.
struct Bucket<'a> {
    schemes: Schemes,
    by_name: FnvMap<Cow<'a, str>, Vec<(u32, u32)>>,
}

/// Advisories indexed by the (ecosystem, name) they affect. Borrows the advisories; the
/// index holds only their positions.
pub struct Matcher<'a> {
    advisories: &'a [Advisory],
    /// One bucket per OSV ecosystem; a handful per scan, so a list.
    index: Vec<(&'a str, Bucket<'a>)>,
}

impl<'a> Matcher<'a> {
    /// Indexes `advisories` (usually the subset fetched for [`lookup_keys`]). Withdrawn
    /// advisories, entries a distribution marks not-affected and entries in ecosystems
    /// without a known version scheme are left out: they can never match (SPEC 5.4).
    pub fn new(advisories: &'a [Advisory]) -> Self {
        let mut index: Vec<(&'a str, Bucket<'a>)> = Vec::new();
        let mut unknown: Vec<&'a str> = Vec::new();
        let mut last = usize::MAX;
        for (ai, adv) in advisories.iter().enumerate() {
            if adv.is_withdrawn() {
                continue;
            }
            for (fi, affected) in adv.affected.iter().enumerate() {
                if affected.fix_state == Some(FeedFixState::NotAffected) {
                    continue;
                }
                let eco = affected.package.ecosystem.as_str();
                if last >= index.len() || index[last].0 != eco {
                    match index.iter().position(|(e, _)| *e == eco) {
                        Some(i) => last = i,
                        None if unknown.contains(&eco) => continue,
                        None => {
                            let Some(schemes) = Schemes::of(eco) else {
                                unknown.push(eco);
                                continue;
                            };
                            index.push((
                                eco,
                                Bucket {
                                    schemes,
                                    by_name: FnvMap::default(),
                                },
                            ));
                            last = index.len() - 1;
                        }
                    }
                }
                let bucket = &mut index[last].1;
                let key: Cow<'a, str> = keys::normalized(eco, &affected.package.name);
                // Positions fit u32: no store holds four billion advisories.
                bucket
                    .by_name
                    .entry(key)
                    .or_default()
                    .push((ai as u32, fi as u32));
            }
        }
        Self { advisories, index }
    }

    /// How many `affected` entries the index holds.
    pub fn indexed_entries(&self) -> usize {
        self.index
            .iter()
            .flat_map(|(_, b)| b.by_name.values())
            .map(Vec::len)
            .sum()
    }

    /// Matches the packages of an image whose distribution is `distro`.
    pub fn match_packages(&self, distro: Option<&Distro>, packages: &[Package]) -> Matches {
        let ctx = keys::distro_context(distro);
        let mut findings = Vec::new();
        let mut errors = Vec::new();
        for package in packages {
            let Ok(query) = keys::query(&ctx, package) else {
                continue; // reported by Coverage as unsupported
            };
            let Some((_, bucket)) = self.index.iter().find(|(e, _)| *e == query.ecosystem) else {
                continue;
            };
            // An installed version its ecosystem rejects cannot be checked against any
            // advisory, not even "all versions" ones: one error for all of them.
            if let Err(e) = bucket.schemes.ecosystem().parse(query.version.trim()) {
                let mut advisories: Vec<VulnId> = query
                    .names
                    .iter()
                    .filter_map(|n| bucket.by_name.get(n.as_str()))
                    .flatten()
                    .map(|&(ai, _)| self.advisories[ai as usize].id.clone())
                    .collect();
                if advisories.is_empty() {
                    continue;
                }
                advisories.sort();
                advisories.dedup();
                errors.push(MatchError {
                    package: package.name.clone(),
                    version: query.version.clone(),
                    ecosystem: query.ecosystem.clone(),
                    advisories,
                    message: e.to_string(),
                });
                continue;
            }
            let installed = query.version.trim();
            let mut hits: Vec<Hit<'a>> = Vec::new();
            let mut bad: HashMap<String, Vec<VulnId>> = HashMap::new();
            for name in &query.names {
                let Some(entries) = bucket.by_name.get(name.as_str()) else {
                    continue;
                };
                for &(ai, fi) in entries {
                    let advisory = &self.advisories[ai as usize];
                    let affected = &advisory.affected[fi as usize];
                    match eval::evaluate(&bucket.schemes, affected, installed) {
                        Outcome::NotAffected => {}
                        Outcome::Affected { fixed } => {
                            let state = match (affected.fix_state, fixed) {
                                (_, Some(_)) => FixState::Fixed,
                                (Some(FeedFixState::WillNotFix), None) => FixState::WillNotFix,
                                _ => FixState::NotFixed,
                            };
                            hits.push(Hit {
                                advisory,
                                affected,
                                state,
                                fixed,
                            });
                        }
                        Outcome::BadInstalled(message) | Outcome::BadAdvisory(message) => {
                            bad.entry(message).or_default().push(advisory.id.clone());
                        }
                    }
                }
            }
            for (message, mut advisories) in bad {
                advisories.sort();
                advisories.dedup();
                errors.push(MatchError {
                    package: package.name.clone(),
                    version: query.version.clone(),
                    ecosystem: query.ecosystem.clone(),
                    advisories,
                    message,
                });
            }
            if hits.is_empty() {
                continue;
            }
            findings.extend(finding::merge(
                hits,
                &package.finding_package(),
                &Arc::from(query.version.as_str()),
                &Arc::from(query.ecosystem.as_str()),
                bucket.schemes.ecosystem(),
            ));
        }
        // Findings that compare equal are identical, so an unstable sort is deterministic.
        // Sorted by position, then moved once: a finding is a large value to shuffle.
        let mut order: Vec<usize> = (0..findings.len()).collect();
        order.sort_unstable_by(|&a, &b| findings[a].stable_cmp(&findings[b]));
        let mut slots: Vec<Option<Finding>> = findings.into_iter().map(Some).collect();
        let findings: Vec<Finding> = order
            .into_iter()
            .map(|i| slots[i].take().expect("each position once"))
            .collect();
        errors.sort();
        Matches { findings, errors }
    }
}
