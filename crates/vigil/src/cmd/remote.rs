//! The CLI against a server (issue 9): with `--server URL` / `VIGIL_SERVER` the platform
//! commands (cluster, env, app, pipeline, policy, ci scan, gate, explain, deploy record,
//! deployed) send their request to `vigil serve` over HTTP instead of opening the local
//! store, and print the answer with the same code as the local mode (the API returns the
//! same JSON contracts: crates/vigil-server/README.md).
//!
//! [`Backend::open`] picks the mode; [`Client`] is a small blocking client: Bearer token,
//! JSON in and out, timeouts, and every answer that is not a success turned into an error
//! naming the server, the method, the path and the server's `{"error"}` reason.
//!
//! The server's own types (`Scan`, `Deployment`, the submission answer) are defined here as
//! plain deserialisable twins: the CLI only reads them.

use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use serde::Serialize;
use serde::de::DeserializeOwned;
use vigil_service::ScanSummary;

use crate::config::{Config, Store};
use crate::exit::Hint;

/// The longest answer read from the server (a JSON document; the largest are explanations
/// of images with many findings and `deployed` pages, far below this).
const MAX_ANSWER: u64 = 256 * 1024 * 1024;
/// The longest error body read (an error is one short JSON object).
const MAX_ERROR: u64 = 64 * 1024;
/// Connecting to the server.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Reading an answer's body once its head came.
const BODY_TIMEOUT: Duration = Duration::from_secs(120);

/// Where a command's data lives: the local store, or a server.
pub enum Backend {
    Local { config: Config, store: Store },
    Remote { config: Config, client: Client },
}

impl Backend {
    /// The server when one is configured (`--server`, `VIGIL_SERVER`, `server` in the
    /// configuration file), else the local store.
    pub fn open() -> anyhow::Result<Self> {
        let config = Config::load()?;
        match Client::from_config(&config)? {
            Some(client) => Ok(Backend::Remote { config, client }),
            None => {
                let store = config.open_store()?;
                Ok(Backend::Local { config, store })
            }
        }
    }
}

/// A blocking JSON client of one `vigil serve`.
#[derive(Debug)]
pub struct Client {
    agent: ureq::Agent,
    /// The base URL without its trailing slash (`http://host:port` or with a path prefix).
    base: String,
    token: String,
}

impl Client {
    /// The client for `config.server`, `None` when no server is configured. A server
    /// without a token is an error with a hint: every API route needs one.
    pub fn from_config(config: &Config) -> anyhow::Result<Option<Self>> {
        let Some(server) = &config.server else {
            return Ok(None);
        };
        let base = normalise_base(server)?;
        let token = match &config.token {
            Some(t) if !t.expose().trim().is_empty() => t.expose().trim().to_owned(),
            _ => {
                return Err(anyhow!("server {base}: no API token was given").context(Hint(
                    "pass --token TOKEN or set VIGIL_TOKEN (an admin creates one on the server \
                     with `vigil token create --role ci|viewer|admin`)"
                        .into(),
                )));
            }
        };
        // The server may read an image before it answers (a gate or explain naming a
        // reference, not a digest): give it the scan timeout and some.
        let answer = config.scan.timeout.saturating_add(Duration::from_secs(30));
        let mut tls = ureq::tls::TlsConfig::builder();
        if let Some(ca) = &config.server_ca {
            tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&ca_certificates(ca)?));
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .tls_config(tls.build())
            .http_status_as_error(false)
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_recv_response(Some(answer))
            .timeout_recv_body(Some(BODY_TIMEOUT))
            .user_agent(concat!("vigil/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Ok(Some(Client { agent, base, token }))
    }

    /// The server's base URL as used (no trailing slash).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `GET path?query` -> `T`. Query values are percent-encoded; `None` values are left
    /// out.
    pub fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, Option<String>)],
    ) -> anyhow::Result<T> {
        let req = self
            .agent
            .get(self.url(path))
            .header("Authorization", self.bearer());
        self.answer("GET", path, with_query(req, query).call())
    }

    /// `POST path` with a JSON body -> `T`.
    pub fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> anyhow::Result<T> {
        self.send_json("POST", self.agent.post(self.url(path)), path, body)
    }

    /// `POST path?query` with `body` as it is (a document) -> `T`.
    pub fn post_bytes<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, Option<String>)],
        body: Vec<u8>,
    ) -> anyhow::Result<T> {
        let req = self
            .agent
            .post(self.url(path))
            .header("Authorization", self.bearer())
            .header("Content-Type", "application/json");
        self.answer("POST", path, with_query(req, query).send(body))
    }

    /// `PUT path` with a JSON body -> `T`.
    pub fn put<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> anyhow::Result<T> {
        self.send_json("PUT", self.agent.put(self.url(path)), path, body)
    }

    /// `DELETE path?query` -> `T` (`()` for a 204 without a body).
    pub fn delete<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, Option<String>)],
    ) -> anyhow::Result<T> {
        let req = self
            .agent
            .delete(self.url(path))
            .header("Authorization", self.bearer());
        self.answer("DELETE", path, with_query(req, query).call())
    }

    /// Sends `body` as JSON with the token -> `T`.
    fn send_json<B: Serialize, T: DeserializeOwned>(
        &self,
        method: &str,
        req: ureq::RequestBuilder<ureq::typestate::WithBody>,
        path: &str,
        body: &B,
    ) -> anyhow::Result<T> {
        let req = req
            .header("Authorization", self.bearer())
            .header("Content-Type", "application/json");
        self.answer(method, path, req.send(serde_json::to_vec(body)?))
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn bearer(&self) -> String {
        format!("Bearer {}", self.token)
    }

    /// The typed answer, or an error naming the server, the request and the reason.
    fn answer<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        sent: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> anyhow::Result<T> {
        let what = || format!("server {}: {method} {path}", self.base);
        let mut response = match sent {
            Ok(r) => r,
            Err(e) => {
                let problem = transport_problem(&e);
                let err = anyhow!("{}: {problem}", what());
                let hint = if problem.contains("certificate") {
                    Some(
                        "the server's certificate is not trusted: pass the CA that signed it \
                         with --server-ca FILE (VIGIL_SERVER_CA), a PEM file"
                            .to_owned(),
                    )
                } else if matches!(
                    e,
                    ureq::Error::Io(_) | ureq::Error::ConnectionFailed | ureq::Error::HostNotFound
                ) {
                    Some(format!(
                        "is `vigil serve` running at {}? check --server / VIGIL_SERVER",
                        self.base
                    ))
                } else {
                    None
                };
                return Err(match hint {
                    Some(h) => err.context(Hint(h)),
                    None => err,
                });
            }
        };
        let status = response.status();
        if !status.is_success() {
            let body = response
                .body_mut()
                .with_config()
                .limit(MAX_ERROR)
                .lossy_utf8(true)
                .read_to_string()
                .unwrap_or_default();
            let reason = error_reason(&body);
            let err = anyhow!(
                "{}: {status}{}",
                what(),
                reason.map_or(String::new(), |r| format!(": {r}"))
            );
            return Err(match status.as_u16() {
                401 => err.context(Hint(
                    "the server does not know this token: check --token / VIGIL_TOKEN".into(),
                )),
                _ => err,
            });
        }
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER)
            .read_to_vec()
            .with_context(|| format!("{}: reading the answer", what()))?;
        // A 204 (or any empty answer) is JSON `null`: `()` and `Option` read it.
        let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
            b"null"
        } else {
            &body
        };
        serde_json::from_slice(body).with_context(|| {
            format!(
                "{}: the answer is not the expected JSON (is this a vigil server of the same version?)",
                what()
            )
        })
    }
}

/// The CA certificates of a PEM file (`--server-ca`); a file without one is an error.
fn ca_certificates(path: &std::path::Path) -> anyhow::Result<Vec<ureq::tls::Certificate<'static>>> {
    let pem = std::fs::read(path)
        .with_context(|| format!("cannot read the server CA file {}", path.display()))?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => certs.push(c),
            Ok(_) => {}
            Err(e) => bail!("server CA file {}: not PEM: {e}", path.display()),
        }
    }
    if certs.is_empty() {
        bail!(
            "server CA file {}: no PEM certificate (-----BEGIN CERTIFICATE-----) in it",
            path.display()
        );
    }
    Ok(certs)
}

/// The query parameters that have a value, percent-encoded by ureq.
fn with_query<B>(
    req: ureq::RequestBuilder<B>,
    query: &[(&str, Option<String>)],
) -> ureq::RequestBuilder<B> {
    query
        .iter()
        .filter_map(|(k, v)| Some((*k, v.as_deref()?)))
        .fold(req, |r, (k, v)| r.query(k, v))
}

/// `http(s)://host[:port][/prefix]` without a trailing slash; anything else is refused.
fn normalise_base(server: &str) -> anyhow::Result<String> {
    let s = server.trim();
    let uri: ureq::http::Uri = s
        .parse()
        .map_err(|e| anyhow!("invalid server URL {server:?}: {e}"))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => bail!(
            "invalid server URL {server:?}: expected http://HOST[:PORT] or https://HOST[:PORT]"
        ),
    }
    if uri.host().is_none_or(str::is_empty) {
        bail!("invalid server URL {server:?}: no host");
    }
    if uri.query().is_some() {
        bail!("invalid server URL {server:?}: a query (?...) is not allowed");
    }
    Ok(s.trim_end_matches('/').to_owned())
}

/// A transport failure in words (ureq's own texts are terse: `io: Connection refused`).
fn transport_problem(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Io(io) => io.to_string(),
        ureq::Error::Timeout(t) => format!("no answer in time ({t})"),
        other => other.to_string(),
    }
}

/// The reason of an error body: the server's `{"error": "..."}`, else the start of the text.
fn error_reason(body: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct ApiError {
        error: String,
    }
    if let Ok(e) = serde_json::from_str::<ApiError>(body) {
        return Some(e.error);
    }
    let text = body.trim();
    (!text.is_empty()).then(|| {
        let mut s: String = text.chars().take(200).collect();
        if s.len() < text.len() {
            s.push_str("...");
        }
        s
    })
}

/// A path segment made safe: everything but RFC 3986 unreserved characters is
/// percent-encoded (names are validated by the server; this only keeps `/`, `?`, `#`, `%`
/// and spaces in a name from changing the request).
pub fn segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The server records the token's name as who: warn (once; one command per process) when
/// `--as` names someone else.
pub fn warn_who_ignored(who: &crate::cmd::platform::WhoArgs) {
    if who.given_explicitly() {
        tracing::warn!(
            "--as is ignored with --server: the server records the name of the API token as who"
        );
    }
}

/// The server reads images with its own options: warn when image flags were given.
pub fn warn_image_options_ignored(opts: &crate::cmd::inventory::ImageArgs) {
    let default_platform = "linux/amd64";
    if opts.insecure
        || opts.username.is_some()
        || opts.no_cache
        || opts.platform != default_platform
    {
        tracing::warn!(
            "--insecure, --username, --password, --platform and --no-cache are ignored with \
             --server: the server reads images with its own settings"
        );
    }
}

/// `Scan` of the API: a scan of one image digest on the server.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Scan {
    pub id: i64,
    pub digest: String,
    /// `queued`, `running`, `completed` or `failed`.
    pub state: String,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub db_version: Option<String>,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default)]
    pub complete: Option<bool>,
    #[serde(default)]
    pub summary: Option<ScanSummary>,
}

/// `Submitted` of the API: the answer to `POST /api/v1/scans`.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Submitted {
    /// `queued`, `reused` or `disabled`.
    pub outcome: String,
    pub pipeline: String,
    pub application: String,
    #[serde(default)]
    pub scan: Option<Scan>,
}

/// `Deployment` of the API.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Deployment {
    pub id: i64,
    pub application: String,
    pub environment: String,
    pub cluster: String,
    pub digest: String,
    /// RFC 3339 in UTC.
    pub deployed_at: String,
    pub deployed_by: String,
    pub rollback: bool,
}

impl TryFrom<Deployment> for vigil_store::platform::Deployment {
    type Error = anyhow::Error;
    fn try_from(d: Deployment) -> anyhow::Result<Self> {
        let at = humantime::parse_rfc3339(&d.deployed_at).with_context(|| {
            format!(
                "deployment {}: deployed_at {:?} is not RFC 3339 in UTC",
                d.id, d.deployed_at
            )
        })?;
        Ok(Self {
            id: d.id,
            application: d.application,
            environment: d.environment,
            cluster: d.cluster,
            digest: d.digest,
            at,
            by: d.deployed_by,
            rollback: d.rollback,
        })
    }
}

/// An environment as the API lists it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Environment {
    pub name: String,
    pub cluster: String,
    pub namespace: String,
}

impl From<Environment> for vigil_store::platform::Environment {
    fn from(e: Environment) -> Self {
        Self {
            name: e.name,
            cluster: e.cluster,
            namespace: e.namespace,
        }
    }
}

/// A pipeline as the API lists it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Pipeline {
    pub name: String,
    pub application: String,
    pub scan_enabled: bool,
}

impl From<Pipeline> for vigil_store::platform::Pipeline {
    fn from(p: Pipeline) -> Self {
        Self {
            name: p.name,
            application: p.application,
            scan_enabled: p.scan_enabled,
        }
    }
}

/// How long to wait between two looks at a queued scan: 500 ms, growing by half each
/// time, at most 2 s.
pub fn poll_interval(previous: Option<Duration>) -> Duration {
    match previous {
        None => Duration::from_millis(500),
        Some(p) => (p + p / 2).min(Duration::from_secs(2)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_is_normalised() {
        assert_eq!(
            normalise_base("http://127.0.0.1:8080/").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(normalise_base(" http://h:1 ").unwrap(), "http://h:1");
        assert_eq!(
            normalise_base("https://h/vigil//").unwrap(),
            "https://h/vigil"
        );
    }

    #[test]
    fn bad_server_urls_are_refused_with_the_reason() {
        let e = normalise_base("127.0.0.1:8080").unwrap_err().to_string();
        assert!(e.contains("expected http://HOST[:PORT]"), "{e}");
        let e = normalise_base("ftp://h").unwrap_err().to_string();
        assert!(e.contains("invalid server URL \"ftp://h\""), "{e}");
        let e = normalise_base("http://h/?x=1").unwrap_err().to_string();
        assert!(e.contains("query"), "{e}");
        assert!(normalise_base("http://").is_err());
        assert!(normalise_base("").is_err());
    }

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(segment("web-1.prod_x~"), "web-1.prod_x~");
        assert_eq!(segment("a/b c?#%"), "a%2Fb%20c%3F%23%25");
        assert_eq!(segment("é"), "%C3%A9");
    }

    #[test]
    fn error_reason_is_the_servers_error_else_the_text() {
        assert_eq!(
            error_reason(r#"{"error":"application \"x\" does not exist"}"#).unwrap(),
            "application \"x\" does not exist"
        );
        assert_eq!(error_reason("  Bad Gateway \n").unwrap(), "Bad Gateway");
        assert_eq!(error_reason(""), None);
        let long = "x".repeat(500);
        assert_eq!(error_reason(&long).unwrap().len(), 203);
    }

    #[test]
    fn polling_grows_from_half_a_second_to_two() {
        let mut seen = Vec::new();
        let mut cur = None;
        for _ in 0..6 {
            let next = poll_interval(cur);
            seen.push(next.as_millis());
            cur = Some(next);
        }
        assert_eq!(seen, [500, 750, 1125, 1687, 2000, 2000]);
    }
}
