//! Integration tests of vigil-image on real images (see `common` for where they come from).

mod common;
mod executables;
mod hostile;
mod registry;
mod sources;
