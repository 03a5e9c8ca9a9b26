//! The stored form of trends: `weekly_trends` (a week against the week before) and
//! `monthly_review` (the last 30 days against the launch), one partition per period, replaced
//! when the period is computed again.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use chrono::{DateTime, Utc};

use super::Trend;
use crate::lake::derived::replace_partition;
use crate::lake::layout::HOUR_MICROS;
use crate::lake::LakeError;

/// Which table a comparison is stored in, and the names of its period columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrendTable {
    /// `weekly_trends`: `week_start`, `this_week`, `last_week`.
    Weekly,
    /// `monthly_review`: `period_start`, `last_30_days`, `launch`.
    Monthly,
}

impl TrendTable {
    /// The lake table.
    pub fn name(self) -> &'static str {
        match self {
            TrendTable::Weekly => "weekly_trends",
            TrendTable::Monthly => "monthly_review",
        }
    }

    /// The start column and the two value columns.
    pub fn columns(self) -> [&'static str; 3] {
        match self {
            TrendTable::Weekly => ["week_start", "this_week", "last_week"],
            TrendTable::Monthly => ["period_start", "last_30_days", "launch"],
        }
    }
}

/// The stored form: one row per trend, stamped `start` in a column named `start_name`, with the
/// two values in columns `this_name` and `last_name` (e.g. `this_week`/`last_week`).
pub fn to_batch(
    start: DateTime<Utc>,
    [start_name, this_name, last_name]: [&str; 3],
    trends: &[Trend],
) -> (SchemaRef, RecordBatch) {
    let schema = Arc::new(Schema::new(vec![
        Field::new(
            start_name,
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("metric", DataType::Utf8, false),
        Field::new("entity", DataType::Utf8, false),
        Field::new(this_name, DataType::Float64, false),
        Field::new(last_name, DataType::Float64, false),
        Field::new("abs_change", DataType::Float64, false),
        Field::new("rel_change", DataType::Float64, true),
        Field::new("p_value", DataType::Float64, true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(
            TimestampMicrosecondArray::from(vec![start.timestamp_micros(); trends.len()])
                .with_timezone("UTC"),
        ),
        Arc::new(StringArray::from_iter_values(
            trends.iter().map(|t| &t.metric),
        )),
        Arc::new(StringArray::from_iter_values(
            trends.iter().map(|t| &t.entity),
        )),
        Arc::new(Float64Array::from_iter_values(
            trends.iter().map(|t| t.this_week),
        )),
        Arc::new(Float64Array::from_iter_values(
            trends.iter().map(|t| t.last_week),
        )),
        Arc::new(Float64Array::from_iter_values(
            trends.iter().map(|t| t.abs_change),
        )),
        Arc::new(Float64Array::from_iter(trends.iter().map(|t| t.rel_change))),
        Arc::new(Float64Array::from_iter(trends.iter().map(|t| t.p_value))),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns)
        .expect("the columns are built to the schema above");
    (schema, batch)
}

/// Stores `batch` as the partition of the period starting `start` in `table` (any earlier
/// result of the same period is replaced).
pub fn store(
    lake: &Path,
    table: &str,
    start: DateTime<Utc>,
    schema: &SchemaRef,
    batch: &RecordBatch,
) -> Result<(), LakeError> {
    let key = start.timestamp_micros().div_euclid(HOUR_MICROS);
    replace_partition(lake, table, key, schema, std::slice::from_ref(batch))?;
    Ok(())
}
