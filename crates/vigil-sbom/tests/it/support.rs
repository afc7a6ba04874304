//! Where the real inputs are, and the inventories of the test images (computed once).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use vigil_scan::Inventory;

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Skips (returns `None`) when a prerequisite is missing, except under `CI=true` where a
/// missing prerequisite fails the test.
pub fn require(ok: bool, what: &str) -> Option<()> {
    if ok {
        return Some(());
    }
    assert!(!in_ci(), "CI=true but {what} is missing");
    #[allow(clippy::print_stderr)] // tests report skips on stderr
    {
        eprintln!("skipped: {what} is missing");
    }
    None
}

fn dir_from(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(default))
}

/// The images of `build-test-images.sh` (`VIGIL_TEST_IMAGES`).
pub fn images() -> Option<PathBuf> {
    let dir = dir_from("VIGIL_TEST_IMAGES", "target/test-images");
    require(
        dir.join("build-info.txt").exists(),
        "the test images (VIGIL_TEST_IMAGES)",
    )?;
    Some(dir)
}

/// Trivy's SBOMs of them, from `scripts/make-peer-sboms.sh` (`VIGIL_TEST_PEER_SBOMS`).
pub fn peer_sboms() -> Option<PathBuf> {
    let dir = dir_from("VIGIL_TEST_PEER_SBOMS", "target/peer-sboms");
    require(
        dir.join("trivy-version.txt").exists(),
        "Trivy's SBOMs (scripts/make-peer-sboms.sh, VIGIL_TEST_PEER_SBOMS)",
    )?;
    Some(dir)
}

/// The official schemas, from `scripts/fetch-schemas.sh` (`VIGIL_TEST_SCHEMAS`).
pub fn schemas() -> Option<PathBuf> {
    let dir = dir_from("VIGIL_TEST_SCHEMAS", "target/schemas");
    require(
        dir.join("bom-1.6.schema.json").exists() && dir.join("spdx-2.3.schema.json").exists(),
        "the CycloneDX 1.6 and SPDX 2.3 schemas (scripts/fetch-schemas.sh)",
    )?;
    require(
        Path::new("/usr/bin/python3").exists(),
        "/usr/bin/python3 with python3-jsonschema",
    )?;
    Some(dir)
}

/// The test images vigil reads: both tags of the OCI layout, and the root file system.
pub const IMAGES: [&str; 3] = ["base", "app", "rootfs"];

pub fn reference(images: &Path, which: &str) -> String {
    match which {
        "rootfs" => format!("dir:{}", images.join("rootfs").display()),
        tag => format!("oci:{}:{tag}", images.join("oci").display()),
    }
}

/// vigil's own inventory of a test image, computed once per test run.
pub fn inventory(which: &str) -> Option<&'static Inventory> {
    static CELLS: [OnceLock<Inventory>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let images = images()?;
    let i = IMAGES
        .iter()
        .position(|w| *w == which)
        .expect("a test image");
    Some(CELLS[i].get_or_init(|| {
        let inv = vigil_scan::inventory(
            &reference(&images, which),
            &vigil_scan::Options::default(),
            None,
        )
        .unwrap_or_else(|e| panic!("inventory of {which}: {e}"));
        assert!(
            inv.packages.len() > 50,
            "{which}: {} packages",
            inv.packages.len()
        );
        assert!(inv.errors.is_empty(), "{which}: {:?}", inv.errors);
        inv
    }))
}

/// A fixed creation time, 2024-01-02T03:04:05Z.
pub fn when() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_704_164_645)
}

pub fn cyclonedx(inv: &Inventory) -> Vec<u8> {
    let mut out = Vec::new();
    vigil_sbom::write_cyclonedx(inv, when(), &mut out).unwrap();
    out
}

pub fn spdx(inv: &Inventory) -> Vec<u8> {
    let mut out = Vec::new();
    vigil_sbom::write_spdx(inv, when(), &mut out).unwrap();
    out
}
