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

use super::layout::{hour_key, partition_dir, split_by_hour, FileNamer};
use super::log::{Commit, FileEntry, SourceRange, TableLog};
use super::writer::{temp_path, write_temp};
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
    /// Covered positions not yet committed (contiguous runs).
    ranges: Vec<(i64, i64)>,
    rows: usize,
    bytes: usize,
    since: Option<Instant>,
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

    /// Re-reads commits made by other writers since the last look, and drops the buffered data
    /// of every source partition they committed positions of (a rebalance race: the other
    /// writer's copy wins). Returns the partitions dropped; their readers must resume from
    /// [`TableSink::next_position`].
    pub fn refresh(&mut self) -> Result<Vec<PartitionKey>, LakeError> {
        let foreign = self.log.refresh()?;
        let mut dropped = Vec::new();
        for (key, buf) in &self.partitions {
            let hit = foreign.iter().flat_map(|c| &c.sources).any(|r| {
                *r.source == *key.0
                    && r.partition == key.1
                    && buf.ranges.iter().any(|&(a, b)| a <= r.last && r.first <= b)
            });
            if hit {
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
        buf.rejected.extend(chunk.rejected);
        match buf.ranges.last_mut() {
            Some(last) if last.1 + 1 == chunk.first_index => last.1 = chunk.last_index,
            _ => buf.ranges.push((chunk.first_index, chunk.last_index)),
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

    /// Source partitions with buffered data.
    pub fn buffered_partitions(&self) -> Vec<PartitionKey> {
        self.partitions.keys().cloned().collect()
    }

    /// Writes everything buffered and commits it with the covered source positions.
    pub fn checkpoint(&mut self) -> Result<Checkpoint, LakeError> {
        let mut outcome = Checkpoint::default();
        for attempt in 0..3 {
            // Drop what another writer committed meanwhile (a rebalance race), then leave out
            // positions that were skipped because they were already committed.
            outcome.discarded.extend(self.refresh()?);
            let mut ranges = Vec::new();
            for ((source, partition), buf) in &self.partitions {
                let covered = self.log.coverage(source, *partition);
                for &(first, last) in &buf.ranges {
                    let missing =
                        covered.map_or_else(|| vec![(first, last)], |c| c.missing(first, last));
                    ranges.extend(missing.into_iter().map(|(first, last)| SourceRange {
                        source: source.to_string(),
                        partition: *partition,
                        first,
                        last,
                    }));
                }
            }
            if ranges.is_empty()
                && self
                    .partitions
                    .values()
                    .all(|p| p.rows == 0 && p.rejected.is_empty())
            {
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
        let table_props = self.table.writer_properties();
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
