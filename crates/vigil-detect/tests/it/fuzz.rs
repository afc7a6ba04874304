//! Mutation fuzzing of every lock-file, metadata and binary parser (issue 7, SPEC 11.1), as
//! a proptest harness that CI runs for a bounded number of cases: real inputs (the
//! lockfiles made by npm, yarn, pnpm, cargo, Composer and Bundler in `tests/fixtures`,
//! the cargo-auditable binary, Debian's Go programs, jars, dist-info METADATA and
//! gemspecs of this machine, dpkg file lists and the apk database for
//! [`vigil_detect::owned_files`]) changed by a sequence of byte flips, deletions,
//! insertions, duplications and truncations. Edits to binaries land near the Go build
//! info and the `.dep-v0` section half of the time, where the parsers look.
//!
//! Every result is a list or an error naming the path. Each case runs in a child process
//! with a generous timeout (proptest's `fork`): a hang fails the case, not the suite.
//! Memory stays bounded by construction (every length read from a file is checked first).

use std::path::Path;

use proptest::prelude::*;
use vigil_detect::{FileKind, detect};

/// One real input: the image path it is parsed as, its parser, its bytes, and the byte
/// offsets worth mutating around (empty for text files).
struct Input {
    path: String,
    kind: Option<FileKind>,
    data: Vec<u8>,
    hot: Vec<usize>,
}

fn text(path: &str, file: &Path) -> Option<Input> {
    let data = std::fs::read(file).ok()?;
    let kind = vigil_detect::wants(path);
    Some(Input {
        path: path.to_owned(),
        kind,
        data,
        hot: Vec::new(),
    })
}

fn binary(path: &str, file: &Path) -> Option<Input> {
    use object::{Object, ObjectSection};
    let data = std::fs::read(file).ok()?;
    let mut hot = Vec::new();
    if let Ok(obj) = object::File::parse(&*data) {
        for name in [".go.buildinfo", ".dep-v0"] {
            if let Some((offset, _)) = obj.section_by_name(name).and_then(|s| s.file_range()) {
                hot.push(usize::try_from(offset).unwrap());
            }
        }
    }
    Some(Input {
        path: path.to_owned(),
        kind: Some(FileKind::Executable),
        data,
        hot,
    })
}

/// The first entry of `dir` (sorted) whose name satisfies `pick`, smallest first when
/// `smallest`.
fn first_in(dir: &str, pick: impl Fn(&str) -> bool) -> Option<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(&pick))
        .collect();
    v.sort_by_key(|p| {
        (
            std::fs::metadata(p).map(|m| m.len()).unwrap_or(u64::MAX),
            p.clone(),
        )
    });
    v.into_iter().next()
}

fn corpus() -> Vec<Input> {
    let fixtures = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"));
    let mut inputs: Vec<Input> = [
        "lockfiles/npm-v1/package-lock.json",
        "lockfiles/npm-v2/package-lock.json",
        "lockfiles/npm-v3/package-lock.json",
        "lockfiles/yarn-v1/yarn.lock",
        "lockfiles/yarn-berry/yarn.lock",
        "lockfiles/pnpm-v6/pnpm-lock.yaml",
        "lockfiles/pnpm-v9/pnpm-lock.yaml",
        "lockfiles/cargo-v3/Cargo.lock",
        "lockfiles/cargo-v4/Cargo.lock",
        "composer/composer.lock",
        "composer/vendor/composer/installed.json",
        "gemfile-lock/Gemfile.lock",
    ]
    .iter()
    .filter_map(|f| {
        text(
            &format!("app/{}", f.split_once('/').unwrap().1),
            &fixtures.join(f),
        )
    })
    .collect();
    inputs.extend(binary(
        "usr/local/bin/hello",
        &fixtures.join("auditable/hello"),
    ));
    // this machine's real files, when installed (the test setup installs them)
    inputs.extend(binary("usr/bin/umoci", Path::new("/usr/bin/umoci")));
    if let Some(jar) = first_in("/usr/share/maven/lib", |n| n.ends_with(".jar")) {
        inputs.extend(text("opt/app/lib/x.jar", &jar));
    }
    if let Some(d) = first_in("/usr/lib/python3/dist-packages", |n| {
        n.ends_with(".dist-info")
    }) {
        inputs.extend(text("site/x-1.dist-info/METADATA", &d.join("METADATA")));
    }
    for dir in std::fs::read_dir("/usr/lib/ruby/gems")
        .into_iter()
        .flatten()
        .flatten()
    {
        let specs = dir.path().join("specifications/default");
        if let Some(spec) = first_in(specs.to_str().unwrap(), |n| n.ends_with(".gemspec")) {
            inputs.extend(text("gems/specifications/x-1.gemspec", &spec));
            break;
        }
    }
    // file lists of OS packages (no FileKind: owned_files reads them)
    let apk = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/pkgdb/apk/alpine-3.18.0/installed"
    );
    inputs.extend(text("lib/apk/db/installed", Path::new(apk)).map(|mut i| {
        i.kind = None;
        i
    }));
    if let Some(list) = first_in("/var/lib/dpkg/info", |n| {
        n.starts_with("python3") && n.ends_with(".list")
    }) {
        inputs.extend(text("var/lib/dpkg/info/python3-x.list", &list));
    }
    assert!(inputs.len() >= 14, "{} inputs", inputs.len());
    inputs
}

#[derive(Debug, Clone)]
enum Op {
    Flip(usize, u8),
    Delete(usize, usize),
    Insert(usize, Vec<u8>),
    Duplicate(usize, usize, usize),
    Truncate(usize),
}

/// An offset: near a hot spot half of the time (when there is one), else anywhere.
fn at(input: &Input, (near, x): (bool, usize)) -> usize {
    let len = input.data.len().max(1);
    match input.hot.as_slice() {
        hot if near && !hot.is_empty() => (hot[x % hot.len()] + (x / 7) % 256).min(len - 1),
        _ => x % len,
    }
}

fn apply(input: &Input, ops: &[Op]) -> Vec<u8> {
    let mut d = input.data.clone();
    for op in ops {
        if d.is_empty() {
            break;
        }
        let len = d.len();
        match op {
            Op::Flip(i, b) => d[*i % len] = *b,
            Op::Delete(i, n) => {
                let i = *i % len;
                d.drain(i..(i + n % 64).min(len));
            }
            Op::Insert(i, bytes) => {
                let i = *i % len;
                d.splice(i..i, bytes.iter().copied());
            }
            Op::Duplicate(from, n, to) => {
                let from = *from % len;
                let chunk: Vec<u8> = d[from..(from + n % 512).min(len)].to_vec();
                let to = *to % len;
                d.splice(to..to, chunk);
            }
            Op::Truncate(i) => d.truncate(*i % len),
        }
    }
    d
}

fn op() -> impl Strategy<Value = (u8, (bool, usize), usize, u8, Vec<u8>)> {
    (
        0u8..5,
        (any::<bool>(), any::<usize>()),
        any::<usize>(),
        any::<u8>(),
        prop::collection::vec(any::<u8>(), 1..16),
    )
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 96,
        // a case runs in a child process; past this it is a hang, not slowness
        timeout: 60_000,
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutated_real_inputs_give_a_list_or_an_error(
        pick in any::<usize>(),
        raw in prop::collection::vec(op(), 1..10),
    ) {
        let inputs = corpus();
        let input = &inputs[pick % inputs.len()];
        let ops: Vec<Op> = raw
            .into_iter()
            .map(|(k, pos, n, b, bytes)| {
                let i = at(input, pos);
                match k {
                    0 => Op::Flip(i, b),
                    1 => Op::Delete(i, n),
                    2 => Op::Insert(i, bytes),
                    3 => Op::Duplicate(i, n, n / 3),
                    _ => Op::Truncate(i.max(n % input.data.len().max(1))),
                }
            })
            .collect();
        let data = apply(input, &ops);
        match input.kind {
            Some(kind) => {
                if let Err(e) = detect(kind, &input.path, &data) {
                    prop_assert_eq!(&e.path, &input.path);
                    let prefix = format!("{}: ", input.path);
                    prop_assert!(e.to_string().starts_with(&prefix), "{}", e);
                }
            }
            None => {
                if let Err(e) = vigil_detect::owned_files(&input.path, &data) {
                    prop_assert_eq!(&e.path, &input.path);
                }
            }
        }
    }
}

/// The corpus is what the fuzz test believes: each input parses before it is mutated,
/// and the binaries have their hot spots.
#[test]
fn the_fuzz_corpus_parses_unmutated() {
    for input in corpus() {
        match input.kind {
            Some(kind) => {
                detect(kind, &input.path, &input.data)
                    .unwrap_or_else(|e| panic!("{}: {e}", input.path));
            }
            None => {
                vigil_detect::owned_files(&input.path, &input.data).unwrap();
            }
        }
        if input.kind == Some(FileKind::Executable) {
            assert!(
                !input.hot.is_empty(),
                "{}: no build info section",
                input.path
            );
        }
    }
}
