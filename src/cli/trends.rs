//! `postlaunch trends`: this week against last week (or the last 30 days against the launch),
//! sorted by the size of the change.

use chrono::Utc;

use super::{parse_time, CliError, LakeArgs};
use crate::config::ConfigFile;
use crate::query::LakeSession;
use crate::report::table::{self as output, Format};
use crate::trends::{self, output::TrendTable};

/// Week-over-week trends of the key metrics: requests, error rate and p95 per service, web
/// vitals p75, active users, conversion, revenue and the adoption of every event.
///
/// Each row has both periods' values, the absolute and relative change and, for rates, a
/// two-proportion z-test p-value (a small p-value: the change is unlikely to be noise). Rows are
/// sorted by the size of the relative change and stored in `weekly_trends`.
///
/// With --monthly: the monthly review, the 30 days before --at (default: now) against the launch
/// range (`[hourly.baseline]` `from`/`to` of the pipeline file), stored in `monthly_review`.
///
/// Reads the hourly tables: run `postlaunch hourly` over both periods first.
///
/// Examples:
///   postlaunch trends --lake lake                  # the latest week in the weekly roll-ups
///   postlaunch trends --lake lake --week 2026-W46 --format csv
///   postlaunch trends --lake lake --monthly --pipeline pipelines/demo.toml --at 2026-11-16T00:00:00Z
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(flatten)]
    pub lake: LakeArgs,
    /// ISO week, e.g. `2026-W46` (default: the latest week in the weekly roll-ups).
    #[arg(long, value_name = "YYYY-Www")]
    pub week: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table, env = "POSTLAUNCH_FORMAT")]
    pub format: Format,
    /// Print only; do not store the rows.
    #[arg(long)]
    pub no_write: bool,
    /// The monthly review instead: the last 30 days against the launch range.
    #[arg(long, conflicts_with = "week", requires = "pipeline")]
    pub monthly: bool,
    /// Pipeline file with the launch range (`[hourly.baseline]` `from`, `to`).
    #[arg(long, env = "POSTLAUNCH_PIPELINE", value_name = "FILE")]
    pub pipeline: Option<std::path::PathBuf>,
    /// Print the `opportunities` of the period instead of the trends (both are stored).
    #[arg(long)]
    pub opportunities: bool,
    /// Funnels file: adds each funnel's overall conversion, and its drop-off steps to the
    /// opportunities (default: none).
    #[arg(long, env = "POSTLAUNCH_FUNNELS", value_name = "FILE")]
    pub funnels: Option<std::path::PathBuf>,
    /// The analysis time (default: now): the end of the monthly review's 30 days, and the time
    /// against which a funnel's conversion window counts as still open.
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
}

pub fn run(args: Args, quiet: bool) -> anyhow::Result<()> {
    let catalog = args.lake.catalog()?;
    let pipeline = match &args.pipeline {
        Some(path) => {
            Some(crate::config::PipelineConfig::load(path, &catalog).map_err(CliError::config)?)
        }
        None => None,
    };
    let lake = args.lake.resolve(pipeline.as_ref());
    let funnels = match &args.funnels {
        Some(path) => {
            crate::funnel::config::FunnelsFile::load(path)
                .map_err(CliError::config)?
                .funnels
        }
        None => Vec::new(),
    };
    let at = match &args.at {
        Some(a) => Some(parse_time(a).map_err(|e| CliError::Usage(format!("--at: {e}")))?),
        None => None,
    };
    let runtime = super::runtime()?;
    runtime.block_on(async move {
        let session = LakeSession::open(&lake, &catalog)
            .await
            .map_err(CliError::usage)?;
        let (periods, table, what) = match &pipeline {
            Some(cfg) if args.monthly => {
                let p = trends::monthly_periods(&cfg.hourly, at.unwrap_or_else(Utc::now))
                    .map_err(|e| CliError::Config(format!("`{}`: {e}", args.pipeline.as_deref().unwrap_or(std::path::Path::new("")).display())))?;
                let what = format!(
                    "the 30 days to {} against the launch ({} to {})",
                    p.this_to.format("%Y-%m-%d %H:%M"),
                    p.last_from.format("%Y-%m-%d %H:%M"),
                    p.last_to.format("%Y-%m-%d %H:%M")
                );
                (p, TrendTable::Monthly, what)
            }
            _ => {
                let monday = match &args.week {
                    Some(w) => trends::parse_week(w).map_err(CliError::Usage)?,
                    None => trends::latest_week(&session).await?.ok_or_else(|| {
                        CliError::Usage(format!(
                            "no weekly roll-ups in `{}`: run `postlaunch hourly --lake {} --all` first",
                            lake.display(),
                            lake.display()
                        ))
                    })?,
                };
                let what = format!("{} against the week before", trends::week_name(monday));
                (trends::Periods::week(monday), TrendTable::Weekly, what)
            }
        };
        let request = trends::Request {
            periods,
            table,
            funnels: &funnels,
            write: !args.no_write,
            at: at.unwrap_or_else(Utc::now),
        };
        let review = match trends::review(&session, &lake, request).await {
            Err(trends::TrendsError::Unanswerable(why)) => {
                return Err(CliError::Usage(format!("no figures for {what}: {why}")).into())
            }
            other => other?,
        };
        if !quiet {
            eprintln!("trends: {what}, {} metrics", review.trends.len());
            for s in &review.skipped {
                eprintln!("  skipped {s}");
            }
        }
        let mut out = std::io::stdout().lock();
        if args.opportunities {
            let (schema, batch) =
                crate::opportunities::output::to_batch(periods.this_from, &review.opportunities);
            output::write(&mut out, args.format, &schema, &[batch])?;
        } else {
            let (schema, batch) =
                trends::output::to_batch(periods.this_from, table.columns(), &review.trends);
            output::write(&mut out, args.format, &schema, &[batch])?;
        }
        Ok(())
    })
}
