//! vigil-sbom integration tests, on the real test images, Trivy's SBOMs of them and the
//! official schemas.

mod errors;
mod fuzz;
mod peer;
mod pkgdb;
mod roundtrip;
mod schema;
mod support;
