//! The hasher of the id index.

use std::hash::Hasher;

/// A small multiply-rotate hasher for the id index: ids are short ASCII strings chosen by
/// administrators and feeds, and SipHash's DoS resistance costs a third of the gate's time
/// for nothing here.
#[derive(Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl IdHasher {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;

    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::K);
    }
}

impl Hasher for IdHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes([
                c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7],
            ]));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }

    #[inline]
    fn write_u8(&mut self, b: u8) {
        self.add(u64::from(b));
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::hash::{BuildHasher, BuildHasherDefault};

    #[test]
    fn ids_hash_apart() {
        let build = BuildHasherDefault::<IdHasher>::default();
        let hashes: HashSet<u64> = (0..100_000)
            .map(|n| build.hash_one(format!("CVE-2024-{n:05}")))
            .collect();
        assert_eq!(hashes.len(), 100_000, "no full 64-bit collisions");
        // Equal text, equal hash, whatever the owner type.
        assert_eq!(
            build.hash_one("GHSA-j8r2-6x86-q33q"),
            build.hash_one(String::from("GHSA-j8r2-6x86-q33q"))
        );
    }
}
