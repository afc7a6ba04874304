//! Maven versions, ordered as Maven's `ComparableVersion` orders them (the "version order
//! specification" of the POM reference).
//!
//! The version is lower-cased and split into items at `.`, at `-` and at every switch between
//! digits and letters; a `-` or a switch opens a nested list, so `1-alpha-1` is
//! `[1, [alpha, [1]]]`. Trailing "null" items (`0`, empty, `ga`, `final`, `release`) are
//! dropped from every list.
//!
//! Traps:
//! - Known qualifiers order `alpha` < `beta` < `milestone` < `rc` = `cr` < `snapshot` <
//!   *(release: empty, `ga`, `final`, `release`)* < `sp`; unknown qualifiers come after all of
//!   them, alphabetically. So `1.0-SNAPSHOT` < `1.0` < `1.0-sp` < `1.0-foo`.
//! - `a`, `b`, `m` directly followed by a digit mean alpha, beta, milestone: `1a1` =
//!   `1-alpha-1`, but `1a` is the unknown qualifier `a`.
//! - After a `-`, a number sorts after a qualifier (`2.0.1-xyz` < `2.0.1-123`), and a list
//!   sorts before a number: `1.0` < `1.0-1` < `1.0.1`.
//! - `1` = `1.0` = `1.0.0` = `1-0` = `1.ga`; numbers of any length (`20190126.230843`,
//!   MNG-6572) compare by value.
//! - Past the end of the shorter version, a list counts with all its items, not only its
//!   first (Maven 3.9, MNG-6964): `1-0.1` > `1`, and `11ga.4` > `11` > `11ga.rc`.
//! - Everything is a version to Maven; only the empty string (and whitespace) is refused here.
//!   Versions that start with a qualifier or with a zero that normalisation trims are ordered
//!   as Maven does, but Maven's order is not transitive there (`ga` > `ga-alpha` >
//!   `alphaalpha` > `ga`; `0.snapshot0` < `0` < `0sp0` < `0.snapshot0`), nor where a
//!   qualifier right after a `.` meets a `-` or digit-to-letter list at the same place
//!   (`3.sp` > `3` > `3-alpha`, yet `3.sp` < `3-alpha`: Maven's "1.any < 1-1"). Versions that
//!   start with a non-zero number and have no qualifier right after a `.` are totally
//!   ordered (checked by the property tests).

use std::cmp::Ordering;

use crate::num::{cmp_digits, strip_zeros};
use crate::{ParseError, Scheme};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    /// Digits without leading zeros (empty is zero).
    Int(Box<str>),
    /// A qualifier after aliasing (`ga`, `final`, `release` become empty, `cr` becomes `rc`).
    Str(Box<str>),
    List(Vec<Item>),
}

/// A parsed Maven version: the top-level list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parsed(Vec<Item>);

impl Ord for Parsed {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_lists(&self.0, &other.0)
    }
}

impl PartialOrd for Parsed {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

const QUALIFIERS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];
const RELEASE_INDEX: usize = 5;

/// The position of a qualifier; unknown ones come after all known, alphabetically.
fn qualifier_rank(q: &str) -> (usize, &str) {
    match QUALIFIERS.iter().position(|k| *k == q) {
        Some(i) => (i, ""),
        None => (QUALIFIERS.len(), q),
    }
}

impl Item {
    fn is_null(&self) -> bool {
        match self {
            Item::Int(d) => d.is_empty(),
            Item::Str(s) => s.is_empty(),
            Item::List(l) => l.is_empty(),
        }
    }

    /// `self.compareTo(other)`, where `None` is Java's `null` (padding of a shorter list).
    fn cmp_opt(&self, other: Option<&Item>) -> Ordering {
        match (self, other) {
            (Item::Int(d), None) => {
                if d.is_empty() {
                    Ordering::Equal
                } else {
                    Ordering::Greater
                }
            }
            (Item::Str(s), None) => qualifier_rank(s).cmp(&(RELEASE_INDEX, "")),
            // Every item against null, not only the first (Maven 3.9, MNG-6964): `11ga.4` is
            // `[11, [ga, 4]]`, above `11` by its `4`; comparing only the `ga` made it equal to
            // `11`, and so was `11ga.1`, which is below it (not transitive).
            (Item::List(l), None) => l
                .iter()
                .map(|i| i.cmp_opt(None))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal),
            (Item::Int(a), Some(Item::Int(b))) => cmp_digits(a.as_bytes(), b.as_bytes()),
            (Item::Int(_), Some(_)) => Ordering::Greater,
            (Item::Str(_), Some(Item::Int(_) | Item::List(_))) => Ordering::Less,
            (Item::Str(a), Some(Item::Str(b))) => qualifier_rank(a).cmp(&qualifier_rank(b)),
            (Item::List(_), Some(Item::Int(_))) => Ordering::Less,
            (Item::List(_), Some(Item::Str(_))) => Ordering::Greater,
            (Item::List(a), Some(Item::List(b))) => cmp_lists(a, b),
        }
    }
}

fn cmp_lists(a: &[Item], b: &[Item]) -> Ordering {
    for i in 0..a.len().max(b.len()) {
        let o = match (a.get(i), b.get(i)) {
            (Some(l), r) => l.cmp_opt(r),
            (None, Some(r)) => r.cmp_opt(None).reverse(),
            (None, None) => Ordering::Equal,
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

fn int_item(digits: &str) -> Item {
    let d = strip_zeros(digits.as_bytes());
    Item::Int(std::str::from_utf8(d).unwrap_or("").into())
}

fn str_item(s: &str, followed_by_digit: bool) -> Item {
    let s = match s {
        "a" if followed_by_digit => "alpha",
        "b" if followed_by_digit => "beta",
        "m" if followed_by_digit => "milestone",
        "ga" | "final" | "release" => "",
        "cr" => "rc",
        s => s,
    };
    Item::Str(s.into())
}

fn item(is_digit: bool, s: &str) -> Item {
    if is_digit {
        int_item(s)
    } else {
        str_item(s, false)
    }
}

/// Drops trailing null items, stopping at the last non-list item (`ListItem.normalize`).
///
/// When that leaves a list holding only its sub-list (`1-ga-1`: the `ga` between two hyphens
/// is dropped), the sub-list takes its place: the POM reference's version order repeats the
/// trimming "at each remaining hyphen", so `1-ga-1` = `1-1` (Maven's own `ComparableVersion`
/// before 3.9 keeps the extra nesting and orders it lower).
fn normalize(list: &mut Vec<Item>, nested: bool) {
    let mut i = list.len();
    while i > 0 {
        i -= 1;
        if list[i].is_null() {
            list.remove(i);
        } else if !matches!(list[i], Item::List(_)) {
            break;
        }
    }
    if !nested {
        // The first item of a version is never trimmed away into its sub-list:
        // `0.0.0-2021` stays `[[2021]]`, below `20`.
        return;
    }
    if let [Item::List(inner)] = list.as_mut_slice() {
        *list = std::mem::take(inner);
    }
}

pub(crate) fn parse(s: &str) -> Result<Parsed, ParseError> {
    let v = s.trim().to_lowercase();
    if v.is_empty() {
        return Err(ParseError::new(
            Scheme::Maven,
            s,
            "expected a version, found an empty string",
        ));
    }
    if let Some(c) = v.chars().find(|c| c.is_whitespace()) {
        return Err(ParseError::new(
            Scheme::Maven,
            s,
            format!("expected no whitespace inside a version, found {c:?}"),
        ));
    }
    // A stack of open lists; each new list is pushed, and all are folded at the end.
    let mut stack: Vec<Vec<Item>> = vec![Vec::new()];
    let mut is_digit = false;
    let mut start = 0;
    let push_list = |stack: &mut Vec<Vec<Item>>| stack.push(Vec::new());
    for (i, c) in v.char_indices() {
        let list = stack.last_mut().expect("stack is never empty");
        if c == '.' || c == '-' {
            if i == start {
                list.push(Item::Int("".into()));
            } else {
                list.push(item(is_digit, &v[start..i]));
            }
            start = i + 1;
            if c == '-' {
                push_list(&mut stack);
            }
        } else if c.is_ascii_digit() {
            if !is_digit && i > start {
                list.push(str_item(&v[start..i], true));
                start = i;
                push_list(&mut stack);
            }
            is_digit = true;
        } else {
            if is_digit && i > start {
                list.push(int_item(&v[start..i]));
                start = i;
                push_list(&mut stack);
            }
            is_digit = false;
        }
    }
    if v.len() > start {
        let rest = &v[start..];
        stack
            .last_mut()
            .expect("stack is never empty")
            .push(item(is_digit, rest));
    }
    // Each list is the last item of its parent: normalize innermost first, then attach.
    let mut child = stack.pop().expect("stack is never empty");
    normalize(&mut child, !stack.is_empty());
    while let Some(mut parent) = stack.pop() {
        parent.push(Item::List(child));
        normalize(&mut parent, !stack.is_empty());
        child = parent;
    }
    Ok(Parsed(child))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(a: &str, b: &str) -> Ordering {
        Scheme::Maven.compare(a, b).unwrap()
    }

    #[test]
    fn qualifiers() {
        assert_eq!(c("1.0-SNAPSHOT", "1.0"), Ordering::Less);
        assert_eq!(c("1.0", "1.0-sp"), Ordering::Less);
        assert_eq!(c("1a1", "1-alpha-1"), Ordering::Equal);
        assert_eq!(c("2.0.1-xyz", "2.0.1-123"), Ordering::Less);
        assert_eq!(c("1", "1.0.0-0.0.0"), Ordering::Equal);
    }

    /// A list against the end of a shorter version: every item counts (MNG-6964), so equal
    /// to a version is transitive. Found by the property test: `11ga.4` = `11` = `11ga.1`.
    #[test]
    fn a_list_past_the_end_counts_all_its_items() {
        assert_eq!(c("11ga.4", "11"), Ordering::Greater);
        assert_eq!(c("11ga.1", "11"), Ordering::Greater);
        assert_eq!(c("11ga.4", "11ga.1"), Ordering::Greater);
        assert_eq!(c("1-0.1", "1"), Ordering::Greater);
        assert_eq!(c("1-ga.0", "1"), Ordering::Equal);
        assert_eq!(c("1-sp.1", "1"), Ordering::Greater);
        assert_eq!(c("1-rc.1", "1"), Ordering::Less);
    }
}
