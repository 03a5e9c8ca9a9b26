//! The SQL of incidents: the files of `sql/incident/` (run through [`crate::query::sql`]) and
//! their rows read into plain structs. A table the lake lacks (no alerts stored yet, no
//! notifications) gives `None`: the figures that need it are left empty, and say so.

use chrono::{DateTime, Utc};

use super::{Event, IncidentError, Status};
use crate::alert::Severity;
use crate::query::sql::{opt_f64s, sql_file, strings, time_range, times, Param, SqlFile};
use crate::query::LakeSession;

const EVENTS: SqlFile = sql_file!("sql/incident/events.sql");
const ALERTS: SqlFile = sql_file!("sql/incident/alerts.sql");
const NOTIFICATIONS: SqlFile = sql_file!("sql/incident/notifications.sql");
const DEPLOYMENTS: SqlFile = sql_file!("sql/incident/deployments.sql");
/// The hourly figures a blind spot is searched in: the service's own, its hosts', its
/// dependencies', its queries'.
const MOVERS: [SqlFile; 4] = [
    sql_file!("sql/incident/movers_service.sql"),
    sql_file!("sql/incident/movers_hosts.sql"),
    sql_file!("sql/incident/movers_dependencies.sql"),
    sql_file!("sql/incident/movers_databases.sql"),
];

/// One alert transition (firing, escalated or resolved) from the `alerts` table.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRow {
    pub event_time: i64,
    /// When it was decided (wall clock, µs).
    pub wall_time: i64,
    pub rule: String,
    pub entity_kind: String,
    pub entity: String,
    pub change: String,
    pub severity: Severity,
    /// The estimated start of the breach (rate rules).
    pub onset: Option<i64>,
    pub value: Option<f64>,
    pub threshold: Option<f64>,
}

impl AlertRow {
    /// The alert's key, as notifications and incidents name it.
    pub fn key(&self) -> String {
        format!(
            "postlaunch/{}/{}/{}",
            self.rule, self.entity_kind, self.entity
        )
    }

    /// Whether the transition turns the alert on (or up).
    pub fn fires(&self) -> bool {
        self.change == "firing" || self.change == "escalated"
    }
}

/// The first successful notification of one alert transition on one channel.
#[derive(Debug, Clone, PartialEq)]
pub struct Sent {
    pub alert: String,
    pub channel: String,
    pub change: String,
    /// The transition's event time (µs): with `alert`, which transition it was.
    pub event_time: i64,
    /// When it was delivered (wall clock, µs).
    pub wall_time: i64,
}

/// One deployment phase change.
#[derive(Debug, Clone, PartialEq)]
pub struct Deployment {
    pub ts: i64,
    pub service: String,
    pub version: String,
    pub phase: String,
    pub strategy: Option<String>,
    pub change_id: Option<String>,
    pub description: Option<String>,
}

/// One hourly figure of a service, a host, a dependency or a query.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub metric: String,
    pub entity: String,
    pub hour_start: i64,
    pub value: f64,
}

fn severity(s: Option<&str>) -> Option<Severity> {
    match s? {
        "P1" => Some(Severity::P1),
        "P2" => Some(Severity::P2),
        "P3" => Some(Severity::P3),
        "P4" => Some(Severity::P4),
        _ => None,
    }
}

/// Every incident event, in order of incident and time (none when the lake has no `incidents`
/// table). Events of a status this version does not know are left out.
pub async fn events(session: &LakeSession) -> Result<Vec<Event>, IncidentError> {
    let f = EVENTS.path;
    let Some(bs) = EVENTS.batches_if_present::<&str>(session, &[]).await? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for b in &bs {
        let (ts, id, sev, status) = (
            times(f, b, "ts")?,
            strings(f, b, "incident_id")?,
            strings(f, b, "severity")?,
            strings(f, b, "status")?,
        );
        let (service, title, message, author) = (
            strings(f, b, "service")?,
            strings(f, b, "title")?,
            strings(f, b, "message")?,
            strings(f, b, "author")?,
        );
        let (impact, alerts, action_id, action_state) = (
            times(f, b, "impact_start")?,
            strings(f, b, "alerts")?,
            strings(f, b, "action_id")?,
            strings(f, b, "action_state")?,
        );
        for i in 0..b.num_rows() {
            let (Some(ts), Some(id), Some(sev), Some(status)) = (
                ts[i],
                id[i].clone(),
                severity(sev[i].as_deref()),
                status[i].as_deref().and_then(Status::parse),
            ) else {
                continue;
            };
            out.push(Event {
                ts,
                incident_id: id,
                severity: sev,
                status,
                service: service[i].clone(),
                title: title[i].clone(),
                message: message[i].clone(),
                author: author[i].clone(),
                impact_start: impact[i],
                alerts: alerts[i].clone(),
                action_id: action_id[i].clone(),
                action_state: action_state[i].clone(),
            });
        }
    }
    Ok(out)
}

/// The alert transitions of [from, to); `None` without an `alerts` table.
pub async fn alerts(
    session: &LakeSession,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Option<Vec<AlertRow>>, IncidentError> {
    let f = ALERTS.path;
    let Some(bs) = ALERTS
        .batches_if_present(session, &time_range(from, to))
        .await?
    else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for b in &bs {
        let (et, wt, onset) = (
            times(f, b, "event_time")?,
            times(f, b, "wall_time")?,
            times(f, b, "onset")?,
        );
        let (rule, kind, entity, change, sev) = (
            strings(f, b, "rule")?,
            strings(f, b, "entity_kind")?,
            strings(f, b, "entity")?,
            strings(f, b, "change")?,
            strings(f, b, "severity")?,
        );
        let (value, threshold) = (opt_f64s(f, b, "value")?, opt_f64s(f, b, "threshold")?);
        for i in 0..b.num_rows() {
            let (Some(event_time), Some(wall_time), Some(severity)) =
                (et[i], wt[i], severity(sev[i].as_deref()))
            else {
                continue;
            };
            out.push(AlertRow {
                event_time,
                wall_time,
                rule: rule[i].clone().unwrap_or_default(),
                entity_kind: kind[i].clone().unwrap_or_default(),
                entity: entity[i].clone().unwrap_or_default(),
                change: change[i].clone().unwrap_or_default(),
                severity,
                onset: onset[i],
                value: value[i],
                threshold: threshold[i],
            });
        }
    }
    Ok(Some(out))
}

/// The first successful notification of each transition of [from, to) on each channel; `None`
/// without a `notifications` table.
pub async fn notifications(
    session: &LakeSession,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Option<Vec<Sent>>, IncidentError> {
    let f = NOTIFICATIONS.path;
    let Some(bs) = NOTIFICATIONS
        .batches_if_present(session, &time_range(from, to))
        .await?
    else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for b in &bs {
        let (alert, channel, change) = (
            strings(f, b, "alert")?,
            strings(f, b, "channel")?,
            strings(f, b, "change")?,
        );
        let (et, wt) = (times(f, b, "event_time")?, times(f, b, "wall_time")?);
        for i in 0..b.num_rows() {
            let (Some(event_time), Some(wall_time)) = (et[i], wt[i]) else {
                continue;
            };
            out.push(Sent {
                alert: alert[i].clone().unwrap_or_default(),
                channel: channel[i].clone().unwrap_or_default(),
                change: change[i].clone().unwrap_or_default(),
                event_time,
                wall_time,
            });
        }
    }
    Ok(Some(out))
}

/// Deployment phase changes of [from, to); empty without a `deployments` table.
pub async fn deployments(
    session: &LakeSession,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Deployment>, IncidentError> {
    let f = DEPLOYMENTS.path;
    let Some(bs) = DEPLOYMENTS
        .batches_if_present(session, &time_range(from, to))
        .await?
    else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for b in &bs {
        let ts = times(f, b, "ts")?;
        let (service, version, phase) = (
            strings(f, b, "service")?,
            strings(f, b, "version")?,
            strings(f, b, "phase")?,
        );
        let (strategy, change_id, description) = (
            strings(f, b, "strategy")?,
            strings(f, b, "change_id")?,
            strings(f, b, "description")?,
        );
        for i in 0..b.num_rows() {
            let Some(ts) = ts[i] else { continue };
            out.push(Deployment {
                ts,
                service: service[i].clone().unwrap_or_default(),
                version: version[i].clone().unwrap_or_default(),
                phase: phase[i].clone().unwrap_or_default(),
                strategy: strategy[i].clone(),
                change_id: change_id[i].clone(),
                description: description[i].clone(),
            });
        }
    }
    Ok(out)
}

/// The hourly figures of `service` with hour_start in [from, to), from every hourly table the
/// lake has; `None` when it has none of them (run `postlaunch hourly`).
pub async fn movers(
    session: &LakeSession,
    service: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Option<Vec<Point>>, IncidentError> {
    let params = [
        ("service", Param::Text(service.to_string())),
        ("from", Param::Time(from)),
        ("to", Param::Time(to)),
    ];
    // the four files at once (each reads its table's hours of the week before)
    let results = futures::future::try_join_all(
        MOVERS
            .iter()
            .map(|file| file.batches_if_present(session, &params)),
    )
    .await?;
    let mut out = Vec::new();
    let mut searched = false;
    for (file, bs) in MOVERS.iter().zip(results) {
        let f = file.path;
        let Some(bs) = bs else {
            continue;
        };
        searched = true;
        for b in &bs {
            let (metric, entity) = (strings(f, b, "metric")?, strings(f, b, "entity")?);
            let (hour, value) = (times(f, b, "hour_start")?, opt_f64s(f, b, "value")?);
            for i in 0..b.num_rows() {
                let (Some(hour_start), Some(value)) = (hour[i], value[i]) else {
                    continue;
                };
                if !value.is_finite() {
                    continue;
                }
                out.push(Point {
                    metric: metric[i].clone().unwrap_or_default(),
                    entity: entity[i].clone().unwrap_or_default(),
                    hour_start,
                    value,
                });
            }
        }
    }
    Ok(searched.then_some(out))
}
