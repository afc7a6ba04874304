//! The web dashboard (issue 11, SPEC 9.4): server-rendered pages under `/ui`, over the same
//! handlers as the API (each page calls the `/api/v1` handler functions with the signed-in
//! token, so roles, restricted tokens and every check are the API's own).
//!
//! Sessions: signing in with a token sets the `vigil_session` cookie (HttpOnly,
//! SameSite=Strict, Secure under TLS) holding that token; the session is the token, so
//! revoking the token ends every session of it on every replica, and no session table is
//! needed. Every form carries a CSRF token derived from the session's secret (a keyed
//! SHA-256 that a page of another origin cannot read); a POST without the right one is 403.
//!
//! Pages work without JavaScript (filters are GET forms, actions POST forms, a running
//! install refreshes the page); `app.js` only follows a running install's log live.

mod pages;

use std::collections::HashMap;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{DOCTYPE, Markup, html};
use sha2::{Digest, Sha256};
use vigil_store::platform::Role;

use crate::AppState;
use crate::auth::{self, Admin, Caller, Viewer};
use crate::error::ApiError;

/// The session cookie.
pub const COOKIE: &str = "vigil_session";

const STYLE: &str = include_str!("style.css");
const SCRIPT: &str = include_str!("app.js");

/// The dashboard's routes (merged into [`crate::router`]).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/ui/scans") }))
        .route("/ui", get(|| async { Redirect::to("/ui/scans") }))
        .route("/ui/", get(|| async { Redirect::to("/ui/scans") }))
        .route("/ui/login", get(pages::login_page).post(pages::login))
        .route("/ui/logout", post(pages::logout))
        .route("/ui/scans", get(pages::scans))
        .route("/ui/scans/{id}", get(pages::scan))
        .route("/ui/deployed", get(pages::deployed))
        .route("/ui/policies", get(pages::policies))
        .route("/ui/policies/severity", post(pages::set_severity))
        .route("/ui/policies/unscanned", post(pages::set_unscanned))
        .route("/ui/rules", get(pages::rules))
        .route("/ui/rules/add", post(pages::add_rule))
        .route("/ui/rules/remove", post(pages::remove_rule))
        .route("/ui/audit", get(pages::audit))
        .route("/ui/events", get(pages::events))
        .route("/ui/integrations", get(pages::integrations))
        .route(
            "/ui/integrations/{name}/log.json",
            get(pages::integration_log),
        )
        .route(
            "/ui/integrations/{name}/{action}",
            post(pages::integration_action),
        )
        .route("/ui/assets/style.css", get(style))
        .route("/ui/assets/app.js", get(script))
        .layer(axum::middleware::from_fn(security_headers))
}

/// Every POST route of the dashboard that changes something, with the role it needs
/// (the tests walk this list: a viewer gets 403 on each, and so does a missing CSRF token).
pub const FORMS: [(&str, Role); 7] = [
    ("/ui/policies/severity", Role::Admin),
    ("/ui/policies/unscanned", Role::Admin),
    ("/ui/rules/add", Role::Admin),
    ("/ui/rules/remove", Role::Admin),
    ("/ui/integrations/cicd/install", Role::Admin),
    ("/ui/integrations/vulnerability-scanning/retry", Role::Admin),
    (
        "/ui/integrations/vulnerability-scanning/update",
        Role::Admin,
    ),
];

async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE)
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        body,
    )
        .into_response()
}

/// No inline script or style runs, no page frames the dashboard, forms post only here.
async fn security_headers(req: Request, next: axum::middleware::Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    res
}

/// The CSRF token of a session: a keyed hash of its secret.
fn csrf_of(secret: &str) -> String {
    hex::encode(Sha256::digest(format!("vigil-csrf\0{secret}").as_bytes()))
}

fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// A signed-in user.
pub struct Session {
    pub caller: Caller,
    pub csrf: String,
}

impl Session {
    fn role(&self) -> Role {
        self.caller.0.role
    }

    fn is_admin(&self) -> bool {
        self.role() >= Role::Admin
    }

    fn viewer(&self) -> Viewer {
        Viewer(self.caller.clone())
    }

    fn refuse(&self, needed: Role) -> ApiError {
        ApiError::Forbidden(format!(
            "token {:?} has role {}; this needs role {needed} or higher",
            self.caller.0.name,
            self.role()
        ))
    }

    fn admin(&self) -> Result<Admin, ApiError> {
        if self.is_admin() {
            Ok(Admin(self.caller.clone()))
        } else {
            Err(self.refuse(Role::Admin))
        }
    }

    /// 403 unless the form carries this session's CSRF token.
    fn check_csrf(&self, form: &Fields) -> Result<(), ApiError> {
        match form.0.get("csrf") {
            Some(t) if constant_time_eq(t.as_bytes(), self.csrf.as_bytes()) => Ok(()),
            Some(_) => Err(ApiError::Forbidden(
                "the form's CSRF token is wrong: reload the page and submit again".into(),
            )),
            None => Err(ApiError::Forbidden(
                "the form has no CSRF token: submit it from the dashboard's own page".into(),
            )),
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl FromRequestParts<AppState> for Session {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, UiError> {
        let next = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default();
        let Some(secret) = cookie(&parts.headers, COOKIE) else {
            return Err(UiError::SignIn { next, stale: false });
        };
        let token = state
            .tokens
            .lookup(&*state.db, &auth::hash(secret))
            .await
            .map_err(UiError::Api)?;
        match token {
            Some(t) => Ok(Self {
                caller: Caller(t),
                csrf: csrf_of(secret),
            }),
            None => Err(UiError::SignIn { next, stale: true }),
        }
    }
}

/// The fields of a submitted form, whatever they are: the CSRF check comes before any
/// complaint about the other fields.
pub struct Fields(pub HashMap<String, String>);

impl Fields {
    fn get(&self, name: &str) -> Result<String, ApiError> {
        self.0
            .get(name)
            .cloned()
            .ok_or_else(|| ApiError::Unprocessable(format!("the form has no field {name:?}")))
    }

    fn optional(&self, name: &str) -> Option<String> {
        self.0.get(name).filter(|v| !v.trim().is_empty()).cloned()
    }
}

impl<S: Send + Sync> FromRequest<S> for Fields {
    type Rejection = UiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, UiError> {
        Form::<HashMap<String, String>>::from_request(req, state)
            .await
            .map(|Form(f)| Self(f))
            .map_err(|e| UiError::Api(ApiError::BadRequest(e.body_text())))
    }
}

/// What a page answers when it cannot show itself.
pub enum UiError {
    /// Not signed in (or the token is gone): to the sign-in page, then back.
    SignIn { next: String, stale: bool },
    /// The API's refusal, shown as a page with the same status.
    Api(ApiError),
}

impl From<ApiError> for UiError {
    fn from(e: ApiError) -> Self {
        Self::Api(e)
    }
}

impl From<vigil_store::platform::Error> for UiError {
    fn from(e: vigil_store::platform::Error) -> Self {
        Self::Api(e.into())
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        match self {
            Self::SignIn { next, stale } => {
                let to = format!("/ui/login?{}", query(&[("next", next.as_str())]));
                let mut res = see_other(&to);
                if stale {
                    res.headers_mut()
                        .insert(header::SET_COOKIE, clear_cookie(false));
                }
                res
            }
            Self::Api(ApiError::Unauthorized(_)) => see_other("/ui/login"),
            Self::Api(e) => {
                let status = e.status();
                let reason = match &e {
                    ApiError::Internal(cause) => {
                        tracing::error!(%cause, "page failed");
                        "internal error: the server could not show this page (see its log)"
                            .to_owned()
                    }
                    other => other.to_string(),
                };
                let title = status.canonical_reason().unwrap_or("Error");
                let body = layout(
                    &Chrome::plain(title),
                    html! {
                        p.error role="alert" { (reason) }
                        p { a href="javascript:history.back()" { "Back" } " · " a href="/ui/scans" { "Security scans" } }
                    },
                );
                (status, body).into_response()
            }
        }
    }
}

fn see_other(to: &str) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

fn session_cookie(secret: &str, secure: bool) -> Result<HeaderValue, ApiError> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={secret}; Path=/; HttpOnly; SameSite=Strict{secure}"
    ))
    .map_err(|_| ApiError::Unprocessable("the token holds characters a cookie cannot".into()))
}

fn clear_cookie(secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("vigil_session=; Max-Age=0"))
}

/// A query string (`a=1&b=x%20y`).
pub(crate) fn query(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

/// What surrounds a page: its title, the nav entry to mark, the session.
pub(crate) struct Chrome<'a> {
    title: &'a str,
    active: &'a str,
    session: Option<&'a Session>,
    /// Refresh every few seconds when scripts are off (a running install).
    refresh: bool,
}

impl<'a> Chrome<'a> {
    fn plain(title: &'a str) -> Self {
        Self {
            title,
            active: "",
            session: None,
            refresh: false,
        }
    }

    fn of(title: &'a str, active: &'a str, session: &'a Session) -> Self {
        Self {
            title,
            active,
            session: Some(session),
            refresh: false,
        }
    }
}

const NAV: [(&str, &str); 7] = [
    ("/ui/scans", "Security scans"),
    ("/ui/deployed", "Deployed"),
    ("/ui/policies", "Policies"),
    ("/ui/rules", "CVE rules"),
    ("/ui/audit", "Audit log"),
    ("/ui/events", "Notifications"),
    ("/ui/integrations", "Integrations"),
];

pub(crate) fn layout(chrome: &Chrome<'_>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if chrome.refresh {
                    noscript { meta http-equiv="refresh" content="3"; }
                }
                title { (chrome.title) " · vigil" }
                link rel="stylesheet" href="/ui/assets/style.css";
                script src="/ui/assets/app.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/ui/scans" { "vigil" }
                    @if let Some(s) = chrome.session {
                        nav aria-label="Main" {
                            ul {
                                @for (href, label) in NAV {
                                    li {
                                        a href=(href) aria-current=[(href == chrome.active).then_some("page")] { (label) }
                                    }
                                }
                            }
                        }
                        form.who method="post" action="/ui/logout" {
                            span { (s.caller.0.name) " · " (s.role().to_string()) }
                            input type="hidden" name="csrf" value=(s.csrf);
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main #main {
                    h1 { (chrome.title) }
                    (body)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_and_csrf() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; vigil_session=vgl_x ;b=2"),
        );
        assert_eq!(cookie(&h, COOKIE), Some("vgl_x"));
        assert_eq!(cookie(&h, "c"), None);
        assert_ne!(csrf_of("vgl_x"), csrf_of("vgl_y"));
        assert_eq!(csrf_of("vgl_x").len(), 64);
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
