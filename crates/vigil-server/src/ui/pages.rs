//! The dashboard's pages and forms. Each one reads through the `/api/v1` handler of the same
//! data, called with the session's token, and renders the JSON it answers.

use std::collections::{BTreeMap, HashMap, HashSet};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;

use super::{Chrome, Fields, Session, UiError, clear_cookie, layout, query, see_other};
use crate::api::{self, Body, Path, Query};
use crate::error::ApiError;
use crate::{AppState, integrations, schema};

type Page = Result<Response, UiError>;

const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "unknown"];
const PAGE_SIZE: usize = 25;

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn count(v: &Value, key: &str) -> u64 {
    v.get(key).and_then(Value::as_u64).unwrap_or(0)
}

fn badge(severity: &str) -> Markup {
    let s = if SEVERITIES.contains(&severity) {
        severity
    } else {
        "unknown"
    };
    html! { span class={"sev sev-" (s)} { (severity) } }
}

/// A summary's counts as badges, most severe first, zeros left out.
fn counts(summary: &Value) -> Markup {
    html! {
        span.counts {
            @for sev in SEVERITIES {
                @let n = count(summary, sev);
                @if n > 0 { span class={"sev sev-" (sev)} title=(sev) { (n) " " (sev) } " " }
            }
            @if count(summary, "total") == 0 { span.muted { "none" } }
        }
    }
}

fn csrf(session: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf); }
}

fn short(digest: &str) -> &str {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    &hex[..hex.len().min(12)]
}

fn select(name: &str, label: &str, options: &[String], chosen: &str, any: Option<&str>) -> Markup {
    html! {
        label {
            (label)
            select name=(name) {
                @if let Some(any) = any { option value="" selected[chosen.is_empty()] { (any) } }
                @for o in options { option value=(o) selected[o == chosen] { (o) } }
            }
        }
    }
}

fn page(chrome: &Chrome<'_>, body: Markup) -> Page {
    Ok(layout(chrome, body).into_response())
}

// ---- sign in --------------------------------------------------------------------------

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// Only a dashboard path: signing in never sends anyone elsewhere.
fn safe_next(next: Option<&str>) -> &str {
    next.filter(|n| n.starts_with("/ui/") && !n.starts_with("//") && !n.contains('\\'))
        .unwrap_or("/ui/scans")
}

fn login_form(next: &str, error: Option<&str>) -> Markup {
    layout(
        &Chrome::plain("Sign in"),
        html! {
            @if let Some(e) = error { p.error role="alert" { (e) } }
            form.card method="post" action="/ui/login" {
                label for="token" { "Token" }
                input #token type="password" name="token" autocomplete="off" required autofocus;
                input type="hidden" name="next" value=(next);
                button type="submit" { "Sign in" }
                p.muted { "A token made by " code { "vigil token create" } " (its role decides what you may do)." }
            }
        },
    )
}

pub async fn login_page(axum::extract::Query(q): axum::extract::Query<NextQuery>) -> Markup {
    login_form(safe_next(q.next.as_deref()), None)
}

/// The page of another origin may not sign a browser in (login CSRF).
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    origin
        .split_once("://")
        .is_some_and(|(_, rest)| rest.trim_end_matches('/') == host)
}

pub async fn login(State(s): State<AppState>, headers: HeaderMap, form: Fields) -> Page {
    if !same_origin(&headers) {
        return Err(ApiError::Forbidden("sign-in from another site refused".into()).into());
    }
    let next = safe_next(form.0.get("next").map(String::as_str)).to_owned();
    let secret = form.0.get("token").map(|t| t.trim()).unwrap_or("");
    let known = if secret.is_empty() {
        None
    } else {
        s.tokens.lookup(&*s.db, &crate::auth::hash(secret)).await?
    };
    if known.is_none() {
        let body = login_form(&next, Some("unknown or revoked token"));
        return Ok((StatusCode::UNAUTHORIZED, body).into_response());
    }
    let mut res = see_other(&next);
    res.headers_mut().insert(
        header::SET_COOKIE,
        super::session_cookie(secret, s.secure_cookies)?,
    );
    Ok(res)
}

pub async fn logout(State(s): State<AppState>, session: Session, form: Fields) -> Page {
    session.check_csrf(&form)?;
    let mut res = see_other("/ui/login");
    res.headers_mut()
        .insert(header::SET_COOKIE, clear_cookie(s.secure_cookies));
    Ok(res)
}

// ---- entities -------------------------------------------------------------------------

struct Entities {
    clusters: Vec<String>,
    /// (name, cluster)
    environments: Vec<(String, String)>,
    applications: Vec<String>,
}

impl Entities {
    async fn load(s: &AppState, session: &Session) -> Result<Self, ApiError> {
        let strings = |v: Value| -> Vec<String> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let Json(clusters) = api::list_clusters(State(s.clone()), session.viewer()).await?;
        let Json(envs) = api::list_environments(State(s.clone()), session.viewer()).await?;
        let Json(apps) = api::list_apps(State(s.clone()), session.viewer()).await?;
        Ok(Self {
            clusters: strings(clusters),
            environments: envs
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|e| (text(e, "name").to_owned(), text(e, "cluster").to_owned()))
                        .collect()
                })
                .unwrap_or_default(),
            applications: strings(apps),
        })
    }

    fn environment_names(&self) -> Vec<String> {
        self.environments.iter().map(|(n, _)| n.clone()).collect()
    }

    /// Every scope a policy can be set at, least specific first.
    fn scopes(&self, session: &Session) -> Vec<String> {
        let mut out = Vec::new();
        if session.caller.within().is_none() {
            out.push("global".to_owned());
            out.extend(self.clusters.iter().map(|c| format!("cluster:{c}")));
            out.extend(self.environments.iter().map(|(e, _)| format!("env:{e}")));
        }
        out.extend(self.applications.iter().map(|a| format!("app:{a}")));
        for a in &self.applications {
            for (e, _) in &self.environments {
                out.push(format!("app:{a}@env:{e}"));
            }
        }
        out
    }
}

fn scope_picker(action: &str, scopes: &[String], chosen: &str) -> Markup {
    html! {
        form.filters method="get" action=(action) {
            (select("scope", "Scope", scopes, chosen, None))
            button type="submit" { "Show" }
        }
    }
}

// ---- security scans -------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
pub struct ScansFilter {
    #[serde(default)]
    application: String,
    #[serde(default)]
    environment: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    state: String,
    /// Queued on or after this day (YYYY-MM-DD).
    #[serde(default)]
    since: String,
    page: Option<usize>,
}

/// At most this many of the newest scans are filtered and paged by the list.
const SCANS_WINDOW: u32 = 1000;

pub async fn scans(
    State(s): State<AppState>,
    session: Session,
    Query(f): Query<ScansFilter>,
) -> Page {
    let ents = Entities::load(&s, &session).await?;
    if !f.severity.is_empty() && !SEVERITIES.contains(&f.severity.as_str()) {
        return Err(ApiError::Unprocessable(format!(
            "invalid severity {:?}: expected critical, high, medium, low or unknown",
            f.severity
        ))
        .into());
    }
    if !f.since.is_empty() {
        vigil_policy::time::parse_date(&f.since)
            .map_err(|e| ApiError::Unprocessable(e.to_string()))?;
    }
    let nonempty = |v: &String| (!v.is_empty()).then(|| v.clone());
    let Json(list) = api::list_scans(
        State(s.clone()),
        session.viewer(),
        Query(api::ScansQuery {
            digest: None,
            state: nonempty(&f.state),
            application: nonempty(&f.application),
            limit: Some(SCANS_WINDOW),
            offset: Some(0),
        }),
    )
    .await?;
    let deployed_in: Option<HashSet<String>> = if f.environment.is_empty() {
        None
    } else {
        let Json(ds) = api::list_deployments(
            State(s.clone()),
            session.viewer(),
            Query(api::DeploymentsQuery {
                application: None,
                environment: Some(f.environment.clone()),
                cluster: None,
            }),
        )
        .await?;
        Some(
            ds.as_array()
                .into_iter()
                .flatten()
                .map(|d| text(d, "digest").to_owned())
                .collect(),
        )
    };
    let rows: Vec<&Value> = list
        .as_array()
        .into_iter()
        .flatten()
        .filter(|sc| {
            deployed_in
                .as_ref()
                .is_none_or(|set| set.contains(text(sc, "digest")))
        })
        .filter(|sc| f.severity.is_empty() || count(&sc["summary"], &f.severity) > 0)
        .filter(|sc| f.since.is_empty() || text(sc, "queued_at") >= f.since.as_str())
        .collect();
    let pages = rows.len().div_ceil(PAGE_SIZE).max(1);
    let current = f.page.unwrap_or(1).clamp(1, pages);
    let shown = rows.iter().skip((current - 1) * PAGE_SIZE).take(PAGE_SIZE);
    let states: Vec<String> = ["queued", "running", "completed", "failed"]
        .map(String::from)
        .to_vec();
    let sevs: Vec<String> = SEVERITIES.map(String::from).to_vec();
    let link = |p: usize| {
        format!(
            "/ui/scans?{}",
            query(&[
                ("application", &f.application),
                ("environment", &f.environment),
                ("severity", &f.severity),
                ("state", &f.state),
                ("since", &f.since),
                ("page", &p.to_string()),
            ])
        )
    };
    let body = html! {
        form.filters method="get" action="/ui/scans" {
            (select("application", "Application", &ents.applications, &f.application, Some("any")))
            (select("environment", "Environment", &ents.environment_names(), &f.environment, Some("any")))
            (select("severity", "With severity", &sevs, &f.severity, Some("any")))
            (select("state", "State", &states, &f.state, Some("any")))
            label { "Since" input type="date" name="since" value=(f.since); }
            button type="submit" { "Filter" }
        }
        p.muted #scan-count { (rows.len()) " scans" @if rows.len() >= SCANS_WINDOW as usize { " (the newest " (SCANS_WINDOW) " looked at)" } }
        div.scroll {
            table #scans {
                thead { tr { th { "Scan" } th { "Image" } th { "Application" } th { "State" } th { "Findings" } th { "Fixable" } th { "Queued" } } }
                tbody {
                    @for sc in shown {
                        @let id = sc["id"].as_i64().unwrap_or(0);
                        tr {
                            td { a href={"/ui/scans/" (id)} { "#" (id) } }
                            td { span.ref { (text(sc, "reference")) } br; code.digest title=(text(sc, "digest")) { (short(text(sc, "digest"))) } }
                            td { (text(sc, "application")) }
                            td { span class={"state state-" (text(sc, "state"))} { (text(sc, "state")) }
                                 @if sc["complete"] == Value::Bool(false) { " " span.warn title="some packages could not be checked" { "incomplete" } } }
                            td { @if sc["summary"].is_object() { (counts(&sc["summary"])) } @else { span.muted { "—" } } }
                            td { (count(&sc["summary"], "fixable")) }
                            td { time datetime=(text(sc, "queued_at")) { (text(sc, "queued_at")) } }
                        }
                    }
                }
            }
        }
        @if pages > 1 {
            nav.pager aria-label="Pages" {
                @if current > 1 { a rel="prev" href=(link(current - 1)) { "← Newer" } }
                span { "Page " (current) " of " (pages) }
                @if current < pages { a rel="next" href=(link(current + 1)) { "Older →" } }
            }
        }
    };
    page(&Chrome::of("Security scans", "/ui/scans", &session), body)
}

#[derive(Debug, Default, Deserialize)]
pub struct VerdictQuery {
    #[serde(default)]
    application: String,
    #[serde(default)]
    environment: String,
}

pub async fn scan(
    State(s): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    Query(q): Query<VerdictQuery>,
) -> Page {
    let Json(scan) = api::get_scan(State(s.clone()), session.viewer(), Path(id)).await?;
    let ents = Entities::load(&s, &session).await?;
    let report: Option<Value> = match s.db.scan_report(id).await? {
        Some(done) => Some(serde_json::from_str(&done.report).map_err(ApiError::internal)?),
        None => None,
    };
    let digest = text(&scan, "digest").to_owned();
    // The verdict is asked for an application and an environment: the chosen ones, else
    // the scan's application and the first environment it runs in.
    let application = if q.application.is_empty() {
        text(&scan, "application").to_owned()
    } else {
        q.application.clone()
    };
    let environment = if !q.environment.is_empty() {
        q.environment.clone()
    } else if application.is_empty() {
        String::new()
    } else {
        let Json(ds) = api::list_deployments(
            State(s.clone()),
            session.viewer(),
            Query(api::DeploymentsQuery {
                application: Some(application.clone()),
                environment: None,
                cluster: None,
            }),
        )
        .await?;
        ds.as_array()
            .and_then(|a| a.iter().find(|d| text(d, "digest") == digest))
            .or_else(|| ds.as_array().and_then(|a| a.first()))
            .map(|d| text(d, "environment").to_owned())
            .or_else(|| ents.environments.first().map(|(e, _)| e.clone()))
            .unwrap_or_default()
    };
    let ask = report.is_some() && !application.is_empty() && !environment.is_empty();
    let explained: Option<Result<Value, ApiError>> = match ask {
        true => Some(
            api::explain(
                State(s.clone()),
                session.viewer(),
                Query(api::ExplainQuery {
                    application: application.clone(),
                    environment: environment.clone(),
                    image: digest.clone(),
                }),
            )
            .await
            .map(|Json(v)| v),
        ),
        false => None,
    };
    // (id, ECOSYSTEM/NAME) -> the policy's word on that finding.
    let verdicts: HashMap<(String, String), &Value> = match &explained {
        Some(Ok(ex)) => ex["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| ((text(f, "id").to_owned(), text(f, "package").to_owned()), f))
            .collect(),
        _ => HashMap::new(),
    };
    let title = format!("Scan #{id}");
    let body = html! {
        dl.facts {
            dt { "Image" } dd { (text(&scan, "reference")) }
            dt { "Digest" } dd { code { (digest) } }
            dt { "Application" } dd { (text(&scan, "application")) }
            dt { "State" } dd { span class={"state state-" (text(&scan, "state"))} { (text(&scan, "state")) }
                @if let Some(e) = scan["error"].as_str() { " " span.error { (e) } } }
            dt { "Database" } dd { (text(&scan, "db_version")) }
            dt { "Finished" } dd { (text(&scan, "finished_at")) }
            @if scan["summary"].is_object() { dt { "Findings" } dd #summary { (counts(&scan["summary"])) " · " (count(&scan["summary"], "fixable")) " fixable" } }
        }
        section #verdict aria-labelledby="verdict-h" {
            h2 #verdict-h { "Verdict" }
            form.filters method="get" action={"/ui/scans/" (id)} {
                (select("application", "Application", &ents.applications, &application, None))
                (select("environment", "Environment", &ents.environment_names(), &environment, None))
                button type="submit" { "Check" }
            }
            @match &explained {
                Some(Ok(ex)) => {
                    @let decision = text(ex, "decision");
                    p { "Deploying to " strong { (text(ex, "environment")) } " (cluster " (text(ex, "cluster")) ") as " strong { (text(ex, "application")) } ": "
                        span #decision class={"decision decision-" (decision)} { (decision) } }
                    @let blocking: Vec<&Value> = ex["findings"].as_array().into_iter().flatten().filter(|f| text(f, "verdict") == "blocked").collect();
                    @if !blocking.is_empty() {
                        ul.because { @for f in blocking { li { code { (text(f, "id")) } " in " (text(f, "package")) ": " (text(f, "explanation")) } } }
                    }
                    @let suppressed = ex["findings"].as_array().into_iter().flatten().filter(|f| text(f, "verdict") == "suppressed").count();
                    @if suppressed > 0 { p #vex-suppressed { (suppressed) " finding(s) suppressed by VEX statements: the policy does not count them (see the Verdict column)." } }
                    @let unused: Vec<&Value> = ex["unused_vex"].as_array().into_iter().flatten().collect();
                    @if !unused.is_empty() {
                        details #vex-unused { summary { (unused.len()) " VEX statement(s) in force here cover none of these findings" }
                            ul { @for u in unused { li { (text(u, "document")) " #" (u["statement"]) ": " code { (text(u, "vulnerability")) } " " (text(u, "status")) " for " (u["products"].as_array().into_iter().flatten().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")) } } } }
                    }
                }
                Some(Err(e)) => { p.error role="alert" { (e.to_string()) } }
                None => { p.muted { "Choose an application and an environment to see the gate's verdict." } }
            }
        }
        @if let Some(r) = &report {
            @let gaps: Vec<&str> = r["coverage"]["gaps"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            section #coverage aria-labelledby="coverage-h" {
                h2 #coverage-h { "Coverage" }
                @if gaps.is_empty() { p { "Every package found was checked." } }
                @else { ul { @for g in gaps { li { (g) } } } }
            }
            (findings(r, &verdicts))
        } @else if text(&scan, "state") == "completed" {
            p #pruned.muted { "This scan's report was pruned: two later re-matches of the image superseded it. Its latest scan has the current findings." }
        }
    };
    page(&Chrome::of(&title, "/ui/scans", &session), body)
}

fn severity_rank(s: &str) -> usize {
    SEVERITIES
        .iter()
        .position(|x| *x == s)
        .unwrap_or(SEVERITIES.len())
}

/// The findings of a report grouped by package, the package with the most severe finding
/// first.
fn findings(report: &Value, verdicts: &HashMap<(String, String), &Value>) -> Markup {
    let mut groups: BTreeMap<(String, String, String), Vec<&Value>> = BTreeMap::new();
    for f in report["findings"].as_array().into_iter().flatten() {
        let p = &f["package"];
        groups
            .entry((
                text(p, "ecosystem").to_owned(),
                text(p, "name").to_owned(),
                text(p, "version").to_owned(),
            ))
            .or_default()
            .push(f);
    }
    let mut groups: Vec<_> = groups.into_iter().collect();
    groups.sort_by_key(|(k, fs)| {
        (
            fs.iter()
                .map(|f| severity_rank(text(f, "severity")))
                .min()
                .unwrap_or(9),
            k.clone(),
        )
    });
    html! {
        section #findings aria-labelledby="findings-h" {
            h2 #findings-h { "Findings by package" }
            @if groups.is_empty() { p { "No known vulnerability." } }
            @for ((eco, name, version), fs) in &groups {
                details.pkg open[fs.iter().any(|f| severity_rank(text(f, "severity")) <= 1)] {
                    summary { strong { (name) } " " (version) " " span.muted { (eco) } " · " (fs.len()) " findings" }
                    div.scroll {
                        table {
                            thead { tr { th { "Vulnerability" } th { "Severity" } th { "Fix" } th { "Verdict" } th { "Summary" } } }
                            tbody {
                                @for f in fs {
                                    @let id = text(f, "id");
                                    @let v = verdicts.get(&(id.to_owned(), format!("{eco}/{name}")));
                                    tr data-id=(id) {
                                        td { code { (id) } @for a in f["aliases"].as_array().into_iter().flatten().filter_map(Value::as_str).take(3) { br; small.muted { (a) } } }
                                        td { (badge(text(f, "severity"))) }
                                        td { @match f["fixed_version"].as_str() { Some(v) => { "fixed in " code { (v) } } None => { span.muted { (text(f, "fix_state").replace('_', " ")) } } } }
                                        td { @match v { Some(v) => { span class={"verdict verdict-" (text(v, "verdict"))} title=(text(v, "explanation")) { (text(v, "verdict")) }
                                            @if text(v, "verdict") == "suppressed" { br; small.vex { (text(v, "explanation")) @if let Some(d) = v["vex"]["detail"].as_str() { ": " (d) } } } } None => { span.muted { "—" } } } }
                                        td.summary { (text(f, "summary")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

// ---- deployed -------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
pub struct DeployedFilter {
    #[serde(default)]
    application: String,
    #[serde(default)]
    environment: String,
    #[serde(default)]
    cluster: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    cve: String,
    #[serde(default)]
    sort: String,
    page: Option<usize>,
}

pub async fn deployed(
    State(s): State<AppState>,
    session: Session,
    Query(f): Query<DeployedFilter>,
) -> Page {
    let ents = Entities::load(&s, &session).await?;
    let nonempty = |v: &String| (!v.is_empty()).then(|| v.trim().to_owned());
    let Json(rows) = api::deployed(
        State(s.clone()),
        session.viewer(),
        Query(api::DeployedQuery {
            application: nonempty(&f.application),
            environment: nonempty(&f.environment),
            cluster: nonempty(&f.cluster),
            severity: nonempty(&f.severity),
            cve: nonempty(&f.cve),
            sort: nonempty(&f.sort),
            offset: Some(0),
            limit: Some(10_000),
        }),
    )
    .await?;
    let rows: Vec<&Value> = rows.as_array().into_iter().flatten().collect();
    let mut totals: BTreeMap<&str, u64> = BTreeMap::new();
    for r in &rows {
        for key in SEVERITIES.iter().copied().chain(["fixable", "total"]) {
            *totals.entry(key).or_default() += count(&r["summary"], key);
        }
        *totals.entry("blocked").or_default() += count(r, "blocked");
    }
    let pages = rows.len().div_ceil(PAGE_SIZE).max(1);
    let current = f.page.unwrap_or(1).clamp(1, pages);
    let link = |p: usize| {
        format!(
            "/ui/deployed?{}",
            query(&[
                ("application", &f.application),
                ("environment", &f.environment),
                ("cluster", &f.cluster),
                ("severity", &f.severity),
                ("cve", &f.cve),
                ("sort", &f.sort),
                ("page", &p.to_string()),
            ])
        )
    };
    let sorts: Vec<String> = vigil_service::DeployedSort::ALL
        .iter()
        .map(|(n, _)| (*n).to_owned())
        .collect();
    let sevs: Vec<String> = SEVERITIES.map(String::from).to_vec();
    // A chart per application shown (the first eight), from its completed scans.
    let mut apps: Vec<&str> = rows.iter().map(|r| text(r, "application")).collect();
    apps.dedup();
    let mut seen = HashSet::new();
    apps.retain(|a| seen.insert(*a));
    let mut charts = Vec::new();
    for app in apps.into_iter().take(8) {
        let Json(list) = api::list_scans(
            State(s.clone()),
            session.viewer(),
            Query(api::ScansQuery {
                digest: None,
                state: Some("completed".into()),
                application: Some(app.to_owned()),
                limit: Some(30),
                offset: Some(0),
            }),
        )
        .await?;
        let mut points: Vec<Value> = list.as_array().cloned().unwrap_or_default();
        points.reverse();
        charts.push((app.to_owned(), points));
    }
    let body = html! {
        form.filters method="get" action="/ui/deployed" {
            (select("application", "Application", &ents.applications, &f.application, Some("any")))
            (select("environment", "Environment", &ents.environment_names(), &f.environment, Some("any")))
            (select("cluster", "Cluster", &ents.clusters, &f.cluster, Some("any")))
            (select("severity", "With severity", &sevs, &f.severity, Some("any")))
            label { "CVE" input type="search" name="cve" value=(f.cve) placeholder="CVE-2024-…"; }
            (select("sort", "Sort by", &sorts, &f.sort, Some("default")))
            button type="submit" { "Filter" }
        }
        ul.totals #totals aria-label="Totals" {
            @for sev in SEVERITIES { li class={"sev-" (sev)} { span.n { (totals.get(sev).copied().unwrap_or(0)) } " " (sev) } }
            li { span.n { (totals.get("fixable").copied().unwrap_or(0)) } " fixable" }
            li.blocked { span.n { (totals.get("blocked").copied().unwrap_or(0)) } " blocked" }
        }
        div.scroll {
            table #deployed {
                thead { tr { th { "Application" } th { "Environment" } th { "Cluster" } th { "Image" } th { "Findings" } th { "Fixable" } th { "Blocked" } th { "Deployed" } } }
                tbody {
                    @for r in rows.iter().skip((current - 1) * PAGE_SIZE).take(PAGE_SIZE) {
                        tr {
                            td { (text(r, "application")) }
                            td { (text(r, "environment")) }
                            td { (text(r, "cluster")) }
                            td { @match r["scan_id"].as_i64() {
                                    Some(id) => { a href={"/ui/scans/" (id) "?" (query(&[("application", text(r, "application")), ("environment", text(r, "environment"))]))} { code { (short(text(r, "digest"))) } } }
                                    None => { code { (short(text(r, "digest"))) } " " span.warn { (text(r, "scan")) } }
                                } }
                            td { (counts(&r["summary"])) }
                            td { (count(&r["summary"], "fixable")) }
                            td { @if count(r, "blocked") > 0 { span.decision.decision-block { (count(r, "blocked")) } } @else { "0" } }
                            td { (text(r, "deployed_at")) " by " (text(r, "deployed_by")) }
                        }
                    }
                }
            }
        }
        @if rows.is_empty() { p.muted { "No deployed application matches." } }
        @if pages > 1 {
            nav.pager aria-label="Pages" {
                @if current > 1 { a rel="prev" href=(link(current - 1)) { "← Previous" } }
                span { "Page " (current) " of " (pages) }
                @if current < pages { a rel="next" href=(link(current + 1)) { "Next →" } }
            }
        }
        @if !charts.is_empty() {
            section #trends aria-labelledby="trends-h" {
                h2 #trends-h { "Findings per severity over time" }
                div.charts { @for (app, points) in &charts { (chart(app, points)) } }
            }
        }
    };
    page(
        &Chrome::of("Deployed applications", "/ui/deployed", &session),
        body,
    )
}

/// Stacked bars of an application's completed scans, oldest first (an SVG: no script).
fn chart(app: &str, scans: &[Value]) -> Markup {
    const W: f64 = 320.0;
    const H: f64 = 120.0;
    let max = scans
        .iter()
        .map(|sc| count(&sc["summary"], "total"))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let slot = W / scans.len().max(1) as f64;
    let bar = (slot * 0.7).clamp(1.0, 24.0);
    let label = format!(
        "{app}: findings per severity of its last {} scans",
        scans.len()
    );
    html! {
        figure.chart {
            svg viewBox={"0 0 " (W) " " (H)} role="img" aria-label=(label) {
                @for (i, sc) in scans.iter().enumerate() {
                    @let x = i as f64 * slot;
                    @let mut y = H;
                    g {
                        title { (text(sc, "finished_at")) ": " (count(&sc["summary"], "total")) " findings" }
                        @for sev in SEVERITIES {
                            @let h = count(&sc["summary"], sev) as f64 / max * (H - 4.0);
                            @if h > 0.0 {
                                @let top = { y -= h; y };
                                rect class={"bar-" (sev)} x=(format!("{x:.1}")) y=(format!("{top:.1}")) width=(format!("{bar:.1}")) height=(format!("{h:.1}")) {}
                            }
                        }
                    }
                }
            }
            figcaption { strong { (app) } " · " (scans.len()) " scans · latest: "
                @match scans.last() { Some(l) => { (counts(&l["summary"])) } None => { "none" } } }
        }
    }
}

// ---- policies -------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
pub struct ScopeChoice {
    #[serde(default)]
    scope: String,
}

async fn effective(
    s: &AppState,
    session: &Session,
    scope: &str,
) -> Result<(Entities, Vec<String>, String, Value), ApiError> {
    let ents = Entities::load(s, session).await?;
    let scopes = ents.scopes(session);
    let scope = if scope.is_empty() {
        scopes.first().cloned().unwrap_or_else(|| "global".into())
    } else {
        scope.to_owned()
    };
    let Json(eff) = api::show_policy(
        State(s.clone()),
        session.viewer(),
        Query(api::ScopeQuery {
            scope: Some(scope.clone()),
        }),
    )
    .await?;
    Ok((ents, scopes, scope, eff))
}

fn origin(entry: &Value) -> Markup {
    match text(entry, "origin") {
        "here" => html! {
            span.origin.here { "set here" }
            @if let Some(o) = entry["overrides"].as_str() { " " span.muted { "(overrides " (o) ")" } }
        },
        "inherited" => {
            html! { span.origin.inherited { "inherited from " (text(entry, "from")) } }
        }
        other => html! { span.origin.muted { (other) } },
    }
}

pub async fn policies(
    State(s): State<AppState>,
    session: Session,
    Query(q): Query<ScopeChoice>,
) -> Page {
    let (_, scopes, scope, eff) = effective(&s, &session, &q.scope).await?;
    let admin = session.is_admin();
    let actions = ["allow", "block", "block-if-fixed", "inherit"];
    let body = html! {
        (scope_picker("/ui/policies", &scopes, &scope))
        p.lineage aria-label="Inherits from" {
            @for (i, l) in eff["lineage"].as_array().into_iter().flatten().filter_map(Value::as_str).enumerate() {
                @if i > 0 { " → " }
                a href={"/ui/policies?" (query(&[("scope", l)]))} { (l) }
            }
        }
        div.scroll {
            table #severities {
                thead { tr { th { "Severity" } th { "Action" } th { "Where from" } @if admin { th { "Change" } } } }
                tbody {
                    @for e in eff["severities"].as_array().into_iter().flatten() {
                        @let sev = text(e, "severity");
                        @let here = text(e, "origin") == "here";
                        tr data-severity=(sev) class=[here.then_some("override")] {
                            td { (badge(sev)) }
                            td.action { (text(e, "action")) }
                            td { (origin(e)) }
                            @if admin {
                                td {
                                    form.inline method="post" action="/ui/policies/severity" {
                                        (csrf(&session))
                                        input type="hidden" name="scope" value=(scope);
                                        input type="hidden" name="severity" value=(sev);
                                        label.sr { "Action for " (sev) }
                                        select name="action" aria-label={"Action for " (sev)} {
                                            @for a in actions {
                                                option value=(a) selected[(here && a == text(e, "action")) || (!here && a == "inherit")] { (a) }
                                            }
                                        }
                                        button type="submit" { "Save" }
                                    }
                                }
                            }
                        }
                    }
                    @let u = &eff["unscanned"];
                    tr data-severity="unscanned" class=[(text(u, "origin") == "here").then_some("override")] {
                        td { "not scanned" }
                        td.action { (text(u, "action")) }
                        td { (origin(u)) }
                        @if admin {
                            td {
                                form.inline method="post" action="/ui/policies/unscanned" {
                                    (csrf(&session))
                                    input type="hidden" name="scope" value=(scope);
                                    select name="action" aria-label="Action for images not scanned" {
                                        @for a in ["allow", "block", "inherit"] {
                                            option value=(a) selected[(text(u, "origin") == "here" && a == text(u, "action")) || (text(u, "origin") != "here" && a == "inherit")] { (a) }
                                        }
                                    }
                                    button type="submit" { "Save" }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if !admin { p.muted { "Only an admin token may change policies." } }
        p { a href={"/ui/rules?" (query(&[("scope", &scope)]))} { "CVE rules at this scope" } " · " a href={"/ui/audit?" (query(&[("scope", &scope)]))} { "its audit log" } }
    };
    page(
        &Chrome::of("Security policies", "/ui/policies", &session),
        body,
    )
}

/// A policy form's CSRF and role checks, then its scope.
fn admin_form(session: &Session, form: &Fields) -> Result<(crate::auth::Admin, String), ApiError> {
    session.check_csrf(form)?;
    let admin = session.admin()?;
    Ok((admin, form.get("scope")?))
}

fn back_to(path: &str, scope: &str) -> Response {
    see_other(&format!("{path}?{}", query(&[("scope", scope)])))
}

pub async fn set_severity(State(s): State<AppState>, session: Session, form: Fields) -> Page {
    let (admin, scope) = admin_form(&session, &form)?;
    let _audit = api::set_severity(
        State(s),
        admin,
        Body(schema::SeverityPolicyBody {
            scope: scope.clone(),
            severity: form.get("severity")?,
            action: form.get("action")?,
        }),
    )
    .await?;
    Ok(back_to("/ui/policies", &scope))
}

pub async fn set_unscanned(State(s): State<AppState>, session: Session, form: Fields) -> Page {
    let (admin, scope) = admin_form(&session, &form)?;
    let _audit = api::set_unscanned(
        State(s),
        admin,
        Body(schema::UnscannedPolicyBody {
            scope: scope.clone(),
            action: Some(form.get("action")?),
        }),
    )
    .await?;
    Ok(back_to("/ui/policies", &scope))
}

// ---- CVE rules and audit --------------------------------------------------------------

pub async fn rules(
    State(s): State<AppState>,
    session: Session,
    Query(q): Query<ScopeChoice>,
) -> Page {
    let (_, scopes, scope, eff) = effective(&s, &session, &q.scope).await?;
    let admin = session.is_admin();
    let rules: Vec<&Value> = eff["cve_rules"].as_array().into_iter().flatten().collect();
    let body = html! {
        (scope_picker("/ui/rules", &scopes, &scope))
        p.muted { "Rules in force at " strong { (scope) } ", including those inherited from less specific scopes." }
        div.scroll {
            table #rules {
                thead { tr { th { "Vulnerability" } th { "Action" } th { "Scope" } th { "Reason" } th { "Author" } th { "Expires" } th { "Status" } @if admin { th {} } } }
                tbody {
                    @for e in &rules {
                        @let r = &e["rule"];
                        @let expired = e["expired"].as_bool().unwrap_or(false);
                        tr data-id=(text(r, "id")) class=[expired.then_some("expired")] {
                            td { code { (text(r, "id")) } }
                            td { span class={"rule rule-" (text(r, "action"))} { @if text(r, "action") == "allow" { "whitelist" } @else { "blacklist" } } }
                            td { (text(r, "scope")) }
                            td.summary { (text(r, "reason")) }
                            td { (text(r, "author")) }
                            td { @match r["expires"].as_str() { Some(x) => { (x) } None => { span.muted { "never" } } } }
                            td { @if expired { span.expired { "expired" } }
                                 @else if let Some(by) = e["overridden_by"].as_str() { span.muted { "overridden by " (by) } }
                                 @else { "in force" } }
                            @if admin {
                                td { @if text(r, "scope") == scope {
                                    form.inline method="post" action="/ui/rules/remove" {
                                        (csrf(&session))
                                        input type="hidden" name="scope" value=(scope);
                                        input type="hidden" name="id" value=(text(r, "id"));
                                        button type="submit" aria-label={"Remove the rule on " (text(r, "id"))} { "Remove" }
                                    }
                                } }
                            }
                        }
                    }
                }
            }
        }
        @if rules.is_empty() { p.muted { "No CVE rule applies here." } }
        @if admin {
            section aria-labelledby="add-h" {
                h2 #add-h { "Add a rule at " (scope) }
                form.card #add-rule method="post" action="/ui/rules/add" {
                    (csrf(&session))
                    input type="hidden" name="scope" value=(scope);
                    label { "Vulnerability id" input type="text" name="id" required placeholder="CVE-2024-…"; }
                    label { "Action" select name="action" { option value="whitelist" { "whitelist (never blocks)" } option value="blacklist" { "blacklist (always blocks)" } } }
                    label { "Reason" input type="text" name="reason" required; }
                    label { "Expires (optional)" input type="date" name="expires"; }
                    button type="submit" { "Add rule" }
                }
            }
        }
    };
    page(&Chrome::of("CVE rules", "/ui/rules", &session), body)
}

pub async fn add_rule(State(s): State<AppState>, session: Session, form: Fields) -> Page {
    let (admin, scope) = admin_form(&session, &form)?;
    let _audit = api::add_cve_rule(
        State(s),
        admin,
        Body(schema::CveRuleBody {
            scope: scope.clone(),
            id: form.get("id")?.trim().to_owned(),
            action: form.get("action")?,
            reason: form.get("reason")?,
            expires: form.optional("expires"),
        }),
    )
    .await?;
    Ok(back_to("/ui/rules", &scope))
}

pub async fn remove_rule(State(s): State<AppState>, session: Session, form: Fields) -> Page {
    let (admin, scope) = admin_form(&session, &form)?;
    let _audit = api::remove_cve_rule(
        State(s),
        admin,
        Query(api::CveRuleQuery {
            scope: scope.clone(),
            id: form.get("id")?,
        }),
    )
    .await?;
    Ok(back_to("/ui/rules", &scope))
}

pub async fn audit(
    State(s): State<AppState>,
    session: Session,
    Query(q): Query<ScopeChoice>,
) -> Page {
    let ents = Entities::load(&s, &session).await?;
    let scopes = ents.scopes(&session);
    let Json(entries) = api::audit(
        State(s.clone()),
        session.viewer(),
        Query(api::AuditQuery {
            scope: (!q.scope.is_empty()).then(|| q.scope.clone()),
            limit: Some(500),
        }),
    )
    .await?;
    let show = |v: &Value| match v {
        Value::Null => String::from("—"),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let body = html! {
        form.filters method="get" action="/ui/audit" {
            (select("scope", "Scope", &scopes, &q.scope, Some("every scope")))
            button type="submit" { "Show" }
        }
        div.scroll {
            table #audit {
                thead { tr { th { "When" } th { "Who" } th { "Scope" } th { "Change" } th { "What" } th { "Before" } th { "After" } } }
                tbody {
                    @for e in entries.as_array().into_iter().flatten().rev() {
                        tr {
                            td { (text(e, "when")) }
                            td { (text(e, "who")) }
                            td { (text(e, "scope")) }
                            td { (text(e, "change")) }
                            td { (show(&e["key"])) }
                            td.summary { (show(&e["before"])) }
                            td.summary { (show(&e["after"])) }
                        }
                    }
                }
            }
        }
    };
    page(&Chrome::of("Audit log", "/ui/audit", &session), body)
}

// ---- notifications ---------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
pub struct EventsChoice {
    #[serde(default)]
    application: String,
}

/// Notifications (SPEC 7.7): deployments a re-match gave findings the policy blocks, the
/// findings, and each webhook delivery's state.
pub async fn events(
    State(s): State<AppState>,
    session: Session,
    Query(q): Query<EventsChoice>,
) -> Page {
    let ents = Entities::load(&s, &session).await?;
    let Json(events) = api::list_events(
        State(s.clone()),
        session.viewer(),
        Query(api::EventsQuery {
            application: (!q.application.is_empty()).then(|| q.application.clone()),
            limit: Some(200),
        }),
    )
    .await?;
    let body = html! {
        p.muted { "When a database import gives a deployed image a finding that today's policy blocks, an event is kept here and sent to the configured webhooks until they take it." }
        form.filters method="get" action="/ui/events" {
            (select("application", "Application", &ents.applications, &q.application, Some("any")))
            button type="submit" { "Show" }
        }
        @if events.as_array().is_none_or(Vec::is_empty) {
            p #no-events { "No notifications." }
        }
        div.scroll {
            table #events {
                thead { tr { th { "When" } th { "Deployment" } th { "Image" } th { "Blocked findings" } th { "Webhooks" } } }
                tbody {
                    @for e in events.as_array().into_iter().flatten() {
                        @let p = &e["payload"];
                        tr {
                            td { (text(e, "at")) }
                            td { (text(e, "application")) " in " (text(e, "environment")) }
                            td { code title=(text(e, "digest")) { (short(text(e, "digest"))) } br; span.muted { (text(p, "image")) } }
                            td {
                                @for f in p["findings"].as_array().into_iter().flatten() {
                                    div { (badge(text(f, "severity"))) " " strong { (text(f, "id")) } " " (text(f, "package")) " " (text(f, "version"))
                                        @if let Some(fix) = f["fixed_version"].as_str() { " (fixed in " (fix) ")" } }
                                }
                            }
                            td {
                                @for d in e["deliveries"].as_array().into_iter().flatten() {
                                    div {
                                        code { (text(d, "url")) } ": "
                                        @if let Some(at) = d["delivered_at"].as_str() {
                                            span.delivered { "delivered " (at) }
                                        } @else {
                                            span.pending { "pending, " (count(d, "attempts")) " tries, next " (text(d, "next_attempt_at")) }
                                            @if let Some(err) = d["last_error"].as_str() { br; span.muted { (err) } }
                                        }
                                    }
                                }
                                @if e["deliveries"].as_array().is_none_or(Vec::is_empty) { span.muted { "no webhook configured" } }
                            }
                        }
                    }
                }
            }
        }
    };
    page(&Chrome::of("Notifications", "/ui/events", &session), body)
}

// ---- integrations ---------------------------------------------------------------------

/// The last lines of an install log shown on the page.
const LOG_LINES: usize = 200;

pub async fn integrations(State(s): State<AppState>, session: Session) -> Page {
    let all = integrations::all_json(&s).await?;
    let admin = session.is_admin();
    let installed: HashSet<&str> = all
        .iter()
        .filter(|i| text(i, "status") == "installed")
        .map(|i| text(i, "name"))
        .collect();
    let mut logs = HashMap::new();
    for i in &all {
        let name = text(i, "name");
        let lines = s.db.install_log(name, 0, 100_000).await?;
        let start = lines.len().saturating_sub(LOG_LINES);
        logs.insert(name.to_owned(), lines[start..].to_vec());
    }
    let running = all.iter().any(|i| {
        vigil_store::platform::IntegrationStatus::parse(text(i, "status"))
            .is_some_and(vigil_store::platform::IntegrationStatus::is_running)
    });
    let card = |i: &Value| {
        let name = text(i, "name");
        let status = text(i, "status");
        let missing: Vec<&str> = i["requires"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|r| !installed.contains(r))
            .collect();
        let is_running = vigil_store::platform::IntegrationStatus::parse(status)
            .is_some_and(vigil_store::platform::IntegrationStatus::is_running);
        let lines = logs.get(name).map(Vec::as_slice).unwrap_or(&[]);
        let after = lines.last().map_or(0, |l| l.id);
        let action = |verb: &str, label: &str| {
            html! {
                form.inline method="post" action={"/ui/integrations/" (name) "/" (verb)} {
                    (csrf(&session))
                    button type="submit" disabled[!missing.is_empty()] { (label) }
                }
            }
        };
        html! {
            article.integration #(name) data-status=(status) {
                h3 { (text(i, "title")) " " small.muted { code { (name) } " v" (text(i, "version")) } }
                p { (text(i, "description")) }
                p { "Status: " span.state id={"status-" (name)} class={"state-" (status)} { (status) }
                    @if let Some(v) = i["installed_version"].as_str() { " · installed v" (v) }
                    @if i["update_available"].as_bool() == Some(true) { " · " strong { "update available" } } }
                @if !missing.is_empty() {
                    p.notice role="note" { "Requires " @for (k, m) in missing.iter().enumerate() { @if k > 0 { ", " } a href={"#" (m)} { (m) } } " to be installed first." }
                }
                @if admin && !is_running {
                    @match status {
                        "not_installed" => { (action("install", "Install")) }
                        "failed" | "timed_out" => { (action("retry", "Retry")) }
                        _ => {}
                    }
                    @if i["update_available"].as_bool() == Some(true) { (action("update", "Update")) }
                }
                @if !lines.is_empty() || is_running {
                    details open {
                        summary { "Install log" }
                        pre.log id={"log-" (name)} data-name=(name) data-after=(after) data-running=(is_running) aria-live="polite" {
                            @for l in lines { (crate::api::rfc3339(l.at)) "  " (l.line) "\n" }
                        }
                    }
                }
            }
        }
    };
    let body = html! {
        @if !admin { p.muted { "Only an admin token may install integrations." } }
        section #discover aria-labelledby="discover-h" {
            h2 #discover-h { "Discover" }
            @let list: Vec<&Value> = all.iter().filter(|i| text(i, "status") == "not_installed").collect();
            @if list.is_empty() { p.muted { "Every integration is installed or being installed." } }
            @for i in list { (card(i)) }
        }
        section #installed aria-labelledby="installed-h" {
            h2 #installed-h { "Installed" }
            @let list: Vec<&Value> = all.iter().filter(|i| text(i, "status") != "not_installed").collect();
            @if list.is_empty() { p.muted { "Nothing installed yet." } }
            @for i in list { (card(i)) }
        }
    };
    let mut chrome = Chrome::of("Integrations", "/ui/integrations", &session);
    chrome.refresh = running;
    page(&chrome, body)
}

#[derive(Debug, Deserialize)]
pub struct After {
    after: Option<i64>,
}

/// The install log after a line, for the page's live view (the API's answer).
pub async fn integration_log(
    State(s): State<AppState>,
    session: Session,
    Path(name): Path<String>,
    Query(q): Query<After>,
) -> Result<Response, UiError> {
    let Json(v) = api::integration_log(
        State(s),
        session.viewer(),
        Path(name),
        Query(api::LogQuery {
            after: q.after,
            limit: Some(1000),
        }),
    )
    .await?;
    Ok(Json(v).into_response())
}

pub async fn integration_action(
    State(s): State<AppState>,
    session: Session,
    Path((name, action)): Path<(String, String)>,
    form: Fields,
) -> Page {
    session.check_csrf(&form)?;
    let admin = session.admin()?;
    let st = State(s);
    let p = Path(name.clone());
    match action.as_str() {
        "install" => api::install_integration(st, admin, p).await?,
        "retry" => api::retry_integration(st, admin, p).await?,
        "update" => api::update_integration(st, admin, p).await?,
        other => {
            return Err(ApiError::NotFound(format!(
                "no action {other:?}: expected install, retry or update"
            ))
            .into());
        }
    };
    Ok(see_other(&format!("/ui/integrations#{name}")))
}
