//! `vigil gate`, `vigil explain`, `vigil deploy record` and `vigil deployed` (SPEC 6.7,
//! 7.4, 7.5). The gate exits 0 on allow and 3 on block.

use std::time::SystemTime;

use clap::{Args, Subcommand};
use vigil_policy::{Decision, ScanStatus, Severity};
use vigil_service::{
    DeployedFilter, DeployedRow, DeployedSort, Explanation, GateReport, GateRequest, Page,
};

use crate::cmd::ci::scan_options;
use crate::cmd::inventory::ImageArgs;
use crate::cmd::platform::{Format, WhoArgs, print_json, print_table, say};
use crate::cmd::remote::{self, Backend};
use crate::exit::ExitStatus;

#[derive(Debug, Args)]
pub struct GateArgs {
    /// The application being deployed
    #[arg(long)]
    pub app: String,
    /// The environment it is deployed to
    #[arg(long)]
    pub env: String,
    /// The image: a digest (sha256:...) or a reference whose digest is looked up
    pub image: String,
    /// Skip the decision: this deployment is a rollback (it is recorded and logged)
    #[arg(long)]
    pub rollback: bool,
    #[arg(long, short, value_enum, default_value_t)]
    pub format: Format,
    #[command(flatten)]
    pub who: WhoArgs,
    #[command(flatten)]
    pub image_opts: ImageArgs,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    #[arg(long)]
    pub app: String,
    #[arg(long)]
    pub env: String,
    /// The image digest (sha256:...) or a reference
    pub digest: String,
    #[arg(long, short, value_enum, default_value_t)]
    pub format: Format,
    #[command(flatten)]
    pub image_opts: ImageArgs,
}

#[derive(Debug, Subcommand)]
pub enum DeployCommand {
    /// Record that an application runs an image digest in an environment
    Record {
        #[arg(long)]
        app: String,
        #[arg(long)]
        env: String,
        /// The image digest (sha256:...)
        digest: String,
        #[command(flatten)]
        who: WhoArgs,
    },
}

#[derive(Debug, Args)]
pub struct DeployedArgs {
    #[arg(long)]
    pub app: Option<String>,
    #[arg(long)]
    pub env: Option<String>,
    #[arg(long)]
    pub cluster: Option<String>,
    /// Only images with a finding of this severity
    #[arg(long)]
    pub severity: Option<String>,
    /// Only images with this vulnerability (id or alias)
    #[arg(long)]
    pub cve: Option<String>,
    /// application, environment, cluster, deployed (newest first), critical, high, total,
    /// fixable, blocked (counts largest first)
    #[arg(long, default_value = "application", value_parser = parse_sort)]
    pub sort: DeployedSort,
    /// Rows to skip
    #[arg(long, default_value_t = 0)]
    pub offset: usize,
    /// Rows to show at most
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    #[arg(long, short, value_enum, default_value_t)]
    pub format: Format,
}

fn parse_sort(s: &str) -> Result<DeployedSort, String> {
    DeployedSort::ALL
        .iter()
        .find(|(n, _)| *n == s)
        .map(|(_, k)| *k)
        .ok_or_else(|| {
            let names: Vec<&str> = DeployedSort::ALL.iter().map(|(n, _)| *n).collect();
            format!("expected one of {}, found {s:?}", names.join(", "))
        })
}

/// `POST /api/v1/gate`.
#[derive(serde::Serialize)]
struct GateBody<'a> {
    application: &'a str,
    environment: &'a str,
    image: &'a str,
    rollback: bool,
}

pub fn gate(args: GateArgs) -> anyhow::Result<ExitStatus> {
    let backend = Backend::open()?;
    let (report, who) = match &backend {
        Backend::Local { config, store } => {
            let opts = scan_options(config, &args.image_opts)?;
            let who = args.who.name()?;
            let report = store.block_on(vigil_service::gate(
                store.db(),
                &GateRequest {
                    application: &args.app,
                    environment: &args.env,
                    image: &args.image,
                    rollback: args.rollback,
                    who: &who,
                },
                &opts,
                SystemTime::now(),
            ))?;
            (report, who)
        }
        Backend::Remote { client, .. } => {
            remote::warn_who_ignored(&args.who);
            remote::warn_image_options_ignored(&args.image_opts);
            let report: GateReport = client.post(
                "/api/v1/gate",
                &GateBody {
                    application: &args.app,
                    environment: &args.env,
                    image: &args.image,
                    rollback: args.rollback,
                },
            )?;
            if let Some(id) = report.rollback_deployment {
                // The server logged it; the person running the rollback is told here too.
                tracing::warn!(
                    application = %report.application,
                    environment = %report.environment,
                    digest = %report.digest,
                    policy_decision = %report.policy_decision,
                    deployment = id,
                    "rollback: the gate was skipped"
                );
            }
            // The server recorded the rollback under the token's name: read it back for the
            // table's "recorded ... by WHO" (JSON has the deployment id only).
            let who = match report.rollback_deployment {
                Some(id) if args.format == Format::Table => client
                    .get::<Vec<remote::Deployment>>(
                        "/api/v1/deployments",
                        &[
                            ("application", Some(report.application.clone())),
                            ("environment", Some(report.environment.clone())),
                        ],
                    )?
                    .into_iter()
                    .find(|d| d.id == id)
                    .map_or_else(|| "the token's owner".to_owned(), |d| d.deployed_by),
                _ => String::new(),
            };
            (report, who)
        }
    };
    print_gate(&report, &who, args.format)?;
    Ok(match report.decision {
        Decision::Allow => ExitStatus::Clean,
        Decision::Block => ExitStatus::Blocked,
    })
}

/// Prints the gate's answer; `who` made the rollback (when it is one).
fn print_gate(report: &GateReport, who: &str, format: Format) -> anyhow::Result<()> {
    match format {
        Format::Json => print_json(&report)?,
        Format::Table => {
            let scan = match report.scan {
                ScanStatus::Completed => format!(
                    "scan {} of {}",
                    report.scan_id.unwrap_or_default(),
                    report.scanned_at.as_deref().unwrap_or("-")
                ),
                ScanStatus::Incomplete => format!(
                    "scan {} is incomplete: {}",
                    report.scan_id.unwrap_or_default(),
                    report.incomplete_reasons.join("; ")
                ),
                ScanStatus::Missing => "no completed scan".to_owned(),
            };
            say(&format!(
                "{}: {} in {} (cluster {}), {} ({scan})",
                report.decision.as_str().to_uppercase(),
                report.application,
                report.environment,
                report.cluster,
                report.digest
            ))?;
            if report.rollback {
                say(&format!(
                    "rollback: the policy said {}; skipped and recorded as deployment {} by {who}",
                    report.policy_decision,
                    report.rollback_deployment.unwrap_or_default()
                ))?;
            }
            if let Some(rule) = &report.unscanned_rule
                && report.scan != ScanStatus::Completed
            {
                say(&format!(
                    "unscanned rule: {} unscanned {}",
                    rule["scope"].as_str().unwrap_or("-"),
                    rule["action"].as_str().unwrap_or("-")
                ))?;
            }
            if !report.blocking.is_empty() {
                print_table(
                    &["ID", "SEVERITY", "PACKAGE", "VERSION", "FIX", "RULE"],
                    &report
                        .blocking
                        .iter()
                        .map(|f| {
                            vec![
                                f.id.to_string(),
                                f.severity.to_string(),
                                f.package.clone(),
                                f.version.clone(),
                                f.fixed_version.clone().unwrap_or_else(|| "-".into()),
                                f.explanation.clone(),
                            ]
                        })
                        .collect::<Vec<_>>(),
                )?;
            }
            if report.suppressed > 0 {
                say(&format!(
                    "{} finding(s) suppressed by VEX statements, not counted (vigil explain shows them)",
                    report.suppressed
                ))?;
            }
        }
    }
    Ok(())
}

pub fn explain(args: ExplainArgs) -> anyhow::Result<ExitStatus> {
    let backend = Backend::open()?;
    let ex: Explanation = match &backend {
        Backend::Local { config, store } => {
            let opts = scan_options(config, &args.image_opts)?;
            store.block_on(vigil_service::explain(
                store.db(),
                &args.app,
                &args.env,
                &args.digest,
                &opts,
                SystemTime::now(),
            ))?
        }
        Backend::Remote { client, .. } => {
            remote::warn_image_options_ignored(&args.image_opts);
            client.get(
                "/api/v1/explain",
                &[
                    ("application", Some(args.app.clone())),
                    ("environment", Some(args.env.clone())),
                    ("image", Some(args.digest.clone())),
                ],
            )?
        }
    };
    print_explanation(&ex, args.format)?;
    Ok(ExitStatus::Clean)
}

fn print_explanation(ex: &Explanation, format: Format) -> anyhow::Result<()> {
    match format {
        Format::Json => print_json(&ex)?,
        Format::Table => {
            say(&format!(
                "{} in {} (cluster {}), {}: {} ({} scan, {} findings)",
                ex.application,
                ex.environment,
                ex.cluster,
                ex.digest,
                ex.decision,
                ex.scan,
                ex.findings.len()
            ))?;
            print_table(
                &["ID", "SEVERITY", "PACKAGE", "VERDICT", "RULE"],
                &ex.findings
                    .iter()
                    .map(|f| {
                        vec![
                            f.id.to_string(),
                            f.severity.to_string(),
                            format!("{} {}", f.package, f.version),
                            f.verdict.to_string(),
                            f.explanation.clone(),
                        ]
                    })
                    .collect::<Vec<_>>(),
            )?;
            for r in &ex.unmatched_rules {
                say(&format!(
                    "unused rule: {} {} {} (matches no finding)",
                    r["scope"].as_str().unwrap_or("-"),
                    r["id"].as_str().unwrap_or("-"),
                    r["action"].as_str().unwrap_or("-")
                ))?;
            }
            for u in &ex.unused_vex {
                say(&format!(
                    "unused VEX statement: {} #{} {} {} for {} ({}; matches no finding of this image)",
                    u.document,
                    u.statement,
                    u.vulnerability,
                    u.status,
                    u.products.join(", "),
                    u.scope
                ))?;
            }
        }
    }
    Ok(())
}

pub fn deploy(cmd: DeployCommand) -> anyhow::Result<ExitStatus> {
    let DeployCommand::Record {
        app,
        env,
        digest,
        who,
    } = cmd;
    let backend = Backend::open()?;
    let d: vigil_store::platform::Deployment = match &backend {
        Backend::Local { store, .. } => {
            let who = who.name()?;
            store.block_on(vigil_service::deploy_record(
                store.db(),
                &app,
                &env,
                &digest,
                &who,
                SystemTime::now(),
            ))?
        }
        Backend::Remote { client, .. } => {
            remote::warn_who_ignored(&who);
            client
                .post::<_, remote::Deployment>(
                    "/api/v1/deployments",
                    &serde_json::json!({"application": app, "environment": env, "digest": digest}),
                )?
                .try_into()?
        }
    };
    say(&format!(
        "recorded deployment {}: {} runs {} in {} (cluster {})",
        d.id, d.application, d.digest, d.environment, d.cluster
    ))?;
    Ok(ExitStatus::Clean)
}

pub fn deployed(args: DeployedArgs) -> anyhow::Result<ExitStatus> {
    let backend = Backend::open()?;
    let severity = args
        .severity
        .as_deref()
        .map(|s| {
            s.parse::<Severity>().map_err(|_| {
                anyhow::anyhow!(
                    "invalid --severity {s:?}: expected one of critical, high, medium, low, unknown"
                )
            })
        })
        .transpose()?;
    let rows: Vec<DeployedRow> = match &backend {
        Backend::Local { store, .. } => store.block_on(vigil_service::deployed(
            store.db(),
            &DeployedFilter {
                application: args.app,
                environment: args.env,
                cluster: args.cluster,
                severity,
                cve: args.cve,
            },
            args.sort,
            Page {
                offset: args.offset,
                limit: args.limit,
            },
            SystemTime::now(),
        ))?,
        Backend::Remote { client, .. } => {
            let sort = DeployedSort::ALL
                .iter()
                .find(|(_, k)| *k == args.sort)
                .map(|(n, _)| (*n).to_owned());
            client.get(
                "/api/v1/deployed",
                &[
                    ("application", args.app),
                    ("environment", args.env),
                    ("cluster", args.cluster),
                    ("severity", severity.map(|s| s.to_string())),
                    ("cve", args.cve),
                    ("sort", sort),
                    ("offset", Some(args.offset.to_string())),
                    ("limit", Some(args.limit.to_string())),
                ],
            )?
        }
    };
    print_deployed(&rows, args.format)?;
    Ok(ExitStatus::Clean)
}

fn print_deployed(rows: &[DeployedRow], format: Format) -> anyhow::Result<()> {
    match format {
        Format::Json => print_json(&rows)?,
        Format::Table => print_table(
            &[
                "APPLICATION",
                "ENVIRONMENT",
                "CLUSTER",
                "DIGEST",
                "SCANNED",
                "CRIT",
                "HIGH",
                "MED",
                "LOW",
                "UNK",
                "FIXABLE",
                "BLOCKED",
            ],
            &rows
                .iter()
                .map(|r| {
                    let short = r.digest.get(..19).unwrap_or(&r.digest).to_owned();
                    vec![
                        r.application.clone(),
                        r.environment.clone(),
                        r.cluster.clone(),
                        short,
                        match r.scan {
                            ScanStatus::Missing => "never".to_owned(),
                            ScanStatus::Incomplete => {
                                format!("{} (incomplete)", r.scanned_at.as_deref().unwrap_or("-"))
                            }
                            ScanStatus::Completed => {
                                r.scanned_at.clone().unwrap_or_else(|| "-".into())
                            }
                        },
                        r.summary.critical.to_string(),
                        r.summary.high.to_string(),
                        r.summary.medium.to_string(),
                        r.summary.low.to_string(),
                        r.summary.unknown.to_string(),
                        r.summary.fixable.to_string(),
                        r.blocked.to_string(),
                    ]
                })
                .collect::<Vec<_>>(),
        )?,
    }
    Ok(())
}
