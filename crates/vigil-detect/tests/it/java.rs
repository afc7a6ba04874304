//! Java archives: Debian's Maven jars (shaded ones, manifest-only ones) and archives
//! built around them by `tests/support/make-java-archives.py` (a war, an ear, a jar
//! nested six deep, a zip bomb). The script's own reading with Python's zipfile is the
//! oracle for each real jar's coordinates.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use vigil_detect::{FileKind, Package, detect, wants};

use crate::support::{have, packages, read};

const MAVEN_LIB: &str = "/usr/share/maven/lib";
const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/support/make-java-archives.py"
);

/// Runs the script; returns its oracle lines as jar -> {(name, version)}.
fn script(out: &str) -> BTreeMap<String, BTreeSet<(String, String)>> {
    let run = Command::new("/usr/bin/python3")
        .args([SCRIPT, MAVEN_LIB, out])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let mut map: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for line in String::from_utf8(run.stdout).unwrap().lines() {
        let f: Vec<&str> = line.split('\t').collect();
        map.entry(f[0].into())
            .or_default()
            .insert((f[1].into(), f[2].into()));
    }
    map
}

fn pairs<'a>(p: impl IntoIterator<Item = &'a Package>) -> BTreeSet<(String, String)> {
    p.into_iter()
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect()
}

/// Whether Debian's Maven (the jars these tests read) is installed; CI needs it.
fn have_maven() -> bool {
    if Path::new(MAVEN_LIB).is_dir() {
        return true;
    }
    have("mvn") && panic!("mvn is installed but {MAVEN_LIB} is missing")
}

#[test]
fn debian_maven_jars_match_their_pom_properties() {
    if !have_maven() {
        return;
    }
    let oracle = script("-");
    let mut jars: Vec<_> = std::fs::read_dir(MAVEN_LIB)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".jar"))
        .collect();
    jars.sort();
    assert!(jars.len() > 30);
    for jar in &jars {
        let image_path = format!("usr/share/maven/lib/{jar}");
        let found = packages(&image_path, &read(&Path::new(MAVEN_LIB).join(jar)));
        let want = oracle.get(jar).cloned().unwrap_or_default();
        assert_eq!(pairs(&found), want, "{jar}");
    }
    // a shaded jar lists every artifact it bundles
    assert_eq!(oracle["wagon-http-shaded.jar"].len(), 5);
}

#[test]
fn nested_archives_to_a_bounded_depth() {
    if !have_maven() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let oracle = script(dir.path().to_str().unwrap());
    let of = |jars: &[&str]| -> BTreeSet<(String, String)> {
        jars.iter().flat_map(|j| oracle[*j].clone()).collect()
    };
    let war = packages("srv/app.war", &read(&dir.path().join("app.war")));
    let lib = ["commons-io.jar", "slf4j-api.jar", "wagon-http-shaded.jar"];
    assert_eq!(pairs(&war), of(&lib));
    let slf4j = war
        .iter()
        .find(|p| p.name == "org.slf4j:slf4j-api")
        .unwrap();
    assert_eq!(slf4j.path, "srv/app.war!/WEB-INF/lib/slf4j-api.jar");
    assert_eq!(slf4j.purl(None), "pkg:maven/org.slf4j/slf4j-api@1.7.32");

    let ear = packages("srv/app.ear", &read(&dir.path().join("app.ear")));
    let mut all = lib.to_vec();
    all.push("javax.inject.jar");
    assert_eq!(pairs(&ear), of(&all));
    assert!(
        ear.iter()
            .any(|p| p.path == "srv/app.ear!/app.war!/WEB-INF/lib/commons-io.jar")
    );

    // commons-cli sits at depth 6 in one, 4 in the other; deeper than 4 is not opened
    let deep = packages("srv/deep.jar", &read(&dir.path().join("deep.jar")));
    assert_eq!(deep, []);
    let deep4 = packages("srv/deep4.jar", &read(&dir.path().join("deep4.jar")));
    assert_eq!(pairs(&deep4), of(&["commons-cli.jar"]));
    assert_eq!(
        deep4[0].path,
        "srv/deep4.jar!/lib/level2.jar!/lib/level1.jar!/lib/level0.jar"
    );

    let bomb = dir.path().join("bomb.jar");
    assert!(bomb.metadata().unwrap().len() < 1 << 20);
    let err = detect(FileKind::JavaArchive, "srv/bomb.jar", &read(&bomb)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "srv/bomb.jar: archive decompresses to more than 536870912 bytes"
    );
    assert_eq!(wants("srv/bomb.jar"), Some(FileKind::JavaArchive));
}

#[test]
fn maven_jar_purls() {
    if !have_maven() {
        return;
    }
    let jar = "wagon-http-shaded.jar";
    let found = packages(
        &format!("usr/share/maven/lib/{jar}"),
        &read(&Path::new(MAVEN_LIB).join(jar)),
    );
    let purls: Vec<String> = found.iter().map(|p| p.purl(None)).collect();
    insta::assert_snapshot!(purls.join("\n"));
}
