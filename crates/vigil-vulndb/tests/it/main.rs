//! Integration tests of vigil-vulndb, one module per area.
