//! vigil-vulndb: the vulnerability database's record model (OSV schema 1.6, SPEC 4.1), the
//! feed parsers that convert OSV, Alpine secdb and Debian security tracker data into it
//! (SPEC 4.2), severity assessment (SPEC 4.4) and, behind features, reading feeds from disk
//! (`fs`, default) and downloading them (`fetch`).
//!
//! The [`model`], [`severity`] and parser modules are pure: no files, sockets or clock.

pub mod alpine;
pub mod debian;
pub mod error;
#[cfg(feature = "fs")]
pub mod feed;
#[cfg(feature = "fetch")]
pub mod fetch;
pub mod format;
pub mod model;
pub mod osv;
pub mod severity;

pub use error::{FeedError, Location, ParseError};
pub use format::FeedFormat;
pub use model::{
    Advisory, Affected, Event, FixState, Package, Range, RangeKind, Reference, SeverityKind,
    SeverityVector, VulnId,
};
pub use severity::{Severity, SeveritySource};

#[cfg(feature = "fs")]
pub use feed::{Feed, FeedItem, Limits, open_feed, open_feed_with};
