#![doc = include_str!("../README.md")]

pub mod admission;
pub mod api;
pub mod auth;
pub mod clair;
pub mod error;
pub mod integrations;
pub mod metrics;
pub mod schema;
pub mod serve;
pub mod ui;
pub mod worker;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use axum::Router;
use axum::routing::{delete, get, post, put};
use utoipa::OpenApi;
use vigil_service::ScanOptions;
use vigil_store::Database;
use vigil_store::platform::{NewToken, Role, Token};

pub use error::ApiError;
pub use serve::{ServeOptions, Tls, serve};

/// What the server needs of the feed importer, which lives in the binary (`vigil db import`
/// and `vigil db status` are the same code). Both calls block; the server runs them on a
/// blocking thread.
pub trait Feeds: Send + Sync {
    /// Imports the feed at `path` as source `name` (format `auto`, `osv`, `alpine-secdb`,
    /// `debian-tracker`); the summary is JSON. The error names the feed and the problem.
    fn import(
        &self,
        path: &Path,
        format: &str,
        name: &str,
        skip_invalid: bool,
    ) -> Result<serde_json::Value, String>;
    /// `vigil db status --format json`.
    fn status(&self) -> Result<serde_json::Value, String>;
    /// The names of the configured feed sources (`db.sources`), in order.
    fn sources(&self) -> Vec<String>;
    /// Downloads (conditional GET, resumable) and imports one configured source, giving up
    /// after `timeout`; the summary is one line. The error says whether trying again may
    /// help (a network failure) or not (a checksum mismatch, a corrupt feed).
    fn update_source(
        &self,
        name: &str,
        timeout: std::time::Duration,
    ) -> Result<String, integrations::StepError>;
}

/// Everything a request handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: Arc<dyn Database>,
    /// How images are read and for how long (the CLI's scan options).
    pub opts: Arc<ScanOptions>,
    pub feeds: Option<Arc<dyn Feeds>>,
    pub tokens: Arc<auth::TokenCache>,
    pub metrics: Arc<metrics::Metrics>,
    /// Wakes a worker when a scan is queued on this replica.
    pub queue: Arc<tokio::sync::Notify>,
    /// False while shutting down: `/readyz` answers 503 and no scan is accepted.
    pub ready: Arc<AtomicBool>,
    /// How installs of integrations run.
    pub install: Arc<integrations::InstallOptions>,
    /// Integrations recently seen installed.
    pub installed: Arc<integrations::InstalledCache>,
    /// Names this replica as the runner of installs (host name and process id).
    pub replica: Arc<str>,
    /// What the gate reads, reused for a second (policies, targets, latest scans) or for
    /// good (parsed reports of completed scans).
    pub gate_cache: Arc<vigil_service::GateCache>,
    /// The dashboard's session cookie is `Secure` (the server speaks TLS).
    pub secure_cookies: bool,
    /// How the Kubernetes admission webhook maps objects and fails.
    pub admission: Arc<admission::AdmissionOptions>,
    /// Where notifications are delivered and how (SPEC 7.7).
    pub notify: Arc<vigil_service::NotifyOptions>,
}

impl AppState {
    pub fn new(db: Arc<dyn Database>, opts: ScanOptions, feeds: Option<Arc<dyn Feeds>>) -> Self {
        Self {
            db,
            opts: Arc::new(opts),
            feeds,
            tokens: Arc::default(),
            metrics: Arc::new(metrics::Metrics::new()),
            queue: Arc::default(),
            ready: Arc::new(AtomicBool::new(true)),
            install: Arc::default(),
            installed: Arc::default(),
            replica: Arc::from(worker::default_id()),
            gate_cache: Arc::new(vigil_service::GateCache::with_ttl(
                std::time::Duration::from_secs(1),
            )),
            secure_cookies: false,
            admission: Arc::default(),
            notify: Arc::default(),
        }
    }

    pub(crate) fn feeds(&self) -> Result<Arc<dyn Feeds>, ApiError> {
        self.feeds
            .clone()
            .ok_or_else(|| ApiError::Unavailable("this server has no feed importer".into()))
    }

    pub(crate) fn require_ready(&self) -> Result<(), ApiError> {
        if self.ready.load(Ordering::Relaxed) {
            Ok(())
        } else {
            Err(ApiError::Unavailable(
                "the server is shutting down: submit to another replica".into(),
            ))
        }
    }
}

/// The OpenAPI document: every `/api/v1` route, generated from the handlers.
#[derive(OpenApi)]
#[openapi(
    info(title = "vigil", description = "vigil's HTTP API (issues 9, 10): entities, policies, scans, the deployment gate, deployments, the vulnerability database, tokens, integrations."),
    paths(
        api::list_clusters, api::add_cluster, api::remove_cluster,
        api::list_environments, api::add_environment, api::remove_environment,
        api::list_apps, api::add_app, api::remove_app,
        api::list_pipelines, api::add_pipeline, api::remove_pipeline,
        api::show_policy, api::set_severity, api::set_unscanned, api::add_cve_rule,
        api::remove_cve_rule, api::audit,
        api::submit_scan, api::list_scans, api::get_scan, api::scan_report,
        api::gate, api::explain, api::record_deployment, api::list_deployments, api::deployed,
        api::list_events, api::list_rematches, api::import_vex, api::list_vex, api::remove_vex,
        api::db_status, api::db_import,
        api::list_tokens, api::create_token, api::revoke_token,
        api::list_integrations, api::get_integration, api::integration_log,
        api::install_integration, api::retry_integration, api::update_integration,
    ),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The routes, with the metrics layer around them (STYLE.md: a function builds the router;
/// tests call it in process).
pub fn router(state: AppState) -> Router {
    let v1 = Router::new()
        .route("/clusters", get(api::list_clusters).post(api::add_cluster))
        .route("/clusters/{name}", delete(api::remove_cluster))
        .route(
            "/environments",
            get(api::list_environments).post(api::add_environment),
        )
        .route("/environments/{name}", delete(api::remove_environment))
        .route("/apps", get(api::list_apps).post(api::add_app))
        .route("/apps/{name}", delete(api::remove_app))
        .route(
            "/pipelines",
            get(api::list_pipelines).post(api::add_pipeline),
        )
        .route("/pipelines/{name}", delete(api::remove_pipeline))
        .route("/policies", get(api::show_policy))
        .route("/policies/severities", put(api::set_severity))
        .route("/policies/unscanned", put(api::set_unscanned))
        .route(
            "/policies/cve-rules",
            post(api::add_cve_rule).delete(api::remove_cve_rule),
        )
        .route("/policies/audit", get(api::audit))
        .route("/scans", get(api::list_scans).post(api::submit_scan))
        .route("/scans/{id}", get(api::get_scan))
        .route("/scans/{id}/report", get(api::scan_report))
        .route("/gate", post(api::gate))
        .route("/explain", get(api::explain))
        .route(
            "/deployments",
            get(api::list_deployments).post(api::record_deployment),
        )
        .route("/deployed", get(api::deployed))
        .route("/events", get(api::list_events))
        .route(
            "/vex",
            get(api::list_vex)
                .post(api::import_vex)
                .layer(axum::extract::DefaultBodyLimit::max(vigil_sbom_limit())),
        )
        .route("/vex/{id}", delete(api::remove_vex))
        .route("/rematches", get(api::list_rematches))
        .route("/db/status", get(api::db_status))
        .route(
            "/db/import",
            post(api::db_import).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/tokens", get(api::list_tokens).post(api::create_token))
        .route("/tokens/{id}", delete(api::revoke_token))
        .route("/integrations", get(api::list_integrations))
        .route("/integrations/{name}", get(api::get_integration))
        .route("/integrations/{name}/log", get(api::integration_log))
        .route(
            "/integrations/{name}/install",
            post(api::install_integration),
        )
        .route("/integrations/{name}/retry", post(api::retry_integration))
        .route("/integrations/{name}/update", post(api::update_integration));
    Router::new()
        .nest("/api/v1", v1)
        .route("/api/openapi.json", get(openapi))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::scrape))
        .route("/admission/validate", post(admission::validate))
        .route(
            "/indexer/api/v1/index_report",
            post(clair::post_index_report),
        )
        .route(
            "/indexer/api/v1/index_report/{digest}",
            get(clair::get_index_report),
        )
        .route("/indexer/api/v1/index_state", get(clair::index_state))
        .route(
            "/matcher/api/v1/vulnerability_report/{digest}",
            get(clair::get_vulnerability_report),
        )
        .route(
            "/notifier/api/v1/notification/{id}",
            get(clair::get_notification).delete(clair::delete_notification),
        )
        .merge(ui::routes())
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .with_state(state)
}

/// The largest VEX document the API takes (the reader's own limit).
fn vigil_sbom_limit() -> usize {
    vigil_service::vex::MAX_VEX_SIZE
}

async fn openapi() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(ApiDoc::openapi())
}

async fn healthz() -> &'static str {
    "ok"
}

/// Ready when the database answers and the server is not shutting down.
async fn readyz(
    axum::extract::State(s): axum::extract::State<AppState>,
) -> Result<&'static str, ApiError> {
    s.require_ready()?;
    s.db.clusters()
        .await
        .map_err(|e| ApiError::Unavailable(format!("the database does not answer: {e}")))?;
    Ok("ready")
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no route {}", uri.path()))
}

/// What creating a token can refuse.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("an admin token cannot be restricted to applications: give it no --apps")]
    RestrictedAdmin,
    #[error("--apps lists no application")]
    NoApps,
    #[error("could not draw a random token: {0}")]
    Random(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] vigil_store::platform::Error),
}

/// Creates a token and returns its secret (shown once, stored only as a hash) and the
/// stored token. Shared by `vigil token create` and `POST /api/v1/tokens`.
pub async fn create_token(
    db: &dyn Database,
    name: &str,
    role: Role,
    apps: Option<Vec<String>>,
    created_by: &str,
) -> Result<(String, Token), TokenError> {
    if let Some(a) = &apps {
        if role == Role::Admin {
            return Err(TokenError::RestrictedAdmin);
        }
        if a.is_empty() {
            return Err(TokenError::NoApps);
        }
    }
    let secret = auth::generate()?;
    let token = db
        .create_token(
            &NewToken {
                name: name.to_owned(),
                hash: auth::hash(&secret),
                role,
                apps,
                created_by: created_by.to_owned(),
            },
            SystemTime::now(),
        )
        .await?;
    Ok((secret, token))
}
