//! The SQL of the hourly job, compiled into the binary from `sql/hourly/` and `sql/rollup/` (so
//! the installed binary needs no source tree), and the `{name}` parameter substitution.

/// One SQL file of the job.
#[derive(Debug, Clone, Copy)]
pub struct SqlFile {
    /// Result table suffix: `hourly_<name>`, `daily_<name>`, `weekly_<name>`.
    pub name: &'static str,
    /// Path in the repository, for messages.
    pub path: &'static str,
    pub sql: &'static str,
}

/// `sql_file!("hourly", "service_metrics")`: the file `sql/hourly/service_metrics.sql`, compiled
/// in (the path is relative to a module file one level below `src/`).
macro_rules! sql_file {
    ($dir:literal, $name:literal) => {
        $crate::hourly::queries::SqlFile {
            name: $name,
            path: concat!("sql/", $dir, "/", $name, ".sql"),
            sql: include_str!(concat!("../../sql/", $dir, "/", $name, ".sql")),
        }
    };
}
pub(crate) use sql_file;

/// Per-hour queries, in the order they run (`regressions` reads `hourly_service_metrics`).
pub const HOURLY: &[SqlFile] = &[
    sql_file!("hourly", "service_metrics"),
    sql_file!("hourly", "host_metrics"),
    sql_file!("hourly", "database_metrics"),
    sql_file!("hourly", "dependency_metrics"),
    sql_file!("hourly", "web_vitals"),
    sql_file!("hourly", "business_metrics"),
    sql_file!("hourly", "feature_adoption"),
    sql_file!("hourly", "regressions"),
];

/// Daily and weekly roll-ups.
pub const ROLLUP: &[SqlFile] = &[
    sql_file!("rollup", "service_metrics"),
    sql_file!("rollup", "host_metrics"),
    sql_file!("rollup", "database_metrics"),
    sql_file!("rollup", "dependency_metrics"),
    sql_file!("rollup", "web_vitals"),
    sql_file!("rollup", "business_metrics"),
    sql_file!("rollup", "feature_adoption"),
    sql_file!("rollup", "abandonment"),
    sql_file!("rollup", "error_messages"),
    sql_file!("rollup", "feedback"),
];

impl SqlFile {
    /// The tables named in the file's `-- Tables:` header line.
    pub fn tables(&self) -> Vec<String> {
        self.sql
            .lines()
            .find_map(|l| l.strip_prefix("-- Tables:"))
            .map(|t| {
                t.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Why the query cannot run on a lake holding `tables`: `` `path` (no `t` table) `` for the
    /// first table of its `-- Tables:` header that is missing; `None` when all are there.
    pub fn missing_table(&self, tables: &[String]) -> Option<String> {
        self.tables()
            .into_iter()
            .find(|t| !tables.contains(t))
            .map(|t| format!("{} (no `{t}` table)", self.path))
    }

    /// The output columns named in the `-- Columns:` header (which may continue on `--   `
    /// lines).
    pub fn columns(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut inside = false;
        for line in self.sql.lines() {
            let text = if let Some(rest) = line.strip_prefix("-- Columns:") {
                inside = true;
                rest
            } else if inside && line.starts_with("--   ") {
                &line[2..]
            } else {
                inside = false;
                continue;
            };
            out.extend(
                text.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty()),
            );
        }
        out
    }
}

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

/// Replaces every `{name}` in the SQL text (comments included) by its value. A placeholder
/// without a value is an error naming it, so a typo never reaches DataFusion as odd SQL.
pub fn render(q: &SqlFile, params: &[(&str, String)]) -> Result<String, String> {
    let mut out = String::with_capacity(q.sql.len() + 256);
    let mut rest = q.sql;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('}').filter(|&c| {
            after[..c]
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_')
        });
        match close {
            Some(c) => {
                let name = &after[..c];
                let value = params.iter().find(|(k, _)| *k == name).ok_or_else(|| {
                    format!(
                        "`{}` uses parameter `{{{name}}}`, which the job does not set",
                        q.path
                    )
                })?;
                out.push_str(&value.1);
                rest = &after[c + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Ok(out)
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

    #[test]
    fn render_fills_parameters_and_names_missing_ones() {
        let q = SqlFile {
            name: "t",
            path: "sql/t.sql",
            sql: "SELECT '{date}' AS d, map {'a': 1} FROM x WHERE h = '{hour}'",
        };
        let ok = render(&q, &[("date", "2026-11-27".into()), ("hour", "13".into())]).unwrap();
        assert_eq!(
            ok,
            "SELECT '2026-11-27' AS d, map {'a': 1} FROM x WHERE h = '13'"
        );
        let err = render(&q, &[("date", "x".into())]).unwrap_err();
        assert!(err.contains("{hour}") && err.contains("sql/t.sql"), "{err}");
    }
}
