//! `postlaunch hourly` (one run, for cron or a backfill) and `postlaunch run` (the daemon that
//! runs the job for each hour once it has closed and its grace period has passed).

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::{progress_bar, thousands, CliError, LakeArgs};
use crate::config::{HourlyConfig, PipelineConfig};
use crate::hourly::{hour_start, last_due_hour, parse_hour, HourlyJob, HourlyReport};

/// Compute the hourly tables (`hourly_*`) of one hour or a range, then the daily and weekly
/// roll-ups (`daily_*`, `weekly_*`) of the days and weeks they touch.
///
/// Every query in `sql/hourly/` runs over the hour's partitions; each result replaces that
/// hour's partition of its table, so re-running is safe. Hours computed earlier whose raw data
/// changed since (late events) are found from the commit logs and recomputed too.
///
/// Without `--hour`, `--from` or `--all`: the previous hour (for cron, e.g. `5 * * * *`).
///
/// Examples:
///   postlaunch hourly --lake lake --hour 2026-11-27T13
///   postlaunch hourly --lake lake --from 2026-11-02T00 --to 2026-11-09T00
///   postlaunch hourly --lake lake --all
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(flatten)]
    pub lake: LakeArgs,
    /// Pipeline file whose `[hourly]` section sets apdex T, the baseline and the regression
    /// rules (default: built-in defaults).
    #[arg(long, env = "POSTLAUNCH_PIPELINE", value_name = "FILE")]
    pub pipeline: Option<PathBuf>,
    /// One hour, UTC: `2026-11-27T13`.
    #[arg(long, value_name = "HOUR", conflicts_with_all = ["from", "all"])]
    pub hour: Option<String>,
    /// First hour of a range (inclusive), UTC.
    #[arg(long, value_name = "HOUR", requires = "to", conflicts_with = "all")]
    pub from: Option<String>,
    /// End of the range (exclusive), UTC.
    #[arg(long, value_name = "HOUR", requires = "from")]
    pub to: Option<String>,
    /// Every hour that holds raw data.
    #[arg(long)]
    pub all: bool,
    /// Only this query of `sql/hourly/` or `sql/rollup/` (file name without `.sql`, e.g.
    /// `service_metrics`, `feedback`); repeatable. Default: all of them.
    #[arg(long, value_name = "NAME")]
    pub only: Vec<String>,
    /// Skip the daily and weekly roll-ups.
    #[arg(long)]
    pub no_rollups: bool,
}

/// Run the hourly job as a daemon: each hour is computed once it has closed and
/// `[hourly].grace` has passed, plus hours that received late events. Stops on SIGINT/SIGTERM.
///
/// On start it catches up on every hour with data that was never computed. After each run it
/// measures every optimisation of the optimisations file whose deployment finished 48 hours ago
/// and has no stored impact (`deployment_impact`); a backfire is a P3 alert
/// (`optimization_backfire`, in `alerts`).
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub lake: LakeArgs,
    /// Pipeline file (`[hourly]` settings and the lake path).
    #[arg(long, env = "POSTLAUNCH_PIPELINE", value_name = "FILE")]
    pub pipeline: PathBuf,
    /// Compute what is due now, then exit (for tests and one-shot catch-up).
    #[arg(long)]
    pub once: bool,
    /// How often to look for due hours and late data.
    #[arg(long, default_value = "1m", value_parser = super::parse_duration)]
    pub interval: std::time::Duration,
    /// Optimisations to measure 48 hours after shipping [default: pipelines/optimizations.toml
    /// when it exists].
    #[arg(long, env = "POSTLAUNCH_OPTIMIZATIONS", value_name = "FILE")]
    pub optimizations: Option<PathBuf>,
}

/// `postlaunch run`'s optimisation step: measures what is due, raises a P3 alert per backfire.
async fn measure_optimizations(
    job: &HourlyJob,
    file: &crate::impact::config::OptimizationsFile,
    now: chrono::DateTime<chrono::Utc>,
    quiet: bool,
) -> anyhow::Result<()> {
    let session = crate::query::LakeSession::open(&job.lake, &job.catalog).await?;
    let (reports, failed) =
        crate::optimizations::measure_due(&session, &job.lake, file, now).await?;
    for r in &reports {
        let d = &r.deployment;
        tracing::info!(deployment = %format!("{}@{}", d.service, d.version), backfire = r.backfire, verdict = %r.verdict, "Optimisation measured 48 hours after shipping.");
        if !quiet {
            eprintln!(
                "measured {}@{} ({}): {}",
                d.service, d.version, d.change_id, r.verdict
            );
        }
    }
    for f in &failed {
        if !quiet {
            eprintln!("not measured (tried again next run): {f}");
        }
    }
    let mut alerts = crate::optimizations::backfire_alerts(&reports, now);
    let firing = crate::optimizations::firing_backfires(&session).await?;
    alerts.extend(crate::optimizations::decided_backfires(file, &firing, now));
    crate::alert::slow::deliver(&job.lake, &mut alerts, now)?;
    Ok(())
}

/// The pipeline file, if any; its `[hourly]` settings (defaults without one); and the lake by the
/// one rule (`--lake` > `POSTLAUNCH_LAKE` > the file's `lake` > `./lake`).
fn load_hourly(
    path: Option<&PathBuf>,
    lake: &LakeArgs,
    catalog: &crate::schema::Catalog,
) -> anyhow::Result<(HourlyConfig, PathBuf)> {
    let cfg = match path {
        None => None,
        Some(p) => Some(PipelineConfig::load(p, catalog).map_err(CliError::config)?),
    };
    let lake = lake.resolve(cfg.as_ref());
    Ok((cfg.map(|c| c.hourly).unwrap_or_default(), lake))
}

fn hours_arg(args: &Args, job: &HourlyJob) -> anyhow::Result<BTreeSet<i64>> {
    let usage = |e: String| CliError::Usage(e);
    if let Some(h) = &args.hour {
        return Ok([parse_hour(h).map_err(usage)?].into());
    }
    if let (Some(f), Some(t)) = (&args.from, &args.to) {
        let (f, t) = (parse_hour(f).map_err(usage)?, parse_hour(t).map_err(usage)?);
        if f >= t {
            return Err(CliError::Usage(format!(
                "--from `{}` must be before --to `{}` (the range is [from, to))",
                args.from.as_deref().unwrap_or_default(),
                args.to.as_deref().unwrap_or_default()
            ))
            .into());
        }
        return Ok((f..t).collect());
    }
    if args.all {
        return Ok(job.hours_with_data()?);
    }
    Ok([last_due_hour(chrono::Utc::now(), std::time::Duration::ZERO)].into())
}

fn print_report(r: &HourlyReport, quiet: bool) {
    if quiet {
        return;
    }
    eprintln!(
        "hourly: {} hours computed ({} recomputed for late data), {} days and {} weeks rolled up, {} result rows",
        r.hours,
        r.late,
        r.days,
        r.weeks,
        thousands(r.rows)
    );
    for s in &r.skipped {
        eprintln!("  skipped {s}");
    }
}

pub fn run(args: Args, quiet: bool) -> anyhow::Result<()> {
    let catalog = args.lake.catalog()?;
    let (cfg, lake) = load_hourly(args.pipeline.as_ref(), &args.lake, &catalog)?;
    if !lake.is_dir() {
        return Err(CliError::Usage(format!("--lake `{}` does not exist", lake.display())).into());
    }
    let job = HourlyJob {
        lake,
        catalog,
        cfg,
        only: args.only.clone(),
        no_rollups: args.no_rollups,
    };
    job.check_only().map_err(CliError::Usage)?;
    let hours = hours_arg(&args, &job)?;
    let runtime = super::runtime()?;
    let bar = progress_bar(
        Some(hours.len() as u64),
        quiet,
        "{spinner} hourly {pos}/{len} hours [{elapsed_precise}] {wide_bar} {msg}",
    );
    let report = runtime.block_on(job.run(&hours, |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    }))?;
    bar.finish_and_clear();
    print_report(&report, quiet);
    Ok(())
}

pub fn run_daemon(args: RunArgs, quiet: bool) -> anyhow::Result<()> {
    let catalog = args.lake.catalog()?;
    let (cfg, lake) = load_hourly(Some(&args.pipeline), &args.lake, &catalog)?;
    if !lake.is_dir() {
        return Err(CliError::Usage(format!("lake `{}` does not exist", lake.display())).into());
    }
    let grace = cfg.grace;
    // the slow alert rules (P4 anomalies and trends) of the pipeline's alerts file
    let pipeline = PipelineConfig::load(&args.pipeline, &catalog).map_err(CliError::config)?;
    let slow = super::ingest::alert_rules(&pipeline, &args.pipeline)?
        .map(|(_, rules)| rules)
        .filter(|r| !r.anomalies.is_empty() || !r.trends.is_empty());
    use crate::config::ConfigFile;
    let optimizations = match &args.optimizations {
        Some(p) => {
            Some(crate::impact::config::OptimizationsFile::load(p).map_err(CliError::config)?)
        }
        None => {
            let default = std::path::Path::new("pipelines/optimizations.toml");
            match default.is_file() {
                true => Some(
                    crate::impact::config::OptimizationsFile::load(default)
                        .map_err(CliError::config)?,
                ),
                false => None,
            }
        }
    };
    let job = HourlyJob {
        lake,
        catalog,
        cfg,
        only: Vec::new(),
        no_rollups: false,
    };
    let runtime = super::runtime()?;
    let mut first = true;
    runtime.block_on(async move {
        let shutdown = super::ingest::shutdown_signal();
        tokio::pin!(shutdown);
        loop {
            let now = chrono::Utc::now();
            let due = last_due_hour(now, grace);
            let hours = job.due_hours(now, grace)?;
            let report = job.run(&hours, |_, _| {}).await?;
            if report.hours > 0 {
                tracing::info!(hours = report.hours, late = report.late, rows = report.rows, last = %hour_start(due), "Hourly job ran.");
                print_report(&report, quiet);
                if let Some(rules) = &slow {
                    let session = crate::query::LakeSession::open(&job.lake, &job.catalog).await?;
                    let n = crate::alert::slow::deliver_after_hour(&job.lake, &session, rules, due * crate::lake::layout::HOUR_MICROS, now).await?;
                    tracing::info!(hour = %hour_start(due), transitions = n, "Slow alert rules (anomalies, trends) evaluated.");
                }
            }
            if let (Some(file), true) = (&optimizations, report.hours > 0 || first) {
                measure_optimizations(&job, file, now, quiet).await?;
            }
            first = false;
            if args.once {
                return Ok(());
            }
            tokio::select! {
                _ = &mut shutdown => return Ok(()),
                _ = tokio::time::sleep(args.interval) => {}
            }
        }
    })
}
