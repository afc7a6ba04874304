//! Fuzz-style robustness: real SBOMs (Trivy's of the test images, and vigil's own), mutated
//! and truncated, give `Ok` or `Err`, never a panic or a hang.

use std::sync::OnceLock;

use proptest::prelude::*;

use crate::support::{cyclonedx, in_ci, inventory, spdx};

/// The real SBOMs to mutate: whatever of Trivy's and vigil's is at hand.
fn corpus() -> &'static [Vec<u8>] {
    static CORPUS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let mut docs = Vec::new();
        let dir = std::env::var_os("VIGIL_TEST_PEER_SBOMS")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| crate::support::workspace().join("target/peer-sboms"));
        for name in ["app.cyclonedx.json", "app.spdx.json"] {
            if let Ok(d) = std::fs::read(dir.join(name)) {
                docs.push(d);
            }
        }
        if let Some(inv) = inventory("app") {
            docs.push(cyclonedx(inv));
            docs.push(spdx(inv));
        }
        docs
    })
}

fn have_corpus() -> bool {
    let ok = !corpus().is_empty();
    crate::support::require(ok, "a real SBOM to mutate (test images or peer SBOMs)");
    ok || in_ci()
}

#[derive(Debug, Clone)]
enum Mutation {
    Truncate(usize),
    Flip(usize, u8),
    Delete(usize, usize),
    Insert(usize, Vec<u8>),
    /// Replace the n-th JSON value (pre-order) with another kind of value.
    Replace(usize, u8),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<usize>(), 1usize..64).prop_map(|(i, n)| Mutation::Delete(i, n)),
        (
            any::<usize>(),
            prop::collection::vec(
                prop_oneof![
                    Just(b'{'),
                    Just(b'}'),
                    Just(b'['),
                    Just(b']'),
                    Just(b'"'),
                    Just(b','),
                    Just(b':'),
                    Just(b'\\'),
                    any::<u8>()
                ],
                1..16
            )
        )
            .prop_map(|(i, b)| Mutation::Insert(i, b)),
        (any::<usize>(), 0u8..8).prop_map(|(i, k)| Mutation::Replace(i, k)),
    ]
}

fn replacement(kind: u8) -> serde_json::Value {
    use serde_json::{Value, json};
    match kind {
        0 => Value::Null,
        1 => json!(-1.5e300),
        2 => json!("pkg:deb/debian/x@?arch=&epoch=&upstream=%ZZ"),
        3 => json!([]),
        4 => json!({}),
        5 => json!(true),
        6 => json!("pkg:rpm/x@1?upstream=.src.rpm&epoch=99999999999999999999"),
        _ => {
            // Deeper than the JSON parser's recursion limit.
            let mut v = json!([]);
            for _ in 0..200 {
                v = json!([v]);
            }
            v
        }
    }
}

fn replace_nth(v: &mut serde_json::Value, n: &mut usize, with: &serde_json::Value) -> bool {
    if *n == 0 {
        *v = with.clone();
        return true;
    }
    *n -= 1;
    match v {
        serde_json::Value::Array(a) => a.iter_mut().any(|x| replace_nth(x, n, with)),
        serde_json::Value::Object(o) => o.values_mut().any(|x| replace_nth(x, n, with)),
        _ => false,
    }
}

fn apply(doc: &[u8], m: &Mutation) -> Vec<u8> {
    let mut d = doc.to_vec();
    let at = |i: usize| i % (d.len() + 1);
    match m {
        Mutation::Truncate(i) => d.truncate(at(*i)),
        Mutation::Flip(i, b) => {
            let i = i % d.len();
            d[i] ^= b | 1;
        }
        Mutation::Delete(i, n) => {
            let i = at(*i);
            let end = (i + n).min(d.len());
            d.drain(i..end);
        }
        Mutation::Insert(i, bytes) => {
            let i = at(*i);
            d.splice(i..i, bytes.iter().copied());
        }
        Mutation::Replace(i, k) => {
            let mut v: serde_json::Value = serde_json::from_slice(doc).unwrap();
            let mut n = i % 4096;
            replace_nth(&mut v, &mut n, &replacement(*k));
            d = serde_json::to_vec(&v).unwrap();
        }
    }
    d
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_sboms_never_panic(which in any::<usize>(), m in mutation()) {
        if !have_corpus() { return Ok(()); }
        let docs = corpus();
        let doc = &docs[which % docs.len()];
        let mutated = apply(doc, &m);
        match vigil_sbom::read_from(&mutated[..], "fuzz.json") {
            Ok(inv) => prop_assert!(inv.packages.len() <= 10_000),
            Err(e) => {
                let msg = e.to_string();
                prop_assert!(msg.contains("fuzz.json"), "{}", msg);
            }
        }
    }

    #[test]
    fn every_truncation_of_a_small_sbom_is_an_error(cut in 0usize..4096) {
        if !have_corpus() { return Ok(()); }
        let doc = &corpus()[0];
        let cut = cut % (doc.len() - 1);
        // A cut document is never silently accepted as a shorter one.
        let e = vigil_sbom::read_from(&doc[..cut], "cut.json");
        prop_assert!(e.is_err());
    }
}
