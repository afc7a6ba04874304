//! Times of rules and audit entries: `SystemTime` in the API, RFC 3339 text (UTC, whole
//! seconds) in JSON. This crate never reads the clock: "now" is always passed in.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The RFC 3339 text of a time, UTC, whole seconds: `2026-11-25T15:00:00Z`.
pub fn format(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// Error of [`parse_date`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "date {0:?} is not a date: expected YYYY-MM-DD or an RFC 3339 time in UTC such as 2026-12-31T23:59:59Z"
)]
pub struct DateError(String);

/// Parses an expiry given on the command line or in the API.
///
/// - `YYYY-MM-DD` is a whole day in UTC and the rule is valid through it: the result is the
///   start of the next day, the first instant at which the rule is expired.
/// - An RFC 3339 time in UTC (`2026-12-31T12:00:00Z`, fractions allowed) is taken as is.
pub fn parse_date(text: &str) -> Result<SystemTime, DateError> {
    let err = || DateError(text.to_owned());
    let b = text.as_bytes();
    if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
        let day = humantime::parse_rfc3339(&format!("{text}T00:00:00Z")).map_err(|_| err())?;
        return Ok(day + Duration::from_secs(86_400));
    }
    humantime::parse_rfc3339(text)
        .ok()
        .filter(|t| *t >= UNIX_EPOCH)
        .ok_or_else(err)
}

/// `#[serde(with = "time::rfc3339")]` for a `SystemTime`.
pub(crate) mod rfc3339 {
    use super::*;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_rfc3339_seconds(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_rfc3339(&text).map_err(|e| {
            serde::de::Error::custom(format!("time {text:?} is not RFC 3339 in UTC: {e}"))
        })
    }
}

/// `#[serde(with = "time::rfc3339_opt")]` for an `Option<SystemTime>` (`null` when absent).
pub(crate) mod rfc3339_opt {
    use super::*;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<SystemTime>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.collect_str(&humantime::format_rfc3339_seconds(*t)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SystemTime>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(text) => humantime::parse_rfc3339(&text).map(Some).map_err(|e| {
                serde::de::Error::custom(format!("time {text:?} is not RFC 3339 in UTC: {e}"))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_is_valid_through_its_day() {
        let t = parse_date("2026-12-31").unwrap();
        assert_eq!(format(t), "2027-01-01T00:00:00Z");
        assert_eq!(
            format(parse_date("2026-12-31T12:30:00Z").unwrap()),
            "2026-12-31T12:30:00Z"
        );
    }

    #[test]
    fn bad_dates_are_named() {
        for text in [
            "2026-13-01",
            "31/12/2026",
            "",
            "2026-12-31T12:00:00+02:00",
            "tomorrow",
        ] {
            assert_eq!(
                parse_date(text).unwrap_err().to_string(),
                format!(
                    "date {text:?} is not a date: expected YYYY-MM-DD or an RFC 3339 time in UTC such as 2026-12-31T23:59:59Z"
                )
            );
        }
    }
}
