//! `postlaunch validate`: check configuration files without starting anything.

use std::path::{Path, PathBuf};

use super::{CliError, LakeArgs};
use crate::alert::config::AlertsFile;
use crate::config::{ConfigError, ConfigFile, PipelineConfig};
use crate::experiment::config::ExperimentsFile;
use crate::funnel::config::FunnelsFile;
use crate::impact::config::OptimizationsFile;
use crate::source::kafka::loggable_options;

/// Check configuration files (`pipelines/*.toml`): syntax, unknown keys, referenced tables and
/// environment variables, cross-field rules. Exit 0 when all are valid, 78 otherwise; the reasons
/// are printed last, with the file, line and key.
///
/// A file's kind is decided by its content: top-level `[[experiment]]` (A/B experiments),
/// `[[funnel]]` (funnels), `[[optimization]]` (deployment hypotheses), `[[rule]]` (alert rules),
/// `[targets]`/`[effort]`/`[[candidate]]` (the backlog), else a pipeline (`[kafka]`, `[[topics]]`, `[hourly]`). --kind overrides that. A pipeline's
/// `alerts` file is checked with it; a rule's runbook that does not exist is a warning.
///
/// Examples:
///   postlaunch validate pipelines/*.toml
///   postlaunch validate --kind funnels my-funnels.toml
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(flatten)]
    pub lake: LakeArgs,
    /// The kind of every file (default: decided by each file's content).
    #[arg(long, value_enum)]
    pub kind: Option<Kind>,
    /// Configuration files.
    #[arg(required = true, value_name = "FILE.toml")]
    pub files: Vec<PathBuf>,
}

/// The kinds of configuration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// A Kafka pipeline and the hourly job (`pipelines/demo.toml`).
    Pipeline,
    /// A/B experiments (`pipelines/experiments.toml`).
    Experiments,
    /// Funnels (`pipelines/funnels.toml`).
    Funnels,
    /// Deployment hypotheses (`pipelines/optimizations.toml`).
    Optimizations,
    /// Alert rules (`pipelines/alerts.toml`).
    Alerts,
    /// The RICE backlog's targets, effort and overrides (`pipelines/backlog.toml`).
    Backlog,
}

/// The kind of a file from its top-level keys; `None` when it is not TOML (the loader then says
/// why, as a pipeline file).
fn kind_of(path: &Path) -> Option<Kind> {
    let text = std::fs::read_to_string(path).ok()?;
    let table: toml::Table = toml::from_str(&text).ok()?;
    Some(if table.contains_key("experiment") {
        Kind::Experiments
    } else if table.contains_key("funnel") {
        Kind::Funnels
    } else if table.contains_key("optimization") {
        Kind::Optimizations
    } else if ["targets", "effort", "candidate", "confidence"]
        .iter()
        .any(|k| table.contains_key(*k))
    {
        Kind::Backlog
    } else if [
        "rule",
        "decision",
        "slo",
        "anomaly",
        "trend",
        "notify",
        "incidents",
    ]
    .iter()
    .any(|k| table.contains_key(*k))
    {
        Kind::Alerts
    } else {
        Kind::Pipeline
    })
}

/// Checks one file; its summary line on success.
fn check(path: &Path, kind: Kind, catalog: &crate::schema::Catalog) -> Result<String, ConfigError> {
    let shown = path.display();
    Ok(match kind {
        Kind::Experiments => {
            let exps = ExperimentsFile::load_experiments(path)?;
            let keys: Vec<String> = exps
                .iter()
                .map(|e| format!("{} ({} metrics)", e.key, e.metrics.len()))
                .collect();
            format!("{shown}: ok — experiments {}", keys.join(", "))
        }
        Kind::Funnels => {
            let file = FunnelsFile::load(path)?;
            let names: Vec<String> = file
                .funnels
                .iter()
                .map(|x| format!("{} ({} steps)", x.name, x.steps.len()))
                .collect();
            format!("{shown}: ok — funnels {}", names.join(", "))
        }
        Kind::Optimizations => {
            let file = OptimizationsFile::load(path)?;
            let changes: Vec<String> = file
                .optimizations
                .iter()
                .map(|o| {
                    let shipped = o
                        .deployment
                        .clone()
                        .or_else(|| o.experiment.clone().map(|e| format!("experiment {e}")))
                        .unwrap_or_else(|| "proposed".into());
                    format!("{} ({shipped})", o.change_id)
                })
                .collect();
            format!("{shown}: ok — optimizations {}", changes.join(", "))
        }
        Kind::Backlog => {
            let file = crate::backlog::config::BacklogFile::load(path)?;
            format!(
                "{shown}: ok — backlog: {} effort entries, {} candidate overrides",
                file.effort.len(),
                file.candidates.len()
            )
        }
        Kind::Alerts => {
            let file = AlertsFile::load(path)?;
            let notify = crate::notify::config::NotifyFile::load_notify(path)?;
            let incidents = crate::incident::config::IncidentsFile::load_incidents(path)?;
            let open_on: Vec<String> = incidents.open_on.iter().map(|s| s.to_string()).collect();
            let channels: Vec<&str> = notify.channels().iter().map(|(c, _)| c.name()).collect();
            check_runbooks(&file, path)?;
            let rules: Vec<String> = file
                .rules
                .iter()
                .map(|r| format!("{} ({} bands)", r.name, r.bands.len()))
                .collect();
            let slow: Vec<&str> = file
                .slos
                .iter()
                .map(|s| s.name.as_str())
                .chain(file.anomalies.iter().map(|a| a.name.as_str()))
                .chain(file.trends.iter().map(|t| t.name.as_str()))
                .collect();
            format!(
                "{shown}: ok — alert rules {}; {} SLOs, {} anomaly and {} trend rules{}; notify: {}; incidents opened by: {}",
                rules.join(", "),
                file.slos.len(),
                file.anomalies.len(),
                file.trends.len(),
                if slow.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", slow.join(", "))
                },
                if channels.is_empty() {
                    "no channel configured".to_string()
                } else {
                    channels.join(", ")
                },
                if open_on.is_empty() {
                    "no alert".to_string()
                } else {
                    format!("{} alerts", open_on.join(", "))
                }
            )
        }
        Kind::Pipeline => {
            let cfg = PipelineConfig::load(path, catalog)?;
            let alerts = match &cfg.alerts {
                Some(rel) => {
                    let file = path.parent().unwrap_or(Path::new(".")).join(rel);
                    let rules = AlertsFile::load(&file)?;
                    crate::notify::config::NotifyFile::load_notify(&file)?;
                    crate::incident::config::IncidentsFile::load_incidents(&file)?;
                    check_runbooks(&rules, &file)?;
                    format!(
                        ", alerts `{}` ({} rules, {} SLOs, {} anomaly and {} trend rules)",
                        file.display(),
                        rules.rules.len(),
                        rules.slos.len(),
                        rules.anomalies.len(),
                        rules.trends.len()
                    )
                }
                None => String::new(),
            };
            let topics: Vec<String> = cfg
                .topics
                .iter()
                .map(|t| format!("{} → {}", t.topic, t.table))
                .collect();
            format!(
                "{shown}: ok — brokers {}, group `{}`, lake `{}`, {}{alerts}; options {:?}",
                cfg.kafka.brokers,
                cfg.kafka.group_id,
                cfg.lake.display(),
                topics.join(", "),
                loggable_options(&cfg)
            )
        }
    })
}

/// Fails when a rule's runbook does not exist; paths are relative to the project folder, the
/// parent of the rules file's `pipelines/` folder.
fn check_runbooks(file: &AlertsFile, path: &Path) -> Result<(), ConfigError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let base = if dir.file_name().is_some_and(|n| n == "pipelines") {
        dir.parent().unwrap_or(Path::new("."))
    } else {
        dir
    };
    match file.missing_runbooks(base).into_iter().next() {
        None => Ok(()),
        Some((rule, runbook)) => Err(ConfigError::Invalid {
            kind: "alerts file",
            path: path.to_path_buf(),
            line: None,
            key: format!("runbook of `{rule}`"),
            message: format!(
                "`{}` does not exist (relative to `{}`): expected a runbook file, see runbooks/README.md",
                runbook.display(),
                base.display()
            ),
        }),
    }
}

pub fn run(args: Args, quiet: bool) -> anyhow::Result<()> {
    let catalog = args.lake.catalog()?;
    let mut failures = Vec::new();
    for f in &args.files {
        let kind = args.kind.or_else(|| kind_of(f)).unwrap_or(Kind::Pipeline);
        match check(f, kind, &catalog) {
            Ok(line) if !quiet => println!("{line}"),
            Ok(_) => {}
            Err(e) => failures.push(e.to_string()),
        }
    }
    if failures.is_empty() {
        return Ok(());
    }
    let n = failures.len();
    Err(CliError::Config(format!(
        "{n} of {} files invalid:\n  {}",
        args.files.len(),
        failures.join("\n  ")
    ))
    .into())
}
