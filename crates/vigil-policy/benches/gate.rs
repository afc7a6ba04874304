//! Benchmark: the gate decision for an image with 1,000 findings under 2,000 CVE rules across
//! the 5 scopes of one target (issue 8: target under 100 µs), with ratios to two peers
//! measured in the same run (SPEC 10: ratios, never timed tests).
//!
//! Run: `cargo bench -p vigil-policy --bench gate`.
//!
//! Workload, from real data: the bookworm entries of the real Debian tracker data
//! (`shared/fixtures/feeds/debian-tracker/bookworm.json`, 1,474 CVEs of 60 source packages)
//! give the findings: the first 1,000 CVEs (sorted), each with osv.dev's `DEBIAN-CVE-…` id as
//! an alias as the matcher reports them, severity from the tracker's urgency, fixed when
//! `resolved`. The 2,000 CVE rules name those real ids too (every id once, a third of them
//! twice at two scopes, so more specific rules override less specific ones), spread over the
//! target's five scopes, half whitelist and half blacklist, one in ten expired. Each scope
//! also sets severity rules and the unscanned setting. About two thirds of the findings have
//! a rule; the rest fall to severity rules.
//!
//! Figures: medians of wall time over many runs of
//! - index: `Evaluator::new` (once per gate request for a target),
//! - decide: `Evaluator::gate` on the 1,000 findings,
//! - index + decide: a whole gate decision in process (the figure of the target),
//! - the same with 8,000 more CVE rules for the same ids at 40 scopes of other targets
//!   (other clusters, environments and applications), which a real rule set also holds and
//!   which the evaluator must skip.
//!
//! Peers:
//! - brute force: the same verdicts by scanning every rule for every finding, no index (what
//!   the property test's reference does); the ratio shows what indexing buys.
//! - floor: one lookup per finding id in a std `HashMap` of the 2,000 rule ids, no verdicts;
//!   the ratio `decide / floor` is the evaluator's overhead over bare id lookups.

#![allow(clippy::print_stdout)] // the benchmark's report is its output

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use vigil_policy::{
    Action, CveAction, CveRule, Decision, Evaluator, FindingRef, Name, Policies, ScanState, Scope,
    Severity, Target, UnscannedAction, VulnId,
};

const FINDINGS: usize = 1_000;
const RULES: usize = 2_000;

struct Finding {
    id: VulnId,
    aliases: Vec<VulnId>,
    severity: Severity,
    has_fix: bool,
}

impl Finding {
    fn view(&self) -> FindingRef<'_> {
        FindingRef {
            id: &self.id,
            aliases: &self.aliases,
            severity: self.severity,
            has_fix: self.has_fix,
        }
    }
}

/// Every bookworm entry of the real tracker data: (CVE, severity, fixed), sorted by CVE.
fn tracker_entries() -> Vec<(String, Severity, bool)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/feeds/debian-tracker/bookworm.json"
    );
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let tracker: serde_json::Value = serde_json::from_slice(&bytes).expect("tracker JSON");
    let mut out = Vec::new();
    for cves in tracker.as_object().expect("packages").values() {
        for (cve, entry) in cves.as_object().expect("cves") {
            let release = &entry["releases"]["bookworm"];
            if !release.is_object() || !cve.starts_with("CVE-") {
                continue;
            }
            let urgency = release["urgency"].as_str().unwrap_or("");
            let severity = Severity::from_label(urgency).unwrap_or(Severity::Unknown);
            out.push((cve.clone(), severity, release["status"] == "resolved"));
        }
    }
    out.sort();
    out.dedup_by(|a, b| a.0 == b.0);
    out
}

fn name(s: &str) -> Name {
    Name::new(s).expect("name")
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// Median wall time of `f` over `runs` runs, after a few warm-up runs.
fn measure<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    for _ in 0..5 {
        black_box(f());
    }
    let times = (0..runs)
        .map(|_| {
            let start = Instant::now();
            black_box(f());
            start.elapsed()
        })
        .collect();
    median(times)
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// Brute force: the verdict of each finding by scanning every rule (SPEC 6.3 as written);
/// returns how many are blocked.
fn brute_force(
    rules: &[CveRule],
    severity: &[(usize, Severity, Action)],
    scopes: &[Scope; 5],
    findings: &[Finding],
    now: SystemTime,
) -> usize {
    let rank = |s: &Scope| scopes.iter().position(|x| x == s);
    let mut blocked = 0;
    for f in findings {
        let mut best: Option<(usize, bool)> = None;
        for r in rules {
            let Some(level) = rank(&r.scope) else {
                continue;
            };
            if r.expires.is_some_and(|e| e <= now) || !(r.id == f.id || f.aliases.contains(&r.id)) {
                continue;
            }
            let block = r.action == CveAction::Block;
            if best.is_none_or(|b| (level, block) > b) {
                best = Some((level, block));
            }
        }
        let blocks = match best {
            Some((_, block)) => block,
            None => severity
                .iter()
                .filter(|(_, s, _)| *s == f.severity)
                .max_by_key(|(level, _, _)| *level)
                .is_some_and(|(_, _, a)| {
                    *a == Action::Block || (*a == Action::BlockIfFixed && f.has_fix)
                }),
        };
        blocked += usize::from(blocks);
    }
    blocked
}

fn main() {
    let now = UNIX_EPOCH + Duration::from_secs(1_795_608_000);
    let entries = tracker_entries();
    assert!(
        entries.len() >= FINDINGS,
        "{} tracker entries",
        entries.len()
    );
    let findings: Vec<Finding> = entries[..FINDINGS]
        .iter()
        .map(|(cve, severity, has_fix)| Finding {
            id: VulnId::new(cve.as_str()),
            aliases: vec![VulnId::new(format!("DEBIAN-{cve}"))],
            severity: *severity,
            has_fix: *has_fix,
        })
        .collect();

    let target = Target {
        cluster: name("eu-1"),
        environment: name("prod"),
        application: name("checkout"),
    };
    let scopes = target.scopes();
    let mut policies = Policies::default();
    // Severity rules: each scope changes a couple of severities.
    let mut severity_rules = Vec::new();
    for (level, scope) in scopes.iter().enumerate() {
        for (k, s) in Severity::ALL.iter().enumerate() {
            if (k + level) % 2 == 0 {
                let action = [Action::Block, Action::BlockIfFixed, Action::Allow][(k + level) % 3];
                policies
                    .set_severity(scope.clone(), *s, action)
                    .expect("severity rule");
            }
        }
        let unscanned = [UnscannedAction::Allow, UnscannedAction::Block][level % 2];
        policies
            .set_unscanned(scope.clone(), Some(unscanned))
            .expect("unscanned rule");
    }
    for scope in &scopes {
        for s in Severity::ALL {
            if let Some(a) = policies.severity_rule(scope, s) {
                let level = scopes.iter().position(|x| x == scope).unwrap_or(0);
                severity_rules.push((level, s, a));
            }
        }
    }
    // CVE rules: every real id once, then a third again at another scope, up to RULES.
    let created = now - Duration::from_secs(30 * 86_400);
    let mut cve_rules = Vec::new();
    for i in 0..RULES {
        let (cve, _, _) = &entries[i % entries.len()];
        let level = (i * 7 + i / entries.len()) % 5;
        let action = if i % 2 == 0 {
            CveAction::Allow
        } else {
            CveAction::Block
        };
        let expires = (i % 10 == 3).then(|| now - Duration::from_secs(86_400));
        let (rule, _) = CveRule::new(
            scopes[level].clone(),
            cve,
            action,
            "bench",
            "benchmark rule",
            created,
            expires,
        )
        .expect("CVE rule");
        cve_rules.push(rule.clone());
        policies.add_cve(rule);
    }
    let stored = policies.cve_rules().count();
    assert_eq!(stored, RULES, "every rule at its own (scope, id)");

    // Sanity: the evaluator and the brute force agree on what blocks.
    let ev = Evaluator::new(&policies, &target, now);
    let gate = ev.gate(ScanState::Completed, findings.iter().map(Finding::view));
    let expected = brute_force(&cve_rules, &severity_rules, &scopes, &findings, now);
    assert_eq!(
        gate.blocking.len(),
        expected,
        "evaluator and brute force agree"
    );
    assert_eq!(gate.decision, Decision::Block);
    let with_rule = findings
        .iter()
        .filter(|f| {
            matches!(
                ev.evaluate(&f.view()).rule,
                Some(vigil_policy::Decider::Cve(_))
            )
        })
        .count();

    let runs = 400;
    let index = measure(runs, || Evaluator::new(&policies, &target, now));
    let decide = measure(runs, || {
        ev.gate(ScanState::Completed, findings.iter().map(Finding::view))
            .blocking
            .len()
    });
    let whole = measure(runs, || {
        let ev = Evaluator::new(&policies, &target, now);
        ev.gate(ScanState::Completed, findings.iter().map(Finding::view))
            .blocking
            .len()
    });
    // 8,000 more rules at scopes of other targets.
    let mut crowded = policies.clone();
    for k in 0..8_000 {
        let (cve, _, _) = &entries[k % entries.len()];
        let n = k % 8;
        let other = match (k / 8) % 5 {
            0 => Scope::Cluster(name(&format!("c{n}"))),
            1 => Scope::Environment(name(&format!("e{n}"))),
            2 => Scope::Application(name(&format!("a{n}"))),
            3 => Scope::ApplicationInEnvironment {
                application: name("checkout"),
                environment: name(&format!("e{n}")),
            },
            _ => Scope::ApplicationInEnvironment {
                application: name(&format!("a{n}")),
                environment: name("prod"),
            },
        };
        let (rule, _) = CveRule::new(
            other,
            cve,
            CveAction::Block,
            "bench",
            "another target's rule",
            created,
            None,
        )
        .expect("CVE rule");
        crowded.add_cve(rule);
    }
    let crowded_rules = crowded.cve_rules().count();
    let ev_crowded = Evaluator::new(&crowded, &target, now);
    assert_eq!(
        ev_crowded
            .gate(ScanState::Completed, findings.iter().map(Finding::view))
            .blocking
            .len(),
        expected,
        "rules of other targets change nothing"
    );
    let whole_crowded = measure(runs, || {
        let ev = Evaluator::new(&crowded, &target, now);
        ev.gate(ScanState::Completed, findings.iter().map(Finding::view))
            .blocking
            .len()
    });
    let brute = measure(20, || {
        brute_force(&cve_rules, &severity_rules, &scopes, &findings, now)
    });
    let ids: HashMap<&str, usize> = cve_rules
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.as_str(), i))
        .collect();
    let floor = measure(runs, || {
        findings
            .iter()
            .map(|f| {
                std::iter::once(&f.id)
                    .chain(&f.aliases)
                    .filter_map(|id| ids.get(id.as_str()))
                    .count()
            })
            .sum::<usize>()
    });

    println!(
        "gate: {FINDINGS} findings ({with_rule} decided by a CVE rule, {} blocked) under {RULES} CVE rules and {} severity rules across 5 scopes",
        gate.blocking.len(),
        severity_rules.len()
    );
    println!("  index   (Evaluator::new)           {:8.1} µs", us(index));
    println!("  decide  (Evaluator::gate)          {:8.1} µs", us(decide));
    println!(
        "  index + decide                     {:8.1} µs   target < 100 µs: {}",
        us(whole),
        if whole < Duration::from_micros(100) {
            "met"
        } else {
            "NOT met"
        }
    );
    println!(
        "  index + decide, {crowded_rules} rules in all {:8.1} µs   (8,000 of other targets)",
        us(whole_crowded)
    );
    println!(
        "  peer brute force (every rule)      {:8.1} µs   brute force / (index + decide) = {:.0}x",
        us(brute),
        brute.as_secs_f64() / whole.as_secs_f64()
    );
    println!(
        "  peer floor (std HashMap lookups)   {:8.1} µs   decide / floor = {:.2}x",
        us(floor),
        decide.as_secs_f64() / floor.as_secs_f64()
    );
}
