//! clap derive types for the top level. They hold no logic (STYLE.md); each subcommand's
//! own arguments live beside its code in `cmd/<name>.rs`.

use clap::{Args, Parser, Subcommand};

use crate::cmd;

/// Find known vulnerabilities in container images and gate deployments with security policies.
#[derive(Debug, Parser)]
#[command(name = "vigil", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// More log output on stderr (-v info, -vv debug); VIGIL_LOG overrides
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Write logs as JSON lines (same as --log-format json)
    #[arg(long, global = true, env = "VIGIL_LOG_JSON")]
    pub log_json: bool,
    /// Log format on stderr: text or json
    #[arg(
        long,
        global = true,
        env = "VIGIL_LOG_FORMAT",
        value_enum,
        default_value_t
    )]
    pub log_format: LogFormat,
    #[command(flatten)]
    pub config: crate::config::ConfigArgs,
}

#[derive(Debug, Clone, Copy, Default, clap::ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Find the known vulnerabilities of an image
    Scan(cmd::scan::ScanArgs),
    /// List the packages installed in an image (OS packages, language packages)
    Inventory(cmd::inventory::InventoryArgs),
    /// Write the packages of an image as an SBOM (CycloneDX or SPDX JSON)
    Sbom(cmd::sbom::SbomArgs),
    /// Compare versions the way each ecosystem's package manager does
    #[command(subcommand)]
    Version(cmd::version::VersionCommand),
    /// Manage the vulnerability database: import, update, status, show
    #[command(subcommand)]
    Db(cmd::db::DbCommand),
    /// Notifications: deployed images that gained findings the policy blocks (list, deliver)
    #[command(subcommand)]
    Events(cmd::events::EventsCommand),
    /// VEX documents: statements that findings do not apply (import, list, remove)
    #[command(subcommand)]
    Vex(cmd::vex::VexCommand),
    /// Show the effective configuration
    #[command(subcommand)]
    Config(cmd::config::ConfigCommand),
    /// Kubernetes clusters: add, list, rm
    #[command(subcommand)]
    Cluster(cmd::platform::ClusterCommand),
    /// Environments (a namespace of a cluster): add, list, rm
    #[command(subcommand)]
    Env(cmd::platform::EnvCommand),
    /// Applications: add, list, rm
    #[command(subcommand)]
    App(cmd::platform::AppCommand),
    /// CI pipelines: add, list, rm
    #[command(subcommand)]
    Pipeline(cmd::platform::PipelineCommand),
    /// Security policies: severity and CVE rules per scope, their effect and audit log
    #[command(subcommand)]
    Policy(cmd::policy::PolicyCommand),
    /// Build-time scanning for CI pipelines
    #[command(subcommand)]
    Ci(cmd::ci::CiCommand),
    /// Allow (exit 0) or block (exit 3) deploying an image to an environment
    Gate(cmd::gate::GateArgs),
    /// Every finding of an image with its verdict and the rule behind it
    Explain(cmd::gate::ExplainArgs),
    /// Record deployments
    #[command(subcommand)]
    Deploy(cmd::gate::DeployCommand),
    /// Vulnerabilities in deployed applications, per application and environment
    Deployed(cmd::gate::DeployedArgs),
    /// Serve the HTTP API and run scan workers (replicas share one PostgreSQL)
    Serve(cmd::serve::ServeArgs),
    /// API tokens for the server: create, list, revoke
    #[command(subcommand)]
    Token(cmd::serve::TokenCommand),
    /// Integrations and their install: list, show, install, retry, update, logs
    #[command(subcommand)]
    Integrations(cmd::integrations::IntegrationsCommand),
}
