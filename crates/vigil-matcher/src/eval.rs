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
//! - Versions are compared as strings: dpkg, rpm and apk comparisons parse in place and
//!   allocate nothing, which keeps matching close to the cost of the comparisons alone.

use std::cmp::Ordering;
use std::str::FromStr;

use vigil_version::{Ecosystem, ParseError, Scheme};
use vigil_vulndb::{Affected, Event, RangeKind};

/// The comparison schemes of one OSV ecosystem: for its `ECOSYSTEM` ranges (and `versions`
/// list) and for its `SEMVER` ranges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Schemes {
    ecosystem: Scheme,
    semver: Scheme,
}

impl Schemes {
    /// `None` when vigil cannot compare versions of `ecosystem` (no installed package can be
    /// in such an ecosystem either).
    pub(crate) fn of(ecosystem: &str) -> Option<Schemes> {
        let eco = Ecosystem::from_str(ecosystem).ok()?;
        Some(Schemes {
            ecosystem: eco.scheme(),
            semver: if eco == Ecosystem::Go {
                Scheme::Go
            } else {
                Scheme::Semver
            },
        })
    }

    pub(crate) fn ecosystem(&self) -> Scheme {
        self.ecosystem
    }

    fn of_range(&self, kind: RangeKind) -> Scheme {
        match kind {
            RangeKind::Ecosystem => self.ecosystem,
            RangeKind::Semver => self.semver,
        }
    }
}

/// What one entry says about one installed version.
#[derive(Debug)]
pub(crate) enum Outcome<'a> {
    NotAffected,
    /// Affected; the lowest `fixed` version above the installed one, if any.
    Affected {
        fixed: Option<&'a str>,
    },
    /// The installed version does not parse under the entry's scheme.
    BadInstalled(String),
    /// The entry's own versions do not parse.
    BadAdvisory(String),
}

/// A failed comparison, told apart by which side was rejected.
enum Bad {
    Installed(String),
    Advisory(String),
}

struct Cmp<'i> {
    scheme: Scheme,
    installed: &'i str,
}

impl Cmp<'_> {
    /// Orders the installed version against an advisory's version.
    fn installed_vs(&self, v: &str) -> Result<Ordering, Bad> {
        // Not trimmed here (this is the hot path): a feed version with stray spaces that
        // its scheme rejects becomes a reported error, never a silent miss.
        self.scheme
            .compare(self.installed, v)
            .map_err(|e| self.bad(e))
    }

    /// Orders two advisory versions.
    fn between(&self, a: &str, b: &str) -> Result<Ordering, Bad> {
        self.scheme.compare(a, b).map_err(|e| self.bad(e))
    }

    fn bad(&self, e: ParseError) -> Bad {
        if e.input() == self.installed {
            Bad::Installed(e.to_string())
        } else {
            Bad::Advisory(format!("advisory event version: {e}"))
        }
    }
}

fn is_start(e: &Event) -> bool {
    matches!(e, Event::Introduced(v) if v == "0" || v.trim() == "0")
}

/// At equal versions, `introduced` before `last_affected` before `fixed`.
fn rank(e: &Event) -> u8 {
    match e {
        Event::Introduced(_) => 0,
        Event::LastAffected(_) => 1,
        Event::Fixed(_) => 2,
        Event::Limit(_) => 3,
    }
}

/// `installed` must be trimmed (the caller does it once per package).
///
/// Compares each installed version with the advisory's versions as strings: the dpkg, rpm
/// and apk schemes compare without allocating, so nothing is parsed into owned values and
/// nothing is prepared ahead (each entry of a scan is usually evaluated once).
pub(crate) fn evaluate<'a>(
    schemes: &Schemes,
    affected: &'a Affected,
    installed: &str,
) -> Outcome<'a> {
    match walk(schemes, affected, installed) {
        Ok(Some(fixed)) => Outcome::Affected { fixed },
        Ok(None) => Outcome::NotAffected,
        Err(Bad::Installed(m)) => Outcome::BadInstalled(m),
        Err(Bad::Advisory(m)) => Outcome::BadAdvisory(m),
    }
}

/// `Some(lowest fix above)` when affected.
fn walk<'a>(
    schemes: &Schemes,
    affected: &'a Affected,
    installed: &str,
) -> Result<Option<Option<&'a str>>, Bad> {
    let mut hit = false;
    let mut lowest_fix: Option<&'a str> = None;
    for range in &affected.ranges {
        let cmp = Cmp {
            scheme: schemes.of_range(range.kind),
            installed,
        };
        // Fast paths for the two shapes distribution feeds use for nearly every entry:
        // "all versions" and "all versions before F"; one comparison at most.
        match range.events.as_slice() {
            [start] if is_start(start) => {
                hit = true;
                continue;
            }
            [start, Event::Fixed(f)] if is_start(start) => {
                if cmp.installed_vs(f)? == Ordering::Less {
                    hit = true;
                    if match lowest_fix {
                        None => true,
                        Some(l) => cmp.between(f, l)? == Ordering::Less,
                    } {
                        lowest_fix = Some(f.trim());
                    }
                }
                continue;
            }
            _ => {}
        }
        if includes(&cmp, &range.events)? {
            hit = true;
        }
        for e in &range.events {
            if let Event::Fixed(f) = e
                && cmp.installed_vs(f)? == Ordering::Less
                && match lowest_fix {
                    None => true,
                    Some(l) => cmp.between(f, l)? == Ordering::Less,
                }
            {
                lowest_fix = Some(f.trim());
            }
        }
    }
    if !hit && !affected.versions.is_empty() {
        let cmp = Cmp {
            scheme: schemes.ecosystem,
            installed,
        };
        // Listed versions are the ecosystem's spellings; equal under the scheme counts
        // (`1.0` and `1.0.0` are one PEP 440 version). A listed version that does not
        // parse can still be equal as text (OSV allows git tags there); an installed
        // version that does not parse is an error, as for ranges.
        for listed in &affected.versions {
            if listed.trim() == installed {
                hit = true;
                break;
            }
            match cmp.installed_vs(listed) {
                Ok(Ordering::Equal) => {
                    hit = true;
                    break;
                }
                Err(Bad::Installed(m)) => return Err(Bad::Installed(m)),
                _ => {}
            }
        }
    }
    Ok(hit.then_some(lowest_fix))
}

/// OSV's evaluation of one range, events sorted by version first.
fn includes(cmp: &Cmp<'_>, events: &[Event]) -> Result<bool, Bad> {
    // Limits bound the whole range from above (`*` is infinity).
    let mut limited = false;
    let mut below_a_limit = false;
    for e in events {
        if let Event::Limit(l) = e
            && !l.contains('*')
        {
            limited = true;
            if cmp.installed_vs(l)? == Ordering::Less {
                below_a_limit = true;
            }
        }
    }
    if limited && !below_a_limit {
        return Ok(false);
    }
    // Sort (stably) only when the feed did not: the usual case walks the events as given.
    let order = |a: &Event, b: &Event| -> Result<Ordering, Bad> {
        Ok(match (is_start(a), is_start(b)) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => cmp
                .between(a.version(), b.version())?
                .then(rank(a).cmp(&rank(b))),
        })
    };
    let mut sorted = true;
    for w in events.windows(2) {
        if order(&w[0], &w[1])? == Ordering::Greater {
            sorted = false;
            break;
        }
    }
    let mut owned: Vec<&Event>;
    let walk: &mut dyn Iterator<Item = &Event> = if sorted {
        &mut events.iter()
    } else {
        owned = events.iter().collect();
        let mut failure = None;
        owned.sort_by(|a, b| {
            order(a, b).unwrap_or_else(|e| {
                failure.get_or_insert(e);
                Ordering::Equal
            })
        });
        if let Some(e) = failure {
            return Err(e);
        }
        &mut owned.into_iter()
    };
    let mut affected = false;
    for e in walk {
        if is_start(e) {
            affected = true;
            continue;
        }
        match e {
            Event::Introduced(i) if cmp.installed_vs(i)? != Ordering::Less => affected = true,
            Event::Fixed(f) if cmp.installed_vs(f)? != Ordering::Less => affected = false,
            Event::LastAffected(l) if cmp.installed_vs(l)? == Ordering::Greater => affected = false,
            _ => {}
        }
    }
    Ok(affected)
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

    fn check<'a>(a: &'a Affected, v: &str) -> Outcome<'a> {
        evaluate(&Schemes::of(&a.package.ecosystem).unwrap(), a, v)
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
