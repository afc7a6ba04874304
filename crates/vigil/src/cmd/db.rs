//! `vigil db ...` (issue 5, SPEC 4.3): import feeds, update from the configured sources,
//! status, show one advisory.
//!
//! Output contracts (stdout; progress and warnings go to stderr):
//! - `db import`: per source, one line `imported NAME: N advisories from PATH` (or
//!   `unchanged NAME: ...` when the content's digest did not change, with `(the same feed
//!   bytes as the last import, not read again)` when the feed's fingerprint matched the
//!   last import's), with duplicate and skipped counts when there are any, then one
//!   indented line per ecosystem key:
//!   `  ECOSYSTEM  COUNT`.
//! - `db status --format json`: `{"database", "last_update", "stale", "sources": [{"name",
//!   "format", "location", "records", "ecosystems": {KEY: COUNT}, "imported_at",
//!   "checked_at", "age_seconds", "digest", "feed_digest"}]}`, times in RFC 3339 (UTC);
//!   `feed_digest` is the fingerprint of the feed last imported (null when not known).
//! - `db show ID --format json`: an array of `{"source", "advisory"}`, the advisory as the
//!   vigil-vulndb model serialises it.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{Context, anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};
use vigil_store::{Record, SourceMeta, SourceStatus, StoredAdvisory};
use vigil_vulndb::{Document, Event, FeedError, FeedFormat};

use crate::config::{Config, Store};
use crate::exit::{ExitStatus, Hint};

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Import feeds from files, directories or zip archives (offline); each PATH replaces one source
    Import(ImportArgs),
    /// Download the configured feed sources (conditional GET, resumable) and import them
    Update(UpdateArgs),
    /// Show the database's sources, record counts and age
    Status(StatusArgs),
    /// Show an advisory by id or alias
    Show(ShowArgs),
    /// Show what re-matching stored images after database changes found (SPEC 5.5)
    Rematches(RematchesArgs),
}

#[derive(Debug, Args)]
pub struct RematchesArgs {
    /// Only this image digest
    #[arg(long)]
    pub digest: Option<String>,
    /// The newest this many
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    /// Output format
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Feed paths: an OSV directory or zip, a secdb file, a Debian tracker JSON, ...
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Feed format; auto detects it from each file's content
    #[arg(long, default_value = "auto", value_parser = ["auto", "osv", "alpine-secdb", "debian-tracker"])]
    pub format: String,
    /// Skip (and count) malformed records instead of rejecting the feed
    #[arg(long)]
    pub skip_invalid: bool,
    /// Source name [default: the path's file name without extension]; only with one PATH
    #[arg(long, value_name = "NAME")]
    pub source: Option<String>,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Update only this source (repeatable) [default: every source in db.sources]
    #[arg(long = "source", value_name = "NAME")]
    pub sources: Vec<String>,
    /// Skip (and count) malformed records instead of rejecting the feed
    #[arg(long)]
    pub skip_invalid: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Output format
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// An advisory id or alias (CVE-..., GHSA-..., PYSEC-..., DSA-...)
    pub id: String,
    /// Output format
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
}

pub fn run(cmd: DbCommand) -> anyhow::Result<ExitStatus> {
    let config = Config::load()?;
    match cmd {
        DbCommand::Import(args) => import(&config, &args),
        DbCommand::Update(args) => update(&config, &args),
        DbCommand::Status(args) => status(&config, &args),
        DbCommand::Show(args) => show(&config, &args),
        DbCommand::Rematches(args) => rematches(&config, &args),
    }
}

fn rematches(config: &Config, args: &RematchesArgs) -> anyhow::Result<ExitStatus> {
    let store = config.open_store()?;
    let list = store.block_on(
        store
            .db()
            .rematches(args.digest.as_deref(), args.limit.max(1)),
    )?;
    let mut out = std::io::stdout().lock();
    match args.format {
        OutputFormat::Json => {
            let doc: Vec<serde_json::Value> = list
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "id": r.id, "digest": r.digest, "scan_id": r.scan_id,
                        "previous_scan_id": r.previous_scan_id, "db_version": r.db_version,
                        "at": rfc3339(r.at), "new": r.new, "resolved": r.resolved,
                    })
                })
                .collect();
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
        OutputFormat::Table => {
            for r in &list {
                writeln!(
                    out,
                    "{}  {}  scan {} (was {}): {} new, {} resolved",
                    rfc3339(r.at),
                    r.digest,
                    r.scan_id,
                    r.previous_scan_id,
                    r.new.len(),
                    r.resolved.len()
                )?;
                for f in &r.new {
                    writeln!(out, "  + {f}")?;
                }
                for f in &r.resolved {
                    writeln!(out, "  - {f}")?;
                }
            }
        }
    }
    out.flush()?;
    Ok(ExitStatus::Clean)
}

fn import(config: &Config, args: &ImportArgs) -> anyhow::Result<ExitStatus> {
    let format: FeedFormat = args.format.parse().map_err(|e| anyhow!("{e}"))?;
    if args.source.is_some() && args.paths.len() > 1 {
        bail!(
            "--source names one source, but {} paths were given",
            args.paths.len()
        );
    }
    let store = config.open_store()?;
    let mut out = std::io::stdout().lock();
    for path in &args.paths {
        let name = match &args.source {
            Some(s) => s.clone(),
            None => source_name(path)?,
        };
        let location = path.display().to_string();
        let (stats, skipped) =
            import_one(&store, path, &location, format, &name, args.skip_invalid)?;
        print_stats(&mut out, &stats, skipped, &location)?;
    }
    out.flush()?;
    report_rematch(&rematch_stored(config, &store)?)?;
    Ok(ExitStatus::Clean)
}

fn print_stats(
    out: &mut impl Write,
    stats: &vigil_store::ImportStats,
    skipped: u64,
    location: &str,
) -> std::io::Result<()> {
    {
        let verb = if stats.unchanged {
            "unchanged"
        } else {
            "imported"
        };
        let mut extra = Vec::new();
        if stats.feed_reused {
            extra.push("the same feed bytes as the last import, not read again".to_owned());
        }
        if stats.duplicates > 0 {
            extra.push(format!("{} duplicate ids", stats.duplicates));
        }
        if skipped > 0 {
            extra.push(format!("{skipped} invalid skipped"));
        }
        let extra = if extra.is_empty() {
            String::new()
        } else {
            format!(" ({})", extra.join(", "))
        };
        writeln!(
            out,
            "{verb} {}: {} advisories from {location}{extra}",
            stats.source, stats.records,
        )?;
        let width = stats
            .ecosystems
            .iter()
            .map(|(e, _)| e.len())
            .max()
            .unwrap_or(0);
        for (eco, n) in &stats.ecosystems {
            writeln!(out, "  {eco:<width$}  {n:>7}")?;
        }
    }
    Ok(())
}

fn update(config: &Config, args: &UpdateArgs) -> anyhow::Result<ExitStatus> {
    use vigil_vulndb::fetch::{FetchOptions, Fetched, fetch};
    for name in &args.sources {
        if !config.db.sources.iter().any(|s| &s.name == name) {
            bail!("no source named {name:?} in db.sources");
        }
    }
    let selected: Vec<_> = config
        .db
        .sources
        .iter()
        .filter(|s| args.sources.is_empty() || args.sources.contains(&s.name))
        .collect();
    let store = config.open_store()?;
    let feeds = config.cache_dir.join("feeds");
    let mut out = std::io::stdout().lock();
    let mut failed = Vec::new();
    for source in selected {
        let opts = FetchOptions {
            sha256: source.sha256.clone(),
            ..FetchOptions::default()
        };
        let result = fetch(&source.url, &feeds, &opts)
            .map_err(anyhow::Error::from)
            .and_then(|fetched| {
                let path = match fetched {
                    Fetched::NotModified { path } | Fetched::Downloaded { path, .. } => path,
                };
                import_one(
                    &store,
                    &path,
                    &source.url,
                    source.format,
                    &source.name,
                    args.skip_invalid,
                )
            });
        match result {
            Ok((stats, skipped)) => print_stats(&mut out, &stats, skipped, &source.url)?,
            Err(e) => {
                tracing::error!("source {}: {e:#}", source.name);
                failed.push(source.name.clone());
            }
        }
    }
    out.flush()?;
    report_rematch(&rematch_stored(config, &store)?)?;
    if !failed.is_empty() {
        bail!(
            "{} of the sources failed to update ({}); their previous records are kept",
            failed.len(),
            failed.join(", ")
        );
    }
    Ok(ExitStatus::Clean)
}

/// `feeds/bookworm.json` -> `bookworm`; `osv/PyPI/all.zip` -> `PyPI` (osv.dev's layout).
fn source_name(path: &Path) -> anyhow::Result<String> {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty() && s != "." && s != "..");
    let name = match stem.as_deref() {
        Some("all") => path
            .parent()
            .and_then(Path::file_name)
            .map(|s| s.to_string_lossy().into_owned()),
        _ => stem,
    };
    name.or_else(|| {
        std::fs::canonicalize(path)
            .ok()
            .and_then(|p| p.file_name().map(|s| s.to_string_lossy().into_owned()))
    })
    .ok_or_else(|| {
        anyhow!(
            "cannot name a source after {}; pass --source NAME",
            path.display()
        )
    })
}

fn import_one(
    store: &Store,
    path: &Path,
    location: &str,
    format: FeedFormat,
    name: &str,
    skip_invalid: bool,
) -> anyhow::Result<(vigil_store::ImportStats, u64)> {
    // A feed that cannot be fingerprinted is imported without one: the reader then says
    // what is wrong with it, in its own words.
    let fingerprint = || {
        super::feed_digest::feed_digest(path, format, skip_invalid)
            .inspect_err(|e| tracing::debug!("no fingerprint of {}: {e}", path.display()))
            .ok()
    };
    let mut meta = SourceMeta {
        name: name.to_owned(),
        format: detect_format(path, format),
        location: location.to_owned(),
        feed_digest: None,
    };
    // Only a source imported from a fingerprinted feed can be skipped: the feed is then
    // fingerprinted first, and not read at all if it is the same. Otherwise the
    // fingerprint is taken beside the import, for the next time.
    let stored = store.block_on(store.db().status())?;
    let fingerprinted = stored
        .iter()
        .any(|s| s.name == name && s.feed_digest.is_some());
    if fingerprinted {
        meta.feed_digest = fingerprint();
        if let Some(stats) = store.block_on(store.db().reuse_unchanged_feed(&meta))? {
            return Ok((stats, 0));
        }
    }
    let rejected = || {
        format!(
            "import of {} rejected; source {name} is unchanged",
            path.display()
        )
    };
    let mut import = store.block_on(store.db().begin_import(meta))?;
    let bar = spinner(name);
    let mut skipped = 0u64;
    // Reading the feed (inflate, parse, serialise, compress) runs on its own thread while
    // this one writes the previous records: a bounded channel keeps memory flat.
    let db = store.db();
    // Three stages: one thread reads the feed (inflating zip entries), workers parse,
    // serialise and pack its documents, and this thread writes the records in the feed's
    // order (the import digest depends on it). Documents and records travel in numbered
    // chunks over bounded channels, so memory stays flat whatever the feed's size.
    const CHUNK: usize = 64;
    type Chunk = Vec<anyhow::Result<Option<Record>>>;
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    let (doc_tx, doc_rx) =
        std::sync::mpsc::sync_channel::<(u64, Vec<Result<Document, FeedError>>)>(workers * 2);
    // Shared by the workers only: when the last one stops, the reader's sends fail.
    let doc_rx = std::sync::Arc::new(std::sync::Mutex::new(doc_rx));
    // Prepared records queue up while the writer waits for the database to take a batch
    // (512 records): with room for 2,048 of them (about 16 MB), the workers keep working
    // meanwhile instead of blocking on a full queue and leaving a core idle.
    let (tx, rx) = std::sync::mpsc::sync_channel::<(u64, Chunk)>(32);
    let prepare = |doc: Result<Document, FeedError>, out: &mut Chunk| -> bool {
        let items = match doc {
            Ok(doc) => doc.into_items(),
            Err(e) => vec![Err(e)],
        };
        for item in items {
            let msg = match item {
                Ok(item) => db
                    .prepare(&item.advisory)
                    .with_context(|| format!("feed {}", item.location))
                    .map(Some),
                Err(e) if !e.is_fatal() && skip_invalid => {
                    tracing::warn!("skipped: {e}");
                    Ok(None)
                }
                Err(e) if !e.is_fatal() => Err(anyhow!(e)).context(Hint(
                    "pass --skip-invalid to import the other records and count the bad ones".into(),
                )),
                Err(e) => Err(anyhow!(e)),
            };
            let failed = msg.is_err();
            out.push(msg);
            if failed {
                return false;
            }
        }
        true
    };
    let read = std::thread::scope(|scope| {
        let late_fingerprint = (!fingerprinted).then(|| scope.spawn(fingerprint));
        scope.spawn(move || {
            let mut seq = 0;
            let mut chunk = Vec::with_capacity(CHUNK);
            for doc in vigil_vulndb::open_feed(path, format).documents() {
                chunk.push(doc);
                if chunk.len() == CHUNK {
                    let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
                    // A closed channel means the writer stopped on an error of its own.
                    if doc_tx.send((seq, full)).is_err() {
                        return;
                    }
                    seq += 1;
                }
            }
            let _ = doc_tx.send((seq, chunk));
        });
        for _ in 0..workers {
            let (tx, doc_rx, prepare) = (tx.clone(), doc_rx.clone(), &prepare);
            scope.spawn(move || {
                loop {
                    let next = doc_rx.lock().map(|rx| rx.recv());
                    let Ok(Ok((seq, docs))) = next else { return };
                    let mut out = Chunk::with_capacity(docs.len());
                    for doc in docs {
                        if !prepare(doc, &mut out) {
                            break;
                        }
                    }
                    if tx.send((seq, out)).is_err() {
                        return;
                    }
                }
            });
        }
        drop((tx, doc_rx));
        // Chunks arrive in any order; they are written in sequence.
        let mut waiting = std::collections::BTreeMap::new();
        let mut next_seq = 0u64;
        let ordered = rx.into_iter().flat_map(move |(seq, chunk)| {
            waiting.insert(seq, chunk);
            let mut ready = Vec::new();
            while let Some(chunk) = waiting.remove(&next_seq) {
                ready.push(chunk);
                next_seq += 1;
            }
            ready
        });
        let mut write = |chunks: &mut dyn Iterator<Item = Chunk>| {
            for chunk in chunks {
                store.block_on(async {
                    for msg in chunk {
                        match msg? {
                            Some(record) => {
                                import.add(record).await?;
                                bar.inc(1);
                            }
                            None => skipped += 1,
                        }
                    }
                    anyhow::Ok(())
                })?;
            }
            if import.seen() == 0 {
                bail!("{}: no advisories found (format {format})", path.display());
            }
            Ok(())
        };
        // `ordered` owns the receiver: it is dropped when `write` returns, which stops
        // the workers and then the reader if `write` stopped early.
        let written = write(&mut ordered.into_iter());
        if let Some(handle) = late_fingerprint {
            import.set_feed_digest(handle.join().ok().flatten());
        }
        written
    });
    if let Err(e) = read {
        bar.finish_and_clear();
        // Explicitly, inside the runtime: the source keeps its previous records.
        if let Err(r) = store.block_on(import.rollback()) {
            tracing::warn!("{r}");
        }
        return Err(e.context(rejected()));
    }
    bar.set_message("committing");
    let stats = store.block_on(import.commit()).with_context(rejected)?;
    bar.finish_and_clear();
    Ok((stats, skipped))
}

/// The format to record for `db status`: the one asked for, or for `auto` the one the
/// first feed file (in the reader's sorted order) looks like.
fn detect_format(path: &Path, format: FeedFormat) -> String {
    use std::io::Read;
    if format != FeedFormat::Auto {
        return format.as_str().to_owned();
    }
    let mut file = path.to_owned();
    while file.is_dir() {
        let Ok(rd) = std::fs::read_dir(&file) else {
            break;
        };
        let mut entries: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                let n = p
                    .file_name()
                    .map(|n| n.to_string_lossy().to_lowercase())
                    .unwrap_or_default();
                !n.starts_with('.')
                    && (p.is_dir()
                        || [".json", ".yaml", ".yml", ".zip"]
                            .iter()
                            .any(|x| n.ends_with(x)))
            })
            .collect();
        entries.sort();
        match entries.into_iter().next() {
            Some(p) => file = p,
            None => break,
        }
    }
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if name.to_lowercase().ends_with(".zip") {
        return FeedFormat::Osv.as_str().to_owned();
    }
    let mut prefix = Vec::new();
    if let Ok(f) = std::fs::File::open(&file) {
        let _ = f.take(64 << 10).read_to_end(&mut prefix);
    }
    vigil_vulndb::format::sniff(&name, &prefix)
        .unwrap_or(FeedFormat::Auto)
        .as_str()
        .to_owned()
}

fn spinner(name: &str) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {prefix} {pos} advisories {per_sec} {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.set_prefix(name.to_owned());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

fn age(t: SystemTime) -> Duration {
    SystemTime::now().duration_since(t).unwrap_or_default()
}

/// The `vigil db status --format json` document (also the server's `GET /api/v1/db/status`).
fn status_doc(
    config: &Config,
    sources: &[SourceStatus],
    last: Option<std::time::SystemTime>,
) -> serde_json::Value {
    let stale = last.is_none_or(|t| age(t) > config.db.max_age);
    let sources: Vec<serde_json::Value> = sources.iter().map(source_json).collect();
    serde_json::json!({
        "database": config.database.to_string(),
        "last_update": last.map(rfc3339),
        "stale": stale,
        "sources": sources,
    })
}

/// [`status_doc`] of the configured database, for the server.
pub fn status_json(config: &Config) -> anyhow::Result<serde_json::Value> {
    let store = config.open_store()?;
    let sources = store.block_on(store.db().status())?;
    let last = store.block_on(store.db().last_update())?;
    Ok(status_doc(config, &sources, last))
}

/// Imports one feed file as source `name` and answers what `vigil db import` prints, as
/// JSON (the server's `POST /api/v1/db/import`).
/// Re-matches the stored inventories of scanned images against the database just changed
/// (SPEC 5.5): every image's latest scan gets a successor against today's database,
/// without pulling the image. Nothing happens when the database version is unchanged.
fn rematch_stored(config: &Config, store: &Store) -> anyhow::Result<vigil_service::RematchSummary> {
    let summary = store
        .block_on(vigil_service::rematch(
            store.db(),
            config.db.max_age,
            &config.notify.webhooks,
            SystemTime::now(),
        ))
        .context("re-matching the stored inventories against the new database")?;
    if summary.images > 0 {
        tracing::info!("{}", summary.line());
    }
    Ok(summary)
}

/// The re-match summary on stderr (stdout keeps the import counts).
fn report_rematch(summary: &vigil_service::RematchSummary) -> std::io::Result<()> {
    if summary.images > 0 {
        writeln!(std::io::stderr(), "{}", summary.line())?;
    }
    Ok(())
}

pub fn import_json(
    config: &Config,
    path: &Path,
    format: &str,
    name: &str,
    skip_invalid: bool,
) -> anyhow::Result<serde_json::Value> {
    let format: FeedFormat = format.parse().map_err(|e| anyhow!("{e}"))?;
    let store = config.open_store()?;
    let (stats, skipped) = import_one(&store, path, name, format, name, skip_invalid)?;
    rematch_stored(config, &store)?;
    let ecosystems: serde_json::Map<String, serde_json::Value> = stats
        .ecosystems
        .iter()
        .map(|(e, n)| (e.clone(), (*n).into()))
        .collect();
    Ok(serde_json::json!({
        "source": stats.source,
        "records": stats.records,
        "unchanged": stats.unchanged,
        "duplicates": stats.duplicates,
        "skipped": skipped,
        "ecosystems": ecosystems,
    }))
}

fn status(config: &Config, args: &StatusArgs) -> anyhow::Result<ExitStatus> {
    let store = config.open_store()?;
    let sources = store.block_on(store.db().status())?;
    let last = store.block_on(store.db().last_update())?;
    let mut out = std::io::stdout().lock();
    match args.format {
        OutputFormat::Json => {
            let doc = status_doc(config, &sources, last);
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
        OutputFormat::Table => {
            writeln!(out, "database: {}", config.database)?;
            status_table(&mut out, &sources)?;
        }
    }
    out.flush()?;
    drop(out);
    warn_stale(config, last);
    Ok(ExitStatus::Clean)
}

#[allow(clippy::print_stderr)] // a warning for the person at the terminal, beside the data
fn warn_stale(config: &Config, last: Option<SystemTime>) {
    match last {
        None => eprintln!(
            "warning: the vulnerability database is empty\nhint: run `vigil db update`, or `vigil db import PATH` offline"
        ),
        Some(t) if age(t) > config.db.max_age => eprintln!(
            "warning: the vulnerability database was last updated {} ago, more than db.max_age ({})\nhint: run `vigil db update`",
            humantime::format_duration(Duration::from_secs(age(t).as_secs())),
            humantime::format_duration(config.db.max_age)
        ),
        Some(_) => {}
    }
}

fn source_json(s: &SourceStatus) -> serde_json::Value {
    let ecosystems: serde_json::Map<String, serde_json::Value> = s
        .ecosystems
        .iter()
        .map(|(e, n)| (e.clone(), (*n).into()))
        .collect();
    serde_json::json!({
        "name": s.name,
        "format": s.format,
        "location": s.location,
        "records": s.records,
        "ecosystems": ecosystems,
        "imported_at": rfc3339(s.imported_at),
        "checked_at": rfc3339(s.checked_at),
        "age_seconds": age(s.checked_at).as_secs(),
        "digest": format!("sha256:{}", s.digest),
        "feed_digest": s.feed_digest,
    })
}

fn status_table(out: &mut impl Write, sources: &[SourceStatus]) -> std::io::Result<()> {
    let header = [
        "SOURCE",
        "FORMAT",
        "RECORDS",
        "LAST IMPORT",
        "AGE",
        "DIGEST",
    ];
    let rows: Vec<[String; 6]> = sources
        .iter()
        .map(|s| {
            [
                s.name.clone(),
                s.format.clone(),
                s.records.to_string(),
                rfc3339(s.checked_at),
                humantime::format_duration(Duration::from_secs(age(s.checked_at).as_secs()))
                    .to_string(),
                format!("sha256:{}", &s.digest[..s.digest.len().min(12)]),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.len());
        }
    }
    let line = |out: &mut dyn Write, cells: [&str; 6]| -> std::io::Result<()> {
        let mut text = String::new();
        for (i, (c, w)) in cells.iter().zip(widths).enumerate() {
            if i == 2 {
                text.push_str(&format!("{c:>w$}  "));
            } else {
                text.push_str(&format!("{c:<w$}  "));
            }
        }
        writeln!(out, "{}", text.trim_end())
    };
    line(out, header)?;
    for (r, s) in rows.iter().zip(sources) {
        line(
            out,
            [&r[0], &r[1], &r[2], &r[3], &r[4], &r[5]].map(|x| x.as_str()),
        )?;
        let ecos: Vec<String> = s
            .ecosystems
            .iter()
            .map(|(e, n)| format!("{e} {n}"))
            .collect();
        writeln!(out, "  ecosystems: {}", ecos.join(", "))?;
    }
    Ok(())
}

fn show(config: &Config, args: &ShowArgs) -> anyhow::Result<ExitStatus> {
    let store = config.open_store()?;
    let found = store.block_on(store.db().advisory(&args.id))?;
    if found.is_empty() {
        bail!("no advisory has the id or alias {}", args.id);
    }
    let mut out = std::io::stdout().lock();
    match args.format {
        OutputFormat::Json => {
            let doc: Vec<serde_json::Value> = found
                .iter()
                .map(|s| serde_json::json!({"source": s.source, "advisory": s.advisory}))
                .collect();
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
        OutputFormat::Table => {
            for (i, s) in found.iter().enumerate() {
                if i > 0 {
                    writeln!(out)?;
                }
                show_text(&mut out, s)?;
            }
        }
    }
    out.flush()?;
    Ok(ExitStatus::Clean)
}

fn show_text(out: &mut impl Write, s: &StoredAdvisory) -> std::io::Result<()> {
    let a = &s.advisory;
    writeln!(out, "{} (source {})", a.id, s.source)?;
    let list =
        |v: &[vigil_vulndb::VulnId]| v.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(", ");
    if !a.aliases.is_empty() {
        writeln!(out, "aliases: {}", list(&a.aliases))?;
    }
    if !a.upstream.is_empty() {
        writeln!(out, "upstream: {}", list(&a.upstream))?;
    }
    for (k, v) in [
        ("published", &a.published),
        ("modified", &a.modified),
        ("withdrawn", &a.withdrawn),
        ("summary", &a.summary),
    ] {
        if let Some(v) = v {
            writeln!(out, "{k}: {v}")?;
        }
    }
    let severity = vigil_vulndb::severity::assess(a);
    writeln!(out, "severity: {}", severity_text(&severity))?;
    for v in &a.severity {
        writeln!(out, "  {} {}", v.kind.osv_name(), v.score)?;
    }
    writeln!(out, "affected:")?;
    for af in &a.affected {
        let mut parts = Vec::new();
        for r in &af.ranges {
            let events: Vec<String> = r
                .events
                .iter()
                .map(|e| {
                    let k = match e {
                        Event::Introduced(_) => "introduced",
                        Event::Fixed(_) => "fixed",
                        Event::LastAffected(_) => "last_affected",
                        Event::Limit(_) => "limit",
                    };
                    format!("{k} {}", e.version())
                })
                .collect();
            parts.push(events.join(", "));
        }
        if !af.versions.is_empty() {
            parts.push(format!("{} listed versions", af.versions.len()));
        }
        if let Some(state) = af.fix_state {
            parts.push(state.as_str().to_owned());
        }
        writeln!(
            out,
            "  {} {}: {}",
            af.package.ecosystem,
            af.package.name,
            parts.join("; ")
        )?;
    }
    if !a.references.is_empty() {
        writeln!(out, "references:")?;
        for r in &a.references {
            writeln!(out, "  {}", r.url)?;
        }
    }
    Ok(())
}

fn severity_text(
    (severity, from): &(vigil_vulndb::Severity, vigil_vulndb::SeveritySource),
) -> String {
    use vigil_vulndb::SeveritySource;
    match from {
        SeveritySource::Label { label } => format!("{} (label {label})", severity.as_str()),
        SeveritySource::Cvss { kind, score, .. } => {
            format!(
                "{} (CVSS {} base score {score:.1})",
                severity.as_str(),
                kind.osv_name()
            )
        }
        SeveritySource::None => severity.as_str().to_owned(),
    }
}

/// Downloads and imports one configured source for the install of the
/// vulnerability-scanning integration (`vigil serve`, issue 10); the answer is one line
/// (what `db update` prints first for it). A failure says whether trying again may help: a
/// network failure, a server error or a timeout may pass; a checksum mismatch, a missing
/// file (4xx) or a feed that does not import will not.
pub fn update_source(
    config: &Config,
    name: &str,
    timeout: std::time::Duration,
) -> Result<String, vigil_server::integrations::StepError> {
    use vigil_server::integrations::StepError;
    use vigil_vulndb::fetch::{FetchError, FetchOptions, Fetched, fetch};
    let source = config
        .db
        .sources
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| StepError::permanent(format!("no source named {name:?} in db.sources")))?;
    let defaults = FetchOptions::default();
    let opts = FetchOptions {
        sha256: source.sha256.clone(),
        timeout: timeout
            .min(defaults.timeout)
            .max(std::time::Duration::from_secs(1)),
        ..defaults
    };
    let fetched = fetch(&source.url, &config.cache_dir.join("feeds"), &opts).map_err(|e| {
        let transient = match &e {
            FetchError::Request { .. } | FetchError::Interrupted { .. } | FetchError::Io { .. } => {
                true
            }
            FetchError::Status { status, .. } => *status >= 500 || matches!(status, 408 | 429),
            FetchError::BadRange { .. } => true,
            FetchError::Checksum { .. } | FetchError::TooLarge { .. } => false,
        };
        StepError {
            message: format!("source {name}: {e}"),
            transient,
        }
    })?;
    let (path, how) = match fetched {
        Fetched::NotModified { path } => (path, "not modified since the last download"),
        Fetched::Downloaded { path, .. } => (path, "downloaded"),
    };
    let store = config
        .open_store()
        .map_err(|e| StepError::transient(format!("source {name}: {e:#}")))?;
    let (stats, _) = import_one(&store, &path, &source.url, source.format, name, false)
        .map_err(|e| StepError::permanent(format!("source {name} ({}): {e:#}", source.url)))?;
    let verb = if stats.unchanged {
        "unchanged"
    } else {
        "imported"
    };
    let rematched = rematch_stored(config, &store)
        .map_err(|e| StepError::transient(format!("source {name}: {e:#}")))?;
    let rematched = if rematched.images > 0 {
        format!("; {}", rematched.line())
    } else {
        String::new()
    };
    Ok(format!(
        "{how}; {verb} {} advisories from {}{rematched}",
        stats.records, source.url
    ))
}
