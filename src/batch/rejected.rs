//! The `_rejected` table: every record that could not be stored, with why and where it came from.
//! It is a lake table like any other (partitioned by the hour it was received), so rejected data
//! is queryable with the same SQL and nothing is silently lost.

use std::sync::{Arc, LazyLock};

use arrow::array::{
    ArrayRef, BinaryBuilder, Int32Builder, Int64Array, StringBuilder, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;

use crate::source::{RawChunk, RawRecord};

/// Name of the table (a folder under the lake root).
pub const REJECTED_TABLE: &str = "_rejected";

/// Payloads longer than this are truncated in `_rejected` (`payload_bytes` keeps the real size).
pub const MAX_PAYLOAD_BYTES: usize = 16 * 1024;

/// Arrow schema of `_rejected`.
pub static REJECTED_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        Field::new(
            "received_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some(crate::schema::UTC.into())),
            false,
        ),
        Field::new("target_table", DataType::Utf8, false),
        Field::new("source", DataType::Utf8, false),
        Field::new("source_partition", DataType::Int32, true),
        Field::new("position", DataType::Int64, false),
        Field::new("reason", DataType::Utf8, false),
        Field::new("payload", DataType::Binary, false),
        Field::new("payload_bytes", DataType::Int64, false),
    ]))
});

/// One record that could not be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub received_at: i64,
    pub target_table: String,
    pub source: Arc<str>,
    pub source_partition: Option<i32>,
    /// Line number (files) or offset (Kafka).
    pub position: i64,
    pub reason: String,
    /// The raw bytes, truncated past [`MAX_PAYLOAD_BYTES`].
    pub payload: Vec<u8>,
    pub payload_bytes: usize,
}

impl Rejection {
    pub fn new(
        table: &str,
        chunk: &RawChunk,
        rec: &RawRecord,
        bytes: &[u8],
        reason: String,
        now: i64,
    ) -> Rejection {
        Rejection {
            received_at: now,
            target_table: table.to_string(),
            source: chunk.source.clone(),
            source_partition: chunk.partition,
            position: rec.index,
            reason,
            payload: bytes[..bytes.len().min(MAX_PAYLOAD_BYTES)].to_vec(),
            payload_bytes: rec.original_len,
        }
    }
}

/// Builds a `_rejected` batch. The `source` column shows a file's path without the fingerprint.
pub fn to_batch(rows: &[Rejection]) -> RecordBatch {
    let n = rows.len();
    let mut source = StringBuilder::with_capacity(n, 64 * n);
    let mut table = StringBuilder::with_capacity(n, 16 * n);
    let mut reason = StringBuilder::with_capacity(n, 64 * n);
    let mut payload = BinaryBuilder::with_capacity(n, 256 * n);
    let mut part = Int32Builder::with_capacity(n);
    for r in rows {
        source.append_value(display_source(&r.source));
        table.append_value(&r.target_table);
        reason.append_value(&r.reason);
        payload.append_value(&r.payload);
        part.append_option(r.source_partition);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(
            TimestampMicrosecondArray::from_iter_values(rows.iter().map(|r| r.received_at))
                .with_timezone(crate::schema::UTC),
        ),
        Arc::new(table.finish()),
        Arc::new(source.finish()),
        Arc::new(part.finish()),
        Arc::new(Int64Array::from_iter_values(
            rows.iter().map(|r| r.position),
        )),
        Arc::new(reason.finish()),
        Arc::new(payload.finish()),
        Arc::new(Int64Array::from_iter_values(
            rows.iter().map(|r| r.payload_bytes as i64),
        )),
    ];
    RecordBatch::try_new(REJECTED_SCHEMA.clone(), columns).expect("columns match REJECTED_SCHEMA")
}

/// `file:/a/b.ndjson#fingerprint` → `/a/b.ndjson`; other sources unchanged.
pub fn display_source(source: &str) -> &str {
    match source.strip_prefix("file:") {
        Some(rest) => rest.rsplit_once('#').map_or(rest, |(path, _)| path),
        None => source,
    }
}
