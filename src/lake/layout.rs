//! Partition layout: which folder a row goes to, derived only from its validated `ts` (never from
//! event fields, so no event can choose a path), and how data files are named.

use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arrow::array::{AsArray, UInt32Array};
use arrow::compute::take_record_batch;
use arrow::datatypes::TimestampMicrosecondType;
use arrow::record_batch::RecordBatch;

use super::LakeError;

/// Microseconds per hour.
pub const HOUR_MICROS: i64 = 3_600_000_000;

/// Hours since the epoch of a timestamp: the partition key.
pub fn hour_key(ts_micros: i64) -> i64 {
    ts_micros.div_euclid(HOUR_MICROS)
}

/// `date=YYYY-MM-DD/hour=HH` of an hour key.
pub fn partition_dir(hour_key: i64) -> String {
    let dt = chrono::DateTime::from_timestamp(hour_key * 3600, 0).unwrap_or_default();
    dt.format("date=%Y-%m-%d/hour=%H").to_string()
}

/// Parses `date=YYYY-MM-DD/hour=HH` (the trailing part of a file's path) back into an hour key.
pub fn parse_partition(path: &str) -> Option<i64> {
    let mut date = None;
    let mut hour = None;
    for seg in path.split('/') {
        if let Some(d) = seg.strip_prefix("date=") {
            date = chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok();
        } else if let Some(h) = seg.strip_prefix("hour=") {
            hour = h.parse::<i64>().ok().filter(|h| (0..24).contains(h));
        }
    }
    let days = date?
        .signed_duration_since(chrono::NaiveDate::default())
        .num_days();
    Some(days * 24 + hour?)
}

/// Splits a batch by the hour of its timestamp column `ts_col`, in hour order. A batch within one
/// hour (the common case for time-ordered input) is returned as is, without copying.
pub fn split_by_hour(batch: &RecordBatch, ts_col: usize) -> Vec<(i64, RecordBatch)> {
    let ts = batch
        .column(ts_col)
        .as_primitive::<TimestampMicrosecondType>();
    if ts.is_empty() {
        return Vec::new();
    }
    let keys: Vec<i64> = ts.values().iter().map(|&t| hour_key(t)).collect();
    let first = keys[0];
    if keys.iter().all(|&k| k == first) {
        return vec![(first, batch.clone())];
    }
    let mut order: Vec<u32> = (0..keys.len() as u32).collect();
    order.sort_by_key(|&i| keys[i as usize]);
    let mut out = Vec::new();
    let mut start = 0;
    while start < order.len() {
        let key = keys[order[start] as usize];
        let mut end = start;
        while end < order.len() && keys[order[end] as usize] == key {
            end += 1;
        }
        let idx = UInt32Array::from(order[start..end].to_vec());
        if let Ok(part) = take_record_batch(batch, &idx) {
            out.push((key, part));
        }
        start = end;
    }
    out
}

/// Makes unique data-file names: `part-<UTC time>-<process nonce>-<sequence>.parquet`.
#[derive(Clone)]
pub struct FileNamer {
    nonce: u64,
    seq: Arc<AtomicU64>,
}

impl Default for FileNamer {
    fn default() -> Self {
        Self::new()
    }
}

impl FileNamer {
    pub fn new() -> FileNamer {
        let now = chrono::Utc::now();
        let nanos = now.timestamp_nanos_opt().unwrap_or_default() as u64;
        let nonce = (nanos ^ (u64::from(std::process::id()) << 40))
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            >> 32;
        FileNamer {
            nonce,
            seq: Arc::new(AtomicU64::new(0)),
        }
    }

    /// A new file name (no folder).
    pub fn next(&self) -> String {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let now = chrono::Utc::now().format("%Y%m%dT%H%M%S");
        format!("part-{now}-{:08x}-{seq:05}.parquet", self.nonce)
    }
}

/// Temporary name of a data file while it is written and until its commit is finalised:
/// hidden (leading `.`), not ending in `.parquet`, and tagged with the table whose commit log
/// owns it (so recovery of one table never touches another table's files).
pub fn temp_path(final_path: &Path, owner: &str) -> std::path::PathBuf {
    let name = final_path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("part");
    final_path.with_file_name(format!(".{name}.{owner}.tmp"))
}

/// fsyncs a directory so that renames and new entries in it are durable.
pub fn sync_dir(dir: &Path) -> Result<(), LakeError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(LakeError::io(dir))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::TimestampMicrosecondArray;
    use arrow::datatypes::{DataType, Field, Schema, TimeUnit};

    #[test]
    fn partition_dirs_round_trip_and_use_utc_hours() {
        let ts = crate::batch::time::parse_rfc3339(b"2026-11-27T13:59:59.999999+01:00").unwrap();
        let key = hour_key(ts);
        assert_eq!(partition_dir(key), "date=2026-11-27/hour=12");
        assert_eq!(
            parse_partition("requests/date=2026-11-27/hour=12/part-x.parquet"),
            Some(key)
        );
        assert_eq!(parse_partition("requests/date=2026-11-27/hour=24/x"), None);
        // before the epoch still floors to the right hour
        assert_eq!(partition_dir(hour_key(-1)), "date=1969-12-31/hour=23");
    }

    #[test]
    fn split_by_hour_groups_rows_in_hour_order() {
        let h = HOUR_MICROS;
        let ts = TimestampMicrosecondArray::from(vec![3 * h + 5, h, 3 * h, 2 * h - 1])
            .with_timezone("UTC");
        let schema = Arc::new(Schema::new(vec![Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        )]));
        let batch = RecordBatch::try_new(schema, vec![Arc::new(ts)]).unwrap();
        let parts = split_by_hour(&batch, 0);
        let summary: Vec<_> = parts.iter().map(|(k, b)| (*k, b.num_rows())).collect();
        assert_eq!(summary, vec![(1, 2), (3, 2)]);
    }
}
