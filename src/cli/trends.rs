//! `postlaunch trends`: this week against last week (or the last 30 days against the launch),
//! sorted by the size of the change.

use anyhow::Context;
use arrow::array::{Array, AsArray};
use arrow::datatypes::TimestampMicrosecondType;
use chrono::{DateTime, TimeZone, Utc};

use super::{CliError, LakeArgs};
use crate::config::ConfigFile;
use crate::lake::derived::replace_partition;
use crate::lake::layout::HOUR_MICROS;
use crate::query::output::{self, Format};
use crate::query::LakeSession;
use crate::report::opportunities;
use crate::report::trends::{
    compare_periods, funnel_trends, parse_week, sort_by_change, to_batch, week_name, Periods,
};

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
    /// End of the monthly review's 30 days (RFC 3339; default: now).
    #[arg(long, value_name = "TIME", requires = "monthly")]
    pub at: Option<String>,
}

/// The monthly review's periods: the 30 days before `at` against the launch range.
fn monthly_periods(args: &Args, catalog: &crate::schema::Catalog) -> anyhow::Result<Periods> {
    let path = args.pipeline.as_ref().ok_or_else(|| {
        CliError::Usage("--monthly needs --pipeline FILE (its launch range)".into())
    })?;
    let cfg = crate::config::PipelineConfig::load(path, catalog)
        .map_err(|e| CliError::Config(e.to_string()))?;
    let b = &cfg.hourly.baseline;
    let (Some(from), Some(to)) = (&b.from, &b.to) else {
        return Err(CliError::Config(format!(
            "`{}` has no launch range: set `[hourly.baseline]` `from` and `to` (RFC 3339)",
            path.display()
        ))
        .into());
    };
    let instant = |s: &str, field: &str| -> anyhow::Result<DateTime<Utc>> {
        let us = crate::units::parse_instant(s, field).map_err(|e| CliError::Config(e.0))?;
        Ok(Utc.timestamp_micros(us).single().unwrap_or_default())
    };
    let at = match &args.at {
        Some(a) => {
            let us = crate::units::parse_instant(a, "--at").map_err(|e| CliError::Usage(e.0))?;
            Utc.timestamp_micros(us).single().unwrap_or_default()
        }
        None => Utc::now(),
    };
    Ok(Periods {
        this_from: at - chrono::Duration::days(30),
        this_to: at,
        last_from: instant(from, "hourly.baseline.from")?,
        last_to: instant(to, "hourly.baseline.to")?,
    })
}

async fn latest_week(session: &LakeSession) -> anyhow::Result<Option<DateTime<Utc>>> {
    for table in ["weekly_service_metrics", "weekly_business_metrics"] {
        if !session.tables.iter().any(|t| t == table) {
            continue;
        }
        let (_, batches) = session
            .query(&format!("SELECT max(period_start) FROM {table}"))
            .await?;
        if let Some(b) = batches.first() {
            let col = arrow::compute::cast(
                b.column(0),
                &arrow::datatypes::DataType::Timestamp(
                    arrow::datatypes::TimeUnit::Microsecond,
                    None,
                ),
            )?;
            let ts = col.as_primitive::<TimestampMicrosecondType>();
            if !ts.is_empty() && ts.is_valid(0) {
                return Ok(Utc.timestamp_micros(ts.value(0)).single());
            }
        }
    }
    Ok(None)
}

pub fn run(args: Args, quiet: bool) -> anyhow::Result<()> {
    let catalog = args.lake.catalog()?;
    let lake = args.lake.lake.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the query runtime")?;
    runtime.block_on(async move {
        let session = LakeSession::open(&lake, &catalog)
            .await
            .map_err(|e| CliError::Usage(e.to_string()))?;
        let (periods, table, names, what) = if args.monthly {
            let p = monthly_periods(&args, &catalog)?;
            let what = format!(
                "the 30 days to {} against the launch ({} to {})",
                p.this_to.format("%Y-%m-%d %H:%M"),
                p.last_from.format("%Y-%m-%d %H:%M"),
                p.last_to.format("%Y-%m-%d %H:%M")
            );
            (
                p,
                "monthly_review",
                ["period_start", "last_30_days", "launch"],
                what,
            )
        } else {
            let monday = match &args.week {
                Some(w) => parse_week(w).map_err(CliError::Usage)?,
                None => latest_week(&session).await?.ok_or_else(|| {
                    CliError::Usage(format!(
                        "no weekly roll-ups in `{}`: run `postlaunch hourly --lake {} --all` first",
                        lake.display(),
                        lake.display()
                    ))
                })?,
            };
            let what = format!("{} against the week before", week_name(monday));
            (
                Periods::week(monday),
                "weekly_trends",
                ["week_start", "this_week", "last_week"],
                what,
            )
        };
        let (mut trends, skipped) = compare_periods(&session, periods).await?;
        if let Some(path) = &args.funnels {
            let file = crate::funnel::config::FunnelsFile::load(path)
                .map_err(|e| CliError::Config(e.to_string()))?;
            if session.tables.iter().any(|t| t == "events") {
                trends.extend(funnel_trends(&session, &file.funnels, periods).await?);
                sort_by_change(&mut trends);
            }
        }
        if !quiet {
            eprintln!("trends: {what}, {} metrics", trends.len());
            for s in &skipped {
                eprintln!("  skipped {s}");
            }
        }
        if trends.is_empty() {
            return Err(CliError::Usage(format!(
                "no figures for {what}: the hourly tables need data in both periods"
            ))
            .into());
        }
        let (schema, batch) = to_batch(periods.this_from, names, &trends);
        let key = periods.this_from.timestamp_micros().div_euclid(HOUR_MICROS);
        if !args.no_write {
            replace_partition(&lake, table, key, &schema, std::slice::from_ref(&batch))?;
        }
        // Candidate optimisations of the same period (this week, or the last 30 days).
        let (mut found, skipped_o) = opportunities::from_sql(&session, periods).await?;
        if let Some(path) = &args.funnels {
            let file = crate::funnel::config::FunnelsFile::load(path)
                .map_err(|e| CliError::Config(e.to_string()))?;
            if session.tables.iter().any(|t| t == "events") {
                let mut drops =
                    opportunities::funnel_drop_offs(&session, &file.funnels, periods).await?;
                drops.append(&mut found);
                found = drops;
            }
        }
        let (o_schema, o_batch) = opportunities::to_batch(periods.this_from, &found);
        if !args.no_write {
            replace_partition(
                &lake,
                "opportunities",
                key,
                &o_schema,
                std::slice::from_ref(&o_batch),
            )?;
        }
        if args.opportunities {
            if !quiet {
                for s in &skipped_o {
                    eprintln!("  opportunities: skipped {s}");
                }
            }
            let mut out = std::io::stdout().lock();
            output::write(&mut out, args.format, &o_schema, &[o_batch])?;
            return Ok(());
        }
        let mut out = std::io::stdout().lock();
        output::write(&mut out, args.format, &schema, &[batch])?;
        Ok(())
    })
}
