//! `Sink::wants_executable` and `Sink::executable` on the real `go` image of
//! `scripts/make-lang-images.sh` (Debian's umoci and docker-registry, a script, and a copy
//! of umoci without exec bit): asked only for regular files with an exec bit that `wants`
//! declined, with the tar header's mode (the file's mode for `dir:`); an executable over
//! the per-file limit reaches the sink with its size and a capped stream, not an error.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;

use vigil_image::{Options, Reference, Sink, open};

use crate::common::skip;

fn lang_images() -> Option<PathBuf> {
    let dir = std::env::var_os("VIGIL_LANG_IMAGES").map_or_else(
        || {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../target/lang-images"
            ))
        },
        PathBuf::from,
    );
    if dir.join("oci/index.json").exists() {
        return Some(dir);
    }
    skip(&format!(
        "no language test images in {}: run scripts/make-lang-images.sh",
        dir.display()
    ));
    None
}

/// Wants nothing by name and every executable, recording (declared size, bytes read).
#[derive(Default)]
struct Executables {
    read: BTreeMap<String, (u64, usize)>,
}

impl Sink for Executables {
    fn wants(&self, _: &str, _: u64) -> bool {
        false
    }
    fn file(&mut self, path: &str, _: &mut dyn Read) -> std::io::Result<()> {
        panic!("{path}: file() for an executable")
    }
    fn wants_executable(&self, path: &str, mode: u32, _size: u64) -> bool {
        assert!(mode & 0o111 != 0, "{path}: asked without an exec bit");
        true
    }
    fn executable(&mut self, path: &str, size: u64, data: &mut dyn Read) -> std::io::Result<()> {
        let mut v = Vec::new();
        data.read_to_end(&mut v)?;
        self.read.insert(path.to_owned(), (size, v.len()));
        Ok(())
    }
}

fn walk(reference: &str, max_file_bytes: u64) -> BTreeMap<String, (u64, usize)> {
    let r: Reference = reference.parse().unwrap();
    let opts = Options {
        max_file_bytes,
        ..Options::default()
    };
    let mut image = open(&r, &opts).unwrap();
    let mut sink = Executables::default();
    if image.info().layers.is_empty() {
        image.walk_rootfs(&mut sink).unwrap();
    } else {
        image.walk_layer(0, &mut sink, &|_| {}).unwrap();
    }
    sink.read
}

#[test]
fn executables_by_mode_in_a_layer_and_a_root_filesystem() {
    let Some(dir) = lang_images() else { return };
    let rootfs = dir.join("go/rootfs");
    let size = |p: &str| std::fs::metadata(rootfs.join(p)).unwrap().len();
    let want: Vec<&str> = vec![
        "usr/bin/docker-registry",
        "usr/bin/umoci",
        "usr/local/bin/hello",
        "usr/local/bin/tool",
        "usr/local/bin/umoci-wrapper",
    ];
    for reference in [
        format!("oci:{}:go", dir.join("oci").display()),
        format!("dir:{}", rootfs.display()),
    ] {
        let read = walk(&reference, 512 << 20);
        assert_eq!(
            read.keys().map(String::as_str).collect::<Vec<_>>(),
            want,
            "{reference}"
        );
        for (path, (declared, got)) in &read {
            assert_eq!(*declared, size(path), "{reference} {path}");
            assert_eq!(*got as u64, *declared, "{reference} {path}");
        }
        // over the per-file limit: the sink gets the size and a capped stream
        let limit = 1 << 20;
        let capped = walk(&reference, limit);
        let (declared, got) = capped["usr/bin/umoci"];
        assert_eq!(declared, size("usr/bin/umoci"));
        assert!(declared > limit);
        assert_eq!(got as u64, limit, "{reference}");
    }
}
