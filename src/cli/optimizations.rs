//! `postlaunch optimizations`: each optimisation's lifecycle, the month's count, the changelog.

use std::path::PathBuf;

use chrono::Utc;

use super::{parse_time, CliError, LakeArgs};
use crate::config::ConfigFile;
use crate::impact::config::OptimizationsFile;
use crate::optimizations::{self, output, Status};
use crate::query::LakeSession;
use crate::report::table::{self as table, Format};

/// Each optimisation of pipelines/optimizations.toml through its lifecycle: proposed (from a
/// backlog id) → shipped (a deployment that finished, or an experiment's first exposure) →
/// measured (48 hours later: `postlaunch impact`, or `postlaunch run` does it) → kept or
/// reverted (the file's `decision`, with its `learning`). Each row says what is owed next:
/// after a backfire, "revert and document".
///
/// With --month: the optimisations shipped in that month, and the protocol's "at least 3
/// implemented and impact measured per month" (exit 1 with --fail-under-target when not met).
/// With --changelog: Markdown of the kept and reverted changes and their learnings.
///
/// Examples:
///   postlaunch optimizations --lake lake
///   postlaunch optimizations --lake lake --month 2026-11
///   postlaunch optimizations --lake lake --changelog > docs/OPTIMISATIONS-CHANGELOG.md
///
/// Exit codes: 0 listed; 1 --fail-under-target and fewer than 3 measured in the month; 2 runtime
/// error; 64 bad usage; 78 bad optimisations file.
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(flatten)]
    pub lake: LakeArgs,
    /// The optimisations file.
    #[arg(
        long,
        default_value = "pipelines/optimizations.toml",
        env = "POSTLAUNCH_OPTIMIZATIONS",
        value_name = "FILE"
    )]
    pub file: PathBuf,
    /// Only the optimisations shipped in this month (YYYY-MM), with the monthly count.
    #[arg(long, value_name = "YYYY-MM")]
    pub month: Option<String>,
    /// Print the changelog of kept and reverted changes (Markdown) instead.
    #[arg(long, conflicts_with_all = ["month", "fail_under_target"])]
    pub changelog: bool,
    /// As of this time (what is due) [default: now].
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table, env = "POSTLAUNCH_FORMAT")]
    pub format: Format,
    /// Exit 1 when fewer than 3 optimisations of --month were measured.
    #[arg(long, requires = "month")]
    pub fail_under_target: bool,
}

pub fn run(args: Args, quiet: bool) -> anyhow::Result<()> {
    let file = OptimizationsFile::load(&args.file).map_err(CliError::config)?;
    let month = match &args.month {
        Some(m) => Some(
            crate::trends::parse_month(m).map_err(|e| CliError::Usage(format!("--month: {e}")))?,
        ),
        None => None,
    };
    let at = match &args.at {
        Some(a) => parse_time(a).map_err(|e| CliError::Usage(format!("--at: {e}")))?,
        None => Utc::now(),
    };
    let catalog = args.lake.catalog()?;
    let lake = args.lake.path();
    let runtime = super::runtime()?;
    let records = runtime.block_on(async {
        let session = LakeSession::open(&lake, &catalog)
            .await
            .map_err(CliError::usage)?;
        anyhow::Ok(optimizations::records(&session, &file, at).await?)
    })?;
    if args.changelog {
        print!("{}", optimizations::changelog(&records));
        return Ok(());
    }
    let mut records = records;
    let mut short = None;
    if let Some((from, to)) = month {
        let measured = optimizations::measured_in(&records, from, to).len();
        let line = format!(
            "optimizations: {measured} shipped in {} and measured (target ≥ {}): {}",
            args.month.as_deref().unwrap_or_default(),
            optimizations::PER_MONTH,
            if measured >= optimizations::PER_MONTH {
                "met"
            } else {
                "NOT met"
            }
        );
        // said once: on stderr, or as the error with --fail-under-target
        let said_as_error = args.fail_under_target && measured < optimizations::PER_MONTH;
        if !quiet && !said_as_error {
            eprintln!("{line}");
        }
        if measured < optimizations::PER_MONTH {
            short = Some(line);
        }
        records.retain(|r| {
            r.status == Status::Proposed || r.shipped_at.is_some_and(|t| t >= from && t < to)
        });
    } else if !quiet {
        let count = |s: Status| records.iter().filter(|r| r.status == s).count();
        eprintln!(
            "optimizations: {} proposed, {} shipped, {} measured, {} kept, {} reverted",
            count(Status::Proposed),
            count(Status::Shipped),
            count(Status::Measured),
            count(Status::Kept),
            count(Status::Reverted)
        );
    }
    let (schema, batch) = output::to_batch(&records);
    let mut out = std::io::stdout().lock();
    if args.format == Format::Table {
        let main = [
            "change_id",
            "status",
            "shipped_by",
            "shipped_at",
            "effect",
            "action",
        ];
        table::write_columns(&mut out, &batch, &main)?;
    } else {
        table::write(&mut out, args.format, &schema, &[batch])?;
    }
    if let (true, Some(line)) = (args.fail_under_target, short) {
        return Err(CliError::Found(line).into());
    }
    Ok(())
}
