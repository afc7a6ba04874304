//! A reader that refuses to go past a byte limit, so that a stream of unknown length is
//! parsed without ever being held whole and without reading forever.

use std::io::{self, Read};

pub(crate) struct Limited<R> {
    inner: R,
    left: u64,
    pub(crate) exceeded: bool,
}

impl<R: Read> Limited<R> {
    pub(crate) fn new(inner: R, limit: u64) -> Self {
        Limited {
            inner,
            left: limit,
            exceeded: false,
        }
    }
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            // At the limit: one more byte means the input is too large, none means it ended.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => {
                    self.exceeded = true;
                    Err(io::Error::other("size limit exceeded"))
                }
            };
        }
        let max = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..max])?;
        self.left -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_at_the_limit_is_fine_one_more_byte_is_not() {
        let mut ok = Limited::new(&b"abcd"[..], 4);
        let mut out = Vec::new();
        ok.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"abcd");
        assert!(!ok.exceeded);

        let mut big = Limited::new(&b"abcde"[..], 4);
        assert!(big.read_to_end(&mut Vec::new()).is_err());
        assert!(big.exceeded);
    }
}
