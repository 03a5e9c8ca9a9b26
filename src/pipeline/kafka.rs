//! `postlaunch ingest --pipeline FILE`: Kafka topics into lake tables, exactly once.
//!
//! ```text
//! consumer task ──(topic, partition, generation, RawChunk)──▶ decoder threads
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

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{Header, Message, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{Offset, TopicPartitionList};

use super::observe::BatchObserver;
use crate::batch::{DecodedChunk, Decoder};
use crate::config::PipelineConfig;
use crate::lake::sink::TableSink;
use crate::metrics::Metrics;
use crate::schema::Catalog;
use crate::source::file::ChunkLimits;
use crate::source::kafka::{self, source_key, Assignments, LakeContext};
use crate::source::RawChunk;

/// A chunk on its way: sequence number, table index, topic, generation.
struct Work<T> {
    seq: u64,
    table: usize,
    topic: Arc<str>,
    generation: u64,
    item: T,
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
    ) -> anyhow::Result<KafkaSummary> {
        let tables: Vec<String> = {
            let mut t: Vec<String> = self.cfg.topics.iter().map(|t| t.table.clone()).collect();
            t.sort();
            t.dedup();
            t
        };
        let table_of_topic: HashMap<String, usize> = self
            .cfg
            .topics
            .iter()
            .map(|t| {
                (
                    t.topic.clone(),
                    tables.iter().position(|x| *x == t.table).unwrap_or(0),
                )
            })
            .collect();
        let dlq: HashMap<String, String> = self
            .cfg
            .topics
            .iter()
            .filter_map(|t| t.dead_letter_topic.clone().map(|d| (t.topic.clone(), d)))
            .collect();
        let schemas = tables
            .iter()
            .map(|t| self.catalog.get(t).cloned())
            .collect::<Result<Vec<_>, _>>()?;
        let mut sinks = Vec::new();
        for s in &schemas {
            sinks.push(TableSink::open(
                &self.lake,
                s.clone(),
                self.cfg.memory_budget,
            )?);
        }

        let assignments = Arc::new(Mutex::new(Assignments::default()));
        let commit_lock = Arc::new(Mutex::new(()));
        let (flush_tx, flush_rx) = std::sync::mpsc::channel::<std::sync::mpsc::SyncSender<()>>();
        let consumer = Arc::new(kafka::consumer(
            &self.cfg,
            &self.lake,
            assignments.clone(),
            commit_lock.clone(),
            self.metrics.clone(),
            flush_tx,
        )?);
        let producer: Option<ThreadedProducer<DefaultProducerContext>> = if dlq.is_empty() {
            None
        } else {
            Some(
                kafka::client_config(&self.cfg)
                    .map_err(anyhow::Error::msg)?
                    .create()?,
            )
        };

        let workers = self.workers.max(1);
        let (raw_tx, raw_rx) = tokio::sync::mpsc::channel::<Work<RawChunk>>(workers * 2);
        let raw_rx = Arc::new(Mutex::new(raw_rx));
        let (dec_tx, dec_rx) = std::sync::mpsc::sync_channel::<Work<DecodedChunk>>(workers * 2);
        let (reseek_tx, mut reseek_rx) =
            tokio::sync::mpsc::unbounded_channel::<(String, i32, i64)>();

        let mut decoders = Vec::new();
        for _ in 0..workers {
            let rx = raw_rx.clone();
            let tx = dec_tx.clone();
            let mut per_table: Vec<Decoder> =
                schemas.iter().map(|s| Decoder::new(s.clone())).collect();
            decoders.push(std::thread::spawn(move || loop {
                let next = rx.lock().ok().and_then(|mut r| r.blocking_recv());
                let Some(w) = next else { break };
                let now = chrono::Utc::now().timestamp_micros();
                let item = per_table[w.table].decode(&w.item, now);
                let out = Work {
                    seq: w.seq,
                    table: w.table,
                    topic: w.topic,
                    generation: w.generation,
                    item,
                };
                if tx.send(out).is_err() {
                    break;
                }
            }));
        }
        drop(dec_tx);

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
                summary: KafkaSummary::default(),
                flush_requests: flush_rx,
            };
            std::thread::spawn(move || state.run(dec_rx))
        };

        // The consumer loop.
        let limits = ChunkLimits::default();
        let mut builders: HashMap<(Arc<str>, i32), (RawChunk, u64, Instant)> = HashMap::new();
        let mut topics: HashMap<String, Arc<str>> = HashMap::new();
        let mut seq = 0u64;
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        tokio::pin!(shutdown);
        let mut stream_error_logged = false;
        // --exit-at-end: per partition, the high watermark when first seen and the last offset read
        let mut ends: HashMap<(String, i32), i64> = HashMap::new();
        let mut read_up_to: HashMap<(String, i32), i64> = HashMap::new();
        let mut last_end_check = Instant::now();
        let send = |w: Work<RawChunk>| {
            let tx = raw_tx.clone();
            async move {
                tx.send(w)
                    .await
                    .map_err(|_| anyhow::anyhow!("the decoders stopped"))
            }
        };
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                Some((topic, partition, offset)) = reseek_rx.recv() => {
                    let topic_arc = topics.entry(topic.clone()).or_insert_with(|| Arc::from(topic.as_str())).clone();
                    builders.remove(&(topic_arc, partition));
                    let g = assignments.lock().map(|mut a| a.bump(&topic, partition)).unwrap_or_default();
                    tracing::info!(topic, partition, offset, generation = g, "Re-seeking to the lake's position.");
                    if let Err(e) = consumer.seek(&topic, partition, Offset::Offset(offset), Duration::from_secs(10)) {
                        tracing::error!(topic, partition, error = %e, "Seek failed.");
                    }
                }
                msg = consumer.recv() => {
                    let m = match msg {
                        Ok(m) => { stream_error_logged = false; m }
                        Err(e) => {
                            if !stream_error_logged {
                                tracing::warn!(error = %e, "Kafka consumer error; retrying.");
                                stream_error_logged = true;
                            }
                            continue;
                        }
                    };
                    let topic = topics.entry(m.topic().to_string()).or_insert_with(|| Arc::from(m.topic())).clone();
                    let partition = m.partition();
                    let offset = m.offset();
                    if self.exit_at_end {
                        read_up_to.insert((topic.to_string(), partition), offset);
                    }
                    let Some(generation) = assignments.lock().ok().and_then(|a| a.generation(&topic, partition)) else { continue };
                    let Some(&table) = table_of_topic.get(&*topic) else { continue };
                    let key = (topic.clone(), partition);
                    let entry = builders.entry(key.clone()).or_insert_with(|| {
                        (RawChunk::new(Arc::from(source_key(&topic).as_str()), Some(partition), offset), generation, Instant::now())
                    });
                    if entry.1 != generation {
                        *entry = (RawChunk::new(Arc::from(source_key(&topic).as_str()), Some(partition), offset), generation, Instant::now());
                    }
                    if entry.0.records.is_empty() {
                        entry.0.first_index = offset;
                        entry.2 = Instant::now();
                    }
                    entry.0.push(offset, m.payload().unwrap_or_default(), limits.max_record_bytes);
                    if entry.0.data.len() >= limits.chunk_bytes || entry.0.records.len() >= limits.chunk_records {
                        if let Some((chunk, generation, _)) = builders.remove(&key) {
                            send(Work { seq, table, topic, generation, item: chunk }).await?;
                            seq += 1;
                        }
                    }
                }
                _ = tick.tick() => {
                    if self.exit_at_end && last_end_check.elapsed() >= Duration::from_millis(500) {
                        last_end_check = Instant::now();
                        if self.caught_up(&consumer, &assignments, &mut ends, &read_up_to, &builders) {
                            tracing::info!("Every assigned partition is read up to its end; stopping.");
                            break;
                        }
                    }
                    let due: Vec<_> = builders.iter().filter(|(_, b)| !b.0.records.is_empty() && b.2.elapsed() >= LINGER).map(|(k, _)| k.clone()).collect();
                    for key in due {
                        if let Some((chunk, generation, _)) = builders.remove(&key) {
                            let table = table_of_topic.get(&*key.0).copied().unwrap_or(0);
                            send(Work { seq, table, topic: key.0.clone(), generation, item: chunk }).await?;
                            seq += 1;
                        }
                    }
                }
            }
        }
        tracing::info!("Shutting down: flushing buffered records.");
        for ((topic, _), (chunk, generation, _)) in builders.drain() {
            if chunk.records.is_empty() {
                continue;
            }
            let table = table_of_topic.get(&*topic).copied().unwrap_or(0);
            send(Work {
                seq,
                table,
                topic,
                generation,
                item: chunk,
            })
            .await?;
            seq += 1;
        }
        drop(raw_tx);
        let summary = tokio::task::spawn_blocking(move || {
            for d in decoders {
                let _ = d.join();
            }
            sink_thread.join()
        })
        .await
        .context("joining the sink thread")?
        .map_err(|_| anyhow::anyhow!("the sink thread panicked"))??;
        Ok(summary)
    }
}

impl KafkaIngest {
    /// Whether every assigned partition has been read up to its end (the high watermark when it
    /// was first seen) and nothing is waiting in a chunk builder.
    fn caught_up(
        &self,
        consumer: &StreamConsumer<LakeContext>,
        assignments: &Mutex<Assignments>,
        ends: &mut HashMap<(String, i32), i64>,
        read_up_to: &HashMap<(String, i32), i64>,
        builders: &HashMap<(Arc<str>, i32), (RawChunk, u64, Instant)>,
    ) -> bool {
        let assigned = assignments
            .lock()
            .map(|a| a.partitions())
            .unwrap_or_default();
        if assigned.is_empty() || builders.values().any(|b| !b.0.records.is_empty()) {
            return false;
        }
        for (topic, partition) in assigned {
            let key = (topic.clone(), partition);
            let end = match ends.get(&key) {
                Some(e) => *e,
                None => {
                    match consumer.fetch_watermarks(&topic, partition, Duration::from_secs(5)) {
                        Ok((_, high)) => *ends.entry(key.clone()).or_insert(high),
                        Err(_) => return false,
                    }
                }
            };
            if end == 0 {
                continue; // empty partition
            }
            let position = consumer
                .position()
                .ok()
                .and_then(|tpl| tpl.find_partition(&topic, partition).map(|e| e.offset()));
            let read = read_up_to.get(&key).map(|o| o + 1);
            let at = match (read, position) {
                (Some(r), _) => r,
                (None, Some(Offset::Offset(o))) => o,
                _ => return false,
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
    consumer: Arc<StreamConsumer<LakeContext>>,
    producer: Option<ThreadedProducer<DefaultProducerContext>>,
    dlq: HashMap<String, String>,
    metrics: Metrics,
    observers: Vec<Arc<dyn BatchObserver>>,
    reseek: tokio::sync::mpsc::UnboundedSender<(String, i32, i64)>,
    flush: crate::config::FlushConfig,
    budget: usize,
    /// Generation of the data buffered per (topic, partition).
    buffered_generation: HashMap<(Arc<str>, i32), u64>,
    summary: KafkaSummary,
    /// Checkpoint requests from the rebalance callback (before a revocation).
    flush_requests: std::sync::mpsc::Receiver<std::sync::mpsc::SyncSender<()>>,
}

impl SinkLoop {
    fn run(
        mut self,
        rx: std::sync::mpsc::Receiver<Work<DecodedChunk>>,
    ) -> anyhow::Result<KafkaSummary> {
        let mut next = 0u64;
        let mut waiting: BTreeMap<u64, Work<DecodedChunk>> = BTreeMap::new();
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(w) => {
                    waiting.insert(w.seq, w);
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            }
            while let Some(w) = waiting.remove(&next) {
                next += 1;
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
        for (_, w) in std::mem::take(&mut waiting) {
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
        let key = (w.topic.clone(), partition);
        if self.current_generation(&w.topic, partition) != Some(w.generation) {
            self.summary.dropped_stale += w.item.records as u64;
            return;
        }
        if let Some(old) = self.buffered_generation.insert(key, w.generation) {
            if old != w.generation {
                self.sinks[w.table].discard(&w.item.source, Some(partition));
            }
        }
        let table = &self.tables[w.table];
        self.metrics
            .consumed(table, w.item.records as u64, w.item.bytes as u64);
        self.summary.consumed += w.item.records as u64;
        if let Some(batch) = &w.item.batch {
            for o in &self.observers {
                o.observe(table, batch);
            }
        }
        if let (Some(producer), Some(dlq)) = (&self.producer, self.dlq.get(&*w.topic)) {
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
                        value: Some(&*w.topic),
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

    fn maybe_checkpoint(&mut self, force: bool) -> anyhow::Result<()> {
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

    fn checkpoint(&mut self, i: usize) -> anyhow::Result<()> {
        let started = Instant::now();
        let lock = self.commit_lock.clone();
        let _guard = lock.lock().unwrap_or_else(|p| p.into_inner());
        // Data of partitions revoked (or re-sought) since it was read must not be committed.
        for (source, partition) in self.sinks[i].buffered_partitions() {
            let Some(p) = partition else { continue };
            let topic = source.strip_prefix("kafka:").unwrap_or(&source).to_string();
            let current = self.current_generation(&topic, p);
            let buffered = self
                .buffered_generation
                .get(&(Arc::from(topic.as_str()), p))
                .copied();
            if current.is_none() || current != buffered {
                self.sinks[i].discard(&source, partition);
            }
        }
        let cp = self.sinks[i]
            .checkpoint()
            .with_context(|| format!("committing to table `{}`", self.tables[i]))?;
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
            let topic = source.strip_prefix("kafka:").unwrap_or(&source).to_string();
            self.buffered_generation
                .remove(&(Arc::from(topic.as_str()), p));
            if let Some(next) = self.sinks[i].next_position(&source, partition) {
                let _ = self.reseek.send((topic, p, next));
            }
        }
        Ok(())
    }
}

/// A pipeline's lake path after precedence: CLI flag > `POSTLAUNCH_LAKE` > file.
pub fn resolve_lake(cfg: &PipelineConfig, cli: Option<&Path>) -> PathBuf {
    cli.map(Path::to_path_buf)
        .or_else(|| std::env::var_os("POSTLAUNCH_LAKE").map(PathBuf::from))
        .unwrap_or_else(|| cfg.lake.clone())
}
