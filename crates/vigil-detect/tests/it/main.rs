//! Integration tests of vigil-detect on real inputs: the shared pkgdb fixtures, the real
//! Debian test image, and dpkg and rpm as oracles.

// Skipped tests say why on stderr (the test harness captures it).
#![allow(clippy::print_stderr)]

mod app_image;
mod auditable;
mod fixtures;
mod fuzz;
mod generated;
mod go_binaries;
mod java;
mod lockfiles;
mod oracles;
mod php;
mod purls;
mod python;
mod robustness;
mod rootfs;
mod ruby;
mod support;
