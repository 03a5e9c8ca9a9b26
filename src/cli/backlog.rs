//! `postlaunch backlog`: the RICE-ranked optimisation backlog of a period, and `backlog publish`:
//! its top candidates as GitHub issues.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{CliError, LakeArgs};
use crate::backlog::config::BacklogFile;
use crate::backlog::{self, github, markdown, Period};
use crate::config::ConfigFile;
use crate::query::LakeSession;
use crate::report::table::{self as output, Format};

/// The optimisation backlog: every candidate of the period ranked by
/// RICE = Reach × Impact × Confidence / Effort, stored in `optimization_backlog`.
///
/// Candidates: slow endpoints, slow and expensive queries, cache hit-rate gaps (performance);
/// frequent errors, timeouts, flapping alerts, open incident action items (reliability); poor
/// web-vitals pages, abandonment points, feedback categories and words (user experience);
/// over-provisioned hosts, services with cost but no traffic (cost); and the `opportunities`
/// `postlaunch trends` stored for the period (funnel drop-offs, ticket categories, regressions).
///
/// Reach: users (pages for flapping alerts, requests for the stored regressions) affected in the
/// period, per month. Impact: a documented rule
/// per kind on 0.25/0.5/1/2/3. Confidence: 100/80/50 % from the sample size, agreeing sources and
/// significant change. Effort: person-weeks from the backlog file. Any factor can be set per
/// candidate id in that file (`[[candidate]]`); the output says which were. Ids are stable: the
/// same problem has the same id every week, and `move` shows its rank against the week before.
///
/// Needs the hourly tables (`postlaunch hourly`); the stored opportunities of the period
/// (`postlaunch trends --week W --funnels pipelines/funnels.toml`) add funnel drop-offs and tickets.
///
/// Examples:
///   postlaunch backlog --lake lake                          # the latest week
///   postlaunch backlog --lake lake --period 2026-W46 --format md
///   postlaunch backlog publish --lake lake --repo acme/shop --top 5       # needs GITHUB_TOKEN
///
/// Exit codes: 0 ranked; 2 runtime error; 64 bad usage (period, lake); 78 bad backlog file.
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment, args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(flatten)]
    pub rank: RankArgs,
    #[command(subcommand)]
    pub command: Option<Sub>,
}

#[derive(Debug, clap::Subcommand)]
pub enum Sub {
    /// Publish the top candidates as GitHub issues (updated, not duplicated, on a re-run).
    Publish(PublishArgs),
}

/// What to rank.
#[derive(Debug, clap::Args)]
pub struct RankArgs {
    #[command(flatten)]
    pub lake: LakeArgs,
    /// The period: an ISO week (2026-W46) or a month (2026-11) [default: the latest week in the
    /// weekly roll-ups].
    #[arg(long, value_name = "PERIOD")]
    pub period: Option<String>,
    /// Targets, confidence rules, effort and overrides [default: pipelines/backlog.toml when it
    /// exists, else the built-in defaults].
    #[arg(long, env = "POSTLAUNCH_BACKLOG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = BacklogFormat::Table)]
    pub format: BacklogFormat,
    /// Print only; do not store the ranking.
    #[arg(long)]
    pub no_write: bool,
}

/// Output format of the backlog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BacklogFormat {
    /// An aligned table of the main columns.
    Table,
    /// Every stored column, CSV.
    Csv,
    /// Every stored column, a JSON array.
    Json,
    /// A Markdown table (for a retrospective's notes).
    Md,
}

/// Publish the top of the backlog as GitHub issues, one per candidate, through the REST API.
///
/// Each issue has the evidence, the RICE factors with where each came from, the SQL that
/// reproduces the figures, and labels `optimization`, the category and a priority. A hidden
/// marker with the candidate id ties the issue to it: a re-run updates the open issue instead of
/// opening another, and leaves a closed one closed unless --reopen.
///
/// The token comes from GITHUB_TOKEN only (never printed). Without it, or with --dry-run, the
/// issues are printed as Markdown and nothing is sent. Rate limits are waited out (Retry-After,
/// x-ratelimit-reset; at most --max-wait each).
///
/// Examples:
///   postlaunch backlog publish --lake lake --repo acme/shop --dry-run
///   GITHUB_TOKEN=… postlaunch backlog publish --lake lake --repo acme/shop --period 2026-W46
///   GITHUB_TOKEN=… postlaunch backlog publish --repo acme/shop --api-url https://ghe.example.com/api/v3
///
/// Exit codes: 0 published (or printed); 2 GitHub failed or rejected an issue (422: its
/// validation errors are shown); 64 bad usage; 78 the token, repository or permissions are
/// wrong (401, 403, 404, 410: the message says what to check) or a bad backlog file.
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct PublishArgs {
    #[command(flatten)]
    pub rank: RankArgs,
    /// The repository, OWNER/NAME.
    #[arg(long, value_name = "OWNER/NAME")]
    pub repo: String,
    /// How many candidates, from the top.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=50))]
    pub top: u32,
    /// Print the issues as Markdown; send nothing (the default without GITHUB_TOKEN).
    #[arg(long)]
    pub dry_run: bool,
    /// Reopen a candidate's closed issue instead of leaving it closed.
    #[arg(long)]
    pub reopen: bool,
    /// The REST API root (GitHub Enterprise Server: https://HOST/api/v3).
    #[arg(
        long,
        default_value = "https://api.github.com",
        env = "GITHUB_API_URL",
        value_name = "URL"
    )]
    pub api_url: String,
    /// The longest wait for a rate limit before giving up.
    #[arg(long, default_value = "5m", value_name = "DURATION", value_parser = super::parse_duration)]
    pub max_wait: Duration,
}

pub fn run(args: Args, quiet: bool) -> anyhow::Result<()> {
    match args.command {
        None => {
            let b = rank(&args.rank, quiet)?;
            print(&b, args.rank.format)
        }
        Some(Sub::Publish(p)) => publish(p, quiet),
    }
}

/// Loads the backlog file: the given one, else `pipelines/backlog.toml` when it exists.
fn config(args: &RankArgs, quiet: bool) -> Result<BacklogFile, CliError> {
    let default = Path::new("pipelines/backlog.toml");
    match &args.config {
        Some(path) => BacklogFile::load(path).map_err(CliError::config),
        None if default.exists() => BacklogFile::load(default).map_err(CliError::config),
        None => {
            if !quiet {
                eprintln!("backlog: no pipelines/backlog.toml here; using the built-in targets and efforts (--config FILE)");
            }
            Ok(BacklogFile::default())
        }
    }
}

/// Ranks (and stores, unless --no-write) the period's backlog.
fn rank(args: &RankArgs, quiet: bool) -> anyhow::Result<backlog::Backlog> {
    let cfg = config(args, quiet)?;
    let period = match &args.period {
        Some(p) => Some(Period::parse(p).map_err(|e| CliError::Usage(format!("--period: {e}")))?),
        None => None,
    };
    let catalog = args.lake.catalog()?;
    let lake = args.lake.path();
    let runtime = super::runtime()?;
    runtime.block_on(async {
        let session = LakeSession::open(&lake, &catalog)
            .await
            .map_err(CliError::usage)?;
        let period = match period {
            Some(p) => p,
            None => backlog::latest_period(&session).await?.ok_or_else(|| {
                CliError::Usage(format!(
                    "no weekly roll-ups in `{}` to pick the latest week from: run `postlaunch hourly --lake {} --all` first, or give --period",
                    lake.display(),
                    lake.display()
                ))
            })?,
        };
        let b = match backlog::compute(&session, &cfg, &period).await {
            Err(backlog::BacklogError::Unanswerable(why)) => {
                return Err(CliError::Usage(format!("no backlog for {}: {why}", period.name)).into())
            }
            other => other?,
        };
        if !args.no_write {
            backlog::store(&lake, &b)?;
        }
        if !quiet {
            eprintln!(
                "backlog: {} candidates in {}{}",
                b.candidates.len(),
                period.name,
                if args.no_write { "" } else { ", stored in optimization_backlog" }
            );
            for s in &b.skipped {
                eprintln!("  skipped {s}");
            }
        }
        Ok(b)
    })
}

fn print(b: &backlog::Backlog, format: BacklogFormat) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let (schema, batch) = backlog::output::to_batch(b);
    match format {
        BacklogFormat::Md => write!(out, "{}", markdown::table(b))?,
        BacklogFormat::Csv => output::write(&mut out, Format::Csv, &schema, &[batch])?,
        BacklogFormat::Json => output::write(&mut out, Format::Json, &schema, &[batch])?,
        BacklogFormat::Table => {
            let keep = [
                "rank",
                "id",
                "category",
                "kind",
                "subject",
                "rice",
                "reach",
                "impact",
                "confidence",
                "effort",
                "overridden",
            ];
            let idx: Vec<usize> = keep
                .iter()
                .map(|k| schema.index_of(k).expect("a stored column"))
                .collect();
            let part = batch.project(&idx)?;
            let mut rows = vec![part];
            // a new column for the movement
            let moves: Vec<String> = b.candidates.iter().map(markdown::movement).collect();
            rows[0] = with_column(&rows[0], "move", moves)?;
            output::write(&mut out, Format::Table, &rows[0].schema(), &rows)?;
        }
    }
    Ok(())
}

/// `batch` with a text column `name` after its first.
fn with_column(
    batch: &arrow::record_batch::RecordBatch,
    name: &str,
    values: Vec<String>,
) -> anyhow::Result<arrow::record_batch::RecordBatch> {
    use arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;
    let mut fields: Vec<Field> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    let mut cols = batch.columns().to_vec();
    fields.insert(1, Field::new(name, DataType::Utf8, false));
    cols.insert(1, Arc::new(arrow::array::StringArray::from(values)));
    Ok(arrow::record_batch::RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        cols,
    )?)
}

fn publish(args: PublishArgs, quiet: bool) -> anyhow::Result<()> {
    let valid_repo = args
        .repo
        .split_once('/')
        .is_some_and(|(o, n)| !o.is_empty() && !n.is_empty() && !n.contains('/'));
    if !valid_repo {
        return Err(CliError::Usage(format!(
            "--repo `{}` is not OWNER/NAME, e.g. acme/shop",
            args.repo
        ))
        .into());
    }
    github::safe_api_url(&args.api_url).map_err(|e| CliError::Usage(format!("--api-url: {e}")))?;
    let token = std::env::var("GITHUB_TOKEN")
        .ok()
        .filter(|t| !t.trim().is_empty());
    let b = rank(&args.rank, quiet)?;
    let drafts: Vec<github::Draft> = b
        .candidates
        .iter()
        .take(args.top as usize)
        .map(|c| markdown::draft(&b, c))
        .collect();
    let token = match token {
        Some(t) if !args.dry_run => t,
        other => {
            if !quiet {
                eprintln!(
                    "backlog publish: dry run ({}): {} issue(s) for {} printed, nothing sent",
                    if other.is_none() {
                        "GITHUB_TOKEN is not set"
                    } else {
                        "--dry-run"
                    },
                    drafts.len(),
                    args.repo
                );
            }
            let mut s = String::new();
            for d in &drafts {
                s.push_str(&format!(
                    "## {}\n\nLabels: {}\n\n{}\n---\n\n",
                    crate::report::format::markdown(&d.title),
                    d.labels.join(", "),
                    d.body
                ));
            }
            print!("{s}");
            return Ok(());
        }
    };
    let mut client = github::Client::new(&args.api_url, &args.repo, token, args.max_wait);
    if !quiet {
        client.say = Box::new(|m| eprintln!("backlog publish: {m}"));
    }
    let done = client
        .publish(&drafts, args.reopen)
        .map_err(|e| -> anyhow::Error {
            if e.is_config() {
                CliError::config(e).into()
            } else {
                e.into()
            }
        })?;
    for p in &done {
        println!("{}\t{}\t#{}\t{}", p.id, p.action, p.number, p.url);
    }
    Ok(())
}
