//! Shared helpers: the built binary in an isolated environment, the real test images, and
//! the external tools the tests use as oracles.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn shared_fixtures() -> PathBuf {
    std::env::var_os("VIGIL_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("../shared"))
        .join("fixtures")
}

pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Skips (returns `None`) when a prerequisite is missing, except under `CI=true` where a
/// missing prerequisite fails the test (STYLE.md).
pub fn require(ok: bool, what: &str) -> Option<()> {
    if ok {
        return Some(());
    }
    assert!(!in_ci(), "CI=true but {what} is missing");
    #[allow(clippy::print_stderr)] // tests report skips on stderr
    {
        eprintln!("skipped: {what} is missing");
    }
    None
}

/// The images built by `build-test-images.sh` (`VIGIL_TEST_IMAGES`, default
/// `target/test-images`).
pub fn images() -> Option<PathBuf> {
    let dir = std::env::var_os("VIGIL_TEST_IMAGES")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/test-images"));
    require(
        dir.join("build-info.txt").exists(),
        "the test images (VIGIL_TEST_IMAGES)",
    )?;
    Some(dir)
}

pub fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The binary with its own data, cache and config directories.
pub struct Vigil {
    pub home: tempfile::TempDir,
}

impl Vigil {
    pub fn new() -> Self {
        Vigil {
            home: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn cmd(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_vigil"));
        let h = self.home.path();
        for var in [
            "VIGIL_CONFIG",
            "VIGIL_DATABASE_URL",
            "VIGIL_SERVER",
            "VIGIL_TOKEN",
            "DOCKER_CONFIG",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("VIGIL_DATA_DIR", h.join("data"))
            .env("VIGIL_CACHE_DIR", h.join("cache"))
            .env("XDG_CONFIG_HOME", h.join("config"))
            .env("HOME", h)
            .env("NO_COLOR", "1");
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("run vigil")
    }

    /// Imports feeds, asserting success.
    pub fn import(&self, paths: &[PathBuf]) {
        let mut cmd = self.cmd();
        cmd.args(["db", "import"]).args(paths);
        let out = cmd.output().expect("run vigil db import");
        assert!(
            out.status.success(),
            "db import failed: {}",
            text(&out.stderr)
        );
    }
}

/// Drops a database that a test made on the PostgreSQL test server (its URL), so that a
/// whole test run does not keep a hundred of them on the disk. Best effort: called from
/// `Drop`, it never panics; `FORCE` ends connections still open (a server being stopped).
pub fn drop_test_database(db_url: &str) {
    let (Ok(admin), Some((_, name))) = (
        std::env::var("VIGIL_TEST_DATABASE_URL"),
        db_url.rsplit_once('/'),
    ) else {
        return;
    };
    let _ = Command::new("psql")
        .arg(admin)
        .args([
            "-q",
            "-c",
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        ])
        .output();
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

pub fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "vigil failed ({:?}): {}",
        out.status.code(),
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

/// Unpacks `oci:LAYOUT:TAG` with umoci (a second, independent implementation of layers and
/// whiteouts) and returns the root file system directory inside `into`.
pub fn umoci_unpack(layout: &Path, tag: &str, into: &Path) -> Option<PathBuf> {
    require(have("umoci"), "umoci")?;
    let bundle = into.join("bundle");
    let out = Command::new("umoci")
        .arg("unpack")
        .arg("--image")
        .arg(format!("{}:{tag}", layout.display()))
        .arg(&bundle)
        .output()
        .expect("run umoci");
    assert!(out.status.success(), "umoci unpack: {}", text(&out.stderr));
    Some(bundle.join("rootfs"))
}

/// `dpkg-query` on a root file system: sorted `name version source source_version arch`.
pub fn dpkg_query(rootfs: &Path) -> Option<Vec<String>> {
    require(have("dpkg-query"), "dpkg-query")?;
    let out = Command::new("dpkg-query")
        .arg("-W")
        .arg("-f")
        .arg("${db:Status-Status}\t${Package}\t${Version}\t${source:Package}\t${source:Version}\t${Architecture}\n")
        .arg(format!("--admindir={}", rootfs.join("var/lib/dpkg").display()))
        .output()
        .expect("run dpkg-query");
    assert!(out.status.success(), "dpkg-query: {}", text(&out.stderr));
    let mut rows: Vec<String> = text(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("installed\t").map(str::to_owned))
        .collect();
    rows.sort();
    Some(rows)
}

/// The same rows from an inventory or scan JSON's `packages`.
pub fn package_rows(doc: &serde_json::Value) -> Vec<String> {
    let s = |v: &serde_json::Value| v.as_str().unwrap_or("").to_owned();
    let mut rows: Vec<String> = doc["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .filter(|p| p["ecosystem"] == "deb")
        .map(|p| {
            [
                &p["name"],
                &p["version"],
                &p["source_name"],
                &p["source_version"],
                &p["arch"],
            ]
            .map(s)
            .join("\t")
        })
        .collect();
    rows.sort();
    rows
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A running docker-registry (the Debian package, through scripts/registry-serve.sh),
/// stopped when dropped.
pub struct Registry(std::process::Child);

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Serves the registry storage `storage` on 127.0.0.1:`port` (`auth`: the script's optional
/// `htpasswd FILE` or `token REALM CERT` arguments) and waits until it accepts connections.
pub fn serve_registry(storage: &Path, port: u16, auth: &[&std::ffi::OsStr]) -> Registry {
    use std::time::{Duration, Instant};
    let child = Command::new("bash")
        .arg(workspace().join("scripts/registry-serve.sh"))
        .arg(storage)
        .arg(port.to_string())
        .args(auth)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start docker-registry");
    let registry = Registry(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "docker-registry did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    registry
}
