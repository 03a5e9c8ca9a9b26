//! In-process observation of decoded batches: the consume loop hands every batch it is about to
//! buffer to the registered observers, so that alerting can aggregate per minute without a second
//! read of Kafka or of the lake.

use std::collections::BTreeMap;
use std::sync::Mutex;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{Int64Type, TimestampMicrosecondType};
use arrow::record_batch::RecordBatch;

/// Sees every decoded batch (valid rows only) before it is buffered for the lake.
pub trait BatchObserver: Send + Sync {
    fn observe(&self, table: &str, batch: &RecordBatch);

    /// The same, from Kafka partition `partition` of `topic`, offsets `offsets` (first, last)
    /// (an observer that keeps a clock per partition, or skips re-read offsets, overrides this).
    fn observe_partition(
        &self,
        table: &str,
        _topic: &str,
        _partition: i32,
        _offsets: (i64, i64),
        batch: &RecordBatch,
    ) {
        self.observe(table, batch);
    }
}

/// Per-minute counts of rows (and, for `requests`, of 5xx responses), keyed by the minute of the
/// event's `ts`: the input of minute-level alert rules.
#[derive(Debug, Default)]
pub struct MinuteCounts {
    counts: Mutex<BTreeMap<(String, i64), (u64, u64)>>,
}

impl MinuteCounts {
    /// `(rows, errors)` of a table in the minute starting at `minute * 60` seconds.
    pub fn get(&self, table: &str, minute: i64) -> (u64, u64) {
        self.counts
            .lock()
            .map(|c| {
                c.get(&(table.to_string(), minute))
                    .copied()
                    .unwrap_or_default()
            })
            .unwrap_or_default()
    }

    /// Forgets minutes before `minute` (bounded memory in a daemon).
    pub fn prune_before(&self, minute: i64) {
        if let Ok(mut c) = self.counts.lock() {
            c.retain(|(_, m), _| *m >= minute);
        }
    }
}

impl BatchObserver for MinuteCounts {
    fn observe(&self, table: &str, batch: &RecordBatch) {
        let Some(ts) = batch.column_by_name("ts") else {
            return;
        };
        let ts = ts.as_primitive::<TimestampMicrosecondType>();
        let status = batch
            .column_by_name("status")
            .filter(|_| table == "requests")
            .map(|s| s.as_primitive::<Int64Type>().clone());
        let Ok(mut counts) = self.counts.lock() else {
            return;
        };
        for i in 0..ts.len() {
            let minute = ts.value(i).div_euclid(60_000_000);
            let e = counts.entry((table.to_string(), minute)).or_default();
            e.0 += 1;
            if status
                .as_ref()
                .is_some_and(|s| s.is_valid(i) && s.value(i) >= 500)
            {
                e.1 += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::Decoder;
    use crate::schema::Catalog;
    use crate::source::RawChunk;

    #[test]
    fn minute_counts_follow_event_time() {
        let mut chunk = RawChunk::new("t".into(), None, 1);
        for (i, (sec, status)) in [(5, 200), (59, 503), (61, 200)].iter().enumerate() {
            let line = format!(
                r#"{{"ts":"2026-11-27T13:00:{:02}Z","service":"a","endpoint":"e","status":{status},"duration_ms":1}}"#,
                sec % 60
            );
            let line = if *sec >= 60 {
                line.replace("13:00:", "13:01:")
            } else {
                line
            };
            chunk.push(i as i64 + 1, line.as_bytes(), 1 << 20);
        }
        let mut d = Decoder::new(Catalog::builtin().unwrap().get("requests").unwrap().clone());
        let out = d.decode(&chunk, 1_796_000_000_000_000);
        let counts = MinuteCounts::default();
        counts.observe("requests", out.batch.as_ref().unwrap());
        // 2026-11-27T13:00Z is minute 29_929_740 since the epoch
        let m = 1_795_784_400 / 60;
        assert_eq!(counts.get("requests", m), (2, 1));
        assert_eq!(counts.get("requests", m + 1), (1, 0));
        counts.prune_before(m + 1);
        assert_eq!(counts.get("requests", m), (0, 0));
    }
}
