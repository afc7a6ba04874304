//! The set of all rules, its validated mutations and the audit log's entry (SPEC 6.4, 6.5).
//!
//! Every mutation returns a [`Change`] (scope, key, the rule before and after) which the
//! store writes to the append-only audit log as an [`AuditEntry`], in the same transaction
//! as the change itself. The store persists the rules by `(scope, key)`: `after` is `None`
//! when the rule is gone.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::BuildHasherDefault;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use vigil_vulndb::{Severity, VulnId};

use crate::hash::IdHasher;
use crate::rule::{
    Action, CveRule, Key, Rule, RuleError, SeverityRule, UnscannedAction, UnscannedRule, check_id,
};
use crate::scope::Scope;
use crate::time;

/// CVE rules by id; each id's rules sorted by scope, never empty. By id because evaluation
/// looks rules up by the ids of findings (see [`crate::Evaluator`]).
pub(crate) type CveIndex = HashMap<String, Vec<CveRule>, BuildHasherDefault<IdHasher>>;

/// Index of a severity in per-severity arrays: [`Severity::ALL`] order, unknown first.
pub(crate) fn sev_index(s: Severity) -> usize {
    match s {
        Severity::Unknown => 0,
        Severity::Low => 1,
        Severity::Medium => 2,
        Severity::High => 3,
        Severity::Critical => 4,
    }
}

/// Every rule of every scope.
///
/// [`Policies::default`] is a fresh install (SPEC 6.4): global `allow` for every severity and
/// global `unscanned` `allow`. The global severity and unscanned rules always exist: they
/// can be changed but not removed (set to inherit), so every lookup ends somewhere.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policies {
    /// Severity rules per scope, indexed by [`sev_index`]; `None` = inherit.
    pub(crate) severity: BTreeMap<Scope, [Option<Action>; 5]>,
    /// CVE rules by id.
    pub(crate) cve: CveIndex,
    /// Unscanned settings per scope.
    pub(crate) unscanned: BTreeMap<Scope, UnscannedAction>,
}

impl Default for Policies {
    fn default() -> Self {
        Self {
            severity: BTreeMap::from([(Scope::Global, [Some(Action::Allow); 5])]),
            cve: CveIndex::default(),
            unscanned: BTreeMap::from([(Scope::Global, UnscannedAction::Allow)]),
        }
    }
}

/// What a mutation changed: the store applies `after` at `(scope, key)` and logs the whole.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The scope of the rule.
    pub scope: Scope,
    /// The key of the rule within its scope.
    pub key: Key,
    /// The rule before, `None` when there was none (inherited).
    pub before: Option<Rule>,
    /// The rule after, `None` when there is none now (inherited).
    pub after: Option<Rule>,
}

/// The kind of a [`Change`], derived from `before` and `after`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    /// A rule where there was none.
    Added,
    /// A rule replaced by a different one.
    Changed,
    /// A rule removed.
    Removed,
    /// Nothing changed (the same rule set again, or inherit where nothing was set).
    Unchanged,
}

impl ChangeKind {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "added",
            Self::Changed => "changed",
            Self::Removed => "removed",
            Self::Unchanged => "unchanged",
        }
    }
}

impl fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Change {
    /// Added, changed, removed or unchanged.
    pub fn kind(&self) -> ChangeKind {
        match (&self.before, &self.after) {
            (None, Some(_)) => ChangeKind::Added,
            (Some(_), None) => ChangeKind::Removed,
            (Some(b), Some(a)) if b != a => ChangeKind::Changed,
            _ => ChangeKind::Unchanged,
        }
    }
}

/// One row of the append-only policy audit log (SPEC 6.5): who changed what, when, and the
/// rule before and after. JSON:
///
/// ```text
/// { "who": "alice", "when": "2026-11-25T15:00:00Z", "scope": "app:web@env:prod",
///   "key": {"severity": "critical"} | {"cve": "CVE-…"} | "unscanned",
///   "change": "added|changed|removed|unchanged",
///   "before": null | Rule, "after": null | Rule }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Who made the change (a user or token name).
    pub who: String,
    /// When.
    #[serde(with = "time::rfc3339")]
    pub when: SystemTime,
    /// The scope of the rule.
    pub scope: Scope,
    /// The key of the rule within its scope.
    pub key: Key,
    /// Added, changed, removed or unchanged.
    pub change: ChangeKind,
    /// The rule before.
    pub before: Option<Rule>,
    /// The rule after.
    pub after: Option<Rule>,
}

impl AuditEntry {
    /// The audit entry of `change`, made by `who` at `when`.
    pub fn new(who: impl Into<String>, when: SystemTime, change: Change) -> Self {
        Self {
            who: who.into(),
            when,
            change: change.kind(),
            scope: change.scope,
            key: change.key,
            before: change.before,
            after: change.after,
        }
    }
}

/// A refused policy change, or a problem in a stored rule set.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// Global severity rules cannot be inherit (SPEC 6.4).
    #[error(
        "global severity rule for {severity} cannot be inherit: the global scope has no parent to inherit from; set allow, block or block-if-fixed"
    )]
    GlobalInherit {
        /// The severity.
        severity: Severity,
    },
    /// The global unscanned setting cannot be removed.
    #[error(
        "global unscanned setting cannot be inherit: the global scope has no parent to inherit from; set allow or block"
    )]
    GlobalUnscannedInherit,
    /// The global scope's rules cannot be cleared as a whole.
    #[error("the global scope cannot be cleared: its severity and unscanned rules always exist")]
    ClearGlobal,
    /// No CVE rule to remove.
    #[error("no CVE rule for {id} at {scope}")]
    NoSuchCveRule {
        /// The scope.
        scope: Scope,
        /// The id.
        id: String,
    },
    /// A stored rule set holds two rules with the same scope and key.
    #[error("two rules for {key} at {scope}")]
    Duplicate {
        /// The scope.
        scope: Scope,
        /// The key.
        key: Key,
    },
    /// A stored rule set holds an inherit rule (inherit is the absence of a rule).
    #[error(
        "stored severity rule for {severity} at {scope} is inherit: inherit is stored as no rule"
    )]
    StoredInherit {
        /// The scope.
        scope: Scope,
        /// The severity.
        severity: Severity,
    },
    /// An invalid rule.
    #[error(transparent)]
    Rule(#[from] RuleError),
}

/// Every problem found in a stored rule set, reported at once.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{} problem(s) in the stored policy rules: {}", .0.len(), join(.0))]
pub struct LoadError(pub Vec<PolicyError>);

fn join(problems: &[PolicyError]) -> String {
    problems
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

impl Policies {
    /// The stored rules on top of the defaults of a fresh install. Every problem (two rules
    /// for one key, a stored inherit) is reported at once.
    pub fn from_rules(rules: impl IntoIterator<Item = Rule>) -> Result<Self, LoadError> {
        let mut p = Self::default();
        let mut seen_global = [false; 5];
        let mut seen_global_unscanned = false;
        let mut problems = Vec::new();
        for rule in rules {
            let dup = PolicyError::Duplicate {
                scope: rule.scope().clone(),
                key: rule.key(),
            };
            match rule {
                Rule::Severity(SeverityRule {
                    scope,
                    severity,
                    action,
                }) => {
                    if action == Action::Inherit {
                        problems.push(PolicyError::StoredInherit { scope, severity });
                        continue;
                    }
                    let i = sev_index(severity);
                    let slot = &mut p.severity.entry(scope.clone()).or_insert([None; 5])[i];
                    let seen = if scope == Scope::Global {
                        std::mem::replace(&mut seen_global[i], true)
                    } else {
                        slot.is_some()
                    };
                    if seen {
                        problems.push(dup);
                    } else {
                        *slot = Some(action);
                    }
                }
                Rule::Cve(rule) => {
                    if let Err(e) = rule.validate() {
                        problems.push(e.into());
                        continue;
                    }
                    let rules = p.cve.entry(rule.id.to_string()).or_default();
                    match rules.binary_search_by(|r| r.scope.cmp(&rule.scope)) {
                        Ok(_) => problems.push(dup),
                        Err(i) => rules.insert(i, rule),
                    }
                }
                Rule::Unscanned(UnscannedRule { scope, action }) => {
                    let seen = if scope == Scope::Global {
                        std::mem::replace(&mut seen_global_unscanned, true)
                    } else {
                        p.unscanned.contains_key(&scope)
                    };
                    if seen {
                        problems.push(dup);
                    } else {
                        p.unscanned.insert(scope, action);
                    }
                }
            }
        }
        if problems.is_empty() {
            Ok(p)
        } else {
            Err(LoadError(problems))
        }
    }

    /// Sets the severity rule for `severity` at `scope`. `inherit` removes the rule (refused
    /// at the global scope: [`PolicyError::GlobalInherit`]).
    pub fn set_severity(
        &mut self,
        scope: Scope,
        severity: Severity,
        action: Action,
    ) -> Result<Change, PolicyError> {
        if scope == Scope::Global && action == Action::Inherit {
            return Err(PolicyError::GlobalInherit { severity });
        }
        let i = sev_index(severity);
        let rule = |action: Action| {
            Rule::Severity(SeverityRule {
                scope: scope.clone(),
                severity,
                action,
            })
        };
        let before = self.severity_rule(&scope, severity);
        let after = (action != Action::Inherit).then_some(action);
        match after {
            Some(a) => self.severity.entry(scope.clone()).or_insert([None; 5])[i] = Some(a),
            None => {
                if let Some(slots) = self.severity.get_mut(&scope) {
                    slots[i] = None;
                    if slots.iter().all(Option::is_none) {
                        self.severity.remove(&scope);
                    }
                }
            }
        }
        Ok(Change {
            key: Key::Severity(severity),
            before: before.map(rule),
            after: after.map(rule),
            scope,
        })
    }

    /// Adds a CVE rule, replacing the rule for the same id at the same scope if there is one.
    /// The rule is one built by [`CveRule::new`] (or checked with [`CveRule::validate`]).
    pub fn add_cve(&mut self, rule: CveRule) -> Change {
        let scope = rule.scope.clone();
        let key = Key::Cve(rule.id.clone());
        let rules = self.cve.entry(rule.id.to_string()).or_default();
        let before = match rules.binary_search_by(|r| r.scope.cmp(&scope)) {
            Ok(i) => Some(std::mem::replace(&mut rules[i], rule.clone())),
            Err(i) => {
                rules.insert(i, rule.clone());
                None
            }
        };
        Change {
            scope,
            key,
            before: before.map(Rule::Cve),
            after: Some(Rule::Cve(rule)),
        }
    }

    /// Removes the CVE rule for `id` at `scope` (the id in any case: it is canonicalised as
    /// [`check_id`] does).
    pub fn remove_cve(&mut self, scope: &Scope, id: &str) -> Result<Change, PolicyError> {
        let (canonical, _) = check_id(id)?;
        let missing = || PolicyError::NoSuchCveRule {
            scope: scope.clone(),
            id: id.to_owned(),
        };
        let rules = self.cve.get_mut(canonical.as_str()).ok_or_else(missing)?;
        let i = rules
            .binary_search_by(|r| r.scope.cmp(scope))
            .map_err(|_| missing())?;
        let before = rules.remove(i);
        if rules.is_empty() {
            self.cve.remove(canonical.as_str());
        }
        Ok(Change {
            scope: scope.clone(),
            key: Key::Cve(canonical),
            before: Some(Rule::Cve(before)),
            after: None,
        })
    }

    /// Sets the unscanned setting at `scope`; `None` removes it (inherit), refused at the
    /// global scope ([`PolicyError::GlobalUnscannedInherit`]).
    pub fn set_unscanned(
        &mut self,
        scope: Scope,
        action: Option<UnscannedAction>,
    ) -> Result<Change, PolicyError> {
        if scope == Scope::Global && action.is_none() {
            return Err(PolicyError::GlobalUnscannedInherit);
        }
        let before = match action {
            Some(a) => self.unscanned.insert(scope.clone(), a),
            None => self.unscanned.remove(&scope),
        };
        let rule = |action| {
            Rule::Unscanned(UnscannedRule {
                scope: scope.clone(),
                action,
            })
        };
        Ok(Change {
            key: Key::Unscanned,
            before: before.map(rule),
            after: action.map(rule),
            scope,
        })
    }

    /// Removes every rule at `scope` (when its cluster, environment or application is
    /// removed), returning one change per removed rule. Refused for the global scope.
    pub fn clear_scope(&mut self, scope: &Scope) -> Result<Vec<Change>, PolicyError> {
        if *scope == Scope::Global {
            return Err(PolicyError::ClearGlobal);
        }
        let before: Vec<Rule> = self.rules_at(scope).collect();
        self.severity.remove(scope);
        self.cve.retain(|_, rules| {
            rules.retain(|r| r.scope != *scope);
            !rules.is_empty()
        });
        self.unscanned.remove(scope);
        Ok(before
            .into_iter()
            .map(|r| Change {
                scope: scope.clone(),
                key: r.key(),
                before: Some(r),
                after: None,
            })
            .collect())
    }

    /// The severity rule's action for `severity` set at `scope` itself (`None` = inherit).
    pub fn severity_rule(&self, scope: &Scope, severity: Severity) -> Option<Action> {
        self.severity.get(scope)?[sev_index(severity)]
    }

    /// The CVE rule for `id` (canonical) set at `scope` itself.
    pub fn cve_rule(&self, scope: &Scope, id: &VulnId) -> Option<&CveRule> {
        let rules = self.cve.get(id.as_str())?;
        let i = rules.binary_search_by(|r| r.scope.cmp(scope)).ok()?;
        Some(&rules[i])
    }

    /// The CVE rules set at `scope` itself, by id.
    pub fn cve_rules_at(&self, scope: &Scope) -> impl Iterator<Item = &CveRule> {
        let mut at: Vec<&CveRule> = self
            .cve
            .values()
            .flatten()
            .filter(|r| r.scope == *scope)
            .collect();
        at.sort_by(|a, b| a.id.cmp(&b.id));
        at.into_iter()
    }

    /// The unscanned setting at `scope` itself (`None` = inherit).
    pub fn unscanned_rule(&self, scope: &Scope) -> Option<UnscannedAction> {
        self.unscanned.get(scope).copied()
    }

    /// Every severity rule, by scope then severity (unknown first).
    pub fn severity_rules(&self) -> impl Iterator<Item = SeverityRule> + '_ {
        self.severity.iter().flat_map(|(scope, slots)| {
            Severity::ALL.iter().filter_map(move |&severity| {
                slots[sev_index(severity)].map(|action| SeverityRule {
                    scope: scope.clone(),
                    severity,
                    action,
                })
            })
        })
    }

    /// Every CVE rule, by scope then id.
    pub fn cve_rules(&self) -> impl Iterator<Item = &CveRule> {
        let mut all: Vec<&CveRule> = self.cve.values().flatten().collect();
        all.sort_by(|a, b| a.scope.cmp(&b.scope).then_with(|| a.id.cmp(&b.id)));
        all.into_iter()
    }

    /// Every unscanned rule, by scope.
    pub fn unscanned_rules(&self) -> impl Iterator<Item = UnscannedRule> + '_ {
        self.unscanned.iter().map(|(scope, &action)| UnscannedRule {
            scope: scope.clone(),
            action,
        })
    }

    /// Every rule: severity rules, then CVE rules, then unscanned rules.
    pub fn rules(&self) -> impl Iterator<Item = Rule> + '_ {
        self.severity_rules()
            .map(Rule::Severity)
            .chain(self.cve_rules().cloned().map(Rule::Cve))
            .chain(self.unscanned_rules().map(Rule::Unscanned))
    }

    /// Every rule set at `scope` itself.
    pub fn rules_at<'a>(&'a self, scope: &'a Scope) -> impl Iterator<Item = Rule> + 'a {
        let sev = self.severity.get(scope).into_iter().flat_map(move |slots| {
            Severity::ALL.iter().filter_map(move |&severity| {
                slots[sev_index(severity)].map(|action| {
                    Rule::Severity(SeverityRule {
                        scope: scope.clone(),
                        severity,
                        action,
                    })
                })
            })
        });
        sev.chain(self.cve_rules_at(scope).cloned().map(Rule::Cve))
            .chain(self.unscanned_rule(scope).map(|action| {
                Rule::Unscanned(UnscannedRule {
                    scope: scope.clone(),
                    action,
                })
            }))
    }
}
