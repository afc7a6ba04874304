//! CI scans whose tries all fail: the failure is stored with the scan, in bounded time.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use vigil_service::{Error, Retry, ScanOptions, ci_scan};
use vigil_store::platform::{Pipeline, ScanFilter, ScanState};
use vigil_store::{Database, Location, SourceMeta, import, open};

fn pypa() -> PathBuf {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/feeds/pypa-advisory-database"
    ))
    .to_owned()
}

/// The PyPA advisories, so the database is not empty (a scan refuses an empty one).
async fn seed(db: &dyn Database) {
    let mut records = Vec::new();
    let mut stack = vec![pypa()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "yaml") {
                let adv = vigil_vulndb::osv::parse_yaml(&std::fs::read(&p).unwrap()).unwrap();
                records.push(db.prepare(&adv).unwrap());
            }
        }
    }
    assert!(!records.is_empty());
    let meta = SourceMeta {
        name: "pypa".into(),
        format: "osv".into(),
        location: "fixtures/pypa".into(),
        feed_digest: None,
    };
    import(db, meta, records).await.unwrap();
    db.add_application("web").await.unwrap();
    db.add_pipeline(&Pipeline {
        name: "web-ci".into(),
        application: "web".into(),
        scan_enabled: true,
    })
    .await
    .unwrap();
}

async fn fresh_postgres() -> Option<Location> {
    let Ok(url) = std::env::var("VIGIL_TEST_DATABASE_URL") else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "VIGIL_TEST_DATABASE_URL is not set (start one with scripts/pg-test-server.sh)"
        );
        return None;
    };
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    let name = format!(
        "vigil_service_{}_{}",
        std::process::id(),
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .unwrap();
    let (base, _) = url.rsplit_once('/').unwrap();
    Some(Location::Postgres(format!("{base}/{name}")))
}

/// A server that accepts connections and never answers.
fn silent_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            held.push(conn);
        }
    });
    port
}

async fn never_answering_registry(db: &dyn Database) {
    seed(db).await;
    let port = silent_server();
    let digest = format!("sha256:{}", "7".repeat(64));
    let image = format!("127.0.0.1:{port}/test/app@{digest}");
    let opts = ScanOptions {
        image: vigil_image::Options {
            insecure: true,
            ..Default::default()
        },
        timeout: Duration::from_millis(500),
        ..ScanOptions::default()
    };
    let retry = Retry {
        tries: 3,
        backoff: Duration::from_millis(20),
    };
    let start = Instant::now();
    let err = ci_scan(db, "web-ci", &image, &opts, retry, &SystemTime::now)
        .await
        .unwrap_err();
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    let Error::ScanFailed {
        scan_id,
        attempts,
        source,
        ..
    } = &err
    else {
        panic!("expected ScanFailed, got {err:?}");
    };
    assert_eq!(*attempts, 3);
    assert!(matches!(**source, Error::Timeout { .. }), "{source:?}");
    assert!(err.to_string().contains(&image), "{err}");

    let scans = db
        .scans(&ScanFilter {
            digest: Some(digest.clone()),
            ..ScanFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(scans.len(), 1);
    assert_eq!(scans[0].id, *scan_id);
    assert_eq!(scans[0].state, ScanState::Failed);
    assert_eq!(scans[0].reference, image);
    let stored = scans[0].error.as_deref().unwrap();
    assert!(stored.contains("no answer within 0.5s"), "{stored}");
    assert!(db.latest_completed_scan(&digest).await.unwrap().is_none());
}

#[test]
fn a_registry_that_never_answers_is_stored_as_failed() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let db = open(&Location::Sqlite(dir.path().join("vigil.db")))
            .await
            .unwrap();
        never_answering_registry(&*db).await;
        if let Some(loc) = fresh_postgres().await {
            let db = open(&loc).await.unwrap();
            never_answering_registry(&*db).await;
        }
    });
}

/// Transient or not, on real failures: a refused connection and a silent server are
/// transient, a missing file and a bad reference are not.
#[test]
fn real_failures_are_classified() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let opts = ScanOptions {
            image: vigil_image::Options {
                insecure: true,
                ..Default::default()
            },
            timeout: Duration::from_millis(500),
            ..ScanOptions::default()
        };
        let closed = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let refused = vigil_service::resolve_digest(&format!("127.0.0.1:{closed}/app:1"), &opts)
            .await
            .unwrap_err();
        assert!(refused.is_transient(), "{refused}");
        let silent = silent_server();
        let timeout = vigil_service::resolve_digest(&format!("127.0.0.1:{silent}/app:1"), &opts)
            .await
            .unwrap_err();
        assert!(matches!(timeout, Error::Timeout { .. }), "{timeout}");
        assert!(timeout.is_transient());
        let missing = vigil_service::resolve_digest("oci-archive:/nonexistent/app.tar", &opts)
            .await
            .unwrap_err();
        assert!(!missing.is_transient(), "{missing}");
        assert!(
            missing.to_string().contains("/nonexistent/app.tar"),
            "{missing}"
        );
        let bad = vigil_service::resolve_digest("docker://", &opts)
            .await
            .unwrap_err();
        assert!(!bad.is_transient(), "{bad}");
    });
}
