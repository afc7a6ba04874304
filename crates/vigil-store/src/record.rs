//! What the store keeps of one advisory: the JSON of the model, plus the keys it is indexed
//! by, extracted once at import.

use std::borrow::Cow;

use serde::Deserialize;

use crate::names::normalize_name;
use crate::{Advisory, Error};

/// One advisory ready to be stored: its JSON text and its index keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub(crate) id: String,
    pub(crate) modified: String,
    /// Every id it is known by: its own id, `aliases` and `upstream`, sorted, unique.
    pub(crate) ids: Vec<String>,
    /// `(ecosystem, normalised name)` of each affected package, sorted, unique.
    pub(crate) packages: Vec<(String, String)>,
    pub(crate) json: String,
}

#[derive(Deserialize)]
struct Keys<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(default, borrow)]
    modified: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    aliases: Vec<Cow<'a, str>>,
    #[serde(default, borrow)]
    upstream: Vec<Cow<'a, str>>,
    #[serde(default, borrow)]
    affected: Vec<AffectedKeys<'a>>,
}

#[derive(Deserialize)]
struct AffectedKeys<'a> {
    #[serde(default, borrow)]
    package: Option<PackageKeys<'a>>,
}

#[derive(Deserialize)]
struct PackageKeys<'a> {
    #[serde(borrow)]
    ecosystem: Cow<'a, str>,
    #[serde(borrow)]
    name: Cow<'a, str>,
}

impl Record {
    /// Serialises an advisory of the model and extracts its keys.
    pub fn new(advisory: &Advisory) -> Result<Self, Error> {
        let json = serde_json::to_string(advisory).map_err(|e| Error::Record {
            id: advisory.id.to_string(),
            problem: format!("cannot serialise: {e}"),
        })?;
        Self::from_json(json)
    }

    /// Takes the JSON of an advisory of the model (field names as in OSV) and extracts
    /// its keys. The JSON must decode as the model: it is what queries return.
    pub fn from_json(json: String) -> Result<Self, Error> {
        let keys: Keys<'_> = serde_json::from_str(&json).map_err(|e| Error::Record {
            id: id_hint(&json),
            problem: format!("not an advisory: {e}"),
        })?;
        if keys.id.trim().is_empty() {
            return Err(Error::Record {
                id: String::new(),
                problem: "empty id".into(),
            });
        }
        let mut ids: Vec<String> = std::iter::once(&keys.id)
            .chain(&keys.aliases)
            .chain(&keys.upstream)
            .map(|s| s.to_string())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let mut packages: Vec<(String, String)> = keys
            .affected
            .iter()
            .filter_map(|a| a.package.as_ref())
            .map(|p| {
                (
                    p.ecosystem.to_string(),
                    normalize_name(&p.ecosystem, &p.name).into_owned(),
                )
            })
            .collect();
        packages.sort_unstable();
        packages.dedup();
        let id = keys.id.to_string();
        let modified = keys.modified.map(Cow::into_owned).unwrap_or_default();
        Ok(Self {
            id,
            modified,
            ids,
            packages,
            json,
        })
    }

    /// The advisory's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// `(ecosystem, normalised name)` of each affected package.
    pub fn packages(&self) -> &[(String, String)] {
        &self.packages
    }
}

/// The `"id"` of a JSON text that failed to decode, for the error message.
fn id_hint(json: &str) -> String {
    #[derive(Deserialize)]
    struct IdOnly {
        id: String,
    }
    serde_json::from_str::<IdOnly>(json)
        .map(|i| i.id)
        .unwrap_or_else(|_| "<unknown>".into())
}
