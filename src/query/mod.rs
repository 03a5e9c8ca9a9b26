//! The query stage: a DataFusion session over the lake. Every table folder is registered as a
//! Hive-partitioned Parquet listing table with `date` and `hour` partition columns (so filters on
//! them prune folders), event tables with the schema derived from `schemas/`. Queries from users
//! are read-only: DDL, DML, `COPY` and `SET`-like statements are refused before planning.

pub mod latency;
pub mod output;
pub mod sketch;
pub mod udf;

use std::path::Path;
use std::sync::Arc;

use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::execution::context::{SQLOptions, SessionContext};
use datafusion::prelude::SessionConfig;

use crate::batch::rejected::{REJECTED_SCHEMA, REJECTED_TABLE};
use crate::schema::Catalog;

/// Errors of the query stage.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("lake `{0}` does not exist (run `postlaunch demo` or `postlaunch ingest` first, or pass --lake)")]
    NoLake(String),
    #[error("cannot register table `{table}`: {source}")]
    Register {
        table: String,
        source: datafusion::error::DataFusionError,
    },
    #[error("the lake is read-only here: {0}. `postlaunch sql` runs queries only; data gets in with `postlaunch ingest`")]
    ReadOnly(String),
    #[error("{0}")]
    DataFusion(#[from] datafusion::error::DataFusionError),
}

/// Names of the partition columns every lake table has.
pub const PARTITION_COLUMNS: [&str; 2] = ["date", "hour"];

/// A DataFusion session with every lake table registered.
pub struct LakeSession {
    pub ctx: SessionContext,
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
            if known.is_none() && !has_data_files(&lake.join(&name)) {
                // A derived table whose every partition was replaced by an empty result (no
                // regressions any more): no files to read its schema from, and no rows. As if
                // absent, rather than failing every query of the lake.
                tracing::debug!(table = %name, "Table folder without data files; not registered.");
                continue;
            }
            register(&ctx, &lake, &name, known).await?;
            tables.push(name);
        }
        Ok(LakeSession { ctx, tables })
    }

    /// Registers a table folder created after the session was opened (derived tables written
    /// by the hourly job); its schema is read from its files.
    pub async fn register(&mut self, lake: &Path, name: &str) -> Result<(), QueryError> {
        let lake = std::fs::canonicalize(lake)
            .map_err(|_| QueryError::NoLake(lake.display().to_string()))?;
        register(&self.ctx, &lake, name, None).await?;
        self.tables.push(name.to_string());
        self.tables.sort();
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
        // takes another instead of waiting for the slowest (the hourly benchmark's median fell
        // from 0.47 s to 0.44 s).
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

/// Whether `dir` holds a Parquet file at any depth (hidden temporary files aside).
fn has_data_files(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        let name = e.file_name();
        let name = name.to_string_lossy();
        match e.file_type() {
            Ok(t) if t.is_dir() => has_data_files(&e.path()),
            Ok(_) => !name.starts_with('.') && name.ends_with(".parquet"),
            Err(_) => false,
        }
    })
}

/// `schema` with strings and binaries read as Arrow's view types (`Utf8View`, `BinaryView`), as
/// DataFusion does for schemas it infers: decoding a dictionary-encoded Parquet column into
/// views copies 16-byte views instead of every string's bytes, and grouping and comparing use
/// the views' inline prefixes. The hourly backfill of `scripts/bench-hourly.sh` took a fifth
/// less time with them. Results keep whatever type a query gives; derived tables are stored
/// with plain types ([`crate::lake::derived::stored_schema`]).
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
    let reg = |source| QueryError::Register {
        table: name.to_string(),
        source,
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
