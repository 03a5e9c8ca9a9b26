//! The demo scenario into a lake, table by table, through the same pipeline as `postlaunch
//! ingest` (decode, validate, exactly-once commits). The source is the scenario's parameters, and
//! a record's position its line number in the table's stream, so running the demo again stores
//! nothing twice.

use std::path::Path;
use std::sync::Arc;

use super::{generate, Scenario, ScenarioConfig, ALL_TABLES};
use crate::pipeline::{self, IngestOptions, IngestReport};
use crate::schema::Catalog;
use crate::source::{ChunkLimits, RawChunk};

/// What [`into_lake`] did: one ingest report per table, and the scenario's summary.
pub struct DemoIngest {
    pub reports: Vec<IngestReport>,
    pub scenario: Option<Scenario>,
}

/// The source key of the scenario `cfg` in the commit log: its parameters.
fn source_key(cfg: &ScenarioConfig) -> Arc<str> {
    format!(
        "demo:seed={}:days={}:scale={}:start={}:srm_skew={}:malformed={}",
        cfg.seed,
        cfg.days,
        cfg.scale,
        cfg.start.format("%Y-%m-%d"),
        cfg.srm_skew,
        cfg.malformed
    )
    .into()
}

/// Generates the scenario and ingests each of its tables (all, or `cfg.tables`) into `lake`;
/// `progress(table)` is called before each table.
pub fn into_lake(
    cfg: &ScenarioConfig,
    lake: &Path,
    catalog: &Catalog,
    mut progress: impl FnMut(&str),
) -> anyhow::Result<DemoIngest> {
    let tables: Vec<&str> = if cfg.tables.is_empty() {
        ALL_TABLES.to_vec()
    } else {
        cfg.tables.iter().map(String::as_str).collect()
    };
    let mut out = DemoIngest {
        reports: Vec::new(),
        scenario: None,
    };
    for table in tables {
        progress(table);
        let schema = catalog.get(table)?.clone();
        let mut one = cfg.clone();
        one.tables = vec![table.to_string()];
        let source = source_key(cfg);
        let (tx, rx) = std::sync::mpsc::channel();
        let producer: pipeline::Producer = Box::new(move |coverage, emit| {
            let covered = coverage(&source, None);
            let limits = ChunkLimits::default();
            let mut chunk = RawChunk::new(source.clone(), None, 1);
            let mut index = 0i64;
            let mut skipped = 0u64;
            let mut failure = None;
            let scenario = generate(&one, &mut |_, line| {
                index += 1;
                let hand_on = if covered.as_ref().is_some_and(|c| c.contains(index)) {
                    skipped += 1;
                    chunk.split_before_stored(index)
                } else {
                    chunk.push(index, line, limits.max_record_bytes);
                    if chunk.is_full(&limits) {
                        let next = RawChunk::new(source.clone(), None, index + 1);
                        Some(std::mem::replace(&mut chunk, next))
                    } else {
                        None
                    }
                };
                if let Some(done) = hand_on {
                    if let Err(e) = emit(done) {
                        failure = Some(e);
                        anyhow::bail!("ingest stopped");
                    }
                }
                Ok(())
            });
            if let Some(e) = failure {
                return Err(Box::new(e));
            }
            let scenario = scenario.map_err(|e| -> pipeline::ProducerError { e.into() })?;
            if chunk.last_index >= chunk.first_index {
                emit(chunk)?;
            }
            let _ = tx.send(scenario);
            Ok(skipped)
        });
        out.reports.push(pipeline::run(
            lake,
            schema,
            IngestOptions::default(),
            producer,
        )?);
        if let Ok(s) = rx.try_recv() {
            out.scenario.get_or_insert(s);
        }
    }
    Ok(out)
}
