//! The `/api/v1` routes: each one checks its role through its extractor ([`crate::auth`]),
//! calls the same store and service functions as the CLI, and answers JSON.

use std::time::SystemTime;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use vigil_policy::{Action, CveAction, CveRule, Scope, Severity, UnscannedAction};
use vigil_service::{DeployedFilter, DeployedSort, GateRequest, Page};
use vigil_store::platform::{
    AuditFilter, DeploymentFilter, Environment, InstallEvent, IntegrationStatus, Pipeline,
    PolicyEdit, Role, Scan, ScanFilter, ScanState, Token,
};

use crate::AppState;
use crate::auth::{Admin, Caller, Ci, Viewer};
use crate::error::ApiError;
use crate::{integrations, schema};

/// JSON body whose rejection is one of ours (400 for malformed JSON, 422 for JSON of the
/// wrong shape, with the reason), not axum's plain text.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Self(v)),
            // Well-formed JSON of the wrong shape (a missing or mistyped field): 422.
            Err(e @ JsonRejection::JsonDataError(_)) => Err(ApiError::Unprocessable(e.body_text())),
            Err(e) => Err(ApiError::BadRequest(e.body_text())),
        }
    }
}

/// Path parameters whose rejection is one of ours (400 naming the bad segment).
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Self(v)),
            Err(e) => Err(ApiError::BadRequest(e.body_text())),
        }
    }
}

/// Query string whose rejection is one of ours.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Self(v)),
            Err(e) => Err(ApiError::BadRequest(e.body_text())),
        }
    }
}

type Answer<T = Json<Value>> = Result<T, ApiError>;

pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

fn created(v: Value) -> Response {
    (StatusCode::CREATED, Json(v)).into_response()
}

fn parse<T: std::str::FromStr>(what: &str, text: &str, expected: &str) -> Result<T, ApiError> {
    text.parse::<T>().map_err(|_| {
        ApiError::Unprocessable(format!("invalid {what} {text:?}: expected {expected}"))
    })
}

fn scope(text: &str) -> Result<Scope, ApiError> {
    text.parse::<Scope>()
        .map_err(|e| ApiError::Unprocessable(e.to_string()))
}

/// The application a scope names, if any.
fn scope_app(scope: &Scope) -> Option<&str> {
    match scope {
        Scope::Application(a) | Scope::ApplicationInEnvironment { application: a, .. } => {
            Some(a.as_str())
        }
        _ => None,
    }
}

fn check_scope(caller: &Caller, scope: &Scope) -> Result<(), ApiError> {
    match scope_app(scope) {
        Some(a) => caller.check_app(a),
        None => Ok(()),
    }
}

// ---- entities -------------------------------------------------------------------------

/// Every cluster.
#[utoipa::path(get, path = "/api/v1/clusters", tag = "entities",
    responses((status = 200, body = Vec<String>)), security(("bearer" = [])))]
pub async fn list_clusters(State(s): State<AppState>, _: Viewer) -> Answer {
    Ok(Json(json!(s.db.clusters().await?)))
}

/// Adds a cluster.
#[utoipa::path(post, path = "/api/v1/clusters", tag = "entities", request_body = schema::NameBody,
    responses((status = 201, body = schema::NameBody), (status = 409, body = schema::ErrorBody)),
    security(("bearer" = [])))]
pub async fn add_cluster(
    State(s): State<AppState>,
    _: Admin,
    Body(b): Body<schema::NameBody>,
) -> Answer<Response> {
    integrations::require(&s, integrations::CICD).await?;
    s.db.add_cluster(&b.name).await?;
    Ok(created(json!({ "name": b.name })))
}

/// Removes a cluster no environment or rule uses.
#[utoipa::path(delete, path = "/api/v1/clusters/{name}", tag = "entities",
    params(("name" = String, Path)),
    responses((status = 204), (status = 404, body = schema::ErrorBody), (status = 409, body = schema::ErrorBody)),
    security(("bearer" = [])))]
pub async fn remove_cluster(
    State(s): State<AppState>,
    _: Admin,
    Path(name): Path<String>,
) -> Answer<StatusCode> {
    integrations::require(&s, integrations::CICD).await?;
    s.db.remove_cluster(&name).await?;
    s.gate_cache.forget();
    Ok(StatusCode::NO_CONTENT)
}

fn env_json(e: &Environment) -> Value {
    json!({ "name": e.name, "cluster": e.cluster, "namespace": e.namespace })
}

/// Every environment.
#[utoipa::path(get, path = "/api/v1/environments", tag = "entities",
    responses((status = 200, body = Vec<schema::EnvironmentBody>)), security(("bearer" = [])))]
pub async fn list_environments(State(s): State<AppState>, _: Viewer) -> Answer {
    let envs = s.db.environments().await?;
    Ok(Json(Value::Array(envs.iter().map(env_json).collect())))
}

/// Adds an environment: a namespace of a cluster.
#[utoipa::path(post, path = "/api/v1/environments", tag = "entities",
    request_body = schema::EnvironmentBody,
    responses((status = 201, body = schema::EnvironmentBody), (status = 404, body = schema::ErrorBody),
        (status = 409, body = schema::ErrorBody)),
    security(("bearer" = [])))]
pub async fn add_environment(
    State(s): State<AppState>,
    _: Admin,
    Body(b): Body<schema::EnvironmentBody>,
) -> Answer<Response> {
    integrations::require(&s, integrations::CICD).await?;
    let env = Environment {
        name: b.name,
        cluster: b.cluster,
        namespace: b.namespace,
    };
    s.db.add_environment(&env).await?;
    Ok(created(env_json(&env)))
}

/// Removes an environment no deployment or rule uses.
#[utoipa::path(delete, path = "/api/v1/environments/{name}", tag = "entities",
    params(("name" = String, Path)),
    responses((status = 204), (status = 404, body = schema::ErrorBody), (status = 409, body = schema::ErrorBody)),
    security(("bearer" = [])))]
pub async fn remove_environment(
    State(s): State<AppState>,
    _: Admin,
    Path(name): Path<String>,
) -> Answer<StatusCode> {
    integrations::require(&s, integrations::CICD).await?;
    s.db.remove_environment(&name).await?;
    s.gate_cache.forget();
    Ok(StatusCode::NO_CONTENT)
}

/// Every application the token may see.
#[utoipa::path(get, path = "/api/v1/apps", tag = "entities",
    responses((status = 200, body = Vec<String>)), security(("bearer" = [])))]
pub async fn list_apps(State(s): State<AppState>, Viewer(c): Viewer) -> Answer {
    let apps: Vec<String> =
        s.db.applications()
            .await?
            .into_iter()
            .filter(|a| c.sees(a))
            .collect();
    Ok(Json(json!(apps)))
}

/// Adds an application.
#[utoipa::path(post, path = "/api/v1/apps", tag = "entities", request_body = schema::NameBody,
    responses((status = 201, body = schema::NameBody), (status = 409, body = schema::ErrorBody)),
    security(("bearer" = [])))]
pub async fn add_app(
    State(s): State<AppState>,
    _: Admin,
    Body(b): Body<schema::NameBody>,
) -> Answer<Response> {
    integrations::require(&s, integrations::CICD).await?;
    s.db.add_application(&b.name).await?;
    Ok(created(json!({ "name": b.name })))
}

/// Removes an application no pipeline, deployment or rule uses.
#[utoipa::path(delete, path = "/api/v1/apps/{name}", tag = "entities",
    params(("name" = String, Path)),
    responses((status = 204), (status = 404, body = schema::ErrorBody), (status = 409, body = schema::ErrorBody)),
    security(("bearer" = [])))]
pub async fn remove_app(
    State(s): State<AppState>,
    _: Admin,
    Path(name): Path<String>,
) -> Answer<StatusCode> {
    integrations::require(&s, integrations::CICD).await?;
    s.db.remove_application(&name).await?;
    s.gate_cache.forget();
    Ok(StatusCode::NO_CONTENT)
}

fn pipeline_json(p: &Pipeline) -> Value {
    json!({ "name": p.name, "application": p.application, "scan_enabled": p.scan_enabled })
}

/// Every pipeline of the applications the token may see.
#[utoipa::path(get, path = "/api/v1/pipelines", tag = "entities",
    responses((status = 200, body = Vec<schema::PipelineBody>)), security(("bearer" = [])))]
pub async fn list_pipelines(State(s): State<AppState>, Viewer(c): Viewer) -> Answer {
    let ps = s.db.pipelines().await?;
    Ok(Json(Value::Array(
        ps.iter()
            .filter(|p| c.sees(&p.application))
            .map(pipeline_json)
            .collect(),
    )))
}

/// Adds a CI pipeline of an application.
#[utoipa::path(post, path = "/api/v1/pipelines", tag = "entities",
    request_body = schema::PipelineBody,
    responses((status = 201, body = schema::PipelineBody), (status = 404, body = schema::ErrorBody),
        (status = 409, body = schema::ErrorBody)),
    security(("bearer" = [])))]
pub async fn add_pipeline(
    State(s): State<AppState>,
    _: Admin,
    Body(b): Body<schema::PipelineBody>,
) -> Answer<Response> {
    integrations::require(&s, integrations::CICD).await?;
    let p = Pipeline {
        name: b.name,
        application: b.application,
        scan_enabled: b.scan_enabled,
    };
    s.db.add_pipeline(&p).await?;
    Ok(created(pipeline_json(&p)))
}

/// Removes a pipeline.
#[utoipa::path(delete, path = "/api/v1/pipelines/{name}", tag = "entities",
    params(("name" = String, Path)),
    responses((status = 204), (status = 404, body = schema::ErrorBody)),
    security(("bearer" = [])))]
pub async fn remove_pipeline(
    State(s): State<AppState>,
    _: Admin,
    Path(name): Path<String>,
) -> Answer<StatusCode> {
    integrations::require(&s, integrations::CICD).await?;
    s.db.remove_pipeline(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- policies -------------------------------------------------------------------------

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ScopeQuery {
    /// `global`, `cluster:C`, `env:E`, `app:A`, `app:A@env:E` (default global).
    pub scope: Option<String>,
}

/// The effective policy of a scope: every severity's action and where it comes from.
#[utoipa::path(get, path = "/api/v1/policies", tag = "policies", params(ScopeQuery),
    responses((status = 200, body = schema::Effective), (status = 404, body = schema::ErrorBody),
        (status = 422, body = schema::ErrorBody)),
    security(("bearer" = [])))]
pub async fn show_policy(
    State(s): State<AppState>,
    Viewer(c): Viewer,
    Query(q): Query<ScopeQuery>,
) -> Answer {
    let scope = scope(q.scope.as_deref().unwrap_or("global"))?;
    check_scope(&c, &scope)?;
    let policies = s.db.policies().await?;
    let cluster = match scope.environment() {
        Some(env) => {
            let e = s.db.environment(env.as_str()).await?.ok_or_else(|| {
                ApiError::NotFound(format!("environment {:?} does not exist", env.as_str()))
            })?;
            Some(
                vigil_policy::Name::new(e.cluster.clone())
                    .map_err(|e| ApiError::internal(format!("stored cluster name: {e}")))?,
            )
        }
        None => None,
    };
    let eff = vigil_policy::effective(&policies, &scope, cluster.as_ref(), SystemTime::now())
        .map_err(|e| ApiError::Unprocessable(e.to_string()))?;
    Ok(Json(
        serde_json::to_value(&eff).map_err(ApiError::internal)?,
    ))
}

async fn edit(s: &AppState, c: &Caller, edit: PolicyEdit) -> Answer {
    check_scope(c, edit.scope())?;
    let entries = s.db.edit_policy(edit, &c.who(), SystemTime::now()).await?;
    // The gate of this replica applies the change at once (others within a second).
    s.gate_cache.forget();
    Ok(Json(
        serde_json::to_value(&entries).map_err(ApiError::internal)?,
    ))
}

/// Sets a scope's action for one severity (`inherit` removes it).
#[utoipa::path(put, path = "/api/v1/policies/severities", tag = "policies",
    request_body = schema::SeverityPolicyBody,
    responses((status = 200, body = Vec<schema::AuditEntry>), (status = 404, body = schema::ErrorBody),
        (status = 422, body = schema::ErrorBody)),
    security(("bearer" = [])))]
pub async fn set_severity(
    State(s): State<AppState>,
    Admin(c): Admin,
    Body(b): Body<schema::SeverityPolicyBody>,
) -> Answer {
    let e = PolicyEdit::SetSeverity {
        scope: scope(&b.scope)?,
        severity: parse::<Severity>(
            "severity",
            &b.severity,
            "critical, high, medium, low or unknown",
        )?,
        action: parse::<Action>(
            "action",
            &b.action,
            "allow, block, block-if-fixed or inherit",
        )?,
    };
    edit(&s, &c, e).await
}

/// Sets what a scope does with images without a complete scan (null inherits).
#[utoipa::path(put, path = "/api/v1/policies/unscanned", tag = "policies",
    request_body = schema::UnscannedPolicyBody,
    responses((status = 200, body = Vec<schema::AuditEntry>), (status = 422, body = schema::ErrorBody)),
    security(("bearer" = [])))]
pub async fn set_unscanned(
    State(s): State<AppState>,
    Admin(c): Admin,
    Body(b): Body<schema::UnscannedPolicyBody>,
) -> Answer {
    let action = match b.action.as_deref() {
        None | Some("inherit") => None,
        Some(a) => Some(parse::<UnscannedAction>(
            "action",
            a,
            "allow, block or null",
        )?),
    };
    let e = PolicyEdit::SetUnscanned {
        scope: scope(&b.scope)?,
        action,
    };
    edit(&s, &c, e).await
}

/// Adds (or replaces) a CVE rule: whitelist or blacklist one vulnerability at a scope.
#[utoipa::path(post, path = "/api/v1/policies/cve-rules", tag = "policies",
    request_body = schema::CveRuleBody,
    responses((status = 200, body = Vec<schema::AuditEntry>), (status = 422, body = schema::ErrorBody)),
    security(("bearer" = [])))]
pub async fn add_cve_rule(
    State(s): State<AppState>,
    Admin(c): Admin,
    Body(b): Body<schema::CveRuleBody>,
) -> Answer {
    let now = SystemTime::now();
    // The SPEC's words (whitelist, blacklist) and the CLI's (allow, block) both work.
    let action = match b.action.as_str() {
        "whitelist" => CveAction::Allow,
        "blacklist" => CveAction::Block,
        other => parse::<CveAction>("action", other, "whitelist or blacklist (or allow, block)")?,
    };
    let expires = b
        .expires
        .as_deref()
        .map(vigil_policy::time::parse_date)
        .transpose()
        .map_err(|e| ApiError::Unprocessable(e.to_string()))?;
    let (rule, warning) = CveRule::new(
        scope(&b.scope)?,
        &b.id,
        action,
        c.who(),
        b.reason,
        now,
        expires,
    )
    .map_err(|e| ApiError::Unprocessable(e.to_string()))?;
    if let Some(w) = warning {
        tracing::warn!("{w}");
    }
    edit(&s, &c, PolicyEdit::AddCve(rule)).await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct CveRuleQuery {
    pub scope: String,
    pub id: String,
}

/// Removes a CVE rule.
#[utoipa::path(delete, path = "/api/v1/policies/cve-rules", tag = "policies", params(CveRuleQuery),
    responses((status = 200, body = Vec<schema::AuditEntry>), (status = 422, body = schema::ErrorBody)),
    security(("bearer" = [])))]
pub async fn remove_cve_rule(
    State(s): State<AppState>,
    Admin(c): Admin,
    Query(q): Query<CveRuleQuery>,
) -> Answer {
    let e = PolicyEdit::RemoveCve {
        scope: scope(&q.scope)?,
        id: q.id,
    };
    edit(&s, &c, e).await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AuditQuery {
    /// Only changes at this scope.
    pub scope: Option<String>,
    /// The newest this many (default 100).
    pub limit: Option<u32>,
}

/// The policy audit log, oldest first.
#[utoipa::path(get, path = "/api/v1/policies/audit", tag = "policies", params(AuditQuery),
    responses((status = 200, body = Vec<schema::AuditEntry>)), security(("bearer" = [])))]
pub async fn audit(
    State(s): State<AppState>,
    Viewer(c): Viewer,
    Query(q): Query<AuditQuery>,
) -> Answer {
    let filter = AuditFilter {
        scope: q.scope.as_deref().map(scope).transpose()?,
        limit: q.limit.unwrap_or(100).min(10_000),
    };
    if let Some(sc) = &filter.scope {
        check_scope(&c, sc)?;
    }
    let entries: Vec<_> =
        s.db.policy_audit(&filter)
            .await?
            .into_iter()
            .filter(|e| scope_app(&e.scope).is_none_or(|a| c.sees(a)))
            .collect();
    Ok(Json(
        serde_json::to_value(&entries).map_err(ApiError::internal)?,
    ))
}

// ---- scans ----------------------------------------------------------------------------

/// A scan as the API shows it, with its outcome once completed.
pub(crate) async fn scan_json(s: &AppState, scan: &Scan) -> Result<Value, ApiError> {
    let (complete, summary) = if scan.state == ScanState::Completed {
        match s.db.scan_report(scan.id).await? {
            Some(done) => {
                let (complete, summary) =
                    vigil_service::scan_outcome(&done).map_err(ApiError::from)?;
                (Some(complete), Some(summary))
            }
            None => (None, None),
        }
    } else {
        (None, None)
    };
    Ok(json!({
        "id": scan.id,
        "digest": scan.digest,
        "reference": scan.reference,
        "application": scan.application,
        "state": scan.state.as_str(),
        "error": scan.error,
        "db_version": scan.db_version,
        "attempts": scan.attempts,
        "queued_at": rfc3339(scan.queued_at),
        "started_at": scan.started_at.map(rfc3339),
        "finished_at": scan.finished_at.map(rfc3339),
        "complete": complete,
        "summary": summary,
    }))
}

/// Submits an image for scanning: queued for a worker, or answered at once when its digest
/// already has a completed scan against today's database (SPEC 7.3).
#[utoipa::path(post, path = "/api/v1/scans", tag = "scans", request_body = schema::SubmitBody,
    responses((status = 202, body = schema::Submitted), (status = 200, body = schema::Submitted),
        (status = 404, body = schema::ErrorBody), (status = 422, body = schema::ErrorBody)),
    security(("bearer" = [])))]
pub async fn submit_scan(
    State(s): State<AppState>,
    Ci(c): Ci,
    Body(b): Body<schema::SubmitBody>,
) -> Answer<Response> {
    integrations::require(&s, integrations::SCANNING).await?;
    s.require_ready()?;
    let (pipeline, application) = match &b.pipeline {
        Some(name) => {
            let p =
                s.db.pipeline(name).await?.ok_or_else(|| {
                    ApiError::NotFound(format!("pipeline {name:?} does not exist"))
                })?;
            c.check_app(&p.application)
                .map_err(|_| ApiError::NotFound(format!("pipeline {name:?} does not exist")))?;
            if !p.scan_enabled {
                let body = json!({"outcome": "disabled", "pipeline": p.name,
                    "application": p.application, "scan": null});
                return Ok((StatusCode::OK, Json(body)).into_response());
            }
            (Some(p.name), Some(p.application))
        }
        None if c.within().is_some() => {
            return Err(ApiError::Unprocessable(
                "a token restricted to applications must name the pipeline submitting the image"
                    .into(),
            ));
        }
        None => (None, None),
    };
    if s.db.ecosystems().await?.is_empty() {
        return Err(ApiError::from(vigil_service::Error::EmptyDatabase));
    }
    let digest = vigil_service::resolve_digest(&b.image, &s.opts).await?;
    let answer = |outcome: &str, scan: Value, status: StatusCode| {
        let body = json!({"outcome": outcome, "pipeline": pipeline, "application": application,
            "scan": scan});
        (status, Json(body)).into_response()
    };
    if !b.force {
        let version = vigil_store::platform::database_version(&*s.db).await?;
        if let Some(done) = s.db.completed_scan_against(&digest, &version).await? {
            let scan = scan_json(&s, &done.scan).await?;
            return Ok(answer("reused", scan, StatusCode::OK));
        }
        // One scan of a digest waiting or running is enough: answer with it.
        for state in [ScanState::Queued, ScanState::Running] {
            let pending =
                s.db.scans(&ScanFilter {
                    digest: Some(digest.clone()),
                    state: Some(state),
                    limit: 1,
                    ..ScanFilter::default()
                })
                .await?;
            if let Some(p) = pending.first()
                && (p.application == application || application.is_none())
            {
                let scan = scan_json(&s, p).await?;
                return Ok(answer("queued", scan, StatusCode::ACCEPTED));
            }
        }
    }
    let scan =
        s.db.submit_scan(&digest, &b.image, application.as_deref(), SystemTime::now())
            .await?;
    s.queue.notify_one();
    let scan = scan_json(&s, &scan).await?;
    Ok(answer("queued", scan, StatusCode::ACCEPTED))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ScansQuery {
    pub digest: Option<String>,
    /// queued, running, completed or failed.
    pub state: Option<String>,
    pub application: Option<String>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<u32>,
    /// After skipping this many.
    pub offset: Option<u32>,
}

/// Scans, newest first.
#[utoipa::path(get, path = "/api/v1/scans", tag = "scans", params(ScansQuery),
    responses((status = 200, body = Vec<schema::ScanBody>)), security(("bearer" = [])))]
pub async fn list_scans(
    State(s): State<AppState>,
    Viewer(c): Viewer,
    Query(q): Query<ScansQuery>,
) -> Answer {
    let state = q
        .state
        .as_deref()
        .map(|t| {
            ScanState::parse(t).ok_or_else(|| {
                ApiError::Unprocessable(format!(
                    "invalid state {t:?}: expected queued, running, completed or failed"
                ))
            })
        })
        .transpose()?;
    if let Some(a) = &q.application {
        c.check_app(a)?;
    }
    let filter = ScanFilter {
        digest: q.digest,
        state,
        application: q.application,
        within: c.within().map(<[String]>::to_vec),
        limit: q.limit.unwrap_or(100).clamp(1, 1000),
        offset: q.offset.unwrap_or(0),
    };
    let scans = s.db.scans(&filter).await?;
    let mut out = Vec::with_capacity(scans.len());
    for scan in &scans {
        out.push(scan_json(&s, scan).await?);
    }
    Ok(Json(Value::Array(out)))
}

async fn visible_scan(s: &AppState, c: &Caller, id: i64) -> Result<Scan, ApiError> {
    let missing = || ApiError::NotFound(format!("scan {id} does not exist"));
    let scan = s.db.scan(id).await?.ok_or_else(missing)?;
    if c.within().is_some() && !scan.application.as_deref().is_some_and(|a| c.sees(a)) {
        return Err(missing());
    }
    Ok(scan)
}

/// One scan.
#[utoipa::path(get, path = "/api/v1/scans/{id}", tag = "scans", params(("id" = i64, Path)),
    responses((status = 200, body = schema::ScanBody), (status = 404, body = schema::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_scan(State(s): State<AppState>, Viewer(c): Viewer, Path(id): Path<i64>) -> Answer {
    let scan = visible_scan(&s, &c, id).await?;
    Ok(Json(scan_json(&s, &scan).await?))
}

/// The report of a completed scan (`vigil scan --format json`).
#[utoipa::path(get, path = "/api/v1/scans/{id}/report", tag = "scans", params(("id" = i64, Path)),
    responses((status = 200, body = Object), (status = 404, body = schema::ErrorBody),
        (status = 409, body = schema::ErrorBody)),
    security(("bearer" = [])))]
pub async fn scan_report(
    State(s): State<AppState>,
    Viewer(c): Viewer,
    Path(id): Path<i64>,
) -> Answer<Response> {
    let scan = visible_scan(&s, &c, id).await?;
    let done = s.db.scan_report(id).await?.ok_or_else(|| {
        ApiError::Conflict(if scan.state == ScanState::Completed {
            format!(
                "scan {id}'s report was pruned: two later re-matches of {} superseded it",
                scan.digest
            )
        } else {
            format!("scan {id} is {}: it has no report", scan.state)
        })
    })?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        done.report,
    )
        .into_response())
}

// ---- gate, explain, deployments -------------------------------------------------------

/// The deployment gate (SPEC 7.4): allow or block an image for an application in an
/// environment under today's policy. 200 for both answers; `decision` says which.
#[utoipa::path(post, path = "/api/v1/gate", tag = "gate", request_body = schema::GateBody,
    responses((status = 200, body = schema::GateReport), (status = 404, body = schema::ErrorBody),
        (status = 422, body = schema::ErrorBody)),
    security(("bearer" = [])))]
pub async fn gate(State(s): State<AppState>, Ci(c): Ci, Body(b): Body<schema::GateBody>) -> Answer {
    integrations::require(&s, integrations::SCANNING).await?;
    c.check_app(&b.application)?;
    let who = c.who();
    let report = vigil_service::gate_cached(
        &*s.db,
        &s.gate_cache,
        &GateRequest {
            application: &b.application,
            environment: &b.environment,
            image: &b.image,
            rollback: b.rollback,
            who: &who,
        },
        &s.opts,
        SystemTime::now(),
    )
    .await?;
    Ok(Json(
        serde_json::to_value(&report).map_err(ApiError::internal)?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ExplainQuery {
    pub application: String,
    pub environment: String,
    /// A digest or a reference.
    pub image: String,
}

/// Every finding of an image with its verdict and the rule behind it (SPEC 6.7).
#[utoipa::path(get, path = "/api/v1/explain", tag = "gate", params(ExplainQuery),
    responses((status = 200, body = schema::Explanation), (status = 404, body = schema::ErrorBody)),
    security(("bearer" = [])))]
pub async fn explain(
    State(s): State<AppState>,
    Viewer(c): Viewer,
    Query(q): Query<ExplainQuery>,
) -> Answer {
    c.check_app(&q.application)?;
    let ex = vigil_service::explain(
        &*s.db,
        &q.application,
        &q.environment,
        &q.image,
        &s.opts,
        SystemTime::now(),
    )
    .await?;
    Ok(Json(serde_json::to_value(&ex).map_err(ApiError::internal)?))
}

fn deployment_json(d: &vigil_store::platform::Deployment) -> Value {
    json!({
        "id": d.id, "application": d.application, "environment": d.environment,
        "cluster": d.cluster, "digest": d.digest, "deployed_at": rfc3339(d.at),
        "deployed_by": d.by, "rollback": d.rollback,
    })
}

/// Records that an application runs an image digest in an environment (SPEC 7.5).
#[utoipa::path(post, path = "/api/v1/deployments", tag = "deployments",
    request_body = schema::DeploymentBody,
    responses((status = 201, body = schema::Deployment), (status = 404, body = schema::ErrorBody),
        (status = 422, body = schema::ErrorBody)),
    security(("bearer" = [])))]
pub async fn record_deployment(
    State(s): State<AppState>,
    Ci(c): Ci,
    Body(b): Body<schema::DeploymentBody>,
) -> Answer<Response> {
    integrations::require(&s, integrations::CICD).await?;
    c.check_app(&b.application)?;
    let d = vigil_service::deploy_record(
        &*s.db,
        &b.application,
        &b.environment,
        &b.digest,
        &c.who(),
        SystemTime::now(),
    )
    .await?;
    Ok(created(deployment_json(&d)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct DeploymentsQuery {
    pub application: Option<String>,
    pub environment: Option<String>,
    pub cluster: Option<String>,
}

/// The current deployment of every (application, environment) pair.
#[utoipa::path(get, path = "/api/v1/deployments", tag = "deployments", params(DeploymentsQuery),
    responses((status = 200, body = Vec<schema::Deployment>)), security(("bearer" = [])))]
pub async fn list_deployments(
    State(s): State<AppState>,
    Viewer(c): Viewer,
    Query(q): Query<DeploymentsQuery>,
) -> Answer {
    if let Some(a) = &q.application {
        c.check_app(a)?;
    }
    let ds =
        s.db.current_deployments(&DeploymentFilter {
            application: q.application,
            environment: q.environment,
            cluster: q.cluster,
        })
        .await?;
    Ok(Json(Value::Array(
        ds.iter()
            .filter(|d| c.sees(&d.application))
            .map(deployment_json)
            .collect(),
    )))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct DeployedQuery {
    pub application: Option<String>,
    pub environment: Option<String>,
    pub cluster: Option<String>,
    /// Only images with a finding of this severity.
    pub severity: Option<String>,
    /// Only images with this vulnerability (id or alias).
    pub cve: Option<String>,
    /// application, environment, cluster, deployed, critical, high, total, fixable, blocked.
    pub sort: Option<String>,
    pub offset: Option<usize>,
    pub limit: Option<usize>,
}

/// Vulnerabilities in deployed applications (SPEC 7.5).
#[utoipa::path(get, path = "/api/v1/deployed", tag = "deployments", params(DeployedQuery),
    responses((status = 200, body = Vec<schema::DeployedRow>), (status = 422, body = schema::ErrorBody)),
    security(("bearer" = [])))]
pub async fn deployed(
    State(s): State<AppState>,
    Viewer(c): Viewer,
    Query(q): Query<DeployedQuery>,
) -> Answer {
    if let Some(a) = &q.application {
        c.check_app(a)?;
    }
    let severity = q
        .severity
        .as_deref()
        .map(|t| parse::<Severity>("severity", t, "critical, high, medium, low or unknown"))
        .transpose()?;
    let sort = match q.sort.as_deref() {
        None => DeployedSort::default(),
        Some(t) => DeployedSort::ALL
            .iter()
            .find(|(n, _)| *n == t)
            .map(|(_, k)| *k)
            .ok_or_else(|| {
                let names: Vec<&str> = DeployedSort::ALL.iter().map(|(n, _)| *n).collect();
                ApiError::Unprocessable(format!(
                    "invalid sort {t:?}: expected one of {}",
                    names.join(", ")
                ))
            })?,
    };
    let filter = DeployedFilter {
        application: q.application,
        environment: q.environment,
        cluster: q.cluster,
        severity,
        cve: q.cve,
    };
    let offset = q.offset.unwrap_or(0);
    let limit = q.limit.unwrap_or(100).min(10_000);
    // A restricted token pages over its own rows only: filter first, then page.
    let page = if c.within().is_some() {
        Page {
            offset: 0,
            limit: usize::MAX,
        }
    } else {
        Page { offset, limit }
    };
    let mut rows = vigil_service::deployed(&*s.db, &filter, sort, page, SystemTime::now()).await?;
    if c.within().is_some() {
        rows.retain(|r| c.sees(&r.application));
        rows = rows.into_iter().skip(offset).take(limit).collect();
    }
    Ok(Json(
        serde_json::to_value(&rows).map_err(ApiError::internal)?,
    ))
}

// ---- database -------------------------------------------------------------------------

/// The vulnerability database: sources, records, age (`vigil db status --format json`).
#[utoipa::path(get, path = "/api/v1/db/status", tag = "database",
    responses((status = 200, body = schema::DbStatus)), security(("bearer" = [])))]
pub async fn db_status(State(s): State<AppState>, _: Viewer) -> Answer {
    let feeds = s.feeds()?;
    let doc = tokio::task::spawn_blocking(move || feeds.status())
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    Ok(Json(doc))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ImportQuery {
    /// auto, osv, alpine-secdb or debian-tracker (default auto).
    pub format: Option<String>,
    /// The source name (what db status lists).
    pub name: String,
    /// Skip malformed records instead of refusing the feed.
    #[serde(default)]
    pub skip_invalid: bool,
}

/// Imports one feed sent as the body (a zip, JSON or YAML file), atomically (SPEC 4.3).
#[utoipa::path(post, path = "/api/v1/db/import", tag = "database", params(ImportQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = schema::ImportSummary), (status = 422, body = schema::ErrorBody)),
    security(("bearer" = [])))]
pub async fn db_import(
    State(s): State<AppState>,
    _: Admin,
    Query(q): Query<ImportQuery>,
    body: axum::body::Body,
) -> Answer {
    use tokio::io::AsyncWriteExt;
    let feeds = s.feeds()?;
    // The body goes to a file first: feeds are larger than memory should hold, and the
    // importer reads zips by seeking.
    let dir = tempfile::tempdir().map_err(ApiError::internal)?;
    let path = dir.path().join("feed");
    let mut file = tokio::fs::File::create(&path)
        .await
        .map_err(ApiError::internal)?;
    let mut stream = body.into_data_stream();
    use futures_util::StreamExt;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest(format!("reading the body: {e}")))?;
        file.write_all(&chunk).await.map_err(ApiError::internal)?;
    }
    file.flush().await.map_err(ApiError::internal)?;
    drop(file);
    let format = q.format.unwrap_or_else(|| "auto".into());
    let summary = tokio::task::spawn_blocking(move || {
        let r = feeds.import(&path, &format, &q.name, q.skip_invalid);
        drop(dir);
        r
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::Unprocessable)?;
    s.tokens.clear();
    Ok(Json(summary))
}

// ---- tokens ---------------------------------------------------------------------------

pub fn token_json(t: &Token) -> Value {
    json!({
        "id": t.id, "name": t.name, "role": t.role.as_str(), "apps": t.apps,
        "created_at": rfc3339(t.created_at), "created_by": t.created_by,
    })
}

/// Every token (never a secret).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens",
    responses((status = 200, body = Vec<schema::TokenBody>)), security(("bearer" = [])))]
pub async fn list_tokens(State(s): State<AppState>, _: Admin) -> Answer {
    let ts = s.db.tokens().await?;
    Ok(Json(Value::Array(ts.iter().map(token_json).collect())))
}

/// Creates a token; its secret is in this answer and nowhere else.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = schema::NewTokenBody,
    responses((status = 201, body = schema::CreatedToken), (status = 409, body = schema::ErrorBody),
        (status = 422, body = schema::ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_token(
    State(s): State<AppState>,
    Admin(c): Admin,
    Body(b): Body<schema::NewTokenBody>,
) -> Answer<Response> {
    let role = Role::parse(&b.role).ok_or_else(|| {
        ApiError::Unprocessable(format!(
            "invalid role {:?}: expected admin, ci or viewer",
            b.role
        ))
    })?;
    let (secret, token) = crate::create_token(&*s.db, &b.name, role, b.apps, &c.who())
        .await
        .map_err(|e| match e {
            crate::TokenError::Store(p) => ApiError::from(p),
            other => ApiError::Unprocessable(other.to_string()),
        })?;
    let mut v = token_json(&token);
    v["token"] = Value::String(secret);
    Ok(created(v))
}

/// Revokes a token (every replica stops accepting it within 10 s).
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = schema::ErrorBody)), security(("bearer" = [])))]
pub async fn revoke_token(
    State(s): State<AppState>,
    _: Admin,
    Path(id): Path<i64>,
) -> Answer<StatusCode> {
    s.db.revoke_token(id).await?;
    s.tokens.clear();
    Ok(StatusCode::NO_CONTENT)
}

/// Every integration with its status, version and whether an update is available.
#[utoipa::path(get, path = "/api/v1/integrations", tag = "integrations",
    responses((status = 200, body = Vec<schema::IntegrationBody>)), security(("bearer" = [])))]
pub async fn list_integrations(State(s): State<AppState>, _: Viewer) -> Answer {
    Ok(Json(Value::Array(integrations::all_json(&s).await?)))
}

/// One integration.
#[utoipa::path(get, path = "/api/v1/integrations/{name}", tag = "integrations",
    params(("name" = String, Path)),
    responses((status = 200, body = schema::IntegrationBody), (status = 404, body = schema::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_integration(
    State(s): State<AppState>,
    _: Viewer,
    Path(name): Path<String>,
) -> Answer {
    Ok(Json(integrations::json_of(&s, &name).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct LogQuery {
    /// Only lines with an id above this (default 0: from the start).
    pub after: Option<i64>,
    /// At most this many lines (default 1000, at most 10000).
    pub limit: Option<u32>,
}

/// The install log of one integration: every step with its timing, every try and error,
/// kept after the install ended. Follow a running install by asking again with `after` set
/// to the last id seen while `running` is true.
#[utoipa::path(get, path = "/api/v1/integrations/{name}/log", tag = "integrations",
    params(("name" = String, Path), LogQuery),
    responses((status = 200, body = schema::InstallLogBody), (status = 404, body = schema::ErrorBody)),
    security(("bearer" = [])))]
pub async fn integration_log(
    State(s): State<AppState>,
    _: Viewer,
    Path(name): Path<String>,
    Query(q): Query<LogQuery>,
) -> Answer {
    let status = integrations::json_of(&s, &name).await?["status"].clone();
    let lines =
        s.db.install_log(
            &name,
            q.after.unwrap_or(0),
            q.limit.unwrap_or(1000).min(10_000),
        )
        .await?;
    let running = status
        .as_str()
        .and_then(IntegrationStatus::parse)
        .is_some_and(IntegrationStatus::is_running);
    Ok(Json(json!({
        "name": name,
        "status": status,
        "running": running,
        "lines": lines.iter().map(|l| json!({"id": l.id, "at": rfc3339(l.at), "line": l.line}))
            .collect::<Vec<_>>(),
    })))
}

async fn start_integration(s: &AppState, name: &str, event: InstallEvent) -> Answer<Response> {
    s.require_ready()?;
    integrations::start(s, name, event, &s.replica).await?;
    integrations::spawn(s, name, &s.replica);
    let v = integrations::json_of(s, name).await?;
    Ok((StatusCode::ACCEPTED, Json(v)).into_response())
}

/// Installs an integration in the background (202): from `not_installed`, `failed` or
/// `timed_out`, once its prerequisites are installed and while no other install runs.
#[utoipa::path(post, path = "/api/v1/integrations/{name}/install", tag = "integrations",
    params(("name" = String, Path)),
    responses((status = 202, body = schema::IntegrationBody), (status = 404, body = schema::ErrorBody),
        (status = 409, body = schema::ErrorBody)),
    security(("bearer" = [])))]
pub async fn install_integration(
    State(s): State<AppState>,
    _: Admin,
    Path(name): Path<String>,
) -> Answer<Response> {
    start_integration(&s, &name, InstallEvent::Install).await
}

/// Tries a `failed` or `timed_out` install again (202).
#[utoipa::path(post, path = "/api/v1/integrations/{name}/retry", tag = "integrations",
    params(("name" = String, Path)),
    responses((status = 202, body = schema::IntegrationBody), (status = 404, body = schema::ErrorBody),
        (status = 409, body = schema::ErrorBody)),
    security(("bearer" = [])))]
pub async fn retry_integration(
    State(s): State<AppState>,
    _: Admin,
    Path(name): Path<String>,
) -> Answer<Response> {
    start_integration(&s, &name, InstallEvent::Retry).await
}

/// Re-runs the install steps of an integration installed at an older version (202).
#[utoipa::path(post, path = "/api/v1/integrations/{name}/update", tag = "integrations",
    params(("name" = String, Path)),
    responses((status = 202, body = schema::IntegrationBody), (status = 404, body = schema::ErrorBody),
        (status = 409, body = schema::ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_integration(
    State(s): State<AppState>,
    _: Admin,
    Path(name): Path<String>,
) -> Answer<Response> {
    start_integration(&s, &name, InstallEvent::Update).await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct EventsQuery {
    pub application: Option<String>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<u32>,
}

/// A notification as the API and the dashboard show it: the event (its webhook body, `id`
/// included) and where each delivery stands.
pub fn event_json(e: &vigil_store::platform::Event) -> Value {
    let payload: Value = serde_json::from_str(&e.payload).unwrap_or(Value::Null);
    json!({
        "id": e.id,
        "at": rfc3339(e.at),
        "kind": e.kind,
        "application": e.application,
        "environment": e.environment,
        "digest": e.digest,
        "rematch_id": e.rematch_id,
        "payload": payload,
        "deliveries": e.deliveries.iter().map(|d| json!({
            "url": d.url,
            "attempts": d.attempts,
            "delivered_at": d.delivered_at.map(rfc3339),
            "next_attempt_at": d.delivered_at.is_none().then(|| rfc3339(d.next_at)),
            "last_error": d.last_error,
        })).collect::<Vec<_>>(),
    })
}

/// Notifications (SPEC 7.7), newest first: deployments that a re-match gave findings the
/// policy blocks, with each webhook delivery's state.
#[utoipa::path(get, path = "/api/v1/events", tag = "notifications", params(EventsQuery),
    responses((status = 200, body = Vec<schema::EventBody>)), security(("bearer" = [])))]
pub async fn list_events(
    State(s): State<AppState>,
    Viewer(c): Viewer,
    Query(q): Query<EventsQuery>,
) -> Answer {
    if let Some(a) = &q.application {
        c.check_app(a)?;
    }
    let events =
        s.db.events(
            q.application.as_deref(),
            c.within(),
            q.limit.unwrap_or(100).clamp(1, 1000),
        )
        .await?;
    Ok(Json(Value::Array(events.iter().map(event_json).collect())))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct RematchesQuery {
    pub digest: Option<String>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<u32>,
}

/// Re-matches after database imports (SPEC 5.5), newest first: the scan each made and the
/// findings gained and lost. Admin and unrestricted tokens only: a digest may serve
/// several applications.
#[utoipa::path(get, path = "/api/v1/rematches", tag = "scans", params(RematchesQuery),
    responses((status = 200, body = Vec<schema::RematchBody>)), security(("bearer" = [])))]
pub async fn list_rematches(
    State(s): State<AppState>,
    Viewer(c): Viewer,
    Query(q): Query<RematchesQuery>,
) -> Answer {
    if c.within().is_some() {
        return Err(ApiError::Forbidden(
            "re-matches span applications: a token restricted to applications cannot list them"
                .into(),
        ));
    }
    let list =
        s.db.rematches(q.digest.as_deref(), q.limit.unwrap_or(100).clamp(1, 1000))
            .await?;
    Ok(Json(Value::Array(
        list.iter()
            .map(|r| {
                json!({
                    "id": r.id,
                    "digest": r.digest,
                    "scan_id": r.scan_id,
                    "previous_scan_id": r.previous_scan_id,
                    "db_version": r.db_version,
                    "at": rfc3339(r.at),
                    "new": r.new,
                    "resolved": r.resolved,
                })
            })
            .collect(),
    )))
}

// ---- VEX ------------------------------------------------------------------------------

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct VexQuery {
    /// The application the statements apply to; none: every application (global).
    pub application: Option<String>,
    /// The document's name as listed (its file name).
    pub name: Option<String>,
}

/// Imports an OpenVEX or CycloneDX VEX document sent as the body (SPEC 5.6), globally or
/// for one application; answers which suppressing statements cover no stored finding.
#[utoipa::path(post, path = "/api/v1/vex", tag = "vex", params(VexQuery),
    request_body(content = Vec<u8>, content_type = "application/json"),
    responses((status = 201, body = schema::VexBody), (status = 409, body = schema::ErrorBody),
        (status = 422, body = schema::ErrorBody)),
    security(("bearer" = [])))]
pub async fn import_vex(
    State(s): State<AppState>,
    Admin(c): Admin,
    Query(q): Query<VexQuery>,
    body: axum::body::Bytes,
) -> Result<(axum::http::StatusCode, Json<Value>), ApiError> {
    let name = q.name.unwrap_or_else(|| "vex.json".into());
    let done = vigil_service::vex::import_vex(
        &*s.db,
        &body,
        &name,
        q.application.as_deref(),
        &c.who(),
        SystemTime::now(),
    )
    .await?;
    s.gate_cache.forget();
    Ok((
        axum::http::StatusCode::CREATED,
        Json(serde_json::to_value(&done).map_err(ApiError::internal)?),
    ))
}

/// The stored VEX documents, each with its suppressing statements that cover no finding of
/// any image's latest scan.
#[utoipa::path(get, path = "/api/v1/vex", tag = "vex",
    responses((status = 200, body = Vec<schema::VexListingBody>)), security(("bearer" = [])))]
pub async fn list_vex(State(s): State<AppState>, Viewer(c): Viewer) -> Answer {
    let all = vigil_service::vex::list_vex(&*s.db).await?;
    let visible: Vec<_> = all
        .into_iter()
        .filter(|v| match v.summary.scope.strip_prefix("app:") {
            Some(app) => c.sees(app),
            None => true,
        })
        .collect();
    Ok(Json(
        serde_json::to_value(&visible).map_err(ApiError::internal)?,
    ))
}

/// Removes a VEX document: its statements no longer suppress anything.
#[utoipa::path(delete, path = "/api/v1/vex/{id}", tag = "vex",
    responses((status = 204), (status = 404, body = schema::ErrorBody)), security(("bearer" = [])))]
pub async fn remove_vex(
    State(s): State<AppState>,
    _: Admin,
    Path(id): Path<i64>,
) -> Result<axum::http::StatusCode, ApiError> {
    if s.db.remove_vex(id).await? {
        s.gate_cache.forget();
        Ok(axum::http::StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!(
            "VEX document {id} does not exist"
        )))
    }
}
