//! Composer's lockfile and installed list, made by Composer from path repositories
//! (`tests/fixtures/composer/make.sh`), against what `composer show --locked` listed.

use std::collections::BTreeSet;
use std::path::Path;

use crate::support::{packages, read};

fn dir() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/composer"
    ))
}

#[test]
fn composer_lock_and_installed_json_match_composer_show() {
    let expected: BTreeSet<(String, String, bool)> =
        String::from_utf8(read(&dir().join("expected.tsv")))
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                (f[0].to_owned(), f[1].to_owned(), f[2] == "true")
            })
            .collect();
    assert!(expected.iter().any(|p| p.2), "one dev package");
    for (file, image_path) in [
        ("composer.lock", "srv/app/composer.lock"),
        (
            "vendor/composer/installed.json",
            "srv/app/vendor/composer/installed.json",
        ),
    ] {
        let found = packages(image_path, &read(&dir().join(file)));
        let got: BTreeSet<(String, String, bool)> = found
            .iter()
            .map(|p| (p.name.clone(), p.version.clone(), p.dev))
            .collect();
        assert_eq!(got, expected, "{file}");
        let purls: Vec<String> = found.iter().map(|p| p.purl(None)).collect();
        assert_eq!(
            purls,
            [
                "pkg:composer/acme/log@1.2.3",
                "pkg:composer/acme/test@2.1.0"
            ]
        );
    }
}
