//! `vigil`: the binary. It only wires the library crates together (STYLE.md):
//! argument parsing lives in [`cli`], each subcommand in [`cmd`], exit codes in [`exit`].

mod cli;
mod cmd;
mod config;
mod exit;
mod output;
mod progress;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

/// Feed imports and scans allocate many small short-lived values on several threads;
/// mimalloc's per-thread heaps do that faster than glibc's malloc (about a fifth of an
/// import's time went to malloc and free).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    init_logging(&cli.global);
    let status = match cmd::run(cli) {
        Ok(status) => status,
        Err(err) => {
            if is_broken_pipe(&err) {
                // `vigil ... | head` is not an error (STYLE.md, as ripgrep does).
                exit::ExitStatus::Clean
            } else {
                report_error(&err);
                exit::ExitStatus::Error
            }
        }
    };
    status.into()
}

/// Prints the error chain on stderr as `error: outer: inner`, then the `hint:` lines of any
/// [`exit::Hint`] in the chain (hints are not part of the error sentence).
#[allow(clippy::print_stderr)]
fn report_error(err: &anyhow::Error) {
    let mut parts: Vec<String> = Vec::new();
    let mut hints = Vec::new();
    // A hint attached with `.context(Hint(..))` is not a chain element of its own type;
    // anyhow's own downcast finds it through the context layers.
    if let Some(hint) = err.downcast_ref::<exit::Hint>() {
        hints.push(hint.0.clone());
    }
    for cause in err.chain() {
        if let Some(hint) = cause.downcast_ref::<exit::Hint>() {
            if !hints.contains(&hint.0) {
                hints.push(hint.0.clone());
            }
            continue;
        }
        if hints.iter().any(|h| *h == cause.to_string()) {
            continue;
        }
        let image_error = cause.downcast_ref::<vigil_image::Error>().or_else(|| {
            match cause.downcast_ref::<vigil_scan::Error>() {
                Some(vigil_scan::Error::Image(e)) => Some(e),
                _ => None,
            }
        });
        if let Some(hint) = image_error.and_then(vigil_image::Error::hint) {
            hints.push(hint.to_string());
        }
        let text = cause.to_string();
        // Some library errors repeat their source in their own message; print it once.
        if parts.last().is_some_and(|prev| prev.ends_with(&text)) {
            continue;
        }
        parts.push(text);
    }
    eprintln!("error: {}", parts.join(": "));
    for hint in hints {
        eprintln!("hint: {hint}");
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn init_logging(global: &cli::GlobalArgs) {
    use tracing_subscriber::EnvFilter;
    let default = match global.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_env("VIGIL_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal());
    if global.log_json || global.log_format == cli::LogFormat::Json {
        builder.json().init();
    } else {
        builder.without_time().with_target(false).init();
    }
}
