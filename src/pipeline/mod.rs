//! Wires the stages for one table: a source thread cuts input into chunks, decoder threads turn
//! chunks into Arrow batches in parallel, and the calling thread feeds them, in source order, to
//! the lake sink, which checkpoints within the memory budget. Channels are bounded, so a slow
//! disk slows the readers instead of growing memory. [`kafka`] does the same for Kafka topics;
//! [`observe`] lets alerting see decoded batches in-process.

pub mod decode;
pub mod kafka;
pub mod observe;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::{Duration, Instant};

use self::decode::{InOrder, Job};
use crate::batch::DecodedChunk;
use crate::lake::log::RangeSet;
use crate::lake::sink::{SinkStats, TableSink};
use crate::lake::LakeError;
use crate::schema::TableSchema;
use crate::source::file::{read_chunks, FileInput};
use crate::source::{ChunkLimits, RawChunk, Stopped};

/// Errors of an ingest pipeline (files or Kafka).
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("opening table `{table}` in `{}`: {source}", lake.display())]
    Open {
        table: String,
        lake: PathBuf,
        source: LakeError,
    },
    #[error("committing to table `{table}`: {source}")]
    Commit { table: String, source: LakeError },
    /// The source failed (an unreadable file, a failing generator).
    #[error(transparent)]
    Source(Box<dyn std::error::Error + Send + Sync>),
    #[error("another writer ingested the same input into table `{0}` concurrently; its copy was kept, this one dropped (run one ingest per input)")]
    Concurrent(String),
    #[error(transparent)]
    Schema(#[from] crate::schema::SchemaError),
    #[error(transparent)]
    KafkaSource(#[from] crate::source::kafka::KafkaSourceError),
    #[error("Kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("starting thread `{name}`: {source}")]
    Thread {
        name: &'static str,
        source: std::io::Error,
    },
    #[error("the {0} thread panicked")]
    Panicked(&'static str),
    #[error("a stage stopped: {0}")]
    Stopped(#[from] Stopped),
}

/// Tuning of one ingest run.
#[derive(Debug, Clone, Copy)]
pub struct IngestOptions {
    /// Budget for buffered rows before a checkpoint is forced.
    pub memory_budget: usize,
    /// Decoder threads.
    pub workers: usize,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            memory_budget: 192 << 20,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
        }
    }
}

/// Result of one ingest run.
#[derive(Debug, Clone)]
pub struct IngestReport {
    pub table: String,
    pub stats: SinkStats,
    /// Records skipped because the lake already holds them.
    pub skipped: u64,
    pub elapsed: Duration,
}

/// What a producer's own failure is (an unreadable file, a failing generator).
pub type ProducerError = Box<dyn std::error::Error + Send + Sync>;

/// A producer of raw chunks: called once on the source thread with the emit callback and the
/// commit-log coverage lookup (to skip positions already stored). Returns records skipped.
pub type Producer<'a> = Box<
    dyn FnOnce(
            &dyn Fn(&str, Option<i32>) -> Option<RangeSet>,
            &mut dyn FnMut(RawChunk) -> Result<(), Stopped>,
        ) -> Result<u64, ProducerError>
        + Send
        + 'a,
>;

/// Runs producer → decoders → sink for one table and commits everything at the end.
pub fn run(
    lake: &Path,
    table: Arc<TableSchema>,
    opts: IngestOptions,
    producer: Producer<'_>,
) -> Result<IngestReport, PipelineError> {
    let started = Instant::now();
    let mut sink = TableSink::open(lake, table.clone(), opts.memory_budget).map_err(|source| {
        PipelineError::Open {
            table: table.name.clone(),
            lake: lake.to_path_buf(),
            source,
        }
    })?;
    let coverage: BTreeMap<(String, Option<i32>), RangeSet> = sink
        .log()
        .sources()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let lookup = move |source: &str, partition: Option<i32>| {
        coverage.get(&(source.to_string(), partition)).cloned()
    };
    let (pool, decoders) =
        decode::pool::<()>(std::slice::from_ref(&table), opts.workers).map_err(|source| {
            PipelineError::Thread {
                name: "pl-decode",
                source,
            }
        })?;
    let input = pool.input;
    let produced = std::thread::scope(|s| {
        let reader = s.spawn(move || {
            let mut seq = 0u64;
            let mut emit = |chunk: RawChunk| -> Result<(), Stopped> {
                input
                    .send(Job {
                        seq,
                        table: 0,
                        meta: (),
                        item: chunk,
                    })
                    .map_err(|_| Stopped)?;
                seq += 1;
                Ok(())
            };
            producer(&lookup, &mut emit)
        });
        let sunk = drain_in_order(pool.output, &mut sink);
        let produced = reader.join().map_err(|_| PipelineError::Panicked("source"));
        sunk.and(produced)
    });
    for d in decoders {
        let _ = d.join();
    }
    let skipped = produced?.map_err(PipelineError::Source)?;
    let commit_err = |source| PipelineError::Commit {
        table: table.name.clone(),
        source,
    };
    let cp = sink.checkpoint().map_err(commit_err)?;
    if !cp.discarded.is_empty() {
        return Err(PipelineError::Concurrent(table.name.clone()));
    }
    Ok(IngestReport {
        table: table.name.clone(),
        stats: sink.stats().clone(),
        skipped,
        elapsed: started.elapsed(),
    })
}

/// NDJSON inputs (files, stdin) into one table: [`run`] with the file source, which skips the
/// lines the lake already holds. `progress` gets the bytes read so far of all inputs.
pub fn files(
    lake: &Path,
    table: Arc<TableSchema>,
    opts: IngestOptions,
    inputs: Vec<FileInput>,
    limits: ChunkLimits,
    progress: impl Fn(u64) + Send,
) -> Result<IngestReport, PipelineError> {
    let counters: Vec<_> = inputs.iter().map(|i| i.bytes_read.clone()).collect();
    let producer: Producer = Box::new(move |coverage, emit| {
        let mut skipped = 0;
        for mut input in inputs {
            let covered = coverage(&input.source_key, None);
            let already = |line: i64| covered.as_ref().is_some_and(|c| c.contains(line));
            let mut emit_with_progress = |chunk| {
                progress(counters.iter().map(|c| c.load(Ordering::Relaxed)).sum());
                emit(chunk)
            };
            let stats = read_chunks(&mut input, limits, &already, &mut emit_with_progress)?;
            skipped += stats.skipped;
        }
        Ok(skipped)
    });
    run(lake, table, opts, producer)
}

/// Feeds decoded chunks to the sink in sequence order (decoders finish out of order).
fn drain_in_order(
    rx: Receiver<Job<(), DecodedChunk>>,
    sink: &mut TableSink,
) -> Result<(), PipelineError> {
    let mut order = InOrder::default();
    for job in rx {
        order.insert(job.seq, job.item);
        while let Some(chunk) = order.pop() {
            let cp = sink.push(chunk).map_err(|source| PipelineError::Commit {
                table: sink.table().name.clone(),
                source,
            })?;
            if cp.is_some_and(|cp| !cp.discarded.is_empty()) {
                return Err(PipelineError::Concurrent(sink.table().name.clone()));
            }
        }
    }
    Ok(())
}
