//! `postlaunch alerts replay` (the alert rules over history — what would have fired when) and
//! `postlaunch alerts list` (the alerts of the `alerts` table in their latest state).

use std::path::PathBuf;

use chrono::{DateTime, Utc};

use super::{parse_time, CliError, LakeArgs};
use crate::alert::config::AlertsFile;
use crate::alert::{output, replay, Change, Severity};
use crate::config::ConfigFile;
use crate::query::LakeSession;
use crate::report::table::{self as table, Format};

/// Alerts: the rules of `pipelines/alerts.toml` (P1–P4) over the event stream.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: AlertsCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum AlertsCommand {
    // The long help (exit codes, examples) comes from the args structs.
    #[command(about = "The alert rules over history: what would have fired when")]
    Replay(ReplayArgs),
    #[command(about = "The alerts of the lake's `alerts` table in their latest state")]
    List(ListArgs),
}

/// The alerts of the lake's `alerts` table (written by `ingest --pipeline` with alert rules) in
/// their latest state: by default those still active (firing, escalated, de-escalated, pending),
/// newest first.
///
/// Exit codes: 0 listed (also when there are none); 2 runtime error; 64 bad usage.
///
/// Examples:
///   postlaunch alerts list --lake lake
///   postlaunch alerts list --lake lake --state all --format json
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct ListArgs {
    #[command(flatten)]
    pub lake: LakeArgs,
    /// Which alerts, by their latest change.
    #[arg(long, value_enum, default_value_t = StateFilter::Active)]
    pub state: StateFilter,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table, env = "POSTLAUNCH_FORMAT")]
    pub format: Format,
}

/// Alerts by their latest change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StateFilter {
    /// Firing (or escalated, de-escalated) and pending.
    Active,
    /// Firing, escalated or de-escalated.
    Firing,
    Pending,
    Resolved,
    All,
}

impl StateFilter {
    fn changes(self) -> &'static [&'static str] {
        match self {
            StateFilter::Active => crate::alert::state::ACTIVE,
            StateFilter::Firing => &["firing", "escalated", "de-escalated"],
            StateFilter::Pending => &["pending"],
            StateFilter::Resolved => &["resolved"],
            StateFilter::All => &["firing", "escalated", "de-escalated", "pending", "resolved"],
        }
    }
}

fn run_list(args: ListArgs, quiet: bool) -> anyhow::Result<()> {
    let catalog = args.lake.catalog()?;
    let lake = args.lake.path();
    let runtime = super::runtime()?;
    runtime.block_on(async move {
        let session = LakeSession::open(&lake, &catalog).await.map_err(CliError::usage)?;
        let Some((schema, batches)) =
            crate::alert::state::current_rows(&session, args.state.changes()).await?
        else {
            if !quiet {
                eprintln!(
                    "no `alerts` table in `{}`: alerts are stored by `postlaunch ingest --pipeline` when its pipeline file names alert rules",
                    lake.display()
                );
            }
            return Ok(());
        };
        table::write(&mut std::io::stdout().lock(), args.format, &schema, &batches)?;
        Ok(())
    })
}

/// Evaluate the alert rules over history, exactly as the live path would have on the same
/// events, and print every state transition: pending, firing, escalated, de-escalated, resolved,
/// with the value, the threshold and the requests that decided it. This is how rules are tuned
/// without waiting for production; nothing is stored and nothing is delivered.
///
/// The requests (and, for gauge rules, the `metrics` samples) of [--from, --to) are read in
/// event-time order and fed to the engine step by step (`decision.step` of the rules file).
///
/// Exit codes: 0 replayed (whatever fired); 2 runtime error; 64 bad usage or a lake without
/// requests; 78 bad rules file.
///
/// Examples:
///   postlaunch alerts replay --lake lake
///   postlaunch alerts replay --lake lake --from 2026-11-06T18:00 --to 2026-11-07T00:00
///   postlaunch alerts replay --lake lake --rules my-alerts.toml --min-severity P2 --format json
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct ReplayArgs {
    #[command(flatten)]
    pub lake: LakeArgs,
    /// Rules file [default: the rules shipped in the binary, a copy of pipelines/alerts.toml].
    #[arg(long, env = "POSTLAUNCH_ALERTS", value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Start of the range (RFC 3339; default: the first request in the lake).
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// End of the range, exclusive (default: just after the last request in the lake).
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
    /// Print only transitions of alerts at this severity or higher (P1 is the highest).
    #[arg(long, value_enum, default_value_t = MinSeverity::P4, ignore_case = true)]
    pub min_severity: MinSeverity,
    /// Output format (table: the main columns, rounded; csv/json/ndjson: every column).
    #[arg(long, value_enum, default_value_t = Format::Table, env = "POSTLAUNCH_FORMAT")]
    pub format: Format,
}

/// A severity on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MinSeverity {
    #[value(name = "P1")]
    P1,
    #[value(name = "P2")]
    P2,
    #[value(name = "P3")]
    P3,
    #[value(name = "P4")]
    P4,
}

impl From<MinSeverity> for Severity {
    fn from(s: MinSeverity) -> Severity {
        match s {
            MinSeverity::P1 => Severity::P1,
            MinSeverity::P2 => Severity::P2,
            MinSeverity::P3 => Severity::P3,
            MinSeverity::P4 => Severity::P4,
        }
    }
}

fn time_arg(name: &str, value: &Option<String>) -> Result<Option<DateTime<Utc>>, CliError> {
    value
        .as_deref()
        .map(|v| parse_time(v).map_err(|e| CliError::Usage(format!("{name}: {e}"))))
        .transpose()
}

pub fn run(args: Args, quiet: bool) -> anyhow::Result<()> {
    match args.command {
        AlertsCommand::Replay(a) => run_replay(a, quiet),
        AlertsCommand::List(a) => run_list(a, quiet),
    }
}

fn run_replay(args: ReplayArgs, quiet: bool) -> anyhow::Result<()> {
    let catalog = args.lake.catalog()?;
    let lake = args.lake.path();
    let rules = match &args.rules {
        Some(path) => AlertsFile::load(path).map_err(CliError::config)?,
        None => AlertsFile::builtin(),
    };
    let (from, to) = (time_arg("--from", &args.from)?, time_arg("--to", &args.to)?);
    if let (Some(f), Some(t)) = (from, to) {
        if f >= t {
            return Err(CliError::Usage(format!("--from {f} is not before --to {t}")).into());
        }
    }
    let min: Severity = args.min_severity.into();
    let runtime = super::runtime()?;
    runtime.block_on(async move {
        let session = LakeSession::open(&lake, &catalog).await.map_err(CliError::usage)?;
        let (from, to) = match (from, to) {
            (Some(f), Some(t)) => (f, t),
            (f, t) => {
                let Some((first, last)) = replay::lake_range(&session).await? else {
                    return Err(CliError::Usage(format!(
                        "no requests in `{}`: nothing to replay (ingest some, or run `postlaunch demo`)",
                        lake.display()
                    ))
                    .into());
                };
                (f.unwrap_or(first), t.unwrap_or(last + chrono::Duration::microseconds(1)))
            }
        };
        let r = replay::replay(&session, &rules, from, to).await?;
        let shown: Vec<_> = r
            .transitions
            .iter()
            .filter(|t| t.severity >= min || t.previous.is_some_and(|p| p >= min))
            .cloned()
            .collect();
        if !quiet {
            let count = |s: Severity| {
                r.transitions
                    .iter()
                    .filter(|t| t.severity == s && matches!(t.change, Change::Firing | Change::Escalated))
                    .count()
            };
            eprintln!(
                "alerts replay: {} to {}, {} requests and {} samples, {} transitions (fired or escalated to P1 {}, P2 {}, P3 {}, P4 {})",
                r.from.format("%Y-%m-%d %H:%M:%S"),
                r.to.format("%Y-%m-%d %H:%M:%S"),
                r.requests,
                r.samples,
                r.transitions.len(),
                count(Severity::P1),
                count(Severity::P2),
                count(Severity::P3),
                count(Severity::P4),
            );
            for s in &r.skipped {
                eprintln!("  skipped {s}");
            }
        }
        let (schema, batch) = match args.format {
            Format::Table => output::summary(&shown),
            _ => output::to_batch(&shown, Utc::now().timestamp_micros()),
        };
        table::write(&mut std::io::stdout().lock(), args.format, &schema, &[batch])?;
        Ok(())
    })
}
