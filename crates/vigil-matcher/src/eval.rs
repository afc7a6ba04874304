//! Is a version affected by one OSV `affected` entry (SPEC 5.2)?
//!
//! The evaluation is OSV's own (ossf/osv-schema, "Evaluation"): the events of a range are
//! sorted by version first (`introduced: "0"` before everything), then walked in order;
//! `introduced` opens the range when the version is at or above it, `fixed` closes it when
//! the version is at or above it, `last_affected` closes it when the version is above it.
//! `limit` events bound the whole range from above (`*` is infinity). A version is affected
//! when any range includes it or the explicit `versions` list names it.
//!
//! Traps:
//! - Feeds do not always list events in order; PYSEC records reopen ranges for several
//!   release branches (`introduced 0, fixed 1.5, introduced 2.0, fixed 2.3`). Sorting
//!   first makes both cases right.
//! - At equal versions `introduced` sorts before `fixed`, so `introduced X, fixed X` is an
//!   empty range, not an open one.
//! - A version the comparator cannot parse is NOT "not affected": it is an error the
//!   result carries, so the gap is visible (SPEC 5.7). The same holds for an event version
//!   of the advisory that does not parse.
//! - `SEMVER` ranges compare by SemVer 2 whatever the ecosystem, except Go, whose
//!   versions carry a `v` and pseudo-versions and have a scheme of their own.
//! - Event versions are parsed once, when the advisory is indexed; the installed version
//!   once per package and scheme.

use std::cmp::Ordering;
use std::str::FromStr;

use vigil_version::{Ecosystem, Scheme, Version};
use vigil_vulndb::{Affected, Event, RangeKind};

/// The comparison scheme of a range of the given kind in the given OSV ecosystem.
pub(crate) fn scheme_for(ecosystem: &str, kind: RangeKind) -> Option<Scheme> {
    let eco = Ecosystem::from_str(ecosystem).ok()?;
    Some(match kind {
        RangeKind::Ecosystem => eco.scheme(),
        RangeKind::Semver if eco == Ecosystem::Go => Scheme::Go,
        RangeKind::Semver => Scheme::Semver,
    })
}

#[derive(Debug)]
enum Point {
    /// `introduced: "0"`: before every version.
    Start,
    Introduced(Version),
    LastAffected(Version),
    Fixed(Version),
}

impl Point {
    fn rank(&self) -> u8 {
        match self {
            Point::Start | Point::Introduced(_) => 0,
            Point::LastAffected(_) => 1,
            Point::Fixed(_) => 2,
        }
    }
    fn version(&self) -> Option<&Version> {
        match self {
            Point::Start => None,
            Point::Introduced(v) | Point::LastAffected(v) | Point::Fixed(v) => Some(v),
        }
    }
}

#[derive(Debug)]
struct PreparedRange {
    scheme: Scheme,
    points: Vec<Point>,
    limits: Vec<Version>,
}

/// One `affected` entry, with every event version parsed and sorted.
#[derive(Debug)]
pub(crate) struct Prepared {
    ranges: Vec<PreparedRange>,
    /// Scheme of the ecosystem, for the `versions` list.
    scheme: Scheme,
    /// The first problem met while parsing the entry's versions, reported when the entry
    /// is evaluated for a package (the entry cannot say anything reliable then).
    error: Option<String>,
}

impl Prepared {
    /// Prepares `affected`; `None` when its ecosystem is not one vigil can compare
    /// versions in (no installed package can be in such an ecosystem either).
    pub(crate) fn new(affected: &Affected) -> Option<Prepared> {
        let ecosystem = affected.package.ecosystem.as_str();
        let scheme = scheme_for(ecosystem, RangeKind::Ecosystem)?;
        let mut error = None;
        let mut ranges = Vec::with_capacity(affected.ranges.len());
        for range in &affected.ranges {
            let Some(scheme) = scheme_for(ecosystem, range.kind) else {
                continue;
            };
            let mut points = Vec::with_capacity(range.events.len());
            let mut limits = Vec::new();
            for event in &range.events {
                let text = event.version();
                let parsed = || scheme.parse(text.trim());
                let point = match event {
                    Event::Introduced(v) if v.trim() == "0" => Ok(Some(Point::Start)),
                    Event::Introduced(_) => parsed().map(|v| Some(Point::Introduced(v))),
                    Event::Fixed(_) => parsed().map(|v| Some(Point::Fixed(v))),
                    Event::LastAffected(_) => parsed().map(|v| Some(Point::LastAffected(v))),
                    Event::Limit(v) if v.contains('*') => Ok(None),
                    Event::Limit(_) => parsed().map(|v| {
                        limits.push(v);
                        None
                    }),
                };
                match point {
                    Ok(Some(p)) => points.push(p),
                    Ok(None) => {}
                    Err(e) => {
                        error.get_or_insert_with(|| format!("advisory event version: {e}"));
                    }
                }
            }
            points.sort_by(|a, b| match (a.version(), b.version()) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Less,
                (Some(_), None) => Ordering::Greater,
                (Some(x), Some(y)) => x.cmp(y).then(a.rank().cmp(&b.rank())),
            });
            ranges.push(PreparedRange {
                scheme,
                points,
                limits,
            });
        }
        Some(Prepared {
            ranges,
            scheme,
            error,
        })
    }
}

/// The installed version of one package, parsed on demand per scheme.
pub(crate) struct Installed<'a> {
    raw: &'a str,
    parsed: Vec<(Scheme, Result<Version, vigil_version::ParseError>)>,
}

impl<'a> Installed<'a> {
    pub(crate) fn new(raw: &'a str) -> Self {
        Self {
            raw,
            parsed: Vec::with_capacity(1),
        }
    }

    fn get(&mut self, scheme: Scheme) -> Result<&Version, &vigil_version::ParseError> {
        let i = match self.parsed.iter().position(|(s, _)| *s == scheme) {
            Some(i) => i,
            None => {
                self.parsed.push((scheme, scheme.parse(self.raw.trim())));
                self.parsed.len() - 1
            }
        };
        self.parsed[i].1.as_ref()
    }
}

/// What one entry says about one installed version.
#[derive(Debug)]
pub(crate) enum Outcome {
    NotAffected,
    /// Affected; the lowest `fixed` version above the installed one, if any.
    Affected {
        fixed: Option<String>,
    },
    /// The installed version does not parse under the entry's scheme.
    BadInstalled(String),
    /// The entry's own versions do not parse.
    BadAdvisory(String),
}

pub(crate) fn evaluate(
    prepared: &Prepared,
    affected: &Affected,
    installed: &mut Installed<'_>,
) -> Outcome {
    if let Some(e) = &prepared.error {
        return Outcome::BadAdvisory(e.clone());
    }
    let mut hit = false;
    let mut lowest_fix: Option<&Version> = None;
    for range in &prepared.ranges {
        let v = match installed.get(range.scheme) {
            Ok(v) => v,
            Err(e) => return Outcome::BadInstalled(e.to_string()),
        };
        if includes(range, v) {
            hit = true;
        }
        for p in &range.points {
            if let Point::Fixed(f) = p
                && f > v
                && lowest_fix.is_none_or(|l| f < l)
            {
                lowest_fix = Some(f);
            }
        }
    }
    if !hit && !affected.versions.is_empty() {
        let raw = installed.raw.trim();
        let v = match installed.get(prepared.scheme) {
            Ok(v) => v,
            Err(e) => return Outcome::BadInstalled(e.to_string()),
        };
        // Listed versions are the ecosystem's spellings; equal under the scheme counts
        // (`1.0` and `1.0.0` are one PEP 440 version). A listed version that does not
        // parse can still be equal as text (OSV allows git tags there).
        hit = affected.versions.iter().any(|listed| {
            listed.trim() == raw
                || prepared
                    .scheme
                    .parse(listed.trim())
                    .is_ok_and(|l| l.cmp(v) == Ordering::Equal)
        });
    }
    if hit {
        Outcome::Affected {
            fixed: lowest_fix.map(|f| f.as_str().to_owned()),
        }
    } else {
        Outcome::NotAffected
    }
}

fn includes(range: &PreparedRange, v: &Version) -> bool {
    if !range.limits.is_empty() && !range.limits.iter().any(|l| v < l) {
        return false;
    }
    let mut affected = false;
    for p in &range.points {
        match p {
            Point::Start => affected = true,
            Point::Introduced(i) if v >= i => affected = true,
            Point::Fixed(f) if v >= f => affected = false,
            Point::LastAffected(l) if v > l => affected = false,
            _ => {}
        }
    }
    affected
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_vulndb::{Package, Range};

    fn entry(ecosystem: &str, events: Vec<Event>) -> Affected {
        let mut a = Affected::new(Package {
            ecosystem: ecosystem.into(),
            name: "p".into(),
            purl: None,
        });
        a.ranges.push(Range {
            kind: RangeKind::Ecosystem,
            events,
        });
        a
    }

    fn check(a: &Affected, v: &str) -> Outcome {
        let p = Prepared::new(a).unwrap();
        evaluate(&p, a, &mut Installed::new(v))
    }

    #[test]
    fn unsorted_and_reopened_ranges() {
        use Event::*;
        let a = entry(
            "PyPI",
            vec![
                Introduced("2.0".into()),
                Fixed("2.3".into()),
                Introduced("0".into()),
                Fixed("1.5".into()),
            ],
        );
        assert!(matches!(check(&a, "1.2"), Outcome::Affected { fixed: Some(f) } if f == "1.5"));
        assert!(matches!(check(&a, "1.5"), Outcome::NotAffected));
        assert!(matches!(check(&a, "2.1"), Outcome::Affected { fixed: Some(f) } if f == "2.3"));
        assert!(matches!(check(&a, "2.3.0"), Outcome::NotAffected));
    }

    #[test]
    fn limit_bounds_the_range() {
        use Event::*;
        let a = entry("PyPI", vec![Introduced("0".into()), Limit("2.0".into())]);
        assert!(matches!(
            check(&a, "1.9"),
            Outcome::Affected { fixed: None }
        ));
        assert!(matches!(check(&a, "2.0"), Outcome::NotAffected));
        let star = entry("PyPI", vec![Introduced("1.0".into()), Limit("*".into())]);
        assert!(matches!(
            check(&star, "9.0"),
            Outcome::Affected { fixed: None }
        ));
    }

    #[test]
    fn empty_range_at_equal_versions() {
        use Event::*;
        let a = entry("PyPI", vec![Fixed("1.0".into()), Introduced("1.0".into())]);
        assert!(matches!(check(&a, "1.0"), Outcome::NotAffected));
    }
}
