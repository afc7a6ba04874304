//! Bearer tokens and roles (issue 9, SPEC 11.3).
//!
//! A token is `vgl_` and 64 hex digits: 256 random bits from the OS. Only its SHA-256 is
//! stored; a slow password hash buys nothing for a secret that cannot be guessed, and a
//! fast one keeps every request's check to one indexed lookup.
//!
//! Roles are part of the types (STYLE.md): a handler that takes an [`Admin`] cannot run for
//! a viewer, because the extractor refuses to build one. Each role may do what the ones
//! below it may.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};
use vigil_store::platform::{Role, Token};

use crate::AppState;
use crate::error::ApiError;

/// The prefix of every token: tells a leaked vigil token apart in logs and secret scanners.
pub const PREFIX: &str = "vgl_";

/// A new random token secret.
pub fn generate() -> Result<String, std::io::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(std::io::Error::other)?;
    Ok(format!("{PREFIX}{}", hex::encode(bytes)))
}

/// What the database keeps of a secret.
pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The authenticated token of a request.
#[derive(Debug, Clone)]
pub struct Caller(pub Token);

impl Caller {
    /// The name that goes into the audit log and on deployments.
    pub fn who(&self) -> String {
        format!("token:{}", self.0.name)
    }

    /// Whether the token may see `application` (a restricted token sees only its own).
    pub fn sees(&self, application: &str) -> bool {
        self.0.sees(application)
    }

    /// 404 for an application the token may not see: to it, the application does not exist.
    pub fn check_app(&self, application: &str) -> Result<(), ApiError> {
        if self.sees(application) {
            Ok(())
        } else {
            Err(ApiError::NotFound(format!(
                "application {application:?} does not exist"
            )))
        }
    }

    /// The applications the token is restricted to, if it is.
    pub fn within(&self) -> Option<&[String]> {
        self.0.apps.as_deref()
    }
}

async fn authenticate(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
    if let Some(c) = parts.extensions.get::<Caller>() {
        return Ok(c.clone());
    }
    let header = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or_else(|| {
            ApiError::Unauthorized(
                "no Authorization header: send `Authorization: Bearer <token>` (vigil token create)"
                    .into(),
            )
        })?;
    let secret = header
        .to_str()
        .ok()
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::Unauthorized("the Authorization header is not `Bearer <token>`".into())
        })?;
    let token = state
        .tokens
        .lookup(&*state.db, &hash(secret))
        .await?
        .ok_or_else(|| ApiError::Unauthorized("unknown or revoked token".into()))?;
    let caller = Caller(token);
    parts.extensions.insert(caller.clone());
    Ok(caller)
}

macro_rules! role_extractor {
    ($(#[$doc:meta])* $name:ident, $role:expr, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(pub Caller);

        impl FromRequestParts<AppState> for $name {
            type Rejection = ApiError;

            async fn from_request_parts(
                parts: &mut Parts,
                state: &AppState,
            ) -> Result<Self, Self::Rejection> {
                let caller = authenticate(parts, state).await?;
                if caller.0.role < $role {
                    return Err(ApiError::Forbidden(format!(
                        "token {:?} has role {}; {} needs role {} or higher",
                        caller.0.name,
                        caller.0.role,
                        $what,
                        $role
                    )));
                }
                Ok(Self(caller))
            }
        }
    };
}

role_extractor!(
    /// Any valid token: reads.
    Viewer,
    Role::Viewer,
    "reading"
);
role_extractor!(
    /// A `ci` or `admin` token: submit scans, ask the gate, record deployments.
    Ci,
    Role::Ci,
    "this"
);
role_extractor!(
    /// An `admin` token: entities, policies, tokens, database import.
    Admin,
    Role::Admin,
    "this"
);

/// A short-lived cache of token lookups: a gate answered 2,000 times a second should not
/// read the token table 2,000 times. A revoked token stops working within [`TTL`] on every
/// replica (documented in the README).
pub struct TokenCache {
    entries: std::sync::Mutex<std::collections::HashMap<String, (Token, std::time::Instant)>>,
}

/// How long a looked-up token is trusted without asking the database again.
pub const TTL: std::time::Duration = std::time::Duration::from_secs(10);

impl Default for TokenCache {
    fn default() -> Self {
        Self {
            entries: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }
}

impl TokenCache {
    pub async fn lookup(
        &self,
        db: &dyn vigil_store::Database,
        hash: &str,
    ) -> Result<Option<Token>, ApiError> {
        if let Some((t, at)) = self.lock().get(hash)
            && at.elapsed() < TTL
        {
            return Ok(Some(t.clone()));
        }
        let found = db.token_by_hash(hash).await?;
        let mut entries = self.lock();
        match &found {
            Some(t) => {
                if entries.len() > 10_000 {
                    entries.clear();
                }
                entries.insert(hash.to_owned(), (t.clone(), std::time::Instant::now()));
            }
            None => {
                entries.remove(hash);
            }
        }
        Ok(found)
    }

    /// Forgets every cached token (after a revocation on this replica).
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, (Token, std::time::Instant)>>
    {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashed() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with(PREFIX));
        assert_eq!(a.len(), PREFIX.len() + 64);
        assert_eq!(hash(&a).len(), 64);
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
