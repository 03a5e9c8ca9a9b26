//! `postlaunch assess`: the Phase 8 completion assessment.

use std::path::PathBuf;

use chrono::{TimeZone, Utc};

use super::{parse_time, CliError, LakeArgs};
use crate::alert::config::AlertsFile;
use crate::assess::{self, output, Settings};
use crate::config::ConfigFile;
use crate::query::LakeSession;
use crate::report::table::{self as table, Format};

/// The Phase 8 completion assessment: every criterion with its evidence and verdict, and the
/// decision — "complete: enter maintenance mode" or "continue optimisation cycles" with what is
/// missing. Stored in `phase8_assessment`.
///
/// Protocol criteria: no P1 incident in the last 30 days; p95 latency −10 % or conversion +5 %
/// against the launch range, the interval clear of no change; NPS > 40 (its interval's lower
/// bound) and app rating > 4.5; infrastructure cost per active user down. Validation criteria:
/// alert rules for P1–P4 each delivered to a channel; runbooks for 10 scenarios; hourly figures
/// for ≥ 95 % of the last 7 days with a baseline; feedback from in-app, tickets, app reviews and
/// NPS; the backlog ranked in the last 14 days; ≥ 3 optimisations measured in 30 days; P1
/// response p95 < 15 min; a post-mortem within 24 h of every P1; a monthly review. A criterion
/// the data cannot show is "unknown", which is not met.
///
/// The launch range comes from --pipeline (`[hourly.baseline]` `from`/`to`); the rules, channels
/// and incident SLOs from the pipeline's `alerts` file or --rules.
///
/// Examples:
///   postlaunch assess --lake lake --pipeline pipelines/demo.toml --at 2026-11-16T00:00:00Z
///   postlaunch assess --lake lake --pipeline pipelines/demo.toml --format md > phase8.md
///
/// Exit codes: 0 assessed (whatever the decision); 1 with --fail-unless-complete and the
/// decision is to continue; 2 runtime error; 64 bad usage; 78 bad configuration file.
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(flatten)]
    pub lake: LakeArgs,
    /// Pipeline file: the launch range and the baseline of the hourly job, and its alert rules.
    #[arg(long, env = "POSTLAUNCH_PIPELINE", value_name = "FILE")]
    pub pipeline: Option<PathBuf>,
    /// Alert rules with `[notify]` and `[incidents]` [default: the pipeline file's `alerts`].
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// The assessment time [default: now].
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// Output format (`md`: the decision, what is missing, every criterion).
    #[arg(long, value_enum, default_value_t = AssessFormat::Table)]
    pub format: AssessFormat,
    /// Print only; do not store.
    #[arg(long)]
    pub no_write: bool,
    /// Exit 1 unless the decision is "complete" (for CI and cron).
    #[arg(long)]
    pub fail_unless_complete: bool,
}

/// Output format of the assessment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AssessFormat {
    Table,
    Csv,
    Json,
    Md,
}

/// The settings from the pipeline and rules files (shared with the reports).
pub fn settings(
    pipeline: Option<&std::path::Path>,
    rules: Option<&std::path::Path>,
    catalog: &crate::schema::Catalog,
) -> Result<Settings, CliError> {
    let mut s = Settings::default();
    let mut rules_path = rules.map(|p| p.to_path_buf());
    if let Some(path) = pipeline {
        let cfg = crate::config::PipelineConfig::load(path, catalog).map_err(CliError::config)?;
        let b = &cfg.hourly.baseline;
        s.baseline_kind = Some(b.kind.clone());
        if let (Some(from), Some(to)) = (&b.from, &b.to) {
            let t = |v: &str, field| {
                crate::units::parse_instant(v, field)
                    .map(|us| Utc.timestamp_micros(us).single().unwrap_or_default())
                    .map_err(|e| CliError::Config(format!("`{}`: {}", path.display(), e.0)))
            };
            s.launch = Some((
                t(from, "hourly.baseline.from")?,
                t(to, "hourly.baseline.to")?,
            ));
        } else {
            s.notes
                .push("the pipeline file has no launch range (`[hourly.baseline]` from/to)".into());
        }
        if rules_path.is_none() {
            if let Some((file, _)) = super::ingest::alert_rules(&cfg, path)? {
                rules_path = Some(file);
            }
        }
    }
    if let Some(path) = rules_path {
        let rules = AlertsFile::load(&path).map_err(CliError::config)?;
        let notify =
            crate::notify::config::NotifyFile::load_notify(&path).map_err(CliError::config)?;
        s.incidents = crate::incident::config::IncidentsFile::load_incidents(&path)
            .map_err(CliError::config)?;
        s.runbooks_base = Some(
            path.parent()
                .and_then(|p| p.parent())
                .unwrap_or(std::path::Path::new("."))
                .to_path_buf(),
        );
        s.alerts = Some((rules, notify));
    }
    Ok(s)
}

pub fn run(args: Args, quiet: bool) -> anyhow::Result<()> {
    let catalog = args.lake.catalog()?;
    let settings = settings(args.pipeline.as_deref(), args.rules.as_deref(), &catalog)?;
    let at = match &args.at {
        Some(a) => parse_time(a).map_err(|e| CliError::Usage(format!("--at: {e}")))?,
        None => Utc::now(),
    };
    let lake = args.lake.path();
    let runtime = super::runtime()?;
    let a = runtime.block_on(async {
        let session = LakeSession::open(&lake, &catalog)
            .await
            .map_err(CliError::usage)?;
        anyhow::Ok(assess::evaluate(&session, &lake, &settings, at).await?)
    })?;
    if !args.no_write {
        output::store(&lake, &a)?;
    }
    if !quiet {
        let missing = a.missing().len();
        eprintln!(
            "assess: {} criteria, {} met; decision: {}{}",
            a.criteria.len(),
            a.criteria.len() - missing,
            a.decision(),
            if args.no_write {
                ""
            } else {
                " (stored in phase8_assessment)"
            }
        );
    }
    let mut out = std::io::stdout().lock();
    let (schema, batch) = output::to_batch(&a);
    match args.format {
        AssessFormat::Md => {
            use std::io::Write;
            write!(out, "{}", output::markdown(&a))?
        }
        AssessFormat::Csv => table::write(&mut out, Format::Csv, &schema, &[batch])?,
        AssessFormat::Json => table::write(&mut out, Format::Json, &schema, &[batch])?,
        AssessFormat::Table => {
            table::write_columns(
                &mut out,
                &batch,
                &["group", "criterion", "verdict", "evidence"],
            )?;
            use std::io::Write;
            writeln!(out, "decision: {}", a.decision())?;
        }
    }
    if args.fail_unless_complete && !a.complete() {
        return Err(CliError::Found(format!(
            "Phase 8 is not complete: {} criteria not met",
            a.missing().len()
        ))
        .into());
    }
    Ok(())
}
