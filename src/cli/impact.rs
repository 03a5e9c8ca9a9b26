//! `postlaunch impact`: what a deployment did, 48 hours later.

use std::path::PathBuf;

use anyhow::Context;

use super::experiment::ReadoutFormat;
use super::{CliError, LakeArgs};
use crate::config::ConfigFile;
use crate::impact::config::{parse_deployment, OptimizationsFile};
use crate::impact::{self, output};
use crate::query::LakeSession;

/// What a deployment did: after against before, hypotheses from `pipelines/optimizations.toml`.
///
/// The hours after the deployment completed are compared with a baseline (the same hours one
/// week earlier when the lake has them, else the hours before it) for p50/p95/p99 latency,
/// error rate, throughput, conversion and cost per user; canaries also against the other
/// versions over the canary's minutes. Hypotheses are checked, and a backfire (a metric moved
/// significantly the wrong way) is flagged. The report is written to `deployment_impact`.
///
/// Exit codes: 0 report produced; 1 with --fail-on-backfire when a hypothesis backfired;
/// 2 runtime error; 64 bad usage or unknown deployment; 78 bad optimizations file.
///
/// Examples:
///   postlaunch impact --deployment checkout@2.4.0
///   postlaunch impact --deployment api@3.2.0 --window 24h --format json
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(flatten)]
    pub lake: LakeArgs,
    /// The deployment, `SERVICE@VERSION` (as in `deployments.service` / `.version`).
    #[arg(long, value_name = "SERVICE@VERSION")]
    pub deployment: String,
    /// Hours after completion to measure (and length of the baseline), e.g. `48h`.
    #[arg(long, default_value = "48h", value_parser = super::parse_duration)]
    pub window: std::time::Duration,
    /// Optimisation hypotheses (skipped when the default file does not exist).
    #[arg(
        long,
        env = "POSTLAUNCH_OPTIMIZATIONS",
        default_value = "pipelines/optimizations.toml",
        value_name = "FILE"
    )]
    pub optimizations: PathBuf,
    /// 1 − confidence level of the intervals.
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReadoutFormat::Table)]
    pub format: ReadoutFormat,
    /// Do not write the report into `deployment_impact`.
    #[arg(long)]
    pub no_write: bool,
    /// Exit with code 1 when a hypothesis backfired.
    #[arg(long)]
    pub fail_on_backfire: bool,
}

pub fn run(args: Args, quiet: bool) -> anyhow::Result<()> {
    let (service, version) = parse_deployment(&args.deployment).ok_or_else(|| {
        CliError::Usage(format!(
            "--deployment `{}` is not SERVICE@VERSION, e.g. `checkout@2.4.0`",
            args.deployment
        ))
    })?;
    if !(args.alpha > 0.0 && args.alpha <= 0.5) {
        return Err(CliError::Usage(format!(
            "--alpha is {}, expected a number in (0, 0.5]",
            args.alpha
        ))
        .into());
    }
    if args.window.as_secs() < 3600 || !args.window.as_secs().is_multiple_of(3600) {
        return Err(CliError::Usage(format!(
            "--window is {} s, expected whole hours of at least 1h",
            args.window.as_secs()
        ))
        .into());
    }
    let optimizations = if args.optimizations.exists() {
        Some(OptimizationsFile::load(&args.optimizations).map_err(CliError::config)?)
    } else {
        None
    };
    let catalog = args.lake.catalog()?;
    let lake = args.lake.path();
    let runtime = super::runtime()?;
    let report = runtime.block_on(async {
        let session = LakeSession::open(&lake, &catalog)
            .await
            .map_err(CliError::usage)?;
        impact::report(
            &session,
            &service,
            &version,
            args.window,
            args.alpha,
            optimizations.as_ref(),
        )
        .await
        .map_err(|e| match e {
            impact::ImpactError::UnknownDeployment(_) | impact::ImpactError::NotFinished(_) => {
                anyhow::Error::from(CliError::Usage(e.to_string()))
            }
            other => other.into(),
        })
    })?;
    if !args.no_write {
        let path = output::write_impact(&lake, &report)
            .context("writing the report into `deployment_impact`")?;
        if !quiet {
            eprintln!("report stored in the lake: {path}");
        }
    }
    match args.format {
        ReadoutFormat::Table => print!("{}", output::report(&report)),
        ReadoutFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
    }
    if args.fail_on_backfire && report.backfire {
        return Err(CliError::Found(report.verdict.clone()).into());
    }
    Ok(())
}
