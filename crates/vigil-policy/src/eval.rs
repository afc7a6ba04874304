//! Evaluation of findings (SPEC 6.3, 6.5, 6.7) and the gate (SPEC 6.6, 7.4): see [`Evaluator`].

use std::fmt;
use std::time::SystemTime;

use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};
use vigil_vulndb::{Severity, VulnId};

use crate::policies::{CveIndex, Policies, sev_index};
use crate::rule::{Action, CveAction, CveRule, Key, SeverityRule, UnscannedAction, UnscannedRule};
use crate::scope::{Scope, Target};

/// What the policy needs of a finding, borrowed from the matcher's finding by the caller:
///
/// ```text
/// FindingRef { id: &f.id, aliases: &f.aliases, severity: f.severity,
///              has_fix: f.fix_state == FixState::Fixed }
/// ```
///
/// Findings suppressed by a VEX statement (SPEC 5.6) are not counted by policies: the caller
/// leaves them out.
#[derive(Clone, Copy, Debug)]
pub struct FindingRef<'a> {
    /// The primary id (the CVE when there is one).
    pub id: &'a VulnId,
    /// Every other id of the vulnerability.
    pub aliases: &'a [VulnId],
    /// Its severity.
    pub severity: Severity,
    /// Whether a fixed version exists (fix state `fixed`).
    pub has_fix: bool,
}

impl<'a> FindingRef<'a> {
    fn ids(&self) -> impl Iterator<Item = &'a VulnId> + use<'a> {
        std::iter::once(self.id).chain(self.aliases.iter())
    }
}

/// The verdict on one finding (SPEC 6.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// A CVE rule or severity rule blocks it.
    Blocked,
    /// A CVE rule with `allow` lets it through.
    Whitelisted,
    /// A severity rule lets it through, or no rule applies.
    Allowed,
    /// A VEX statement says it does not apply (SPEC 5.6): policies do not see it. The
    /// evaluator never answers this; the caller does, before asking it.
    Suppressed,
}

impl Verdict {
    /// The stable name: `blocked`, `whitelisted`, `allowed`, `suppressed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Blocked => "blocked",
            Self::Whitelisted => "whitelisted",
            Self::Allowed => "allowed",
            Self::Suppressed => "suppressed",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The rule that decided a finding: a CVE rule or a severity rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decider<'a> {
    /// A CVE rule for the finding's id or one of its aliases.
    Cve(&'a CveRule),
    /// The severity rule for the finding's severity.
    Severity(&'a SeverityRule),
}

impl Decider<'_> {
    /// The rule's scope.
    pub fn scope(&self) -> &Scope {
        match self {
            Self::Cve(r) => &r.scope,
            Self::Severity(r) => &r.scope,
        }
    }

    /// The rule's key: the id it names or the severity.
    pub fn key(&self) -> Key {
        match self {
            Self::Cve(r) => Key::Cve(r.id.clone()),
            Self::Severity(r) => Key::Severity(r.severity),
        }
    }

    /// The rule's action.
    pub fn action(&self) -> Action {
        match self {
            Self::Cve(r) => r.action.into(),
            Self::Severity(r) => r.action,
        }
    }
}

impl fmt::Display for Decider<'_> {
    /// `app:web@env:prod CVE-2023-4911 allow`, `global severity critical block`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.scope(), self.key(), self.action())
    }
}

impl Serialize for Decider<'_> {
    /// `{"scope", "key", "action"}`, plus `"author"`, `"reason"`, `"expires"` for a CVE rule.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Severity(r) => {
                let mut st = s.serialize_struct("Rule", 3)?;
                st.serialize_field("scope", &r.scope)?;
                st.serialize_field("key", &Key::Severity(r.severity))?;
                st.serialize_field("action", &r.action)?;
                st.end()
            }
            Self::Cve(r) => {
                let mut st = s.serialize_struct("Rule", 6)?;
                st.serialize_field("scope", &r.scope)?;
                st.serialize_field("key", &Key::Cve(r.id.clone()))?;
                st.serialize_field("action", &r.action)?;
                st.serialize_field("author", &r.author)?;
                st.serialize_field("reason", &r.reason)?;
                st.serialize_field("expires", &r.expires.map(crate::time::format))?;
                st.end()
            }
        }
    }
}

/// The outcome for one finding: its verdict, the rule that produced it (`None`: "no rule:
/// allowed"), and the expired CVE rules that no longer apply to it (SPEC 6.5, 6.7).
///
/// JSON: `{"verdict": "blocked|whitelisted|allowed", "rule": null | {"scope", "key",
/// "action", ...}, "expired": [CveRule, ...]}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Outcome<'a> {
    /// Blocked, whitelisted or allowed.
    pub verdict: Verdict,
    /// The deciding rule; `None` when no rule applies (allowed).
    pub rule: Option<Decider<'a>>,
    /// Expired CVE rules for the finding's ids at the target's scopes, most specific first.
    pub expired: Vec<&'a CveRule>,
}

impl fmt::Display for Outcome<'_> {
    /// `blocked by global severity critical block`, `no rule: allowed`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.rule {
            Some(rule) => write!(f, "{} by {rule}", self.verdict)?,
            None => write!(f, "no rule: {}", self.verdict)?,
        }
        for e in &self.expired {
            write!(f, " (expired: {} {} {})", e.scope, e.id, e.action)?;
        }
        Ok(())
    }
}

/// The scan of the image at the gate (SPEC 6.6, 7.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanState<'a> {
    /// A completed scan covering every part of the image.
    Completed,
    /// A completed scan that could not cover everything (SPEC 5.7), with the reasons.
    Incomplete {
        /// Why: each part that was not covered.
        reasons: &'a [String],
    },
    /// No completed scan of the image.
    Missing,
}

/// What the gate knew of the image's scan: [`ScanState`] without its details.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScanStatus {
    /// A completed scan covering everything.
    Completed,
    /// A completed scan that could not cover everything.
    Incomplete,
    /// No completed scan.
    Missing,
}

impl ScanStatus {
    /// The stable name: `completed`, `incomplete`, `missing`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Incomplete => "incomplete",
            Self::Missing => "missing",
        }
    }
}

impl fmt::Display for ScanStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The gate's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    /// The deployment may proceed.
    Allow,
    /// The deployment is blocked (exit 3).
    Block,
}

impl Decision {
    /// The stable name: `allow`, `block`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Block => "block",
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One blocking finding: its index in the gate's input and its outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Blocking<'a> {
    /// Position of the finding in the input.
    pub index: usize,
    /// Its outcome (verdict `blocked`).
    pub outcome: Outcome<'a>,
}

/// The gate's decision with everything that led to it.
///
/// JSON: `{"decision": "allow|block", "scan": "completed|incomplete|missing",
/// "incomplete_reasons": [..], "unscanned_rule": null | {"scope", "action"},
/// "blocking": [{"index", "outcome"}], "expired": [CveRule, ...]}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GateDecision<'a> {
    /// Allow or block.
    pub decision: Decision,
    /// Completed, incomplete or missing.
    pub scan: ScanStatus,
    /// Why the scan is incomplete (empty otherwise).
    pub incomplete_reasons: Vec<String>,
    /// The unscanned rule that decided an incomplete or missing scan (`None` for a
    /// completed scan, or when no scope sets one).
    pub unscanned_rule: Option<&'a UnscannedRule>,
    /// The findings that block, in input order.
    pub blocking: Vec<Blocking<'a>>,
    /// Every expired CVE rule that would otherwise have applied to a finding, once each.
    pub expired: Vec<&'a CveRule>,
}

impl GateDecision<'_> {
    /// Whether the unscanned rule blocked (a missing or incomplete scan under `block`).
    pub fn blocked_as_unscanned(&self) -> bool {
        self.scan != ScanStatus::Completed
            && self
                .unscanned_rule
                .is_some_and(|r| r.action == UnscannedAction::Block)
    }
}

/// The rules of one target, indexed for evaluating many findings, and the gate.
///
/// For one finding (its id, aliases, severity and whether a fix exists):
/// 1. If any non-expired CVE rule for the id or ANY alias applies at any of the target's
///    scopes, the most specific such rule alone decides: `allow` whitelists, `block` blocks.
/// 2. Else the most specific severity rule for the finding's severity decides: `allow`
///    allows, `block` blocks, `block-if-fixed` blocks only when a fix exists.
/// 3. No rule at all allows.
///
/// Ties: a finding's id and an alias may each have a CVE rule at the same (most specific)
/// scope, with different actions. Then `block` wins: two administrators judged the same
/// vulnerability at the same level and one of them wants it blocked, so letting it through
/// would silently drop a blacklist entry. With equal actions the rule of the primary id is
/// reported, else the first alias in the finding's order.
///
/// Expired CVE rules never apply (step 1 skips them, so a less specific rule or the severity
/// rule decides), but every expired rule for the finding's ids at the target's scopes is
/// reported with the outcome, so `vigil explain` can say that a whitelist entry ran out.
///
/// Indexing: [`Policies`] keeps its CVE rules in a hash map by id, so a finding costs one
/// lookup per id plus a look at the few rules of that id (of any scope; those of other
/// targets are skipped). [`Evaluator::new`] resolves the deciding severity rule per severity
/// and the deciding unscanned rule of the target's five scopes, and borrows the id map, so
/// building it costs the same for 10 or 100,000 CVE rules. Outcomes borrow the policies.
#[derive(Clone, Debug)]
pub struct Evaluator<'p> {
    target: Target,
    /// The CVE rules by id, each id's rules sorted by scope ([`Policies`] keeps them so).
    cve: &'p CveIndex,
    /// "Now", for expiry.
    now: SystemTime,
    /// The deciding severity rule per severity ([`sev_index`]).
    severity: [Option<SeverityRule>; 5],
    /// The deciding unscanned rule.
    unscanned: Option<UnscannedRule>,
}

impl<'p> Evaluator<'p> {
    /// Indexes the rules of `policies` that apply to `target`, as of `now` (a CVE rule whose
    /// expiry is at or before `now` is expired).
    pub fn new(policies: &'p Policies, target: &Target, now: SystemTime) -> Self {
        let mut severity: [Option<SeverityRule>; 5] = Default::default();
        let mut unscanned = None;
        // Least specific first, so a more specific scope overwrites.
        for scope in &target.scopes() {
            if let Some(slots) = policies.severity.get(scope) {
                for s in Severity::ALL {
                    if let Some(action) = slots[sev_index(s)] {
                        severity[sev_index(s)] = Some(SeverityRule {
                            scope: scope.clone(),
                            severity: s,
                            action,
                        });
                    }
                }
            }
            if let Some(&action) = policies.unscanned.get(scope) {
                unscanned = Some(UnscannedRule {
                    scope: scope.clone(),
                    action,
                });
            }
        }
        Self {
            target: target.clone(),
            cve: &policies.cve,
            now,
            severity,
            unscanned,
        }
    }

    /// The target the rules were indexed for.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The unscanned rule that decides for this target (`None` only for a rule set without
    /// the global default, which [`Policies`] never is).
    pub fn unscanned_rule(&self) -> Option<&UnscannedRule> {
        self.unscanned.as_ref()
    }

    /// The severity rule that decides findings of `severity` without a CVE rule.
    pub fn severity_rule(&self, severity: Severity) -> Option<&SeverityRule> {
        self.severity[sev_index(severity)].as_ref()
    }

    /// The verdict on one finding, with its rule (SPEC 6.3, 6.7).
    pub fn evaluate(&self, finding: &FindingRef<'_>) -> Outcome<'_> {
        let mut best: Option<&CveRule> = None;
        let mut expired: Vec<&CveRule> = Vec::new();
        for id in finding.ids() {
            let Some(rules) = self.cve.get(id.as_str()) else {
                continue;
            };
            for rule in rules {
                if !self.target.covers(&rule.scope) {
                    continue;
                }
                if rule.is_expired(self.now) {
                    expired.push(rule);
                    continue;
                }
                best = Some(match best {
                    None => rule,
                    Some(b) => {
                        let (lb, lr) = (b.scope.level(), rule.scope.level());
                        if lr > lb
                            || (lr == lb
                                && rule.action == CveAction::Block
                                && b.action == CveAction::Allow)
                        {
                            rule
                        } else {
                            b
                        }
                    }
                });
            }
        }
        if expired.len() > 1 {
            expired.sort_by(|a, b| {
                b.scope
                    .level()
                    .cmp(&a.scope.level())
                    .then_with(|| a.id.cmp(&b.id))
            });
        }
        if let Some(rule) = best {
            let verdict = match rule.action {
                CveAction::Allow => Verdict::Whitelisted,
                CveAction::Block => Verdict::Blocked,
            };
            return Outcome {
                verdict,
                rule: Some(Decider::Cve(rule)),
                expired,
            };
        }
        match &self.severity[sev_index(finding.severity)] {
            Some(rule) => {
                let blocks = match rule.action {
                    Action::Block => true,
                    Action::BlockIfFixed => finding.has_fix,
                    Action::Allow | Action::Inherit => false,
                };
                Outcome {
                    verdict: if blocks {
                        Verdict::Blocked
                    } else {
                        Verdict::Allowed
                    },
                    rule: Some(Decider::Severity(rule)),
                    expired,
                }
            }
            None => Outcome {
                verdict: Verdict::Allowed,
                rule: None,
                expired,
            },
        }
    }

    /// The live CVE rules at the target's scopes that name none of the findings' ids, by
    /// scope then id: whitelist entries that are no longer needed, or blacklist entries with
    /// a typo, shown by `vigil explain` as cargo-deny reports ignores that were never hit.
    pub fn unmatched<'f>(
        &self,
        findings: impl IntoIterator<Item = FindingRef<'f>>,
    ) -> Vec<&'p CveRule> {
        let seen: std::collections::HashSet<&str> = findings
            .into_iter()
            .flat_map(|f| f.ids())
            .map(VulnId::as_str)
            .collect();
        let cve: &'p CveIndex = self.cve;
        let mut out: Vec<&'p CveRule> = cve
            .iter()
            .filter(|(id, _)| !seen.contains(id.as_str()))
            .flat_map(|(_, rules)| rules)
            .filter(|r| self.target.covers(&r.scope) && !r.is_expired(self.now))
            .collect();
        out.sort_by(|a, b| a.scope.cmp(&b.scope).then_with(|| a.id.cmp(&b.id)));
        out
    }

    /// The gate (SPEC 6.6, 7.4): allow or block an image given its scan state and, for a
    /// completed or incomplete scan, its findings.
    ///
    /// - Completed: block when any finding is blocked.
    /// - Incomplete: the unscanned rule decides for the image as a whole (SPEC 6.6: `block`
    ///   blocks it), and findings that are blocked block as well.
    /// - Missing: the unscanned rule decides; findings are ignored (there are none).
    pub fn gate<'f>(
        &self,
        scan: ScanState<'_>,
        findings: impl IntoIterator<Item = FindingRef<'f>>,
    ) -> GateDecision<'_> {
        let (scan_name, reasons) = match scan {
            ScanState::Completed => (ScanStatus::Completed, Vec::new()),
            ScanState::Incomplete { reasons } => (ScanStatus::Incomplete, reasons.to_vec()),
            ScanState::Missing => (ScanStatus::Missing, Vec::new()),
        };
        let mut blocking = Vec::new();
        let mut expired: Vec<&CveRule> = Vec::new();
        if !matches!(scan, ScanState::Missing) {
            for (index, f) in findings.into_iter().enumerate() {
                let outcome = self.evaluate(&f);
                for e in &outcome.expired {
                    if !expired.iter().any(|x| std::ptr::eq(*x, *e)) {
                        expired.push(e);
                    }
                }
                if outcome.verdict == Verdict::Blocked {
                    blocking.push(Blocking { index, outcome });
                }
            }
        }
        let unscanned_rule = match scan {
            ScanState::Completed => None,
            _ => self.unscanned.as_ref(),
        };
        let unscanned_blocks = unscanned_rule.is_some_and(|r| r.action == UnscannedAction::Block);
        let decision = if unscanned_blocks || !blocking.is_empty() {
            Decision::Block
        } else {
            Decision::Allow
        };
        GateDecision {
            decision,
            scan: scan_name,
            incomplete_reasons: reasons,
            unscanned_rule,
            blocking,
            expired,
        }
    }
}
