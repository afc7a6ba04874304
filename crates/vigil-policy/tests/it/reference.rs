//! Property test: a brute-force reference evaluator, written here from SPEC 6.3 without any
//! indexing (it scans every rule for every finding and knows scopes only by their text),
//! agrees with the crate on random rule sets over random scope trees and random findings.
//! The rule set is built by random mutations applied to both the crate's `Policies` and a
//! plain list of rules, so the mutation semantics (inherit removes, global inherit refused,
//! a CVE rule replaces the one of the same scope and id) are checked on the way.

use std::time::SystemTime;

use proptest::prelude::*;
use vigil_policy::{
    Action, CveAction, CveRule, Decision, Evaluator, FindingRef, Policies, Rule, ScanState, Scope,
    Severity, Target, UnscannedAction, Verdict, VulnId, effective,
};

use crate::support::{days, name, now, scope};

/// Real ids from the shared fixtures: two GHSA/CVE pairs, a PYSEC, a Debian CVE and its
/// osv.dev id.
const IDS: [&str; 7] = [
    "CVE-2023-32681",
    "GHSA-j8r2-6x86-q33q",
    "PYSEC-2023-74",
    "CVE-2021-44228",
    "GHSA-jfh8-c2jp-5v3q",
    "CVE-2016-2781",
    "DEBIAN-CVE-2016-2781",
];
const CLUSTERS: [&str; 2] = ["c0", "c1"];
const ENVS: [&str; 4] = ["e0", "e1", "e2", "e3"];
const APPS: [&str; 3] = ["a0", "a1", "a2"];

/// Every scope of the tree, as text.
fn all_scopes() -> Vec<String> {
    let mut out = vec!["global".to_owned()];
    out.extend(CLUSTERS.iter().map(|c| format!("cluster:{c}")));
    out.extend(ENVS.iter().map(|e| format!("env:{e}")));
    out.extend(APPS.iter().map(|a| format!("app:{a}")));
    for a in APPS {
        for e in ENVS {
            out.push(format!("app:{a}@env:{e}"));
        }
    }
    out
}

#[derive(Clone, Debug)]
enum Op {
    Severity(usize, Severity, Action),
    AddCve(usize, usize, CveAction, u8),
    RemoveCve(usize, usize),
    Unscanned(usize, Option<UnscannedAction>),
}

fn severity() -> impl Strategy<Value = Severity> {
    prop::sample::select(Severity::ALL.to_vec())
}

fn op(n_scopes: usize) -> impl Strategy<Value = Op> {
    let s = 0..n_scopes;
    prop_oneof![
        4 => (s.clone(), severity(), prop::sample::select(Action::ALL.to_vec()))
            .prop_map(|(s, v, a)| Op::Severity(s, v, a)),
        4 => (s.clone(), 0..IDS.len(), prop::sample::select(CveAction::ALL.to_vec()), 0u8..4)
            .prop_map(|(s, i, a, e)| Op::AddCve(s, i, a, e)),
        1 => (s.clone(), 0..IDS.len()).prop_map(|(s, i)| Op::RemoveCve(s, i)),
        1 => (s, prop::option::of(prop::sample::select(UnscannedAction::ALL.to_vec())))
            .prop_map(|(s, a)| Op::Unscanned(s, a)),
    ]
}

#[derive(Clone, Debug)]
struct Find {
    ids: Vec<VulnId>,
    severity: Severity,
    has_fix: bool,
}

fn finding() -> impl Strategy<Value = Find> {
    (
        prop::sample::subsequence(IDS.to_vec(), 1..=3).prop_shuffle(),
        severity(),
        any::<bool>(),
    )
        .prop_map(|(ids, severity, has_fix)| Find {
            ids: ids.into_iter().map(VulnId::new).collect(),
            severity,
            has_fix,
        })
}

/// A verdict, the deciding rule as (scope, key text, action), the expired rules for the
/// finding's ids as (scope, id).
type Judged = (
    Verdict,
    Option<(String, String, Action)>,
    Vec<(String, String)>,
);

/// The reference's rule list: (scope text, rule) for each kind.
#[derive(Default)]
struct Reference {
    severity: Vec<(String, Severity, Action)>,
    cve: Vec<CveRule>,
    unscanned: Vec<(String, UnscannedAction)>,
}

impl Reference {
    fn fresh() -> Self {
        let mut r = Self::default();
        for s in Severity::ALL {
            r.severity.push(("global".into(), s, Action::Allow));
        }
        r.unscanned.push(("global".into(), UnscannedAction::Allow));
        r
    }

    /// Applies `op`; returns whether it must be refused.
    fn apply(&mut self, op: &Op, scopes: &[String], rule: Option<&CveRule>) -> bool {
        match op {
            Op::Severity(s, sev, action) => {
                let at = &scopes[*s];
                if at == "global" && *action == Action::Inherit {
                    return true;
                }
                self.severity.retain(|(x, v, _)| !(x == at && v == sev));
                if *action != Action::Inherit {
                    self.severity.push((at.clone(), *sev, *action));
                }
                false
            }
            Op::AddCve(..) => {
                let rule = rule.unwrap().clone();
                self.cve
                    .retain(|r| !(r.scope == rule.scope && r.id == rule.id));
                self.cve.push(rule);
                false
            }
            Op::RemoveCve(s, i) => {
                let before = self.cve.len();
                self.cve
                    .retain(|r| !(r.scope.to_string() == scopes[*s] && r.id.as_str() == IDS[*i]));
                before == self.cve.len()
            }
            Op::Unscanned(s, action) => {
                let at = &scopes[*s];
                if at == "global" && action.is_none() {
                    return true;
                }
                self.unscanned.retain(|(x, _)| x != at);
                if let Some(a) = action {
                    self.unscanned.push((at.clone(), *a));
                }
                false
            }
        }
    }

    /// Rank of a scope for the target (0 = global .. 4), `None` when it does not apply.
    fn rank(chain: &[String; 5], scope: &str) -> Option<usize> {
        chain.iter().position(|c| c == scope)
    }

    /// SPEC 6.3 by brute force: (verdict, deciding rule as (scope, key text, action), the
    /// expired rules for the finding's ids as (scope, id)).
    fn evaluate(&self, chain: &[String; 5], f: &Find, now: SystemTime) -> Judged {
        let mut best: Option<(usize, bool, usize, &CveRule)> = None;
        let mut expired = Vec::new();
        for rule in &self.cve {
            let Some(rank) = Self::rank(chain, &rule.scope.to_string()) else {
                continue;
            };
            let Some(pos) = f.ids.iter().position(|id| *id == rule.id) else {
                continue;
            };
            if rule.expires.is_some_and(|e| e <= now) {
                expired.push((rule.scope.to_string(), rule.id.to_string()));
                continue;
            }
            let key = (
                rank,
                rule.action == CveAction::Block,
                usize::MAX - pos,
                rule,
            );
            if best.is_none_or(|b| (key.0, key.1, key.2) > (b.0, b.1, b.2)) {
                best = Some(key);
            }
        }
        expired.sort();
        if let Some((_, _, _, rule)) = best {
            let verdict = match rule.action {
                CveAction::Allow => Verdict::Whitelisted,
                CveAction::Block => Verdict::Blocked,
            };
            let decider = (
                rule.scope.to_string(),
                rule.id.to_string(),
                rule.action.into(),
            );
            return (verdict, Some(decider), expired);
        }
        let sev = self
            .severity
            .iter()
            .filter(|(_, v, _)| *v == f.severity)
            .filter_map(|(s, _, a)| Some((Self::rank(chain, s)?, s, *a)))
            .max_by_key(|(rank, _, _)| *rank);
        match sev {
            None => (Verdict::Allowed, None, expired),
            Some((_, s, action)) => {
                let blocked =
                    action == Action::Block || (action == Action::BlockIfFixed && f.has_fix);
                let verdict = if blocked {
                    Verdict::Blocked
                } else {
                    Verdict::Allowed
                };
                (
                    verdict,
                    Some((s.clone(), format!("severity {}", f.severity), action)),
                    expired,
                )
            }
        }
    }

    fn unscanned(&self, chain: &[String; 5]) -> UnscannedAction {
        self.unscanned
            .iter()
            .filter_map(|(s, a)| Some((Self::rank(chain, s)?, *a)))
            .max_by_key(|(rank, _)| *rank)
            .map_or(UnscannedAction::Allow, |(_, a)| a)
    }
}

fn expiry(choice: u8) -> Option<SystemTime> {
    match choice {
        0 => None,
        1 => Some(now() - days(1)),
        2 => Some(now()),
        _ => Some(now() + days(1)),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn crate_agrees_with_brute_force_reference(
        env_cluster in prop::collection::vec(0..CLUSTERS.len(), ENVS.len()),
        ops in prop::collection::vec(op(22), 0..60),
        findings in prop::collection::vec(finding(), 1..20),
        (env, app) in (0..ENVS.len(), 0..APPS.len()),
        scan in 0u8..3,
    ) {
        let scopes = all_scopes();
        prop_assert_eq!(scopes.len(), 22);
        let mut policies = Policies::default();
        let mut reference = Reference::fresh();
        for op in &ops {
            let rule = match op {
                Op::AddCve(s, i, a, e) => Some(
                    CveRule::new(scope(&scopes[*s]), IDS[*i], *a, "bob", "triage", now() - days(7), expiry(*e))
                        .unwrap()
                        .0,
                ),
                _ => None,
            };
            let refused = reference.apply(op, &scopes, rule.as_ref());
            let result = match op {
                Op::Severity(s, v, a) => policies.set_severity(scope(&scopes[*s]), *v, *a).map(|_| ()),
                Op::AddCve(..) => {
                    policies.add_cve(rule.unwrap());
                    Ok(())
                }
                Op::RemoveCve(s, i) => policies.remove_cve(&scope(&scopes[*s]), IDS[*i]).map(|_| ()),
                Op::Unscanned(s, a) => policies.set_unscanned(scope(&scopes[*s]), *a).map(|_| ()),
            };
            prop_assert_eq!(result.is_err(), refused, "{:?}", op);
        }

        // What the store writes and reads back is the same rule set.
        let rules: Vec<Rule> = policies.rules().collect();
        let json = serde_json::to_string(&rules).unwrap();
        let back: Vec<Rule> = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&Policies::from_rules(back).unwrap(), &policies);

        let target = Target {
            cluster: name(CLUSTERS[env_cluster[env]]),
            environment: name(ENVS[env]),
            application: name(APPS[app]),
        };
        let chain = [
            "global".to_owned(),
            format!("cluster:{}", CLUSTERS[env_cluster[env]]),
            format!("env:{}", ENVS[env]),
            format!("app:{}", APPS[app]),
            format!("app:{}@env:{}", APPS[app], ENVS[env]),
        ];
        let evaluator = Evaluator::new(&policies, &target, now());
        let mut any_blocked = false;
        for f in &findings {
            let view = FindingRef { id: &f.ids[0], aliases: &f.ids[1..], severity: f.severity, has_fix: f.has_fix };
            let got = evaluator.evaluate(&view);
            let want = reference.evaluate(&chain, f, now());
            any_blocked |= want.0 == Verdict::Blocked;
            let got_rule = got.rule.map(|r| (r.scope().to_string(), r.key().to_string(), r.action()));
            let mut got_expired: Vec<(String, String)> =
                got.expired.iter().map(|r| (r.scope.to_string(), r.id.to_string())).collect();
            got_expired.sort();
            prop_assert_eq!((got.verdict, got_rule, got_expired), want, "{:?}", f);
        }

        // The gate.
        let reasons = vec!["a detector failed".to_owned()];
        let state = match scan {
            0 => ScanState::Completed,
            1 => ScanState::Incomplete { reasons: &reasons },
            _ => ScanState::Missing,
        };
        let views = findings.iter().map(|f| FindingRef { id: &f.ids[0], aliases: &f.ids[1..], severity: f.severity, has_fix: f.has_fix });
        let gate = evaluator.gate(state, views);
        let unscanned_blocks = scan != 0 && reference.unscanned(&chain) == UnscannedAction::Block;
        let findings_block = scan != 2 && any_blocked;
        let want = if unscanned_blocks || findings_block { Decision::Block } else { Decision::Allow };
        prop_assert_eq!(gate.decision, want);

        // `policy show` at the target's most specific scope agrees on severities.
        let shown = effective(&policies, &scope(&chain[4]), Some(&target.cluster), now()).unwrap();
        prop_assert_eq!(&shown.lineage.iter().map(|s| s.to_string()).collect::<Vec<_>>(), &chain.to_vec());
        for e in &shown.severities {
            let probe = Find { ids: vec![VulnId::new("CVE-1999-0001")], severity: e.severity, has_fix: true };
            let (_, rule, _) = reference.evaluate(&chain, &probe, now());
            let (s, _, a) = rule.unwrap();
            prop_assert_eq!((e.from.as_ref().map(Scope::to_string), e.action), (Some(s), a));
        }
        prop_assert_eq!(shown.unscanned.action, reference.unscanned(&chain));
        // And on CVE rules: every rule of the lineage, expired ones marked, the others
        // overridden by the most specific live rule of their id when that is another rule.
        let mut want_cves: Vec<(String, String, bool, Option<String>)> = Vec::new();
        for rule in &reference.cve {
            let Some(rank) = Reference::rank(&chain, &rule.scope.to_string()) else {
                continue;
            };
            let expired = rule.expires.is_some_and(|e| e <= now());
            let winner = reference
                .cve
                .iter()
                .filter(|r| r.id == rule.id && r.expires.is_none_or(|e| e > now()))
                .filter_map(|r| Some((Reference::rank(&chain, &r.scope.to_string())?, r)))
                .max_by_key(|(rank, _)| *rank);
            let overridden = match winner {
                Some((w, r)) if !expired && w != rank => Some(r.scope.to_string()),
                _ => None,
            };
            want_cves.push((rule.scope.to_string(), rule.id.to_string(), expired, overridden));
        }
        let mut got_cves: Vec<(String, String, bool, Option<String>)> = shown
            .cve_rules
            .iter()
            .map(|c| (c.rule.scope.to_string(), c.rule.id.to_string(), c.expired, c.overridden_by.as_ref().map(Scope::to_string)))
            .collect();
        want_cves.sort();
        got_cves.sort();
        prop_assert_eq!(got_cves, want_cves);
    }
}
