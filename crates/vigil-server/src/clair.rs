//! Clair v4 compatibility (issue 12, SPEC 9.3): the indexer's and the matcher's endpoints
//! with Clair's shapes, answered from vigil's own scans, so that clients written for Clair
//! can use vigil in its place.
//!
//! - `POST /indexer/api/v1/index_report` (role ci): a Clair Manifest `{hash, layers: [{hash,
//!   uri, headers}]}` whose layer URIs are registry blob URLs
//!   (`SCHEME://HOST/v2/NAME/blobs/DIGEST`, as Quay and clairctl send). vigil scans
//!   `HOST/NAME@HASH` through the registry (the same queue and workers as `POST
//!   /api/v1/scans`), checks that the image's layers are the manifest's, and answers the
//!   IndexReport (201). A digest already scanned against today's database is answered at
//!   once.
//! - `GET /indexer/api/v1/index_report/{digest}`, `GET
//!   /matcher/api/v1/vulnerability_report/{digest}` (role viewer): from the latest completed
//!   scan of the digest; 404 when there is none.
//! - `GET /indexer/api/v1/index_state`: the database version (changes when a feed import
//!   changes the database, as Clair's state changes when its indexers do).
//!
//! - `GET /notifier/api/v1/notification/{id}?page_size=&next=` (role viewer): a
//!   notification set is one re-match pass (SPEC 5.5), named by the database version it
//!   matched against (`index_state`'s `state` after the import; `vigil db rematches`).
//!   Each finding an image gained is an `added` notification, each it lost a `removed` one,
//!   with the vulnerability summarised from the scan that has it. Pages of `page_size`
//!   (default 500); `page.next` is the offset of the next page.
//! - `DELETE /notifier/api/v1/notification/{id}` (role ci): the set is no longer served
//!   (404 afterwards).
//!
//! Known differences: authentication is vigil's bearer token, not Clair's PSK-signed JWT; the
//! manifest's per-layer `headers` are not used (vigil authenticates to the registry itself);
//! layers given only as plain URLs outside a registry are refused; `repository` is always
//! empty; vulnerability ids are unique within one report (`ID/PACKAGE-ID`), as Clair allows.
//! The notifier sends no Clair-style webhook: vigil's own notifications (`[notify]`) carry
//! the blocked findings themselves; Clair clients poll with the database version.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::api::{Body, Path};
use crate::auth::{Ci, Viewer};
use crate::error::ApiError;
use crate::{api, integrations, schema};

#[derive(Debug, Deserialize)]
pub struct Manifest {
    pub hash: String,
    #[serde(default)]
    pub layers: Vec<Layer>,
}

#[derive(Debug, Deserialize)]
pub struct Layer {
    pub hash: String,
    pub uri: String,
}

/// `HOST/NAME` of a registry blob URL, and the blob's digest.
fn blob_url(uri: &str) -> Option<(String, String, String)> {
    let rest = uri
        .strip_prefix("https://")
        .or_else(|| uri.strip_prefix("http://"))?;
    let (host, path) = rest.split_once('/')?;
    let path = path.split(['?', '#']).next()?;
    let path = path.strip_prefix("v2/")?;
    let (name, digest) = path.rsplit_once("/blobs/")?;
    (!host.is_empty() && !name.is_empty())
        .then(|| (host.to_owned(), name.to_owned(), digest.to_owned()))
}

fn bad(why: String) -> ApiError {
    ApiError::BadRequest(why)
}

/// The image reference a manifest names: every layer must come from one repository.
fn reference(m: &Manifest) -> Result<String, ApiError> {
    if !vigil_service::scan::is_digest(&m.hash) {
        return Err(bad(format!("manifest hash {:?} is not a digest", m.hash)));
    }
    let first = m
        .layers
        .first()
        .ok_or_else(|| bad("the manifest has no layers".into()))?;
    let (host, name, _) = blob_url(&first.uri).ok_or_else(|| {
        bad(format!(
            "layer uri {:?} is not a registry blob URL (SCHEME://HOST/v2/NAME/blobs/DIGEST)",
            first.uri
        ))
    })?;
    for l in &m.layers {
        match blob_url(&l.uri) {
            Some((h, n, d)) if h == host && n == name && d == l.hash => {}
            _ => {
                return Err(bad(format!(
                    "layer {} ({:?}) is not a blob of {host}/{name} with that digest",
                    l.hash, l.uri
                )));
            }
        }
    }
    Ok(format!("{host}/{name}@{}", m.hash))
}

/// Clair's IndexReport (and the common half of its VulnerabilityReport) of a stored report.
fn index_parts(report: &Value) -> (Map<String, Value>, Map<String, Value>, Map<String, Value>) {
    let mut packages = Map::new();
    let mut environments = Map::new();
    let mut distributions = Map::new();
    let distro = &report["distro"];
    if let Some(did) = distro["id"].as_str() {
        let mut d = json!({"id": "1", "did": did, "name": did});
        for (from, to) in [
            ("version_id", "version_id"),
            ("version_id", "version"),
            ("codename", "version_code_name"),
            ("pretty_name", "pretty_name"),
        ] {
            if let Some(v) = distro[from].as_str() {
                d[to] = json!(v);
            }
        }
        distributions.insert("1".into(), d);
    }
    for (i, p) in report["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let id = (i + 1).to_string();
        let mut pkg = json!({
            "id": id,
            "name": p["name"],
            "version": p["version"],
            "kind": "BINARY",
        });
        if let Some(a) = p["arch"].as_str() {
            pkg["arch"] = json!(a);
        }
        if let Some(src) = p["source_name"].as_str() {
            pkg["source"] = json!({
                "name": src,
                "version": p["source_version"].as_str().or(p["version"].as_str()),
                "kind": "SOURCE",
            });
        }
        packages.insert(id.clone(), pkg);
        let mut env = json!({ "package_db": p["path"], "repository_ids": [] });
        if let Some(l) = p["layer"].as_str() {
            env["introduced_in"] = json!(l);
        }
        let os_package = ["deb", "apk", "rpm"].iter().any(|e| p["ecosystem"] == *e);
        if os_package && !distributions.is_empty() {
            env["distribution_id"] = json!("1");
        }
        environments.insert(id, json!([env]));
    }
    (packages, distributions, environments)
}

fn index_report(digest: &str, report: &Value) -> Value {
    let (packages, distributions, environments) = index_parts(report);
    json!({
        "manifest_hash": digest,
        "state": "IndexFinished",
        "success": true,
        "err": "",
        "packages": packages,
        "distributions": distributions,
        "repository": {},
        "environments": environments,
    })
}

fn normalized(severity: &str) -> &'static str {
    match severity {
        "critical" => "Critical",
        "high" => "High",
        "medium" => "Medium",
        "low" => "Low",
        _ => "Unknown",
    }
}

fn vulnerability_report(digest: &str, report: &Value) -> Value {
    let (packages, distributions, environments) = index_parts(report);
    // (ecosystem, name, version) -> package id
    let ids: BTreeMap<(String, String, String), String> = report["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, p)| {
            let k = |f: &str| p[f].as_str().unwrap_or("").to_owned();
            (
                (k("ecosystem"), k("name"), k("version")),
                (i + 1).to_string(),
            )
        })
        .collect();
    let mut vulnerabilities = Map::new();
    let mut by_package: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for f in report["findings"].as_array().into_iter().flatten() {
        let p = &f["package"];
        let key = |k: &str| p[k].as_str().unwrap_or("").to_owned();
        let Some(pid) = ids.get(&(key("ecosystem"), key("name"), key("version"))) else {
            continue;
        };
        let id = format!("{}/{pid}", f["id"].as_str().unwrap_or(""));
        let mut v = summary(f, distributions.get("1"));
        let more = json!({
            "id": id,
            "updater": format!("vigil:{}", f["data_source"]["ecosystem"].as_str().unwrap_or("osv")),
            "description": f["summary"].as_str().unwrap_or(""),
            "links": f["aliases"].as_array().into_iter().flatten().filter_map(Value::as_str)
                .chain(f["id"].as_str()).map(link).collect::<Vec<_>>().join(" "),
        });
        if let (Some(v), Value::Object(more)) = (v.as_object_mut(), more) {
            v.extend(more);
        }
        vulnerabilities.insert(id.clone(), v);
        by_package.entry(pid.clone()).or_default().push(json!(id));
    }
    json!({
        "manifest_hash": digest,
        "packages": packages,
        "distributions": distributions,
        "repository": {},
        "environments": environments,
        "vulnerabilities": vulnerabilities,
        "package_vulnerabilities": by_package,
        "enrichments": {},
    })
}

/// Clair's VulnerabilitySummary of a finding of a stored report: name, severity, the fixed
/// version, the package and (Debian packages) the distribution.
fn summary(f: &Value, distribution: Option<&Value>) -> Value {
    let p = &f["package"];
    let severity = f["severity"].as_str().unwrap_or("unknown");
    let mut v = json!({
        "name": f["id"],
        "severity": severity,
        "normalized_severity": normalized(severity),
        "package": {"name": p["name"], "version": p["version"], "kind": "BINARY"},
        // Clair's schema wants it beside `package`; the package carries no arch here.
        "arch_op": "equals",
    });
    if let Some(fix) = f["fixed_version"].as_str() {
        v["fixed_in_version"] = json!(fix);
    }
    if let Some(d) = distribution
        && p["ecosystem"] == "deb"
    {
        v["distribution"] = d.clone();
    }
    v
}

fn link(id: &str) -> String {
    if id.starts_with("CVE-") {
        format!("https://www.cve.org/CVERecord?id={id}")
    } else {
        format!("https://osv.dev/vulnerability/{id}")
    }
}

/// The stored report of the latest completed scan of `digest`.
async fn stored(s: &AppState, digest: &str) -> Result<Value, ApiError> {
    if !vigil_service::scan::is_digest(digest) {
        return Err(bad(format!("{digest:?} is not a digest")));
    }
    let done = s.db.latest_completed_scan(digest).await?.ok_or_else(|| {
        ApiError::NotFound(format!("no completed scan of {digest}: index it first"))
    })?;
    serde_json::from_str(&done.report).map_err(ApiError::internal)
}

/// `GET /indexer/api/v1/index_report/{digest}`.
pub async fn get_index_report(
    State(s): State<AppState>,
    _: Viewer,
    Path(digest): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let report = stored(&s, &digest).await?;
    Ok(Json(index_report(&digest, &report)))
}

/// `GET /matcher/api/v1/vulnerability_report/{digest}`.
pub async fn get_vulnerability_report(
    State(s): State<AppState>,
    _: Viewer,
    Path(digest): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let report = stored(&s, &digest).await?;
    Ok(Json(vulnerability_report(&digest, &report)))
}

/// `GET /indexer/api/v1/index_state`.
pub async fn index_state(State(s): State<AppState>, _: Viewer) -> Result<Json<Value>, ApiError> {
    let v = vigil_store::platform::database_version(&*s.db).await?;
    Ok(Json(json!({ "state": v })))
}

/// `POST /indexer/api/v1/index_report`.
pub async fn post_index_report(
    State(s): State<AppState>,
    ci: Ci,
    Body(m): Body<Manifest>,
) -> Result<Response, ApiError> {
    integrations::require(&s, integrations::SCANNING).await?;
    let image = reference(&m)?;
    let submitted = api::submit_scan(
        State(s.clone()),
        ci,
        Body(schema::SubmitBody {
            image: image.clone(),
            pipeline: None,
            force: false,
        }),
    )
    .await?;
    let body = axum::body::to_bytes(submitted.into_body(), 1 << 20)
        .await
        .map_err(ApiError::internal)?;
    let answer: Value = serde_json::from_slice(&body).map_err(ApiError::internal)?;
    let id = answer["scan"]["id"]
        .as_i64()
        .ok_or_else(|| ApiError::internal(format!("no scan in {answer}")))?;
    // Clair answers once indexed: wait for the worker, as long as a scan may take.
    let deadline = Instant::now() + s.opts.timeout + Duration::from_secs(30);
    let scan = loop {
        let scan =
            s.db.scan(id)
                .await?
                .ok_or_else(|| ApiError::internal(format!("scan {id} vanished")))?;
        if matches!(
            scan.state,
            vigil_store::platform::ScanState::Completed | vigil_store::platform::ScanState::Failed
        ) {
            break scan;
        }
        if Instant::now() > deadline {
            return Err(ApiError::Unavailable(format!(
                "scan {id} of {image} did not finish in time"
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let failed = |err: String| {
        (
            StatusCode::CREATED,
            Json(
                json!({"manifest_hash": m.hash, "state": "IndexError", "success": false,
                "err": err}),
            ),
        )
            .into_response()
    };
    if scan.state == vigil_store::platform::ScanState::Failed {
        return Ok(failed(
            scan.error.unwrap_or_else(|| "the scan failed".into()),
        ));
    }
    let report = stored(&s, &scan.digest).await?;
    let layers: Vec<&str> = report["image"]["layers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["digest"].as_str())
        .collect();
    let wanted: Vec<&str> = m.layers.iter().map(|l| l.hash.as_str()).collect();
    if layers != wanted {
        return Ok(failed(format!(
            "the image {image} has layers {layers:?}, not the manifest's {wanted:?}"
        )));
    }
    Ok((StatusCode::CREATED, Json(index_report(&m.hash, &report))).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_urls_name_the_repository() {
        assert_eq!(
            blob_url("http://127.0.0.1:5000/v2/team/app/blobs/sha256:ab?x=1"),
            Some((
                "127.0.0.1:5000".into(),
                "team/app".into(),
                "sha256:ab".into()
            ))
        );
        assert_eq!(blob_url("file:///etc/passwd"), None);
        assert_eq!(blob_url("https://host/layer.tar"), None);
    }
}

#[derive(Debug, Deserialize)]
pub struct NotificationQuery {
    pub page_size: Option<u32>,
    pub next: Option<String>,
}

/// A finding of a stored report with its key as re-matches record it
/// (`ID ECOSYSTEM/NAME@VERSION`).
fn finding_by_key<'a>(report: &'a Value, key: &str) -> Option<&'a Value> {
    report["findings"]
        .as_array()?
        .iter()
        .find(|f| vigil_service::rematch::report_finding_key(f) == key)
}

/// The stored report of scan `id`, parsed.
async fn report_of(s: &AppState, id: i64) -> Result<Option<Value>, ApiError> {
    match s.db.scan_report(id).await? {
        Some(done) => Ok(Some(
            serde_json::from_str(&done.report).map_err(ApiError::internal)?,
        )),
        None => Ok(None),
    }
}

/// `GET /notifier/api/v1/notification/{id}`.
pub async fn get_notification(
    State(s): State<AppState>,
    _: Viewer,
    Path(id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<NotificationQuery>,
) -> Result<Json<Value>, ApiError> {
    if s.db.notification_set_deleted(&id).await? {
        return Err(ApiError::NotFound(format!(
            "notification set {id} was deleted"
        )));
    }
    let size = q.page_size.unwrap_or(500).clamp(1, 5000);
    let start: u64 = match &q.next {
        None => 0,
        Some(n) => n
            .parse()
            .map_err(|_| bad(format!("next {n:?} is not a page token this server gave")))?,
    };
    // Notifications are numbered over the set: rematch rows in order, each row's added
    // then removed findings. Rows are read until the page is full.
    let mut notifications = Vec::new();
    let mut seen: u64 = 0;
    let mut offset = 0;
    let mut any = false;
    'rows: loop {
        let rows = s.db.rematches_against(&id, offset, 200).await?;
        if rows.is_empty() {
            break;
        }
        any = true;
        offset += rows.len() as u64;
        for r in &rows {
            let count = (r.new.len() + r.resolved.len()) as u64;
            if seen + count <= start {
                seen += count;
                continue;
            }
            // Each side's report (and its distribution) is read once, and only if needed.
            let side = |id: i64, keys: &[String]| {
                let s = &s;
                let needed = !keys.is_empty();
                async move {
                    if !needed {
                        return Ok::<_, ApiError>(None);
                    }
                    Ok(report_of(s, id).await?.map(|report| {
                        let distribution = index_parts(&report).1.get("1").cloned();
                        (report, distribution)
                    }))
                }
            };
            let after = side(r.scan_id, &r.new).await?;
            let before = side(r.previous_scan_id, &r.resolved).await?;
            let changes = r
                .new
                .iter()
                .map(|k| ("added", k, &after))
                .chain(r.resolved.iter().map(|k| ("removed", k, &before)));
            for (reason, key, read) in changes {
                seen += 1;
                if seen <= start {
                    continue;
                }
                if notifications.len() as u32 == size {
                    break 'rows;
                }
                let Some((report, distribution)) = read else {
                    continue;
                };
                let Some(f) = finding_by_key(report, key) else {
                    continue;
                };
                notifications.push(json!({
                    "id": format!("{}-{}", r.id, seen),
                    "manifest": r.digest,
                    "reason": reason,
                    "vulnerability": summary(f, distribution.as_ref()),
                }));
            }
        }
    }
    if !any && start == 0 {
        return Err(ApiError::NotFound(format!(
            "no notification set {id}: ids are database versions a re-match ran against (vigil db rematches)"
        )));
    }
    let mut page = json!({ "size": notifications.len() });
    if notifications.len() as u32 == size {
        page["next"] = json!((start + u64::from(size)).to_string());
    }
    Ok(Json(
        json!({ "page": page, "notifications": notifications }),
    ))
}

/// `DELETE /notifier/api/v1/notification/{id}`.
pub async fn delete_notification(
    State(s): State<AppState>,
    _: Ci,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if s.db.rematches_against(&id, 0, 1).await?.is_empty() {
        return Err(ApiError::NotFound(format!("no notification set {id}")));
    }
    s.db.delete_notification_set(&id, std::time::SystemTime::now())
        .await?;
    Ok(StatusCode::OK)
}
