//! The stored form of opportunities: the `opportunities` table, one partition per period.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use chrono::{DateTime, Utc};

use super::Opportunity;

/// The lake table.
pub const TABLE: &str = "opportunities";

/// The stored form: one row per opportunity, stamped with the period's start.
pub fn to_batch(start: DateTime<Utc>, items: &[Opportunity]) -> (SchemaRef, RecordBatch) {
    let schema = Arc::new(Schema::new(vec![
        Field::new(
            "period_start",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("kind", DataType::Utf8, false),
        Field::new("subject", DataType::Utf8, false),
        Field::new("detail", DataType::Utf8, false),
        Field::new("reach", DataType::Int64, false),
        Field::new("reach_unit", DataType::Utf8, false),
        Field::new("value", DataType::Float64, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(
            TimestampMicrosecondArray::from(vec![start.timestamp_micros(); items.len()])
                .with_timezone("UTC"),
        ),
        Arc::new(StringArray::from_iter_values(items.iter().map(|o| &o.kind))),
        Arc::new(StringArray::from_iter_values(
            items.iter().map(|o| &o.subject),
        )),
        Arc::new(StringArray::from_iter_values(
            items.iter().map(|o| &o.detail),
        )),
        Arc::new(Int64Array::from_iter_values(items.iter().map(|o| o.reach))),
        Arc::new(StringArray::from_iter_values(
            items.iter().map(|o| &o.reach_unit),
        )),
        Arc::new(Float64Array::from_iter_values(
            items.iter().map(|o| o.value),
        )),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns)
        .expect("the columns are built to the schema above");
    (schema, batch)
}
