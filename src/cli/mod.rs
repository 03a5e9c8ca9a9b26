//! The command line: one module per subcommand (`Args` + `run`). Doc comments are the `--help`.
//!
//! Exit codes: 0 success; 1 a condition was found (`sql --fail-on-rows` matched, `experiment
//! analyze --fail-on-srm` found a sample-ratio mismatch, `impact --fail-on-backfire` a backfired
//! hypothesis); 2 runtime error; 64 bad command-line usage; 78 bad configuration (schemas,
//! configuration files).

pub mod alerts;
pub mod assess;
pub mod backlog;
pub mod compact;
pub mod demo;
pub mod experiment;
pub mod funnel;
pub mod hourly;
pub mod impact;
pub mod incident;
pub mod ingest;
pub mod optimizations;
pub mod report;
pub mod schema;
pub mod serve;
pub mod sql;
pub mod stats;
pub mod trends;
pub mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit code: success.
pub const EXIT_OK: u8 = 0;
/// Exit code: the command ran and found the condition it checks for.
pub const EXIT_FOUND: u8 = 1;
/// Exit code: runtime error (I/O, corrupt data, query failure).
pub const EXIT_RUNTIME: u8 = 2;
/// Exit code: bad command-line usage (sysexits EX_USAGE).
pub const EXIT_USAGE: u8 = 64;
/// Exit code: bad configuration (sysexits EX_CONFIG).
pub const EXIT_CONFIG: u8 = 78;

/// postlaunch: post-launch analytics for SREs, analysts and product owners.
///
/// Events (requests, metrics, web vitals, product events, experiment exposures, feedback,
/// deployments, incidents) go from NDJSON files or Kafka into a Hive-partitioned Parquet lake;
/// SQL (DataFusion) runs over it. Start with `postlaunch demo`, then `postlaunch sql`.
#[derive(Debug, Parser)]
#[command(
    name = "postlaunch",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr: no progress bar, no summary.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Log format on stderr (`json` for daemons and log shippers).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "POSTLAUNCH_LOG_FORMAT")]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Ingest NDJSON files (or stdin) into a lake table.
    Ingest(ingest::Args),
    /// Run read-only SQL over the lake (a query, a file, or an interactive prompt).
    Sql(sql::Args),
    /// Generate a realistic post-launch scenario and ingest it (or write it as NDJSON).
    Demo(demo::Args),
    /// Merge the small files of closed hours (query results do not change).
    Compact(compact::Args),
    /// Compute the hourly metric tables (and daily/weekly roll-ups) for an hour or a range.
    Hourly(hourly::Args),
    /// Run the hourly job as a daemon: each hour once it has closed plus a grace period.
    Run(hourly::RunArgs),
    /// Week-over-week trends of the key metrics, sorted by the size of the change.
    Trends(trends::Args),
    /// Show the lake columns derived from the event schemas.
    Schema(schema::Args),
    /// Check configuration files (pipelines, experiments, funnels, optimizations).
    Validate(validate::Args),
    /// A/B experiment readouts (`pipelines/experiments.toml`).
    Experiment(experiment::Args),
    // The long help (exit codes, examples) comes from `impact::Args`.
    #[command(about = "What a deployment did: after against before, and its hypotheses")]
    Impact(impact::Args),
    // The long help comes from `funnel::Args`.
    #[command(
        about = "Funnels: users per step, conversion and drop-off (`pipelines/funnels.toml`)"
    )]
    Funnel(funnel::Args),
    /// Alerts (P1–P4): `replay` what the rules would have fired, `list` what did, `review`, `silence`.
    Alerts(alerts::Args),
    // The long help (examples) comes from `incident::Args`.
    #[command(
        about = "Record an incident's events: open, ack, update, resolve, postmortem, action"
    )]
    Incident(incident::Args),
    // The long help comes from `incident::ListArgs`.
    #[command(about = "Incidents measured against the protocol's SLOs (MTTD, MTTA, MTTR, …)")]
    Incidents(incident::ListArgs),
    // The long help comes from `report::Args`.
    #[command(about = "Reports for people (HTML and Markdown): weekly retrospective, an incident")]
    Report(report::Args),
    // The long help comes from `serve::Args`.
    #[command(
        about = "Dashboards in the browser: one page per category, drill-down, live from the lake"
    )]
    Serve(serve::Args),
    // The long help comes from `backlog::Args`.
    #[command(
        about = "The RICE-ranked optimisation backlog; `publish` opens GitHub issues for its top"
    )]
    Backlog(backlog::Args),
    // The long help comes from `optimizations::Args`.
    #[command(
        about = "Optimisations through their lifecycle: proposed, shipped, measured, kept or reverted"
    )]
    Optimizations(optimizations::Args),
    // The long help comes from `assess::Args`.
    #[command(
        about = "The Phase 8 completion assessment: every criterion, its evidence, the decision"
    )]
    Assess(assess::Args),
    /// Internal: the statistics as a JSON filter, for the SciPy oracle tests.
    #[command(hide = true)]
    Stats(stats::Args),
}

/// The lake location, shared by the commands that use one.
#[derive(Debug, Clone, clap::Args)]
pub struct LakeArgs {
    /// Lake root folder [default: the pipeline file's `lake` where a command takes one, else
    /// ./lake].
    #[arg(long, env = "POSTLAUNCH_LAKE", value_name = "DIR")]
    pub lake: Option<PathBuf>,
    /// Folder of `*.schema.json` event schemas (default: the schemas built into the binary, copies
    /// of the repository's `schemas/`).
    #[arg(long, env = "POSTLAUNCH_SCHEMAS", value_name = "DIR")]
    pub schemas: Option<PathBuf>,
}

impl CliError {
    /// Exit 64 for `e`, keeping its chain of causes.
    pub fn usage(e: impl std::error::Error + Send + Sync + 'static) -> CliError {
        CliError::UsageBy(Box::new(e))
    }

    /// Exit 78 for `e`, keeping its chain of causes.
    pub fn config(e: impl std::error::Error + Send + Sync + 'static) -> CliError {
        CliError::ConfigBy(Box::new(e))
    }
}

impl LakeArgs {
    /// Loads the event schemas.
    pub fn catalog(&self) -> Result<crate::schema::Catalog, CliError> {
        match &self.schemas {
            Some(dir) => crate::schema::Catalog::from_dir(dir),
            None => crate::schema::Catalog::builtin(),
        }
        .map_err(CliError::config)
    }

    /// The lake of a command that takes a pipeline file: see [`crate::config::lake_path`].
    pub fn resolve(&self, pipeline: Option<&crate::config::PipelineConfig>) -> PathBuf {
        crate::config::lake_path(self.lake.as_deref(), pipeline)
    }

    /// The lake of a command without a pipeline file: --lake, else `POSTLAUNCH_LAKE`, else
    /// `./lake`.
    pub fn path(&self) -> PathBuf {
        self.resolve(None)
    }
}

/// Errors that choose the exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Config(String),
    /// Bad usage, said by a typed error (printed with its causes).
    #[error(transparent)]
    UsageBy(Box<dyn std::error::Error + Send + Sync>),
    /// Bad configuration, said by a typed error (printed with its causes).
    #[error(transparent)]
    ConfigBy(Box<dyn std::error::Error + Send + Sync>),
    /// The command ran and found what it checks for (exit 1), with a message.
    #[error("{0}")]
    Found(String),
}

pub use crate::units::{parse_duration, parse_size, parse_time};

fn init_logging(cli: &Cli) {
    let level = if cli.quiet {
        "error"
    } else {
        match cli.verbose {
            0 => "warn",
            1 => "info",
            _ => "debug",
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("postlaunch={level},warn")));
    // Colour only on a terminal: logs written to a file or a pipe stay plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let _ = match cli.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.with_target(false).try_init(),
    };
}

/// Parses the command line, runs the command and maps the outcome to an exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    EXIT_OK
                }
                _ => EXIT_USAGE,
            });
        }
    };
    init_logging(&cli);
    let quiet = cli.quiet;
    let result = match cli.command {
        Command::Ingest(a) => ingest::run(a, quiet),
        Command::Sql(a) => sql::run(a, quiet),
        Command::Demo(a) => demo::run(a, quiet),
        Command::Compact(a) => compact::run(a, quiet),
        Command::Hourly(a) => hourly::run(a, quiet),
        Command::Run(a) => hourly::run_daemon(a, quiet),
        Command::Trends(a) => trends::run(a, quiet),
        Command::Alerts(a) => alerts::run(a, quiet),
        Command::Incident(a) => incident::run(a, quiet),
        Command::Incidents(a) => incident::list(a, quiet),
        Command::Report(a) => report::run(a, quiet),
        Command::Serve(a) => serve::run(a, quiet),
        Command::Backlog(a) => backlog::run(a, quiet),
        Command::Assess(a) => assess::run(a, quiet),
        Command::Optimizations(a) => optimizations::run(a, quiet),
        Command::Schema(a) => schema::run(a),
        Command::Validate(a) => validate::run(a, quiet),
        Command::Experiment(a) => experiment::run(a, quiet),
        Command::Impact(a) => impact::run(a, quiet),
        Command::Funnel(a) => funnel::run(a, quiet),
        Command::Stats(a) => stats::run(a),
    };
    match result {
        Ok(()) => ExitCode::from(EXIT_OK),
        Err(e) => {
            let code = match e.downcast_ref::<CliError>() {
                Some(CliError::Usage(_) | CliError::UsageBy(_)) => EXIT_USAGE,
                Some(CliError::Config(_) | CliError::ConfigBy(_)) => EXIT_CONFIG,
                Some(CliError::Found(_)) => EXIT_FOUND,
                None => EXIT_RUNTIME,
            };
            eprintln!("error: {}", chain(&e));
            ExitCode::from(code)
        }
    }
}

/// The async runtime a command runs its queries (or its Kafka ingest) on.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    use anyhow::Context;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// An error and its causes, each cause once: most errors already quote their source in their
/// message (`writing `x`: <cause>`), so a cause is added only when its text is not there yet.
fn chain(e: &anyhow::Error) -> String {
    let mut out = e.to_string();
    for cause in e.chain().skip(1) {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
    }
    out
}

/// A progress bar on stderr, hidden when stderr is not a terminal or output is quiet.
pub fn progress_bar(len: Option<u64>, quiet: bool, template: &str) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if quiet || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = match len {
        Some(n) => indicatif::ProgressBar::new(n),
        None => indicatif::ProgressBar::new_spinner(),
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

pub use crate::report::format::thousands;
