//! Notifications (issue 12, SPEC 7.7), on SQLite and PostgreSQL: a late advisory gives a
//! deployed image a finding the global policy blocks; the event written with the re-match
//! reaches a webhook receiver on 127.0.0.1 (scripts/webhook-receiver.py) that first fails,
//! then hangs past the timeout, and is signed (HMAC-SHA256 checked by Python's hmac); a
//! second event waits while the receiver is down and `vigil serve` is killed, and is
//! delivered once both are back. A finding the policy allows makes no event.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::*;
use crate::platform::{Env, prepared, set_global};
use crate::rematch::{advisory, import};
use crate::serve::{Payload, Server, call, token, ui_page as page};

const SECRET: &str = "webhook-secret-for-the-test";

/// A running scripts/webhook-receiver.py, killed when dropped.
struct Receiver(Child);

impl Receiver {
    fn start(log: &Path, port: u16, misbehave: &[&str]) -> Receiver {
        let mut child = Command::new("python3")
            .arg(workspace().join("scripts/webhook-receiver.py"))
            .arg(log)
            .args(["--port", &port.to_string(), "--secret", SECRET])
            .args(misbehave)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start scripts/webhook-receiver.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(
            line.trim(),
            format!("port {port}"),
            "receiver did not start"
        );
        Receiver(child)
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The requests the receiver logged.
fn received(log: &Path) -> Vec<Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("receiver log line"))
        .collect()
}

/// Waits up to a minute for `done`, then fails with `what`.
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The answers 200 the receiver gave for event `id`.
fn delivered(log: &Path, id: &str) -> usize {
    received(log)
        .iter()
        .filter(|r| r["event"] == id && r["status"] == 200)
        .count()
}

/// Source package names of Debian packages in the image, `first` first.
fn sources(env: &Env, image: &str, first: &str) -> Vec<String> {
    let inv = env.json(&["inventory", image], 0);
    let mut names: Vec<String> = inv["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["ecosystem"] == "deb")
        .map(|p| {
            p["source_name"]
                .as_str()
                .unwrap_or(p["name"].as_str().unwrap())
                .to_owned()
        })
        .collect();
    names.sort();
    names.dedup();
    names.retain(|n| n != first);
    names.insert(0, first.to_owned());
    names
}

#[test]
fn blocked_new_findings_reach_webhooks_at_least_once_across_failures_and_restarts() {
    let Some(p) = prepared() else { return };
    for env in p.copies("notify") {
        let port = free_port();
        let cfg = env.vigil.home.path().join("config/vigil/config.toml");
        std::fs::create_dir_all(cfg.parent().unwrap()).unwrap();
        let mut config = std::fs::read_to_string(&cfg).unwrap_or_default();
        config.push_str(&format!(
            "\n[notify]\nwebhooks = [\"http://127.0.0.1:{port}/hook\"]\nsecret = \"{SECRET}\"\n\
             timeout = \"1s\"\nbackoff = \"1s\"\nmax_backoff = \"2s\"\n"
        ));
        std::fs::write(&cfg, config).unwrap();
        let shown = env.ok(&["config", "show"], 0);
        assert!(shown.contains("secret = \"****\""), "{shown}");
        assert!(!shown.contains(SECRET), "the secret is masked: {shown}");

        env.ok(
            &[
                "deploy", "record", "--app", "web", "--env", "prod", &p.digest,
            ],
            0,
        );
        set_global(&env, "critical", "block");
        let names = sources(&env, &p.image, "expat");
        let log = env.vigil.home.path().join("received.jsonl");

        // 1. The receiver fails twice, then holds the third try past the 1 s timeout.
        let receiver = Receiver::start(
            &log,
            port,
            &[
                "--fail-first",
                "2",
                "--hang-next",
                "1",
                "--hang-seconds",
                "4",
            ],
        );
        let mut server = Server::start_bare(&env, &[]);
        let said = import(&env, &[advisory("VIGIL-LATE-1", &names[0])]);
        assert!(
            said.contains("1 deployment(s) gained findings the policy blocks"),
            "[{}] {said}",
            env.backend
        );
        let events = env.json(&["events", "list"], 0);
        assert_eq!(events.as_array().unwrap().len(), 1, "{events}");
        let first = events[0]["id"].to_string();
        wait_for("the first event to be delivered", || {
            delivered(&log, &first) == 1
        });
        let tries = received(&log);
        let statuses: Vec<String> = tries.iter().map(|r| r["status"].to_string()).collect();
        assert_eq!(
            statuses,
            ["500", "500", "\"hung\"", "200"],
            "[{}]",
            env.backend
        );
        for (n, r) in tries.iter().enumerate() {
            assert_eq!(r["event"].as_str(), Some(first.as_str()));
            assert_eq!(r["attempt"], (n + 1).to_string());
            assert_eq!(r["kind"], "finding.blocked");
            assert_eq!(r["path"], "/hook");
            assert_eq!(r["content_type"], "application/json");
            assert_eq!(r["signature_ok"], true, "HMAC-SHA256 of the body: {r}");
        }
        let body: Value = serde_json::from_str(tries[3]["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["id"].to_string(), first);
        assert_eq!(body["kind"], "finding.blocked");
        assert_eq!(body["application"], "web");
        assert_eq!(body["environment"], "prod");
        assert_eq!(body["digest"], p.digest.as_str());
        let findings = body["findings"].as_array().unwrap();
        assert_eq!(findings.len(), 1, "{body}");
        assert_eq!(findings[0]["id"], "VIGIL-LATE-1");
        assert_eq!(findings[0]["severity"], "critical");
        assert_eq!(findings[0]["verdict"], "blocked");
        assert_eq!(findings[0]["rule"]["scope"], "global");
        let listed = env.json(&["events", "list"], 0);
        let d = &listed[0]["deliveries"][0];
        assert_eq!(d["attempts"], 4, "{listed}");
        assert!(
            d["delivered_at"].is_string() && d["last_error"].is_null(),
            "{listed}"
        );

        // The API lists it to a viewer of `web`, not to one restricted to another app.
        env.ok(&["app", "add", "billing"], 0);
        let viewer = token(&env, "viewer", "v-web", Some("web"));
        let other = token(&env, "viewer", "v-billing", Some("billing"));
        let seen = call(
            &server.base,
            "GET",
            "/api/v1/events",
            Some(&viewer),
            Payload::None,
        );
        assert_eq!(seen.status, 200);
        assert_eq!(
            seen.body.as_array().map(Vec::len),
            Some(1),
            "{:?}",
            seen.body
        );
        let hidden = call(
            &server.base,
            "GET",
            "/api/v1/events",
            Some(&other),
            Payload::None,
        );
        assert_eq!(hidden.body, Value::Array(vec![]));

        // 2. The receiver goes down; a critical and an unknown-severity finding arrive: one
        // event, naming only the blocked one. The server is killed while it retries.
        drop(receiver);
        let said = import(
            &env,
            &[
                advisory("VIGIL-LATE-1", &names[0]),
                advisory("VIGIL-LATE-2", &names[1]),
                unrated(advisory("VIGIL-LATE-3", &names[2])),
            ],
        );
        assert!(said.contains("2 new finding(s)"), "{said}");
        let events = env.json(&["events", "list"], 0);
        assert_eq!(events.as_array().unwrap().len(), 2, "{events}");
        let second = events[0]["id"].to_string();
        let ids: Vec<&str> = events[0]["payload"]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["VIGIL-LATE-2"]);
        wait_for("a failed try of the second event", || {
            let e = env.json(&["events", "list"], 0);
            e[0]["deliveries"][0]["last_error"].is_string()
        });
        server.kill();
        let table = env.ok(&["events", "list"], 0);
        assert!(table.contains("pending, next try"), "{table}");

        // 3. Receiver and server come back: the second event is delivered, the first is not
        // sent again.
        let _receiver = Receiver::start(&log, port, &[]);
        let server = Server::start_bare(&env, &[]);
        wait_for("the second event after the restarts", || {
            delivered(&log, &second) == 1
        });
        std::thread::sleep(Duration::from_secs(2));
        assert_eq!(delivered(&log, &first), 1, "delivered once, never again");
        assert_eq!(delivered(&log, &second), 1);
        let table = env.ok(&["events", "list"], 0);
        assert_eq!(table.matches("delivered ").count(), 2, "{table}");
        // The dashboard lists both, each delivered, to a viewer of `web`; not to another.
        let html = page(&server.base, "/ui/events", &viewer);
        for id in ["VIGIL-LATE-1", "VIGIL-LATE-2"] {
            assert!(html.contains(id), "{id} on the page");
        }
        assert!(
            !html.contains("VIGIL-LATE-3"),
            "an allowed finding is not notified"
        );
        assert_eq!(html.matches("delivered 20").count(), 2);
        let html = page(&server.base, "/ui/events?application=", &other);
        assert!(html.contains("No notifications."));

        // Nothing is due any more: a one-shot delivery sends nothing.
        let out = env.run(&["events", "deliver"]);
        assert!(out.status.success());
        assert!(
            text(&out.stderr).contains("0 notification(s) delivered, 0 failed"),
            "{}",
            text(&out.stderr)
        );
    }
}

/// The record without a severity: the finding is `unknown`, which the policy allows.
fn unrated(mut record: Value) -> Value {
    record.as_object_mut().unwrap().remove("severity");
    record
}
