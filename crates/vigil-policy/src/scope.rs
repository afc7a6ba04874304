//! Scopes of a rule (SPEC 6.2) and the deployment target they apply to.
//!
//! Five levels, least to most specific: global; cluster; environment (it belongs to one
//! cluster); application (in all its environments); application in one environment. A rule
//! at a more specific scope overrides the same key at a less specific one.
//!
//! Text form, used by the CLI, JSON and the database alike:
//!
//! ```text
//! global | cluster:C | env:E | app:A | app:A@env:E
//! ```
//!
//! Traps:
//! - `app:A` is NOT below any cluster or environment: an application runs in many
//!   environments, so its rules apply in all of them, and they override cluster and
//!   environment rules because the application level is more specific (SPEC 6.2 order).
//! - `env:E` names an environment without its cluster (environment names are unique across
//!   clusters, SPEC 7.1); what lies between `global` and `env:E` depends on which cluster `E`
//!   belongs to, which only the caller knows ([`Scope::lineage`]).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The longest name accepted: a Kubernetes label value or DNS label has at most 63 bytes.
pub const MAX_NAME_LEN: usize = 63;

/// The name of a cluster, environment or application.
///
/// 1 to 63 bytes of ASCII letters, digits, `-`, `_` and `.`, starting and ending with a
/// letter or a digit: a Kubernetes label value (the store checks entity names the same way).
/// This keeps `:` and `@` (the scope syntax) and whitespace out, and fits a
/// Kubernetes label value, which is where the admission webhook reads application names from.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Name(String);

/// Error of [`Name::new`]: what is wrong with the name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The name is empty.
    #[error("empty name: expected 1 to 63 letters, digits, '-', '_' or '.'")]
    Empty,
    /// The name is longer than [`MAX_NAME_LEN`].
    #[error("name {name:?} is {len} bytes long: at most 63 are allowed")]
    TooLong {
        /// The name as given.
        name: String,
        /// Its length in bytes.
        len: usize,
    },
    /// The name holds a character outside the allowed set.
    #[error("name {name:?} contains {found:?}: only letters, digits, '-', '_' and '.' are allowed")]
    BadChar {
        /// The name as given.
        name: String,
        /// The first character not allowed.
        found: char,
    },
    /// The name starts with `-`, `_` or `.`.
    #[error("name {name:?} starts with {found:?}: it must start with a letter or a digit")]
    BadStart {
        /// The name as given.
        name: String,
        /// Its first character.
        found: char,
    },
    /// The name ends with `-`, `_` or `.`.
    #[error("name {name:?} ends with {found:?}: it must end with a letter or a digit")]
    BadEnd {
        /// The name as given.
        name: String,
        /// Its last character.
        found: char,
    },
}

impl Name {
    /// Validates a name (see the type's docs for the rules).
    pub fn new(name: impl Into<String>) -> Result<Self, NameError> {
        let name = name.into();
        let Some(first) = name.chars().next() else {
            return Err(NameError::Empty);
        };
        if let Some(found) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        {
            return Err(NameError::BadChar { name, found });
        }
        if !first.is_ascii_alphanumeric() {
            return Err(NameError::BadStart { name, found: first });
        }
        let last = name.chars().next_back().unwrap_or(first);
        if !last.is_ascii_alphanumeric() {
            return Err(NameError::BadEnd { name, found: last });
        }
        if name.len() > MAX_NAME_LEN {
            let len = name.len();
            return Err(NameError::TooLong { name, len });
        }
        Ok(Self(name))
    }

    /// The name's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Name {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<String> for Name {
    type Error = NameError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl From<Name> for String {
    fn from(n: Name) -> Self {
        n.0
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The level of a scope. `Ord` sorts from least to most specific (SPEC 6.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    /// Everything.
    Global,
    /// One cluster.
    Cluster,
    /// One environment (of one cluster).
    Environment,
    /// One application, in every environment.
    Application,
    /// One application in one environment.
    ApplicationInEnvironment,
}

impl Level {
    /// Every level, least specific first.
    pub const ALL: [Level; 5] = [
        Level::Global,
        Level::Cluster,
        Level::Environment,
        Level::Application,
        Level::ApplicationInEnvironment,
    ];

    /// The stable kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Global => "global",
            Self::Cluster => "cluster",
            Self::Environment => "environment",
            Self::Application => "application",
            Self::ApplicationInEnvironment => "application-in-environment",
        }
    }

    /// 0 for global up to 4 for an application in an environment.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a rule applies (SPEC 6.2). Text form `global`, `cluster:C`, `env:E`, `app:A`,
/// `app:A@env:E` (see the module docs); serde uses the same text.
///
/// `Ord` sorts by [`Level`] first, then by names.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Every deployment.
    Global,
    /// Deployments to any environment of this cluster.
    Cluster(Name),
    /// Deployments to this environment.
    Environment(Name),
    /// Deployments of this application, to any environment.
    Application(Name),
    /// Deployments of this application to this environment.
    ApplicationInEnvironment {
        /// The application.
        application: Name,
        /// The environment.
        environment: Name,
    },
}

/// Error of [`Scope::from_str`]: the text is not a scope.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    /// Not one of the five forms.
    #[error(
        "scope {0:?} is not a scope: expected global, cluster:NAME, env:NAME, app:NAME or app:NAME@env:NAME"
    )]
    Syntax(String),
    /// The form is right but a name in it is not valid.
    #[error("scope {scope:?}: bad {what} name: {source}")]
    Name {
        /// The scope as given.
        scope: String,
        /// `cluster`, `environment` or `application`.
        what: &'static str,
        /// What is wrong with the name.
        source: NameError,
    },
    /// [`Scope::lineage`] was asked for a scope with an environment but given no cluster.
    #[error("scope {0}: the cluster of its environment is needed to know what it inherits")]
    ClusterUnknown(String),
}

impl Scope {
    /// The scope's level.
    pub fn level(&self) -> Level {
        match self {
            Self::Global => Level::Global,
            Self::Cluster(_) => Level::Cluster,
            Self::Environment(_) => Level::Environment,
            Self::Application(_) => Level::Application,
            Self::ApplicationInEnvironment { .. } => Level::ApplicationInEnvironment,
        }
    }

    /// The environment the scope names, if any (`env:E` and `app:A@env:E`).
    pub fn environment(&self) -> Option<&Name> {
        match self {
            Self::Environment(e) | Self::ApplicationInEnvironment { environment: e, .. } => Some(e),
            _ => None,
        }
    }

    /// The scopes whose rules apply at this scope, least specific first, ending with this
    /// scope itself: what `vigil policy show --scope` resolves against.
    ///
    /// - `global`: `[global]`
    /// - `cluster:C`: `[global, cluster:C]`
    /// - `env:E`: `[global, cluster:C, env:E]` where `C` is `env_cluster`
    /// - `app:A`: `[global, app:A]` (an application spans clusters and environments)
    /// - `app:A@env:E`: `[global, cluster:C, env:E, app:A, app:A@env:E]`
    ///
    /// `env_cluster` is the cluster of the scope's environment; it is ignored for scopes
    /// without an environment and required for the others
    /// ([`ScopeError::ClusterUnknown`]).
    pub fn lineage(&self, env_cluster: Option<&Name>) -> Result<Vec<Scope>, ScopeError> {
        let cluster = || {
            env_cluster
                .cloned()
                .ok_or_else(|| ScopeError::ClusterUnknown(self.to_string()))
        };
        Ok(match self {
            Self::Global => vec![Self::Global],
            Self::Cluster(_) => vec![Self::Global, self.clone()],
            Self::Environment(_) => vec![Self::Global, Self::Cluster(cluster()?), self.clone()],
            Self::Application(_) => vec![Self::Global, self.clone()],
            Self::ApplicationInEnvironment {
                application,
                environment,
            } => Target {
                cluster: cluster()?,
                environment: environment.clone(),
                application: application.clone(),
            }
            .scopes()
            .into(),
        })
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Global => f.write_str("global"),
            Self::Cluster(c) => write!(f, "cluster:{c}"),
            Self::Environment(e) => write!(f, "env:{e}"),
            Self::Application(a) => write!(f, "app:{a}"),
            Self::ApplicationInEnvironment {
                application,
                environment,
            } => write!(f, "app:{application}@env:{environment}"),
        }
    }
}

impl FromStr for Scope {
    type Err = ScopeError;

    /// Parses the text form exactly (lower-case keywords, no spaces).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = |what: &'static str, text: &str| {
            Name::new(text).map_err(|source| ScopeError::Name {
                scope: s.to_owned(),
                what,
                source,
            })
        };
        if s == "global" {
            return Ok(Self::Global);
        }
        let Some((kind, rest)) = s.split_once(':') else {
            return Err(ScopeError::Syntax(s.to_owned()));
        };
        match kind {
            "cluster" => Ok(Self::Cluster(name("cluster", rest)?)),
            "env" => Ok(Self::Environment(name("environment", rest)?)),
            "app" => match rest.split_once('@') {
                None => Ok(Self::Application(name("application", rest)?)),
                Some((app, env)) => {
                    let Some(env) = env.strip_prefix("env:") else {
                        return Err(ScopeError::Syntax(s.to_owned()));
                    };
                    Ok(Self::ApplicationInEnvironment {
                        application: name("application", app)?,
                        environment: name("environment", env)?,
                    })
                }
            },
            _ => Err(ScopeError::Syntax(s.to_owned())),
        }
    }
}

impl Serialize for Scope {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A deployment target: an application deployed to an environment of a cluster (SPEC 7.4).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Target {
    /// The cluster the environment belongs to.
    pub cluster: Name,
    /// The environment deployed to.
    pub environment: Name,
    /// The application deployed.
    pub application: Name,
}

impl Target {
    /// The five scopes whose rules apply to this target, least specific first (index =
    /// [`Level::index`]).
    pub fn scopes(&self) -> [Scope; 5] {
        [
            Scope::Global,
            Scope::Cluster(self.cluster.clone()),
            Scope::Environment(self.environment.clone()),
            Scope::Application(self.application.clone()),
            Scope::ApplicationInEnvironment {
                application: self.application.clone(),
                environment: self.environment.clone(),
            },
        ]
    }

    /// Whether a rule at `scope` applies to this target.
    pub fn covers(&self, scope: &Scope) -> bool {
        match scope {
            Scope::Global => true,
            Scope::Cluster(c) => *c == self.cluster,
            Scope::Environment(e) => *e == self.environment,
            Scope::Application(a) => *a == self.application,
            Scope::ApplicationInEnvironment {
                application,
                environment,
            } => *application == self.application && *environment == self.environment,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_round_trips() {
        for text in [
            "global",
            "cluster:c1",
            "env:prod",
            "app:web",
            "app:web@env:prod",
        ] {
            let scope: Scope = text.parse().unwrap();
            assert_eq!(scope.to_string(), text);
        }
    }

    #[test]
    fn bad_syntax_names_the_input() {
        for text in [
            "",
            "Global",
            "cluster",
            "cluster:",
            "app:a@prod",
            "env:a b",
            "x:y",
        ] {
            let err = text.parse::<Scope>().unwrap_err().to_string();
            assert!(err.contains(&format!("{text:?}")), "{err}");
        }
    }

    #[test]
    fn names_refuse_scope_syntax_characters() {
        assert!(matches!(
            Name::new("a:b"),
            Err(NameError::BadChar { found: ':', .. })
        ));
        assert!(matches!(
            Name::new("-a"),
            Err(NameError::BadStart { found: '-', .. })
        ));
        assert!(matches!(
            Name::new("a."),
            Err(NameError::BadEnd { found: '.', .. })
        ));
        assert!(Name::new("a".repeat(63)).is_ok());
        assert!(Name::new("eu-west_1.prod").is_ok());
        assert!(matches!(
            Name::new("a".repeat(64)),
            Err(NameError::TooLong { len: 64, .. })
        ));
    }
}
