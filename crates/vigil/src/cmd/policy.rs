//! `vigil policy set|cve add|cve rm|show|audit` (SPEC 6, issue 8). SCOPE is `global`,
//! `cluster:C`, `env:E`, `app:A` or `app:A@env:E`.

use std::time::SystemTime;

use anyhow::Context;
use clap::{Args, Subcommand};
use vigil_policy::{Action, CveAction, CveRule, Name, Scope, Severity, UnscannedAction};
use vigil_store::platform::{AuditFilter, PolicyEdit};

use crate::cmd::platform::{Format, WhoArgs, print_json, print_table, say};
use crate::cmd::remote::{self, Backend};
use crate::exit::ExitStatus;

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Set the action for a severity (or the unscanned setting) at a scope
    Set(SetArgs),
    /// CVE rules: the whitelist (allow) and blacklist (block)
    #[command(subcommand)]
    Cve(CveCommand),
    /// The effective rules at a scope, inherited ones marked with where they come from
    Show {
        /// global, cluster:C, env:E, app:A or app:A@env:E
        #[arg(long, default_value = "global")]
        scope: String,
        #[arg(long, short, value_enum, default_value_t)]
        format: Format,
    },
    /// The audit log of policy changes, oldest first
    Audit {
        /// Only changes at this scope
        #[arg(long)]
        scope: Option<String>,
        /// The newest N entries
        #[arg(long, default_value_t = 1000)]
        limit: u32,
        #[arg(long, short, value_enum, default_value_t)]
        format: Format,
    },
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["severity", "unscanned"]))]
pub struct SetArgs {
    /// global, cluster:C, env:E, app:A or app:A@env:E
    #[arg(long)]
    pub scope: String,
    /// The severity the rule is for: critical, high, medium, low, unknown
    #[arg(long, requires = "action")]
    pub severity: Option<String>,
    /// allow, block, block-if-fixed, or inherit (remove the rule here)
    #[arg(long)]
    pub action: Option<String>,
    /// The unscanned setting instead (SPEC 6.6): allow, block, or inherit
    #[arg(long, value_name = "ACTION", conflicts_with = "action")]
    pub unscanned: Option<String>,
    #[command(flatten)]
    pub who: WhoArgs,
}

#[derive(Debug, Subcommand)]
pub enum CveCommand {
    /// Add (or replace) the rule for a vulnerability id at a scope
    Add {
        /// CVE-..., GHSA-..., or any vulnerability id
        id: String,
        #[arg(long)]
        scope: String,
        /// allow (whitelist) or block (blacklist)
        #[arg(long)]
        action: String,
        /// Why (required, kept with the rule)
        #[arg(long)]
        reason: String,
        /// Last day it applies (YYYY-MM-DD, UTC) or an RFC 3339 time when it stops
        #[arg(long, value_name = "DATE")]
        expires: Option<String>,
        #[command(flatten)]
        who: WhoArgs,
    },
    /// Remove the rule for a vulnerability id at a scope
    Rm {
        id: String,
        #[arg(long)]
        scope: String,
        #[command(flatten)]
        who: WhoArgs,
    },
}

fn scope(text: &str) -> anyhow::Result<Scope> {
    text.parse::<Scope>()
        .with_context(|| format!("invalid scope {text:?}"))
}

/// `PUT /api/v1/policies/severities`.
#[derive(serde::Serialize)]
struct SeverityBody {
    scope: String,
    severity: Severity,
    action: Action,
}

/// `PUT /api/v1/policies/unscanned` (`action` null: inherit).
#[derive(serde::Serialize)]
struct UnscannedBody {
    scope: String,
    action: Option<UnscannedAction>,
}

/// `POST /api/v1/policies/cve-rules`.
#[derive(serde::Serialize)]
struct CveBody<'a> {
    scope: String,
    id: &'a str,
    action: CveAction,
    reason: &'a str,
    expires: Option<&'a str>,
}

pub fn run(cmd: PolicyCommand) -> anyhow::Result<ExitStatus> {
    let backend = Backend::open()?;
    let now = SystemTime::now();
    match cmd {
        PolicyCommand::Set(args) => {
            // Parsed here in both modes: the same messages for bad input, and the server
            // gets canonical names.
            let scope = scope(&args.scope)?;
            let edit = match (&args.severity, &args.unscanned) {
                (Some(sev), _) => PolicyEdit::SetSeverity {
                    scope,
                    severity: sev
                        .parse::<Severity>()
                        .with_context(|| format!("invalid --severity {sev:?}"))?,
                    action: args
                        .action
                        .as_deref()
                        .unwrap_or_default()
                        .parse::<Action>()
                        .with_context(|| format!("invalid --action {:?}", args.action))?,
                },
                (None, Some(u)) => PolicyEdit::SetUnscanned {
                    scope,
                    action: match u.as_str() {
                        "inherit" => None,
                        other => Some(
                            other
                                .parse::<UnscannedAction>()
                                .with_context(|| format!("invalid --unscanned {other:?}"))?,
                        ),
                    },
                },
                (None, None) => unreachable!("clap requires --severity or --unscanned"),
            };
            let entries = match &backend {
                Backend::Local { store, .. } => {
                    let who = args.who.name()?;
                    store.block_on(store.db().edit_policy(edit, &who, now))?
                }
                Backend::Remote { client, .. } => {
                    remote::warn_who_ignored(&args.who);
                    match edit {
                        PolicyEdit::SetSeverity {
                            scope,
                            severity,
                            action,
                        } => client.put(
                            "/api/v1/policies/severities",
                            &SeverityBody {
                                scope: scope.to_string(),
                                severity,
                                action,
                            },
                        )?,
                        PolicyEdit::SetUnscanned { scope, action } => client.put(
                            "/api/v1/policies/unscanned",
                            &UnscannedBody {
                                scope: scope.to_string(),
                                action,
                            },
                        )?,
                        _ => unreachable!("built above as a severity or unscanned edit"),
                    }
                }
            };
            report_changes(entries)?;
        }
        PolicyCommand::Cve(CveCommand::Add {
            id,
            scope: s,
            action,
            reason,
            expires,
            who,
        }) => {
            let action: CveAction = action
                .parse()
                .with_context(|| format!("invalid --action {action:?}"))?;
            let expires_at = expires
                .as_deref()
                .map(vigil_policy::time::parse_date)
                .transpose()?;
            let author = match &backend {
                Backend::Local { .. } => who.name()?,
                Backend::Remote { .. } => {
                    remote::warn_who_ignored(&who);
                    // Validation only: the server makes the rule with the token's name.
                    "-".to_owned()
                }
            };
            let (rule, warning) = CveRule::new(
                scope(&s)?,
                &id,
                action,
                author.clone(),
                reason.clone(),
                now,
                expires_at,
            )?;
            if let Some(w) = warning {
                tracing::warn!("{w}");
            }
            let entries = match &backend {
                Backend::Local { store, .. } => store.block_on(store.db().edit_policy(
                    PolicyEdit::AddCve(rule),
                    &author,
                    now,
                ))?,
                Backend::Remote { client, .. } => client.post(
                    "/api/v1/policies/cve-rules",
                    &CveBody {
                        scope: rule.scope.to_string(),
                        id: &id,
                        action,
                        reason: &reason,
                        expires: expires.as_deref(),
                    },
                )?,
            };
            report_changes(entries)?;
        }
        PolicyCommand::Cve(CveCommand::Rm { id, scope: s, who }) => {
            let scope = scope(&s)?;
            let entries = match &backend {
                Backend::Local { store, .. } => {
                    let who = who.name()?;
                    let edit = PolicyEdit::RemoveCve { scope, id };
                    store.block_on(store.db().edit_policy(edit, &who, now))?
                }
                Backend::Remote { client, .. } => {
                    remote::warn_who_ignored(&who);
                    client.delete(
                        "/api/v1/policies/cve-rules",
                        &[("scope", Some(scope.to_string())), ("id", Some(id))],
                    )?
                }
            };
            report_changes(entries)?;
        }
        PolicyCommand::Show { scope: s, format } => {
            let scope = scope(&s)?;
            match &backend {
                Backend::Local { store, .. } => {
                    let db = store.db();
                    let policies = store.block_on(db.policies())?;
                    let cluster = match scope.environment() {
                        Some(env) => {
                            let e = store.block_on(db.environment(env.as_str()))?.with_context(
                                || format!("environment {:?} does not exist", env.as_str()),
                            )?;
                            Some(Name::new(e.cluster.clone())?)
                        }
                        None => None,
                    };
                    let eff = vigil_policy::effective(&policies, &scope, cluster.as_ref(), now)?;
                    show(&eff, format)?;
                }
                Backend::Remote { client, .. } => {
                    let eff: vigil_policy::Effective<'static> =
                        client.get("/api/v1/policies", &[("scope", Some(scope.to_string()))])?;
                    show(&eff, format)?;
                }
            }
        }
        PolicyCommand::Audit {
            scope: s,
            limit,
            format,
        } => {
            let scope = s.as_deref().map(scope).transpose()?;
            let entries: Vec<vigil_policy::AuditEntry> = match &backend {
                Backend::Local { store, .. } => {
                    let filter = AuditFilter { scope, limit };
                    store.block_on(store.db().policy_audit(&filter))?
                }
                Backend::Remote { client, .. } => client.get(
                    "/api/v1/policies/audit",
                    &[
                        ("scope", scope.as_ref().map(Scope::to_string)),
                        ("limit", Some(limit.to_string())),
                    ],
                )?,
            };
            match format {
                Format::Json => print_json(&entries)?,
                Format::Table => print_table(
                    &["WHEN", "WHO", "SCOPE", "KEY", "CHANGE", "BEFORE", "AFTER"],
                    &entries
                        .iter()
                        .map(|e| {
                            vec![
                                vigil_policy::time::format(e.when),
                                e.who.clone(),
                                e.scope.to_string(),
                                e.key.to_string(),
                                e.change.as_str().to_owned(),
                                e.before
                                    .as_ref()
                                    .map_or("-".into(), |r| r.action().to_string()),
                                e.after
                                    .as_ref()
                                    .map_or("-".into(), |r| r.action().to_string()),
                            ]
                        })
                        .collect::<Vec<_>>(),
                )?,
            }
        }
    }
    Ok(ExitStatus::Clean)
}

/// Prints the effective policy (`policy show`), however it was computed.
fn show(eff: &vigil_policy::Effective<'_>, format: Format) -> anyhow::Result<()> {
    match format {
        Format::Json => print_json(eff),
        Format::Table => show_table(eff),
    }
}

fn report_changes(entries: Vec<vigil_policy::AuditEntry>) -> anyhow::Result<()> {
    for e in entries {
        let show = |r: &Option<vigil_policy::Rule>| {
            r.as_ref()
                .map_or("none".to_owned(), |r| r.action().to_string())
        };
        say(&format!(
            "{} {} {}: {} -> {}",
            e.change.as_str(),
            e.scope,
            e.key,
            show(&e.before),
            show(&e.after)
        ))?;
    }
    Ok(())
}

fn show_table(eff: &vigil_policy::Effective<'_>) -> anyhow::Result<()> {
    let from = |origin: vigil_policy::Origin, s: &Option<Scope>| match origin {
        vigil_policy::Origin::Here => "here".to_owned(),
        vigil_policy::Origin::Inherited => {
            format!(
                "inherited from {}",
                s.as_ref().map_or("-".into(), Scope::to_string)
            )
        }
        vigil_policy::Origin::Default => "default".to_owned(),
    };
    let mut rows: Vec<Vec<String>> = eff
        .severities
        .iter()
        .map(|s| {
            vec![
                format!("severity {}", s.severity),
                s.action.to_string(),
                from(s.origin, &s.from),
                s.overrides
                    .map_or(String::new(), |a| format!("overrides {a}")),
            ]
        })
        .collect();
    rows.push(vec![
        "unscanned".into(),
        eff.unscanned.action.to_string(),
        from(eff.unscanned.origin, &eff.unscanned.from),
        eff.unscanned
            .overrides
            .map_or(String::new(), |a| format!("overrides {a}")),
    ]);
    for c in &eff.cve_rules {
        let mut notes = Vec::new();
        if c.expired {
            notes.push("expired".to_owned());
        }
        if let Some(by) = &c.overridden_by {
            notes.push(format!("overridden by {by}"));
        }
        if let Some(e) = c.rule.expires {
            notes.push(format!("expires {}", vigil_policy::time::format(e)));
        }
        notes.push(format!("by {}: {}", c.rule.author, c.rule.reason));
        rows.push(vec![
            c.rule.id.to_string(),
            c.rule.action.to_string(),
            from(c.origin, &Some(c.rule.scope.clone())),
            notes.join("; "),
        ]);
    }
    say(&format!("scope {}", eff.scope))?;
    print_table(&["KEY", "ACTION", "FROM", "NOTE"], &rows)
}
