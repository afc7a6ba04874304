//! Every shared feed fixture parses; spot checks compare with the files themselves.

use crate::{feeds_dir, read_all};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use vigil_vulndb::severity::{self, SeveritySource};
use vigil_vulndb::{Event, FeedFormat, FixState, RangeKind, Severity};

fn files_with_ext(dir: &Path, exts: &[&str]) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if exts.iter().any(|x| p.extension().is_some_and(|e| e == *x)) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn every_osv_fixture_dir_parses_one_record_per_file() {
    for dir in [
        "github-advisory-database",
        "pypa-advisory-database",
        "rustsec",
        "golang-vulndb",
        "osv-debian",
    ] {
        let path = feeds_dir().join(dir);
        let items = read_all(&path, FeedFormat::Auto);
        let files = files_with_ext(&path, &["json", "yaml"]);
        assert_eq!(items.len(), files.len(), "{dir}");
        // Each record's id is its file name, as in every upstream repository.
        let ids: BTreeSet<String> = items.iter().map(|i| i.advisory.id.to_string()).collect();
        let stems: BTreeSet<String> = files
            .iter()
            .map(|f| f.file_stem().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(ids, stems, "{dir}");
        // Forcing the format gives the same records.
        assert_eq!(read_all(&path, FeedFormat::Osv), items, "{dir}");
    }
}

#[test]
fn ghsa_severity_is_the_advisory_label() {
    let dir = feeds_dir().join("github-advisory-database");
    let items = read_all(&dir, FeedFormat::Osv);
    let mut checked = 0;
    for f in files_with_ext(&dir, &["json"]) {
        let v = json(&f);
        let label = v["database_specific"]["severity"].as_str().unwrap();
        let item = items
            .iter()
            .find(|i| i.advisory.id.as_str() == v["id"].as_str().unwrap())
            .unwrap();
        let (sev, source) = severity::assess(&item.advisory);
        let want = match label {
            "CRITICAL" => Severity::Critical,
            "HIGH" => Severity::High,
            "MODERATE" => Severity::Medium,
            "LOW" => Severity::Low,
            other => panic!("unexpected GHSA label {other}"),
        };
        assert_eq!(sev, want, "{}", f.display());
        assert_eq!(
            source,
            SeveritySource::Label {
                label: label.into()
            }
        );
        checked += 1;
    }
    assert_eq!(checked, 20);
}

#[test]
fn pysec_aliases_and_ranges_match_the_yaml() {
    let dir = feeds_dir().join("pypa-advisory-database");
    let items = read_all(&dir, FeedFormat::Auto);
    for f in files_with_ext(&dir, &["yaml"]) {
        let v: serde_norway::Value = serde_norway::from_slice(&std::fs::read(&f).unwrap()).unwrap();
        let id = v["id"].as_str().unwrap();
        let adv = &items
            .iter()
            .find(|i| i.advisory.id.as_str() == id)
            .unwrap()
            .advisory;
        let aliases: Vec<&str> = v["aliases"]
            .as_sequence()
            .map(|s| s.iter().map(|a| a.as_str().unwrap()).collect())
            .unwrap_or_default();
        let got: Vec<&str> = adv.aliases.iter().map(|a| a.as_str()).collect();
        assert_eq!(got, aliases, "{id}");
        // ECOSYSTEM ranges are kept with their events, GIT ranges dropped.
        let ranges = v["affected"][0]["ranges"].as_sequence().unwrap();
        let eco: Vec<_> = ranges.iter().filter(|r| r["type"] == "ECOSYSTEM").collect();
        assert_eq!(adv.affected[0].ranges.len(), eco.len(), "{id}");
        for (r, want) in adv.affected[0].ranges.iter().zip(eco) {
            assert_eq!(r.kind, RangeKind::Ecosystem);
            let events = want["events"].as_sequence().unwrap();
            assert_eq!(r.events.len(), events.len());
            for (e, w) in r.events.iter().zip(events) {
                let (k, val) = w.as_mapping().unwrap().iter().next().unwrap();
                let key = match e {
                    Event::Introduced(_) => "introduced",
                    Event::Fixed(_) => "fixed",
                    Event::LastAffected(_) => "last_affected",
                    Event::Limit(_) => "limit",
                };
                assert_eq!(k.as_str().unwrap(), key);
                let val = match val {
                    serde_norway::Value::String(s) => s.clone(),
                    other => serde_norway::to_string(other).unwrap().trim().to_owned(),
                };
                assert_eq!(e.version(), val);
            }
        }
    }
}

#[test]
fn cvss_severity_is_computed_when_there_is_no_label() {
    // Go records carry no label and no vector: unknown. RUSTSEC records with a CVSS v3
    // vector are scored from it.
    for item in read_all(feeds_dir().join("golang-vulndb"), FeedFormat::Auto) {
        let (sev, source) = severity::assess(&item.advisory);
        if item.advisory.severity.is_empty() && item.advisory.label.is_none() {
            assert_eq!((sev, source), (Severity::Unknown, SeveritySource::None));
        }
    }
    let rustsec = read_all(feeds_dir().join("rustsec/osv"), FeedFormat::Osv);
    let mut scored = 0;
    for item in &rustsec {
        if let Some(v) = item.advisory.severity.first() {
            let (sev, source) = severity::assess(&item.advisory);
            let SeveritySource::Cvss { score, vector, .. } = source else {
                panic!("{}: expected a CVSS source", item.advisory.id);
            };
            assert_eq!(vector, v.score);
            assert_eq!(sev, Severity::from_score(&v.kind, score));
            assert_ne!(sev, Severity::Unknown);
            scored += 1;
        }
    }
    assert!(scored > 5, "only {scored} RUSTSEC records with a vector");
}

#[test]
fn debian_tracker_files_convert_entry_by_entry() {
    for name in [
        "bookworm.json",
        "vunnel-debian.json",
        "vuln-list-update-debian.json",
    ] {
        let path = feeds_dir().join("debian-tracker").join(name);
        let items = read_all(&path, FeedFormat::Auto);
        let v = json(&path);
        // One advisory per CVE id, every (package, release) entry present with the state
        // and fixed version the file gives.
        let mut cves: BTreeMap<&str, usize> = BTreeMap::new();
        for (pkg, entries) in v.as_object().unwrap() {
            for (cve, entry) in entries.as_object().unwrap() {
                *cves.entry(cve.as_str()).or_default() += 1;
                let adv = &items
                    .iter()
                    .find(|i| i.advisory.id.as_str() == format!("DEBIAN-{cve}"))
                    .unwrap_or_else(|| panic!("{name}: no advisory for {cve}"))
                    .advisory;
                assert_eq!(adv.upstream[0].as_str(), cve);
                let releases = entry["releases"].as_object();
                for (codename, rel) in releases.into_iter().flatten() {
                    let eco = vigil_vulndb::debian::ecosystem(codename);
                    let a = adv
                        .affected
                        .iter()
                        .find(|a| a.package.name == *pkg && a.package.ecosystem == eco)
                        .unwrap_or_else(|| panic!("{name}: {cve} {pkg} {codename} missing"));
                    let fixed = rel["fixed_version"].as_str();
                    let want = match (rel["status"].as_str().unwrap(), fixed) {
                        ("resolved", Some("0")) => FixState::NotAffected,
                        ("resolved", Some(_)) => FixState::Fixed,
                        // The documented mapping: an open entry of an end-of-life package or
                        // one the team ignores will not be fixed.
                        ("open", _)
                            if rel["urgency"] == "end-of-life"
                                || rel["nodsa_reason"] == "ignored" =>
                        {
                            FixState::WillNotFix
                        }
                        ("open", _) => FixState::NotFixed,
                        (s, _) => panic!("status {s} not in the fixtures"),
                    };
                    assert_eq!(a.fix_state, Some(want), "{cve} {pkg} {codename}");
                    let got_fixed = a
                        .ranges
                        .iter()
                        .flat_map(|r| &r.events)
                        .find_map(|e| match e {
                            Event::Fixed(v) => Some(v.as_str()),
                            _ => None,
                        });
                    assert_eq!(got_fixed, fixed.filter(|f| *f != "0"));
                    assert_eq!(a.label.as_deref(), rel["urgency"].as_str());
                }
            }
        }
        assert_eq!(items.len(), cves.len(), "{name}");
    }
}

#[test]
fn debian_tracker_bookworm_spot_check() {
    // CVE-2023-4911 (glibc): the bookworm fixed version, read from the file itself.
    let path = feeds_dir().join("debian-tracker/bookworm.json");
    let v = json(&path);
    let want = v["glibc"]["CVE-2023-4911"]["releases"]["bookworm"]["fixed_version"]
        .as_str()
        .unwrap();
    let items = read_all(&path, FeedFormat::DebianTracker);
    let adv = &items
        .iter()
        .find(|i| i.advisory.id.as_str() == "DEBIAN-CVE-2023-4911")
        .unwrap()
        .advisory;
    let a = adv
        .affected
        .iter()
        .find(|a| a.package.ecosystem == "Debian:12" && a.package.name == "glibc")
        .unwrap();
    assert_eq!(
        a.ranges[0].events,
        [Event::Introduced("0".into()), Event::Fixed(want.into())]
    );
}

#[test]
fn alpine_secdb_yaml_converts_every_secfix() {
    let dir = feeds_dir().join("alpine-secdb-legacy-yaml");
    let items = read_all(&dir, FeedFormat::Auto);
    let mut pairs = 0;
    for f in files_with_ext(&dir, &["yaml"]) {
        let v: serde_norway::Value = serde_norway::from_slice(&std::fs::read(&f).unwrap()).unwrap();
        let release = v["distroversion"].as_str().unwrap();
        for p in v["packages"].as_sequence().unwrap() {
            let name = p["pkg"]["name"].as_str().unwrap();
            let Some(fixes) = p["pkg"]["secfixes"].as_mapping() else {
                continue;
            };
            for (version, ids) in fixes {
                let version = version
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| serde_norway::to_string(version).unwrap().trim().to_owned());
                for id in ids.as_sequence().into_iter().flatten() {
                    let Some(id) = id.as_str() else { continue };
                    let first = id.split_whitespace().next().unwrap();
                    let adv = &items
                        .iter()
                        .find(|i| i.advisory.id.as_str() == format!("ALPINE-{first}"))
                        .unwrap_or_else(|| panic!("ALPINE-{first} missing"))
                        .advisory;
                    let found = adv.affected.iter().any(|a| {
                        a.package.ecosystem == format!("Alpine:{release}")
                            && a.package.name == name
                            && if version == "0" {
                                a.fix_state == Some(FixState::NotAffected)
                            } else {
                                a.ranges[0].events[1] == Event::Fixed(version.clone())
                            }
                    });
                    assert!(found, "{first} {name} {version}");
                    pairs += 1;
                }
            }
        }
    }
    assert!(pairs > 500, "{pairs}");
    // Ids are unique: main and community are joined.
    let ids: BTreeSet<_> = items.iter().map(|i| &i.advisory.id).collect();
    assert_eq!(ids.len(), items.len());
}

#[test]
fn osv_debian_keeps_urgency_and_gives_dsa_aliases() {
    let items = read_all(feeds_dir().join("osv-debian"), FeedFormat::Auto);
    assert_eq!(items.len(), 141);
    let f = feeds_dir().join("osv-debian/CVE/2024/CVE-2022-48624.json");
    let v = json(&f);
    let adv = &items
        .iter()
        .find(|i| i.advisory.id.as_str() == "CVE-2022-48624")
        .unwrap()
        .advisory;
    let deb12 = v["affected"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["package"]["ecosystem"] == "Debian:12")
        .unwrap();
    let a = adv
        .affected
        .iter()
        .find(|a| a.package.ecosystem == "Debian:12")
        .unwrap();
    assert_eq!(
        a.label.as_deref(),
        deb12["ecosystem_specific"]["urgency"].as_str()
    );
    let related: Vec<&str> = v["related"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert_eq!(
        adv.related.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        related
    );
}

#[test]
fn large_osv_script_derives_distinct_records_from_the_real_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("large.zip");
    let python = if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    };
    let status = std::process::Command::new(python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scripts/make-large-osv.py"
        ))
        .arg(&out)
        .args(["--count", "600", "--feeds"])
        .arg(feeds_dir())
        .status()
        .unwrap();
    assert!(status.success());
    let items = read_all(&out, FeedFormat::Auto);
    assert_eq!(items.len(), 600);
    let ids: BTreeSet<_> = items.iter().map(|i| i.advisory.id.as_str()).collect();
    assert_eq!(ids.len(), 600);
    // Copy 1 of a real GHSA record: ids, aliases and package renamed, versions moved.
    let real = read_all(
        feeds_dir().join("github-advisory-database"),
        FeedFormat::Osv,
    );
    let orig = &real[0].advisory;
    let copy = &items
        .iter()
        .find(|i| i.advisory.id.as_str() == format!("{}-1", orig.id))
        .unwrap()
        .advisory;
    assert_eq!(
        copy.aliases,
        orig.aliases
            .iter()
            .map(|a| vigil_vulndb::VulnId::new(format!("{a}-1")))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        copy.affected[0].package.name,
        format!("{}-1", orig.affected[0].package.name)
    );
    assert_ne!(copy.affected[0].ranges, orig.affected[0].ranges);
}

#[test]
fn alpine_secdb_json_converts_like_the_yaml() {
    // Alpine's secdb site serves the same documents as JSON; make them from the YAML
    // fixture here (the fixtures hold only the legacy YAML).
    let tmp = tempfile::tempdir().unwrap();
    let dir = feeds_dir().join("alpine-secdb-legacy-yaml");
    for f in files_with_ext(&dir, &["yaml"]) {
        let v: serde_json::Value = serde_norway::from_slice(&std::fs::read(&f).unwrap()).unwrap();
        let name = f.file_stem().unwrap().to_string_lossy().into_owned();
        std::fs::write(
            tmp.path().join(format!("{name}.json")),
            serde_json::to_vec(&v).unwrap(),
        )
        .unwrap();
    }
    let from_json = read_all(tmp.path(), FeedFormat::Auto);
    let from_yaml = read_all(&dir, FeedFormat::Auto);
    assert_eq!(from_json.len(), from_yaml.len());
    for (j, y) in from_json.iter().zip(&from_yaml) {
        assert_eq!(j.advisory, y.advisory);
    }
}
