//! The fast path of decoding: plain values straight from the key scan's spans into Arrow
//! builders, without arrow-json.
//!
//! Most records hold only plain values: strings without escapes, integers, numbers, booleans
//! and nulls. For those, the spans the key scan ([`super::scan`]) already found are all it takes
//! to build the columns; arrow-json would tokenise every record a second time. A record is taken
//! here only when every decoded field is such a plain value of its column's type, read exactly as
//! arrow-json reads it, and nothing else in it needs arrow-json's checks: no unknown keys (the
//! scan does not look inside their values, nor unescape key names) and raw JSON fields that are
//! valid JSON ([`is_valid_json`]; the caller checks both). Integer fields take any number with an
//! integral value within i64 (`200`, `200.0`, `2e2`), read from its digits ([`super::integer`]);
//! the decoder has rejected the other numbers already and hands arrow-json the integral ones as
//! plain digits, so both paths store the same value. Anything else (an escape in a string, a
//! number where a string belongs, a string holding a number, a map field, a record that is not
//! UTF-8, a malformed literal) sends the record to arrow-json, which decodes it or names what is
//! wrong with it. Results and messages therefore do not depend on the path.

use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanBuilder, Float64Builder, Int64Builder, StringBuilder};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use crate::schema::{FieldKind, TableSchema};

/// One column being built.
enum Column {
    Str(StringBuilder),
    Int(Int64Builder),
    Float(Float64Builder),
    Bool(BooleanBuilder),
}

/// A value checked by the first pass, appended by the second.
#[derive(Clone, Copy)]
enum Staged {
    Null,
    /// A string's bytes (without quotes) at this span of the record.
    Str(usize, usize),
    Int(i64),
    Float(f64),
    Bool(bool),
}

/// Builds the decode-schema columns of the records it accepts.
pub struct FastColumns {
    schema: SchemaRef,
    /// Per decode column: the table field it reads and its kind.
    fields: Vec<(usize, FieldKind)>,
    columns: Vec<Column>,
    staged: Vec<Staged>,
    rows: usize,
}

impl FastColumns {
    /// The fast path for `table`, or `None` when a decoded field is not a plain kind (maps).
    pub fn new(table: &TableSchema) -> Option<FastColumns> {
        let mut fields = Vec::new();
        for (i, f) in table.fields.iter().enumerate() {
            if f.kind.is_extracted() {
                continue;
            }
            match f.kind {
                FieldKind::String | FieldKind::Integer | FieldKind::Number | FieldKind::Boolean => {
                    fields.push((i, f.kind))
                }
                _ => return None,
            }
        }
        let mut fast = FastColumns {
            schema: table.decode.clone(),
            fields,
            columns: Vec::new(),
            staged: Vec::new(),
            rows: 0,
        };
        fast.begin(0);
        Some(fast)
    }

    /// Starts a chunk of about `capacity` records.
    pub fn begin(&mut self, capacity: usize) {
        self.rows = 0;
        self.columns = self
            .fields
            .iter()
            .map(|(_, kind)| match kind {
                FieldKind::String => {
                    Column::Str(StringBuilder::with_capacity(capacity, 16 * capacity))
                }
                FieldKind::Integer => Column::Int(Int64Builder::with_capacity(capacity)),
                FieldKind::Number => Column::Float(Float64Builder::with_capacity(capacity)),
                _ => Column::Bool(BooleanBuilder::with_capacity(capacity)),
            })
            .collect();
    }

    /// Appends the record `bytes`, whose known fields' value spans are `spans` (indexed by table
    /// field, `(0, 0)` when absent), if every decoded value is plain. Returns whether it did.
    pub fn push(&mut self, bytes: &[u8], spans: &[(usize, usize)]) -> bool {
        // One UTF-8 check per record (fast on ASCII); string spans start and end at quotes, so
        // they are character boundaries of `text`.
        let Ok(text) = std::str::from_utf8(bytes) else {
            return false;
        };
        self.staged.clear();
        for &(field, kind) in &self.fields {
            let (s, e) = spans[field];
            let v = &bytes[s..e];
            let staged = if s == e || v == b"null" {
                Staged::Null
            } else {
                match stage(kind, v, s) {
                    Some(x) => x,
                    None => return false,
                }
            };
            self.staged.push(staged);
        }
        for (col, staged) in self.columns.iter_mut().zip(&self.staged) {
            match (col, *staged) {
                (Column::Str(b), Staged::Str(s, e)) => {
                    b.append_value(text.get(s..e).unwrap_or_default())
                }
                (Column::Int(b), Staged::Int(x)) => b.append_value(x),
                (Column::Float(b), Staged::Float(x)) => b.append_value(x),
                (Column::Bool(b), Staged::Bool(x)) => b.append_value(x),
                (Column::Str(b), _) => b.append_null(),
                (Column::Int(b), _) => b.append_null(),
                (Column::Float(b), _) => b.append_null(),
                (Column::Bool(b), _) => b.append_null(),
            }
        }
        self.rows += 1;
        true
    }

    /// Records appended since [`FastColumns::begin`].
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The appended records as a batch of the decode schema.
    pub fn finish(&mut self) -> Result<RecordBatch, String> {
        let columns: Vec<ArrayRef> = self
            .columns
            .iter_mut()
            .map(|c| -> ArrayRef {
                match c {
                    Column::Str(b) => Arc::new(b.finish()),
                    Column::Int(b) => Arc::new(b.finish()),
                    Column::Float(b) => Arc::new(b.finish()),
                    Column::Bool(b) => Arc::new(b.finish()),
                }
            })
            .collect();
        self.rows = 0;
        RecordBatch::try_new(self.schema.clone(), columns).map_err(|e| e.to_string())
    }
}

/// Checks one non-null value `v` (starting at byte `at` of its record) against `kind`: `Some`
/// when it is a plain value arrow-json reads the same way.
fn stage(kind: FieldKind, v: &[u8], at: usize) -> Option<Staged> {
    match kind {
        FieldKind::String => {
            if v.len() < 2 || v[0] != b'"' || v[v.len() - 1] != b'"' {
                return None;
            }
            let inner = &v[1..v.len() - 1];
            if memchr::memchr(b'\\', inner).is_some() {
                return None;
            }
            Some(Staged::Str(at + 1, at + v.len() - 1))
        }
        // Fractions and numbers beyond i64 are not staged (the decoder rejects them before).
        FieldKind::Integer => super::integer::read(v).value().map(Staged::Int),
        FieldKind::Number => {
            if !is_json_number(v) {
                return None;
            }
            let x = std::str::from_utf8(v).ok()?.parse::<f64>().ok()?;
            x.is_finite().then_some(Staged::Float(x))
        }
        FieldKind::Boolean => match v {
            b"true" => Some(Staged::Bool(true)),
            b"false" => Some(Staged::Bool(false)),
            _ => None,
        },
        _ => None,
    }
}

/// `v` is one valid JSON value without escapes, by serde_json's rules, which are stricter than
/// arrow-json's (no raw control characters in strings, a nesting limit): what passes here,
/// arrow-json accepts too; what fails goes to arrow-json, which decides. Values with escapes
/// always go to arrow-json (skipping a value, serde_json does not check `\u` surrogates).
pub fn is_valid_json(v: &[u8]) -> bool {
    memchr::memchr(b'\\', v).is_none() && serde_json::from_slice::<serde::de::IgnoredAny>(v).is_ok()
}

/// `v` is a JSON number: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
fn is_json_number(v: &[u8]) -> bool {
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < v.len() && v[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if v.first() == Some(&b'-') {
        i += 1;
    }
    match v.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            digits(&mut i);
        }
        _ => return false,
    }
    if v.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if matches!(v.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(v.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == v.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_numbers_are_recognised_exactly() {
        for ok in [
            "0",
            "-0",
            "7",
            "116.4",
            "-5",
            "1e3",
            "1E+3",
            "2.5e-7",
            "123456789012",
        ] {
            assert!(is_json_number(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "", "-", "01", "1.", ".5", "+1", "1e", "1e+", "NaN", "inf", "0x10", "1_000", "1.2.3",
        ] {
            assert!(!is_json_number(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn only_plain_values_of_the_right_type_are_staged() {
        use FieldKind::*;
        let s = |kind, v: &str| stage(kind, v.as_bytes(), 10).is_some();
        assert!(s(String, r#""api""#));
        assert!(!s(String, r#""a\"b""#), "escapes go to arrow-json");
        assert!(!s(String, "12"), "a number where a string belongs");
        assert!(!s(String, r#"{"a":1}"#));
        assert!(s(Integer, "200") && s(Integer, "-3") && s(Integer, "0"));
        assert!(!s(Integer, r#""200""#), "a string holding a number");
        assert!(!s(Integer, "007") && !s(Integer, "true"));
        assert!(!s(Integer, "99999999999999999999"), "overflow");
        assert!(!s(Integer, "2.5") && !s(Integer, "1e-2"), "fractions");
        // integral numbers written with a fraction or an exponent are read exactly
        assert!(matches!(stage(Integer, b"2.0", 0), Some(Staged::Int(2))));
        assert!(matches!(stage(Integer, b"1e2", 0), Some(Staged::Int(100))));
        assert!(matches!(
            stage(Integer, b"9007199254740993.0", 0),
            Some(Staged::Int(9_007_199_254_740_993))
        ));
        assert!(s(Number, "12.5") && s(Number, "3") && s(Number, "-0.1"));
        assert!(!s(Number, r#""NaN""#) && !s(Number, "NaN") && !s(Number, "1e999"));
        assert!(s(Boolean, "true") && s(Boolean, "false"));
        assert!(!s(Boolean, "1") && !s(Boolean, r#""true""#) && !s(Boolean, "tru"));
        match stage(String, br#""api""#, 10) {
            Some(Staged::Str(a, b)) => assert_eq!((a, b), (11, 14)),
            _ => panic!("a plain string"),
        }
    }
}
