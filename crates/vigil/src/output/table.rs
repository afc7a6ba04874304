//! The table format: for people, on an 80-column terminal. Findings are grouped by package
//! (most severe package first), then a summary line and the coverage notes.

use std::io::{self, Write};

use vigil_matcher::{Finding, FixState};
use vigil_scan::Report;
use vigil_vulndb::Severity;

fn paint(color: bool, sev: Severity, text: &str) -> String {
    if !color {
        return text.to_string();
    }
    let code = match sev {
        Severity::Critical => "1;31",
        Severity::High => "31",
        Severity::Medium => "33",
        Severity::Low => "36",
        Severity::Unknown => "2",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max.saturating_sub(1)).collect();
    format!("{cut}…")
}

fn fix_text(f: &Finding) -> String {
    match (f.fix_state, &f.fixed_version) {
        (FixState::Fixed, Some(v)) => format!("fixed in {v}"),
        (FixState::WillNotFix, _) => "will not fix".to_string(),
        _ => "no fix yet".to_string(),
    }
}

pub fn write_scan(out: &mut dyn Write, report: &Report, color: bool) -> io::Result<()> {
    let distro = super::distro_label(report.distro.as_ref());
    writeln!(out, "{}", report.image.reference)?;
    if let Some(d) = &report.image.manifest_digest {
        writeln!(out, "{d}")?;
    }
    writeln!(
        out,
        "{distro}, {} packages, {} layers",
        report.packages.len(),
        report.image.layers.len()
    )?;

    // Group by installed package, most severe group first, then by name.
    let mut groups: Vec<(&str, &str, Vec<&Finding>)> = Vec::new();
    for f in &report.findings {
        match groups
            .iter_mut()
            .find(|(n, v, _)| *n == f.package.name && *v == f.package.version)
        {
            Some(g) => g.2.push(f),
            None => groups.push((&f.package.name, &f.package.version, vec![f])),
        }
    }
    let top = |g: &Vec<&Finding>| {
        g.iter()
            .map(|f| f.severity)
            .max()
            .unwrap_or(Severity::Unknown)
    };
    groups.sort_by(|a, b| {
        top(&b.2)
            .cmp(&top(&a.2))
            .then(a.0.cmp(b.0))
            .then(a.1.cmp(b.1))
    });
    for (name, version, findings) in &groups {
        writeln!(out)?;
        let first = findings[0];
        let source = match &first.package.source_name {
            Some(s) if s != *name => format!(" (source {s})"),
            _ => String::new(),
        };
        writeln!(out, "{name} {version}{source}")?;
        for f in findings {
            let sev = format!("{:<8}", f.severity.as_str().to_uppercase());
            let line = format!(
                "  {} {:<20} {}",
                paint(color, f.severity, &sev),
                f.id,
                fix_text(f)
            );
            writeln!(out, "{line}")?;
            if let Some(summary) = &f.summary {
                writeln!(out, "           {}", truncate(summary, 68))?;
            }
        }
    }
    if !report.suppressed.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "Suppressed by VEX ({}), not counted:",
            report.suppressed.len()
        )?;
        for sf in &report.suppressed {
            let f = &sf.finding;
            writeln!(
                out,
                "  {:<20} {} {}: {}",
                f.id,
                f.package.name,
                f.package.version,
                sf.vex.sentence()
            )?;
        }
    }
    let s = &report.summary;
    writeln!(out)?;
    writeln!(
        out,
        "Total: {} (critical {}, high {}, medium {}, low {}, unknown {}), {} fixable",
        s.total, s.critical, s.high, s.medium, s.low, s.unknown, s.fixable
    )?;
    if report.coverage.gaps.is_empty() {
        writeln!(out, "Coverage: complete")?;
    } else {
        writeln!(out, "Coverage: INCOMPLETE, these were not checked:")?;
        for gap in &report.coverage.gaps {
            writeln!(out, "  - {gap}")?;
        }
    }
    Ok(())
}
