//! Sources, the first stage of the flow: they cut raw input into [`RawChunk`]s of records (bytes
//! plus source position) without interpreting them. Files and stdin live in [`file`]; the Kafka
//! consumer produces the same chunks with topic/partition/offset positions.

pub mod file;
pub mod kafka;

use std::sync::Arc;

/// A source handing on chunks learns this when the stages after it stopped (one of them failed;
/// its error is the one to report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the pipeline stopped taking chunks (a later stage failed)")]
pub struct Stopped;

/// How input is cut into chunks.
#[derive(Debug, Clone, Copy)]
pub struct ChunkLimits {
    /// Records longer than this are rejected; only this many bytes of them are kept.
    pub max_record_bytes: usize,
    /// A chunk is handed on once its buffer holds this many bytes...
    pub chunk_bytes: usize,
    /// ...or this many records.
    pub chunk_records: usize,
}

impl Default for ChunkLimits {
    fn default() -> Self {
        ChunkLimits {
            max_record_bytes: 1 << 20,
            chunk_bytes: 2 << 20,
            chunk_records: 16_384,
        }
    }
}

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

    /// Whether the chunk is due to be handed on (its buffer or record count reached `limits`):
    /// the one rule of every source.
    pub fn is_full(&self, limits: &ChunkLimits) -> bool {
        self.data.len() >= limits.chunk_bytes || self.records.len() >= limits.chunk_records
    }

    /// Ends the chunk before `index`, a position the lake already holds, and restarts it after
    /// that position: a chunk covers exactly the positions its commit may claim, so it never
    /// spans stored ones. Returns the finished chunk if it covers anything.
    pub fn split_before_stored(&mut self, index: i64) -> Option<RawChunk> {
        let next = RawChunk::new(self.source.clone(), self.partition, index + 1);
        let done = std::mem::replace(self, next);
        (done.last_index >= done.first_index).then_some(done)
    }

    /// The (possibly truncated) bytes of record `i`.
    pub fn bytes(&self, i: usize) -> &[u8] {
        let r = &self.records[i];
        &self.data[r.start..r.end]
    }
}
