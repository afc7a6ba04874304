//! One test per matching rule (SPEC 5.1-5.4), each on real advisory records.

use vigil_matcher::{FixState, Matcher, lookup_keys};
use vigil_vulndb::{Event, Severity, SeveritySource, VulnId};

use crate::{bookworm, deb, distro, lang, osv, osv_dir};

fn ids(f: &vigil_matcher::Finding) -> Vec<&str> {
    f.ids().map(VulnId::as_str).collect()
}

/// PYSEC-2023-74 aliases CVE-2023-32681 and GHSA-j8r2-6x86-q33q; the GHSA aliases the CVE.
/// The three records are one finding, named by the CVE, with the GHSA's label.
#[test]
fn aliases_merge_to_the_cve() {
    let advisories = vec![
        osv("pypa-advisory-database/vulns/requests/PYSEC-2023-74.yaml"),
        osv(
            "github-advisory-database/advisories/github-reviewed/2023/05/GHSA-j8r2-6x86-q33q/GHSA-j8r2-6x86-q33q.json",
        ),
        osv(
            "github-advisory-database/advisories/github-reviewed/2024/05/GHSA-9wx4-h78v-vm56/GHSA-9wx4-h78v-vm56.json",
        ),
    ];
    let matches =
        Matcher::new(&advisories).match_packages(None, &[lang("pypi", "requests", "2.30.0")]);
    assert!(matches.errors.is_empty(), "{:?}", matches.errors);
    let got: Vec<Vec<&str>> = matches.findings.iter().map(ids).collect();
    assert_eq!(
        got,
        vec![
            vec!["CVE-2023-32681", "GHSA-j8r2-6x86-q33q", "PYSEC-2023-74"],
            vec!["CVE-2024-35195", "GHSA-9wx4-h78v-vm56"],
        ]
    );
    let merged = &matches.findings[0];
    assert_eq!(merged.fix_state, FixState::Fixed);
    assert_eq!(merged.fixed_version.as_deref(), Some("2.31.0"));
    assert_eq!(merged.severity, Severity::Medium);
    assert_eq!(
        merged.severity_source,
        SeveritySource::Label {
            label: "MODERATE".into()
        }
    );
    assert_eq!(
        merged.data_source.advisories,
        vec![
            VulnId::new("GHSA-j8r2-6x86-q33q"),
            VulnId::new("PYSEC-2023-74")
        ]
    );
    insta::assert_json_snapshot!("requests-2.30.0", matches);

    // 2.31.0 is the fix of the first and still below the fix of the second.
    let later =
        Matcher::new(&advisories).match_packages(None, &[lang("pypi", "requests", "2.31.0")]);
    let got: Vec<Vec<&str>> = later.findings.iter().map(ids).collect();
    assert_eq!(got, vec![vec!["CVE-2024-35195", "GHSA-9wx4-h78v-vm56"]]);
}

/// GHSA-g3rq names `Jinja2`, GHSA-h5c8 `jinja2`: both are the PEP 503 name `jinja2`.
#[test]
fn pypi_names_match_in_pep503_form() {
    let advisories = vec![
        osv(
            "github-advisory-database/advisories/github-reviewed/2021/03/GHSA-g3rq-g295-4j3m/GHSA-g3rq-g295-4j3m.json",
        ),
        osv(
            "github-advisory-database/advisories/github-reviewed/2024/01/GHSA-h5c8-rqwp-cp95/GHSA-h5c8-rqwp-cp95.json",
        ),
    ];
    let pkg = lang("pypi", "Jinja2", "2.11.2");
    let keys = lookup_keys(None, std::slice::from_ref(&pkg));
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].to_string(), "PyPI/jinja2");
    let matches = Matcher::new(&advisories).match_packages(None, &[pkg]);
    let got: Vec<&str> = matches.findings.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(got, vec!["CVE-2020-28493", "CVE-2024-22195"]);
}

/// PYSEC-2022-43059 (aiohttp) and RUSTSEC-2025-0007 (ring) are withdrawn: no finding, even
/// though the installed versions are in their ranges, as the same records un-withdrawn show.
#[test]
fn withdrawn_never_matches() {
    let advisories = vec![
        osv("pypa-advisory-database/vulns/aiohttp/PYSEC-2022-43059.yaml"),
        osv("rustsec/osv/RUSTSEC-2025-0007.json"),
    ];
    assert!(advisories.iter().all(|a| a.is_withdrawn()));
    let packages = [
        lang("pypi", "aiohttp", "3.8.1"),
        lang("cargo", "ring", "0.17.8"),
    ];
    let matches = Matcher::new(&advisories).match_packages(None, &packages);
    assert_eq!(matches.findings, vec![]);

    let revived: Vec<_> = advisories
        .into_iter()
        .map(|mut a| {
            a.withdrawn = None;
            a
        })
        .collect();
    let matches = Matcher::new(&revived).match_packages(None, &packages);
    let got: Vec<&str> = matches.findings.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(got, vec!["CVE-2022-33124", "RUSTSEC-2025-0007"]);
}

/// No shared record has an ECOSYSTEM `last_affected` (only GIT ranges use it), so the
/// requests GHSA's `fixed: 2.31.0` is rewritten as `last_affected: 2.30.0`: 2.30.0 is then
/// affected (inclusive) with no known fix, and 2.30.1 is not.
#[test]
fn last_affected_is_inclusive_and_has_no_fix() {
    let mut adv = osv(
        "github-advisory-database/advisories/github-reviewed/2023/05/GHSA-j8r2-6x86-q33q/GHSA-j8r2-6x86-q33q.json",
    );
    let events = &mut adv.affected[0].ranges[0].events;
    assert_eq!(events[1], Event::Fixed("2.31.0".into()));
    events[1] = Event::LastAffected("2.30.0".into());
    let advisories = [adv];
    let m = Matcher::new(&advisories);
    let at = m.match_packages(None, &[lang("pypi", "requests", "2.30.0")]);
    assert_eq!(at.findings.len(), 1);
    assert_eq!(at.findings[0].fix_state, FixState::NotFixed);
    assert_eq!(at.findings[0].fixed_version, None);
    let above = m.match_packages(None, &[lang("pypi", "requests", "2.30.1")]);
    assert_eq!(above.findings, vec![]);
    let below = m.match_packages(None, &[lang("pypi", "requests", "2.2.1")]);
    assert_eq!(
        below.findings,
        vec![],
        "introduced 2.3.0 is the lower bound"
    );
}

/// The binary `libssl3` is matched through its source `openssl`, by source version.
#[test]
fn debian_binary_matches_through_its_source_package() {
    let advisories = osv_dir("osv-debian");
    let libssl3 = deb("libssl3", "3.0.13-1~deb12u1", "openssl", "3.0.13-1~deb12u1");
    let keys = lookup_keys(Some(&bookworm()), std::slice::from_ref(&libssl3));
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].to_string(), "Debian:12/openssl");

    let matches = Matcher::new(&advisories).match_packages(Some(&bookworm()), &[libssl3]);
    assert!(matches.errors.is_empty(), "{:?}", matches.errors);
    let find = |id: &str| matches.findings.iter().find(|f| f.id.as_str() == id);
    // Fixed in 3.0.14-1~deb12u2 for bookworm (CVE record and its DSA).
    let cve = find("CVE-2024-6119").expect("CVE-2024-6119");
    assert_eq!(cve.fixed_version.as_deref(), Some("3.0.14-1~deb12u2"));
    assert_eq!(&*cve.data_source.ecosystem, "Debian:12");
    assert_eq!(&*cve.data_source.name, "openssl");
    assert_eq!(cve.package.name, "libssl3");
    // A DSA lists its CVEs as `related`, not aliases: it stays its own finding.
    let dsa = find("DSA-5764-1").expect("DSA-5764-1");
    assert_eq!(dsa.aliases, vec![]);
    // Open and unimportant in bookworm: not fixed, low.
    let open = find("CVE-2010-0928").expect("CVE-2010-0928");
    assert_eq!(open.fix_state, FixState::NotFixed);
    assert_eq!(open.severity, Severity::Low);
    // Fixed in exactly the installed version: not a finding.
    assert!(find("CVE-2024-0727").is_none());

    // Without its source name the binary name finds nothing.
    let mut bare = deb("libssl3", "3.0.13-1~deb12u1", "", "");
    bare.source_name = None;
    bare.source_version = None;
    let none = Matcher::new(&advisories).match_packages(Some(&bookworm()), &[bare]);
    assert_eq!(none.findings, vec![]);
}

/// The version compared is the source version: `bsdutils 1:2.38.1-5+deb12u1` comes from
/// `util-linux 2.38.1-5+deb12u1`; with the binary's epoch it would look newer than every fix.
#[test]
fn debian_compares_the_source_version_not_the_binary_epoch() {
    let advisories = vec![osv("osv-debian/DSA/2024/DSA-5650-1.json")];
    let bsdutils = deb("bsdutils", "1:2.38.1-5+b1", "util-linux", "2.38.1-5");
    let matches = Matcher::new(&advisories).match_packages(Some(&bookworm()), &[bsdutils]);
    assert_eq!(matches.findings.len(), 1);
    let f = &matches.findings[0];
    assert_eq!(&*f.installed_version, "2.38.1-5");
    assert_eq!(f.fixed_version.as_deref(), Some("2.38.1-5+deb12u1"));
}

/// DSA-5514-1 has a Debian:11 and a Debian:12 entry for glibc. Each release matches its
/// own entry only, and a release the record does not name (trixie) matches nothing.
#[test]
fn only_the_images_release_matches() {
    let advisories = vec![osv("osv-debian/DSA/2023/DSA-5514-1.json")];
    let m = Matcher::new(&advisories);
    let libc = |v: &str| deb("libc6", v, "glibc", v);

    let on12 = m.match_packages(Some(&bookworm()), &[libc("2.36-9+deb12u1")]);
    assert_eq!(on12.findings.len(), 1);
    assert_eq!(
        on12.findings[0].fixed_version.as_deref(),
        Some("2.36-9+deb12u3")
    );

    let bullseye = distro("debian", Some("11"), Some("bullseye"));
    let on11 = m.match_packages(Some(&bullseye), &[libc("2.31-13+deb11u6")]);
    assert_eq!(on11.findings.len(), 1);
    assert_eq!(
        on11.findings[0].fixed_version.as_deref(),
        Some("2.31-13+deb11u7")
    );
    assert_eq!(&*on11.findings[0].data_source.ecosystem, "Debian:11");

    // The bookworm version on bullseye is above bullseye's fix: not affected there.
    let cross = m.match_packages(Some(&bullseye), &[libc("2.36-9+deb12u1")]);
    assert_eq!(cross.findings, vec![]);

    let trixie = distro("debian", None, Some("trixie"));
    let on13 = m.match_packages(Some(&trixie), &[libc("2.36-9+deb12u1")]);
    assert_eq!(on13.findings, vec![]);
    assert_eq!(
        lookup_keys(Some(&trixie), &[libc("1")])[0].ecosystem,
        "Debian:13"
    );
}

/// A version dpkg rejects is reported against every advisory it could not be checked
/// with, never silently "not affected".
#[test]
fn unparsable_version_is_reported() {
    let advisories = osv_dir("osv-debian");
    let broken = deb("libssl3", "3.0.13-1~deb12u1", "openssl", "no:t a version");
    let matches = Matcher::new(&advisories).match_packages(Some(&bookworm()), &[broken]);
    assert_eq!(matches.findings, vec![]);
    assert_eq!(matches.errors.len(), 1, "{:?}", matches.errors);
    let e = &matches.errors[0];
    assert_eq!(e.package, "libssl3");
    assert_eq!(e.version, "no:t a version");
    assert_eq!(e.ecosystem, "Debian:12");
    assert!(e.advisories.contains(&VulnId::new("CVE-2024-6119")));
    let text = e.to_string();
    assert!(
        text.starts_with("libssl3 no:t a version (Debian:12): cannot check CVE-"),
        "{text}"
    );
    assert!(text.contains("invalid dpkg version"), "{text}");
}

/// Ranges per release branch (urllib3's GHSA-v845: 2.0.0..2.0.6 and 0..1.26.17): the
/// fixed version is the lowest fix above the installed version, in the right branch.
#[test]
fn fixed_version_is_the_lowest_fix_above_the_installed_one() {
    let advisories = vec![osv(
        "github-advisory-database/advisories/github-reviewed/2023/10/GHSA-v845-jxx5-vc9f/GHSA-v845-jxx5-vc9f.json",
    )];
    let m = Matcher::new(&advisories);
    let fixed = |v: &str| {
        let r = m.match_packages(None, &[lang("pypi", "urllib3", v)]);
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        r.findings.first().and_then(|f| f.fixed_version.clone())
    };
    assert_eq!(fixed("2.0.4").as_deref(), Some("2.0.6"));
    assert_eq!(fixed("1.26.5").as_deref(), Some("1.26.17"));
    assert_eq!(fixed("2.0.6"), None);
    assert_eq!(fixed("1.26.17"), None);
}

/// The same inputs in any order give the same output, ordered by severity, id, package.
#[test]
fn output_is_deterministic_and_ordered() {
    let mut advisories = osv_dir("osv-debian");
    advisories.extend(osv_dir("github-advisory-database"));
    let mut packages = vec![
        deb("libssl3", "3.0.11-1~deb12u1", "openssl", "3.0.11-1~deb12u1"),
        deb("openssl", "3.0.11-1~deb12u1", "openssl", "3.0.11-1~deb12u1"),
        deb("libc6", "2.36-9+deb12u1", "glibc", "2.36-9+deb12u1"),
        deb("curl", "7.88.1-10+deb12u1", "curl", "7.88.1-10+deb12u1"),
        lang("pypi", "urllib3", "1.26.5"),
        lang("npm", "lodash", "4.17.15"),
    ];
    let first = Matcher::new(&advisories).match_packages(Some(&bookworm()), &packages);
    assert!(first.findings.len() > 20, "{}", first.findings.len());
    for w in first.findings.windows(2) {
        assert!(w[0].stable_cmp(&w[1]).is_lt(), "{} / {}", w[0].id, w[1].id);
    }
    advisories.reverse();
    packages.reverse();
    let second = Matcher::new(&advisories).match_packages(Some(&bookworm()), &packages);
    assert_eq!(first, second);
}

/// Alpine secdb v3.11 main (real): `libssl1.1` is matched through its origin `openssl`;
/// the ALPINE-CVE record is named by its CVE; another release matches nothing.
#[test]
fn alpine_matches_by_origin_in_its_release() {
    let bytes =
        std::fs::read(crate::feeds().join("alpine-secdb-legacy-yaml/v3.11/main.yaml")).unwrap();
    let advisories = vigil_vulndb::alpine::parse(&bytes, vigil_vulndb::alpine::Syntax::Yaml)
        .expect("secdb parses");
    let pkg = vigil_matcher::Package {
        ecosystem: "apk".into(),
        name: "libssl1.1".into(),
        version: "1.1.1d-r2".into(),
        source_name: Some("openssl".into()),
        path: "lib/apk/db/installed".into(),
        ..Default::default()
    };
    let alpine = |v: &str| distro("alpine", Some(v), None);
    let keys = lookup_keys(Some(&alpine("3.11.6")), std::slice::from_ref(&pkg));
    assert_eq!(keys[0].to_string(), "Alpine:v3.11/openssl");
    let m = Matcher::new(&advisories);
    let on311 = m.match_packages(Some(&alpine("3.11.6")), std::slice::from_ref(&pkg));
    assert!(on311.errors.is_empty(), "{:?}", on311.errors);
    let got: Vec<(&str, Option<&str>)> = on311
        .findings
        .iter()
        .map(|f| (f.id.as_str(), f.fixed_version.as_deref()))
        .collect();
    assert_eq!(got, vec![("CVE-2019-1551", Some("1.1.1d-r3"))]);
    assert!(
        on311.findings[0]
            .aliases
            .iter()
            .any(|a| a.as_str().starts_with("ALPINE-"))
    );
    let on312 = m.match_packages(Some(&alpine("3.12.0")), &[pkg]);
    assert_eq!(on312.findings, vec![]);
}

/// Go: module versions carry a `v` (`v0.15.0`) that the records' SEMVER events do not;
/// GO-2023-2102 and GHSA-4374 alias each other and CVE-2023-39325: one finding.
/// The stdlib's reopened range (1.21.0-0 .. 1.21.3) is honoured.
#[test]
fn go_modules_and_stdlib() {
    let advisories = vec![
        osv("golang-vulndb/GO-2023-2102.json"),
        osv(
            "github-advisory-database/advisories/github-reviewed/2023/10/GHSA-4374-p667-p6c8/GHSA-4374-p667-p6c8.json",
        ),
    ];
    let m = Matcher::new(&advisories);
    let r = m.match_packages(None, &[lang("golang", "golang.org/x/net", "v0.15.0")]);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let got: Vec<Vec<&str>> = r.findings.iter().map(ids).collect();
    assert_eq!(
        got,
        vec![vec![
            "CVE-2023-39325",
            "GHSA-4374-p667-p6c8",
            "GO-2023-2102"
        ]]
    );
    assert_eq!(r.findings[0].fixed_version.as_deref(), Some("0.17.0"));
    let fixed = |v: &str| {
        let r = m.match_packages(None, &[lang("golang", "stdlib", v)]);
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        r.findings.first().map(|f| f.fixed_version.clone())
    };
    assert_eq!(fixed("v1.21.1"), Some(Some("1.21.3".into())));
    assert_eq!(fixed("v1.20.9"), Some(Some("1.20.10".into())));
    assert_eq!(fixed("v1.20.10"), None);
    assert_eq!(fixed("v1.21.3"), None);
}

/// npm names are case-sensitive and not normalised; lodash and lodash-es are two packages.
#[test]
fn npm_packages_match_by_exact_name() {
    let advisories = vec![
        osv(
            "github-advisory-database/advisories/github-reviewed/2020/07/GHSA-p6mc-m468-83gw/GHSA-p6mc-m468-83gw.json",
        ),
        osv(
            "github-advisory-database/advisories/github-reviewed/2021/05/GHSA-35jh-r3h4-6jhm/GHSA-35jh-r3h4-6jhm.json",
        ),
    ];
    let m = Matcher::new(&advisories);
    let r = m.match_packages(
        None,
        &[
            lang("npm", "lodash", "4.17.15"),
            lang("npm", "Lodash", "4.17.15"),
        ],
    );
    let got: Vec<(&str, &str)> = r
        .findings
        .iter()
        .map(|f| (f.id.as_str(), f.package.name.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![("CVE-2020-8203", "lodash"), ("CVE-2021-23337", "lodash")]
    );
}
