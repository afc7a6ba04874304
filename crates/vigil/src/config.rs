//! vigil's configuration (SPEC 9.7): one TOML file plus `VIGIL_*` environment variables,
//! each also a global command-line flag. A flag beats its variable, a variable beats the
//! file, the file beats the default.
//!
//! | setting | flag / variable | file key | default |
//! |---|---|---|---|
//! | configuration file | `--config` / `VIGIL_CONFIG` | | `$XDG_CONFIG_HOME/vigil/config.toml` (`~/.config/vigil/config.toml`); a missing default file is not an error |
//! | data directory | `--data-dir` / `VIGIL_DATA_DIR` | `data_dir` | `$XDG_DATA_HOME/vigil` (`~/.local/share/vigil`); holds `vigil.db` |
//! | layer cache | `--cache-dir` / `VIGIL_CACHE_DIR` | `cache_dir` | `$XDG_CACHE_HOME/vigil` (`~/.cache/vigil`) |
//! | database | `--database-url` / `VIGIL_DATABASE_URL` | `database_url` | `<data dir>/vigil.db`; a SQLite path, `sqlite:PATH` or `postgres://...`; overrides the data directory |
//! | server | `--server` / `VIGIL_SERVER` | `server` | none: the CLI uses the local store |
//! | token | `--token` / `VIGIL_TOKEN` | `token` | none; always shown masked |
//! | server CA | `--server-ca` / `VIGIL_SERVER_CA` | `server_ca` | none: an `https://` server's certificate must chain to a public root (Mozilla's list); a PEM file of CA certificates to trust instead |
//! | database age limit | | `db.max_age` | `7d` (humantime: `36h`, `2weeks`); an older database is reported (SPEC 5.7) |
//! | feed sources | | `[[db.sources]]` | [`default_sources`]: osv.dev exports, Debian tracker, Alpine secdb |
//! | CI scan retries | | `scan.retries` | `2`: a transient failure (network, registry 5xx, timeout) is tried again up to twice, three tries in all (SPEC 7.2) |
//! | CI scan backoff | | `scan.backoff` | `2s` (humantime): the wait after the first failed try, doubled after each further one |
//! | image read timeout | | `scan.timeout` | `10m`: one try that reads an image for longer fails (a registry that never answers) |
//! | server address | `vigil serve --listen` / `VIGIL_LISTEN` | `serve.listen` | `127.0.0.1:8080` |
//! | scan workers | `vigil serve --workers` / `VIGIL_WORKERS` | `serve.workers` | `2` per replica (a scan uses about one core) |
//! | scan lease | | `serve.lease` | `5m`: a replica that stops renewing a claimed scan for this long loses it to another |
//! | TLS | `vigil serve --tls-cert --tls-key` | `serve.tls_cert`, `serve.tls_key` | none: plain HTTP (PEM files; both or neither) |
//! | install retries | | `integrations.max_retries` | `3`: a failing install step is tried again up to 3 more times, then the install is `timed_out` (SPEC 8.3) |
//! | install deadline | | `integrations.deadline` | `10m`: no try starts, and a running one is cut short, this long after the install began |
//! | install backoff | | `integrations.backoff` | `2s`: the wait after the first failed try, doubled after each further one |
//! | admission label | | `admission.label` | `app.kubernetes.io/name`: the label of a Pod (or of its workload's pod template) that names its application |
//! | admission failure policy | | `admission.failure_policy` | `fail`: deny what the webhook cannot check (unknown namespace or application, registry down); `ignore` allows it, with a warning |
//! | admission cluster | | `admission.cluster` | none: the cluster a namespace is looked up in when the webhook URL has no `?cluster=` (needed when clusters share namespace names) |
//! | webhooks | | `notify.webhooks` | none: a list of URLs each notification (a deployed image gained findings the policy blocks, SPEC 7.7) is POSTed to; events are kept and listed either way |
//! | webhook secret | `VIGIL_WEBHOOK_SECRET` | `notify.secret` | none: with one, each body is signed (`X-Vigil-Signature-256: sha256=HMAC-SHA256`); always shown masked |
//! | webhook timeout | | `notify.timeout` | `10s`: one try that takes longer fails and is retried |
//! | webhook backoff | | `notify.backoff`, `notify.max_backoff` | `2s`, doubled after each failed try up to `10m`; tries go on until the receiver answers 2xx |
//! | install lease | | `integrations.lease` | `30s`: a replica that stops renewing its claim on an install for this long loses it to another |
//!
//! A `[[db.sources]]` entry has `name`, `url`, `format` (`auto`, `osv`, `alpine-secdb`,
//! `debian-tracker`; default `auto`) and an optional `sha256` the download must have. When
//! the file lists sources, they replace the default list.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use serde::{Deserialize, Serialize};
use vigil_store::{Database, Location};
use vigil_vulndb::FeedFormat;

/// Global flags of the configuration (flattened into the top-level arguments).
#[derive(Debug, Clone, Default, Args)]
pub struct ConfigArgs {
    /// Configuration file [default: $XDG_CONFIG_HOME/vigil/config.toml]
    #[arg(
        long = "config",
        global = true,
        env = "VIGIL_CONFIG",
        value_name = "FILE"
    )]
    pub config: Option<PathBuf>,
    /// Data directory, holds the SQLite database [default: $XDG_DATA_HOME/vigil]
    #[arg(long, global = true, env = "VIGIL_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Layer cache directory [default: $XDG_CACHE_HOME/vigil]
    #[arg(long, global = true, env = "VIGIL_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Database: a SQLite file or postgres://...; overrides the data directory
    #[arg(
        long,
        global = true,
        env = "VIGIL_DATABASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub database_url: Option<String>,
    /// vigil server to talk to instead of the local store
    #[arg(long, global = true, env = "VIGIL_SERVER", value_name = "URL")]
    pub server: Option<String>,
    /// API token for --server
    #[arg(
        long,
        global = true,
        env = "VIGIL_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub token: Option<String>,
    /// PEM file of the CA certificates an https --server is checked against
    #[arg(long, global = true, env = "VIGIL_SERVER_CA", value_name = "FILE")]
    pub server_ca: Option<PathBuf>,
}

/// The effective configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The configuration file that was read, if any.
    pub file: Option<PathBuf>,
    /// Data directory (default `$XDG_DATA_HOME/vigil`).
    pub data_dir: PathBuf,
    /// Layer cache directory (default `$XDG_CACHE_HOME/vigil`).
    pub cache_dir: PathBuf,
    /// The database (default `<data_dir>/vigil.db`).
    pub database: Location,
    /// Server URL (default none: the local store).
    pub server: Option<String>,
    /// API token (default none). Never printed.
    pub token: Option<Secret>,
    /// CA certificates for an https server (default none: public roots).
    pub server_ca: Option<PathBuf>,
    /// The vulnerability database settings.
    pub db: DbConfig,
    /// `[scan]`: CI scan retries and timeouts.
    pub scan: ScanConfig,
    /// `[serve]`: `vigil serve`.
    pub serve: ServeConfig,
    /// `[integrations]`: how installs of integrations run.
    pub integrations: IntegrationsConfig,
    /// `[admission]`: the Kubernetes admission webhook.
    pub admission: AdmissionConfig,
    /// `[notify]`: webhooks for notifications.
    pub notify: NotifyConfig,
}

/// `[notify]`: where notifications go and how (issue 12, SPEC 7.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyConfig {
    /// Each new event is delivered to every one of these URLs (default none).
    pub webhooks: Vec<String>,
    /// The HMAC key for signatures (default none). Never printed.
    pub secret: Option<Secret>,
    /// The longest one try may take (default 10 s).
    pub timeout: Duration,
    /// Wait after the first failed try, doubled after each further one (default 2 s).
    pub backoff: Duration,
    /// The longest wait between tries (default 10 minutes).
    pub max_backoff: Duration,
}

impl NotifyConfig {
    /// The options of the service's deliverer.
    pub fn options(&self) -> vigil_service::NotifyOptions {
        vigil_service::NotifyOptions {
            webhooks: self.webhooks.clone(),
            secret: self.secret.as_ref().map(|s| s.expose().to_owned()),
            timeout: self.timeout,
            backoff: self.backoff,
            max_backoff: self.max_backoff,
        }
    }
}

/// `[admission]`: the Kubernetes validating admission webhook (issue 12, SPEC 7.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdmissionConfig {
    /// The label naming the application (default `app.kubernetes.io/name`).
    pub label: String,
    /// Allow what cannot be checked (`ignore`) instead of denying it (`fail`, the default).
    pub fail_open: bool,
    /// The cluster to look namespaces up in when the request does not name one.
    pub cluster: Option<String>,
}

/// `[integrations]`: installs of integrations (issue 10, SPEC 8.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntegrationsConfig {
    /// Tries after the first one of a failing step (default 3).
    pub max_retries: u32,
    /// How long an install may take in all (default 10 minutes).
    pub deadline: Duration,
    /// Wait after the first failed try, doubled after each further one (default 2 s).
    pub backoff: Duration,
    /// How long a runner's claim holds without renewal (default 30 s).
    pub lease: Duration,
}

/// `[serve]`: the server (`vigil serve`, issue 9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeConfig {
    /// Where to listen (default `127.0.0.1:8080`).
    pub listen: std::net::SocketAddr,
    /// Scan workers of this replica (default 2).
    pub workers: usize,
    /// How long a claimed scan is held without renewal (default 5 minutes).
    pub lease: Duration,
    /// PEM certificate chain and key for HTTPS (default none).
    pub tls: Option<(PathBuf, PathBuf)>,
}

/// `[scan]`: how CI scans retry (SPEC 7.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanConfig {
    /// Tries after the first for a transient failure (default 2).
    pub retries: u32,
    /// Wait after the first failed try, doubled after each further one (default 2 s).
    pub backoff: Duration,
    /// The longest one try may read an image (default 10 minutes).
    pub timeout: Duration,
}

/// `[db]`: the vulnerability database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbConfig {
    /// A database last updated longer ago than this is reported as stale (default 7 days).
    pub max_age: Duration,
    /// Feeds `vigil db update` downloads (default [`default_sources`]).
    pub sources: Vec<SourceConfig>,
}

/// One feed to download and import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// The source name in the database (what `db status` lists).
    pub name: String,
    /// Where to download it.
    pub url: String,
    /// Its format (default `auto`: detected from the content).
    #[serde(default = "auto")]
    pub format: FeedFormat,
    /// The SHA-256 the download must have (hex), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

fn auto() -> FeedFormat {
    FeedFormat::Auto
}

/// A secret: `Debug` and `Display` print `****` (STYLE.md).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for the one place that sends it.
    #[allow(dead_code)] // the server client (VIGIL_SERVER) uses it
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("****")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("****")
    }
}

/// Where osv.dev publishes its per-ecosystem exports (`<base>/<ecosystem>/all.zip`).
pub const OSV_EXPORT_BASE: &str = "https://osv-vulnerabilities.storage.googleapis.com";
/// The osv.dev ecosystems fetched by default.
pub const OSV_ECOSYSTEMS: &[&str] = &[
    "PyPI",
    "npm",
    "Go",
    "crates.io",
    "Maven",
    "RubyGems",
    "NuGet",
    "Packagist",
    "Debian",
    "Alpine",
];
/// The Debian security tracker's JSON export.
pub const DEBIAN_TRACKER_URL: &str = "https://security-tracker.debian.org/tracker/data/json";
/// Alpine secdb (`<base>/<release>/<repository>.json`).
pub const ALPINE_SECDB_BASE: &str = "https://secdb.alpinelinux.org";
/// Alpine releases whose secdb is fetched by default.
pub const ALPINE_RELEASES: &[&str] = &["v3.18", "v3.19", "v3.20", "v3.21", "v3.22"];

/// The default feed sources: what a user with internet gets without configuring anything.
pub fn default_sources() -> Vec<SourceConfig> {
    let mut out: Vec<SourceConfig> = OSV_ECOSYSTEMS
        .iter()
        .map(|eco| SourceConfig {
            name: format!("osv-{eco}"),
            url: format!("{OSV_EXPORT_BASE}/{eco}/all.zip"),
            format: FeedFormat::Osv,
            sha256: None,
        })
        .collect();
    out.push(SourceConfig {
        name: "debian-tracker".into(),
        url: DEBIAN_TRACKER_URL.into(),
        format: FeedFormat::DebianTracker,
        sha256: None,
    });
    for release in ALPINE_RELEASES {
        for repo in ["main", "community"] {
            out.push(SourceConfig {
                name: format!("alpine-secdb-{release}-{repo}"),
                url: format!("{ALPINE_SECDB_BASE}/{release}/{repo}.json"),
                format: FeedFormat::AlpineSecdb,
                sha256: None,
            });
        }
    }
    out
}

/// The configuration file's layout.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    cache_dir: Option<PathBuf>,
    database_url: Option<String>,
    server: Option<String>,
    token: Option<String>,
    server_ca: Option<PathBuf>,
    #[serde(default)]
    db: FileDb,
    #[serde(default)]
    scan: FileScan,
    #[serde(default)]
    serve: FileServe,
    #[serde(default)]
    integrations: FileIntegrations,
    #[serde(default)]
    admission: FileAdmission,
    #[serde(default)]
    notify: FileNotify,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileNotify {
    webhooks: Option<Vec<String>>,
    secret: Option<String>,
    timeout: Option<String>,
    backoff: Option<String>,
    max_backoff: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileAdmission {
    label: Option<String>,
    failure_policy: Option<String>,
    cluster: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileIntegrations {
    max_retries: Option<u32>,
    deadline: Option<String>,
    backoff: Option<String>,
    lease: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileServe {
    listen: Option<String>,
    workers: Option<usize>,
    lease: Option<String>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileScan {
    retries: Option<u32>,
    backoff: Option<String>,
    timeout: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDb {
    max_age: Option<String>,
    sources: Option<Vec<SourceConfig>>,
}

impl Config {
    /// The effective configuration of this process: its command-line flags, `VIGIL_*`
    /// variables, the configuration file, then the defaults.
    pub fn load() -> anyhow::Result<Self> {
        Self::load_from(&process_args())
    }

    /// The effective configuration for the given flags (and the environment's variables).
    pub fn load_from(args: &ConfigArgs) -> anyhow::Result<Self> {
        let (file_path, explicit) = match &args.config {
            Some(p) => (Some(p.clone()), true),
            None => (
                dirs::config_dir().map(|d| d.join("vigil/config.toml")),
                false,
            ),
        };
        let (file, file_cfg) = match &file_path {
            Some(p) => match std::fs::read_to_string(p) {
                Ok(text) => {
                    let cfg: FileConfig = toml::from_str(&text)
                        .with_context(|| format!("invalid configuration file {}", p.display()))?;
                    (Some(p.clone()), cfg)
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
                    (None, FileConfig::default())
                }
                Err(e) => {
                    return Err(e).with_context(|| {
                        format!("cannot read configuration file {}", p.display())
                    });
                }
            },
            None => (None, FileConfig::default()),
        };
        let base = file.as_deref().and_then(Path::parent);
        let resolve = |p: PathBuf| match base {
            // Relative paths in the file are relative to the file.
            Some(b) if p.is_relative() => b.join(p),
            _ => p,
        };

        let data_dir = match args.data_dir.clone() {
            Some(d) => d,
            None => match file_cfg.data_dir.map(resolve) {
                Some(d) => d,
                None => dirs::data_dir().map(|d| d.join("vigil")).context(
                    "cannot find the XDG data directory (is HOME set?); set VIGIL_DATA_DIR",
                )?,
            },
        };
        let cache_dir = match args.cache_dir.clone() {
            Some(d) => d,
            None => match file_cfg.cache_dir.map(resolve) {
                Some(d) => d,
                None => dirs::cache_dir().map(|d| d.join("vigil")).context(
                    "cannot find the XDG cache directory (is HOME set?); set VIGIL_CACHE_DIR",
                )?,
            },
        };
        let database = match args.database_url.clone().or(file_cfg.database_url) {
            Some(url) if url.trim().is_empty() => bail!("database URL is empty"),
            Some(url) => Location::parse(&url),
            None => Location::Sqlite(data_dir.join("vigil.db")),
        };
        let max_age = match &file_cfg.db.max_age {
            Some(text) => humantime::parse_duration(text).with_context(|| {
                format!(
                    "invalid db.max_age {text:?} in {}: expected a duration such as 7d or 36h",
                    file.as_deref()
                        .unwrap_or(Path::new("the configuration"))
                        .display()
                )
            })?,
            None => Duration::from_secs(7 * 24 * 3600),
        };
        let duration = |key: &str, text: &Option<String>, default: Duration| match text {
            Some(text) => humantime::parse_duration(text).with_context(|| {
                format!(
                    "invalid {key} {text:?} in {}: expected a duration such as 2s or 10m",
                    file.as_deref()
                        .unwrap_or(Path::new("the configuration"))
                        .display()
                )
            }),
            None => Ok(default),
        };
        let scan = ScanConfig {
            retries: file_cfg.scan.retries.unwrap_or(2),
            backoff: duration(
                "scan.backoff",
                &file_cfg.scan.backoff,
                Duration::from_secs(2),
            )?,
            timeout: duration(
                "scan.timeout",
                &file_cfg.scan.timeout,
                Duration::from_secs(600),
            )?,
        };
        if scan.timeout.is_zero() {
            bail!("scan.timeout is zero: every image read would fail");
        }
        let listen_text = std::env::var("VIGIL_LISTEN")
            .ok()
            .or(file_cfg.serve.listen.clone())
            .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
        let serve = ServeConfig {
            listen: listen_text.parse().with_context(|| {
                format!("invalid serve.listen {listen_text:?}: expected ADDRESS:PORT such as 127.0.0.1:8080")
            })?,
            workers: match std::env::var("VIGIL_WORKERS") {
                Ok(w) => w.parse().with_context(|| {
                    format!("invalid VIGIL_WORKERS {w:?}: expected a number of workers")
                })?,
                Err(_) => file_cfg.serve.workers.unwrap_or(2),
            },
            lease: duration("serve.lease", &file_cfg.serve.lease, Duration::from_secs(300))?,
            tls: match (file_cfg.serve.tls_cert, file_cfg.serve.tls_key) {
                (Some(c), Some(k)) => Some((resolve(c), resolve(k))),
                (None, None) => None,
                _ => bail!("serve.tls_cert and serve.tls_key go together: set both or neither"),
            },
        };
        if serve.lease < Duration::from_secs(1) {
            bail!("serve.lease is under a second: workers could not renew in time");
        }
        let fi = &file_cfg.integrations;
        let integrations = IntegrationsConfig {
            max_retries: fi.max_retries.unwrap_or(3),
            deadline: duration(
                "integrations.deadline",
                &fi.deadline,
                Duration::from_secs(600),
            )?,
            backoff: duration("integrations.backoff", &fi.backoff, Duration::from_secs(2))?,
            lease: duration("integrations.lease", &fi.lease, Duration::from_secs(30))?,
        };
        if integrations.deadline.is_zero() {
            bail!("integrations.deadline is zero: every install would time out");
        }
        if integrations.lease < Duration::from_secs(1) {
            bail!("integrations.lease is under a second: runners could not renew in time");
        }
        let fa = &file_cfg.admission;
        let admission = AdmissionConfig {
            label: fa
                .label
                .clone()
                .unwrap_or_else(|| "app.kubernetes.io/name".into()),
            fail_open: match fa.failure_policy.as_deref() {
                None | Some("fail") => false,
                Some("ignore") => true,
                Some(other) => bail!(
                    "invalid admission.failure_policy {other:?}: expected fail (deny what cannot be checked) or ignore (allow it)"
                ),
            },
            cluster: fa.cluster.clone(),
        };
        if admission.label.trim().is_empty() {
            bail!("admission.label is empty: name the label that holds the application");
        }
        let fnf = &file_cfg.notify;
        let notify = NotifyConfig {
            webhooks: fnf.webhooks.clone().unwrap_or_default(),
            secret: std::env::var("VIGIL_WEBHOOK_SECRET")
                .ok()
                .filter(|s| !s.is_empty())
                .or_else(|| fnf.secret.clone())
                .map(Secret),
            timeout: duration("notify.timeout", &fnf.timeout, Duration::from_secs(10))?,
            backoff: duration("notify.backoff", &fnf.backoff, Duration::from_secs(2))?,
            max_backoff: duration(
                "notify.max_backoff",
                &fnf.max_backoff,
                Duration::from_secs(600),
            )?,
        };
        for url in &notify.webhooks {
            if !(url.starts_with("http://") || url.starts_with("https://"))
                || url.parse::<ureq::http::Uri>().is_err()
            {
                bail!("notify.webhooks: {url:?} is not an http:// or https:// URL");
            }
        }
        if notify.timeout.is_zero() || notify.backoff.is_zero() {
            bail!("notify.timeout and notify.backoff must be more than zero");
        }
        let server_ca = args.server_ca.clone().or(file_cfg.server_ca.map(resolve));
        let sources = file_cfg.db.sources.unwrap_or_else(default_sources);
        let mut seen = std::collections::HashSet::new();
        for s in &sources {
            if !seen.insert(s.name.as_str()) {
                bail!("db.sources lists the source name {:?} twice", s.name);
            }
            if let Some(h) = &s.sha256
                && (h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()))
            {
                bail!("db.sources {:?}: sha256 {h:?} is not 64 hex digits", s.name);
            }
        }
        Ok(Self {
            file,
            data_dir,
            cache_dir,
            database,
            server: args.server.clone().or(file_cfg.server),
            server_ca,
            token: args.token.clone().or(file_cfg.token).map(Secret),
            db: DbConfig { max_age, sources },
            scan,
            serve,
            integrations,
            admission,
            notify,
        })
    }

    /// Opens (creating and migrating if needed) the configured database.
    pub fn open_store(&self) -> anyhow::Result<Store> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        let db = rt
            .block_on(vigil_store::open(&self.database))
            .context("cannot open the vulnerability database")?;
        Ok(Store { rt, db })
    }

    /// The effective configuration as TOML, secrets masked (`vigil config show`).
    pub fn to_toml(&self) -> String {
        #[derive(Serialize)]
        struct Shown<'a> {
            config_file: String,
            data_dir: String,
            cache_dir: String,
            database_url: String,
            #[serde(skip_serializing_if = "Option::is_none")]
            server: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            token: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            server_ca: Option<String>,
            db: ShownDb<'a>,
            scan: ShownScan,
            serve: ShownServe,
            integrations: ShownIntegrations,
            admission: ShownAdmission<'a>,
            notify: ShownNotify<'a>,
        }
        #[derive(Serialize)]
        struct ShownNotify<'a> {
            webhooks: &'a [String],
            #[serde(skip_serializing_if = "Option::is_none")]
            secret: Option<&'a str>,
            timeout: String,
            backoff: String,
            max_backoff: String,
        }
        #[derive(Serialize)]
        struct ShownAdmission<'a> {
            label: &'a str,
            failure_policy: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            cluster: Option<&'a str>,
        }
        #[derive(Serialize)]
        struct ShownIntegrations {
            max_retries: u32,
            deadline: String,
            backoff: String,
            lease: String,
        }
        #[derive(Serialize)]
        struct ShownServe {
            listen: String,
            workers: usize,
            lease: String,
            #[serde(skip_serializing_if = "Option::is_none")]
            tls_cert: Option<String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            tls_key: Option<String>,
        }
        #[derive(Serialize)]
        struct ShownScan {
            retries: u32,
            backoff: String,
            timeout: String,
        }
        #[derive(Serialize)]
        struct ShownDb<'a> {
            max_age: String,
            sources: &'a [SourceConfig],
        }
        let shown = Shown {
            config_file: self
                .file
                .as_ref()
                .map_or_else(|| "(none)".to_owned(), |p| p.display().to_string()),
            data_dir: self.data_dir.display().to_string(),
            cache_dir: self.cache_dir.display().to_string(),
            database_url: self.database.to_string(),
            server: self.server.as_deref(),
            server_ca: self.server_ca.as_ref().map(|p| p.display().to_string()),
            token: self.token.as_ref().map(|_| "****"),
            serve: ShownServe {
                listen: self.serve.listen.to_string(),
                workers: self.serve.workers,
                lease: humantime::format_duration(self.serve.lease).to_string(),
                tls_cert: self
                    .serve
                    .tls
                    .as_ref()
                    .map(|(c, _)| c.display().to_string()),
                tls_key: self
                    .serve
                    .tls
                    .as_ref()
                    .map(|(_, k)| k.display().to_string()),
            },
            db: ShownDb {
                max_age: humantime::format_duration(self.db.max_age).to_string(),
                sources: &self.db.sources,
            },
            integrations: ShownIntegrations {
                max_retries: self.integrations.max_retries,
                deadline: humantime::format_duration(self.integrations.deadline).to_string(),
                backoff: humantime::format_duration(self.integrations.backoff).to_string(),
                lease: humantime::format_duration(self.integrations.lease).to_string(),
            },
            admission: ShownAdmission {
                label: &self.admission.label,
                failure_policy: if self.admission.fail_open {
                    "ignore"
                } else {
                    "fail"
                },
                cluster: self.admission.cluster.as_deref(),
            },
            notify: ShownNotify {
                webhooks: &self.notify.webhooks,
                secret: self.notify.secret.as_ref().map(|_| "****"),
                timeout: humantime::format_duration(self.notify.timeout).to_string(),
                backoff: humantime::format_duration(self.notify.backoff).to_string(),
                max_backoff: humantime::format_duration(self.notify.max_backoff).to_string(),
            },
            scan: ShownScan {
                retries: self.scan.retries,
                backoff: humantime::format_duration(self.scan.backoff).to_string(),
                timeout: humantime::format_duration(self.scan.timeout).to_string(),
            },
        };
        toml::to_string(&shown).unwrap_or_else(|e| format!("# cannot show configuration: {e}\n"))
    }
}

/// An open database and the runtime that drives it, for the synchronous commands.
pub struct Store {
    rt: tokio::runtime::Runtime,
    db: Box<dyn Database>,
}

impl Store {
    /// The database.
    pub fn db(&self) -> &dyn Database {
        &*self.db
    }

    /// Runs one of the database's futures to completion.
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }
}

impl Drop for Store {
    /// Closes the connections inside the runtime that opened them, so that SQLite
    /// checkpoints and removes its write-ahead log instead of leaving it (as large as the
    /// last import) beside the database file.
    /// Bounded: a connection still checked out (which nothing should leave behind) must
    /// not keep the process from exiting.
    fn drop(&mut self) {
        let db = &self.db;
        let close = async { tokio::time::timeout(Duration::from_secs(5), db.close()).await };
        if self.rt.block_on(close).is_err() {
            tracing::warn!("the database connections did not close within 5 s");
        }
    }
}

/// The configuration flags of this process's command line (clap already merged in the
/// `VIGIL_*` variables). Parsed again here so that any command can call [`Config::load`]
/// without threading the global arguments through.
fn process_args() -> ConfigArgs {
    use clap::Parser;
    crate::cli::Cli::try_parse()
        .map(|cli| cli.global.config)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_cover_the_issue_sources() {
        let s = default_sources();
        for eco in OSV_ECOSYSTEMS {
            assert!(
                s.iter()
                    .any(|x| x.url.ends_with(&format!("/{eco}/all.zip")))
            );
        }
        assert!(s.iter().any(|x| x.format == FeedFormat::DebianTracker));
        assert!(s.iter().any(|x| x.format == FeedFormat::AlpineSecdb));
    }

    #[test]
    fn secrets_never_print() {
        let s = Secret("hunter2".into());
        assert_eq!(format!("{s} {s:?}"), "**** ****");
    }
}
