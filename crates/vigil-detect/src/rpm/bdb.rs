//! Berkeley DB hash `Packages` (rpm before 4.16; RHEL/CentOS 7 and 8). Keys are 4-byte
//! header numbers, values are header blobs.
//!
//! The layout, from Berkeley DB's `dbinc/db_page.h` (read to learn it, not copied):
//!
//! ```text
//! page 0, metadata:  magic u32 at 12 (0x061561 = hash), version u32 at 16,
//!                    pagesize u32 at 20, encrypt_alg u8 at 24, type u8 at 25,
//!                    last_pgno u32 at 32
//! every page:        pgno u32 at 8, prev u32 at 12, next u32 at 16, entries u16 at 20,
//!                    hf_offset u16 at 22, level u8 at 24, type u8 at 25; 26-byte header,
//!                    then (hash pages) `entries` u16 item offsets: key, value, key, ...
//! hash item:         type u8; H_KEYDATA (1): bytes follow, the item ends where the
//!                    previous item starts; H_OFFPAGE (3): 3 unused bytes, first
//!                    overflow page u32, total length u32
//! overflow page:     type 7, hf_offset = bytes on this page, next = following page
//! ```
//!
//! Traps:
//! - Byte order is the writer's: the magic tells which (it reads 0x61150600 swapped).
//! - Most headers are larger than a quarter page and live in chains of overflow pages.
//!   Page numbers come from the file: each is checked against the last page, and each
//!   overflow page may belong to one chain only, so a looping or shared chain is an
//!   error and the work stays linear in the file size.
//! - Key 0 holds rpm's "next header number" counter (a 4-byte value), not a header.
//! - Pages are scanned in file order, as the hash buckets are (like go-rpmdb does), not
//!   by walking the hash table.

use super::{be32, le32};
use crate::{Package, Problem};

const HASH_MAGIC: u32 = 0x0006_1561;
const PAGE_HEADER: usize = 26;
const P_HASH_UNSORTED: u8 = 2;
const P_OVERFLOW: u8 = 7;
const P_HASHMETA: u8 = 8;
const P_HASH: u8 = 13;
const H_KEYDATA: u8 = 1;
const H_OFFPAGE: u8 = 3;

struct Db<'a> {
    data: &'a [u8],
    page_size: usize,
    last_pgno: u32,
    big_endian: bool,
    /// Overflow pages already read, so that no chain loops or is shared.
    used: Vec<bool>,
}

impl<'a> Db<'a> {
    fn u32(&self, b: &[u8], at: usize) -> u32 {
        if self.big_endian {
            be32(b, at)
        } else {
            le32(b, at)
        }
    }

    fn u16(&self, b: &[u8], at: usize) -> u16 {
        u16_at(self.big_endian, b, at)
    }

    fn page(&self, pgno: u32) -> &'a [u8] {
        let start = pgno as usize * self.page_size;
        &self.data[start..start + self.page_size]
    }

    /// Concatenates the overflow chain starting at `pgno`, which must hold `total` bytes.
    fn overflow(&mut self, from: u32, mut pgno: u32, total: u32) -> Result<Vec<u8>, String> {
        let total = total as usize;
        if total > self.data.len() {
            return Err(format!(
                "page {from}: overflow item declares {total} bytes, more than the whole file"
            ));
        }
        let mut out = Vec::with_capacity(total);
        let start = pgno;
        while out.len() < total {
            if pgno == 0 || pgno > self.last_pgno {
                return Err(format!(
                    "page {from}: overflow chain from page {start} points to page {pgno}, outside pages 1 to {}",
                    self.last_pgno
                ));
            }
            if std::mem::replace(&mut self.used[pgno as usize], true) {
                return Err(format!(
                    "page {from}: overflow chain from page {start} reaches page {pgno} a second time (a loop or a shared page)"
                ));
            }
            let page = self.page(pgno);
            if page[25] != P_OVERFLOW {
                return Err(format!(
                    "page {from}: overflow chain from page {start} reaches page {pgno} of type {}, not an overflow page",
                    page[25]
                ));
            }
            let len = self.u16(page, 22) as usize;
            if PAGE_HEADER + len > self.page_size {
                return Err(format!(
                    "overflow page {pgno} declares {len} bytes, more than fit in a page"
                ));
            }
            out.extend_from_slice(&page[PAGE_HEADER..PAGE_HEADER + len]);
            pgno = self.u32(page, 16);
        }
        if out.len() != total || pgno != 0 {
            return Err(format!(
                "page {from}: overflow chain from page {start} does not end after the {total} bytes its item declares"
            ));
        }
        Ok(out)
    }
}

fn u16_at(big_endian: bool, b: &[u8], at: usize) -> u16 {
    let bytes = [b[at], b[at + 1]];
    if big_endian {
        u16::from_be_bytes(bytes)
    } else {
        u16::from_le_bytes(bytes)
    }
}

pub(crate) fn parse(data: &[u8], path: &str) -> Result<Vec<Package>, Problem> {
    if data.len() < 512 {
        return Err(Problem::corrupt(format!(
            "file is {} bytes, too short for a Berkeley DB metadata page",
            data.len()
        )));
    }
    let big_endian = if le32(data, 12) == HASH_MAGIC {
        false
    } else if be32(data, 12) == HASH_MAGIC {
        true
    } else {
        return Err(Problem::corrupt(format!(
            "not a Berkeley DB hash database: magic is {:#x}, expected {HASH_MAGIC:#x}",
            le32(data, 12)
        )));
    };
    let mut db = Db {
        data,
        page_size: 0,
        last_pgno: 0,
        big_endian,
        used: Vec::new(),
    };
    let page_size = db.u32(data, 20);
    if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
        return Err(Problem::corrupt(format!(
            "metadata page gives page size {page_size}, expected a power of two from 512 to 65536"
        )));
    }
    if data[24] != 0 {
        return Err(Problem::corrupt("database is encrypted"));
    }
    if data[25] != P_HASHMETA {
        return Err(Problem::corrupt(format!(
            "page 0 has type {}, expected the hash metadata type {P_HASHMETA}",
            data[25]
        )));
    }
    db.page_size = page_size as usize;
    db.last_pgno = db.u32(data, 32);
    let pages = data.len() / db.page_size;
    if db.last_pgno as usize >= pages {
        return Err(Problem::corrupt(format!(
            "file is truncated: the metadata page says it has {} pages, but it holds {pages} pages of {page_size} bytes",
            u64::from(db.last_pgno) + 1
        )));
    }
    db.used = vec![false; db.last_pgno as usize + 1];
    let mut packages = Vec::new();
    for pgno in 1..=db.last_pgno {
        let page = db.page(pgno);
        if page[25] != P_HASH && page[25] != P_HASH_UNSORTED {
            continue;
        }
        let entries = db.u16(page, 20) as usize;
        if PAGE_HEADER + entries * 2 > db.page_size {
            return Err(Problem::corrupt(format!(
                "page {pgno} declares {entries} entries, more than fit in a page"
            )));
        }
        if entries % 2 != 0 {
            return Err(Problem::corrupt(format!(
                "page {pgno} has {entries} entries, expected key and value pairs"
            )));
        }
        let (big_endian, page_size) = (db.big_endian, db.page_size);
        let offset = |i: usize| u16_at(big_endian, page, PAGE_HEADER + 2 * i) as usize;
        // An item runs from its offset to the start of the previous item (or the end of
        // the page for the first): Berkeley DB's LEN_HITEM.
        let item = |i: usize| -> Result<&[u8], Problem> {
            let start = offset(i);
            let end = if i == 0 { page_size } else { offset(i - 1) };
            if start < PAGE_HEADER + entries * 2 || start >= end || end > page_size {
                return Err(Problem::corrupt(format!(
                    "page {pgno} entry {i} lies at bytes {start}..{end}, outside the page's item area"
                )));
            }
            Ok(&page[start..end])
        };
        for pair in 0..entries / 2 {
            let key = item(2 * pair)?;
            let value = item(2 * pair + 1)?;
            let blob = match value[0] {
                H_OFFPAGE => {
                    if value.len() < 12 {
                        return Err(Problem::corrupt(format!(
                            "page {pgno} entry {}: off-page item is {} bytes, expected 12",
                            2 * pair + 1,
                            value.len()
                        )));
                    }
                    let first = db.u32(value, 4);
                    let total = db.u32(value, 8);
                    std::borrow::Cow::Owned(
                        db.overflow(pgno, first, total).map_err(Problem::corrupt)?,
                    )
                }
                H_KEYDATA => {
                    // Key 0 is rpm's header-number counter, not a package.
                    if key[0] == H_KEYDATA && key[1..].iter().all(|&b| b == 0) {
                        continue;
                    }
                    std::borrow::Cow::Borrowed(&value[1..])
                }
                other => {
                    return Err(Problem::corrupt(format!(
                        "page {pgno} entry {}: item type {other} is not used by rpm databases",
                        2 * pair + 1
                    )));
                }
            };
            match super::package(&blob, path) {
                Ok(Some(p)) => packages.push(p),
                Ok(None) => {}
                Err(e) => {
                    return Err(Problem::corrupt(format!(
                        "page {pgno} entry {}: {e}",
                        2 * pair + 1
                    )));
                }
            }
        }
    }
    Ok(packages)
}
