//! The stored form of the backlog: `optimization_backlog`, one partition per period (replaced
//! when the period is ranked again), one row per candidate with every factor and its source.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

use super::{Backlog, Candidate};

/// The lake table.
pub const TABLE: &str = "optimization_backlog";

/// The stored form (also what `--format csv|json|table` prints).
pub fn to_batch(backlog: &Backlog) -> (SchemaRef, RecordBatch) {
    let c = &backlog.candidates;
    let text = |name: &str, nullable: bool| Field::new(name, DataType::Utf8, nullable);
    let num = |name: &str| Field::new(name, DataType::Float64, false);
    let schema = Arc::new(Schema::new(vec![
        Field::new(
            "period_start",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        text("period", false),
        Field::new("rank", DataType::Int64, false),
        Field::new("previous_rank", DataType::Int64, true),
        text("id", false),
        text("category", false),
        text("kind", false),
        text("subject", false),
        num("rice"),
        num("reach"),
        text("reach_unit", false),
        num("impact"),
        num("confidence"),
        num("effort"),
        text("detail", false),
        text("sources", false),
        text("reach_source", false),
        num("measure"),
        text("impact_source", false),
        text("confidence_source", false),
        text("effort_source", false),
        text("overridden", false),
        text("note", true),
        text("query", false),
    ]));
    let texts = |f: &dyn Fn(&Candidate) -> String| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(c.iter().map(f)))
    };
    let nums = |f: &dyn Fn(&Candidate) -> f64| -> ArrayRef {
        Arc::new(Float64Array::from_iter_values(c.iter().map(f)))
    };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(
            TimestampMicrosecondArray::from(vec![backlog.period.from.timestamp_micros(); c.len()])
                .with_timezone("UTC"),
        ),
        texts(&|_| backlog.period.name.clone()),
        Arc::new(Int64Array::from_iter_values(
            c.iter().map(|x| x.rank as i64),
        )),
        Arc::new(Int64Array::from_iter(
            c.iter().map(|x| x.previous_rank.map(|r| r as i64)),
        )),
        texts(&|x| x.id.clone()),
        texts(&|x| x.category.clone()),
        texts(&|x| x.kind.clone()),
        texts(&|x| x.subject.clone()),
        nums(&|x| x.rice),
        nums(&|x| x.reach),
        texts(&|x| x.reach_unit.clone()),
        nums(&|x| x.impact),
        nums(&|x| x.confidence),
        nums(&|x| x.effort),
        texts(&|x| x.detail.clone()),
        texts(&|x| x.sources.join(", ")),
        texts(&|x| x.reach_source.clone()),
        nums(&|x| x.measure),
        texts(&|x| x.impact_source.clone()),
        texts(&|x| x.confidence_source.clone()),
        texts(&|x| x.effort_source.clone()),
        texts(&|x| x.overridden.join(", ")),
        Arc::new(StringArray::from_iter(c.iter().map(|x| x.note.clone()))),
        texts(&|x| x.query.clone()),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns)
        .expect("the columns are built to the schema above");
    (schema, batch)
}
