//! `vigil config show` (SPEC 9.7).

use clap::Subcommand;

use crate::exit::ExitStatus;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration (secrets masked)
    Show,
}

pub fn run(_cmd: ConfigCommand) -> anyhow::Result<ExitStatus> {
    anyhow::bail!("not implemented yet")
}
