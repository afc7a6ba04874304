//! The scenario suite of issue 8 through the CLI: the real app image scanned with the real
//! fixture feeds (prepared in platform.rs), policies set with `vigil policy`, decisions read
//! from `vigil gate` (exit 0 allow, 3 block) and `vigil explain`. Each test is named for the
//! rule it checks. The app image's findings used here (fixture feeds of the shared folder):
//! CVE-2021-44906 (critical, npm minimist, fixed, alias GHSA-xvch-5gv4-984h), CVE-2021-23337
//! (high, npm lodash, fixed, alias GHSA-35jh-r3h4-6jhm), CVE-2005-2541 (low, deb tar, not
//! fixed), and findings of severity unknown both fixed (PyPI) and not fixed (Debian).

use serde_json::Value;

use crate::platform::{Env, prepared};

const CRITICAL: &str = "CVE-2021-44906";
const CRITICAL_GHSA: &str = "GHSA-xvch-5gv4-984h";
const HIGH: &str = "CVE-2021-23337";
const HIGH_GHSA: &str = "GHSA-35jh-r3h4-6jhm";
const LOW: &str = "CVE-2005-2541";

fn gate(env: &Env, digest: &str, app_env: &str, code: i32) -> Value {
    env.json(&["gate", "--app", "web", "--env", app_env, digest], code)
}

fn explain(env: &Env, digest: &str, app_env: &str) -> Value {
    env.json(&["explain", "--app", "web", "--env", app_env, digest], 0)
}

/// The explained findings with this id.
fn findings<'a>(ex: &'a Value, id: &str) -> Vec<&'a Value> {
    let out: Vec<&Value> = ex["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"] == id)
        .collect();
    assert!(!out.is_empty(), "no finding {id} in the app image");
    out
}

fn blocking_ids(gate: &Value) -> Vec<String> {
    let mut ids: Vec<String> = gate["blocking"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect();
    ids.dedup();
    ids
}

fn set(env: &Env, scope: &str, severity: &str, action: &str) {
    env.ok(
        &[
            "policy",
            "set",
            "--scope",
            scope,
            "--severity",
            severity,
            "--action",
            action,
        ],
        0,
    );
}

fn cve(env: &Env, id: &str, scope: &str, action: &str, extra: &[&str]) {
    let mut args = vec![
        "policy", "cve", "add", id, "--scope", scope, "--action", action,
    ];
    args.extend(["--reason", "scenario test"]);
    args.extend(extra);
    env.ok(&args, 0);
}

/// A fresh install allows everything: the global defaults are allow rules (SPEC 6.4), so
/// each finding is allowed by its global severity rule, and the gate allows.
#[test]
fn fresh_install_allows_with_the_global_default_rules() {
    let Some(p) = prepared() else { return };
    for env in p.copies_and_server("fresh_allows") {
        let g = gate(&env, &p.digest, "prod", 0);
        assert_eq!(g["decision"], "allow");
        assert_eq!(g["scan"], "completed");
        assert_eq!(g["blocking"], serde_json::json!([]));
        let ex = explain(&env, &p.digest, "prod");
        assert_eq!(ex["findings"].as_array().unwrap().len(), 95);
        for f in ex["findings"].as_array().unwrap() {
            assert_eq!(f["verdict"], "allowed");
            assert_eq!(f["rule"]["scope"], "global", "{f}");
        }
    }
}

#[test]
fn global_block_critical_blocks_with_the_rule_shown() {
    let Some(p) = prepared() else { return };
    for env in p.copies_and_server("global_block_critical") {
        set(&env, "global", "critical", "block");
        let g = gate(&env, &p.digest, "prod", 3);
        assert_eq!(g["decision"], "block");
        assert_eq!(blocking_ids(&g), [CRITICAL]);
        assert_eq!(
            g["blocking"][0]["explanation"],
            "blocked by global severity critical block"
        );
        // The table names the finding and the rule too.
        let out = env.run(&["gate", "--app", "web", "--env", "prod", &p.digest]);
        assert_eq!(out.status.code(), Some(3));
        let table = String::from_utf8_lossy(&out.stdout);
        assert!(
            table.starts_with("BLOCK: web in prod (cluster eu)"),
            "{table}"
        );
        assert!(
            table.contains(CRITICAL) && table.contains("blocked by global severity critical block"),
            "{table}"
        );
        // The gate also takes the image reference and finds its digest.
        let g = env.json(&["gate", "--app", "web", "--env", "prod", &p.image], 3);
        assert_eq!(g["digest"], p.digest.as_str());
    }
}

#[test]
fn cluster_allows_it_again() {
    let Some(p) = prepared() else { return };
    for env in p.copies_and_server("cluster_allows") {
        set(&env, "global", "critical", "block");
        set(&env, "cluster:eu", "critical", "allow");
        let g = gate(&env, &p.digest, "prod", 0);
        assert_eq!(g["decision"], "allow");
        let ex = explain(&env, &p.digest, "prod");
        assert_eq!(
            findings(&ex, CRITICAL)[0]["explanation"],
            "allowed by cluster:eu severity critical allow"
        );
        // Cluster us is not eu: the global rule still blocks there.
        let g = gate(&env, &p.digest, "prod-us", 3);
        assert_eq!(blocking_ids(&g), [CRITICAL]);
    }
}

#[test]
fn environment_inherits_its_cluster_rule() {
    let Some(p) = prepared() else { return };
    for env in p.copies_and_server("env_inherits") {
        set(&env, "global", "critical", "block");
        set(&env, "cluster:eu", "critical", "allow");
        // `inherit` at the environment removes nothing and sets nothing: the cluster decides.
        set(&env, "env:staging", "critical", "inherit");
        let show = env.json(&["policy", "show", "--scope", "env:staging"], 0);
        let crit = show["severities"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["severity"] == "critical")
            .unwrap()
            .clone();
        assert_eq!(crit["origin"], "inherited", "{crit}");
        assert_eq!(crit["from"], "cluster:eu");
        gate(&env, &p.digest, "staging", 0);
        // The environment's own rule overrides the cluster's.
        set(&env, "env:staging", "critical", "block");
        let g = gate(&env, &p.digest, "staging", 3);
        assert_eq!(
            g["blocking"][0]["explanation"],
            "blocked by env:staging severity critical block"
        );
        gate(&env, &p.digest, "prod", 0);
    }
}

#[test]
fn app_whitelists_one_cve_that_the_global_blocks() {
    let Some(p) = prepared() else { return };
    for env in p.copies_and_server("app_whitelist") {
        set(&env, "global", "critical", "block");
        set(&env, "global", "high", "block");
        cve(&env, CRITICAL, "app:web", "allow", &[]);
        let g = gate(&env, &p.digest, "prod", 3);
        // The whitelisted critical no longer blocks; the highs still do.
        assert_eq!(blocking_ids(&g), ["CVE-2020-8203", HIGH]);
        let ex = explain(&env, &p.digest, "prod");
        let f = findings(&ex, CRITICAL)[0];
        assert_eq!(f["verdict"], "whitelisted");
        assert_eq!(
            f["explanation"],
            format!("whitelisted by app:web {CRITICAL} allow")
        );
        assert_eq!(f["rule"]["author"], env.who("alice"));
        assert_eq!(f["rule"]["reason"], "scenario test");
    }
}

#[test]
fn app_in_env_blacklists_a_cve_of_low_severity() {
    let Some(p) = prepared() else { return };
    for env in p.copies_and_server("app_in_env_blacklist") {
        cve(&env, LOW, "app:web@env:prod", "block", &[]);
        let g = gate(&env, &p.digest, "prod", 3);
        assert_eq!(blocking_ids(&g), [LOW]);
        assert_eq!(
            g["blocking"][0]["explanation"],
            format!("blocked by app:web@env:prod {LOW} block")
        );
        assert_eq!(g["blocking"][0]["severity"], "low");
        // Only in prod: staging is allowed.
        gate(&env, &p.digest, "staging", 0);
    }
}

#[test]
fn an_alias_ghsa_hits_a_cve_rule() {
    let Some(p) = prepared() else { return };
    for env in p.copies_and_server("alias_ghsa") {
        cve(&env, HIGH_GHSA, "global", "block", &[]);
        let g = gate(&env, &p.digest, "prod", 3);
        assert_eq!(blocking_ids(&g), [HIGH]);
        assert_eq!(
            g["blocking"][0]["explanation"],
            format!("blocked by global {HIGH_GHSA} block")
        );
        // And an alias whitelists as well: the critical's GHSA against a global block.
        set(&env, "global", "critical", "block");
        cve(&env, CRITICAL_GHSA, "app:web", "allow", &[]);
        let ex = explain(&env, &p.digest, "prod");
        assert_eq!(findings(&ex, CRITICAL)[0]["verdict"], "whitelisted");
    }
}

#[test]
fn an_expired_whitelist_entry_stops_applying() {
    let Some(p) = prepared() else { return };
    for env in p.copies_and_server("expired_whitelist") {
        set(&env, "global", "critical", "block");
        let expires = std::time::SystemTime::now() + std::time::Duration::from_secs(3);
        let expires = humantime::format_rfc3339_seconds(expires).to_string();
        cve(&env, CRITICAL, "app:web", "allow", &["--expires", &expires]);
        gate(&env, &p.digest, "prod", 0);
        std::thread::sleep(std::time::Duration::from_secs(4));
        let g = gate(&env, &p.digest, "prod", 3);
        assert_eq!(blocking_ids(&g), [CRITICAL]);
        let f = &g["blocking"][0];
        assert_eq!(f["rule"]["key"]["severity"], "critical");
        assert_eq!(f["expired"][0]["id"], CRITICAL, "{f}");
        assert!(
            f["explanation"]
                .as_str()
                .unwrap()
                .ends_with(&format!("(expired: app:web {CRITICAL} allow)")),
            "{f}"
        );
        let show = env.ok(&["policy", "show", "--scope", "app:web"], 0);
        assert!(
            show.lines()
                .any(|l| l.starts_with(CRITICAL) && l.contains("expired")),
            "{show}"
        );
    }
}

#[test]
fn block_if_fixed_blocks_with_a_fix_and_allows_without() {
    let Some(p) = prepared() else { return };
    for env in p.copies_and_server("block_if_fixed") {
        set(&env, "global", "unknown", "block-if-fixed");
        let g = gate(&env, &p.digest, "prod", 3);
        let blocking = g["blocking"].as_array().unwrap();
        assert_eq!(
            blocking.len(),
            6,
            "the six fixed findings of severity unknown"
        );
        for f in blocking {
            assert_eq!(f["fix_state"], "fixed");
            assert_eq!(
                f["explanation"],
                "blocked by global severity unknown block-if-fixed"
            );
        }
        let ex = explain(&env, &p.digest, "prod");
        let unfixed: Vec<&Value> = ex["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["severity"] == "unknown" && f["fix_state"] == "not-fixed")
            .collect();
        assert_eq!(unfixed.len(), 28);
        for f in unfixed {
            assert_eq!(f["verdict"], "allowed");
            assert_eq!(
                f["explanation"],
                "allowed by global severity unknown block-if-fixed"
            );
        }
    }
}

#[test]
fn unscanned_image_follows_the_unscanned_setting() {
    let Some(p) = prepared() else { return };
    let never = format!("sha256:{}", "0".repeat(64));
    for env in p.copies_and_server("unscanned") {
        // compat default: allow.
        let g = gate(&env, &never, "prod", 0);
        assert_eq!(g["scan"], "missing");
        assert_eq!(g["unscanned_rule"]["action"], "allow");
        env.ok(
            &[
                "policy",
                "set",
                "--scope",
                "env:prod",
                "--unscanned",
                "block",
            ],
            0,
        );
        let g = gate(&env, &never, "prod", 3);
        assert_eq!(g["unscanned_rule"]["scope"], "env:prod");
        assert_eq!(g["blocking"], serde_json::json!([]));
        gate(&env, &never, "staging", 0);
        // A scanned image is not decided by the unscanned setting.
        gate(&env, &p.digest, "prod", 0);
    }
}

/// A scan that could not cover everything (only the Debian feed: the image's PyPI and npm
/// packages are not covered, SPEC 5.7) is decided by the unscanned setting as well.
#[test]
fn incomplete_scan_follows_the_unscanned_setting() {
    let Some(p) = prepared() else { return };
    // The last one asks a server: its `ci scan` goes through the queue and a worker.
    let mut envs = crate::platform::fresh("incomplete");
    envs.push(crate::platform::Env::local(
        crate::common::Vigil::new(),
        None,
        "sqlite",
    ));
    let last = envs.len() - 1;
    for (i, env) in envs.into_iter().enumerate() {
        let mut import = env.cmd();
        import
            .args(["db", "import"])
            .arg(crate::common::shared_fixtures().join("feeds/debian-tracker/bookworm.json"));
        assert!(import.output().unwrap().status.success());
        let env = if i == last { env.behind_server() } else { env };
        for args in [
            &["cluster", "add", "eu"][..],
            &[
                "env",
                "add",
                "prod",
                "--cluster",
                "eu",
                "--namespace",
                "web",
            ],
            &["app", "add", "web"],
            &[
                "pipeline",
                "add",
                "web-ci",
                "--app",
                "web",
                "--scan-enabled",
            ],
        ] {
            env.ok(args, 0);
        }
        let ci = env.json(&["ci", "scan", "--pipeline", "web-ci", &p.image], 0);
        assert_eq!(ci["outcome"], "scanned", "{ci}");
        assert_eq!(ci["complete"], false, "{ci}");
        let g = gate(&env, &p.digest, "prod", 0);
        assert_eq!(g["scan"], "incomplete");
        assert!(
            !g["incomplete_reasons"].as_array().unwrap().is_empty(),
            "{g}"
        );
        env.ok(
            &["policy", "set", "--scope", "global", "--unscanned", "block"],
            0,
        );
        let g = gate(&env, &p.digest, "prod", 3);
        assert_eq!(g["scan"], "incomplete");
        assert_eq!(g["unscanned_rule"]["action"], "block");
    }
}

/// Unknown targets and malformed digests are clear errors naming them.
#[test]
fn gate_names_unknown_targets_and_bad_digests() {
    let Some(p) = prepared() else { return };
    for env in [p.sqlite_copy(), p.sqlite_copy().behind_server()] {
        let err = env.fails(&["gate", "--app", "nope", "--env", "prod", &p.digest]);
        assert!(err.contains("application \"nope\" does not exist"), "{err}");
        let err = env.fails(&["gate", "--app", "web", "--env", "nope", &p.digest]);
        assert!(err.contains("environment \"nope\" does not exist"), "{err}");
        let err = env.fails(&["gate", "--app", "web", "--env", "prod", "sha256:xyz"]);
        assert!(
            err.contains("digest \"sha256:xyz\" is not of the form"),
            "{err}"
        );
        let err = env.fails(&["explain", "--app", "web", "--env", "prod", "sha256:XYZ"]);
        assert!(err.contains("digest \"sha256:XYZ\""), "{err}");
    }
}

#[test]
fn global_inherit_is_refused() {
    let Some(p) = prepared() else { return };
    for env in p.copies_and_server("global_inherit") {
        let err = env.fails(&[
            "policy",
            "set",
            "--scope",
            "global",
            "--severity",
            "high",
            "--action",
            "inherit",
        ]);
        assert!(err.contains("inherit"), "{err}");
        assert!(err.contains("global"), "{err}");
        let err = env.fails(&[
            "policy",
            "set",
            "--scope",
            "global",
            "--unscanned",
            "inherit",
        ]);
        assert!(err.contains("global"), "{err}");
        assert_eq!(env.json(&["policy", "audit"], 0), serde_json::json!([]));
    }
}

#[test]
fn rollback_bypasses_a_block_and_is_logged() {
    let Some(p) = prepared() else { return };
    for env in p.copies_and_server("rollback") {
        set(&env, "global", "critical", "block");
        gate(&env, &p.digest, "prod", 3);
        let out = env
            .cmd()
            .args([
                "gate",
                "--app",
                "web",
                "--env",
                "prod",
                "--rollback",
                "--as",
                "carol",
            ])
            .args(["--format", "json", &p.digest])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let g: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(g["decision"], "allow");
        assert_eq!(g["policy_decision"], "block");
        assert_eq!(g["rollback"], true);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("rollback: the gate was skipped"),
            "{stderr}"
        );
        // Logged: the deployment is recorded as a rollback by carol.
        let rows = env.json(&["deployed", "--app", "web"], 0);
        assert_eq!(rows[0]["rollback"], true, "{rows}");
        assert_eq!(rows[0]["deployed_by"], env.who("carol"));
        assert_eq!(rows[0]["digest"], p.digest.as_str());
        // Without --rollback, nothing is skipped.
        gate(&env, &p.digest, "prod", 3);
    }
}

/// SPEC 7.5: per (application, environment) the image, scan time, counts per severity,
/// fixable and blocked under today's policy; filters, sort and paging.
#[test]
fn deployed_view_counts_severities_fixable_and_blocked() {
    let Some(p) = prepared() else { return };
    for env in p.copies_and_server("deployed") {
        let never = format!("sha256:{}", "1".repeat(64));
        env.ok(
            &[
                "deploy", "record", "--app", "web", "--env", "prod", &p.digest,
            ],
            0,
        );
        env.ok(
            &[
                "deploy", "record", "--app", "web", "--env", "prod-us", &never,
            ],
            0,
        );
        set(&env, "cluster:eu", "high", "block");
        let rows = env.json(&["deployed"], 0);
        let rows = rows.as_array().unwrap();
        assert_eq!(rows.len(), 2);
        let prod = &rows[0];
        assert_eq!(prod["environment"], "prod");
        assert_eq!(prod["cluster"], "eu");
        assert_eq!(prod["scan"], "completed");
        assert_eq!(
            prod["summary"],
            serde_json::json!({"total": 95, "critical": 1, "high": 2, "medium": 8,
                "low": 50, "unknown": 34, "fixable": 17})
        );
        assert_eq!(prod["blocked"], 2);
        assert_eq!(prod["deployed_by"], env.who("alice"));
        assert_eq!(rows[1]["scan"], "missing");
        assert_eq!(rows[1]["summary"]["total"], 0);

        let only = env.json(&["deployed", "--cluster", "us"], 0);
        assert_eq!(only.as_array().unwrap().len(), 1);
        let by_cve = env.json(&["deployed", "--cve", HIGH_GHSA], 0);
        assert_eq!(by_cve.as_array().unwrap().len(), 1);
        assert_eq!(by_cve[0]["environment"], "prod");
        let by_sev = env.json(&["deployed", "--severity", "critical"], 0);
        assert_eq!(by_sev.as_array().unwrap().len(), 1);
        let sorted = env.json(
            &[
                "deployed", "--sort", "total", "--limit", "1", "--offset", "1",
            ],
            0,
        );
        assert_eq!(sorted[0]["environment"], "prod-us");
        let err = env.fails(&["deployed", "--sort", "colour"]);
        assert!(err.contains("expected one of application"), "{err}");
        let err = env.fails(&[
            "deploy", "record", "--app", "web", "--env", "prod", "latest",
        ]);
        assert!(err.contains("\"latest\""), "{err}");
        let table = env.ok(&["deployed"], 0);
        assert!(table.starts_with("APPLICATION"), "{table}");
    }
}

/// What people read: the gate's table (blocking findings and their rules), the deployed
/// view, `policy show` and the audit log, the same on both backends (times filtered).
#[test]
fn tables_people_read() {
    let Some(p) = prepared() else { return };
    for env in p.copies("tables") {
        set(&env, "global", "high", "block");
        cve(&env, LOW, "app:web", "block", &[]);
        env.ok(
            &[
                "policy",
                "set",
                "--scope",
                "env:prod",
                "--unscanned",
                "block",
            ],
            0,
        );
        let gate = env.ok(&["gate", "--app", "web", "--env", "prod", &p.digest], 3);
        env.ok(
            &[
                "deploy", "record", "--app", "web", "--env", "prod", &p.digest,
            ],
            0,
        );
        let deployed = env.ok(&["deployed"], 0);
        let show = env.ok(&["policy", "show", "--scope", "app:web@env:prod"], 0);
        let audit = env.ok(&["policy", "audit"], 0);
        let never = format!("sha256:{}", "2".repeat(64));
        let unscanned = env.ok(&["gate", "--app", "web", "--env", "prod", &never], 3);
        let mut settings = insta::Settings::clone_current();
        settings.add_filter(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "[TIME]");
        settings.add_filter(r"scan \d+ of", "scan [ID] of");
        // The test image is rebuilt by every fresh checkout: its digest is not stable.
        settings.add_filter(&p.digest, "[DIGEST]");
        settings.add_filter(&p.digest[..19], "[DIGEST]");
        settings.bind(|| {
            insta::assert_snapshot!("gate_block_table", gate);
            insta::assert_snapshot!("deployed_table", deployed);
            insta::assert_snapshot!("policy_show_table", show);
            insta::assert_snapshot!("policy_audit_table", audit);
            insta::assert_snapshot!("gate_unscanned_table", unscanned);
        });
    }
}
