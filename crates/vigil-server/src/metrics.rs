//! `/metrics` in the Prometheus text format: requests by route and status, their latency,
//! the scan queue, scans by state, and the vulnerability database's age. Request counts are
//! this replica's; queue and scan figures are the shared database's, read at scrape time.

use std::time::{Instant, SystemTime};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::AppState;
use crate::error::ApiError;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: String,
}

type HistogramFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// The registry and the metrics in it.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: HistogramFamily,
    scans: Family<StateLabels, Gauge>,
    queue_depth: Gauge,
    db_age: Gauge,
    /// Scans this replica's workers finished, by outcome.
    worked: Family<StateLabels, Counter>,
}

fn latency_histogram() -> Histogram {
    // 50 µs to about 1.6 s: the gate answers in well under a millisecond, imports take long.
    Histogram::new(exponential_buckets(0.00005, 2.0, 16))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("vigil");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by method, route and status",
            requests.clone(),
        );
        let latency: HistogramFamily = Family::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by method and route",
            latency.clone(),
        );
        let scans = Family::<StateLabels, Gauge>::default();
        registry.register("scans", "Scans in the database by state", scans.clone());
        let queue_depth = Gauge::default();
        registry.register(
            "queue_depth",
            "Scans waiting for a worker",
            queue_depth.clone(),
        );
        let db_age = Gauge::default();
        registry.register(
            "database_age_seconds",
            "Seconds since the vulnerability database was last updated (-1: never)",
            db_age.clone(),
        );
        let worked = Family::<StateLabels, Counter>::default();
        registry.register(
            "worker_scans",
            "Scans this replica's workers finished, by outcome",
            worked.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            scans,
            queue_depth,
            db_age,
            worked,
        }
    }

    /// Counts a scan a worker finished (`completed`, `failed`, `lost`, `released`).
    pub fn worked(&self, outcome: &str) {
        self.worked
            .get_or_create(&StateLabels {
                state: outcome.to_owned(),
            })
            .inc();
    }
}

/// Middleware: counts and times every request under its route template (`/api/v1/scans/{id}`,
/// never the raw path, so the label set stays small).
pub async fn track(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let response = next.run(req).await;
    let status = response.status().as_u16();
    s.metrics
        .latency
        .get_or_create(&RouteLabels {
            method: method.clone(),
            route: route.clone(),
        })
        .observe(start.elapsed().as_secs_f64());
    s.metrics
        .requests
        .get_or_create(&RequestLabels {
            method,
            route,
            status,
        })
        .inc();
    response
}

/// `GET /metrics`.
pub async fn scrape(State(s): State<AppState>) -> Result<Response, ApiError> {
    let counts = s.db.scan_counts().await?;
    for (state, n) in [
        ("queued", counts.queued),
        ("running", counts.running),
        ("completed", counts.completed),
        ("failed", counts.failed),
    ] {
        s.metrics
            .scans
            .get_or_create(&StateLabels {
                state: state.into(),
            })
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }
    s.metrics
        .queue_depth
        .set(i64::try_from(counts.queued).unwrap_or(i64::MAX));
    let age = match s.db.last_update().await? {
        Some(t) => SystemTime::now()
            .duration_since(t)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
        None => -1,
    };
    s.metrics.db_age.set(age);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &s.metrics.registry)
        .map_err(ApiError::internal)?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response())
}
