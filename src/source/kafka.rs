//! Kafka as a source: a consumer-group member whose partition assignment is driven by the lake.
//!
//! On every assignment the rebalance callback reads each partition's next position from the
//! lake's commit log (not from Kafka's group offsets) and assigns the partition at exactly that
//! offset; partitions the lake holds nothing of start at `kafka.start_from`. Each assignment gets a
//! new *generation*: chunks cut under an older generation of a partition are stale and dropped,
//! so data buffered before a revocation can never be committed after the partition's new owner
//! has started from the lake position. Group offsets are committed only after the lake commit, so
//! lag tools see what is durable.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rdkafka::client::ClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, RebalanceProtocol};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::statistics::Statistics;
use rdkafka::types::{RDKafkaErrorCode, RDKafkaRespErr};
use rdkafka::{Offset, TopicPartitionList};

use crate::config::{expand_env, is_secret, PipelineConfig};
use crate::metrics::Metrics;

/// Source identity of a topic in the commit log.
pub fn source_key(topic: &str) -> String {
    format!("kafka:{topic}")
}

/// One assigned partition: the generation it is assigned under and where reading starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assigned {
    pub generation: u64,
    /// The offset reading starts from under this generation when it is an absolute one (the
    /// lake's next position, or a re-seek's): the first chunk claims positions from here, so
    /// that a partition's commits continue each other without a gap. `None` when the lake holds
    /// nothing of the partition and reading starts at `kafka.start_from` (the topic's beginning
    /// or end).
    pub start: Option<i64>,
}

/// Assigned partitions and their generations, shared by the rebalance callback, the consumer
/// loop and the sink thread.
#[derive(Debug, Default)]
pub struct Assignments {
    generation: u64,
    assigned: HashMap<(String, i32), Assigned>,
    /// Bumped on every change, readable without the lock: the consumer loop caches generations
    /// per partition and refreshes them only when this moves.
    epoch: Arc<AtomicU64>,
}

impl Assignments {
    /// A handle on the change counter.
    pub fn epoch(&self) -> Arc<AtomicU64> {
        self.epoch.clone()
    }

    fn changed(&self) {
        self.epoch.fetch_add(1, Ordering::Release);
    }

    /// Forgets one partition (revoked).
    pub fn revoke(&mut self, topic: &str, partition: i32) {
        self.assigned.remove(&(topic.to_string(), partition));
        self.changed();
    }

    /// Forgets every partition.
    pub fn clear(&mut self) {
        self.assigned.clear();
        self.changed();
    }

    /// The generation under which `(topic, partition)` is assigned, if it is.
    pub fn generation(&self, topic: &str, partition: i32) -> Option<u64> {
        self.get(topic, partition).map(|a| a.generation)
    }

    /// The assignment of `(topic, partition)`, if it is assigned.
    pub fn get(&self, topic: &str, partition: i32) -> Option<Assigned> {
        self.assigned.get(&(topic.to_string(), partition)).copied()
    }

    /// Assigns a partition under a new generation, reading from `start`; returns the generation.
    pub fn assign(&mut self, topic: &str, partition: i32, start: Option<i64>) -> u64 {
        self.generation += 1;
        let generation = self.generation;
        self.assigned.insert(
            (topic.to_string(), partition),
            Assigned { generation, start },
        );
        self.changed();
        generation
    }

    /// Gives a partition that is still assigned a new generation reading from `start` (a
    /// re-seek); `None`, and nothing changes, when it is no longer assigned (a revoked partition
    /// is never taken back by a re-seek).
    pub fn reassign(&mut self, topic: &str, partition: i32, start: i64) -> Option<u64> {
        self.get(topic, partition)?;
        Some(self.assign(topic, partition, Some(start)))
    }

    /// Every assigned partition.
    pub fn partitions(&self) -> Vec<(String, i32)> {
        self.assigned.keys().cloned().collect()
    }
}

/// Where each partition's next record is, as the lake says: the offset after its highest committed
/// one, `None` when the lake holds nothing of it. The pipeline, which knows the lake, supplies it;
/// the source only asks (at every assignment).
pub type NextPositions =
    Box<dyn Fn(&[(String, i32)]) -> HashMap<(String, i32), Option<i64>> + Send + Sync>;

/// Errors of creating the consumer.
#[derive(Debug, thiserror::Error)]
pub enum KafkaSourceError {
    /// An option of `[kafka.options]` cannot be set (an unset `${ENV}` variable).
    #[error("{0}")]
    Option(String),
    #[error("creating the Kafka consumer: {0}")]
    Client(#[from] rdkafka::error::KafkaError),
}

/// The consumer's context: lake-driven rebalances and statistics into metrics.
pub struct LakeContext {
    /// The lake's next position of each partition.
    pub positions: NextPositions,
    pub start_from: Offset,
    pub assignments: Arc<Mutex<Assignments>>,
    /// Held by the sink thread during a checkpoint, so that an assignment never reads the lake
    /// position while a commit of the same process is half done.
    pub commit_lock: Arc<Mutex<()>>,
    pub metrics: Metrics,
    /// Asks the sink to commit what it holds before partitions are revoked (so a rebalance or a
    /// shutdown does not throw buffered work away); the sink answers on the enclosed channel.
    pub flush_requests: Mutex<Option<std::sync::mpsc::Sender<std::sync::mpsc::SyncSender<()>>>>,
    /// A broker outage in progress: librdkafka reports a failed connection several times a
    /// second; the first is logged, the rest are counted and summarised when a broker answers.
    pub outage: BrokerOutage,
}

/// Logs a broker outage once, then its length when it ends ("unreachable for 12 s").
#[derive(Debug, Default)]
pub struct BrokerOutage {
    /// Set while an outage is in progress (checked without the lock on every message).
    active: AtomicBool,
    /// When it started and how many reports were suppressed.
    state: Mutex<Option<(Instant, u64)>>,
}

impl BrokerOutage {
    /// A connection error: logs the first of an outage, counts the others.
    pub fn report(&self, reason: &str) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match state.as_mut() {
            Some((_, suppressed)) => *suppressed += 1,
            None => {
                tracing::warn!(reason, "Kafka broker unreachable; retrying (further connection errors are summarised when it is back).");
                *state = Some((Instant::now(), 0));
                self.active.store(true, Ordering::Release);
            }
        }
    }

    /// Whether an outage is in progress.
    pub fn active(&self) -> bool {
        self.active.load(Ordering::Acquire)
    }

    /// A broker answered: logs how long it was unreachable, if it was.
    pub fn ended(&self) {
        if !self.active() {
            return;
        }
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((since, suppressed)) = state.take() {
            tracing::warn!(
                suppressed,
                "Kafka broker reachable again; it was unreachable for {} s.",
                since.elapsed().as_secs()
            );
        }
        self.active.store(false, Ordering::Release);
    }
}

/// Whether a client error means "cannot reach a broker" (logged once per outage).
fn is_connection_error(error: &KafkaError) -> bool {
    matches!(
        error.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::AllBrokersDown
                | RDKafkaErrorCode::BrokerTransportFailure
                | RDKafkaErrorCode::Resolve
        )
    )
}

impl LakeContext {
    /// Asks the sink to checkpoint now and waits (bounded) for it.
    fn flush_before_revoke(&self) {
        let sender = self.flush_requests.lock().ok().and_then(|s| s.clone());
        let Some(sender) = sender else { return };
        let (done_tx, done_rx) = std::sync::mpsc::sync_channel(1);
        if sender.send(done_tx).is_ok()
            && done_rx
                .recv_timeout(std::time::Duration::from_secs(60))
                .is_err()
        {
            tracing::warn!("The sink did not checkpoint before the revocation; its buffered data will be re-read.");
        }
    }
    /// The offset each partition of `tpl` starts at: the lake's next position, or
    /// `kafka.start_from` for a partition the lake holds nothing of.
    fn next_offsets(&self, tpl: &TopicPartitionList) -> HashMap<(String, i32), Offset> {
        let wanted: Vec<(String, i32)> = tpl
            .elements()
            .iter()
            .map(|e| (e.topic().to_string(), e.partition()))
            .collect();
        let known = (self.positions)(&wanted);
        wanted
            .into_iter()
            .map(|key| {
                let next = known
                    .get(&key)
                    .copied()
                    .flatten()
                    .map_or(self.start_from, Offset::Offset);
                (key, next)
            })
            .collect()
    }
}

impl ClientContext for LakeContext {
    fn stats(&self, statistics: Statistics) {
        for (topic, t) in &statistics.topics {
            for (p, part) in &t.partitions {
                if *p >= 0 && part.consumer_lag >= 0 {
                    self.metrics.lag(topic, *p, part.consumer_lag);
                }
            }
        }
        if statistics
            .brokers
            .values()
            .any(|b| b.nodeid >= 0 && b.state == "UP")
        {
            self.outage.ended();
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        if is_connection_error(&error) {
            self.outage.report(reason);
        } else {
            tracing::error!(%error, reason, "Kafka client error.");
        }
    }

    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        // A failed connection starts (or continues) an outage; during one, librdkafka's other
        // connection lines repeat what was reported.
        let error = matches!(
            level,
            RDKafkaLogLevel::Emerg
                | RDKafkaLogLevel::Alert
                | RDKafkaLogLevel::Critical
                | RDKafkaLogLevel::Error
        );
        if fac == "FAIL" && error {
            self.outage.report(message);
            return;
        }
        if self.outage.active() && matches!(fac, "ERROR" | "BRKMAIN" | "CONNECT") {
            return;
        }
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error => tracing::error!(fac, "librdkafka: {message}"),
            RDKafkaLogLevel::Warning => tracing::warn!(fac, "librdkafka: {message}"),
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
                tracing::info!(fac, "librdkafka: {message}")
            }
            RDKafkaLogLevel::Debug => tracing::debug!(fac, "librdkafka: {message}"),
        }
    }
}

impl ConsumerContext for LakeContext {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        self.metrics.rebalanced();
        let cooperative = matches!(
            consumer.rebalance_protocol(),
            RebalanceProtocol::Cooperative
        );
        let result: KafkaResult<()> = match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                let _guard = self.commit_lock.lock().unwrap_or_else(|p| p.into_inner());
                let next = self.next_offsets(tpl);
                let mut a = self.assignments.lock().unwrap_or_else(|p| p.into_inner());
                for ((topic, partition), offset) in &next {
                    let _ = tpl.set_partition_offset(topic, *partition, *offset);
                    let start = match offset {
                        Offset::Offset(o) => Some(*o),
                        _ => None,
                    };
                    let g = a.assign(topic, *partition, start);
                    tracing::info!(
                        topic,
                        partition,
                        ?offset,
                        generation = g,
                        "Assigned; starting from the lake's position."
                    );
                }
                if cooperative {
                    consumer.incremental_assign(tpl)
                } else {
                    consumer.assign(tpl)
                }
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                // A lost assignment (this member was fenced: its session expired, e.g. while the
                // process was frozen) is someone else's already: its buffered data must not be
                // committed, only dropped.
                let lost = consumer.assignment_lost();
                if !lost {
                    self.flush_before_revoke();
                }
                let _guard = self.commit_lock.lock().unwrap_or_else(|p| p.into_inner());
                let mut a = self.assignments.lock().unwrap_or_else(|p| p.into_inner());
                for e in tpl.elements() {
                    a.revoke(e.topic(), e.partition());
                    if lost {
                        tracing::warn!(
                            topic = e.topic(),
                            partition = e.partition(),
                            "Assignment lost (this member was fenced out of the group); its buffered records are dropped, the new owner reads them from the lake's position."
                        );
                    } else {
                        tracing::info!(
                            topic = e.topic(),
                            partition = e.partition(),
                            "Revoked (after the sink committed what it held)."
                        );
                    }
                }
                if cooperative {
                    consumer.incremental_unassign(tpl)
                } else {
                    consumer.unassign()
                }
            }
            other => {
                tracing::error!(error = ?other, "Rebalance error.");
                let mut a = self.assignments.lock().unwrap_or_else(|p| p.into_inner());
                a.clear();
                consumer.unassign()
            }
        };
        if let Err(e) = result {
            tracing::error!(error = %e, "Applying the partition assignment failed.");
        }
    }
}

/// The librdkafka settings of a pipeline: postlaunch's defaults, then the file's pass-through
/// options (with `${ENV}` expanded).
pub fn client_config(cfg: &PipelineConfig) -> Result<ClientConfig, String> {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &cfg.kafka.brokers)
        .set("group.id", &cfg.kafka.group_id)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", &cfg.kafka.start_from)
        .set("statistics.interval.ms", "5000")
        .set("queued.max.messages.kbytes", "16384")
        // librdkafka (>= 2.4) waits `fetch.queue.backoff.ms` (default 1 s) before fetching again
        // once the prefetch queue was full; an ingest that pauses for a lake commit would then
        // drain the queue in a fraction of that and sit idle for the rest (docs/BENCHMARKS.md).
        .set("fetch.queue.backoff.ms", "10")
        .set("fetch.max.bytes", "16777216")
        .set("session.timeout.ms", "10000")
        .set("heartbeat.interval.ms", "1000")
        .set("client.id", "postlaunch");
    for (k, v) in &cfg.kafka.options {
        c.set(k, expand_env(v, k)?);
    }
    Ok(c)
}

/// The options as they may be logged: secret values masked.
pub fn loggable_options(cfg: &PipelineConfig) -> Vec<(String, String)> {
    cfg.kafka
        .options
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                if is_secret(k) {
                    "****".into()
                } else {
                    v.clone()
                },
            )
        })
        .collect()
}

/// Creates the lake-driven consumer and subscribes it to the pipeline's topics. It is a
/// `BaseConsumer`, polled by one dedicated thread; the rebalance and statistics callbacks run
/// inside its `poll`, on that thread.
pub fn consumer(
    cfg: &PipelineConfig,
    positions: NextPositions,
    assignments: Arc<Mutex<Assignments>>,
    commit_lock: Arc<Mutex<()>>,
    metrics: Metrics,
    flush_requests: std::sync::mpsc::Sender<std::sync::mpsc::SyncSender<()>>,
) -> Result<BaseConsumer<LakeContext>, KafkaSourceError> {
    let ctx = LakeContext {
        positions,
        start_from: if cfg.kafka.start_from == "latest" {
            Offset::End
        } else {
            Offset::Beginning
        },
        assignments,
        commit_lock,
        metrics,
        flush_requests: Mutex::new(Some(flush_requests)),
        outage: BrokerOutage::default(),
    };
    let client = client_config(cfg).map_err(KafkaSourceError::Option)?;
    tracing::info!(brokers = %cfg.kafka.brokers, group = %cfg.kafka.group_id, options = ?loggable_options(cfg), "Creating the Kafka consumer.");
    let consumer: BaseConsumer<LakeContext> = client.create_with_context(ctx)?;
    let topics: Vec<&str> = cfg.topics.iter().map(|t| t.topic.as_str()).collect();
    consumer.subscribe(&topics)?;
    Ok(consumer)
}
