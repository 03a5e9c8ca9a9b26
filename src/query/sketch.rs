//! The DDSketch SQL functions: DataFusion wrappers around [`crate::stats::ddsketch`], which holds
//! the sketch itself (its accuracy guarantee, buckets and byte format). Hourly jobs store one
//! sketch per hour and group in a `BINARY` column; daily and weekly percentiles merge them.
//!
//! [`register_all`] adds `ddsketch(value DOUBLE) -> BINARY` and
//! `ddsketch_merge(sketch BINARY) -> BINARY` (aggregates; their partial state is the serialized
//! sketch, [`DDSketch::to_bytes`]), `ddsketch_quantile(sketch BINARY, q DOUBLE) -> DOUBLE`,
//! `ddsketch_count(sketch BINARY) -> BIGINT` and
//! `ddsketch_count_above(sketch BINARY, x DOUBLE) -> BIGINT`. An empty group gives a NULL sketch;
//! NULL sketches are skipped by `ddsketch_merge` and give NULL from the scalar functions.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Builder, Int64Builder};
use arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{exec_err, not_impl_err, plan_err, DataFusionError, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, ColumnarValue, ScalarFunctionArgs, ScalarUDF,
    ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;

use crate::stats::ddsketch::DDSketch;

/// Registers `ddsketch`, `ddsketch_merge`, `ddsketch_quantile`, `ddsketch_count` and
/// `ddsketch_count_above`.
pub fn register_all(ctx: &SessionContext) {
    ctx.register_udaf(AggregateUDF::from(SketchAgg::new(Input::Values)));
    ctx.register_udaf(AggregateUDF::from(SketchAgg::new(Input::Sketches)));
    ctx.register_udf(ScalarUDF::from(SketchRead::new(Read::Quantile)));
    ctx.register_udf(ScalarUDF::from(SketchRead::new(Read::Count)));
    ctx.register_udf(ScalarUDF::from(SketchRead::new(Read::Above)));
}

fn is_binary(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::Null
    )
}

/// Calls `f` with each row of a binary-family column (`None` for NULL).
fn for_each_bytes(
    a: &ArrayRef,
    mut f: impl FnMut(usize, Option<&[u8]>) -> Result<()>,
) -> Result<()> {
    match a.data_type() {
        DataType::Binary => {
            for (i, v) in a.as_binary::<i32>().iter().enumerate() {
                f(i, v)?;
            }
        }
        DataType::LargeBinary => {
            for (i, v) in a.as_binary::<i64>().iter().enumerate() {
                f(i, v)?;
            }
        }
        DataType::BinaryView => {
            for (i, v) in a.as_binary_view().iter().enumerate() {
                f(i, v)?;
            }
        }
        DataType::Null => {
            for i in 0..a.len() {
                f(i, None)?;
            }
        }
        other => return exec_err!("expected a BINARY sketch column, got {other}"),
    }
    Ok(())
}

fn decode_sql(function: &str, bytes: &[u8]) -> Result<DDSketch> {
    DDSketch::from_bytes(bytes).map_err(|e| DataFusionError::Execution(format!("{function}: {e}")))
}

/// What the aggregate consumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Input {
    /// `ddsketch(value)`: numbers.
    Values,
    /// `ddsketch_merge(sketch)`: serialized sketches.
    Sketches,
}

/// The `ddsketch` and `ddsketch_merge` aggregates.
#[derive(Debug, PartialEq, Eq, Hash)]
struct SketchAgg {
    input: Input,
    signature: Signature,
}

impl SketchAgg {
    fn new(input: Input) -> SketchAgg {
        SketchAgg {
            input,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl AggregateUDFImpl for SketchAgg {
    fn name(&self) -> &str {
        match self.input {
            Input::Values => "ddsketch",
            Input::Sketches => "ddsketch_merge",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match (self.input, arg_types) {
            (Input::Values, [t]) if t.is_numeric() || t.is_null() => Ok(vec![DataType::Float64]),
            (Input::Sketches, [t]) if is_binary(t) => Ok(vec![t.clone()]),
            (Input::Values, _) => {
                plan_err!("ddsketch takes one numeric argument, got {arg_types:?}")
            }
            (Input::Sketches, _) => plan_err!(
                "ddsketch_merge takes one BINARY argument (sketches from ddsketch), got {arg_types:?}"
            ),
        }
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Binary)
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        if args.is_distinct {
            // A sketch of distinct values is rarely what a percentile query means; say so
            // rather than silently sketching every row.
            return not_impl_err!("{}(DISTINCT …) is not supported", self.name());
        }
        Ok(Box::new(SketchAccumulator {
            input: self.input,
            sketch: DDSketch::default(),
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(
            format_state_name(args.name, "sketch"),
            DataType::Binary,
            true,
        ))])
    }
}

/// One group's sketch; its partial state is the serialized sketch (NULL when empty).
#[derive(Debug)]
struct SketchAccumulator {
    input: Input,
    sketch: DDSketch,
}

impl SketchAccumulator {
    fn merge_sketches(&mut self, function: &str, a: &ArrayRef) -> Result<()> {
        let sketch = &mut self.sketch;
        for_each_bytes(a, |_, bytes| {
            if let Some(bytes) = bytes {
                sketch
                    .merge(&decode_sql(function, bytes)?)
                    .map_err(|e| DataFusionError::Execution(format!("{function}: {e}")))?;
            }
            Ok(())
        })
    }

    fn serialized(&self) -> ScalarValue {
        ScalarValue::Binary((self.sketch.count() > 0).then(|| self.sketch.to_bytes()))
    }
}

impl Accumulator for SketchAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let Some(a) = values.first() else {
            return exec_err!("ddsketch: no argument column");
        };
        match self.input {
            Input::Values => {
                let a = arrow::compute::cast(a, &DataType::Float64)?;
                for x in a
                    .as_primitive::<arrow::datatypes::Float64Type>()
                    .iter()
                    .flatten()
                {
                    self.sketch.add(x);
                }
                Ok(())
            }
            Input::Sketches => self.merge_sketches("ddsketch_merge", a),
        }
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let Some(a) = states.first() else {
            return exec_err!("ddsketch: no state column");
        };
        self.merge_sketches("ddsketch (partial state)", a)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![self.serialized()])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(self.serialized())
    }

    fn size(&self) -> usize {
        size_of_val(self) + self.sketch.heap_size()
    }
}

/// What the scalar function reads from a sketch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Read {
    /// `ddsketch_quantile(sketch, q)`.
    Quantile,
    /// `ddsketch_count(sketch)`.
    Count,
    /// `ddsketch_count_above(sketch, x)`: estimated number of values above x.
    Above,
}

/// The `ddsketch_quantile`, `ddsketch_count` and `ddsketch_count_above` scalar functions.
#[derive(Debug, PartialEq, Eq, Hash)]
struct SketchRead {
    read: Read,
    signature: Signature,
}

impl SketchRead {
    fn new(read: Read) -> SketchRead {
        SketchRead {
            read,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for SketchRead {
    fn name(&self) -> &str {
        match self.read {
            Read::Quantile => "ddsketch_quantile",
            Read::Count => "ddsketch_count",
            Read::Above => "ddsketch_count_above",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match (self.read, arg_types) {
            (Read::Quantile, [s, q]) if is_binary(s) && (q.is_numeric() || q.is_null()) => {
                Ok(vec![s.clone(), DataType::Float64])
            }
            (Read::Count, [s]) if is_binary(s) => Ok(vec![s.clone()]),
            (Read::Above, [s, x]) if is_binary(s) && (x.is_numeric() || x.is_null()) => {
                Ok(vec![s.clone(), DataType::Float64])
            }
            (Read::Above, _) => plan_err!(
                "ddsketch_count_above takes a BINARY sketch and a number, got {arg_types:?}"
            ),
            (Read::Quantile, _) => plan_err!(
                "ddsketch_quantile takes a BINARY sketch and a number q in [0, 1], got {arg_types:?}"
            ),
            (Read::Count, _) => {
                plan_err!("ddsketch_count takes one BINARY sketch, got {arg_types:?}")
            }
        }
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(match self.read {
            Read::Quantile => DataType::Float64,
            Read::Count | Read::Above => DataType::Int64,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let name = self.name();
        let all_scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let out: ArrayRef = match (self.read, arrays.as_slice()) {
            (Read::Quantile, [sketches, q]) => {
                let q = arrow::compute::cast(q, &DataType::Float64)?;
                let q = q.as_primitive::<arrow::datatypes::Float64Type>();
                let mut out = Float64Builder::with_capacity(args.number_rows);
                for_each_bytes(sketches, |i, bytes| {
                    let (Some(bytes), false) = (bytes, q.is_null(i)) else {
                        out.append_null();
                        return Ok(());
                    };
                    let q = q.value(i);
                    let sketch = decode_sql(name, bytes)?;
                    let x = sketch
                        .quantile(q)
                        .map_err(|e| DataFusionError::Execution(format!("{name}: q = {q}: {e}")))?;
                    out.append_option(x);
                    Ok(())
                })?;
                Arc::new(out.finish())
            }
            (Read::Count, [sketches]) => {
                let mut out = Int64Builder::with_capacity(args.number_rows);
                for_each_bytes(sketches, |_, bytes| {
                    match bytes {
                        None => out.append_null(),
                        Some(bytes) => {
                            let n = decode_sql(name, bytes)?.count();
                            out.append_value(i64::try_from(n).map_err(|_| {
                                DataFusionError::Execution(format!(
                                    "{name}: count {n} exceeds BIGINT"
                                ))
                            })?);
                        }
                    }
                    Ok(())
                })?;
                Arc::new(out.finish())
            }
            (Read::Above, [sketches, x]) => {
                let x = arrow::compute::cast(x, &DataType::Float64)?;
                let x = x.as_primitive::<arrow::datatypes::Float64Type>();
                let mut out = Int64Builder::with_capacity(args.number_rows);
                for_each_bytes(sketches, |i, bytes| {
                    let (Some(bytes), false) = (bytes, x.is_null(i)) else {
                        out.append_null();
                        return Ok(());
                    };
                    let n = decode_sql(name, bytes)?.count_above(x.value(i));
                    out.append_value(i64::try_from(n).unwrap_or(i64::MAX));
                    Ok(())
                })?;
                Arc::new(out.finish())
            }
            _ => return exec_err!("{name}: wrong number of arguments ({})", arrays.len()),
        };
        if all_scalar {
            return Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?));
        }
        Ok(ColumnarValue::Array(out))
    }
}

#[cfg(test)]
mod tests;
