//! The query stage: a DataFusion session over the lake. Every table folder is registered as a
//! Hive-partitioned Parquet listing table with `date` and `hour` partition columns (so filters on
//! them prune folders), event tables with the schema derived from `schemas/`. Event tables and
//! `_rejected` are registered even when the lake has no folder for them yet, and read as empty.
//! Queries from users are read-only: DDL, DML, `COPY` and `SET`-like statements are refused
//! before planning.

pub mod frame;
pub mod latency;
pub mod sketch;
pub mod sql;
pub mod udf;

use std::path::Path;
use std::sync::Arc;

use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::error::DataFusionError;
use datafusion::execution::context::{SQLOptions, SessionContext};
use datafusion::prelude::SessionConfig;

use crate::batch::rejected::{REJECTED_SCHEMA, REJECTED_TABLE};
use crate::schema::Catalog;

/// Errors of the query stage.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("lake `{0}` does not exist (run `postlaunch demo` or `postlaunch ingest` first, or pass --lake)")]
    NoLake(String),
    #[error("cannot register table `{table}`: {}", message(.error))]
    Register {
        table: String,
        error: DataFusionError,
    },
    #[error("the lake is read-only here: {0}. `postlaunch sql` runs queries only; data gets in with `postlaunch ingest`")]
    ReadOnly(String),
    /// DataFusion's error is not this error's `source()`: its message is already in this one's
    /// (see [`message`]).
    #[error("{}", message(.0))]
    DataFusion(DataFusionError),
}

impl From<DataFusionError> for QueryError {
    fn from(error: DataFusionError) -> Self {
        QueryError::DataFusion(error)
    }
}

/// The message of a DataFusion error, once: its own text, then that of each error in its chain
/// of sources that the text does not already show, joined by `: `.
///
/// DataFusion's errors repeat their source's message in their own (a planning error wrapped in
/// a diagnostic is the same sentence twice; a parser error is shown in its `Debug` form), so
/// printing the whole chain, as the command line does (`{:#}`), printed "table '…' not found"
/// three times. [`QueryError`] therefore gives this text and no `source()`; errors whose text
/// leaves their source out (an I/O error in an object store error, say) still have it shown.
fn message(error: &DataFusionError) -> String {
    let mut out = error.strip_backtrace();
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        let more = match e.downcast_ref::<DataFusionError>() {
            Some(e) => e.strip_backtrace(),
            None => e.to_string(),
        };
        if !out.contains(more.as_str()) && !out.contains(format!("{e:?}").as_str()) {
            out.push_str(": ");
            out.push_str(&more);
        }
        source = e.source();
    }
    out
}

/// Names of the partition columns every lake table has.
pub const PARTITION_COLUMNS: [&str; 2] = ["date", "hour"];

/// A DataFusion session with every lake table registered.
pub struct LakeSession {
    pub ctx: SessionContext,
    /// The tables the lake has (its table folders, sorted), which queries can expect rows from;
    /// what callers check before running a query that needs a table
    /// ([`crate::query::sql::SqlFile::missing_table`]). The event tables and `_rejected` the
    /// lake has no folder for are registered too, so that queries of them return no rows instead
    /// of failing, but are not listed here.
    pub tables: Vec<String>,
}

/// The tables (sub-folders) of a lake, sorted; hidden folders are skipped.
pub fn lake_tables(lake: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(lake)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| !n.starts_with('.'))
        .collect();
    out.sort();
    out
}

impl LakeSession {
    /// Opens a session over `lake`.
    pub async fn open(lake: &Path, catalog: &Catalog) -> Result<LakeSession, QueryError> {
        if !lake.is_dir() {
            return Err(QueryError::NoLake(lake.display().to_string()));
        }
        let config = SessionConfig::new()
            .with_information_schema(true)
            .with_target_partitions(cores());
        // No list-files cache: the lake changes under a long-lived session (new ingest commits,
        // the hourly job replacing a partition), and a cached listing would name removed files.
        let cache = datafusion::execution::cache::cache_manager::CacheManagerConfig::default()
            .with_list_files_cache_limit(0);
        let runtime = datafusion::execution::runtime_env::RuntimeEnvBuilder::new()
            .with_cache_manager(cache)
            .build_arc()?;
        let ctx = SessionContext::new_with_config_rt(config, runtime);
        udf::register_all(&ctx);
        let lake = std::fs::canonicalize(lake)
            .map_err(|_| QueryError::NoLake(lake.display().to_string()))?;
        let mut tables = Vec::new();
        for name in lake_tables(&lake) {
            let known: Option<SchemaRef> = if name == REJECTED_TABLE {
                Some(REJECTED_SCHEMA.clone())
            } else {
                catalog.get(&name).ok().map(|t| t.stored.clone())
            };
            let schema = match known {
                Some(s) => Some(s),
                None => match newest_data_file(&lake.join(&name)) {
                    Some(file) => file_schema(&file),
                    // A derived table whose every partition was replaced by an empty result
                    // (no regressions any more): no files to read its schema from, and no
                    // rows. As if absent, rather than failing every query of the lake.
                    None => {
                        tracing::debug!(table = %name, "Table folder without data files; not registered.");
                        continue;
                    }
                },
            };
            register(&ctx, &lake, &name, schema).await?;
            tables.push(name);
        }
        // Tables the schemas define but nothing was stored in yet: a lake without rejections
        // has no `_rejected`, a lake without incidents no `incidents`. Registered over their
        // (missing) folder with their schema, they read as empty, with their columns, instead
        // of "table not found"; and a long-lived session sees rows stored there later.
        let defined = catalog
            .tables()
            .map(|t| (t.name.as_str(), t.stored.clone()))
            .chain([(REJECTED_TABLE, REJECTED_SCHEMA.clone())]);
        for (name, schema) in defined {
            if !tables.iter().any(|t| t == name) {
                register(&ctx, &lake, name, Some(schema)).await?;
            }
        }
        Ok(LakeSession { ctx, tables })
    }

    /// Registers a table folder created after the session was opened (derived tables written
    /// by the hourly job); its schema is read from its files. A table the schemas define is
    /// registered already (over its folder, with its schema) and is only listed in `tables`.
    pub async fn register(&mut self, lake: &Path, name: &str) -> Result<(), QueryError> {
        if !self.ctx.table_exist(name)? {
            let lake = std::fs::canonicalize(lake)
                .map_err(|_| QueryError::NoLake(lake.display().to_string()))?;
            let schema = newest_data_file(&lake.join(name)).and_then(|f| file_schema(&f));
            register(&self.ctx, &lake, name, schema).await?;
        }
        if !self.tables.iter().any(|t| t == name) {
            self.tables.push(name.to_string());
            self.tables.sort();
        }
        Ok(())
    }

    /// Plans scans so that each execution partition reads whole lake partitions (all files of
    /// an hour in one), and lets aggregations grouped by `date` and `hour` (and more) run in one
    /// step per partition instead of a partial step, a hash repartition and a final step. Only
    /// for many-hour scans such as the hourly job's batches: a query over fewer lake partitions
    /// than execution partitions keeps the usual plan, and a grouping whose keys are mostly one
    /// hour would run on one core.
    ///
    /// Also plans without file statistics: gathering them reads every file's footer on one
    /// thread while planning (a third of the planning time of a day's batch), and the job's
    /// aggregations make no use of them.
    pub fn group_by_partitions(&self) {
        let state = self.ctx.state_ref();
        let mut state = state.write();
        let config = state.config_mut();
        // Two partitions per core: hours differ in size, and a core whose partition is done
        // takes another instead of waiting for the slowest.
        let partitions = 2 * cores();
        config.options_mut().execution.target_partitions = partitions;
        let optimizer = &mut config.options_mut().optimizer;
        optimizer.preserve_file_partitions = partitions;
        optimizer.subset_repartition_threshold = partitions;
        config.options_mut().execution.collect_statistics = false;
    }

    /// Runs one read-only SQL statement and collects its result.
    pub async fn query(&self, sql: &str) -> Result<(SchemaRef, Vec<RecordBatch>), QueryError> {
        let mut results = self.query_all(sql).await?;
        match results.len() {
            1 => Ok(results.remove(0)),
            n => Err(QueryError::DataFusion(
                datafusion::error::DataFusionError::Plan(format!(
                    "expected exactly one SQL statement, got {n}"
                )),
            )),
        }
    }

    /// Runs every statement of a script (separated by `;`), each read-only, and collects each
    /// result.
    pub async fn query_all(
        &self,
        sql: &str,
    ) -> Result<Vec<(SchemaRef, Vec<RecordBatch>)>, QueryError> {
        let statements = datafusion::sql::parser::DFParser::parse_sql(sql)?;
        let mut out = Vec::with_capacity(statements.len());
        for statement in statements {
            out.push(self.run_statement(statement).await?);
        }
        Ok(out)
    }

    async fn run_statement(
        &self,
        statement: datafusion::sql::parser::Statement,
    ) -> Result<(SchemaRef, Vec<RecordBatch>), QueryError> {
        let options = SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false);
        let plan = self.ctx.state().statement_to_plan(statement).await?;
        options.verify_plan(&plan).map_err(|e| {
            QueryError::ReadOnly(
                e.strip_backtrace()
                    .trim_start_matches("Error during planning: ")
                    .to_string(),
            )
        })?;
        let df = self.ctx.execute_logical_plan(plan).await?;
        let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
        let batches = df.collect().await?;
        Ok((schema, batches))
    }
}

/// The cores DataFusion may use.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// The newest data file of a derived table: the last file of the last partition that has one
/// (partition folders and file names sort by time; an hour replaced by an empty result keeps
/// its folder). `None` when the table has no data file.
///
/// A derived table's schema is read from this file alone. DataFusion's own inference reads the
/// footer of every file and merges them, which made opening the two-week demo lake (11 derived
/// tables of 336 files) take a quarter of a second for every command. Older files that lack a
/// newer column read it as NULL; columns only older files have are not shown.
fn newest_data_file(dir: &Path) -> Option<std::path::PathBuf> {
    /// `dir`'s entries that `keep` accepts, newest (greatest name) first.
    fn newest_first(dir: &Path, keep: impl Fn(&str, bool) -> bool) -> Vec<std::path::PathBuf> {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .flatten()
            .filter_map(|e| {
                let is_dir = e.file_type().ok()?.is_dir();
                let name = e.file_name().into_string().ok()?;
                keep(&name, is_dir).then_some(name)
            })
            .collect();
        names.sort_unstable_by(|a, b| b.cmp(a));
        names.into_iter().map(|n| dir.join(n)).collect()
    }
    newest_first(dir, |n, d| d && n.starts_with("date="))
        .into_iter()
        .flat_map(|day| newest_first(&day, |n, d| d && n.starts_with("hour=")))
        .find_map(|hour| {
            newest_first(&hour, |n, d| {
                !d && !n.starts_with('.') && n.ends_with(".parquet")
            })
            .into_iter()
            .next()
        })
}

/// The Arrow schema of Parquet file `file`, without the file's key-value metadata (notes of
/// one file, such as provenance, not the table's). `None` when it cannot be read: DataFusion's
/// inference then reports the problem.
fn file_schema(file: &Path) -> Option<SchemaRef> {
    let reader = std::fs::File::open(file).ok()?;
    let builder =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(reader).ok()?;
    Some(Arc::new(arrow::datatypes::Schema::new(
        builder.schema().fields().clone(),
    )))
}

/// `schema` with strings and binaries read as Arrow's view types (`Utf8View`, `BinaryView`), as
/// DataFusion does for schemas it infers: decoding a dictionary-encoded Parquet column into
/// views copies 16-byte views instead of every string's bytes, and grouping and comparing use
/// the views' inline prefixes (docs/BENCHMARKS.md, the hourly job). Results keep whatever type a
/// query gives; derived tables are stored with plain types
/// ([`crate::lake::derived::stored_schema`]).
pub fn view_types(schema: &SchemaRef) -> SchemaRef {
    let fields: Vec<arrow::datatypes::FieldRef> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 => {
                Arc::new(f.as_ref().clone().with_data_type(DataType::Utf8View))
            }
            DataType::Binary | DataType::LargeBinary => {
                Arc::new(f.as_ref().clone().with_data_type(DataType::BinaryView))
            }
            _ => f.clone(),
        })
        .collect();
    Arc::new(arrow::datatypes::Schema::new_with_metadata(
        fields,
        schema.metadata().clone(),
    ))
}

async fn register(
    ctx: &SessionContext,
    lake: &Path,
    name: &str,
    schema: Option<SchemaRef>,
) -> Result<(), QueryError> {
    let reg = |error| QueryError::Register {
        table: name.to_string(),
        error,
    };
    let dir = lake.join(name);
    let url = ListingTableUrl::parse(format!("{}/", dir.display())).map_err(reg)?;
    let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
        .with_file_extension(".parquet")
        .with_table_partition_cols(
            PARTITION_COLUMNS
                .iter()
                .map(|c| (c.to_string(), DataType::Utf8View))
                .collect(),
        );
    let schema = match schema {
        Some(s) => s,
        None => options
            .infer_schema(&ctx.state(), &url)
            .await
            .map_err(reg)?,
    };
    let config = ListingTableConfig::new(url)
        .with_listing_options(options)
        .with_schema(view_types(&schema));
    let table = ListingTable::try_new(config).map_err(reg)?;
    ctx.register_table(name, Arc::new(table)).map_err(reg)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray, Int64Array};
    use arrow::datatypes::{Field, Int64Type, Schema};

    fn write(dir: &Path, part: &str, columns: &[(&str, i64)]) {
        let dir = dir.join(part);
        std::fs::create_dir_all(&dir).unwrap();
        let schema = Arc::new(Schema::new(
            columns
                .iter()
                .map(|(n, _)| Field::new(*n, DataType::Int64, true))
                .collect::<Vec<_>>(),
        ));
        let arrays = columns
            .iter()
            .map(|(_, v)| Arc::new(Int64Array::from(vec![*v])) as arrow::array::ArrayRef)
            .collect();
        let batch = RecordBatch::try_new(schema.clone(), arrays).unwrap();
        let file = std::fs::File::create(dir.join("part-1.parquet")).unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(file, schema, None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    }

    /// A derived table's schema comes from its newest file: a column added since reads as NULL
    /// in older files, and a derived table folder without files is left out, not an error.
    #[tokio::test]
    async fn derived_tables_take_their_newest_files_schema() {
        let lake = tempfile::tempdir().unwrap();
        let t = lake.path().join("hourly_x");
        write(&t, "date=2026-11-01/hour=23", &[("a", 1)]);
        write(&t, "date=2026-11-02/hour=00", &[("a", 2), ("b", 20)]);
        // A newer hour whose rows were all replaced by an empty result: folder, no file.
        std::fs::create_dir_all(t.join("date=2026-11-02/hour=01")).unwrap();
        std::fs::create_dir_all(lake.path().join("hourly_empty/date=2026-11-01/hour=00")).unwrap();
        let catalog = Catalog::builtin().unwrap();
        let session = LakeSession::open(lake.path(), &catalog).await.unwrap();
        assert_eq!(session.tables, ["hourly_x"]);
        let (_, batches) = session
            .query("SELECT a, b FROM hourly_x ORDER BY a")
            .await
            .unwrap();
        let b = arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap();
        assert_eq!(b.column(0).as_primitive::<Int64Type>().values(), &[1, 2]);
        let col_b = b.column(1).as_primitive::<Int64Type>();
        assert!(col_b.is_null(0));
        assert_eq!(col_b.value(1), 20);
    }

    /// Regression (issue 13): `_rejected` on a lake without rejections, or an event table
    /// nothing was stored in, was "table not found", and the message came three times. They
    /// read as empty, with their columns, without being listed as tables the lake has; rows
    /// stored after the session was opened are seen; an unknown table fails, named once.
    #[tokio::test]
    async fn defined_tables_without_folders_read_as_empty_and_errors_say_things_once() {
        let lake = tempfile::tempdir().unwrap();
        let catalog = Catalog::builtin().unwrap();
        let session = LakeSession::open(lake.path(), &catalog).await.unwrap();
        assert!(session.tables.is_empty(), "{:?}", session.tables);
        for (table, columns) in [
            (REJECTED_TABLE, REJECTED_SCHEMA.fields().len()),
            (
                "incidents",
                catalog.get("incidents").unwrap().stored.fields().len(),
            ),
        ] {
            let (schema, batches) = session
                .query(&format!("SELECT * FROM {table}"))
                .await
                .unwrap();
            assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 0);
            assert_eq!(schema.fields().len(), columns + PARTITION_COLUMNS.len());
            assert_eq!(schema.field(columns).name(), "date", "{table}");
        }

        let dir = lake.path().join("_rejected/date=2026-11-27/hour=13");
        std::fs::create_dir_all(&dir).unwrap();
        let file = std::fs::File::create(dir.join("part-1.parquet")).unwrap();
        let mut w =
            parquet::arrow::ArrowWriter::try_new(file, REJECTED_SCHEMA.clone(), None).unwrap();
        let rejection = crate::batch::rejected::Rejection {
            received_at: 0,
            target_table: "requests".into(),
            source: "file:/x.ndjson".into(),
            source_partition: None,
            position: 7,
            reason: "not JSON".into(),
            payload: b"{".to_vec(),
            payload_bytes: 1,
        };
        w.write(&crate::batch::rejected::to_batch(&[rejection]))
            .unwrap();
        w.close().unwrap();
        let (_, batches) = session
            .query("SELECT position, hour FROM _rejected")
            .await
            .unwrap();
        let b = arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap();
        assert_eq!(b.num_rows(), 1);
        assert_eq!(b.column(0).as_primitive::<Int64Type>().value(0), 7);

        let err = session.query("SELECT * FROM nope").await.unwrap_err();
        // as the command line prints it: the error and its sources
        let printed = format!("{:#}", anyhow::Error::from(err));
        assert_eq!(printed.matches("nope").count(), 1, "{printed}");
        assert!(printed.contains("not found"), "{printed}");
    }
}
