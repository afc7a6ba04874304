//! Never "clean" by accident (SPEC 5.7): each gap is reported, on real records.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use vigil_matcher::{
    Coverage, CoverageInput, DatabaseState, DetectorError, Matcher, Unsupported, end_of_life,
};
use vigil_vulndb::Advisory;

use crate::{bookworm, deb, distro, lang, osv_dir};

/// 2026-11-25T12:00:00Z.
fn now() -> SystemTime {
    humantime::parse_rfc3339("2026-11-25T12:00:00Z").unwrap()
}

const DAY: Duration = Duration::from_secs(86_400);

/// The state a store would report after importing `advisories` at `updated`.
fn database(advisories: &[Advisory], updated: SystemTime) -> DatabaseState {
    let mut ecosystems: BTreeMap<String, u64> = BTreeMap::new();
    for a in advisories {
        let mut seen: Vec<&str> = a
            .affected
            .iter()
            .map(|e| e.package.ecosystem.as_str())
            .collect();
        seen.sort();
        seen.dedup();
        for e in seen {
            *ecosystems.entry(e.to_owned()).or_default() += 1;
        }
    }
    DatabaseState {
        ecosystems,
        updated: Some(updated),
    }
}

fn input<'a>(
    distro: Option<&'a vigil_detect::Distro>,
    packages: &'a [vigil_matcher::Package],
    db: &'a DatabaseState,
) -> CoverageInput<'a> {
    CoverageInput {
        distro,
        packages,
        detector_errors: &[],
        match_errors: &[],
        database: db,
        max_age: 7 * DAY,
        now: now(),
    }
}

#[test]
fn complete_when_every_part_was_checked() {
    let advisories = osv_dir("osv-debian");
    let db = database(&advisories, now() - DAY);
    let packages = [deb(
        "libssl3",
        "3.0.13-1~deb12u1",
        "openssl",
        "3.0.13-1~deb12u1",
    )];
    let cov = Coverage::assess(&input(Some(&bookworm()), &packages, &db));
    assert!(cov.is_complete(), "{:?}", cov.gaps());
    assert!(cov.complete);
    assert_eq!(cov.ecosystems.len(), 1);
    assert_eq!(cov.ecosystems[0].ecosystem, "Debian:12");
    assert_eq!(
        cov.ecosystems[0].advisories, 141,
        "every osv-debian record names Debian:12"
    );
}

/// Only Debian records imported: the image's PyPI packages are not covered.
#[test]
fn ecosystem_without_records_is_a_gap() {
    let advisories = osv_dir("osv-debian");
    let db = database(&advisories, now() - DAY);
    let packages = [
        deb("libssl3", "3.0.13-1~deb12u1", "openssl", "3.0.13-1~deb12u1"),
        lang("pypi", "requests", "2.30.0"),
    ];
    let cov = Coverage::assess(&input(Some(&bookworm()), &packages, &db));
    assert!(!cov.is_complete());
    assert_eq!(
        cov.gaps(),
        vec!["the database has no advisories for PyPI (1 packages not checked)"]
    );
}

/// Debian 10's LTS ended on 2024-06-30; bookworm's has not.
#[test]
fn end_of_life_release_is_a_gap() {
    let advisories = osv_dir("osv-debian");
    let db = database(&advisories, now() - DAY);
    let packages = [deb(
        "libssl3",
        "1.1.1n-0+deb10u6",
        "openssl",
        "1.1.1n-0+deb10u6",
    )];
    let buster = distro("debian", Some("10"), Some("buster"));
    let cov = Coverage::assess(&input(Some(&buster), &packages, &db));
    let eol = cov.end_of_life.as_ref().expect("buster is end-of-life");
    assert_eq!(eol.ecosystem, "Debian:10");
    assert_eq!(eol.since.to_string(), "2024-07-01");
    assert!(
        cov.gaps().contains(
            &"Debian:10 is end-of-life since 2024-07-01: it no longer receives fixes or advisories"
                .to_owned()
        ),
        "{:?}",
        cov.gaps()
    );
    assert_eq!(end_of_life("Debian:12").unwrap().to_string(), "2028-07-01");
    let ok = Coverage::assess(&input(Some(&bookworm()), &packages, &db));
    assert_eq!(ok.end_of_life, None);
}

#[test]
fn stale_or_missing_database_is_a_gap() {
    let advisories = osv_dir("osv-debian");
    let packages = [deb(
        "libssl3",
        "3.0.13-1~deb12u1",
        "openssl",
        "3.0.13-1~deb12u1",
    )];
    let old = database(&advisories, now() - 10 * DAY);
    let cov = Coverage::assess(&input(Some(&bookworm()), &packages, &old));
    assert!(cov.database.stale);
    assert_eq!(cov.database.age_seconds, Some(10 * 86_400));
    assert_eq!(
        cov.gaps(),
        vec!["the vulnerability database is 10days old, more than the limit of 7days"]
    );
    let never = DatabaseState {
        updated: None,
        ..old
    };
    let cov = Coverage::assess(&input(Some(&bookworm()), &packages, &never));
    assert_eq!(
        cov.gaps(),
        vec!["the vulnerability database was never updated"]
    );
}

#[test]
fn detector_and_match_errors_are_gaps() {
    let advisories = osv_dir("osv-debian");
    let db = database(&advisories, now() - DAY);
    let packages = [deb("libssl3", "3.0.13-1~deb12u1", "openssl", "3.0.1 3")];
    let matches = Matcher::new(&advisories).match_packages(Some(&bookworm()), &packages);
    assert_eq!(matches.errors.len(), 1);
    let detector = [DetectorError {
        path: "var/lib/rpm/rpmdb.sqlite".into(),
        layer: Some("sha256:0b99".into()),
        message: "not a sqlite database".into(),
    }];
    let cov = Coverage::assess(&CoverageInput {
        detector_errors: &detector,
        match_errors: &matches.errors,
        ..input(Some(&bookworm()), &packages, &db)
    });
    assert_eq!(
        cov.gaps(),
        vec![
            "detector failed on var/lib/rpm/rpmdb.sqlite: not a sqlite database".to_owned(),
            "1 package/advisory pairs could not be compared (unreadable versions)".to_owned(),
        ]
    );
}

/// OS packages without a known distribution, and a distribution vigil cannot place.
#[test]
fn unplaceable_packages_are_gaps() {
    let advisories = osv_dir("osv-debian");
    let db = database(&advisories, now() - DAY);
    let packages = [deb(
        "libssl3",
        "3.0.13-1~deb12u1",
        "openssl",
        "3.0.13-1~deb12u1",
    )];
    let cov = Coverage::assess(&input(None, &packages, &db));
    assert_eq!(cov.unsupported.len(), 1);
    assert_eq!(
        cov.unsupported[0].reason,
        Unsupported::NoDistro {
            package_type: "deb".into()
        }
    );
    let gentoo = distro("gentoo", Some("2.14"), None);
    let cov = Coverage::assess(&input(Some(&gentoo), &packages, &db));
    assert_eq!(
        cov.gaps(),
        vec![
            "distribution gentoo 2.14 has no advisory ecosystem in vigil (1 packages not checked)"
        ]
    );
    insta::assert_json_snapshot!("coverage-unknown-distro", cov);
}
