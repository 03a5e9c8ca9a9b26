//! The impact report for people (text) and programs (JSON), and the lake table
//! `deployment_impact` (one row per deployment, comparison and metric per analysis).

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Float64Array, StringArray, TimestampMicrosecondArray, UInt64Array,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;

use super::{ImpactReport, ImpactRow};
use crate::experiment::output::num;
use crate::lake::keyed::replace_derived;
use crate::lake::LakeError;
use crate::report::format::{num as fmt_num, p_value as fmt_p, pct as fmt_pct, write_aligned};

/// Name of the lake table of impact reports.
pub const IMPACT_TABLE: &str = "deployment_impact";

fn ts_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// Columns of `deployment_impact`.
pub fn impact_schema() -> SchemaRef {
    let f = |name: &str, t: DataType| Field::new(name, t, true);
    Arc::new(Schema::new(vec![
        Field::new("deployment_finished", ts_type(), false),
        f("analysis_time", ts_type()),
        f("deployment", DataType::Utf8),
        f("service", DataType::Utf8),
        f("version", DataType::Utf8),
        f("strategy", DataType::Utf8),
        f("change_id", DataType::Utf8),
        f("outcome", DataType::Utf8),
        f("baseline", DataType::Utf8),
        f("baseline_start", ts_type()),
        f("baseline_end", ts_type()),
        f("after_start", ts_type()),
        f("after_end", ts_type()),
        f("comparison", DataType::Utf8),
        f("metric", DataType::Utf8),
        f("test", DataType::Utf8),
        f("baseline_n", DataType::UInt64),
        f("after_n", DataType::UInt64),
        f("baseline_value", DataType::Float64),
        f("after_value", DataType::Float64),
        f("effect", DataType::Float64),
        f("effect_ci_low", DataType::Float64),
        f("effect_ci_high", DataType::Float64),
        f("relative_effect", DataType::Float64),
        f("relative_ci_low", DataType::Float64),
        f("relative_ci_high", DataType::Float64),
        f("p_value", DataType::Float64),
        f("significant", DataType::Boolean),
        f("hypothesis", DataType::Utf8),
        f("hypothesis_result", DataType::Utf8),
        f("backfire", DataType::Boolean),
        f("note", DataType::Utf8),
        f("verdict", DataType::Utf8),
    ]))
}

/// The rows of `report` as a batch of [`impact_schema`].
pub fn impact_batch(r: &ImpactReport) -> Result<RecordBatch, arrow::error::ArrowError> {
    let n = r.rows.len();
    let d = &r.deployment;
    let ts = |t: chrono::DateTime<chrono::Utc>| -> ArrayRef {
        Arc::new(
            TimestampMicrosecondArray::from(vec![t.timestamp_micros(); n]).with_timezone("UTC"),
        )
    };
    let same = |s: &str| -> ArrayRef { Arc::new(StringArray::from(vec![s; n])) };
    let text = |f: &dyn Fn(&ImpactRow) -> Option<String>| -> ArrayRef {
        Arc::new(StringArray::from(r.rows.iter().map(f).collect::<Vec<_>>()))
    };
    let float = |f: &dyn Fn(&ImpactRow) -> f64| -> ArrayRef {
        Arc::new(Float64Array::from(
            r.rows.iter().map(|x| num(f(x))).collect::<Vec<_>>(),
        ))
    };
    let count = |f: &dyn Fn(&ImpactRow) -> u64| -> ArrayRef {
        Arc::new(UInt64Array::from(r.rows.iter().map(f).collect::<Vec<_>>()))
    };
    let flag = |f: &dyn Fn(&ImpactRow) -> bool| -> ArrayRef {
        Arc::new(BooleanArray::from(r.rows.iter().map(f).collect::<Vec<_>>()))
    };
    let columns: Vec<ArrayRef> = vec![
        ts(d.finished),
        ts(r.analysis_time),
        same(&format!("{}@{}", d.service, d.version)),
        same(&d.service),
        same(&d.version),
        same(&d.strategy),
        same(&d.change_id),
        same(&d.outcome),
        same(&r.baseline),
        ts(r.baseline_start),
        ts(r.baseline_end),
        ts(r.after_start),
        ts(r.after_end),
        text(&|x| Some(x.comparison.to_string())),
        text(&|x| Some(x.metric.to_string())),
        text(&|x| Some(x.test.to_string())),
        count(&|x| x.baseline_n),
        count(&|x| x.after_n),
        float(&|x| x.baseline_value),
        float(&|x| x.after_value),
        float(&|x| x.effect),
        float(&|x| x.ci.low),
        float(&|x| x.ci.high),
        float(&|x| x.relative_effect),
        float(&|x| x.relative_ci.low),
        float(&|x| x.relative_ci.high),
        float(&|x| x.p_value),
        flag(&|x| x.significant),
        text(&|x| x.hypothesis.clone()),
        text(&|x| x.hypothesis_result.clone()),
        flag(&|x| x.backfire),
        text(&|x| Some(x.note.clone())),
        same(&r.verdict),
    ];
    RecordBatch::try_new(impact_schema(), columns)
}

/// Writes the report into `deployment_impact`, replacing an earlier report of the same
/// deployment and window. Returns the file's path relative to the lake.
pub fn write_impact(lake: &Path, r: &ImpactReport) -> Result<String, LakeError> {
    let batch = impact_batch(r).map_err(|e| LakeError::Inconsistent(e.to_string()))?;
    let d = &r.deployment;
    let key = format!(
        "{}_{}_{}h",
        d.service,
        d.version,
        (r.after_end - r.after_start).num_hours()
    );
    replace_derived(
        lake,
        IMPACT_TABLE,
        &key,
        &batch,
        0,
        d.finished.timestamp_micros(),
        &[],
    )
}

/// The text report.
pub fn report(r: &ImpactReport) -> String {
    let d = &r.deployment;
    let t = |x: chrono::DateTime<chrono::Utc>| x.format("%Y-%m-%d %H:%M UTC").to_string();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Deployment `{}@{}` ({}, {}, {}): started {}, {} {}",
        d.service,
        d.version,
        d.strategy,
        d.change_id,
        d.description,
        t(d.started),
        d.outcome,
        t(d.finished)
    );
    let _ = writeln!(
        s,
        "After:    {} to {}\nBaseline: {} to {} ({})",
        t(r.after_start),
        t(r.after_end),
        t(r.baseline_start),
        t(r.baseline_end),
        r.baseline
    );
    let _ = writeln!(
        s,
        "Intervals: fixed {:.0}%, two-sided\n",
        100.0 * (1.0 - r.alpha)
    );
    let header = [
        "comparison",
        "metric",
        "baseline",
        "after",
        "rel. change",
        "interval",
        "p",
        "hypothesis",
        "result / note",
    ];
    let mut lines: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
    for x in &r.rows {
        lines.push(vec![
            x.comparison.to_string(),
            x.metric.to_string(),
            fmt_num(x.baseline_value),
            fmt_num(x.after_value),
            fmt_pct(x.relative_effect),
            format!(
                "[{}, {}]",
                fmt_pct(x.relative_ci.low),
                fmt_pct(x.relative_ci.high)
            ),
            fmt_p(x.p_value),
            x.hypothesis.clone().unwrap_or_default(),
            match (&x.hypothesis_result, x.note.is_empty()) {
                (Some(h), true) => h.clone(),
                (Some(h), false) => format!("{h}; {}", x.note),
                (None, _) => x.note.clone(),
            },
        ]);
    }
    write_aligned(&mut s, &lines);
    let _ = writeln!(s);
    for n in &r.notes {
        let _ = writeln!(s, "Note: {n}");
    }
    let _ = writeln!(s, "Verdict: {}", r.verdict);
    s
}
