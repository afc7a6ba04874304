//! `vigil db ...` (issue 5, SPEC 4.3).

use clap::Subcommand;

use crate::exit::ExitStatus;

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Show the database's sources, record counts and age
    Status,
}

pub fn run(_cmd: DbCommand) -> anyhow::Result<ExitStatus> {
    anyhow::bail!("not implemented yet")
}
