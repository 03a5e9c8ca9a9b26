//! `postlaunch ingest --pipeline FILE`: Kafka topics into lake tables, exactly once.
//!
//! ```text
//! consumer thread ─(topic, partition, generation, RawChunk)──▶ decoder threads
//!      ▲                                                          │
//!      │ reseek (partition, offset)                               ▼
//!      └──────────────────────────────────── sink thread: reorder, drop stale generations,
//!                                            observe, buffer, checkpoint (lake commit), then
//!                                            commit group offsets
//! ```
//!
//! Positions are Kafka offsets; the commit log records per file the offset ranges it holds, and
//! assignments start from the lake's position (see [`crate::source::kafka`]). A checkpoint is
//! written when a table's buffer reaches `flush.max_rows` or `flush.max_bytes`, when its oldest
//! record has waited `flush.max_age` (also when the topic is quiet), when all buffers together
//! reach `memory_budget`, and on shutdown (SIGINT/SIGTERM).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::{BorrowedMessage, Header, Message, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};

use super::decode::{self, InOrder, Job};
use super::observe::BatchObserver;
use super::PipelineError;
use crate::batch::DecodedChunk;
use crate::config::PipelineConfig;
use crate::lake::log::TableLog;
use crate::lake::sink::TableSink;
use crate::metrics::Metrics;
use crate::schema::Catalog;
use crate::source::kafka::{self, source_key, Assigned, Assignments, LakeContext};
use crate::source::ChunkLimits;
use crate::source::{RawChunk, Stopped};

/// What a chunk carries through the decoder pool: its topic and the generation it was cut under.
#[derive(Debug, Clone)]
struct Origin {
    topic: Arc<str>,
    generation: u64,
}

/// A chunk on its way, raw or decoded.
type Work<T> = Job<Origin, T>;

/// The sink dropped a partition's buffered data (another writer committed some of its positions
/// first): read it again from the lake's position, unless it was reassigned meanwhile.
struct Reseek {
    topic: String,
    partition: i32,
    /// The lake's next position.
    offset: i64,
    /// The generation whose data was dropped.
    generation: u64,
}

/// How long a partially filled chunk may wait before it is decoded.
const LINGER: Duration = Duration::from_millis(200);

/// Everything a Kafka ingest needs.
pub struct KafkaIngest {
    pub cfg: PipelineConfig,
    pub lake: PathBuf,
    pub catalog: Catalog,
    pub workers: usize,
    pub metrics: Metrics,
    pub observers: Vec<Arc<dyn BatchObserver>>,
    /// Stop (flush, commit, return) once every assigned partition has been read up to the high
    /// watermark it had when first seen: a backfill that ends by itself.
    pub exit_at_end: bool,
}

/// Totals of a Kafka ingest run.
#[derive(Debug, Default, Clone)]
pub struct KafkaSummary {
    pub consumed: u64,
    pub stored: u64,
    pub rejected: u64,
    pub commits: u64,
    pub dropped_stale: u64,
}

impl KafkaIngest {
    /// Runs until `shutdown` resolves, then flushes, commits and returns.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<KafkaSummary, PipelineError> {
        let Routes {
            tables,
            table_of_topic,
            dlq,
        } = Routes::of(&self.cfg);
        let schemas = tables
            .iter()
            .map(|t| self.catalog.get(t).cloned())
            .collect::<Result<Vec<_>, _>>()?;
        let sinks = open_sinks(&self.lake, &schemas, self.cfg.memory_budget)?;

        let assignments = Arc::new(Mutex::new(Assignments::default()));
        let epoch = assignments.lock().map(|a| a.epoch()).unwrap_or_default();
        let commit_lock = Arc::new(Mutex::new(()));
        let (flush_tx, flush_rx) = std::sync::mpsc::channel::<std::sync::mpsc::SyncSender<()>>();
        let consumer = Arc::new(kafka::consumer(
            &self.cfg,
            lake_positions(&self.lake, &self.cfg),
            assignments.clone(),
            commit_lock.clone(),
            self.metrics.clone(),
            flush_tx,
        )?);
        let producer = dead_letter_producer(&self.cfg, &dlq)?;

        let (pool, decoders) =
            decode::pool::<Origin>(&schemas, self.workers).map_err(|source| {
                PipelineError::Thread {
                    name: "pl-decode",
                    source,
                }
            })?;
        let (raw_tx, dec_rx) = (pool.input, pool.output);
        let (reseek_tx, reseek_rx) = std::sync::mpsc::channel::<Reseek>();

        let sink_thread = {
            let state = SinkLoop {
                sinks,
                tables: tables.clone(),
                assignments: assignments.clone(),
                commit_lock,
                consumer: consumer.clone(),
                producer,
                dlq,
                metrics: self.metrics.clone(),
                observers: self.observers.clone(),
                reseek: reseek_tx,
                flush: self.cfg.flush.clone(),
                budget: self.cfg.memory_budget,
                buffered_generation: HashMap::new(),
                dropped_generation: HashMap::new(),
                summary: KafkaSummary::default(),
                flush_requests: flush_rx,
            };
            named("pl-sink", move || state.run(dec_rx))?
        };

        // The consumer loop runs on its own thread: polling a `BaseConsumer` in a tight loop
        // costs far less per message than an async stream, and the rebalance callback (which
        // may wait for the sink) runs inside `poll` without blocking the runtime.
        // Dropped last, after the sink (and its flush-request receiver) is gone: closing the
        // consumer revokes its partitions, and the revocation callback must not wait for a sink
        // that will never answer.
        let closing = consumer.clone();
        let stop = Arc::new(AtomicBool::new(false));
        let (ended_tx, ended_rx) = tokio::sync::oneshot::channel::<()>();
        let consume_thread = {
            let lp = ConsumeLoop {
                consumer,
                assignments,
                epoch,
                seen_epoch: u64::MAX,
                table_of_topic,
                raw: raw_tx,
                reseek: reseek_rx,
                stop: stop.clone(),
                exit_at_end: self.exit_at_end,
                start_at_end: self.cfg.kafka.start_from == "latest",
                limits: ChunkLimits::default(),
                builders: Vec::new(),
                last: 0,
                seq: 0,
            };
            named("pl-consume", move || {
                let result = lp.run();
                drop(ended_tx);
                result
            })?
        };
        tokio::select! {
            _ = shutdown => {}
            _ = ended_rx => {}
        }
        stop.store(true, Ordering::Relaxed);
        tokio::task::spawn_blocking(move || {
            join_in_order(consume_thread, decoders, sink_thread, closing)
        })
        .await
        .map_err(|_| PipelineError::Panicked("ingest"))?
    }
}

/// A producer for the dead-letter topics, if any topic has one.
fn dead_letter_producer(
    cfg: &PipelineConfig,
    dlq: &HashMap<String, String>,
) -> Result<Option<ThreadedProducer<DefaultProducerContext>>, PipelineError> {
    if dlq.is_empty() {
        return Ok(None);
    }
    let client = kafka::client_config(cfg).map_err(kafka::KafkaSourceError::Option)?;
    Ok(Some(client.create()?))
}

/// Waits for the stages in flow order — the consumer (which hands on what it holds), the decoders,
/// the sink (which commits) — and closes the consumer last, once nothing waits on a revocation.
fn join_in_order(
    consume: std::thread::JoinHandle<Result<(), Stopped>>,
    decoders: Vec<std::thread::JoinHandle<()>>,
    sink: std::thread::JoinHandle<Result<KafkaSummary, PipelineError>>,
    consumer: Arc<BaseConsumer<LakeContext>>,
) -> Result<KafkaSummary, PipelineError> {
    let consumed = consume.join();
    for d in decoders {
        let _ = d.join();
    }
    let summary = sink.join();
    drop(consumer);
    consumed.map_err(|_| PipelineError::Panicked("consumer"))??;
    summary.map_err(|_| PipelineError::Panicked("sink"))?
}

/// Which topic feeds which table, and where its rejected records go besides `_rejected`.
struct Routes {
    /// The tables, sorted (sink `i` writes `tables[i]`).
    tables: Vec<String>,
    /// topic → index in `tables`.
    table_of_topic: HashMap<String, usize>,
    /// topic → dead-letter topic.
    dlq: HashMap<String, String>,
}

impl Routes {
    fn of(cfg: &PipelineConfig) -> Routes {
        let mut tables: Vec<String> = cfg.topics.iter().map(|t| t.table.clone()).collect();
        tables.sort();
        tables.dedup();
        let table_of_topic = cfg
            .topics
            .iter()
            .map(|t| {
                let i = tables.iter().position(|x| *x == t.table).unwrap_or(0);
                (t.topic.clone(), i)
            })
            .collect();
        let dlq = cfg
            .topics
            .iter()
            .filter_map(|t| t.dead_letter_topic.clone().map(|d| (t.topic.clone(), d)))
            .collect();
        Routes {
            tables,
            table_of_topic,
            dlq,
        }
    }
}

/// One sink per table, each recovered from any interrupted earlier write.
fn open_sinks(
    lake: &Path,
    schemas: &[Arc<crate::schema::TableSchema>],
    budget: usize,
) -> Result<Vec<TableSink>, PipelineError> {
    schemas
        .iter()
        .map(|s| {
            TableSink::open(lake, s.clone(), budget).map_err(|source| PipelineError::Open {
                table: s.name.clone(),
                lake: lake.to_path_buf(),
                source,
            })
        })
        .collect()
}

/// The lake's next position of Kafka partitions, from the commit logs of the tables their topics
/// feed (read afresh at every assignment: another writer may have committed since).
fn lake_positions(lake: &Path, cfg: &PipelineConfig) -> kafka::NextPositions {
    let lake = lake.to_path_buf();
    let tables: HashMap<String, String> = cfg
        .topics
        .iter()
        .map(|t| (t.topic.clone(), t.table.clone()))
        .collect();
    Box::new(move |partitions| {
        let mut logs: HashMap<&str, Option<TableLog>> = HashMap::new();
        let mut out = HashMap::new();
        for (topic, partition) in partitions {
            let Some(table) = tables.get(topic) else {
                continue;
            };
            let log = logs.entry(table.as_str()).or_insert_with(|| {
                TableLog::open(&lake, table)
                    .map_err(|err| {
                        tracing::error!(table, error = %err, "Cannot read the commit log at assignment.");
                    })
                    .ok()
            });
            let next = log
                .as_ref()
                .and_then(|l| l.coverage(&source_key(topic), Some(*partition)))
                .and_then(|c| c.ranges().last().map(|&(_, last)| last + 1));
            out.insert((topic.clone(), *partition), next);
        }
        out
    })
}

/// Spawns a named thread (names show in `top -H`, `perf` and panics).
fn named<T: Send + 'static>(
    name: &'static str,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<std::thread::JoinHandle<T>, PipelineError> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .map_err(|source| PipelineError::Thread { name, source })
}

/// The records read from one partition and not yet handed to a decoder.
struct PartitionBuilder {
    topic: Arc<str>,
    partition: i32,
    table: usize,
    /// Generation the partition is assigned under; `None` when it is not assigned (its records
    /// are skipped).
    generation: Option<u64>,
    /// The offset the next chunk starts at: the assignment's (or re-seek's) start, then one past
    /// the last record read. Chunks of a partition thus cover its offsets without a gap
    /// (transaction markers and compacted-away offsets included), which is what lets the commit
    /// log refuse a claim that does not continue the lake's positions. `None` until the first
    /// record when reading starts at the topic's beginning or end.
    next: Option<i64>,
    /// A re-seek of this partition failed and is retried: its records are skipped meanwhile
    /// (they do not start at the position its chunks must claim from).
    seek_pending: Option<i64>,
    /// Whether skipping records below `next` was logged.
    warned_below: bool,
    chunk: RawChunk,
    /// When the first record of `chunk` arrived.
    since: Instant,
    /// Last offset read (for `--exit-at-end`).
    read_up_to: Option<i64>,
}

/// The consumer thread: polls Kafka, cuts per-partition chunks, hands them to the decoders.
struct ConsumeLoop {
    consumer: Arc<BaseConsumer<LakeContext>>,
    assignments: Arc<Mutex<Assignments>>,
    epoch: Arc<AtomicU64>,
    seen_epoch: u64,
    table_of_topic: HashMap<String, usize>,
    raw: std::sync::mpsc::SyncSender<Work<RawChunk>>,
    reseek: std::sync::mpsc::Receiver<Reseek>,
    stop: Arc<AtomicBool>,
    exit_at_end: bool,
    /// `kafka.start_from = "latest"`: a partition the lake holds nothing of starts at its end.
    start_at_end: bool,
    limits: ChunkLimits,
    builders: Vec<PartitionBuilder>,
    /// Index of the builder the previous message went to (messages come in runs per partition).
    last: usize,
    seq: u64,
}

impl ConsumeLoop {
    fn run(mut self) -> Result<(), Stopped> {
        let mut error_logged = false;
        let mut last_tick = Instant::now();
        let mut last_end_check = Instant::now();
        // --exit-at-end: per partition, the high watermark at start (or when first seen).
        let mut ends: HashMap<(String, i32), (i64, i64)> = HashMap::new();
        if self.exit_at_end {
            self.ends_at_start(&mut ends);
        }
        let mut polls = 0u32;
        let consumer = self.consumer.clone();
        // While messages flow, poll without waiting: a zero timeout spares librdkafka its clock
        // reads (several per message otherwise). Once the queue is empty, wait up to 50 ms.
        const IDLE_WAIT: Duration = Duration::from_millis(50);
        let mut wait = IDLE_WAIT;
        while !self.stop.load(Ordering::Relaxed) {
            while let Ok(r) = self.reseek.try_recv() {
                self.reseek_to(r);
            }
            match consumer.poll(wait) {
                Some(Ok(m)) => {
                    error_logged = false;
                    wait = Duration::ZERO;
                    consumer.context().outage.ended();
                    self.accept(&m)?;
                }
                None if wait.is_zero() => {
                    wait = IDLE_WAIT;
                    continue;
                }
                Some(Err(e)) => {
                    if consumer.context().outage.active() {
                        // summarised when the broker is back
                    } else if !error_logged {
                        tracing::warn!(error = %e, "Kafka consumer error; retrying.");
                        error_logged = true;
                    }
                }
                None => polls = u32::MAX, // idle: look at the clock now
            }
            polls = polls.saturating_add(1);
            if polls < 1024 {
                continue;
            }
            polls = 0;
            if last_tick.elapsed() < Duration::from_millis(50) {
                continue;
            }
            last_tick = Instant::now();
            self.refresh_generations();
            self.retry_seeks();
            if self.exit_at_end && last_end_check.elapsed() >= Duration::from_millis(500) {
                last_end_check = Instant::now();
                if self.caught_up(&mut ends) {
                    tracing::info!("Every assigned partition is read up to its end; stopping.");
                    break;
                }
            }
            for i in 0..self.builders.len() {
                let b = &self.builders[i];
                if !b.chunk.records.is_empty() && b.since.elapsed() >= LINGER {
                    self.hand_on(i)?;
                }
            }
        }
        tracing::info!("Shutting down: flushing buffered records.");
        self.refresh_generations();
        for i in 0..self.builders.len() {
            if !self.builders[i].chunk.records.is_empty() {
                self.hand_on(i)?;
            }
        }
        Ok(())
    }

    /// Files one message into its partition's chunk.
    fn accept(&mut self, m: &BorrowedMessage<'_>) -> Result<(), Stopped> {
        if self.epoch.load(Ordering::Acquire) != self.seen_epoch {
            self.refresh_generations();
        }
        let (topic, partition, offset) = (m.topic(), m.partition(), m.offset());
        let i = match self.builders.get(self.last) {
            Some(b) if b.partition == partition && &*b.topic == topic => self.last,
            _ => match self
                .builders
                .iter()
                .position(|b| b.partition == partition && &*b.topic == topic)
            {
                Some(i) => i,
                None => {
                    let Some(&table) = self.table_of_topic.get(topic) else {
                        return Ok(());
                    };
                    let assigned = self
                        .assignments
                        .lock()
                        .ok()
                        .and_then(|a| a.get(topic, partition));
                    self.builders.push(PartitionBuilder {
                        topic: Arc::from(topic),
                        partition,
                        table,
                        generation: assigned.map(|a| a.generation),
                        next: assigned.and_then(|a| a.start),
                        seek_pending: None,
                        warned_below: false,
                        chunk: RawChunk::new(
                            Arc::from(source_key(topic).as_str()),
                            Some(partition),
                            offset,
                        ),
                        since: Instant::now(),
                        read_up_to: None,
                    });
                    self.builders.len() - 1
                }
            },
        };
        self.last = i;
        let b = &mut self.builders[i];
        b.read_up_to = Some(offset);
        if b.generation.is_none() || b.seek_pending.is_some() {
            return Ok(());
        }
        if let Some(next) = b.next.filter(|&n| offset < n) {
            // Below the lake's position: the topic was re-created or truncated under the lake
            // (auto.offset.reset took the consumer back). Never claimed twice; said once.
            if !b.warned_below {
                b.warned_below = true;
                tracing::warn!(
                    topic,
                    partition,
                    offset,
                    next,
                    "Records below the lake's position are skipped (was the topic re-created?)."
                );
            }
            return Ok(());
        }
        if b.chunk.records.is_empty() {
            b.chunk.first_index = b.next.unwrap_or(offset);
            b.chunk.last_index = b.chunk.first_index - 1;
            b.since = Instant::now();
        }
        b.chunk.push(
            offset,
            m.payload().unwrap_or_default(),
            self.limits.max_record_bytes,
        );
        b.next = Some(offset + 1);
        if b.chunk.is_full(&self.limits) {
            self.hand_on(i)?;
        }
        Ok(())
    }

    /// Sends builder `i`'s chunk to the decoders (blocking while they are busy: backpressure).
    fn hand_on(&mut self, i: usize) -> Result<(), Stopped> {
        let b = &mut self.builders[i];
        let Some(generation) = b.generation else {
            return Ok(());
        };
        let next = RawChunk::new(
            b.chunk.source.clone(),
            Some(b.partition),
            b.chunk.last_index + 1,
        );
        let chunk = std::mem::replace(&mut b.chunk, next);
        let work = Work {
            seq: self.seq,
            table: b.table,
            meta: Origin {
                topic: b.topic.clone(),
                generation,
            },
            item: chunk,
        };
        self.raw.send(work).map_err(|_| Stopped)?;
        self.seq += 1;
        Ok(())
    }

    /// Re-reads every partition's generation after a rebalance or a reseek; records buffered
    /// under an older generation are dropped (the partition restarts from the lake's position).
    fn refresh_generations(&mut self) {
        let now = self.epoch.load(Ordering::Acquire);
        if now == self.seen_epoch {
            return;
        }
        self.seen_epoch = now;
        let Ok(a) = self.assignments.lock() else {
            return;
        };
        for b in &mut self.builders {
            let assigned = a.get(&b.topic, b.partition);
            let g = assigned.map(|a| a.generation);
            if g != b.generation {
                b.generation = g;
                b.next = assigned.and_then(|a| a.start);
                b.seek_pending = None;
                b.chunk.data.clear();
                b.chunk.records.clear();
                b.read_up_to = None;
            }
        }
    }

    /// The sink dropped a partition's data (another writer committed some of its positions
    /// first): reads the partition again from the lake's position under a new generation, unless
    /// it was revoked or reassigned since (a new assignment starts from the lake's position by
    /// itself; a revoked partition is never taken back).
    fn reseek_to(&mut self, r: Reseek) {
        let Reseek {
            topic,
            partition,
            offset,
            generation,
        } = r;
        let g = self.assignments.lock().ok().and_then(|mut a| {
            if a.generation(&topic, partition) == Some(generation) {
                a.reassign(&topic, partition, offset)
            } else {
                None
            }
        });
        let Some(g) = g else {
            tracing::debug!(
                topic,
                partition,
                "Not re-seeking: the partition was revoked or reassigned meanwhile."
            );
            return;
        };
        self.refresh_generations();
        tracing::info!(
            topic,
            partition,
            offset,
            generation = g,
            "Re-seeking to the lake's position."
        );
        self.seek(&topic, partition, offset);
    }

    /// Seeks a partition; on failure its records are skipped until a retry succeeds (they would
    /// not start at the position its chunks claim from).
    fn seek(&mut self, topic: &str, partition: i32, offset: i64) {
        let result = self.consumer.seek(
            topic,
            partition,
            Offset::Offset(offset),
            Duration::from_secs(10),
        );
        let Some(b) = self
            .builders
            .iter_mut()
            .find(|b| b.partition == partition && &*b.topic == topic)
        else {
            return;
        };
        match result {
            Ok(()) => b.seek_pending = None,
            Err(e) => {
                if b.seek_pending.is_none() {
                    tracing::warn!(topic, partition, offset, error = %e, "Seek failed; retrying (the partition's records are skipped until it succeeds).");
                }
                b.seek_pending = Some(offset);
            }
        }
    }

    /// Retries failed seeks of partitions still assigned.
    fn retry_seeks(&mut self) {
        let pending: Vec<(Arc<str>, i32, i64)> = self
            .builders
            .iter()
            .filter(|b| b.generation.is_some())
            .filter_map(|b| b.seek_pending.map(|o| (b.topic.clone(), b.partition, o)))
            .collect();
        for (topic, partition, offset) in pending {
            self.seek(&topic, partition, offset);
        }
    }

    /// The high watermark of every partition of the subscribed topics, asked before the first
    /// poll: later, each such request waits behind the consumer's long-polling fetches on the
    /// same broker connection (up to `fetch.wait.max.ms` per partition; seconds at the end of a
    /// backfill). Partitions it misses are asked when first seen; the first failure (a broker
    /// not answering within a second) ends the prefetch.
    fn ends_at_start(&self, ends: &mut HashMap<(String, i32), (i64, i64)>) {
        for topic in self.table_of_topic.keys() {
            let Ok(meta) = self
                .consumer
                .fetch_metadata(Some(topic), Duration::from_secs(1))
            else {
                return;
            };
            for t in meta.topics().iter().filter(|t| t.name() == topic) {
                for p in t.partitions() {
                    match self
                        .consumer
                        .fetch_watermarks(topic, p.id(), Duration::from_secs(1))
                    {
                        Ok(w) => {
                            ends.insert((topic.clone(), p.id()), w);
                        }
                        Err(_) => return,
                    }
                }
            }
        }
    }

    /// Whether every assigned partition has been read up to its end (its high watermark at start,
    /// or when first seen) and nothing is waiting in a chunk builder. A partition nothing was
    /// read from is at its assignment's start: the lake's position, or, for a partition the lake
    /// holds nothing of, the topic's beginning (its low watermark) or end (`start_from =
    /// "latest"`: nothing to read).
    fn caught_up(&self, ends: &mut HashMap<(String, i32), (i64, i64)>) -> bool {
        let assigned: Vec<((String, i32), Assigned)> = match self.assignments.lock() {
            Ok(a) => a
                .partitions()
                .into_iter()
                .filter_map(|(t, p)| a.get(&t, p).map(|x| ((t, p), x)))
                .collect(),
            Err(_) => return false,
        };
        if assigned.is_empty() || self.builders.iter().any(|b| !b.chunk.records.is_empty()) {
            return false;
        }
        for ((topic, partition), assignment) in assigned {
            let key = (topic.clone(), partition);
            let (low, end) = match ends.get(&key) {
                Some(e) => *e,
                None => {
                    match self
                        .consumer
                        .fetch_watermarks(&topic, partition, Duration::from_secs(5))
                    {
                        Ok(w) => *ends.entry(key.clone()).or_insert(w),
                        Err(_) => return false,
                    }
                }
            };
            let builder = self
                .builders
                .iter()
                .find(|b| b.partition == partition && *b.topic == *topic);
            if builder.is_some_and(|b| b.seek_pending.is_some()) {
                return false;
            }
            let read = builder.and_then(|b| b.read_up_to).map(|o| o + 1);
            let at = match (read, assignment.start) {
                (Some(r), _) => r,
                (None, Some(start)) => start,
                (None, None) if self.start_at_end => continue,
                (None, None) => low,
            };
            if at < end {
                return false;
            }
        }
        true
    }
}

struct SinkLoop {
    sinks: Vec<TableSink>,
    tables: Vec<String>,
    assignments: Arc<Mutex<Assignments>>,
    commit_lock: Arc<Mutex<()>>,
    consumer: Arc<BaseConsumer<LakeContext>>,
    producer: Option<ThreadedProducer<DefaultProducerContext>>,
    dlq: HashMap<String, String>,
    metrics: Metrics,
    observers: Vec<Arc<dyn BatchObserver>>,
    reseek: std::sync::mpsc::Sender<Reseek>,
    flush: crate::config::FlushConfig,
    budget: usize,
    /// Generation of the data buffered per (topic, partition).
    buffered_generation: HashMap<(Arc<str>, i32), u64>,
    /// Per (topic, partition), a generation whose data was dropped (another writer committed
    /// some of its positions first, or the group fenced this member): its chunks still on their
    /// way are stale too, until the consumer re-seeks or the partition is reassigned.
    dropped_generation: HashMap<(Arc<str>, i32), u64>,
    summary: KafkaSummary,
    /// Checkpoint requests from the rebalance callback (before a revocation).
    flush_requests: std::sync::mpsc::Receiver<std::sync::mpsc::SyncSender<()>>,
}

impl SinkLoop {
    fn run(
        mut self,
        rx: std::sync::mpsc::Receiver<Work<DecodedChunk>>,
    ) -> Result<KafkaSummary, PipelineError> {
        let mut order = InOrder::default();
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(w) => order.insert(w.seq, w),
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            }
            while let Some(w) = order.pop() {
                self.accept(w);
            }
            let mut asked = Vec::new();
            while let Ok(done) = self.flush_requests.try_recv() {
                asked.push(done);
            }
            self.maybe_checkpoint(!asked.is_empty())?;
            for done in asked {
                let _ = done.send(());
            }
        }
        for w in order.rest() {
            self.accept(w);
        }
        self.maybe_checkpoint(true)?;
        Ok(self.summary)
    }

    fn current_generation(&self, topic: &str, partition: i32) -> Option<u64> {
        self.assignments
            .lock()
            .ok()
            .and_then(|a| a.generation(topic, partition))
    }

    fn accept(&mut self, w: Work<DecodedChunk>) {
        let Some(partition) = w.item.partition else {
            return;
        };
        let key = (w.meta.topic.clone(), partition);
        if self.current_generation(&w.meta.topic, partition) != Some(w.meta.generation)
            || self.dropped_generation.get(&key) == Some(&w.meta.generation)
        {
            self.summary.dropped_stale += w.item.records as u64;
            return;
        }
        if let Some(old) = self.buffered_generation.insert(key, w.meta.generation) {
            if old != w.meta.generation {
                self.sinks[w.table].discard(&w.item.source, Some(partition));
            }
        }
        let table = &self.tables[w.table];
        self.metrics
            .consumed(table, w.item.records as u64, w.item.bytes as u64);
        self.summary.consumed += w.item.records as u64;
        if let Some(batch) = &w.item.batch {
            for o in &self.observers {
                let offsets = (w.item.first_index, w.item.last_index);
                o.observe_partition(table, &w.meta.topic, partition, offsets, batch);
            }
        }
        if let (Some(producer), Some(dlq)) = (&self.producer, self.dlq.get(&*w.meta.topic)) {
            for r in &w.item.rejected {
                let offset = r.position.to_string();
                let part = partition.to_string();
                let headers = OwnedHeaders::new()
                    .insert(Header {
                        key: "postlaunch.reason",
                        value: Some(r.reason.as_str()),
                    })
                    .insert(Header {
                        key: "postlaunch.topic",
                        value: Some(&*w.meta.topic),
                    })
                    .insert(Header {
                        key: "postlaunch.partition",
                        value: Some(part.as_str()),
                    })
                    .insert(Header {
                        key: "postlaunch.offset",
                        value: Some(offset.as_str()),
                    });
                let record = BaseRecord::<(), [u8]>::to(dlq)
                    .payload(&r.payload[..])
                    .headers(headers);
                if let Err((e, _)) = producer.send(record) {
                    tracing::warn!(topic = %dlq, error = %e, "Could not queue a dead-letter record (it is in _rejected).");
                }
            }
        }
        self.sinks[w.table].add(w.item);
    }

    fn maybe_checkpoint(&mut self, force: bool) -> Result<(), PipelineError> {
        let total: usize = self.sinks.iter().map(TableSink::buffered_bytes).sum();
        for i in 0..self.sinks.len() {
            let s = &self.sinks[i];
            let due = force
                || total >= self.budget
                || s.buffered_rows() >= self.flush.max_rows
                || s.buffered_bytes() >= self.flush.max_bytes
                || s.oldest().is_some_and(|age| age >= self.flush.max_age);
            if due && !s.buffered_partitions().is_empty() {
                self.checkpoint(i)?;
            }
        }
        Ok(())
    }

    fn checkpoint(&mut self, i: usize) -> Result<(), PipelineError> {
        let started = Instant::now();
        let lock = self.commit_lock.clone();
        let _guard = lock.lock().unwrap_or_else(|p| p.into_inner());
        // Data of partitions revoked (or re-sought) since it was read must not be committed.
        for (source, partition) in self.sinks[i].buffered_partitions() {
            let Some(p) = partition else { continue };
            let topic = topic_of(&source);
            let current = self.current_generation(&topic, p);
            let buffered = self
                .buffered_generation
                .get(&(Arc::from(topic.as_str()), p))
                .copied();
            if current.is_none() || current != buffered {
                self.sinks[i].discard(&source, partition);
            }
        }
        self.fence(i);
        let cp = self.sinks[i]
            .checkpoint()
            .map_err(|source| PipelineError::Commit {
                table: self.tables[i].clone(),
                source,
            })?;
        drop(_guard);
        if let Some(p) = &self.producer {
            let _ = p.flush(Duration::from_secs(10));
        }
        if cp.version.is_some() {
            let rejected_now: u64 = self.sinks.iter().map(|s| s.stats().rejected).sum();
            let new_rejected = rejected_now - self.summary.rejected.min(rejected_now);
            self.summary.commits += 1;
            self.summary.stored += cp.rows;
            self.summary.rejected = rejected_now;
            self.metrics.committed(
                &self.tables[i],
                cp.rows,
                new_rejected,
                cp.files,
                started.elapsed().as_secs_f64(),
            );
            let mut tpl = TopicPartitionList::new();
            for r in &cp.committed {
                if let (Some(p), Some(topic)) = (r.partition, r.source.strip_prefix("kafka:")) {
                    let _ = tpl.add_partition_offset(topic, p, Offset::Offset(r.last + 1));
                }
            }
            if tpl.count() > 0 {
                if let Err(e) = self.consumer.commit(&tpl, CommitMode::Async) {
                    tracing::debug!(error = %e, "Committing group offsets failed (the lake is the source of truth).");
                }
            }
        }
        for (source, partition) in cp.discarded {
            let Some(p) = partition else { continue };
            let topic = topic_of(&source);
            let key = (Arc::from(topic.as_str()), p);
            let Some(generation) = self.buffered_generation.remove(&key) else {
                continue;
            };
            self.dropped_generation.insert(key, generation);
            if let Some(offset) = self.sinks[i].next_position(&source, partition) {
                let _ = self.reseek.send(Reseek {
                    topic,
                    partition: p,
                    offset,
                    generation,
                });
            }
        }
        Ok(())
    }

    /// Kafka's zombie fencing, before a lake commit: re-commits the lake's position of every
    /// partition this table buffers, synchronously, as this group member. The group coordinator
    /// accepts it only from a current member of the current generation; a member that was
    /// fenced (its session expired while the process was frozen, say) gets `UNKNOWN_MEMBER_ID`,
    /// `ILLEGAL_GENERATION` or `FENCED_INSTANCE_ID` and drops what it buffered, without
    /// committing it: those partitions are someone else's now. The re-committed offset is what
    /// the lake already holds, so group offsets never run ahead of the lake.
    ///
    /// This stops a zombie before it writes; what makes a duplicate impossible is the commit
    /// log's own check ([`crate::lake::log::TableLog::commit`]), which holds even when a writer
    /// freezes between this fence and its lake commit. When the coordinator cannot be asked (a
    /// broker outage), the lake's check alone decides.
    fn fence(&mut self, i: usize) {
        let mut tpl = TopicPartitionList::new();
        let mut keys = Vec::new();
        for (source, first) in self.sinks[i].buffered_starts() {
            let (Some(p), Some(topic)) = (source.1, source.0.strip_prefix("kafka:")) else {
                continue;
            };
            let _ = tpl.add_partition_offset(topic, p, Offset::Offset(first));
            keys.push((source, first));
        }
        if keys.is_empty() {
            return;
        }
        let Err(e) = self.consumer.commit(&tpl, CommitMode::Sync) else {
            return;
        };
        let fenced = matches!(
            e.rdkafka_error_code(),
            Some(
                RDKafkaErrorCode::UnknownMemberId
                    | RDKafkaErrorCode::IllegalGeneration
                    | RDKafkaErrorCode::FencedInstanceId
                    | RDKafkaErrorCode::RebalanceInProgress
                    | RDKafkaErrorCode::AssignmentLost
                    | RDKafkaErrorCode::StaleMemberEpoch
            )
        );
        if !fenced {
            tracing::debug!(error = %e, "Could not confirm group membership before the lake commit; the commit log's check decides.");
            return;
        }
        for ((source, partition), first) in keys {
            let Some(p) = partition else { continue };
            let topic = topic_of(&source);
            let key = (Arc::from(topic.as_str()), p);
            tracing::warn!(table = %self.tables[i], %source, partition = p, error = %e, "This member was fenced out of the consumer group; dropping its buffered records (the partition's new owner reads them from the lake's position).");
            self.sinks[i].discard(&source, partition);
            let Some(generation) = self.buffered_generation.remove(&key) else {
                continue;
            };
            self.dropped_generation.insert(key, generation);
            // Should the member keep the partition after all (no rebalance follows), it reads
            // it again from where the dropped data started.
            let _ = self.reseek.send(Reseek {
                topic,
                partition: p,
                offset: first,
                generation,
            });
        }
    }
}

/// The topic of a Kafka source key (`kafka:<topic>`).
fn topic_of(source: &str) -> String {
    source.strip_prefix("kafka:").unwrap_or(source).to_string()
}
