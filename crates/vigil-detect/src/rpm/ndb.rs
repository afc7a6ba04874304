//! ndb `Packages.db` (rpm's native backend, used by SUSE). Little-endian.
//!
//! The layout, from rpm's `lib/backend/ndb/rpmpkg.c` (read to learn it, not copied):
//!
//! ```text
//! file header (32 bytes): magic "RpmP", version u32 (0), generation u32,
//!                         slot pages u32, next package index u32, 12 bytes unused
//! slot area:              `slot pages` pages of 4096 bytes from offset 0; after the
//!                         header, 16-byte slots: magic "Slot", package index u32
//!                         (0 = free), block offset u32, block count u32
//! blob at offset * 16:    magic "BlbS", package index u32, generation u32,
//!                         length u32, then `length` bytes of header blob, then a
//!                         tail with checksum, length and magic "BlbE"
//! ```
//!
//! Traps:
//! - Slot and block numbers come from the file: each blob must lie inside the file and
//!   after the slot area, name the same package index as its slot, and no two slots may
//!   claim more blocks than the file holds, so the work stays linear in its size.

use super::le32;
use crate::{Package, Problem};

const HEADER_MAGIC: &[u8; 4] = b"RpmP";
const SLOT_MAGIC: &[u8; 4] = b"Slot";
const BLOB_MAGIC: &[u8; 4] = b"BlbS";
const PAGE_SIZE: usize = 4096;
const HEADER_SIZE: usize = 32;
const SLOT_SIZE: usize = 16;
const BLK_SIZE: usize = 16;
const BLOB_HEAD: usize = 16;
const BLOB_TAIL: usize = 12;

pub(crate) fn parse(data: &[u8], path: &str) -> Result<Vec<Package>, Problem> {
    if data.len() < HEADER_SIZE || &data[..4] != HEADER_MAGIC {
        return Err(Problem::corrupt(
            "not an rpm ndb database: the 32-byte header with magic \"RpmP\" is missing",
        ));
    }
    let version = le32(data, 4);
    if version != 0 {
        return Err(Problem::corrupt(format!(
            "ndb version is {version}, expected 0"
        )));
    }
    let slot_pages = le32(data, 12) as usize;
    let slot_end = slot_pages.saturating_mul(PAGE_SIZE);
    if slot_pages == 0 || slot_end > data.len() {
        return Err(Problem::corrupt(format!(
            "header declares {slot_pages} slot pages, but the file holds {} bytes",
            data.len()
        )));
    }
    let file_blocks = data.len() / BLK_SIZE;
    let mut claimed = 0usize;
    let mut packages = Vec::new();
    for (n, slot) in data[HEADER_SIZE..slot_end]
        .chunks_exact(SLOT_SIZE)
        .enumerate()
    {
        let slot_no = n + HEADER_SIZE / SLOT_SIZE;
        if &slot[..4] != SLOT_MAGIC {
            return Err(Problem::corrupt(format!(
                "slot {slot_no} has a bad magic {:?}, expected \"Slot\"",
                String::from_utf8_lossy(&slot[..4])
            )));
        }
        let pkg_idx = le32(slot, 4);
        if pkg_idx == 0 {
            continue;
        }
        let blk_off = le32(slot, 8) as usize;
        let blk_cnt = le32(slot, 12) as usize;
        let at = format!("slot {slot_no} (package {pkg_idx})");
        if blk_off * BLK_SIZE < slot_end
            || blk_cnt == 0
            || blk_off.saturating_add(blk_cnt) > file_blocks
        {
            return Err(Problem::corrupt(format!(
                "{at} points at blocks {blk_off}+{blk_cnt}, outside the blob area (blocks {} to {file_blocks})",
                slot_end / BLK_SIZE
            )));
        }
        claimed += blk_cnt;
        if claimed > file_blocks {
            return Err(Problem::corrupt(format!(
                "{at}: the slots claim more blocks than the file holds"
            )));
        }
        let area = &data[blk_off * BLK_SIZE..(blk_off + blk_cnt) * BLK_SIZE];
        if area.len() < BLOB_HEAD + BLOB_TAIL || &area[..4] != BLOB_MAGIC {
            return Err(Problem::corrupt(format!(
                "{at}: no blob with magic \"BlbS\" at block {blk_off}"
            )));
        }
        let blob_idx = le32(area, 4);
        if blob_idx != pkg_idx {
            return Err(Problem::corrupt(format!(
                "{at}: the blob at block {blk_off} belongs to package {blob_idx}"
            )));
        }
        let len = le32(area, 12) as usize;
        if BLOB_HEAD + len + BLOB_TAIL > area.len() {
            return Err(Problem::corrupt(format!(
                "{at}: blob declares {len} bytes, more than its {blk_cnt} blocks hold"
            )));
        }
        match super::package(&area[BLOB_HEAD..BLOB_HEAD + len], path) {
            Ok(Some(p)) => packages.push(p),
            Ok(None) => {}
            Err(e) => return Err(Problem::corrupt(format!("{at}: {e}"))),
        }
    }
    Ok(packages)
}
