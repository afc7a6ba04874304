//! `vigil serve` (the HTTP API, issue 9) and `vigil token` (its API tokens).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Subcommand};
use vigil_server::worker::WorkerOptions;
use vigil_server::{AppState, ServeOptions, Tls};
use vigil_store::platform::Role;

use crate::cmd::ci::scan_options;
use crate::cmd::inventory::ImageArgs;
use crate::cmd::platform::{Format, WhoArgs, open, print_json, print_table, say};
use crate::config::Config;
use crate::exit::ExitStatus;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: serve.listen, else 127.0.0.1:8080]; port 0 picks one
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Scan workers of this replica [default: serve.workers, else 2]
    #[arg(long)]
    pub workers: Option<usize>,
    /// PEM certificate chain for HTTPS (with --tls-key)
    #[arg(long, requires = "tls_key", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for HTTPS (with --tls-cert)
    #[arg(long, requires = "tls_cert", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    #[command(flatten)]
    pub image_opts: ImageArgs,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token and print it (once: only its hash is kept)
    Create {
        /// admin, ci or viewer
        #[arg(long)]
        role: String,
        /// Restrict it to these applications (comma-separated)
        #[arg(long, value_delimiter = ',')]
        apps: Vec<String>,
        /// Its name: who it is in the audit log [default: ROLE-N]
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        who: WhoArgs,
    },
    /// List the tokens (never their secrets)
    List {
        #[arg(long, short, value_enum, default_value_t)]
        format: Format,
    },
    /// Revoke a token by id
    Revoke { id: i64 },
}

/// The binary's feed importer and status, for `POST /api/v1/db/import` and
/// `GET /api/v1/db/status`: the same code as `vigil db import` and `vigil db status`.
pub struct BinaryFeeds {
    config: Config,
}

impl vigil_server::Feeds for BinaryFeeds {
    fn import(
        &self,
        path: &Path,
        format: &str,
        name: &str,
        skip_invalid: bool,
    ) -> Result<serde_json::Value, String> {
        crate::cmd::db::import_json(&self.config, path, format, name, skip_invalid)
            .map_err(|e| format!("{e:#}"))
    }

    fn status(&self) -> Result<serde_json::Value, String> {
        crate::cmd::db::status_json(&self.config).map_err(|e| format!("{e:#}"))
    }

    fn sources(&self) -> Vec<String> {
        self.config
            .db
            .sources
            .iter()
            .map(|s| s.name.clone())
            .collect()
    }

    fn update_source(
        &self,
        name: &str,
        timeout: std::time::Duration,
    ) -> Result<String, vigil_server::integrations::StepError> {
        crate::cmd::db::update_source(&self.config, name, timeout)
    }
}

/// Runs `work` on a runtime with the server's state on the configured store, and closes the
/// store after it. Shared by `vigil serve` and `vigil integrations` without a server.
pub fn with_state<T>(
    config: &Config,
    opts: vigil_service::ScanOptions,
    work: impl AsyncFnOnce(AppState) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async {
        let db = vigil_store::open(&config.database)
            .await
            .with_context(|| format!("cannot open the database {}", config.database))?;
        let db: Arc<dyn vigil_store::Database> = Arc::from(db);
        let result = work(app_state(config, db.clone(), opts)).await;
        db.close().await;
        result
    })
}

/// The server's state on the configured store: scan options, the feed importer and how
/// installs run.
pub fn app_state(
    config: &Config,
    db: Arc<dyn vigil_store::Database>,
    opts: vigil_service::ScanOptions,
) -> AppState {
    let feeds = Arc::new(BinaryFeeds {
        config: config.clone(),
    });
    let mut state = AppState::new(db, opts, Some(feeds));
    state.admission = Arc::new(vigil_server::admission::AdmissionOptions {
        label: config.admission.label.clone(),
        fail_open: config.admission.fail_open,
        cluster: config.admission.cluster.clone(),
    });
    state.notify = Arc::new(config.notify.options());
    state.install = Arc::new(vigil_server::integrations::InstallOptions {
        max_retries: config.integrations.max_retries,
        deadline: config.integrations.deadline,
        backoff: config.integrations.backoff,
        lease: config.integrations.lease,
        supervise_every: (config.integrations.lease / 3).max(std::time::Duration::from_secs(1)),
    });
    state
}

pub fn serve(args: ServeArgs) -> anyhow::Result<ExitStatus> {
    let config = Config::load()?;
    let opts = scan_options(&config, &args.image_opts)?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(c), Some(k)) => Some(Tls {
            cert: c.clone(),
            key: k.clone(),
        }),
        _ => config
            .serve
            .tls
            .clone()
            .map(|(cert, key)| Tls { cert, key }),
    };
    let serve_opts = ServeOptions {
        listen: args.listen.unwrap_or(config.serve.listen),
        tls,
        workers: WorkerOptions {
            workers: args.workers.unwrap_or(config.serve.workers),
            lease: config.serve.lease,
            tries: config.scan.retries.saturating_add(1),
            backoff: config.scan.backoff,
            ..WorkerOptions::default()
        },
        drain: std::time::Duration::from_secs(20),
    };
    with_state(&config, opts, async |state| {
        vigil_server::serve(state, serve_opts, |addr, tls| {
            let scheme = if tls { "https" } else { "http" };
            // The first line on stdout: scripts and tests read the address from it.
            let _ = say(&format!("listening on {scheme}://{addr}"));
            tracing::info!(%addr, tls, "listening");
        })
        .await
        .map_err(anyhow::Error::from)
    })?;
    Ok(ExitStatus::Clean)
}

pub fn token(cmd: TokenCommand) -> anyhow::Result<ExitStatus> {
    let (_, store) = open()?;
    let db = store.db();
    match cmd {
        TokenCommand::Create {
            role,
            apps,
            name,
            who,
        } => {
            let role = Role::parse(&role).with_context(|| {
                format!("invalid --role {role:?}: expected admin, ci or viewer")
            })?;
            let name = match name {
                Some(n) => n,
                None => {
                    let n = store.block_on(db.tokens())?.len() + 1;
                    format!("{role}-{n}")
                }
            };
            let apps = (!apps.is_empty()).then_some(apps);
            let (secret, token) = store.block_on(vigil_server::create_token(
                db,
                &name,
                role,
                apps,
                &who.name()?,
            ))?;
            tracing::info!(id = token.id, name = %token.name, "token created; it is shown once");
            say(&secret)?;
        }
        TokenCommand::List { format } => {
            let tokens = store.block_on(db.tokens())?;
            match format {
                Format::Json => print_json(
                    &tokens
                        .iter()
                        .map(vigil_server::api::token_json)
                        .collect::<Vec<_>>(),
                )?,
                Format::Table => print_table(
                    &["ID", "NAME", "ROLE", "APPLICATIONS", "CREATED", "BY"],
                    &tokens
                        .iter()
                        .map(|t| {
                            vec![
                                t.id.to_string(),
                                t.name.clone(),
                                t.role.to_string(),
                                t.apps.as_ref().map_or("all".into(), |a| a.join(",")),
                                vigil_server::api::rfc3339(t.created_at),
                                t.created_by.clone(),
                            ]
                        })
                        .collect::<Vec<_>>(),
                )?,
            }
        }
        TokenCommand::Revoke { id } => {
            store.block_on(db.revoke_token(id))?;
            say(&format!("revoked token {id}"))?;
        }
    }
    Ok(ExitStatus::Clean)
}
