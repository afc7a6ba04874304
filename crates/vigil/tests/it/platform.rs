//! The platform commands (issue 8) through the real binary, on SQLite and, when
//! `VIGIL_TEST_DATABASE_URL` is set, on PostgreSQL (a fresh database per test). Shared set-up
//! for `gate.rs` and `ci.rs`: a store with the real fixture feeds imported and the real app
//! image scanned, prepared once per backend and copied for each test.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use crate::common::*;
use crate::serve::Server;

/// One backend for one test: the binary with its own home, and the database URL when it is
/// PostgreSQL.
pub struct Env {
    pub vigil: Vigil,
    pub url: Option<String>,
    pub backend: &'static str,
    /// Set when the commands go to a `vigil serve` (issue 9) instead of a local store.
    pub remote: Option<Remote>,
    /// The PostgreSQL database this environment made for itself, dropped with it.
    owned_database: Option<OwnedDatabase>,
}

/// Drops its database (a URL) when dropped.
struct OwnedDatabase(String);

impl Drop for OwnedDatabase {
    fn drop(&mut self) {
        drop_test_database(&self.0);
    }
}

/// A store behind a running `vigil serve`, and the admin token (named `alice`) the CLI sends.
pub struct Remote {
    pub server: Server,
    pub token: String,
    /// The server's own environment (its store and home).
    pub _store: Box<Env>,
}

impl Env {
    pub fn local(vigil: Vigil, url: Option<String>, backend: &'static str) -> Env {
        Env {
            vigil,
            url,
            backend,
            remote: None,
            owned_database: None,
        }
    }

    /// This environment's PostgreSQL database is its own: it is dropped with it.
    fn owning_database(mut self) -> Env {
        self.owned_database = self.url.clone().map(OwnedDatabase);
        self
    }

    pub fn cmd(&self) -> Command {
        let mut cmd = self.vigil.cmd();
        cmd.env("VIGIL_USER", "alice").env("VIGIL_LOG", "warn");
        if let Some(url) = &self.url {
            cmd.env("VIGIL_DATABASE_URL", url);
        }
        if let Some(r) = &self.remote {
            cmd.env("VIGIL_SERVER", &r.server.base)
                .env("VIGIL_TOKEN", &r.token);
        }
        cmd
    }

    /// This store behind `vigil serve`: the returned environment's commands ask the server,
    /// with an admin token named `alice`.
    pub fn behind_server(self) -> Env {
        let token = self
            .ok(
                &["token", "create", "--role", "admin", "--name", "alice"],
                0,
            )
            .trim()
            .to_owned();
        let server = Server::start(&self, &[]);
        Env {
            vigil: Vigil::new(),
            url: None,
            backend: if self.url.is_some() {
                "server on postgres"
            } else {
                "server on sqlite"
            },
            remote: Some(Remote {
                server,
                token,
                _store: Box::new(self),
            }),
            owned_database: None,
        }
    }

    /// Who the store records for a change made by `local` (`--as` or `VIGIL_USER`): the
    /// token's name when the change went through the server.
    pub fn who(&self, local: &str) -> String {
        match self.remote {
            Some(_) => "token:alice".to_owned(),
            None => local.to_owned(),
        }
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("run vigil")
    }

    /// Runs and asserts the exit code, returning stdout.
    pub fn ok(&self, args: &[&str], code: i32) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "[{}] vigil {args:?}\nstdout: {}\nstderr: {}",
            self.backend,
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    pub fn json(&self, args: &[&str], code: i32) -> serde_json::Value {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--format", "json"]);
        let stdout = self.ok(&all, code);
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
    }

    /// Fails with exit 2 and returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "[{}] vigil {args:?} should fail\nstdout: {}\nstderr: {}",
            self.backend,
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stderr)
    }
}

/// psql against the test server; `None` (skip) when no URL is set, a failure under CI.
fn postgres_url() -> Option<String> {
    match std::env::var("VIGIL_TEST_DATABASE_URL") {
        Ok(url) => Some(url),
        Err(_) => {
            assert!(
                !in_ci(),
                "CI=true but VIGIL_TEST_DATABASE_URL is not set (scripts/pg-test-server.sh)"
            );
            None
        }
    }
}

fn psql(url: &str, sql: &str) {
    let out = Command::new("psql")
        .arg(url)
        .args(["-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
        .output()
        .expect("run psql");
    assert!(out.status.success(), "psql {sql}: {}", text(&out.stderr));
}

fn unique(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("vigil_cli_{test}_{}_{nanos}", std::process::id())
}

fn with_db(url: &str, name: &str) -> String {
    let (base, _) = url.rsplit_once('/').expect("URL ends with /DATABASE");
    format!("{base}/{name}")
}

/// Sets the global action of one severity with the CLI.
pub fn set_global(env: &Env, severity: &str, action: &str) {
    env.ok(
        &[
            "policy",
            "set",
            "--scope",
            "global",
            "--severity",
            severity,
            "--action",
            action,
        ],
        0,
    );
}

/// A fresh, empty store on each backend.
pub fn fresh(test: &str) -> Vec<Env> {
    let mut out = vec![Env::local(Vigil::new(), None, "sqlite")];
    if let Some(url) = postgres_url() {
        let name = unique(test);
        psql(&url, &format!("CREATE DATABASE {name}"));
        out.push(
            Env::local(Vigil::new(), Some(with_db(&url, &name)), "postgres").owning_database(),
        );
    }
    out
}

/// What a prepared store holds.
pub struct Prepared {
    /// SQLite: the data directory to copy.
    sqlite: tempfile::TempDir,
    /// PostgreSQL: the template database.
    postgres: Option<(String, String)>,
    /// The app image as scanned, and its digest.
    pub image: String,
    pub digest: String,
}

/// The feeds that make the app image's scan complete (Debian tracker, GitHub and PyPA
/// advisories), as scan.rs uses them.
pub fn feeds() -> Vec<PathBuf> {
    let f = shared_fixtures().join("feeds");
    vec![
        f.join("debian-tracker/bookworm.json"),
        f.join("github-advisory-database"),
        f.join("pypa-advisory-database"),
    ]
}

/// The entities every scenario uses: clusters `eu` and `us`, environments `prod` and
/// `staging` (cluster `eu`) and `prod-us` (cluster `us`), application `web`, pipeline
/// `web-ci` with scanning enabled, and the app image scanned through it.
fn prepare(env: &Env, image: &str) -> String {
    let mut import = env.cmd();
    import.args(["db", "import"]).args(feeds());
    let out = import.output().unwrap();
    assert!(out.status.success(), "db import: {}", text(&out.stderr));
    for args in [
        &["cluster", "add", "eu"][..],
        &["cluster", "add", "us"],
        &[
            "env",
            "add",
            "prod",
            "--cluster",
            "eu",
            "--namespace",
            "web-prod",
        ],
        &[
            "env",
            "add",
            "staging",
            "--cluster",
            "eu",
            "--namespace",
            "web-staging",
        ],
        &[
            "env",
            "add",
            "prod-us",
            "--cluster",
            "us",
            "--namespace",
            "web-prod",
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
    let ci = env.json(&["ci", "scan", "--pipeline", "web-ci", image], 0);
    assert_eq!(ci["outcome"], "scanned", "{ci}");
    assert_eq!(ci["complete"], true, "{ci}");
    ci["digest"].as_str().unwrap().to_owned()
}

static PREPARED: OnceLock<Option<Prepared>> = OnceLock::new();

/// The prepared store (None: the test images are missing and the test skips).
pub fn prepared() -> Option<&'static Prepared> {
    PREPARED
        .get_or_init(|| {
            let img = images()?;
            let image = format!("oci:{}:app", img.join("oci").display());
            let sqlite = Env::local(Vigil::new(), None, "sqlite");
            let digest = prepare(&sqlite, &image);
            let postgres = postgres_url().map(|url| {
                let name = unique("template");
                psql(&url, &format!("CREATE DATABASE {name}"));
                let env = Env::local(Vigil::new(), Some(with_db(&url, &name)), "postgres");
                assert_eq!(prepare(&env, &image), digest);
                (url, name)
            });
            Some(Prepared {
                sqlite: sqlite.vigil.home,
                postgres,
                image,
                digest,
            })
        })
        .as_ref()
}

impl Prepared {
    /// A copy of the prepared store on each backend.
    pub fn copies(&self, test: &str) -> Vec<Env> {
        let mut out = vec![self.sqlite_copy()];
        out.extend(self.postgres_copy(test));
        out
    }

    /// [`Prepared::copies`], and one more copy of the SQLite store behind `vigil serve` (the
    /// CLI's `--server` mode, issue 9): the same scenarios through the HTTP API.
    pub fn copies_and_server(&self, test: &str) -> Vec<Env> {
        let mut out = self.copies(test);
        out.push(self.sqlite_copy().behind_server());
        out
    }

    /// A copy of the prepared SQLite store.
    pub fn sqlite_copy(&self) -> Env {
        let vigil = Vigil::new();
        copy_tree(
            &self.sqlite.path().join("data"),
            &vigil.home.path().join("data"),
        );
        Env::local(vigil, None, "sqlite")
    }

    /// A copy of the prepared PostgreSQL store, if there is one.
    pub fn postgres_copy(&self, test: &str) -> Option<Env> {
        let (url, template) = self.postgres.as_ref()?;
        let name = unique(test);
        psql(url, &format!("CREATE DATABASE {name} TEMPLATE {template}"));
        Some(Env::local(Vigil::new(), Some(with_db(url, &name)), "postgres").owning_database())
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let t = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), t).unwrap();
        }
    }
}

/// Entities: add, list, remove, with clear errors for duplicates, unknown references, bad
/// names and things still in use.
#[test]
fn entities_add_list_rm_with_clear_errors() {
    for env in fresh("entities") {
        env.ok(&["cluster", "add", "eu"], 0);
        let err = env.fails(&["cluster", "add", "eu"]);
        assert!(err.contains("cluster \"eu\" already exists"), "{err}");
        let err = env.fails(&["cluster", "add", "Bad Name"]);
        assert!(err.contains("cluster \"Bad Name\""), "{err}");
        let err = env.fails(&[
            "env",
            "add",
            "prod",
            "--cluster",
            "nope",
            "--namespace",
            "ns",
        ]);
        assert!(err.contains("cluster \"nope\" does not exist"), "{err}");
        env.ok(
            &[
                "env",
                "add",
                "prod",
                "--cluster",
                "eu",
                "--namespace",
                "web",
            ],
            0,
        );
        let err = env.fails(&[
            "env",
            "add",
            "prod2",
            "--cluster",
            "eu",
            "--namespace",
            "web",
        ]);
        assert!(err.contains("namespace \"web\""), "{err}");
        let list = env.json(&["env", "list"], 0);
        assert_eq!(
            list,
            serde_json::json!([{"name": "prod", "cluster": "eu", "namespace": "web"}])
        );
        env.ok(&["app", "add", "web"], 0);
        let err = env.fails(&["pipeline", "add", "ci", "--app", "nope"]);
        assert!(err.contains("application \"nope\" does not exist"), "{err}");
        env.ok(&["pipeline", "add", "ci", "--app", "web"], 0);
        env.ok(
            &[
                "pipeline",
                "add",
                "ci-scan",
                "--app",
                "web",
                "--scan-enabled",
            ],
            0,
        );
        let list = env.json(&["pipeline", "list"], 0);
        assert_eq!(list[0]["name"], "ci");
        assert_eq!(list[0]["scan_enabled"], false);
        assert_eq!(list[1]["scan_enabled"], true);
        let err = env.fails(&["cluster", "rm", "eu"]);
        assert!(err.contains("cluster \"eu\" is still used by"), "{err}");
        let err = env.fails(&["app", "rm", "web"]);
        assert!(
            err.contains("application \"web\" is still used by"),
            "{err}"
        );
        env.ok(&["pipeline", "rm", "ci"], 0);
        env.ok(&["pipeline", "rm", "ci-scan"], 0);
        env.ok(&["app", "rm", "web"], 0);
        env.ok(&["env", "rm", "prod"], 0);
        env.ok(&["cluster", "rm", "eu"], 0);
        assert_eq!(env.ok(&["cluster", "list"], 0), "");
    }
}

/// Policy changes are audited with who made them; `policy show` marks inherited rules and
/// where they come from; an invalid scope or action is a clear error.
#[test]
fn policy_show_marks_inherited_rules_and_audit_names_who() {
    for env in fresh("policy_show") {
        env.ok(&["cluster", "add", "eu"], 0);
        env.ok(
            &[
                "env",
                "add",
                "prod",
                "--cluster",
                "eu",
                "--namespace",
                "web",
            ],
            0,
        );
        env.ok(&["app", "add", "web"], 0);
        env.ok(
            &[
                "policy",
                "set",
                "--scope",
                "cluster:eu",
                "--severity",
                "high",
                "--action",
                "block",
            ],
            0,
        );
        let out = env
            .cmd()
            .args([
                "policy",
                "set",
                "--scope",
                "app:web@env:prod",
                "--severity",
                "low",
            ])
            .args(["--action", "block-if-fixed", "--as", "bob"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        let show = env.json(&["policy", "show", "--scope", "app:web@env:prod"], 0);
        let sev = |s: &str| {
            show["severities"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["severity"] == s)
                .unwrap()
                .clone()
        };
        assert_eq!(sev("high")["action"], "block");
        assert_eq!(sev("high")["origin"], "inherited");
        assert_eq!(sev("high")["from"], "cluster:eu");
        assert_eq!(sev("low")["action"], "block-if-fixed");
        assert_eq!(sev("low")["origin"], "here");
        let table = env.ok(&["policy", "show", "--scope", "env:prod"], 0);
        assert!(
            table.lines().any(|l| l.starts_with("severity high")
                && l.contains("block")
                && l.contains("inherited from cluster:eu")),
            "{table}"
        );

        let audit = env.json(&["policy", "audit"], 0);
        let audit = audit.as_array().unwrap();
        assert_eq!(audit.len(), 2, "{audit:?}");
        assert_eq!(audit[0]["who"], "alice");
        assert_eq!(audit[1]["who"], "bob");
        assert_eq!(audit[1]["scope"], "app:web@env:prod");

        let err = env.fails(&[
            "policy",
            "set",
            "--scope",
            "galaxy:x",
            "--severity",
            "high",
            "--action",
            "block",
        ]);
        assert!(err.contains("invalid scope \"galaxy:x\""), "{err}");
        let err = env.fails(&[
            "policy",
            "set",
            "--scope",
            "global",
            "--severity",
            "high",
            "--action",
            "maybe",
        ]);
        assert!(err.contains("invalid --action"), "{err}");
        let err = env.fails(&[
            "policy",
            "cve",
            "add",
            "CVE-2023-4911",
            "--scope",
            "app:web",
            "--action",
            "allow",
            "--reason",
            " ",
        ]);
        assert!(err.to_lowercase().contains("reason"), "{err}");
    }
}
