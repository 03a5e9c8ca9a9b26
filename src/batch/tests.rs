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
