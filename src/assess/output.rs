//! The stored form of the assessment: `phase8_assessment`, one partition per assessment hour
//! (replaced when assessed again), one row per criterion with the decision repeated on each.

use std::fmt::Write;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

use super::Assessment;
use crate::report::format::markdown as md;

/// The lake table.
pub const TABLE: &str = "phase8_assessment";

/// The stored form (also what `--format table|csv|json` prints).
pub fn to_batch(a: &Assessment) -> (SchemaRef, RecordBatch) {
    let c = &a.criteria;
    let text = |name: &str| Field::new(name, DataType::Utf8, false);
    let schema = Arc::new(Schema::new(vec![
        Field::new(
            "assessed_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        text("group"),
        text("criterion"),
        text("verdict"),
        text("requirement"),
        text("evidence"),
        Field::new("value", DataType::Float64, true),
        text("decision"),
    ]));
    let texts = |f: &dyn Fn(&super::Criterion) -> String| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(c.iter().map(f)))
    };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(
            TimestampMicrosecondArray::from(vec![a.at.timestamp_micros(); c.len()])
                .with_timezone("UTC"),
        ),
        texts(&|x| x.group.to_string()),
        texts(&|x| x.key.to_string()),
        texts(&|x| x.verdict.name().to_string()),
        texts(&|x| x.requirement.clone()),
        texts(&|x| x.evidence.clone()),
        Arc::new(Float64Array::from_iter(c.iter().map(|x| x.value))),
        texts(&|_| a.decision().to_string()),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns)
        .expect("the columns are built to the schema above");
    (schema, batch)
}

/// Stores `a` in `phase8_assessment`, replacing the assessment of its hour.
pub fn store(lake: &std::path::Path, a: &Assessment) -> Result<(), crate::lake::LakeError> {
    let (schema, batch) = to_batch(a);
    crate::trends::output::store(lake, TABLE, a.at, &schema, &batch)
}

/// The assessment in Markdown: the decision, what is missing, every criterion.
pub fn markdown(a: &Assessment) -> String {
    let mut s = format!(
        "# Phase 8 completion assessment, {}\n\n**Decision: {}.**\n\n",
        a.at.format("%Y-%m-%d %H:%M UTC"),
        a.decision()
    );
    let missing = a.missing();
    if !missing.is_empty() {
        s.push_str("Missing:\n\n");
        for c in &missing {
            let _ = writeln!(
                s,
                "- {} ({}): {}",
                md(&c.requirement),
                c.verdict.name(),
                md(&c.evidence)
            );
        }
        s.push('\n');
    }
    s.push_str("| group | criterion | verdict | evidence |\n|---|---|---|---|\n");
    for c in &a.criteria {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            c.group,
            md(&c.requirement),
            c.verdict.name(),
            md(&c.evidence)
        );
    }
    s
}
