//! read(write(inventory)) gives the inventory back, on the real test images.

use vigil_scan::{Inventory, InventoryPackage};

use crate::support::{IMAGES, cyclonedx, inventory, spdx, when};

type Key = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    String,
);

fn key(p: &InventoryPackage) -> Key {
    (
        p.ecosystem.clone(),
        p.name.clone(),
        p.version.clone(),
        p.arch.clone(),
        p.source_name.clone(),
        p.source_version.clone(),
        p.purl.clone(),
        p.layer.clone(),
        p.path.clone(),
    )
}

fn assert_same(which: &str, format: &str, original: &Inventory, back: &Inventory) {
    let a: Vec<Key> = original.packages.iter().map(key).collect();
    let b: Vec<Key> = back.packages.iter().map(key).collect();
    assert_eq!(a.len(), b.len(), "{which} via {format}: package count");
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y, "{which} via {format}");
    }
    assert_eq!(original.distro, back.distro, "{which} via {format}: distro");
    assert_eq!(
        original.image.reference, back.image.reference,
        "{which} via {format}"
    );
    assert_eq!(
        original.image.manifest_digest, back.image.manifest_digest,
        "{which} via {format}"
    );
    let layers = |i: &Inventory| -> Vec<(String, u64)> {
        i.image
            .layers
            .iter()
            .map(|l| (l.digest.clone(), l.size))
            .collect()
    };
    assert_eq!(layers(original), layers(back), "{which} via {format}");
    assert!(
        back.errors.is_empty(),
        "{which} via {format}: {:?}",
        back.errors
    );
}

#[test]
fn cyclonedx_and_spdx_round_trip_the_test_images() {
    for which in IMAGES {
        let Some(inv) = inventory(which) else { return };
        let languages = inv.packages.iter().filter(|p| p.ecosystem != "deb").count();
        if which == "app" {
            assert!(languages >= 5, "the app image has PyPI and npm packages");
        }
        let back = vigil_sbom::read_from(&cyclonedx(inv)[..], "app.cdx.json").unwrap();
        assert_same(which, "CycloneDX", inv, &back);
        let back = vigil_sbom::read_from(&spdx(inv)[..], "app.spdx.json").unwrap();
        assert_same(which, "SPDX", inv, &back);
    }
}

#[test]
fn detector_errors_survive_the_round_trip() {
    let Some(inv) = inventory("app") else { return };
    let mut inv = inv.clone();
    inv.errors.push(vigil_scan::DetectorError {
        path: "usr/lib/python3/dist-packages/x.dist-info/METADATA".into(),
        layer: inv.image.layers.last().map(|l| l.digest.clone()),
        message: "line 3: expected \"Name: value\"".into(),
    });
    for doc in [cyclonedx(&inv), spdx(&inv)] {
        let back = vigil_sbom::read_from(&doc[..], "x.json").unwrap();
        assert_eq!(back.errors.len(), 1);
        let (a, b) = (&inv.errors[0], &back.errors[0]);
        assert_eq!(
            (&a.path, &a.layer, &a.message),
            (&b.path, &b.layer, &b.message)
        );
    }
}

/// The same inventory gives the same bytes; only the timestamps follow the clock.
#[test]
fn output_is_deterministic_apart_from_the_timestamp() {
    let Some(inv) = inventory("app") else { return };
    for format in [vigil_sbom::Format::CycloneDx, vigil_sbom::Format::Spdx] {
        let write = |inv, t, w: &mut Vec<u8>| vigil_sbom::write(format, inv, t, w);
        let mut a = Vec::new();
        let mut b = Vec::new();
        let mut c = Vec::new();
        write(inv, when(), &mut a).unwrap();
        write(inv, when(), &mut b).unwrap();
        write(inv, when() + std::time::Duration::from_secs(3600), &mut c).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        let (a, c) = (String::from_utf8(a).unwrap(), String::from_utf8(c).unwrap());
        let a = a.replace("2024-01-02T03:04:05Z", "T");
        let c = c.replace("2024-01-02T04:04:05Z", "T");
        assert_eq!(a, c);
    }
}

/// Identifiers are unique within a document, and the written documents say what the
/// formats expect.
#[test]
fn identifiers_are_unique_and_documents_well_formed() {
    let Some(inv) = inventory("app") else { return };
    let cdx: serde_json::Value = serde_json::from_slice(&cyclonedx(inv)).unwrap();
    assert_eq!(cdx["specVersion"], "1.6");
    assert_eq!(cdx["metadata"]["component"]["type"], "container");
    assert_eq!(cdx["metadata"]["timestamp"], "2024-01-02T03:04:05Z");
    let comps = cdx["components"].as_array().unwrap();
    assert_eq!(comps.len(), inv.packages.len() + 1, "packages and the OS");
    let os = &comps[0];
    assert_eq!(
        (
            os["type"].as_str(),
            os["name"].as_str(),
            os["version"].as_str()
        ),
        (Some("operating-system"), Some("debian"), Some("12"))
    );
    let refs: std::collections::HashSet<&str> = comps
        .iter()
        .map(|c| c["bom-ref"].as_str().unwrap())
        .collect();
    assert_eq!(refs.len(), comps.len());
    let deps = cdx["dependencies"][0]["dependsOn"].as_array().unwrap();
    assert_eq!(deps.len(), comps.len());

    let doc: serde_json::Value = serde_json::from_slice(&spdx(inv)).unwrap();
    assert_eq!(doc["spdxVersion"], "SPDX-2.3");
    let pkgs = doc["packages"].as_array().unwrap();
    assert_eq!(
        pkgs.len(),
        inv.packages.len() + 2,
        "packages, the image and the OS"
    );
    let ids: std::collections::HashSet<&str> =
        pkgs.iter().map(|p| p["SPDXID"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), pkgs.len());
    for id in &ids {
        assert!(
            id.starts_with("SPDXRef-")
                && id[8..]
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'),
            "{id}"
        );
    }
    let rels = doc["relationships"].as_array().unwrap();
    assert_eq!(
        rels.len(),
        pkgs.len(),
        "one DESCRIBES and a CONTAINS per other package"
    );
    for r in rels {
        let related = r["relatedSpdxElement"].as_str().unwrap();
        assert!(ids.contains(related), "{related}");
    }
    let libc = pkgs.iter().find(|p| p["name"] == "libc6").unwrap();
    assert_eq!(
        libc["sourceInfo"],
        format!(
            "built package from: glibc {}",
            libc["versionInfo"].as_str().unwrap()
        )
    );
}
