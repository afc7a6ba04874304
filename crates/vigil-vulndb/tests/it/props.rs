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

/// Real records to mutate: one of each parser's inputs.
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let f = crate::feeds_dir();
    vec![
        ("osv-json", std::fs::read(f.join("golang-vulndb/GO-2022-0969.json")).unwrap()),
        ("osv-yaml", std::fs::read(f.join("pypa-advisory-database/vulns/urllib3/PYSEC-2023-192.yaml")).unwrap()),
        ("alpine", std::fs::read(f.join("alpine-secdb-legacy-yaml/v3.11/community.yaml")).unwrap()[..4000].to_vec()),
        ("debian", br#"{"description":"d","releases":{"bookworm":{"status":"resolved","fixed_version":"1.2-3","urgency":"low"},"sid":{"status":"open"}}}"#.to_vec()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Mutated real inputs (bytes overwritten, cut short) give a value or an error, never a
    /// panic: the same idea as a fuzz target, run with the tests.
    #[test]
    fn parsers_never_panic_on_mutated_input(
        which in 0usize..4,
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let (kind, mut bytes) = seeds().swap_remove(which);
        for (at, b) in edits {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        bytes.truncate(cut.index(bytes.len() + 1).max(1));
        let _ = vigil_vulndb::format::sniff(kind, &bytes);
        match kind {
            "osv-json" => { let _ = vigil_vulndb::osv::parse_json(&bytes); }
            "osv-yaml" => { let _ = vigil_vulndb::osv::parse_yaml(&bytes); }
            "alpine" => { let _ = vigil_vulndb::alpine::parse(&bytes, vigil_vulndb::alpine::Syntax::Yaml); }
            _ => { let _ = vigil_vulndb::debian::parse_entry("p", "CVE-1", &bytes); }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The Debian tracker scanner and the feed reader on mutated real tracker data: items or
    /// errors, never a panic or a hang, and at most one fatal error, which comes last.
    #[test]
    fn tracker_reader_never_panics_on_mutated_input(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let real = std::fs::read(crate::feeds_dir().join("debian-tracker/vunnel-debian.json")).unwrap();
        let mut bytes = real.clone();
        for (at, b) in edits {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        bytes.truncate(cut.index(bytes.len() + 1).max(1));
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("t.json");
        std::fs::write(&f, &bytes).unwrap();
        let items: Vec<_> =
            vigil_vulndb::open_feed(&f, vigil_vulndb::FeedFormat::DebianTracker).collect();
        let fatal = items.iter().position(|i| i.as_ref().is_err_and(|e| e.is_fatal()));
        if let Some(p) = fatal {
            prop_assert_eq!(p, items.len() - 1);
        }
    }
}
