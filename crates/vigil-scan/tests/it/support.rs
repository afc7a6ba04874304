//! Where the test images are, and running an inventory of one.

use std::path::PathBuf;
use std::process::Command;

use vigil_scan::{Inventory, InventoryPackage, Options, inventory};

/// The images of `scripts/make-lang-images.sh`: `VIGIL_LANG_IMAGES`, else
/// `<workspace>/target/lang-images`. `None` (with a message) when they are not built;
/// under `CI=true` their absence fails the test instead.
pub fn lang_images() -> Option<PathBuf> {
    let dir = std::env::var_os("VIGIL_LANG_IMAGES").map_or_else(
        || {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../target/lang-images"
            ))
        },
        PathBuf::from,
    );
    if dir.join("oci/index.json").exists() {
        return Some(dir);
    }
    let message = format!(
        "no language test images in {}: run scripts/make-lang-images.sh DIR and set VIGIL_LANG_IMAGES=DIR",
        dir.display()
    );
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{message}");
    eprintln!("skipped: {message}");
    None
}

/// Whether `program` can be run; under `CI=true` a missing oracle fails the test.
pub fn have(program: &str) -> bool {
    let ok = Command::new(program).arg("--version").output().is_ok()
        || Command::new(program).arg("version").output().is_ok();
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{program} is not installed"
        );
        eprintln!("skipped: {program} is not installed");
    }
    ok
}

/// The inventory of `reference`, without a cache unless `cache` is given.
pub fn scan(reference: &str, cache: Option<PathBuf>) -> Inventory {
    let opts = Options {
        cache_dir: cache,
        ..Options::default()
    };
    inventory(reference, &opts, None).unwrap_or_else(|e| panic!("{reference}: {e}"))
}

/// The packages of one ecosystem as (path, name, version).
pub fn triples(inv: &Inventory, ecosystem: &str) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = inv
        .packages
        .iter()
        .filter(|p| p.ecosystem == ecosystem)
        .map(|p: &InventoryPackage| (p.path.clone(), p.name.clone(), p.version.clone()))
        .collect();
    v.sort();
    v
}

/// The images of `build-test-images.sh`: `VIGIL_TEST_IMAGES`, else
/// `<workspace>/target/test-images`; skipped (failed under `CI=true`) when absent.
pub fn test_images() -> Option<PathBuf> {
    let dir = std::env::var_os("VIGIL_TEST_IMAGES").map_or_else(
        || {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../target/test-images"
            ))
        },
        PathBuf::from,
    );
    if dir.join("oci/index.json").exists() {
        return Some(dir);
    }
    let message = format!(
        "no test images in {}: run scripts/test.sh once",
        dir.display()
    );
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{message}");
    eprintln!("skipped: {message}");
    None
}
