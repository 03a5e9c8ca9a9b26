//! Wires the stages for one table: a source thread cuts input into chunks, decoder threads turn
//! chunks into Arrow batches in parallel, and the calling thread feeds them, in source order, to
//! the lake sink, which checkpoints within the memory budget. Channels are bounded, so a slow
//! disk slows the readers instead of growing memory. [`kafka`] does the same for Kafka topics;
//! [`observe`] lets alerting see decoded batches in-process.

pub mod kafka;
pub mod observe;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::batch::{DecodedChunk, Decoder};
use crate::lake::log::RangeSet;
use crate::lake::sink::{SinkStats, TableSink};
use crate::schema::TableSchema;
use crate::source::RawChunk;

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

/// A producer of raw chunks: called once on the source thread with the emit callback and the
/// commit-log coverage lookup (to skip positions already stored). Returns records skipped.
pub type Producer<'a> = Box<
    dyn FnOnce(
            &dyn Fn(&str, Option<i32>) -> Option<RangeSet>,
            &mut dyn FnMut(RawChunk) -> anyhow::Result<()>,
        ) -> anyhow::Result<u64>
        + Send
        + 'a,
>;

/// Runs producer → decoders → sink for one table and commits everything at the end.
pub fn run(
    lake: &Path,
    table: Arc<TableSchema>,
    opts: IngestOptions,
    producer: Producer<'_>,
) -> anyhow::Result<IngestReport> {
    let started = Instant::now();
    let mut sink = TableSink::open(lake, table.clone(), opts.memory_budget)
        .with_context(|| format!("opening table `{}` in `{}`", table.name, lake.display()))?;
    let coverage: BTreeMap<(String, Option<i32>), RangeSet> = sink
        .log()
        .sources()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let lookup = move |source: &str, partition: Option<i32>| {
        coverage.get(&(source.to_string(), partition)).cloned()
    };

    let workers = opts.workers.max(1);
    let (raw_tx, raw_rx) = sync_channel::<(u64, RawChunk)>(workers * 2);
    let (dec_tx, dec_rx) = sync_channel::<(u64, DecodedChunk)>(workers * 2);
    let raw_rx = Arc::new(Mutex::new(raw_rx));

    std::thread::scope(|s| -> anyhow::Result<IngestReport> {
        let reader = s.spawn(move || {
            let mut seq = 0u64;
            let mut emit = |chunk: RawChunk| -> anyhow::Result<()> {
                raw_tx
                    .send((seq, chunk))
                    .map_err(|_| anyhow::anyhow!("ingest stopped"))?;
                seq += 1;
                Ok(())
            };
            producer(&lookup, &mut emit)
        });
        for _ in 0..workers {
            let rx = Arc::clone(&raw_rx);
            let tx = dec_tx.clone();
            let mut decoder = Decoder::new(table.clone());
            s.spawn(move || loop {
                let next = rx.lock().ok().and_then(|r| r.recv().ok());
                let Some((seq, chunk)) = next else { break };
                let now = chrono::Utc::now().timestamp_micros();
                if tx.send((seq, decoder.decode(&chunk, now))).is_err() {
                    break;
                }
            });
        }
        drop(dec_tx);
        drop(raw_rx);
        let sunk = drain_in_order(dec_rx, &mut sink);
        let produced = reader
            .join()
            .map_err(|_| anyhow::anyhow!("the source thread panicked"))?;
        sunk?;
        let skipped = produced?;
        let cp = sink
            .checkpoint()
            .with_context(|| format!("committing to table `{}`", table.name))?;
        anyhow::ensure!(
            cp.discarded.is_empty(),
            "another writer ingested the same input into table `{}` concurrently; its copy was kept, this one dropped",
            table.name
        );
        Ok(IngestReport {
            table: table.name.clone(),
            stats: sink.stats().clone(),
            skipped,
            elapsed: started.elapsed(),
        })
    })
}

/// Feeds decoded chunks to the sink in sequence order (decoders finish out of order).
fn drain_in_order(rx: Receiver<(u64, DecodedChunk)>, sink: &mut TableSink) -> anyhow::Result<()> {
    let mut next = 0u64;
    let mut waiting: BTreeMap<u64, DecodedChunk> = BTreeMap::new();
    for (seq, chunk) in rx {
        waiting.insert(seq, chunk);
        while let Some(chunk) = waiting.remove(&next) {
            if let Some(cp) = sink.push(chunk)? {
                anyhow::ensure!(
                    cp.discarded.is_empty(),
                    "another writer is ingesting the same input into table `{}` (positions it committed first were dropped here); run one ingest per input",
                    sink.table().name
                );
            }
            next += 1;
        }
    }
    Ok(())
}
