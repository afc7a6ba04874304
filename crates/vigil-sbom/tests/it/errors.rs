//! Bad input gives a clear error naming the SBOM and the problem; unusable components are
//! reported, never dropped.

use vigil_sbom::{Error, Format, read_from, read_limited};

use crate::support::{cyclonedx, inventory, spdx};

fn err(doc: &str) -> String {
    read_from(doc.as_bytes(), "in.json")
        .unwrap_err()
        .to_string()
}

#[test]
fn malformed_and_foreign_documents_are_named() {
    assert_eq!(err(""), "sbom in.json: is empty");
    assert_eq!(
        err("  <bom xmlns=\"http://cyclonedx.org/schema/bom/1.6\"/>"),
        "sbom in.json: is XML; vigil reads CycloneDX and SPDX as JSON only"
    );
    assert_eq!(
        err("SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\n"),
        "sbom in.json: is SPDX tag-value; vigil reads SPDX as JSON only"
    );
    assert_eq!(err("[1, 2]"), "sbom in.json: is not a JSON object");
    assert_eq!(
        err(r#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [}"#),
        "sbom in.json: malformed JSON: expected value at line 1 column 65"
    );
    assert_eq!(
        err(r#"{"bomFormat": "CycloneDX", "components": ["#),
        "sbom in.json: truncated JSON: EOF while parsing a list at line 1 column 42"
    );
    assert_eq!(
        err(r#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": "all"}"#),
        "sbom in.json: unexpected JSON content: invalid type: string \"all\", expected a sequence at line 1 column 68"
    );
    assert_eq!(
        err(r#"{"hello": "world"}"#),
        "sbom in.json is neither CycloneDX JSON (\"bomFormat\": \"CycloneDX\") nor SPDX JSON (\"spdxVersion\": \"SPDX-2.3\")"
    );
    assert_eq!(
        err(r#"{"bomFormat": "CycloneDX", "specVersion": "2.0"}"#),
        "sbom in.json: CycloneDX specVersion version \"2.0\" is not supported (expected 1.2 to 1.7)"
    );
    assert_eq!(
        err(r#"{"spdxVersion": "SPDX-3.0"}"#),
        "sbom in.json: SPDX spdxVersion version \"SPDX-3.0\" is not supported (expected SPDX-2.2 or SPDX-2.3)"
    );
    // A byte order mark is skipped.
    let inv = read_from(
        "\u{feff}{\"spdxVersion\": \"SPDX-2.3\", \"packages\": []}".as_bytes(),
        "bom.json",
    )
    .unwrap();
    assert!(inv.packages.is_empty());
}

#[test]
fn files_name_their_path() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("missing.json");
    let e = vigil_sbom::read(&missing).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!("cannot read sbom {}: ", missing.display())),
        "{e}"
    );
    let e = vigil_sbom::read(tmp.path()).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "sbom {}: is a directory, not an SBOM file",
            tmp.path().display()
        )
    );
}

#[test]
fn the_size_limit_holds_on_a_stream() {
    let Some(inv) = inventory("app") else { return };
    for doc in [cyclonedx(inv), spdx(inv)] {
        let n = doc.len() as u64;
        assert!(read_limited(&doc[..], "big.json", n).is_ok());
        let e = read_limited(&doc[..], "big.json", n - 1).unwrap_err();
        assert!(matches!(e, Error::TooLarge { .. }), "{e}");
        assert_eq!(
            e.to_string(),
            format!("sbom big.json is larger than the limit of {} bytes", n - 1)
        );
        // A limit hit in the middle of the document is "too large" too, not "truncated".
        let e = read_limited(&doc[..], "big.json", n / 2).unwrap_err();
        assert!(matches!(e, Error::TooLarge { .. }), "{e}");
    }
}

/// Components without a purl, with a purl type vigil does not match, with an invalid purl or
/// without a version are each an inventory error naming the component; the rest are read.
#[test]
fn unusable_components_are_reported() {
    let Some(inv) = inventory("app") else { return };
    let mut cdx: serde_json::Value = serde_json::from_slice(&cyclonedx(inv)).unwrap();
    let extra = serde_json::json!([
        {"type": "application", "bom-ref": "r1", "name": "app/package-lock.json"},
        {"type": "library", "bom-ref": "r2", "name": "left-pad", "purl": "pkg:github/left-pad/left-pad@1.3.0"},
        {"type": "library", "bom-ref": "r3", "name": "broken", "purl": "lodash@4"},
        {"type": "library", "bom-ref": "r4", "name": "lodash", "purl": "pkg:npm/lodash"},
        {"type": "library", "name": "nested", "components": [
            {"type": "library", "name": "six", "version": "1.16.0", "purl": "pkg:pypi/six@1.16.0"}
        ]}
    ]);
    cdx["components"]
        .as_array_mut()
        .unwrap()
        .extend(extra.as_array().unwrap().iter().cloned());
    let back = read_from(cdx.to_string().as_bytes(), "extra.cdx.json").unwrap();
    let messages: Vec<&str> = back.errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "sbom component \"app/package-lock.json\" (bom-ref \"r1\"): no purl, not matched",
            "sbom component \"left-pad\" (bom-ref \"r2\"): unsupported purl type \"github\" in \"pkg:github/left-pad/left-pad@1.3.0\", not matched",
            "sbom component \"broken\" (bom-ref \"r3\"): invalid purl \"lodash@4\": missing scheme, not matched",
            "sbom component \"lodash\" (bom-ref \"r4\"): purl \"pkg:npm/lodash\" has no version, not matched",
            "sbom component \"nested\": no purl, not matched",
        ]
    );
    assert!(back.errors.iter().all(|e| e.path == "extra.cdx.json"));
    assert_eq!(
        back.packages.len(),
        inv.packages.len() + 1,
        "the nested six is read"
    );
    assert!(
        back.packages
            .iter()
            .any(|p| p.name == "six" && p.ecosystem == "pypi")
    );

    let mut doc: serde_json::Value = serde_json::from_slice(&spdx(inv)).unwrap();
    doc["packages"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!(
            {"SPDXID": "SPDXRef-x", "name": "thing", "downloadLocation": "NOASSERTION"}
        ));
    let back = read_from(doc.to_string().as_bytes(), "extra.spdx.json").unwrap();
    assert_eq!(back.errors.len(), 1);
    assert_eq!(
        back.errors[0].message,
        "sbom component \"thing\" (SPDXRef-x): no purl, not matched"
    );
}

#[test]
fn format_names() {
    assert_eq!("cyclonedx".parse::<Format>().unwrap(), Format::CycloneDx);
    assert_eq!("spdx".parse::<Format>().unwrap().to_string(), "spdx");
    assert_eq!(
        "xml".parse::<Format>().unwrap_err().to_string(),
        "unknown sbom format \"xml\" (expected cyclonedx or spdx)"
    );
}

/// Nested components are read at any depth the JSON parser allows; deeper nesting is a
/// clear error, not a stack overflow.
#[test]
fn deeply_nested_components() {
    let nest = |depth: usize| {
        let mut c = serde_json::json!({"type": "library", "name": "leaf", "version": "1.0.0", "purl": "pkg:npm/leaf@1.0.0"});
        for i in 0..depth {
            c = serde_json::json!({"type": "library", "name": format!("n{i}"), "version": "1", "purl": format!("pkg:npm/n{i}@1"), "components": [c]});
        }
        serde_json::json!({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [c]})
            .to_string()
    };
    let inv = read_from(nest(60).as_bytes(), "deep.json").unwrap();
    assert_eq!(inv.packages.len(), 61);
    let e = read_from(nest(200).as_bytes(), "deeper.json")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("sbom deeper.json: malformed JSON: recursion limit exceeded"),
        "{e}"
    );
}
