//! Unit tests of the decoder: the fast path, isolation of bad records, extracted fields.

use std::sync::Arc;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{Int64Type, TimestampMicrosecondType};

use super::*;
use crate::schema::Catalog;
use crate::source::RawChunk;

const NOW: i64 = 1_796_000_000_000_000; // 2026-12-01

fn chunk(lines: &[&str]) -> RawChunk {
    let mut c = RawChunk::new(Arc::from("test"), None, 1);
    for (i, l) in lines.iter().enumerate() {
        c.push(i as i64 + 1, l.as_bytes(), 1 << 20);
    }
    c
}

fn decoder(table: &str) -> Decoder {
    Decoder::new(Catalog::builtin().unwrap().get(table).unwrap().clone())
}

fn req(status: &str) -> String {
    format!(
        r#"{{"ts":"2026-11-27T13:00:00Z","service":"api","endpoint":"GET /x","status":{status},"duration_ms":1.5}}"#
    )
}

#[test]
fn a_clean_chunk_decodes_in_one_batch_with_typed_columns() {
    let lines: Vec<String> = (0..100).map(|i| req(&(200 + i % 3).to_string())).collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let out = decoder("requests").decode(&chunk(&refs), NOW);
    assert!(out.rejected.is_empty());
    let b = out.batch.unwrap();
    assert_eq!(b.num_rows(), 100);
    assert_eq!(
        b.schema(),
        Catalog::builtin().unwrap().get("requests").unwrap().stored
    );
    let status = b
        .column_by_name("status")
        .unwrap()
        .as_primitive::<Int64Type>();
    assert_eq!(status.value(1), 201);
    let ts = b
        .column_by_name("ts")
        .unwrap()
        .as_primitive::<TimestampMicrosecondType>();
    // python: datetime(2026,11,27,13,tzinfo=timezone.utc).timestamp()*1e6
    assert_eq!(ts.value(0), 1_795_784_400_000_000);
    assert_eq!(
        (out.first_index, out.last_index, out.records),
        (1, 100, 100)
    );
}

#[test]
fn one_wrong_type_is_isolated_and_its_neighbours_are_kept_in_order() {
    let mut lines: Vec<String> = (0..64).map(|i| req(&(200 + i).to_string())).collect();
    lines[37] = req("\"fast\"");
    lines[5] = req("{\"nested\":1}");
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let out = decoder("requests").decode(&chunk(&refs), NOW);
    let positions: Vec<i64> = out.rejected.iter().map(|r| r.position).collect();
    assert_eq!(positions, vec![6, 38]);
    assert!(
        out.rejected[1].reason.contains("status"),
        "{}",
        out.rejected[1].reason
    );
    let b = out.batch.unwrap();
    assert_eq!(b.num_rows(), 62);
    let status: Vec<i64> = b
        .column_by_name("status")
        .unwrap()
        .as_primitive::<Int64Type>()
        .values()
        .to_vec();
    let expected: Vec<i64> = (0..64)
        .filter(|i| *i != 5 && *i != 37)
        .map(|i| 200 + i)
        .collect();
    assert_eq!(status, expected);
}

#[test]
fn unknown_fields_are_counted_and_properties_kept_verbatim() {
    let lines = [
        r#"{"ts":"2026-11-27T13:00:00Z","event":"purchase","user_id":"u1","properties":{"currency":"USD","items":3,"utm":{"source":"mail"}},"sdk":"js","extra":1}"#,
        r#"{"ts":"2026-11-27T13:00:01Z","event":"visit","anonymous_id":"a1","sdk":"ios"}"#,
        r#"{"ts":"2026-11-27T13:00:02Z","event":"visit"}"#,
        r#"{"ts":"2026-11-27T13:00:02Z","event":"visit","user_id":"u1","properties":[1]}"#,
    ];
    let out = decoder("events").decode(&chunk(&lines), NOW);
    let mut unknown = out.unknown_fields.clone();
    unknown.sort();
    assert_eq!(
        unknown,
        vec![("extra".to_string(), 1), ("sdk".to_string(), 2)]
    );
    let b = out.batch.unwrap();
    assert_eq!(b.num_rows(), 2);
    let props = b.column_by_name("properties").unwrap().as_string::<i32>();
    assert_eq!(
        props.value(0),
        r#"{"currency":"USD","items":3,"utm":{"source":"mail"}}"#
    );
    assert!(props.is_null(1));
    let reasons: Vec<&str> = out.rejected.iter().map(|r| r.reason.as_str()).collect();
    assert!(
        reasons[0].contains("needs one of `user_id`, `anonymous_id`"),
        "{reasons:?}"
    );
    assert!(
        reasons[1].contains("`properties` must be a JSON object"),
        "{reasons:?}"
    );
}

#[test]
fn every_record_of_a_bad_chunk_is_accounted_for() {
    let lines = ["{", "[]", "\"x\"", "{\"ts\":1}", "null", "{}"];
    let out = decoder("requests").decode(&chunk(&lines), NOW);
    assert!(out.batch.is_none());
    assert_eq!(out.rejected.len(), lines.len());
}

/// The fast path and arrow-json give the same rows: a chunk mixing plain records with records
/// only arrow-json takes (escapes, numbers in strings, booleans where numbers belong, nulls,
/// unusual number forms) decodes to the same stored rows, and the same rejections, as when
/// every record goes through arrow-json.
#[test]
fn fast_path_and_arrow_json_agree_record_by_record() {
    let lines = [
        r#"{"ts":"2026-11-27T13:00:00Z","service":"api","endpoint":"GET /x","status":200,"duration_ms":1.5}"#,
        r#"{"ts":"2026-11-27T13:00:01Z","service":"a\"pi","endpoint":"GET /\u00e9","status":201,"duration_ms":2}"#,
        r#"{"ts":"2026-11-27T13:00:02Z","service":"api","endpoint":"GET /x","status":"200","duration_ms":"3.25"}"#,
        r#"{"ts":"2026-11-27T13:00:03Z","service":"api","endpoint":"GET /x","status":404,"duration_ms":1e2,"version":null,"region":"eu"}"#,
        r#"{"ts":"2026-11-27T13:00:04Z","service":"api","endpoint":"GET /x","status":true,"duration_ms":1}"#,
        r#"{"ts":"2026-11-27T13:00:05Z","service":"api","endpoint":"GET /x","status":500,"duration_ms":-0.0,"error_message":"boom \\ again"}"#,
        r#"{"ts":"2026-11-27T13:00:06Z","service":"api","endpoint":"GET /x","status":2.0,"duration_ms":7}"#,
        r#"{"ts":"2026-11-27T13:00:07Z","service":12,"endpoint":"GET /x","status":200,"duration_ms":7}"#,
        r#"{"ts":"2026-11-27T13:00:08Z","service":"ünïcode","endpoint":"GET /y","status":302,"duration_ms":0.1234567890123456789}"#,
    ];
    assert_paths_agree("requests", &lines);
}

/// Values the fast path does not read must still pass arrow-json's checks: a bad literal in an
/// unknown field or in a raw JSON field (`events.properties`), an escaped spelling of a known key
/// (arrow-json unescapes key names; the last of two duplicates wins). Both paths must store and
/// reject the same records.
#[test]
fn fast_path_leaves_records_with_unchecked_values_to_arrow_json() {
    let requests = [
        r#"{"ts":"2026-11-27T13:00:00Z","service":"api","endpoint":"/x","status":200,"duration_ms":1,"extra":undefined}"#,
        r#"{"ts":"2026-11-27T13:00:01Z","service":"api","endpoint":"/x","st\u0061tus":500,"duration_ms":1}"#,
        r#"{"ts":"2026-11-27T13:00:02Z","service":"api","endpoint":"/x","status":200,"st\u0061tus":503,"duration_ms":1}"#,
        r#"{"ts":"2026-11-27T13:00:03Z","service":"api","endpoint":"/x","status":200,"duration_ms":1,"extra":{"a":[1,tru]}}"#,
        r#"{"ts":"2026-11-27T13:00:04Z","service":"api","endpoint":"/x","status":200,"duration_ms":1}"#,
    ];
    assert_paths_agree("requests", &requests);
    let events = [
        r#"{"ts":"2026-11-27T13:00:00Z","event":"view","user_id":"u1","properties":{"ratio":NaN}}"#,
        r#"{"ts":"2026-11-27T13:00:01Z","event":"view","user_id":"u1","properties":{"a":"\u00e9","b":[1,2]}}"#,
        r#"{"ts":"2026-11-27T13:00:02Z","event":"view","user_id":"u1","properties":{"a":"\ud800"}}"#,
        r#"{"ts":"2026-11-27T13:00:03Z","event":"view","user_id":"u1","properties":{"a" 1}}"#,
        r#"{"ts":"2026-11-27T13:00:04Z","event":"view","user_id":"u1","properties":{"plan":"pro","n":3}}"#,
        r#"{"ts":"2026-11-27T13:00:05Z","event":"view","user_id":"u1"}"#,
    ];
    assert_paths_agree("events", &events);
}

/// Decodes `lines` of `table` with and without the fast path and checks that the same records
/// are stored, value for value, and the same are rejected, for the same reasons.
fn assert_paths_agree(table: &str, lines: &[&str]) {
    let c = chunk(lines);
    let mut with_fast = decoder(table);
    assert!(with_fast.fast.is_some());
    let mut without = decoder(table);
    without.fast = None;
    let (a, b) = (with_fast.decode(&c, NOW), without.decode(&c, NOW));
    let reasons = |d: &DecodedChunk| {
        d.rejected
            .iter()
            .map(|r| (r.position, r.reason.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(reasons(&a), reasons(&b));
    assert!(
        !a.rejected.is_empty(),
        "some records are wrong for both paths"
    );
    let sorted = |d: &DecodedChunk| {
        let batch = d.batch.as_ref().unwrap();
        let ts = batch.column(0).as_primitive::<TimestampMicrosecondType>();
        let mut idx: Vec<u32> = (0..batch.num_rows() as u32).collect();
        idx.sort_by_key(|&i| ts.value(i as usize));
        arrow::compute::take_record_batch(batch, &arrow::array::UInt32Array::from(idx)).unwrap()
    };
    let (x, y) = (sorted(&a), sorted(&b));
    assert_eq!(x.num_rows(), lines.len() - a.rejected.len());
    // Both paths parse the same literals: the values must be bit-identical (no arithmetic here).
    assert_eq!(x, y, "the same rows, value for value");
}

/// `requests` records whose `status` is `value`, once per way to the decoder: `fast` is plain
/// (the fast path), `unknown` carries an unknown field and `escaped` an escaped string (both go
/// to arrow-json, see [`fast`]), `key` spells `status` with an escape (arrow-json unescapes it;
/// the key scan does not). `sec` is the second of `ts`, so stored rows can be matched to lines.
fn req_at(sec: usize, value: &str, way: &str) -> String {
    let ts = format!("2026-11-27T13:{:02}:{:02}Z", sec / 60, sec % 60);
    match way {
        "fast" => format!(
            r#"{{"ts":"{ts}","service":"api","endpoint":"GET /x","status":{value},"duration_ms":1}}"#
        ),
        "unknown" => format!(
            r#"{{"ts":"{ts}","service":"api","endpoint":"GET /x","status":{value},"duration_ms":1,"sdk":"js"}}"#
        ),
        "escaped" => format!(
            r#"{{"ts":"{ts}","service":"api","endpoint":"GET \/x","status":{value},"duration_ms":1}}"#
        ),
        "key" => format!(
            r#"{{"ts":"{ts}","service":"api","endpoint":"GET /x","st\u0061tus":{value},"duration_ms":1}}"#
        ),
        _ => unreachable!("unknown way {way}"),
    }
}

/// Stored values of the integer column `column`, keyed by the second of `ts` (see [`req_at`]).
fn stored_by_second(out: &DecodedChunk, column: &str) -> Vec<(i64, Option<i64>)> {
    let Some(b) = &out.batch else {
        return Vec::new();
    };
    let ts = b.column(0).as_primitive::<TimestampMicrosecondType>();
    let col = b
        .column_by_name(column)
        .unwrap()
        .as_primitive::<Int64Type>();
    // python: datetime(2026,11,27,13,tzinfo=timezone.utc).timestamp()*1e6
    let base = 1_795_784_400_000_000;
    let mut rows: Vec<(i64, Option<i64>)> = (0..b.num_rows())
        .map(|r| {
            (
                (ts.value(r) - base) / 1_000_000,
                col.is_valid(r).then(|| col.value(r)),
            )
        })
        .collect();
    rows.sort_unstable();
    rows
}

/// Regression: `"status": 200.5` was stored as 200. arrow-json reads a number that is not plain
/// digits as an f64 and casts it to the Int64 column, truncating the fraction, and the fast path
/// handed such numbers to arrow-json. JSON Schema's `integer` allows `200.0` and `2e2` (integral
/// values), not `200.5` or `2.005e2`; numbers beyond i64 must not wrap either. Same outcome on
/// every path to the decoder.
#[test]
fn integer_fields_store_integral_numbers_and_reject_fractions_on_every_path() {
    let values = [
        ("200", Ok(200)),
        ("200.0", Ok(200)),
        ("2e2", Ok(200)),
        ("20000E-2", Ok(200)),
        ("200.5", Err("field `status` is 200.5, expected an integer")),
        ("2.005e2", Err("field `status` is 2.005e2, expected an integer")),
        // an f64 reads this as 200.0: the check must be on the digits
        (
            "200.00000000000001",
            Err("field `status` is 200.00000000000001, expected an integer"),
        ),
        (
            "1e300",
            Err("field `status` is 1e300, expected an integer between -9223372036854775808 and 9223372036854775807"),
        ),
        (
            "9223372036854775808",
            Err("field `status` is 9223372036854775808, expected an integer between -9223372036854775808 and 9223372036854775807"),
        ),
    ];
    let ways = ["fast", "unknown", "escaped", "key"];
    let mut lines = Vec::new();
    let mut want_stored = Vec::new();
    let mut want_rejected = Vec::new();
    for (value, want) in values {
        for way in ways {
            let sec = lines.len();
            lines.push(req_at(sec, value, way));
            match want {
                Ok(x) => want_stored.push((sec as i64, Some(x))),
                Err(why) => want_rejected.push((sec as i64 + 1, why.to_string())),
            }
        }
    }
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let out = decoder("requests").decode(&chunk(&refs), NOW);
    let rejected: Vec<(i64, String)> = out
        .rejected
        .iter()
        .map(|r| (r.position, r.reason.clone()))
        .collect();
    assert_eq!(rejected, want_rejected);
    assert_eq!(stored_by_second(&out, "status"), want_stored);
    assert_paths_agree("requests", &refs);
}

/// An integer field without bounds (a table of its own, as any schema may declare one): values
/// are read from their digits, exactly, also past f64's 2^53 when written with a fraction or an
/// exponent, and the edges of i64 hold; one step past them is rejected, never wrapped.
#[test]
fn integer_fields_are_read_exactly_up_to_the_edges_of_i64() {
    let schema = r#"{"title":"counters","required":["ts","n"],"properties":{
        "ts":{"type":["string","integer"],"format":"date-time"},
        "name":{"type":"string"},
        "n":{"type":"integer"}}}"#;
    let table = Arc::new(crate::schema::TableSchema::parse("counters", schema).unwrap());
    let out_of_range = |v: &str| {
        format!(
            "field `n` is {v}, expected an integer between -9223372036854775808 and 9223372036854775807"
        )
    };
    let values = [
        ("9007199254740993", Ok(9_007_199_254_740_993)),
        // an f64 holds neither: arrow-json used to store 9007199254740992
        ("9007199254740993.0", Ok(9_007_199_254_740_993)),
        ("9.007199254740993e15", Ok(9_007_199_254_740_993)),
        ("9223372036854775807", Ok(i64::MAX)),
        ("9223372036854775807.0", Ok(i64::MAX)),
        ("-9223372036854775808", Ok(i64::MIN)),
        ("-92233720368547758.08e2", Ok(i64::MIN)),
        ("-0", Ok(0)),
        ("-0.0e7", Ok(0)),
        ("0e999999999999999999999", Ok(0)),
        ("12.50e1", Ok(125)),
        (
            "9223372036854775808",
            Err(out_of_range("9223372036854775808")),
        ),
        // an f64 rounds this to -2^63, which fits: arrow-json used to store i64::MIN
        (
            "-9223372036854775809",
            Err(out_of_range("-9223372036854775809")),
        ),
        ("1e19", Err(out_of_range("1e19"))),
        (
            "-1e999999999999999999999",
            Err(out_of_range("-1e999999999999999999999")),
        ),
        (
            "1e-300",
            Err("field `n` is 1e-300, expected an integer".to_string()),
        ),
        (
            "-0.5",
            Err("field `n` is -0.5, expected an integer".to_string()),
        ),
    ];
    let mut lines = Vec::new();
    let mut want_stored = Vec::new();
    let mut want_rejected = Vec::new();
    for (value, want) in &values {
        for extra in ["", r#","note":"arrow-json""#] {
            let sec = lines.len();
            lines.push(format!(
                r#"{{"ts":"2026-11-27T13:00:{sec:02}Z","name":"c","n":{value}{extra}}}"#
            ));
            match want {
                Ok(x) => want_stored.push((sec as i64, Some(*x))),
                Err(why) => want_rejected.push((sec as i64 + 1, why.clone())),
            }
        }
    }
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let c = chunk(&refs);
    let mut with_fast = Decoder::new(table.clone());
    assert!(with_fast.fast.is_some());
    let mut without = Decoder::new(table);
    without.fast = None;
    for out in [with_fast.decode(&c, NOW), without.decode(&c, NOW)] {
        let rejected: Vec<(i64, String)> = out
            .rejected
            .iter()
            .map(|r| (r.position, r.reason.clone()))
            .collect();
        assert_eq!(rejected, want_rejected);
        assert_eq!(stored_by_second(&out, "n"), want_stored);
    }
}

/// Joining a chunk's pieces used to be `concat_batches(..).ok()`: had it failed, every row of the
/// chunk would have vanished without a rejection. It cannot fail for pieces the decoder builds
/// (see [`combine`]), so this feeds it a piece of another type: the largest piece is stored and
/// the records of the other come back to be rejected, with the reason.
#[test]
fn pieces_that_cannot_be_joined_come_back_as_rejections_not_lost_rows() {
    use arrow::array::{Int32Array, Int64Array};
    use arrow::datatypes::{DataType, Field, Schema};

    let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, true)]));
    let piece = |v: Vec<i64>| {
        RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(v))]).unwrap()
    };
    let odd = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new("n", DataType::Int32, true)])),
        vec![Arc::new(Int32Array::from(vec![7, 8]))],
    )
    .unwrap();

    let (batch, left_out) = combine(
        &schema,
        vec![(odd, vec![0, 4]), (piece(vec![1, 2, 3]), vec![1, 2, 3])],
    );
    assert_eq!(batch, Some(piece(vec![1, 2, 3])));
    assert_eq!(
        left_out.iter().map(|(r, _)| *r).collect::<Vec<_>>(),
        vec![0, 4]
    );
    for (_, why) in &left_out {
        assert!(
            why.starts_with("decoded, but cannot be stored with the rest of its chunk: ")
                && why.contains("Int32"),
            "{why}"
        );
    }

    // the usual cases: pieces of the schema are joined in order; empty ones are skipped
    let (batch, left_out) = combine(
        &schema,
        vec![
            (piece(vec![1]), vec![0]),
            (piece(vec![]), vec![]),
            (piece(vec![2, 3]), vec![1, 2]),
        ],
    );
    assert_eq!(batch, Some(piece(vec![1, 2, 3])));
    assert!(left_out.is_empty());
    assert_eq!(
        combine(&schema, vec![(piece(vec![]), vec![])]),
        (None, vec![])
    );
}

/// Regression: every date-time field used to be filled with the record's `ts` (the decoder
/// extracted `ts` for all of them), so an incident's `impact_start` read back as its `ts`.
#[test]
fn a_second_date_time_field_keeps_its_own_value_null_when_absent_and_bad_ones_are_rejected() {
    let lines = [
        r#"{"ts":"2026-11-20T10:05:00Z","incident_id":"A","severity":"P1","status":"detected","impact_start":"2026-11-20T10:00:00Z"}"#,
        r#"{"ts":"2026-11-20T10:06:00Z","incident_id":"A","severity":"P1","status":"acknowledged"}"#,
        r#"{"ts":"2026-11-20T10:07:00Z","incident_id":"A","severity":"P1","status":"update","impact_start":1795168800000}"#,
        r#"{"ts":"2026-11-20T10:08:00Z","incident_id":"A","severity":"P1","status":"update","impact_start":"soon"}"#,
    ];
    let out = decoder("incidents").decode(&chunk(&lines), NOW);
    assert_eq!(out.rejected.len(), 1);
    assert_eq!(out.rejected[0].position, 4);
    assert!(
        out.rejected[0]
            .reason
            .contains("field `impact_start` is `soon`"),
        "{}",
        out.rejected[0].reason
    );
    let b = out.batch.unwrap();
    let col = |name: &str| {
        b.column_by_name(name)
            .unwrap()
            .as_primitive::<TimestampMicrosecondType>()
            .clone()
    };
    let (ts, impact) = (col("ts"), col("impact_start"));
    // python: datetime(2026,11,20,10,5,tzinfo=timezone.utc).timestamp()*1e6 = 1795169100000000;
    // 10:00 is 300 s earlier; epoch milliseconds 1795168800000 are 10:00 too
    assert_eq!(ts.value(0), 1_795_169_100_000_000);
    assert_eq!(impact.value(0), 1_795_168_800_000_000);
    assert!(impact.is_null(1));
    assert_eq!(impact.value(2), 1_795_168_800_000_000);
}
