//! `postlaunch funnel`: a funnel of `pipelines/funnels.toml` over the lake, printed per step, and
//! the daily lake table `daily_funnel_steps`.

use std::path::PathBuf;

use super::parse_time;
use super::{CliError, LakeArgs};
use crate::config::ConfigFile;
use crate::funnel::config::{Breakdown, FunnelsFile};
use crate::funnel::{self, Period};
use crate::query::LakeSession;
use crate::report::table::{self as output, Format};

/// Compute a funnel: per step the users who reached it, conversion from the previous step and
/// from the start, drop-off, median and p90 time from the previous step, and up to 10 ids of
/// users who dropped there (smallest first). Semantics: docs/FUNNELS.md.
///
/// Users enter with a first-step event in [--from, --to) (default: all data); later steps count
/// within the funnel's window, also after --to. When --to + window is after the analysis time
/// (--at, default now), conversions can still come and the result is marked incomplete (column
/// `incomplete`, and a note on stderr); on data that ended long ago, every window has closed.
///
/// With --write-daily (and no NAME): every funnel of the file, per day of entry, into the lake
/// table `daily_funnel_steps` (one partition per day, replaced on re-runs).
///
/// Exit codes: 0 ok; 2 runtime error; 64 bad usage or unknown funnel; 78 bad funnels file.
///
/// Examples:
///   postlaunch funnel checkout --lake lake
///   postlaunch funnel checkout_experiment --from 2026-11-02 --to 2026-11-09 --format csv
///   postlaunch funnel checkout --breakdown platform
///   postlaunch funnel --write-daily --lake lake
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(flatten)]
    pub lake: LakeArgs,
    /// The funnel's name in the funnels file.
    #[arg(
        required_unless_present = "write_daily",
        conflicts_with = "write_daily"
    )]
    pub name: Option<String>,
    /// Funnels file.
    #[arg(
        long,
        env = "POSTLAUNCH_FUNNELS",
        default_value = "pipelines/funnels.toml",
        value_name = "FILE"
    )]
    pub funnels: PathBuf,
    /// Start of the entry period (inclusive), UTC: RFC 3339, YYYY-MM-DDTHH:MM or YYYY-MM-DD.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    /// End of the entry period (exclusive), UTC.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub to: Option<chrono::DateTime<chrono::Utc>>,
    /// The analysis time (default: now): entries whose window ends after it can still convert,
    /// and the result is marked incomplete.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub at: Option<chrono::DateTime<chrono::Utc>>,
    /// Breakdown: `platform`, `experiment:<key>` or a property of the first step's event
    /// (default: the funnel's `breakdown`; `none` for no breakdown).
    #[arg(long, value_name = "KEY")]
    pub breakdown: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write every funnel per day of entry into the lake table `daily_funnel_steps`.
    #[arg(long)]
    pub write_daily: bool,
}

pub fn run(args: Args, quiet: bool) -> anyhow::Result<()> {
    let file = FunnelsFile::load(&args.funnels).map_err(CliError::config)?;
    if let (Some(f), Some(t)) = (args.from, args.to) {
        if f >= t {
            return Err(CliError::Usage(format!(
                "--from `{f}` must be before --to `{t}` (the period is [from, to))"
            ))
            .into());
        }
    }
    let catalog = args.lake.catalog()?;
    let lake = args.lake.path();
    let runtime = super::runtime()?;
    runtime.block_on(async {
        let session = LakeSession::open(&lake, &catalog)
            .await
            .map_err(CliError::usage)?;
        let Some((first, latest)) = funnel::events_span(&session).await? else {
            return Err(CliError::Usage(format!(
                "the `events` table of lake `{}` is empty",
                lake.display()
            ))
            .into());
        };
        let from = args.from.map_or(first, |t| t.timestamp_micros());
        let to = args.to.map_or(latest + 1, |t| t.timestamp_micros());
        let at = args.at.unwrap_or_else(chrono::Utc::now).timestamp_micros();
        if args.write_daily {
            let breakdown = match args.breakdown.as_deref() {
                None => None,
                Some("none") => Some(None),
                Some(b) => Some(Some(Breakdown::parse(b).map_err(CliError::Usage)?)),
            };
            let period = Period { from, to };
            let written =
                funnel::output::write_daily(&lake, &session, &file.funnels, breakdown, period, at)
                    .await?;
            if !quiet {
                eprintln!(
                    "{}: {} days, {} rows written",
                    funnel::output::DAILY_TABLE,
                    written.days,
                    written.rows
                );
            }
            return Ok(());
        }
        let name = args.name.as_deref().unwrap_or_default();
        let f = file.get(name).ok_or_else(|| {
            CliError::Usage(format!(
                "funnel `{name}` is not in `{}`, expected one of: {}",
                args.funnels.display(),
                file.funnels
                    .iter()
                    .map(|f| f.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        let bd_text = args.breakdown.clone().or_else(|| f.breakdown.clone());
        let breakdown = match bd_text.as_deref() {
            None | Some("none") => None,
            Some(b) => Some(Breakdown::parse(b).map_err(CliError::Usage)?),
        };
        let report =
            funnel::compute(&session, f, breakdown.as_ref(), Period { from, to }, at).await?;
        if report.incomplete && !quiet {
            eprintln!(
                "note: funnel `{}` is incomplete: the window ({}) of entries up to the period's end is still open at {} (latest event {})",
                f.name,
                humantime(f.window),
                rfc(at),
                rfc(latest)
            );
        }
        let (schema, batch) = funnel::output::report_batch(&report)?;
        let mut out = std::io::stdout().lock();
        output::write(&mut out, args.format, &schema, &[batch])?;
        anyhow::Ok(())
    })
}

fn humantime(d: std::time::Duration) -> String {
    let s = d.as_secs();
    if s.is_multiple_of(86_400) {
        format!("{}d", s / 86_400)
    } else if s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else {
        format!("{s}s")
    }
}

fn rfc(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
