//! Integrations and their install life cycle (issue 10, SPEC 8), against real servers on
//! 127.0.0.1: `vigil serve` and a feed server (scripts/feed-server.py) that serves the shared
//! fixture feeds, fails the first requests, never answers, or sends a corrupt feed.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::*;
use crate::platform::{Env, fresh};
use crate::serve::{Server, install_integrations};

/// A running feed server, killed when dropped.
pub struct FeedServer {
    child: Child,
    pub port: u16,
}

impl FeedServer {
    pub fn start(args: &[&str]) -> FeedServer {
        let mut child = Command::new("python3")
            .arg(workspace().join("scripts/feed-server.py"))
            .arg(shared_fixtures().join("feeds"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start scripts/feed-server.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("port ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("feed server did not start: {line:?}"));
        FeedServer { child, port }
    }
}

impl Drop for FeedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh local store whose configuration names the feed server's Debian tracker feed as
/// its one source, with quick retries.
pub fn configured(env: Env, port: u16, deadline: &str, max_retries: u32) -> Env {
    let cfg = env.vigil.home.path().join("config/vigil/config.toml");
    std::fs::create_dir_all(cfg.parent().unwrap()).unwrap();
    std::fs::write(
        &cfg,
        format!(
            r#"
[[db.sources]]
name = "debian-tracker"
url = "http://127.0.0.1:{port}/debian-tracker/bookworm.json"
format = "debian-tracker"

[integrations]
max_retries = {max_retries}
backoff = "200ms"
deadline = "{deadline}"
lease = "2s"
"#
        ),
    )
    .unwrap();
    env
}

struct Api {
    base: String,
    token: String,
}

impl Api {
    fn of(server: &Server, token: &str) -> Api {
        Api {
            base: server.base.clone(),
            token: token.to_owned(),
        }
    }

    fn send(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let req = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("Authorization", format!("Bearer {}", self.token))
            .header("Content-Type", "application/json");
        let bytes = body
            .map(|b| serde_json::to_vec(&b).unwrap())
            .unwrap_or_default();
        let mut resp = agent.run(req.body(bytes).unwrap()).unwrap();
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    fn get(&self, path: &str) -> Value {
        let (status, body) = self.send("GET", path, None);
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    fn post(&self, path: &str) -> (u16, Value) {
        self.send("POST", path, Some(json!({})))
    }

    fn integration(&self, name: &str) -> Value {
        self.get(&format!("/api/v1/integrations/{name}"))
    }

    fn log(&self, name: &str) -> String {
        let page = self.get(&format!("/api/v1/integrations/{name}/log"));
        page["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| format!("{}\n", l["line"].as_str().unwrap()))
            .collect()
    }

    /// Waits until `name` is no longer installing; its final state.
    fn wait_end(&self, name: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let i = self.integration(name);
            if !matches!(i["status"].as_str(), Some("initializing" | "installing")) {
                return i;
            }
            assert!(Instant::now() < deadline, "{name} still installing: {i}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn admin(env: &Env) -> String {
    env.ok(&["token", "create", "--role", "admin", "--name", "ops"], 0)
        .trim()
        .to_owned()
}

/// The whole life cycle on one server: what is refused before an install, the prerequisite,
/// a feed server failing the first two requests (installed on the third try, the tries in
/// the log), a second install refused while one runs, and the API and CLI views.
#[test]
fn install_life_cycle_with_retries_and_refusals() {
    let feeds = FeedServer::start(&["--fail-first", "2"]);
    let env = configured(
        Env::local(Vigil::new(), None, "sqlite"),
        feeds.port,
        "2m",
        3,
    );
    let token = admin(&env);
    let server = Server::start_bare(&env, &[]);
    let api = Api::of(&server, &token);
    let all = api.get("/api/v1/integrations");
    assert_eq!(all[0]["name"], "cicd");
    assert_eq!(all[0]["status"], "not_installed");
    assert_eq!(all[0]["title"], "Build and Deploy (CI/CD)");
    assert_eq!(all[1]["name"], "vulnerability-scanning");
    assert_eq!(all[1]["requires"], json!(["cicd"]));
    assert_eq!(all[1]["update_available"], false);

    // Before the installs: entities, scans and the gate are refused, naming the integration.
    let (status, body) = api.send("POST", "/api/v1/clusters", Some(json!({"name": "eu"})));
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("integrations install cicd"),
        "{body}"
    );
    for (path, body) in [
        ("/api/v1/scans", json!({"image": "oci:/nowhere:app"})),
        (
            "/api/v1/gate",
            json!({"application": "web", "environment": "prod", "image": format!("sha256:{}", "a".repeat(64))}),
        ),
    ] {
        let (status, answer) = api.send("POST", path, Some(body));
        assert_eq!(status, 409, "{path}: {answer}");
        let e = answer["error"].as_str().unwrap();
        assert!(
            e.contains("integrations install vulnerability-scanning"),
            "{e}"
        );
    }
    // The prerequisite, and nothing to retry yet.
    let (status, body) = api.post("/api/v1/integrations/vulnerability-scanning/install");
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("requires cicd"),
        "{body}"
    );
    let (status, body) = api.post("/api/v1/integrations/cicd/retry");
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("nothing to retry"),
        "{body}"
    );
    let (status, _) = api.post("/api/v1/integrations/nope/install");
    assert_eq!(status, 404);

    let (status, body) = api.post("/api/v1/integrations/cicd/install");
    assert_eq!(status, 202, "{body}");
    assert_eq!(api.wait_end("cicd")["status"], "installed");
    let (status, _) = api.send("POST", "/api/v1/clusters", Some(json!({"name": "eu"})));
    assert_eq!(status, 201);

    let (status, body) = api.post("/api/v1/integrations/vulnerability-scanning/install");
    assert_eq!(status, 202, "{body}");
    assert!(
        matches!(body["status"].as_str(), Some("initializing" | "installing")),
        "{body}"
    );
    // One install at a time, and not twice.
    let (status, body) = api.post("/api/v1/integrations/vulnerability-scanning/install");
    assert_eq!(status, 409, "{body}");
    let (status, body) = api.post("/api/v1/integrations/cicd/install");
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("installed already"),
        "{body}"
    );

    // The tries are visible while it runs.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = api.integration("vulnerability-scanning");
        if now["attempts"].as_u64().unwrap_or(0) >= 2 || now["status"] == "installed" {
            assert!(now["attempts"].as_u64().unwrap() >= 2, "{now}");
            break;
        }
        assert!(Instant::now() < deadline, "{now}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let done = api.wait_end("vulnerability-scanning");
    assert_eq!(
        done["status"],
        "installed",
        "{done}\n{}",
        api.log("vulnerability-scanning")
    );
    assert_eq!(done["attempts"], 3, "{done}");
    assert_eq!(done["installed_version"], done["version"]);
    let log = api.log("vulnerability-scanning");
    for needle in [
        "attempt 1 of at most 4",
        "attempt 1 failed: source debian-tracker: download http://127.0.0.1:",
        "unexpected HTTP status 503",
        "attempt 3 of at most 4",
        "done: load feed debian-tracker in ",
        "done: check the vulnerability database",
        "done: start the scan workers",
        "installed ",
    ] {
        assert!(log.contains(needle), "no {needle:?} in the log:\n{log}");
    }
    // The database was loaded from the feed server.
    let status = api.get("/api/v1/db/status");
    assert!(status.to_string().contains("debian-tracker"), "{status}");

    // The CLI against the server.
    let cli = |args: &[&str], code: i32| -> String {
        let out = Vigil::new()
            .cmd()
            .env("VIGIL_SERVER", &server.base)
            .env("VIGIL_TOKEN", &api.token)
            .args(args)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: {}",
            text(&out.stderr)
        );
        text(&out.stdout) + &text(&out.stderr)
    };
    let table = cli(&["integrations", "list"], 0);
    assert!(table.starts_with("NAME"), "{table}");
    assert!(
        table.contains("vulnerability-scanning") && table.contains("installed"),
        "{table}"
    );
    let logs = cli(&["integrations", "logs", "vulnerability-scanning"], 0);
    assert!(logs.contains("done: load feed debian-tracker"), "{logs}");
    let err = cli(&["integrations", "retry", "cicd"], 2);
    assert!(
        err.contains("409") && err.contains("nothing to retry"),
        "{err}"
    );
}

/// A feed server that never answers: the install runs into its deadline and ends
/// `timed_out` with the reason and the log kept; after the server recovers, a retry
/// (the CLI, following the log) ends `installed`.
#[test]
fn a_feed_server_that_never_answers_times_out_then_a_retry_installs() {
    let hanging = FeedServer::start(&["--hang"]);
    let port = hanging.port;
    let env = configured(Env::local(Vigil::new(), None, "sqlite"), port, "4s", 10);
    let token = admin(&env);
    let server = Server::start_bare(&env, &[]);
    let api = Api::of(&server, &token);
    assert_eq!(api.post("/api/v1/integrations/cicd/install").0, 202);
    assert_eq!(api.wait_end("cicd")["status"], "installed");
    assert_eq!(
        api.post("/api/v1/integrations/vulnerability-scanning/install")
            .0,
        202
    );
    let done = api.wait_end("vulnerability-scanning");
    assert_eq!(done["status"], "timed_out", "{done}");
    let reason = done["reason"].as_str().unwrap();
    assert!(
        reason.contains("deadline") || reason.contains("maximum retries"),
        "{reason}"
    );
    let log = api.log("vulnerability-scanning");
    assert!(log.contains("timed out: "), "{log}");
    // Scans stay refused.
    let (status, _) = api.send(
        "POST",
        "/api/v1/scans",
        Some(json!({"image": "oci:/x:app"})),
    );
    assert_eq!(status, 409);

    drop(hanging);
    let _feeds = FeedServer::start(&["--port", &port.to_string()]);
    let out = Vigil::new()
        .cmd()
        .env("VIGIL_SERVER", &server.base)
        .env("VIGIL_TOKEN", &api.token)
        .args([
            "integrations",
            "retry",
            "vulnerability-scanning",
            "--follow",
        ])
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(
        stdout.contains("retry of Vulnerability Scanning"),
        "{stdout}"
    );
    assert!(
        stdout.contains("done: load feed debian-tracker"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("timed out: "),
        "old lines printed again: {stdout}"
    );
    assert_eq!(
        api.integration("vulnerability-scanning")["status"],
        "installed"
    );
}

/// A corrupt feed cannot be fixed by trying again: `failed` at once, the log and the
/// reason naming the feed and the problem; the local CLI says so with exit 2.
#[test]
fn a_corrupt_feed_fails_at_once_naming_the_feed() {
    let feeds = FeedServer::start(&["--corrupt"]);
    let env = configured(
        Env::local(Vigil::new(), None, "sqlite"),
        feeds.port,
        "2m",
        3,
    );
    env.ok(&["integrations", "install", "cicd"], 0);
    let out = env.run(&["integrations", "install", "vulnerability-scanning"]);
    assert_eq!(out.status.code(), Some(2));
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("ended failed"), "{stderr}");
    assert!(stderr.contains("debian-tracker"), "{stderr}");
    assert!(stdout.contains("attempt 1 of at most 4"), "{stdout}");
    assert!(
        !stdout.contains("attempt 2"),
        "retried a corrupt feed: {stdout}"
    );
    let list = env.json(&["integrations", "list"], 0);
    let vs = &list[1];
    assert_eq!(vs["status"], "failed");
    assert_eq!(vs["attempts"], 1);
    let reason = vs["reason"].as_str().unwrap();
    assert!(
        reason.contains("source debian-tracker") && reason.contains("bookworm.json"),
        "{reason}"
    );
    // The log is kept.
    let logs = env.ok(&["integrations", "logs", "vulnerability-scanning"], 0);
    assert!(logs.contains("failed: source debian-tracker"), "{logs}");
}

/// A replica killed in the middle of an install: the install is not left `installing`;
/// the next replica takes it over once the lease ran out and finishes it.
#[test]
fn an_install_interrupted_by_a_restart_is_resumed() {
    let feeds = FeedServer::start(&["--delay", "3"]);
    let env = configured(
        Env::local(Vigil::new(), None, "sqlite"),
        feeds.port,
        "2m",
        3,
    );
    let token = admin(&env);
    env.ok(&["integrations", "install", "cicd"], 0);
    let mut first = Server::start_bare(&env, &[]);
    let api = Api::of(&first, &token);
    assert_eq!(
        api.post("/api/v1/integrations/vulnerability-scanning/install")
            .0,
        202
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !api
        .log("vulnerability-scanning")
        .contains("step: load feed")
    {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(50));
    }
    first.kill();
    let second = Server::start_bare(&env, &[]);
    let api = Api::of(&second, &token);
    assert_eq!(
        api.integration("vulnerability-scanning")["status"],
        "installing"
    );
    let done = api.wait_end("vulnerability-scanning");
    assert_eq!(done["status"], "installed", "{done}");
    let log = api.log("vulnerability-scanning");
    assert!(log.contains("resumed on "), "{log}");
    assert!(log.contains("stopped renewing its claim"), "{log}");
}

/// Two replicas on one PostgreSQL asked at the same moment: one install, one refusal.
#[test]
fn two_replicas_racing_to_install_run_it_once() {
    let Some(env) = fresh("install_race").into_iter().find(|e| e.url.is_some()) else {
        return;
    };
    let token = admin(&env);
    let a = Server::start_bare(&env, &[]);
    let b = Server::start_bare(&Env::local(Vigil::new(), env.url.clone(), "postgres"), &[]);
    let mut answers = race(&[&a.base, &b.base], &token, "cicd");
    answers.sort_unstable();
    assert_eq!(answers, [202, 409]);
    let api = Api::of(&a, &token);
    assert_eq!(api.wait_end("cicd")["status"], "installed");
    let log = api.log("cicd");
    assert_eq!(log.matches("requested on").count(), 1, "{log}");
    assert_eq!(log.matches("installed ").count(), 1, "{log}");
    // Installed: both refuse another install.
    assert_eq!(race(&[&a.base, &b.base], &token, "cicd"), [409, 409]);
}

/// POSTs `install` of `name` to every server at once; the statuses in server order.
fn race(bases: &[&str], token: &str, name: &str) -> Vec<u16> {
    let barrier = std::sync::Barrier::new(bases.len());
    std::thread::scope(|s| {
        let handles: Vec<_> = bases
            .iter()
            .map(|base| {
                let barrier = &barrier;
                s.spawn(move || {
                    let api = Api {
                        base: (*base).to_owned(),
                        token: token.to_owned(),
                    };
                    barrier.wait();
                    api.post(&format!("/api/v1/integrations/{name}/install")).0
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// SPEC 8.4: an integration installed by an older version shows an update; updating runs
/// its steps again and records the server's version.
#[test]
fn an_older_install_shows_an_update_and_updating_reruns_the_steps() {
    let env = Env::local(Vigil::new(), None, "sqlite");
    let mut import = env.cmd();
    import
        .args(["db", "import"])
        .arg(shared_fixtures().join("feeds/debian-tracker/bookworm.json"));
    assert!(import.output().unwrap().status.success());
    install_integrations(&env);
    let db = env.vigil.home.path().join("data/vigil.db");
    let out = Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); \
             c.execute(\"UPDATE integrations SET version = '0.0.1' WHERE name = 'vulnerability-scanning'\"); \
             c.commit()",
        ])
        .arg(&db)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let list = env.json(&["integrations", "list"], 0);
    assert_eq!(list[0]["update_available"], false);
    assert_eq!(list[1]["update_available"], true);
    assert_eq!(list[1]["installed_version"], "0.0.1");
    let table = env.ok(&["integrations", "list"], 0);
    assert!(table.contains("update available"), "{table}");
    let err = env.fails(&["integrations", "update", "cicd"]);
    assert!(err.contains("no update is available"), "{err}");
    let out = env.ok(&["integrations", "update", "vulnerability-scanning"], 0);
    assert!(out.contains("update of Vulnerability Scanning"), "{out}");
    assert!(
        out.contains("done: check the vulnerability database"),
        "{out}"
    );
    let list = env.json(&["integrations", "list"], 0);
    assert_eq!(list[1]["update_available"], false);
    assert_eq!(list[1]["installed_version"], list[1]["version"]);
}
