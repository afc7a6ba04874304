//! `vigil ci scan --pipeline P IMAGE` (SPEC 7.2, 7.3): the build-time scan. Exit 0 when the
//! scan is stored (or was already, or the pipeline does not scan), 2 when it finally fails,
//! so the build fails.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use anyhow::Context;
use clap::{Args, Subcommand};
use vigil_service::{CiOutcome, CiScan, Retry, ScanOptions};

use crate::cmd::inventory::ImageArgs;
use crate::cmd::platform::{Format, print_json, say};
use crate::cmd::remote::{self, Backend, Client};
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
    let backend = Backend::open()?;
    let context = || format!("ci scan of {} for pipeline {:?}", args.image, args.pipeline);
    let result = match &backend {
        Backend::Local { config, store } => {
            let mut opts = scan_options(config, &args.image_opts)?;
            opts.progress = Some(Arc::new(LayerBar::new()));
            let retry = Retry {
                tries: config.scan.retries.saturating_add(1),
                backoff: config.scan.backoff,
            };
            store
                .block_on(vigil_service::ci_scan(
                    store.db(),
                    &args.pipeline,
                    &args.image,
                    &opts,
                    retry,
                    &SystemTime::now,
                ))
                .with_context(context)?
        }
        Backend::Remote { config, client } => {
            remote::warn_image_options_ignored(&args.image_opts);
            // The server tries `scan.retries + 1` times, each bounded by `scan.timeout`
            // (its own settings; ours are the best guess of them).
            let budget = config
                .scan
                .timeout
                .saturating_mul(config.scan.retries.saturating_add(1));
            remote_ci_scan(client, &args.pipeline, &args.image, budget).with_context(context)?
        }
    };
    print_ci_scan(&result, args.format)?;
    Ok(ExitStatus::Clean)
}

/// `POST /api/v1/scans`.
#[derive(serde::Serialize)]
struct SubmitBody<'a> {
    image: &'a str,
    pipeline: &'a str,
}

/// A CI scan on the server: submitted, then (when queued) polled until it completed or
/// failed, or `budget` has passed. The answer is the same [`CiScan`] the local mode gives.
fn remote_ci_scan(
    client: &Client,
    pipeline: &str,
    image: &str,
    budget: std::time::Duration,
) -> anyhow::Result<CiScan> {
    let start = Instant::now();
    let submitted: remote::Submitted =
        client.post("/api/v1/scans", &SubmitBody { image, pipeline })?;
    let mut result = CiScan::not_scanned(&submitted.pipeline, &submitted.application, image);
    let outcome = submitted.outcome.as_str();
    let mut scan = match (outcome, submitted.scan) {
        ("disabled", _) => return Ok(result),
        ("reused" | "queued", Some(scan)) => scan,
        (other, _) => anyhow::bail!(
            "server {}: POST /api/v1/scans: unexpected answer: outcome {other:?}{}",
            client.base(),
            if matches!(other, "reused" | "queued") {
                " without a scan"
            } else {
                ""
            }
        ),
    };
    let mut wait = None;
    while outcome == "queued" && matches!(scan.state.as_str(), "queued" | "running") {
        if start.elapsed() >= budget {
            anyhow::bail!(
                "server {}: scan {} of {image} is still {} after {}: gave up waiting \
                 (scan.timeout x (scan.retries + 1))",
                client.base(),
                scan.id,
                scan.state,
                humantime::format_duration(std::time::Duration::from_secs(
                    start.elapsed().as_secs()
                ))
            );
        }
        let next = remote::poll_interval(wait);
        std::thread::sleep(next.min(budget.saturating_sub(start.elapsed())));
        wait = Some(next);
        scan = client.get(&format!("/api/v1/scans/{}", scan.id), &[])?;
    }
    match scan.state.as_str() {
        "completed" => {}
        "failed" => anyhow::bail!(
            "server {}: scan {} of {image} ({}) failed after {} tries: {}",
            client.base(),
            scan.id,
            scan.digest,
            scan.attempts,
            scan.error.as_deref().unwrap_or("no reason given")
        ),
        other => anyhow::bail!(
            "server {}: scan {} of {image} is {other:?}, expected completed or failed",
            client.base(),
            scan.id
        ),
    }
    result.outcome = if outcome == "reused" {
        CiOutcome::Reused
    } else {
        CiOutcome::Scanned
    };
    result.digest = Some(scan.digest);
    result.scan_id = Some(scan.id);
    result.db_version = scan.db_version;
    result.attempts = if outcome == "reused" {
        0
    } else {
        scan.attempts
    };
    result.complete = scan.complete;
    result.summary = scan.summary;
    Ok(result)
}

/// Prints a CI scan's result, however it was obtained.
fn print_ci_scan(result: &CiScan, format: Format) -> anyhow::Result<()> {
    match format {
        Format::Json => print_json(result)?,
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
    Ok(())
}
