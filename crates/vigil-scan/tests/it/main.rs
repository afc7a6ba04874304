//! Integration tests of vigil-scan on real images: the language images that
//! `scripts/make-lang-images.sh` builds from Debian packages, programs and the ecosystems'
//! own tools, with those tools as oracles.

// Skipped tests say why on stderr (the test harness captures it).
#![allow(clippy::print_stderr)]

mod executables;
mod lang_image;
mod os_owned;
mod support;
