//! The `lang` image of `scripts/make-lang-images.sh` (issue 7, "a second real image"):
//! Debian's Go program, jars and gem unpacked as an application bundles them, a Rust
//! program built by `cargo auditable` with its Cargo.lock, an npm project and pip-installed
//! packages. Every expected list is what the ecosystem's own tool said when the image was
//! built (`lang/oracle/`), read here; the inventory must say exactly the same.

use std::collections::BTreeSet;
use std::path::Path;

use vigil_scan::Inventory;

use crate::support::{lang_images, scan, triples};

type Pairs = BTreeSet<(String, String)>;

fn oracle(dir: &Path, name: &str) -> String {
    let path = dir.join("lang/oracle").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn json(dir: &Path, name: &str) -> serde_json::Value {
    serde_json::from_str(&oracle(dir, name)).unwrap()
}

fn pair(n: &serde_json::Value, v: &serde_json::Value) -> (String, String) {
    (
        n.as_str().unwrap().to_owned(),
        v.as_str().unwrap().to_owned(),
    )
}

/// The packages of `ecosystem` read from `path` (or from any path when `None`).
fn found(inv: &Inventory, ecosystem: &str, path: Option<&str>) -> Pairs {
    triples(inv, ecosystem)
        .into_iter()
        .filter(|(p, _, _)| path.is_none_or(|want| p == want))
        .map(|(_, n, v)| (n, v))
        .collect()
}

/// `npm ls --json --all`: every package of the tree, at any depth.
fn npm_ls(tree: &serde_json::Value, out: &mut Pairs) {
    if let Some(deps) = tree["dependencies"].as_object() {
        for (name, d) in deps {
            out.insert((name.clone(), d["version"].as_str().unwrap().to_owned()));
            npm_ls(d, out);
        }
    }
}

fn check(inv: &Inventory, dir: &Path) {
    assert!(inv.errors.is_empty(), "{:?}", inv.errors);

    // Go: Debian's age, as `go version -m` lists it (built in GOPATH mode: the toolchain)
    let text = oracle(dir, "go-version-m.txt");
    let toolchain = text.lines().next().unwrap().rsplit(": go").next().unwrap();
    let go: Pairs = [("stdlib".to_owned(), format!("v{toolchain}"))].into();
    assert_eq!(found(inv, "golang", Some("usr/bin/age")), go);
    let go_paths: BTreeSet<String> = triples(inv, "golang").into_iter().map(|t| t.0).collect();
    assert_eq!(
        go_paths,
        ["usr/bin/age", "usr/bin/age-keygen"]
            .map(String::from)
            .into()
    );

    // Rust: the audit data (objcopy + zlib) of the binary, and cargo's reading of the lock
    let audit = json(dir, "oldvec-audit.json");
    let want: Pairs = audit["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["source"] != "local")
        .map(|p| pair(&p["name"], &p["version"]))
        .collect();
    assert!(
        want.contains(&("smallvec".into(), "1.6.0".into())),
        "{want:?}"
    );
    assert_eq!(found(inv, "cargo", Some("usr/local/bin/oldvec")), want);
    let meta = json(dir, "cargo-metadata.json");
    let want: Pairs = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| !p["source"].is_null())
        .map(|p| pair(&p["name"], &p["version"]))
        .collect();
    assert!(
        want.contains(&("winapi".into(), "0.3.9".into())),
        "the lock has every target"
    );
    assert_eq!(found(inv, "cargo", Some("src/oldvec/Cargo.lock")), want);

    // npm: the installed tree as npm ls sees it (the lock file's copies are deduplicated)
    let mut want = Pairs::new();
    npm_ls(&json(dir, "npm-ls.json"), &mut want);
    assert_eq!(want.len(), 3, "{want:?}");
    assert_eq!(found(inv, "npm", None), want);

    // PyPI: pip inspect
    let want: Pairs = json(dir, "pip-inspect.json")["installed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| pair(&d["metadata"]["name"], &d["metadata"]["version"]))
        .collect();
    assert_eq!(want.len(), 5);
    assert_eq!(found(inv, "pypi", None), want);

    // Ruby: RubyGems loading the gemspec
    let want: Pairs = oracle(dir, "gems.tsv")
        .lines()
        .map(|l| {
            let (n, v) = l.split_once('\t').unwrap();
            (n.to_owned(), v.to_owned())
        })
        .collect();
    assert_eq!(found(inv, "gem", None), want);

    // Maven: each jar's pom.properties (the symlinks to them are not read twice)
    let want: BTreeSet<(String, String, String)> = oracle(dir, "jars.tsv")
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].to_owned(), f[1].to_owned(), f[2].to_owned())
        })
        .collect();
    assert_eq!(want.len(), 10);
    assert_eq!(
        triples(inv, "maven").into_iter().collect::<BTreeSet<_>>(),
        want
    );

    // nothing else: the ecosystems above and no OS package (dpkg knows none of these)
    let ecosystems: BTreeSet<&str> = inv.packages.iter().map(|p| p.ecosystem.as_str()).collect();
    assert_eq!(
        ecosystems,
        ["cargo", "gem", "golang", "maven", "npm", "pypi"].into()
    );
}

#[test]
fn every_package_as_its_ecosystem_tool_lists_it() {
    let Some(dir) = lang_images() else { return };
    check(
        &scan(&format!("oci:{}:lang", dir.join("oci").display()), None),
        &dir,
    );
    check(
        &scan(&format!("dir:{}", dir.join("lang/rootfs").display()), None),
        &dir,
    );
}
