//! Derived tables: results that postlaunch computes from the lake and writes back into it
//! (`experiment_results`, `deployment_impact`), readable by `postlaunch sql`, DuckDB and pyarrow
//! like any event table.
//!
//! A derived table uses the same layout and commit log as event tables: one Parquet file per
//! result set in the hour partition of its timestamp column, committed atomically. Each file
//! carries a *key* (the analysis it holds, e.g. experiment + analysis time + window) at the start
//! of its name; writing the same key again replaces the earlier file in the same commit, so
//! re-running an analysis never duplicates rows.

use std::path::Path;

use arrow::record_batch::RecordBatch;
use parquet::file::metadata::KeyValue;

use super::layout::{hour_key, partition_dir, FileNamer};
use super::log::{Commit, TableLog};
use super::writer::{derived_writer_properties, write_temp};
use super::LakeError;

/// Makes `key` safe as the start of a file name: `[A-Za-z0-9_-]`, others become `_`.
pub fn file_key(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Writes `batch` as the file of `key` in derived table `table`, partitioned by the timestamp
/// (µs) `partition_ts`, replacing the live files of the same key. `ts_col` is a timestamp column
/// for the commit log's min/max; `metadata` goes into the Parquet footer's key-value metadata.
/// Returns the file's path relative to the lake.
pub fn replace_derived(
    lake: &Path,
    table: &str,
    key: &str,
    batch: &RecordBatch,
    ts_col: usize,
    partition_ts: i64,
    metadata: &[(&str, String)],
) -> Result<String, LakeError> {
    let key = file_key(key);
    let mut log = TableLog::open(lake, table)?;
    // Roll forward a commit a crash left half-finished (and clear stale temporary files).
    log.recover()?;
    let rel = format!(
        "{table}/{}/{key}--{}",
        partition_dir(hour_key(partition_ts)),
        FileNamer::new().next()
    );
    let kv: Vec<KeyValue> = metadata
        .iter()
        .map(|(k, v)| KeyValue::new(k.to_string(), v.clone()))
        .collect();
    let props = derived_writer_properties()
        .set_key_value_metadata((!kv.is_empty()).then_some(kv))
        .build();
    let entry = write_temp(
        lake,
        &rel,
        table,
        &batch.schema(),
        &props,
        std::slice::from_ref(batch),
        ts_col,
    )?;
    let prefix = format!("{key}--");
    let remove: Vec<String> = log
        .files()
        .filter(|f| {
            f.path
                .rsplit('/')
                .next()
                .is_some_and(|name| name.starts_with(&prefix))
        })
        .map(|f| f.path.clone())
        .collect();
    log.commit(Commit::new("derive", vec![entry], remove, Vec::new()))?;
    Ok(rel)
}
