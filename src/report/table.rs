//! Printing query results: an aligned table for people (numbers rounded as
//! [`super::format::for_column`] says), CSV or JSON for programs (full precision).

use std::io::Write;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, StringArray};
use arrow::datatypes::{DataType, Field, Float64Type, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;

/// Output format of `postlaunch sql`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// An aligned text table.
    Table,
    /// CSV with a header line.
    Csv,
    /// A JSON array of objects, one per row.
    Json,
    /// One JSON object per line.
    Ndjson,
}

/// `batch` with its float columns as text rounded for people (the other columns as they are).
fn for_people(batch: &RecordBatch) -> Result<RecordBatch, arrow::error::ArrowError> {
    let mut fields = Vec::with_capacity(batch.num_columns());
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns());
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        if !matches!(field.data_type(), DataType::Float64 | DataType::Float32) {
            fields.push(field.as_ref().clone());
            columns.push(column.clone());
            continue;
        }
        let values = arrow::compute::cast(column, &DataType::Float64)?;
        let values = values.as_primitive::<Float64Type>();
        let show = super::format::for_column(field.name());
        let text: StringArray = (0..values.len())
            .map(|i| values.is_valid(i).then(|| show(values.value(i))))
            .collect();
        fields.push(Field::new(field.name(), DataType::Utf8, true));
        columns.push(Arc::new(text));
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
}

/// Writes `batches` to `out` in `format`.
pub fn write(
    out: &mut dyn Write,
    format: Format,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> anyhow::Result<()> {
    match format {
        Format::Table => {
            let rounded: Vec<RecordBatch> =
                batches.iter().map(for_people).collect::<Result<_, _>>()?;
            let text = arrow::util::pretty::pretty_format_batches(&rounded)?;
            if batches.iter().all(|b| b.num_rows() == 0) {
                let header: Vec<_> = schema.fields().iter().map(|f| f.name().as_str()).collect();
                writeln!(out, "(no rows; columns: {})", header.join(", "))?;
            } else {
                writeln!(out, "{text}")?;
            }
        }
        Format::Csv => {
            let mut w = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut *out);
            if batches.is_empty() {
                w.write(&RecordBatch::new_empty(schema.clone()))?;
            }
            for b in batches {
                w.write(b)?;
            }
        }
        Format::Json => {
            let mut w = arrow::json::WriterBuilder::new()
                .with_explicit_nulls(true)
                .build::<_, arrow::json::writer::JsonArray>(&mut *out);
            for b in batches {
                w.write(b)?;
            }
            if batches.is_empty() {
                w.write(&RecordBatch::new_empty(schema.clone()))?;
            }
            w.finish()?;
            writeln!(out)?;
        }
        Format::Ndjson => {
            let mut w = arrow::json::WriterBuilder::new()
                .with_explicit_nulls(true)
                .build::<_, arrow::json::writer::LineDelimited>(&mut *out);
            for b in batches {
                w.write(b)?;
            }
            w.finish()?;
        }
    }
    Ok(())
}

/// Writes the columns `names` of `batch`, in that order, as an aligned table for people (the
/// command's main columns; CSV and JSON give them all).
pub fn write_columns(
    out: &mut dyn Write,
    batch: &RecordBatch,
    names: &[&str],
) -> anyhow::Result<()> {
    let schema = batch.schema();
    let idx = names
        .iter()
        .map(|n| schema.index_of(n))
        .collect::<Result<Vec<usize>, _>>()?;
    let part = batch.project(&idx)?;
    write(out, Format::Table, &part.schema(), &[part])
}
