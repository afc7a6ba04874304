//! Hierarchical security policies and the deployment gate (SPEC 6, 7.4): findings x scoped
//! rules -> verdicts, each naming the rule that produced it.
//!
//! This crate is pure: no IO, no database, and it never reads the clock; "now" is passed in.
//! The store persists [`Policies`] and its [`AuditEntry`] log; the CLI and the server parse
//! scopes and actions with the `FromStr` impls here and print what the evaluator returns.
//!
//! - [`Scope`], [`Target`]: where a rule applies, and the five scopes of one deployment.
//! - [`SeverityRule`], [`CveRule`], [`UnscannedRule`]: the three kinds of rule.
//! - [`Policies`]: every rule, with validated mutations returning a [`Change`] for the audit
//!   log; [`Policies::default`] is a fresh install (SPEC 6.4).
//! - [`Evaluator`]: the rules of one [`Target`] indexed once; [`Evaluator::evaluate`] gives a
//!   finding's [`Outcome`] (verdict and deciding rule), [`Evaluator::gate`] the
//!   [`GateDecision`] for an image. The resolution order and its tie rule are documented on
//!   [`Evaluator`].
//! - [`effective`]: what `vigil policy show --scope` prints.
//!
//! Severities and vulnerability ids are the vulnerability database's own types
//! ([`Severity`], [`VulnId`]), re-exported here.
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use vigil_policy::*;
//!
//! let now = UNIX_EPOCH + Duration::from_secs(1_795_608_000); // passed in, never read here
//! let mut policies = Policies::default(); // fresh install: allow everything
//! let change = policies
//!     .set_severity(Scope::Global, Severity::Critical, Action::Block)
//!     .unwrap();
//! assert_eq!(change.kind(), ChangeKind::Changed); // the store logs it as an AuditEntry
//! let (rule, warning) = CveRule::new(
//!     "app:web@env:prod".parse().unwrap(),
//!     "CVE-2021-44228",
//!     CveAction::Allow,
//!     "alice",
//!     "not reachable: JNDI lookups disabled",
//!     now,
//!     Some(time::parse_date("2026-12-31").unwrap()),
//! )
//! .unwrap();
//! assert!(warning.is_none());
//! policies.add_cve(rule);
//!
//! let target = Target {
//!     cluster: Name::new("eu").unwrap(),
//!     environment: Name::new("prod").unwrap(),
//!     application: Name::new("web").unwrap(),
//! };
//! let evaluator = Evaluator::new(&policies, &target, now);
//! let (id, aliases) = (VulnId::new("CVE-2021-44228"), [VulnId::new("GHSA-jfh8-c2jp-5v3q")]);
//! let finding = FindingRef { id: &id, aliases: &aliases, severity: Severity::Critical, has_fix: true };
//! let outcome = evaluator.evaluate(&finding);
//! assert_eq!(outcome.verdict, Verdict::Whitelisted);
//! assert_eq!(outcome.to_string(), "whitelisted by app:web@env:prod CVE-2021-44228 allow");
//!
//! let gate = evaluator.gate(ScanState::Completed, [finding]);
//! assert_eq!(gate.decision, Decision::Allow);
//! ```

mod effective;
mod eval;
mod hash;
mod policies;
mod rule;
mod scope;
pub mod time;

pub use effective::{
    Effective, EffectiveCve, EffectiveSeverity, EffectiveUnscanned, Origin, effective,
};
pub use eval::{
    Blocking, Decider, Decision, Evaluator, FindingRef, GateDecision, Outcome, ScanState,
    ScanStatus, Verdict,
};
pub use policies::{AuditEntry, Change, ChangeKind, LoadError, Policies, PolicyError};
pub use rule::{
    Action, ActionNameError, CveAction, CveRule, IdShape, Key, MAX_ID_LEN, Rule, RuleError,
    RuleWarning, SeverityRule, UnscannedAction, UnscannedRule, check_id,
};
pub use scope::{Level, MAX_NAME_LEN, Name, NameError, Scope, ScopeError, Target};
pub use vigil_vulndb::{Severity, VulnId};
