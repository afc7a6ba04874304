//! A seeded generator of realistic version pairs for the oracle tests and the benchmark.
//!
//! Versions are built from the pieces that decide orderings in each format: numbers with and
//! without leading zeros, letters, `.`, `+`, `~`, `^`, `_`, epochs, revisions, pre/post/dev
//! and local parts. The second version of a pair is usually the first with one piece changed,
//! added or removed, so most pairs are decided deep inside the string, where bugs hide.
//! The same seed always gives the same pairs.

/// SplitMix64: tiny, seeded, good enough to spread test cases.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const NUMBERS: &[&str] = &[
    "0",
    "00",
    "1",
    "01",
    "001",
    "2",
    "9",
    "10",
    "11",
    "99",
    "100",
    "123",
    "0123",
    "2024",
    "20240101",
    "4294967296",
];
const WORDS: &[&str] = &[
    "a", "b", "z", "rc", "beta", "dfsg", "git", "svn", "pre", "A", "Z", "el",
];

/// A run of pieces: numbers, words and the given separators, starting with a number.
fn pieces(rng: &mut Rng, seps: &[&str], max: usize) -> Vec<String> {
    let mut out = vec![rng.pick(NUMBERS).to_owned()];
    for _ in 0..rng.below(max) {
        match rng.below(3) {
            0 => out.push(rng.pick(NUMBERS).to_owned()),
            1 => out.push(rng.pick(WORDS).to_owned()),
            _ => out.push(rng.pick(seps).to_owned()),
        }
    }
    out
}

/// Changes, adds or removes one piece (never the first).
fn mutate(rng: &mut Rng, p: &mut Vec<String>, seps: &[&str]) {
    let choice = rng.below(4);
    let i = 1 + rng.below(p.len());
    let piece = match rng.below(3) {
        0 => rng.pick(NUMBERS),
        1 => rng.pick(WORDS),
        _ => rng.pick(seps),
    }
    .to_owned();
    match choice {
        0 if i < p.len() => p[i] = piece,
        1 if i < p.len() && p.len() > 1 => {
            p.remove(i);
        }
        _ => p.insert(i.min(p.len()), piece),
    }
}

fn both(rng: &mut Rng, seps: &[&str], max: usize) -> (Vec<String>, Vec<String>) {
    let a = pieces(rng, seps, max);
    let b = if rng.chance(75) {
        let mut b = a.clone();
        mutate(rng, &mut b, seps);
        b
    } else {
        pieces(rng, seps, max)
    };
    (a, b)
}

/// `[epoch:]upstream[-revision]` with `~`, `+`, `.` (and `-`, `:` where dpkg allows them).
pub fn dpkg(rng: &mut Rng) -> (String, String) {
    let epoch = rng
        .chance(20)
        .then(|| rng.pick(&["0", "1", "2", "01", "10"]).to_owned());
    let epoch_b = if rng.chance(85) {
        epoch.clone()
    } else {
        Some(rng.pick(&["0", "1", "3"]).to_owned())
    };
    let with_rev = rng.chance(70);
    let mut up_seps = vec![".", ".", "+", "~", "~~"];
    if with_rev {
        up_seps.push("-");
    }
    if epoch.is_some() && epoch_b.is_some() {
        up_seps.push(":");
    }
    let (ua, ub) = both(rng, &up_seps, 6);
    let (ra, rb) = both(rng, &[".", "+", "~"], 3);
    let render = |e: &Option<String>, u: &[String], r: &[String]| {
        let mut s = String::new();
        if let Some(e) = e {
            s.push_str(e);
            s.push(':');
        }
        s.push_str(&u.concat());
        if with_rev {
            s.push('-');
            s.push_str(&r.concat());
        }
        s
    };
    let a = render(&epoch, &ua, &ra);
    let b = if rng.chance(80) {
        render(&epoch_b, &ub, &rb)
    } else {
        render(&epoch_b, &ua, &rb)
    };
    // An upstream without ':' must not be read as having an epoch: only keep ':' pairs with one.
    if (epoch.is_none() && a.contains(':')) || (epoch_b.is_none() && b.contains(':')) {
        return dpkg(rng);
    }
    (a, b)
}

/// `[epoch:]version-release` with `~`, `^`, `.`, `_`, `+`; both sides have a release, as in
/// package databases (rpm ignores a missing one, see the rpm module docs).
pub fn rpm(rng: &mut Rng) -> (String, String) {
    let seps = [".", ".", "_", "+", "~", "^"];
    let (va, vb) = both(rng, &seps, 6);
    let (ra, rb) = both(rng, &[".", "_", "~", "^", "."], 3);
    let epoch = rng.chance(20).then(|| rng.pick(&["0", "1", "2", "10"]));
    let epoch_b = if rng.chance(85) {
        epoch
    } else {
        Some(rng.pick(&["0", "1", "3"]))
    };
    let render = |e: Option<&str>, v: &[String], r: &[String]| {
        let e = e.map(|e| format!("{e}:")).unwrap_or_default();
        format!("{e}{}-{}", v.concat(), r.concat())
    };
    let a = render(epoch, &va, &ra);
    let b = if rng.chance(80) {
        render(epoch_b, &vb, &rb)
    } else {
        render(epoch_b, &va, &rb)
    };
    (a, b)
}

/// PEP 440 versions in many spellings: epochs, pre/post/dev, local, case, separators.
pub fn pep440(rng: &mut Rng) -> (String, String) {
    let a = Pep440::random(rng);
    let b = if rng.chance(75) {
        let mut b = a.clone();
        b.mutate(rng);
        b
    } else {
        Pep440::random(rng)
    };
    (a.render(rng), b.render(rng))
}

#[derive(Clone)]
struct Pep440 {
    epoch: Option<&'static str>,
    release: Vec<&'static str>,
    pre: Option<(&'static str, Option<&'static str>)>,
    post: Option<&'static str>,
    dev: Option<&'static str>,
    local: Option<Vec<&'static str>>,
}

const PEP_NUMS: &[&str] = &[
    "0",
    "00",
    "1",
    "01",
    "2",
    "9",
    "10",
    "010",
    "11",
    "2024",
    "99999999999",
];
const PRE: &[&str] = &["a", "b", "rc", "alpha", "beta", "c", "pre", "preview"];
const LOCAL: &[&str] = &["abc", "1", "01", "ubuntu", "Z9", "0", "cpu", "cu121"];

impl Pep440 {
    fn random(rng: &mut Rng) -> Self {
        let mut s = Pep440 {
            epoch: rng.chance(10).then(|| rng.pick(&["0", "1", "2"])),
            release: (0..1 + rng.below(4)).map(|_| rng.pick(PEP_NUMS)).collect(),
            pre: None,
            post: None,
            dev: None,
            local: None,
        };
        if rng.chance(40) {
            s.pre = Some((rng.pick(PRE), rng.chance(80).then(|| rng.pick(PEP_NUMS))));
        }
        if rng.chance(25) {
            s.post = Some(rng.pick(PEP_NUMS));
        }
        if rng.chance(25) {
            s.dev = Some(rng.pick(PEP_NUMS));
        }
        if rng.chance(15) {
            s.local = Some((0..1 + rng.below(3)).map(|_| rng.pick(LOCAL)).collect());
        }
        s
    }

    fn mutate(&mut self, rng: &mut Rng) {
        match rng.below(7) {
            0 => self.epoch = rng.chance(50).then(|| rng.pick(&["0", "1", "2"])),
            1 => {
                let i = rng.below(self.release.len());
                self.release[i] = rng.pick(PEP_NUMS);
            }
            2 if self.release.len() < 5 => self.release.push(rng.pick(&["0", "1", "00"])),
            3 => {
                self.pre = rng
                    .chance(60)
                    .then(|| (rng.pick(PRE), rng.chance(80).then(|| rng.pick(PEP_NUMS))))
            }
            4 => self.post = rng.chance(60).then(|| rng.pick(PEP_NUMS)),
            5 => self.dev = rng.chance(60).then(|| rng.pick(PEP_NUMS)),
            _ => self.local = rng.chance(60).then(|| vec![rng.pick(LOCAL)]),
        }
    }

    /// A spelling of the version: separators, case and a `v` prefix vary.
    fn render(&self, rng: &mut Rng) -> String {
        let mut s = String::new();
        if rng.chance(5) {
            s.push('v');
        }
        if let Some(e) = self.epoch {
            s.push_str(&format!("{e}!"));
        }
        s.push_str(&self.release.join("."));
        if let Some((kind, n)) = self.pre {
            s.push_str(rng.pick(&["", ".", "-", "_"]));
            s.push_str(kind);
            if let Some(n) = n {
                s.push_str(rng.pick(&["", "", ".", "-"]));
                s.push_str(n);
            }
        }
        if let Some(n) = self.post {
            match rng.below(4) {
                0 => s.push_str(&format!("-{n}")),
                1 => s.push_str(&format!(".post{n}")),
                2 => s.push_str(&format!("post{n}")),
                _ => s.push_str(&format!(".{}{n}", rng.pick(&["r", "rev"]))),
            }
        }
        if let Some(n) = self.dev {
            s.push_str(rng.pick(&[".dev", "dev", "-dev", "_dev"]));
            s.push_str(n);
        }
        if let Some(local) = &self.local {
            s.push('+');
            let mut first = true;
            for l in local {
                if !first {
                    s.push_str(rng.pick(&[".", "-", "_"]));
                }
                first = false;
                s.push_str(l);
            }
        }
        if rng.chance(10) {
            s = s.to_uppercase();
        }
        s
    }
}
