//! `vigil serve` (issue 9) as a real process on 127.0.0.1: every route walked with every
//! role (the matrix of crates/vigil-server/README.md), the answers validated against the
//! server's own OpenAPI document, restricted tokens, errors, the CLI's `--server` mode, and
//! two replicas on one PostgreSQL sharing the scan queue while one is killed.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::*;
use crate::platform::{Env, prepared};

/// A running `vigil serve`, killed when dropped.
pub struct Server {
    child: Child,
    /// Kept open: the server may write to stdout after its first line.
    _stdout: BufReader<ChildStdout>,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Its stderr: JSON log lines.
    pub log: PathBuf,
}

impl Server {
    /// Installs both integrations on `env`'s store (its feeds as imported), then starts
    /// `vigil serve` on it on a free port; returns once it listens.
    pub fn start(env: &Env, extra: &[&str]) -> Server {
        install_integrations(env);
        Self::start_bare(env, extra)
    }

    /// Starts `vigil serve` on `env`'s store as it is (integrations not installed).
    pub fn start_bare(env: &Env, extra: &[&str]) -> Server {
        Self::start_with(env.cmd(), &env.vigil.home.path().join("serve.log"), extra)
    }

    pub fn start_with(mut cmd: Command, log: &Path, extra: &[&str]) -> Server {
        cmd.args(["--log-format", "json", "serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .env("VIGIL_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log).expect("server log file"));
        let mut child = cmd.spawn().expect("start vigil serve");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let Some(base) = line.trim().strip_prefix("listening on ") else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "vigil serve did not start: {line:?}\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        };
        Server {
            base: base.to_owned(),
            child,
            _stdout: stdout,
            log: log.to_owned(),
        }
    }

    /// SIGKILL: no shutdown, no lease released.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The JSON log lines written so far.
    pub fn log_lines(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Installs `cicd` and `vulnerability-scanning` with the local CLI on `env`'s store, with
/// no feed sources configured (the feeds the store holds are used as imported).
pub fn install_integrations(env: &Env) {
    let cfg = env.vigil.home.path().join("config/vigil/config.toml");
    if !cfg.exists() {
        std::fs::create_dir_all(cfg.parent().unwrap()).unwrap();
        std::fs::write(&cfg, "[db]\nsources = []\n").unwrap();
    }
    for name in ["cicd", "vulnerability-scanning"] {
        let out = env.ok(&["integrations", "install", name], 0);
        assert!(out.contains("installed "), "{out}");
    }
}

/// An HTTP answer: status and body (JSON when it parses, else a string; null when empty).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into()
}

pub enum Payload {
    None,
    Json(Value),
    Raw(Vec<u8>),
}

pub fn call(base: &str, method: &str, path: &str, token: Option<&str>, body: Payload) -> Answer {
    let agent = agent();
    let url = format!("{base}{path}");
    let mut req = ureq::http::Request::builder().method(method).uri(&url);
    if let Some(t) = token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    let sent = match body {
        Payload::None => agent.run(req.body(()).unwrap()),
        Payload::Json(v) => agent.run(
            req.header("Content-Type", "application/json")
                .body(serde_json::to_vec(&v).unwrap())
                .unwrap(),
        ),
        Payload::Raw(b) => agent.run(
            req.header("Content-Type", "application/json")
                .body(b)
                .unwrap(),
        ),
    };
    let mut resp = sent.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    let body = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Answer { status, body }
}

pub fn token(env: &Env, role: &str, name: &str, apps: Option<&str>) -> String {
    let mut args = vec!["token", "create", "--role", role, "--name", name];
    if let Some(a) = apps {
        args.extend(["--apps", a]);
    }
    env.ok(&args, 0).trim().to_owned()
}

const ROLES: [&str; 3] = ["viewer", "ci", "admin"];

fn rank(role: &str) -> usize {
    ROLES.iter().position(|r| *r == role).unwrap()
}

/// One route of the matrix: method, the OpenAPI path template, the concrete path and body
/// (`{r}` stands for the calling role, so that each role's create has its own name), the
/// lowest role allowed, and the status of success.
struct Route {
    method: &'static str,
    template: &'static str,
    path: String,
    body: Option<Value>,
    min: &'static str,
    ok: u16,
}

fn route(
    method: &'static str,
    template: &'static str,
    path: &str,
    body: Option<Value>,
    min: &'static str,
    ok: u16,
) -> Route {
    Route {
        method,
        template,
        path: path.to_owned(),
        body,
        min,
        ok,
    }
}

/// The `(METHOD, path)` pairs of the README's route table (crates/vigil-server/README.md).
fn readme_routes() -> BTreeSet<(String, String)> {
    let readme = std::fs::read_to_string(workspace().join("crates/vigil-server/README.md"))
        .expect("server README");
    readme
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let method = *cells.get(1)?;
            if !["GET", "POST", "PUT", "DELETE"].contains(&method) {
                return None;
            }
            let path = cells.get(2)?.trim_matches('`');
            let path = path.split('?').next().unwrap();
            path.starts_with("/api/v1")
                .then(|| (method.to_owned(), path.to_owned()))
        })
        .collect()
}

fn openapi_routes(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().expect("paths") {
        for method in ops.as_object().unwrap().keys() {
            out.insert((method.to_uppercase(), path.clone()));
        }
    }
    out
}

/// Validates answers against the OpenAPI document with python3-jsonschema.
fn validate_against_openapi(doc: &Value, cases: &[Value]) {
    if require(have("python3"), "python3 with python3-jsonschema").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let doc_path = dir.path().join("openapi.json");
    let cases_path = dir.path().join("cases.json");
    std::fs::write(&doc_path, serde_json::to_vec(doc).unwrap()).unwrap();
    std::fs::write(&cases_path, serde_json::to_vec(cases).unwrap()).unwrap();
    let out = Command::new("python3")
        .arg(workspace().join("scripts/validate-openapi-responses.py"))
        .args([&doc_path, &cases_path])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "answers that do not match the OpenAPI document:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// Every route with no token, a viewer, a ci and an admin token: 401 without a token, 403
/// below the route's role, its success status at or above it; the OpenAPI document, the
/// README's table and this matrix list the same routes; every answer validates against
/// the document. On SQLite and PostgreSQL.
#[test]
fn every_route_with_every_role_matches_the_matrix_and_the_openapi_document() {
    let Some(p) = prepared() else { return };
    let mut envs = vec![p.sqlite_copy()];
    envs.extend(p.postgres_copy("serve_matrix"));
    for env in envs {
        let tokens: BTreeMap<&str, String> = ROLES
            .iter()
            .map(|r| (*r, token(&env, r, &format!("{r}-token"), None)))
            .collect();
        token(&env, "viewer", "doomed", None);
        let server = Server::start(&env, &[]);
        let base = &server.base;
        let admin = tokens["admin"].as_str();
        let doomed_id = call(base, "GET", "/api/v1/tokens", Some(admin), Payload::None)
            .body
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == "doomed")
            .unwrap()["id"]
            .as_i64()
            .unwrap();
        let scans = call(base, "GET", "/api/v1/scans", Some(admin), Payload::None);
        let scan_id = scans.body[0]["id"].as_i64().expect("the prepared scan");
        let d = p.digest.as_str();
        // One real OSV record, as the body of the import.
        let feed =
            std::fs::read(shared_fixtures().join("feeds/rustsec/osv/RUSTSEC-2016-0001.json"))
                .unwrap();

        let routes = vec![
            route(
                "GET",
                "/api/v1/clusters",
                "/api/v1/clusters",
                None,
                "viewer",
                200,
            ),
            route(
                "POST",
                "/api/v1/clusters",
                "/api/v1/clusters",
                Some(json!({"name": "c-{r}"})),
                "admin",
                201,
            ),
            route(
                "DELETE",
                "/api/v1/clusters/{name}",
                "/api/v1/clusters/c-{r}",
                None,
                "admin",
                204,
            ),
            route(
                "GET",
                "/api/v1/environments",
                "/api/v1/environments",
                None,
                "viewer",
                200,
            ),
            route(
                "POST",
                "/api/v1/environments",
                "/api/v1/environments",
                Some(json!({"name": "e-{r}", "cluster": "eu", "namespace": "ns-{r}"})),
                "admin",
                201,
            ),
            route(
                "DELETE",
                "/api/v1/environments/{name}",
                "/api/v1/environments/e-{r}",
                None,
                "admin",
                204,
            ),
            route("GET", "/api/v1/apps", "/api/v1/apps", None, "viewer", 200),
            route(
                "POST",
                "/api/v1/apps",
                "/api/v1/apps",
                Some(json!({"name": "a-{r}"})),
                "admin",
                201,
            ),
            route(
                "DELETE",
                "/api/v1/apps/{name}",
                "/api/v1/apps/a-{r}",
                None,
                "admin",
                204,
            ),
            route(
                "GET",
                "/api/v1/pipelines",
                "/api/v1/pipelines",
                None,
                "viewer",
                200,
            ),
            route(
                "POST",
                "/api/v1/pipelines",
                "/api/v1/pipelines",
                Some(json!({"name": "p-{r}", "application": "web", "scan_enabled": true})),
                "admin",
                201,
            ),
            route(
                "DELETE",
                "/api/v1/pipelines/{name}",
                "/api/v1/pipelines/p-{r}",
                None,
                "admin",
                204,
            ),
            route(
                "GET",
                "/api/v1/policies",
                "/api/v1/policies?scope=app:web@env:prod",
                None,
                "viewer",
                200,
            ),
            route(
                "PUT",
                "/api/v1/policies/severities",
                "/api/v1/policies/severities",
                Some(
                    json!({"scope": "env:staging", "severity": "low", "action": "block-if-fixed"}),
                ),
                "admin",
                200,
            ),
            route(
                "PUT",
                "/api/v1/policies/unscanned",
                "/api/v1/policies/unscanned",
                Some(json!({"scope": "env:staging", "action": "allow"})),
                "admin",
                200,
            ),
            route(
                "POST",
                "/api/v1/policies/cve-rules",
                "/api/v1/policies/cve-rules",
                Some(
                    json!({"scope": "app:web", "id": "CVE-2005-2541", "action": "allow",
                    "reason": "route matrix", "expires": "2099-01-01"}),
                ),
                "admin",
                200,
            ),
            route(
                "DELETE",
                "/api/v1/policies/cve-rules",
                "/api/v1/policies/cve-rules?scope=app:web&id=CVE-2005-2541",
                None,
                "admin",
                200,
            ),
            route(
                "GET",
                "/api/v1/policies/audit",
                "/api/v1/policies/audit?scope=app:web&limit=10",
                None,
                "viewer",
                200,
            ),
            route(
                "POST",
                "/api/v1/scans",
                "/api/v1/scans",
                Some(json!({"image": p.image, "pipeline": "web-ci"})),
                "ci",
                200,
            ),
            route(
                "GET",
                "/api/v1/scans",
                "/api/v1/scans?limit=5",
                None,
                "viewer",
                200,
            ),
            route(
                "GET",
                "/api/v1/scans/{id}",
                &format!("/api/v1/scans/{scan_id}"),
                None,
                "viewer",
                200,
            ),
            route(
                "GET",
                "/api/v1/scans/{id}/report",
                &format!("/api/v1/scans/{scan_id}/report"),
                None,
                "viewer",
                200,
            ),
            route(
                "POST",
                "/api/v1/gate",
                "/api/v1/gate",
                Some(json!({"application": "web", "environment": "prod", "image": d})),
                "ci",
                200,
            ),
            route(
                "GET",
                "/api/v1/explain",
                &format!("/api/v1/explain?application=web&environment=prod&image={d}"),
                None,
                "viewer",
                200,
            ),
            route(
                "POST",
                "/api/v1/deployments",
                "/api/v1/deployments",
                Some(json!({"application": "web", "environment": "staging", "digest": d})),
                "ci",
                201,
            ),
            route(
                "GET",
                "/api/v1/deployments",
                "/api/v1/deployments?application=web",
                None,
                "viewer",
                200,
            ),
            route(
                "GET",
                "/api/v1/deployed",
                "/api/v1/deployed?sort=total&limit=10",
                None,
                "viewer",
                200,
            ),
            route(
                "GET",
                "/api/v1/events",
                "/api/v1/events?application=web",
                None,
                "viewer",
                200,
            ),
            route(
                "GET",
                "/api/v1/rematches",
                "/api/v1/rematches?limit=5",
                None,
                "viewer",
                200,
            ),
            route(
                "POST",
                "/api/v1/vex",
                "/api/v1/vex?application=web&name=matrix.json",
                None,
                "admin",
                201,
            ),
            route("GET", "/api/v1/vex", "/api/v1/vex", None, "viewer", 200),
            // The document just imported is the store's first.
            route(
                "DELETE",
                "/api/v1/vex/{id}",
                "/api/v1/vex/1",
                None,
                "admin",
                204,
            ),
            route(
                "GET",
                "/api/v1/db/status",
                "/api/v1/db/status",
                None,
                "viewer",
                200,
            ),
            route(
                "POST",
                "/api/v1/db/import",
                "/api/v1/db/import?format=osv&name=matrix",
                None,
                "admin",
                200,
            ),
            route(
                "GET",
                "/api/v1/tokens",
                "/api/v1/tokens",
                None,
                "admin",
                200,
            ),
            route(
                "POST",
                "/api/v1/tokens",
                "/api/v1/tokens",
                Some(json!({"name": "t-{r}", "role": "viewer", "apps": ["web"]})),
                "admin",
                201,
            ),
            route(
                "DELETE",
                "/api/v1/tokens/{id}",
                &format!("/api/v1/tokens/{doomed_id}"),
                None,
                "admin",
                204,
            ),
            route(
                "GET",
                "/api/v1/integrations",
                "/api/v1/integrations",
                None,
                "viewer",
                200,
            ),
            route(
                "GET",
                "/api/v1/integrations/{name}",
                "/api/v1/integrations/cicd",
                None,
                "viewer",
                200,
            ),
            route(
                "GET",
                "/api/v1/integrations/{name}/log",
                "/api/v1/integrations/vulnerability-scanning/log?after=0",
                None,
                "viewer",
                200,
            ),
            // Both are installed: the admin passes the role check and meets the state machine.
            route(
                "POST",
                "/api/v1/integrations/{name}/install",
                "/api/v1/integrations/cicd/install",
                None,
                "admin",
                409,
            ),
            route(
                "POST",
                "/api/v1/integrations/{name}/retry",
                "/api/v1/integrations/cicd/retry",
                None,
                "admin",
                409,
            ),
            route(
                "POST",
                "/api/v1/integrations/{name}/update",
                "/api/v1/integrations/cicd/update",
                None,
                "admin",
                409,
            ),
        ];

        // The three lists agree: this matrix, the served document, the README.
        let doc = call(base, "GET", "/api/openapi.json", None, Payload::None).body;
        assert_eq!(
            doc["openapi"].as_str().map(|v| &v[..2]),
            Some("3."),
            "{doc}"
        );
        let walked: BTreeSet<(String, String)> = routes
            .iter()
            .map(|r| (r.method.to_owned(), r.template.to_owned()))
            .collect();
        assert_eq!(walked.len(), routes.len(), "a route is walked twice");
        assert_eq!(
            openapi_routes(&doc),
            walked,
            "OpenAPI document vs the walked routes"
        );
        assert_eq!(
            readme_routes(),
            walked,
            "README route table vs the walked routes"
        );

        let mut cases = Vec::new();
        for r in &routes {
            let send = |who: Option<&str>, role: &str| {
                let path = r.path.replace("{r}", role);
                let body: Option<Value> = r
                    .body
                    .as_ref()
                    .map(|b| serde_json::from_str(&b.to_string().replace("{r}", role)).unwrap());
                let payload = match (&body, r.template) {
                    (_, "/api/v1/db/import") => Payload::Raw(feed.clone()),
                    (_, "/api/v1/vex") if r.method == "POST" => Payload::Raw(
                        json!({
                            "@context": "https://openvex.dev/ns/v0.2.0",
                            "@id": "https://example.com/vex/matrix",
                            "statements": [{"vulnerability": {"name": "CVE-2005-2541"},
                                "products": [{"@id": "pkg:deb/debian/tar"}],
                                "status": "not_affected",
                                "justification": "vulnerable_code_not_in_execute_path"}]
                        })
                        .to_string()
                        .into_bytes(),
                    ),
                    (Some(b), _) => Payload::Json(b.clone()),
                    (None, _) => Payload::None,
                };
                call(base, r.method, &path, who, payload)
            };
            let none = send(None, "none");
            assert_eq!(
                none.status, 401,
                "[{}] {} {} without a token: {:?}",
                env.backend, r.method, r.path, none.body
            );
            assert!(none.body["error"].is_string(), "{:?}", none.body);
            let bad = send(Some("vgl_0000"), "none");
            assert_eq!(
                bad.status, 401,
                "[{}] {} {} with an unknown token",
                env.backend, r.method, r.path
            );
            for role in ROLES {
                let a = send(Some(&tokens[role]), role);
                let want = if rank(role) >= rank(r.min) { r.ok } else { 403 };
                assert_eq!(
                    a.status, want,
                    "[{}] {} {} as {role}: {:?}",
                    env.backend, r.method, r.path, a.body
                );
                if want == 403 {
                    let e = a.body["error"].as_str().unwrap_or_default();
                    assert!(e.contains(&format!("needs role {}", r.min)), "{e}");
                    continue;
                }
                cases.push(
                    json!({"method": r.method, "path": r.template, "status": a.status,
                    "body": a.body}),
                );
            }
        }
        // The unauthenticated routes.
        for (path, want) in [("/healthz", "ok"), ("/readyz", "ready")] {
            let a = call(base, "GET", path, None, Payload::None);
            assert_eq!((a.status, a.body.as_str()), (200, Some(want)), "{path}");
        }
        let metrics = call(base, "GET", "/metrics", None, Payload::None);
        assert_eq!(metrics.status, 200);
        let m = metrics.body.as_str().unwrap();
        for needle in [
            "vigil_http_requests_total{",
            "status=\"403\"",
            "vigil_http_request_duration_seconds_bucket{",
            "vigil_queue_depth",
        ] {
            assert!(m.contains(needle), "/metrics has no {needle}:\n{m}");
        }
        validate_against_openapi(&doc, &cases);
    }
}

/// SPEC 11.3: a token restricted to an application sees nothing of another: its lists
/// leave it out, and asking for it by name is a 404, as if it did not exist.
#[test]
fn a_restricted_token_sees_nothing_of_other_applications() {
    let Some(p) = prepared() else { return };
    let env = p.sqlite_copy();
    let d = p.digest.as_str();
    env.ok(&["app", "add", "other"], 0);
    env.ok(
        &[
            "pipeline",
            "add",
            "other-ci",
            "--app",
            "other",
            "--scan-enabled",
        ],
        0,
    );
    env.ok(&["deploy", "record", "--app", "web", "--env", "prod", d], 0);
    env.ok(
        &["deploy", "record", "--app", "other", "--env", "staging", d],
        0,
    );
    env.ok(
        &[
            "policy",
            "cve",
            "add",
            "CVE-2005-2541",
            "--scope",
            "app:other",
            "--action",
            "block",
            "--reason",
            "theirs",
        ],
        0,
    );
    let admin = token(&env, "admin", "root", None);
    let viewer = token(&env, "viewer", "web-viewer", Some("web"));
    let ci = token(&env, "ci", "web-ci-token", Some("web"));
    let server = Server::start(&env, &[]);
    let get = |t: &str, path: &str| call(&server.base, "GET", path, Some(t), Payload::None);
    let post = |t: &str, path: &str, body: Value| {
        call(&server.base, "POST", path, Some(t), Payload::Json(body))
    };

    assert_eq!(get(&admin, "/api/v1/apps").body, json!(["other", "web"]));
    assert_eq!(get(&viewer, "/api/v1/apps").body, json!(["web"]));
    let pipelines = get(&viewer, "/api/v1/pipelines").body;
    assert_eq!(pipelines.as_array().unwrap().len(), 1, "{pipelines}");
    assert_eq!(pipelines[0]["application"], "web");
    for path in ["/api/v1/deployments", "/api/v1/deployed", "/api/v1/scans"] {
        let all = get(&admin, path).body;
        let mine = get(&viewer, path).body;
        let apps = |v: &Value| -> BTreeSet<String> {
            v.as_array()
                .unwrap()
                .iter()
                .filter_map(|r| r["application"].as_str().map(str::to_owned))
                .collect()
        };
        if path != "/api/v1/scans" {
            assert!(apps(&all).contains("other"), "{path}: {all}");
        }
        assert_eq!(
            apps(&mine),
            BTreeSet::from(["web".to_owned()]),
            "{path}: {mine}"
        );
    }
    let audit = get(&viewer, "/api/v1/policies/audit").body;
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .all(|e| !e.to_string().contains("app:other")),
        "{audit}"
    );
    for path in [
        "/api/v1/policies?scope=app:other".to_owned(),
        "/api/v1/policies?scope=app:other@env:prod".to_owned(),
        format!("/api/v1/explain?application=other&environment=staging&image={d}"),
    ] {
        let a = get(&viewer, &path);
        assert_eq!(a.status, 404, "{path}: {:?}", a.body);
        assert!(
            a.body["error"].as_str().unwrap().contains("\"other\""),
            "{:?}",
            a.body
        );
        assert_eq!(get(&admin, &path).status, 200, "{path}");
    }
    // A restricted ci token acts only for its application.
    let gate = json!({"application": "other", "environment": "prod", "image": d});
    assert_eq!(post(&ci, "/api/v1/gate", gate.clone()).status, 404);
    assert_eq!(post(&admin, "/api/v1/gate", gate).status, 200);
    let dep = json!({"application": "other", "environment": "prod", "digest": d});
    assert_eq!(post(&ci, "/api/v1/deployments", dep).status, 404);
    let a = post(
        &ci,
        "/api/v1/scans",
        json!({"image": p.image, "pipeline": "other-ci"}),
    );
    assert_eq!(a.status, 404, "{:?}", a.body);
    let a = post(&ci, "/api/v1/scans", json!({"image": p.image}));
    assert_eq!(a.status, 422, "{:?}", a.body);
    let a = post(
        &ci,
        "/api/v1/scans",
        json!({"image": p.image, "pipeline": "web-ci"}),
    );
    assert_eq!(
        (a.status, a.body["outcome"].as_str()),
        (200, Some("reused")),
        "{:?}",
        a.body
    );
    // An admin token cannot be restricted.
    let a = post(
        &admin,
        "/api/v1/tokens",
        json!({"name": "x", "role": "admin", "apps": ["web"]}),
    );
    assert_eq!(a.status, 422, "{:?}", a.body);
}

/// Wrong API calls get their status and a reason that names the problem; never SQL, a
/// backtrace or an HTML page.
#[test]
fn wrong_api_calls_get_a_status_and_a_reason() {
    let Some(p) = prepared() else { return };
    let mut envs = vec![p.sqlite_copy()];
    envs.extend(p.postgres_copy("serve_errors"));
    for env in envs {
        let admin = token(&env, "admin", "root", None);
        let server = Server::start(&env, &[]);
        let send = |method: &str, path: &str, body: Payload| {
            let a = call(&server.base, method, path, Some(&admin), body);
            let reason = a.body["error"].as_str().unwrap_or_else(|| {
                panic!(
                    "[{}] {method} {path}: no {{\"error\"}} in {:?}",
                    env.backend, a.body
                )
            });
            for leak in ["SELECT", "INSERT", "sqlx", "panicked", "stack backtrace"] {
                assert!(!reason.contains(leak), "{method} {path}: {reason}");
            }
            (a.status, reason.to_owned())
        };
        let raw = |b: &[u8]| Payload::Raw(b.to_vec());
        let cases: Vec<(&str, &str, Payload, u16, &str)> = vec![
            ("POST", "/api/v1/clusters", raw(b"{\"name\": "), 400, "JSON"),
            (
                "POST",
                "/api/v1/clusters",
                Payload::Json(json!({"nom": "x"})),
                422,
                "name",
            ),
            (
                "POST",
                "/api/v1/clusters",
                Payload::Json(json!({"name": "eu"})),
                409,
                "already exists",
            ),
            (
                "POST",
                "/api/v1/clusters",
                Payload::Json(json!({"name": "Bad Name!"})),
                422,
                "Bad Name!",
            ),
            ("DELETE", "/api/v1/clusters/eu", Payload::None, 409, "eu"),
            (
                "DELETE",
                "/api/v1/clusters/nowhere",
                Payload::None,
                404,
                "nowhere",
            ),
            ("GET", "/api/v1/scans/987654", Payload::None, 404, "987654"),
            ("GET", "/api/v1/scans/abc", Payload::None, 400, "abc"),
            (
                "GET",
                "/api/v1/deployed?sort=colour",
                Payload::None,
                422,
                "colour",
            ),
            (
                "GET",
                "/api/v1/policies?scope=galaxy:x",
                Payload::None,
                422,
                "galaxy:x",
            ),
            (
                "PUT",
                "/api/v1/policies/severities",
                Payload::Json(json!({"scope": "global", "severity": "dire", "action": "block"})),
                422,
                "dire",
            ),
            (
                "POST",
                "/api/v1/gate",
                Payload::Json(
                    json!({"application": "web", "environment": "prod", "image": "sha256:xyz"}),
                ),
                422,
                "sha256:xyz",
            ),
            (
                "POST",
                "/api/v1/deployments",
                Payload::Json(
                    json!({"application": "nope", "environment": "prod", "digest": p.digest}),
                ),
                404,
                "nope",
            ),
            (
                "POST",
                "/api/v1/db/import?format=osv&name=broken",
                raw(b"{\"id\": 42, \"modified\": "),
                422,
                "broken",
            ),
            (
                "GET",
                "/api/v1/no-such-thing",
                Payload::None,
                404,
                "/api/v1/no-such-thing",
            ),
        ];
        let db_status = || {
            call(
                &server.base,
                "GET",
                "/api/v1/db/status",
                Some(&admin),
                Payload::None,
            )
            .body
        };
        let before = db_status();
        for (method, path, body, status, needle) in cases {
            let (got, reason) = send(method, path, body);
            assert_eq!(got, status, "[{}] {method} {path}: {reason}", env.backend);
            assert!(
                reason.contains(needle),
                "[{}] {method} {path}: {reason:?} should name {needle:?}",
                env.backend
            );
        }
        // The rejected import changed nothing.
        let after = db_status();
        // (Ages tick while the test runs: compare what was imported.)
        let imported = |status: &Value| -> Vec<(Value, Value, Value, Value)> {
            status["sources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    let f = |k: &str| s[k].clone();
                    (f("name"), f("digest"), f("records"), f("imported_at"))
                })
                .collect()
        };
        assert_eq!(imported(&before), imported(&after));
        assert_eq!(imported(&before).len(), 3, "{before}");
    }
}

/// The CLI's `--server` mode says what is wrong with the server, the token or the role.
#[test]
fn the_cli_names_server_token_and_role_problems() {
    let Some(p) = prepared() else { return };
    let env = p.sqlite_copy();
    let viewer = token(&env, "viewer", "reader", None);
    let server = Server::start(&env, &[]);
    let client = Vigil::new();
    let run = |vars: &[(&str, &str)], args: &[&str]| {
        let mut cmd = client.cmd();
        cmd.env("VIGIL_LOG", "warn");
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let out = cmd.args(args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        text(&out.stderr)
    };
    let err = run(&[("VIGIL_SERVER", &server.base)], &["cluster", "list"]);
    assert!(err.contains("no API token"), "{err}");
    assert!(err.contains("VIGIL_TOKEN"), "{err}");
    let err = run(
        &[("VIGIL_SERVER", &server.base), ("VIGIL_TOKEN", "vgl_nope")],
        &["cluster", "list"],
    );
    assert!(err.contains("401"), "{err}");
    assert!(err.contains("does not know this token"), "{err}");
    let err = run(
        &[("VIGIL_SERVER", &server.base), ("VIGIL_TOKEN", &viewer)],
        &["cluster", "add", "mars"],
    );
    assert!(err.contains("403"), "{err}");
    assert!(err.contains("needs role admin"), "{err}");
    let down = format!("http://127.0.0.1:{}", free_port());
    let err = run(
        &[("VIGIL_SERVER", &down), ("VIGIL_TOKEN", &viewer)],
        &["app", "list"],
    );
    assert!(err.contains(&down), "{err}");
    assert!(err.contains("is `vigil serve` running"), "{err}");
    let err = run(
        &[("VIGIL_SERVER", "localhost:8080"), ("VIGIL_TOKEN", &viewer)],
        &["app", "list"],
    );
    assert!(err.contains("invalid server URL"), "{err}");
    // What a viewer may do works.
    let out = client
        .cmd()
        .env("VIGIL_SERVER", &server.base)
        .env("VIGIL_TOKEN", &viewer)
        .args(["app", "list"])
        .output()
        .unwrap();
    assert_eq!(text(&out.stdout), "web\n", "{}", text(&out.stderr));
}

/// SPEC 9.5: two replicas on one PostgreSQL share the queue. 200 forced scans of the test
/// images are submitted through both; one replica is killed with SIGKILL while it holds
/// scans; every scan completes, exactly once, the killed replica's claims taken over by the
/// other once their lease ran out. Then SIGTERM stops the survivor cleanly.
#[test]
fn two_replicas_share_the_queue_and_survive_a_sigkill() {
    let Some(p) = prepared() else { return };
    let Some(env) = p.postgres_copy("replicas") else {
        return;
    };
    let Some(img) = images() else { return };
    let ci = token(&env, "ci", "pipeline", None);
    let config = env.vigil.home.path().join("serve.toml");
    std::fs::write(&config, "[db]\nsources = []\n\n[serve]\nlease = \"3s\"\n").unwrap();
    for name in ["cicd", "vulnerability-scanning"] {
        let out = env
            .cmd()
            .env("VIGIL_CONFIG", &config)
            .args(["integrations", "install", name])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let replica = |name: &str| {
        let home = Vigil::new();
        let mut cmd = home.cmd();
        cmd.env("VIGIL_DATABASE_URL", env.url.as_ref().unwrap())
            .env("VIGIL_CONFIG", &config);
        let log = env.vigil.home.path().join(format!("{name}.log"));
        (Server::start_with(cmd, &log, &["--workers", "2"]), home)
    };
    let (mut a, _a_home) = replica("a");
    let (b, _b_home) = replica("b");
    let images = [
        p.image.clone(),
        format!("docker-archive:{}", img.join("app.docker.tar").display()),
        format!("oci-archive:{}", img.join("app.oci.tar").display()),
    ];
    let submit = |server: &Server, i: usize| -> i64 {
        let body = json!({"image": images[i % images.len()], "force": true});
        let a = call(
            &server.base,
            "POST",
            "/api/v1/scans",
            Some(&ci),
            Payload::Json(body),
        );
        assert_eq!(a.status, 202, "{:?}", a.body);
        a.body["scan"]["id"].as_i64().unwrap()
    };
    let mut ids = Vec::new();
    for i in 0..100 {
        ids.push(submit(if i % 2 == 0 { &a } else { &b }, i));
    }
    // Kill A once it has finished some scans, while one of its workers is scanning (a
    // claim it will never finish).
    let progress = |s: &Server| -> (BTreeSet<i64>, usize) {
        let mut started = BTreeSet::new();
        let mut done = 0;
        for l in s.log_lines() {
            let f = &l["fields"];
            match f["message"].as_str() {
                Some("scanning") => {
                    started.insert(f["scan"].as_i64().unwrap());
                }
                Some("scan finished") => {
                    started.remove(&f["scan"].as_i64().unwrap());
                    done += 1;
                }
                _ => {}
            }
        }
        (started, done)
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (held, done) = progress(&a);
        if (done >= 5 && !held.is_empty()) || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    a.kill();
    let (orphans, _) = progress(&a);
    for i in 100..200 {
        ids.push(submit(&b, i));
    }
    let deadline = Instant::now() + Duration::from_secs(600);
    let scans = loop {
        let all = call(
            &b.base,
            "GET",
            "/api/v1/scans?limit=1000",
            Some(&ci),
            Payload::None,
        )
        .body;
        let mine: BTreeMap<i64, Value> = all
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| ids.contains(&s["id"].as_i64().unwrap()))
            .map(|s| (s["id"].as_i64().unwrap(), s.clone()))
            .collect();
        assert_eq!(mine.len(), 200);
        if mine
            .values()
            .all(|s| s["state"] == "completed" || s["state"] == "failed")
        {
            break mine;
        }
        assert!(
            Instant::now() < deadline,
            "scans still pending after 10 minutes"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    for (id, s) in &scans {
        assert_eq!(s["state"], "completed", "scan {id}: {s}");
        assert_eq!(s["complete"], true, "scan {id}: {s}");
    }
    // Exactly once: each scan finished once in all the replicas' logs together.
    let mut finished: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for (name, server) in [("a", &a), ("b", &b)] {
        for l in server.log_lines() {
            let f = &l["fields"];
            if f["message"] == "scan finished" {
                finished
                    .entry(f["scan"].as_i64().unwrap())
                    .or_default()
                    .push(format!("{name}: {}", f["outcome"]));
            }
        }
    }
    for id in &ids {
        let seen = finished.get(id).cloned().unwrap_or_default();
        assert_eq!(seen.len(), 1, "scan {id} finished {seen:?}");
    }
    let by_a = finished.values().filter(|v| v[0].starts_with("a:")).count();
    assert!(
        by_a > 0 && by_a < 200,
        "replica A finished {by_a} scans; it held {orphans:?} when killed; its log:\n{}",
        std::fs::read_to_string(&a.log).unwrap()
    );
    // What A held when it died was finished by B, on a later claim.
    assert!(!orphans.is_empty());
    for id in &orphans {
        assert!(
            finished[id][0].starts_with("b:"),
            "scan {id}: {:?}",
            finished[id]
        );
        assert!(
            scans[id]["attempts"].as_i64().unwrap() >= 2,
            "{}",
            scans[id]
        );
    }
    // SIGTERM: B stops accepting, finishes or releases, and exits 0.
    let mut b = b;
    let status = Command::new("kill")
        .args(["-TERM", &b.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(60);
    let code = loop {
        if let Some(s) = b.child.try_wait().unwrap() {
            break s.code();
        }
        assert!(Instant::now() < deadline, "vigil serve ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(
        code,
        Some(0),
        "{}",
        std::fs::read_to_string(&b.log).unwrap()
    );
}

/// A CA and a server certificate it signs for 127.0.0.1, made with openssl in `dir`:
/// (CA certificate, server certificate, server key).
pub fn make_certs(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let (ca, cert, key) = (dir.join("ca.crt"), dir.join("tls.crt"), dir.join("tls.key"));
    let ext = dir.join("leaf.ext");
    std::fs::write(
        &ext,
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    let p = |path: &Path| path.to_str().unwrap().to_owned();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let ca_key = p(&dir.join("ca.key"));
    let csr = p(&dir.join("tls.csr"));
    for args in [
        // A CA, and a server certificate it signs for 127.0.0.1.
        [
            &["req", "-x509"][..],
            &ec,
            &["-days", "1", "-subj", "/CN=vigil test CA"],
            &["-keyout", &ca_key, "-out", &p(&ca)],
        ]
        .concat(),
        [
            &["req"][..],
            &ec,
            &["-subj", "/CN=127.0.0.1", "-keyout", &p(&key), "-out", &csr],
        ]
        .concat(),
        vec![
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &p(&ca),
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            &p(&ext),
            "-out",
            &p(&cert),
        ],
    ] {
        let out = Command::new("openssl").args(&args).output().unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            text(&out.stderr)
        );
    }
    (ca, cert, key)
}

/// `vigil serve --tls-cert --tls-key`: HTTPS with a certificate the test makes (openssl),
/// checked by curl against that certificate; plain HTTP on the same port is refused, and a
/// key that does not load is a clear error at start.
#[test]
fn https_with_a_configured_certificate() {
    if require(have("openssl") && have("curl"), "openssl and curl").is_none() {
        return;
    }
    let Some(p) = prepared() else { return };
    let env = p.sqlite_copy();
    let (ca, cert, key) = make_certs(env.vigil.home.path());
    let viewer = token(&env, "viewer", "tls-viewer", None);
    let server = Server::start(
        &env,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    assert!(
        server.base.starts_with("https://127.0.0.1:"),
        "{}",
        server.base
    );
    let out = Command::new("curl")
        .args(["-sS", "--cacert"])
        .arg(&ca)
        .arg(format!("{}/healthz", server.base))
        .output()
        .unwrap();
    assert_eq!(text(&out.stdout), "ok", "{}", text(&out.stderr));
    // Under TLS the dashboard's session cookie is Secure.
    let out = Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-D", "-", "--cacert"])
        .arg(&ca)
        .args(["--data-urlencode", &format!("token={viewer}")])
        .arg(format!("{}/ui/login", server.base))
        .output()
        .unwrap();
    let headers = text(&out.stdout);
    assert!(
        headers.contains("HttpOnly; SameSite=Strict; Secure"),
        "{headers}"
    );
    // The CLI trusts the server's certificate given as its CA, and nothing else.
    let cli = |ca: Option<&Path>| {
        let mut cmd = Vigil::new().cmd();
        cmd.env("VIGIL_SERVER", &server.base)
            .env("VIGIL_TOKEN", &viewer)
            .args(["app", "list"]);
        if let Some(ca) = ca {
            cmd.arg("--server-ca").arg(ca);
        }
        cmd.output().unwrap()
    };
    let out = cli(Some(&ca));
    assert_eq!(text(&out.stdout), "web\n", "{}", text(&out.stderr));
    let out = cli(None);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains(&server.base) && err.contains("--server-ca"),
        "{err}"
    );

    let out = cli(Some(&key));
    assert!(
        text(&out.stderr).contains("no PEM certificate"),
        "{}",
        text(&out.stderr)
    );
    let plain = server.base.replace("https://", "http://");
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "5", &format!("{plain}/healthz")])
        .output()
        .unwrap();
    assert_ne!(
        text(&out.stdout),
        "ok",
        "plain HTTP answered on the TLS port"
    );
    // A key file that is not a key: the server does not start, and says which files.
    std::fs::write(&key, "not a key").unwrap();
    let out = env
        .cmd()
        .args(["serve", "--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("tls.key") && err.contains("does not load"),
        "{err}"
    );
}

/// A dashboard page as the signed-in holder of `token` sees it.
pub fn ui_page(base: &str, path: &str, token: &str) -> String {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut answer = agent
        .get(format!("{base}{path}"))
        .header("Cookie", format!("vigil_session={token}"))
        .call()
        .expect("GET a dashboard page");
    assert_eq!(answer.status(), 200, "{path}");
    answer.body_mut().read_to_string().unwrap()
}
