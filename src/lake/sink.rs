//! The table sink: buffers decoded batches per source partition and hour, and at each checkpoint
//! writes them (with the same chunks' rejections) as Parquet files — one per hour partition — and
//! commits them together with the source positions they cover. Memory is bounded: a checkpoint is
//! forced when the buffers reach the memory budget.
//!
//! Buffers are kept per source partition so that a Kafka partition taken away by a rebalance can
//! be dropped ([`TableSink::discard`]) without touching the others: its new owner re-reads it from
//! the position the lake holds.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::record_batch::RecordBatch;

use super::layout::temp_path;
use super::layout::{hour_key, partition_dir, split_by_hour, FileNamer};
use super::log::{Commit, FileEntry, SourceRange, TableLog};
use super::writer::{table_writer_properties, write_temp};
use super::LakeError;
use crate::batch::rejected::{self, Rejection, REJECTED_SCHEMA, REJECTED_TABLE};
use crate::batch::DecodedChunk;
use crate::schema::TableSchema;

/// Counters of a sink, cumulative.
#[derive(Debug, Default, Clone)]
pub struct SinkStats {
    pub records: u64,
    pub stored: u64,
    pub rejected: u64,
    pub bytes: u64,
    pub files: u64,
    pub commits: u64,
    pub flush_time: Duration,
    pub unknown_fields: BTreeMap<String, u64>,
}

/// A source partition: a file (`partition` None) or a Kafka topic partition.
pub type PartitionKey = (Arc<str>, Option<i32>);

#[derive(Default)]
struct PartitionBuffer {
    hours: BTreeMap<i64, Vec<RecordBatch>>,
    rejected: Vec<Rejection>,
    /// Covered positions not yet committed (contiguous runs, in reading order), each with the
    /// number of records buffered from it (rows plus rejections).
    ranges: Vec<Claim>,
    rows: usize,
    bytes: usize,
    since: Option<Instant>,
}

/// A run of source positions and the records buffered from it.
#[derive(Debug, Clone, Copy)]
struct Claim {
    first: i64,
    last: i64,
    records: u64,
}

/// What a checkpoint did.
#[derive(Debug, Default, Clone)]
pub struct Checkpoint {
    /// The commit's version, if anything was committed.
    pub version: Option<u64>,
    /// Committed ranges (for committing Kafka offsets after the lake commit).
    pub committed: Vec<SourceRange>,
    /// Partitions whose buffered data was dropped because another writer committed overlapping
    /// positions first; their readers must resume from [`TableSink::next_position`].
    pub discarded: Vec<PartitionKey>,
    pub rows: u64,
    pub files: u64,
}

/// Writes one event table (and its rejections) into the lake.
pub struct TableSink {
    lake: PathBuf,
    table: Arc<TableSchema>,
    log: TableLog,
    namer: FileNamer,
    budget_bytes: usize,
    write_threads: usize,
    partitions: BTreeMap<PartitionKey, PartitionBuffer>,
    buffered_bytes: usize,
    stats: SinkStats,
}

impl TableSink {
    /// Opens the table's log and recovers from any interrupted earlier write.
    pub fn open(
        lake: &Path,
        table: Arc<TableSchema>,
        budget_bytes: usize,
    ) -> Result<TableSink, LakeError> {
        std::fs::create_dir_all(lake.join(&table.name)).map_err(LakeError::io(lake))?;
        let log = TableLog::open(lake, &table.name)?;
        let rec = log.recover()?;
        if rec != Default::default() {
            tracing::info!(table = %table.name, ?rec, "Recovered from an interrupted write.");
        }
        Ok(TableSink {
            lake: lake.to_path_buf(),
            table,
            log,
            namer: FileNamer::new(),
            budget_bytes,
            write_threads: std::thread::available_parallelism()
                .map_or(2, |n| n.get())
                .min(4),
            partitions: BTreeMap::new(),
            buffered_bytes: 0,
            stats: SinkStats::default(),
        })
    }

    /// The table's commit log (for skipping positions that are already stored).
    pub fn log(&self) -> &TableLog {
        &self.log
    }

    /// Re-reads the log and drops the buffered data of every source partition that can no
    /// longer be committed as it is: some of its positions are committed (by another writer that
    /// took the partition over, or a concurrent ingest of the same file), or, for a Kafka
    /// partition, its data does not continue the committed offsets (this writer read from a
    /// position that is no longer the lake's). Compared with every commit in the log, not only
    /// those new since the last look. Returns the partitions dropped; their readers must resume
    /// from [`TableSink::next_position`].
    pub fn refresh(&mut self) -> Result<Vec<PartitionKey>, LakeError> {
        self.log.refresh()?;
        let mut dropped = Vec::new();
        for (key, buf) in &self.partitions {
            let Some(covered) = self.log.coverage(&key.0, key.1) else {
                continue;
            };
            let overlaps = buf.ranges.iter().any(|c| covered.overlaps(c.first, c.last));
            let gap = key.1.is_some()
                && buf.ranges.first().is_some_and(|c| {
                    covered
                        .ranges()
                        .last()
                        .is_some_and(|&(_, last)| c.first != last + 1)
                });
            if overlaps || gap {
                dropped.push(key.clone());
            }
        }
        for (source, partition) in &dropped {
            tracing::warn!(table = %self.table.name, %source, ?partition, "Another writer committed these positions first; dropping the buffered copy.");
            self.discard(source, *partition);
        }
        Ok(dropped)
    }

    pub fn table(&self) -> &Arc<TableSchema> {
        &self.table
    }

    pub fn stats(&self) -> &SinkStats {
        &self.stats
    }

    /// Bytes currently buffered.
    pub fn buffered_bytes(&self) -> usize {
        self.buffered_bytes
    }

    /// Rows currently buffered.
    pub fn buffered_rows(&self) -> usize {
        self.partitions.values().map(|p| p.rows).sum()
    }

    /// How long the oldest buffered data has waited.
    pub fn oldest(&self) -> Option<Duration> {
        self.partitions
            .values()
            .filter_map(|p| p.since)
            .min()
            .map(|t| t.elapsed())
    }

    /// The first position of a source partition not yet in the lake (after the highest committed
    /// one), `None` if the lake holds nothing of it.
    pub fn next_position(&self, source: &str, partition: Option<i32>) -> Option<i64> {
        self.log
            .coverage(source, partition)
            .and_then(|c| c.ranges().last().map(|&(_, last)| last + 1))
    }

    /// Adds a decoded chunk; checkpoints when the buffers reach the memory budget.
    pub fn push(&mut self, chunk: DecodedChunk) -> Result<Option<Checkpoint>, LakeError> {
        self.add(chunk);
        if self.buffered_bytes >= self.budget_bytes {
            return self.checkpoint().map(Some);
        }
        Ok(None)
    }

    /// Adds a decoded chunk without checking the budget.
    pub fn add(&mut self, chunk: DecodedChunk) {
        self.stats.records += chunk.records as u64;
        self.stats.bytes += chunk.bytes as u64;
        for (k, c) in chunk.unknown_fields {
            *self.stats.unknown_fields.entry(k).or_default() += c;
        }
        let buf = self
            .partitions
            .entry((chunk.source.clone(), chunk.partition))
            .or_default();
        buf.since.get_or_insert_with(Instant::now);
        let before = buf.bytes;
        if let Some(batch) = &chunk.batch {
            buf.rows += batch.num_rows();
            for (hour, part) in split_by_hour(batch, self.table.ts_index) {
                buf.bytes += part.get_array_memory_size();
                buf.hours.entry(hour).or_default().push(part);
            }
        }
        buf.bytes += chunk
            .rejected
            .iter()
            .map(|r| r.payload.len() + r.reason.len() + 64)
            .sum::<usize>();
        let records = chunk.batch.as_ref().map_or(0, |b| b.num_rows()) + chunk.rejected.len();
        buf.rejected.extend(chunk.rejected);
        match buf.ranges.last_mut() {
            Some(last) if last.last + 1 == chunk.first_index => {
                last.last = chunk.last_index;
                last.records += records as u64;
            }
            _ => buf.ranges.push(Claim {
                first: chunk.first_index,
                last: chunk.last_index,
                records: records as u64,
            }),
        }
        self.buffered_bytes += buf.bytes - before;
    }

    /// Drops everything buffered for one source partition (it was revoked, or another writer
    /// committed it first).
    pub fn discard(&mut self, source: &str, partition: Option<i32>) {
        let key: PartitionKey = (Arc::from(source), partition);
        if let Some(buf) = self.partitions.remove(&key) {
            self.buffered_bytes -= buf.bytes;
        }
    }

    /// The first buffered position of each source partition with buffered data.
    pub fn buffered_starts(&self) -> Vec<(PartitionKey, i64)> {
        self.partitions
            .iter()
            .filter_map(|(k, b)| b.ranges.first().map(|c| (k.clone(), c.first)))
            .collect()
    }

    /// Source partitions with buffered data.
    pub fn buffered_partitions(&self) -> Vec<PartitionKey> {
        self.partitions.keys().cloned().collect()
    }

    /// Writes everything buffered and commits it with the covered source positions: the commit
    /// claims exactly the buffered positions, and its files hold exactly their records. A source
    /// partition some of whose positions another writer committed first is dropped whole (see
    /// [`TableSink::refresh`]), never committed in part.
    pub fn checkpoint(&mut self) -> Result<Checkpoint, LakeError> {
        let mut outcome = Checkpoint::default();
        for attempt in 0..3 {
            outcome.discarded.extend(self.refresh()?);
            let mut ranges = Vec::new();
            for ((source, partition), buf) in &self.partitions {
                ranges.extend(buf.ranges.iter().map(|c| SourceRange {
                    source: source.to_string(),
                    partition: *partition,
                    first: c.first,
                    last: c.last,
                    records: Some(c.records),
                }));
            }
            if ranges.is_empty() {
                self.partitions.clear();
                self.buffered_bytes = 0;
                return Ok(outcome);
            }
            match self.write_and_commit(ranges) {
                Ok((version, committed, rows, files)) => {
                    self.partitions.clear();
                    self.buffered_bytes = 0;
                    outcome.version = Some(version);
                    outcome.committed = committed;
                    outcome.rows = rows;
                    outcome.files = files;
                    return Ok(outcome);
                }
                Err(LakeError::Conflict { .. }) if attempt < 2 => continue,
                Err(e) => return Err(e),
            }
        }
        Err(LakeError::Conflict {
            table: self.table.name.clone(),
            message: "gave up after three commit races".into(),
        })
    }

    fn write_and_commit(
        &mut self,
        ranges: Vec<SourceRange>,
    ) -> Result<(u64, Vec<SourceRange>, u64, u64), LakeError> {
        let started = Instant::now();
        let table = self.table.name.clone();
        let mut by_hour: BTreeMap<i64, Vec<RecordBatch>> = BTreeMap::new();
        let mut rejected_by_hour: BTreeMap<i64, Vec<Rejection>> = BTreeMap::new();
        for buf in self.partitions.values() {
            for (hour, batches) in &buf.hours {
                by_hour
                    .entry(*hour)
                    .or_default()
                    .extend(batches.iter().cloned());
            }
            for r in &buf.rejected {
                rejected_by_hour
                    .entry(hour_key(r.received_at))
                    .or_default()
                    .push(r.clone());
            }
        }
        let mut jobs: Vec<(String, Job)> = Vec::new();
        for (hour, batches) in by_hour {
            let rel = format!("{table}/{}/{}", partition_dir(hour), self.namer.next());
            jobs.push((rel, Job::Table(batches)));
        }
        let mut rejected_rows = 0u64;
        for (hour, rows) in rejected_by_hour {
            let rel = format!(
                "{REJECTED_TABLE}/{}/{}",
                partition_dir(hour),
                self.namer.next()
            );
            rejected_rows += rows.len() as u64;
            jobs.push((rel, Job::Rejected(rejected::to_batch(&rows))));
        }
        let entries = self.write_all(jobs)?;
        let stored: u64 = entries
            .iter()
            .filter(|e| !e.path.starts_with(REJECTED_TABLE))
            .map(|e| e.rows)
            .sum();
        let files = entries.len() as u64;
        let commit = Commit::new("ingest", entries.clone(), vec![], ranges.clone());
        match self.log.commit(commit) {
            Ok(version) => {
                self.stats.stored += stored;
                self.stats.rejected += rejected_rows;
                self.stats.files += files;
                self.stats.commits += 1;
                self.stats.flush_time += started.elapsed();
                tracing::debug!(table = %table, version, files, rows = stored, elapsed_ms = started.elapsed().as_millis() as u64, "Committed checkpoint.");
                Ok((version, ranges, stored, files))
            }
            Err(e) => {
                for f in &entries {
                    let _ = std::fs::remove_file(temp_path(&self.lake.join(&f.path), &table));
                }
                Err(e)
            }
        }
    }

    fn write_all(&self, jobs: Vec<(String, Job)>) -> Result<Vec<FileEntry>, LakeError> {
        let table_props = table_writer_properties(&self.table);
        let rejected_props = crate::lake::writer::rejected_writer_properties();
        let jobs = std::sync::Mutex::new(jobs.into_iter());
        let results = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for _ in 0..self.write_threads {
                s.spawn(|| loop {
                    let next = jobs.lock().map(|mut j| j.next()).ok().flatten();
                    let Some((rel, job)) = next else { break };
                    let r = match &job {
                        Job::Table(b) => write_temp(
                            &self.lake,
                            &rel,
                            &self.table.name,
                            &self.table.stored,
                            &table_props,
                            b,
                            self.table.ts_index,
                        ),
                        Job::Rejected(b) => write_temp(
                            &self.lake,
                            &rel,
                            &self.table.name,
                            &REJECTED_SCHEMA,
                            &rejected_props,
                            std::slice::from_ref(b),
                            0,
                        ),
                    };
                    if let Ok(mut out) = results.lock() {
                        out.push(r);
                    }
                });
            }
        });
        let mut entries = Vec::new();
        let mut first_err = None;
        for r in results.into_inner().unwrap_or_default() {
            match r {
                Ok(e) => entries.push(e),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        if let Some(e) = first_err {
            for f in &entries {
                let _ = std::fs::remove_file(temp_path(&self.lake.join(&f.path), &self.table.name));
            }
            return Err(e);
        }
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(entries)
    }
}

enum Job {
    Table(Vec<RecordBatch>),
    Rejected(RecordBatch),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::Decoder;
    use crate::source::RawChunk;

    fn requests() -> Arc<TableSchema> {
        crate::schema::Catalog::builtin()
            .unwrap()
            .get("requests")
            .unwrap()
            .clone()
    }

    /// Offsets `first..=last` of Kafka partition 2 of topic `t`, one request each; offset
    /// `bad` (if in range) is malformed and lands in `_rejected`.
    fn chunk(first: i64, last: i64, bad: i64) -> DecodedChunk {
        let mut raw = RawChunk::new(Arc::from("kafka:t"), Some(2), first);
        for o in first..=last {
            let record = if o == bad {
                "{\"ts\":\"not a time\"}".to_string()
            } else {
                format!(
                    r#"{{"ts":"2026-11-27T10:00:00Z","service":"api","endpoint":"GET /x","status":200,"duration_ms":1,"trace_id":"t{o}"}}"#
                )
            };
            raw.push(o, record.as_bytes(), 1 << 20);
        }
        Decoder::new(requests()).decode(&raw, chrono::Utc::now().timestamp_micros())
    }

    fn stored_rows(lake: &Path) -> u64 {
        TableLog::open(lake, "requests")
            .unwrap()
            .files()
            .map(|f| f.rows)
            .sum()
    }

    /// Regression (issue 12): a frozen writer resumed with offsets 1882..=2046 buffered, which
    /// the partition's new owner had committed meanwhile; its checkpoint left the committed
    /// offsets out of its claim but still wrote every buffered row (165 duplicates claiming
    /// nothing). Now the whole partition's buffer is dropped and nothing is written.
    #[test]
    fn a_writer_whose_positions_were_committed_by_another_drops_them_whole() {
        let dir = tempfile::tempdir().unwrap();
        let lake = dir.path();
        let mut zombie = TableSink::open(lake, requests(), 64 << 20).unwrap();
        zombie.add(chunk(1882, 2046, 1900));
        let mut owner = TableSink::open(lake, requests(), 64 << 20).unwrap();
        owner.add(chunk(1882, 1999, -1));
        let cp = owner.checkpoint().unwrap();
        assert_eq!((cp.version, cp.rows), (Some(1), 118));

        let cp = zombie.checkpoint().unwrap();
        assert_eq!(cp.version, None, "nothing committed");
        assert_eq!(cp.discarded, vec![(Arc::from("kafka:t"), Some(2))]);
        assert_eq!(zombie.next_position("kafka:t", Some(2)), Some(2000));
        assert_eq!(stored_rows(lake), 118);
        // re-read from the lake's position, it continues the owner's commit
        zombie.add(chunk(2000, 2046, 2010));
        let cp = zombie.checkpoint().unwrap();
        assert_eq!((cp.version, cp.rows), (Some(2), 46));
        let log = TableLog::open(lake, "requests").unwrap();
        assert_eq!(
            log.coverage("kafka:t", Some(2)).unwrap().ranges(),
            &[(1882, 2046)]
        );
        assert_eq!(stored_rows(lake), 118 + 47, "46 rows and one rejection");
    }

    /// The same when the other writer committed positions *after* the buffered ones (it was
    /// assigned the partition at a later lake position): the buffer no longer continues the
    /// lake's offsets and is dropped, though it overlaps nothing.
    #[test]
    fn a_writer_behind_the_lakes_position_drops_its_buffer() {
        let dir = tempfile::tempdir().unwrap();
        let lake = dir.path();
        let mut first = TableSink::open(lake, requests(), 64 << 20).unwrap();
        first.add(chunk(0, 9, -1));
        first.checkpoint().unwrap();
        let mut stale = TableSink::open(lake, requests(), 64 << 20).unwrap();
        stale.add(chunk(10, 19, -1));
        first.add(chunk(10, 29, -1));
        first.checkpoint().unwrap();
        stale.add(chunk(20, 29, -1)); // still overlapping: dropped
        assert_eq!(stale.checkpoint().unwrap().version, None);
        let mut late = TableSink::open(lake, requests(), 64 << 20).unwrap();
        late.add(chunk(40, 49, -1)); // a gap after 29: dropped too
        let cp = late.checkpoint().unwrap();
        assert_eq!((cp.version, cp.discarded.len()), (None, 1));
        assert_eq!(stored_rows(lake), 30);
    }
}
