//! Writes one Parquet data file: ZSTD, statistics on, row groups sized for scans. The file is
//! written under a hidden temporary name in its final folder and fsynced; it becomes visible only
//! when the commit protocol renames it (see [`super::log`]).

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow::array::AsArray;
use arrow::datatypes::{SchemaRef, TimestampMicrosecondType};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterPropertiesBuilder};

use super::layout::temp_path;
use super::log::FileEntry;
use super::LakeError;

/// Rows per row group: large enough for efficient scans, small enough that two cores can split a
/// one-hour file between them.
pub const ROW_GROUP_ROWS: usize = 256 * 1024;

/// Writer settings shared by every lake file (tables add per-column settings, see
/// [`crate::schema::TableSchema::writer_properties`]).
pub fn writer_properties_builder() -> WriterPropertiesBuilder {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).unwrap_or_default()))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_created_by(format!("postlaunch {}", env!("CARGO_PKG_VERSION")))
}

/// Parquet writer settings of an event table's files: the defaults above, with dictionary
/// encoding off for the fields the schema marks as high-cardinality.
pub fn table_writer_properties(table: &crate::schema::TableSchema) -> WriterProperties {
    let mut b = writer_properties_builder();
    for f in table.fields.iter().filter(|f| !f.dictionary) {
        b = b.set_column_dictionary_enabled(
            parquet::schema::types::ColumnPath::from(f.name.as_str()),
            false,
        );
    }
    b.build()
}

/// Settings of derived tables (hourly, daily and weekly results, experiment and impact tables):
/// small files, many of them read together (a weekly percentile merges 168 hourly files).
/// Uncompressed: a ZSTD column chunk costs its reader a fresh compression and decompression
/// context, which for files of a few kilobytes takes longer than reading the bytes saved
/// (the weekly p95 of `scripts/bench-hourly.sh`; docs/BENCHMARKS.md).
pub fn derived_writer_properties() -> WriterPropertiesBuilder {
    writer_properties_builder().set_compression(Compression::UNCOMPRESSED)
}

/// Settings of `_rejected` files: payloads are unique, no dictionary for them.
pub fn rejected_writer_properties() -> WriterProperties {
    writer_properties_builder()
        .set_column_dictionary_enabled(parquet::schema::types::ColumnPath::from("payload"), false)
        .build()
}

/// Writes `batches` to the temporary path of `rel_path` (relative to `lake`), fsynced.
/// `ts_col` is the column whose min/max go into the commit log.
pub fn write_temp(
    lake: &Path,
    rel_path: &str,
    owner: &str,
    schema: &SchemaRef,
    props: &WriterProperties,
    batches: &[RecordBatch],
    ts_col: usize,
) -> Result<FileEntry, LakeError> {
    let final_path = lake.join(rel_path);
    let tmp = temp_path(&final_path, owner);
    if let Some(dir) = tmp.parent() {
        std::fs::create_dir_all(dir).map_err(LakeError::io(dir))?;
    }
    let file = File::create(&tmp).map_err(LakeError::io(&tmp))?;
    let pq_err = |source| LakeError::Parquet {
        path: tmp.clone(),
        source,
    };
    let mut writer =
        ArrowWriter::try_new(file, Arc::clone(schema), Some(props.clone())).map_err(pq_err)?;
    let (mut rows, mut min_ts, mut max_ts) = (0u64, i64::MAX, i64::MIN);
    for b in batches {
        let ts = b.column(ts_col).as_primitive::<TimestampMicrosecondType>();
        if let (Some(lo), Some(hi)) = (arrow::compute::min(ts), arrow::compute::max(ts)) {
            min_ts = min_ts.min(lo);
            max_ts = max_ts.max(hi);
        }
        rows += ts.len() as u64;
        writer.write(b).map_err(pq_err)?;
    }
    let file = writer.into_inner().map_err(pq_err)?;
    file.sync_all().map_err(LakeError::io(&tmp))?;
    let bytes = file.metadata().map_err(LakeError::io(&tmp))?.len();
    Ok(FileEntry {
        path: rel_path.to_string(),
        rows,
        bytes,
        min_ts,
        max_ts,
    })
}
