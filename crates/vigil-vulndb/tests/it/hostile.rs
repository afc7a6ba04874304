//! Hostile and broken feeds: clear errors naming the file, entry and record, bounded memory.

use crate::{feeds_dir, read_all};
use std::io::Write;
use std::path::Path;
use vigil_vulndb::{FeedError, FeedFormat, Limits, ParseError, open_feed, open_feed_with};
use zip::write::SimpleFileOptions;

fn zip_of(path: &Path, entries: &[(&str, &[u8])]) {
    let mut w = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap();
}

/// The same, written as a stream: sizes in data descriptors after each entry's data (as Go's
/// archive/zip and non-seekable writers do), which a streaming reader cannot follow.
fn zip_stream_of(path: &Path, entries: &[(&str, &[u8])]) {
    let mut w = zip::ZipWriter::new_stream(std::fs::File::create(path).unwrap());
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap();
}

#[test]
fn zip_of_real_records_reads_like_the_directory() {
    let dir = feeds_dir().join("golang-vulndb");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let contents: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|f| {
            (
                f.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(f).unwrap(),
            )
        })
        .collect();
    let entries: Vec<(&str, &[u8])> = contents
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    let zip = tmp.path().join("all.zip");
    zip_of(&zip, &entries);
    let streamed = tmp.path().join("streamed.zip");
    zip_stream_of(&streamed, &entries);
    let from_dir = read_all(&dir, FeedFormat::Auto);
    for zip in [zip, streamed] {
        let from_zip = read_all(&zip, FeedFormat::Auto);
        assert_eq!(from_zip.len(), files.len());
        for (z, d) in from_zip.iter().zip(&from_dir) {
            assert_eq!(z.advisory, d.advisory);
            assert_eq!(
                z.location.entry.as_deref(),
                Some(format!("{}.json", z.advisory.id).as_str())
            );
        }
    }
}

#[test]
fn zip_bomb_entry_is_refused_by_the_record_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let zip = tmp.path().join("bomb.zip");
    // 64 MiB of spaces compress to about 64 KiB.
    let big = vec![b' '; 64 << 20];
    let good = std::fs::read(feeds_dir().join("golang-vulndb/GO-2022-0969.json")).unwrap();
    zip_of(&zip, &[("bomb.json", &big), ("GO-2022-0969.json", &good)]);
    assert!(std::fs::metadata(&zip).unwrap().len() < 1 << 20);
    let limits = Limits {
        max_record_bytes: 1 << 20,
        max_total_bytes: 1 << 30,
    };
    let items: Vec<_> = open_feed_with(&zip, FeedFormat::Auto, limits).collect();
    assert_eq!(items.len(), 2);
    let err = items[0].as_ref().unwrap_err();
    assert!(!err.is_fatal());
    assert!(matches!(
        err,
        FeedError::Record {
            source: ParseError::TooLarge { limit: 1048576, .. },
            ..
        }
    ));
    let msg = err.to_string();
    assert!(msg.contains("bomb.zip, entry bomb.json: size"), "{msg}");
    // The reader goes on with the next entry.
    assert_eq!(
        items[1].as_ref().unwrap().advisory.id.as_str(),
        "GO-2022-0969"
    );
}

#[test]
fn zip_total_limit_stops_the_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let zip = tmp.path().join("many.zip");
    let good = std::fs::read(feeds_dir().join("golang-vulndb/GO-2022-0969.json")).unwrap();
    let names: Vec<String> = (0..10).map(|i| format!("r{i}.json")).collect();
    let entries: Vec<(&str, &[u8])> = names
        .iter()
        .map(|n| (n.as_str(), good.as_slice()))
        .collect();
    zip_of(&zip, &entries);
    let limits = Limits {
        max_record_bytes: 1 << 20,
        max_total_bytes: good.len() as u64 * 3 + 10,
    };
    let items: Vec<_> = open_feed_with(&zip, FeedFormat::Osv, limits).collect();
    assert_eq!(items.len(), 4, "three records, then the fatal error");
    let err = items[3].as_ref().unwrap_err();
    assert!(err.is_fatal());
    assert!(
        err.to_string()
            .contains("many.zip, entry r3.json: decompressed size exceeds the limit"),
        "{err}"
    );
}

/// A zip of two real records whose first local header is then patched by `patch`; the one
/// (record) error of reading it (the second record must still be read).
fn read_patched_zip(patch: impl Fn(&mut [u8])) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let zip = tmp.path().join("patched.zip");
    let dir = feeds_dir().join("golang-vulndb");
    let first = std::fs::read(dir.join("GO-2022-0969.json")).unwrap();
    let second = std::fs::read(dir.join("GO-2022-1144.json")).unwrap();
    zip_of(&zip, &[("first.json", &first), ("second.json", &second)]);
    let mut bytes = std::fs::read(&zip).unwrap();
    assert_eq!(&bytes[..4], b"PK\x03\x04");
    patch(&mut bytes);
    std::fs::write(&zip, &bytes).unwrap();
    let items: Vec<_> = open_feed(&zip, FeedFormat::Osv).collect();
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(
        items[1].as_ref().unwrap().advisory.id.as_str(),
        "GO-2022-1144",
        "the entry after a bad one is read"
    );
    let err = items[0].as_ref().unwrap_err();
    assert!(!err.is_fatal(), "{err}");
    err.to_string()
}

/// Offsets in a local file header (APPNOTE 4.3.7).
const METHOD: usize = 8;
const CRC32: usize = 14;
const SIZE: usize = 22;

#[test]
fn zip_entry_that_inflates_past_its_declared_size_is_refused() {
    let error = read_patched_zip(|b| b[SIZE..SIZE + 4].copy_from_slice(&100u32.to_le_bytes()));
    assert!(
        error.ends_with(
            "patched.zip, entry first.json: unreadable zip entry: inflates to more than the \
             declared 100 bytes"
        ),
        "{error}"
    );
}

#[test]
fn zip_entry_shorter_than_its_declared_size_is_refused() {
    let error = read_patched_zip(|b| {
        let size = u32::from_le_bytes(b[SIZE..SIZE + 4].try_into().unwrap());
        b[SIZE..SIZE + 4].copy_from_slice(&(size + 1).to_le_bytes());
    });
    assert!(error.contains(", not the declared "), "{error}");
}

#[test]
fn zip_entry_with_a_wrong_crc_is_refused() {
    let error = read_patched_zip(|b| b[CRC32] ^= 0xff);
    assert!(
        error.contains("entry first.json: unreadable zip entry: CRC-32 "),
        "{error}"
    );
}

#[test]
fn zip_entry_with_an_unsupported_method_is_refused() {
    // 12: bzip2.
    let error = read_patched_zip(|b| b[METHOD..METHOD + 2].copy_from_slice(&12u16.to_le_bytes()));
    assert!(
        error.ends_with("compression method 12 is not supported (stored and deflate are)"),
        "{error}"
    );
}

#[test]
fn zip_entry_with_invalid_deflate_data_is_refused() {
    // The first byte of the deflate stream: block type 3 does not exist.
    let error = read_patched_zip(|b| {
        let name_len = usize::from(u16::from_le_bytes([b[26], b[27]]));
        let extra_len = usize::from(u16::from_le_bytes([b[28], b[29]]));
        b[30 + name_len + extra_len] |= 0b110;
    });
    assert!(
        error.ends_with("unreadable zip entry: invalid deflate data"),
        "{error}"
    );
}

#[test]
fn truncated_zip_is_a_fatal_error_naming_the_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let zip = tmp.path().join("cut.zip");
    let good = std::fs::read(feeds_dir().join("golang-vulndb/GO-2022-0969.json")).unwrap();
    zip_of(&zip, &[("a.json", &good), ("b.json", &good)]);
    // Cut ten bytes into the second entry's data.
    let bytes = std::fs::read(&zip).unwrap();
    let second = 4 + bytes[4..]
        .windows(4)
        .position(|w| w == b"PK\x03\x04")
        .unwrap();
    let data = second + 30 + "b.json".len();
    std::fs::write(&zip, &bytes[..data + 10]).unwrap();
    let items: Vec<_> = open_feed(&zip, FeedFormat::Osv).collect();
    assert_eq!(items.len(), 2);
    assert!(items[0].is_ok());
    let last = items[1].as_ref().unwrap_err();
    assert!(last.is_fatal());
    assert!(
        last.to_string().contains("cut.zip, entry b.json: "),
        "{last}"
    );
}

#[test]
fn oversized_file_is_refused_before_reading() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("huge.json");
    // A 100 MB string field, made sparse so the test stays cheap.
    let file = std::fs::File::create(&f).unwrap();
    file.set_len(100 << 20).unwrap();
    let err = open_feed(&f, FeedFormat::Osv).next().unwrap().unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "feed {}: size 104857600 bytes exceeds the limit of 16777216 bytes",
            f.display()
        )
    );
}

#[test]
fn invalid_utf8_and_malformed_records_name_file_and_record_and_iteration_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("a.json"), b"{\"id\": \"BAD-\xff\"}").unwrap();
    std::fs::write(
        tmp.path().join("b.json"),
        br#"{"id": "X-2", "affected": [{"package": {"ecosystem": "PyPI", "name": "x"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"fixed": 1}]}]}]}"#,
    )
    .unwrap();
    std::fs::copy(
        feeds_dir().join("golang-vulndb/GO-2022-0969.json"),
        tmp.path().join("c.json"),
    )
    .unwrap();
    std::fs::write(tmp.path().join("README.md"), "not a record").unwrap();
    let items: Vec<_> = open_feed(tmp.path(), FeedFormat::Auto).collect();
    assert_eq!(items.len(), 3);
    let a = items[0].as_ref().unwrap_err().to_string();
    assert!(a.ends_with("a.json: invalid UTF-8 at byte 12"), "{a}");
    let b = items[1].as_ref().unwrap_err().to_string();
    assert!(
        b.ends_with(
            "b.json, record X-2: invalid type: integer `1`, expected a string at line 2 column 67"
        ),
        "{b}"
    );
    assert!(items[2].is_ok());
}

#[test]
fn deeply_nested_file_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("deep.json");
    let deep = format!(
        "{{\"id\":\"D-1\",\"affected\":{}{}}}",
        "[".repeat(1 << 20),
        "]".repeat(1 << 20)
    );
    std::fs::write(&f, deep).unwrap();
    let err = open_feed(&f, FeedFormat::Auto).next().unwrap().unwrap_err();
    assert!(
        err.to_string()
            .ends_with("deep.json: nesting deeper than 64 levels at byte 86"),
        "{err}"
    );
}

#[test]
fn truncated_debian_tracker_is_a_fatal_error_with_offset() {
    let real = std::fs::read(feeds_dir().join("debian-tracker/bookworm.json")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("cut.json");
    std::fs::write(&f, &real[..real.len() / 2]).unwrap();
    let items: Vec<_> = open_feed(&f, FeedFormat::Auto).collect();
    assert_eq!(items.len(), 1);
    let err = items[0].as_ref().unwrap_err();
    assert!(err.is_fatal());
    assert!(
        err.to_string()
            .contains("cut.json: Debian tracker JSON: expected the end of a value at byte"),
        "{err}"
    );
}

#[test]
fn debian_tracker_entry_over_the_record_limit_is_skipped_with_its_id() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("t.json");
    let long = "x".repeat(4096);
    std::fs::write(
        &f,
        format!(
            r#"{{"a": {{"CVE-1": {{"description": "{long}", "releases": {{}}}},
                "CVE-2": {{"releases": {{"bookworm": {{"status": "open"}}}}}}}}}}"#
        ),
    )
    .unwrap();
    let limits = Limits {
        max_record_bytes: 1024,
        ..Limits::default()
    };
    let items: Vec<_> = open_feed_with(&f, FeedFormat::DebianTracker, limits).collect();
    assert_eq!(items.len(), 2);
    let e = items[0].as_ref().unwrap_err().to_string();
    assert!(
        e.contains("record DEBIAN-CVE-1 (source package a): size"),
        "{e}"
    );
    assert_eq!(
        items[1].as_ref().unwrap().advisory.id.as_str(),
        "DEBIAN-CVE-2"
    );
}

#[test]
fn missing_path_is_a_fatal_io_error() {
    let items: Vec<_> = open_feed("/nonexistent/feed", FeedFormat::Auto).collect();
    assert_eq!(items.len(), 1);
    let e = items[0].as_ref().unwrap_err();
    assert!(e.is_fatal());
    assert!(e.to_string().starts_with("feed /nonexistent/feed: "), "{e}");
}

#[test]
fn symlink_loop_in_a_directory_does_not_hang() {
    let tmp = tempfile::tempdir().unwrap();
    let sub = tmp.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    std::fs::copy(
        feeds_dir().join("golang-vulndb/GO-2022-0969.json"),
        sub.join("GO-2022-0969.json"),
    )
    .unwrap();
    std::os::unix::fs::symlink(tmp.path(), sub.join("loop")).unwrap();
    let items = read_all(tmp.path(), FeedFormat::Auto);
    assert_eq!(items.len(), 1);
}

#[test]
fn a_fifo_is_skipped_in_a_walk_and_refused_when_named() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("pipe.json");
    let ok = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success();
    assert!(ok, "mkfifo");
    assert!(read_all(tmp.path(), FeedFormat::Auto).is_empty());
    let err = open_feed(&fifo, FeedFormat::Auto)
        .next()
        .unwrap()
        .unwrap_err();
    assert!(
        err.to_string()
            .ends_with("pipe.json: not a regular file or directory"),
        "{err}"
    );
}
