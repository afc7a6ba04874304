//! Clair v4 compatibility (issue 12, SPEC 9.3): a Clair manifest whose layers are blobs in a
//! real docker-registry on 127.0.0.1 is indexed and matched end to end through `vigil
//! serve`, and every answer validates against Clair's JSON Schemas in
//! shared/fixtures/clair/schemas (scripts/validate-clair.py, python3-jsonschema).

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::common::*;
use crate::platform::{Env, feeds, prepared};
use crate::serve::{Server, token};

fn validate(name: &str, doc: &Value) {
    let mut child = Command::new("python3")
        .arg(workspace().join("scripts/validate-clair.py"))
        .arg(shared_fixtures().join("clair/schemas"))
        .arg(name)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(doc.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{name} does not validate against Clair's schema:\n{}",
        text(&out.stdout)
    );
}

fn call(base: &str, token: &str, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(300)))
        .build()
        .into();
    let req = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{base}{path}"))
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", "application/json");
    let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    let mut resp = agent.run(req.body(bytes).unwrap()).unwrap();
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[test]
fn a_clair_manifest_is_indexed_and_matched_from_a_registry() {
    if require(have("docker-registry"), "docker-registry").is_none()
        || require(
            Command::new("python3")
                .args(["-c", "import jsonschema, referencing"])
                .status()
                .is_ok_and(|s| s.success()),
            "python3-jsonschema",
        )
        .is_none()
    {
        return;
    }
    // The prepared store makes sure the test images exist (and skips when they cannot).
    if prepared().is_none() {
        return;
    }
    let img = images().unwrap();
    let port = free_port();
    let _registry = serve_registry(&img.join("registry"), port, &[]);
    // The app image's manifest as the registry serves it, and Clair's manifest of it.
    let manifest_bytes = std::fs::read(img.join("registry-app-manifest.json")).unwrap();
    let hash = format!("sha256:{}", hex::encode(Sha256::digest(&manifest_bytes)));
    let manifest: Value = serde_json::from_slice(&manifest_bytes).unwrap();
    let blob = |d: &str| format!("http://127.0.0.1:{port}/v2/test/debian-app/blobs/{d}");
    let layers: Vec<Value> = manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let d = l["digest"].as_str().unwrap();
            json!({"hash": d, "uri": blob(d), "headers": {}, "media_type": l["mediaType"]})
        })
        .collect();
    let clair_manifest = json!({"hash": hash, "layers": layers});
    validate("manifest", &clair_manifest);

    // A fresh store with the feeds: nothing scanned, so indexing pulls from the registry.
    let env = Env::local(Vigil::new(), None, "sqlite");
    let mut import = env.cmd();
    import.args(["db", "import"]).args(feeds());
    assert!(import.status().unwrap().success());
    let ci = token(&env, "ci", "clairctl", None);
    let server = Server::start(&env, &["--insecure"]);
    let base = &server.base;

    let (status, state) = call(base, &ci, "GET", "/indexer/api/v1/index_state", None);
    assert_eq!(status, 200, "{state}");
    validate("index_state", &state);
    let (status, missing) = call(
        base,
        &ci,
        "GET",
        &format!("/matcher/api/v1/vulnerability_report/{hash}"),
        None,
    );
    assert_eq!(status, 404, "not indexed yet");
    assert!(
        missing["error"]
            .as_str()
            .unwrap()
            .contains("index it first")
    );

    let (status, index) = call(
        base,
        &ci,
        "POST",
        "/indexer/api/v1/index_report",
        Some(&clair_manifest),
    );
    assert_eq!(
        status,
        201,
        "{}",
        &index.to_string()[..index.to_string().len().min(2000)]
    );
    validate("index_report", &index);
    assert_eq!(index["manifest_hash"], hash);
    assert_eq!(index["state"], "IndexFinished");
    let packages = index["packages"].as_object().unwrap();
    assert!(
        packages.values().any(|p| p["name"] == "minimist"),
        "the npm package is indexed"
    );
    assert!(packages.values().any(|p| p["name"] == "libexpat1"));
    assert_eq!(index["distributions"]["1"]["did"], "debian");

    let (status, again) = call(
        base,
        &ci,
        "GET",
        &format!("/indexer/api/v1/index_report/{hash}"),
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(again, index);

    let (status, vr) = call(
        base,
        &ci,
        "GET",
        &format!("/matcher/api/v1/vulnerability_report/{hash}"),
        None,
    );
    assert_eq!(status, 200);
    validate("vulnerability_report", &vr);
    let vulns = vr["vulnerabilities"].as_object().unwrap();
    let minimist = vulns
        .values()
        .find(|v| v["name"] == "CVE-2021-44906")
        .expect("CVE-2021-44906 in minimist");
    assert_eq!(minimist["normalized_severity"], "Critical");
    assert_eq!(minimist["fixed_in_version"], "0.2.4");
    assert_eq!(minimist["package"]["name"], "minimist");
    // package_vulnerabilities points from package ids to vulnerability ids of the report.
    for (pid, ids) in vr["package_vulnerabilities"].as_object().unwrap() {
        assert!(vr["packages"].get(pid).is_some(), "{pid}");
        for id in ids.as_array().unwrap() {
            assert!(vulns.contains_key(id.as_str().unwrap()), "{id}");
        }
    }

    // Wrong calls: a layer from elsewhere, a manifest without layers, a bad digest.
    let mut elsewhere = clair_manifest.clone();
    elsewhere["layers"][0]["uri"] = json!("file:///etc/passwd");
    let (status, e) = call(
        base,
        &ci,
        "POST",
        "/indexer/api/v1/index_report",
        Some(&elsewhere),
    );
    assert_eq!(status, 400, "{e}");
    assert!(
        e["error"].as_str().unwrap().contains("registry blob URL"),
        "{e}"
    );
    let (status, _) = call(
        base,
        &ci,
        "POST",
        "/indexer/api/v1/index_report",
        Some(&json!({"hash": hash, "layers": []})),
    );
    assert_eq!(status, 400);
    let (status, _) = call(base, &ci, "GET", "/indexer/api/v1/index_report/nope", None);
    assert_eq!(status, 400);
    // A viewer may read but not index.
    let viewer = token(&env, "viewer", "reader", None);
    let (status, _) = call(
        base,
        &viewer,
        "POST",
        "/indexer/api/v1/index_report",
        Some(&clair_manifest),
    );
    assert_eq!(status, 403);

    // The notifier: a late advisory re-matches the stored inventory; the notification set
    // is named by the new database version (index_state).
    let said = crate::rematch::import(&env, &[crate::rematch::advisory("VIGIL-LATE-1", "expat")]);
    assert!(said.contains("re-matched 1 stored image(s)"), "{said}");
    let (_, state) = call(base, &ci, "GET", "/indexer/api/v1/index_state", None);
    let set = state["state"].as_str().unwrap().to_owned();
    let (status, page) = call(
        base,
        &viewer,
        "GET",
        &format!("/notifier/api/v1/notification/{set}"),
        None,
    );
    assert_eq!(status, 200, "{page}");
    validate("notification_page", &page);
    let added: Vec<&Value> = page["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["reason"] == "added" && n["manifest"] == hash.as_str())
        .collect();
    assert_eq!(added.len(), 1, "{page}");
    assert_eq!(added[0]["vulnerability"]["name"], "VIGIL-LATE-1");
    assert_eq!(added[0]["vulnerability"]["normalized_severity"], "Critical");
    assert_eq!(added[0]["vulnerability"]["package"]["name"], "libexpat1");
    assert_eq!(page["page"]["size"], 1);
    let (status, first) = call(
        base,
        &viewer,
        "GET",
        &format!("/notifier/api/v1/notification/{set}?page_size=1"),
        None,
    );
    assert_eq!(status, 200);
    validate("notification_page", &first);
    let next = first["page"]["next"].as_str().unwrap();
    let (_, rest) = call(
        base,
        &viewer,
        "GET",
        &format!("/notifier/api/v1/notification/{set}?page_size=1&next={next}"),
        None,
    );
    validate("notification_page", &rest);
    assert_eq!(rest["notifications"], json!([]), "one notification in all");
    let (status, _) = call(
        base,
        &viewer,
        "DELETE",
        &format!("/notifier/api/v1/notification/{set}"),
        None,
    );
    assert_eq!(status, 403);
    let (status, _) = call(
        base,
        &ci,
        "DELETE",
        &format!("/notifier/api/v1/notification/{set}"),
        None,
    );
    assert_eq!(status, 200);
    let (status, _) = call(
        base,
        &viewer,
        "GET",
        &format!("/notifier/api/v1/notification/{set}"),
        None,
    );
    assert_eq!(status, 404, "deleted");
    let (status, _) = call(
        base,
        &viewer,
        "GET",
        "/notifier/api/v1/notification/sha256:nothing",
        None,
    );
    assert_eq!(status, 404);
}
