//! The platform entities as the store hands them out (SPEC 7.1).

use std::fmt;
use std::time::SystemTime;

/// A Kubernetes environment: a namespace of one cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment {
    pub name: String,
    pub cluster: String,
    pub namespace: String,
}

/// A CI pipeline building one application's images.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pipeline {
    pub name: String,
    pub application: String,
    /// Only pipelines with scanning enabled submit their images (SPEC 7.2).
    pub scan_enabled: bool,
}

/// A deployment to record: `application` runs `digest` in `environment` from now on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDeployment {
    pub application: String,
    pub environment: String,
    pub digest: String,
    /// Who deployed it.
    pub by: String,
    /// The gate was skipped because the caller said this is a rollback (SPEC 7.4).
    pub rollback: bool,
}

/// A recorded deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    /// Increases with every deployment recorded; the highest of a pair is its current one.
    pub id: i64,
    pub application: String,
    pub environment: String,
    /// The environment's cluster.
    pub cluster: String,
    pub digest: String,
    /// When it was deployed (whole seconds).
    pub at: SystemTime,
    pub by: String,
    pub rollback: bool,
}

/// Which current deployments to list; `None` matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeploymentFilter {
    pub application: Option<String>,
    pub environment: Option<String>,
    pub cluster: Option<String>,
}

/// Where a scan is in its life (SPEC 7.3): queued -> running -> completed | failed.
/// A queued scan may also fail (it could not be started).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScanState {
    Queued,
    Running,
    Completed,
    Failed,
}

impl ScanState {
    /// Stable kebab-case name, also the database's.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Failed => "failed",
        }
    }

    /// Parses [`ScanState::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => Self::Queued,
            "running" => Self::Running,
            "completed" => Self::Completed,
            "failed" => Self::Failed,
            _ => return None,
        })
    }
}

impl fmt::Display for ScanState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A scan of one image digest, without its report (see [`CompletedScan`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    pub id: i64,
    pub digest: String,
    /// The image reference it was submitted as (`registry/repo:tag`, an archive path, ...).
    pub reference: String,
    pub state: ScanState,
    /// Why it failed.
    pub error: Option<String>,
    /// The vulnerability database version it ran against, set when it starts.
    pub db_version: Option<String>,
    pub queued_at: SystemTime,
    pub started_at: Option<SystemTime>,
    pub finished_at: Option<SystemTime>,
    /// The application it was submitted for (by a pipeline), if any.
    pub application: Option<String>,
    /// How many times a worker claimed it (the server's queue; 0 for CLI scans).
    pub attempts: u32,
    /// The worker holding it while it runs on the server's queue.
    pub worker: Option<String>,
    /// Until when that worker holds it; past this, another worker may take it.
    pub lease_until: Option<SystemTime>,
}

/// A completed scan and its report: the scan report JSON as the caller stored it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletedScan {
    pub scan: Scan,
    pub report: String,
}

impl CompletedScan {
    /// The report parsed as JSON.
    pub fn json(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_str(&self.report)
    }
}

/// Which scans to list, newest first; `None` matches everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanFilter {
    pub digest: Option<String>,
    pub state: Option<ScanState>,
    pub application: Option<String>,
    /// Only scans submitted for one of these applications (a restricted token, SPEC 11.3).
    pub within: Option<Vec<String>>,
    /// At most this many.
    pub limit: u32,
    /// After skipping this many.
    pub offset: u32,
}

impl Default for ScanFilter {
    fn default() -> Self {
        Self {
            digest: None,
            state: None,
            application: None,
            within: None,
            limit: 100,
            offset: 0,
        }
    }
}

/// What an API token may do (issue 9): each role may do what the one before it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Read everything.
    Viewer,
    /// Read, submit scans, ask the gate, record deployments.
    Ci,
    /// Everything.
    Admin,
}

impl Role {
    /// Stable kebab-case name, also the database's.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Ci => "ci",
            Self::Admin => "admin",
        }
    }

    /// Parses [`Role::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "viewer" => Self::Viewer,
            "ci" => Self::Ci,
            "admin" => Self::Admin,
            _ => return None,
        })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A token to create: the secret is never stored, only its SHA-256 (`hash`, lower-case hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    pub name: String,
    pub hash: String,
    pub role: Role,
    /// The applications it is restricted to; `None` for all.
    pub apps: Option<Vec<String>>,
    pub created_by: String,
}

/// A stored API token (without any secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub apps: Option<Vec<String>>,
    pub created_at: SystemTime,
    pub created_by: String,
}

impl Token {
    /// Whether the token may see `application`.
    pub fn sees(&self, application: &str) -> bool {
        self.apps
            .as_ref()
            .is_none_or(|apps| apps.iter().any(|a| a == application))
    }
}

/// How many scans are in each state (the server's metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanCounts {
    pub queued: u64,
    pub running: u64,
    pub completed: u64,
    pub failed: u64,
}
