//! One module per subcommand: its clap arguments and its `run`.

pub mod inventory;
pub mod version;

use crate::cli::{Cli, Command};
use crate::exit::ExitStatus;

pub fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    match cli.command {
        Command::Inventory(args) => inventory::run(args),
        Command::Version(cmd) => version::run(cmd),
    }
}
