//! What vigil writes is valid against the official CycloneDX 1.6 and SPDX 2.3 JSON schemas
//! (scripts/fetch-schemas.sh), and a second SPDX implementation (serde-spdx) reads it.

use std::path::Path;
use std::process::Command;

use crate::support::{IMAGES, cyclonedx, inventory, schemas, spdx, workspace};

fn validate(schemas: &Path, schema: &str, doc: &Path) -> Result<(), String> {
    let out = Command::new("/usr/bin/python3")
        .arg(workspace().join("scripts/validate-json-schema.py"))
        .arg(schemas)
        .arg(schema)
        .arg(doc)
        .output()
        .unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

#[test]
fn written_sboms_are_valid_against_the_official_schemas() {
    let Some(dir) = schemas() else { return };
    let tmp = tempfile::tempdir().unwrap();
    for which in IMAGES {
        let Some(inv) = inventory(which) else { return };
        let cdx = tmp.path().join(format!("{which}.cdx.json"));
        std::fs::write(&cdx, cyclonedx(inv)).unwrap();
        validate(&dir, "bom-1.6.schema.json", &cdx)
            .unwrap_or_else(|e| panic!("{which}: CycloneDX 1.6 schema:\n{e}"));
        let sp = tmp.path().join(format!("{which}.spdx.json"));
        std::fs::write(&sp, spdx(inv)).unwrap();
        validate(&dir, "spdx-2.3.schema.json", &sp)
            .unwrap_or_else(|e| panic!("{which}: SPDX 2.3 schema:\n{e}"));
    }
}

/// The validator does reject what the schemas forbid, so the test above can fail.
#[test]
fn the_validator_rejects_broken_documents() {
    let Some(dir) = schemas() else { return };
    let Some(inv) = inventory("base") else { return };
    let tmp = tempfile::tempdir().unwrap();

    let mut cdx: serde_json::Value = serde_json::from_slice(&cyclonedx(inv)).unwrap();
    cdx["components"][1]["type"] = "not-a-type".into();
    let f = tmp.path().join("bad.cdx.json");
    std::fs::write(&f, cdx.to_string()).unwrap();
    let e = validate(&dir, "bom-1.6.schema.json", &f).unwrap_err();
    assert!(e.contains("components/1/type"), "{e}");

    let mut doc: serde_json::Value = serde_json::from_slice(&spdx(inv)).unwrap();
    doc["packages"][2]["externalRefs"][0]["referenceCategory"] = "NOT-A-CATEGORY".into();
    doc["creationInfo"]
        .as_object_mut()
        .unwrap()
        .remove("creators");
    let f = tmp.path().join("bad.spdx.json");
    std::fs::write(&f, doc.to_string()).unwrap();
    let e = validate(&dir, "spdx-2.3.schema.json", &f).unwrap_err();
    assert!(e.contains("creators"), "{e}");
    assert!(e.contains("NOT-A-CATEGORY"), "{e}");
}

#[test]
fn serde_spdx_reads_what_vigil_writes() {
    for which in IMAGES {
        let Some(inv) = inventory(which) else { return };
        let doc: serde_spdx::spdx::v_2_3::Spdx = serde_json::from_slice(&spdx(inv))
            .unwrap_or_else(|e| panic!("{which}: serde-spdx: {e}"));
        let packages = doc.packages.unwrap_or_default();
        assert_eq!(packages.len(), inv.packages.len() + 2);
        let purls = packages
            .iter()
            .flat_map(|p| p.external_refs.iter().flatten())
            .filter(|r| r.reference_type == "purl")
            .count();
        assert_eq!(purls, inv.packages.len());
    }
}

/// The SPDX project's own validator (`pyspdxtools` from PyPI spdx-tools, installed by
/// scripts/make-peer-sboms.sh) accepts what vigil writes: SPDXIDs, references,
/// the namespace URI, creation info. It rejects a broken document, so this can fail.
#[test]
fn spdx_tools_validate_what_vigil_writes() {
    let tool = std::env::var_os("VIGIL_TEST_PYSPDXTOOLS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/peer-tools/spdx-venv/bin/pyspdxtools"));
    if crate::support::require(
        tool.exists(),
        "pyspdxtools (scripts/make-peer-sboms.sh, VIGIL_TEST_PYSPDXTOOLS)",
    )
    .is_none()
    {
        return;
    }
    let run = |doc: &Path| {
        let out = Command::new(&tool).arg("-i").arg(doc).output().unwrap();
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let tmp = tempfile::tempdir().unwrap();
    for which in IMAGES {
        let Some(inv) = inventory(which) else { return };
        let f = tmp.path().join(format!("{which}.spdx.json"));
        std::fs::write(&f, spdx(inv)).unwrap();
        let (ok, out) = run(&f);
        assert!(ok, "{which}: pyspdxtools:\n{out}");
    }
    let Some(inv) = inventory("app") else { return };
    let mut doc: serde_json::Value = serde_json::from_slice(&spdx(inv)).unwrap();
    doc["relationships"][2]["relatedSpdxElement"] = "SPDXRef-Nowhere".into();
    let f = tmp.path().join("bad.spdx.json");
    std::fs::write(&f, doc.to_string()).unwrap();
    let (ok, out) = run(&f);
    assert!(!ok && out.contains("SPDXRef-Nowhere"), "{out}");
}
