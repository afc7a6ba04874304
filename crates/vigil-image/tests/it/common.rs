//! Test support: where the real test images are, a recording sink, skopeo as the oracle.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::process::Command;

use vigil_image::Sink;

pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Skips (or, under CI, fails) a test whose real input is missing.
#[allow(clippy::print_stderr)]
pub fn skip(what: &str) {
    assert!(!in_ci(), "CI=true but {what}");
    eprintln!("skipped: {what}");
}

/// `$VIGIL_TEST_IMAGES`, default `<workspace>/target/test-images` (built by
/// shared/tools/build-test-images.sh).
pub fn test_images() -> Option<PathBuf> {
    let dir = std::env::var_os("VIGIL_TEST_IMAGES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../target/test-images"
            ))
        });
    if dir.join("oci/index.json").exists() {
        Some(dir)
    } else {
        skip(&format!(
            "no test images at {} (set VIGIL_TEST_IMAGES or run build-test-images.sh)",
            dir.display()
        ));
        None
    }
}

pub fn have(tool: &str) -> bool {
    let ok = Command::new(tool).arg("--version").output().is_ok();
    if !ok {
        skip(&format!("{tool} is not installed"));
    }
    ok
}

/// `skopeo inspect IMAGE`: (manifest digest, layer digests).
pub fn skopeo_inspect(image: &str) -> (String, Vec<String>) {
    let out = Command::new("skopeo")
        .args(["inspect", image])
        .output()
        .expect("run skopeo");
    assert!(
        out.status.success(),
        "skopeo inspect {image}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let layers = v["Layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect();
    (v["Digest"].as_str().unwrap_or_default().to_string(), layers)
}

/// Records the files it wants (by exact path or suffix) and every link.
#[derive(Default)]
pub struct Recorder {
    pub exact: Vec<&'static str>,
    pub suffixes: Vec<&'static str>,
    pub files: BTreeMap<String, Vec<u8>>,
    pub symlinks: BTreeMap<String, String>,
    pub hardlinks: BTreeMap<String, String>,
    pub offered: usize,
}

impl Recorder {
    pub fn wanting(exact: &[&'static str]) -> Self {
        Recorder {
            exact: exact.to_vec(),
            ..Default::default()
        }
    }
}

impl Sink for Recorder {
    fn wants(&self, path: &str, _size: u64) -> bool {
        assert!(
            !path.starts_with('/')
                && !path
                    .split('/')
                    .any(|c| c == ".." || c == "." || c.is_empty()),
            "path not normalised: {path:?}"
        );
        self.exact.contains(&path) || self.suffixes.iter().any(|s| path.ends_with(s))
    }

    fn file(&mut self, path: &str, data: &mut dyn Read) -> std::io::Result<()> {
        let mut v = Vec::new();
        data.read_to_end(&mut v)?;
        self.files.insert(path.to_string(), v);
        self.offered += 1;
        Ok(())
    }

    fn symlink(&mut self, path: &str, target: &str) {
        self.symlinks.insert(path.to_string(), target.to_string());
    }

    fn hardlink(&mut self, path: &str, target: &str) {
        self.hardlinks.insert(path.to_string(), target.to_string());
    }
}
