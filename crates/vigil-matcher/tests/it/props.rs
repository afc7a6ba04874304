//! Properties of range evaluation, checked against plain comparisons of the same versions.

use proptest::prelude::*;
use vigil_matcher::{FixState, Matcher};
use vigil_vulndb::{Advisory, Affected, Event, Range, RangeKind, VulnId};

use crate::lang;

fn version((a, b, c): (u8, u8, u8)) -> String {
    format!("{a}.{b}.{c}")
}

fn advisory(events: Vec<Event>) -> Advisory {
    let mut adv = Advisory::new(VulnId::new("GHSA-prop-test-0000"));
    let mut affected = Affected::new(vigil_vulndb::Package {
        ecosystem: "PyPI".into(),
        name: "p".into(),
        purl: None,
    });
    affected.ranges.push(Range {
        kind: RangeKind::Ecosystem,
        events,
    });
    adv.affected.push(affected);
    adv
}

fn triple() -> impl Strategy<Value = (u8, u8, u8)> {
    (0u8..4, 0u8..4, 0u8..4)
}

proptest! {
    /// `introduced x, fixed y` (in either order in the feed) affects exactly x <= v < y,
    /// and then names y as the fix.
    #[test]
    fn introduced_fixed_is_a_half_open_interval(x in triple(), y in triple(), v in triple(), swap in any::<bool>()) {
        prop_assume!(x < y);
        let mut events = vec![Event::Introduced(version(x)), Event::Fixed(version(y))];
        if swap {
            events.reverse();
        }
        let advisories = [advisory(events)];
        let m = Matcher::new(&advisories).match_packages(None, &[lang("pypi", "p", &version(v))]);
        prop_assert!(m.errors.is_empty());
        let expected = x <= v && v < y;
        prop_assert_eq!(m.findings.len(), usize::from(expected));
        if let Some(f) = m.findings.first() {
            prop_assert_eq!(f.fix_state, FixState::Fixed);
            prop_assert_eq!(f.fixed_version.clone(), Some(version(y)));
        }
    }

    /// `introduced x, last_affected y` affects exactly x <= v <= y, with no known fix.
    #[test]
    fn last_affected_is_a_closed_interval(x in triple(), y in triple(), v in triple()) {
        prop_assume!(x <= y);
        let advisories = [advisory(vec![Event::LastAffected(version(y)), Event::Introduced(version(x))])];
        let m = Matcher::new(&advisories).match_packages(None, &[lang("pypi", "p", &version(v))]);
        let expected = x <= v && v <= y;
        prop_assert_eq!(m.findings.len(), usize::from(expected));
        if let Some(f) = m.findings.first() {
            prop_assert_eq!(f.fix_state, FixState::NotFixed);
            prop_assert_eq!(f.fixed_version.clone(), None);
        }
    }
}
