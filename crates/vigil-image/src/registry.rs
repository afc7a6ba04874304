//! Pulling from an OCI distribution registry (v2 API) with `oci-client`: it follows the
//! `WWW-Authenticate` challenge (anonymous, HTTP basic, bearer token). We fetch manifests
//! raw and resolve indexes ourselves, so the manifest digest is the digest of the bytes
//! actually received, and blobs arrive as a stream bridged to a sync `Read`.

use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::manifest::OciDescriptor;
use oci_client::secrets::RegistryAuth;
use tokio_util::io::{StreamReader, SyncIoBridge};

use crate::digest::{Digest, read_limited};
use crate::error::ErrorKind;
use crate::oci::{self, MAX_MANIFEST};
use crate::reference::Platform;
use crate::source::{Blob, BlobSource};
use crate::{ImageInfo, Options};

const ACCEPT: &[&str] = &[
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];

pub(crate) struct Registry {
    /// always `Some` until dropped
    rt: Option<tokio::runtime::Runtime>,
    client: oci_client::Client,
    repo: oci_client::Reference,
    auth: RegistryAuth,
    registry: String,
}

fn map_err(registry: &str, e: OciDistributionError) -> ErrorKind {
    match e {
        OciDistributionError::AuthenticationFailure(d) => ErrorKind::Auth {
            registry: registry.to_string(),
            detail: d.trim().to_string(),
        },
        OciDistributionError::UnauthorizedError { url } => ErrorKind::Auth {
            registry: registry.to_string(),
            detail: format!("401 unauthorized for {url}"),
        },
        OciDistributionError::ImageManifestNotFoundError(d) => ErrorKind::Registry {
            registry: registry.to_string(),
            detail: format!("manifest not found: {d}"),
        },
        OciDistributionError::DigestError(e) => {
            // "Invalid digest. Expected sha256:..., got sha256:..." for a manifest whose
            // bytes do not hash to the digest the registry (or the reference) names
            let text = e.to_string();
            let mut it = text.split_whitespace().filter(|w| w.starts_with("sha256:"));
            match (it.next(), it.next()) {
                (Some(want), Some(got)) => ErrorKind::DigestMismatch {
                    digest: want.trim_end_matches(',').to_string(),
                    actual: got.to_string(),
                },
                _ => ErrorKind::Registry {
                    registry: registry.to_string(),
                    detail: text.to_lowercase(),
                },
            }
        }
        OciDistributionError::RequestError(e) => ErrorKind::Registry {
            registry: registry.to_string(),
            // the reqwest chain has the useful part (connection refused, tls, ...)
            detail: error_chain(&e),
        },
        e => ErrorKind::Registry {
            registry: registry.to_string(),
            detail: e.to_string().to_lowercase(),
        },
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s.to_lowercase()
}

/// The docker config directory: the given one, else `$DOCKER_CONFIG`, else `~/.docker`.
fn docker_config_dir(opts: &Options) -> Option<PathBuf> {
    resolve_docker_config_dir(
        opts.docker_config_dir.as_deref(),
        std::env::var_os("DOCKER_CONFIG"),
        std::env::var_os("HOME"),
    )
}

/// [`docker_config_dir`] with the environment passed in, so the precedence is testable
/// without changing the (process-wide) environment.
fn resolve_docker_config_dir(
    given: Option<&std::path::Path>,
    docker_config: Option<std::ffi::OsString>,
    home: Option<std::ffi::OsString>,
) -> Option<PathBuf> {
    if let Some(d) = given {
        return Some(d.to_path_buf());
    }
    if let Some(d) = docker_config.filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d));
    }
    home.map(|h| PathBuf::from(h).join(".docker"))
}

/// Credentials for `registry`: given ones first, then `auths.<registry>.auth` of the docker
/// config file (base64 of `user:password`, as `docker login` writes it).
pub(crate) fn credentials(opts: &Options, registry: &str) -> Result<RegistryAuth, ErrorKind> {
    if let Some(user) = &opts.username {
        return Ok(RegistryAuth::Basic(
            user.clone(),
            opts.password.clone().unwrap_or_default(),
        ));
    }
    let Some(dir) = docker_config_dir(opts) else {
        return Ok(RegistryAuth::Anonymous);
    };
    let path = dir.join("config.json");
    let bad = |detail: String| ErrorKind::DockerConfig {
        path: path.display().to_string(),
        detail,
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(RegistryAuth::Anonymous),
        Err(e) => return Err(bad(e.to_string())),
    };
    let v: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| bad(format!("not valid JSON: {e}")))?;
    let Some(auths) = v.get("auths").and_then(|a| a.as_object()) else {
        return Ok(RegistryAuth::Anonymous);
    };
    // keys are `host`, `https://host` or `https://host/v1/`
    let entry = auths.iter().find(|(k, _)| {
        let k = k
            .trim_start_matches("https://")
            .trim_start_matches("http://");
        k.split('/').next() == Some(registry)
    });
    let Some((key, entry)) = entry else {
        return Ok(RegistryAuth::Anonymous);
    };
    let Some(auth) = entry.get("auth").and_then(|a| a.as_str()) else {
        return Ok(RegistryAuth::Anonymous);
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(auth.trim())
        .map_err(|_| bad(format!("auths.{key}.auth is not base64")))?;
    let decoded =
        String::from_utf8(decoded).map_err(|_| bad(format!("auths.{key}.auth is not UTF-8")))?;
    let (user, pass) = decoded
        .split_once(':')
        .ok_or_else(|| bad(format!("auths.{key}.auth is not `user:password`")))?;
    Ok(RegistryAuth::Basic(user.to_string(), pass.to_string()))
}

pub(crate) fn open(
    registry: &str,
    repository: &str,
    tag: Option<&str>,
    digest: Option<&Digest>,
    opts: &Options,
    platform: &Platform,
    label: &str,
) -> Result<(ImageInfo, Registry), ErrorKind> {
    let auth = credentials(opts, registry)?;
    // block_on inside an async context would panic: say so instead
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(ErrorKind::Usage(
            "registry images are read with blocking calls; call from a blocking thread (e.g. tokio's spawn_blocking), not from async code".into(),
        ));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| ErrorKind::Io {
            path: "tokio runtime".into(),
            source: e,
        })?;
    let config = ClientConfig {
        protocol: if opts.insecure {
            ClientProtocol::Http
        } else {
            ClientProtocol::Https
        },
        // indexes are resolved by us (oci::resolve), with the caller's platform
        platform_resolver: None,
        connect_timeout: Some(Duration::from_secs(30)),
        read_timeout: Some(Duration::from_secs(120)),
        ..ClientConfig::default()
    };
    let client = oci_client::Client::new(config);
    let repo = match (digest, tag) {
        (Some(d), _) => {
            oci_client::Reference::with_digest(registry.into(), repository.into(), d.to_string())
        }
        (None, t) => oci_client::Reference::with_tag(
            registry.into(),
            repository.into(),
            t.unwrap_or("latest").into(),
        ),
    };
    let mut src = Registry {
        rt: Some(rt),
        client,
        repo,
        auth,
        registry: registry.to_string(),
    };
    let (bytes, _) = src
        .rt()
        .block_on(src.client.pull_manifest_raw(&src.repo, &src.auth, ACCEPT))
        .map_err(|e| map_err(registry, e))?;
    if bytes.len() as u64 > MAX_MANIFEST {
        return Err(ErrorKind::DocumentTooLarge {
            what: "manifest".into(),
            size: bytes.len() as u64,
            limit: MAX_MANIFEST,
        });
    }
    let got = Digest::of(&bytes);
    if let Some(d) = digest
        && *d != got
    {
        return Err(ErrorKind::DigestMismatch {
            digest: d.to_string(),
            actual: got.to_string(),
        });
    }
    let info = oci::resolve(&mut src, None, Some((got, bytes.to_vec())), platform, label)?;
    Ok((info, src))
}

impl Registry {
    fn rt(&self) -> &tokio::runtime::Runtime {
        self.rt.as_ref().expect("runtime lives until drop")
    }
}

impl Drop for Registry {
    // shutting down without waiting is allowed anywhere, even inside another runtime
    // (a plain drop there would panic)
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// oci-client verifies a blob stream too and fails its last read on a mismatch; we end
/// the stream there instead, so that our own verifier (which has seen every byte) reports
/// the mismatch with both digests, the same way for every source.
struct EndOnTheirVerdict<R>(R);

impl<R: Read> Read for EndOnTheirVerdict<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.0.read(buf) {
            Err(e) if e.to_string().starts_with("Invalid digest") => Ok(0),
            r => r,
        }
    }
}

impl BlobSource for Registry {
    fn open(&mut self, blob: &Blob) -> Result<Box<dyn Read + '_>, ErrorKind> {
        let desc = OciDescriptor {
            digest: blob.digest.to_string(),
            size: blob.size.map_or(0, |s| s as i64),
            ..OciDescriptor::default()
        };
        let stream = self
            .rt()
            .block_on(async {
                // make sure the token (if any) is in place for blob requests too
                self.client
                    .store_auth_if_needed(self.repo.resolve_registry(), &self.auth)
                    .await;
                self.client.pull_blob_stream(&self.repo, &desc).await
            })
            .map_err(|e| match map_err(&self.registry, e) {
                ErrorKind::Registry { detail, .. }
                    if detail.contains("blob unknown") || detail.contains("404") =>
                {
                    ErrorKind::BlobMissing {
                        digest: blob.digest.to_string(),
                        detail: format!(" (registry {}: {detail})", self.registry),
                    }
                }
                k => k,
            })?;
        let reader = StreamReader::new(stream.stream);
        Ok(Box::new(EndOnTheirVerdict(SyncIoBridge::new_with_handle(
            reader,
            self.rt().handle().clone(),
        ))))
    }

    fn manifest(&mut self, blob: &Blob, limit: u64, what: &str) -> Result<Vec<u8>, ErrorKind> {
        let r = self.repo.clone_with_digest(blob.digest.to_string());
        let (bytes, _) = self
            .rt()
            .block_on(self.client.pull_manifest_raw(&r, &self.auth, ACCEPT))
            .map_err(|e| map_err(&self.registry, e))?;
        let bytes = match read_limited(&mut &bytes[..], limit) {
            Ok(Ok(b)) => b,
            _ => {
                return Err(ErrorKind::DocumentTooLarge {
                    what: what.into(),
                    size: bytes.len() as u64,
                    limit,
                });
            }
        };
        let got = Digest::of(&bytes);
        if got != blob.digest {
            return Err(ErrorKind::DigestMismatch {
                digest: blob.digest.to_string(),
                actual: got.to_string(),
            });
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_config(json: &str) -> (tempfile::TempDir, Options) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.json"), json).unwrap();
        let opts = Options {
            docker_config_dir: Some(dir.path().to_path_buf()),
            ..Options::default()
        };
        (dir, opts)
    }

    #[test]
    fn docker_config_dir_precedence() {
        use std::path::Path;
        let env = |s: &str| Some(std::ffi::OsString::from(s));
        assert_eq!(
            resolve_docker_config_dir(Some(Path::new("/given")), env("/env"), env("/home/u")),
            Some(PathBuf::from("/given"))
        );
        assert_eq!(
            resolve_docker_config_dir(None, env("/env"), env("/home/u")),
            Some(PathBuf::from("/env"))
        );
        assert_eq!(
            resolve_docker_config_dir(None, env(""), env("/home/u")),
            Some(PathBuf::from("/home/u/.docker"))
        );
        assert_eq!(
            resolve_docker_config_dir(None, None, env("/home/u")),
            Some(PathBuf::from("/home/u/.docker"))
        );
        assert_eq!(resolve_docker_config_dir(None, None, None), None);
    }

    #[test]
    fn docker_config_credentials() {
        // "dXNlcjpwYXNz" is base64 of "user:pass"
        let (_d, opts) = with_config(
            r#"{"auths":{"https://hub.example/v1/":{"auth":"dXNlcjpwYXNz"},"reg.example:5000":{"auth":"YTpiOmM="}}}"#,
        );
        assert_eq!(
            credentials(&opts, "hub.example").unwrap(),
            RegistryAuth::Basic("user".into(), "pass".into())
        );
        // a password may contain ':'
        assert_eq!(
            credentials(&opts, "reg.example:5000").unwrap(),
            RegistryAuth::Basic("a".into(), "b:c".into())
        );
        assert_eq!(
            credentials(&opts, "other.example").unwrap(),
            RegistryAuth::Anonymous
        );
        // given credentials win
        let given = Options {
            username: Some("u".into()),
            password: Some("p".into()),
            ..opts
        };
        assert_eq!(
            credentials(&given, "hub.example").unwrap(),
            RegistryAuth::Basic("u".into(), "p".into())
        );
    }

    #[test]
    fn bad_docker_config_is_an_error_naming_the_file() {
        let (_d, opts) = with_config(r#"{"auths":{"r.example":{"auth":"%%%"}}}"#);
        let err = credentials(&opts, "r.example").unwrap_err();
        assert!(
            err.to_string()
                .ends_with("config.json: auths.r.example.auth is not base64"),
            "{err}"
        );
        let (_d, opts) = with_config("{");
        let err = credentials(&opts, "r.example").unwrap_err();
        assert_eq!(err.code(), "docker-config");
    }

    #[test]
    fn async_context_is_a_usage_error_not_a_panic() {
        let empty = tempfile::tempdir().unwrap();
        let opts = Options {
            docker_config_dir: Some(empty.path().to_path_buf()),
            ..Options::default()
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let res = rt.block_on(async {
            open(
                "127.0.0.1:1",
                "a/b",
                Some("latest"),
                None,
                &opts,
                &Platform::linux_amd64(),
                "docker://127.0.0.1:1/a/b:latest",
            )
        });
        assert!(matches!(res, Err(ErrorKind::Usage(_))));
    }
}
