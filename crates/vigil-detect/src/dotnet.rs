//! .NET: `*.deps.json`, written beside a published application. Its `libraries` map is
//! keyed `Name/Version`; only entries of `"type": "package"` are NuGet packages (the
//! others are the `project` itself and `reference` assemblies).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::{Package, PkgType, Problem, json};

#[derive(Deserialize)]
struct Deps {
    libraries: BTreeMap<String, Library>,
}

#[derive(Deserialize)]
struct Library {
    #[serde(rename = "type")]
    ty: String,
}

pub(crate) fn deps(data: &[u8], path: &str) -> Result<Vec<Package>, Problem> {
    let deps: Deps = json(data)?;
    let mut out = Vec::new();
    for (key, lib) in deps.libraries {
        if lib.ty != "package" {
            continue;
        }
        let Some((name, version)) = key
            .split_once('/')
            .filter(|(n, v)| !n.is_empty() && !v.is_empty())
        else {
            return Err(Problem::corrupt(format!(
                "library {key:?} is not `Name/Version`"
            )));
        };
        out.push(Package::language(PkgType::Nuget, name, version, path));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_package_libraries() {
        let data = br#"{"libraries":{"App/1.0.0":{"type":"project"},"Newtonsoft.Json/13.0.1":{"type":"package","sha512":"x"}}}"#;
        let p = deps(data, "app/App.deps.json").unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].purl(None), "pkg:nuget/Newtonsoft.Json@13.0.1");
        let e = deps(br#"{"libraries":{"bad":{"type":"package"}}}"#, "x").unwrap_err();
        assert_eq!(e.to_string(), "library \"bad\" is not `Name/Version`");
    }
}
