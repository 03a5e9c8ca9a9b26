//! Compaction: merges the small files of a closed hour into one file, sorted by `ts`, in one
//! commit that adds the merged file and removes the small ones. Query results do not change; scans
//! open fewer files and prune better.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;

use arrow::compute::{concat_batches, sort_to_indices, take_record_batch};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::layout::{parse_partition, FileNamer, HOUR_MICROS};
use super::log::{Commit, FileEntry, TableLog};
use super::writer::write_temp;
use super::LakeError;
use crate::schema::TableSchema;

/// What a compaction run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CompactStats {
    pub partitions: usize,
    pub files_before: usize,
    pub files_after: usize,
    pub rows: u64,
}

/// Compacts every hour partition of `table` that has at least `min_files` files and closed at
/// least `grace` before `now_micros`.
pub fn compact_table(
    lake: &Path,
    spec: &TableSchema,
    min_files: usize,
    grace_micros: i64,
    now_micros: i64,
) -> Result<CompactStats, LakeError> {
    let (table, schema, ts_col) = (spec.name.as_str(), &spec.stored, spec.ts_index);
    let props = super::writer::table_writer_properties(spec);
    let mut log = TableLog::open(lake, table)?;
    log.recover()?;
    let mut groups: BTreeMap<(String, i64), Vec<FileEntry>> = BTreeMap::new();
    let prefix = format!("{table}/");
    for f in log.files() {
        if !f.path.starts_with(&prefix) {
            continue; // `_rejected` files owned by this table stay as they are
        }
        let Some(hour) = parse_partition(&f.path) else {
            continue;
        };
        let dir = f.path.rsplit_once('/').map_or("", |(d, _)| d).to_string();
        groups.entry((dir, hour)).or_default().push(f.clone());
    }
    let namer = FileNamer::new();
    let mut stats = CompactStats::default();
    for ((dir, hour), files) in groups {
        if files.len() < min_files.max(2) || (hour + 1) * HOUR_MICROS + grace_micros > now_micros {
            continue;
        }
        let mut batches = Vec::new();
        for f in &files {
            let path = lake.join(&f.path);
            let file = File::open(&path).map_err(LakeError::io(&path))?;
            let pq_err = |source| LakeError::Parquet {
                path: path.clone(),
                source,
            };
            let reader = ParquetRecordBatchReaderBuilder::try_new(file)
                .map_err(pq_err)?
                .with_batch_size(64 * 1024)
                .build()
                .map_err(pq_err)?;
            for b in reader {
                batches.push(b.map_err(|e| LakeError::Parquet {
                    path: path.clone(),
                    source: e.into(),
                })?);
            }
        }
        let inconsistent =
            |e: arrow::error::ArrowError| LakeError::Inconsistent(format!("merging `{dir}`: {e}"));
        let all = concat_batches(schema, &batches).map_err(inconsistent)?;
        let order = sort_to_indices(all.column(ts_col), None, None).map_err(inconsistent)?;
        let sorted = take_record_batch(&all, &order).map_err(inconsistent)?;
        let rows_before: u64 = files.iter().map(|f| f.rows).sum();
        if sorted.num_rows() as u64 != rows_before {
            return Err(LakeError::Inconsistent(format!(
                "`{dir}`: the log says {rows_before} rows, the files hold {}",
                sorted.num_rows()
            )));
        }
        let rel = format!("{dir}/{}", namer.next());
        let entry = write_temp(
            lake,
            &rel,
            table,
            schema,
            &props,
            std::slice::from_ref(&sorted),
            ts_col,
        )?;
        let remove = files.iter().map(|f| f.path.clone()).collect();
        log.commit(Commit::new("compact", vec![entry], remove, vec![]))?;
        tracing::debug!(table, partition = %dir, files = files.len(), hour, "Compacted partition.");
        stats.partitions += 1;
        stats.files_before += files.len();
        stats.files_after += 1;
        stats.rows += rows_before;
    }
    Ok(stats)
}
