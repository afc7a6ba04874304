//! SPDX JSON: packages in (2.2, 2.3), SPDX 2.3 out.
//!
//! Traps: SPDX has no field for a distribution, a layer or a source package version, so
//! tools agree on conventions: the image and the distribution are packages whose
//! `primaryPackagePurpose` is `CONTAINER` and `OPERATING_SYSTEM` (the spelling of the 2.3
//! JSON schema; the spec's prose and Trivy write `OPERATING-SYSTEM`, read too), the source
//! package is prose in `sourceInfo` (`built package from: NAME VERSION`), and other facts
//! are annotations (Trivy: `Key: value`; vigil: `vigil:key=value`). The document
//! `DESCRIBES` its subject, which is the image, not one of its packages. The external
//! reference category is `PACKAGE-MANAGER` in 2.3 and `PACKAGE_MANAGER` in 2.2; only the
//! `purl` reference type matters.

use std::collections::HashSet;
use std::io::Write;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use vigil_scan::Inventory;

use crate::Error;
use crate::read::{Item, Parsed, Props, RawDoc};
use crate::write::{
    TOOL, TOOL_VERSION, content_digest, image_props, package_key, package_props, timestamp,
    unique_ids,
};

#[derive(Deserialize, Default)]
pub(crate) struct RawPackage {
    #[serde(rename = "SPDXID")]
    spdx_id: Option<String>,
    name: Option<String>,
    #[serde(rename = "versionInfo")]
    version_info: Option<String>,
    description: Option<String>,
    #[serde(rename = "sourceInfo")]
    source_info: Option<String>,
    #[serde(rename = "primaryPackagePurpose")]
    purpose: Option<String>,
    #[serde(rename = "externalRefs")]
    external_refs: Option<Vec<RawExternalRef>>,
    annotations: Option<Vec<RawAnnotation>>,
}

#[derive(Deserialize, Default)]
struct RawExternalRef {
    #[serde(rename = "referenceType")]
    ty: Option<String>,
    #[serde(rename = "referenceLocator")]
    locator: Option<String>,
}

#[derive(Deserialize, Default)]
struct RawAnnotation {
    comment: Option<String>,
}

#[derive(Deserialize, Default)]
pub(crate) struct RawRelationship {
    #[serde(rename = "spdxElementId")]
    element: Option<String>,
    #[serde(rename = "relatedSpdxElement")]
    related: Option<String>,
    #[serde(rename = "relationshipType")]
    ty: Option<String>,
}

pub(crate) fn parse(raw: RawDoc) -> Parsed {
    let mut out = Parsed {
        doc_name: raw.name.clone(),
        ..Parsed::default()
    };
    // What the document describes: its subject, when that is not a package with a purl.
    let mut described: HashSet<String> = raw
        .document_describes
        .unwrap_or_default()
        .into_iter()
        .collect();
    for r in raw.relationships.iter().flatten() {
        match (r.ty.as_deref(), r.element.as_deref(), r.related.as_deref()) {
            (Some("DESCRIBES"), Some("SPDXRef-DOCUMENT"), Some(id)) => {
                described.insert(id.to_owned());
            }
            (Some("DESCRIBED_BY"), Some(id), Some("SPDXRef-DOCUMENT")) => {
                described.insert(id.to_owned());
            }
            _ => {}
        }
    }
    let mut subject = None;
    for p in raw.packages.unwrap_or_default() {
        let it = item(&p);
        let is_described = p.spdx_id.as_ref().is_some_and(|id| described.contains(id));
        match p.purpose.as_deref() {
            Some("CONTAINER") if out.image.is_none() => out.image = Some(it),
            Some("OPERATING_SYSTEM" | "OPERATING-SYSTEM")
                if out.os.is_none() && it.purl.is_none() =>
            {
                out.os = Some(it)
            }
            _ if is_described && it.purl.is_none() && subject.is_none() => subject = Some(it),
            _ => out.packages.push(it),
        }
    }
    if out.image.is_none() {
        out.image = subject;
    } else if let Some(s) = subject {
        out.packages.push(s);
    }
    out
}

fn item(p: &RawPackage) -> Item {
    let mut props = Props::default();
    for c in p
        .annotations
        .iter()
        .flatten()
        .filter_map(|a| a.comment.as_deref())
    {
        if let Some(rest) = c.strip_prefix("vigil:") {
            if let Some((k, v)) = rest.split_once('=') {
                props.push(&format!("vigil:{k}"), v);
            }
        } else if let Some((k, v)) = c.split_once(": ") {
            // Trivy's annotations are its CycloneDX properties, `Key: value`.
            if !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric()) {
                props.push(&format!("trivy:{k}"), v);
            }
        }
    }
    let purl = p
        .external_refs
        .iter()
        .flatten()
        .find(|r| r.ty.as_deref() == Some("purl"))
        .and_then(|r| r.locator.clone())
        .filter(|l| !l.is_empty());
    let label = match (&p.name, &p.spdx_id) {
        (Some(n), Some(id)) => format!("{n:?} ({id})"),
        (Some(n), None) => format!("{n:?}"),
        (None, Some(id)) => id.clone(),
        (None, None) => "without name or SPDXID".to_owned(),
    };
    Item {
        label,
        name: p.name.clone(),
        version: p.version_info.clone(),
        description: p.description.clone(),
        purl,
        props,
        source_info: p.source_info.clone(),
    }
}

// --- writing -------------------------------------------------------------------------

#[derive(Serialize)]
struct Document<'a> {
    #[serde(rename = "spdxVersion")]
    spdx_version: &'static str,
    #[serde(rename = "dataLicense")]
    data_license: &'static str,
    #[serde(rename = "SPDXID")]
    spdx_id: &'static str,
    name: &'a str,
    #[serde(rename = "documentNamespace")]
    namespace: String,
    #[serde(rename = "creationInfo")]
    creation_info: CreationInfo,
    packages: Vec<Package<'a>>,
    relationships: Vec<Relationship>,
}

#[derive(Serialize)]
struct CreationInfo {
    created: String,
    creators: Vec<String>,
}

#[derive(Serialize)]
struct Package<'a> {
    #[serde(rename = "SPDXID")]
    spdx_id: String,
    name: &'a str,
    #[serde(rename = "versionInfo", skip_serializing_if = "Option::is_none")]
    version_info: Option<&'a str>,
    #[serde(rename = "downloadLocation")]
    download_location: &'static str,
    #[serde(rename = "filesAnalyzed")]
    files_analyzed: bool,
    #[serde(rename = "sourceInfo", skip_serializing_if = "Option::is_none")]
    source_info: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(rename = "externalRefs", skip_serializing_if = "Vec::is_empty")]
    external_refs: Vec<ExternalRef<'a>>,
    #[serde(rename = "primaryPackagePurpose")]
    purpose: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    annotations: Vec<Annotation>,
}

#[derive(Serialize)]
struct ExternalRef<'a> {
    #[serde(rename = "referenceCategory")]
    category: &'static str,
    #[serde(rename = "referenceType")]
    ty: &'static str,
    #[serde(rename = "referenceLocator")]
    locator: &'a str,
}

#[derive(Serialize)]
struct Annotation {
    annotator: String,
    #[serde(rename = "annotationDate")]
    date: String,
    #[serde(rename = "annotationType")]
    ty: &'static str,
    comment: String,
}

#[derive(Serialize)]
struct Relationship {
    #[serde(rename = "spdxElementId")]
    element: String,
    #[serde(rename = "relatedSpdxElement")]
    related: String,
    #[serde(rename = "relationshipType")]
    ty: &'static str,
}

const IMAGE_ID: &str = "SPDXRef-Image";
const OS_ID: &str = "SPDXRef-OperatingSystem";

pub(crate) fn write(inv: &Inventory, t: SystemTime, w: impl Write) -> Result<(), Error> {
    let created = timestamp(t);
    let tool = format!("Tool: {TOOL}-{TOOL_VERSION}");
    let annotations = |props: Vec<(&'static str, String)>| -> Vec<Annotation> {
        props
            .into_iter()
            .map(|(k, v)| Annotation {
                annotator: tool.clone(),
                date: created.clone(),
                ty: "OTHER",
                comment: format!("{k}={v}"),
            })
            .collect()
    };
    let ids = unique_ids(&inv.packages, |p| {
        format!("SPDXRef-Package-{}", package_key(p))
    });

    let mut packages = Vec::with_capacity(inv.packages.len() + 2);
    let mut relationships = vec![Relationship {
        element: "SPDXRef-DOCUMENT".into(),
        related: IMAGE_ID.into(),
        ty: "DESCRIBES",
    }];
    packages.push(Package {
        spdx_id: IMAGE_ID.into(),
        name: &inv.image.reference,
        version_info: inv.image.manifest_digest.as_deref(),
        download_location: "NOASSERTION",
        files_analyzed: false,
        source_info: None,
        description: None,
        external_refs: Vec::new(),
        purpose: "CONTAINER",
        annotations: annotations(image_props(inv)),
    });
    if let Some(d) = &inv.distro {
        let mut props = Vec::new();
        if let Some(c) = &d.codename {
            props.push(("vigil:codename", c.clone()));
        }
        packages.push(Package {
            spdx_id: OS_ID.into(),
            name: &d.id,
            version_info: d.version_id.as_deref(),
            download_location: "NOASSERTION",
            files_analyzed: false,
            source_info: None,
            description: d.pretty_name.as_deref(),
            external_refs: Vec::new(),
            purpose: "OPERATING_SYSTEM",
            annotations: annotations(props),
        });
        relationships.push(Relationship {
            element: IMAGE_ID.into(),
            related: OS_ID.into(),
            ty: "CONTAINS",
        });
    }
    for (p, id) in inv.packages.iter().zip(ids) {
        let source_info = p.source_name.as_ref().map(|n| match &p.source_version {
            Some(v) => format!("built package from: {n} {v}"),
            None => format!("built package from: {n}"),
        });
        relationships.push(Relationship {
            element: IMAGE_ID.into(),
            related: id.clone(),
            ty: "CONTAINS",
        });
        packages.push(Package {
            spdx_id: id,
            name: &p.name,
            version_info: Some(&p.version),
            download_location: "NOASSERTION",
            files_analyzed: false,
            source_info,
            description: None,
            external_refs: vec![ExternalRef {
                category: "PACKAGE-MANAGER",
                ty: "purl",
                locator: &p.purl,
            }],
            purpose: "LIBRARY",
            annotations: annotations(package_props(p)),
        });
    }
    let doc = Document {
        spdx_version: "SPDX-2.3",
        data_license: "CC0-1.0",
        spdx_id: "SPDXRef-DOCUMENT",
        name: &inv.image.reference,
        namespace: format!(
            "https://vigil.invalid/spdx/{}",
            hex::encode(content_digest(inv))
        ),
        creation_info: CreationInfo {
            created: created.clone(),
            creators: vec![tool.clone()],
        },
        packages,
        relationships,
    };
    let mut w = std::io::BufWriter::new(w);
    serde_json::to_writer_pretty(&mut w, &doc).map_err(|e| Error::Write(e.into()))?;
    w.write_all(b"\n").map_err(Error::Write)?;
    w.flush().map_err(Error::Write)
}
