//! `vigil version cmp` (issue 4, SPEC 4.5).

use clap::Subcommand;

use crate::exit::ExitStatus;

#[derive(Debug, Subcommand)]
pub enum VersionCommand {
    /// Compare two versions: prints `<`, `=` or `>`
    Cmp {
        /// Ecosystem (OSV name such as `Debian:12`, or a purl type such as `deb`)
        #[arg(long, short)]
        ecosystem: String,
        a: Option<String>,
        b: Option<String>,
    },
}

pub fn run(_cmd: VersionCommand) -> anyhow::Result<ExitStatus> {
    anyhow::bail!("not implemented yet")
}
