//! OSV records in JSON or YAML (SPEC 4.1, 4.2) -> [`Advisory`].
//!
//! Deserialised through raw twins that mirror the OSV schema, then validated and converted:
//! - `GIT` ranges (commit hashes) and range or severity types this model does not know are
//!   dropped; an `affected` entry without a `package`, or with `"package": {}` as osv.dev
//!   writes for GIT-only entries, is dropped with them.
//! - Each range event must have exactly one of `introduced`, `fixed`, `last_affected`,
//!   `limit`.
//! - GHSA's `database_specific.severity` becomes [`Advisory::label`]; osv.dev's Debian
//!   `ecosystem_specific.urgency` becomes [`Affected::label`].
//! - A file holds one record (an object) or several (an array, as some exports do).
//!
//! Nesting depth: a record deeper than [`MAX_DEPTH`] brackets is refused before it reaches a
//! deserialiser (OSV records nest 6 levels). serde_json and serde_norway stop at 128 levels
//! anyway, but only where they recurse: values they skip are walked without a limit, and
//! libyaml's flow parser slows down badly on deep nesting, so the cheap scan comes first.
//!
//! Pure: no IO.

use crate::error::ParseError;
use crate::model::{
    Advisory, Affected, Event, Package, Range, RangeKind, Reference, SeverityKind, SeverityVector,
    VulnId,
};
use serde::Deserialize;

/// A record that could not be converted, with its id when that much could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    /// The record id, if known.
    pub id: Option<String>,
    /// The problem.
    pub error: ParseError,
}

#[derive(Deserialize)]
struct RawRecord {
    schema_version: Option<String>,
    id: String,
    modified: Option<String>,
    published: Option<String>,
    withdrawn: Option<String>,
    #[serde(default)]
    aliases: Option<Vec<String>>,
    #[serde(default)]
    upstream: Option<Vec<String>>,
    #[serde(default)]
    related: Option<Vec<String>>,
    summary: Option<String>,
    details: Option<String>,
    #[serde(default)]
    severity: Option<Vec<RawSeverity>>,
    #[serde(default)]
    affected: Option<Vec<RawAffected>>,
    #[serde(default)]
    references: Option<Vec<RawReference>>,
    database_specific: Option<RawSpecific>,
}

#[derive(Deserialize)]
struct RawSeverity {
    #[serde(rename = "type")]
    kind: String,
    score: String,
}

#[derive(Deserialize)]
struct RawAffected {
    package: Option<RawPackage>,
    #[serde(default)]
    ranges: Option<Vec<RawRange>>,
    #[serde(default)]
    versions: Option<Vec<String>>,
    #[serde(default)]
    severity: Option<Vec<RawSeverity>>,
    ecosystem_specific: Option<RawSpecific>,
    database_specific: Option<RawSpecific>,
}

#[derive(Deserialize)]
struct RawPackage {
    #[serde(default)]
    ecosystem: String,
    #[serde(default)]
    name: String,
    purl: Option<String>,
}

#[derive(Deserialize)]
struct RawRange {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    events: Vec<RawEvent>,
}

#[derive(Deserialize)]
struct RawEvent {
    introduced: Option<String>,
    fixed: Option<String>,
    last_affected: Option<String>,
    limit: Option<String>,
}

#[derive(Deserialize)]
struct RawReference {
    #[serde(rename = "type")]
    kind: String,
    url: String,
}

/// The `*_specific` objects are free-form; only the labels matter here. Anything else in
/// them is ignored, and a label that is not a string is treated as absent.
#[derive(Deserialize)]
struct RawSpecific {
    #[serde(default)]
    severity: Option<Lenient>,
    #[serde(default)]
    urgency: Option<Lenient>,
}

/// A value kept only when it is a string.
struct Lenient(Option<String>);

impl<'de> Deserialize<'de> for Lenient {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Lenient;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any value")
            }
            fn visit_str<E>(self, v: &str) -> Result<Lenient, E> {
                Ok(Lenient(Some(v.to_owned())))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Lenient, E> {
                Ok(Lenient(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Lenient, E> {
                Ok(Lenient(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Lenient, E> {
                Ok(Lenient(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Lenient, E> {
                Ok(Lenient(None))
            }
            fn visit_unit<E>(self) -> Result<Lenient, E> {
                Ok(Lenient(None))
            }
            fn visit_none<E>(self) -> Result<Lenient, E> {
                Ok(Lenient(None))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Lenient, A::Error> {
                while a.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Lenient(None))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Lenient, A::Error> {
                while a
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(Lenient(None))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
struct IdOnly {
    id: Option<Lenient>,
}

/// Parses an OSV JSON file: one record (object) or several (array). Each record converts on
/// its own, so one bad record in an array does not spoil the others.
pub fn parse_json(bytes: &[u8]) -> Result<Vec<Result<Advisory, RecordError>>, ParseError> {
    // Validate UTF-8 once; serde_json's `from_str` then trusts it.
    let text = check_utf8(bytes)?;
    let results = if text.trim_start().starts_with('[') {
        let items: Vec<&serde_json::value::RawValue> = serde_json::from_str(text).map_err(|e| {
            check_depth(bytes)
                .err()
                .unwrap_or_else(|| ParseError::Syntax(e.to_string()))
        })?;
        items
            .into_iter()
            .map(|raw| record_from_str(raw.get()))
            .collect()
    } else {
        vec![record_from_str(text)]
    };
    // The nesting check looks at every byte, which took as long as parsing the record: it
    // runs only to explain a failed parse. serde_json bounds its own recursion (and skips
    // list items without recursing), so a record that parses was never a danger.
    if results.iter().any(Result::is_err) {
        check_depth(bytes)?;
    }
    Ok(results)
}

/// Parses one OSV record in JSON.
pub fn parse_json_record(bytes: &[u8]) -> Result<Advisory, RecordError> {
    let text = check_utf8(bytes).map_err(|error| RecordError { id: None, error })?;
    record_from_str(text).map_err(|e| match check_depth(bytes) {
        Err(error) => RecordError { id: None, error },
        Ok(()) => e,
    })
}

fn record_from_str(text: &str) -> Result<Advisory, RecordError> {
    match serde_json::from_str::<RawRecord>(text) {
        Ok(raw) => convert(raw),
        Err(e) => {
            let id = serde_json::from_str::<IdOnly>(text)
                .ok()
                .and_then(|i| i.id)
                .and_then(|l| l.0);
            Err(RecordError {
                id,
                error: ParseError::Syntax(e.to_string()),
            })
        }
    }
}

/// Parses an OSV YAML file holding one record (the PyPA advisory database layout).
pub fn parse_yaml(bytes: &[u8]) -> Result<Advisory, RecordError> {
    let text = check_utf8(bytes).map_err(|error| RecordError { id: None, error })?;
    check_depth(bytes).map_err(|error| RecordError { id: None, error })?;
    match serde_norway::from_str::<RawRecord>(text) {
        Ok(raw) => convert(raw),
        Err(e) => {
            let id = serde_norway::from_str::<IdOnly>(text)
                .ok()
                .and_then(|i| i.id)
                .and_then(|l| l.0);
            Err(RecordError {
                id,
                error: ParseError::Syntax(e.to_string()),
            })
        }
    }
}

/// Deepest bracket nesting accepted in a record, far above what any real feed uses.
pub const MAX_DEPTH: usize = 64;

/// Refuses JSON (or YAML flow) text nested deeper than [`MAX_DEPTH`] brackets (for OSV
/// JSON, only to explain a record that did not parse). Brackets
/// inside double-quoted strings do not count (single quotes are not JSON strings, and in
/// YAML plain text they are apostrophes).
pub(crate) fn check_depth(bytes: &[u8]) -> Result<(), ParseError> {
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let mut escaped = false;
    for (offset, &b) in bytes.iter().enumerate() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if b == b'\\' && q == b'"' {
                escaped = true;
            } else if b == q {
                quote = None;
            }
            continue;
        }
        match b {
            b'"' => quote = Some(b),
            b'{' | b'[' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(ParseError::TooDeep {
                        offset,
                        limit: MAX_DEPTH,
                    });
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

pub(crate) fn check_utf8(bytes: &[u8]) -> Result<&str, ParseError> {
    std::str::from_utf8(bytes).map_err(|e| ParseError::InvalidUtf8 {
        offset: e.valid_up_to(),
    })
}

fn convert(raw: RawRecord) -> Result<Advisory, RecordError> {
    let id = raw.id.clone();
    convert_inner(raw).map_err(|error| RecordError {
        id: Some(id),
        error,
    })
}

fn ids(list: Option<Vec<String>>) -> Vec<VulnId> {
    list.unwrap_or_default()
        .into_iter()
        .map(VulnId::new)
        .collect()
}

fn severities(list: Option<Vec<RawSeverity>>) -> Vec<SeverityVector> {
    list.unwrap_or_default()
        .into_iter()
        .filter_map(|s| {
            SeverityKind::from_osv_name(&s.kind).map(|kind| SeverityVector {
                kind,
                score: s.score,
            })
        })
        .collect()
}

fn label(specific: &Option<RawSpecific>, urgency: bool) -> Option<String> {
    let s = specific.as_ref()?;
    let v = if urgency { &s.urgency } else { &s.severity };
    v.as_ref().and_then(|l| l.0.clone())
}

fn convert_inner(raw: RawRecord) -> Result<Advisory, ParseError> {
    if raw.id.trim().is_empty() {
        return Err(ParseError::field(
            "id",
            "expected a non-empty id, found an empty one",
        ));
    }
    let mut adv = Advisory::new(VulnId::new(raw.id));
    adv.schema_version = raw.schema_version;
    adv.modified = raw.modified;
    adv.published = raw.published;
    adv.withdrawn = raw.withdrawn;
    adv.aliases = ids(raw.aliases);
    adv.upstream = ids(raw.upstream);
    adv.related = ids(raw.related);
    adv.summary = raw.summary;
    adv.details = raw.details;
    adv.severity = severities(raw.severity);
    adv.label = label(&raw.database_specific, false);
    adv.references = raw
        .references
        .unwrap_or_default()
        .into_iter()
        .map(|r| Reference {
            kind: r.kind,
            url: r.url,
        })
        .collect();
    for (i, a) in raw.affected.unwrap_or_default().into_iter().enumerate() {
        // osv.dev writes GIT-only entries with no package or `"package": {}`.
        let Some(pkg) = a
            .package
            .filter(|p| !(p.ecosystem.is_empty() && p.name.is_empty()))
        else {
            continue;
        };
        if pkg.ecosystem.is_empty() || pkg.name.is_empty() {
            return Err(ParseError::field(
                format!("affected[{i}].package"),
                "expected an ecosystem and a name, found an empty one",
            ));
        }
        let mut out = Affected::new(Package {
            ecosystem: pkg.ecosystem,
            name: pkg.name,
            purl: pkg.purl,
        });
        for (j, r) in a.ranges.unwrap_or_default().into_iter().enumerate() {
            let kind = match r.kind.as_str() {
                "ECOSYSTEM" => RangeKind::Ecosystem,
                "SEMVER" => RangeKind::Semver,
                // GIT ranges compare commits, which installed packages do not have.
                _ => continue,
            };
            let mut events = Vec::with_capacity(r.events.len());
            for (k, e) in r.events.into_iter().enumerate() {
                events.push(event(e).ok_or_else(|| {
                    ParseError::field(
                        format!("affected[{i}].ranges[{j}].events[{k}]"),
                        "expected exactly one of introduced, fixed, last_affected, limit",
                    )
                })?);
            }
            if events.is_empty() {
                return Err(ParseError::field(
                    format!("affected[{i}].ranges[{j}].events"),
                    "expected at least one event, found none",
                ));
            }
            out.ranges.push(Range { kind, events });
        }
        out.versions = a.versions.unwrap_or_default();
        out.severity = severities(a.severity);
        out.label =
            label(&a.ecosystem_specific, true).or_else(|| label(&a.database_specific, true));
        adv.affected.push(out);
    }
    Ok(adv)
}

fn event(e: RawEvent) -> Option<Event> {
    match (e.introduced, e.fixed, e.last_affected, e.limit) {
        (Some(v), None, None, None) => Some(Event::Introduced(v)),
        (None, Some(v), None, None) => Some(Event::Fixed(v)),
        (None, None, Some(v), None) => Some(Event::LastAffected(v)),
        (None, None, None, Some(v)) => Some(Event::Limit(v)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let mut s = String::from("{\"id\":\"X\",\"affected\":");
        s.push_str(&"[".repeat(100_000));
        s.push_str(&"]".repeat(100_000));
        s.push('}');
        let err = parse_json(s.as_bytes()).unwrap_err();
        assert_eq!(
            err,
            ParseError::TooDeep {
                offset: 84,
                limit: MAX_DEPTH
            }
        );
    }

    #[test]
    fn deep_yaml_nesting_is_an_error_not_a_crash() {
        let s = format!(
            "id: X\ndatabase_specific: {{severity: {}{}}}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        let err = parse_yaml(s.as_bytes()).unwrap_err();
        assert_eq!(
            err.error,
            ParseError::TooDeep {
                offset: 99,
                limit: MAX_DEPTH
            }
        );
    }

    #[test]
    fn invalid_utf8_names_the_offset() {
        let err = parse_json(b"{\"id\": \"A\xff\"}").unwrap_err();
        assert_eq!(err, ParseError::InvalidUtf8 { offset: 9 });
    }

    #[test]
    fn event_with_two_keys_names_the_field() {
        let r = br#"{"id":"X-1","affected":[{"package":{"ecosystem":"PyPI","name":"a"},
            "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0","fixed":"1"}]}]}]}"#;
        let err = parse_json_record(r).unwrap_err();
        assert_eq!(err.id.as_deref(), Some("X-1"));
        assert!(
            err.error
                .to_string()
                .starts_with("field affected[0].ranges[0].events[0]")
        );
    }
}
