//! Derived tables: query results (the hourly job's `hourly_*`, `daily_*`, `weekly_*` tables) stored
//! in the lake like event tables — Parquet under `date=/hour=` partitions, owned by a commit log —
//! but written a whole partition at a time: computing a period again *replaces* its partition in
//! one commit (add the new file, remove the old ones), so re-runs are idempotent.
//!
//! Readers that list files (DuckDB, Polars, `postlaunch sql`) may for a few milliseconds see both
//! the new file and the old one while a replacement is finalised, as with compaction.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

use super::layout::{partition_dir, FileNamer};
use super::log::{Commit, FileEntry, TableLog};
use super::writer::{derived_writer_properties, write_temp};
use super::LakeError;

/// What a partition replacement did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Replaced {
    pub rows: u64,
    pub files_removed: usize,
    /// The commit's version, `None` when there was nothing to add or remove.
    pub version: Option<u64>,
}

/// The stored form of a result schema: every field nullable (a period with no data for a
/// column must not change the table's schema), timestamps as microseconds in UTC and strings
/// and binaries as plain `Utf8`/`Binary`, like the event tables. The first timestamp column is
/// the one whose range the commit log records.
pub fn stored_schema(schema: &Schema) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            let dt = match f.data_type() {
                DataType::Timestamp(_, _) => {
                    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
                }
                // Sessions read strings as views (`query::view_types`); tables store them
                // plainly, the type every Parquet reader maps `BYTE_ARRAY` strings to.
                DataType::Utf8View | DataType::LargeUtf8 => DataType::Utf8,
                DataType::BinaryView | DataType::LargeBinary => DataType::Binary,
                other => other.clone(),
            };
            Field::new(f.name(), dt, true)
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// Casts `batch` to `schema` (see [`stored_schema`]).
fn conform(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, LakeError> {
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| {
            if c.data_type() == f.data_type() {
                Ok(c.clone())
            } else {
                arrow::compute::cast(c, f.data_type())
            }
        })
        .collect::<Result<Vec<ArrayRef>, _>>()
        .map_err(|e| LakeError::Inconsistent(format!("casting a result column: {e}")))?;
    RecordBatch::try_new(schema.clone(), columns)
        .map_err(|e| LakeError::Inconsistent(format!("building a result batch: {e}")))
}

/// Replaces partition `hour_key` (see [`partition_dir`]) of derived table `table` with
/// `batches` (which may be empty: the partition is then only cleared). `schema` is the
/// result's schema as planned, so that an empty result still has one.
pub fn replace_partition(
    lake: &Path,
    table: &str,
    hour_key: i64,
    schema: &Schema,
    batches: &[RecordBatch],
) -> Result<Replaced, LakeError> {
    replace_partitions(lake, table, schema, &[(hour_key, batches.to_vec())])
}

/// Replaces several partitions of `table` in one commit (a backfill writes a day of hours at
/// once: one commit and one log read instead of 24).
pub fn replace_partitions(
    lake: &Path,
    table: &str,
    schema: &Schema,
    parts: &[(i64, Vec<RecordBatch>)],
) -> Result<Replaced, LakeError> {
    write_partitions(lake, table, schema, parts, true)
}

/// Adds `parts` to their partitions of `table` in one commit, keeping what is there: for
/// append-only results such as the `alerts` table's transitions.
pub fn append_partitions(
    lake: &Path,
    table: &str,
    schema: &Schema,
    parts: &[(i64, Vec<RecordBatch>)],
) -> Result<Replaced, LakeError> {
    write_partitions(lake, table, schema, parts, false)
}

fn write_partitions(
    lake: &Path,
    table: &str,
    schema: &Schema,
    parts: &[(i64, Vec<RecordBatch>)],
    replace: bool,
) -> Result<Replaced, LakeError> {
    let stored = stored_schema(schema);
    let Some(ts_col) = stored
        .fields()
        .iter()
        .position(|f| matches!(f.data_type(), DataType::Timestamp(_, _)))
    else {
        return Err(LakeError::Inconsistent(format!(
            "result for table `{table}` has no timestamp column (expected e.g. `hour_start`)"
        )));
    };
    let mut log = TableLog::open(lake, table)?;
    log.recover()?;
    let props = derived_writer_properties().build();
    let namer = FileNamer::new();
    let (mut files, mut remove, mut rows) = (Vec::new(), Vec::new(), 0u64);
    for (hour_key, batches) in parts {
        let batches = batches
            .iter()
            .filter(|b| b.num_rows() > 0)
            .map(|b| conform(b, &stored))
            .collect::<Result<Vec<_>, _>>()?;
        let dir = format!("{table}/{}/", partition_dir(*hour_key));
        if replace {
            remove.extend(
                log.files()
                    .filter(|f| f.path.starts_with(&dir))
                    .map(|f| f.path.clone()),
            );
        }
        let n: u64 = batches.iter().map(|b| b.num_rows() as u64).sum();
        if n > 0 {
            files.push((format!("{dir}{}", namer.next()), batches));
            rows += n;
        }
    }
    // One writer thread per core: most of a file's time is creating its folder and file and
    // waiting for its fsync, which run side by side.
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(files.len());
    let write = |(rel, batches): &(String, Vec<RecordBatch>)| {
        write_temp(lake, rel, table, &stored, &props, batches, ts_col)
    };
    let add: Vec<FileEntry> = if threads <= 1 {
        files.iter().map(write).collect::<Result<_, _>>()?
    } else {
        let write = &write;
        std::thread::scope(|scope| {
            let workers: Vec<_> = files
                .chunks(files.len().div_ceil(threads))
                .map(|part| {
                    scope.spawn(move || part.iter().map(write).collect::<Result<Vec<_>, _>>())
                })
                .collect();
            workers
                .into_iter()
                .map(|w| {
                    w.join().unwrap_or_else(|_| {
                        Err(LakeError::Inconsistent(
                            "a file writer thread panicked".into(),
                        ))
                    })
                })
                .collect::<Result<Vec<Vec<_>>, _>>()
        })?
        .into_iter()
        .flatten()
        .collect()
    };
    if add.is_empty() && remove.is_empty() {
        return Ok(Replaced::default());
    }
    let files_removed = remove.len();
    let version = log.commit(Commit::new("derive", add, remove, vec![]))?;
    Ok(Replaced {
        rows,
        files_removed,
        version: Some(version),
    })
}
