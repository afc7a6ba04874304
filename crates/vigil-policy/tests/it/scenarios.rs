//! The scenario suite of issue 8: each test is named for the rule it checks, on findings
//! built from real advisories of the shared fixtures.

use vigil_policy::{
    Action, CveAction, Decider, Decision, Evaluator, Key, PolicyError, ScanState, Scope, Severity,
    UnscannedAction, Verdict,
};

use crate::support::*;

/// log4shell: GHSA-jfh8-c2jp-5v3q, critical, alias CVE-2021-44228.
fn log4shell() -> Owned {
    github("GHSA-jfh8-c2jp-5v3q")
}

fn decider_of(p: &vigil_policy::Policies, f: &Owned) -> (Verdict, Option<(Scope, Key, Action)>) {
    let ev = Evaluator::new(p, &target(), now());
    let out = ev.evaluate(&f.as_ref());
    (
        out.verdict,
        out.rule.map(|r| (r.scope().clone(), r.key(), r.action())),
    )
}

#[test]
fn real_fixture_findings_have_the_expected_shape() {
    let f = log4shell();
    assert_eq!(f.id.as_str(), "CVE-2021-44228");
    assert_eq!(f.aliases[0].as_str(), "GHSA-jfh8-c2jp-5v3q");
    assert_eq!(f.severity, Severity::Critical);
    assert!(f.has_fix);
    assert_eq!(debian("coreutils", "CVE-2016-2781").severity, Severity::Low);
    assert!(!debian("coreutils", "CVE-2016-2781").has_fix);
    assert!(debian("acl", "CVE-2009-4411").has_fix);
}

#[test]
fn fresh_install_allows_everything_by_the_global_rules() {
    let p = fresh();
    let (verdict, rule) = decider_of(&p, &log4shell());
    assert_eq!(verdict, Verdict::Allowed);
    assert_eq!(
        rule,
        Some((
            Scope::Global,
            Key::Severity(Severity::Critical),
            Action::Allow
        ))
    );
}

#[test]
fn global_block_critical_blocks_a_critical_finding() {
    let mut p = fresh();
    p.set_severity(Scope::Global, Severity::Critical, Action::Block)
        .unwrap();
    let (verdict, rule) = decider_of(&p, &log4shell());
    assert_eq!(verdict, Verdict::Blocked);
    assert_eq!(
        rule,
        Some((
            Scope::Global,
            Key::Severity(Severity::Critical),
            Action::Block
        ))
    );
    // A high finding is untouched by the critical rule.
    let high = github("GHSA-p6mc-m468-83gw");
    assert_eq!(high.severity, Severity::High);
    assert_eq!(decider_of(&p, &high).0, Verdict::Allowed);
}

#[test]
fn cluster_allow_overrides_global_block() {
    let mut p = fresh();
    p.set_severity(Scope::Global, Severity::Critical, Action::Block)
        .unwrap();
    p.set_severity(scope("cluster:eu"), Severity::Critical, Action::Allow)
        .unwrap();
    let (verdict, rule) = decider_of(&p, &log4shell());
    assert_eq!(verdict, Verdict::Allowed);
    assert_eq!(rule.unwrap().0, scope("cluster:eu"));
    // Another cluster still blocks.
    let mut other = target();
    other.cluster = name("us");
    let ev = Evaluator::new(&p, &other, now());
    assert_eq!(ev.evaluate(&log4shell().as_ref()).verdict, Verdict::Blocked);
}

#[test]
fn environment_without_rule_inherits_cluster() {
    let mut p = fresh();
    p.set_severity(scope("cluster:eu"), Severity::High, Action::Block)
        .unwrap();
    // Setting inherit at the environment removes nothing that exists and sets nothing.
    let change = p
        .set_severity(scope("env:prod"), Severity::High, Action::Inherit)
        .unwrap();
    assert_eq!(change.kind(), vigil_policy::ChangeKind::Unchanged);
    let high = github("GHSA-p6mc-m468-83gw");
    let (verdict, rule) = decider_of(&p, &high);
    assert_eq!(verdict, Verdict::Blocked);
    assert_eq!(rule.unwrap().0, scope("cluster:eu"));
    // Setting then inheriting again at the environment goes back to the cluster's rule.
    p.set_severity(scope("env:prod"), Severity::High, Action::Allow)
        .unwrap();
    assert_eq!(decider_of(&p, &high).0, Verdict::Allowed);
    let change = p
        .set_severity(scope("env:prod"), Severity::High, Action::Inherit)
        .unwrap();
    assert_eq!(change.kind(), vigil_policy::ChangeKind::Removed);
    assert_eq!(decider_of(&p, &high).0, Verdict::Blocked);
}

#[test]
fn app_whitelist_beats_global_block() {
    let mut p = fresh();
    p.set_severity(Scope::Global, Severity::Critical, Action::Block)
        .unwrap();
    p.add_cve(cve_rule("global", "CVE-2021-44228", CveAction::Block, None));
    p.add_cve(cve_rule(
        "app:web",
        "CVE-2021-44228",
        CveAction::Allow,
        None,
    ));
    let (verdict, rule) = decider_of(&p, &log4shell());
    assert_eq!(verdict, Verdict::Whitelisted);
    assert_eq!(
        rule,
        Some((
            scope("app:web"),
            Key::Cve("CVE-2021-44228".into()),
            Action::Allow
        ))
    );
    // The whitelist names one CVE: another critical finding stays blocked.
    let other = github("GHSA-7rjr-3q55-vv33");
    assert_eq!(other.severity, Severity::Critical);
    assert_eq!(decider_of(&p, &other).0, Verdict::Blocked);
    // Another application is still blocked by the global blacklist entry.
    let mut api = target();
    api.application = name("api");
    let ev = Evaluator::new(&p, &api, now());
    let out = ev.evaluate(&log4shell().as_ref());
    assert_eq!(out.verdict, Verdict::Blocked);
    assert!(matches!(out.rule, Some(Decider::Cve(r)) if r.scope == Scope::Global));
}

#[test]
fn app_in_env_blacklists_a_low_cve() {
    let low = debian("acl", "CVE-2009-4411");
    assert_eq!(low.severity, Severity::Low);
    let mut p = fresh();
    p.add_cve(cve_rule(
        "app:web@env:prod",
        "CVE-2009-4411",
        CveAction::Block,
        None,
    ));
    // A less specific whitelist of the same CVE loses to the more specific blacklist.
    p.add_cve(cve_rule("app:web", "CVE-2009-4411", CveAction::Allow, None));
    let (verdict, rule) = decider_of(&p, &low);
    assert_eq!(verdict, Verdict::Blocked);
    assert_eq!(rule.unwrap().0, scope("app:web@env:prod"));
    // The same application in staging gets the application's whitelist.
    let mut staging = target();
    staging.environment = name("staging");
    let ev = Evaluator::new(&p, &staging, now());
    assert_eq!(ev.evaluate(&low.as_ref()).verdict, Verdict::Whitelisted);
}

#[test]
fn ghsa_alias_hits_cve_rule() {
    // requests: GHSA-j8r2-6x86-q33q aliases CVE-2023-32681 (moderate).
    let requests = github("GHSA-j8r2-6x86-q33q");
    let mut p = fresh();
    p.set_severity(Scope::Global, Severity::Medium, Action::Block)
        .unwrap();
    // A rule on the GHSA id hits the finding whose primary id is the CVE.
    p.add_cve(cve_rule(
        "env:prod",
        "GHSA-j8r2-6x86-q33q",
        CveAction::Allow,
        None,
    ));
    let (verdict, rule) = decider_of(&p, &requests);
    assert_eq!(verdict, Verdict::Whitelisted);
    assert_eq!(rule.unwrap().1, Key::Cve("GHSA-j8r2-6x86-q33q".into()));

    // And a rule on the CVE hits a finding reported under the GHSA id (CVE as alias).
    let as_ghsa = Owned {
        id: requests.aliases[0].clone(),
        aliases: vec![requests.id.clone()],
        ..requests.clone()
    };
    let mut p = fresh();
    p.add_cve(cve_rule("global", "cve-2023-32681", CveAction::Block, None));
    let (verdict, rule) = decider_of(&p, &as_ghsa);
    assert_eq!(verdict, Verdict::Blocked);
    assert_eq!(rule.unwrap().1, Key::Cve("CVE-2023-32681".into()));
}

#[test]
fn id_and_alias_at_the_same_scope_block_wins() {
    let requests = github("GHSA-j8r2-6x86-q33q");
    for (cve, ghsa) in [
        (CveAction::Allow, CveAction::Block),
        (CveAction::Block, CveAction::Allow),
    ] {
        let mut p = fresh();
        p.add_cve(cve_rule("app:web", "CVE-2023-32681", cve, None));
        p.add_cve(cve_rule("app:web", "GHSA-j8r2-6x86-q33q", ghsa, None));
        assert_eq!(decider_of(&p, &requests).0, Verdict::Blocked);
    }
    // A more specific whitelist of the alias still beats a less specific blacklist of the id.
    let mut p = fresh();
    p.add_cve(cve_rule(
        "app:web",
        "CVE-2023-32681",
        CveAction::Block,
        None,
    ));
    p.add_cve(cve_rule(
        "app:web@env:prod",
        "GHSA-j8r2-6x86-q33q",
        CveAction::Allow,
        None,
    ));
    assert_eq!(decider_of(&p, &requests).0, Verdict::Whitelisted);
}

#[test]
fn expired_whitelist_stops_applying() {
    let mut p = fresh();
    p.set_severity(Scope::Global, Severity::Critical, Action::Block)
        .unwrap();
    p.add_cve(cve_rule(
        "app:web",
        "CVE-2021-44228",
        CveAction::Allow,
        Some(now() - days(1)),
    ));
    let ev = Evaluator::new(&p, &target(), now());
    let out = ev.evaluate(&log4shell().as_ref());
    assert_eq!(out.verdict, Verdict::Blocked);
    assert!(matches!(out.rule, Some(Decider::Severity(r)) if r.scope == Scope::Global));
    assert_eq!(out.expired.len(), 1, "the expired entry is reported");
    assert_eq!(out.expired[0].id.as_str(), "CVE-2021-44228");
    assert!(
        out.to_string()
            .contains("expired: app:web CVE-2021-44228 allow")
    );

    // One second before its expiry it still applies; at the instant itself it does not.
    let expiry = now() + days(30);
    let mut p = fresh();
    p.set_severity(Scope::Global, Severity::Critical, Action::Block)
        .unwrap();
    p.add_cve(cve_rule(
        "app:web",
        "CVE-2021-44228",
        CveAction::Allow,
        Some(expiry),
    ));
    let before = Evaluator::new(&p, &target(), expiry - std::time::Duration::from_secs(1));
    assert_eq!(
        before.evaluate(&log4shell().as_ref()).verdict,
        Verdict::Whitelisted
    );
    let at = Evaluator::new(&p, &target(), expiry);
    assert_eq!(at.evaluate(&log4shell().as_ref()).verdict, Verdict::Blocked);

    // An expired rule does not hide a live one at a less specific scope.
    p.add_cve(cve_rule("global", "CVE-2021-44228", CveAction::Allow, None));
    let at = Evaluator::new(&p, &target(), expiry);
    let out = at.evaluate(&log4shell().as_ref());
    assert_eq!(out.verdict, Verdict::Whitelisted);
    assert!(matches!(out.rule, Some(Decider::Cve(r)) if r.scope == Scope::Global));
    assert_eq!(out.expired.len(), 1);
}

#[test]
fn block_if_fixed_blocks_only_with_a_fix() {
    let fixed = debian("acl", "CVE-2009-4411");
    let open = debian("coreutils", "CVE-2016-2781");
    assert_eq!((fixed.severity, fixed.has_fix), (Severity::Low, true));
    assert_eq!((open.severity, open.has_fix), (Severity::Low, false));
    let mut p = fresh();
    p.set_severity(scope("env:prod"), Severity::Low, Action::BlockIfFixed)
        .unwrap();
    let (verdict, rule) = decider_of(&p, &fixed);
    assert_eq!(verdict, Verdict::Blocked);
    assert_eq!(
        rule,
        Some((
            scope("env:prod"),
            Key::Severity(Severity::Low),
            Action::BlockIfFixed
        ))
    );
    let (verdict, rule) = decider_of(&p, &open);
    assert_eq!(verdict, Verdict::Allowed);
    assert_eq!(
        rule.unwrap().2,
        Action::BlockIfFixed,
        "the rule is still named"
    );
}

#[test]
fn unscanned_allow_lets_a_missing_scan_through() {
    let p = fresh();
    let ev = Evaluator::new(&p, &target(), now());
    let gate = ev.gate(ScanState::Missing, []);
    assert_eq!(gate.decision, Decision::Allow);
    assert_eq!(gate.scan, vigil_policy::ScanStatus::Missing);
    let rule = gate.unscanned_rule.unwrap();
    assert_eq!(
        (&rule.scope, rule.action),
        (&Scope::Global, UnscannedAction::Allow)
    );
}

#[test]
fn unscanned_block_blocks_a_missing_scan() {
    let mut p = fresh();
    p.set_unscanned(scope("env:prod"), Some(UnscannedAction::Block))
        .unwrap();
    let ev = Evaluator::new(&p, &target(), now());
    let gate = ev.gate(ScanState::Missing, []);
    assert_eq!(gate.decision, Decision::Block);
    assert!(gate.blocked_as_unscanned());
    assert_eq!(gate.unscanned_rule.unwrap().scope, scope("env:prod"));
    // The application in this environment may opt out again.
    p.set_unscanned(scope("app:web@env:prod"), Some(UnscannedAction::Allow))
        .unwrap();
    let ev = Evaluator::new(&p, &target(), now());
    assert_eq!(ev.gate(ScanState::Missing, []).decision, Decision::Allow);
    // And a completed clean scan is never judged by the unscanned setting.
    p.set_unscanned(scope("app:web@env:prod"), None).unwrap();
    let ev = Evaluator::new(&p, &target(), now());
    let gate = ev.gate(ScanState::Completed, [log4shell().as_ref()]);
    assert_eq!(gate.decision, Decision::Allow);
    assert_eq!(gate.unscanned_rule, None);
}

#[test]
fn incomplete_scan_follows_the_unscanned_setting() {
    let reasons = vec!["no vulnerability records for Alpine:v3.20".to_owned()];
    let findings = [log4shell()];
    let mut p = fresh();
    let ev = Evaluator::new(&p, &target(), now());
    let gate = ev.gate(
        ScanState::Incomplete { reasons: &reasons },
        findings.iter().map(Owned::as_ref),
    );
    assert_eq!(gate.decision, Decision::Allow);
    assert_eq!(gate.scan, vigil_policy::ScanStatus::Incomplete);
    assert_eq!(gate.incomplete_reasons, reasons);

    p.set_unscanned(Scope::Global, Some(UnscannedAction::Block))
        .unwrap();
    let ev = Evaluator::new(&p, &target(), now());
    let gate = ev.gate(
        ScanState::Incomplete { reasons: &reasons },
        findings.iter().map(Owned::as_ref),
    );
    assert_eq!(gate.decision, Decision::Block);
    assert!(gate.blocked_as_unscanned());
    assert!(gate.blocking.is_empty(), "no finding blocks by itself");

    // Findings of an incomplete scan are still judged: a blocked one blocks too.
    p.set_unscanned(Scope::Global, Some(UnscannedAction::Allow))
        .unwrap();
    p.set_severity(Scope::Global, Severity::Critical, Action::Block)
        .unwrap();
    let ev = Evaluator::new(&p, &target(), now());
    let gate = ev.gate(
        ScanState::Incomplete { reasons: &reasons },
        findings.iter().map(Owned::as_ref),
    );
    assert_eq!(gate.decision, Decision::Block);
    assert!(!gate.blocked_as_unscanned());
    assert_eq!(gate.blocking.len(), 1);
}

#[test]
fn gate_blocks_with_the_blocking_findings_and_their_rules() {
    let findings = [
        log4shell(),
        github("GHSA-j8r2-6x86-q33q"),
        debian("acl", "CVE-2009-4411"),
        debian("coreutils", "CVE-2016-2781"),
    ];
    let mut p = fresh();
    p.set_severity(Scope::Global, Severity::Critical, Action::Block)
        .unwrap();
    p.set_severity(Scope::Global, Severity::Low, Action::BlockIfFixed)
        .unwrap();
    let ev = Evaluator::new(&p, &target(), now());
    let gate = ev.gate(ScanState::Completed, findings.iter().map(Owned::as_ref));
    assert_eq!(gate.decision, Decision::Block);
    let blocking: Vec<(usize, String)> = gate
        .blocking
        .iter()
        .map(|b| (b.index, b.outcome.to_string()))
        .collect();
    assert_eq!(
        blocking,
        [
            (0, "blocked by global severity critical block".to_owned()),
            (
                2,
                "blocked by global severity low block-if-fixed".to_owned()
            ),
        ]
    );
    insta::assert_json_snapshot!(gate);
}

#[test]
fn global_inherit_is_refused() {
    let mut p = fresh();
    let err = p
        .set_severity(Scope::Global, Severity::High, Action::Inherit)
        .unwrap_err();
    assert_eq!(
        err,
        PolicyError::GlobalInherit {
            severity: Severity::High
        }
    );
    assert_eq!(
        err.to_string(),
        "global severity rule for high cannot be inherit: the global scope has no parent to inherit from; set allow, block or block-if-fixed"
    );
    assert_eq!(p, fresh(), "nothing changed");
    assert_eq!(
        p.set_unscanned(Scope::Global, None).unwrap_err(),
        PolicyError::GlobalUnscannedInherit
    );
    assert_eq!(
        p.clear_scope(&Scope::Global).unwrap_err(),
        PolicyError::ClearGlobal
    );
}

#[test]
fn rules_of_other_targets_never_apply() {
    let mut p = fresh();
    for s in [
        "cluster:us",
        "env:staging",
        "app:api",
        "app:web@env:staging",
        "app:api@env:prod",
    ] {
        p.set_severity(scope(s), Severity::Critical, Action::Block)
            .unwrap();
        p.add_cve(cve_rule(s, "CVE-2021-44228", CveAction::Block, None));
    }
    let (verdict, rule) = decider_of(&p, &log4shell());
    assert_eq!(verdict, Verdict::Allowed);
    assert_eq!(rule.unwrap().0, Scope::Global);
}

#[test]
fn rules_that_match_no_finding_are_reported() {
    let findings = [log4shell(), github("GHSA-j8r2-6x86-q33q")];
    let mut p = fresh();
    // Matches log4shell through its GHSA alias.
    p.add_cve(cve_rule(
        "app:web",
        "GHSA-jfh8-c2jp-5v3q",
        CveAction::Allow,
        None,
    ));
    // A whitelist entry for a vulnerability the image no longer has.
    p.add_cve(cve_rule(
        "env:prod",
        "CVE-2016-2781",
        CveAction::Allow,
        None,
    ));
    // Expired, and of another application: not reported.
    p.add_cve(cve_rule(
        "global",
        "CVE-2009-4411",
        CveAction::Allow,
        Some(now() - days(1)),
    ));
    p.add_cve(cve_rule(
        "app:api",
        "CVE-2019-10906",
        CveAction::Allow,
        None,
    ));
    let ev = Evaluator::new(&p, &target(), now());
    let unmatched: Vec<String> = ev
        .unmatched(findings.iter().map(Owned::as_ref))
        .iter()
        .map(|r| format!("{} {}", r.scope, r.id))
        .collect();
    assert_eq!(unmatched, ["env:prod CVE-2016-2781"]);
}
