//! The model's contracts: text forms, JSON of rules and audit entries (what the store keeps
//! and the CLI prints), validation errors, and loading a stored rule set.

use vigil_policy::{
    Action, AuditEntry, ChangeKind, CveAction, CveRule, Key, Policies, PolicyError, Rule,
    RuleError, RuleWarning, Scope, Severity, SeverityRule, UnscannedAction, UnscannedRule,
    time::parse_date,
};

use crate::support::*;

#[test]
fn scope_errors_name_the_input_and_the_problem() {
    let errors: Vec<String> = [
        "cluster",
        "Global",
        "env:",
        "app:web@prod",
        "app:web@env:pr od",
        "cluster:-eu",
        "namespace:x",
    ]
    .iter()
    .map(|s| s.parse::<Scope>().unwrap_err().to_string())
    .collect();
    insta::assert_snapshot!(errors.join("\n"));
}

#[test]
fn cve_rule_needs_a_reason_and_an_author() {
    let err = CveRule::new(
        scope("app:web"),
        "CVE-2021-44228",
        CveAction::Allow,
        "alice",
        "  ",
        now(),
        None,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "CVE rule for CVE-2021-44228 at app:web: a reason is required and was empty"
    );
    let err = CveRule::new(
        scope("global"),
        "CVE-2021-44228",
        CveAction::Block,
        "",
        "log4shell",
        now(),
        None,
    )
    .unwrap_err();
    assert!(matches!(err, RuleError::EmptyAuthor { .. }));
    let err = CveRule::new(
        scope("global"),
        "CVE-2021-44228",
        CveAction::Allow,
        "alice",
        "vendor patch applied",
        now(),
        Some(now() - days(1)),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "CVE rule for CVE-2021-44228 at global: it expires at 2026-11-24T12:00:00Z, not after its creation at 2026-11-25T12:00:00Z"
    );
}

#[test]
fn unknown_id_shapes_are_accepted_with_a_warning() {
    let (rule, warning) = CveRule::new(
        scope("global"),
        "TEMP-0000001-6FA2B3",
        CveAction::Block,
        "alice",
        "tracker placeholder",
        now(),
        None,
    )
    .unwrap();
    assert_eq!(rule.id.as_str(), "TEMP-0000001-6FA2B3");
    assert_eq!(
        warning,
        Some(RuleWarning::UnknownIdShape {
            id: "TEMP-0000001-6FA2B3".into()
        })
    );
    // Every id of the real GitHub advisories and their aliases has a known shape.
    for ghsa in [
        "GHSA-jfh8-c2jp-5v3q",
        "GHSA-j8r2-6x86-q33q",
        "GHSA-4374-p667-p6c8",
    ] {
        let f = github(ghsa);
        for id in std::iter::once(&f.id).chain(&f.aliases) {
            let (_, warning) = CveRule::new(
                scope("global"),
                id.as_str(),
                CveAction::Block,
                "a",
                "r",
                now(),
                None,
            )
            .unwrap();
            assert_eq!(warning, None, "{id}");
        }
    }
}

#[test]
fn every_mutation_reports_before_and_after_for_the_audit_log() {
    let mut p = fresh();
    let mut log = Vec::new();
    let who = "alice";
    log.push(AuditEntry::new(
        who,
        now(),
        p.set_severity(Scope::Global, Severity::Critical, Action::Block)
            .unwrap(),
    ));
    log.push(AuditEntry::new(
        who,
        now(),
        p.set_severity(scope("env:prod"), Severity::High, Action::BlockIfFixed)
            .unwrap(),
    ));
    let rule = cve_rule(
        "app:web@env:prod",
        "CVE-2021-44228",
        CveAction::Allow,
        Some(parse_date("2026-12-31").unwrap()),
    );
    log.push(AuditEntry::new(who, now(), p.add_cve(rule)));
    log.push(AuditEntry::new(
        who,
        now(),
        p.remove_cve(&scope("app:web@env:prod"), "cve-2021-44228")
            .unwrap(),
    ));
    log.push(AuditEntry::new(
        who,
        now(),
        p.set_unscanned(scope("cluster:eu"), Some(UnscannedAction::Block))
            .unwrap(),
    ));
    log.push(AuditEntry::new(
        who,
        now(),
        p.set_severity(scope("env:prod"), Severity::High, Action::Inherit)
            .unwrap(),
    ));
    let kinds: Vec<ChangeKind> = log.iter().map(|e| e.change).collect();
    assert_eq!(
        kinds,
        [
            ChangeKind::Changed,
            ChangeKind::Added,
            ChangeKind::Added,
            ChangeKind::Removed,
            ChangeKind::Added,
            ChangeKind::Removed
        ]
    );
    insta::assert_json_snapshot!(log);
    // The log reads back as written.
    let json = serde_json::to_string(&log).unwrap();
    let back: Vec<AuditEntry> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, log);
}

#[test]
fn removing_a_missing_cve_rule_names_it() {
    let mut p = fresh();
    let err = p
        .remove_cve(&scope("app:web"), "CVE-2021-44228")
        .unwrap_err();
    assert_eq!(err.to_string(), "no CVE rule for CVE-2021-44228 at app:web");
}

#[test]
fn loading_reports_every_problem_at_once() {
    let sev = |s: &str, v, a| {
        Rule::Severity(SeverityRule {
            scope: scope(s),
            severity: v,
            action: a,
        })
    };
    let rules = vec![
        sev("global", Severity::Critical, Action::Block),
        sev("global", Severity::Critical, Action::Allow),
        sev("env:prod", Severity::Low, Action::Inherit),
        Rule::Cve(cve_rule(
            "app:web",
            "CVE-2021-44228",
            CveAction::Allow,
            None,
        )),
        Rule::Cve(cve_rule(
            "app:web",
            "CVE-2021-44228",
            CveAction::Block,
            None,
        )),
        Rule::Unscanned(UnscannedRule {
            scope: scope("cluster:eu"),
            action: UnscannedAction::Block,
        }),
        // Built field by field, bypassing CveRule::new: no reason, and a lower-case id.
        Rule::Cve(CveRule {
            reason: String::new(),
            ..cve_rule("env:prod", "CVE-2016-2781", CveAction::Block, None)
        }),
        Rule::Cve(CveRule {
            id: "cve-2016-2781".into(),
            ..cve_rule("env:prod", "CVE-2016-2781", CveAction::Block, None)
        }),
    ];
    let err = Policies::from_rules(rules).unwrap_err();
    assert_eq!(
        err.0,
        [
            PolicyError::Duplicate {
                scope: Scope::Global,
                key: Key::Severity(Severity::Critical)
            },
            PolicyError::StoredInherit {
                scope: scope("env:prod"),
                severity: Severity::Low
            },
            PolicyError::Duplicate {
                scope: scope("app:web"),
                key: Key::Cve("CVE-2021-44228".into())
            },
            PolicyError::Rule(RuleError::EmptyReason {
                id: "CVE-2016-2781".into(),
                scope: scope("env:prod")
            }),
            PolicyError::Rule(RuleError::NotCanonical {
                id: "cve-2016-2781".into(),
                canonical: "CVE-2016-2781".into()
            }),
        ]
    );
    insta::assert_snapshot!(err.to_string());
}

#[test]
fn stored_rules_missing_the_global_ones_get_the_defaults() {
    let p = Policies::from_rules([Rule::Severity(SeverityRule {
        scope: Scope::Global,
        severity: Severity::Critical,
        action: Action::Block,
    })])
    .unwrap();
    assert_eq!(
        p.severity_rule(&Scope::Global, Severity::Critical),
        Some(Action::Block)
    );
    assert_eq!(
        p.severity_rule(&Scope::Global, Severity::High),
        Some(Action::Allow)
    );
    assert_eq!(
        p.unscanned_rule(&Scope::Global),
        Some(UnscannedAction::Allow)
    );
}

#[test]
fn a_tampered_stored_rule_is_refused_when_read() {
    let json = r#"{"kind":"cve","scope":"global","id":"CVE-2021-44228","action":"allow",
        "author":"alice","reason":"","created":"2026-11-25T12:00:00Z","expires":null}"#;
    let err = serde_json::from_str::<Rule>(json).unwrap_err().to_string();
    assert!(err.contains("a reason is required"), "{err}");
    let json = r#"{"kind":"severity","scope":"app:a@b","severity":"high","action":"block"}"#;
    let err = serde_json::from_str::<Rule>(json).unwrap_err().to_string();
    assert!(err.contains(r#"scope "app:a@b" is not a scope"#), "{err}");
}

#[test]
fn clearing_a_scope_removes_each_of_its_rules() {
    let mut p = fresh();
    p.set_severity(scope("app:web"), Severity::High, Action::Block)
        .unwrap();
    p.add_cve(cve_rule(
        "app:web",
        "CVE-2021-44228",
        CveAction::Allow,
        None,
    ));
    p.set_unscanned(scope("app:web"), Some(UnscannedAction::Block))
        .unwrap();
    let changes = p.clear_scope(&scope("app:web")).unwrap();
    assert_eq!(changes.len(), 3);
    assert!(changes.iter().all(|c| c.kind() == ChangeKind::Removed));
    assert_eq!(p, fresh());
}

mod props {
    use proptest::prelude::*;
    use vigil_policy::{Name, Scope, check_id};

    fn name() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9]([a-zA-Z0-9._-]{0,61}[a-zA-Z0-9])?"
    }

    fn scope() -> impl Strategy<Value = Scope> {
        let n = || name().prop_map(|s| Name::new(s).unwrap());
        prop_oneof![
            Just(Scope::Global),
            n().prop_map(Scope::Cluster),
            n().prop_map(Scope::Environment),
            n().prop_map(Scope::Application),
            (n(), n()).prop_map(
                |(application, environment)| Scope::ApplicationInEnvironment {
                    application,
                    environment
                }
            ),
        ]
    }

    proptest! {
        #[test]
        fn scope_text_round_trips(s in scope()) {
            let text = s.to_string();
            prop_assert_eq!(text.parse::<Scope>().unwrap(), s.clone());
            let json = serde_json::to_string(&s).unwrap();
            prop_assert_eq!(serde_json::from_str::<Scope>(&json).unwrap(), s);
        }

        #[test]
        fn scope_order_follows_level_first(a in scope(), b in scope()) {
            if a.level() != b.level() {
                prop_assert_eq!(a.cmp(&b), a.level().cmp(&b.level()));
            }
        }

        #[test]
        fn any_text_parses_or_errs_without_panic(text in "\\PC{0,80}") {
            let _ = text.parse::<Scope>();
            let _ = Name::new(text.clone());
            let _ = check_id(&text);
        }

        #[test]
        fn canonical_ids_are_fixed_points(id in "(cve|CVE|ghsa|GHSA|pysec|GO|dsa|[A-Za-z]{1,8})-[0-9a-zA-Z:._-]{1,30}") {
            if let Ok((canonical, shape)) = check_id(&id) {
                let (again, shape_again) = check_id(canonical.as_str()).unwrap();
                prop_assert_eq!(again, canonical);
                prop_assert_eq!(shape_again, shape);
            }
        }
    }
}
