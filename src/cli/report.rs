//! `postlaunch report weekly|incident`: reports for people, as self-contained HTML (inline CSS
//! and SVG, opens offline, prints to PDF) and Markdown (a GitHub issue, a wiki page).

use std::path::PathBuf;

use chrono::Utc;

use super::{parse_time, CliError, LakeArgs};
use crate::incident::config::{IncidentsConfig, IncidentsFile};
use crate::query::LakeSession;
use crate::view::document::{to_html, to_markdown, Document};

/// Reports for people: self-contained HTML and Markdown.
///
/// With --out DIR, writes DIR/<name>.html and DIR/<name>.md (--format picks one); without it,
/// prints one format to stdout (Markdown unless --format html). The figures come from the same
/// functions as the commands (`trends`, `impact`, `incidents`, `alerts review`).
///
/// Examples:
///   postlaunch report weekly --lake lake --week 2026-W46 --out reports/
///   postlaunch report monthly --lake lake --month 2026-11 --pipeline pipelines/demo.toml --out reports/
///   postlaunch report experiment checkout_redesign --lake lake --out reports/
///   postlaunch report impact --lake lake --deployment checkout@2.4.0 --out reports/
///   postlaunch report incident INC-2026-001 --lake lake --format html > INC-2026-001.html
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(subcommand)]
    pub command: ReportCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum ReportCommand {
    #[command(about = "The weekly optimisation retrospective of an ISO week")]
    Weekly(WeeklyArgs),
    #[command(about = "The monthly performance review: launch baseline, SLOs, capacity, cost")]
    Monthly(MonthlyArgs),
    #[command(
        about = "An A/B readout: the decision and why, every metric with its interval drawn"
    )]
    Experiment(ExperimentArgs),
    #[command(about = "What a deployment did: the verdict, every metric with its interval drawn")]
    Impact(ImpactArgs),
    #[command(about = "One incident: figures against the SLOs, timeline, action items")]
    Incident(IncidentArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Html,
    Md,
    /// Both files (needs --out).
    Both,
}

/// What every report takes.
#[derive(Debug, clap::Args)]
pub struct Common {
    #[command(flatten)]
    pub lake: LakeArgs,
    /// Write `<name>.html` and `<name>.md` into this folder (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Which format [default: both with --out, else md].
    #[arg(long, value_enum)]
    pub format: Option<ReportFormat>,
    /// Rules file with `[incidents]` [default: pipelines/alerts.toml when it exists].
    #[arg(long, env = "POSTLAUNCH_ALERTS", value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// As of this time (default: now).
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
}

/// The weekly retrospective: trends week over week (significant first), services day by day
/// with deployments, optimisations measured, new candidates, incidents, alert noise.
#[derive(Debug, clap::Args)]
pub struct WeeklyArgs {
    /// ISO week, e.g. `2026-W46`.
    #[arg(long, value_name = "YYYY-Www")]
    pub week: String,
    /// Pipeline file with the launch range, for the Phase 8 assessment's comparisons.
    #[arg(long, env = "POSTLAUNCH_PIPELINE", value_name = "FILE")]
    pub pipeline: Option<PathBuf>,
    #[command(flatten)]
    pub common: Common,
}

/// The monthly performance review for the product owner: every category against the launch
/// baseline, the month's optimisations, incidents against the SLOs, capacity planning (per host
/// group the CPU and memory growth and the projected day each crosses 80 %) and the
/// infrastructure cost per active user.
#[derive(Debug, clap::Args)]
pub struct MonthlyArgs {
    /// The month, e.g. `2026-11`.
    #[arg(long, value_name = "YYYY-MM")]
    pub month: String,
    /// Pipeline file with the launch range (`[hourly.baseline]`).
    #[arg(long, env = "POSTLAUNCH_PIPELINE", value_name = "FILE")]
    pub pipeline: Option<PathBuf>,
    #[command(flatten)]
    pub common: Common,
}

/// An experiment's readout (as `postlaunch experiment analyze` computes it; nothing is stored).
#[derive(Debug, clap::Args)]
pub struct ExperimentArgs {
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
    /// Analysis window ending at the analysis time (overrides the file), e.g. `48h`, `7d`.
    #[arg(long, value_parser = super::parse_duration)]
    pub window: Option<std::time::Duration>,
    /// Analysis time, on the hour (default: the latest whole hour of exposures).
    #[arg(long, value_name = "TIME")]
    pub analysis_time: Option<String>,
    #[command(flatten)]
    pub common: Common,
}

/// A deployment's impact (as `postlaunch impact` measures it): the verdict and why, after against
/// before and canary against baseline, each metric's change with its interval drawn, and the
/// hypotheses of the optimizations file held, not shown or backfired.
#[derive(Debug, clap::Args)]
pub struct ImpactArgs {
    #[command(flatten)]
    pub measure: super::impact::Measure,
    #[command(flatten)]
    pub common: Common,
}

/// One incident.
#[derive(Debug, clap::Args)]
pub struct IncidentArgs {
    pub incident: String,
    #[command(flatten)]
    pub common: Common,
}

fn rules(path: Option<&PathBuf>) -> Result<IncidentsConfig, CliError> {
    let default = std::path::Path::new("pipelines/alerts.toml");
    match path {
        Some(p) => IncidentsFile::load_incidents(p).map_err(CliError::config),
        None if default.is_file() => {
            IncidentsFile::load_incidents(default).map_err(CliError::config)
        }
        None => Ok(IncidentsConfig::default()),
    }
}

pub fn run(args: Args, quiet: bool) -> anyhow::Result<()> {
    let common = match &args.command {
        ReportCommand::Weekly(a) => &a.common,
        ReportCommand::Monthly(a) => &a.common,
        ReportCommand::Impact(a) => &a.common,
        ReportCommand::Experiment(a) => &a.common,
        ReportCommand::Incident(a) => &a.common,
    };
    let format = match (common.format, &common.out) {
        (Some(ReportFormat::Both), None) => {
            return Err(
                CliError::Usage("--format both writes two files: give --out DIR".into()).into(),
            )
        }
        (Some(f), _) => f,
        (None, Some(_)) => ReportFormat::Both,
        (None, None) => ReportFormat::Md,
    };
    let catalog = common.lake.catalog()?;
    let lake = common.lake.path();
    let cfg = rules(common.rules.as_ref())?;
    let now = match &common.at {
        Some(t) => parse_time(t).map_err(|e| CliError::Usage(format!("--at: {e}")))?,
        None => Utc::now(),
    };
    let pipeline = match &args.command {
        ReportCommand::Monthly(MonthlyArgs {
            pipeline: Some(p), ..
        }) => Some(crate::config::PipelineConfig::load(p, &catalog).map_err(CliError::config)?),
        _ => None,
    };
    // the Phase 8 assessment of the weekly and monthly reports
    let rules_path = common.rules.clone().or_else(|| {
        let default = PathBuf::from("pipelines/alerts.toml");
        default.is_file().then_some(default)
    });
    let assessment = match &args.command {
        ReportCommand::Weekly(WeeklyArgs { pipeline, .. })
        | ReportCommand::Monthly(MonthlyArgs { pipeline, .. }) => {
            super::assess::settings(pipeline.as_deref(), rules_path.as_deref(), &catalog)?
        }
        _ => crate::assess::Settings::default(),
    };
    let experiment_checked = match &args.command {
        ReportCommand::Experiment(a) => {
            let exp = super::experiment::select(&a.config, &a.key)?;
            let window = a.window.unwrap_or(exp.window);
            let at = match &a.analysis_time {
                Some(t) => Some(
                    parse_time(t).map_err(|e| CliError::Usage(format!("--analysis-time: {e}")))?,
                ),
                None => None,
            };
            super::experiment::check_readout_time(at, "--analysis-time", window)?;
            Some((exp, window, at))
        }
        _ => None,
    };
    let impact_checked = match &args.command {
        ReportCommand::Impact(a) => Some(a.measure.check()?),
        _ => None,
    };
    let runtime = super::runtime()?;
    let (name, doc): (String, Document) = runtime.block_on(async {
        let session = LakeSession::open(&lake, &catalog)
            .await
            .map_err(CliError::usage)?;
        Ok::<_, anyhow::Error>(match &args.command {
            ReportCommand::Weekly(a) => {
                let monday = crate::trends::parse_week(&a.week)
                    .map_err(|e| CliError::Usage(format!("--week: {e}")))?;
                let doc =
                    crate::view::weekly::weekly(&session, &lake, monday, &cfg, &assessment, now)
                        .await?;
                (format!("weekly-{}", crate::trends::week_name(monday)), doc)
            }
            ReportCommand::Monthly(a) => {
                let range = crate::trends::parse_month(&a.month)
                    .map_err(|e| CliError::Usage(format!("--month: {e}")))?;
                let doc = crate::view::monthly::monthly(
                    &session,
                    &lake,
                    range,
                    pipeline.as_ref().map(|p| &p.hourly),
                    &cfg,
                    &assessment,
                    now,
                )
                .await?;
                (format!("monthly-{}", a.month), doc)
            }
            ReportCommand::Experiment(a) => {
                let (exp, window, at) = experiment_checked
                    .clone()
                    .expect("checked before the lake was opened");
                let at = match at {
                    Some(t) => t,
                    None => crate::experiment::default_analysis_time(&session, &exp).await?,
                };
                let r = crate::experiment::readout(
                    &session,
                    &lake,
                    &exp,
                    at,
                    window,
                    crate::experiment::Sums::ReuseStored,
                )
                .await?;
                (
                    format!("experiment-{}", crate::lake::keyed::file_key(&a.key)),
                    crate::view::experiment_report::experiment(&r, &lake, now),
                )
            }
            ReportCommand::Impact(a) => {
                let checked = impact_checked
                    .as_ref()
                    .expect("checked before the lake was opened");
                let r = a.measure.report(&session, checked).await?;
                (
                    format!(
                        "impact-{}",
                        crate::lake::keyed::file_key(&a.measure.deployment)
                    ),
                    crate::view::impact_report::impact(&r, &lake, now),
                )
            }
            ReportCommand::Incident(a) => {
                let doc =
                    crate::view::incident_report::incident(&session, &cfg, &a.incident, now, &lake)
                        .await
                        .map_err(|e| match e {
                            crate::view::ViewError::Incident(
                                e @ crate::incident::IncidentError::Unknown(_),
                            ) => anyhow::Error::from(CliError::Usage(e.to_string())),
                            e => e.into(),
                        })?;
                (
                    format!("incident-{}", crate::lake::keyed::file_key(&a.incident)),
                    doc,
                )
            }
        })
    })?;
    let render = |f: ReportFormat| match f {
        ReportFormat::Html => to_html(&doc),
        _ => to_markdown(&doc),
    };
    match &common.out {
        None => print!("{}", render(format)),
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| CliError::Usage(format!("--out `{}`: {e}", dir.display())))?;
            let wanted: &[(ReportFormat, &str)] = match format {
                ReportFormat::Html => &[(ReportFormat::Html, "html")],
                ReportFormat::Md => &[(ReportFormat::Md, "md")],
                ReportFormat::Both => &[(ReportFormat::Html, "html"), (ReportFormat::Md, "md")],
            };
            for (f, ext) in wanted {
                let path = dir.join(format!("{name}.{ext}"));
                std::fs::write(&path, render(*f)).map_err(|e| {
                    CliError::Usage(format!("cannot write `{}`: {e}", path.display()))
                })?;
                if !quiet {
                    eprintln!("wrote {}", path.display());
                }
            }
        }
    }
    Ok(())
}
