//! Delivering notifications (issue 12, SPEC 7.7): the outbox holds an event for each
//! deployment a re-match gave findings today's policy blocks, with a delivery per webhook
//! URL. [`deliver_due`] claims each due delivery (a lease, so replicas sharing PostgreSQL do
//! not send one twice at once), POSTs the event as JSON and records the outcome: delivered
//! on any 2xx answer; otherwise tried again after a backoff that doubles up to
//! [`NotifyOptions::max_backoff`], for as long as it takes. A sender that dies mid-way loses
//! its lease and the delivery is sent again: at least once, never lost across a restart.
//!
//! The body is the event's payload with `"id"` (the event id, the same on every try and to
//! every URL: receivers drop repeats by it). Headers: `Content-Type: application/json`,
//! `X-Vigil-Event: ID`, `X-Vigil-Event-Kind: finding.blocked`, `X-Vigil-Delivery-Attempt:
//! N` (1 on the first try), and with a secret `X-Vigil-Signature-256: sha256=HEX`, the
//! HMAC-SHA256 of the exact body keyed by the secret.

use std::time::{Duration, SystemTime};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use vigil_store::Database;
use vigil_store::platform::Delivery;

use crate::Error;

/// How webhooks are called.
#[derive(Clone)]
pub struct NotifyOptions {
    /// The URLs every new event is delivered to.
    pub webhooks: Vec<String>,
    /// Signs each body (HMAC-SHA256) when set.
    pub secret: Option<String>,
    /// The longest one try may take, connection to answer.
    pub timeout: Duration,
    /// The wait after the first failed try, doubled after each further one.
    pub backoff: Duration,
    /// The longest wait between tries.
    pub max_backoff: Duration,
}

impl std::fmt::Debug for NotifyOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotifyOptions")
            .field("webhooks", &self.webhooks)
            .field("secret", &self.secret.as_ref().map(|_| "****"))
            .field("timeout", &self.timeout)
            .field("backoff", &self.backoff)
            .field("max_backoff", &self.max_backoff)
            .finish()
    }
}

impl Default for NotifyOptions {
    fn default() -> Self {
        Self {
            webhooks: Vec::new(),
            secret: None,
            timeout: Duration::from_secs(10),
            backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(600),
        }
    }
}

/// What one [`deliver_due`] pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DeliverySummary {
    pub delivered: usize,
    pub failed: usize,
}

/// The body sent for a delivery: its payload with the event id.
pub fn body(delivery: &Delivery) -> String {
    match serde_json::from_str::<serde_json::Value>(&delivery.payload) {
        Ok(serde_json::Value::Object(mut map)) => {
            map.insert("id".into(), delivery.event_id.into());
            serde_json::Value::Object(map).to_string()
        }
        // Payloads are written by vigil as JSON objects; anything else is sent as stored.
        _ => delivery.payload.clone(),
    }
}

/// `sha256=HEX`: HMAC-SHA256 of `body` keyed by `secret`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    // HMAC takes a key of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of every length"));
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The wait before try `attempts + 1` after `attempts` failed ones.
fn backoff(opts: &NotifyOptions, attempts: u32) -> Duration {
    let doubled = opts
        .backoff
        .saturating_mul(2_u32.saturating_pow(attempts.saturating_sub(1).min(30)));
    doubled.min(opts.max_backoff)
}

/// Sends every delivery due now, one after another, until none is due. Returns what it
/// did; a store failure stops the pass.
pub async fn deliver_due(
    db: &dyn Database,
    opts: &NotifyOptions,
    agent: &ureq::Agent,
) -> Result<DeliverySummary, Error> {
    let mut summary = DeliverySummary::default();
    // A try lasts at most `timeout`; the lease outlives it comfortably.
    let lease = opts.timeout.saturating_add(Duration::from_secs(30));
    loop {
        let now = SystemTime::now();
        let Some(delivery) = db.claim_delivery(now + lease, now).await? else {
            return Ok(summary);
        };
        let sent = {
            let (agent, opts, delivery) = (agent.clone(), opts.clone(), delivery.clone());
            tokio::task::spawn_blocking(move || post(&agent, &opts, &delivery))
                .await
                .unwrap_or_else(|e| Err(format!("the sender stopped: {e}")))
        };
        let attempts = delivery.attempts + 1;
        let now = SystemTime::now();
        match &sent {
            Ok(()) => {
                summary.delivered += 1;
                tracing::info!(event = delivery.event_id, url = %delivery.url, attempts, "notification delivered");
            }
            Err(e) => {
                summary.failed += 1;
                tracing::warn!(event = delivery.event_id, url = %delivery.url, attempts, error = %e, "notification not delivered; will retry");
            }
        }
        db.finish_delivery(
            delivery.id,
            sent.as_ref().err().map(String::as_str),
            now + backoff(opts, attempts),
            now,
        )
        .await?;
    }
}

/// An HTTP client for webhooks: `timeout` for a whole try, statuses not errors.
pub fn agent(opts: &NotifyOptions) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(opts.timeout))
        .max_redirects(0)
        .user_agent(concat!("vigil/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

/// One try: `Ok` on a 2xx answer, else why not.
fn post(agent: &ureq::Agent, opts: &NotifyOptions, delivery: &Delivery) -> Result<(), String> {
    let body = body(delivery);
    let mut request = agent
        .post(&delivery.url)
        .header("Content-Type", "application/json")
        .header("X-Vigil-Event", delivery.event_id.to_string())
        .header("X-Vigil-Event-Kind", &delivery.kind)
        .header(
            "X-Vigil-Delivery-Attempt",
            (delivery.attempts + 1).to_string(),
        );
    if let Some(secret) = &opts.secret {
        request = request.header("X-Vigil-Signature-256", signature(secret, body.as_bytes()));
    }
    match request.send(body.as_bytes()) {
        Ok(answer) if answer.status().is_success() => Ok(()),
        Ok(answer) => Err(format!(
            "{} answered HTTP {}",
            delivery.url,
            answer.status()
        )),
        Err(e) => Err(format!("{}: {e}", delivery.url)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_rfc4231_hmac_sha256() {
        // RFC 4231, test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn backoff_doubles_up_to_the_limit() {
        let opts = NotifyOptions {
            backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(20),
            ..NotifyOptions::default()
        };
        let waits: Vec<u64> = (1..=6).map(|n| backoff(&opts, n).as_secs()).collect();
        assert_eq!(waits, [2, 4, 8, 16, 20, 20]);
    }
}
