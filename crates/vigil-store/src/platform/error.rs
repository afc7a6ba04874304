//! The platform store's errors: what a person did wrong (a bad name, a duplicate, an unknown
//! reference, removing something still in use) apart from what the database did wrong
//! ([`crate::Error`]), so the CLI can say which and the server can answer 400, 404 or 409.

use std::fmt;

use super::ScanState;

/// The kinds of thing the platform store keeps, as messages name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Cluster,
    Environment,
    Application,
    Pipeline,
    Scan,
    Namespace,
    Digest,
    Reference,
    User,
    DatabaseVersion,
    Scope,
    Token,
    Vex,
}

impl Kind {
    /// Stable kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cluster => "cluster",
            Self::Environment => "environment",
            Self::Application => "application",
            Self::Pipeline => "pipeline",
            Self::Scan => "scan",
            Self::Namespace => "namespace",
            Self::Digest => "image digest",
            Self::Reference => "image reference",
            Self::User => "user",
            Self::DatabaseVersion => "database version",
            Self::Scope => "scope",
            Self::Token => "token",
            Self::Vex => "VEX document",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What went wrong in a platform operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A name or value does not have the expected form.
    #[error("{kind} {value:?}: {problem}")]
    Invalid {
        kind: Kind,
        value: String,
        problem: String,
    },
    /// Adding something whose name is taken.
    #[error("{kind} {name:?} already exists")]
    Duplicate { kind: Kind, name: String },
    /// A name that refers to nothing.
    #[error("{kind} {name:?} does not exist")]
    Unknown { kind: Kind, name: String },
    /// Removing something that others still refer to.
    #[error("{kind} {name:?} is still used by {users}")]
    InUse {
        kind: Kind,
        name: String,
        /// What uses it, for people: `environment "prod-eu", 2 policy rules`.
        users: String,
    },
    /// Two environments of one cluster cannot share a namespace (the admission webhook maps
    /// a namespace to one environment, SPEC 7.6).
    #[error(
        "namespace {namespace:?} of cluster {cluster:?} already belongs to environment {environment:?}"
    )]
    NamespaceTaken {
        cluster: String,
        namespace: String,
        environment: String,
    },
    /// A scan report that is not JSON.
    #[error("scan report of {len} bytes is not JSON: {problem}")]
    BadReport { len: usize, problem: String },
    /// A scan state change that its current state does not allow.
    #[error("scan {id} is {state}: cannot {action} it")]
    ScanState {
        id: i64,
        state: ScanState,
        action: &'static str,
    },
    /// A refused policy change (global inherit, no such CVE rule, an invalid rule).
    #[error(transparent)]
    Policy(#[from] vigil_policy::PolicyError),
    /// The stored policy rules do not load (written by another version, or edited by hand).
    #[error(transparent)]
    PolicyLoad(#[from] vigil_policy::LoadError),
    /// A stored rule or audit entry does not decode.
    #[error("stored policy rule {rule}: {problem}")]
    StoredPolicy { rule: String, problem: String },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] crate::Error),
}

impl Error {
    pub(crate) fn invalid(kind: Kind, value: &str, problem: impl Into<String>) -> Self {
        Self::Invalid {
            kind,
            value: value.to_owned(),
            problem: problem.into(),
        }
    }
}

/// Wraps a database failure without its SQL: `what` says which operation failed.
pub(crate) fn db(what: &'static str) -> impl FnOnce(sqlx::Error) -> Error {
    move |e| {
        let problem = match &e {
            // The server's own message names the constraint or the problem, never the
            // statement; anything else is described by sqlx without SQL text too.
            sqlx::Error::Database(d) => d.message().to_owned(),
            other => other.to_string(),
        };
        Error::Store(crate::Error::Query { what, problem })
    }
}
