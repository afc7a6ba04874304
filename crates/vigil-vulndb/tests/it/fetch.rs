//! Feed download against a real HTTP server on 127.0.0.1 (tests/fetch_server.py), which
//! honours Range, If-Range and conditional GET and can drop the connection mid-file.

use crate::feeds_dir;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use vigil_vulndb::fetch::{FetchError, FetchOptions, Fetched, fetch};

struct Server {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python() -> &'static str {
    // The server needs only the standard library; prefer the system interpreter.
    if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

fn serve(file: &Path, log: &Path, extra: &[&str]) -> Server {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fetch_server.py");
    let mut child = Command::new(python())
        .arg(script)
        .arg("--file")
        .arg(file)
        .arg("--log")
        .arg(log)
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start tests/fetch_server.py");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = line.trim().parse().expect("server prints its port");
    Server {
        child,
        url: format!("http://127.0.0.1:{port}/Debian/bookworm.json"),
        log: log.to_path_buf(),
    }
}

fn requests(server: &Server) -> Vec<serde_json::Value> {
    std::fs::read_to_string(&server.log)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn sha256_of(path: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

fn setup() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("served.json");
    std::fs::copy(feeds_dir().join("debian-tracker/bookworm.json"), &src).unwrap();
    (tmp, src)
}

#[test]
fn downloads_then_answers_not_modified() {
    let (tmp, src) = setup();
    let server = serve(&src, &tmp.path().join("log"), &[]);
    let cache = tmp.path().join("cache");
    let want = sha256_of(&src);
    let opts = FetchOptions {
        sha256: Some(want.clone()),
        ..FetchOptions::default()
    };
    let Fetched::Downloaded { path, sha256 } = fetch(&server.url, &cache, &opts).unwrap() else {
        panic!("expected a download");
    };
    assert_eq!(sha256, want);
    assert_eq!(std::fs::read(&path).unwrap(), std::fs::read(&src).unwrap());
    assert!(
        path.file_name()
            .unwrap()
            .to_string_lossy()
            .ends_with("-bookworm.json")
    );
    // Second call: conditional GET, 304.
    assert_eq!(
        fetch(&server.url, &cache, &opts).unwrap(),
        Fetched::NotModified { path: path.clone() }
    );
    let log = requests(&server);
    assert_eq!(log.len(), 2);
    assert_eq!(log[1]["status"], 304);
    assert!(log[1]["If-None-Match"].is_string());
    // The file changes on the server: downloaded again.
    std::fs::write(&src, b"{}").unwrap();
    let Fetched::Downloaded { sha256, .. } =
        fetch(&server.url, &cache, &FetchOptions::default()).unwrap()
    else {
        panic!("expected a new download");
    };
    assert_eq!(sha256, sha256_of(&src));
    assert_eq!(std::fs::read(&path).unwrap(), b"{}");
}

#[test]
fn dropped_transfer_resumes_with_range_on_the_next_call() {
    let (tmp, src) = setup();
    let server = serve(
        &src,
        &tmp.path().join("log"),
        &["--drop-after", "300000", "--drop-times", "1"],
    );
    let cache = tmp.path().join("cache");
    let no_retry = FetchOptions {
        retries: 0,
        ..FetchOptions::default()
    };
    let err = fetch(&server.url, &cache, &no_retry).unwrap_err();
    let FetchError::Interrupted { received, .. } = &err else {
        panic!("expected an interruption, got {err}");
    };
    assert_eq!(*received, 300000);
    assert!(
        err.to_string()
            .starts_with(&format!("download {}: transfer interrupted", server.url))
    );
    // Nothing is in place yet; the partial file is kept.
    let name = vigil_vulndb::fetch::cache_name(&server.url);
    assert!(!cache.join(&name).exists());
    assert_eq!(
        std::fs::metadata(cache.join(format!("{name}.part")))
            .unwrap()
            .len(),
        300000
    );
    let Fetched::Downloaded { path, sha256 } = fetch(&server.url, &cache, &no_retry).unwrap()
    else {
        panic!("expected a download");
    };
    assert_eq!(sha256, sha256_of(&src));
    assert_eq!(std::fs::read(path).unwrap(), std::fs::read(&src).unwrap());
    let log = requests(&server);
    assert_eq!(log[1]["Range"], "bytes=300000-");
    assert!(log[1]["If-Range"].is_string());
    assert_eq!(log[1]["status"], 206);
}

#[test]
fn retries_within_one_call_and_if_range_restarts_a_changed_file() {
    let (tmp, src) = setup();
    let server = serve(
        &src,
        &tmp.path().join("log"),
        &["--drop-after", "1000", "--drop-times", "2"],
    );
    let cache = tmp.path().join("cache");
    let Fetched::Downloaded { sha256, .. } =
        fetch(&server.url, &cache, &FetchOptions::default()).unwrap()
    else {
        panic!("expected a download");
    };
    assert_eq!(sha256, sha256_of(&src));
    let statuses: Vec<_> = requests(&server)
        .iter()
        .map(|r| r["status"].clone())
        .collect();
    assert_eq!(statuses, [200, 206, 206]);

    // A partial file from an older version of the feed: If-Range does not match, the
    // server sends the whole new file, and the result is the new file, not a splice.
    let server2_log = tmp.path().join("log2");
    let server2 = serve(
        &src,
        &server2_log,
        &["--drop-after", "5000", "--drop-times", "1"],
    );
    let cache2 = tmp.path().join("cache2");
    let name2 = vigil_vulndb::fetch::cache_name(&server2.url);
    let no_retry = FetchOptions {
        retries: 0,
        ..FetchOptions::default()
    };
    assert!(fetch(&server2.url, &cache2, &no_retry).is_err());
    assert!(cache2.join(format!("{name2}.part")).exists());
    let mut changed = std::fs::read(&src).unwrap();
    changed.extend_from_slice(b"\n");
    std::fs::write(&src, &changed).unwrap();
    let Fetched::Downloaded { path, .. } = fetch(&server2.url, &cache2, &no_retry).unwrap() else {
        panic!("expected a download");
    };
    assert_eq!(std::fs::read(path).unwrap(), changed);
    assert_eq!(requests(&server2)[1]["status"], 200);
}

#[test]
fn checksum_mismatch_keeps_the_previous_file() {
    let (tmp, src) = setup();
    let server = serve(&src, &tmp.path().join("log"), &[]);
    let cache = tmp.path().join("cache");
    let Fetched::Downloaded { path, .. } =
        fetch(&server.url, &cache, &FetchOptions::default()).unwrap()
    else {
        panic!("expected a download");
    };
    let before = std::fs::read(&path).unwrap();
    std::fs::write(&src, b"tampered").unwrap();
    let bad = FetchOptions {
        sha256: Some("00".repeat(32)),
        ..FetchOptions::default()
    };
    let err = fetch(&server.url, &cache, &bad).unwrap_err();
    assert!(matches!(err, FetchError::Checksum { .. }), "{err}");
    assert!(
        err.to_string().contains("sha256 mismatch: expected 0000"),
        "{err}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);
    let name = vigil_vulndb::fetch::cache_name(&server.url);
    assert!(!cache.join(format!("{name}.part")).exists());
}

#[test]
fn http_error_and_refused_connection_name_the_url() {
    let (tmp, src) = setup();
    let server = serve(&src, &tmp.path().join("log"), &[]);
    let port = server
        .url
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    drop(server);
    let url = format!("http://127.0.0.1:{port}/x.json");
    let err = fetch(&url, tmp.path(), &FetchOptions::default()).unwrap_err();
    assert!(matches!(err, FetchError::Request { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with(&format!("download {url}: request failed")),
        "{err}"
    );
}

#[test]
fn a_file_over_the_size_limit_is_refused() {
    let (tmp, src) = setup();
    let server = serve(&src, &tmp.path().join("log"), &[]);
    let cache = tmp.path().join("cache");
    let opts = FetchOptions {
        max_bytes: 1000,
        ..FetchOptions::default()
    };
    let err = fetch(&server.url, &cache, &opts).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("download {}: more than 1000 bytes, the limit", server.url)
    );
    let name = vigil_vulndb::fetch::cache_name(&server.url);
    assert!(!cache.join(&name).exists());
    assert!(!cache.join(format!("{name}.part")).exists());
}
