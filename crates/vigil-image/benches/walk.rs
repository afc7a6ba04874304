//! `cargo bench -p vigil-image`: time to stream the real base layer (83 MB gzip, 150 MB
//! tar) and pull `var/lib/dpkg/status` out of it, vigil-image against GNU tar run in the
//! same process tree on the same blob, printed as a ratio. vigil-image also verifies the
//! blob's sha256, so the second peer adds `sha256sum` to tar's time. Needs the test images
//! (`$VIGIL_TEST_IMAGES`, default `<workspace>/target/test-images`).
// The report is this program's output.
#![allow(clippy::print_stdout)]

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use vigil_image::{Options, Reference, Sink, open};

struct Status(Vec<u8>);

impl Sink for Status {
    fn wants(&self, path: &str, _: u64) -> bool {
        path == "var/lib/dpkg/status"
    }
    fn file(&mut self, _: &str, data: &mut dyn Read) -> std::io::Result<()> {
        self.0.clear();
        data.read_to_end(&mut self.0).map(|_| ())
    }
}

fn time(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut t: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    t.sort();
    t[runs / 2]
}

fn run(cmd: &str, args: &[&str]) -> Vec<u8> {
    let out = Command::new(cmd)
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(out.status.success(), "{cmd} {args:?} failed");
    out.stdout
}

fn main() {
    let images = std::env::var_os("VIGIL_TEST_IMAGES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../target/test-images"
            ))
        });
    if !images.join("oci/index.json").exists() {
        println!("no test images at {}; nothing to measure", images.display());
        return;
    }
    let runs = 5;
    println!(
        "{:<44} {:>10} {:>10} {:>11}",
        "case", "vigil", "peer", "peer/vigil"
    );

    // oci layout, gzip layer
    let r: Reference = format!("oci:{}:base", images.join("oci").display())
        .parse()
        .unwrap();
    let mut img = open(&r, &Options::default()).unwrap();
    let layer = img.info().layers[0].digest.clone();
    let blob = images.join("oci/blobs/sha256").join(layer.hex());
    let blob = blob.to_str().unwrap();
    let mut sink = Status(Vec::new());
    let ours = time(runs, || {
        img.walk_layer(0, &mut sink, &|_| {}).unwrap();
    });
    let mut peer_out = Vec::new();
    let tar = time(runs, || {
        peer_out = run("tar", &["-xzOf", blob, "var/lib/dpkg/status"]);
    });
    assert_eq!(peer_out, sink.0, "both read the same file");
    let sha = time(runs, || {
        let out = run("sha256sum", &[blob]);
        assert!(String::from_utf8_lossy(&out).starts_with(layer.hex()));
    });
    let row = |name: &str, peer: Duration| {
        println!(
            "{name:<44} {:>9.3}s {:>9.3}s {:>10.2}x",
            ours.as_secs_f64(),
            peer.as_secs_f64(),
            peer.as_secs_f64() / ours.as_secs_f64()
        );
    };
    row("gzip layer: tar -xzO", tar);
    row("gzip layer: tar -xzO + sha256sum", tar + sha);

    // docker archive, uncompressed layer read in place
    let r: Reference = format!(
        "docker-archive:{}",
        images.join("base.docker.tar").display()
    )
    .parse()
    .unwrap();
    let mut img = open(&r, &Options::default()).unwrap();
    let member = format!("{}.tar", img.info().layers[0].digest.hex());
    let archive = images.join("base.docker.tar");
    let archive = archive.to_str().unwrap();
    let ours = time(runs, || {
        img.walk_layer(0, &mut sink, &|_| {}).unwrap();
    });
    let peer = time(runs, || {
        // the peer extracts the layer from the archive to a pipe and reads it with tar
        let script = format!("tar -xOf '{archive}' '{member}' | tar -xO var/lib/dpkg/status");
        peer_out = run("sh", &["-c", &script]);
    });
    assert_eq!(peer_out, sink.0);
    println!(
        "{:<44} {:>9.3}s {:>9.3}s {:>10.2}x",
        "docker-archive layer: tar -xO | tar -xO",
        ours.as_secs_f64(),
        peer.as_secs_f64(),
        peer.as_secs_f64() / ours.as_secs_f64()
    );
}
