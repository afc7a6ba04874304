//! Errors of the feed parsers and the feed reader.

use std::fmt;

/// What went wrong with one record or one document, without saying where (the caller adds
/// the location: file, zip entry, record id).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The bytes are not valid UTF-8.
    #[error("invalid UTF-8 at byte {offset}")]
    InvalidUtf8 {
        /// Byte offset of the first invalid sequence.
        offset: usize,
    },
    /// JSON or YAML syntax or shape error (serde's message, which gives line and column).
    #[error("{0}")]
    Syntax(String),
    /// A field has a value the model cannot take.
    #[error("field {field}: {problem}")]
    Field {
        /// The field, in the feed's own naming (`affected[0].ranges[1].events[2]`).
        field: String,
        /// What was expected and what was found.
        problem: String,
    },
    /// Brackets nested deeper than the limit.
    #[error("nesting deeper than {limit} levels at byte {offset}")]
    TooDeep {
        /// Byte offset of the bracket that went too deep.
        offset: usize,
        /// The limit.
        limit: usize,
    },
    /// A zip entry that cannot be read: unsupported compression, encryption, or content
    /// that disagrees with its header (size, CRC-32, invalid deflate data).
    #[error("unreadable zip entry: {0}")]
    Entry(String),
    /// The record or document is bigger than the configured limit.
    #[error("size {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Size found (or a lower bound of it).
        size: u64,
        /// The limit.
        limit: u64,
    },
}

impl ParseError {
    pub(crate) fn field(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self::Field {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

/// Where in a feed something was found: a file, optionally a zip entry, optionally a record.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    /// The file as the caller named it (a path, or a URL).
    pub file: String,
    /// The entry inside a zip archive.
    pub entry: Option<String>,
    /// The record id, when known.
    pub record: Option<String>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(entry) = &self.entry {
            write!(f, ", entry {entry}")?;
        }
        if let Some(record) = &self.record {
            write!(f, ", record {record}")?;
        }
        Ok(())
    }
}

/// An error of the feed reader: a location and what went wrong there.
///
/// A *record* error ([`FeedError::is_fatal`] false) spoils one record or document only; the
/// reader goes on with the next one and the caller may skip-and-count (`--skip-invalid`). A
/// fatal error (IO, an unreadable archive, the total size limit) ends the iteration.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// A record or document could not be parsed or converted.
    #[error("feed {location}: {source}")]
    Record {
        /// Where.
        location: Location,
        /// What.
        source: ParseError,
    },
    /// Reading failed.
    #[error("feed {location}: {message}")]
    Io {
        /// Where.
        location: Location,
        /// The IO error's message.
        message: String,
    },
    /// The archive or file as a whole is unusable (not a zip, total size limit, unknown
    /// format).
    #[error("feed {location}: {message}")]
    Feed {
        /// Where.
        location: Location,
        /// What.
        message: String,
    },
}

impl FeedError {
    /// Whether iteration stops after this error (everything but a record error).
    pub fn is_fatal(&self) -> bool {
        !matches!(self, Self::Record { .. })
    }

    /// Where the error happened.
    pub fn location(&self) -> &Location {
        match self {
            Self::Record { location, .. }
            | Self::Io { location, .. }
            | Self::Feed { location, .. } => location,
        }
    }
}
