//! `postlaunch ingest`: NDJSON files (plain or gzip, `-` for stdin) into one lake table.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use anyhow::Context;

use super::{parse_size, thousands, CliError, LakeArgs};
use crate::lake::sink::SinkStats;
use crate::pipeline::{self, IngestOptions, IngestReport};
use crate::source::file::{self, ChunkLimits};

/// Ingest NDJSON files into a lake table.
///
/// Each line is one JSON event. Valid events are stored under
/// `<lake>/<table>/date=…/hour=…/`; invalid ones go to `<lake>/_rejected/` with the reason and
/// their file and line. Re-running on the same file stores nothing twice: the commit log knows
/// which lines are in the lake (an interrupted run resumes where it stopped).
///
/// Example: postlaunch ingest --lake ./lake --table requests access-2026-11-27.ndjson.gz
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub lake: LakeArgs,
    /// Table the events belong to (see `postlaunch schema`).
    #[arg(long, short = 't')]
    pub table: String,
    /// NDJSON files; `.gz` is detected; `-` reads stdin.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Memory for buffered rows; a checkpoint (files + commit) is written when it is full.
    #[arg(long, default_value = "192MiB", value_parser = parse_size, env = "POSTLAUNCH_MEMORY_BUDGET")]
    pub memory_budget: usize,
    /// Records longer than this are rejected (only this much of them is kept).
    #[arg(long, default_value = "1MiB", value_parser = parse_size)]
    pub max_record_bytes: usize,
    /// Decoder threads (default: the number of cores).
    #[arg(long)]
    pub workers: Option<usize>,
}

pub fn run(args: Args, quiet: bool) -> anyhow::Result<()> {
    let catalog = args.lake.catalog()?;
    let table = catalog
        .get(&args.table)
        .map_err(|e| CliError::Usage(format!("--table: {e}")))?
        .clone();
    if args.max_record_bytes < 64 {
        return Err(CliError::Usage(format!(
            "--max-record-bytes is {}, expected at least 64 bytes",
            args.max_record_bytes
        ))
        .into());
    }
    let mut inputs = Vec::new();
    for path in &args.files {
        inputs.push(file::open(path).map_err(|e| CliError::Usage(e.to_string()))?);
    }
    let total: Option<u64> = inputs.iter().map(|i| i.total_bytes).sum();
    let counters: Vec<_> = inputs.iter().map(|i| i.bytes_read.clone()).collect();
    let bar = super::progress_bar(
        total,
        quiet,
        "{spinner} ingesting {msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    );
    bar.set_message(table.name.clone());
    let limits = ChunkLimits {
        max_record_bytes: args.max_record_bytes,
        ..ChunkLimits::default()
    };
    let opts = IngestOptions {
        memory_budget: args.memory_budget,
        workers: args.workers.unwrap_or(IngestOptions::default().workers),
    };
    let progress = bar.clone();
    let producer: pipeline::Producer = Box::new(move |coverage, emit| {
        let mut skipped = 0;
        for mut input in inputs {
            let covered = coverage(&input.source_key, None);
            let already = |line: i64| covered.as_ref().is_some_and(|c| c.contains(line));
            let counters = counters.clone();
            let progress = progress.clone();
            let mut emit_with_progress = |chunk| {
                progress.set_position(counters.iter().map(|c| c.load(Ordering::Relaxed)).sum());
                emit(chunk)
            };
            let stats = file::read_chunks(&mut input, limits, &already, &mut emit_with_progress)
                .with_context(|| format!("reading `{}`", input.display))?;
            skipped += stats.skipped;
        }
        Ok(skipped)
    });
    let lake = args.lake.lake.clone();
    let report = pipeline::run(&lake, Arc::clone(&table), opts, producer)?;
    bar.finish_and_clear();
    if !quiet {
        eprintln!("{}", summary(&report));
    }
    Ok(())
}

/// The one-line summary printed after an ingest.
pub fn summary(r: &IngestReport) -> String {
    let SinkStats {
        records,
        stored,
        rejected,
        bytes,
        files,
        ref unknown_fields,
        ..
    } = r.stats;
    let secs = r.elapsed.as_secs_f64().max(1e-9);
    let mut s = format!(
        "{}: {} records read, {} stored, {} rejected, {} skipped (already in the lake); {} files; {:.2} s, {:.0} records/s, {:.1} MiB/s",
        r.table,
        thousands(records + r.skipped),
        thousands(stored),
        thousands(rejected),
        thousands(r.skipped),
        files,
        secs,
        records as f64 / secs,
        bytes as f64 / secs / 1048576.0
    );
    if !unknown_fields.is_empty() {
        let list: Vec<_> = unknown_fields
            .iter()
            .map(|(k, c)| format!("`{k}` ×{}", thousands(*c)))
            .collect();
        s.push_str(&format!("; unknown fields ignored: {}", list.join(", ")));
    }
    if rejected > 0 {
        s.push_str(&format!(
            "\n  see why: postlaunch sql \"SELECT position, reason FROM _rejected WHERE target_table = '{}' ORDER BY received_at DESC LIMIT 20\"",
            r.table
        ));
    }
    s
}
