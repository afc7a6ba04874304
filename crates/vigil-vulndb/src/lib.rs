//! vigil-vulndb: the vulnerability database's record model (OSV schema 1.6, SPEC 4.1), the
//! feed parsers that convert OSV, Alpine secdb and Debian security tracker data into it
//! (SPEC 4.2), severity assessment (SPEC 4.4) and, behind features, reading feeds from disk
//! (`fs`, default) and downloading them (`fetch`, default).
//!
//! The [`model`], [`severity`], [`format`](mod@format) and parser modules ([`osv`], [`alpine`],
//! [`debian`]) are pure: no files, sockets or clock.
//!
//! ```no_run
//! use vigil_vulndb::{FeedFormat, open_feed, severity};
//!
//! for item in open_feed("feeds/all.zip", FeedFormat::Auto) {
//!     match item {
//!         Ok(item) => {
//!             let (level, from) = severity::assess(&item.advisory);
//!             let _ = (item.advisory.id, level, from);
//!         }
//!         // A record error spoils one record; the caller may skip and count it.
//!         Err(e) if !e.is_fatal() => {}
//!         Err(e) => panic!("{e}"),
//!     }
//! }
//! ```
//!
//! Identifiers of converted distribution records follow osv.dev: `DEBIAN-CVE-…` (Debian
//! tracker, one advisory per CVE over all source packages and releases) and `ALPINE-CVE-…`
//! (Alpine secdb, one advisory per id over all releases and repositories of the feed), each
//! with the CVE in `upstream` and `aliases`. Their explicit fix states (will not fix, not
//! affected) are in [`Affected::fix_state`]; their urgencies in [`Affected::label`].

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
#[cfg(feature = "fs")]
mod zipentry;

pub use error::{FeedError, Location, ParseError};
pub use format::FeedFormat;
pub use model::{
    Advisory, Affected, Event, FixState, Package, Range, RangeKind, Reference, SeverityKind,
    SeverityVector, VulnId,
};
pub use severity::{Severity, SeveritySource};

#[cfg(feature = "fs")]
pub use feed::{
    Document, Feed, FeedItem, FeedWalk, Limits, OsvDocument, open_feed, open_feed_with, walk_feed,
};
