//! `vigil config show` (SPEC 9.7).

use std::io::Write;

use clap::Subcommand;

use crate::config::Config;
use crate::exit::ExitStatus;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration as TOML (secrets masked)
    Show,
}

pub fn run(cmd: ConfigCommand) -> anyhow::Result<ExitStatus> {
    match cmd {
        ConfigCommand::Show => {
            let config = Config::load()?;
            let mut out = std::io::stdout().lock();
            out.write_all(config.to_toml().as_bytes())?;
            out.flush()?;
            Ok(ExitStatus::Clean)
        }
    }
}
