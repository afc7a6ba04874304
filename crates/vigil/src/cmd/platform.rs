//! The platform entities (SPEC 7.1, issue 8): `vigil cluster|env|app|pipeline add|list|rm`,
//! and the helpers the platform commands share (who is asking, plain tables). With
//! `--server` each command asks the server instead of the local store ([`remote`]) and
//! prints the answer with the same code.

use std::io::Write;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use vigil_store::platform::{Environment, Pipeline};

use crate::config::{Config, Store};
use crate::exit::ExitStatus;

use crate::cmd::remote::{self, Backend, segment};

/// Who makes a change (kept in the audit log and with deployments).
#[derive(Debug, Clone, Args)]
pub struct WhoArgs {
    /// Your name in the audit log [default: the OS user name]
    #[arg(long = "as", env = "VIGIL_USER", value_name = "NAME")]
    pub who: Option<String>,
}

impl WhoArgs {
    /// `--as`, `VIGIL_USER`, else the OS user name (`USER`, `LOGNAME`, `USERNAME`, else the
    /// passwd entry of this process's user).
    pub fn name(&self) -> anyhow::Result<String> {
        if let Some(w) = &self.who {
            anyhow::ensure!(!w.trim().is_empty(), "--as is empty: give a user name");
            return Ok(w.clone());
        }
        ["USER", "LOGNAME", "USERNAME"]
            .iter()
            .filter_map(|v| std::env::var(v).ok())
            .find(|v| !v.trim().is_empty())
            .or_else(os_user)
            .context("cannot tell who you are: USER is not set and this user has no passwd entry; pass --as NAME or set VIGIL_USER")
    }

    /// `--as NAME` was given on the command line (not only `VIGIL_USER` in the environment).
    pub fn given_explicitly(&self) -> bool {
        self.who.is_some() && std::env::var("VIGIL_USER").ok() != self.who
    }
}

/// The passwd name of the user running this process (the owner of `/proc/self`).
fn os_user() -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let uid = std::fs::metadata("/proc/self").ok()?.uid().to_string();
        let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
        passwd.lines().find_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            (f.nth(1)? == uid).then(|| name.to_owned())
        })
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Table or JSON, for the platform commands.
#[derive(Debug, Clone, Copy, Default, ValueEnum, PartialEq, Eq)]
pub enum Format {
    #[default]
    Table,
    Json,
}

/// Writes rows under a header, columns padded to their widest cell.
pub fn table(out: &mut dyn Write, header: &[&str], rows: &[Vec<String>]) -> std::io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |out: &mut dyn Write, cells: &[&str]| -> std::io::Result<()> {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        writeln!(out, "{}", s.trim_end())
    };
    line(out, header)?;
    for r in rows {
        let cells: Vec<&str> = r.iter().map(String::as_str).collect();
        line(out, &cells)?;
    }
    Ok(())
}

/// Prints a JSON value on stdout.
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}

/// Prints a table on stdout.
pub fn print_table(header: &[&str], rows: &[Vec<String>]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    table(&mut out, header, rows)?;
    out.flush()?;
    Ok(())
}

/// Prints one line on stdout (confirmations of changes).
pub fn say(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")?;
    out.flush()?;
    Ok(())
}

pub fn open() -> anyhow::Result<(Config, Store)> {
    let config = Config::load()?;
    let store = config.open_store()?;
    Ok((config, store))
}

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Add a cluster
    Add { name: String },
    /// List the clusters
    List,
    /// Remove a cluster that no environment or policy rule uses
    Rm { name: String },
}

#[derive(Debug, Subcommand)]
pub enum EnvCommand {
    /// Add an environment: a Kubernetes namespace of a cluster
    Add {
        name: String,
        /// The cluster it belongs to
        #[arg(long)]
        cluster: String,
        /// Its Kubernetes namespace (unique in the cluster)
        #[arg(long)]
        namespace: String,
    },
    /// List the environments
    List {
        #[arg(long, short, value_enum, default_value_t)]
        format: Format,
    },
    /// Remove an environment that no deployment or policy rule uses
    Rm { name: String },
}

#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Add an application
    Add { name: String },
    /// List the applications
    List,
    /// Remove an application that no pipeline, deployment or policy rule uses
    Rm { name: String },
}

#[derive(Debug, Subcommand)]
pub enum PipelineCommand {
    /// Add a CI pipeline building an application's images
    Add {
        name: String,
        /// The application it builds
        #[arg(long)]
        app: String,
        /// Scan the images it submits (`vigil ci scan`); without it, nothing is scanned
        #[arg(long)]
        scan_enabled: bool,
    },
    /// List the pipelines
    List {
        #[arg(long, short, value_enum, default_value_t)]
        format: Format,
    },
    /// Remove a pipeline
    Rm { name: String },
}

/// The JSON body of the entity-creating requests that take a name only.
#[derive(serde::Serialize)]
struct NameBody<'a> {
    name: &'a str,
}

pub fn cluster(cmd: ClusterCommand) -> anyhow::Result<ExitStatus> {
    let backend = Backend::open()?;
    match cmd {
        ClusterCommand::Add { name } => {
            match &backend {
                Backend::Local { store, .. } => store.block_on(store.db().add_cluster(&name))?,
                Backend::Remote { client, .. } => {
                    client.post::<_, serde_json::Value>(
                        "/api/v1/clusters",
                        &NameBody { name: &name },
                    )?;
                }
            }
            say(&format!("added cluster {name}"))?;
        }
        ClusterCommand::List => {
            let clusters: Vec<String> = match &backend {
                Backend::Local { store, .. } => store.block_on(store.db().clusters())?,
                Backend::Remote { client, .. } => client.get("/api/v1/clusters", &[])?,
            };
            for c in clusters {
                say(&c)?;
            }
        }
        ClusterCommand::Rm { name } => {
            match &backend {
                Backend::Local { store, .. } => store.block_on(store.db().remove_cluster(&name))?,
                Backend::Remote { client, .. } => {
                    client.delete::<()>(&format!("/api/v1/clusters/{}", segment(&name)), &[])?;
                }
            }
            say(&format!("removed cluster {name}"))?;
        }
    }
    Ok(ExitStatus::Clean)
}

pub fn env(cmd: EnvCommand) -> anyhow::Result<ExitStatus> {
    let backend = Backend::open()?;
    match cmd {
        EnvCommand::Add {
            name,
            cluster,
            namespace,
        } => {
            let env = Environment {
                name: name.clone(),
                cluster: cluster.clone(),
                namespace: namespace.clone(),
            };
            match &backend {
                Backend::Local { store, .. } => {
                    store.block_on(store.db().add_environment(&env))?;
                }
                Backend::Remote { client, .. } => {
                    client.post::<_, serde_json::Value>("/api/v1/environments", &env_json(&env))?;
                }
            }
            say(&format!(
                "added environment {name} (cluster {cluster}, namespace {namespace})"
            ))?;
        }
        EnvCommand::List { format } => {
            let envs: Vec<Environment> = match &backend {
                Backend::Local { store, .. } => store.block_on(store.db().environments())?,
                Backend::Remote { client, .. } => client
                    .get::<Vec<remote::Environment>>("/api/v1/environments", &[])?
                    .into_iter()
                    .map(Environment::from)
                    .collect(),
            };
            match format {
                Format::Json => print_json(&envs.iter().map(env_json).collect::<Vec<_>>())?,
                Format::Table => print_table(
                    &["ENVIRONMENT", "CLUSTER", "NAMESPACE"],
                    &envs
                        .into_iter()
                        .map(|e| vec![e.name, e.cluster, e.namespace])
                        .collect::<Vec<_>>(),
                )?,
            }
        }
        EnvCommand::Rm { name } => {
            match &backend {
                Backend::Local { store, .. } => {
                    store.block_on(store.db().remove_environment(&name))?;
                }
                Backend::Remote { client, .. } => {
                    client
                        .delete::<()>(&format!("/api/v1/environments/{}", segment(&name)), &[])?;
                }
            }
            say(&format!("removed environment {name}"))?;
        }
    }
    Ok(ExitStatus::Clean)
}

/// An environment's JSON (`env list --format json`, the API's body).
fn env_json(e: &Environment) -> serde_json::Value {
    serde_json::json!({"name": e.name, "cluster": e.cluster, "namespace": e.namespace})
}

/// A pipeline's JSON (`pipeline list --format json`, the API's body).
fn pipeline_json(p: &Pipeline) -> serde_json::Value {
    serde_json::json!({
        "name": p.name, "application": p.application, "scan_enabled": p.scan_enabled
    })
}

pub fn app(cmd: AppCommand) -> anyhow::Result<ExitStatus> {
    let backend = Backend::open()?;
    match cmd {
        AppCommand::Add { name } => {
            match &backend {
                Backend::Local { store, .. } => {
                    store.block_on(store.db().add_application(&name))?;
                }
                Backend::Remote { client, .. } => {
                    client
                        .post::<_, serde_json::Value>("/api/v1/apps", &NameBody { name: &name })?;
                }
            }
            say(&format!("added application {name}"))?;
        }
        AppCommand::List => {
            let apps: Vec<String> = match &backend {
                Backend::Local { store, .. } => store.block_on(store.db().applications())?,
                Backend::Remote { client, .. } => client.get("/api/v1/apps", &[])?,
            };
            for a in apps {
                say(&a)?;
            }
        }
        AppCommand::Rm { name } => {
            match &backend {
                Backend::Local { store, .. } => {
                    store.block_on(store.db().remove_application(&name))?;
                }
                Backend::Remote { client, .. } => {
                    client.delete::<()>(&format!("/api/v1/apps/{}", segment(&name)), &[])?;
                }
            }
            say(&format!("removed application {name}"))?;
        }
    }
    Ok(ExitStatus::Clean)
}

pub fn pipeline(cmd: PipelineCommand) -> anyhow::Result<ExitStatus> {
    let backend = Backend::open()?;
    match cmd {
        PipelineCommand::Add {
            name,
            app,
            scan_enabled,
        } => {
            let pipeline = Pipeline {
                name: name.clone(),
                application: app.clone(),
                scan_enabled,
            };
            match &backend {
                Backend::Local { store, .. } => {
                    store.block_on(store.db().add_pipeline(&pipeline))?;
                }
                Backend::Remote { client, .. } => {
                    client.post::<_, serde_json::Value>(
                        "/api/v1/pipelines",
                        &pipeline_json(&pipeline),
                    )?;
                }
            }
            say(&format!(
                "added pipeline {name} (application {app}, scanning {})",
                if scan_enabled { "enabled" } else { "disabled" }
            ))?;
        }
        PipelineCommand::List { format } => {
            let pipelines: Vec<Pipeline> = match &backend {
                Backend::Local { store, .. } => store.block_on(store.db().pipelines())?,
                Backend::Remote { client, .. } => client
                    .get::<Vec<remote::Pipeline>>("/api/v1/pipelines", &[])?
                    .into_iter()
                    .map(Pipeline::from)
                    .collect(),
            };
            match format {
                Format::Json => {
                    print_json(&pipelines.iter().map(pipeline_json).collect::<Vec<_>>())?
                }
                Format::Table => print_table(
                    &["PIPELINE", "APPLICATION", "SCANNING"],
                    &pipelines
                        .into_iter()
                        .map(|p| {
                            vec![
                                p.name,
                                p.application,
                                if p.scan_enabled {
                                    "enabled"
                                } else {
                                    "disabled"
                                }
                                .into(),
                            ]
                        })
                        .collect::<Vec<_>>(),
                )?,
            }
        }
        PipelineCommand::Rm { name } => {
            match &backend {
                Backend::Local { store, .. } => {
                    store.block_on(store.db().remove_pipeline(&name))?;
                }
                Backend::Remote { client, .. } => {
                    client.delete::<()>(&format!("/api/v1/pipelines/{}", segment(&name)), &[])?;
                }
            }
            say(&format!("removed pipeline {name}"))?;
        }
    }
    Ok(ExitStatus::Clean)
}
