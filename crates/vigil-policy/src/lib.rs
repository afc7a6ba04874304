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
    Blocking, Decider, Decision, Evaluator, FindingRef, GateDecision, Outcome, ScanState, Verdict,
};
pub use policies::{AuditEntry, Change, ChangeKind, LoadError, Policies, PolicyError};
pub use rule::{
    Action, ActionNameError, CveAction, CveRule, IdShape, Key, MAX_ID_LEN, Rule, RuleError,
    RuleWarning, SeverityRule, UnscannedAction, UnscannedRule, check_id,
};
pub use scope::{Level, MAX_NAME_LEN, Name, NameError, Scope, ScopeError, Target};
pub use vigil_vulndb::{Severity, VulnId};
