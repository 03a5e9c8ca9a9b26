//! `postlaunch compact`: merge the small files of closed hours.

use super::{parse_duration, LakeArgs};
use crate::lake::compact::compact_table;

/// Merge the small files of each closed hour into one file sorted by `ts`.
///
/// An hour is closed when it ended at least `--grace` ago. Query results do not change; the
/// merge is one commit per hour, so readers of `postlaunch sql` never see both versions.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub lake: LakeArgs,
    /// Only this table (default: every event table in the lake).
    #[arg(long, short = 't')]
    pub table: Option<String>,
    /// Compact an hour once it has at least this many files.
    #[arg(long, default_value_t = 2)]
    pub min_files: usize,
    /// How long after its end an hour counts as closed.
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    pub grace: std::time::Duration,
}

pub fn run(args: Args, quiet: bool) -> anyhow::Result<()> {
    let catalog = args.lake.catalog()?;
    let lake = &args.lake.path();
    if !lake.is_dir() {
        return Err(
            super::CliError::Usage(format!("--lake `{}` does not exist", lake.display())).into(),
        );
    }
    let tables: Vec<_> = match &args.table {
        Some(t) => vec![catalog.get(t).map_err(super::CliError::usage)?.clone()],
        None => catalog
            .tables()
            .filter(|t| lake.join(&t.name).is_dir())
            .cloned()
            .collect(),
    };
    let now = chrono::Utc::now().timestamp_micros();
    for t in tables {
        let s = compact_table(lake, &t, args.min_files, args.grace.as_micros() as i64, now)?;
        if !quiet {
            eprintln!(
                "{}: {} hours compacted, {} files → {}, {} rows",
                t.name,
                s.partitions,
                s.files_before,
                s.files_after,
                super::thousands(s.rows)
            );
        }
    }
    Ok(())
}
