//! `vigil inventory IMAGE` (issue 3): the packages installed in an image.

use std::io::Write;

use anyhow::Context;
use clap::{Args, ValueEnum};

use crate::config::Config;
use crate::exit::ExitStatus;
use crate::progress::LayerBar;

#[derive(Debug, Args)]
pub struct InventoryArgs {
    /// Image reference: oci:DIR[:TAG|@DIGEST], oci-archive:FILE[:TAG], docker-archive:FILE,
    /// dir:ROOTFS, docker://HOST/REPO:TAG, HOST/REPO[:TAG|@DIGEST], sbom:FILE (CycloneDX or
    /// SPDX JSON), or a path (sniffed)
    pub image: String,
    #[command(flatten)]
    pub image_opts: ImageArgs,
    /// Output format
    #[arg(long, short, value_enum, default_value_t = InventoryFormat::Table)]
    pub format: InventoryFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum InventoryFormat {
    Table,
    Json,
}

/// How to reach an image: shared by every command that reads one.
#[derive(Debug, Args)]
pub struct ImageArgs {
    /// Platform to pick from a multi-platform image, OS/ARCH[/VARIANT]
    #[arg(long, default_value = "linux/amd64")]
    pub platform: String,
    /// Talk plain HTTP to the registry (and accept invalid TLS certificates)
    #[arg(long)]
    pub insecure: bool,
    /// Registry user name (else from the docker config file)
    #[arg(long, env = "VIGIL_REGISTRY_USERNAME", requires = "password")]
    pub username: Option<String>,
    /// Registry password (else from the docker config file)
    #[arg(
        long,
        env = "VIGIL_REGISTRY_PASSWORD",
        hide_env_values = true,
        requires = "username"
    )]
    pub password: Option<String>,
    /// Do not read or write the layer cache
    #[arg(long)]
    pub no_cache: bool,
}

impl ImageArgs {
    pub fn scan_options(&self, config: &Config) -> anyhow::Result<vigil_scan::Options> {
        let platform = self
            .platform
            .parse()
            .with_context(|| format!("invalid --platform {:?}", self.platform))?;
        let image = vigil_image::Options {
            platform: Some(platform),
            insecure: self.insecure,
            username: self.username.clone(),
            password: self.password.clone(),
            ..vigil_image::Options::default()
        };
        let cache_dir = (!self.no_cache).then(|| config.cache_dir.clone());
        Ok(vigil_scan::Options { image, cache_dir })
    }
}

/// The inventory of `image`: an image in any form of SPEC 2.1, or `sbom:FILE`, an SBOM
/// (CycloneDX or SPDX JSON) whose packages stand for the image's.
pub fn read_inventory(
    image: &str,
    image_opts: &ImageArgs,
    config: &Config,
) -> anyhow::Result<vigil_scan::Inventory> {
    if let Some(path) = image.strip_prefix("sbom:") {
        return Ok(vigil_service::scan::sbom_inventory(image, path)?);
    }
    let opts = image_opts.scan_options(config)?;
    let bar = LayerBar::new();
    Ok(vigil_scan::inventory(image, &opts, Some(&bar))?)
}

pub fn run(args: InventoryArgs) -> anyhow::Result<ExitStatus> {
    let config = Config::load()?;
    let inv = read_inventory(&args.image, &args.image_opts, &config)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match args.format {
        InventoryFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &inv)?;
            writeln!(out)?;
        }
        InventoryFormat::Table => write_table(&mut out, &inv)?,
    }
    out.flush()?;
    if !inv.errors.is_empty() {
        // Incomplete is not clean (SPEC 5.7): the errors are in the output, and the exit
        // code says the run did not fully succeed.
        return Ok(ExitStatus::Error);
    }
    Ok(ExitStatus::Clean)
}

fn write_table(out: &mut impl Write, inv: &vigil_scan::Inventory) -> std::io::Result<()> {
    let distro = crate::output::distro_label(inv.distro.as_ref());
    let digest = inv.image.manifest_digest.as_deref().unwrap_or("-");
    writeln!(out, "{}  {}", inv.image.reference, digest)?;
    writeln!(
        out,
        "{distro}, {} layer(s), {} package(s)",
        inv.image.layers.len(),
        inv.packages.len()
    )?;
    writeln!(out)?;
    let w_name = inv
        .packages
        .iter()
        .map(|p| p.name.len())
        .max()
        .unwrap_or(4)
        .clamp(4, 32);
    let w_ver = inv
        .packages
        .iter()
        .map(|p| p.version.len())
        .max()
        .unwrap_or(7)
        .clamp(7, 28);
    writeln!(
        out,
        "{:<4} {:<w_name$} {:<w_ver$} SOURCE",
        "TYPE", "NAME", "VERSION"
    )?;
    for p in &inv.packages {
        let source = match (&p.source_name, &p.source_version) {
            (Some(n), Some(v)) if *n != p.name || *v != p.version => format!("{n} {v}"),
            (Some(n), _) if *n != p.name => n.clone(),
            _ => String::new(),
        };
        let line = format!(
            "{:<4} {:<w_name$} {:<w_ver$} {}",
            p.ecosystem, p.name, p.version, source
        );
        writeln!(out, "{}", line.trim_end())?;
    }
    for e in &inv.errors {
        writeln!(out, "error: {}: {}", e.path, e.message)?;
    }
    Ok(())
}
