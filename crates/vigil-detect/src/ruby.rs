//! Ruby: installed gem specifications and `Gemfile.lock`.
//!
//! RubyGems writes each installed gem's specification as generated Ruby in
//! `specifications/NAME-VERSION.gemspec` (`s.name = "rake".freeze`,
//! `s.version = "13.0.6"`, older ones `Gem::Version.new("1.2")`); we read the two
//! assignments without evaluating Ruby. `Gemfile.lock` lists the resolved gems under
//! `specs:` in its `GEM` and `GIT` sections at four spaces of indent (their dependencies
//! at six); `PATH` gems are the application's own. A platform gem's version carries the
//! platform (`1.13.10-x86_64-linux`) which is not part of the version: RubyGems versions
//! never contain `-`.

use crate::python::clip;
use crate::{Package, PkgType, Problem, utf8};

pub(crate) fn gemspec(data: &[u8], path: &str) -> Result<Vec<Package>, Problem> {
    let text = utf8(data)?;
    let mut name = None;
    let mut version = None;
    for line in text.lines() {
        let line = line.trim();
        let Some((lhs, rhs)) = line.split_once('=') else {
            continue;
        };
        let field = lhs.trim().rsplit_once('.').map(|(_, f)| f);
        let slot = match field {
            Some("name") => &mut name,
            Some("version") => &mut version,
            _ => continue,
        };
        if slot.is_none() {
            *slot = quoted(rhs);
        }
    }
    let name = name.ok_or_else(|| Problem::corrupt("gemspec has no `name` assignment"))?;
    let version = version.ok_or_else(|| {
        Problem::corrupt(format!("gemspec of {name} has no `version` assignment"))
    })?;
    Ok(vec![Package::language(PkgType::Gem, name, version, path)])
}

/// The first string literal in `s`.
fn quoted(s: &str) -> Option<String> {
    let start = s.find(['"', '\''])?;
    let quote = s.as_bytes()[start] as char;
    let rest = &s[start + 1..];
    let end = rest.find(quote)?;
    Some(rest[..end].to_owned()).filter(|v| !v.is_empty())
}

pub(crate) fn gemfile_lock(data: &[u8], path: &str) -> Result<Vec<Package>, Problem> {
    let text = utf8(data)?;
    let mut section = "";
    let mut in_specs = false;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if !line.starts_with(' ') {
            section = line.trim();
            in_specs = false;
            continue;
        }
        if line == "  specs:" {
            in_specs = true;
            continue;
        }
        let spec = line.strip_prefix("    ");
        let Some(spec) = spec.filter(|s| in_specs && !s.starts_with(' ')) else {
            continue;
        };
        if !matches!(section, "GEM" | "GIT") {
            continue;
        }
        let parsed = spec
            .split_once(" (")
            .and_then(|(n, v)| Some((n, v.strip_suffix(')')?)));
        let Some((name, version)) = parsed else {
            return Err(Problem::syntax(
                i + 1,
                format!("expected `NAME (VERSION)`, found {:?}", clip(spec)),
            ));
        };
        let version = version.split('-').next().unwrap_or(version);
        out.push(Package::language(PkgType::Gem, name, version, path));
    }
    out.sort();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_gemspec() {
        let data = b"# -*- encoding: utf-8 -*-\nGem::Specification.new do |s|\n  s.name = \"rake\".freeze\n  s.version = \"13.0.6\"\n  s.required_rubygems_version = Gem::Requirement.new(\">= 1.3.2\".freeze) if s.respond_to? :required_rubygems_version=\nend\n";
        let p = gemspec(data, "specifications/rake-13.0.6.gemspec").unwrap();
        assert_eq!(p[0].purl(None), "pkg:gem/rake@13.0.6");
        let old = b"s.name = %q{x}\ns.version = Gem::Version.new(\"1.2\")\n";
        assert!(gemspec(old, "x").is_err());
    }

    #[test]
    fn gemfile_lock_specs() {
        let data = b"PATH\n  remote: .\n  specs:\n    app (0.1.0)\n\nGEM\n  remote: https://registry.invalid/\n  specs:\n    nokogiri (1.13.10-x86_64-linux)\n      racc (~> 1.4)\n    racc (1.6.2)\n\nPLATFORMS\n  x86_64-linux\n";
        let p = gemfile_lock(data, "Gemfile.lock").unwrap();
        let got: Vec<_> = p.iter().map(|p| p.purl(None)).collect();
        assert_eq!(got, ["pkg:gem/nokogiri@1.13.10", "pkg:gem/racc@1.6.2"]);
        let e = gemfile_lock(b"GEM\n  specs:\n    broken\n", "x").unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 3: expected `NAME (VERSION)`, found \"broken\""
        );
    }
}
