//! The experiment layer's SQL: the files under `sql/experiment/` (built into the binary), their
//! parameters, and the conversion of their Arrow results into plain structs. Arrow stops here:
//! [`super::analysis`] and [`crate::stats`] see only numbers.
//!
//! Each SQL file opens with a `params` CTE whose body sits between the lines `-- params:begin`
//! and `-- params:end`; it holds the demo's values, so the file runs as it is (the `sql/` tests
//! run it), and [`render`] replaces that block with the values of a run, as quoted literals.

use std::collections::BTreeMap;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Float64Type, Int64Type, TimeUnit};
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, Utc};

use crate::query::{LakeSession, QueryError};
use crate::stats::CoMoments;

/// A SQL file of `sql/`, built into the binary.
#[derive(Debug, Clone, Copy)]
pub struct SqlFile {
    /// Path in the repository, for messages.
    pub path: &'static str,
    pub text: &'static str,
}

macro_rules! sql_file {
    ($path:literal) => {
        SqlFile {
            path: $path,
            text: include_str!(concat!("../../", $path)),
        }
    };
}

pub const UNITS: SqlFile = sql_file!("sql/experiment/units.sql");
pub const EVENT_METRIC_HOURLY: SqlFile = sql_file!("sql/experiment/event_metric_hourly.sql");
pub const REQUEST_METRIC_HOURLY: SqlFile = sql_file!("sql/experiment/request_metric_hourly.sql");
pub const LATENCY_SAMPLES: SqlFile = sql_file!("sql/experiment/latency_samples.sql");
pub const LAST_EXPOSURE: SqlFile = sql_file!("sql/experiment/last_exposure.sql");

/// Errors of running the experiment SQL.
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    #[error("`{file}` has no `-- params:begin` / `-- params:end` block")]
    NoParams { file: &'static str },
    #[error("running `{file}`: {source}")]
    Query {
        file: &'static str,
        source: QueryError,
    },
    #[error("`{file}` returned no column `{column}` of a usable type")]
    Column {
        file: &'static str,
        column: &'static str,
    },
}

/// A parameter value.
#[derive(Debug, Clone)]
pub enum Param {
    Text(String),
    Time(DateTime<Utc>),
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The SQL of `file` with its `params` block replaced by `params` (as `SELECT … AS name, …`).
pub fn render(file: &SqlFile, params: &[(&str, Param)]) -> Result<String, SqlError> {
    let no = || SqlError::NoParams { file: file.path };
    let begin = file.text.find("-- params:begin").ok_or_else(no)?;
    let end = file.text.find("-- params:end").ok_or_else(no)?;
    if end < begin {
        return Err(no());
    }
    let select: Vec<String> = params
        .iter()
        .map(|(name, v)| match v {
            Param::Text(s) => format!("{} AS {name}", quote(s)),
            Param::Time(t) => format!(
                "to_timestamp_micros({}) AS {name}",
                quote(&t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
            ),
        })
        .collect();
    Ok(format!(
        "{}\n  SELECT {}\n  {}",
        &file.text[..begin],
        select.join(",\n         "),
        &file.text[end..]
    ))
}

/// Runs `file` with `params` and returns its batches.
pub async fn run(
    session: &LakeSession,
    file: &SqlFile,
    params: &[(&str, Param)],
) -> Result<Vec<RecordBatch>, SqlError> {
    let sql = render(file, params)?;
    let (_, batches) = session
        .query(&sql)
        .await
        .map_err(|source| SqlError::Query {
            file: file.path,
            source,
        })?;
    Ok(batches)
}

/// A column of `batch` by name, cast to `to`. `file` names where the batch came from (a SQL
/// file's path, or a stored table), for the error.
fn column(
    file: &'static str,
    batch: &RecordBatch,
    name: &'static str,
    to: &DataType,
) -> Result<std::sync::Arc<dyn Array>, SqlError> {
    let err = || SqlError::Column { file, column: name };
    let c = batch.column_by_name(name).ok_or_else(err)?;
    arrow::compute::cast(c, to).map_err(|_| err())
}

pub(crate) fn f64s(
    file: &'static str,
    b: &RecordBatch,
    name: &'static str,
) -> Result<Vec<f64>, SqlError> {
    let a = column(file, b, name, &DataType::Float64)?;
    let a = a.as_primitive::<Float64Type>();
    Ok((0..a.len())
        .map(|i| if a.is_null(i) { 0.0 } else { a.value(i) })
        .collect())
}

pub(crate) fn i64s(
    file: &'static str,
    b: &RecordBatch,
    name: &'static str,
) -> Result<Vec<Option<i64>>, SqlError> {
    let a = column(file, b, name, &DataType::Int64)?;
    let a = a.as_primitive::<Int64Type>();
    Ok((0..a.len())
        .map(|i| (!a.is_null(i)).then(|| a.value(i)))
        .collect())
}

pub(crate) fn times(
    file: &'static str,
    b: &RecordBatch,
    name: &'static str,
) -> Result<Vec<Option<i64>>, SqlError> {
    let a = column(
        file,
        b,
        name,
        &DataType::Timestamp(TimeUnit::Microsecond, None),
    )?;
    let a = arrow::compute::cast(&a, &DataType::Int64)
        .map_err(|_| SqlError::Column { file, column: name })?;
    let a = a.as_primitive::<Int64Type>();
    Ok((0..a.len())
        .map(|i| (!a.is_null(i)).then(|| a.value(i)))
        .collect())
}

pub(crate) fn strings(
    file: &'static str,
    b: &RecordBatch,
    name: &'static str,
) -> Result<Vec<Option<String>>, SqlError> {
    let a = column(file, b, name, &DataType::Utf8)?;
    let a = a.as_string::<i32>();
    Ok((0..a.len())
        .map(|i| (!a.is_null(i)).then(|| a.value(i).to_string()))
        .collect())
}

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

/// Reads the result of [`LAST_EXPOSURE`]: the latest exposure (µs), if any.
pub fn last_exposure(batches: &[RecordBatch]) -> Result<Option<i64>, SqlError> {
    for b in batches {
        if let Some(Some(t)) = times(LAST_EXPOSURE.path, b, "last_exposure")?.first() {
            return Ok(Some(*t));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_block_is_replaced_and_quoted() {
        let at = DateTime::parse_from_rfc3339("2026-11-10T14:00:00Z")
            .expect("time")
            .with_timezone(&Utc);
        let sql = render(
            &UNITS,
            &[
                ("experiment", Param::Text("it's".into())),
                ("window_start", Param::Time(at)),
                ("window_end", Param::Time(at)),
            ],
        )
        .expect("rendered");
        assert!(sql.contains("'it''s' AS experiment"));
        assert!(sql.contains("to_timestamp_micros('2026-11-10T14:00:00.000000Z') AS window_end"));
        assert!(!sql.contains("checkout_redesign"));
        assert!(sql.contains("-- params:end"));
    }
}
