//! One module per subcommand: its clap arguments and its `run`.

pub mod config;
pub mod db;
pub mod inventory;
pub mod sbom;
pub mod scan;
pub mod version;

use crate::cli::{Cli, Command};
use crate::exit::ExitStatus;

pub fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    match cli.command {
        Command::Inventory(args) => inventory::run(args),
        Command::Scan(args) => scan::run(args),
        Command::Sbom(args) => sbom::run(args),
        Command::Version(cmd) => version::run(cmd),
        Command::Db(cmd) => db::run(cmd),
        Command::Config(cmd) => config::run(cmd),
    }
}
