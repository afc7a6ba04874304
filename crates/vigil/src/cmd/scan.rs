//! `vigil scan IMAGE` (issue 6): the image's known vulnerabilities, with coverage.

use std::io::Write;
use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::{Context, anyhow};
use clap::{Args, ValueEnum};
use vigil_vulndb::Severity;

use crate::cmd::inventory::ImageArgs;
use crate::config::Config;
use crate::exit::{ExitStatus, Hint};
use crate::output;

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Image reference: oci:DIR[:TAG|@DIGEST], oci-archive:FILE[:TAG], docker-archive:FILE,
    /// dir:ROOTFS, docker://HOST/REPO:TAG, HOST/REPO[:TAG|@DIGEST], or a path (sniffed)
    pub image: String,
    #[command(flatten)]
    pub image_opts: ImageArgs,
    /// Output format
    #[arg(long, short, value_enum, default_value_t = ScanFormat::Table)]
    pub format: ScanFormat,
    /// Write the report to FILE instead of standard output
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit with code 1 when a finding is at or above this severity
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub fail_on: Option<Severity>,
    /// Also exit with code 1 when the scan is incomplete (coverage gaps, SPEC 5.7)
    #[arg(long)]
    pub fail_on_incomplete: bool,
    /// Only report findings of these severities (comma-separated)
    #[arg(long, value_delimiter = ',', value_parser = parse_severity)]
    pub severity: Vec<Severity>,
    /// Only report findings that have a fixed version
    #[arg(long)]
    pub ignore_unfixed: bool,
    /// Also apply this OpenVEX or CycloneDX VEX document (repeatable); the store's global
    /// VEX documents always apply. Suppressed findings are listed apart, not counted
    #[arg(long, value_name = "FILE")]
    pub vex: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ScanFormat {
    Table,
    Json,
    Sarif,
    Cyclonedx,
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse::<Severity>()
        .map_err(|_| format!("expected one of critical, high, medium, low, unknown, found {s:?}"))
}

pub fn run(args: ScanArgs) -> anyhow::Result<ExitStatus> {
    let config = Config::load()?;
    let store = config.open_store()?;
    let db = store.db();
    // Refuse an empty database before reading a whole image.
    let empty = store
        .block_on(db.ecosystems())
        .context("cannot read the vulnerability database")?
        .is_empty();
    let empty_error = || {
        Err(anyhow!(Hint(
            "run `vigil db update` to download the feeds, or `vigil db import PATH` offline".into()
        )))
        .context(format!(
            "the vulnerability database {} is empty: a scan against it would find nothing",
            config.database
        ))
    };
    if empty {
        return empty_error();
    }

    let inventory = crate::cmd::inventory::read_inventory(&args.image, &args.image_opts, &config)?;
    let mut report = match store.block_on(vigil_service::match_inventory(
        db,
        inventory,
        config.db.max_age,
        SystemTime::now(),
    )) {
        Err(vigil_service::Error::EmptyDatabase) => return empty_error(),
        other => other.context("cannot read advisories from the vulnerability database")?,
    };
    apply_vex(&mut report, &args.vex, &store)?;
    report.filter(&args.severity, args.ignore_unfixed);

    let write = |out: &mut dyn Write| -> anyhow::Result<()> {
        match args.format {
            ScanFormat::Table => {
                output::table::write_scan(out, &report, output::color_for_stdout())?
            }
            ScanFormat::Json => {
                serde_json::to_writer_pretty(&mut *out, &report)?;
                writeln!(out)?;
            }
            ScanFormat::Sarif => output::sarif::write(out, &report)?,
            ScanFormat::Cyclonedx => output::cyclonedx::write(out, &report)?,
        }
        out.flush()?;
        Ok(())
    };
    match &args.output {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            write(&mut std::io::BufWriter::new(file))
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        None => write(&mut std::io::BufWriter::new(std::io::stdout().lock()))?,
    }

    let over = args.fail_on.is_some_and(|t| report.has_at_or_above(t));
    let incomplete = args.fail_on_incomplete && !report.coverage.coverage.complete;
    Ok(if over || incomplete {
        ExitStatus::Findings
    } else {
        ExitStatus::Clean
    })
}

/// Moves the findings that the store's global VEX documents and the `--vex` files suppress
/// into `report.suppressed` (SPEC 5.6); a `--vex` statement that covers none of this
/// image's findings is reported on stderr.
fn apply_vex(
    report: &mut vigil_scan::Report,
    files: &[PathBuf],
    store: &crate::config::Store,
) -> anyhow::Result<()> {
    let mut vex = store.block_on(vigil_service::vex::VexSet::load(store.db()))?;
    for file in files {
        let bytes =
            std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
        let doc = vigil_sbom::vex::read(&bytes, &file.display().to_string())?;
        vex.add_file(&file.display().to_string(), doc);
    }
    if vex.is_empty() {
        return Ok(());
    }
    let digest = report.image.manifest_digest.clone();
    let mut used = std::collections::HashSet::new();
    report.suppress(|f| {
        let ids: Vec<&str> = f.ids().map(|v| v.as_str()).collect();
        let target = vigil_service::vex::target_of(digest.as_deref(), &ids, &f.package);
        vex.suppression(None, &target, &mut used)
    });
    let given: Vec<_> = vex
        .unused(None, &used)
        .into_iter()
        .filter(|u| u.document_id.is_none())
        .collect();
    let mut err = std::io::stderr().lock();
    for u in given {
        writeln!(
            err,
            "warning: {} statement #{} ({} {}) covers no finding of this image: {}",
            u.document,
            u.statement,
            u.vulnerability,
            u.status,
            u.products.join(", ")
        )?;
    }
    Ok(())
}
