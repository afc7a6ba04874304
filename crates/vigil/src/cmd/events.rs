//! `vigil events`: notifications (issue 12, SPEC 7.7), from the local store or a server.

use std::io::Write;

use clap::{Args, Subcommand};

use crate::cmd::db::OutputFormat;
use crate::cmd::remote::Backend;
use crate::config::Config;
use crate::exit::ExitStatus;

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// List notifications, newest first: deployments that a re-match gave findings the policy blocks, with each webhook delivery's state
    List(ListArgs),
    /// Send the notifications that are due to the webhooks now, then exit (`vigil serve` does this by itself every second)
    Deliver,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this application's
    #[arg(long = "app")]
    pub application: Option<String>,
    /// The newest this many
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    /// Output format
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
}

pub fn run(cmd: EventsCommand) -> anyhow::Result<ExitStatus> {
    match cmd {
        EventsCommand::List(args) => list(&args),
        EventsCommand::Deliver => deliver(&Config::load()?),
    }
}

fn list(args: &ListArgs) -> anyhow::Result<ExitStatus> {
    let events: Vec<serde_json::Value> = match Backend::open()? {
        Backend::Local { store, .. } => store
            .block_on(
                store
                    .db()
                    .events(args.application.as_deref(), None, args.limit.max(1)),
            )?
            .iter()
            .map(vigil_server::api::event_json)
            .collect(),
        Backend::Remote { client, .. } => client.get(
            "/api/v1/events",
            &[
                ("application", args.application.clone()),
                ("limit", Some(args.limit.max(1).to_string())),
            ],
        )?,
    };
    let mut out = std::io::stdout().lock();
    match args.format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &events)?;
            writeln!(out)?;
        }
        OutputFormat::Table => {
            for e in &events {
                let s = |v: &serde_json::Value| v.as_str().unwrap_or("").to_owned();
                let findings = e["payload"]["findings"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                let ids: Vec<String> = findings.iter().map(|f| s(&f["id"])).collect();
                writeln!(
                    out,
                    "#{}  {}  {}  {}@{}  {}: {} blocked finding(s): {}",
                    e["id"],
                    s(&e["at"]),
                    s(&e["kind"]),
                    s(&e["application"]),
                    s(&e["environment"]),
                    s(&e["digest"]),
                    findings.len(),
                    ids.join(", ")
                )?;
                for d in e["deliveries"].as_array().into_iter().flatten() {
                    let state = match (d["delivered_at"].as_str(), d["last_error"].as_str()) {
                        (Some(at), _) => format!("delivered {at}"),
                        (None, Some(err)) => format!(
                            "pending, next try {} (last error: {err})",
                            s(&d["next_attempt_at"])
                        ),
                        (None, None) => "pending".to_owned(),
                    };
                    writeln!(
                        out,
                        "  -> {}  {} attempt(s), {state}",
                        s(&d["url"]),
                        d["attempts"]
                    )?;
                }
            }
        }
    }
    out.flush()?;
    Ok(ExitStatus::Clean)
}

fn deliver(config: &Config) -> anyhow::Result<ExitStatus> {
    let store = config.open_store()?;
    let opts = config.notify.options();
    let agent = vigil_service::notify::agent(&opts);
    let summary = store.block_on(vigil_service::deliver_due(store.db(), &opts, &agent))?;
    let mut err = std::io::stderr().lock();
    writeln!(
        err,
        "{} notification(s) delivered, {} failed (tried again later)",
        summary.delivered, summary.failed
    )?;
    Ok(ExitStatus::Clean)
}
