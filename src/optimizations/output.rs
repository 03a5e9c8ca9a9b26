//! The records as a table (`postlaunch optimizations --format table|csv|json`); nothing is
//! stored: the file and the lake are the truth.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

use super::Record;

/// The records, one row each.
pub fn to_batch(records: &[Record]) -> (SchemaRef, RecordBatch) {
    let ts = |name: &str| {
        Field::new(
            name,
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        )
    };
    let text = |name: &str| Field::new(name, DataType::Utf8, true);
    let schema = Arc::new(Schema::new(vec![
        text("change_id"),
        text("status"),
        text("backlog_id"),
        text("shipped_by"),
        ts("shipped_at"),
        ts("due_at"),
        ts("measured_at"),
        text("effect"),
        text("verdict"),
        text("decision"),
        text("action"),
        text("learning"),
        text("description"),
    ]));
    let texts = |f: &dyn Fn(&Record) -> Option<String>| -> ArrayRef {
        Arc::new(StringArray::from_iter(records.iter().map(f)))
    };
    let times = |f: &dyn Fn(&Record) -> Option<i64>| -> ArrayRef {
        Arc::new(TimestampMicrosecondArray::from_iter(records.iter().map(f)).with_timezone("UTC"))
    };
    let columns: Vec<ArrayRef> = vec![
        texts(&|r| Some(r.change_id.clone())),
        texts(&|r| Some(r.status.name().into())),
        texts(&|r| r.backlog_id.clone()),
        texts(&|r| r.shipped_by.clone()),
        times(&|r| r.shipped_at.map(|t| t.timestamp_micros())),
        times(&|r| r.due_at.map(|t| t.timestamp_micros())),
        times(&|r| r.measured_at.map(|t| t.timestamp_micros())),
        texts(&|r| (!r.effect.is_empty()).then(|| r.effect.clone())),
        texts(&|r| r.verdict.clone()),
        texts(&|r| r.decision.map(|d| d.name().into())),
        texts(&|r| r.action.clone()),
        texts(&|r| r.learning.clone()),
        texts(&|r| Some(r.description.clone())),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns)
        .expect("the columns are built to the schema above");
    (schema, batch)
}
