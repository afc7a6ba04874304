//! One error type for every route (STYLE.md): a 4xx says why, a 5xx logs its cause and
//! tells the client only that something failed on the server, never SQL or a backtrace.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use vigil_store::platform::Error as PlatformError;

/// What a route answers when it cannot do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed JSON, a bad query string.
    #[error("{0}")]
    BadRequest(String),
    /// No token, or one the server does not know.
    #[error("{0}")]
    Unauthorized(String),
    /// The token's role may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// Nothing of that name (or nothing this token may see).
    #[error("{0}")]
    NotFound(String),
    /// Exists already, still in use, wrong state.
    #[error("{0}")]
    Conflict(String),
    /// A value of the wrong form: a bad name, severity, digest, scope.
    #[error("{0}")]
    Unprocessable(String),
    /// The registry or another upstream failed.
    #[error("{0}")]
    BadGateway(String),
    /// The server cannot answer now (database down, shutting down).
    #[error("{0}")]
    Unavailable(String),
    /// A failure of the server itself; the cause is logged, not sent.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::BadGateway(_) => StatusCode::BAD_GATEWAY,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A failure inside the server: `cause` goes to the log only.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let reason = match &self {
            Self::Internal(cause) => {
                tracing::error!(%cause, "request failed");
                "internal error: the server could not complete the request (see its log)".to_owned()
            }
            Self::Unavailable(why) => {
                tracing::warn!(%why, "unavailable");
                why.clone()
            }
            other => other.to_string(),
        };
        (status, axum::Json(serde_json::json!({ "error": reason }))).into_response()
    }
}

/// The message of an error and its causes, on one line.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.ends_with(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

impl From<PlatformError> for ApiError {
    fn from(e: PlatformError) -> Self {
        let text = e.to_string();
        match e {
            PlatformError::Invalid { .. } | PlatformError::BadReport { .. } => {
                Self::Unprocessable(text)
            }
            PlatformError::Policy(_) => Self::Unprocessable(text),
            PlatformError::Duplicate { .. }
            | PlatformError::InUse { .. }
            | PlatformError::NamespaceTaken { .. }
            | PlatformError::ScanState { .. } => Self::Conflict(text),
            PlatformError::Unknown { .. } => Self::NotFound(text),
            PlatformError::PolicyLoad(_)
            | PlatformError::StoredPolicy { .. }
            | PlatformError::Store(_) => Self::internal(chain(&e)),
        }
    }
}

impl From<vigil_store::Error> for ApiError {
    fn from(e: vigil_store::Error) -> Self {
        Self::internal(chain(&e))
    }
}

impl From<vigil_policy::PolicyError> for ApiError {
    fn from(e: vigil_policy::PolicyError) -> Self {
        Self::Unprocessable(e.to_string())
    }
}

impl From<vigil_service::Error> for ApiError {
    fn from(e: vigil_service::Error) -> Self {
        use vigil_service::Error as E;
        match e {
            E::Platform(p) => p.into(),
            E::EmptyDatabase => Self::Conflict(
                "the vulnerability database is empty: import feeds first (vigil db update)".into(),
            ),
            E::BadDigest(_) | E::NoDigest { .. } | E::BadVex(_) | E::Sbom(_) => {
                Self::Unprocessable(e.to_string())
            }
            E::Timeout { .. } => Self::BadGateway(e.to_string()),
            E::Scan(ref s) => {
                if e.is_transient() {
                    Self::BadGateway(chain(&e))
                } else {
                    match s {
                        vigil_scan::Error::Image(_) => Self::Unprocessable(chain(&e)),
                        _ => Self::internal(chain(&e)),
                    }
                }
            }
            other => Self::internal(chain(&other)),
        }
    }
}
