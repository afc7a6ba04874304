//! `vigil policy show --scope`: effective rules with their origin.

use vigil_policy::{Action, CveAction, Origin, ScopeError, Severity, UnscannedAction, effective};

use crate::support::*;

#[test]
fn show_marks_inherited_overridden_and_expired() {
    let mut p = fresh();
    p.set_severity(scope("global"), Severity::Critical, Action::Block)
        .unwrap();
    p.set_severity(scope("cluster:eu"), Severity::High, Action::BlockIfFixed)
        .unwrap();
    p.set_severity(scope("app:web@env:prod"), Severity::Critical, Action::Allow)
        .unwrap();
    p.set_unscanned(scope("env:prod"), Some(UnscannedAction::Block))
        .unwrap();
    p.add_cve(cve_rule("global", "CVE-2021-44228", CveAction::Block, None));
    p.add_cve(cve_rule(
        "app:web",
        "CVE-2021-44228",
        CveAction::Allow,
        None,
    ));
    p.add_cve(cve_rule(
        "app:web@env:prod",
        "CVE-2023-32681",
        CveAction::Allow,
        Some(now() - days(1)),
    ));
    // Rules of scopes outside the lineage are not shown.
    p.add_cve(cve_rule("app:api", "CVE-2016-2781", CveAction::Allow, None));

    let shown = effective(&p, &scope("app:web@env:prod"), Some(&name("eu")), now()).unwrap();
    let critical = &shown.severities[0];
    assert_eq!(critical.severity, Severity::Critical);
    assert_eq!(
        (critical.action, critical.origin, critical.overrides),
        (Action::Allow, Origin::Here, Some(Action::Block))
    );
    let high = &shown.severities[1];
    assert_eq!(
        (high.action, high.origin, high.from.clone()),
        (
            Action::BlockIfFixed,
            Origin::Inherited,
            Some(scope("cluster:eu"))
        )
    );
    assert_eq!(shown.unscanned.origin, Origin::Inherited);
    let cves: Vec<(String, String, bool, Option<String>)> = shown
        .cve_rules
        .iter()
        .map(|c| {
            (
                c.rule.scope.to_string(),
                c.rule.id.to_string(),
                c.expired,
                c.overridden_by.as_ref().map(|s| s.to_string()),
            )
        })
        .collect();
    assert_eq!(
        cves,
        [
            ("app:web".into(), "CVE-2021-44228".into(), false, None),
            (
                "global".into(),
                "CVE-2021-44228".into(),
                false,
                Some("app:web".into())
            ),
            (
                "app:web@env:prod".into(),
                "CVE-2023-32681".into(),
                true,
                None
            ),
        ]
    );
    insta::assert_json_snapshot!(shown);
}

#[test]
fn show_at_an_application_skips_clusters_and_environments() {
    let mut p = fresh();
    p.set_severity(scope("cluster:eu"), Severity::High, Action::Block)
        .unwrap();
    let shown = effective(&p, &scope("app:web"), None, now()).unwrap();
    assert_eq!(shown.lineage, [scope("global"), scope("app:web")]);
    assert_eq!(shown.severities[1].action, Action::Allow);
    assert_eq!(shown.severities[1].origin, Origin::Inherited);
}

#[test]
fn show_at_an_environment_needs_its_cluster() {
    let err = effective(&fresh(), &scope("env:prod"), None, now()).unwrap_err();
    assert_eq!(err, ScopeError::ClusterUnknown("env:prod".into()));
    assert_eq!(
        err.to_string(),
        "scope env:prod: the cluster of its environment is needed to know what it inherits"
    );
}
