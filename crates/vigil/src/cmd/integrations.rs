//! `vigil integrations list|show|install|retry|update|logs` (issue 10, SPEC 8).
//!
//! With `--server` the commands ask the server, which runs installs in the background
//! (`--follow` prints the install log as it is written). Without one, the command runs the
//! install here, on the local store, with the same code and the same log, and returns once
//! it ended.

use std::time::Duration;

use anyhow::{Context, bail};
use clap::Subcommand;
use serde::Deserialize;
use serde_json::Value;
use vigil_server::integrations as lifecycle;
use vigil_store::platform::{InstallEvent, IntegrationStatus};

use crate::cmd::ci::scan_options;
use crate::cmd::inventory::ImageArgs;
use crate::cmd::platform::{Format, print_json, print_table, say};
use crate::cmd::remote::{Backend, Client, segment};
use crate::config::Config;
use crate::exit::ExitStatus;

#[derive(Debug, Subcommand)]
pub enum IntegrationsCommand {
    /// The integrations with their install status and version
    List {
        #[arg(long, short, value_enum, default_value_t)]
        format: Format,
    },
    /// One integration
    Show {
        name: String,
        #[arg(long, short, value_enum, default_value_t)]
        format: Format,
    },
    /// Install an integration (cicd first, then vulnerability-scanning)
    Install {
        name: String,
        /// With --server: print the install log until the install ends
        #[arg(long)]
        follow: bool,
    },
    /// Try a failed or timed-out install again
    Retry {
        name: String,
        #[arg(long)]
        follow: bool,
    },
    /// Re-run the install of an integration installed at an older version
    Update {
        name: String,
        #[arg(long)]
        follow: bool,
    },
    /// The install log of an integration
    Logs {
        name: String,
        /// Keep printing new lines until the install ends
        #[arg(long)]
        follow: bool,
    },
}

#[derive(Debug, Deserialize)]
struct LogPage {
    status: String,
    running: bool,
    lines: Vec<LogLine>,
}

#[derive(Debug, Deserialize)]
struct LogLine {
    id: i64,
    at: String,
    line: String,
}

pub fn run(cmd: IntegrationsCommand) -> anyhow::Result<ExitStatus> {
    match Backend::open()? {
        Backend::Remote { client, .. } => remote(&client, cmd),
        Backend::Local { config, store } => {
            drop(store);
            local(&config, cmd)
        }
    }
}

fn print_list(items: &[Value], format: Format) -> anyhow::Result<()> {
    match format {
        Format::Json => print_json(&items),
        Format::Table => print_table(
            &[
                "NAME",
                "TITLE",
                "STATUS",
                "SINCE",
                "VERSION",
                "INSTALLED",
                "ATTEMPTS",
                "NOTE",
            ],
            &items
                .iter()
                .map(|i| {
                    let text = |k: &str| i[k].as_str().unwrap_or("-").to_owned();
                    let mut note = Vec::new();
                    if i["update_available"] == true {
                        note.push("update available".to_owned());
                    }
                    if let Some(r) = i["requires"].as_array().filter(|r| !r.is_empty()) {
                        let names: Vec<&str> = r.iter().filter_map(Value::as_str).collect();
                        note.push(format!("requires {}", names.join(", ")));
                    }
                    if let Some(reason) = i["reason"].as_str() {
                        note.push(reason.to_owned());
                    }
                    vec![
                        text("name"),
                        text("title"),
                        text("status"),
                        text("status_at"),
                        text("version"),
                        text("installed_version"),
                        i["attempts"].to_string(),
                        note.join("; "),
                    ]
                })
                .collect::<Vec<_>>(),
        ),
    }
}

fn print_lines(lines: &[LogLine]) -> anyhow::Result<()> {
    for l in lines {
        say(&format!("{}  {}", l.at, l.line))?;
    }
    Ok(())
}

/// The exit status of an install that ended in `status`, with the reason on stderr.
fn outcome(name: &str, status: &str, reason: Option<&str>) -> anyhow::Result<ExitStatus> {
    match status {
        "installed" => Ok(ExitStatus::Clean),
        other => bail!(
            "the install of {name} ended {other}{}; see `vigil integrations logs {name}`, then \
             `vigil integrations retry {name}`",
            reason.map(|r| format!(": {r}")).unwrap_or_default()
        ),
    }
}

fn remote(client: &Client, cmd: IntegrationsCommand) -> anyhow::Result<ExitStatus> {
    let path = |name: &str, rest: &str| format!("/api/v1/integrations/{}{rest}", segment(name));
    match cmd {
        IntegrationsCommand::List { format } => {
            let items: Vec<Value> = client.get("/api/v1/integrations", &[])?;
            print_list(&items, format)?;
        }
        IntegrationsCommand::Show { name, format } => {
            let item: Value = client.get(&path(&name, ""), &[])?;
            print_list(&[item], format)?;
        }
        IntegrationsCommand::Install { name, follow } => {
            return remote_start(client, &name, "install", follow);
        }
        IntegrationsCommand::Retry { name, follow } => {
            return remote_start(client, &name, "retry", follow);
        }
        IntegrationsCommand::Update { name, follow } => {
            return remote_start(client, &name, "update", follow);
        }
        IntegrationsCommand::Logs { name, follow } => {
            return follow_log(client, &name, 0, follow);
        }
    }
    Ok(ExitStatus::Clean)
}

/// `POST .../install|retry|update`; with `follow`, the log until the install ends.
fn remote_start(
    client: &Client,
    name: &str,
    verb: &str,
    follow: bool,
) -> anyhow::Result<ExitStatus> {
    let log_path = format!("/api/v1/integrations/{}/log", segment(name));
    // Lines already there belong to earlier installs.
    let mut after = 0;
    loop {
        let page: LogPage = client.get(&log_path, &[("after", Some(after.to_string()))])?;
        match page.lines.last() {
            Some(l) => after = l.id,
            None => break,
        }
    }
    let started: Value = client.post::<_, Value>(
        &format!("/api/v1/integrations/{}/{verb}", segment(name)),
        &serde_json::json!({}),
    )?;
    if !follow {
        say(&format!(
            "{verb} of {name} started on the server (status {}); follow it with `vigil \
             integrations logs {name} --follow`",
            started["status"].as_str().unwrap_or("?")
        ))?;
        return Ok(ExitStatus::Clean);
    }
    follow_log(client, name, after, true)
}

/// Prints the log of `name` after line `after`; with `follow`, until the install ends.
fn follow_log(
    client: &Client,
    name: &str,
    mut after: i64,
    follow: bool,
) -> anyhow::Result<ExitStatus> {
    let path = format!("/api/v1/integrations/{}/log", segment(name));
    loop {
        let page: LogPage = client.get(&path, &[("after", Some(after.to_string()))])?;
        print_lines(&page.lines)?;
        if let Some(last) = page.lines.last() {
            after = last.id;
        }
        if !follow {
            return Ok(ExitStatus::Clean);
        }
        if !page.running && page.lines.is_empty() {
            let item: Value =
                client.get(&format!("/api/v1/integrations/{}", segment(name)), &[])?;
            return outcome(name, &page.status, item["reason"].as_str());
        }
        if page.lines.is_empty() {
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

fn local(config: &Config, cmd: IntegrationsCommand) -> anyhow::Result<ExitStatus> {
    // Installs read no image: the image options are their defaults.
    #[derive(clap::Parser)]
    struct Defaults {
        #[command(flatten)]
        image: ImageArgs,
    }
    let image = <Defaults as clap::Parser>::parse_from(["vigil"]).image;
    let opts = scan_options(config, &image)?;
    crate::cmd::serve::with_state(config, opts, async |state| local_command(&state, cmd).await)
}

async fn local_command(
    state: &vigil_server::AppState,
    cmd: IntegrationsCommand,
) -> anyhow::Result<ExitStatus> {
    let api = |e: vigil_server::ApiError| anyhow::anyhow!("{e}");
    match cmd {
        IntegrationsCommand::List { format } => {
            print_list(&lifecycle::all_json(state).await.map_err(api)?, format)?;
        }
        IntegrationsCommand::Show { name, format } => {
            print_list(
                &[lifecycle::json_of(state, &name).await.map_err(api)?],
                format,
            )?;
        }
        IntegrationsCommand::Install { name, .. } => {
            return local_install(state, &name, InstallEvent::Install).await;
        }
        IntegrationsCommand::Retry { name, .. } => {
            return local_install(state, &name, InstallEvent::Retry).await;
        }
        IntegrationsCommand::Update { name, .. } => {
            return local_install(state, &name, InstallEvent::Update).await;
        }
        IntegrationsCommand::Logs { name, .. } => {
            lifecycle::json_of(state, &name).await.map_err(api)?;
            print_store_lines(state.db.install_log(&name, 0, u32::MAX).await?, 0)?;
        }
    }
    Ok(ExitStatus::Clean)
}

/// Runs an install here, printing its log as it is written.
async fn local_install(
    state: &vigil_server::AppState,
    name: &str,
    event: InstallEvent,
) -> anyhow::Result<ExitStatus> {
    let runner = format!("cli:{}", std::process::id());
    let before = state
        .db
        .install_log(name, 0, u32::MAX)
        .await?
        .last()
        .map_or(0, |l| l.id);
    lifecycle::start(state, name, event, &runner)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let task = tokio::spawn(lifecycle::run(state.clone(), name.to_owned(), runner));
    let mut after = before;
    while !task.is_finished() {
        tokio::time::sleep(Duration::from_millis(200)).await;
        after = print_store_lines(state.db.install_log(name, after, 1000).await?, after)?;
    }
    let status = task.await.context("the install task stopped")?;
    print_store_lines(state.db.install_log(name, after, u32::MAX).await?, after)?;
    let st = state.db.integration(name).await?;
    let reason = st.as_ref().and_then(|s| s.reason.clone());
    let status = status.unwrap_or(IntegrationStatus::Failed);
    outcome(name, status.as_str(), reason.as_deref())
}

/// Prints log lines read from the store; the id of the last one (else `after`).
fn print_store_lines(
    lines: Vec<vigil_store::platform::InstallLogLine>,
    mut after: i64,
) -> anyhow::Result<i64> {
    for l in lines {
        say(&format!("{}  {}", vigil_server::api::rfc3339(l.at), l.line))?;
        after = l.id;
    }
    Ok(after)
}
