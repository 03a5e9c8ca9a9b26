//! The table sink: buffers decoded batches per hour partition, and at each checkpoint writes them
//! (and the chunk's rejections) as Parquet files and commits them together with the source
//! positions they cover. Memory is bounded: a checkpoint is forced when the buffers reach the
//! memory budget.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::record_batch::RecordBatch;

use super::layout::{hour_key, partition_dir, split_by_hour, FileNamer};
use super::log::{Commit, FileEntry, SourceRange, TableLog};
use super::writer::write_temp;
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

/// Writes one event table (and its rejections) into the lake.
pub struct TableSink {
    lake: PathBuf,
    table: Arc<TableSchema>,
    log: TableLog,
    namer: FileNamer,
    budget_bytes: usize,
    write_threads: usize,
    buffers: BTreeMap<i64, Vec<RecordBatch>>,
    buffered_bytes: usize,
    rejected: Vec<Rejection>,
    pending: Vec<SourceRange>,
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
            buffers: BTreeMap::new(),
            buffered_bytes: 0,
            rejected: Vec::new(),
            pending: Vec::new(),
            stats: SinkStats::default(),
        })
    }

    /// The table's commit log (for skipping positions that are already stored).
    pub fn log(&self) -> &TableLog {
        &self.log
    }

    pub fn stats(&self) -> &SinkStats {
        &self.stats
    }

    /// Bytes currently buffered.
    pub fn buffered_bytes(&self) -> usize {
        self.buffered_bytes
    }

    /// Adds a decoded chunk; checkpoints when the buffers reach the memory budget.
    pub fn push(&mut self, chunk: DecodedChunk) -> Result<(), LakeError> {
        self.stats.records += chunk.records as u64;
        self.stats.bytes += chunk.bytes as u64;
        for (k, c) in chunk.unknown_fields {
            *self.stats.unknown_fields.entry(k).or_default() += c;
        }
        if let Some(batch) = &chunk.batch {
            for (hour, part) in split_by_hour(batch, self.table.ts_index) {
                self.buffered_bytes += part.get_array_memory_size();
                self.buffers.entry(hour).or_default().push(part);
            }
        }
        self.buffered_bytes += chunk
            .rejected
            .iter()
            .map(|r| r.payload.len() + r.reason.len() + 64)
            .sum::<usize>();
        self.rejected.extend(chunk.rejected);
        match self.pending.iter_mut().find(|p| {
            p.source == *chunk.source
                && p.partition == chunk.partition
                && p.last + 1 == chunk.first_index
        }) {
            Some(p) => p.last = chunk.last_index,
            None => self.pending.push(SourceRange {
                source: chunk.source.to_string(),
                partition: chunk.partition,
                first: chunk.first_index,
                last: chunk.last_index,
            }),
        }
        if self.buffered_bytes >= self.budget_bytes {
            self.checkpoint()?;
        }
        Ok(())
    }

    /// Writes everything buffered and commits it with the covered source positions. A no-op when
    /// nothing is pending.
    pub fn checkpoint(&mut self) -> Result<Option<u64>, LakeError> {
        // Positions that were skipped because they are already committed are not committed again.
        let pending: Vec<SourceRange> = std::mem::take(&mut self.pending)
            .into_iter()
            .flat_map(|p| {
                let missing = match self.log.coverage(&p.source, p.partition) {
                    Some(c) => c.missing(p.first, p.last),
                    None => vec![(p.first, p.last)],
                };
                missing.into_iter().map(move |(first, last)| SourceRange {
                    first,
                    last,
                    ..p.clone()
                })
            })
            .collect();
        if pending.is_empty() && self.buffers.is_empty() && self.rejected.is_empty() {
            return Ok(None);
        }
        let started = Instant::now();
        let table = self.table.name.clone();
        let mut jobs: Vec<(String, SchemaJob)> = Vec::new();
        for (hour, batches) in std::mem::take(&mut self.buffers) {
            let rel = format!("{table}/{}/{}", partition_dir(hour), self.namer.next());
            jobs.push((rel, SchemaJob::Table(batches)));
        }
        let rejected = std::mem::take(&mut self.rejected);
        if !rejected.is_empty() {
            let mut by_hour: BTreeMap<i64, Vec<Rejection>> = BTreeMap::new();
            for r in rejected {
                by_hour.entry(hour_key(r.received_at)).or_default().push(r);
            }
            for (hour, rows) in by_hour {
                let rel = format!(
                    "{REJECTED_TABLE}/{}/{}",
                    partition_dir(hour),
                    self.namer.next()
                );
                self.stats.rejected += rows.len() as u64;
                jobs.push((rel, SchemaJob::Rejected(rejected::to_batch(&rows))));
            }
        }
        let entries = self.write_all(jobs)?;
        let stored: u64 = entries
            .iter()
            .filter(|e| !e.path.starts_with(REJECTED_TABLE))
            .map(|e| e.rows)
            .sum();
        let files = entries.len() as u64;
        let commit = Commit::new("ingest", entries.clone(), vec![], pending);
        match self.log.commit(commit) {
            Ok(version) => {
                self.stats.stored += stored;
                self.stats.files += files;
                self.stats.commits += 1;
                self.stats.flush_time += started.elapsed();
                self.buffered_bytes = 0;
                tracing::debug!(table = %table, version, files, rows = stored, elapsed_ms = started.elapsed().as_millis() as u64, "Committed checkpoint.");
                Ok(Some(version))
            }
            Err(e) => {
                for f in &entries {
                    let _ = std::fs::remove_file(super::writer::temp_path(
                        &self.lake.join(&f.path),
                        &table,
                    ));
                }
                Err(e)
            }
        }
    }

    fn write_all(&self, jobs: Vec<(String, SchemaJob)>) -> Result<Vec<FileEntry>, LakeError> {
        let jobs = std::sync::Mutex::new(jobs.into_iter());
        let results = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for _ in 0..self.write_threads {
                s.spawn(|| loop {
                    let next = jobs.lock().map(|mut j| j.next()).ok().flatten();
                    let Some((rel, job)) = next else { break };
                    let r = match &job {
                        SchemaJob::Table(b) => write_temp(
                            &self.lake,
                            &rel,
                            &self.table.name,
                            &self.table.stored,
                            b,
                            self.table.ts_index,
                        ),
                        SchemaJob::Rejected(b) => write_temp(
                            &self.lake,
                            &rel,
                            &self.table.name,
                            &REJECTED_SCHEMA,
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
                let _ = std::fs::remove_file(super::writer::temp_path(
                    &self.lake.join(&f.path),
                    &self.table.name,
                ));
            }
            return Err(e);
        }
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(entries)
    }
}

enum SchemaJob {
    Table(Vec<RecordBatch>),
    Rejected(RecordBatch),
}
