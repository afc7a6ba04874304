//! Sniffing, parsing and turning the elements of either format into an [`Inventory`].

use std::io::{BufRead, BufReader, Read};

use serde::Deserialize;
use vigil_detect::{Distro, PkgType};
use vigil_scan::{DetectorError, ImageSummary, Inventory, InventoryPackage, LayerSummary};

use crate::limit::Limited;
use crate::{Error, cyclonedx, purl, spdx};

/// The top level of either format, read in one pass: only the fields vigil uses, the rest
/// is skipped as it streams by. `Option` everywhere: a `null` is the same as absent.
#[derive(Deserialize, Default)]
pub(crate) struct RawDoc {
    #[serde(rename = "bomFormat")]
    pub bom_format: Option<String>,
    #[serde(rename = "specVersion")]
    pub spec_version: Option<String>,
    pub metadata: Option<cyclonedx::RawMetadata>,
    pub components: Option<Vec<cyclonedx::RawComponent>>,
    #[serde(rename = "spdxVersion")]
    pub spdx_version: Option<String>,
    pub name: Option<String>,
    pub packages: Option<Vec<spdx::RawPackage>>,
    pub relationships: Option<Vec<spdx::RawRelationship>>,
    #[serde(rename = "documentDescribes")]
    pub document_describes: Option<Vec<String>>,
}

/// Properties (CycloneDX) or `KEY=VALUE` / `Key: value` annotations (SPDX) of one
/// element, with Trivy's `aquasecurity:trivy:` prefix shortened to `trivy:`.
#[derive(Default, Debug)]
pub(crate) struct Props(pub Vec<(String, String)>);

impl Props {
    pub fn push(&mut self, name: &str, value: &str) {
        let name = name
            .strip_prefix("aquasecurity:trivy:")
            .map_or_else(|| name.to_owned(), |n| format!("trivy:{n}"));
        self.0.push((name, value.to_owned()));
    }
    pub fn get<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        self.all(name).next()
    }
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

/// One element of an SBOM (a CycloneDX component, an SPDX package), format-neutral.
#[derive(Default, Debug)]
pub(crate) struct Item {
    /// How errors name it: `"NAME" (bom-ref REF)` and the like.
    pub label: String,
    /// The name as spelled, with its group joined (see [`purl::spelled_name`]).
    pub name: Option<String>,
    pub version: Option<String>,
    pub description: Option<String>,
    pub purl: Option<String>,
    pub props: Props,
    /// SPDX `sourceInfo`.
    pub source_info: Option<String>,
}

/// What a format parser found.
#[derive(Default)]
pub(crate) struct Parsed {
    pub doc_name: Option<String>,
    pub image: Option<Item>,
    pub os: Option<Item>,
    pub packages: Vec<Item>,
    /// Elements that are neither: reported, never dropped.
    pub skipped: Vec<(String, String)>,
}

pub(crate) fn read(reader: impl Read, name: &str, max_size: u64) -> Result<Inventory, Error> {
    let mut limited = Limited::new(reader, max_size);
    let raw = {
        let mut buf = BufReader::new(&mut limited);
        sniff(&mut buf, name)?;
        serde_json::from_reader::<_, RawDoc>(&mut buf)
    };
    let raw = match raw {
        Ok(raw) => raw,
        Err(_) if limited.exceeded => {
            return Err(Error::TooLarge {
                path: name.to_owned(),
                limit: max_size,
            });
        }
        Err(e) => return Err(json_error(name, &e)),
    };
    let parsed = if raw.bom_format.is_some() {
        if raw.bom_format.as_deref() != Some("CycloneDX") {
            return Err(Error::NotSbom { path: name.into() });
        }
        let v = raw.spec_version.clone().unwrap_or_default();
        if !matches!(v.as_str(), "1.2" | "1.3" | "1.4" | "1.5" | "1.6" | "1.7") {
            return Err(Error::UnsupportedVersion {
                path: name.into(),
                format: "CycloneDX specVersion",
                version: v,
                expected: "1.2 to 1.7",
            });
        }
        cyclonedx::parse(raw)
    } else if let Some(v) = raw.spdx_version.clone() {
        if !matches!(v.as_str(), "SPDX-2.2" | "SPDX-2.3") {
            return Err(Error::UnsupportedVersion {
                path: name.into(),
                format: "SPDX spdxVersion",
                version: v,
                expected: "SPDX-2.2 or SPDX-2.3",
            });
        }
        spdx::parse(raw)
    } else {
        return Err(Error::NotSbom { path: name.into() });
    };
    Ok(assemble(parsed, name))
}

/// Gives formats vigil does not read a clear error before the JSON parser does, and skips
/// a UTF-8 byte order mark.
fn sniff(buf: &mut impl BufRead, name: &str) -> Result<(), Error> {
    let io = |source| Error::Io {
        path: name.to_owned(),
        source,
    };
    let head = buf.fill_buf().map_err(io)?;
    if head.starts_with(b"\xEF\xBB\xBF") {
        buf.consume(3);
    }
    let head = buf.fill_buf().map_err(io)?;
    let start = head.iter().position(|b| !b.is_ascii_whitespace());
    let problem = match start.map(|i| &head[i..]) {
        None if head.is_empty() => "is empty",
        Some(rest) if rest.starts_with(b"<") => {
            "is XML; vigil reads CycloneDX and SPDX as JSON only"
        }
        Some(rest) if rest.starts_with(b"SPDXVersion:") => {
            "is SPDX tag-value; vigil reads SPDX as JSON only"
        }
        Some(rest) if !rest.starts_with(b"{") => "is not a JSON object",
        _ => return Ok(()),
    };
    Err(Error::Invalid {
        path: name.to_owned(),
        problem: problem.to_owned(),
    })
}

fn json_error(name: &str, e: &serde_json::Error) -> Error {
    use serde_json::error::Category;
    let problem = match e.classify() {
        Category::Io => {
            return Error::Io {
                path: name.to_owned(),
                source: std::io::Error::other(e.to_string()),
            };
        }
        Category::Syntax => format!("malformed JSON: {e}"),
        Category::Eof => format!("truncated JSON: {e}"),
        Category::Data => format!("unexpected JSON content: {e}"),
    };
    Error::Invalid {
        path: name.to_owned(),
        problem,
    }
}

fn assemble(parsed: Parsed, sbom: &str) -> Inventory {
    let mut errors: Vec<DetectorError> = parsed
        .skipped
        .iter()
        .map(|(label, why)| skipped(sbom, label, why))
        .collect();

    // The image.
    let image_props = parsed.image.as_ref().map(|i| &i.props);
    let reference = parsed
        .image
        .as_ref()
        .and_then(|i| i.name.clone())
        .or_else(|| parsed.doc_name.clone())
        .unwrap_or_else(|| sbom.to_owned());
    let manifest_digest = image_props
        .and_then(|p| p.get("vigil:manifest_digest"))
        .map(str::to_owned)
        .or_else(|| {
            image_props
                .and_then(|p| p.get("trivy:RepoDigest"))
                .and_then(|d| d.rsplit_once('@'))
                .map(|(_, d)| d.to_owned())
        })
        .or_else(|| {
            parsed
                .image
                .as_ref()
                .and_then(|i| i.version.clone())
                .filter(|v| v.starts_with("sha256:"))
        });
    let mut layers = Vec::new();
    if let Some(props) = image_props {
        for v in props.all("vigil:image_layer") {
            let (digest, size) = v.split_once(' ').unwrap_or((v, "0"));
            layers.push(LayerSummary {
                digest: digest.to_owned(),
                size: size.parse().unwrap_or(0),
            });
        }
        for v in props.all("vigil:detector_error") {
            match serde_json::from_str::<RawDetectorError>(v) {
                Ok(e) => errors.push(DetectorError {
                    path: e.path,
                    layer: e.layer,
                    message: e.message,
                }),
                Err(_) => errors.push(skipped(
                    sbom,
                    "image",
                    &format!("unreadable vigil:detector_error property {v:?}"),
                )),
            }
        }
    }

    // The distribution: the operating-system element, else the first distro qualifier.
    let mut distro = parsed.os.as_ref().and_then(|os| {
        let id = os.name.as_deref()?.trim().to_ascii_lowercase();
        (!id.is_empty()).then(|| Distro {
            version_id: os.version.as_deref().map(|v| purl::release_of(&id, v)),
            codename: os.props.get("vigil:codename").map(str::to_owned),
            pretty_name: os.description.clone(),
            id,
        })
    });

    let mut packages = Vec::with_capacity(parsed.packages.len());
    for item in &parsed.packages {
        let Some(p) = item.purl.as_deref() else {
            errors.push(skipped(sbom, &item.label, "no purl, not matched"));
            continue;
        };
        let pp = match purl::parse(p, item.name.as_deref()) {
            Ok(pp) => pp,
            Err(e) => {
                errors.push(skipped(sbom, &item.label, &format!("{e}, not matched")));
                continue;
            }
        };
        if distro.is_none() && !pp.ecosystem.is_language() {
            distro = pp.distro.clone();
        }
        let (source_name, source_version) = source(item, &pp);
        packages.push(InventoryPackage {
            ecosystem: pp.ecosystem.as_str().to_owned(),
            name: pp.name,
            version: pp.version,
            arch: pp.arch,
            source_name,
            source_version,
            purl: p.to_owned(),
            layer: item
                .props
                .get("vigil:layer")
                .or_else(|| item.props.get("trivy:LayerDigest"))
                .map(str::to_owned),
            path: item
                .props
                .get("vigil:path")
                .or_else(|| item.props.get("trivy:FilePath"))
                .unwrap_or(sbom)
                .to_owned(),
        });
    }
    packages.sort();
    Inventory {
        image: ImageSummary {
            reference,
            manifest_digest,
            layers,
        },
        distro,
        packages,
        errors,
    }
}

#[derive(Deserialize)]
struct RawDetectorError {
    path: String,
    layer: Option<String>,
    message: String,
}

fn skipped(sbom: &str, label: &str, why: &str) -> DetectorError {
    DetectorError {
        path: sbom.to_owned(),
        layer: None,
        message: format!("sbom component {label}: {why}"),
    }
}

/// The source package; see the crate docs for the order of precedence.
fn source(item: &Item, pp: &purl::PurlPackage) -> (Option<String>, Option<String>) {
    let eco = pp.ecosystem;
    if eco.is_language() {
        return (None, None);
    }
    let props = &item.props;
    if let Some(name) = props.get("vigil:source_name") {
        return (
            Some(name.to_owned()),
            props.get("vigil:source_version").map(str::to_owned),
        );
    }
    let (mut name, mut version) = (pp.source_name.clone(), pp.source_version.clone());
    if name.is_none() {
        if let Some(n) = props.get("trivy:SrcName") {
            name = Some(n.to_owned());
            version = props.get("trivy:SrcVersion").map(|v| {
                let mut v = match props.get("trivy:SrcRelease") {
                    Some(r) => format!("{v}-{r}"),
                    None => v.to_owned(),
                };
                if let (Some(e), PkgType::Deb) = (props.get("trivy:SrcEpoch"), eco) {
                    if e != "0" {
                        v = format!("{e}:{v}");
                    }
                }
                v
            });
        }
    }
    if name.is_none() {
        if let Some((n, v)) = item
            .source_info
            .as_deref()
            .and_then(|s| s.trim().strip_prefix("built package from:"))
            .and_then(|s| {
                let mut words = s.split_whitespace();
                Some((words.next()?, words.next()))
            })
        {
            name = Some(n.to_owned());
            version = v.map(str::to_owned);
        }
    }
    // rpm source versions are `VERSION-RELEASE` without the epoch (the SOURCERPM file
    // name has none).
    if eco == PkgType::Rpm {
        version = version.map(|v| match v.split_once(':') {
            Some((e, vr)) if e.bytes().all(|b| b.is_ascii_digit()) => vr.to_owned(),
            _ => v,
        });
    }
    match eco {
        // dpkg: a package without `Source:` is its own source, at its own version.
        PkgType::Deb => {
            let name = name.unwrap_or_else(|| pp.name.clone());
            (Some(name), version.or_else(|| Some(pp.version.clone())))
        }
        // apk: no origin means its own origin; apk has no source version.
        PkgType::Apk => (name.or_else(|| Some(pp.name.clone())), None),
        _ => (name, version),
    }
}
