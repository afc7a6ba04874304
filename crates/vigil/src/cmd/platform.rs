//! The platform entities (SPEC 7.1, issue 8): `vigil cluster|env|app|pipeline add|list|rm`,
//! and the helpers the platform commands share (who is asking, plain tables).

use std::io::Write;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use vigil_store::platform::{Environment, Pipeline};

use crate::config::{Config, Store};
use crate::exit::ExitStatus;

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

pub fn cluster(cmd: ClusterCommand) -> anyhow::Result<ExitStatus> {
    let (_, store) = open()?;
    let db = store.db();
    match cmd {
        ClusterCommand::Add { name } => {
            store.block_on(db.add_cluster(&name))?;
            say(&format!("added cluster {name}"))?;
        }
        ClusterCommand::List => {
            for c in store.block_on(db.clusters())? {
                say(&c)?;
            }
        }
        ClusterCommand::Rm { name } => {
            store.block_on(db.remove_cluster(&name))?;
            say(&format!("removed cluster {name}"))?;
        }
    }
    Ok(ExitStatus::Clean)
}

pub fn env(cmd: EnvCommand) -> anyhow::Result<ExitStatus> {
    let (_, store) = open()?;
    let db = store.db();
    match cmd {
        EnvCommand::Add {
            name,
            cluster,
            namespace,
        } => {
            store.block_on(db.add_environment(&Environment {
                name: name.clone(),
                cluster: cluster.clone(),
                namespace: namespace.clone(),
            }))?;
            say(&format!(
                "added environment {name} (cluster {cluster}, namespace {namespace})"
            ))?;
        }
        EnvCommand::List { format } => {
            let envs = store.block_on(db.environments())?;
            match format {
                Format::Json => print_json(
                    &envs
                        .iter()
                        .map(|e| {
                            serde_json::json!({
                                "name": e.name, "cluster": e.cluster, "namespace": e.namespace
                            })
                        })
                        .collect::<Vec<_>>(),
                )?,
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
            store.block_on(db.remove_environment(&name))?;
            say(&format!("removed environment {name}"))?;
        }
    }
    Ok(ExitStatus::Clean)
}

pub fn app(cmd: AppCommand) -> anyhow::Result<ExitStatus> {
    let (_, store) = open()?;
    let db = store.db();
    match cmd {
        AppCommand::Add { name } => {
            store.block_on(db.add_application(&name))?;
            say(&format!("added application {name}"))?;
        }
        AppCommand::List => {
            for a in store.block_on(db.applications())? {
                say(&a)?;
            }
        }
        AppCommand::Rm { name } => {
            store.block_on(db.remove_application(&name))?;
            say(&format!("removed application {name}"))?;
        }
    }
    Ok(ExitStatus::Clean)
}

pub fn pipeline(cmd: PipelineCommand) -> anyhow::Result<ExitStatus> {
    let (_, store) = open()?;
    let db = store.db();
    match cmd {
        PipelineCommand::Add {
            name,
            app,
            scan_enabled,
        } => {
            store.block_on(db.add_pipeline(&Pipeline {
                name: name.clone(),
                application: app.clone(),
                scan_enabled,
            }))?;
            say(&format!(
                "added pipeline {name} (application {app}, scanning {})",
                if scan_enabled { "enabled" } else { "disabled" }
            ))?;
        }
        PipelineCommand::List { format } => {
            let pipelines = store.block_on(db.pipelines())?;
            match format {
                Format::Json => print_json(
                    &pipelines
                        .iter()
                        .map(|p| {
                            serde_json::json!({
                                "name": p.name, "application": p.application,
                                "scan_enabled": p.scan_enabled
                            })
                        })
                        .collect::<Vec<_>>(),
                )?,
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
            store.block_on(db.remove_pipeline(&name))?;
            say(&format!("removed pipeline {name}"))?;
        }
    }
    Ok(ExitStatus::Clean)
}
