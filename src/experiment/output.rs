//! Readouts for people (a text report) and programs (JSON), and the lake table
//! `experiment_results` (one row per experiment, metric, treatment variant and analysis time).

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Float64Array, StringArray, TimestampMicrosecondArray, UInt64Array,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;

use super::analysis::Readout;
use super::config::Experiment;
use super::stored;
use crate::lake::keyed::replace_derived;
use crate::lake::LakeError;
use crate::report::format::{num as fmt_num, p_value as fmt_p, pct as fmt_pct, write_aligned};

/// Name of the lake table of experiment readouts.
pub const RESULTS_TABLE: &str = "experiment_results";
pub use super::stored::HOURLY_TABLE;

fn ts_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// Columns of `experiment_results`.
pub fn results_schema() -> SchemaRef {
    let f = |name: &str, t: DataType| Field::new(name, t, true);
    Arc::new(Schema::new(vec![
        Field::new("analysis_time", ts_type(), false),
        f("experiment", DataType::Utf8),
        f("window_start", ts_type()),
        f("window_end", ts_type()),
        f("metric", DataType::Utf8),
        f("role", DataType::Utf8),
        f("kind", DataType::Utf8),
        f("test", DataType::Utf8),
        f("control", DataType::Utf8),
        f("variant", DataType::Utf8),
        f("control_units", DataType::UInt64),
        f("variant_units", DataType::UInt64),
        f("control_value", DataType::Float64),
        f("variant_value", DataType::Float64),
        f("control_sd", DataType::Float64),
        f("variant_sd", DataType::Float64),
        f("effect", DataType::Float64),
        f("effect_ci_low", DataType::Float64),
        f("effect_ci_high", DataType::Float64),
        f("relative_effect", DataType::Float64),
        f("relative_ci_low", DataType::Float64),
        f("relative_ci_high", DataType::Float64),
        f("interval", DataType::Utf8),
        f("p_value", DataType::Float64),
        f("p_value_adjusted", DataType::Float64),
        f("correction", DataType::Utf8),
        f("sequential_p_value", DataType::Float64),
        f("significant", DataType::Boolean),
        f("srm_p_value", DataType::Float64),
        f("mde_relative", DataType::Float64),
        f("excluded_multi_variant_units", DataType::UInt64),
        f("multi_variant_share", DataType::Float64),
        f("flags", DataType::Utf8),
        f("verdict", DataType::Utf8),
        f("experiment_verdict", DataType::Utf8),
    ]))
}

/// NaN and infinities are stored as NULL (not every reader likes NaN).
pub(crate) fn num(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// The rows of `readout` as a batch of [`results_schema`].
pub fn results_batch(r: &Readout) -> Result<RecordBatch, arrow::error::ArrowError> {
    let n = r.rows.len();
    let ts = |t: chrono::DateTime<chrono::Utc>| -> ArrayRef {
        Arc::new(
            TimestampMicrosecondArray::from(vec![t.timestamp_micros(); n]).with_timezone("UTC"),
        )
    };
    let same = |s: &str| -> ArrayRef { Arc::new(StringArray::from(vec![s; n])) };
    let text = |f: &dyn Fn(&super::analysis::MetricResult) -> String| -> ArrayRef {
        Arc::new(StringArray::from(
            r.rows.iter().map(f).collect::<Vec<String>>(),
        ))
    };
    let float = |f: &dyn Fn(&super::analysis::MetricResult) -> f64| -> ArrayRef {
        Arc::new(Float64Array::from(
            r.rows.iter().map(|x| num(f(x))).collect::<Vec<_>>(),
        ))
    };
    let count = |f: &dyn Fn(&super::analysis::MetricResult) -> u64| -> ArrayRef {
        Arc::new(UInt64Array::from(r.rows.iter().map(f).collect::<Vec<_>>()))
    };
    let columns: Vec<ArrayRef> = vec![
        ts(r.analysis_time),
        same(&r.experiment),
        ts(r.window_start),
        ts(r.window_end),
        text(&|x| x.metric.clone()),
        text(&|x| x.role.to_string()),
        text(&|x| x.kind.to_string()),
        text(&|x| x.test.to_string()),
        text(&|x| x.control.clone()),
        text(&|x| x.variant.clone()),
        count(&|x| x.control_units),
        count(&|x| x.variant_units),
        float(&|x| x.control_value),
        float(&|x| x.variant_value),
        float(&|x| x.control_sd),
        float(&|x| x.variant_sd),
        float(&|x| x.effect),
        float(&|x| x.effect_ci.low),
        float(&|x| x.effect_ci.high),
        float(&|x| x.relative_effect),
        float(&|x| x.relative_ci.low),
        float(&|x| x.relative_ci.high),
        text(&|x| x.interval.clone()),
        float(&|x| x.p_value),
        float(&|x| x.p_value_adjusted),
        same(r.correction),
        float(&|x| x.sequential_p_value),
        Arc::new(BooleanArray::from(
            r.rows.iter().map(|x| x.significant).collect::<Vec<_>>(),
        )),
        float(&|_| r.srm_p_value()),
        float(&|x| x.mde_relative),
        count(&|_| r.excluded_multi_variant_units),
        float(&|_| r.multi_variant_share),
        text(&|x| x.flags.join(",")),
        text(&|x| x.verdict.clone()),
        same(&r.verdict),
    ];
    RecordBatch::try_new(results_schema(), columns)
}

/// Writes the readout into `experiment_results` (replacing an earlier readout of the same
/// experiment, analysis time and window). Returns the file's path relative to the lake.
pub fn write_results(lake: &Path, r: &Readout) -> Result<String, LakeError> {
    let batch = results_batch(r).map_err(|e| LakeError::Inconsistent(e.to_string()))?;
    let key = stored::file_key_of(&r.experiment, r.analysis_time, r.window_hours);
    replace_derived(
        lake,
        RESULTS_TABLE,
        &key,
        &batch,
        0,
        r.analysis_time.timestamp_micros(),
        &[],
    )
}

/// Columns of `experiment_hourly`: per readout, metric, variant and hour of first exposure, the
/// sums from which any window ending at the analysis time is recombined by adding hours. Rows
/// with no metric count the units that entered per variant (no variant: seen in several).
pub fn hourly_schema() -> SchemaRef {
    let f = |name: &str, t: DataType| Field::new(name, t, true);
    Arc::new(Schema::new(vec![
        Field::new("analysis_time", ts_type(), false),
        f("experiment", DataType::Utf8),
        f("metric", DataType::Utf8),
        f("variant", DataType::Utf8),
        f("cohort_hour", ts_type()),
        f("units", DataType::UInt64),
        f("converted", DataType::UInt64),
        f("sum_x", DataType::Float64),
        f("sum_x2", DataType::Float64),
        f("sum_y", DataType::Float64),
        f("sum_y2", DataType::Float64),
        f("sum_xy", DataType::Float64),
    ]))
}

/// Writes the readout's hourly statistics and unit counts into `experiment_hourly` (same key
/// rules as [`write_results`]), with their provenance in the footer ([`stored`]). Returns the
/// file's path, or `None` when there is nothing to store or the readout added up stored hours.
pub fn write_hourly(
    lake: &Path,
    exp: &Experiment,
    r: &Readout,
) -> Result<Option<String>, LakeError> {
    if r.reused_from.is_some() || (r.hourly.is_empty() && r.unit_hours.is_empty()) {
        return Ok(None);
    }
    let at = r.analysis_time.timestamp_micros();
    // Metric rows, then unit rows (no metric, no sums).
    let metric_rows = r.hourly.iter().map(|(m, x)| {
        // Back from (mean, co-moments) to plain sums: Σx = n·x̄, Σx² = Cxx + n·x̄²,
        // Σxy = Cxy + n·x̄·ȳ.
        let c = &x.moments;
        let n = c.n as f64;
        (
            Some(m.as_str()),
            Some(x.variant.as_str()),
            x.cohort_hour,
            c.n,
            Some(x.converted),
            [
                n * c.mean_x,
                c.cxx + n * c.mean_x * c.mean_x,
                n * c.mean_y,
                c.cyy + n * c.mean_y * c.mean_y,
                c.cxy + n * c.mean_x * c.mean_y,
            ]
            .map(Some),
        )
    });
    let unit_rows = r.unit_hours.iter().map(|u| {
        (
            None,
            u.variant.as_deref(),
            u.cohort_hour,
            u.units,
            None,
            [None; 5],
        )
    });
    let rows: Vec<_> = metric_rows.chain(unit_rows).collect();
    let n = rows.len();
    let sums = |k: usize| -> ArrayRef {
        Arc::new(Float64Array::from(
            rows.iter().map(|r| r.5[k]).collect::<Vec<_>>(),
        ))
    };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(TimestampMicrosecondArray::from(vec![at; n]).with_timezone("UTC")),
        Arc::new(StringArray::from(vec![r.experiment.as_str(); n])),
        Arc::new(StringArray::from(
            rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        )),
        Arc::new(StringArray::from(
            rows.iter().map(|r| r.1).collect::<Vec<_>>(),
        )),
        Arc::new(
            TimestampMicrosecondArray::from(rows.iter().map(|r| r.2).collect::<Vec<_>>())
                .with_timezone("UTC"),
        ),
        Arc::new(UInt64Array::from(
            rows.iter().map(|r| r.3).collect::<Vec<_>>(),
        )),
        Arc::new(UInt64Array::from(
            rows.iter().map(|r| r.4).collect::<Vec<_>>(),
        )),
        sums(0),
        sums(1),
        sums(2),
        sums(3),
        sums(4),
    ];
    let batch = RecordBatch::try_new(hourly_schema(), columns)
        .map_err(|e| LakeError::Inconsistent(e.to_string()))?;
    let key = stored::file_key_of(&r.experiment, r.analysis_time, r.stored_hours);
    let prov = serde_json::to_string(&stored::provenance(exp, r.inputs.clone()))
        .map_err(|e| LakeError::Inconsistent(e.to_string()))?;
    replace_derived(
        lake,
        HOURLY_TABLE,
        &key,
        &batch,
        0,
        at,
        &[(stored::PROVENANCE_KEY, prov)],
    )
    .map(Some)
}

/// The text report.
pub fn report(r: &Readout) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Experiment `{}`: units entering from {} to {} ({} hours), their events up to {} (the analysis time)",
        r.experiment,
        r.window_start.format("%Y-%m-%d %H:%M UTC"),
        r.window_end.format("%Y-%m-%d %H:%M UTC"),
        r.window_hours,
        r.analysis_time.format("%Y-%m-%d %H:%M UTC")
    );
    let units: Vec<String> = r.units.iter().map(|(v, n)| format!("{v} {n}")).collect();
    let _ = writeln!(
        s,
        "Units: {}; excluded (seen in several variants): {} ({:.2}%)",
        units.join(", "),
        r.excluded_multi_variant_units,
        100.0 * r.multi_variant_share
    );
    let _ = writeln!(
        s,
        "Sample ratio: chi-square p = {}{}",
        fmt_p(r.srm_p_value()),
        if r.srm_failed {
            "  MISMATCH (p < 0.001)"
        } else {
            "  ok"
        }
    );
    let _ = writeln!(s, "Goal metrics adjusted by: {}", r.correction);
    let _ = writeln!(s);
    let header = [
        "metric",
        "role",
        "variant",
        "control",
        "variant",
        "rel. effect",
        "interval",
        "p",
        "p adj",
        "p seq",
        "verdict",
    ];
    let mut lines: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
    for x in &r.rows {
        lines.push(vec![
            x.metric.clone(),
            x.role.to_string(),
            x.variant.clone(),
            fmt_num(x.control_value),
            fmt_num(x.variant_value),
            fmt_pct(x.relative_effect),
            format!(
                "[{}, {}] {}",
                fmt_pct(x.relative_ci.low),
                fmt_pct(x.relative_ci.high),
                x.interval
            ),
            fmt_p(x.p_value),
            fmt_p(x.p_value_adjusted),
            fmt_p(x.sequential_p_value),
            x.verdict.clone(),
        ]);
    }
    write_aligned(&mut s, &lines);
    let _ = writeln!(s);
    if !r.flags.is_empty() {
        let _ = writeln!(s, "Flags: {}", r.flags.join(", "));
    }
    for n in &r.notes {
        let _ = writeln!(s, "Note: {n}");
    }
    let _ = writeln!(s, "Verdict: {}", r.verdict);
    s
}
