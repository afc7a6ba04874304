//! Order properties of every scheme (STYLE.md): total, antisymmetric, transitive, and parse
//! then display round-trips the input.

use std::cmp::Ordering;

use proptest::prelude::*;
use vigil_version::Scheme;

/// Valid versions of each scheme, from small alphabets so that ties and near-ties are common.
fn strategy(scheme: Scheme) -> &'static str {
    match scheme {
        Scheme::Dpkg => "([0-2]:)?[0-9][0-9a-zA-Z.+~]{0,6}(-[0-9a-z.+~]{1,4})?",
        Scheme::Rpm => "([0-2]:)?[0-9a-zA-Z][0-9a-zA-Z.~^_+]{0,6}(-[0-9a-zA-Z.~^_+]{0,4})?",
        Scheme::Apk => {
            "[0-9]{1,2}(\\.0?[0-9]{1,2}){0,3}[a-z]?[0-9]?(_(alpha|beta|pre|rc|cvs|svn|git|hg|p)[0-9]{0,2}){0,2}(~[0-9a-f]{1,4})?(-r[0-9]{1,2})?"
        }
        Scheme::Pep440 => {
            "(v?([0-9]!)?[0-9]{1,2}(\\.[0-9]{1,2}){0,2}([-_.]?(a|b|rc|c|pre|alpha)[0-9]?)?((\\.post|-|\\.r)[0-9])?(\\.?dev[0-9]?)?(\\+[a-z0-9]{1,3}([.-_][a-z0-9]{1,2})?)?|[0-9a-z][0-9a-z.\\-]{0,7})"
        }
        Scheme::Semver | Scheme::Go => {
            "v?[0-9]{1,2}(\\.[0-9]{1,2}){0,3}(-[0-9A-Za-z-]{1,3}(\\.[0-9A-Za-z-]{1,3}){0,2})?(\\+[0-9a-z]{1,3})?"
        }
        // Versions start with a non-zero number: ComparableVersion is not transitive on ones
        // that start with a qualifier or a zero that normalisation trims (maven module docs).
        Scheme::Maven => {
            // No qualifier right after a `.`: Maven's order is not transitive there (module
            // docs: `3.sp` > `3` > `3-alpha` but `3.sp` < `3-alpha`).
            "[1-9][0-9]?(\\.[0-9]{1,2}|-?([0-9]{1,2}|alpha|beta|rc|cr|sp|ga|final|snapshot|a|b|m|x)){0,4}"
        }
        Scheme::RubyGems => "[0-9]{1,2}(\\.[0-9a-z]{1,3}){0,3}(-[0-9a-z]{1,3}(\\.[0-9a-z]{1,2})?)?",
        Scheme::NuGet => {
            "[0-9]{1,2}(\\.[0-9]{1,2}){0,3}(-[0-9A-Za-z]{1,3}(\\.[0-9A-Za-z]{1,3}){0,2})?(\\+[0-9a-z]{1,3})?"
        }
        // `#` is left out: PHP's order is not transitive with it (composer module docs).
        Scheme::Composer => {
            "v?[0-9]{1,2}([-._+]?([0-9]{1,2}|dev|alpha|a|beta|b|RC|rc|pl|p|foo)){0,4}"
        }
        Scheme::Cran => "[0-9]{1,3}([.-][0-9]{1,3}){0,3}",
    }
}

fn cmp(scheme: Scheme, a: &str, b: &str) -> Ordering {
    scheme
        .compare(a, b)
        .unwrap_or_else(|e| panic!("generated version refused: {e}"))
}

fn check_scheme(scheme: Scheme) {
    let re = strategy(scheme);
    let config = ProptestConfig::with_cases(1000);
    proptest!(config, |(a in re, b in re, c in re)| {
        // Round trip: Display gives back the input.
        for s in [&a, &b, &c] {
            prop_assert_eq!(scheme.parse(s).unwrap().to_string(), s.as_str());
        }
        // Reflexive and antisymmetric.
        prop_assert_eq!(cmp(scheme, &a, &a), Ordering::Equal);
        let ab = cmp(scheme, &a, &b);
        prop_assert_eq!(cmp(scheme, &b, &a), ab.reverse());
        // Transitive: sort the three, then every pair must agree with the sorted order.
        let mut v = [a.clone(), b.clone(), c.clone()];
        v.sort_by(|x, y| cmp(scheme, x, y));
        for i in 0..3 {
            for j in i + 1..3 {
                prop_assert_ne!(cmp(scheme, &v[i], &v[j]), Ordering::Greater, "{:?}", v);
            }
        }
        // Version's Ord agrees with Scheme::compare, and equality is consistent with it.
        let (pa, pb) = (scheme.parse(&a).unwrap(), scheme.parse(&b).unwrap());
        prop_assert_eq!(pa.cmp(&pb), ab);
        prop_assert_eq!(pa == pb, ab == Ordering::Equal);
    });
}

#[test]
fn dpkg_order() {
    check_scheme(Scheme::Dpkg);
}

#[test]
fn rpm_order() {
    check_scheme(Scheme::Rpm);
}

#[test]
fn apk_order() {
    check_scheme(Scheme::Apk);
}

#[test]
fn pep440_order() {
    check_scheme(Scheme::Pep440);
}

#[test]
fn semver_order() {
    check_scheme(Scheme::Semver);
}

#[test]
fn go_order() {
    check_scheme(Scheme::Go);
}

#[test]
fn maven_order() {
    check_scheme(Scheme::Maven);
}

#[test]
fn rubygems_order() {
    check_scheme(Scheme::RubyGems);
}

#[test]
fn nuget_order() {
    check_scheme(Scheme::NuGet);
}

#[test]
fn composer_order() {
    check_scheme(Scheme::Composer);
}

#[test]
fn cran_order() {
    check_scheme(Scheme::Cran);
}

proptest! {
    /// No input makes a parser panic or hang: any string either parses or is an error.
    #[test]
    fn any_string_parses_or_errors(s in "\\PC{0,24}") {
        for scheme in Scheme::ALL {
            if let Ok(v) = scheme.parse(&s) {
                prop_assert_eq!(v.to_string(), s.as_str());
                prop_assert_eq!(v.cmp(&v), Ordering::Equal);
            }
        }
    }
}
