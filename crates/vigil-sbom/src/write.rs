//! What both writers share: vigil's properties, content-derived identifiers, timestamps.

use std::time::SystemTime;

use sha2::{Digest, Sha256};
use vigil_scan::{Inventory, InventoryPackage};

pub(crate) const TOOL: &str = "vigil";
pub(crate) const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

pub(crate) fn timestamp(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// A digest of everything the document says, so that identifiers are stable for the same
/// inventory and differ between inventories.
pub(crate) fn content_digest(inv: &Inventory) -> [u8; 32] {
    let mut h = Sha256::new();
    let mut field = |s: &str| {
        h.update((s.len() as u64).to_le_bytes());
        h.update(s.as_bytes());
    };
    field(&inv.image.reference);
    field(inv.image.manifest_digest.as_deref().unwrap_or(""));
    for l in &inv.image.layers {
        field(&l.digest);
    }
    if let Some(d) = &inv.distro {
        field(&d.id);
        field(d.version_id.as_deref().unwrap_or(""));
    }
    for p in &inv.packages {
        field(&p.purl);
        field(&p.path);
        field(p.layer.as_deref().unwrap_or(""));
    }
    h.finalize().into()
}

/// A UUID-shaped string (version 5 layout, name-based) from a digest: CycloneDX's schema
/// wants `urn:uuid:` with a version digit of 1 to 5.
pub(crate) fn uuid(d: &[u8; 32]) -> String {
    let mut b: [u8; 16] = d[..16].try_into().expect("16 bytes");
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// A short stable hash of one package, for identifiers.
pub(crate) fn package_key(p: &InventoryPackage) -> String {
    let mut h = Sha256::new();
    for s in [
        p.purl.as_str(),
        p.path.as_str(),
        p.layer.as_deref().unwrap_or(""),
    ] {
        h.update((s.len() as u64).to_le_bytes());
        h.update(s.as_bytes());
    }
    hex::encode(&h.finalize()[..8])
}

/// Unique identifiers for the packages, in order: `base(p)`, and `base(p)-2`, `-3`... for
/// repeats.
pub(crate) fn unique_ids(
    packages: &[InventoryPackage],
    base: impl Fn(&InventoryPackage) -> String,
) -> Vec<String> {
    let mut seen = std::collections::HashMap::<String, usize>::new();
    packages
        .iter()
        .map(|p| {
            let b = base(p);
            let n = seen.entry(b.clone()).or_insert(0);
            *n += 1;
            if *n == 1 { b } else { format!("{b}-{n}") }
        })
        .collect()
}

/// vigil's properties of a package (crate docs), in a fixed order.
pub(crate) fn package_props(p: &InventoryPackage) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(l) = &p.layer {
        out.push(("vigil:layer", l.clone()));
    }
    out.push(("vigil:path", p.path.clone()));
    if let Some(s) = &p.source_name {
        out.push(("vigil:source_name", s.clone()));
    }
    if let Some(s) = &p.source_version {
        out.push(("vigil:source_version", s.clone()));
    }
    out
}

/// vigil's properties of the image (crate docs), in a fixed order.
pub(crate) fn image_props(inv: &Inventory) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(d) = &inv.image.manifest_digest {
        out.push(("vigil:manifest_digest", d.clone()));
    }
    for l in &inv.image.layers {
        out.push(("vigil:image_layer", format!("{} {}", l.digest, l.size)));
    }
    for e in &inv.errors {
        let v = serde_json::json!({ "path": e.path, "layer": e.layer, "message": e.message });
        out.push(("vigil:detector_error", v.to_string()));
    }
    out
}

/// The purl namespace of a package name and the rest, as CycloneDX `group` and `name`.
pub(crate) fn split_group<'a>(ecosystem: &str, name: &'a str) -> (Option<&'a str>, &'a str) {
    let split = match ecosystem {
        "maven" => name.split_once(':'),
        "npm" | "composer" | "golang" => name.rsplit_once('/'),
        _ => None,
    };
    match split {
        Some((g, n)) if !g.is_empty() && !n.is_empty() => (Some(g), n),
        _ => (None, name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_has_the_version_and_variant_bits() {
        let u = uuid(&[0xff; 32]);
        assert_eq!(u, "ffffffff-ffff-5fff-bfff-ffffffffffff");
        let u = uuid(&[0; 32]);
        assert_eq!(u, "00000000-0000-5000-8000-000000000000");
    }

    #[test]
    fn groups() {
        assert_eq!(split_group("npm", "@babel/core"), (Some("@babel"), "core"));
        assert_eq!(split_group("maven", "org.x:y"), (Some("org.x"), "y"));
        assert_eq!(
            split_group("golang", "github.com/pkg/errors"),
            (Some("github.com/pkg"), "errors")
        );
        assert_eq!(split_group("npm", "lodash"), (None, "lodash"));
        assert_eq!(split_group("pypi", "a/b"), (None, "a/b"));
    }
}
