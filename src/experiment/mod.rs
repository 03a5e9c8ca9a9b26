//! Experiment analysis: A/B readouts from the lake.
//!
//! ```text
//!  pipelines/experiments.toml ──▶ config ──▶ query (sql/experiment/*.sql over the lake:
//!                                             units, hourly per-arm sufficient statistics,
//!                                             latency samples) ──▶ analysis (stats/) ──▶ output
//!                                                                   (report, JSON, experiment_results)
//! ```
//!
//! Sits after [`crate::query`] in the flow: it runs named SQL files through a
//! [`crate::query::LakeSession`], turns the Arrow results into plain numbers
//! ([`crate::stats::CoMoments`] per arm and hour of first exposure), and hands them to
//! [`crate::stats`]. A window is the sum of its hours ([`crate::stats::CoMoments::merge`]).

pub mod analysis;
pub mod config;
pub mod output;
pub mod query;
pub mod stored;

use std::path::Path;

use chrono::{DateTime, Duration, DurationRound, Utc};

use self::analysis::{MetricData, Readout};
use self::config::{Experiment, MetricKind, MetricSource, ValueKind};
use self::query::{Param, SqlError};
use crate::query::LakeSession;

/// Errors of an experiment readout.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    #[error(transparent)]
    Sql(#[from] SqlError),
    #[error("experiment `{0}` has no exposures in the lake (table `exposures`)")]
    NoExposures(String),
    #[error("the lake has no table `{0}`, which this readout needs")]
    MissingTable(String),
    #[error(transparent)]
    Lake(#[from] crate::lake::LakeError),
}

/// The default analysis time: the end of the hour of the latest event the experiment's metrics
/// read (`events` for event metrics, `requests` for request metrics), or of its latest exposure
/// if that is later. (The end of the last exposure's hour would cut off the conversions of a
/// finished experiment that came after its last exposure.)
pub async fn default_analysis_time(
    session: &LakeSession,
    exp: &Experiment,
) -> Result<DateTime<Utc>, ExperimentError> {
    if !session.tables.iter().any(|t| t == "exposures") {
        return Err(ExperimentError::MissingTable("exposures".into()));
    }
    let batches = query::LAST_EXPOSURE
        .batches(session, &[("experiment", Param::Text(exp.key.clone()))])
        .await?;
    let mut last = query::last_exposure(&batches)?
        .ok_or_else(|| ExperimentError::NoExposures(exp.key.clone()))?;
    let mut tables: Vec<&str> = exp
        .metrics
        .iter()
        .map(|m| match m.source {
            MetricSource::Events => "events",
            MetricSource::Requests => "requests",
        })
        .collect();
    tables.sort_unstable();
    tables.dedup();
    for table in tables {
        if !session.tables.iter().any(|t| t == table) {
            continue;
        }
        let batches = query::LAST_EVENT
            .batches(session, &[("table", Param::Sql(table.into()))])
            .await?;
        if let Some(t) = query::last_event(&batches)? {
            last = last.max(t);
        }
    }
    let last = DateTime::from_timestamp_micros(last)
        .ok_or_else(|| ExperimentError::NoExposures(exp.key.clone()))?;
    Ok(last.duration_trunc(Duration::hours(1)).unwrap_or(last) + Duration::hours(1))
}

/// Where a readout's per-arm sums come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sums {
    /// Add up stored hourly statistics of an earlier readout at the same analysis time when
    /// they cover the window and are fresh ([`stored::find`]); scan raw events otherwise.
    ReuseStored,
    /// Always scan the raw events.
    Rescan,
}

/// Hours of first exposure a scan covers at least: a readout that has to scan stores the
/// statistics of this many hours (or of its own window, if longer), so that the 7-day readout
/// after a 48-hour one at the same analysis time adds stored hours too.
pub const STORED_HOURS: u64 = 7 * 24;

/// Reads what the experiment's metrics need from the lake and analyses it, for the window
/// `[at − window, at)`.
pub async fn readout(
    session: &LakeSession,
    lake: &Path,
    exp: &Experiment,
    at: DateTime<Utc>,
    window: std::time::Duration,
    sums: Sums,
) -> Result<Readout, ExperimentError> {
    let window_hours = window.as_secs() / 3600;
    let start = at - Duration::hours(window_hours as i64);
    let has = |t: &str| session.tables.iter().any(|x| x == t);
    if !has("exposures") {
        return Err(ExperimentError::MissingTable("exposures".into()));
    }
    // Versions first: data committed during the scan makes the stored sums look stale, never
    // fresh.
    let inputs = stored::input_versions(lake)?;
    let reuse = match sums {
        Sums::ReuseStored => stored::find(lake, exp, at, window_hours)?,
        Sums::Rescan => None,
    };
    // The window's own parameters (latency samples), and those of the hours a scan stores.
    let params = |from: DateTime<Utc>| {
        vec![
            ("experiment", Param::Text(exp.key.clone())),
            ("window_start", Param::Time(from)),
            ("window_end", Param::Time(at)),
        ]
    };
    let scan_hours = window_hours.max(STORED_HOURS);
    let scan = params(at - Duration::hours(scan_hours as i64));
    let base = params(start);

    let all_units = match &reuse {
        Some(s) => s.units.clone(),
        None => query::unit_hours(&query::UNITS.batches(session, &scan).await?)?,
    };
    // Per metric: the stored or scanned hours (`None` for latency and missing tables).
    let mut all_hours: Vec<Option<Vec<query::HourlyArm>>> = Vec::new();
    let mut data = Vec::new();
    for m in &exp.metrics {
        let stored_hours = reuse
            .as_ref()
            .filter(|_| m.kind != MetricKind::Latency)
            .and_then(|s| s.metrics.get(&m.name));
        let hours = match (m.kind, m.source) {
            _ if stored_hours.is_some() => Ok(stored_hours.cloned().unwrap_or_default()),
            (_, MetricSource::Requests) if !has("requests") => {
                Err(MetricData::Unavailable("requests".into()))
            }
            (_, MetricSource::Events) if !has("events") => {
                Err(MetricData::Unavailable("events".into()))
            }
            (MetricKind::Latency, _) => {
                let mut p = base.clone();
                p.push(("service", Param::Text(m.service.clone())));
                Err(MetricData::Samples(query::latency_samples(
                    &query::LATENCY_SAMPLES.batches(session, &p).await?,
                )?))
            }
            (_, MetricSource::Requests) => {
                let mut p = scan.clone();
                p.push(("service", Param::Text(m.service.clone())));
                Ok(query::hourly_arms(
                    &query::REQUEST_METRIC_HOURLY,
                    &query::REQUEST_METRIC_HOURLY.batches(session, &p).await?,
                )?)
            }
            (_, MetricSource::Events) => {
                let mut p = scan.clone();
                p.push(("event", Param::Text(m.event.clone())));
                p.push((
                    "value_kind",
                    Param::Text(
                        match m.value {
                            ValueKind::Count => "count",
                            ValueKind::Revenue => "revenue",
                        }
                        .into(),
                    ),
                ));
                p.push((
                    "denominator_event",
                    Param::Text(m.denominator_event.clone()),
                ));
                Ok(query::hourly_arms(
                    &query::EVENT_METRIC_HOURLY,
                    &query::EVENT_METRIC_HOURLY.batches(session, &p).await?,
                )?)
            }
        };
        // The window is the sum of its last hours.
        let from = start.timestamp_micros();
        match hours {
            Ok(h) => {
                data.push(MetricData::Hourly(
                    h.iter()
                        .filter(|x| x.cohort_hour >= from)
                        .cloned()
                        .collect(),
                ));
                all_hours.push(Some(h));
            }
            Err(d) => {
                data.push(d);
                all_hours.push(None);
            }
        }
    }
    let units = query::UnitCounts::from_hours(all_units.iter().cloned(), start.timestamp_micros());
    let mut r = analysis::analyse(exp, at, start, &units, &data);
    r.inputs = inputs;
    match reuse {
        Some(s) => {
            r.statistics = format!(
                "added up from the stored hourly statistics of {} hours ending at the analysis time ({})",
                s.hours, s.path
            );
            r.reused_from = Some(s.path);
        }
        None => {
            // Store every scanned hour, not only the window's.
            r.stored_hours = scan_hours;
            r.unit_hours = all_units;
            r.hourly = exp
                .metrics
                .iter()
                .zip(all_hours)
                .flat_map(|(m, h)| h.into_iter().flatten().map(|x| (m.name.clone(), x)))
                .collect();
        }
    }
    Ok(r)
}
