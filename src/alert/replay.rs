//! `alerts replay`: the rules over history. The requests and metric samples of a range are read
//! from the lake (`sql/alert/`) in event-time order and fed to the same [`Engine`] the live path
//! uses, the clock advanced after every event, so what it prints is what the live path would have
//! decided on those events. The slow rules (P4 anomalies of the hourly tables, trends of
//! `weekly_trends`) are judged over every hour and week of the range, as `postlaunch run` would
//! have judged them after each hourly job.

use chrono::{DateTime, Utc};

use super::config::{AlertsFile, RuleKind};
use super::{slow, AlertError, Engine, Transition};
use crate::lake::layout::HOUR_MICROS;
use crate::query::sql::{f64s, i64s, quote, sql_file, strings, times, Param, SqlFile};
use crate::query::LakeSession;

const REQUESTS: SqlFile = sql_file!("sql/alert/requests.sql");
const SAMPLES: SqlFile = sql_file!("sql/alert/samples.sql");
const RANGE: SqlFile = sql_file!("sql/alert/range.sql");

/// What a replay found.
#[derive(Debug, Clone)]
pub struct Replay {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub transitions: Vec<Transition>,
    pub requests: u64,
    pub samples: u64,
    /// Files skipped because the lake lacks their table (no `metrics`: no gauge rules).
    pub skipped: Vec<String>,
}

/// One event of the replayed stream.
enum Event {
    Request {
        service: String,
        status: i64,
        duration_ms: f64,
    },
    Sample {
        name: String,
        host: Option<String>,
        service: Option<String>,
        value: f64,
    },
}

/// The event-time range of the lake's requests, `[first, last]`; `None` when it has none.
pub async fn lake_range(
    session: &LakeSession,
) -> Result<Option<(DateTime<Utc>, DateTime<Utc>)>, AlertError> {
    let no_params: &[(&str, Param)] = &[];
    let batches = RANGE.batches(session, no_params).await?;
    let Some(b) = batches.iter().find(|b| b.num_rows() > 0) else {
        return Ok(None);
    };
    let (first, last) = (
        times(RANGE.path, b, "first_ts")?,
        times(RANGE.path, b, "last_ts")?,
    );
    Ok(match (first[0], last[0]) {
        (Some(f), Some(l)) => {
            DateTime::from_timestamp_micros(f).zip(DateTime::from_timestamp_micros(l))
        }
        _ => None,
    })
}

/// Replays `[from, to)` through the rules of `file`.
pub async fn replay(
    session: &LakeSession,
    file: &AlertsFile,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Replay, AlertError> {
    let mut skipped = Vec::new();
    let range = [("from", Param::Time(from)), ("to", Param::Time(to))];
    let mut events: Vec<(i64, Event)> = Vec::new();
    if let Some(batches) = REQUESTS
        .batches_or_skip(session, &range, &mut skipped)
        .await?
    {
        for b in &batches {
            let f = REQUESTS.path;
            let (ts, service) = (times(f, b, "ts")?, strings(f, b, "service")?);
            let (status, duration) = (i64s(f, b, "status")?, f64s(f, b, "duration_ms")?);
            for i in 0..b.num_rows() {
                let (Some(ts), Some(service), Some(status)) =
                    (ts[i], service[i].clone(), status[i])
                else {
                    continue;
                };
                events.push((
                    ts,
                    Event::Request {
                        service,
                        status,
                        duration_ms: duration[i],
                    },
                ));
            }
        }
    }
    let requests = events.len() as u64;
    let names: Vec<String> = file
        .rules
        .iter()
        .filter(|r| r.kind == RuleKind::Gauge)
        .filter_map(|r| r.metric.as_deref().map(quote))
        .collect();
    if !names.is_empty() {
        let params = [
            ("from", Param::Time(from)),
            ("to", Param::Time(to)),
            // quoted names of validated rules: never a value from an event
            ("names", Param::Sql(names.join(", "))),
        ];
        if let Some(batches) = SAMPLES
            .batches_or_skip(session, &params, &mut skipped)
            .await?
        {
            for b in &batches {
                let f = SAMPLES.path;
                let (ts, name) = (times(f, b, "ts")?, strings(f, b, "name")?);
                let (host, service) = (strings(f, b, "host")?, strings(f, b, "service")?);
                let value = f64s(f, b, "value")?;
                for i in 0..b.num_rows() {
                    let (Some(ts), Some(name)) = (ts[i], name[i].clone()) else {
                        continue;
                    };
                    let (host, service) = (host[i].clone(), service[i].clone());
                    events.push((
                        ts,
                        Event::Sample {
                            name,
                            host,
                            service,
                            value: value[i],
                        },
                    ));
                }
            }
        }
    }
    let samples = events.len() as u64 - requests;
    // both inputs are sorted; a stable sort interleaves them by time
    events.sort_by_key(|e| e.0);
    let lateness = i64::try_from(file.decision.lateness.as_micros()).unwrap_or(0);
    let mut transitions = Vec::new();
    // one engine per table read, as on the live path
    for (table, rules) in file.by_table() {
        let mut engine = Engine::new(&rules).map_err(AlertError::Rules)?;
        for (ts, event) in &events {
            match event {
                Event::Request {
                    service,
                    status,
                    duration_ms,
                } if table == "requests" => engine.add_request(*ts, service, *status, *duration_ms),
                Event::Sample {
                    name,
                    host,
                    service,
                    value,
                } if table == "metrics" => {
                    engine.add_sample(*ts, name, host.as_deref(), service.as_deref(), *value)
                }
                _ => continue,
            }
            transitions.extend(engine.advance(*ts));
        }
        // every step up to `to` is evaluated: the lateness has passed for all of them
        transitions.extend(engine.advance(to.timestamp_micros().saturating_add(lateness)));
    }
    transitions.retain(|t| t.event_time <= to.timestamp_micros());
    // the slow rules (P4 anomalies and trends) over the hours and weeks that start in the range
    // (a week's verdict comes at its end, which may be past the last event)
    if !file.anomalies.is_empty() || !file.trends.is_empty() {
        let (f, t) = (from.timestamp_micros(), to.timestamp_micros());
        let first_hour = f.div_euclid(HOUR_MICROS) * HOUR_MICROS;
        let verdicts = slow::verdicts(session, file, first_hour, t, &mut skipped).await?;
        transitions.extend(slow::walk(verdicts, &Default::default()));
    }
    transitions.sort_by_key(|t| t.event_time);
    Ok(Replay {
        from,
        to,
        transitions,
        requests,
        samples,
        skipped,
    })
}
