//! The Kubernetes validating admission webhook (issue 12, SPEC 7.6) over real HTTPS (a
//! certificate the test makes with openssl, checked by curl against its CA), fed the real
//! AdmissionReview documents of shared/fixtures/admission and variants this file derives
//! from them (namespace, label, images and kind rewritten; every workload kind).

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::common::*;
use crate::platform::{prepared, set_global};
use crate::serve::{Server, make_certs};

fn fixture(name: &str) -> Value {
    let path = shared_fixtures().join("admission").join(name);
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

/// POSTs an AdmissionReview over HTTPS with curl; the AdmissionReview answered.
fn review(base: &str, ca: &Path, query: &str, body: &Value) -> Value {
    let out = Command::new("curl")
        .args(["-sS", "--fail-with-body", "--cacert"])
        .arg(ca)
        .args([
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            "@-",
        ])
        .arg(format!("{base}/admission/validate{query}"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(&serde_json::to_vec(body).unwrap())?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(out.status.success(), "curl: {}", text(&out.stderr));
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["apiVersion"], "admission.k8s.io/v1", "{answer}");
    assert_eq!(answer["kind"], "AdmissionReview");
    assert_eq!(
        answer["response"]["uid"], body["request"]["uid"],
        "uid echoed"
    );
    answer["response"].clone()
}

/// The Pod fixture, moved to `namespace`, labelled as `app`, running `images` (the first as
/// its container, the others as an init and an ephemeral container).
fn pod(namespace: &str, app: &str, images: &[&str]) -> Value {
    let mut r = fixture("pod-create.admissionreview-v1.json");
    let req = &mut r["request"];
    req["namespace"] = json!(namespace);
    let o = &mut req["object"];
    o["metadata"]["namespace"] = json!(namespace);
    o["metadata"]["labels"]["app.kubernetes.io/name"] = json!(app);
    o["spec"]["containers"][0]["image"] = json!(images[0]);
    if let Some(i) = images.get(1) {
        o["spec"]["initContainers"] = json!([{"name": "init", "image": i}]);
    }
    if let Some(i) = images.get(2) {
        o["spec"]["ephemeralContainers"] = json!([{"name": "debug", "image": i}]);
    }
    r
}

/// The Deployment fixture as `kind` (its pod template moved under a CronJob's job template
/// for a CronJob), in `namespace`, labelled as `app`, running `image`.
fn workload(kind: &str, namespace: &str, app: &str, image: &str) -> Value {
    let mut r = fixture("deployment-create.admissionreview-v1.json");
    let req = &mut r["request"];
    req["namespace"] = json!(namespace);
    req["kind"]["kind"] = json!(kind);
    let o = &mut req["object"];
    o["kind"] = json!(kind);
    o["metadata"]["namespace"] = json!(namespace);
    let mut template = o["spec"]["template"].clone();
    template["metadata"]["labels"]["app.kubernetes.io/name"] = json!(app);
    template["spec"]["containers"][0]["image"] = json!(image);
    if kind == "CronJob" {
        o["spec"] =
            json!({"schedule": "0 * * * *", "jobTemplate": {"spec": {"template": template}}});
    } else {
        o["spec"]["template"] = template;
    }
    r
}

fn message(resp: &Value) -> String {
    resp["status"]["message"].as_str().unwrap_or("").to_owned()
}

fn warnings(resp: &Value) -> String {
    resp["warnings"].to_string()
}

#[test]
fn admission_webhook_over_https() {
    if require(have("openssl") && have("curl"), "openssl and curl").is_none() {
        return;
    }
    let Some(p) = prepared() else { return };
    let env = p.sqlite_copy();
    let (ca, cert, key) = make_certs(env.vigil.home.path());
    let tls = [
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ];
    // Only critical findings block here; the app image has one (CVE-2021-44906).
    for s in ["high", "medium", "low", "unknown"] {
        set_global(&env, s, "allow");
    }
    set_global(&env, "critical", "block");
    // The test images in a real registry on 127.0.0.1 (plain HTTP: --insecure), for a tag.
    let registry = have("docker-registry").then(|| {
        let port = free_port();
        (
            port,
            serve_registry(&images().unwrap().join("registry"), port, &[]),
        )
    });
    let mut args = tls.to_vec();
    args.push("--insecure");
    let server = Server::start(&env, &args);
    let base = &server.base;
    let image = format!("registry.example/web/app@{}", p.digest);

    // The real Pod fixture as it is: its namespace is no environment; closed by default.
    let raw = fixture("pod-create.admissionreview-v1.json");
    let r = review(base, &ca, "", &raw);
    assert_eq!(r["allowed"], false, "{r}");
    assert!(
        message(&r).contains("no label") || message(&r).contains("test-connaisseur"),
        "{r}"
    );
    assert!(warnings(&r).contains("failure policy fail"), "{r}");

    // `web-prod` is the namespace of prod (cluster eu) and prod-us (cluster us).
    let r = review(base, &ca, "", &pod("web-prod", "web", &[&image]));
    assert_eq!(r["allowed"], false);
    assert!(message(&r).contains("?cluster="), "{r}");
    // Named: the image is blocked by its critical CVE, named in the message.
    let r = review(base, &ca, "?cluster=eu", &pod("web-prod", "web", &[&image]));
    assert_eq!(r["allowed"], false, "{r}");
    let m = message(&r);
    assert!(m.contains("CVE-2021-44906") && m.contains(&image), "{m}");
    assert!(m.contains("web in prod"), "{m}");
    assert_eq!(r["status"]["code"], 403);
    // The same image as an init or an ephemeral container is found too.
    let clean = "registry.example/other@sha256:0000000000000000000000000000000000000000000000000000000000000000";
    for images in [[clean, &image[..], clean], [clean, clean, &image[..]]] {
        let r = review(base, &ca, "?cluster=eu", &pod("web-prod", "web", &images));
        assert_eq!(r["allowed"], false, "{images:?}: {r}");
        assert!(message(&r).contains("CVE-2021-44906"), "{r}");
    }
    // Every workload kind, from the Deployment fixture.
    for kind in [
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "ReplicaSet",
        "Job",
        "CronJob",
    ] {
        let r = review(
            base,
            &ca,
            "?cluster=us",
            &workload(kind, "web-prod", "web", &image),
        );
        assert_eq!(r["allowed"], false, "{kind}: {r}");
        assert!(message(&r).contains("web in prod-us"), "{kind}: {r}");
    }
    // A kind without pods is allowed with a warning.
    let mut cm = workload("Deployment", "web-prod", "web", &image);
    cm["request"]["kind"]["kind"] = json!("ConfigMap");
    let r = review(base, &ca, "?cluster=eu", &cm);
    assert_eq!(r["allowed"], true, "{r}");
    assert!(warnings(&r).contains("ConfigMap"), "{r}");
    // A local path as an image is refused, never opened.
    let local = format!("oci:{}", env.vigil.home.path().display());
    let r = review(base, &ca, "?cluster=eu", &pod("web-prod", "web", &[&local]));
    assert_eq!(r["allowed"], false);
    assert!(message(&r).contains("not a registry reference"), "{r}");

    // By tag: resolved to its digest through the registry (the same manifest as the
    // scanned layout), then gated.
    if let Some((port, _)) = &registry {
        let tagged = format!("127.0.0.1:{port}/test/debian-app:latest");
        let r = review(
            base,
            &ca,
            "?cluster=eu",
            &pod("web-prod", "web", &[&tagged]),
        );
        assert_eq!(r["allowed"], false, "{r}");
        let m = message(&r);
        assert!(m.contains(&tagged) && m.contains(&p.digest), "{m}");
        assert!(m.contains("CVE-2021-44906"), "{m}");
    }

    // A whitelist for web: admitted.
    env.ok(
        &[
            "policy",
            "cve",
            "add",
            "--scope",
            "app:web",
            "--action",
            "allow",
            "--reason",
            "not reachable",
            "CVE-2021-44906",
        ],
        0,
    );
    std::thread::sleep(std::time::Duration::from_millis(1100)); // the gate's 1 s cache
    let r = review(base, &ca, "?cluster=eu", &pod("web-prod", "web", &[&image]));
    assert_eq!(r["allowed"], true, "{r}");
    assert!(r.get("status").is_none(), "{r}");

    // An image by tag from a registry that refuses connections: not checkable.
    let tagged = "127.0.0.1:1/web/app:1.0";
    let r = review(base, &ca, "?cluster=eu", &pod("web-prod", "web", &[tagged]));
    assert_eq!(r["allowed"], false, "{r}");
    assert!(message(&r).contains(tagged), "{r}");

    // Not an AdmissionReview: 400 with the reason.
    let out = Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert"])
        .arg(&ca)
        .args([
            "-H",
            "Content-Type: application/json",
            "-d",
            "{\"kind\": \"Pod\"}",
        ])
        .arg(format!("{base}/admission/validate"))
        .output()
        .unwrap();
    assert_eq!(text(&out.stdout), "400");
    drop(server);

    // Fail open: the same unknown namespace is allowed, with the warning saying why.
    let cfg = env.vigil.home.path().join("config/vigil/config.toml");
    let mut toml = std::fs::read_to_string(&cfg).unwrap();
    toml.push_str("\n[admission]\nfailure_policy = \"ignore\"\ncluster = \"eu\"\n");
    std::fs::write(&cfg, toml).unwrap();
    let server = Server::start_bare(&env, &tls);
    let r = review(&server.base, &ca, "", &pod("nowhere", "web", &[&image]));
    assert_eq!(r["allowed"], true, "{r}");
    let w = warnings(&r);
    assert!(
        w.contains("nowhere") && w.contains("failure policy ignore"),
        "{w}"
    );
    // admission.cluster picks eu for web-prod without ?cluster=.
    let r = review(&server.base, &ca, "", &pod("web-prod", "web", &[tagged]));
    assert_eq!(r["allowed"], true, "{r}");
    assert!(warnings(&r).contains(tagged), "{r}");
}
