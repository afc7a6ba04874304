//! `vigil sbom IMAGE --format cyclonedx|spdx` (issue 7): the inventory as an SBOM.

use std::io::Write;
use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::Context;
use clap::{Args, ValueEnum};

use crate::cmd::inventory::{ImageArgs, read_inventory};
use crate::config::Config;
use crate::exit::ExitStatus;

#[derive(Debug, Args)]
pub struct SbomArgs {
    /// Image reference, as for `vigil inventory` (an `sbom:FILE` converts between formats)
    pub image: String,
    #[command(flatten)]
    pub image_opts: ImageArgs,
    /// SBOM format: CycloneDX 1.6 JSON or SPDX 2.3 JSON
    #[arg(long, short, value_enum, default_value_t = SbomFormat::Cyclonedx)]
    pub format: SbomFormat,
    /// Write the SBOM to FILE instead of stdout
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SbomFormat {
    Cyclonedx,
    Spdx,
}

pub fn run(args: SbomArgs) -> anyhow::Result<ExitStatus> {
    let config = Config::load()?;
    let inv = read_inventory(&args.image, &args.image_opts, &config)?;
    let format = match args.format {
        SbomFormat::Cyclonedx => vigil_sbom::Format::CycloneDx,
        SbomFormat::Spdx => vigil_sbom::Format::Spdx,
    };
    let now = SystemTime::now();
    match &args.output {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            let mut out = std::io::BufWriter::new(file);
            vigil_sbom::write(format, &inv, now, &mut out)
                .and_then(|()| out.flush().map_err(vigil_sbom::Error::Write))
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        None => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            vigil_sbom::write(format, &inv, now, &mut out)?;
            out.flush()?;
        }
    }
    // As for `vigil inventory`: an SBOM of an incomplete inventory is written (its gaps
    // are in it), but the run did not fully succeed.
    Ok(if inv.errors.is_empty() {
        ExitStatus::Clean
    } else {
        ExitStatus::Error
    })
}
