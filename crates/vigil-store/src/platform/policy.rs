//! Policy rules in the database (SPEC 6): how a `vigil-policy` rule becomes a row and back,
//! and what an edit is.
//!
//! The rules live one per row, keyed by `(scope, kind, key)`; the evaluator gets them all
//! as one [`Policies`] value ([`Platform::policies`](super::Platform::policies)). An edit is
//! applied by `vigil-policy` itself to the rules of its scope, read inside the write
//! transaction, so the validation (no global inherit, reasons required, ...) and the
//! before/after of the audit entry are exactly the crate's; the store writes the rule that
//! results and the audit row in that same transaction.

use std::time::SystemTime;

use vigil_policy::{
    Action, AuditEntry, Change, ChangeKind, CveAction, CveRule, Key, Policies, Rule, Scope,
    Severity, SeverityRule, UnscannedAction, UnscannedRule, VulnId,
};

use super::error::{Error, Kind};
use super::sql::from_unix;
use super::to_unix;

/// One policy change, as `vigil policy ...` and the API ask for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyEdit {
    /// Sets the severity rule for `severity` at `scope`; `inherit` removes it (refused at
    /// the global scope).
    SetSeverity {
        scope: Scope,
        severity: Severity,
        action: Action,
    },
    /// Adds a CVE rule, replacing the one for the same id at the same scope.
    AddCve(CveRule),
    /// Removes the CVE rule for `id` at `scope`.
    RemoveCve { scope: Scope, id: String },
    /// Sets the unscanned setting at `scope`; `None` removes it (refused at the global scope).
    SetUnscanned {
        scope: Scope,
        action: Option<UnscannedAction>,
    },
    /// Removes every rule at `scope` (before removing its cluster, environment or
    /// application); one audit entry per rule. Refused for the global scope.
    ClearScope(Scope),
}

impl PolicyEdit {
    /// The scope it changes.
    pub fn scope(&self) -> &Scope {
        match self {
            Self::SetSeverity { scope, .. }
            | Self::RemoveCve { scope, .. }
            | Self::SetUnscanned { scope, .. }
            | Self::ClearScope(scope) => scope,
            Self::AddCve(rule) => &rule.scope,
        }
    }

    /// Applies the edit to `policies` (the rules of its scope), as `vigil-policy` does.
    pub(crate) fn apply(self, policies: &mut Policies) -> Result<Vec<Change>, Error> {
        Ok(match self {
            Self::SetSeverity {
                scope,
                severity,
                action,
            } => vec![policies.set_severity(scope, severity, action)?],
            Self::AddCve(rule) => vec![policies.add_cve(rule)],
            Self::RemoveCve { scope, id } => vec![policies.remove_cve(&scope, &id)?],
            Self::SetUnscanned { scope, action } => vec![policies.set_unscanned(scope, action)?],
            Self::ClearScope(scope) => policies.clear_scope(&scope)?,
        })
    }
}

/// Which audit entries to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only changes at this scope.
    pub scope: Option<Scope>,
    /// The newest `limit` entries (returned oldest first).
    pub limit: u32,
}

impl Default for AuditFilter {
    fn default() -> Self {
        Self {
            scope: None,
            limit: 1000,
        }
    }
}

/// The entity columns of a scope's rows: (cluster, environment, application).
pub(crate) fn scope_entities(scope: &Scope) -> [Option<(Kind, &str)>; 3] {
    match scope {
        Scope::Global => [None, None, None],
        Scope::Cluster(c) => [Some((Kind::Cluster, c.as_str())), None, None],
        Scope::Environment(e) => [None, Some((Kind::Environment, e.as_str())), None],
        Scope::Application(a) => [None, None, Some((Kind::Application, a.as_str()))],
        Scope::ApplicationInEnvironment {
            application,
            environment,
        } => [
            None,
            Some((Kind::Environment, environment.as_str())),
            Some((Kind::Application, application.as_str())),
        ],
    }
}

/// `(kind, key)` columns of a rule key.
pub(crate) fn key_columns(key: &Key) -> (&'static str, String) {
    match key {
        Key::Severity(s) => ("severity", s.as_str().to_owned()),
        Key::Cve(id) => ("cve", id.as_str().to_owned()),
        Key::Unscanned => ("unscanned", String::new()),
    }
}

/// A rule as the columns of its row.
pub(crate) struct RuleRow {
    pub scope: String,
    pub kind: &'static str,
    pub key: String,
    pub action: &'static str,
    pub author: String,
    pub reason: Option<String>,
    pub expires_at: Option<i64>,
    pub changed_at: i64,
}

impl RuleRow {
    /// `who` and `at` are kept with severity and unscanned rules (a CVE rule has its own
    /// author and creation time).
    pub(crate) fn new(rule: &Rule, who: &str, at: SystemTime) -> Self {
        let (kind, key) = key_columns(&rule.key());
        let scope = rule.scope().to_string();
        match rule {
            Rule::Severity(r) => Self {
                scope,
                kind,
                key,
                action: r.action.as_str(),
                author: who.to_owned(),
                reason: None,
                expires_at: None,
                changed_at: to_unix(at),
            },
            Rule::Unscanned(r) => Self {
                scope,
                kind,
                key,
                action: r.action.as_str(),
                author: who.to_owned(),
                reason: None,
                expires_at: None,
                changed_at: to_unix(at),
            },
            Rule::Cve(r) => Self {
                scope,
                kind,
                key,
                action: r.action.as_str(),
                author: r.author.clone(),
                reason: Some(r.reason.clone()),
                expires_at: r.expires.map(to_unix),
                changed_at: to_unix(r.created),
            },
        }
    }
}

/// Builds a rule back from its row's columns.
#[allow(clippy::too_many_arguments)]
pub(crate) fn rule_from_row(
    scope: &str,
    kind: &str,
    key: &str,
    action: &str,
    author: String,
    reason: Option<String>,
    expires_at: Option<i64>,
    changed_at: i64,
) -> Result<Rule, Error> {
    let corrupt = |problem: String| Error::StoredPolicy {
        rule: format!("{scope} {kind} {key}").trim_end().to_owned(),
        problem,
    };
    let scope: Scope = scope.parse().map_err(|e| corrupt(format!("{e}")))?;
    Ok(match kind {
        "severity" => Rule::Severity(SeverityRule {
            severity: key.parse().map_err(|e| corrupt(format!("{e}")))?,
            action: action.parse().map_err(|e| corrupt(format!("{e}")))?,
            scope,
        }),
        "unscanned" => Rule::Unscanned(UnscannedRule {
            action: action.parse().map_err(|e| corrupt(format!("{e}")))?,
            scope,
        }),
        "cve" => {
            let action: CveAction = action.parse().map_err(|e| corrupt(format!("{e}")))?;
            let (rule, _warning) = CveRule::new(
                scope,
                key,
                action,
                author,
                reason.unwrap_or_default(),
                from_unix(changed_at),
                expires_at.map(from_unix),
            )
            .map_err(|e| corrupt(e.to_string()))?;
            if rule.id != VulnId::new(key) {
                return Err(corrupt(format!(
                    "id is not in canonical case ({})",
                    rule.id
                )));
            }
            Rule::Cve(rule)
        }
        other => return Err(corrupt(format!("unknown kind {other:?}"))),
    })
}

/// Builds an audit entry back from its row.
pub(crate) fn audit_from_row(
    who: String,
    at: i64,
    scope: &str,
    kind: &str,
    key: &str,
    before: Option<&str>,
    after: Option<&str>,
) -> Result<AuditEntry, Error> {
    let corrupt = |problem: String| Error::StoredPolicy {
        rule: format!("audit entry {scope} {kind} {key}")
            .trim_end()
            .to_owned(),
        problem,
    };
    let scope: Scope = scope.parse().map_err(|e| corrupt(format!("{e}")))?;
    let key = match kind {
        "severity" => Key::Severity(key.parse().map_err(|e| corrupt(format!("{e}")))?),
        "cve" => Key::Cve(VulnId::new(key)),
        "unscanned" => Key::Unscanned,
        other => return Err(corrupt(format!("unknown kind {other:?}"))),
    };
    let rule = |json: Option<&str>| -> Result<Option<Rule>, Error> {
        json.map(|j| serde_json::from_str(j).map_err(|e| corrupt(e.to_string())))
            .transpose()
    };
    Ok(AuditEntry::new(
        who,
        from_unix(at),
        Change {
            scope,
            key,
            before: rule(before)?,
            after: rule(after)?,
        },
    ))
}

/// The JSON of a rule for the audit log.
pub(crate) fn rule_json(rule: &Option<Rule>) -> Option<String> {
    // A rule of vigil-policy always serialises (plain strings, enums and times).
    rule.as_ref().and_then(|r| serde_json::to_string(r).ok())
}

/// Whether a change changes anything (unchanged edits are not logged).
pub(crate) fn changes(change: &Change) -> bool {
    change.kind() != ChangeKind::Unchanged
}
