//! Numeric comparison of digit strings of any length, without parsing into an integer:
//! versions in the wild carry dates, build numbers and 30-digit components, and an overflow
//! must never change an answer.

use std::cmp::Ordering;

/// Compares two ASCII digit strings by value (`007` = `7`, `10` > `9`).
#[inline]
pub(crate) fn cmp_digits(a: &[u8], b: &[u8]) -> Ordering {
    let a = strip_zeros(a);
    let b = strip_zeros(b);
    a.len().cmp(&b.len()).then_with(|| cmp_bytes(a, b))
}

/// Byte-wise comparison, inlined: version parts are a few bytes long, where a call to the
/// C library's `memcmp` costs more than the loop (it was the top of the dpkg profile).
#[inline]
pub(crate) fn cmp_bytes(a: &[u8], b: &[u8]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return x.cmp(y);
        }
    }
    a.len().cmp(&b.len())
}

/// The digits without their leading zeros (`000` becomes the empty string, which is zero).
#[inline]
pub(crate) fn strip_zeros(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&c| c == b'0').count();
    &s[n..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_by_value() {
        assert_eq!(cmp_digits(b"007", b"7"), Ordering::Equal);
        assert_eq!(cmp_digits(b"10", b"9"), Ordering::Greater);
        assert_eq!(cmp_digits(b"", b"0"), Ordering::Equal);
        assert_eq!(
            cmp_digits(
                b"999999999999999999999999999991",
                b"999999999999999999999999999999"
            ),
            Ordering::Less
        );
    }
}
