//! CycloneDX JSON: components in (1.2 to 1.7), CycloneDX 1.6 out.
//!
//! Traps: components nest (`components[].components[]`, bounded by the JSON parser's depth
//! limit); `metadata.component` is the subject of the BOM (the image), not one of its
//! packages; Trivy writes the distribution as a component of type `operating-system` and
//! puts its own facts in `aquasecurity:trivy:*` properties.

use std::io::Write;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use vigil_scan::Inventory;

use crate::read::{Item, Parsed, Props, RawDoc};
use crate::write::{
    TOOL, TOOL_VERSION, content_digest, image_props, package_props, split_group, timestamp,
    unique_ids, uuid,
};
use crate::{Error, purl};

#[derive(Deserialize, Default)]
pub(crate) struct RawMetadata {
    component: Option<RawComponent>,
}

#[derive(Deserialize, Default)]
pub(crate) struct RawComponent {
    #[serde(rename = "type")]
    ty: Option<String>,
    #[serde(rename = "bom-ref")]
    bom_ref: Option<String>,
    group: Option<String>,
    name: Option<String>,
    version: Option<String>,
    description: Option<String>,
    purl: Option<String>,
    properties: Option<Vec<RawProperty>>,
    components: Option<Vec<RawComponent>>,
}

#[derive(Deserialize, Default)]
struct RawProperty {
    name: Option<String>,
    value: Option<String>,
}

pub(crate) fn parse(raw: RawDoc) -> Parsed {
    let mut out = Parsed::default();
    if let Some(c) = raw.metadata.and_then(|m| m.component) {
        out.image = Some(item(&c));
    }
    let mut stack: Vec<RawComponent> = raw.components.unwrap_or_default();
    stack.reverse();
    while let Some(mut c) = stack.pop() {
        if let Some(children) = c.components.take() {
            stack.extend(children.into_iter().rev());
        }
        let it = item(&c);
        match c.ty.as_deref() {
            Some("operating-system") if out.os.is_none() => out.os = Some(it),
            _ if c.purl.is_none() && c.ty.as_deref() == Some("operating-system") => out
                .skipped
                .push((it.label, "a second operating system, not used".into())),
            _ => out.packages.push(it),
        }
    }
    out
}

fn item(c: &RawComponent) -> Item {
    let mut props = Props::default();
    for p in c.properties.iter().flatten() {
        if let (Some(n), Some(v)) = (&p.name, &p.value) {
            props.push(n, v);
        }
    }
    let ty = c.purl.as_deref().and_then(|p| {
        p.strip_prefix("pkg:")
            .and_then(|r| r.trim_start_matches('/').split('/').next())
    });
    let name = c
        .name
        .as_deref()
        .map(|n| purl::spelled_name(ty, c.group.as_deref(), n));
    let label = match (&name, &c.bom_ref) {
        (Some(n), Some(r)) => format!("{n:?} (bom-ref {r:?})"),
        (Some(n), None) => format!("{n:?}"),
        (None, Some(r)) => format!("bom-ref {r:?}"),
        (None, None) => "without name or bom-ref".to_owned(),
    };
    Item {
        label,
        name,
        version: c.version.clone(),
        description: c.description.clone(),
        purl: c.purl.clone().filter(|p| !p.is_empty()),
        props,
        source_info: None,
    }
}

// --- writing -------------------------------------------------------------------------

#[derive(Serialize)]
struct Bom<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    #[serde(rename = "bomFormat")]
    bom_format: &'static str,
    #[serde(rename = "specVersion")]
    spec_version: &'static str,
    #[serde(rename = "serialNumber")]
    serial_number: String,
    version: u32,
    metadata: Metadata<'a>,
    components: Vec<Component<'a>>,
    dependencies: Vec<Dependency>,
}

#[derive(Serialize)]
struct Metadata<'a> {
    timestamp: String,
    tools: Tools,
    component: Component<'a>,
}

#[derive(Serialize)]
struct Tools {
    components: Vec<Tool>,
}

#[derive(Serialize)]
struct Tool {
    #[serde(rename = "type")]
    ty: &'static str,
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct Component<'a> {
    #[serde(rename = "bom-ref")]
    bom_ref: String,
    #[serde(rename = "type")]
    ty: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<&'a str>,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    purl: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    properties: Vec<Property>,
}

#[derive(Serialize)]
struct Property {
    name: &'static str,
    value: String,
}

#[derive(Serialize)]
struct Dependency {
    #[serde(rename = "ref")]
    reference: &'static str,
    #[serde(rename = "dependsOn")]
    depends_on: Vec<String>,
}

fn properties(list: Vec<(&'static str, String)>) -> Vec<Property> {
    list.into_iter()
        .map(|(name, value)| Property { name, value })
        .collect()
}

const IMAGE_REF: &str = "vigil:image";
const OS_REF: &str = "vigil:operating-system";

pub(crate) fn write(inv: &Inventory, t: SystemTime, w: impl Write) -> Result<(), Error> {
    let digest = content_digest(inv);
    let refs = unique_ids(&inv.packages, |p| p.purl.clone());
    let depends_on: Vec<String> = inv
        .distro
        .iter()
        .map(|_| OS_REF.to_owned())
        .chain(refs.iter().cloned())
        .collect();
    let mut components = Vec::with_capacity(inv.packages.len() + 1);
    if let Some(d) = &inv.distro {
        let mut props = Vec::new();
        if let Some(c) = &d.codename {
            props.push(("vigil:codename", c.clone()));
        }
        components.push(Component {
            bom_ref: OS_REF.to_owned(),
            ty: "operating-system",
            group: None,
            name: &d.id,
            version: d.version_id.as_deref(),
            description: d.pretty_name.as_deref(),
            purl: None,
            properties: properties(props),
        });
    }
    for (p, bom_ref) in inv.packages.iter().zip(&refs) {
        // PyPI keeps the name as spelled; the purl has it normalised.
        let (group, name) = split_group(&p.ecosystem, &p.name);
        components.push(Component {
            bom_ref: bom_ref.clone(),
            ty: "library",
            group,
            name,
            version: Some(&p.version),
            description: None,
            purl: Some(&p.purl),
            properties: properties(package_props(p)),
        });
    }
    let bom = Bom {
        schema: "http://cyclonedx.org/schema/bom-1.6.schema.json",
        bom_format: "CycloneDX",
        spec_version: "1.6",
        serial_number: format!("urn:uuid:{}", uuid(&digest)),
        version: 1,
        metadata: Metadata {
            timestamp: timestamp(t),
            tools: Tools {
                components: vec![Tool {
                    ty: "application",
                    name: TOOL,
                    version: TOOL_VERSION,
                }],
            },
            component: Component {
                bom_ref: IMAGE_REF.to_owned(),
                ty: "container",
                group: None,
                name: &inv.image.reference,
                version: inv.image.manifest_digest.as_deref(),
                description: None,
                purl: None,
                properties: properties(image_props(inv)),
            },
        },
        dependencies: vec![Dependency {
            reference: IMAGE_REF,
            depends_on,
        }],
        components,
    };
    let mut w = std::io::BufWriter::new(w);
    serde_json::to_writer_pretty(&mut w, &bom).map_err(|e| Error::Write(e.into()))?;
    w.write_all(b"\n").map_err(Error::Write)?;
    w.flush().map_err(Error::Write)
}
