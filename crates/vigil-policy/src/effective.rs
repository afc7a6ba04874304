//! The effective rules at one scope (SPEC 6.2, 9.x `vigil policy show`): per severity the
//! action in force, where it comes from and whether it is set here or inherited; the
//! unscanned setting likewise; and every CVE rule that applies at the scope, marked
//! inherited, expired, or overridden by a more specific rule for the same id.

use std::borrow::Cow;
use std::collections::HashMap;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use vigil_vulndb::Severity;

use crate::policies::{Policies, sev_index};
use crate::rule::{Action, CveRule, UnscannedAction};
use crate::scope::{Name, Scope, ScopeError};

/// Where an effective setting comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// Set at the scope shown.
    Here,
    /// Taken from a less specific scope.
    Inherited,
    /// No rule at any scope (only possible for a rule set without the global defaults).
    Default,
}

/// The severity rule in force for one severity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EffectiveSeverity {
    /// The severity.
    pub severity: Severity,
    /// The action in force (`allow` when no rule exists at all).
    pub action: Action,
    /// The scope of the rule in force (`None`: no rule).
    pub from: Option<Scope>,
    /// Set here, inherited, or no rule.
    pub origin: Origin,
    /// When set here: what would be inherited without this scope's rule (`None` when there
    /// is nothing to inherit, at the global scope).
    pub overrides: Option<Action>,
}

/// The unscanned setting in force.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EffectiveUnscanned {
    /// The action in force (`allow` when no rule exists at all).
    pub action: UnscannedAction,
    /// The scope of the setting in force.
    pub from: Option<Scope>,
    /// Set here, inherited, or no rule.
    pub origin: Origin,
    /// When set here: what would be inherited without it.
    pub overrides: Option<UnscannedAction>,
}

/// A CVE rule that applies at the scope shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EffectiveCve<'p> {
    /// The rule: borrowed from the [`Policies`] it was computed from, owned when read back
    /// from JSON (the CLI reading a server's answer).
    pub rule: Cow<'p, CveRule>,
    /// Set here or inherited.
    pub origin: Origin,
    /// Expired: it no longer applies (SPEC 6.5).
    pub expired: bool,
    /// A live rule for the same id at a more specific scope that takes precedence over this
    /// one (`None` for the rule in force, and for expired rules).
    pub overridden_by: Option<Scope>,
}

/// The effective rules at one scope. JSON: `{"scope", "lineage": [scopes, least specific
/// first], "severities": [..., critical first], "unscanned", "cve_rules": [... by id, most
/// specific first]}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Effective<'p> {
    /// The scope shown.
    pub scope: Scope,
    /// The scopes it inherits from, least specific first, ending with itself.
    pub lineage: Vec<Scope>,
    /// One entry per severity, critical first.
    pub severities: Vec<EffectiveSeverity>,
    /// The unscanned setting.
    pub unscanned: EffectiveUnscanned,
    /// The CVE rules of every scope in the lineage, by id, then most specific first.
    pub cve_rules: Vec<EffectiveCve<'p>>,
}

/// The effective rules at `scope`, as of `now`. `env_cluster` is the cluster of the scope's
/// environment, required for `env:E` and `app:A@env:E` ([`Scope::lineage`]).
pub fn effective<'p>(
    policies: &'p Policies,
    scope: &Scope,
    env_cluster: Option<&Name>,
    now: SystemTime,
) -> Result<Effective<'p>, ScopeError> {
    let lineage = scope.lineage(env_cluster)?;
    let here = lineage.len() - 1;

    let severities = Severity::ALL
        .iter()
        .rev()
        .map(|&severity| {
            let set: Vec<(usize, Action)> = lineage
                .iter()
                .enumerate()
                .filter_map(|(i, s)| Some((i, policies.severity.get(s)?[sev_index(severity)]?)))
                .collect();
            match set.last() {
                None => EffectiveSeverity {
                    severity,
                    action: Action::Allow,
                    from: None,
                    origin: Origin::Default,
                    overrides: None,
                },
                Some(&(i, action)) => EffectiveSeverity {
                    severity,
                    action,
                    from: Some(lineage[i].clone()),
                    origin: if i == here {
                        Origin::Here
                    } else {
                        Origin::Inherited
                    },
                    overrides: if i == here {
                        set.len().checked_sub(2).map(|j| set[j].1)
                    } else {
                        None
                    },
                },
            }
        })
        .collect();

    let set: Vec<(usize, UnscannedAction)> = lineage
        .iter()
        .enumerate()
        .filter_map(|(i, s)| Some((i, *policies.unscanned.get(s)?)))
        .collect();
    let unscanned = match set.last() {
        None => EffectiveUnscanned {
            action: UnscannedAction::Allow,
            from: None,
            origin: Origin::Default,
            overrides: None,
        },
        Some(&(i, action)) => EffectiveUnscanned {
            action,
            from: Some(lineage[i].clone()),
            origin: if i == here {
                Origin::Here
            } else {
                Origin::Inherited
            },
            overrides: if i == here {
                set.len().checked_sub(2).map(|j| set[j].1)
            } else {
                None
            },
        },
    };

    // The rule in force per id: the most specific live one.
    let mut in_force: HashMap<&str, &Scope> = HashMap::new();
    for s in &lineage {
        for rule in policies.cve_rules_at(s) {
            if !rule.is_expired(now) {
                in_force.insert(rule.id.as_str(), &rule.scope);
            }
        }
    }
    let mut cve_rules: Vec<EffectiveCve<'p>> = lineage
        .iter()
        .flat_map(|s| policies.cve_rules_at(s))
        .map(|rule| {
            let expired = rule.is_expired(now);
            let winner = in_force.get(rule.id.as_str()).copied();
            EffectiveCve {
                rule: Cow::Borrowed(rule),
                origin: if rule.scope == *scope {
                    Origin::Here
                } else {
                    Origin::Inherited
                },
                expired,
                overridden_by: winner.filter(|w| !expired && **w != rule.scope).cloned(),
            }
        })
        .collect();
    cve_rules.sort_by(|a, b| {
        a.rule
            .id
            .cmp(&b.rule.id)
            .then_with(|| b.rule.scope.level().cmp(&a.rule.scope.level()))
    });

    Ok(Effective {
        scope: scope.clone(),
        lineage,
        severities,
        unscanned,
        cve_rules,
    })
}
