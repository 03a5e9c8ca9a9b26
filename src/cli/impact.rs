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
    #[command(flatten)]
    pub measure: Measure,
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

/// What is measured: the deployment, the window, the hypotheses and the confidence level —
/// shared by `postlaunch impact` and `postlaunch report impact`.
#[derive(Debug, Clone, clap::Args)]
pub struct Measure {
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
}

/// The arguments checked: service, version and the hypotheses.
pub struct Checked(String, String, Option<OptimizationsFile>);

impl Measure {
    /// Checks the arguments before the lake is opened: bad ones are usage errors, a bad
    /// optimizations file a configuration error.
    pub fn check(&self) -> Result<Checked, CliError> {
        let (service, version) = parse_deployment(&self.deployment).ok_or_else(|| {
            CliError::Usage(format!(
                "--deployment `{}` is not SERVICE@VERSION, e.g. `checkout@2.4.0`",
                self.deployment
            ))
        })?;
        if !(self.alpha > 0.0 && self.alpha <= 0.5) {
            return Err(CliError::Usage(format!(
                "--alpha is {}, expected a number in (0, 0.5]",
                self.alpha
            )));
        }
        if self.window.as_secs() < 3600 || !self.window.as_secs().is_multiple_of(3600) {
            return Err(CliError::Usage(format!(
                "--window is {} s, expected whole hours of at least 1h",
                self.window.as_secs()
            )));
        }
        let optimizations = if self.optimizations.exists() {
            Some(OptimizationsFile::load(&self.optimizations).map_err(CliError::config)?)
        } else {
            None
        };
        Ok(Checked(service, version, optimizations))
    }

    /// The impact report of the checked deployment; an unknown or unfinished one is a usage
    /// error.
    pub async fn report(
        &self,
        session: &LakeSession,
        Checked(service, version, optimizations): &Checked,
    ) -> anyhow::Result<impact::ImpactReport> {
        impact::report(
            session,
            service,
            version,
            self.window,
            self.alpha,
            optimizations.as_ref(),
        )
        .await
        .map_err(|e| match e {
            impact::ImpactError::UnknownDeployment(_) | impact::ImpactError::NotFinished(_) => {
                anyhow::Error::from(CliError::Usage(e.to_string()))
            }
            other => other.into(),
        })
    }
}

pub fn run(args: Args, quiet: bool) -> anyhow::Result<()> {
    let checked = args.measure.check()?;
    let catalog = args.lake.catalog()?;
    let lake = args.lake.path();
    let runtime = super::runtime()?;
    let report = runtime.block_on(async {
        let session = LakeSession::open(&lake, &catalog)
            .await
            .map_err(CliError::usage)?;
        args.measure.report(&session, &checked).await
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
