//! `postlaunch incident open|ack|update|resolve|postmortem|action` (an incident's events, into the
//! lake's `incidents` table) and `postlaunch incidents` (each incident measured against the
//! protocol's SLOs, stored in `incident_metrics`, with the roll-ups).

use std::path::PathBuf;

use super::{parse_time, CliError, LakeArgs};
use crate::alert::Severity;
use crate::incident::config::{IncidentsConfig, IncidentsFile};
use crate::incident::metrics::fold;
use crate::incident::{self, Event, IncidentError, Status};
use crate::query::LakeSession;
use crate::report::table::{self as table, Format};

/// Incidents: record what happens, as it happens.
///
/// Each subcommand appends one event to the lake's `incidents` table (the same table other tools
/// feed through the `incidents` topic; a P1/P2 alert of the live ingest opens one by itself).
/// `postlaunch incidents` measures them.
///
/// Examples:
///   postlaunch incident open --severity P1 --service checkout --title "checkout 502s"
///   postlaunch incident ack INC-2026-002 --author alice
///   postlaunch incident update INC-2026-002 -m "rolling back checkout to 1.4.2" --status mitigating
///   postlaunch incident update INC-2026-002 -m "error rate back to normal" --status mitigated
///   postlaunch incident resolve INC-2026-002
///   postlaunch incident action INC-2026-002 --id A1 -m "alert on payment 502s per provider"
///   postlaunch incident postmortem INC-2026-002 --template -o INC-2026-002.md
///   postlaunch incident postmortem INC-2026-002 --url https://wiki.example.com/pm/INC-2026-002
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(subcommand)]
    pub command: IncidentCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum IncidentCommand {
    #[command(about = "Open an incident (prints its ID)")]
    Open(OpenArgs),
    #[command(about = "Acknowledge: a responder has it (ends MTTA)")]
    Ack(EventArgs),
    #[command(about = "A status update; --status mitigating/mitigated marks the mitigation")]
    Update(UpdateArgs),
    #[command(about = "Resolve (ends MTTR; the post-mortem is due 24 h later)")]
    Resolve(EventArgs),
    #[command(
        about = "Write the post-mortem skeleton (--template) or record it published (--url)"
    )]
    Postmortem(PostmortemArgs),
    #[command(about = "Record an action item or change its state")]
    Action(ActionArgs),
}

/// What every event takes.
#[derive(Debug, Clone, clap::Args)]
pub struct Common {
    #[command(flatten)]
    pub lake: LakeArgs,
    /// When it happened (default: now), RFC 3339 or `YYYY-MM-DD HH:MM`.
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// Who records it (default: $USER).
    #[arg(long, env = "USER", value_name = "NAME")]
    pub author: Option<String>,
}

/// Open an incident. Its ID is `INC-<year>-<NNN>` (the next free one) unless --id is given.
#[derive(Debug, clap::Args)]
pub struct OpenArgs {
    #[command(flatten)]
    pub common: Common,
    #[arg(long, value_parser = parse_severity)]
    pub severity: Severity,
    /// The service affected (links the service's alerts).
    #[arg(long)]
    pub service: Option<String>,
    #[arg(long)]
    pub title: String,
    /// When users were first affected (default: the alerts' estimate, else the detection).
    #[arg(long, value_name = "TIME")]
    pub impact_start: Option<String>,
    /// An ID of your own (e.g. from another tracker).
    #[arg(long)]
    pub id: Option<String>,
    #[arg(long, short = 'm')]
    pub message: Option<String>,
}

/// An event on an incident.
#[derive(Debug, clap::Args)]
pub struct EventArgs {
    pub incident: String,
    #[command(flatten)]
    pub common: Common,
    #[arg(long, short = 'm')]
    pub message: Option<String>,
}

/// A status update for stakeholders (P1: every 15 minutes). With --status mitigating (a fix or
/// rollback started: ends the response time) or mitigated (users no longer affected).
#[derive(Debug, clap::Args)]
pub struct UpdateArgs {
    pub incident: String,
    #[command(flatten)]
    pub common: Common,
    #[arg(long, short = 'm')]
    pub message: String,
    #[arg(long, value_enum, default_value_t = UpdateStatus::Update)]
    pub status: UpdateStatus,
    /// A new severity (escalate or de-escalate).
    #[arg(long, value_parser = parse_severity)]
    pub severity: Option<Severity>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum UpdateStatus {
    Update,
    Mitigating,
    Mitigated,
}

/// The post-mortem: --template prints a blameless skeleton in Markdown prefilled with the
/// timeline (incident events, alerts, notifications, deployments of the service) and the response
/// figures; --url records it published (due 24 h after the resolution).
#[derive(Debug, clap::Args)]
pub struct PostmortemArgs {
    pub incident: String,
    #[command(flatten)]
    pub common: Common,
    #[arg(long, conflicts_with = "url", required_unless_present = "url")]
    pub template: bool,
    /// Where the published post-mortem is.
    #[arg(long)]
    pub url: Option<String>,
    /// With --template: write here instead of stdout.
    #[arg(long, short = 'o', requires = "template", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Rules file with `[incidents]` (how far back alerts are linked).
    #[arg(long, env = "POSTLAUNCH_ALERTS", value_name = "FILE")]
    pub rules: Option<PathBuf>,
}

/// An action item: its ID, its text and its state.
#[derive(Debug, clap::Args)]
pub struct ActionArgs {
    pub incident: String,
    #[command(flatten)]
    pub common: Common,
    #[arg(long = "id", value_name = "ACTION")]
    pub action: String,
    #[arg(long, value_enum, default_value_t = ActionState::Open)]
    pub state: ActionState,
    /// The item's text (needed when it is new).
    #[arg(long, short = 'm')]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ActionState {
    Open,
    Done,
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    match s.to_ascii_uppercase().as_str() {
        "P1" => Ok(Severity::P1),
        "P2" => Ok(Severity::P2),
        "P3" => Ok(Severity::P3),
        "P4" => Ok(Severity::P4),
        _ => Err(format!(
            "`{s}` is not a severity: expected P1, P2, P3 or P4"
        )),
    }
}

fn at(s: &Option<String>, flag: &str) -> Result<i64, CliError> {
    match s {
        Some(t) => Ok(parse_time(t)
            .map_err(|e| CliError::Usage(format!("--{flag}: {e}")))?
            .timestamp_micros()),
        None => Ok(chrono::Utc::now().timestamp_micros()),
    }
}

fn rules_config(rules: Option<&PathBuf>) -> Result<IncidentsConfig, CliError> {
    match rules {
        Some(p) => IncidentsFile::load_incidents(p).map_err(CliError::config),
        None => {
            let default = std::path::Path::new("pipelines/alerts.toml");
            if default.is_file() {
                IncidentsFile::load_incidents(default).map_err(CliError::config)
            } else {
                Ok(IncidentsConfig::default())
            }
        }
    }
}

fn usage(e: IncidentError) -> anyhow::Error {
    match e {
        IncidentError::Unknown(_) | IncidentError::Invalid(_) => {
            CliError::Usage(e.to_string()).into()
        }
        e => e.into(),
    }
}

/// The incidents of the lake, folded.
fn incidents(
    runtime: &tokio::runtime::Runtime,
    lake: &std::path::Path,
    catalog: &crate::schema::Catalog,
) -> anyhow::Result<Vec<crate::incident::metrics::Incident>> {
    if !lake.join(incident::TABLE).is_dir() {
        return Ok(Vec::new());
    }
    runtime.block_on(async {
        let session = LakeSession::open(lake, catalog).await?;
        Ok(fold(incident::query::events(&session).await?))
    })
}

pub fn run(args: Args, quiet: bool) -> anyhow::Result<()> {
    let common = match &args.command {
        IncidentCommand::Open(a) => &a.common,
        IncidentCommand::Ack(a) | IncidentCommand::Resolve(a) => &a.common,
        IncidentCommand::Update(a) => &a.common,
        IncidentCommand::Postmortem(a) => &a.common,
        IncidentCommand::Action(a) => &a.common,
    };
    let catalog = common.lake.catalog()?;
    let lake = common.lake.path();
    let ts = at(&common.at, "at")?;
    let author = common.author.clone();
    let runtime = super::runtime()?;
    let known = incidents(&runtime, &lake, &catalog)?;
    let find = |id: &str| -> Result<&crate::incident::metrics::Incident, CliError> {
        known.iter().find(|i| i.id == id).ok_or_else(|| {
            CliError::Usage(format!(
                "no incident `{id}` in `{}` (open one with `postlaunch incident open`; list them with `postlaunch incidents`)",
                lake.display()
            ))
        })
    };
    let event = match args.command {
        IncidentCommand::Open(a) => {
            let id = match a.id {
                Some(id) if known.iter().any(|i| i.id == id) => {
                    return Err(CliError::Usage(format!(
                        "incident `{id}` exists already in `{}`",
                        lake.display()
                    ))
                    .into())
                }
                Some(id) if id.trim().is_empty() => {
                    return Err(CliError::Usage("--id: expected a non-empty ID".into()).into())
                }
                Some(id) => id,
                None => {
                    let year = chrono::DateTime::from_timestamp_micros(ts)
                        .map_or(2026, |d| chrono::Datelike::year(&d));
                    let ids: Vec<String> = known.iter().map(|i| i.id.clone()).collect();
                    incident::next_id(year, &ids)
                }
            };
            let mut e = Event::new(ts, &id, a.severity, Status::Detected);
            e.service = a.service;
            e.title = Some(a.title);
            e.message = a.message;
            e.impact_start = match &a.impact_start {
                Some(_) => Some(at(&a.impact_start, "impact-start")?),
                None => None,
            };
            e
        }
        IncidentCommand::Ack(a) => {
            let i = find(&a.incident)?;
            let mut e = Event::new(ts, &i.id, i.severity, Status::Acknowledged);
            e.message = a.message;
            e
        }
        IncidentCommand::Resolve(a) => {
            let i = find(&a.incident)?;
            let mut e = Event::new(ts, &i.id, i.severity, Status::Resolved);
            e.message = a.message;
            e
        }
        IncidentCommand::Update(a) => {
            let i = find(&a.incident)?;
            let status = match a.status {
                UpdateStatus::Update => Status::Update,
                UpdateStatus::Mitigating => Status::Mitigating,
                UpdateStatus::Mitigated => Status::Mitigated,
            };
            let mut e = Event::new(ts, &i.id, a.severity.unwrap_or(i.severity), status);
            e.message = Some(a.message);
            e
        }
        IncidentCommand::Action(a) => {
            let i = find(&a.incident)?;
            if a.message.is_none() && !i.actions.contains_key(&a.action) {
                return Err(CliError::Usage(format!(
                    "action item `{}` is new: give its text with -m",
                    a.action
                ))
                .into());
            }
            let mut e = Event::new(ts, &i.id, i.severity, Status::ActionItem);
            e.action_id = Some(a.action);
            e.action_state = Some(
                match a.state {
                    ActionState::Open => "open",
                    ActionState::Done => "done",
                }
                .into(),
            );
            e.message = a.message;
            e
        }
        IncidentCommand::Postmortem(a) => {
            let i = find(&a.incident)?;
            if a.template {
                let cfg = rules_config(a.rules.as_ref())?;
                let text = runtime.block_on(async {
                    let session = LakeSession::open(&lake, &catalog).await?;
                    incident::postmortem::template(&session, &cfg, &i.id, ts)
                        .await
                        .map_err(usage)
                })?;
                match &a.output {
                    Some(path) => {
                        std::fs::write(path, text).map_err(|e| {
                            CliError::Usage(format!("cannot write `{}`: {e}", path.display()))
                        })?;
                        if !quiet {
                            eprintln!(
                                "post-mortem skeleton of {} written to `{}`",
                                i.id,
                                path.display()
                            );
                        }
                    }
                    None => print!("{text}"),
                }
                return Ok(());
            }
            let mut e = Event::new(ts, &i.id, i.severity, Status::PostmortemPublished);
            e.message = a.url;
            e
        }
    };
    record(&lake, &catalog, event, author, quiet)
}

fn record(
    lake: &std::path::Path,
    catalog: &crate::schema::Catalog,
    mut e: Event,
    author: Option<String>,
    quiet: bool,
) -> anyhow::Result<()> {
    e.author = author;
    let table = catalog
        .get(incident::TABLE)
        .map_err(CliError::config)?
        .clone();
    let source = format!(
        "cli:incident/{}/{}/{}",
        e.incident_id,
        e.status.name(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
    );
    incident::record(lake, table, &source, std::slice::from_ref(&e)).map_err(usage)?;
    if e.status == Status::Detected {
        println!("{}", e.incident_id);
    }
    if !quiet {
        eprintln!(
            "{} {} ({}) recorded in `{}`",
            e.incident_id,
            e.status.name(),
            e.severity,
            lake.display()
        );
    }
    Ok(())
}

/// Incidents measured against the protocol's SLOs.
///
/// Per incident (from the `incidents` table, the `alerts` the live ingest stored, and the
/// `notifications` it sent): MTTD (impact start → first alert), time to notify (first alert →
/// first person told), MTTA (told → acknowledged), response (told → mitigation started), time
/// to mitigate, MTTR (impact start → resolved), stakeholder updates and late ones (P1: every
/// 15 min), the post-mortem's due date (24 h after resolution) and whether it is late, action
/// items; and blind spots — incidents no alert saw first — with the metric that moved first and
/// a candidate rule. Stored in `incident_metrics`; the roll-ups against the SLOs of
/// `[incidents.slo]` (P1 detection < 5 min, response p95 < 15 min, resolution < 2 h, post-mortem
/// within 24 h) follow the table.
///
/// Exit codes: 0 ok; 1 with --check, an SLO missed; 2 runtime error; 64 bad usage; 78 bad rules
/// file.
///
/// Examples:
///   postlaunch incidents --lake lake
///   postlaunch incidents --lake lake --from 2026-11-01 --to 2026-12-01 --format json
///   postlaunch incidents --lake lake --all-columns --format csv > incidents.csv
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct ListArgs {
    #[command(flatten)]
    pub lake: LakeArgs,
    /// Incidents detected from this time.
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// Incidents detected before this time.
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Table, env = "POSTLAUNCH_FORMAT")]
    pub format: Format,
    /// Every column (the default shows the ones read first).
    #[arg(long)]
    pub all_columns: bool,
    /// Rules file with `[incidents]` [default: pipelines/alerts.toml when it exists, else the
    /// protocol's defaults].
    #[arg(long, env = "POSTLAUNCH_ALERTS", value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Measure as of this time (default: now): open incidents' update gaps, post-mortems due.
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// Print only; do not store `incident_metrics`.
    #[arg(long)]
    pub no_write: bool,
    /// Exit 1 when an SLO is missed.
    #[arg(long)]
    pub check: bool,
}

pub fn list(args: ListArgs, quiet: bool) -> anyhow::Result<()> {
    let catalog = args.lake.catalog()?;
    let lake = args.lake.path();
    let cfg = rules_config(args.rules.as_ref())?;
    let from = match &args.from {
        Some(_) => Some(at(&args.from, "from")?),
        None => None,
    };
    let to = match &args.to {
        Some(_) => Some(at(&args.to, "to")?),
        None => None,
    };
    if let (Some(f), Some(t)) = (from, to) {
        if f >= t {
            return Err(CliError::Usage(format!(
                "--from {} is not before --to {}",
                args.from.as_deref().unwrap_or_default(),
                args.to.as_deref().unwrap_or_default()
            ))
            .into());
        }
    }
    let now = at(&args.at, "at")?;
    if !lake.join(incident::TABLE).is_dir() {
        return Err(CliError::Usage(format!(
            "no `incidents` table in `{}`: incidents come from `postlaunch incident open`, from P1/P2 alerts of `postlaunch ingest --pipeline`, or on the `incidents` topic",
            lake.display()
        ))
        .into());
    }
    let runtime = super::runtime()?;
    let review = runtime.block_on(async {
        let session = LakeSession::open(&lake, &catalog).await?;
        incident::review(&session, &lake, &cfg, (from, to), now, !args.no_write)
            .await
            .map_err(anyhow::Error::from)
    })?;
    let (schema, batch) = if args.all_columns {
        incident::output::to_batch(&review.rows)
    } else {
        incident::output::summary(&review.rows)
    };
    let mut out = std::io::stdout().lock();
    table::write(&mut out, args.format, &schema, &[batch])?;
    let lines = incident::output::rollup_lines(&review.rollups);
    let blind: Vec<String> = review
        .rows
        .iter()
        .filter(|r| r.blind_spot == Some(true))
        .map(|r| {
            format!(
                "blind spot {}: {}{}",
                r.incident_id,
                r.moved_first
                    .as_deref()
                    .unwrap_or("no hourly figure of the service moved"),
                r.candidate_rule
                    .as_deref()
                    .map(|c| format!("\n    candidate: {c}"))
                    .unwrap_or_default()
            )
        })
        .collect();
    let text = lines
        .iter()
        .chain(&blind)
        .chain(review.notes.iter())
        .cloned()
        .collect::<Vec<_>>()
        .join("\n");
    if args.format == Format::Table {
        use std::io::Write;
        writeln!(out, "\n{text}")?;
    } else if !quiet {
        eprintln!("{text}");
    }
    if args.check && review.rollups.iter().any(|r| r.met == Some(false)) {
        return Err(CliError::Found("an incident SLO is missed".into()).into());
    }
    Ok(())
}
