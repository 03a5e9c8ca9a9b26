//! Every file under `sql/` runs against a demo lake (a glob: adding a query adds a test) and
//! returns the columns its header comment promises. The hourly job's templates (`sql/hourly/`,
//! `sql/rollup/`, with `{parameters}`) run through `postlaunch hourly`, and the tables it
//! writes are checked against their headers.

use std::path::{Path, PathBuf};

use crate::{demo_lake, ok};

fn sql_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(sql_files(&p));
        } else if p.extension().is_some_and(|x| x == "sql") {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[test]
fn every_sql_file_runs_on_the_demo_and_returns_its_documented_columns() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    demo_lake(&lake, &["--days", "2", "--scale", "0.2"]);
    let files = sql_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("sql"));
    assert!(!files.is_empty());
    for f in files.into_iter().filter(|f| !is_job_template(f)) {
        let text = std::fs::read_to_string(&f).unwrap();
        let columns: Vec<&str> = text
            .lines()
            .find_map(|l| l.strip_prefix("-- Columns:"))
            .unwrap_or_else(|| panic!("`{}` lacks a `-- Columns:` header", f.display()))
            .split(',')
            .map(str::trim)
            .collect();
        let out = ok(&[
            "sql",
            "-q",
            "--lake",
            lake.to_str().unwrap(),
            "--format",
            "json",
            "-f",
            f.to_str().unwrap(),
        ]);
        let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("JSON rows");
        assert!(
            !rows.is_empty(),
            "`{}` returned no rows on the demo",
            f.display()
        );
        let first = rows[0].as_object().unwrap();
        let got: Vec<&str> = first.keys().map(String::as_str).collect();
        assert_eq!(got, columns, "`{}`", f.display());
    }
}

fn is_job_template(f: &Path) -> bool {
    let dir = f
        .parent()
        .and_then(|d| d.file_name())
        .and_then(|d| d.to_str());
    matches!(dir, Some("hourly" | "rollup" | "trends" | "opportunities"))
}

/// The `-- Columns:` header, continued on `--   ` lines.
fn header_columns(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        let rest = if let Some(r) = line.strip_prefix("-- Columns:") {
            inside = true;
            r
        } else if inside && line.starts_with("--   ") {
            &line[2..]
        } else {
            inside = false;
            continue;
        };
        out.extend(
            rest.split(',')
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty()),
        );
    }
    out
}

#[test]
fn the_hourly_job_writes_every_template_s_documented_columns() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let l = lake.to_str().unwrap();
    demo_lake(&lake, &["--days", "2", "--scale", "0.2"]);
    ok(&["hourly", "-q", "--lake", l, "--all"]);
    let files: Vec<PathBuf> = sql_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("sql"))
        .into_iter()
        .filter(|f| is_job_template(f))
        .collect();
    assert!(files.len() >= 14, "{files:?}");
    for f in files {
        if f.parent().unwrap().ends_with("trends") || f.parent().unwrap().ends_with("opportunities")
        {
            check_trend_template(&f, l);
            continue;
        }
        let name = f.file_stem().unwrap().to_str().unwrap();
        let columns = header_columns(&std::fs::read_to_string(&f).unwrap());
        assert!(
            columns.len() >= 3,
            "`{}` lacks a `-- Columns:` header",
            f.display()
        );
        let tables: Vec<String> = if f.parent().unwrap().ends_with("hourly") {
            vec![format!("hourly_{name}")]
        } else {
            vec![format!("daily_{name}"), format!("weekly_{name}")]
        };
        for table in tables {
            if name == "regressions" {
                // No regression on a two-day demo (no baseline): the table may not exist; its
                // columns are checked by tests/python/test_hourly.py.
                continue;
            }
            let out = ok(&[
                "sql",
                "-q",
                "--lake",
                l,
                "--format",
                "json",
                &format!("SELECT * FROM {table} LIMIT 1"),
            ]);
            let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
            assert!(!rows.is_empty(), "`{table}` is empty on the demo");
            let got: Vec<&str> = rows[0]
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .filter(|k| *k != "date" && *k != "hour")
                .collect();
            assert_eq!(got, columns, "`{table}` from `{}`", f.display());
        }
    }
}

/// A `sql/trends/` or `sql/opportunities/` template, its periods filled in (the demo's two days against each other),
/// run through `postlaunch sql`: it must return its documented columns.
fn check_trend_template(f: &Path, lake: &str) {
    let text = std::fs::read_to_string(f).unwrap();
    let columns = header_columns(&text);
    // hourly_regressions is empty on a two-day demo (no baseline), so it has no folder: its
    // opportunity query is checked by tests/python/test_hourly.py.
    let tables = text
        .lines()
        .find_map(|l| l.strip_prefix("-- Tables:"))
        .unwrap_or_default();
    if tables
        .split(',')
        .any(|t| !Path::new(lake).join(t.trim()).is_dir())
    {
        return;
    }
    let sql = [
        ("{this_from}", "2026-11-03T00:00:00"),
        ("{this_to}", "2026-11-04T00:00:00"),
        ("{last_from}", "2026-11-02T00:00:00"),
        ("{last_to}", "2026-11-03T00:00:00"),
        ("{this_days}", "1.0"),
        ("{last_days}", "1.0"),
    ]
    .iter()
    .fold(text.clone(), |s, (k, v)| s.replace(k, v));
    let file = Path::new(lake).with_file_name(f.file_name().unwrap());
    std::fs::write(&file, sql).unwrap();
    let out = ok(&[
        "sql",
        "-q",
        "--lake",
        lake,
        "--format",
        "json",
        "-f",
        file.to_str().unwrap(),
    ]);
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        !rows.is_empty(),
        "`{}` returned no rows on the demo",
        f.display()
    );
    let got: Vec<&str> = rows[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(got, columns, "`{}`", f.display());
}
