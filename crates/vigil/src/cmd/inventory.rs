//! `vigil inventory IMAGE` (issue 3).

use clap::Args;

use crate::exit::ExitStatus;

#[derive(Debug, Args)]
pub struct InventoryArgs {
    /// Image reference: oci:DIR[:TAG|@DIGEST], oci-archive:FILE[:TAG], docker-archive:FILE,
    /// dir:ROOTFS, docker://HOST/REPO:TAG, HOST/REPO[:TAG|@DIGEST], or a path (sniffed)
    pub image: String,
}

pub fn run(_args: InventoryArgs) -> anyhow::Result<ExitStatus> {
    anyhow::bail!("not implemented yet")
}
