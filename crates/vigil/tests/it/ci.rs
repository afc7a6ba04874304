//! `vigil ci scan` end to end (SPEC 7.2, 7.3): pipelines with scanning disabled, the digest
//! cache, a real registry behind a proxy that resets the first connections, and a registry
//! that never answers.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::common::*;
use crate::platform::{Env, fresh, prepared};

/// A pipeline without scanning enabled is not refused: nothing is scanned, it says so and
/// exits 0 (even before any feed is imported).
#[test]
fn pipeline_with_scanning_disabled_scans_nothing() {
    let Some(img) = images() else { return };
    for env in fresh("ci_disabled") {
        env.ok(&["app", "add", "web"], 0);
        env.ok(&["pipeline", "add", "web-ci", "--app", "web"], 0);
        let image = format!("oci:{}:app", img.join("oci").display());
        let out = env.ok(&["ci", "scan", "--pipeline", "web-ci", &image], 0);
        assert!(out.contains("does not have scanning enabled"), "{out}");
        let json = env.json(&["ci", "scan", "--pipeline", "web-ci", &image], 0);
        assert_eq!(json["outcome"], "disabled");
        assert_eq!(json["digest"], serde_json::Value::Null);
        let err = env.fails(&["ci", "scan", "--pipeline", "nope", &image]);
        assert!(err.contains("pipeline \"nope\" does not exist"), "{err}");
    }
}

/// A digest already scanned against the current database is not scanned again; a changed
/// database (another feed imported) re-matches the stored inventory, and the next request
/// gets that scan against the new database.
#[test]
fn digest_already_scanned_is_not_scanned_again() {
    let Some(p) = prepared() else { return };
    for env in p.copies("ci_reuse") {
        let first = env.json(&["ci", "scan", "--pipeline", "web-ci", &p.image], 0);
        assert_eq!(first["outcome"], "reused", "{first}");
        assert_eq!(first["attempts"], 0);
        assert_eq!(first["digest"], p.digest.as_str());
        // The same digest named directly is the same scan.
        let layout = p.image.trim_end_matches(":app");
        let by_digest = env.json(
            &[
                "ci",
                "scan",
                "--pipeline",
                "web-ci",
                &format!("{layout}@{}", p.digest),
            ],
            0,
        );
        assert_eq!(by_digest["outcome"], "reused");
        assert_eq!(by_digest["scan_id"], first["scan_id"]);

        let mut import = env.cmd();
        import
            .args(["db", "import"])
            .arg(shared_fixtures().join("feeds/osv-debian"));
        assert!(import.output().unwrap().status.success());
        // The import re-matched the stored inventory against the changed database (SPEC
        // 5.5): the next request is answered from that new scan without reading the image.
        let again = env.json(&["ci", "scan", "--pipeline", "web-ci", &p.image], 0);
        assert_eq!(again["outcome"], "reused", "{again}");
        assert_ne!(again["scan_id"], first["scan_id"]);
        assert_ne!(again["db_version"], first["db_version"]);
        let rematched = env.json(&["db", "rematches", "--digest", &p.digest], 0);
        assert_eq!(rematched[0]["scan_id"], again["scan_id"], "{rematched}");
    }
}

/// The real docker-registry serving the test images' registry storage, without auth.
fn start_registry(storage: &Path) -> Option<(Registry, u16)> {
    require(have("docker-registry"), "docker-registry")?;
    let port = free_port();
    Some((serve_registry(storage, port, &[]), port))
}

/// A TCP proxy to `upstream` that hangs up on its first `failures` tries: it closes every
/// connection, after reading its request, until it has refused `failures` requests for a
/// manifest (each try of the client probes `/v2/` and then asks for the manifest), then
/// forwards everything. Returns its port and the count of connections.
fn flaky_proxy(upstream: u16, failures: usize) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        let mut left = failures;
        for conn in listener.incoming() {
            let Ok(mut client) = conn else { continue };
            seen.fetch_add(1, Ordering::SeqCst);
            // Take the request first, so that the client cannot resend it by itself (it
            // cannot tell whether the server acted on it).
            let mut first = vec![0u8; 64 * 1024];
            let n = client.read(&mut first).unwrap_or(0);
            first.truncate(n);
            if left > 0 {
                if String::from_utf8_lossy(&first).contains("/manifests/") {
                    left -= 1;
                }
                let _ = client.shutdown(Shutdown::Both);
                continue;
            }
            let Ok(mut server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                continue;
            };
            if server.write_all(&first).is_err() {
                continue;
            }
            let pipe = |mut from: TcpStream, mut to: TcpStream| {
                std::thread::spawn(move || {
                    let mut buf = [0u8; 64 * 1024];
                    loop {
                        match from.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => {
                                if to.write_all(&buf[..n]).is_err() {
                                    break;
                                }
                            }
                        }
                    }
                    let _ = to.shutdown(Shutdown::Write);
                });
            };
            pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
            pipe(server, client);
        }
    });
    (port, count)
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

fn write_config(env: &Env, scan: &str) {
    let dir = env.vigil.home.path().join("config/vigil");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.toml"), format!("[scan]\n{scan}\n")).unwrap();
}

/// A store with the feeds and the pipeline, where the app image was never scanned.
fn unscanned_store(test: &str) -> Vec<Env> {
    let envs = fresh(test);
    for env in &envs {
        let mut import = env.cmd();
        import.args(["db", "import"]).args(crate::platform::feeds());
        assert!(import.output().unwrap().status.success());
        env.ok(&["app", "add", "web"], 0);
        env.ok(
            &[
                "pipeline",
                "add",
                "web-ci",
                "--app",
                "web",
                "--scan-enabled",
            ],
            0,
        );
    }
    envs
}

/// The registry fails twice (the connections of two tries are hung up on): the scan is tried again with
/// backoff and succeeds on the third try, with the same findings as the OCI layout's scan.
#[test]
fn registry_failing_twice_then_succeeding_is_retried() {
    let Some(p) = prepared() else { return };
    let Some(img) = images() else { return };
    let Some((_registry, port)) = start_registry(&img.join("registry")) else {
        return;
    };
    for env in unscanned_store("ci_flaky") {
        let (proxy, connections) = flaky_proxy(port, 2);
        write_config(&env, "retries = 3\nbackoff = \"100ms\"\ntimeout = \"60s\"");
        let reference = format!("127.0.0.1:{proxy}/test/debian-app:latest");
        let out = env.json(
            &[
                "ci",
                "scan",
                "--insecure",
                "--no-cache",
                "--pipeline",
                "web-ci",
                &reference,
            ],
            0,
        );
        assert_eq!(out["outcome"], "scanned", "{out}");
        assert_eq!(out["attempts"], 3, "{out}");
        assert!(connections.load(Ordering::SeqCst) >= 3);
        // The registry serves the app image (the same manifest as the OCI layout's): the
        // layout is now already scanned, with the same findings.
        assert_eq!(out["digest"], p.digest.as_str());
        let layout = env.json(&["ci", "scan", "--pipeline", "web-ci", &p.image], 0);
        assert_eq!(layout["outcome"], "reused");
        assert_eq!(out["summary"]["total"], 95);
    }
}

/// Too few tries: the third connection would have worked, but two tries are allowed. The
/// build fails (exit 2) and the error says how many tries were made.
#[test]
fn registry_failing_more_often_than_retries_fails_the_build() {
    let Some(p) = prepared() else { return };
    let Some(img) = images() else { return };
    let Some((_registry, port)) = start_registry(&img.join("registry")) else {
        return;
    };
    let _ = p;
    let env = unscanned_store("ci_flaky_fail").remove(0);
    let (proxy, _) = flaky_proxy(port, 2);
    write_config(&env, "retries = 1\nbackoff = \"50ms\"");
    let reference = format!("127.0.0.1:{proxy}/test/debian-app:latest");
    let err = env.fails(&[
        "ci",
        "scan",
        "--insecure",
        "--pipeline",
        "web-ci",
        &reference,
    ]);
    assert!(
        err.contains(&format!(
            "image {reference} could not be resolved to a digest after 2 tries"
        )),
        "{err}"
    );
    assert!(
        err.contains("connection closed before message completed"),
        "{err}"
    );
}

/// A registry that accepts connections and never answers: every try times out, the scan
/// (keyed by the digest the reference names) is stored as failed, the command exits 2 well
/// within the bound, and the gate then finds no completed scan.
#[test]
fn registry_that_never_answers_fails_within_the_timeout() {
    let Some(p) = prepared() else { return };
    for env in p.copies("ci_silent") {
        let port = silent_server();
        write_config(&env, "retries = 1\nbackoff = \"100ms\"\ntimeout = \"1s\"");
        let digest = format!("sha256:{}", "5".repeat(64));
        let reference = format!("127.0.0.1:{port}/test/debian-app@{digest}");
        let start = Instant::now();
        let err = env.fails(&[
            "ci",
            "scan",
            "--insecure",
            "--pipeline",
            "web-ci",
            &reference,
        ]);
        let took = start.elapsed();
        assert!(took < Duration::from_secs(20), "took {took:?}");
        assert!(err.contains("no answer within 1s"), "{err}");
        assert!(err.contains("failed after 2 tries"), "{err}");
        let gate = env.json(&["gate", "--app", "web", "--env", "prod", &digest], 0);
        assert_eq!(gate["scan"], "missing", "{gate}");
    }
}

/// A reference to an image that does not exist is not retried: one try, exit 2.
#[test]
fn missing_image_is_not_retried() {
    let Some(p) = prepared() else { return };
    let env = p.copies("ci_missing").remove(0);
    write_config(&env, "retries = 3\nbackoff = \"2s\"");
    let start = Instant::now();
    let err = env.fails(&[
        "ci",
        "scan",
        "--pipeline",
        "web-ci",
        "oci-archive:/nonexistent/app.oci.tar",
    ]);
    assert!(err.contains("after 1 tries"), "{err}");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "it waited for a retry"
    );
}

/// A tag the real registry does not have (`manifest unknown`) is an answer, not a transient
/// failure: one try, exit 2, no wait.
#[test]
fn unknown_tag_in_the_registry_is_not_retried() {
    let Some(img) = images() else { return };
    let Some((_registry, port)) = start_registry(&img.join("registry")) else {
        return;
    };
    let env = unscanned_store("ci_unknown_tag").remove(0);
    write_config(&env, "retries = 3\nbackoff = \"2s\"");
    let reference = format!("127.0.0.1:{port}/test/debian-app:no-such-tag");
    let start = Instant::now();
    let err = env.fails(&[
        "ci",
        "scan",
        "--insecure",
        "--pipeline",
        "web-ci",
        &reference,
    ]);
    assert!(err.contains("after 1 tries"), "{err}");
    assert!(err.contains("manifest unknown"), "{err}");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "it waited for a retry"
    );
}

/// A CI scan of an SBOM (`sbom:FILE`, SPEC 2.1) is stored under the image digest the SBOM
/// names, so the gate of that image finds it; an SBOM that names no digest is keyed by its
/// own SHA-256. Both through the local store and the server's queue.
#[test]
fn sbom_ci_scans_are_stored_under_the_image_digest() {
    let Some(p) = prepared() else { return };
    for env in p.copies_and_server("ci_sbom") {
        let base = p.image.replace(":app", ":base");
        let dir = env.vigil.home.path();
        let file = dir.join("base.cdx.json");
        let out = env.vigil.run(&[
            "sbom",
            &base,
            "-f",
            "cyclonedx",
            "-o",
            file.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let digest = env.vigil.run(&["inventory", &base, "--format", "json"]);
        let digest = json(&digest)["image"]["manifest_digest"]
            .as_str()
            .unwrap()
            .to_owned();
        let sbom = format!("sbom:{}", file.display());
        let ci = env.json(&["ci", "scan", "--pipeline", "web-ci", &sbom], 0);
        assert_eq!(ci["outcome"], "scanned", "[{}] {ci}", env.backend);
        assert_eq!(ci["digest"], digest.as_str());
        let again = env.json(&["ci", "scan", "--pipeline", "web-ci", &sbom], 0);
        assert_eq!(again["outcome"], "reused");
        let gate = env.json(&["gate", "--app", "web", "--env", "prod", &digest], 0);
        assert_eq!(gate["scan"], "completed", "{gate}");
        assert_eq!(gate["scan_id"], ci["scan_id"]);

        // Without the digest: keyed by the file's SHA-256.
        let mut doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        doc["metadata"]["component"]
            .as_object_mut()
            .unwrap()
            .remove("properties");
        doc["metadata"]["component"]
            .as_object_mut()
            .unwrap()
            .remove("version");
        let bare = dir.join("bare.cdx.json");
        let bytes = serde_json::to_vec(&doc).unwrap();
        std::fs::write(&bare, &bytes).unwrap();
        let ci = env.json(
            &[
                "ci",
                "scan",
                "--pipeline",
                "web-ci",
                &format!("sbom:{}", bare.display()),
            ],
            0,
        );
        use sha2::Digest;
        let own = format!("sha256:{}", hex::encode(sha2::Sha256::digest(&bytes)));
        assert_eq!(ci["digest"], own.as_str(), "{ci}");
        let broken = dir.join("broken.cdx.json");
        std::fs::write(&broken, b"{\"bomFormat\": \"CycloneDX\", ").unwrap();
        let err = env.fails(&[
            "ci",
            "scan",
            "--pipeline",
            "web-ci",
            &format!("sbom:{}", broken.display()),
        ]);
        assert!(err.contains("broken.cdx.json"), "{err}");
    }
}
