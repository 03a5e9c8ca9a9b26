//! Event schemas: the JSON Schema files in `schemas/` are the single source of truth for every
//! event table. This module reads them (at run time, from the copies embedded in the binary or from
//! a directory given with `--schemas`) and derives two Arrow schemas per table:
//!
//! * the **stored** schema, the columns of the lake table (`ts` as UTC microsecond timestamps,
//!   free-form objects as JSON text, string maps as Arrow maps), and
//! * the **decode** schema handed to arrow-json's decoder: the stored schema minus the columns that
//!   the batch stage extracts itself (`ts`, which accepts RFC 3339 strings *and* epoch milliseconds,
//!   and raw-JSON objects such as `events.properties`).
//!
//! It also keeps the validation rules (required fields, ranges, enums, minimum lengths, "one of
//! these fields is required") that [`crate::batch`] applies to each decoded batch.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use serde_json::Value;

/// The schema files compiled into the binary, so `postlaunch` works from any directory.
const BUILTIN: [(&str, &str); 8] = [
    ("requests", include_str!("../schemas/requests.schema.json")),
    ("metrics", include_str!("../schemas/metrics.schema.json")),
    (
        "web_vitals",
        include_str!("../schemas/web_vitals.schema.json"),
    ),
    ("events", include_str!("../schemas/events.schema.json")),
    (
        "exposures",
        include_str!("../schemas/exposures.schema.json"),
    ),
    ("feedback", include_str!("../schemas/feedback.schema.json")),
    (
        "deployments",
        include_str!("../schemas/deployments.schema.json"),
    ),
    (
        "incidents",
        include_str!("../schemas/incidents.schema.json"),
    ),
];

/// The UTC timezone string used for every timestamp column in the lake.
pub const UTC: &str = "UTC";

/// Errors from loading or using a schema file.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("cannot read schema file `{path}`: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("schema `{table}` is not valid JSON: {source}")]
    Json {
        table: String,
        source: serde_json::Error,
    },
    #[error("schema `{table}`: {message}")]
    Invalid { table: String, message: String },
    #[error("unknown table `{name}`, expected one of: {known}")]
    UnknownTable { name: String, known: String },
}

/// How a JSON property maps to an Arrow column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// `"format": "date-time"`: RFC 3339 string or epoch milliseconds, stored as µs UTC.
    Timestamp,
    /// `"type": "string"`, stored as Utf8.
    String,
    /// `"type": "integer"`, stored as Int64.
    Integer,
    /// `"type": "number"`, stored as Float64 (always required to be finite).
    Number,
    /// `"type": "boolean"`.
    Boolean,
    /// `"type": "object"` with `"additionalProperties": {"type": "string"}`: `Map<Utf8, Utf8>`.
    StringMap,
    /// `"type": "object"` without a value schema: kept verbatim as JSON text (Utf8).
    RawJson,
}

impl FieldKind {
    fn stored_type(self) -> DataType {
        match self {
            FieldKind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some(UTC.into())),
            FieldKind::String | FieldKind::RawJson => DataType::Utf8,
            FieldKind::Integer => DataType::Int64,
            FieldKind::Number => DataType::Float64,
            FieldKind::Boolean => DataType::Boolean,
            FieldKind::StringMap => DataType::Map(
                Arc::new(Field::new(
                    "entries",
                    DataType::Struct(Fields::from(vec![
                        Field::new("keys", DataType::Utf8, false),
                        Field::new("values", DataType::Utf8, true),
                    ])),
                    false,
                )),
                false,
            ),
        }
    }

    /// Columns the batch stage extracts from the raw bytes itself instead of arrow-json.
    pub fn is_extracted(self) -> bool {
        matches!(self, FieldKind::Timestamp | FieldKind::RawJson)
    }
}

/// One property of an event schema with its validation rules.
#[derive(Debug, Clone)]
pub struct FieldSpec {
    pub name: String,
    pub kind: FieldKind,
    pub required: bool,
    /// Inclusive bounds for numbers and integers.
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    /// Allowed values for strings.
    pub enum_values: Option<Vec<String>>,
    /// Minimum length in characters for strings.
    pub min_length: Option<usize>,
    /// Whether Parquet dictionary-encodes the column (`"x-parquet-dictionary": false` turns it
    /// off for high-cardinality ids, where building a dictionary only to abandon it costs time).
    pub dictionary: bool,
}

/// An event table: its fields, rules and derived Arrow schemas.
#[derive(Debug)]
pub struct TableSchema {
    pub name: String,
    pub description: String,
    pub fields: Vec<FieldSpec>,
    /// Groups of fields of which at least one must be present (`anyOf` of `required`).
    pub any_of_required: Vec<Vec<String>>,
    /// Columns of the lake table, in schema order.
    pub stored: SchemaRef,
    /// What arrow-json decodes: stored columns minus the extracted ones, all nullable (required
    /// fields are checked after decoding, so a missing field rejects one row, not a batch).
    pub decode: SchemaRef,
    /// Index of the `ts` field in `fields`.
    pub ts_index: usize,
}

impl TableSchema {
    /// Parses one JSON Schema document.
    pub fn parse(table: &str, text: &str) -> Result<TableSchema, SchemaError> {
        let invalid = |message: String| SchemaError::Invalid {
            table: table.to_string(),
            message,
        };
        let doc: Value = serde_json::from_str(text).map_err(|source| SchemaError::Json {
            table: table.to_string(),
            source,
        })?;
        let name = doc
            .get("title")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("missing string `title` (the table name)".into()))?;
        if name != table {
            return Err(invalid(format!(
                "`title` is `{name}` but the file is named for `{table}`"
            )));
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            || name.starts_with('_')
        {
            return Err(invalid(format!(
                "table name `{name}` must be lower-case letters, digits and `_`, not starting with `_`"
            )));
        }
        let required: Vec<&str> = doc
            .get("required")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let props = doc
            .get("properties")
            .and_then(Value::as_object)
            .ok_or_else(|| invalid("missing object `properties`".into()))?;

        let mut fields = Vec::with_capacity(props.len());
        for (field_name, spec) in props {
            fields.push(
                parse_field(field_name, spec, required.contains(&field_name.as_str()))
                    .map_err(invalid)?,
            );
        }
        for r in &required {
            if !props.contains_key(*r) {
                return Err(invalid(format!(
                    "`required` names `{r}`, which is not in `properties`"
                )));
            }
        }
        let ts_index = fields
            .iter()
            .position(|f| f.name == "ts" && f.kind == FieldKind::Timestamp)
            .ok_or_else(|| invalid("every event table needs a `ts` date-time property".into()))?;
        if !fields[ts_index].required {
            return Err(invalid("`ts` must be required".into()));
        }

        let mut any_of_required = Vec::new();
        if let Some(any_of) = doc.get("anyOf").and_then(Value::as_array) {
            let mut group = Vec::new();
            for alt in any_of {
                let names = alt
                    .get("required")
                    .and_then(Value::as_array)
                    .ok_or_else(|| {
                        invalid("`anyOf` entries must be `{\"required\": [...]}`".into())
                    })?;
                for n in names.iter().filter_map(Value::as_str) {
                    if !props.contains_key(n) {
                        return Err(invalid(format!("`anyOf` names unknown field `{n}`")));
                    }
                    group.push(n.to_string());
                }
            }
            any_of_required.push(group);
        }

        let stored = Arc::new(Schema::new(
            fields
                .iter()
                .map(|f| Field::new(&f.name, f.kind.stored_type(), !f.required))
                .collect::<Vec<_>>(),
        ));
        let decode = Arc::new(Schema::new(
            fields
                .iter()
                .filter(|f| !f.kind.is_extracted())
                .map(|f| Field::new(&f.name, f.kind.stored_type(), true))
                .collect::<Vec<_>>(),
        ));
        Ok(TableSchema {
            name: name.to_string(),
            description: doc
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            fields,
            any_of_required,
            stored,
            decode,
            ts_index,
        })
    }

    /// Position of a field by name.
    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }
}

fn parse_field(name: &str, spec: &Value, required: bool) -> Result<FieldSpec, String> {
    let types: Vec<&str> = match spec.get("type") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => return Err(format!("property `{name}` has no `type`")),
    };
    let format = spec.get("format").and_then(Value::as_str);
    let kind = if format == Some("date-time") {
        FieldKind::Timestamp
    } else {
        match types.as_slice() {
            ["string"] => FieldKind::String,
            ["integer"] => FieldKind::Integer,
            ["number"] => FieldKind::Number,
            ["boolean"] => FieldKind::Boolean,
            ["object"] => match spec.get("additionalProperties").and_then(|a| a.get("type")) {
                Some(Value::String(t)) if t == "string" => FieldKind::StringMap,
                None => FieldKind::RawJson,
                Some(other) => {
                    return Err(format!(
                        "property `{name}`: only string-valued maps are supported, got values of type {other}"
                    ))
                }
            },
            other => {
                return Err(format!(
                    "property `{name}` has unsupported type {other:?}, expected string, integer, number, boolean or object"
                ))
            }
        }
    };
    let num = |key: &str| spec.get(key).and_then(Value::as_f64);
    let enum_values = match spec.get("enum") {
        None => None,
        Some(Value::Array(a)) => Some(
            a.iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| format!("property `{name}`: enum values must be strings"))
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Some(_) => return Err(format!("property `{name}`: `enum` must be an array")),
    };
    if enum_values.is_some() && kind != FieldKind::String {
        return Err(format!(
            "property `{name}`: `enum` is only supported on strings"
        ));
    }
    Ok(FieldSpec {
        name: name.to_string(),
        kind,
        required,
        minimum: num("minimum"),
        maximum: num("maximum"),
        enum_values,
        min_length: spec
            .get("minLength")
            .and_then(Value::as_u64)
            .map(|n| n as usize),
        dictionary: spec
            .get("x-parquet-dictionary")
            .and_then(Value::as_bool)
            .unwrap_or(true),
    })
}

/// All event tables, by name.
#[derive(Debug, Clone)]
pub struct Catalog {
    tables: BTreeMap<String, Arc<TableSchema>>,
}

impl Catalog {
    /// The schemas embedded in the binary (copies of `schemas/*.schema.json`).
    pub fn builtin() -> Result<Catalog, SchemaError> {
        let mut tables = BTreeMap::new();
        for (name, text) in BUILTIN {
            tables.insert(name.to_string(), Arc::new(TableSchema::parse(name, text)?));
        }
        Ok(Catalog { tables })
    }

    /// Loads every `*.schema.json` file of a directory.
    pub fn from_dir(dir: &Path) -> Result<Catalog, SchemaError> {
        let read_err = |source| SchemaError::Read {
            path: dir.to_path_buf(),
            source,
        };
        let mut tables = BTreeMap::new();
        for entry in std::fs::read_dir(dir).map_err(read_err)? {
            let path = entry.map_err(read_err)?.path();
            let Some(file) = path.file_name().and_then(|f| f.to_str()) else {
                continue;
            };
            let Some(name) = file.strip_suffix(".schema.json") else {
                continue;
            };
            let text = std::fs::read_to_string(&path).map_err(|source| SchemaError::Read {
                path: path.clone(),
                source,
            })?;
            tables.insert(name.to_string(), Arc::new(TableSchema::parse(name, &text)?));
        }
        if tables.is_empty() {
            return Err(SchemaError::Invalid {
                table: dir.display().to_string(),
                message: "no `*.schema.json` files in this directory".into(),
            });
        }
        Ok(Catalog { tables })
    }

    /// Looks a table up by name, with an error listing the known tables.
    pub fn get(&self, name: &str) -> Result<&Arc<TableSchema>, SchemaError> {
        self.tables
            .get(name)
            .ok_or_else(|| SchemaError::UnknownTable {
                name: name.to_string(),
                known: self.names().collect::<Vec<_>>().join(", "),
            })
    }

    /// Table names in alphabetical order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tables.keys().map(String::as_str)
    }

    /// Every table schema.
    pub fn tables(&self) -> impl Iterator<Item = &Arc<TableSchema>> {
        self.tables.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_file_on_disk_loads_and_matches_the_builtin_copy() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
        let on_disk = Catalog::from_dir(&dir).unwrap();
        let builtin = Catalog::builtin().unwrap();
        assert_eq!(
            on_disk.names().collect::<Vec<_>>(),
            builtin.names().collect::<Vec<_>>()
        );
        assert_eq!(on_disk.names().count(), 8);
        for t in on_disk.tables() {
            assert_eq!(t.stored, builtin.get(&t.name).unwrap().stored);
            assert!(t.stored.field_with_name("ts").is_ok(), "{}", t.name);
        }
    }

    #[test]
    fn derived_types_follow_the_json_schema() {
        let c = Catalog::builtin().unwrap();
        let req = c.get("requests").unwrap();
        let s = &req.stored;
        assert_eq!(
            s.field_with_name("ts").unwrap().data_type(),
            &DataType::Timestamp(TimeUnit::Microsecond, Some(UTC.into()))
        );
        assert!(!s.field_with_name("ts").unwrap().is_nullable());
        assert_eq!(
            s.field_with_name("status").unwrap().data_type(),
            &DataType::Int64
        );
        assert_eq!(
            s.field_with_name("duration_ms").unwrap().data_type(),
            &DataType::Float64
        );
        assert!(s.field_with_name("region").unwrap().is_nullable());
        // the decoder never sees `ts`; it is extracted by the batch stage
        assert!(req.decode.field_with_name("ts").is_err());
        let status = &req.fields[req.field_index("status").unwrap()];
        assert_eq!((status.minimum, status.maximum), (Some(100.0), Some(599.0)));

        let events = c.get("events").unwrap();
        let props = &events.fields[events.field_index("properties").unwrap()];
        assert_eq!(props.kind, FieldKind::RawJson);
        assert_eq!(
            events.any_of_required,
            vec![vec!["user_id".to_string(), "anonymous_id".into()]]
        );
        let metrics = c.get("metrics").unwrap();
        assert!(matches!(
            metrics
                .stored
                .field_with_name("labels")
                .unwrap()
                .data_type(),
            DataType::Map(..)
        ));
    }

    #[test]
    fn unknown_table_error_lists_the_known_ones() {
        let err = Catalog::builtin()
            .unwrap()
            .get("request")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`request`") && err.contains("requests, "),
            "{err}"
        );
    }

    #[test]
    fn bad_schema_documents_are_refused_with_the_reason() {
        let no_ts = r#"{"title":"x","properties":{"a":{"type":"string"}}}"#;
        let err = TableSchema::parse("x", no_ts).unwrap_err().to_string();
        assert!(err.contains("`ts`"), "{err}");
        let bad_type = r#"{"title":"x","required":["ts"],"properties":{"ts":{"type":"string","format":"date-time"},"a":{"type":"array"}}}"#;
        let err = TableSchema::parse("x", bad_type).unwrap_err().to_string();
        assert!(
            err.contains("`a`") && err.contains("unsupported type"),
            "{err}"
        );
    }
}
