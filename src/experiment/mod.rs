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

/// The default analysis time: the end of the hour of the experiment's latest exposure.
pub async fn default_analysis_time(
    session: &LakeSession,
    exp: &Experiment,
) -> Result<DateTime<Utc>, ExperimentError> {
    if !session.tables.iter().any(|t| t == "exposures") {
        return Err(ExperimentError::MissingTable("exposures".into()));
    }
    let batches = query::run(
        session,
        &query::LAST_EXPOSURE,
        &[("experiment", Param::Text(exp.key.clone()))],
    )
    .await?;
    let last = query::last_exposure(&batches)?
        .and_then(DateTime::from_timestamp_micros)
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
    let start = at - Duration::seconds(window.as_secs() as i64);
    let has = |t: &str| session.tables.iter().any(|x| x == t);
    if !has("exposures") {
        return Err(ExperimentError::MissingTable("exposures".into()));
    }
    // Versions first: data committed during the scan makes the stored sums look stale, never
    // fresh.
    let inputs = stored::input_versions(lake)?;
    let window_hours = window.as_secs() / 3600;
    let reuse = match sums {
        Sums::ReuseStored => stored::find(lake, exp, at, window_hours)?,
        Sums::Rescan => None,
    };
    let base = vec![
        ("experiment", Param::Text(exp.key.clone())),
        ("window_start", Param::Time(start)),
        ("window_end", Param::Time(at)),
    ];
    let from = start.timestamp_micros();
    let units = match &reuse {
        Some(s) => query::UnitCounts::from_hours(s.units.iter().cloned(), from),
        None => query::unit_counts(&query::run(session, &query::UNITS, &base).await?)?,
    };
    let mut data = Vec::new();
    for m in &exp.metrics {
        let stored_hours = reuse
            .as_ref()
            .filter(|_| m.kind != MetricKind::Latency)
            .and_then(|s| s.metrics.get(&m.name));
        let d = match (m.kind, m.source) {
            _ if stored_hours.is_some() => MetricData::Hourly(
                stored_hours
                    .into_iter()
                    .flatten()
                    .filter(|h| h.cohort_hour >= from)
                    .cloned()
                    .collect(),
            ),
            (_, MetricSource::Requests) if !has("requests") => {
                MetricData::Unavailable("requests".into())
            }
            (_, MetricSource::Events) if !has("events") => MetricData::Unavailable("events".into()),
            (MetricKind::Latency, _) => {
                let mut p = base.clone();
                p.push(("service", Param::Text(m.service.clone())));
                MetricData::Samples(query::latency_samples(
                    &query::run(session, &query::LATENCY_SAMPLES, &p).await?,
                )?)
            }
            (_, MetricSource::Requests) => {
                let mut p = base.clone();
                p.push(("service", Param::Text(m.service.clone())));
                MetricData::Hourly(query::hourly_arms(
                    &query::REQUEST_METRIC_HOURLY,
                    &query::run(session, &query::REQUEST_METRIC_HOURLY, &p).await?,
                )?)
            }
            (_, MetricSource::Events) => {
                let mut p = base.clone();
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
                MetricData::Hourly(query::hourly_arms(
                    &query::EVENT_METRIC_HOURLY,
                    &query::run(session, &query::EVENT_METRIC_HOURLY, &p).await?,
                )?)
            }
        };
        data.push(d);
    }
    let mut r = analysis::analyse(exp, at, start, &units, &data);
    r.inputs = inputs;
    if let Some(s) = reuse {
        r.statistics = format!(
            "added up from the stored hourly statistics of the {}-hour readout at the same time ({})",
            s.window_hours, s.path
        );
        r.reused_from = Some(s.path);
    }
    Ok(r)
}
