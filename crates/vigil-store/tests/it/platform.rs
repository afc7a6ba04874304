//! The platform store (issue 8): entities, deployments and scans, the same story on SQLite
//! and, when `VIGIL_TEST_DATABASE_URL` is set, on PostgreSQL. Error messages are snapshots
//! (people read them), and both backends must produce the same ones.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use vigil_store::Database;
use vigil_store::platform::{
    DeploymentFilter, Environment, Error, NewDeployment, Pipeline, ScanFilter, ScanState,
};

use crate::on_both_backends;

/// A fixed "now": the store never reads the clock for what it records.
pub(crate) fn t(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_764_000_000 + secs)
}

fn env(name: &str, cluster: &str, namespace: &str) -> Environment {
    Environment {
        name: name.into(),
        cluster: cluster.into(),
        namespace: namespace.into(),
    }
}

fn err<T: std::fmt::Debug>(r: Result<T, Error>) -> Error {
    r.expect_err("expected an error")
}

/// Clusters, environments, applications, pipelines: adding, listing, removing, and every
/// refusal with its message.
#[test]
fn entities() {
    on_both_backends("entities", async |db| {
        let mut messages = Vec::new();
        let mut note = |what: &str, e: Error| messages.push(format!("{what}: {e}"));

        db.add_cluster("eu-1").await.unwrap();
        db.add_cluster("us-1").await.unwrap();
        note("duplicate cluster", err(db.add_cluster("eu-1").await));
        for bad in ["", "-eu", "eu:1", "a b", "ünï", &"x".repeat(64)] {
            let e = err(db.add_cluster(bad).await);
            assert!(matches!(e, Error::Invalid { .. }), "{e}");
            note("bad cluster name", e);
        }
        assert_eq!(db.clusters().await.unwrap(), ["eu-1", "us-1"]);

        db.add_environment(&env("prod-eu", "eu-1", "prod"))
            .await
            .unwrap();
        db.add_environment(&env("staging-eu", "eu-1", "staging"))
            .await
            .unwrap();
        db.add_environment(&env("prod-us", "us-1", "prod"))
            .await
            .unwrap();
        note(
            "environment of unknown cluster",
            err(db.add_environment(&env("x", "nowhere", "x")).await),
        );
        note(
            "duplicate environment",
            err(db.add_environment(&env("prod-eu", "us-1", "other")).await),
        );
        note(
            "namespace taken",
            err(db.add_environment(&env("prod-eu-2", "eu-1", "prod")).await),
        );
        note(
            "bad namespace",
            err(db.add_environment(&env("e", "eu-1", "Prod_NS")).await),
        );
        assert_eq!(
            db.environments().await.unwrap(),
            [
                env("prod-eu", "eu-1", "prod"),
                env("prod-us", "us-1", "prod"),
                env("staging-eu", "eu-1", "staging")
            ]
        );
        assert_eq!(
            db.environment("prod-us").await.unwrap(),
            Some(env("prod-us", "us-1", "prod"))
        );
        assert_eq!(db.environment("nope").await.unwrap(), None);

        db.add_application("web").await.unwrap();
        db.add_application("api").await.unwrap();
        note(
            "duplicate application",
            err(db.add_application("web").await),
        );
        assert_eq!(db.applications().await.unwrap(), ["api", "web"]);

        let p = |name: &str, app: &str, scan: bool| Pipeline {
            name: name.into(),
            application: app.into(),
            scan_enabled: scan,
        };
        db.add_pipeline(&p("web/build", "web", true)).await.unwrap();
        db.add_pipeline(&p("web-nightly", "web", false))
            .await
            .unwrap();
        note(
            "pipeline of unknown application",
            err(db.add_pipeline(&p("x", "nope", true)).await),
        );
        note(
            "duplicate pipeline",
            err(db.add_pipeline(&p("web/build", "api", false)).await),
        );
        note(
            "bad pipeline name",
            err(db.add_pipeline(&p("web build", "web", false)).await),
        );
        assert_eq!(
            db.pipelines().await.unwrap(),
            [p("web-nightly", "web", false), p("web/build", "web", true)]
        );
        assert_eq!(
            db.pipeline("web/build").await.unwrap(),
            Some(p("web/build", "web", true))
        );

        // Removing what is still used is refused and names the users.
        note(
            "remove cluster with environments",
            err(db.remove_cluster("eu-1").await),
        );
        note(
            "remove application with pipelines",
            err(db.remove_application("web").await),
        );
        note(
            "remove unknown environment",
            err(db.remove_environment("nope").await),
        );
        note(
            "remove unknown pipeline",
            err(db.remove_pipeline("nope").await),
        );
        assert_eq!(db.clusters().await.unwrap(), ["eu-1", "us-1"]);

        db.remove_pipeline("web-nightly").await.unwrap();
        db.remove_pipeline("web/build").await.unwrap();
        db.remove_application("web").await.unwrap();
        db.remove_environment("prod-us").await.unwrap();
        db.remove_cluster("us-1").await.unwrap();
        assert_eq!(db.clusters().await.unwrap(), ["eu-1"]);
        assert_eq!(db.applications().await.unwrap(), ["api"]);
        assert!(db.pipelines().await.unwrap().is_empty());
        // A removed name can be added again.
        db.add_cluster("us-1").await.unwrap();

        insta::assert_snapshot!("entity_errors", messages.join("\n"));
    });
}

const DIGEST_A: &str = "sha256:a69611773e59734e43c2c6a892ee477bbbb3c7fe450c67621f466424215c9d1e";
const DIGEST_B: &str = "sha256:0194e59b0b159c8182f2d382953a61d169aa285fe847121f8fc59e7c5a47791a";

fn deploy(app: &str, env: &str, digest: &str, rollback: bool) -> NewDeployment {
    NewDeployment {
        application: app.into(),
        environment: env.into(),
        digest: digest.into(),
        by: "ci@example".into(),
        rollback,
    }
}

#[test]
fn deployments() {
    on_both_backends("deployments", async |db| {
        for c in ["eu-1", "us-1"] {
            db.add_cluster(c).await.unwrap();
        }
        db.add_environment(&env("prod-eu", "eu-1", "prod"))
            .await
            .unwrap();
        db.add_environment(&env("prod-us", "us-1", "prod"))
            .await
            .unwrap();
        db.add_application("web").await.unwrap();
        db.add_application("api").await.unwrap();

        let first = db
            .record_deployment(&deploy("web", "prod-eu", DIGEST_A, false), t(10))
            .await
            .unwrap();
        assert_eq!(first.cluster, "eu-1");
        assert_eq!(first.at, t(10));
        db.record_deployment(&deploy("web", "prod-us", DIGEST_A, false), t(11))
            .await
            .unwrap();
        db.record_deployment(&deploy("web", "prod-eu", DIGEST_B, false), t(20))
            .await
            .unwrap();
        // A rollback to the first image, recorded with an earlier clock: still the latest,
        // because the last recorded deployment is what runs.
        let back = db
            .record_deployment(&deploy("web", "prod-eu", DIGEST_A, true), t(15))
            .await
            .unwrap();
        assert!(back.rollback);
        db.record_deployment(&deploy("api", "prod-us", DIGEST_B, false), t(30))
            .await
            .unwrap();

        let current = db
            .current_deployments(&DeploymentFilter::default())
            .await
            .unwrap();
        let pairs: Vec<(&str, &str, &str, bool)> = current
            .iter()
            .map(|d| {
                (
                    d.application.as_str(),
                    d.environment.as_str(),
                    d.digest.as_str(),
                    d.rollback,
                )
            })
            .collect();
        assert_eq!(
            pairs,
            [
                ("api", "prod-us", DIGEST_B, false),
                ("web", "prod-eu", DIGEST_A, true),
                ("web", "prod-us", DIGEST_A, false),
            ]
        );
        let us = db
            .current_deployments(&DeploymentFilter {
                cluster: Some("us-1".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            us.iter()
                .map(|d| d.application.as_str())
                .collect::<Vec<_>>(),
            ["api", "web"]
        );
        let web_eu = db
            .current_deployments(&DeploymentFilter {
                application: Some("web".into()),
                environment: Some("prod-eu".into()),
                cluster: None,
            })
            .await
            .unwrap();
        assert_eq!(web_eu, std::slice::from_ref(&back));

        let history = db.deployment_history("web", "prod-eu", 10).await.unwrap();
        assert_eq!(
            history
                .iter()
                .map(|d| (d.digest.as_str(), d.at))
                .collect::<Vec<_>>(),
            [(DIGEST_A, t(15)), (DIGEST_B, t(20)), (DIGEST_A, t(10))]
        );
        assert_eq!(
            db.deployment_history("web", "prod-eu", 1).await.unwrap(),
            [back]
        );

        let mut messages = Vec::new();
        for (what, d) in [
            (
                "unknown application",
                deploy("nope", "prod-eu", DIGEST_A, false),
            ),
            (
                "unknown environment",
                deploy("web", "nope", DIGEST_A, false),
            ),
            (
                "short digest",
                deploy("web", "prod-eu", "sha256:abc", false),
            ),
            (
                "no algorithm",
                deploy("web", "prod-eu", "a69611773e59", false),
            ),
            (
                "empty user",
                NewDeployment {
                    by: " ".into(),
                    ..deploy("web", "prod-eu", DIGEST_A, false)
                },
            ),
        ] {
            messages.push(format!(
                "{what}: {}",
                err(db.record_deployment(&d, t(40)).await)
            ));
        }
        // An environment or application with deployments cannot be removed.
        messages.push(format!(
            "remove environment: {}",
            err(db.remove_environment("prod-eu").await)
        ));
        messages.push(format!(
            "remove application: {}",
            err(db.remove_application("web").await)
        ));
        insta::assert_snapshot!("deployment_errors", messages.join("\n"));
    });
}

fn report() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/clair/vulnerability_report.debian-bullseye-rubygems.json"
    ))
    .unwrap()
}

#[test]
fn scans() {
    on_both_backends("scans", async |db| {
        let report = report();
        assert_eq!(db.latest_completed_scan(DIGEST_A).await.unwrap(), None);

        // queued -> running -> completed, against database version v1.
        let s = db
            .queue_scan(DIGEST_A, "registry.test/web:1", t(0))
            .await
            .unwrap();
        assert_eq!(
            (s.state, s.queued_at, s.started_at),
            (ScanState::Queued, t(0), None)
        );
        let s = db.start_scan(s.id, "v1", t(1)).await.unwrap();
        assert_eq!(
            (s.state, s.db_version.as_deref(), s.started_at),
            (ScanState::Running, Some("v1"), Some(t(1)))
        );
        let done = db.complete_scan(s.id, &report, t(5)).await.unwrap();
        assert_eq!(
            (done.state, done.finished_at),
            (ScanState::Completed, Some(t(5)))
        );

        // The report comes back byte for byte, and parses as the JSON it was.
        let latest = db.latest_completed_scan(DIGEST_A).await.unwrap().unwrap();
        assert_eq!(latest.scan, done);
        assert_eq!(latest.report, report);
        assert_eq!(latest.json().unwrap()["manifest_hash"], DIGEST_A);
        assert!(
            db.completed_scan_against(DIGEST_A, "v1")
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            db.completed_scan_against(DIGEST_A, "v2")
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            db.completed_scan_against(DIGEST_B, "v1")
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(db.scan_report(done.id).await.unwrap(), Some(latest.clone()));

        // A failed re-scan against v2 does not hide the completed one.
        let again = db
            .queue_scan(DIGEST_A, "registry.test/web:1", t(10))
            .await
            .unwrap();
        db.start_scan(again.id, "v2", t(11)).await.unwrap();
        let failed = db
            .fail_scan(again.id, "registry answered 503 three times", t(12))
            .await
            .unwrap();
        assert_eq!(
            (failed.state, failed.error.as_deref()),
            (ScanState::Failed, Some("registry answered 503 three times"))
        );
        assert_eq!(
            db.latest_completed_scan(DIGEST_A)
                .await
                .unwrap()
                .unwrap()
                .scan
                .id,
            done.id
        );
        assert_eq!(db.scan_report(failed.id).await.unwrap(), None);

        // A second completed scan, against v2: now the latest.
        let third = db
            .queue_scan(DIGEST_A, "registry.test/web:1", t(20))
            .await
            .unwrap();
        db.start_scan(third.id, "v2", t(21)).await.unwrap();
        let small =
            serde_json::json!({"manifest_hash": DIGEST_A, "vulnerabilities": {}}).to_string();
        db.complete_scan(third.id, &small, t(22)).await.unwrap();
        assert_eq!(
            db.latest_completed_scan(DIGEST_A)
                .await
                .unwrap()
                .unwrap()
                .report,
            small
        );
        assert_eq!(
            db.completed_scan_against(DIGEST_A, "v1")
                .await
                .unwrap()
                .unwrap()
                .scan
                .id,
            done.id
        );

        // Lists: newest first, filtered.
        let all = db.scans(&ScanFilter::default()).await.unwrap();
        assert_eq!(
            all.iter().map(|s| s.id).collect::<Vec<_>>(),
            [third.id, again.id, done.id]
        );
        let failed_only = db
            .scans(&ScanFilter {
                state: Some(ScanState::Failed),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(failed_only, std::slice::from_ref(&failed));
        let none = db
            .scans(&ScanFilter {
                digest: Some(DIGEST_B.into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(none.is_empty());
        assert_eq!(
            db.scans(&ScanFilter {
                limit: 1,
                ..Default::default()
            })
            .await
            .unwrap()
            .len(),
            1
        );

        // Long errors are cut, not refused.
        let long = db.queue_scan(DIGEST_B, "b", t(30)).await.unwrap();
        let cut = db
            .fail_scan(long.id, &"e".repeat(100_000), t(31))
            .await
            .unwrap();
        assert!(cut.error.unwrap().len() < 17_000);

        // Refusals.
        let mut messages = Vec::new();
        let mut note = |what: &str, e: Error| messages.push(format!("{what}: {e}"));
        note(
            "complete a completed scan",
            err(db.complete_scan(done.id, &report, t(40)).await),
        );
        note(
            "start a failed scan",
            err(db.start_scan(failed.id, "v3", t(40)).await),
        );
        note(
            "fail a completed scan",
            err(db.fail_scan(done.id, "x", t(40)).await),
        );
        note(
            "unknown scan",
            err(db.start_scan(999_999, "v3", t(40)).await),
        );
        let q = db.queue_scan(DIGEST_B, "b", t(41)).await.unwrap();
        note(
            "complete a queued scan",
            err(db.complete_scan(q.id, &report, t(42)).await),
        );
        db.start_scan(q.id, "v3", t(42)).await.unwrap();
        note(
            "report that is not JSON",
            err(db.complete_scan(q.id, "{\"truncated\": [1, 2", t(43)).await),
        );
        note(
            "bad digest",
            err(db.queue_scan("sha256:XYZ", "b", t(43)).await),
        );
        note(
            "empty reference",
            err(db.queue_scan(DIGEST_B, "", t(43)).await),
        );
        note(
            "empty database version",
            err(db.start_scan(q.id, "", t(43)).await),
        );
        // The refused report left the scan running.
        assert_eq!(
            db.scan(q.id).await.unwrap().unwrap().state,
            ScanState::Running
        );
        insta::assert_snapshot!("scan_errors", messages.join("\n"));
    });
}

/// Workers claiming queued scans at the same time never get the same scan, and every
/// queued scan is claimed once.
#[test]
fn claims_are_exclusive() {
    on_both_backends("claims", async |db| {
        let db: std::sync::Arc<dyn Database> = db.into();
        let mut queued = Vec::new();
        for i in 0..40 {
            queued.push(
                db.queue_scan(DIGEST_A, &format!("ref-{i}"), t(i))
                    .await
                    .unwrap()
                    .id,
            );
        }
        let mut workers = Vec::new();
        for w in 0..4 {
            let db = db.clone();
            workers.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                while let Some(s) = db.claim_scan(&format!("worker-{w}"), t(100)).await.unwrap() {
                    assert_eq!(s.state, ScanState::Running);
                    mine.push(s.id);
                }
                mine
            }));
        }
        let mut claimed = Vec::new();
        for w in workers {
            claimed.extend(w.await.unwrap());
        }
        claimed.sort();
        assert_eq!(claimed, queued);
        assert_eq!(db.claim_scan("v", t(101)).await.unwrap(), None);

        // Workers that never finish: their scans are failed after the deadline, and only
        // theirs (a scan started at the deadline itself is left running).
        let late = db.queue_scan(DIGEST_B, "late", t(200)).await.unwrap();
        db.start_scan(late.id, "v", t(300)).await.unwrap();
        let stale = db.fail_stale_scans(t(300), t(400)).await.unwrap();
        assert_eq!(stale.iter().map(|s| s.id).collect::<Vec<_>>(), queued);
        assert!(stale.iter().all(|s| {
            s.state == ScanState::Failed
                && s.finished_at == Some(t(400))
                && s.error
                    .as_deref()
                    .is_some_and(|e| e.starts_with("abandoned"))
        }));
        assert_eq!(
            db.scan(late.id).await.unwrap().unwrap().state,
            ScanState::Running
        );
        assert!(
            db.fail_stale_scans(t(300), t(401))
                .await
                .unwrap()
                .is_empty()
        );
    });
}

fn ghsa_records() -> Vec<vigil_store::Record> {
    let dir = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/feeds/github-advisory-database"
    ));
    let mut files = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
        .iter()
        .map(|p| {
            let adv = vigil_vulndb::osv::parse_json_record(&std::fs::read(p).unwrap()).unwrap();
            vigil_store::Record::new(&adv).unwrap()
        })
        .collect()
}

/// The database version scans record: the same for identical content, different after any
/// change, and the same on both backends for the same imports.
#[test]
fn database_version_follows_imports() {
    let seen = std::sync::Mutex::new(Vec::new());
    on_both_backends("db_version", async |db| {
        use vigil_store::platform::database_version;
        let meta = |name: &str| vigil_store::SourceMeta {
            name: name.into(),
            format: "osv".into(),
            location: format!("fixtures/{name}"),
            feed_digest: None,
        };
        let empty = database_version(&*db).await.unwrap();
        let records = ghsa_records();
        vigil_store::import(&*db, meta("ghsa"), records.clone())
            .await
            .unwrap();
        let full = database_version(&*db).await.unwrap();
        assert_ne!(full, empty);
        let again = vigil_store::import(&*db, meta("ghsa"), records.clone())
            .await
            .unwrap();
        assert!(again.unchanged);
        assert_eq!(database_version(&*db).await.unwrap(), full);
        vigil_store::import(&*db, meta("ghsa"), records[1..].to_vec())
            .await
            .unwrap();
        let fewer = database_version(&*db).await.unwrap();
        assert_ne!(fewer, full);
        assert!(fewer.starts_with("sha256:") && fewer.len() == 23, "{fewer}");
        seen.lock().unwrap().push((empty, full, fewer));
    });
    let seen = seen.into_inner().unwrap();
    assert!(seen.windows(2).all(|w| w[0] == w[1]), "{seen:?}");
}

/// The gate's target: the environment's cluster looked up, both names checked.
#[test]
fn targets() {
    on_both_backends("targets", async |db| {
        use vigil_store::platform::target;
        db.add_cluster("eu-1").await.unwrap();
        db.add_environment(&env("prod-eu", "eu-1", "prod"))
            .await
            .unwrap();
        db.add_application("web").await.unwrap();
        let t = target(&*db, "web", "prod-eu").await.unwrap();
        assert_eq!(
            (
                t.cluster.as_str(),
                t.environment.as_str(),
                t.application.as_str()
            ),
            ("eu-1", "prod-eu", "web")
        );
        assert_eq!(
            target(&*db, "web", "nope").await.unwrap_err().to_string(),
            "environment \"nope\" does not exist"
        );
        assert_eq!(
            target(&*db, "nope", "prod-eu")
                .await
                .unwrap_err()
                .to_string(),
            "application \"nope\" does not exist"
        );
    });
}

/// Integrations (issue 10): installs start only from the statuses SPEC 8.2 allows, one at
/// a time, are moved only by their runner, and are taken over once their lease ran out.
/// Eight starts racing on one integration: exactly one wins.
#[test]
fn installs_follow_the_state_machine_one_at_a_time() {
    use vigil_store::platform::{InstallEvent as E, InstallStart, IntegrationStatus as S};
    on_both_backends("installs", async |db| {
        let db: std::sync::Arc<dyn Database> = db.into();
        assert_eq!(db.integration("cicd").await.unwrap(), None);
        let mut racers = Vec::new();
        for r in 0..8 {
            let db = db.clone();
            racers.push(tokio::spawn(async move {
                db.begin_install("cicd", E::Install, &format!("r{r}"), t(60), t(0))
                    .await
                    .unwrap()
            }));
        }
        let mut started = Vec::new();
        for r in racers {
            match r.await.unwrap() {
                InstallStart::Started(s) => started.push(s),
                InstallStart::Refused(s, why) => {
                    assert_eq!(s.status, S::Initializing);
                    assert!(why.0.contains("an install is running"), "{why}");
                }
                InstallStart::Busy(other) => panic!("busy with {other}"),
            }
        }
        assert_eq!(started.len(), 1);
        let runner = started[0].runner.clone().unwrap();
        // Another integration waits; the wrong runner cannot move it.
        assert_eq!(
            db.begin_install("vulnerability-scanning", E::Install, "x", t(60), t(1))
                .await
                .unwrap(),
            InstallStart::Busy("cicd".into())
        );
        assert!(
            !db.advance_install("cicd", "intruder", E::Begin, 0, None, None, t(2))
                .await
                .unwrap()
        );
        assert!(
            db.advance_install("cicd", &runner, E::Begin, 0, None, None, t(2))
                .await
                .unwrap()
        );
        assert!(
            !db.advance_install("cicd", &runner, E::Begin, 0, None, None, t(2))
                .await
                .unwrap()
        );
        assert!(db.renew_install("cicd", &runner, t(90)).await.unwrap());
        // Not yet expired: nothing to adopt; expired: another runner takes it over.
        assert_eq!(
            db.adopt_install("other", t(200), t(80)).await.unwrap(),
            None
        );
        let adopted = db
            .adopt_install("other", t(200), t(100))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(adopted.status, S::Installing);
        assert_eq!(adopted.runner.as_deref(), Some("other"));
        assert!(!db.renew_install("cicd", &runner, t(300)).await.unwrap());
        assert!(
            db.advance_install("cicd", "other", E::Succeed, 2, None, Some("1.2.3"), t(110))
                .await
                .unwrap()
        );
        let done = db.integration("cicd").await.unwrap().unwrap();
        assert_eq!(done.status, S::Installed);
        assert_eq!(done.version.as_deref(), Some("1.2.3"));
        assert_eq!(done.attempts, 2);
        assert_eq!(done.runner, None);
        match db
            .begin_install("cicd", E::Install, "r", t(60), t(120))
            .await
            .unwrap()
        {
            InstallStart::Refused(s, why) => {
                assert_eq!(s.status, S::Installed);
                assert!(why.0.contains("installed already"), "{why}");
            }
            other => panic!("{other:?}"),
        }
        // A failure keeps its reason; a retry starts afresh.
        let InstallStart::Started(_) = db
            .begin_install("vulnerability-scanning", E::Install, "v", t(200), t(130))
            .await
            .unwrap()
        else {
            panic!("not started");
        };
        assert!(
            db.advance_install(
                "vulnerability-scanning",
                "v",
                E::Fail,
                1,
                Some("corrupt feed"),
                None,
                t(131)
            )
            .await
            .unwrap()
        );
        let failed = db
            .integration("vulnerability-scanning")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(failed.status, S::Failed);
        assert_eq!(failed.reason.as_deref(), Some("corrupt feed"));
        let InstallStart::Started(again) = db
            .begin_install("vulnerability-scanning", E::Retry, "v2", t(300), t(140))
            .await
            .unwrap()
        else {
            panic!("retry refused");
        };
        assert_eq!((again.attempts, again.reason), (0, None));
        db.append_install_log("vulnerability-scanning", t(141), "one")
            .await
            .unwrap();
        db.append_install_log("cicd", t(141), "other")
            .await
            .unwrap();
        db.append_install_log("vulnerability-scanning", t(142), "two")
            .await
            .unwrap();
        let all = db
            .install_log("vulnerability-scanning", 0, 100)
            .await
            .unwrap();
        assert_eq!(
            all.iter().map(|l| l.line.as_str()).collect::<Vec<_>>(),
            ["one", "two"]
        );
        let after = db
            .install_log("vulnerability-scanning", all[0].id, 100)
            .await
            .unwrap();
        assert_eq!(after.len(), 1);
        assert_eq!(db.integrations().await.unwrap().len(), 2);
    });
}
