//! The one place where outcomes become process exit codes (STYLE.md, SPEC 9.1).
//!
//! | code | meaning |
//! |------|---------|
//! | 0 | clean: nothing at or above `--fail-on` |
//! | 1 | findings at or above `--fail-on` (or a check that did not hold) |
//! | 2 | error: bad input, bad usage, unreachable image, corrupt data (clap's usage errors are 2 too) |
//! | 3 | blocked by policy |

use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Clean,
    Findings,
    Error,
    #[allow(dead_code)] // the gate (policy issue) returns it
    Blocked,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        ExitCode::from(match status {
            ExitStatus::Clean => 0,
            ExitStatus::Findings => 1,
            ExitStatus::Error => 2,
            ExitStatus::Blocked => 3,
        })
    }
}

/// A suggestion printed on its own `hint:` line after the error chain.
/// Attach it anywhere in the chain (`.context(Hint(..))`); `main` prints it on its own line
/// and leaves it out of the error sentence.
#[derive(Debug)]
pub struct Hint(pub String);

impl std::fmt::Display for Hint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Hint {}
