//! Integration tests: the `postlaunch` binary end to end, on files it ingests and lakes it writes.
//! One test binary, a module per area (see STYLE.md 18).

mod alerts;
mod architecture;
mod cli;
mod corpus;
mod experiment;
mod funnels;
mod incidents;
mod kafka;
mod lake;
mod notify;
mod sketch;
mod sql_files;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_postlaunch"))
}

/// Runs `postlaunch ARGS` and returns its output (any exit code).
pub fn run(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .env_remove("POSTLAUNCH_LAKE")
        .env_remove("RUST_LOG")
        .output()
        .expect("the postlaunch binary runs")
}

/// Runs `postlaunch ARGS`, asserting exit code 0.
pub fn ok(args: &[&str]) -> Output {
    let out = run(args);
    assert!(
        out.status.success(),
        "postlaunch {args:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Rows of a query as JSON objects.
pub fn sql(lake: &Path, query: &str) -> Vec<Value> {
    let out = ok(&[
        "sql",
        "-q",
        "--lake",
        lake.to_str().unwrap(),
        "--format",
        "json",
        query,
    ]);
    match serde_json::from_slice(&out.stdout).expect("sql --format json prints JSON") {
        Value::Array(rows) => rows,
        other => panic!("expected an array, got {other}"),
    }
}

/// A single integer from a one-row, one-column query.
pub fn sql_i64(lake: &Path, query: &str) -> i64 {
    let rows = sql(lake, query);
    let row = rows.first().and_then(Value::as_object).expect("one row");
    row.values()
        .next()
        .and_then(Value::as_i64)
        .expect("an integer")
}

/// A tiny deterministic generator for the random moments of the kill tests.
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// `postlaunch demo -q --lake LAKE ARGS…` (e.g. `--days`, `--scale`, `--tables`).
pub fn demo_lake(lake: &Path, args: &[&str]) {
    let mut all = vec!["demo", "-q", "--lake", lake.to_str().unwrap()];
    all.extend(args);
    ok(&all);
}

/// `postlaunch demo --emit DIR --tables requests` for `days` at `scale`; returns the file.
pub fn emit_requests(dir: &Path, days: &str, scale: &str, malformed: bool) -> PathBuf {
    let mut args = vec![
        "demo",
        "-q",
        "--emit",
        dir.to_str().unwrap(),
        "--tables",
        "requests",
    ];
    args.extend(["--days", days, "--scale", scale]);
    if !malformed {
        args.push("--no-malformed");
    }
    ok(&args);
    dir.join("requests.ndjson")
}
