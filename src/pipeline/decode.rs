//! The decoder pool and the reorder buffer, shared by the file and Kafka pipelines: chunks go to a
//! pool of decoder threads through a bounded channel (backpressure: a slow decoder slows the
//! reader), come back out of order, and are put in source order again before the sink sees them.

use std::collections::BTreeMap;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};

use crate::batch::{DecodedChunk, Decoder};
use crate::schema::TableSchema;
use crate::source::RawChunk;

/// A chunk on its way, with its sequence number, the index of its table and whatever the caller
/// carries along (`M`: the Kafka topic and generation, say).
pub struct Job<M, T> {
    pub seq: u64,
    pub table: usize,
    pub meta: M,
    pub item: T,
}

/// The pool's ends: chunks in, decoded chunks out (in completion order).
pub struct Pool<M> {
    pub input: SyncSender<Job<M, RawChunk>>,
    pub output: Receiver<Job<M, DecodedChunk>>,
}

/// Starts `workers` decoder threads (named `pl-decode`) over the tables `schemas`; each channel
/// holds two chunks per worker. The threads end when `input` is dropped.
pub fn pool<M: Send + 'static>(
    schemas: &[Arc<TableSchema>],
    workers: usize,
) -> std::io::Result<(Pool<M>, Vec<std::thread::JoinHandle<()>>)> {
    let workers = workers.max(1);
    let (raw_tx, raw_rx) = sync_channel::<Job<M, RawChunk>>(workers * 2);
    let raw_rx = Arc::new(Mutex::new(raw_rx));
    let (dec_tx, dec_rx) = sync_channel::<Job<M, DecodedChunk>>(workers * 2);
    let mut threads = Vec::with_capacity(workers);
    for _ in 0..workers {
        let rx = raw_rx.clone();
        let tx = dec_tx.clone();
        let mut decoders: Vec<Decoder> = schemas.iter().map(|s| Decoder::new(s.clone())).collect();
        threads.push(
            std::thread::Builder::new()
                .name("pl-decode".into())
                .spawn(move || loop {
                    let next = rx.lock().ok().and_then(|r| r.recv().ok());
                    let Some(job) = next else { break };
                    let now = chrono::Utc::now().timestamp_micros();
                    let item = decoders[job.table].decode(&job.item, now);
                    let out = Job {
                        seq: job.seq,
                        table: job.table,
                        meta: job.meta,
                        item,
                    };
                    if tx.send(out).is_err() {
                        break;
                    }
                })?,
        );
    }
    Ok((
        Pool {
            input: raw_tx,
            output: dec_rx,
        },
        threads,
    ))
}

/// Puts items numbered 0, 1, 2, … back in order.
pub struct InOrder<T> {
    next: u64,
    waiting: BTreeMap<u64, T>,
}

impl<T> Default for InOrder<T> {
    fn default() -> Self {
        InOrder {
            next: 0,
            waiting: BTreeMap::new(),
        }
    }
}

impl<T> InOrder<T> {
    /// Adds item `seq`.
    pub fn insert(&mut self, seq: u64, item: T) {
        self.waiting.insert(seq, item);
    }

    /// The next item in order, once it has arrived.
    pub fn pop(&mut self) -> Option<T> {
        let item = self.waiting.remove(&self.next)?;
        self.next += 1;
        Some(item)
    }

    /// Whatever is left, in order (at the end, when gaps can no longer fill).
    pub fn rest(self) -> impl Iterator<Item = T> {
        self.waiting.into_values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_come_out_in_sequence() {
        let mut o = InOrder::default();
        o.insert(1, "b");
        assert_eq!(o.pop(), None, "0 has not arrived");
        o.insert(0, "a");
        o.insert(3, "d");
        assert_eq!((o.pop(), o.pop(), o.pop()), (Some("a"), Some("b"), None));
        assert_eq!(o.rest().collect::<Vec<_>>(), vec!["d"]);
    }
}
