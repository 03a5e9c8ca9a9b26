//! Column-wise validation of decoded rows against the schema's rules: required fields, minimum
//! length, enums, numeric bounds, finiteness and "one of these fields is required".

use std::sync::Arc;

use arrow::array::{Array, AsArray, BooleanArray};
use arrow::datatypes::{Float64Type, Int64Type, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;

use crate::schema::{FieldKind, TableSchema};

/// `schema` with every field nullable.
pub fn relaxed(schema: &SchemaRef) -> SchemaRef {
    Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_nullable(true))
            .collect::<Vec<_>>(),
    ))
}

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// Checks every row of `batch` (in the table's stored column order, nullable). Returns the mask of
/// rows to keep (`None` when all are valid) and the reason of each invalid row (the first rule it
/// breaks).
pub fn validate(
    table: &TableSchema,
    batch: &RecordBatch,
) -> (Option<BooleanArray>, Vec<(usize, String)>) {
    let n = batch.num_rows();
    let mut reason: Vec<Option<String>> = Vec::new();
    let set = |row: usize, why: &dyn Fn() -> String, reason: &mut Vec<Option<String>>| {
        if reason.is_empty() {
            reason.resize(n, None);
        }
        if reason[row].is_none() {
            reason[row] = Some(why());
        }
    };

    for (f, spec) in table.fields.iter().enumerate() {
        let col = batch.column(f);
        let name = &spec.name;
        if spec.required && col.null_count() > 0 {
            for row in (0..n).filter(|&r| col.is_null(r)) {
                set(
                    row,
                    &|| format!("missing required field `{name}`"),
                    &mut reason,
                );
            }
        }
        match spec.kind {
            FieldKind::String => {
                let a = col.as_string::<i32>();
                if let Some(min) = spec.min_length {
                    for (row, v) in a.iter().enumerate() {
                        if let Some(v) = v {
                            if v.chars().count() < min {
                                set(
                                    row,
                                    &|| {
                                        if v.is_empty() {
                                            format!("field `{name}` is empty")
                                        } else {
                                            format!("field `{name}` is `{v}`, shorter than {min} characters")
                                        }
                                    },
                                    &mut reason,
                                );
                            }
                        }
                    }
                }
                if let Some(allowed) = &spec.enum_values {
                    for (row, v) in a.iter().enumerate() {
                        if let Some(v) = v {
                            if !allowed.iter().any(|x| x == v) {
                                set(
                                    row,
                                    &|| {
                                        format!(
                                            "field `{name}` is `{}`, expected one of {}",
                                            v.chars().take(64).collect::<String>(),
                                            allowed.join(", ")
                                        )
                                    },
                                    &mut reason,
                                );
                            }
                        }
                    }
                }
            }
            FieldKind::Integer => {
                let a = col.as_primitive::<Int64Type>();
                for (row, v) in a.iter().enumerate() {
                    let Some(v) = v else { continue };
                    let x = v as f64;
                    if spec.minimum.is_some_and(|m| x < m) || spec.maximum.is_some_and(|m| x > m) {
                        set(
                            row,
                            &|| range_msg(name, &v.to_string(), spec.minimum, spec.maximum),
                            &mut reason,
                        );
                    }
                }
            }
            FieldKind::Number => {
                let a = col.as_primitive::<Float64Type>();
                for (row, v) in a.iter().enumerate() {
                    let Some(v) = v else { continue };
                    if !v.is_finite() {
                        set(
                            row,
                            &|| format!("field `{name}` is {v}, expected a finite number"),
                            &mut reason,
                        );
                    } else if spec.minimum.is_some_and(|m| v < m)
                        || spec.maximum.is_some_and(|m| v > m)
                    {
                        set(
                            row,
                            &|| range_msg(name, &fmt_num(v), spec.minimum, spec.maximum),
                            &mut reason,
                        );
                    }
                }
            }
            _ => {}
        }
    }
    for group in &table.any_of_required {
        let cols: Vec<_> = group
            .iter()
            .filter_map(|g| table.field_index(g))
            .map(|i| batch.column(i))
            .collect();
        for row in 0..n {
            if cols.iter().all(|c| c.is_null(row)) {
                set(
                    row,
                    &|| {
                        format!(
                            "missing required field: needs one of {}",
                            group
                                .iter()
                                .map(|g| format!("`{g}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    },
                    &mut reason,
                );
            }
        }
    }

    if reason.is_empty() {
        return (None, Vec::new());
    }
    let mask = BooleanArray::from_iter(reason.iter().map(|r| Some(r.is_none())));
    let bad = reason
        .into_iter()
        .enumerate()
        .filter_map(|(row, r)| r.map(|r| (row, r)))
        .collect();
    (Some(mask), bad)
}

fn range_msg(name: &str, value: &str, min: Option<f64>, max: Option<f64>) -> String {
    let expected = match (min, max) {
        (Some(a), Some(b)) => format!("between {} and {}", fmt_num(a), fmt_num(b)),
        (Some(a), None) => format!("at least {}", fmt_num(a)),
        (None, Some(b)) => format!("at most {}", fmt_num(b)),
        (None, None) => "a number".into(),
    };
    format!("field `{name}` is {value}, expected {expected}")
}
