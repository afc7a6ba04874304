//! Actions and the three kinds of rule (SPEC 6.1, 6.3, 6.5, 6.6), and what a vulnerability id
//! looks like (SPEC 6.4).

use std::fmt;
use std::str::FromStr;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use vigil_vulndb::{Severity, VulnId};

use crate::scope::Scope;
use crate::time;

/// Error of parsing an action name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown action {found:?}: expected {expected}")]
pub struct ActionNameError {
    found: String,
    expected: &'static str,
}

macro_rules! named_enum {
    ($ty:ident, $expected:literal, { $($(#[$doc:meta])* $variant:ident = $name:literal),+ $(,)? }) => {
        impl $ty {
            /// Every value, in declaration order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// The stable kebab-case name used by the CLI, JSON and the database.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $name),+
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $ty {
            type Err = ActionNameError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($name => Ok($ty::$variant),)+
                    _ => Err(ActionNameError { found: s.to_owned(), expected: $expected }),
                }
            }
        }
    };
}

/// The action of a severity rule (SPEC 6.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Findings of this severity do not block.
    Allow,
    /// Findings of this severity block.
    Block,
    /// Findings of this severity block only when a fixed version exists.
    BlockIfFixed,
    /// No rule at this scope: take the parent's. Never stored; setting it removes the rule,
    /// and it cannot be set at the global scope (SPEC 6.4).
    Inherit,
}

named_enum!(Action, "allow, block, block-if-fixed or inherit", {
    Allow = "allow",
    Block = "block",
    BlockIfFixed = "block-if-fixed",
    Inherit = "inherit",
});

/// The action of a CVE rule: `allow` is a whitelist entry, `block` a blacklist entry
/// (SPEC 6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CveAction {
    /// Whitelist: the vulnerability never blocks where the rule applies.
    Allow,
    /// Blacklist: the vulnerability always blocks where the rule applies.
    Block,
}

named_enum!(CveAction, "allow or block", {
    Allow = "allow",
    Block = "block",
});

impl From<CveAction> for Action {
    fn from(a: CveAction) -> Self {
        match a {
            CveAction::Allow => Action::Allow,
            CveAction::Block => Action::Block,
        }
    }
}

/// The `unscanned` setting of a scope (SPEC 6.6): what happens to an image without a
/// completed scan, or whose scan was incomplete (SPEC 5.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnscannedAction {
    /// Let it through (the compat default).
    Allow,
    /// Block it.
    Block,
}

named_enum!(UnscannedAction, "allow or block", {
    Allow = "allow",
    Block = "block",
});

impl From<UnscannedAction> for Action {
    fn from(a: UnscannedAction) -> Self {
        match a {
            UnscannedAction::Allow => Action::Allow,
            UnscannedAction::Block => Action::Block,
        }
    }
}

/// A severity rule: at `scope`, findings of `severity` get `action`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SeverityRule {
    /// Where it applies.
    pub scope: Scope,
    /// Its key.
    pub severity: Severity,
    /// Never [`Action::Inherit`] inside [`crate::Policies`].
    pub action: Action,
}

/// A CVE rule (SPEC 6.3, 6.5): at `scope`, the vulnerability `id` (or a finding that has it
/// as an alias) is whitelisted (`allow`) or blacklisted (`block`).
///
/// Built with [`CveRule::new`], which validates it; deserialising validates the same way.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "CveRuleRaw")]
pub struct CveRule {
    /// Where it applies.
    pub scope: Scope,
    /// Its key: the vulnerability id, canonical case (see [`check_id`]).
    pub id: VulnId,
    /// Whitelist or blacklist.
    pub action: CveAction,
    /// Who created it.
    pub author: String,
    /// Why (required, SPEC 6.5).
    pub reason: String,
    /// When it was created (RFC 3339 in JSON).
    #[serde(with = "time::rfc3339")]
    pub created: SystemTime,
    /// When it stops applying, if ever (RFC 3339 in JSON). From that instant on it is
    /// expired: it no longer applies and is shown as expired.
    #[serde(with = "time::rfc3339_opt", default)]
    pub expires: Option<SystemTime>,
}

#[derive(Deserialize)]
struct CveRuleRaw {
    scope: Scope,
    id: String,
    action: CveAction,
    author: String,
    reason: String,
    #[serde(with = "time::rfc3339")]
    created: SystemTime,
    #[serde(with = "time::rfc3339_opt", default)]
    expires: Option<SystemTime>,
}

impl TryFrom<CveRuleRaw> for CveRule {
    type Error = RuleError;
    fn try_from(r: CveRuleRaw) -> Result<Self, Self::Error> {
        CveRule::new(
            r.scope, &r.id, r.action, r.author, r.reason, r.created, r.expires,
        )
        .map(|(rule, _)| rule)
    }
}

/// What is wrong with a rule.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// The vulnerability id is not usable at all.
    #[error("vulnerability id {id:?} {problem}")]
    BadId {
        /// The id as given.
        id: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A CVE rule whose id is not written the canonical way, so it would never match.
    #[error("CVE rule for {id:?}: the id must be written {canonical:?} to match findings")]
    NotCanonical {
        /// The id as stored.
        id: String,
        /// The canonical form.
        canonical: String,
    },
    /// A CVE rule without a reason.
    #[error("CVE rule for {id} at {scope}: a reason is required and was empty")]
    EmptyReason {
        /// The rule's id.
        id: String,
        /// The rule's scope.
        scope: Scope,
    },
    /// A CVE rule without an author.
    #[error("CVE rule for {id} at {scope}: an author is required and was empty")]
    EmptyAuthor {
        /// The rule's id.
        id: String,
        /// The rule's scope.
        scope: Scope,
    },
    /// A CVE rule that would be expired from the start.
    #[error(
        "CVE rule for {id} at {scope}: it expires at {expires}, not after its creation at {created}"
    )]
    ExpiresBeforeCreated {
        /// The rule's id.
        id: String,
        /// The rule's scope.
        scope: Scope,
        /// Expiry, RFC 3339.
        expires: String,
        /// Creation, RFC 3339.
        created: String,
    },
}

/// The shape of a vulnerability id recognised by [`check_id`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdShape {
    /// `CVE-YYYY-NNNN`, four or more digits.
    Cve,
    /// `GHSA-xxxx-xxxx-xxxx` (GitHub).
    Ghsa,
    /// A `PREFIX-YEAR-NUMBER` database id: `PYSEC-`, `RUSTSEC-`, `GO-`, `OSV-`, `GSD-`,
    /// `MAL-`, `ALSA-`, ...
    Database,
    /// A distribution's id: `DSA-NNNN-N`, `DLA-NNNN-N`, `DEBIAN-CVE-…`, `ALPINE-CVE-…`,
    /// `USN-NNNN-N`, `RHSA-YYYY:NNNN`, ...
    Distribution,
    /// Something else: accepted with a warning (SPEC 6.4).
    Unknown,
}

/// A warning about an accepted rule: the caller shows it, the rule is kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "kebab-case", tag = "warning")]
pub enum RuleWarning {
    /// The id matches no known shape; it may be a typo that no finding will ever carry.
    #[error(
        "vulnerability id {id:?} does not look like a known id (CVE-YYYY-NNNN, GHSA-xxxx-xxxx-xxxx, PYSEC-, RUSTSEC-, GO-, DSA-, DLA-, ...): the rule is kept but may never match"
    )]
    UnknownIdShape {
        /// The id.
        id: String,
    },
}

/// The longest id accepted.
pub const MAX_ID_LEN: usize = 128;

const GHSA_ALPHABET: &str = "23456789cfghjmpqrvwx";

/// Distribution prefixes whose ids are `PREFIX-...` with arbitrary upstream text after them.
const DISTRIBUTION_PREFIXES: &[&str] = &[
    "DSA", "DLA", "DTSA", "DEBIAN", "ALPINE", "USN", "UBUNTU", "RHSA", "RHBA", "RHEA", "ALSA",
    "ALBA", "ALEA", "RLSA", "ELSA", "CESA", "SUSE", "OPENSUSE", "FEDORA", "ALAS", "ALAS2",
    "ALAS2022", "ALAS2023", "PHSA", "MGASA", "CGA", "BIT", "MINI", "ECHO", "ROOT", "AZL", "CBL",
];

/// Checks that `id` can be a CVE rule's key, returns it in canonical case with its shape.
///
/// Refused (an error): empty, longer than [`MAX_ID_LEN`], or holding anything but ASCII
/// letters, digits, `-`, `_`, `.` and `:`. Canonical case: the prefix in upper case (a CVE
/// entirely), a GHSA body in lower case, as the feeds write them; rules are looked up by
/// exact id, so `cve-2023-4911` must become `CVE-2023-4911` to ever match. Anything else is
/// kept as given.
pub fn check_id(id: &str) -> Result<(VulnId, IdShape), RuleError> {
    let bad = |problem| RuleError::BadId {
        id: id.to_owned(),
        problem,
    };
    if id.is_empty() {
        return Err(bad("is empty"));
    }
    if id.len() > MAX_ID_LEN {
        return Err(bad("is longer than 128 bytes"));
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
    {
        return Err(bad(
            "holds a character other than letters, digits, '-', '_', '.' and ':'",
        ));
    }
    let Some((prefix, rest)) = id.split_once('-') else {
        return Ok((VulnId::new(id), IdShape::Unknown));
    };
    let upper = prefix.to_ascii_uppercase();
    let digits = |s: &str, min: usize| s.len() >= min && s.bytes().all(|b| b.is_ascii_digit());
    let year_number = |s: &str| match s.split_once('-') {
        Some((y, n)) => digits(y, 4) && y.len() == 4 && !n.is_empty(),
        None => false,
    };
    match upper.as_str() {
        "CVE" => match rest.split_once('-') {
            Some((y, n)) if y.len() == 4 && digits(y, 4) && digits(n, 4) => {
                Ok((VulnId::new(id.to_ascii_uppercase()), IdShape::Cve))
            }
            _ => Ok((VulnId::new(id), IdShape::Unknown)),
        },
        "GHSA" => {
            let lower = rest.to_ascii_lowercase();
            let parts: Vec<&str> = lower.split('-').collect();
            if parts.len() == 3
                && parts
                    .iter()
                    .all(|p| p.len() == 4 && p.chars().all(|c| GHSA_ALPHABET.contains(c)))
            {
                Ok((VulnId::new(format!("GHSA-{lower}")), IdShape::Ghsa))
            } else {
                Ok((VulnId::new(id), IdShape::Unknown))
            }
        }
        p if DISTRIBUTION_PREFIXES.contains(&p) && !rest.is_empty() => Ok((
            VulnId::new(format!("{upper}-{rest}")),
            IdShape::Distribution,
        )),
        // OSV-style database ids: an upper-case-able prefix of letters, then YEAR-ID
        // (PYSEC-2023-74, RUSTSEC-2023-0001, GO-2023-1840, OSV-2020-111, MAL-2024-1).
        p if p.len() >= 2 && p.bytes().all(|b| b.is_ascii_alphabetic()) && year_number(rest) => {
            Ok((VulnId::new(format!("{upper}-{rest}")), IdShape::Database))
        }
        _ => Ok((VulnId::new(id), IdShape::Unknown)),
    }
}

impl CveRule {
    /// Validates and builds a CVE rule. Returns a warning alongside the rule when the id has
    /// an unknown shape (SPEC 6.4: accepted with a warning).
    ///
    /// Errors: the id is unusable ([`check_id`]); the reason or the author is empty (only
    /// whitespace counts as empty); `expires` is not after `created`.
    pub fn new(
        scope: Scope,
        id: &str,
        action: CveAction,
        author: impl Into<String>,
        reason: impl Into<String>,
        created: SystemTime,
        expires: Option<SystemTime>,
    ) -> Result<(CveRule, Option<RuleWarning>), RuleError> {
        let (id, shape) = check_id(id)?;
        let rule = CveRule {
            scope,
            id,
            action,
            author: author.into(),
            reason: reason.into(),
            created,
            expires,
        };
        rule.validate()?;
        let warning = (shape == IdShape::Unknown).then(|| RuleWarning::UnknownIdShape {
            id: rule.id.to_string(),
        });
        Ok((rule, warning))
    }

    /// Checks a rule built field by field as [`CveRule::new`] does: the id usable and in
    /// canonical case, a reason and an author, an expiry after the creation.
    /// [`crate::Policies::from_rules`] runs it on every stored rule.
    pub fn validate(&self) -> Result<(), RuleError> {
        let (canonical, _) = check_id(self.id.as_str())?;
        let fail = |make: fn(String, Scope) -> RuleError| {
            Err(make(self.id.to_string(), self.scope.clone()))
        };
        if canonical != self.id {
            return Err(RuleError::NotCanonical {
                id: self.id.to_string(),
                canonical: canonical.to_string(),
            });
        }
        if self.reason.trim().is_empty() {
            return fail(|id, scope| RuleError::EmptyReason { id, scope });
        }
        if self.author.trim().is_empty() {
            return fail(|id, scope| RuleError::EmptyAuthor { id, scope });
        }
        if let Some(e) = self.expires.filter(|e| *e <= self.created) {
            return Err(RuleError::ExpiresBeforeCreated {
                id: self.id.to_string(),
                scope: self.scope.clone(),
                expires: time::format(e),
                created: time::format(self.created),
            });
        }
        Ok(())
    }

    /// Whether the rule is expired at `now` (SPEC 6.5): from its expiry instant on.
    pub fn is_expired(&self, now: SystemTime) -> bool {
        self.expires.is_some_and(|e| now >= e)
    }
}

/// An unscanned rule (SPEC 6.6): at `scope`, images without a completed scan, or whose scan
/// was incomplete, get `action`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UnscannedRule {
    /// Where it applies.
    pub scope: Scope,
    /// Allow or block.
    pub action: UnscannedAction,
}

/// The key of a rule within its scope: a severity, a vulnerability id, or the `unscanned`
/// setting. Serialised as `{"severity": "critical"}`, `{"cve": "CVE-…"}` or `"unscanned"`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Key {
    /// A severity rule's key.
    Severity(Severity),
    /// A CVE rule's key.
    Cve(VulnId),
    /// The unscanned setting.
    Unscanned,
}

impl fmt::Display for Key {
    /// `severity critical`, `CVE-2023-4911`, `unscanned`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Severity(s) => write!(f, "severity {s}"),
            Self::Cve(id) => write!(f, "{id}"),
            Self::Unscanned => f.write_str("unscanned"),
        }
    }
}

/// Any rule. Serialised with a `kind` tag:
/// `{"kind": "severity", "scope": "global", "severity": "critical", "action": "block"}`,
/// `{"kind": "cve", "scope": ..., "id": ..., "action": ..., "author": ..., "reason": ...,
/// "created": ..., "expires": ...}`, `{"kind": "unscanned", "scope": ..., "action": ...}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Rule {
    /// A severity rule.
    Severity(SeverityRule),
    /// A CVE rule.
    Cve(CveRule),
    /// An unscanned rule.
    Unscanned(UnscannedRule),
}

impl Rule {
    /// The rule's scope.
    pub fn scope(&self) -> &Scope {
        match self {
            Self::Severity(r) => &r.scope,
            Self::Cve(r) => &r.scope,
            Self::Unscanned(r) => &r.scope,
        }
    }

    /// The rule's key.
    pub fn key(&self) -> Key {
        match self {
            Self::Severity(r) => Key::Severity(r.severity),
            Self::Cve(r) => Key::Cve(r.id.clone()),
            Self::Unscanned(_) => Key::Unscanned,
        }
    }

    /// The rule's action, as a severity-rule action (CVE and unscanned actions are `allow`
    /// or `block`).
    pub fn action(&self) -> Action {
        match self {
            Self::Severity(r) => r.action,
            Self::Cve(r) => r.action.into(),
            Self::Unscanned(r) => r.action.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_shapes_are_recognised_and_canonicalised() {
        let cases = [
            ("CVE-2023-4911", "CVE-2023-4911", IdShape::Cve),
            ("cve-2021-44228", "CVE-2021-44228", IdShape::Cve),
            ("CVE-2021-1234567", "CVE-2021-1234567", IdShape::Cve),
            ("GHSA-j8r2-6x86-q33q", "GHSA-j8r2-6x86-q33q", IdShape::Ghsa),
            ("ghsa-J8R2-6X86-Q33Q", "GHSA-j8r2-6x86-q33q", IdShape::Ghsa),
            ("PYSEC-2023-74", "PYSEC-2023-74", IdShape::Database),
            ("RUSTSEC-2023-0001", "RUSTSEC-2023-0001", IdShape::Database),
            ("GO-2023-1840", "GO-2023-1840", IdShape::Database),
            ("OSV-2020-111", "OSV-2020-111", IdShape::Database),
            ("DSA-5514-1", "DSA-5514-1", IdShape::Distribution),
            ("DLA-3570-1", "DLA-3570-1", IdShape::Distribution),
            (
                "DEBIAN-CVE-2023-4911",
                "DEBIAN-CVE-2023-4911",
                IdShape::Distribution,
            ),
            (
                "ALPINE-CVE-2023-5363",
                "ALPINE-CVE-2023-5363",
                IdShape::Distribution,
            ),
            ("RHSA-2023:5455", "RHSA-2023:5455", IdShape::Distribution),
        ];
        for (input, canonical, shape) in cases {
            assert_eq!(
                check_id(input).unwrap(),
                (VulnId::new(canonical), shape),
                "{input}"
            );
        }
    }

    #[test]
    fn odd_shapes_are_unknown_not_refused() {
        for id in [
            "CVE-23-1",
            "GHSA-1234",
            "TEMP-0000001-6FA2B3",
            "xyz",
            "A-1-2",
        ] {
            assert_eq!(check_id(id).unwrap().1, IdShape::Unknown, "{id}");
        }
    }

    #[test]
    fn unusable_ids_are_refused_with_the_id_named() {
        for id in ["", "CVE 2023 1", "CVE-2023-4911\n", "ΑΒΓ-1"] {
            let err = check_id(id).unwrap_err().to_string();
            assert!(err.contains(&format!("{id:?}")), "{err}");
        }
        assert!(check_id(&"A".repeat(129)).is_err());
    }

    #[test]
    fn actions_round_trip_their_names() {
        for a in Action::ALL {
            assert_eq!(a.as_str().parse::<Action>().unwrap(), *a);
        }
        assert_eq!(
            "Block".parse::<CveAction>().unwrap_err().to_string(),
            r#"unknown action "Block": expected allow or block"#
        );
    }
}
