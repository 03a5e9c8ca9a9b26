//! Reusing stored hourly statistics: a readout whose window ends at the same analysis time as a
//! stored one, and fits inside it, adds up the stored hours instead of scanning raw events.
//!
//! A unit's value counts its events from its first exposure up to the analysis time, so per-arm
//! sums of squares only add up over hours of first exposure *for one analysis time*: a readout
//! at `at` that scans stores one row per metric, variant and cohort hour in `[at − H, at)`, with
//! H its window or [`super::STORED_HOURS`] (7 days) if longer, and any window `w ≤ H` ending at
//! `at` is the sum of its last `w` hours (the 7-day readout after the 48-hour one at the same
//! hour, a re-run for a report, JSON after the table).
//! Latency quantiles do not add up; their samples are always read.
//!
//! Each file carries its provenance in the Parquet footer (key [`PROVENANCE_KEY`]): the log
//! version of every input table and what each metric's sums are made of. A stored file is
//! reused only when the metric definitions match and no later non-compaction commit of an input
//! table adds data from before the analysis time (late events make it stale).

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;

use arrow::record_batch::RecordBatch;
use chrono::{DateTime, Utc};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::{Deserialize, Serialize};

use super::config::{Experiment, Metric, MetricKind, MetricSource, ValueKind};
use super::query::{HourlyArm, SqlError, UnitHour};
use crate::lake::keyed::file_key;
use crate::lake::log::{commits_after, TableLog};
use crate::lake::LakeError;
use crate::query::sql::{f64s, i64s, strings, times};
use crate::stats::CoMoments;

/// Name of the lake table of the hourly per-arm sufficient statistics behind each readout.
pub const HOURLY_TABLE: &str = "experiment_hourly";

/// Parquet footer key of the provenance of an `experiment_hourly` file.
pub const PROVENANCE_KEY: &str = "postlaunch.experiment_hourly";

/// The raw tables experiment statistics are computed from.
pub const INPUT_TABLES: [&str; 3] = ["exposures", "events", "requests"];

/// What a stored file was computed from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// Input table → its commit-log version when the statistics were computed.
    pub inputs: BTreeMap<String, u64>,
    /// Metric name → what its sums are made of ([`definition`]).
    pub metrics: BTreeMap<String, String>,
}

/// The current log version of every input table the lake has.
pub fn input_versions(lake: &Path) -> Result<BTreeMap<String, u64>, LakeError> {
    let mut out = BTreeMap::new();
    for t in INPUT_TABLES {
        if lake.join(t).join("_log").is_dir() {
            out.insert(t.to_string(), TableLog::open(lake, t)?.version());
        }
    }
    Ok(out)
}

/// What the stored sums of `m` depend on (`None` for latency metrics, which store none).
pub fn definition(m: &Metric) -> Option<String> {
    match (m.kind, m.source) {
        (MetricKind::Latency, _) => None,
        (_, MetricSource::Requests) => Some(format!("requests 5xx/requests service={}", m.service)),
        (_, MetricSource::Events) => Some(format!(
            "events x={} value={} y={}",
            m.event,
            match m.value {
                ValueKind::Count => "count",
                ValueKind::Revenue => "revenue",
            },
            m.denominator_event
        )),
    }
}

/// The provenance of a readout of `exp` computed from inputs at `inputs`.
pub fn provenance(exp: &Experiment, inputs: BTreeMap<String, u64>) -> Provenance {
    Provenance {
        inputs,
        metrics: exp
            .metrics
            .iter()
            .filter_map(|m| definition(m).map(|d| (m.name.clone(), d)))
            .collect(),
    }
}

/// The file-name key of a readout of `window_hours` (in `experiment_results`) or of its stored
/// hours (in `experiment_hourly`): [`key_prefix`] then `<hours>h`.
pub fn file_key_of(experiment: &str, at: DateTime<Utc>, window_hours: u64) -> String {
    format!("{}{window_hours}h", key_prefix(experiment, at))
}

/// The start of the file-name keys of every readout of `experiment` at `at`.
fn key_prefix(experiment: &str, at: DateTime<Utc>) -> String {
    file_key(&format!("{experiment}_{}_", at.format("%Y%m%dT%H%M%S")))
}

/// Stored statistics usable for a readout.
#[derive(Debug, Clone)]
pub struct Stored {
    /// The file, relative to the lake.
    pub path: String,
    /// The hours of first exposure it covers, ending at the analysis time.
    pub hours: u64,
    pub units: Vec<UnitHour>,
    /// Per metric name, the per-arm statistics of every stored cohort hour.
    pub metrics: BTreeMap<String, Vec<HourlyArm>>,
}

/// Finds stored hourly statistics of `exp` at analysis time `at` covering `window_hours`, with
/// matching metric definitions and no later input data from before `at`; the smallest such.
pub fn find(
    lake: &Path,
    exp: &Experiment,
    at: DateTime<Utc>,
    window_hours: u64,
) -> Result<Option<Stored>, LakeError> {
    if !lake.join(HOURLY_TABLE).join("_log").is_dir() {
        return Ok(None);
    }
    let log = TableLog::open(lake, HOURLY_TABLE)?;
    let prefix = key_prefix(&exp.key, at);
    let mut candidates: Vec<(u64, String)> = log
        .files()
        .filter_map(|f| {
            let name = f.path.rsplit('/').next()?;
            let rest = name.strip_prefix(&prefix)?;
            let hours = rest.split_once("h--")?.0.parse::<u64>().ok()?;
            (hours >= window_hours).then(|| (hours, f.path.clone()))
        })
        .collect();
    candidates.sort();
    if candidates.is_empty() {
        return Ok(None);
    }
    let current = input_versions(lake)?;
    let wanted = provenance(exp, current.clone()).metrics;
    for (hours, path) in candidates {
        let full = lake.join(&path);
        let file = File::open(&full).map_err(LakeError::io(&full))?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| LakeError::Inconsistent(format!("{path}: {e}")))?;
        let Some(prov) = builder
            .metadata()
            .file_metadata()
            .key_value_metadata()
            .and_then(|kv| kv.iter().find(|k| k.key == PROVENANCE_KEY))
            .and_then(|k| k.value.as_deref())
            .and_then(|v| serde_json::from_str::<Provenance>(v).ok())
        else {
            continue;
        };
        if wanted.iter().any(|(m, d)| prov.metrics.get(m) != Some(d))
            || !is_fresh(lake, &prov.inputs, &current, at)?
        {
            continue;
        }
        let reader = builder
            .build()
            .map_err(|e| LakeError::Inconsistent(format!("{path}: {e}")))?;
        let mut stored = Stored {
            path: path.clone(),
            hours,
            units: Vec::new(),
            metrics: BTreeMap::new(),
        };
        let mut foreign = false;
        for batch in reader {
            let batch = batch.map_err(|e| LakeError::Inconsistent(format!("{path}: {e}")))?;
            foreign |= read_rows(&batch, &exp.key, &mut stored)
                .map_err(|e| LakeError::Inconsistent(format!("{path}: {e}")))?;
        }
        // File keys replace characters outside [A-Za-z0-9_-]: `checkout.v2` and `checkout_v2`
        // share one. Only a file of this very experiment is used.
        if foreign {
            continue;
        }
        return Ok(Some(stored));
    }
    Ok(None)
}

/// No input table changed since `seen` with data from before `at` (compaction rewrites the same
/// rows and does not count).
fn is_fresh(
    lake: &Path,
    seen: &BTreeMap<String, u64>,
    current: &BTreeMap<String, u64>,
    at: DateTime<Utc>,
) -> Result<bool, LakeError> {
    if seen.keys().ne(current.keys()) {
        return Ok(false);
    }
    let at = at.timestamp_micros();
    for (table, &version) in seen {
        if current.get(table) == Some(&version) {
            continue;
        }
        let late = commits_after(lake, table, version)?
            .iter()
            .filter(|c| c.operation != "compact")
            .any(|c| c.add.iter().any(|f| f.min_ts < at) || !c.remove.is_empty());
        if late {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Adds the rows of `b` to `out`; returns whether any row belongs to another experiment than
/// `experiment`.
fn read_rows(b: &RecordBatch, experiment: &str, out: &mut Stored) -> Result<bool, SqlError> {
    let t = HOURLY_TABLE;
    if strings(t, b, "experiment")?
        .iter()
        .any(|e| e.as_deref() != Some(experiment))
    {
        return Ok(true);
    }
    let hours = times(t, b, "cohort_hour")?;
    let (metric, variant) = (strings(t, b, "metric")?, strings(t, b, "variant")?);
    let (units, converted) = (i64s(t, b, "units")?, i64s(t, b, "converted")?);
    let count = |x: Option<i64>| x.unwrap_or(0).max(0) as u64;
    let (sx, sxx, sy, syy, sxy) = (
        f64s(t, b, "sum_x")?,
        f64s(t, b, "sum_x2")?,
        f64s(t, b, "sum_y")?,
        f64s(t, b, "sum_y2")?,
        f64s(t, b, "sum_xy")?,
    );
    for i in 0..b.num_rows() {
        let Some(cohort_hour) = hours[i] else {
            continue;
        };
        match &metric[i] {
            None => out.units.push(UnitHour {
                cohort_hour,
                variant: variant[i].clone(),
                units: count(units[i]),
            }),
            Some(m) => {
                let Some(v) = variant[i].clone() else {
                    continue;
                };
                out.metrics.entry(m.clone()).or_default().push(HourlyArm {
                    cohort_hour,
                    variant: v,
                    converted: count(converted[i]),
                    moments: CoMoments::from_sums(
                        count(units[i]),
                        sx[i],
                        sy[i],
                        sxx[i],
                        syy[i],
                        sxy[i],
                    ),
                });
            }
        }
    }
    Ok(false)
}
