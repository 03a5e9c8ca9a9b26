//! SQL functions postlaunch adds to DataFusion. `events.properties` is stored as JSON text;
//! `json_get_str(properties, 'plan')` and `json_get_num(properties, 'items')` read one key (a
//! dotted path such as `'utm.source'` reads nested objects). The DDSketch functions
//! (`ddsketch`, `ddsketch_merge`, `ddsketch_quantile`, `ddsketch_count`) live in
//! [`super::sketch`] and are registered here too.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Builder, StringBuilder};
use arrow::datatypes::DataType;
use datafusion::common::{exec_err, Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};
use datafusion::prelude::SessionContext;
use serde_json::Value;

/// Registers every postlaunch function on a session.
pub fn register_all(ctx: &SessionContext) {
    ctx.register_udf(ScalarUDF::from(JsonGet::new(
        "json_get_str",
        DataType::Utf8,
    )));
    ctx.register_udf(ScalarUDF::from(JsonGet::new(
        "json_get_num",
        DataType::Float64,
    )));
    super::sketch::register_all(ctx);
    super::latency::register(ctx);
}

/// `json_get_str(json, key)` / `json_get_num(json, key)`.
#[derive(Debug, PartialEq, Eq, Hash)]
struct JsonGet {
    name: &'static str,
    output: DataType,
    signature: Signature,
}

impl JsonGet {
    fn new(name: &'static str, output: DataType) -> JsonGet {
        JsonGet {
            name,
            output,
            signature: Signature::one_of(
                vec![
                    TypeSignature::Exact(vec![DataType::Utf8, DataType::Utf8]),
                    TypeSignature::Exact(vec![DataType::Utf8View, DataType::Utf8]),
                    TypeSignature::Exact(vec![DataType::Utf8, DataType::Utf8View]),
                    TypeSignature::Exact(vec![DataType::Utf8View, DataType::Utf8View]),
                ],
                Volatility::Immutable,
            ),
        }
    }
}

/// Looks up a dotted path in a JSON document.
fn lookup<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(doc, |v, k| v.get(k))
}

fn string_at(a: &ArrayRef, i: usize) -> Option<&str> {
    if a.is_null(i) {
        return None;
    }
    match a.data_type() {
        DataType::Utf8View => Some(a.as_string_view().value(i)),
        _ => Some(a.as_string::<i32>().value(i)),
    }
}

impl ScalarUDFImpl for JsonGet {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(self.output.clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let [json, key] = arrays.as_slice() else {
            return exec_err!(
                "{} takes two arguments: a JSON text column and a key",
                self.name
            );
        };
        let mut strings = StringBuilder::new();
        let mut numbers = Float64Builder::new();
        for i in 0..n {
            let value = match (string_at(json, i), string_at(key, i)) {
                (Some(doc), Some(k)) => serde_json::from_str::<Value>(doc)
                    .ok()
                    .and_then(|d| lookup(&d, k).cloned()),
                _ => None,
            };
            if self.output == DataType::Utf8 {
                match value {
                    Some(Value::String(s)) => strings.append_value(s),
                    Some(Value::Null) | None => strings.append_null(),
                    Some(other) => strings.append_value(other.to_string()),
                }
            } else {
                numbers.append_option(match value {
                    Some(Value::Number(x)) => x.as_f64(),
                    Some(Value::String(s)) => s.trim().parse().ok(),
                    _ => None,
                });
            }
        }
        let out: ArrayRef = if self.output == DataType::Utf8 {
            Arc::new(strings.finish())
        } else {
            Arc::new(numbers.finish())
        };
        if args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)))
        {
            return Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?));
        }
        Ok(ColumnarValue::Array(out))
    }
}
