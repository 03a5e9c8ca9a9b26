//! The SQL files of the hourly job: `sql/hourly/` (one result table `hourly_<name>` each) and
//! `sql/rollup/` (`daily_<name>`, `weekly_<name>`), loaded and rendered by [`crate::query::sql`].

use crate::query::sql::{sql_file, SqlFile};

/// Per-hour queries, in the order they run (`regressions` reads `hourly_service_metrics`).
pub const HOURLY: &[SqlFile] = &[
    sql_file!("sql/hourly/service_metrics.sql"),
    sql_file!("sql/hourly/host_metrics.sql"),
    sql_file!("sql/hourly/database_metrics.sql"),
    sql_file!("sql/hourly/dependency_metrics.sql"),
    sql_file!("sql/hourly/web_vitals.sql"),
    sql_file!("sql/hourly/business_metrics.sql"),
    sql_file!("sql/hourly/feature_adoption.sql"),
    sql_file!("sql/hourly/regressions.sql"),
];

/// Daily and weekly roll-ups.
pub const ROLLUP: &[SqlFile] = &[
    sql_file!("sql/rollup/service_metrics.sql"),
    sql_file!("sql/rollup/host_metrics.sql"),
    sql_file!("sql/rollup/database_metrics.sql"),
    sql_file!("sql/rollup/dependency_metrics.sql"),
    sql_file!("sql/rollup/web_vitals.sql"),
    sql_file!("sql/rollup/business_metrics.sql"),
    sql_file!("sql/rollup/feature_adoption.sql"),
    sql_file!("sql/rollup/abandonment.sql"),
    sql_file!("sql/rollup/error_messages.sql"),
    sql_file!("sql/rollup/feedback.sql"),
];

/// Raw event tables the hourly queries read (their commits make computed hours stale).
pub fn input_tables() -> Vec<String> {
    let mut out: Vec<String> = HOURLY
        .iter()
        .flat_map(|q| q.tables())
        .filter(|t| !t.starts_with("hourly_"))
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_names_its_tables_and_columns() {
        for q in HOURLY.iter().chain(ROLLUP) {
            assert!(
                !q.tables().is_empty(),
                "{} has no `-- Tables:` header",
                q.path
            );
            assert!(
                q.columns().len() >= 3,
                "{} has no `-- Columns:` header",
                q.path
            );
        }
        assert_eq!(
            input_tables(),
            ["deployments", "events", "metrics", "requests", "web_vitals"]
        );
    }

    #[test]
    fn every_sql_file_on_disk_is_compiled_in() {
        for dir in ["hourly", "rollup"] {
            let on_disk = std::fs::read_dir(format!("{}/sql/{dir}", env!("CARGO_MANIFEST_DIR")))
                .unwrap()
                .flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| n.ends_with(".sql"))
                .count();
            let list = if dir == "hourly" { HOURLY } else { ROLLUP };
            assert_eq!(
                on_disk,
                list.len(),
                "a file in sql/{dir} is not in the job's list"
            );
        }
    }
}
