//! What the hourly job has computed, and from which input data: per hour, the commit-log
//! version of every input table at the time. Stored as JSON in
//! `<lake>/.postlaunch/hourly-state.json` (written to a temporary file, then renamed).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{job_dir, queries::input_tables, HourlyError};
use crate::lake::layout::parse_partition;
use crate::lake::log::{commits_after, TableLog};

/// Input table → commit-log version.
pub type Versions = BTreeMap<String, u64>;

/// The job's memory.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct JobState {
    /// Hour key → the input versions it was computed from.
    pub hours: BTreeMap<i64, Versions>,
}

fn path(lake: &Path) -> PathBuf {
    job_dir(lake).join("hourly-state.json")
}

/// The current log version of every input table.
pub fn input_versions(lake: &Path) -> Result<Versions, HourlyError> {
    input_tables()
        .into_iter()
        .map(|t| {
            let log = TableLog::open(lake, &t).map_err(|source| HourlyError::Lake {
                table: t.clone(),
                source,
            })?;
            Ok((t, log.version()))
        })
        .collect()
}

impl JobState {
    /// Loads the state (empty when the job never ran on this lake).
    pub fn load(lake: &Path) -> Result<JobState, HourlyError> {
        let p = path(lake);
        match std::fs::read(&p) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| HourlyError::State {
                path: p,
                message: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(JobState::default()),
            Err(e) => Err(HourlyError::State {
                path: p,
                message: e.to_string(),
            }),
        }
    }

    /// Saves the state atomically.
    pub fn save(&self, lake: &Path) -> Result<(), HourlyError> {
        let p = path(lake);
        let err = |e: std::io::Error| HourlyError::State {
            path: p.clone(),
            message: e.to_string(),
        };
        std::fs::create_dir_all(job_dir(lake)).map_err(err)?;
        let tmp = p.with_extension(format!("json.{}.tmp", std::process::id()));
        let text = serde_json::to_vec_pretty(self).map_err(|e| HourlyError::State {
            path: p.clone(),
            message: e.to_string(),
        })?;
        std::fs::write(&tmp, text).map_err(err)?;
        std::fs::rename(&tmp, &p).map_err(err)
    }

    /// Records that `hour` was computed from `versions`.
    pub fn computed(&mut self, hour: i64, versions: Versions) {
        self.hours.insert(hour, versions);
    }

    /// Computed hours whose input received data after they were computed: some non-compaction
    /// commit of an input table with a later version adds a file to the hour's partition.
    pub fn stale_hours(&self, lake: &Path) -> Result<BTreeSet<i64>, HourlyError> {
        let mut stale = BTreeSet::new();
        if self.hours.is_empty() {
            return Ok(stale);
        }
        for table in input_tables() {
            let seen = |h: &i64| {
                self.hours
                    .get(h)
                    .and_then(|v| v.get(&table))
                    .copied()
                    .unwrap_or(0)
            };
            let oldest = self.hours.keys().map(seen).min().unwrap_or(0);
            let commits =
                commits_after(lake, &table, oldest).map_err(|source| HourlyError::Lake {
                    table: table.clone(),
                    source,
                })?;
            let prefix = format!("{table}/");
            for c in commits.iter().filter(|c| c.operation != "compact") {
                for f in c.add.iter().filter(|f| f.path.starts_with(&prefix)) {
                    if let Some(h) = parse_partition(&f.path) {
                        if self.hours.contains_key(&h) && c.version > seen(&h) {
                            stale.insert(h);
                        }
                    }
                }
            }
        }
        Ok(stale)
    }
}
