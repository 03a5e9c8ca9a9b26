//! `postlaunch alerts replay` (the alert rules over history — what would have fired when),
//! `alerts list` (the alerts of the `alerts` table in their latest state), `alerts review` (the
//! weekly alert-fatigue review) and `alerts silence` / `silences` / `unsilence`.

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
    #[command(
        about = "The weekly alert-fatigue review: per rule, fired, duration, flapping, actionable"
    )]
    Review(ReviewArgs),
    #[command(about = "Keep matching alerts from people for a while (still stored and logged)")]
    Silence(SilenceArgs),
    #[command(about = "The lake's silences")]
    Silences(SilencesArgs),
    #[command(about = "End a silence now")]
    Unsilence(UnsilenceArgs),
    #[command(about = "Send a test notification on a channel of [notify], to check the set-up")]
    Test(TestArgs),
}

/// Send a test alert (firing, then resolved) on one channel of the rules file's [notify], through
/// the same path as real alerts: payload, sending, retries. Prints every attempt; the attempts
/// are stored in the lake's `notifications` table when the lake exists.
///
/// Exit codes: 0 delivered; 1 the channel refused or failed (the answer is printed); 2 runtime
/// error; 64 bad usage; 78 bad rules file or the channel is not configured.
///
/// Examples:
///   postlaunch alerts test --rules pipelines/alerts.toml --channel slack
///   PAGERDUTY_ROUTING_KEY=… postlaunch alerts test --rules pipelines/alerts.toml --channel pagerduty
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct TestArgs {
    #[command(flatten)]
    pub lake: LakeArgs,
    /// Rules file with the [notify] section.
    #[arg(long, env = "POSTLAUNCH_ALERTS", value_name = "FILE")]
    pub rules: PathBuf,
    /// The channel to test.
    #[arg(long, value_parser = ["pagerduty", "slack", "email", "alertmanager", "webhook"])]
    pub channel: String,
    /// How long to keep retrying before giving up.
    #[arg(long, default_value = "60s", value_parser = super::parse_duration)]
    pub timeout: std::time::Duration,
    /// How long the test alert fires before it is resolved (a receiver that groups, such as
    /// Alertmanager, needs more than its group_wait to see it firing).
    #[arg(long, default_value = "0s", value_parser = super::parse_duration)]
    pub hold: std::time::Duration,
    /// The service the test alert names.
    #[arg(long, default_value = "postlaunch-test")]
    pub entity: String,
    /// Fire this many test alerts of the service at once, to see how a group reads (one
    /// notification for them all; PagerDuty gets one event per alert).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=20))]
    pub group: u16,
}

/// The weekly alert-fatigue review ("tune weekly"): per rule, from the `alerts` table, how many
/// alerts fired in the ISO week, how many resolved, their median duration, the share resolved
/// within 5 minutes (flapping: tune `keep_firing_for` or the bands) and the share followed by an
/// incident of the same service (actionable: from 30 minutes before the firing to 2 hours after;
/// empty when the lake has no `incidents` table).
///
/// Exit codes: 0 reviewed (also when nothing fired); 2 runtime error; 64 bad usage.
///
/// Examples:
///   postlaunch alerts review --lake lake --week 2026-W46
///   postlaunch alerts review --lake lake --week 2026-W46 --format json
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct ReviewArgs {
    #[command(flatten)]
    pub lake: LakeArgs,
    /// ISO week, e.g. 2026-W46.
    #[arg(long, value_name = "WEEK")]
    pub week: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table, env = "POSTLAUNCH_FORMAT")]
    pub format: Format,
}

/// Silence the alerts matching every --match for a while: their transitions are still stored
/// in the `alerts` table and logged (with the silence's ID in `silenced`), but not notified.
/// The live ingest picks the silence up at its next transition, without a restart. Prints the
/// silence's ID, for `alerts unsilence`.
///
/// Matchers: KEY=VALUE or KEY!=VALUE; `*` in VALUE matches any run of characters. Keys: the
/// entity's kind (service, host), entity, rule, severity, and the rule's labels.
///
/// Exit codes: 0 silenced; 2 runtime error; 64 bad usage (a bad matcher, duration or time).
///
/// Examples:
///   postlaunch alerts silence --lake lake --match service=checkout --for 2h --reason "payment provider maintenance"
///   postlaunch alerts silence --lake lake --match host=web-* --match rule=host_cpu --for 30m --reason "reindex"
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct SilenceArgs {
    #[command(flatten)]
    pub lake: LakeArgs,
    /// A condition every silenced alert meets (repeat for several).
    #[arg(long = "match", value_name = "KEY=VALUE", required = true)]
    pub matchers: Vec<String>,
    /// How long, e.g. 30m, 2h, 1d.
    #[arg(long = "for", value_name = "DURATION", value_parser = super::parse_duration)]
    pub duration: std::time::Duration,
    /// Why (shown by `alerts silences` and in the review).
    #[arg(long)]
    pub reason: String,
    /// When it starts (RFC 3339; default now).
    #[arg(long, value_name = "TIME")]
    pub start: Option<String>,
    /// Who silences [default: $USER].
    #[arg(long, env = "USER", default_value = "unknown")]
    pub by: String,
}

/// The lake's silences: by default those active or still to start; --all adds the expired ones.
///
/// Exit codes: 0 listed; 2 runtime error; 64 bad usage.
///
/// Examples:
///   postlaunch alerts silences --lake lake
///   postlaunch alerts silences --lake lake --all --format json
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct SilencesArgs {
    #[command(flatten)]
    pub lake: LakeArgs,
    /// Expired silences too.
    #[arg(long)]
    pub all: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table, env = "POSTLAUNCH_FORMAT")]
    pub format: Format,
}

/// End a silence now: the alerts it matched are notified again from their next transition.
///
/// Exit codes: 0 ended (or already over); 2 runtime error; 64 no such silence.
///
/// Examples:
///   postlaunch alerts unsilence --lake lake s-1a2b3c4d
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct UnsilenceArgs {
    #[command(flatten)]
    pub lake: LakeArgs,
    /// The silence's ID (from `alerts silence` or `alerts silences`).
    pub id: String,
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
/// The slow rules ([[anomaly]], [[trend]]: P4) are judged on the hourly tables and
/// `weekly_trends` of the range when the lake has them (`postlaunch hourly`, `trends`).
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
    /// Also append the transitions to the lake's `alerts` table, as if the rules had run live
    /// (for a lake that never had a live ingest, such as the demo's: `alerts list` and
    /// `alerts review` then see them).
    #[arg(long)]
    pub store: bool,
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
        AlertsCommand::Review(a) => run_review(a, quiet),
        AlertsCommand::Silence(a) => run_silence(a, quiet),
        AlertsCommand::Silences(a) => run_silences(a),
        AlertsCommand::Unsilence(a) => run_unsilence(a, quiet),
        AlertsCommand::Test(a) => run_test(a, quiet),
    }
}

fn run_test(args: TestArgs, quiet: bool) -> anyhow::Result<()> {
    use crate::notify::config::NotifyFile;
    let channel: crate::notify::Channel = args.channel.parse().map_err(CliError::Usage)?;
    let cfg = NotifyFile::load_notify(&args.rules).map_err(CliError::config)?;
    let lake = args.lake.path();
    // the attempts go to the lake's `notifications` table when there is a lake; else nowhere
    let scratch;
    let record_in = if lake.is_dir() {
        lake.clone()
    } else {
        scratch =
            std::env::temp_dir().join(format!("postlaunch-alerts-test-{}", std::process::id()));
        scratch.clone()
    };
    let test = crate::notify::worker::TestAlert {
        channel,
        entity: args.entity.clone(),
        hold: args.hold,
        timeout: args.timeout,
        group: usize::from(args.group),
    };
    let attempts =
        crate::notify::worker::test_channel(&record_in, cfg, &test).map_err(|e| match e {
            crate::notify::NotifyError::Config(m) => anyhow::Error::from(CliError::Config(m)),
            other => anyhow::Error::from(other),
        })?;
    if !lake.is_dir() {
        let _ = std::fs::remove_dir_all(&record_in);
    }
    for a in &attempts {
        println!(
            "{} {} {}: {}{} after {} ms{}",
            a.channel.name(),
            if a.alert.firing { "trigger" } else { "resolve" },
            a.attempt,
            a.status,
            a.http_status
                .map_or(String::new(), |s| format!(" (HTTP {s})")),
            a.latency_ms,
            a.error.as_ref().map_or(String::new(), |e| format!(": {e}"))
        );
    }
    let sent = attempts.iter().filter(|a| a.status == "sent").count();
    if sent < 2 {
        return Err(CliError::Found(format!(
            "the test notification on {} was not delivered (see the attempts above)",
            channel.name()
        ))
        .into());
    }
    if !quiet {
        eprintln!(
            "{}: the test alert and its resolution were delivered",
            channel.name()
        );
    }
    Ok(())
}

fn run_review(args: ReviewArgs, quiet: bool) -> anyhow::Result<()> {
    let from = crate::trends::parse_week(&args.week).map_err(CliError::Usage)?;
    let to = from + chrono::Duration::days(7);
    let catalog = args.lake.catalog()?;
    let lake = args.lake.path();
    let runtime = super::runtime()?;
    runtime.block_on(async move {
        let session = LakeSession::open(&lake, &catalog).await.map_err(CliError::usage)?;
        let Some((schema, batches, incidents)) =
            crate::alert::review::review(&session, from, to).await?
        else {
            if !quiet {
                eprintln!(
                    "no `alerts` table in `{}`: nothing to review (alerts are stored by `postlaunch ingest --pipeline` with alert rules, or `alerts replay --store`)",
                    lake.display()
                );
            }
            return Ok(());
        };
        if !quiet {
            let fired: usize = batches.iter().map(|b| b.num_rows()).sum();
            eprintln!(
                "alerts review {}: {} to {}, {fired} rules fired{}",
                args.week,
                from.format("%Y-%m-%d"),
                to.format("%Y-%m-%d"),
                if incidents { "" } else { " (no `incidents` table: followed_by_incident is empty)" }
            );
        }
        table::write(&mut std::io::stdout().lock(), args.format, &schema, &batches)?;
        Ok(())
    })
}

fn run_silence(args: SilenceArgs, quiet: bool) -> anyhow::Result<()> {
    use crate::alert::silence::{Matcher, Silences};
    let matchers = args
        .matchers
        .iter()
        .map(|m| {
            m.parse::<Matcher>()
                .map_err(|e| CliError::Usage(format!("--match {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if args.duration.is_zero() {
        return Err(
            CliError::Usage("--for 0s: expected a positive duration, e.g. 2h".into()).into(),
        );
    }
    if args.reason.trim().is_empty() {
        return Err(CliError::Usage(
            "--reason is empty: say why, for whoever sees the silence".into(),
        )
        .into());
    }
    let start = time_arg("--start", &args.start)?.unwrap_or_else(Utc::now);
    let starts = start.timestamp_micros();
    let ends = starts.saturating_add(i64::try_from(args.duration.as_micros()).unwrap_or(i64::MAX));
    let lake = args.lake.path();
    if !lake.is_dir() {
        return Err(CliError::Usage(format!("--lake `{}` does not exist", lake.display())).into());
    }
    let s = Silences::add(&lake, matchers, starts, ends, args.reason, args.by)
        .map_err(|e| anyhow::anyhow!(e))?;
    if !quiet {
        let list: Vec<String> = s.matchers.iter().map(|m| m.to_string()).collect();
        eprintln!(
            "silenced {} until {} (end it early with `postlaunch alerts unsilence {}`)",
            list.join(", "),
            DateTime::from_timestamp_micros(s.ends)
                .unwrap_or_default()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            s.id
        );
    }
    println!("{}", s.id);
    Ok(())
}

fn run_silences(args: SilencesArgs) -> anyhow::Result<()> {
    let lake = args.lake.path();
    let all = crate::alert::silence::Silences::load(&lake).map_err(|e| anyhow::anyhow!(e))?;
    let (schema, batch) = all.to_batch(Utc::now().timestamp_micros(), args.all);
    table::write(
        &mut std::io::stdout().lock(),
        args.format,
        &schema,
        &[batch],
    )?;
    Ok(())
}

fn run_unsilence(args: UnsilenceArgs, quiet: bool) -> anyhow::Result<()> {
    use crate::alert::silence::{SilenceError, Silences};
    let lake = args.lake.path();
    let now = Utc::now().timestamp_micros();
    match Silences::expire(&lake, &args.id, now) {
        Ok(s) => {
            if !quiet {
                eprintln!(
                    "silence {} ended; its alerts are notified again from their next transition",
                    s.id
                );
            }
            Ok(())
        }
        Err(e @ SilenceError::Unknown(_)) => Err(CliError::Usage(e.to_string()).into()),
        Err(e) => Err(anyhow::anyhow!(e)),
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
        if args.store && !r.transitions.is_empty() {
            output::store(&lake, &r.transitions, Utc::now().timestamp_micros())?;
            if !quiet {
                eprintln!("stored {} transitions in `{}`", r.transitions.len(), lake.join(output::TABLE).display());
            }
        }
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
