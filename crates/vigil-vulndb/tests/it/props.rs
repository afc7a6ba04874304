//! Property checks: severity order and mapping, model JSON round trip, merge.

use proptest::prelude::*;
use vigil_vulndb::severity::Severity;
use vigil_vulndb::{
    Advisory, Affected, Event, FixState, Package, Range, RangeKind, SeverityKind, VulnId,
};

fn severity() -> impl Strategy<Value = Severity> {
    prop::sample::select(Severity::ALL.to_vec())
}

fn advisory() -> impl Strategy<Value = Advisory> {
    let event = prop_oneof![
        "[0-9.]{1,6}".prop_map(Event::Introduced),
        "[0-9.]{1,6}".prop_map(Event::Fixed),
        "[0-9.]{1,6}".prop_map(Event::LastAffected),
        "[0-9.]{1,6}".prop_map(Event::Limit),
    ];
    let affected = (
        "[A-Za-z:0-9]{1,10}",
        "[a-z0-9-]{1,10}",
        prop::collection::vec(event, 1..4),
        prop::option::of(prop::sample::select(vec![
            FixState::Fixed,
            FixState::NotFixed,
            FixState::WillNotFix,
            FixState::NotAffected,
        ])),
        prop::option::of("[a-z *]{0,12}"),
    )
        .prop_map(|(eco, name, events, fix_state, label)| {
            let mut a = Affected::new(Package {
                ecosystem: eco,
                name,
                purl: None,
            });
            a.ranges.push(Range {
                kind: RangeKind::Ecosystem,
                events,
            });
            a.fix_state = fix_state;
            a.label = label;
            a
        });
    (
        "[A-Z]{2,5}-[0-9]{1,6}",
        prop::collection::vec("[A-Z]{3}-[0-9]{1,4}", 0..3),
        prop::collection::vec(affected, 0..4),
        prop::option::of("\\PC{0,20}"),
    )
        .prop_map(|(id, aliases, affected, label)| {
            let mut a = Advisory::new(VulnId::new(id));
            a.aliases = aliases.into_iter().map(VulnId::new).collect();
            a.affected = affected;
            a.label = label;
            a
        })
}

proptest! {
    #[test]
    fn severity_order_is_total_and_matches_names(a in severity(), b in severity(), c in severity()) {
        prop_assert_eq!(a.cmp(&b), b.cmp(&a).reverse());
        if a <= b && b <= c {
            prop_assert!(a <= c);
        }
        prop_assert_eq!(a.as_str().parse::<Severity>().unwrap(), a);
        prop_assert_eq!(a == b, a.as_str() == b.as_str());
    }

    #[test]
    fn any_label_maps_without_panic_and_case_does_not_matter(label in "\\PC{0,30}") {
        let lower = Severity::from_label(&label.to_lowercase());
        let upper = Severity::from_label(&label.to_uppercase());
        if label.is_ascii() {
            prop_assert_eq!(lower, upper);
        }
    }

    #[test]
    fn cvss_bands_are_monotonic(x in 0.0f64..=10.0, y in 0.0f64..=10.0) {
        for kind in [SeverityKind::CvssV2, SeverityKind::CvssV3, SeverityKind::CvssV4] {
            let (lo, hi) = if x <= y { (x, y) } else { (y, x) };
            prop_assert!(Severity::from_score(&kind, lo) <= Severity::from_score(&kind, hi));
        }
    }

    #[test]
    fn model_json_round_trips(a in advisory()) {
        let json = serde_json::to_string(&a).unwrap();
        let back: Advisory = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back, a);
    }

    #[test]
    fn merge_is_idempotent_and_keeps_everything(a in advisory(), b in advisory()) {
        let mut m = a.clone();
        m.merge(b.clone());
        for x in a.affected.iter().chain(&b.affected) {
            prop_assert!(m.affected.contains(x));
        }
        for x in a.aliases.iter().chain(&b.aliases) {
            prop_assert!(m.aliases.contains(x));
        }
        let mut twice = m.clone();
        twice.merge(b);
        prop_assert_eq!(twice, m);
    }
}
