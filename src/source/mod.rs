//! Sources, the first stage of the flow: they cut raw input into [`RawChunk`]s of records (bytes
//! plus source position) without interpreting them. Files and stdin live in [`file`]; the Kafka
//! consumer produces the same chunks with topic/partition/offset positions.

pub mod file;
pub mod kafka;

use std::sync::Arc;

/// One raw record inside [`RawChunk::data`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawRecord {
    /// Byte range of the record in the chunk's buffer (at most the record-size limit long).
    pub start: usize,
    pub end: usize,
    /// Source position: 1-based line number for files, offset for Kafka.
    pub index: i64,
    /// Length of the record as received; larger than `end - start` when it was over the
    /// record-size limit and only a prefix was kept.
    pub original_len: usize,
}

impl RawRecord {
    /// Whether only a prefix of the record was kept because it was over the size limit.
    pub fn is_oversized(&self) -> bool {
        self.original_len > self.end - self.start
    }
}

/// A run of consecutive records from one source (and partition), the unit handed to the decoder.
///
/// The chunk *covers* every position in `first_index..=last_index`, including blank lines and
/// records skipped because the lake already holds them; the commit log records that coverage.
#[derive(Debug, Clone)]
pub struct RawChunk {
    /// Stable identity of the source, e.g. `file:/data/x.ndjson#1a2b…` or a Kafka topic.
    pub source: Arc<str>,
    /// Kafka partition; `None` for files.
    pub partition: Option<i32>,
    /// The records' bytes, each followed by a newline so that the whole buffer is valid NDJSON
    /// when every record is.
    pub data: Vec<u8>,
    pub records: Vec<RawRecord>,
    pub first_index: i64,
    pub last_index: i64,
}

impl RawChunk {
    /// An empty chunk starting at `first_index`.
    pub fn new(source: Arc<str>, partition: Option<i32>, first_index: i64) -> RawChunk {
        RawChunk {
            source,
            partition,
            data: Vec::new(),
            records: Vec::new(),
            first_index,
            last_index: first_index - 1,
        }
    }

    /// Appends one record, keeping at most `max_bytes` of it.
    pub fn push(&mut self, index: i64, bytes: &[u8], max_bytes: usize) {
        let kept = &bytes[..bytes.len().min(max_bytes)];
        let start = self.data.len();
        self.data.extend_from_slice(kept);
        let end = self.data.len();
        self.data.push(b'\n');
        self.records.push(RawRecord {
            start,
            end,
            index,
            original_len: bytes.len(),
        });
        self.last_index = self.last_index.max(index);
    }

    /// The (possibly truncated) bytes of record `i`.
    pub fn bytes(&self, i: usize) -> &[u8] {
        let r = &self.records[i];
        &self.data[r.start..r.end]
    }
}
