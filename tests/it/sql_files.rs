//! Every file under `sql/` runs against a demo lake (a glob: adding a query adds a test) and
//! returns the columns its header comment promises.

use std::path::{Path, PathBuf};

use crate::ok;

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
    ok(&[
        "demo",
        "-q",
        "--lake",
        lake.to_str().unwrap(),
        "--days",
        "2",
        "--scale",
        "0.2",
    ]);
    let files = sql_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("sql"));
    assert!(!files.is_empty());
    for f in files {
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
