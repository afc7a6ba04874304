use std::path::{Path, PathBuf};

use vigil_store::{Database, Location, Record, SourceMeta, import, normalize_name, open};

use crate::{on_both_backends, rt};
use vigil_vulndb::Advisory;

fn fixtures() -> PathBuf {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/feeds"
    ))
    .to_owned()
}

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == ext) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The GitHub advisories fixture, parsed by vigil-vulndb, with each file's raw JSON.
fn ghsa() -> Vec<(Advisory, serde_json::Value)> {
    files(&fixtures().join("github-advisory-database"), "json")
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            let adv = vigil_vulndb::osv::parse_json_record(&bytes).unwrap();
            (adv, serde_json::from_slice(&bytes).unwrap())
        })
        .collect()
}

fn pypa() -> Vec<Advisory> {
    files(&fixtures().join("pypa-advisory-database"), "yaml")
        .into_iter()
        .map(|p| vigil_vulndb::osv::parse_yaml(&std::fs::read(&p).unwrap()).unwrap())
        .collect()
}

fn meta(name: &str) -> SourceMeta {
    SourceMeta {
        name: name.into(),
        format: "osv".into(),
        location: format!("fixtures/{name}"),
        feed_digest: None,
    }
}

/// Records as the backend stores them (packed JSON on SQLite).
fn records(db: &dyn Database, advs: &[Advisory]) -> Vec<Record> {
    advs.iter().map(|a| db.prepare(a).unwrap()).collect()
}

fn ids(v: &[vigil_store::StoredAdvisory]) -> Vec<String> {
    v.iter()
        .map(|s| format!("{}:{}", s.source, s.advisory.id))
        .collect()
}

#[test]
fn story() {
    on_both_backends("story", async |db| {
        assert!(db.status().await.unwrap().is_empty());
        assert_eq!(db.last_update().await.unwrap(), None);
        assert!(db.ecosystems().await.unwrap().is_empty());

        let ghsa = ghsa();
        let ghsa_advs: Vec<Advisory> = ghsa.iter().map(|(a, _)| a.clone()).collect();
        let stats = import(&*db, meta("ghsa"), records(&*db, &ghsa_advs))
            .await
            .unwrap();
        assert_eq!(stats.records, ghsa.len() as u64);
        assert!(!stats.unchanged);
        let pypa = pypa();
        let pstats = import(&*db, meta("pypa"), records(&*db, &pypa))
            .await
            .unwrap();
        assert_eq!(pstats.records, pypa.len() as u64);

        // Spot check against the raw JSON: every GHSA file naming PyPI `jinja2` (any
        // spelling) is found by a lookup for `Jinja2`.
        let mut expected: Vec<String> = ghsa
            .iter()
            .filter(|(_, raw)| {
                raw["affected"].as_array().unwrap().iter().any(|a| {
                    a["package"]["ecosystem"] == "PyPI"
                        && a["package"]["name"].as_str().unwrap().to_lowercase() == "jinja2"
                })
            })
            .map(|(_, raw)| format!("ghsa:{}", raw["id"].as_str().unwrap()))
            .collect();
        let pypa_jinja = pypa
            .iter()
            .filter(|a| {
                a.affected
                    .iter()
                    .any(|x| x.package.name.eq_ignore_ascii_case("jinja2"))
            })
            .count();
        assert!(!expected.is_empty() && pypa_jinja > 0);
        let found = db
            .advisories_for(&[("PyPI".into(), "Jinja2".into())])
            .await
            .unwrap();
        let found_ghsa: Vec<String> = ids(&found)
            .into_iter()
            .filter(|s| s.starts_with("ghsa:"))
            .collect();
        expected.sort();
        let mut found_sorted = found_ghsa.clone();
        found_sorted.sort();
        assert_eq!(found_sorted, expected);
        assert_eq!(found.len() - found_ghsa.len(), pypa_jinja);

        // A batch of 10,000 packages gives the same answer as the packages it contains.
        let mut many: Vec<(String, String)> = (0..9_998)
            .map(|i| ("PyPI".to_string(), format!("no-such-package-{i}")))
            .collect();
        many.push(("PyPI".into(), "jinja2".into()));
        many.push(("npm".into(), "nonexistent".into()));
        assert_eq!(ids(&db.advisories_for(&many).await.unwrap()), ids(&found));
        // The wrong ecosystem finds nothing.
        assert!(
            db.advisories_for(&[("npm".into(), "jinja2".into())])
                .await
                .unwrap()
                .is_empty()
        );

        // By alias: the CVE of a GHSA record finds the GHSA and PYSEC records naming it.
        let (with_pysec, raw) = ghsa
            .iter()
            .find(|(a, _)| {
                a.aliases.iter().any(|c| c.as_str().starts_with("CVE-"))
                    && pypa.iter().any(|p| p.aliases.contains(&a.id))
            })
            .expect("a GHSA record that a PYSEC record aliases");
        let cve = with_pysec
            .aliases
            .iter()
            .find(|c| c.as_str().starts_with("CVE-"))
            .unwrap();
        let by_alias = db.advisory(cve.as_str()).await.unwrap();
        let sources: Vec<&str> = by_alias.iter().map(|s| s.source.as_str()).collect();
        assert!(
            sources.contains(&"ghsa") && sources.contains(&"pypa"),
            "{sources:?}"
        );
        let by_id = db.advisory(with_pysec.id.as_str()).await.unwrap();
        assert_eq!(by_id[0].advisory.id.as_str(), raw["id"].as_str().unwrap());
        assert_eq!(by_id[0].advisory, *with_pysec);
        // Lower case input finds it too.
        assert_eq!(
            db.advisory(&cve.as_str().to_lowercase())
                .await
                .unwrap()
                .len(),
            by_alias.len()
        );
        assert!(db.advisory("CVE-1999-0000000").await.unwrap().is_empty());

        // Status and coverage.
        let status = db.status().await.unwrap();
        assert_eq!(
            status.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
            ["ghsa", "pypa"]
        );
        assert_eq!(status[0].records, ghsa.len() as u64);
        assert_eq!(status[0].digest, stats.digest);
        assert_eq!(status[0].ecosystems, stats.ecosystems);
        // Advisories per ecosystem, counted from the advisories themselves.
        let mut expected = std::collections::BTreeMap::<String, u64>::new();
        for a in &ghsa_advs {
            let ecos: std::collections::BTreeSet<&str> = a
                .affected
                .iter()
                .map(|x| x.package.ecosystem.as_str())
                .collect();
            for e in ecos {
                *expected.entry(e.to_owned()).or_default() += 1;
            }
        }
        assert_eq!(stats.ecosystems, expected.into_iter().collect::<Vec<_>>());
        let ecos = db.ecosystems().await.unwrap();
        let pypi = ecos.iter().find(|(e, _)| e == "PyPI").unwrap().1;
        let ghsa_pypi = stats
            .ecosystems
            .iter()
            .find(|(e, _)| e == "PyPI")
            .unwrap()
            .1;
        assert_eq!(pypi, ghsa_pypi + pypa.len() as u64);
        assert!(db.last_update().await.unwrap().is_some());

        // Re-importing the same data changes nothing.
        let again = import(&*db, meta("ghsa"), records(&*db, &ghsa_advs))
            .await
            .unwrap();
        assert!(again.unchanged);
        assert_eq!(again.digest, stats.digest);
        let status2 = db.status().await.unwrap();
        assert_eq!(status2[0].imported_at, status[0].imported_at);
        assert_eq!(status2[0].records, status[0].records);

        // A feed fingerprint stored with an import lets the next import of the same bytes
        // skip reading them; any other fingerprint, or none, does not.
        let with_feed = |digest: Option<&str>| SourceMeta {
            feed_digest: digest.map(str::to_owned),
            location: "elsewhere/ghsa".into(),
            ..meta("ghsa")
        };
        assert_eq!(
            db.reuse_unchanged_feed(&with_feed(Some("f1")))
                .await
                .unwrap(),
            None
        );
        let fingerprinted = import(&*db, with_feed(Some("f1")), records(&*db, &ghsa_advs))
            .await
            .unwrap();
        assert!(fingerprinted.unchanged && !fingerprinted.feed_reused);
        for other in [None, Some("f2")] {
            assert_eq!(
                db.reuse_unchanged_feed(&with_feed(other)).await.unwrap(),
                None
            );
        }
        let reused = db
            .reuse_unchanged_feed(&with_feed(Some("f1")))
            .await
            .unwrap()
            .unwrap();
        assert!(reused.unchanged && reused.feed_reused);
        assert_eq!(
            (reused.records, &reused.digest, &reused.ecosystems),
            (stats.records, &stats.digest, &stats.ecosystems)
        );
        let status3 = db.status().await.unwrap();
        assert_eq!(status3[0].location, "elsewhere/ghsa");
        assert_eq!(status3[0].imported_at, status[0].imported_at);

        // A newer copy of one record replaces it; the rest stay.
        let mut newer = ghsa_advs.clone();
        newer[0].summary = Some("updated summary".into());
        newer[0].modified = Some("2099-01-01T00:00:00Z".into());
        let updated = import(&*db, meta("ghsa"), records(&*db, &newer))
            .await
            .unwrap();
        assert!(!updated.unchanged);
        assert_eq!(updated.records, ghsa.len() as u64);
        let got = db.advisory(newer[0].id.as_str()).await.unwrap();
        assert_eq!(got[0].advisory.summary.as_deref(), Some("updated summary"));

        // Duplicate ids in one import: the newer copy wins whatever the order.
        for order in [[0usize, 1], [1, 0]] {
            let copies = [ghsa_advs[0].clone(), newer[0].clone()];
            let recs: Vec<Record> = order
                .iter()
                .map(|&i| db.prepare(&copies[i]).unwrap())
                .collect();
            let s = import(&*db, meta("dups"), recs).await.unwrap();
            assert_eq!((s.records, s.duplicates), (1, 1));
            let got = db.advisory(newer[0].id.as_str()).await.unwrap();
            let dup = got.iter().find(|s| s.source == "dups").unwrap();
            assert_eq!(dup.advisory.summary.as_deref(), Some("updated summary"));
        }
        // A newer copy in another ecosystem moves the record's count there.
        let mut moved = newer[0].clone();
        for a in &mut moved.affected {
            a.package.ecosystem = "npm".into();
        }
        moved.modified = Some("2099-02-01T00:00:00Z".into());
        for order in [[0usize, 1], [1, 0]] {
            let copies = [ghsa_advs[0].clone(), moved.clone()];
            let recs: Vec<Record> = order
                .iter()
                .map(|&i| db.prepare(&copies[i]).unwrap())
                .collect();
            let s = import(&*db, meta("moved"), recs).await.unwrap();
            assert_eq!(s.ecosystems, [("npm".to_owned(), 1)]);
            let status = db.status().await.unwrap();
            let moved_status = status.iter().find(|s| s.name == "moved").unwrap();
            assert_eq!(moved_status.ecosystems, s.ecosystems);
        }

        // An import dropped before commit (an error, a crash) leaves the previous records.
        let before = db.status().await.unwrap();
        {
            let mut imp = db.begin_import(meta("pypa")).await.unwrap();
            imp.add(Record::new(&ghsa_advs[1]).unwrap()).await.unwrap();
            assert_eq!(imp.seen(), 1);
        }
        assert_eq!(db.status().await.unwrap(), before);
        assert_eq!(
            db.advisories_for(&[("PyPI".into(), "jinja2".into())])
                .await
                .unwrap()
                .len(),
            found.len()
        );
    });
}

#[test]
fn distro_ecosystem_keys_keep_the_release() {
    on_both_backends("distro", async |db| {
        let advs: Vec<Advisory> = files(&fixtures().join("osv-debian"), "json")
            .into_iter()
            // Records the parser rejects are vigil-vulndb's business, not this test's.
            .filter_map(|p| vigil_vulndb::osv::parse_json_record(&std::fs::read(&p).unwrap()).ok())
            .collect();
        assert!(advs.len() > 50);
        let s = import(&*db, meta("osv-debian"), records(&*db, &advs))
            .await
            .unwrap();
        assert_eq!(s.records, advs.len() as u64);
        assert!(
            s.ecosystems.iter().any(|(e, _)| e == "Debian:12"),
            "{:?}",
            s.ecosystems
        );
        let a = advs
            .iter()
            .find(|a| {
                a.affected
                    .iter()
                    .any(|x| x.package.ecosystem == "Debian:12")
            })
            .unwrap();
        let pkg = &a
            .affected
            .iter()
            .find(|x| x.package.ecosystem == "Debian:12")
            .unwrap()
            .package;
        let found = db
            .advisories_for(&[("Debian:12".into(), pkg.name.clone())])
            .await
            .unwrap();
        assert!(found.iter().any(|f| f.advisory.id == a.id));
        assert!(
            db.advisories_for(&[("Debian:13".into(), pkg.name.clone())])
                .await
                .unwrap()
                .iter()
                .all(|f| f
                    .advisory
                    .affected
                    .iter()
                    .any(|x| x.package.ecosystem == "Debian:13"))
        );
    });
}

#[test]
fn bad_locations_give_clear_errors() {
    rt().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let not_db = dir.path().join("not-a-db");
        std::fs::write(
            &not_db,
            b"this is not a sqlite file, it is plain text, long enough",
        )
        .unwrap();
        let err = open(&Location::Sqlite(not_db.clone()))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains(&not_db.display().to_string()), "{err}");
        let err = open(&Location::Postgres(
            "postgres://u:secret@127.0.0.1:1/x".into(),
        ))
        .await
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("cannot open database postgres://u:****@127.0.0.1:1/x"),
            "{err}"
        );
        assert!(!err.contains("secret"));
    });
}

#[test]
fn pep503_spellings_find_the_same_advisories() {
    assert_eq!(normalize_name("PyPI", "Jinja2"), "jinja2");
}

#[test]
fn a_newer_duplicate_after_a_written_batch_replaces_every_index_row() {
    on_both_backends("late_duplicate", async |db| {
        // 700 distinct records (more than one written batch), then a newer copy of the
        // first one that names another package and another alias: the old copy's rows
        // were already written and must all go.
        let base = &ghsa()[0].0;
        let advs: Vec<Advisory> = (0..700)
            .map(|i| {
                let mut a = base.clone();
                a.id = format!("VIGIL-TEST-{i:04}").as_str().into();
                a.aliases = vec![format!("CVE-2099-{i:04}").as_str().into()];
                a.modified = Some("2024-01-01T00:00:00Z".into());
                a
            })
            .collect();
        let mut newer = advs[0].clone();
        newer.modified = Some("2025-01-01T00:00:00Z".into());
        newer.summary = Some("newer copy".into());
        newer.aliases = vec!["CVE-2099-9999".into()];
        for a in &mut newer.affected {
            a.package.name = "vigil-test-renamed".into();
        }
        let eco = newer.affected[0].package.ecosystem.clone();
        let old_name = base.affected[0].package.name.clone();
        let mut all = records(&*db, &advs);
        all.push(db.prepare(&newer).unwrap());
        let stats = import(&*db, meta("late"), all).await.unwrap();
        assert_eq!((stats.records, stats.duplicates), (700, 1));

        let by_new = db
            .advisories_for(&[(eco.clone(), "vigil-test-renamed".into())])
            .await
            .unwrap();
        assert_eq!(ids(&by_new), ["late:VIGIL-TEST-0000"]);
        assert_eq!(by_new[0].advisory.summary.as_deref(), Some("newer copy"));
        let by_old = db.advisories_for(&[(eco, old_name)]).await.unwrap();
        assert_eq!(by_old.len(), 699, "the old copy's package row is gone");
        assert!(db.advisory("CVE-2099-0000").await.unwrap().is_empty());
        assert_eq!(
            ids(&db.advisory("CVE-2099-9999").await.unwrap()),
            ["late:VIGIL-TEST-0000"]
        );
    });
}
