//! The lake: Hive-partitioned Parquet tables on a filesystem, one folder per table, with a commit
//! log per table that is the source of truth for which files exist and which source positions
//! they hold (see `docs/DESIGN.md`).
//!
//! ```text
//! <lake>/<table>/date=YYYY-MM-DD/hour=HH/part-….parquet
//! <lake>/<table>/_log/00000000000000000001.json     commit log of <table>
//! <lake>/_rejected/date=…/hour=…/part-….parquet      rejected records (owned by the logs of the tables they were meant for)
//! ```

pub mod compact;
pub mod derived;
pub mod keyed;
pub mod layout;
pub mod log;
pub mod sink;
pub mod writer;

use std::path::PathBuf;

/// Errors of the lake stage.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    #[error("I/O error on `{path}`: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write Parquet file `{path}`: {source}")]
    Parquet {
        path: PathBuf,
        source: parquet::errors::ParquetError,
    },
    #[error("commit log `{path}` is unreadable: {message}")]
    Log { path: PathBuf, message: String },
    #[error("commit conflict on table `{table}`: {message}")]
    Conflict { table: String, message: String },
    /// A commit that breaks the log's invariants (its rows are not exactly the records of the
    /// source ranges it claims); a bug in the writer, never retried.
    #[error("commit refused on table `{table}`: {message}")]
    Refused { table: String, message: String },
    #[error("lake is inconsistent: {0}")]
    Inconsistent(String),
}

impl LakeError {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> LakeError {
        let path = path.into();
        move |source| LakeError::Io { path, source }
    }
}
