//! `rpmdb.sqlite` (rpm >= 4.16): table `Packages(hnum INTEGER PRIMARY KEY, blob BLOB)`,
//! one header blob per row.
//!
//! Why our own reader and not SQLite: the crate is pure and gets the file as bytes.
//! Opening bytes with SQLite needs `sqlite3_deserialize`; rusqlite only offers it safely
//! from 0.37 on, whose `libsqlite3-sys` cannot link next to the one `sqlx` 0.8 pins
//! (`links = "sqlite3"` allows one per build), and the workspace denies `unsafe`. Reading
//! one table is a small part of the file format (<https://www.sqlite.org/fileformat2.html>),
//! and reading in place needs no copy of the database.
//!
//! The layout we read:
//!
//! ```text
//! header (100 bytes): "SQLite format 3\0", page size u16 BE at 16 (1 = 65536),
//!                     reserved bytes per page u8 at 20
//! b-tree page:        type u8 (5 interior table, 13 leaf table), cell count u16 at 3,
//!                     right-most child u32 at 8 (interior), then u16 cell offsets;
//!                     page 1's b-tree header starts after the 100-byte file header
//! interior cell:      left child u32, rowid varint
//! leaf cell:          payload size varint, rowid varint, local payload, and when the
//!                     payload spills, the first overflow page u32
//! overflow page:      next page u32, then usable-size - 4 bytes of payload
//! record:             header size varint, serial type varints, values
//! ```
//!
//! Traps:
//! - Page 1 is the `sqlite_schema` table; its row for `Packages` gives the root page.
//! - `hnum` is an INTEGER PRIMARY KEY, an alias of the rowid: the record stores NULL in
//!   its place, and the blob is the second column.
//! - Header blobs are larger than a page: most payloads spill to overflow chains. How
//!   much stays local follows the format's formula (`min_local`/`max_local`).
//! - rpm keeps the database in WAL mode; only the main file is handed to us, so
//!   transactions still in a `-wal` file beside it are not seen (as with any reader of
//!   the main file alone).
//! - Page numbers come from the file: each must lie in the file, and each page may be
//!   read once per table walk, so loops and shared pages are errors and the work stays
//!   linear in the file size.

use crate::{Package, Problem};

const MAGIC: &[u8; 16] = b"SQLite format 3\0";
const INTERIOR_TABLE: u8 = 5;
const LEAF_TABLE: u8 = 13;

struct Db<'a> {
    data: &'a [u8],
    page_size: usize,
    usable: usize,
    pages: u32,
    /// Pages read in the current walk.
    seen: Vec<bool>,
}

/// A big-endian varint of 1 to 9 bytes: the value and its length.
fn varint(b: &[u8]) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    for (i, &byte) in b.iter().enumerate().take(9) {
        if i == 8 {
            return Some(((v << 8) | u64::from(byte), 9));
        }
        v = (v << 7) | u64::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

fn u16_be(b: &[u8], at: usize) -> usize {
    usize::from(u16::from_be_bytes([b[at], b[at + 1]]))
}

impl<'a> Db<'a> {
    fn page(&mut self, pgno: u32, from: &str) -> Result<&'a [u8], String> {
        if pgno == 0 || pgno > self.pages {
            return Err(format!(
                "{from} points to page {pgno}, outside pages 1 to {}",
                self.pages
            ));
        }
        if std::mem::replace(&mut self.seen[pgno as usize], true) {
            return Err(format!(
                "{from} reaches page {pgno} a second time (a loop or a shared page)"
            ));
        }
        let start = (pgno as usize - 1) * self.page_size;
        Ok(&self.data[start..start + self.page_size])
    }

    /// Visits every row of the table b-tree rooted at `root`, in rowid order.
    fn walk(
        &mut self,
        root: u32,
        table: &str,
        on_row: &mut dyn FnMut(i64, Vec<u8>) -> Result<(), String>,
    ) -> Result<(), String> {
        self.seen.iter_mut().for_each(|s| *s = false);
        // Children are pushed in reverse so that rows come out in rowid order.
        let mut stack = vec![(root, format!("table {table}"))];
        while let Some((pgno, from)) = stack.pop() {
            let page = self.page(pgno, &from)?;
            let head = if pgno == 1 { 100 } else { 0 };
            let kind = page[head];
            let cells = u16_be(page, head + 3);
            let header_len = match kind {
                LEAF_TABLE => 8,
                INTERIOR_TABLE => 12,
                other => {
                    return Err(format!(
                        "page {pgno} of table {table} has b-tree type {other}, expected a table page (5 or 13)"
                    ));
                }
            };
            let array = head + header_len;
            let usable = self.usable;
            if array + 2 * cells > usable {
                return Err(format!(
                    "page {pgno} declares {cells} cells, more than fit in a page"
                ));
            }
            let cell_at = |i: usize| -> Result<usize, String> {
                let off = u16_be(page, array + 2 * i);
                if off < array + 2 * cells || off >= usable {
                    return Err(format!(
                        "page {pgno} cell {i} starts at byte {off}, outside the cell content area"
                    ));
                }
                Ok(off)
            };
            if kind == INTERIOR_TABLE {
                let right = super::be32(page, head + 8);
                stack.push((right, format!("page {pgno} (right-most child)")));
                for i in (0..cells).rev() {
                    let off = cell_at(i)?;
                    if off + 4 > self.usable {
                        return Err(format!("page {pgno} cell {i} is cut off by the page end"));
                    }
                    stack.push((super::be32(page, off), format!("page {pgno} cell {i}")));
                }
                continue;
            }
            for i in 0..cells {
                let off = cell_at(i)?;
                let cell = &page[off..self.usable];
                let bad = || format!("page {pgno} cell {i} is cut off by the page end");
                let (size, n1) = varint(cell).ok_or_else(bad)?;
                let (rowid, n2) = varint(&cell[n1..]).ok_or_else(bad)?;
                let size = usize::try_from(size)
                    .ok()
                    .filter(|&s| s <= self.data.len())
                    .ok_or_else(|| {
                        format!("page {pgno} cell {i} declares a {size}-byte payload, larger than the file")
                    })?;
                let payload = self.payload(&cell[n1 + n2..], size, pgno, i)?;
                on_row(rowid as i64, payload)?;
            }
        }
        Ok(())
    }

    /// The payload of a leaf cell: its local part and then the overflow chain.
    fn payload(
        &mut self,
        rest: &[u8],
        size: usize,
        pgno: u32,
        cell: usize,
    ) -> Result<Vec<u8>, String> {
        let u = self.usable;
        let max_local = u - 35;
        let local = if size <= max_local {
            size
        } else {
            let min_local = (u - 12) * 32 / 255 - 23;
            let k = min_local + (size - min_local) % (u - 4);
            if k <= max_local { k } else { min_local }
        };
        let spills = local < size;
        let need = local + if spills { 4 } else { 0 };
        if rest.len() < need {
            return Err(format!(
                "page {pgno} cell {cell} is cut off by the page end"
            ));
        }
        let mut out = Vec::with_capacity(size);
        out.extend_from_slice(&rest[..local]);
        if spills {
            let mut next = super::be32(rest, local);
            let from = format!("page {pgno} cell {cell}");
            while out.len() < size {
                let page = self.page(next, &format!("overflow chain of {from}"))?;
                let take = (size - out.len()).min(u - 4);
                out.extend_from_slice(&page[4..4 + take]);
                next = super::be32(page, 0);
            }
        }
        Ok(out)
    }
}

/// The values of a record, as (serial type, bytes).
fn record(payload: &[u8]) -> Result<Vec<(u64, &[u8])>, String> {
    let (header_len, mut at) = varint(payload).ok_or("record header is cut off")?;
    let header_len = usize::try_from(header_len)
        .ok()
        .filter(|&h| h <= payload.len() && h >= at)
        .ok_or_else(|| {
            format!(
                "record header of {header_len} bytes does not fit its {}-byte record",
                payload.len()
            )
        })?;
    let mut body = header_len;
    let mut values = Vec::new();
    while at < header_len {
        let (ty, n) = varint(&payload[at..header_len]).ok_or("record header is cut off")?;
        at += n;
        let len: u64 = match ty {
            0 | 8 | 9 => 0,
            1..=4 => ty,
            5 => 6,
            6 | 7 => 8,
            10 | 11 => return Err(format!("record uses reserved serial type {ty}")),
            _ => (ty - 12) / 2,
        };
        let end = usize::try_from(len)
            .ok()
            .and_then(|l| body.checked_add(l))
            .filter(|&e| e <= payload.len())
            .ok_or_else(|| {
                format!(
                    "record value of {len} bytes runs past the {}-byte record",
                    payload.len()
                )
            })?;
        values.push((ty, &payload[body..end]));
        body = end;
    }
    Ok(values)
}

fn text<'v>(v: Option<&(u64, &'v [u8])>) -> Option<&'v [u8]> {
    match v {
        Some((ty, bytes)) if *ty >= 13 && ty % 2 == 1 => Some(bytes),
        _ => None,
    }
}

fn int(v: Option<&(u64, &[u8])>) -> Option<i64> {
    let (ty, bytes) = v?;
    match ty {
        8 => Some(0),
        9 => Some(1),
        1..=6 => {
            let mut n: i64 = if bytes[0] & 0x80 != 0 { -1 } else { 0 };
            for &b in *bytes {
                n = (n << 8) | i64::from(b);
            }
            Some(n)
        }
        _ => None,
    }
}

pub(crate) fn parse(data: &[u8], path: &str) -> Result<Vec<Package>, Problem> {
    if data.len() < 100 || !data.starts_with(MAGIC) {
        return Err(Problem::corrupt(
            "not an SQLite database: the 100-byte header with \"SQLite format 3\" is missing",
        ));
    }
    let page_size = match u16_be(data, 16) {
        1 => 65536,
        n => n,
    };
    if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
        return Err(Problem::corrupt(format!(
            "SQLite header gives page size {page_size}, expected a power of two from 512 to 65536"
        )));
    }
    let reserved = usize::from(data[20]);
    let usable = page_size - reserved;
    if usable < 480 {
        return Err(Problem::corrupt(format!(
            "SQLite header reserves {reserved} bytes of each {page_size}-byte page, leaving fewer than 480"
        )));
    }
    if data.len() % page_size != 0 {
        return Err(Problem::corrupt(format!(
            "file is {} bytes, not a whole number of {page_size}-byte pages (truncated?)",
            data.len()
        )));
    }
    let pages = u32::try_from(data.len() / page_size)
        .map_err(|_| Problem::corrupt("file holds more pages than SQLite allows"))?;
    let mut db = Db {
        data,
        page_size,
        usable,
        pages,
        seen: vec![false; pages as usize + 1],
    };
    let mut root = None;
    db.walk(1, "sqlite_schema", &mut |_, payload| {
        let values = record(&payload).map_err(|e| format!("sqlite_schema row: {e}"))?;
        if text(values.first()) == Some(b"table")
            && text(values.get(1)).is_some_and(|n| n.eq_ignore_ascii_case(b"Packages"))
        {
            let page = int(values.get(3))
                .and_then(|p| u32::try_from(p).ok())
                .ok_or("sqlite_schema row of table Packages has no root page number")?;
            root = Some(page);
        }
        Ok(())
    })
    .map_err(Problem::corrupt)?;
    let root = root.ok_or_else(|| Problem::corrupt("the database has no Packages table"))?;
    let mut packages = Vec::new();
    db.walk(root, "Packages", &mut |hnum, payload| {
        let values = record(&payload).map_err(|e| format!("package hnum {hnum}: {e}"))?;
        let blob = match values.get(1) {
            Some((ty, bytes)) if *ty >= 12 && ty % 2 == 0 => *bytes,
            _ => {
                return Err(format!(
                    "package hnum {hnum}: the blob column is not a BLOB"
                ));
            }
        };
        match super::package(blob, path) {
            Ok(Some(p)) => packages.push(p),
            Ok(None) => {}
            Err(e) => return Err(format!("package hnum {hnum}: {e}")),
        }
        Ok(())
    })
    .map_err(Problem::corrupt)?;
    Ok(packages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints() {
        assert_eq!(varint(&[0x05]), Some((5, 1)));
        assert_eq!(varint(&[0x81, 0x00]), Some((128, 2)));
        assert_eq!(varint(&[0xff; 9]), Some((u64::MAX, 9)));
        assert_eq!(varint(&[0x81]), None);
    }

    #[test]
    fn records() {
        // header 3 bytes: NULL, blob of 2 bytes
        let r = record(&[3, 0, 16, 0xab, 0xcd]).unwrap();
        assert_eq!(r, vec![(0, &[][..]), (16, &[0xab, 0xcd][..])]);
        assert!(record(&[3, 0, 18, 0xab]).is_err());
        assert_eq!(int(Some(&(1, &[0xff][..]))), Some(-1));
    }
}
