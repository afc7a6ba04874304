//! `vigil version cmp` (issue 4, SPEC 4.5): compare two versions, or check a stream of
//! `A OP B` lines, with the rules of an ecosystem's own package manager.
//!
//! Output contract:
//! - `cmp -e E A B` prints one line, `<`, `=` or `>`, and exits 0; a version the ecosystem
//!   cannot parse is an error (exit 2).
//! - `cmp -e E --check` reads lines `A OP B` (OP one of `<`, `<=`, `=`, `==`, `>=`, `>`, `!=`)
//!   from standard input; blank lines and `#` comments (a whole line, or after whitespace) are
//!   skipped. It prints, in input order, one line per line that does not hold,
//!   `line N: A OP B does not hold: A > B`, and one per line it cannot read,
//!   `line N: <reason>`. Exit 1 when any line did not hold or could not be read, else 0. A
//!   count goes to standard error.

use std::cmp::Ordering;
use std::io::{self, BufRead, BufWriter, Read, Write};

use anyhow::Context;
use clap::Subcommand;
use vigil_version::{Ecosystem, Scheme};

use crate::exit::ExitStatus;

#[derive(Debug, Subcommand)]
pub enum VersionCommand {
    /// Compare two versions: prints `<`, `=` or `>`
    Cmp {
        /// Ecosystem (OSV name such as `Debian:12`, or a purl type such as `deb`)
        #[arg(long, short)]
        ecosystem: String,
        /// Read `A OP B` lines from standard input and print those that do not hold
        #[arg(long, conflicts_with_all = ["a", "b"])]
        check: bool,
        #[arg(required_unless_present = "check")]
        a: Option<String>,
        #[arg(required_unless_present = "check")]
        b: Option<String>,
    },
}

pub fn run(cmd: VersionCommand) -> anyhow::Result<ExitStatus> {
    let VersionCommand::Cmp {
        ecosystem,
        check,
        a,
        b,
    } = cmd;
    // The error lists every accepted name.
    let scheme = ecosystem.parse::<Ecosystem>()?.scheme();
    if check {
        return check_lines(
            scheme,
            io::stdin().lock(),
            &mut io::stdout().lock(),
            &mut io::stderr().lock(),
        );
    }
    let (a, b) = (a.unwrap_or_default(), b.unwrap_or_default());
    let ord = scheme.compare(&a, &b)?;
    let mut out = io::stdout().lock();
    writeln!(out, "{}", symbol(ord))?;
    out.flush()?;
    Ok(ExitStatus::Clean)
}

fn symbol(ord: Ordering) -> &'static str {
    match ord {
        Ordering::Less => "<",
        Ordering::Equal => "=",
        Ordering::Greater => ">",
    }
}

/// The longest line `--check` reads; longer ones are reported and skipped, so memory stays
/// bounded whatever the input.
const MAX_LINE: u64 = 64 * 1024;

fn check_lines(
    scheme: Scheme,
    input: impl BufRead,
    out: &mut impl Write,
    err: &mut impl Write,
) -> anyhow::Result<ExitStatus> {
    let mut input = input;
    let mut out = BufWriter::with_capacity(64 * 1024, out);
    let mut buf = Vec::with_capacity(256);
    let (mut n, mut checked, mut failed, mut unreadable) = (0u64, 0u64, 0u64, 0u64);
    loop {
        buf.clear();
        let read = input
            .by_ref()
            .take(MAX_LINE + 1)
            .read_until(b'\n', &mut buf)
            .context("reading standard input")?;
        if read == 0 {
            break;
        }
        n += 1;
        if buf.last() != Some(&b'\n') && read as u64 > MAX_LINE {
            // Skip the rest of the over-long line.
            loop {
                buf.clear();
                let more = input.by_ref().take(MAX_LINE).read_until(b'\n', &mut buf)?;
                if more == 0 || buf.last() == Some(&b'\n') {
                    break;
                }
            }
            unreadable += 1;
            writeln!(
                out,
                "line {n}: expected a line of at most {MAX_LINE} bytes, found a longer one"
            )?;
            continue;
        }
        let Ok(line) = std::str::from_utf8(&buf) else {
            unreadable += 1;
            writeln!(out, "line {n}: expected UTF-8 text, found invalid bytes")?;
            continue;
        };
        match check_line(scheme, line) {
            Check::Skip => {}
            Check::Holds => checked += 1,
            Check::Fails { a, op, b, got } => {
                checked += 1;
                failed += 1;
                writeln!(
                    out,
                    "line {n}: {a} {op} {b} does not hold: {a} {} {b}",
                    symbol(got)
                )?;
            }
            Check::Unreadable(reason) => {
                unreadable += 1;
                writeln!(out, "line {n}: {reason}")?;
            }
        }
    }
    out.flush()?;
    writeln!(
        err,
        "{checked} comparisons checked with {scheme} rules: {failed} did not hold, {unreadable} lines could not be read"
    )?;
    Ok(if failed + unreadable > 0 {
        ExitStatus::Findings
    } else {
        ExitStatus::Clean
    })
}

enum Check<'a> {
    Skip,
    Holds,
    Fails {
        a: &'a str,
        op: &'a str,
        b: &'a str,
        got: Ordering,
    },
    Unreadable(String),
}

fn check_line(scheme: Scheme, line: &str) -> Check<'_> {
    // A comment starts at `#` at the start of the line or after whitespace.
    let mut end = line.len();
    let bytes = line.as_bytes();
    for (i, &c) in bytes.iter().enumerate() {
        if c == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()) {
            end = i;
            break;
        }
    }
    let mut words = line[..end].split_ascii_whitespace();
    let (Some(a), op, b, rest) = (words.next(), words.next(), words.next(), words.next()) else {
        return Check::Skip;
    };
    let (Some(op), Some(b), None) = (op, b, rest) else {
        return Check::Unreadable(format!(
            "expected `A OP B` (three words), found {:?}",
            line[..end].trim()
        ));
    };
    let test: fn(Ordering) -> bool = match op {
        "<" => Ordering::is_lt,
        "<=" => Ordering::is_le,
        "=" | "==" => Ordering::is_eq,
        ">=" => Ordering::is_ge,
        ">" => Ordering::is_gt,
        "!=" => Ordering::is_ne,
        _ => {
            return Check::Unreadable(format!(
                "expected an operator <, <=, =, ==, >=, > or !=, found {op:?}"
            ));
        }
    };
    match scheme.compare(a, b) {
        Ok(got) if test(got) => Check::Holds,
        Ok(got) => Check::Fails { a, op, b, got },
        Err(e) => Check::Unreadable(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_check(input: &str) -> (ExitStatus, String) {
        let mut out = Vec::new();
        let status =
            check_lines(Scheme::Dpkg, input.as_bytes(), &mut out, &mut Vec::new()).unwrap();
        (status, String::from_utf8(out).unwrap())
    }

    #[test]
    fn check_reports_lines_that_do_not_hold() {
        let (status, out) = run_check(
            "# dpkg\n\n1.0~rc1 < 1.0\n1.0 == 1.0-0 # same\n2.0 < 1.0\n1.0 <> 2.0\n1.0 < :1\nonly two\n",
        );
        assert_eq!(status, ExitStatus::Findings);
        assert_eq!(
            out,
            "line 5: 2.0 < 1.0 does not hold: 2.0 > 1.0\n\
             line 6: expected an operator <, <=, =, ==, >=, > or !=, found \"<>\"\n\
             line 7: invalid dpkg version \":1\": expected an epoch before `:`, found nothing\n\
             line 8: expected `A OP B` (three words), found \"only two\"\n"
        );
    }

    #[test]
    fn check_passes_when_all_hold() {
        let (status, out) = run_check("1 < 2\n2 >= 2\n1:0 != 0\n");
        assert_eq!((status, out.as_str()), (ExitStatus::Clean, ""));
    }

    #[test]
    fn over_long_lines_are_skipped() {
        let long = "1".repeat(MAX_LINE as usize * 3);
        let (status, out) = run_check(&format!("{long} < 2\n1 < 2\n"));
        assert_eq!(status, ExitStatus::Findings);
        assert!(
            out.starts_with("line 1: expected a line of at most"),
            "{out}"
        );
        assert_eq!(out.lines().count(), 1);
    }
}
