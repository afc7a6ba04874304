//! The store's one error type. sqlx's errors stay private: they are turned into text here
//! (STYLE.md: keep dependencies' error types out of our API).

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database could not be opened or created.
    #[error("cannot open database {location}: {problem}")]
    Open { location: String, problem: String },
    /// A migration failed.
    #[error("cannot migrate database {location}: {problem}")]
    Migrate { location: String, problem: String },
    /// A query failed.
    #[error("database {what} failed: {problem}")]
    Query { what: &'static str, problem: String },
    /// A record could not be stored.
    #[error("record {id:?}: {problem}")]
    Record { id: String, problem: String },
    /// A stored advisory does not decode as the model (written by another version?).
    #[error("stored advisory {id} of source {source_name} does not decode: {problem}")]
    Corrupt {
        source_name: String,
        id: String,
        problem: String,
    },
}

impl Error {
    pub(crate) fn query(what: &'static str) -> impl FnOnce(sqlx::Error) -> Self {
        move |e| Self::Query {
            what,
            problem: e.to_string(),
        }
    }
}
