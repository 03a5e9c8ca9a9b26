//! Incidents (the protocol's step 8): the record of what happened when something broke, and how
//! fast the response was against the protocol's SLOs.
//!
//! An incident is the events of one `incident_id` in the `incidents` event table: opened
//! (`detected`), acknowledged, status updates, mitigation started and done, resolved, the
//! post-mortem published, action items. They arrive from three places and land in the same table
//! the same way: `postlaunch incident …` ([`record`]), the live alert path ([`live`]: a P1/P2
//! alert opens one per alert group, linked to its alerts) and other tools on the `incidents`
//! topic.
//!
//! The analysis' shape, as every analysis: [`config`] (`[incidents]` of the rules file: what
//! opens one, the protocol's SLOs) → `sql/incident/` (the events, the alerts and notifications of
//! their services, the hourly figures around them) → [`metrics`] (per incident MTTD, time to
//! notify, MTTA, time to mitigate, MTTR, update gaps, post-mortem due; roll-ups against the
//! SLOs) and [`blind`] (an incident no alert saw: the metric that moved first, as a candidate
//! rule) → [`output`] (the `incident_metrics` table, the roll-up lines) and [`postmortem`] (the
//! blameless post-mortem skeleton, prefilled with the timeline).

pub mod blind;
pub mod config;
pub mod live;
pub mod metrics;
pub mod output;
pub mod postmortem;
pub mod query;

use std::path::Path;
use std::sync::Arc;

use serde::{Serialize, Serializer};

use crate::alert::Severity;
use crate::batch::Decoder;
use crate::lake::sink::TableSink;
use crate::schema::TableSchema;
use crate::source::RawChunk;

/// The event table of incidents.
pub const TABLE: &str = "incidents";

/// What an incident event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Opened: someone (or an alert) noticed.
    Detected,
    /// A responder took it (the end of MTTA).
    Acknowledged,
    /// A status update for stakeholders (P1: every 15 minutes).
    Update,
    /// Mitigation started, e.g. a rollback began (the end of the P1 response time).
    Mitigating,
    /// Users are no longer affected (the end of the time to mitigate).
    Mitigated,
    /// Closed (the end of MTTR).
    Resolved,
    /// The post-mortem is out (due 24 h after resolution).
    PostmortemPublished,
    /// An action item's state (`action_id`, `action_state`, the text in `message`).
    ActionItem,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Status::Detected,
        Status::Acknowledged,
        Status::Update,
        Status::Mitigating,
        Status::Mitigated,
        Status::Resolved,
        Status::PostmortemPublished,
        Status::ActionItem,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Status::Detected => "detected",
            Status::Acknowledged => "acknowledged",
            Status::Update => "update",
            Status::Mitigating => "mitigating",
            Status::Mitigated => "mitigated",
            Status::Resolved => "resolved",
            Status::PostmortemPublished => "postmortem_published",
            Status::ActionItem => "action_item",
        }
    }

    /// The status of a stored name (`None` for a name this version does not know).
    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|x| x.name() == s)
    }
}

/// One event of an incident, as the `incidents` schema has it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// When it happened (µs since the epoch).
    #[serde(serialize_with = "rfc3339")]
    pub ts: i64,
    pub incident_id: String,
    pub severity: Severity,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// When users were first affected, where known (µs).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "opt_rfc3339"
    )]
    pub impact_start: Option<i64>,
    /// Linked alerts: space-separated keys `postlaunch/<rule>/<entity_kind>/<entity>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alerts: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action_id: Option<String>,
    /// `open` or `done`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action_state: Option<String>,
}

impl Event {
    /// An event with only the required fields.
    pub fn new(ts: i64, incident_id: &str, severity: Severity, status: Status) -> Event {
        Event {
            ts,
            incident_id: incident_id.to_string(),
            severity,
            status,
            service: None,
            title: None,
            message: None,
            author: None,
            impact_start: None,
            alerts: None,
            action_id: None,
            action_state: None,
        }
    }
}

fn time_text(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn rfc3339<S: Serializer>(us: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&time_text(*us))
}

fn opt_rfc3339<S: Serializer>(us: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match us {
        Some(us) => s.serialize_str(&time_text(*us)),
        None => s.serialize_none(),
    }
}

/// Errors of incidents.
#[derive(Debug, thiserror::Error)]
pub enum IncidentError {
    #[error(transparent)]
    Lake(#[from] crate::lake::LakeError),
    #[error(transparent)]
    Sql(#[from] crate::query::sql::SqlError),
    #[error(transparent)]
    Query(#[from] crate::query::QueryError),
    /// An event the `incidents` schema refuses (a bug, or a custom schema folder that differs).
    #[error("the `incidents` table refused an event of `{incident}`: {reason}")]
    Refused { incident: String, reason: String },
    /// No such incident in the lake.
    #[error("no incident `{0}` in the lake's `incidents` table (see `postlaunch incidents`)")]
    Unknown(String),
    #[error("{0}")]
    Invalid(String),
}

/// Appends `events` to the lake's `incidents` table in one commit, through the same decoder and
/// sink as every ingest (the schema's checks apply). `source` names the writer and the occasion
/// (e.g. `postlaunch:incident/INC-2026-002/ack/…`): the commit log records it, and recording the
/// same `source` again stores nothing (a decision repeated after a restart opens no second
/// incident). Returns whether the events were stored (false: that `source` was already).
pub fn record(
    lake: &Path,
    table: Arc<TableSchema>,
    source: &str,
    events: &[Event],
) -> Result<bool, IncidentError> {
    let mut sink = TableSink::open(lake, table.clone(), 16 << 20)?;
    let stored_already = sink
        .log()
        .sources()
        .any(|((s, p), ranges)| s.as_str() == source && p.is_none() && ranges.contains(1));
    if stored_already || events.is_empty() {
        return Ok(false);
    }
    let mut chunk = RawChunk::new(Arc::from(source), None, 1);
    for (i, e) in events.iter().enumerate() {
        let line = serde_json::to_vec(e).expect("an event serialises");
        chunk.push(i as i64 + 1, &line, usize::MAX);
    }
    let now = chrono::Utc::now().timestamp_micros();
    let decoded = Decoder::new(table).decode(&chunk, now);
    if let Some(r) = decoded.rejected.first() {
        return Err(IncidentError::Refused {
            incident: events[0].incident_id.clone(),
            reason: r.reason.clone(),
        });
    }
    sink.add(decoded);
    sink.checkpoint()?;
    Ok(true)
}

/// The next free identifier of `year` after `existing` ids: `INC-<year>-<NNN>`, one more than the
/// highest number of that year (ids of another shape are ignored).
pub fn next_id(year: i32, existing: &[String]) -> String {
    let prefix = format!("INC-{year}-");
    let n = existing
        .iter()
        .filter_map(|id| id.strip_prefix(&prefix)?.parse::<u32>().ok())
        .max()
        .unwrap_or(0);
    format!("{prefix}{:03}", n + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_count_up_within_a_year_and_ignore_other_shapes() {
        let ids = ["INC-2026-001", "INC-2026-009", "INC-2025-044", "outage-7"].map(String::from);
        assert_eq!(next_id(2026, &ids), "INC-2026-010");
        assert_eq!(next_id(2027, &ids), "INC-2027-001");
        assert_eq!(next_id(2026, &[]), "INC-2026-001");
    }

    #[test]
    fn recording_the_same_source_twice_stores_once_and_the_schema_checks_apply() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = crate::schema::Catalog::builtin().unwrap();
        let table = catalog.get(TABLE).unwrap().clone();
        let mut e = Event::new(
            1_700_000_000_000_000,
            "INC-2026-001",
            Severity::P1,
            Status::Detected,
        );
        e.service = Some("checkout".into());
        e.impact_start = Some(1_699_999_900_000_000);
        assert!(record(dir.path(), table.clone(), "test:a", &[e.clone()]).unwrap());
        assert!(!record(dir.path(), table.clone(), "test:a", &[e.clone()]).unwrap());
        let log = crate::lake::log::TableLog::open(dir.path(), TABLE).unwrap();
        let rows: u64 = log.files().map(|f| f.rows).sum();
        assert_eq!(rows, 1);
        // an action item with a state the schema does not know is refused, not stored
        let mut bad = Event::new(
            1_700_000_000_000_000,
            "INC-2026-001",
            Severity::P1,
            Status::ActionItem,
        );
        bad.action_state = Some("someday".into());
        let err = record(dir.path(), table, "test:b", &[bad]).unwrap_err();
        assert!(
            err.to_string().contains("someday") || err.to_string().contains("action_state"),
            "{err}"
        );
    }
}

/// What `postlaunch incidents` shows: each incident's figures and the roll-ups.
#[derive(Debug, Clone)]
pub struct Review {
    pub rows: Vec<metrics::IncidentMetrics>,
    pub rollups: Vec<metrics::Rollup>,
    /// What could not be measured and why (a table missing).
    pub notes: Vec<String>,
}

/// For a blind spot of a service, fills in the metric that moved first and the candidate rule.
/// Returns false when the hourly tables to search were missing.
pub async fn explain_blind_spot(
    session: &crate::query::LakeSession,
    m: &mut metrics::IncidentMetrics,
) -> Result<bool, IncidentError> {
    let (Some(true), Some(service)) = (m.blind_spot, m.service.clone()) else {
        return Ok(true);
    };
    let (mover, searched) =
        blind::explain(session, &service, m.impact_start, m.detected_at).await?;
    if let Some(mv) = mover {
        let hour = chrono::DateTime::from_timestamp_micros(mv.hour_start).unwrap_or_default();
        m.moved_first = Some(format!(
            "{} of {} at {}: {} against {} the week before",
            mv.metric,
            mv.entity,
            hour.format("%Y-%m-%d %H:00"),
            crate::report::format::num(mv.value),
            crate::report::format::num(mv.baseline)
        ));
        m.candidate_rule = Some(blind::candidate_rule(&mv, &service));
    }
    Ok(searched)
}

/// Measures the incidents detected in [from, to) (µs; `None`: unbounded) as of `now`, searches
/// the blind spots' hourly figures, and stores the rows in `incident_metrics` when `write`.
pub async fn review(
    session: &crate::query::LakeSession,
    lake: &Path,
    cfg: &config::IncidentsConfig,
    (from, to): (Option<i64>, Option<i64>),
    now: i64,
    write: bool,
) -> Result<Review, IncidentError> {
    let incidents: Vec<metrics::Incident> = metrics::fold(query::events(session).await?)
        .into_iter()
        .filter(|i| from.is_none_or(|f| i.detected >= f) && to.is_none_or(|t| i.detected < t))
        .collect();
    let mut notes = Vec::new();
    if incidents.is_empty() {
        return Ok(Review {
            rows: Vec::new(),
            rollups: metrics::rollups(&[], cfg),
            notes,
        });
    }
    let time = |t: i64| chrono::DateTime::from_timestamp_micros(t).unwrap_or_default();
    let before = i64::try_from(cfg.link_before.as_micros()).unwrap_or(0);
    let hour = crate::lake::layout::HOUR_MICROS;
    let start = incidents.iter().map(|i| i.detected).min().unwrap_or(now) - before - hour;
    let end = incidents
        .iter()
        .map(|i| i.resolved.unwrap_or(now).max(i.detected))
        .max()
        .unwrap_or(now)
        + hour;
    let alerts = query::alerts(session, time(start), time(end)).await?;
    let sent = query::notifications(session, time(start), time(end)).await?;
    if alerts.is_none() {
        notes.push("no `alerts` table: MTTD, time to notify and blind spots need the alerts the live ingest (or `alerts replay --store`) stores".into());
    } else if sent.is_none() {
        notes.push("no `notifications` table: nobody was notified by postlaunch, so MTTA and response count from the detection".into());
    }
    let mut rows = Vec::new();
    let mut unsearched = false;
    for i in &incidents {
        let mut m = metrics::measure(i, alerts.as_deref(), sent.as_deref(), cfg, now);
        unsearched |= !explain_blind_spot(session, &mut m).await?;
        rows.push(m);
    }
    if unsearched {
        notes.push("blind spots: the hourly tables are missing (run `postlaunch hourly`), so the metric that moved first is not searched".into());
    }
    if write {
        output::store(lake, &rows)?;
    }
    let rollups = metrics::rollups(&rows, cfg);
    Ok(Review {
        rows,
        rollups,
        notes,
    })
}
