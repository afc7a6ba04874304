//! Registry pulls from a real `docker-registry` on 127.0.0.1 serving the test images'
//! registry storage (read-only), started through scripts/registry-serve.sh: anonymous,
//! with htpasswd basic auth (credentials given directly, via a docker config file in
//! `Options::docker_config_dir`; `$DOCKER_CONFIG` is unit-tested), and with
//! bearer tokens from scripts/registry-token-server.py.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use vigil_image::{Options, Reference, open};

use crate::common::{Recorder, have, skip, skopeo_inspect, test_images};

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../scripts/registry-serve.sh"
);

const TOKEN_SERVER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../scripts/registry-token-server.py"
);

#[derive(PartialEq)]
enum Auth {
    None,
    Basic,
    Token,
}

struct Registry {
    child: Child,
    token_server: Option<Child>,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Registry {
    fn drop(&mut self) {
        for c in std::iter::once(&mut self.child).chain(self.token_server.as_mut()) {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The token server needs python3-jwt and python3-cryptography (Debian's python).
fn have_token_server() -> bool {
    let ok = Command::new("/usr/bin/python3")
        .args(["-c", "import jwt, cryptography"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        skip("/usr/bin/python3 lacks python3-jwt or python3-cryptography");
    }
    ok
}

impl Registry {
    fn image(&self, repo_tag: &str) -> String {
        format!("docker://127.0.0.1:{}/{repo_tag}", self.port)
    }
}

/// Starts the registry with the given authentication (user `user`, password `pass`).
fn start(storage: &Path, auth: Auth) -> Option<Registry> {
    if !have("docker-registry")
        || (auth == Auth::Basic && !have("htpasswd"))
        || (auth == Auth::Token && !have_token_server())
    {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut cmd = Command::new("bash");
    cmd.arg(SCRIPT)
        .arg(storage)
        .arg(port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut token_server = None;
    match auth {
        Auth::None => {}
        Auth::Basic => {
            let out = Command::new("htpasswd")
                .args(["-Bbn", "user", "pass"])
                .output()
                .unwrap();
            assert!(out.status.success());
            let file = dir.path().join("htpasswd");
            std::fs::write(&file, out.stdout).unwrap();
            cmd.arg("htpasswd").arg(&file);
        }
        Auth::Token => {
            let tport = free_port();
            let server = Command::new("/usr/bin/python3")
                .arg(TOKEN_SERVER)
                .arg(dir.path())
                .arg(tport.to_string())
                .args(["user", "pass"])
                .stdout(Stdio::null())
                .spawn()
                .expect("start registry-token-server.py");
            token_server = Some(server);
            wait_for(tport); // it writes cert.pem before listening
            cmd.arg("token")
                .arg(format!("http://127.0.0.1:{tport}/token"))
                .arg(dir.path().join("cert.pem"));
        }
    }
    let child = cmd.spawn().expect("start registry-serve.sh");
    let reg = Registry {
        child,
        token_server,
        port,
        _dir: dir,
    };
    wait_for(port);
    Some(reg)
}

fn insecure() -> Options {
    Options {
        insecure: true,
        ..Options::default()
    }
}

fn layers(img: &vigil_image::Image) -> Vec<String> {
    img.info()
        .layers
        .iter()
        .map(|l| l.digest.to_string())
        .collect()
}

fn skopeo(reg: &Registry, repo_tag: &str, creds: Option<&str>) -> (String, Vec<String>) {
    let mut args = vec!["--tls-verify=false".to_string()];
    if let Some(c) = creds {
        args.push(format!("--creds={c}"));
    }
    let joined = format!("{} {}", args.join(" "), reg.image(repo_tag));
    // skopeo_inspect takes one image argument; flags go first
    let out = Command::new("skopeo")
        .arg("inspect")
        .args(&args)
        .arg(reg.image(repo_tag))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo inspect {joined}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let l = v["Layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect();
    (v["Digest"].as_str().unwrap().to_string(), l)
}

#[test]
fn anonymous_pull_matches_skopeo_and_walks() {
    let Some(images) = test_images() else { return };
    if !have("skopeo") {
        return;
    }
    let Some(reg) = start(&images.join("registry"), Auth::None) else {
        return;
    };
    let s = reg.image("test/debian-app:latest");
    let mut img = open(&s.parse().unwrap(), &insecure()).unwrap();
    let (digest, want) = skopeo(&reg, "test/debian-app:latest", None);
    assert_eq!(
        img.info().manifest_digest.as_ref().unwrap().to_string(),
        digest
    );
    assert_eq!(layers(&img), want);
    // the manifest digest is the digest of the bytes the registry sent
    let stored = std::fs::read(images.join("registry-app-manifest.json")).unwrap();
    assert_eq!(digest, vigil_image::Digest::of(&stored).to_string());
    // same layers as the OCI layout's app image
    let (_, oci) = skopeo_inspect(&format!("oci:{}:app", images.join("oci").display()));
    assert_eq!(layers(&img), oci);

    // both layers stream and verify; whiteouts as in the other sources
    let mut base = Recorder::wanting(&["var/lib/dpkg/status"]);
    img.walk_layer(0, &mut base, &|_| {}).unwrap();
    assert_eq!(
        base.files["var/lib/dpkg/status"],
        std::fs::read(images.join("rootfs/var/lib/dpkg/status")).unwrap()
    );
    let mut app = Recorder::default();
    let changes = img.walk_layer(1, &mut app, &|_| {}).unwrap();
    for gone in ["etc/issue.net", "usr/share/doc/bash"] {
        assert!(changes.deleted.iter().any(|d| d == gone));
    }

    // by digest
    let by_digest = format!("docker://127.0.0.1:{}/test/debian-app@{digest}", reg.port);
    let img = open(&by_digest.parse().unwrap(), &insecure()).unwrap();
    assert_eq!(layers(&img), want);

    // errors name the problem
    let err = open(&reg.image("test/nope:latest").parse().unwrap(), &insecure()).unwrap_err();
    assert_eq!(err.code(), "registry", "{err}");
    assert!(err.to_string().contains("test/nope"), "{err}");
    let err = open(&s.parse().unwrap(), &Options::default()).unwrap_err();
    assert_eq!(
        err.code(),
        "registry",
        "https to a plain http registry: {err}"
    );
}

#[test]
fn basic_auth_with_credentials_and_docker_config() {
    let Some(images) = test_images() else { return };
    if !have("skopeo") {
        return;
    }
    let Some(reg) = start(&images.join("registry"), Auth::Basic) else {
        return;
    };
    let s = reg.image("test/debian-base:latest");
    let r: Reference = s.parse().unwrap();
    let (digest, want) = skopeo(&reg, "test/debian-base:latest", Some("user:pass"));

    // no credentials (and an empty docker config dir): refused
    let empty = tempfile::tempdir().unwrap();
    let anon = Options {
        docker_config_dir: Some(empty.path().to_path_buf()),
        ..insecure()
    };
    let err = open(&r, &anon).unwrap_err();
    assert_eq!(err.code(), "auth", "{err}");
    assert!(
        err.to_string().contains(&format!(
            "registry 127.0.0.1:{} refused authentication",
            reg.port
        )),
        "{err}"
    );

    // wrong password: refused
    let wrong = Options {
        username: Some("user".into()),
        password: Some("wrong".into()),
        ..anon.clone()
    };
    assert_eq!(open(&r, &wrong).unwrap_err().code(), "auth");
    assert!(
        !format!("{wrong:?}").contains("wrong"),
        "Debug redacts the password"
    );

    // given directly
    let direct = Options {
        username: Some("user".into()),
        password: Some("pass".into()),
        ..anon.clone()
    };
    let img = open(&r, &direct).unwrap();
    assert_eq!(
        img.info().manifest_digest.as_ref().unwrap().to_string(),
        digest
    );
    assert_eq!(layers(&img), want);

    // from a docker config file, as `docker login` writes it
    let cfg = tempfile::tempdir().unwrap();
    write_docker_config(cfg.path(), reg.port);
    let from_file = Options {
        docker_config_dir: Some(cfg.path().to_path_buf()),
        ..insecure()
    };
    let mut img = open(&r, &from_file).unwrap();
    assert_eq!(layers(&img), want);
    // blob requests are authenticated too (the 83 MB base layer, verified)
    let mut sink = Recorder::wanting(&["etc/debian_version"]);
    img.walk_layer(0, &mut sink, &|_| {}).unwrap();
    assert!(sink.files.contains_key("etc/debian_version"));
    // `$DOCKER_CONFIG` itself is read by the same code (its precedence is unit-tested in
    // registry.rs; the vigil binary's registry test sets it on a real process).
}

fn write_docker_config(dir: &Path, port: u16) {
    let auth = base64::engine::general_purpose::STANDARD.encode("user:pass");
    let cfg = serde_json::json!({"auths": {format!("127.0.0.1:{port}"): {"auth": auth}}});
    std::fs::write(dir.join("config.json"), cfg.to_string()).unwrap();
}

#[test]
fn bearer_token_auth_follows_the_challenge() {
    let Some(images) = test_images() else { return };
    if !have("skopeo") {
        return;
    }
    let Some(reg) = start(&images.join("registry"), Auth::Token) else {
        return;
    };
    let r: Reference = reg.image("test/debian-app:latest").parse().unwrap();
    let (digest, want) = skopeo(&reg, "test/debian-app:latest", Some("user:pass"));
    let empty = tempfile::tempdir().unwrap();
    let base = Options {
        docker_config_dir: Some(empty.path().to_path_buf()),
        ..insecure()
    };

    // anonymous: the token server refuses, and the error says so
    let err = open(&r, &base).unwrap_err();
    assert_eq!(err.code(), "auth", "{err}");

    let creds = Options {
        username: Some("user".into()),
        password: Some("pass".into()),
        ..base.clone()
    };
    let mut img = open(&r, &creds).unwrap();
    assert_eq!(
        img.info().manifest_digest.as_ref().unwrap().to_string(),
        digest
    );
    assert_eq!(layers(&img), want);
    // a blob through the bearer token: the app layer and its whiteouts
    let changes = img
        .walk_layer(1, &mut Recorder::default(), &|_| {})
        .unwrap();
    assert!(changes.deleted.iter().any(|d| d == "etc/issue.net"));

    let wrong = Options {
        password: Some("nope".into()),
        ..creds
    };
    assert_eq!(open(&r, &wrong).unwrap_err().code(), "auth");
}

/// A registry whose storage was tampered with: the app layer's bytes and the base
/// manifest's bytes no longer match their digests. Both are caught and named.
#[test]
fn tampered_registry_storage_is_a_digest_mismatch() {
    let Some(images) = test_images() else { return };
    let scratch = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let storage = scratch.path().join("registry");
    // hard links (cp -al): 80 MB not copied; the two files we change are replaced, not
    // written through, so the shared storage stays intact
    let st = Command::new("cp")
        .arg("-al")
        .arg(images.join("registry"))
        .arg(&storage)
        .status()
        .unwrap();
    assert!(st.success());
    let oci: serde_json::Value =
        serde_json::from_slice(&std::fs::read(images.join("oci/index.json")).unwrap()).unwrap();
    let app: serde_json::Value =
        serde_json::from_slice(&std::fs::read(images.join("registry-app-manifest.json")).unwrap())
            .unwrap();
    let layer = app["layers"][1]["digest"].as_str().unwrap().to_string();
    let base_manifest = oci["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == "base")
        .unwrap()["digest"]
        .as_str()
        .unwrap()
        .to_string();
    for digest in [&layer, &base_manifest] {
        let hex = digest.trim_start_matches("sha256:");
        let data = storage.join(format!(
            "docker/registry/v2/blobs/sha256/{}/{hex}/data",
            &hex[..2]
        ));
        let mut bytes = std::fs::read(&data).unwrap();
        // the registry parses manifests it serves: keep this one valid JSON
        let at = match bytes.windows(8).position(|w| w == b"tar+gzip") {
            Some(i) if digest == &base_manifest => i + 6,
            _ => bytes.len() / 2,
        };
        bytes[at] ^= 0x20;
        std::fs::remove_file(&data).unwrap();
        std::fs::write(&data, bytes).unwrap();
    }
    let Some(reg) = start(&storage, Auth::None) else {
        return;
    };

    let mut img = open(
        &reg.image("test/debian-app:latest").parse().unwrap(),
        &insecure(),
    )
    .unwrap();
    let err = img
        .walk_layer(1, &mut Recorder::default(), &|_| {})
        .unwrap_err();
    assert_eq!(err.code(), "digest-mismatch", "{err}");
    assert!(
        err.to_string()
            .contains(&format!("blob {layer} does not match its digest")),
        "{err}"
    );

    let err = open(
        &reg.image("test/debian-base:latest").parse().unwrap(),
        &insecure(),
    )
    .unwrap_err();
    assert_eq!(err.code(), "digest-mismatch", "{err}");
    assert!(err.to_string().contains(&base_manifest), "{err}");
}
