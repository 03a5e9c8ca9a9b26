//! `postlaunch trends`: this week against last week, sorted by the size of the change.

use anyhow::Context;
use arrow::array::{Array, AsArray};
use arrow::datatypes::TimestampMicrosecondType;
use chrono::{DateTime, TimeZone, Utc};

use super::{CliError, LakeArgs};
use crate::lake::derived::replace_partition;
use crate::lake::layout::HOUR_MICROS;
use crate::query::output::{self, Format};
use crate::query::LakeSession;
use crate::report::trends::{parse_week, to_batch, week_name, weekly_trends};

/// Week-over-week trends of the key metrics: requests, error rate and p95 per service, web
/// vitals p75, active users, conversion, revenue and the adoption of every event.
///
/// Each row has both weeks' values, the absolute and relative change and, for rates, a
/// two-proportion z-test p-value (a small p-value: the change is unlikely to be noise). Rows are
/// sorted by the size of the relative change and stored in the `weekly_trends` table.
///
/// Reads the weekly roll-ups: run `postlaunch hourly` over both weeks first.
///
/// Examples:
///   postlaunch trends --lake lake                  # the latest week with weekly roll-ups
///   postlaunch trends --lake lake --week 2026-W46 --format csv
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
    /// Print only; do not store the rows in `weekly_trends`.
    #[arg(long)]
    pub no_write: bool,
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
        let (trends, skipped) = weekly_trends(&session, monday).await?;
        if !quiet {
            eprintln!(
                "trends: {} against the week before, {} metrics",
                week_name(monday),
                trends.len()
            );
            for s in &skipped {
                eprintln!("  skipped {s}");
            }
        }
        if trends.is_empty() {
            return Err(CliError::Usage(format!(
                "no week-over-week figures for {}: the weekly roll-ups need both that week and the one before",
                week_name(monday)
            ))
            .into());
        }
        let (schema, batch) = to_batch(monday, &trends);
        if !args.no_write {
            let key = monday.timestamp_micros().div_euclid(HOUR_MICROS);
            replace_partition(&lake, "weekly_trends", key, &schema, std::slice::from_ref(&batch))?;
        }
        let mut out = std::io::stdout().lock();
        output::write(&mut out, args.format, &schema, &[batch])?;
        Ok(())
    })
}
