//! `vigil vex`: VEX documents (issue 12, SPEC 5.6), in the local store or on a server.

use std::io::Write;
use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::Context;
use clap::{Args, Subcommand};
use vigil_service::vex::{VexImport, VexListing};

use crate::cmd::db::OutputFormat;
use crate::cmd::platform::WhoArgs;
use crate::cmd::remote::{Backend, segment};
use crate::exit::ExitStatus;

#[derive(Debug, Subcommand)]
pub enum VexCommand {
    /// Import OpenVEX or CycloneDX VEX documents: their not_affected and fixed statements suppress the findings they cover
    Import(ImportArgs),
    /// List the VEX documents and the statements that cover no finding of any scanned image
    List(ListArgs),
    /// Remove a VEX document by id (its statements stop suppressing)
    Remove(RemoveArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// OpenVEX or CycloneDX VEX JSON files
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Apply to this application only [default: every application]
    #[arg(long = "app")]
    pub application: Option<String>,
    #[command(flatten)]
    pub who: WhoArgs,
    /// Output format
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Output format
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
}

#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// The document's id (see `vigil vex list`)
    pub id: i64,
}

pub fn run(cmd: VexCommand) -> anyhow::Result<ExitStatus> {
    match cmd {
        VexCommand::Import(args) => import(&args),
        VexCommand::List(args) => list(&args),
        VexCommand::Remove(args) => remove(&args),
    }
}

fn import(args: &ImportArgs) -> anyhow::Result<ExitStatus> {
    let backend = Backend::open()?;
    let mut done = Vec::new();
    for file in &args.files {
        let bytes =
            std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
        let name = file.file_name().map_or_else(
            || file.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let imported: VexImport = match &backend {
            Backend::Local { store, .. } => store.block_on(vigil_service::vex::import_vex(
                store.db(),
                &bytes,
                &name,
                args.application.as_deref(),
                &args.who.name()?,
                SystemTime::now(),
            ))?,
            Backend::Remote { client, .. } => {
                crate::cmd::remote::warn_who_ignored(&args.who);
                let mut query = vec![("name", Some(name.clone()))];
                query.push(("application", args.application.clone()));
                client.post_bytes("/api/v1/vex", &query, bytes)?
            }
        };
        done.push(imported);
    }
    let mut out = std::io::stdout().lock();
    match args.format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &done)?;
            writeln!(out)?;
        }
        OutputFormat::Table => {
            for d in &done {
                writeln!(
                    out,
                    "imported VEX document {} ({}, {}, {}): {} statement(s), {} suppressing",
                    d.id, d.name, d.format, d.scope, d.statements, d.suppressing
                )?;
                print_unused(&mut out, d)?;
            }
        }
    }
    out.flush()?;
    Ok(ExitStatus::Clean)
}

fn print_unused(out: &mut dyn Write, d: &VexImport) -> std::io::Result<()> {
    if d.unused.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "  {} statement(s) cover no finding of any scanned image (unused):",
        d.unused.len()
    )?;
    for u in &d.unused {
        writeln!(
            out,
            "    #{} {} {}: {}",
            u.statement,
            u.vulnerability,
            u.status,
            u.products.join(", ")
        )?;
    }
    Ok(())
}

fn list(args: &ListArgs) -> anyhow::Result<ExitStatus> {
    let docs: Vec<VexListing> = match Backend::open()? {
        Backend::Local { store, .. } => store.block_on(vigil_service::vex::list_vex(store.db()))?,
        Backend::Remote { client, .. } => client.get("/api/v1/vex", &[])?,
    };
    let mut out = std::io::stdout().lock();
    match args.format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &docs)?;
            writeln!(out)?;
        }
        OutputFormat::Table => {
            for d in &docs {
                let s = &d.summary;
                writeln!(
                    out,
                    "{}  {}  {}  {}  {} statement(s), {} suppressing  imported {} by {}",
                    s.id,
                    s.name,
                    s.format,
                    s.scope,
                    s.statements,
                    s.suppressing,
                    d.imported_at,
                    d.imported_by
                )?;
                print_unused(&mut out, s)?;
            }
        }
    }
    out.flush()?;
    Ok(ExitStatus::Clean)
}

fn remove(args: &RemoveArgs) -> anyhow::Result<ExitStatus> {
    match Backend::open()? {
        Backend::Local { store, .. } => {
            if !store.block_on(store.db().remove_vex(args.id))? {
                anyhow::bail!("VEX document {} does not exist", args.id);
            }
        }
        Backend::Remote { client, .. } => {
            client.delete::<()>(
                &format!("/api/v1/vex/{}", segment(&args.id.to_string())),
                &[],
            )?;
        }
    }
    writeln!(std::io::stdout(), "removed VEX document {}", args.id)?;
    Ok(ExitStatus::Clean)
}
