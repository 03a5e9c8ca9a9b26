//! `postlaunch experiment analyze`: an A/B readout from the lake, printed and stored in the lake
//! table `experiment_results`.

use std::path::PathBuf;

use anyhow::Context;
use chrono::{DateTime, Utc};

use super::{parse_time, CliError, LakeArgs};
use crate::experiment::config::ExperimentsFile;
use crate::experiment::{self, output};
use crate::query::LakeSession;

/// Analyse A/B experiments configured in `pipelines/experiments.toml`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: ExperimentCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum ExperimentCommand {
    // No doc comment here: clap then takes the about and the long help (exit codes, examples)
    // from `AnalyzeArgs`.
    Analyze(AnalyzeArgs),
}

/// Output format of a readout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReadoutFormat {
    /// A text report.
    Table,
    /// The readout as one JSON object.
    Json,
}

/// Read out one experiment: per metric and variant the effect and its interval, p-values
/// (adjusted over goal metrics), the sample-ratio check, guardrails and a verdict.
///
/// Units (users) enter at their first exposure within the window; only their events after it
/// count; users seen in several variants are excluded and counted. The readout is written to
/// the lake table `experiment_results`, and the hourly per-arm sufficient statistics it summed
/// to `experiment_hourly` (re-running the same analysis replaces both).
///
/// A readout that scans stores the hourly statistics of at least 7 days ending at --at; a
/// later readout at the same --at whose window fits (7d after 48h, 48h after 14d, the same
/// again as JSON) adds up those hours instead of scanning raw events, unless events arrived
/// since for hours before --at; --rescan always scans. Latency quantiles do not add up: their
/// samples are always read.
///
/// Exit codes: 0 the readout was produced (whatever it says); 1 with --fail-on-srm when the
/// sample-ratio check fails; 2 runtime error; 64 bad usage or unknown experiment; 78 bad
/// experiments file.
///
/// Examples:
///   postlaunch experiment analyze checkout_redesign
///   postlaunch experiment analyze checkout_redesign --window 7d --at 2026-11-16T00:00:00Z --format json
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct AnalyzeArgs {
    #[command(flatten)]
    pub lake: LakeArgs,
    /// The experiment's key (as in `exposures.experiment`).
    pub key: String,
    /// Experiments file.
    #[arg(
        long,
        env = "POSTLAUNCH_EXPERIMENTS",
        default_value = "pipelines/experiments.toml",
        value_name = "FILE"
    )]
    pub config: PathBuf,
    /// Analysis window ending at --at (overrides the file), e.g. `48h`, `7d`.
    #[arg(long, value_parser = super::parse_duration)]
    pub window: Option<std::time::Duration>,
    /// Analysis time (end of the window), on the hour: RFC 3339, `YYYY-MM-DDTHH:MM` (UTC) or a
    /// date (midnight UTC). Default: the end of the hour of the latest event the metrics read
    /// (or of the latest exposure, if later), so a finished experiment's late conversions count.
    #[arg(long, value_parser = parse_time)]
    pub at: Option<DateTime<Utc>>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReadoutFormat::Table)]
    pub format: ReadoutFormat,
    /// Do not write the readout into `experiment_results`.
    #[arg(long)]
    pub no_write: bool,
    /// Exit with code 1 when the sample-ratio check fails (for scheduled checks).
    #[arg(long)]
    pub fail_on_srm: bool,
    /// Scan the raw events even when stored hourly statistics at the same --at cover the
    /// window.
    #[arg(long)]
    pub rescan: bool,
}

pub fn run(args: Args, quiet: bool) -> anyhow::Result<()> {
    match args.command {
        ExperimentCommand::Analyze(a) => analyze(a, quiet),
    }
}

/// The experiment `key` of the experiments file at `config`; a usage error naming the keys there
/// when it is not one of them.
pub fn select(
    config: &std::path::Path,
    key: &str,
) -> Result<crate::experiment::config::Experiment, CliError> {
    let experiments = ExperimentsFile::load_experiments(config).map_err(CliError::config)?;
    experiments
        .iter()
        .find(|e| e.key == key)
        .cloned()
        .ok_or_else(|| {
            CliError::Usage(format!(
                "experiment `{key}` is not in `{}`, expected one of: {}",
                config.display(),
                experiments
                    .iter()
                    .map(|e| e.key.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
}

/// Readouts add up hours of first exposure: the analysis time (given as `flag`) must be on the
/// hour and the window whole hours.
pub fn check_readout_time(
    at: Option<DateTime<Utc>>,
    flag: &str,
    window: std::time::Duration,
) -> Result<(), CliError> {
    if let Some(at) = at {
        if at.timestamp_micros().rem_euclid(3_600_000_000) != 0 {
            return Err(CliError::Usage(format!(
                "{flag} is {}, expected a time on the hour (e.g. {}): readouts add up whole hours of first exposure",
                at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                at.format("%Y-%m-%dT%H:00:00Z")
            )));
        }
    }
    if window.as_secs() < 3600 || !window.as_secs().is_multiple_of(3600) {
        return Err(CliError::Usage(format!(
            "--window is {} s, expected whole hours of at least 1h",
            window.as_secs()
        )));
    }
    Ok(())
}

fn analyze(args: AnalyzeArgs, quiet: bool) -> anyhow::Result<()> {
    let exp = select(&args.config, &args.key)?;
    let window = args.window.unwrap_or(exp.window);
    check_readout_time(args.at, "--at", window)?;
    let catalog = args.lake.catalog()?;
    let lake = args.lake.path();
    let runtime = super::runtime()?;
    let readout = runtime.block_on(async {
        let session = LakeSession::open(&lake, &catalog)
            .await
            .map_err(CliError::usage)?;
        let at = match args.at {
            Some(t) => t,
            None => experiment::default_analysis_time(&session, &exp).await?,
        };
        let sums = if args.rescan {
            experiment::Sums::Rescan
        } else {
            experiment::Sums::ReuseStored
        };
        anyhow::Ok(experiment::readout(&session, &lake, &exp, at, window, sums).await?)
    })?;
    if let (Some(from), false) = (&readout.reused_from, quiet) {
        eprintln!(
            "sums added up from the stored hourly statistics in {from} (no raw scan; --rescan scans)"
        );
    }
    if !args.no_write {
        let path = output::write_results(&lake, &readout)
            .context("writing the readout into `experiment_results`")?;
        let hourly = output::write_hourly(&lake, &exp, &readout)
            .context("writing the hourly statistics into `experiment_hourly`")?;
        if !quiet {
            eprintln!("readout stored in the lake: {path}");
            if let Some(h) = hourly {
                eprintln!("hourly statistics stored in the lake: {h}");
            }
        }
    }
    match args.format {
        ReadoutFormat::Table => print!("{}", output::report(&readout)),
        ReadoutFormat::Json => println!("{}", serde_json::to_string_pretty(&readout)?),
    }
    if args.fail_on_srm && readout.srm_failed {
        return Err(CliError::Found(format!(
            "sample-ratio mismatch in `{}` (p = {:.2e})",
            readout.experiment,
            readout.srm_p_value()
        ))
        .into());
    }
    Ok(())
}
