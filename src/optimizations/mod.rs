//! Optimisation records (protocol steps 6–7): each optimisation of `pipelines/optimizations.toml`
//! through its lifecycle — proposed (from a backlog candidate) → shipped (a deployment finished,
//! or an experiment's first exposure) → measured (the 48-hour impact in `deployment_impact`, or
//! the experiment's stored readout) → kept or reverted (the file's `decision`, with the
//! `learning`). `postlaunch optimizations` lists them with the month's count against the
//! protocol's "at least 3 implemented and measured per month", and writes the changelog.
//!
//! `postlaunch run` measures every shipped deployment once its 48 hours have passed
//! ([`measure_due`]); a backfire becomes a P3 alert (`optimization_backfire`, stored in `alerts`
//! through `alert::slow::deliver`, as the slow rules' alerts) and a "revert and document" entry; the alert resolves once the
//! file records the decision ([`decided_backfires`]).
//!
//! The analysis' shape: the file → `sql/optimizations/` → [`records`] → the table, the
//! changelog ([`changelog`]).

pub mod output;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};

use crate::alert::{Change, Severity, Transition};
use crate::impact::config::{Decision, OptimizationsFile};
use crate::impact::ImpactReport;
use crate::query::sql::{sql_file, Param, SqlError, SqlFile};
use crate::query::LakeSession;
use crate::report::format::markdown as md;

const SHIPPED: SqlFile = sql_file!("sql/optimizations/shipped.sql");
const MEASURED: SqlFile = sql_file!("sql/optimizations/measured.sql");
const EXPERIMENTS: SqlFile = sql_file!("sql/optimizations/experiments.sql");
const EXPERIMENT_VERDICTS: SqlFile = sql_file!("sql/optimizations/experiment_verdicts.sql");
const FIRING: SqlFile = sql_file!("sql/optimizations/firing_backfires.sql");

/// How long after shipping an optimisation is measured.
pub const MEASURE_AFTER_HOURS: i64 = 48;
/// The protocol's monthly target.
pub const PER_MONTH: usize = 3;
/// The alert rule name of a backfired optimisation.
pub const BACKFIRE_RULE: &str = "optimization_backfire";

/// Errors of the records and their measurement.
#[derive(Debug, thiserror::Error)]
pub enum OptimizationsError {
    #[error(transparent)]
    Sql(#[from] SqlError),
    #[error(transparent)]
    Impact(#[from] crate::impact::ImpactError),
    #[error("storing the impact of `{0}`: {1}")]
    Lake(String, crate::lake::LakeError),
}

/// Where an optimisation is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Proposed,
    Shipped,
    Measured,
    Kept,
    Reverted,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Proposed => "proposed",
            Status::Shipped => "shipped",
            Status::Measured => "measured",
            Status::Kept => "kept",
            Status::Reverted => "reverted",
        }
    }
}

/// One optimisation and what the lake knows of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub change_id: String,
    pub backlog_id: Option<String>,
    /// `SERVICE@VERSION`, or `experiment KEY`.
    pub shipped_by: Option<String>,
    pub description: String,
    /// When the deployment finished or the experiment's first exposure.
    pub shipped_at: Option<DateTime<Utc>>,
    /// When the 48 hours are over.
    pub due_at: Option<DateTime<Utc>>,
    pub measured_at: Option<DateTime<Utc>>,
    pub status: Status,
    /// The hypotheses' measured effects: `p95_latency_ms −12.3 % [−15.0 %, −9.6 %] held`.
    pub effect: String,
    pub verdict: Option<String>,
    pub backfire: bool,
    pub decision: Option<Decision>,
    pub learning: Option<String>,
    /// What is owed: "revert and document" after a backfire, "decide: keep or revert" after a
    /// measurement, "measure" once due.
    pub action: Option<String>,
}

/// What the lake says of deployments and experiments.
#[derive(Default)]
struct Facts {
    finished: HashMap<String, i64>,
    measured: HashMap<String, Vec<(i64, String, bool, String)>>,
    experiments: HashMap<String, i64>,
    verdicts: HashMap<String, (i64, String)>,
}

async fn facts(session: &LakeSession) -> Result<Facts, SqlError> {
    let none: [(&str, Param); 0] = [];
    let mut f = Facts::default();
    if let Some(s) = SHIPPED.frame_if_present(session, &none).await? {
        for i in 0..s.rows {
            if let Some(t) = s.time("finished", i) {
                f.finished.insert(s.text("deployment", i).into(), t);
            }
        }
    }
    if let Some(m) = MEASURED.frame_if_present(session, &none).await? {
        for i in 0..m.rows {
            let pct = |name: &str| {
                m.num(name, i)
                    .map(|x| format!("{:+.1} %", 100.0 * x))
                    .unwrap_or_else(|| "n/a".into())
            };
            let effect = format!(
                "{} {} [{}, {}] {}",
                m.text("metric", i),
                pct("relative_effect"),
                pct("relative_ci_low"),
                pct("relative_ci_high"),
                m.text("hypothesis_result", i)
            );
            f.measured
                .entry(m.text("deployment", i).into())
                .or_default()
                .push((
                    m.time("analysis_time", i).unwrap_or(0),
                    effect,
                    m.num("backfire", i).unwrap_or(0.0) > 0.0,
                    m.text("verdict", i).into(),
                ));
        }
    }
    if let Some(e) = EXPERIMENTS.frame_if_present(session, &none).await? {
        for i in 0..e.rows {
            if let Some(t) = e.time("started", i) {
                f.experiments.insert(e.text("experiment", i).into(), t);
            }
        }
    }
    if let Some(v) = EXPERIMENT_VERDICTS.frame_if_present(session, &none).await? {
        for i in 0..v.rows {
            f.verdicts.insert(
                v.text("experiment", i).into(),
                (
                    v.time("analysis_time", i).unwrap_or(0),
                    v.text("verdict", i).into(),
                ),
            );
        }
    }
    Ok(f)
}

fn time(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}

/// Every optimisation of `file` with its lifecycle as of `at`.
pub async fn records(
    session: &LakeSession,
    file: &OptimizationsFile,
    at: DateTime<Utc>,
) -> Result<Vec<Record>, SqlError> {
    let facts = facts(session).await?;
    Ok(file
        .optimizations
        .iter()
        .map(|o| {
            let (shipped_by, shipped_at, measured) = match (&o.deployment, &o.experiment) {
                (Some(d), _) => {
                    let m = facts.measured.get(d);
                    let measured = m.map(|rows| {
                        (
                            rows.iter().map(|r| r.0).max().unwrap_or(0),
                            rows.iter()
                                .map(|r| r.1.clone())
                                .collect::<Vec<_>>()
                                .join("; "),
                            rows.iter().any(|r| r.2),
                            rows.first().map(|r| r.3.clone()).unwrap_or_default(),
                        )
                    });
                    (Some(d.clone()), facts.finished.get(d).copied(), measured)
                }
                (None, Some(e)) => {
                    let measured = facts
                        .verdicts
                        .get(e)
                        .map(|(t, v)| (*t, format!("experiment verdict: {v}"), false, v.clone()));
                    (
                        Some(format!("experiment {e}")),
                        facts.experiments.get(e).copied(),
                        measured,
                    )
                }
                (None, None) => (None, None, None),
            };
            let due = shipped_at.map(|t| time(t) + Duration::hours(MEASURE_AFTER_HOURS));
            let status = match (o.decision, &measured, &shipped_by) {
                (Some(Decision::Kept), _, _) => Status::Kept,
                (Some(Decision::Reverted), _, _) => Status::Reverted,
                (None, Some(_), _) => Status::Measured,
                (None, None, Some(_)) => Status::Shipped,
                (None, None, None) => Status::Proposed,
            };
            let backfire = measured.as_ref().is_some_and(|m| m.2);
            let action = match status {
                Status::Measured if backfire => Some("revert and document".to_string()),
                Status::Measured => Some("decide: keep or revert, and write the learning".into()),
                Status::Shipped if due.is_some_and(|d| d <= at) && o.deployment.is_some() => {
                    Some("measure: `postlaunch impact` (or let `postlaunch run` do it)".into())
                }
                Status::Shipped if o.experiment.is_some() && shipped_at.is_some() => Some(format!(
                    "read out: `postlaunch experiment analyze {}`",
                    o.experiment.as_deref().unwrap_or_default()
                )),
                Status::Shipped if shipped_at.is_none() => {
                    Some("not in the lake yet: no finished deployment or exposure".into())
                }
                Status::Reverted if o.learning.is_none() => Some("document the learning".into()),
                _ => None,
            };
            Record {
                change_id: o.change_id.clone(),
                backlog_id: o.backlog_id.clone(),
                shipped_by,
                description: o.description.clone().unwrap_or_default(),
                shipped_at: shipped_at.map(time),
                due_at: due,
                measured_at: measured.as_ref().map(|m| time(m.0)),
                status,
                effect: measured.as_ref().map(|m| m.1.clone()).unwrap_or_default(),
                verdict: measured.map(|m| m.3),
                backfire,
                decision: o.decision,
                learning: o.learning.clone(),
                action,
            }
        })
        .collect())
}

/// The records shipped in `[from, to)` whose impact was measured (the protocol's monthly count).
pub fn measured_in(records: &[Record], from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<&Record> {
    records
        .iter()
        .filter(|r| r.measured_at.is_some())
        .filter(|r| r.shipped_at.is_some_and(|t| t >= from && t < to))
        .collect()
}

/// Measures, once, every deployment of `file` whose 48 hours have passed by `now` and that has
/// no stored impact yet; stores each report in `deployment_impact` and returns them, with the
/// deployments that could not be measured and why.
pub async fn measure_due(
    session: &LakeSession,
    lake: &std::path::Path,
    file: &OptimizationsFile,
    now: DateTime<Utc>,
) -> Result<(Vec<ImpactReport>, Vec<String>), OptimizationsError> {
    let recs = records(session, file, now).await?;
    let (mut out, mut failed) = (Vec::new(), Vec::new());
    for r in recs {
        // a deployment due and not measured yet (whatever was decided in the file)
        let (None, Some(due), Some(d)) = (r.measured_at, r.due_at, r.shipped_by.as_deref()) else {
            continue;
        };
        let Some((service, version)) = crate::impact::config::parse_deployment(d) else {
            continue;
        };
        if due > now {
            continue;
        }
        let report = match crate::impact::report(
            session,
            &service,
            &version,
            std::time::Duration::from_secs(MEASURE_AFTER_HOURS as u64 * 3600),
            0.05,
            Some(file),
        )
        .await
        {
            Ok(r) => r,
            // one deployment the lake cannot measure (no requests of its service, …) does not
            // stop the others, nor the hourly job; it is tried again next time
            Err(e) => {
                tracing::warn!(deployment = %d, error = %e, "An optimisation could not be measured.");
                failed.push(format!("{d}: {e}"));
                continue;
            }
        };
        crate::impact::output::write_impact(lake, &report)
            .map_err(|e| OptimizationsError::Lake(d.to_string(), e))?;
        out.push(report);
    }
    Ok((out, failed))
}

/// The P3 alert of each backfired report (`optimization_backfire` on the deployment).
pub fn backfire_alerts(reports: &[ImpactReport], now: DateTime<Utc>) -> Vec<Transition> {
    reports
        .iter()
        .filter(|r| r.backfire)
        .map(|r| {
            let d = &r.deployment;
            let entity = format!("{}@{}", d.service, d.version);
            let summary = format!(
                "Optimisation {} ({entity}) backfired: revert and document",
                d.change_id
            );
            let mut t = backfire_alert(&entity, &d.service, &d.change_id, &summary, now);
            t.annotations
                .insert("description".to_string(), r.verdict.clone());
            t
        })
        .collect()
}

fn backfire_alert(
    entity: &str,
    service: &str,
    change_id: &str,
    summary: &str,
    now: DateTime<Utc>,
) -> Transition {
    let mut annotations = BTreeMap::new();
    annotations.insert("summary".to_string(), summary.to_string());
    let mut labels = BTreeMap::new();
    let service = match service {
        "" => entity.split('@').next().unwrap_or_default(),
        s => s,
    };
    labels.insert("service".to_string(), service.to_string());
    if !change_id.is_empty() {
        labels.insert("change_id".to_string(), change_id.to_string());
    }
    Transition {
        event_time: now.timestamp_micros(),
        rule: BACKFIRE_RULE.into(),
        entity_kind: "deployment".into(),
        entity: entity.into(),
        change: Change::Firing,
        severity: Severity::P3,
        previous: None,
        value: None,
        threshold: 0.0,
        window_s: (MEASURE_AFTER_HOURS * 3600) as f64,
        requests: 0,
        bad: 0,
        statistic: None,
        onset: None,
        labels,
        annotations,
        runbook: Some("runbooks/bad_deployment.md".into()),
        silenced: None,
    }
}

/// The `resolved` transitions of the backfire alerts still firing (`firing`: the deployments
/// whose latest `optimization_backfire` transition is a firing) whose optimisation has a
/// decision in `file` now: reverted (or kept) and documented, the alert has done its work.
pub fn decided_backfires(
    file: &OptimizationsFile,
    firing: &[String],
    now: DateTime<Utc>,
) -> Vec<Transition> {
    file.optimizations
        .iter()
        .filter(|o| o.decision.is_some())
        .filter_map(|o| o.deployment.as_ref())
        .filter(|d| firing.contains(d))
        .map(|d| {
            let mut t = backfire_alert(d, "", "", &format!("{d}: decided"), now);
            t.change = Change::Resolved;
            t.previous = Some(Severity::P3);
            t
        })
        .collect()
}

/// The deployments whose backfire alert is firing (its latest transition in `alerts`).
pub async fn firing_backfires(session: &LakeSession) -> Result<Vec<String>, SqlError> {
    let none: [(&str, Param); 0] = [];
    Ok(match FIRING.frame_if_present(session, &none).await? {
        Some(f) => (0..f.rows)
            .map(|i| f.text("entity", i).to_string())
            .collect(),
        None => Vec::new(),
    })
}

/// The changelog of kept and reverted optimisations, newest first, in Markdown.
pub fn changelog(records: &[Record]) -> String {
    let mut done: Vec<&Record> = records
        .iter()
        .filter(|r| matches!(r.status, Status::Kept | Status::Reverted))
        .collect();
    done.sort_by_key(|r| std::cmp::Reverse(r.shipped_at));
    let mut s = String::from("# Optimisation changelog\n\nKept and reverted changes, newest first (`postlaunch optimizations --changelog`).\n");
    for (title, status) in [("Kept", Status::Kept), ("Reverted", Status::Reverted)] {
        let rows: Vec<&&Record> = done.iter().filter(|r| r.status == status).collect();
        s.push_str(&format!("\n## {title}\n\n"));
        if rows.is_empty() {
            s.push_str("None.\n");
        }
        for r in rows {
            s.push_str(&format!(
                "- **{}** — {}{}\n  - shipped by {}{}\n  - measured: {}\n  - learning: {}\n",
                md(&r.change_id),
                md(&r.description),
                r.backlog_id
                    .as_deref()
                    .map(|b| format!(" (backlog {b})"))
                    .unwrap_or_default(),
                md(r.shipped_by.as_deref().unwrap_or("—")),
                r.shipped_at
                    .map(|t| format!(", {}", t.format("%Y-%m-%d %H:%M UTC")))
                    .unwrap_or_default(),
                if r.effect.is_empty() {
                    "not measured".into()
                } else {
                    md(&r.effect)
                },
                md(r.learning.as_deref().unwrap_or("not written yet")),
            ));
        }
    }
    s
}
