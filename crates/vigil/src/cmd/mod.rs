//! One module per subcommand: its clap arguments and its `run`.

pub mod ci;
pub mod config;
pub mod db;
pub mod events;
mod feed_digest;
pub mod gate;
pub mod integrations;
pub mod inventory;
pub mod platform;
pub mod policy;
pub mod remote;
pub mod sbom;
pub mod scan;
pub mod serve;
pub mod version;
pub mod vex;

use crate::cli::{Cli, Command};
use crate::exit::ExitStatus;

pub fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    match cli.command {
        Command::Inventory(args) => inventory::run(args),
        Command::Scan(args) => scan::run(args),
        Command::Sbom(args) => sbom::run(args),
        Command::Version(cmd) => version::run(cmd),
        Command::Db(cmd) => db::run(cmd),
        Command::Events(cmd) => events::run(cmd),
        Command::Vex(cmd) => vex::run(cmd),
        Command::Config(cmd) => config::run(cmd),
        Command::Cluster(cmd) => platform::cluster(cmd),
        Command::Env(cmd) => platform::env(cmd),
        Command::App(cmd) => platform::app(cmd),
        Command::Pipeline(cmd) => platform::pipeline(cmd),
        Command::Policy(cmd) => policy::run(cmd),
        Command::Ci(cmd) => ci::run(cmd),
        Command::Gate(args) => gate::gate(args),
        Command::Explain(args) => gate::explain(args),
        Command::Deploy(cmd) => gate::deploy(cmd),
        Command::Deployed(args) => gate::deployed(args),
        Command::Serve(args) => serve::serve(args),
        Command::Token(cmd) => serve::token(cmd),
        Command::Integrations(cmd) => integrations::run(cmd),
    }
}
