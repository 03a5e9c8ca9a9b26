//! Transitions as a record batch: every column for CSV, JSON and the `alerts` lake table (one
//! row per transition, appended, partitioned by the hour of `event_time`), and the columns a
//! person reads first for the terminal.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Float64Array, RecordBatch, StringArray, TimestampMicrosecondArray, UInt64Array,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

use super::Transition;
use crate::lake::derived::append_partitions;
use crate::lake::layout::HOUR_MICROS;
use crate::lake::LakeError;

/// The lake table of transitions.
pub const TABLE: &str = "alerts";

/// Appends `ts`, decided at `wall_time` (µs), to the `alerts` table: one commit.
pub fn store(lake: &std::path::Path, ts: &[Transition], wall_time: i64) -> Result<(), LakeError> {
    let mut hours: std::collections::BTreeMap<i64, Vec<Transition>> = Default::default();
    for t in ts {
        hours
            .entry(t.event_time.div_euclid(HOUR_MICROS))
            .or_default()
            .push(t.clone());
    }
    let schema = to_batch(&[], wall_time).0;
    let parts: Vec<(i64, Vec<RecordBatch>)> = hours
        .into_iter()
        .map(|(hour, ts)| (hour, vec![to_batch(&ts, wall_time).1]))
        .collect();
    append_partitions(lake, TABLE, &schema, &parts)?;
    Ok(())
}

fn time_field(name: &str) -> Field {
    Field::new(
        name,
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        false,
    )
}

fn strings<'a>(ts: &'a [Transition], f: impl Fn(&'a Transition) -> String) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(ts.iter().map(f)))
}

fn json(map: &std::collections::BTreeMap<String, String>) -> String {
    serde_json::to_string(map).unwrap_or_else(|_| "{}".into())
}

/// Every field of each transition; `wall_time` is when it was decided (µs).
pub fn to_batch(ts: &[Transition], wall_time: i64) -> (SchemaRef, RecordBatch) {
    let schema = Arc::new(Schema::new(vec![
        time_field("event_time"),
        Field::new("rule", DataType::Utf8, false),
        Field::new("entity_kind", DataType::Utf8, false),
        Field::new("entity", DataType::Utf8, false),
        Field::new("change", DataType::Utf8, false),
        Field::new("severity", DataType::Utf8, false),
        Field::new("previous", DataType::Utf8, true),
        Field::new("value", DataType::Float64, true),
        Field::new("threshold", DataType::Float64, false),
        Field::new("window_s", DataType::Float64, false),
        Field::new("requests", DataType::UInt64, false),
        Field::new("bad", DataType::UInt64, false),
        Field::new("statistic", DataType::Float64, true),
        Field::new(
            "onset",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        Field::new("onset_requests", DataType::UInt64, true),
        Field::new("onset_bad", DataType::UInt64, true),
        Field::new("labels", DataType::Utf8, false),
        Field::new("annotations", DataType::Utf8, false),
        Field::new("runbook", DataType::Utf8, true),
        Field::new("silenced", DataType::Utf8, true),
        time_field("wall_time"),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(
            TimestampMicrosecondArray::from_iter_values(ts.iter().map(|t| t.event_time))
                .with_timezone("UTC"),
        ),
        strings(ts, |t| t.rule.clone()),
        strings(ts, |t| t.entity_kind.to_string()),
        strings(ts, |t| t.entity.clone()),
        strings(ts, |t| t.change.name().to_string()),
        strings(ts, |t| t.severity.to_string()),
        Arc::new(StringArray::from_iter(
            ts.iter().map(|t| t.previous.map(|p| p.to_string())),
        )),
        Arc::new(Float64Array::from_iter(ts.iter().map(|t| t.value))),
        Arc::new(Float64Array::from_iter_values(
            ts.iter().map(|t| t.threshold),
        )),
        Arc::new(Float64Array::from_iter_values(
            ts.iter().map(|t| t.window_s),
        )),
        Arc::new(UInt64Array::from_iter_values(ts.iter().map(|t| t.requests))),
        Arc::new(UInt64Array::from_iter_values(ts.iter().map(|t| t.bad))),
        Arc::new(Float64Array::from_iter(ts.iter().map(|t| t.statistic))),
        Arc::new(
            TimestampMicrosecondArray::from_iter(ts.iter().map(|t| t.onset.map(|o| o.since)))
                .with_timezone("UTC"),
        ),
        Arc::new(UInt64Array::from_iter(
            ts.iter().map(|t| t.onset.map(|o| o.n)),
        )),
        Arc::new(UInt64Array::from_iter(
            ts.iter().map(|t| t.onset.map(|o| o.bad)),
        )),
        strings(ts, |t| json(&t.labels)),
        strings(ts, |t| json(&t.annotations)),
        Arc::new(StringArray::from_iter(ts.iter().map(|t| t.runbook.clone()))),
        Arc::new(StringArray::from_iter(
            ts.iter().map(|t| t.silenced.clone()),
        )),
        Arc::new(
            TimestampMicrosecondArray::from_iter_values(ts.iter().map(|_| wall_time))
                .with_timezone("UTC"),
        ),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns)
        .expect("the columns are built to the schema above");
    (schema, batch)
}

/// The columns read first: when, what, how bad, against what, on how many requests.
pub fn summary(ts: &[Transition]) -> (SchemaRef, RecordBatch) {
    let (schema, batch) = to_batch(ts, 0);
    let keep = [
        "event_time",
        "severity",
        "change",
        "rule",
        "entity",
        "value",
        "threshold",
        "requests",
        "bad",
    ];
    let idx: Vec<usize> = keep
        .iter()
        .filter_map(|k| schema.index_of(k).ok())
        .collect();
    let batch = batch.project(&idx).expect("the columns exist");
    (batch.schema(), batch)
}
