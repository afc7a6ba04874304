//! `vigil ci scan --pipeline P IMAGE` (SPEC 7.2, 7.3): the build-time scan. Exit 0 when the
//! scan is stored (or was already, or the pipeline does not scan), 2 when it finally fails,
//! so the build fails.

use std::sync::Arc;
use std::time::SystemTime;

use anyhow::Context;
use clap::{Args, Subcommand};
use vigil_service::{CiOutcome, Retry, ScanOptions};

use crate::cmd::inventory::ImageArgs;
use crate::cmd::platform::{Format, open, print_json, say};
use crate::config::Config;
use crate::exit::ExitStatus;
use crate::progress::LayerBar;

#[derive(Debug, Subcommand)]
pub enum CiCommand {
    /// Scan an image a pipeline built and store the result under its digest
    Scan(CiScanArgs),
}

#[derive(Debug, Args)]
pub struct CiScanArgs {
    /// The CI pipeline submitting the image
    #[arg(long)]
    pub pipeline: String,
    /// The image: HOST/REPO[:TAG|@DIGEST], oci:DIR[:TAG|@DIGEST], oci-archive:FILE,
    /// docker-archive:FILE (a digest in the reference lets a failure be stored too)
    pub image: String,
    #[command(flatten)]
    pub image_opts: ImageArgs,
    #[arg(long, short, value_enum, default_value_t)]
    pub format: Format,
}

/// The service's scan options from the image flags and the configuration.
pub fn scan_options(config: &Config, args: &ImageArgs) -> anyhow::Result<ScanOptions> {
    let opts = args.scan_options(config)?;
    Ok(ScanOptions {
        image: opts.image,
        cache_dir: opts.cache_dir,
        max_age: config.db.max_age,
        timeout: config.scan.timeout,
        progress: None,
    })
}

pub fn run(cmd: CiCommand) -> anyhow::Result<ExitStatus> {
    let CiCommand::Scan(args) = cmd;
    let (config, store) = open()?;
    let mut opts = scan_options(&config, &args.image_opts)?;
    opts.progress = Some(Arc::new(LayerBar::new()));
    let retry = Retry {
        tries: config.scan.retries.saturating_add(1),
        backoff: config.scan.backoff,
    };
    let result = store
        .block_on(vigil_service::ci_scan(
            store.db(),
            &args.pipeline,
            &args.image,
            &opts,
            retry,
            &SystemTime::now,
        ))
        .with_context(|| format!("ci scan of {} for pipeline {:?}", args.image, args.pipeline))?;
    match args.format {
        Format::Json => print_json(&result)?,
        Format::Table => match result.outcome {
            CiOutcome::Disabled => say(&format!(
                "pipeline {} does not have scanning enabled: {} was not scanned",
                result.pipeline, result.image
            ))?,
            CiOutcome::Reused | CiOutcome::Scanned => {
                let s = result.summary.clone().unwrap_or_default();
                say(&format!(
                    "{} {} ({}) as scan {}{}: {} findings ({} critical, {} high, {} medium, {} low, {} unknown; {} fixable){}",
                    if result.outcome == CiOutcome::Reused {
                        "already scanned"
                    } else {
                        "scanned"
                    },
                    result.image,
                    result.digest.as_deref().unwrap_or("-"),
                    result.scan_id.unwrap_or_default(),
                    if result.attempts > 1 {
                        format!(" after {} tries", result.attempts)
                    } else {
                        String::new()
                    },
                    s.total,
                    s.critical,
                    s.high,
                    s.medium,
                    s.low,
                    s.unknown,
                    s.fixable,
                    if result.complete == Some(false) {
                        "; incomplete"
                    } else {
                        ""
                    }
                ))?
            }
        },
    }
    Ok(ExitStatus::Clean)
}
