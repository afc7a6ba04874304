//! The dashboard (issue 11) in real headless Chromium driven over WebDriver (fantoccini and
//! Debian's chromedriver), against a real `vigil serve`: sign in, block a severity, whitelist
//! a CVE and watch the scan page's verdict change, install the scanning integration against
//! a feed server and watch its log, find a deployed application by CVE id, a phone-sized
//! window. Screenshots of every page go to `target/ui-screenshots` (or `VIGIL_SCREENSHOTS`;
//! scripts/ui-screenshots.sh regenerates the README's). Plus the security checks: roles and
//! CSRF on every form route, cookie flags, and a feed's `<script>` rendered as text.

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::common::*;
use crate::integrations::{FeedServer, configured};
use crate::platform::{prepared, set_global};
use crate::serve::{Server, token};

const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "unknown"];

/// chromedriver on a free port, killed when dropped. Chromium's profile and scratch
/// directories go under a temporary directory of its own (TMPDIR), removed with it: a
/// browser killed with its driver does not clean up after itself.
struct Driver {
    child: Child,
    port: u16,
    _tmp: tempfile::TempDir,
}

impl Driver {
    fn start() -> Option<Driver> {
        require(
            have("chromium") && have("chromedriver"),
            "chromium and chromedriver (Debian packages chromium, chromium-driver)",
        )?;
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let tmp = tempfile::tempdir().unwrap();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .env("TMPDIR", tmp.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(Driver {
            child,
            port,
            _tmp: tmp,
        })
    }

    async fn browser(&self) -> Client {
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                    "--disable-dev-shm-usage", "--disable-background-networking",
                    "--disable-extensions", "--no-first-run", "--window-size=1280,900"],
            },
        });
        let serde_json::Value::Object(caps) = caps else {
            unreachable!()
        };
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a WebDriver session in headless Chromium")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn shots_dir() -> PathBuf {
    let dir = std::env::var_os("VIGIL_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/ui-screenshots"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    std::fs::write(shots_dir().join(format!("{name}.png")), png).unwrap();
}

async fn text_of(c: &Client, css: &str) -> String {
    match c.find(Locator::Css(css)).await {
        Ok(e) => e.text().await.unwrap(),
        Err(e) => {
            let url = c.current_url().await.unwrap();
            let body = text_of_body(c).await;
            panic!("{css}: {e}\non {url}:\n{body}")
        }
    }
}

async fn text_of_body(c: &Client) -> String {
    match c.find(Locator::Css("main")).await {
        Ok(m) => m.text().await.unwrap_or_default(),
        Err(_) => c.source().await.unwrap_or_default(),
    }
}

async fn path(c: &Client) -> String {
    c.current_url().await.unwrap().path().to_owned()
}

/// Clicks a submit button and waits for the next page to load (a click does not wait).
async fn submit(c: &Client, button: fantoccini::elements::Element) {
    c.execute("window.__vigil_old_page = true;", vec![])
        .await
        .unwrap();
    button.click().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let state = c
            .execute(
                "return [window.__vigil_old_page === true, document.readyState];",
                vec![],
            )
            .await;
        if let Ok(v) = state
            && v == json!([false, "complete"])
        {
            return;
        }
        assert!(Instant::now() < deadline, "no new page after the click");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn sign_in(c: &Client, base: &str, token: &str) {
    c.goto(&format!("{base}/ui/scans")).await.unwrap();
    assert_eq!(
        path(c).await,
        "/ui/login",
        "not signed in: to the sign-in page"
    );
    c.find(Locator::Id("token"))
        .await
        .unwrap()
        .send_keys(token)
        .await
        .unwrap();
    let button = c
        .find(Locator::Css("form.card button[type=submit]"))
        .await
        .unwrap();
    submit(c, button).await;
    assert_eq!(
        path(c).await,
        "/ui/scans",
        "back where the user wanted to go"
    );
}

/// GET with an admin token; the JSON answer.
fn api(base: &str, token: &str, path: &str) -> Value {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    let body = agent
        .get(format!("{base}{path}"))
        .header("Authorization", format!("Bearer {token}"))
        .call()
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
        .body_mut()
        .read_to_string()
        .unwrap();
    serde_json::from_str(&body).unwrap()
}

/// The end-to-end walk of the issue, on a copy of the prepared store (application `web`,
/// environments `prod`/`staging`, the app image scanned) with `cicd` installed and the
/// scanning integration left to install from the dashboard.
#[test]
fn dashboard_end_to_end_in_chromium() {
    let Some(driver) = Driver::start() else {
        return;
    };
    let Some(p) = prepared() else { return };
    let feeds = FeedServer::start(&["--fail-first", "2"]);
    let env = configured(p.sqlite_copy(), feeds.port, "120s", 5);
    env.ok(&["integrations", "install", "cicd"], 0);
    env.ok(
        &[
            "deploy", "record", "--app", "web", "--env", "prod", &p.digest,
        ],
        0,
    );
    let admin = token(&env, "admin", "ops", None);
    let server = Server::start_bare(&env, &[]);
    let base = server.base.clone();

    // The severity under test: the one whose findings have the fewest distinct ids, so that
    // whitelisting one CVE can turn the verdict around. Every other severity is allowed
    // globally (set up with the CLI; the dashboard sets the block).
    let scans = api(&base, &admin, "/api/v1/scans?application=web");
    let scan_id = scans[0]["id"].as_i64().expect("a scan of web");
    let report = api(&base, &admin, &format!("/api/v1/scans/{scan_id}/report"));
    let mut ids: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for f in report["findings"].as_array().unwrap() {
        ids.entry(f["severity"].as_str().unwrap())
            .or_default()
            .insert(f["id"].as_str().unwrap());
    }
    let (severity, cves) = ids
        .iter()
        .min_by_key(|(_, set)| set.len())
        .expect("the app image has findings");
    let severity = severity.to_string();
    let cve = cves.iter().next().unwrap().to_string();
    let single = cves.len() == 1;
    for s in SEVERITIES.iter().filter(|s| **s != severity) {
        set_global(&env, s, "allow");
    }

    runtime().block_on(async {
        let c = driver.browser().await;
        sign_in(&c, &base, &admin).await;

        // Install the scanning integration and watch its log (the feed server fails twice).
        c.goto(&format!("{base}/ui/integrations")).await.unwrap();
        assert!(
            text_of(&c, "#discover").await.contains("Vulnerability"),
            "scanning is to discover"
        );
        let button = c
            .find(Locator::Css("#vulnerability-scanning button"))
            .await
            .unwrap();
        submit(&c, button).await;
        let status = text_of(&c, "#status-vulnerability-scanning").await;
        assert!(
            ["initializing", "installing"].contains(&status.as_str()),
            "{status}"
        );
        c.find(Locator::Css(
            "#log-vulnerability-scanning[data-running=\"true\"]",
        ))
        .await
        .expect("a live log while installing");
        shot(&c, "integrations-installing").await;
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            // The page reloads itself when the install ends.
            if let Ok(e) = c.find(Locator::Css("#status-vulnerability-scanning")).await
                && let Ok(t) = e.text().await
                && t == "installed"
                && path(&c).await == "/ui/integrations"
            {
                break;
            }
            assert!(Instant::now() < deadline, "install did not finish");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let log = text_of(&c, "#log-vulnerability-scanning").await;
        assert!(log.contains("debian-tracker"), "{log}");
        assert!(text_of(&c, "#installed").await.contains("Vulnerability"));
        shot(&c, "integrations").await;

        // A scan submitted through the server now that scanning is installed: the newest.
        let image = p.image.clone();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let mut sent = agent
            .post(format!("{base}/api/v1/scans"))
            .header("Authorization", format!("Bearer {admin}"))
            .header("Content-Type", "application/json")
            .send(json!({"image": image, "pipeline": "web-ci", "force": true}).to_string())
            .unwrap();
        let sent: Value = serde_json::from_str(&sent.body_mut().read_to_string().unwrap()).unwrap();
        let scan_id = sent["scan"]["id"].as_i64().expect("a queued scan");
        let deadline = Instant::now() + Duration::from_secs(300);
        while api(&base, &admin, &format!("/api/v1/scans/{scan_id}"))["state"] != "completed" {
            assert!(Instant::now() < deadline, "scan {scan_id} did not complete");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        c.goto(&format!("{base}/ui/scans")).await.unwrap();
        let rows = text_of(&c, "#scans tbody").await;
        assert!(rows.contains("web"), "{rows}");
        assert!(rows.contains(&format!("#{scan_id}")), "{rows}");
        shot(&c, "scans").await;

        // A global block on the severity, through the policy page's form.
        c.goto(&format!("{base}/ui/policies?scope=global"))
            .await
            .unwrap();
        let row = format!("#severities tr[data-severity={severity}]");
        c.find(Locator::Css(&format!("{row} select[name=action]")))
            .await
            .unwrap()
            .select_by_value("block")
            .await
            .unwrap();
        let button = c
            .find(Locator::Css(&format!("{row} button")))
            .await
            .unwrap();
        submit(&c, button).await;
        assert_eq!(text_of(&c, &format!("{row} td.action")).await, "block");
        assert!(
            text_of(&c, &row).await.contains("set here"),
            "the override is marked"
        );
        c.goto(&format!("{base}/ui/policies?scope=app:web@env:prod"))
            .await
            .unwrap();
        assert!(
            text_of(&c, &row).await.contains("inherited from global"),
            "{}",
            text_of(&c, &row).await
        );
        shot(&c, "policies").await;

        // The scan page's verdict for web in prod: blocked by that CVE.
        let scan_page = format!("{base}/ui/scans/{scan_id}?application=web&environment=prod");
        c.goto(&scan_page).await.unwrap();
        assert_eq!(text_of(&c, "#decision").await, "block");
        let verdict = format!("#findings tr[data-id=\"{cve}\"] .verdict");
        assert_eq!(text_of(&c, &verdict).await, "blocked");
        assert!(text_of(&c, "#verdict").await.contains(&cve));
        shot(&c, "scan-blocked").await;

        // Whitelist it for web, then the verdict changes.
        c.goto(&format!("{base}/ui/rules?scope=app:web"))
            .await
            .unwrap();
        let form = c.find(Locator::Id("add-rule")).await.unwrap();
        form.find(Locator::Css("input[name=id]"))
            .await
            .unwrap()
            .send_keys(&cve)
            .await
            .unwrap();
        form.find(Locator::Css("input[name=reason]"))
            .await
            .unwrap()
            .send_keys("not reachable in web: accepted until the rebuild")
            .await
            .unwrap();
        submit(&c, form.find(Locator::Css("button")).await.unwrap()).await;
        let rule = text_of(&c, &format!("#rules tr[data-id=\"{cve}\"]")).await;
        assert!(
            rule.contains("whitelist") && rule.contains("token:ops"),
            "{rule}"
        );
        shot(&c, "rules").await;
        c.goto(&scan_page).await.unwrap();
        assert_eq!(text_of(&c, &verdict).await, "whitelisted");
        if single {
            assert_eq!(text_of(&c, "#decision").await, "allow");
        }
        shot(&c, "scan").await;

        // The audit log names the dashboard's user.
        c.goto(&format!("{base}/ui/audit")).await.unwrap();
        let audit = text_of(&c, "#audit").await;
        assert!(
            audit.contains("token:ops") && audit.contains(&cve),
            "{audit}"
        );
        shot(&c, "audit").await;

        // Find the deployed application by the CVE id.
        c.goto(&format!("{base}/ui/deployed")).await.unwrap();
        c.find(Locator::Css("input[name=cve]"))
            .await
            .unwrap()
            .send_keys(&cve)
            .await
            .unwrap();
        let button = c.find(Locator::Css("form.filters button")).await.unwrap();
        submit(&c, button).await;
        let found = text_of(&c, "#deployed tbody").await;
        assert!(found.contains("web") && found.contains("prod"), "{found}");
        assert!(text_of(&c, "#trends").await.contains("web"));
        shot(&c, "deployed").await;
        c.goto(&format!("{base}/ui/deployed?cve=CVE-1999-0001"))
            .await
            .unwrap();
        assert_eq!(text_of(&c, "#deployed tbody").await, "");

        // A phone: nothing wider than the window, the nav still there.
        c.set_window_size(390, 844).await.unwrap();
        for page in [
            "/ui/deployed",
            &format!("/ui/scans/{scan_id}"),
            "/ui/policies",
        ] {
            c.goto(&format!("{base}{page}")).await.unwrap();
            let fits = c
                .execute(
                    "return document.documentElement.scrollWidth <= window.innerWidth + 1;",
                    vec![],
                )
                .await
                .unwrap();
            assert_eq!(fits, Value::Bool(true), "{page} overflows 390 px");
        }
        shot(&c, "policies-390").await;

        // The keyboard: the first Tab reaches the skip link.
        c.set_window_size(1280, 900).await.unwrap();
        c.goto(&format!("{base}/ui/scans")).await.unwrap();
        c.find(Locator::Css("body"))
            .await
            .unwrap()
            .send_keys("\u{e004}")
            .await
            .unwrap();
        let focused = c
            .execute("return document.activeElement.textContent;", vec![])
            .await
            .unwrap();
        assert_eq!(focused, Value::String("Skip to content".into()));

        // Signing out ends the session.
        let button = c.find(Locator::Css("form.who button")).await.unwrap();
        submit(&c, button).await;
        c.goto(&format!("{base}/ui/policies")).await.unwrap();
        assert_eq!(path(&c).await, "/ui/login");
        c.close().await.unwrap();
    });
}

/// A plain HTTP client that keeps no cookies and follows no redirects.
fn raw(
    base: &str,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    form: &str,
) -> (u16, String, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    let mut req = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{base}{path}"))
        .header("Content-Type", "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        req = req.header("Cookie", format!("vigil_session={c}"));
    }
    let mut resp = agent
        .run(req.body(form.as_bytes().to_vec()).unwrap())
        .unwrap();
    let status = resp.status().as_u16();
    let headers = format!("{:?}", resp.headers());
    (
        status,
        headers,
        resp.body_mut().read_to_string().unwrap_or_default(),
    )
}

/// The CSRF token a page embeds for a session.
fn csrf_of_page(base: &str, cookie: &str) -> String {
    let (status, _, body) = raw(base, "GET", "/ui/policies", Some(cookie), "");
    assert_eq!(status, 200, "{body}");
    let at = body.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    body[at..at + 64].to_owned()
}

fn enc(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            let v: String = v
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect();
            format!("{k}={v}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Every form route: a viewer gets 403, a missing or wrong CSRF token is 403 even for an
/// admin, no session goes to the sign-in page; viewers' pages carry no admin form; the
/// cookie is HttpOnly and SameSite=Strict; sign-in from another origin is refused.
#[test]
fn forms_refuse_viewers_and_requests_without_csrf() {
    let Some(p) = prepared() else { return };
    let env = p.sqlite_copy();
    let admin = token(&env, "admin", "ops", None);
    let viewer = token(&env, "viewer", "eyes", None);
    let server = Server::start(&env, &[]);
    let base = &server.base;

    let (status, headers, _) = raw(
        base,
        "POST",
        "/ui/login",
        None,
        &enc(&[("token", &viewer), ("next", "/ui/deployed")]),
    );
    assert_eq!(status, 303, "{headers}");
    assert!(
        headers.contains("HttpOnly") && headers.contains("SameSite=Strict"),
        "{headers}"
    );
    assert!(!headers.contains("Secure"), "plain HTTP: {headers}");
    assert!(headers.contains("/ui/deployed"), "{headers}");
    let (status, _, body) = raw(
        base,
        "POST",
        "/ui/login",
        None,
        &enc(&[("token", "vgl_nope")]),
    );
    assert_eq!(status, 401);
    assert!(body.contains("unknown or revoked token"), "{body}");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let cross = agent
        .post(format!("{base}/ui/login"))
        .header("Origin", "http://evil.example")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send(enc(&[("token", &admin)]))
        .unwrap();
    assert_eq!(cross.status().as_u16(), 403);
    // An open redirect is not possible through `next`.
    let (_, headers, _) = raw(
        base,
        "POST",
        "/ui/login",
        None,
        &enc(&[("token", &viewer), ("next", "//evil.example/")]),
    );
    assert!(headers.contains("\"/ui/scans\""), "{headers}");

    let viewer_csrf = csrf_of_page(base, &viewer);
    let admin_csrf = csrf_of_page(base, &admin);
    assert_ne!(viewer_csrf, admin_csrf);
    for (route, _) in vigil_server::ui::FORMS {
        let fields = |csrf: Option<&str>| {
            let mut f = vec![
                ("scope", "global"),
                ("severity", "critical"),
                ("action", "block"),
                ("id", "CVE-2023-4911"),
                ("reason", "test"),
            ];
            if let Some(c) = csrf {
                f.push(("csrf", c));
            }
            enc(&f)
        };
        let (status, _, body) = raw(
            base,
            "POST",
            route,
            Some(&viewer),
            &fields(Some(&viewer_csrf)),
        );
        assert_eq!(status, 403, "viewer on {route}: {body}");
        let (status, _, body) = raw(base, "POST", route, Some(&admin), &fields(None));
        assert_eq!(status, 403, "no CSRF on {route}: {body}");
        assert!(body.contains("CSRF"), "{body}");
        let (status, _, _) = raw(
            base,
            "POST",
            route,
            Some(&admin),
            &fields(Some(&viewer_csrf)),
        );
        assert_eq!(status, 403, "another session's CSRF on {route}");
        let (status, headers, _) = raw(base, "POST", route, None, &fields(Some(&admin_csrf)));
        assert_eq!(status, 303, "no session on {route}");
        assert!(headers.contains("/ui/login"), "{headers}");
    }
    // The admin's forms work with the right token (the first route: a severity).
    let (status, _, body) = raw(
        base,
        "POST",
        "/ui/policies/severity",
        Some(&admin),
        &enc(&[
            ("scope", "global"),
            ("severity", "low"),
            ("action", "block-if-fixed"),
            ("csrf", &admin_csrf),
        ]),
    );
    assert_eq!(status, 303, "{body}");
    let shown = env.ok(&["policy", "show", "--scope", "global"], 0);
    assert!(shown.contains("block-if-fixed"), "{shown}");
    // A viewer's pages hold no admin form.
    for page in ["/ui/policies", "/ui/rules", "/ui/integrations"] {
        let (status, _, body) = raw(base, "GET", page, Some(&viewer), "");
        assert_eq!(status, 200);
        for (route, _) in vigil_server::ui::FORMS {
            let action = route.rsplit_once('/').map_or(route, |(a, _)| a);
            assert!(
                !body.contains(&format!("action=\"{route}\"")) && !body.contains("/install\""),
                "{page} shows {action} to a viewer"
            );
        }
    }
    // The pages are served with a strict content security policy.
    let (_, headers, _) = raw(base, "GET", "/ui/scans", Some(&viewer), "");
    assert!(headers.contains("script-src 'self'"), "{headers}");
}

/// A feed's text is data: an advisory whose summary holds a `<script>` shows it as text in
/// the browser, and the script does not run.
#[test]
fn a_feeds_script_renders_as_text() {
    let Some(driver) = Driver::start() else {
        return;
    };
    let Some(p) = prepared() else { return };
    let env = p.sqlite_copy();
    // An OSV record (made here) against a Debian source package of the scanned image.
    let reports = env.json(&["scan", &p.image], 0);
    let pkg = reports["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| &f["package"])
        .find(|p| p["ecosystem"] == "deb")
        .expect("a Debian package with a finding")
        .clone();
    let name = pkg["source_name"]
        .as_str()
        .or(pkg["name"].as_str())
        .unwrap()
        .to_owned();
    let script = "<script>window.pwned = 1</script><img src=x onerror=\"window.pwned = 2\">";
    let record = json!({
        "schema_version": "1.6.0",
        "id": "VIGIL-XSS-1",
        "modified": "2026-01-01T00:00:00Z",
        "summary": script,
        "details": script,
        "affected": [{
            "package": {"ecosystem": "Debian:12", "name": name},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}],
        }],
    });
    let feed = env.vigil.home.path().join("hostile.json");
    std::fs::write(&feed, serde_json::to_vec(&record).unwrap()).unwrap();
    env.ok(
        &[
            "db",
            "import",
            "--source",
            "hostile",
            feed.to_str().unwrap(),
        ],
        0,
    );
    let ci = env.json(&["ci", "scan", "--pipeline", "web-ci", &p.image], 0);
    let admin = token(&env, "admin", "ops", None);
    let server = Server::start(&env, &[]);
    let scans = api(&server.base, &admin, "/api/v1/scans?application=web");
    let id = scans[0]["id"].as_i64().unwrap();
    assert_eq!(scans[0]["digest"], ci["digest"]);
    let (_, _, html) = raw(
        &server.base,
        "GET",
        &format!("/ui/scans/{id}"),
        Some(&admin),
        "",
    );
    assert!(
        html.contains("&lt;script&gt;window.pwned = 1&lt;/script&gt;"),
        "escaped"
    );
    assert!(!html.contains("<script>window.pwned"));
    runtime().block_on(async {
        let c = driver.browser().await;
        sign_in(&c, &server.base, &admin).await;
        c.goto(&format!("{}/ui/scans/{id}", server.base))
            .await
            .unwrap();
        // Its package's group may be folded: the cell's text, shown or not.
        let cell = c
            .execute(
                "return document.querySelector('#findings tr[data-id=\"VIGIL-XSS-1\"] td.summary').textContent;",
                vec![],
            )
            .await
            .unwrap();
        let cell = cell.as_str().unwrap_or_default().to_owned();
        assert_eq!(cell, script, "shown as text");
        let ran = c
            .execute("return typeof window.pwned;", vec![])
            .await
            .unwrap();
        assert_eq!(ran, Value::String("undefined".into()));
        c.close().await.unwrap();
    });
}
