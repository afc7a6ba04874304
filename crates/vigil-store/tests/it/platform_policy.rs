//! Policy rules and their audit log in the platform store (issue 8, SPEC 6.4-6.6): the same
//! story on both backends; the oracle is `vigil-policy` itself applying the same edits in
//! memory, which the stored rules and the audit log must equal.

use std::sync::Arc;

use proptest::prelude::*;
use vigil_policy::{
    Action, AuditEntry, ChangeKind, CveAction, CveRule, Policies, Scope, Severity, UnscannedAction,
};
use vigil_store::Database;
use vigil_store::platform::{AuditFilter, Environment, Error, PolicyEdit};

use crate::on_both_backends;
use crate::platform::t;

fn scope(s: &str) -> Scope {
    s.parse().unwrap()
}

async fn entities(db: &dyn Database) {
    db.add_cluster("eu-1").await.unwrap();
    db.add_cluster("us-1").await.unwrap();
    for (name, cluster) in [("prod-eu", "eu-1"), ("prod-us", "us-1")] {
        db.add_environment(&Environment {
            name: name.into(),
            cluster: cluster.into(),
            namespace: "prod".into(),
        })
        .await
        .unwrap();
    }
    db.add_application("web").await.unwrap();
    db.add_application("api").await.unwrap();
}

fn cve(scope_text: &str, id: &str, action: CveAction, expires: Option<u64>) -> CveRule {
    CveRule::new(
        scope(scope_text),
        id,
        action,
        "alice",
        "reviewed: not reachable from the web tier",
        t(100),
        expires.map(t),
    )
    .unwrap()
    .0
}

/// The edits of the story: every kind of edit, at every level of scope.
fn story_edits() -> Vec<(&'static str, PolicyEdit)> {
    use PolicyEdit::*;
    vec![
        (
            "alice",
            SetSeverity {
                scope: Scope::Global,
                severity: Severity::Critical,
                action: Action::Block,
            },
        ),
        (
            "alice",
            SetSeverity {
                scope: Scope::Global,
                severity: Severity::High,
                action: Action::BlockIfFixed,
            },
        ),
        (
            "bob",
            SetSeverity {
                scope: scope("cluster:us-1"),
                severity: Severity::Critical,
                action: Action::Allow,
            },
        ),
        (
            "bob",
            SetUnscanned {
                scope: scope("env:prod-eu"),
                action: Some(UnscannedAction::Block),
            },
        ),
        // Real ids: glibc's "Looney Tunables" and a GitHub advisory of the fixtures.
        (
            "alice",
            AddCve(cve(
                "app:web",
                "CVE-2023-4911",
                CveAction::Allow,
                Some(1000),
            )),
        ),
        (
            "carol",
            AddCve(cve(
                "app:api@env:prod-us",
                "ghsa-J8R2-6X86-Q33Q",
                CveAction::Block,
                None,
            )),
        ),
        // Replacing a CVE rule, then an inherit that removes a cluster rule.
        (
            "alice",
            AddCve(cve("app:web", "CVE-2023-4911", CveAction::Block, None)),
        ),
        (
            "bob",
            SetSeverity {
                scope: scope("cluster:us-1"),
                severity: Severity::Critical,
                action: Action::Inherit,
            },
        ),
        (
            "bob",
            SetSeverity {
                scope: scope("env:prod-us"),
                severity: Severity::Low,
                action: Action::Block,
            },
        ),
        (
            "carol",
            RemoveCve {
                scope: scope("app:api@env:prod-us"),
                id: "GHSA-j8r2-6x86-q33q".into(),
            },
        ),
    ]
}

#[test]
fn policy_story() {
    on_both_backends("policy_story", async |db| {
        entities(&*db).await;
        assert_eq!(db.policies().await.unwrap(), Policies::default());
        assert!(
            db.policy_audit(&AuditFilter::default())
                .await
                .unwrap()
                .is_empty()
        );

        let mut oracle = Policies::default();
        let mut logged = Vec::new();
        for (i, (who, edit)) in story_edits().into_iter().enumerate() {
            let at = t(200 + i as u64);
            let entries = db.edit_policy(edit.clone(), who, at).await.unwrap();
            let expected: Vec<AuditEntry> = edit_oracle(&mut oracle, edit)
                .into_iter()
                .map(|c| AuditEntry::new(who, at, c))
                .collect();
            assert_eq!(entries, expected);
            logged.extend(entries);
            assert_eq!(db.policies().await.unwrap(), oracle, "after edit {i}");
        }
        let audit = db.policy_audit(&AuditFilter::default()).await.unwrap();
        assert_eq!(audit, logged);
        let web = db
            .policy_audit(&AuditFilter {
                scope: Some(scope("app:web")),
                limit: 1,
            })
            .await
            .unwrap();
        assert_eq!(web.len(), 1);
        assert_eq!(web[0].change, ChangeKind::Changed);

        // Setting what is already set changes nothing and logs nothing.
        let same = db
            .edit_policy(
                PolicyEdit::SetSeverity {
                    scope: Scope::Global,
                    severity: Severity::Critical,
                    action: Action::Block,
                },
                "dave",
                t(300),
            )
            .await
            .unwrap();
        assert_eq!(same[0].change, ChangeKind::Unchanged);
        assert_eq!(
            db.policy_audit(&AuditFilter::default())
                .await
                .unwrap()
                .len(),
            logged.len()
        );

        insta::assert_snapshot!(
            "policy_audit_log",
            serde_json::to_string_pretty(&audit).unwrap()
        );
    });
}

fn edit_oracle(oracle: &mut Policies, edit: PolicyEdit) -> Vec<vigil_policy::Change> {
    use PolicyEdit::*;
    match edit {
        SetSeverity {
            scope,
            severity,
            action,
        } => vec![oracle.set_severity(scope, severity, action).unwrap()],
        AddCve(rule) => vec![oracle.add_cve(rule)],
        RemoveCve { scope, id } => vec![oracle.remove_cve(&scope, &id).unwrap()],
        SetUnscanned { scope, action } => vec![oracle.set_unscanned(scope, action).unwrap()],
        ClearScope(scope) => oracle.clear_scope(&scope).unwrap(),
    }
}

/// Refused edits: the crate's own refusals, unknown scope entities, and nothing written
/// (no rule, no audit row) when an edit fails.
#[test]
fn policy_refusals() {
    on_both_backends("policy_refusals", async |db| {
        entities(&*db).await;
        let mut messages = Vec::new();
        let mut note = |what: &str, e: Error| messages.push(format!("{what}: {e}"));
        let set = |s: &str, action| PolicyEdit::SetSeverity {
            scope: scope(s),
            severity: Severity::High,
            action,
        };
        note(
            "global inherit",
            db.edit_policy(set("global", Action::Inherit), "alice", t(1))
                .await
                .unwrap_err(),
        );
        note(
            "global unscanned inherit",
            db.edit_policy(
                PolicyEdit::SetUnscanned {
                    scope: Scope::Global,
                    action: None,
                },
                "alice",
                t(1),
            )
            .await
            .unwrap_err(),
        );
        note(
            "unknown cluster",
            db.edit_policy(set("cluster:nope", Action::Block), "alice", t(1))
                .await
                .unwrap_err(),
        );
        note(
            "unknown environment",
            db.edit_policy(set("app:web@env:nope", Action::Block), "alice", t(1))
                .await
                .unwrap_err(),
        );
        note(
            "unknown application",
            db.edit_policy(set("app:nope", Action::Block), "alice", t(1))
                .await
                .unwrap_err(),
        );
        note(
            "no such CVE rule",
            db.edit_policy(
                PolicyEdit::RemoveCve {
                    scope: scope("app:web"),
                    id: "CVE-2023-4911".into(),
                },
                "alice",
                t(1),
            )
            .await
            .unwrap_err(),
        );
        note(
            "clear global",
            db.edit_policy(PolicyEdit::ClearScope(Scope::Global), "alice", t(1))
                .await
                .unwrap_err(),
        );
        note(
            "nobody",
            db.edit_policy(set("app:web", Action::Block), "", t(1))
                .await
                .unwrap_err(),
        );
        assert_eq!(db.policies().await.unwrap(), Policies::default());
        assert!(
            db.policy_audit(&AuditFilter::default())
                .await
                .unwrap()
                .is_empty()
        );

        // A scope's entity cannot be removed while it has rules; clearing the scope logs one
        // removal per rule, and then it can.
        db.edit_policy(set("cluster:eu-1", Action::Block), "alice", t(2))
            .await
            .unwrap();
        db.edit_policy(
            PolicyEdit::AddCve(cve("cluster:eu-1", "CVE-2023-4911", CveAction::Allow, None)),
            "alice",
            t(3),
        )
        .await
        .unwrap();
        db.edit_policy(set("app:web@env:prod-eu", Action::Allow), "alice", t(4))
            .await
            .unwrap();
        note(
            "remove cluster with rules",
            db.remove_cluster("eu-1").await.unwrap_err(),
        );
        db.add_cluster("spare").await.unwrap();
        db.add_environment(&Environment {
            name: "e2".into(),
            cluster: "spare".into(),
            namespace: "x".into(),
        })
        .await
        .unwrap();
        db.remove_environment("e2").await.unwrap();
        note(
            "remove environment with rules",
            db.remove_environment("prod-eu").await.unwrap_err(),
        );
        note(
            "remove application with rules",
            db.remove_application("web").await.unwrap_err(),
        );
        let cleared = db
            .edit_policy(PolicyEdit::ClearScope(scope("cluster:eu-1")), "alice", t(5))
            .await
            .unwrap();
        assert_eq!(cleared.len(), 2);
        assert!(cleared.iter().all(|e| e.change == ChangeKind::Removed));
        db.edit_policy(
            PolicyEdit::ClearScope(scope("app:web@env:prod-eu")),
            "alice",
            t(6),
        )
        .await
        .unwrap();
        db.remove_environment("prod-eu").await.unwrap();
        db.remove_cluster("eu-1").await.unwrap();
        assert_eq!(
            db.policy_audit(&AuditFilter::default())
                .await
                .unwrap()
                .len(),
            6
        );
        assert_eq!(db.policies().await.unwrap(), Policies::default());
        insta::assert_snapshot!("policy_errors", messages.join("\n"));
    });
}

/// Concurrent edits of one rule take turns: each audit entry's "before" is the previous
/// entry's "after", whatever the interleaving.
#[test]
fn concurrent_edits_chain_in_the_audit_log() {
    on_both_backends("policy_concurrent", async |db| {
        entities(&*db).await;
        let db: Arc<dyn Database> = db.into();
        let mut tasks = Vec::new();
        for w in 0..4u64 {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..10u64 {
                    let action = [Action::Allow, Action::Block, Action::BlockIfFixed]
                        [((w + i) % 3) as usize];
                    let edit = PolicyEdit::SetSeverity {
                        scope: scope("env:prod-eu"),
                        severity: Severity::Medium,
                        action,
                    };
                    db.edit_policy(edit, &format!("worker-{w}"), t(i))
                        .await
                        .unwrap();
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let audit = db.policy_audit(&AuditFilter::default()).await.unwrap();
        assert!(!audit.is_empty());
        for pair in audit.windows(2) {
            assert_eq!(pair[1].before, pair[0].after, "{pair:#?}");
        }
        let last = audit.last().unwrap().after.as_ref().unwrap().action();
        assert_eq!(
            db.policies()
                .await
                .unwrap()
                .severity_rule(&scope("env:prod-eu"), Severity::Medium),
            Some(last)
        );
    });
}

fn arb_scope() -> impl Strategy<Value = Scope> {
    prop::sample::select(vec![
        "global",
        "cluster:eu-1",
        "cluster:us-1",
        "env:prod-eu",
        "env:prod-us",
        "app:web",
        "app:api",
        "app:web@env:prod-eu",
        "app:api@env:prod-us",
    ])
    .prop_map(scope)
}

fn arb_edit() -> impl Strategy<Value = PolicyEdit> {
    let severity = prop::sample::select(Severity::ALL.to_vec());
    let action = prop::sample::select(Action::ALL.to_vec());
    let id = prop::sample::select(vec![
        "CVE-2023-4911",
        "GHSA-j8r2-6x86-q33q",
        "PYSEC-2023-74",
        "DSA-5514-1",
    ]);
    prop_oneof![
        4 => (arb_scope(), severity, action).prop_map(|(scope, severity, action)| PolicyEdit::SetSeverity { scope, severity, action }),
        3 => (arb_scope(), id.clone(), any::<bool>(), prop::option::of(150u64..400)).prop_map(|(scope, id, block, expires)| {
            let action = if block { CveAction::Block } else { CveAction::Allow };
            PolicyEdit::AddCve(CveRule::new(scope, id, action, "alice", "why not", t(100), expires.map(t)).unwrap().0)
        }),
        2 => (arb_scope(), id).prop_map(|(scope, id)| PolicyEdit::RemoveCve { scope, id: id.into() }),
        2 => (arb_scope(), prop::option::of(any::<bool>())).prop_map(|(scope, a)| PolicyEdit::SetUnscanned {
            scope,
            action: a.map(|b| if b { UnscannedAction::Block } else { UnscannedAction::Allow }),
        }),
        1 => arb_scope().prop_map(PolicyEdit::ClearScope),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Any sequence of edits, refused ones included, leaves the store holding exactly what
    /// vigil-policy holds after the same edits in memory, and the audit log listing exactly
    /// the changes it returned; on SQLite, and on a fresh PostgreSQL database per case when
    /// a URL is set.
    #[test]
    fn stored_rules_follow_the_crate(edits in prop::collection::vec(arb_edit(), 1..30)) {
        crate::rt().block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let mut locations = vec![vigil_store::Location::Sqlite(dir.path().join("v.db"))];
            locations.extend(crate::fresh_postgres("policy_prop").await);
            for location in locations {
                let db = vigil_store::open(&location).await.unwrap();
                check_edits(&*db, edits.clone()).await?;
                db.close().await;
                crate::drop_postgres(&location).await;
            }
            Ok::<(), TestCaseError>(())
        })?;
    }
}

async fn check_edits(db: &dyn Database, edits: Vec<PolicyEdit>) -> Result<(), TestCaseError> {
    entities(db).await;
    let mut oracle = Policies::default();
    let mut expected_log = Vec::new();
    for (i, edit) in edits.into_iter().enumerate() {
        let at = t(200 + i as u64);
        let mut copy = oracle.clone();
        let stored = db.edit_policy(edit.clone(), "prop", at).await;
        let in_memory = apply_fallible(&mut copy, edit);
        match (stored, in_memory) {
            (Ok(entries), Ok(changes)) => {
                let expected: Vec<AuditEntry> = changes
                    .into_iter()
                    .map(|c| AuditEntry::new("prop", at, c))
                    .collect();
                prop_assert_eq!(&entries, &expected);
                expected_log.extend(
                    expected
                        .into_iter()
                        .filter(|e| e.change != ChangeKind::Unchanged),
                );
                oracle = copy;
            }
            (Err(Error::Policy(a)), Err(b)) => prop_assert_eq!(a, b),
            (s, m) => prop_assert!(false, "store {s:?} but in memory {m:?}"),
        }
        prop_assert_eq!(db.policies().await.unwrap(), oracle.clone());
    }
    prop_assert_eq!(
        db.policy_audit(&AuditFilter::default()).await.unwrap(),
        expected_log
    );
    Ok(())
}

fn apply_fallible(
    p: &mut Policies,
    edit: PolicyEdit,
) -> Result<Vec<vigil_policy::Change>, vigil_policy::PolicyError> {
    use PolicyEdit::*;
    Ok(match edit {
        SetSeverity {
            scope,
            severity,
            action,
        } => vec![p.set_severity(scope, severity, action)?],
        AddCve(rule) => vec![p.add_cve(rule)],
        RemoveCve { scope, id } => vec![p.remove_cve(&scope, &id)?],
        SetUnscanned { scope, action } => vec![p.set_unscanned(scope, action)?],
        ClearScope(scope) => p.clear_scope(&scope)?,
    })
}

/// A policy change whose audit row cannot be written is not made at all (one transaction),
/// and the failure names the operation, never the SQL.
#[test]
fn a_change_without_its_audit_row_is_not_made() {
    crate::rt().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let mut locations = vec![vigil_store::Location::Sqlite(dir.path().join("v.db"))];
        locations.extend(crate::fresh_postgres("policy_atomic").await);
        for location in locations {
            let db = vigil_store::open(&location).await.unwrap();
            entities(&*db).await;
            // Break the audit log behind the store's back.
            let drop = "ALTER TABLE policy_audit RENAME TO policy_audit_gone";
            match &location {
                vigil_store::Location::Sqlite(path) => {
                    use sqlx::Connection;
                    let mut c =
                        sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
                            .await
                            .unwrap();
                    sqlx::query(drop).execute(&mut c).await.unwrap();
                }
                vigil_store::Location::Postgres(url) => {
                    use sqlx::Connection;
                    let mut c = sqlx::PgConnection::connect(url).await.unwrap();
                    sqlx::query(drop).execute(&mut c).await.unwrap();
                }
            }
            let edit = PolicyEdit::SetSeverity {
                scope: Scope::Global,
                severity: Severity::Critical,
                action: Action::Block,
            };
            let e = db.edit_policy(edit, "alice", t(1)).await.unwrap_err();
            let message = e.to_string();
            assert!(matches!(e, Error::Store(_)), "{message}");
            assert!(
                message.starts_with("database write policy audit log failed: "),
                "{message}"
            );
            assert!(message.contains("policy_audit"), "{message}");
            for sql in ["INSERT", "VALUES", "SELECT"] {
                assert!(!message.contains(sql), "{message}");
            }
            assert_eq!(db.policies().await.unwrap(), Policies::default());
        }
    });
}
