//! `postlaunch ingest`: NDJSON files (plain or gzip, `-` for stdin) into one lake table.

use std::path::PathBuf;
use std::sync::Arc;

use super::{parse_size, thousands, CliError, LakeArgs};
use crate::alert::live::{LiveAlerts, LogDeliver, MetricsDeliver, TableDeliver};
use crate::alert::AlertsFile;
use crate::config::ConfigFile;
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
    #[arg(long, short = 't', required_unless_present = "pipeline")]
    pub table: Option<String>,
    /// NDJSON files; `.gz` is detected; `-` reads stdin.
    #[arg(value_name = "FILE", required_unless_present = "pipeline")]
    pub files: Vec<PathBuf>,
    /// Consume Kafka topics as described by a pipeline file (`pipelines/*.toml`) until SIGINT or
    /// SIGTERM, exactly once into the lake. `--lake`, when given, overrides the file's `lake`.
    /// When the file names alert rules (`alerts = "alerts.toml"`), they are evaluated on the
    /// stream and every transition is logged (warnings for firing and escalations).
    #[arg(long, value_name = "PIPELINE.toml", conflicts_with_all = ["table", "files"], env = "POSTLAUNCH_PIPELINE")]
    pub pipeline: Option<PathBuf>,
    /// With --pipeline: stop by itself (flush, commit, exit 0) once every assigned partition has
    /// been read to the end it had at start — a backfill, or a benchmark run.
    #[arg(long, requires = "pipeline")]
    pub exit_at_end: bool,
    /// Memory for buffered rows; a checkpoint (files + commit) is written when it is full
    /// [default: 192MiB; with --pipeline, the file's `memory_budget`, which this overrides].
    #[arg(long, value_parser = parse_size, env = "POSTLAUNCH_MEMORY_BUDGET", value_name = "SIZE")]
    pub memory_budget: Option<usize>,
    /// With --pipeline: address of the Prometheus `/metrics` endpoint, overriding the file's
    /// `metrics.listen` (`""` disables it). Give each instance on one machine its own port.
    #[arg(
        long,
        requires = "pipeline",
        env = "POSTLAUNCH_METRICS_LISTEN",
        value_name = "ADDR:PORT"
    )]
    pub metrics_listen: Option<String>,
    /// Records longer than this are rejected (only this much of them is kept).
    #[arg(long, default_value = "1MiB", value_parser = parse_size)]
    pub max_record_bytes: usize,
    /// Decoder threads (default: the number of cores).
    #[arg(long)]
    pub workers: Option<usize>,
}

pub fn run(args: Args, quiet: bool) -> anyhow::Result<()> {
    if let Some(pipeline) = &args.pipeline {
        return run_kafka(&args, pipeline, quiet);
    }
    let catalog = args.lake.catalog()?;
    let table_name = args.table.as_deref().unwrap_or_default();
    let table = catalog
        .get(table_name)
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
        inputs.push(file::open(path).map_err(CliError::usage)?);
    }
    let total: Option<u64> = inputs.iter().map(|i| i.total_bytes).sum();
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
        memory_budget: args
            .memory_budget
            .unwrap_or(IngestOptions::default().memory_budget),
        workers: args.workers.unwrap_or(IngestOptions::default().workers),
    };
    let progress = bar.clone();
    let lake = args.lake.path();
    let report = pipeline::files(
        &lake,
        Arc::clone(&table),
        opts,
        inputs,
        limits,
        move |bytes| progress.set_position(bytes),
    )?;
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

/// `ingest --pipeline`: Kafka until SIGINT/SIGTERM.
fn run_kafka(args: &Args, path: &std::path::Path, quiet: bool) -> anyhow::Result<()> {
    let catalog = args.lake.catalog()?;
    let mut cfg = crate::config::PipelineConfig::load(path, &catalog).map_err(CliError::config)?;
    // precedence: the file < POSTLAUNCH_* < flag (clap folds the last two)
    if let Some(budget) = args.memory_budget {
        if cfg.flush.max_bytes > budget {
            return Err(CliError::Usage(format!(
                "--memory-budget is {budget} bytes, less than the pipeline's `flush.max_bytes` ({}); expected at least that",
                cfg.flush.max_bytes
            ))
            .into());
        }
        cfg.memory_budget = budget;
    }
    let metrics_flag = args.metrics_listen.is_some();
    if let Some(listen) = &args.metrics_listen {
        cfg.metrics.listen = listen.clone();
    }
    let lake = args.lake.resolve(Some(&cfg));
    tracing::info!(
        pipeline = %path.display(),
        lake = %lake.display(),
        memory_budget = cfg.memory_budget,
        metrics_listen = %cfg.metrics.listen,
        "Starting the Kafka ingest."
    );
    let rules = alert_rules(&cfg, path)?;
    let metrics = crate::metrics::Metrics::default();
    let runtime = super::runtime()?;
    let workers = args.workers.unwrap_or(IngestOptions::default().workers);
    let exit_at_end = args.exit_at_end;
    let (summary, alerts) = runtime.block_on(async move {
        if !cfg.metrics.listen.is_empty() {
            let origin = if metrics_flag {
                "--metrics-listen / POSTLAUNCH_METRICS_LISTEN"
            } else {
                "metrics.listen"
            };
            let addr: std::net::SocketAddr = cfg.metrics.listen.parse().map_err(|_| {
                let message = format!(
                    "{origin} is `{}`, expected `address:port` such as `127.0.0.1:9464` (or \"\" to disable)",
                    cfg.metrics.listen
                );
                if metrics_flag {
                    CliError::Usage(message)
                } else {
                    CliError::Config(message)
                }
            })?;
            let m = metrics.clone();
            let listener_check = std::net::TcpListener::bind(addr).map_err(|e| {
                CliError::Config(format!(
                    "{origin} `{addr}`: cannot listen: {e}. Another instance on this machine? Give each its own port with --metrics-listen 127.0.0.1:PORT or POSTLAUNCH_METRICS_LISTEN (\"\" disables the endpoint)"
                ))
            })?;
            drop(listener_check);
            tokio::spawn(async move {
                if let Err(e) = m.serve(addr).await {
                    tracing::error!(%addr, error = %e, "The metrics endpoint stopped.");
                }
            });
        }
        let alerts = match &rules {
            Some((file, rules)) => {
                Some(live_alerts(file, rules, &lake, &catalog, &metrics).await?)
            }
            None => None,
        };
        let observers: Vec<Arc<dyn crate::pipeline::observe::BatchObserver>> = match &alerts {
            Some((live, _, _)) => vec![live.clone()],
            None => Vec::new(),
        };
        let ingest = crate::pipeline::kafka::KafkaIngest {
            cfg,
            lake,
            catalog,
            workers,
            metrics,
            observers,
            exit_at_end,
        };
        let summary = ingest.run(shutdown_signal()).await?;
        anyhow::Ok((summary, alerts))
    })?;
    if let Some((live, delivery, notifier)) = alerts {
        // the last sender: the delivery thread ends once every transition is delivered, and
        // the notifier once it has sent what is due (the rest stays queued for the next start)
        drop(live);
        let _ = delivery.join();
        if let Some(n) = notifier {
            let _ = n.join();
        }
    }
    if !quiet && exit_at_end && summary.consumed == 0 {
        eprintln!("kafka: nothing new: every assigned partition was already in the lake");
    } else if !quiet {
        eprintln!(
            "kafka: {} records consumed, {} stored, {} rejected in {} commits{}",
            thousands(summary.consumed),
            thousands(summary.stored),
            thousands(summary.rejected),
            summary.commits,
            if summary.dropped_stale > 0 {
                format!(
                    "; {} re-read after rebalances",
                    thousands(summary.dropped_stale)
                )
            } else {
                String::new()
            }
        );
    }
    Ok(())
}

/// The pipeline file's alert rules (`alerts`, relative to the file), loaded and checked.
pub(super) fn alert_rules(
    cfg: &crate::config::PipelineConfig,
    path: &std::path::Path,
) -> Result<Option<(PathBuf, AlertsFile)>, CliError> {
    let Some(rel) = &cfg.alerts else {
        return Ok(None);
    };
    let file = path.parent().unwrap_or(std::path::Path::new(".")).join(rel);
    let rules = AlertsFile::load(&file).map_err(CliError::config)?;
    Ok(Some((file, rules)))
}

/// The live alert evaluation: the alerts still firing in the lake's `alerts` table restored, the
/// observer for the ingest, and the delivery thread (transitions logged and appended to
/// `alerts`).
#[allow(clippy::type_complexity)]
async fn live_alerts(
    file: &std::path::Path,
    rules: &AlertsFile,
    lake: &std::path::Path,
    catalog: &crate::schema::Catalog,
    metrics: &crate::metrics::Metrics,
) -> anyhow::Result<(
    Arc<LiveAlerts>,
    std::thread::JoinHandle<()>,
    Option<std::thread::JoinHandle<()>>,
)> {
    let notify = crate::notify::config::NotifyFile::load_notify(file).map_err(CliError::config)?;
    let active = if lake.join(crate::alert::output::TABLE).is_dir() {
        let session = crate::query::LakeSession::open(lake, catalog).await?;
        crate::alert::state::current(&session, crate::alert::state::ACTIVE).await?
    } else {
        Vec::new()
    };
    let mut to: Vec<Box<dyn crate::alert::live::Deliver>> = vec![Box::new(LogDeliver)];
    // the notification queue before the `alerts` table: a crash between the two re-decides the
    // transition after the restart (the queue does not send it twice) rather than restoring an
    // alert nobody was told about
    let mut notifier = None;
    if !notify.channels().is_empty() {
        let restored = active
            .iter()
            .filter(|a| a.firing())
            .map(crate::notify::Alert::restored)
            .collect();
        let (deliver, thread) =
            crate::notify::worker::start(lake, notify.clone(), restored, Some(metrics.clone()))?;
        to.push(Box::new(deliver));
        notifier = Some(thread);
        let channels: Vec<&str> = notify.channels().iter().map(|(c, _)| c.name()).collect();
        tracing::info!(channels = %channels.join(", "), "Alerts are notified (queue in the lake's .notify folder).");
    }
    // incidents before the `alerts` table too: a transition decided again after a crash records
    // nothing twice (its source is the transition), one lost with the crash is decided again
    let incidents =
        crate::incident::config::IncidentsFile::load_incidents(file).map_err(CliError::config)?;
    if !incidents.open_on.is_empty() {
        let severities: Vec<String> = incidents.open_on.iter().map(|s| s.to_string()).collect();
        to.push(Box::new(crate::incident::live::IncidentDeliver::new(
            lake.to_path_buf(),
            catalog.clone(),
            incidents,
        )?));
        tracing::info!(severities = %severities.join(", "), "Alerts of these severities open incidents (the lake's `incidents` table).");
    }
    to.push(Box::new(TableDeliver {
        lake: lake.to_path_buf(),
    }));
    to.push(Box::new(MetricsDeliver::new(metrics.clone())));
    let (live, delivery) = LiveAlerts::start(
        rules,
        &active,
        to,
        Some(crate::alert::silence::Silencer::new(lake.to_path_buf())),
        Some(metrics.clone()),
    )
    .map_err(CliError::Config)?;
    tracing::info!(
        rules = %file.display(),
        count = rules.rules.len(),
        restored = active.iter().filter(|a| a.firing()).count(),
        "Alert rules are evaluated on the stream (transitions are logged and stored in `alerts`)."
    );
    Ok((live, delivery, notifier))
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(t) => t,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
