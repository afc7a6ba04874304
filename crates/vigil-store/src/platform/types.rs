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

/// One re-match of a stored inventory against a newer database (SPEC 5.5): the scan it
/// made and what changed since the scan before it. Findings are `ID PACKAGE@VERSION`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rematch {
    pub id: i64,
    pub digest: String,
    pub scan_id: i64,
    pub previous_scan_id: i64,
    pub db_version: String,
    pub at: SystemTime,
    pub new: Vec<String>,
    pub resolved: Vec<String>,
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

/// Where an integration is in its install life cycle (SPEC 8.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IntegrationStatus {
    NotInstalled,
    Initializing,
    Installing,
    Installed,
    Failed,
    TimedOut,
}

/// What moves an integration from one status to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstallEvent {
    /// An admin asks to install it.
    Install,
    /// An admin asks to try a failed or timed-out install again.
    Retry,
    /// An admin asks to re-run the install of an installed, older version.
    Update,
    /// The runner begins the steps.
    Begin,
    /// Every step succeeded.
    Succeed,
    /// A step failed in a way retrying cannot fix.
    Fail,
    /// The retries or the deadline ran out.
    TimeOut,
}

/// A transition the state machine does not have: why, in words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct IllegalTransition(pub String);

impl IntegrationStatus {
    pub const ALL: [Self; 6] = [
        Self::NotInstalled,
        Self::Initializing,
        Self::Installing,
        Self::Installed,
        Self::Failed,
        Self::TimedOut,
    ];

    /// Stable snake_case name, also the database's and the API's.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotInstalled => "not_installed",
            Self::Initializing => "initializing",
            Self::Installing => "installing",
            Self::Installed => "installed",
            Self::Failed => "failed",
            Self::TimedOut => "timed_out",
        }
    }

    /// Parses [`IntegrationStatus::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// An install is under way (a runner holds it).
    pub fn is_running(self) -> bool {
        matches!(self, Self::Initializing | Self::Installing)
    }

    /// The state machine of SPEC 8.2, the one place it is written down. Install is taken
    /// only from `not_installed`, `failed` or `timed_out`; retry only from `failed` or
    /// `timed_out`; update only from `installed`; the runner moves `initializing` ->
    /// `installing` -> `installed`, and either running status to `failed` or `timed_out`.
    pub fn after(self, event: InstallEvent) -> Result<Self, IllegalTransition> {
        use InstallEvent as E;
        use IntegrationStatus as S;
        let next = match (event, self) {
            (E::Install, S::NotInstalled | S::Failed | S::TimedOut) => S::Initializing,
            (E::Retry, S::Failed | S::TimedOut) => S::Initializing,
            (E::Update, S::Installed) => S::Initializing,
            (E::Begin, S::Initializing) => S::Installing,
            (E::Succeed, S::Installing) => S::Installed,
            (E::Fail | E::TimeOut, S::Initializing | S::Installing) => {
                if event == E::Fail {
                    S::Failed
                } else {
                    S::TimedOut
                }
            }
            (E::Install, S::Installed) => {
                return Err(IllegalTransition(
                    "it is installed already (update it if an update is available)".into(),
                ));
            }
            (E::Install | E::Retry | E::Update, s) if s.is_running() => {
                return Err(IllegalTransition(format!(
                    "an install is running ({s}): wait for it to end"
                )));
            }
            (E::Retry, S::NotInstalled) => {
                return Err(IllegalTransition(
                    "it was never installed: there is nothing to retry; install it".into(),
                ));
            }
            (E::Retry, S::Installed) => {
                return Err(IllegalTransition(
                    "it is installed: there is nothing to retry".into(),
                ));
            }
            (E::Update, s) => {
                return Err(IllegalTransition(format!(
                    "only an installed integration can be updated; it is {s}"
                )));
            }
            (e, s) => {
                return Err(IllegalTransition(format!("{e:?} is not possible from {s}")));
            }
        };
        Ok(next)
    }

    /// The statuses `event` may start from.
    pub fn sources_of(event: InstallEvent) -> Vec<Self> {
        Self::ALL
            .into_iter()
            .filter(|s| s.after(event).is_ok())
            .collect()
    }
}

impl fmt::Display for IntegrationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The stored state of one integration (no row: not installed, never touched).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrationState {
    pub name: String,
    pub status: IntegrationStatus,
    /// When it entered its status.
    pub status_at: SystemTime,
    /// The version installed last; `None` until it was installed once.
    pub version: Option<String>,
    /// Tries of the current (or last) install.
    pub attempts: u32,
    /// When the current (or last) install began.
    pub started_at: Option<SystemTime>,
    /// The replica running the install.
    pub runner: Option<String>,
    pub lease_until: Option<SystemTime>,
    /// Why it failed or timed out.
    pub reason: Option<String>,
}

/// One line of an install log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallLogLine {
    /// Increases with every line written (of any integration): ask for lines after it.
    pub id: i64,
    pub at: SystemTime,
    pub line: String,
}

/// The answer to a request to start an install.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstallStart {
    /// It is now `initializing`, held by the caller.
    Started(IntegrationState),
    /// Its status does not allow the event (the state is as it is now).
    Refused(IntegrationState, IllegalTransition),
    /// Another integration is being installed.
    Busy(String),
}

#[cfg(test)]
mod integration_tests {
    use super::InstallEvent as E;
    use super::IntegrationStatus as S;

    #[test]
    fn the_state_machine_is_spec_8_2() {
        assert_eq!(
            S::sources_of(E::Install),
            [S::NotInstalled, S::Failed, S::TimedOut]
        );
        assert_eq!(S::sources_of(E::Retry), [S::Failed, S::TimedOut]);
        assert_eq!(S::sources_of(E::Update), [S::Installed]);
        assert_eq!(S::sources_of(E::Begin), [S::Initializing]);
        assert_eq!(S::sources_of(E::Succeed), [S::Installing]);
        assert_eq!(S::sources_of(E::Fail), [S::Initializing, S::Installing]);
        assert_eq!(S::Installing.after(E::TimeOut), Ok(S::TimedOut));
        assert!(
            S::Installing
                .after(E::Install)
                .unwrap_err()
                .0
                .contains("an install is running")
        );
        assert!(
            S::NotInstalled
                .after(E::Retry)
                .unwrap_err()
                .0
                .contains("never installed")
        );
        for s in S::ALL {
            assert_eq!(S::parse(s.as_str()), Some(s));
        }
    }
}

/// A notification written with a re-match, in its transaction (the outbox, SPEC 7.7): a
/// deployment of the re-matched digest gained findings that today's policy blocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// What happened: `finding.blocked`.
    pub kind: String,
    pub application: String,
    pub environment: String,
    /// The JSON document sent to the webhooks (the event's `id` is added when sent).
    pub payload: String,
}

/// A stored notification and where it stands with each webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: i64,
    pub at: SystemTime,
    pub kind: String,
    pub digest: String,
    pub application: String,
    pub environment: String,
    /// The re-match that produced it.
    pub rematch_id: Option<i64>,
    pub payload: String,
    pub deliveries: Vec<DeliveryState>,
}

/// One webhook's delivery of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryState {
    pub url: String,
    /// Tries so far.
    pub attempts: u32,
    /// When the next try is due (meaningless once delivered).
    pub next_at: SystemTime,
    pub delivered_at: Option<SystemTime>,
    /// Why the last try failed.
    pub last_error: Option<String>,
}

/// A delivery claimed for sending: the event to POST to `url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: i64,
    pub event_id: i64,
    pub url: String,
    /// Tries before this one.
    pub attempts: u32,
    pub kind: String,
    pub at: SystemTime,
    pub payload: String,
}

/// A VEX document to store (SPEC 5.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVex {
    /// `None`: global; else the application it applies to.
    pub application: Option<String>,
    /// The file name it was imported from.
    pub name: String,
    /// `openvex` or `cyclonedx`.
    pub format: String,
    /// The document's own id (OpenVEX `@id`, CycloneDX `serialNumber`).
    pub document_id: Option<String>,
    pub author: Option<String>,
    /// `sha256:` of the document's bytes.
    pub digest: String,
    pub imported_by: String,
    /// The normalised statements, JSON.
    pub statements: String,
}

/// A stored VEX document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vex {
    pub id: i64,
    pub imported_at: SystemTime,
    pub doc: NewVex,
}
