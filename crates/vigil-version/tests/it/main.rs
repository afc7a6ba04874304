//! Integration tests of vigil-version: the shared fixtures (every file, every line), the real
//! oracles (dpkg, rpm, packaging) on generated pairs, and order properties.

mod fixtures;
mod oracles;
mod pairs;
mod props;

use std::cmp::Ordering;

use vigil_version::{ParseError, Scheme};

/// `../shared/fixtures/versions/<rel>` as text.
pub fn fixture(rel: &str) -> String {
    let path = format!(
        "{}/../../../shared/fixtures/versions/{rel}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading fixture {path}: {e}"))
}

/// Whether `ord` satisfies `op` (`<`, `<=`, `=`, `==`, `>=`, `>`, `!=`).
pub fn holds(ord: Ordering, op: &str) -> bool {
    match op {
        "<" => ord == Ordering::Less,
        "<=" => ord != Ordering::Greater,
        "=" | "==" => ord == Ordering::Equal,
        ">=" => ord != Ordering::Less,
        ">" => ord == Ordering::Greater,
        "!=" => ord != Ordering::Equal,
        _ => panic!("unknown operator {op:?}"),
    }
}

pub fn symbol(ord: Ordering) -> &'static str {
    match ord {
        Ordering::Less => "<",
        Ordering::Equal => "=",
        Ordering::Greater => ">",
    }
}

/// Compares through both APIs (`Scheme::compare` and parsed `Version`s) and checks they agree.
pub fn compare(scheme: Scheme, a: &str, b: &str) -> Result<Ordering, ParseError> {
    let direct = scheme.compare(a, b)?;
    let parsed = scheme.parse(a)?.cmp(&scheme.parse(b)?);
    assert_eq!(
        direct, parsed,
        "{scheme}: compare and Version::cmp disagree on {a} {b}"
    );
    Ok(direct)
}
