//! The experiment layer's SQL: the files under `sql/experiment/` (loaded, rendered and run by
//! [`crate::query::sql`]) and the conversion of their Arrow results into plain structs. Arrow
//! stops here: [`super::analysis`] and [`crate::stats`] see only numbers.

use std::collections::BTreeMap;

use arrow::record_batch::RecordBatch;

use crate::query::sql::{f64s, i64s, sql_file, strings, times};
pub use crate::query::sql::{Param, SqlError, SqlFile};
use crate::stats::CoMoments;

/// Units entering the window per hour of first exposure and variant.
pub const UNITS: SqlFile = sql_file!("sql/experiment/units.sql");
/// Per-hour, per-arm sufficient statistics of an event metric.
pub const EVENT_METRIC_HOURLY: SqlFile = sql_file!("sql/experiment/event_metric_hourly.sql");
/// Per-hour, per-arm sufficient statistics of the server-error rate.
pub const REQUEST_METRIC_HOURLY: SqlFile = sql_file!("sql/experiment/request_metric_hourly.sql");
/// Latency samples of the experiment's units, with their users.
pub const LATENCY_SAMPLES: SqlFile = sql_file!("sql/experiment/latency_samples.sql");
/// The latest event of a table the metrics read.
pub const LAST_EVENT: SqlFile = sql_file!("sql/experiment/last_event.sql");
/// The latest exposure of an experiment.
pub const LAST_EXPOSURE: SqlFile = sql_file!("sql/experiment/last_exposure.sql");

/// Units that entered in one hour of first exposure in one variant (`None`: seen in several).
#[derive(Debug, Clone, PartialEq)]
pub struct UnitHour {
    /// Start of the hour of first exposure (µs since the epoch, UTC).
    pub cohort_hour: i64,
    pub variant: Option<String>,
    pub units: u64,
}

/// Units entering the window, per variant, and those seen in several variants.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UnitCounts {
    pub per_variant: BTreeMap<String, u64>,
    /// Units seen in more than one variant (excluded from every metric).
    pub multi_variant: u64,
    /// Start of the hour of the earliest first exposure in the window (µs), if any unit entered.
    pub first_exposure: Option<i64>,
    /// The counts per hour of first exposure they were summed from (stored with the readout).
    pub hours: Vec<UnitHour>,
}

impl UnitCounts {
    /// All units that entered, excluded ones included.
    pub fn total(&self) -> u64 {
        self.per_variant.values().sum::<u64>() + self.multi_variant
    }

    /// Sums the hours of first exposure from `from` (µs) on: a window is the sum of its hours.
    pub fn from_hours(hours: impl IntoIterator<Item = UnitHour>, from: i64) -> UnitCounts {
        let mut out = UnitCounts::default();
        for h in hours.into_iter().filter(|h| h.cohort_hour >= from) {
            out.first_exposure = Some(
                out.first_exposure
                    .map_or(h.cohort_hour, |f: i64| f.min(h.cohort_hour)),
            );
            match &h.variant {
                Some(v) => *out.per_variant.entry(v.clone()).or_default() += h.units,
                None => out.multi_variant += h.units,
            }
            out.hours.push(h);
        }
        out
    }
}

/// Reads the result of [`UNITS`]: units per hour of first exposure and variant.
pub fn unit_hours(batches: &[RecordBatch]) -> Result<Vec<UnitHour>, SqlError> {
    let mut hours = Vec::new();
    for b in batches {
        let cohorts = times(UNITS.path, b, "cohort_hour")?;
        let variants = strings(UNITS.path, b, "variant")?;
        let units = i64s(UNITS.path, b, "units")?;
        for ((c, v), n) in cohorts.into_iter().zip(variants).zip(units) {
            if let Some(cohort_hour) = c {
                hours.push(UnitHour {
                    cohort_hour,
                    variant: v,
                    units: n.unwrap_or(0).max(0) as u64,
                });
            }
        }
    }
    Ok(hours)
}

/// Sufficient statistics of one arm for units that entered in one hour.
#[derive(Debug, Clone, PartialEq)]
pub struct HourlyArm {
    /// Start of the hour of first exposure (µs since the epoch, UTC).
    pub cohort_hour: i64,
    pub variant: String,
    /// Units with x > 0 (binary metrics).
    pub converted: u64,
    /// n, means and co-moments of the units' (x, y).
    pub moments: CoMoments,
}

/// Reads the result of [`EVENT_METRIC_HOURLY`] or [`REQUEST_METRIC_HOURLY`].
pub fn hourly_arms(file: &SqlFile, batches: &[RecordBatch]) -> Result<Vec<HourlyArm>, SqlError> {
    let mut out = Vec::new();
    for b in batches {
        let hours = times(file.path, b, "cohort_hour")?;
        let variants = strings(file.path, b, "variant")?;
        let units = i64s(file.path, b, "units")?;
        let converted = i64s(file.path, b, "converted")?;
        let (sx, sxx) = (f64s(file.path, b, "sum_x")?, f64s(file.path, b, "sum_x2")?);
        let (sy, syy) = (f64s(file.path, b, "sum_y")?, f64s(file.path, b, "sum_y2")?);
        let sxy = f64s(file.path, b, "sum_xy")?;
        for i in 0..b.num_rows() {
            let (Some(hour), Some(variant)) = (hours[i], variants[i].clone()) else {
                continue;
            };
            let n = units[i].unwrap_or(0).max(0) as u64;
            out.push(HourlyArm {
                cohort_hour: hour,
                variant,
                converted: converted[i].unwrap_or(0).max(0) as u64,
                moments: CoMoments::from_sums(n, sx[i], sy[i], sxx[i], syy[i], sxy[i]),
            });
        }
    }
    Ok(out)
}

/// Reads the result of [`LATENCY_SAMPLES`]: `(duration, user)` per variant, users numbered.
pub fn latency_samples(
    batches: &[RecordBatch],
) -> Result<BTreeMap<String, Vec<(f64, u64)>>, SqlError> {
    let mut out: BTreeMap<String, Vec<(f64, u64)>> = BTreeMap::new();
    let mut users: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    for b in batches {
        let variants = strings(LATENCY_SAMPLES.path, b, "variant")?;
        let user_ids = strings(LATENCY_SAMPLES.path, b, "user_id")?;
        let durations = f64s(LATENCY_SAMPLES.path, b, "duration_ms")?;
        for ((v, u), d) in variants.into_iter().zip(user_ids).zip(durations) {
            if let (Some(v), Some(u)) = (v, u) {
                let next = users.len() as u64;
                let id = *users.entry(u).or_insert(next);
                out.entry(v).or_default().push((d, id));
            }
        }
    }
    Ok(out)
}

/// Reads the result of [`LAST_EVENT`]: the latest event (µs), if any.
pub fn last_event(batches: &[RecordBatch]) -> Result<Option<i64>, SqlError> {
    for b in batches {
        if let Some(Some(t)) = times(LAST_EVENT.path, b, "last_event")?.first() {
            return Ok(Some(*t));
        }
    }
    Ok(None)
}

/// Reads the result of [`LAST_EXPOSURE`]: the latest exposure (µs), if any.
pub fn last_exposure(batches: &[RecordBatch]) -> Result<Option<i64>, SqlError> {
    for b in batches {
        if let Some(Some(t)) = times(LAST_EXPOSURE.path, b, "last_exposure")?.first() {
            return Ok(Some(*t));
        }
    }
    Ok(None)
}
