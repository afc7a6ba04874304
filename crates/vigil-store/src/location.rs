//! Where the database is: a SQLite file or a PostgreSQL URL (SPEC 9.7 `VIGIL_DATABASE_URL`).

use std::fmt;
use std::path::PathBuf;

/// A database location. Its `Display` masks a URL's password (STYLE.md: redact credentials).
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite database file (created on open).
    Sqlite(PathBuf),
    /// A `postgres://` or `postgresql://` URL.
    Postgres(String),
}

impl Location {
    /// `postgres://...` and `postgresql://...` are PostgreSQL; `sqlite://PATH` and
    /// `sqlite:PATH` are SQLite files; anything else is a path to a SQLite file.
    pub fn parse(s: &str) -> Self {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Self::Postgres(s.to_owned())
        } else if let Some(rest) = s.strip_prefix("sqlite://") {
            Self::Sqlite(PathBuf::from(rest))
        } else if let Some(rest) = s.strip_prefix("sqlite:") {
            Self::Sqlite(PathBuf::from(rest))
        } else {
            Self::Sqlite(PathBuf::from(s))
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(p) => write!(f, "{}", p.display()),
            Self::Postgres(url) => f.write_str(&redact_url(url)),
        }
    }
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(p) => f.debug_tuple("Sqlite").field(p).finish(),
            Self::Postgres(_) => f.debug_tuple("Postgres").field(&self.to_string()).finish(),
        }
    }
}

/// Masks the password of a URL (`postgres://user:secret@host/db` ->
/// `postgres://user:****@host/db`) and the value of a `password=` query parameter.
pub fn redact_url(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some(scheme_end) = out.find("://") {
        let rest_start = scheme_end + 3;
        let authority_end = out[rest_start..]
            .find(['/', '?', '#'])
            .map_or(out.len(), |i| rest_start + i);
        if let Some(at) = out[rest_start..authority_end].rfind('@') {
            let userinfo = &out[rest_start..rest_start + at];
            if let Some(colon) = userinfo.find(':') {
                let start = rest_start + colon + 1;
                out.replace_range(start..rest_start + at, "****");
            }
        }
    }
    if let Some(q) = out.find('?') {
        let (head, query) = out.split_at(q + 1);
        let query = query
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=****"),
                _ => kv.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("&");
        out = format!("{head}{query}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_backends() {
        assert!(matches!(
            Location::parse("postgres://h/db"),
            Location::Postgres(_)
        ));
        assert!(matches!(
            Location::parse("postgresql://h/db"),
            Location::Postgres(_)
        ));
        assert_eq!(
            Location::parse("sqlite:///x/v.db"),
            Location::Sqlite("/x/v.db".into())
        );
        assert_eq!(Location::parse("v.db"), Location::Sqlite("v.db".into()));
    }

    #[test]
    fn masks_passwords() {
        assert_eq!(
            redact_url("postgres://vigil:s3cr@t@db.example:5432/vigil"),
            "postgres://vigil:****@db.example:5432/vigil"
        );
        assert_eq!(redact_url("postgres://vigil@db/v"), "postgres://vigil@db/v");
        assert_eq!(
            redact_url("postgres://db/v?user=a&password=b&sslmode=require"),
            "postgres://db/v?user=a&password=****&sslmode=require"
        );
        let loc = Location::parse("postgres://u:pw@h/d");
        assert!(!format!("{loc} {loc:?}").contains("pw"));
    }
}
