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

/// Reads what the experiment's metrics need from the lake and analyses it, for the window
/// `[at − window, at)`.
pub async fn readout(
    session: &LakeSession,
    exp: &Experiment,
    at: DateTime<Utc>,
    window: std::time::Duration,
) -> Result<Readout, ExperimentError> {
    let start = at - Duration::seconds(window.as_secs() as i64);
    let has = |t: &str| session.tables.iter().any(|x| x == t);
    if !has("exposures") {
        return Err(ExperimentError::MissingTable("exposures".into()));
    }
    let base = vec![
        ("experiment", Param::Text(exp.key.clone())),
        ("window_start", Param::Time(start)),
        ("window_end", Param::Time(at)),
    ];
    let units = query::unit_counts(&query::run(session, &query::UNITS, &base).await?)?;
    let mut data = Vec::new();
    for m in &exp.metrics {
        let d = match (m.kind, m.source) {
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
    Ok(analysis::analyse(exp, at, start, &units, &data))
}
