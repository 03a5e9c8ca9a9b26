//! The DDSketch SQL functions through `postlaunch sql` on a demo lake: sketch percentiles are
//! within α = 1 % of the exact percentiles of the same rank rule, and hourly sketches stored in a
//! Parquet BINARY column merge into the same answers.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{BinaryArray, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use serde_json::Value;

use crate::{demo_lake, sql};

/// The relative accuracy of SQL `ddsketch(value)`; float rounding at bucket edges adds ~1e-15.
const ALPHA: f64 = 0.01;

const LEVELS: [(&str, f64); 4] = [("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99)];

/// Exact percentiles per service with the sketch's rank rule: 0-based rank ⌊q·(n − 1)⌋ of the
/// sorted values (numpy `quantile(x, q, method="lower")`), computed by ordering the raw rows.
fn exact_sql() -> String {
    let columns: Vec<String> = LEVELS
        .iter()
        .map(|(name, q)| {
            format!("max(CASE WHEN r = CAST(floor({q} * (n - 1)) AS BIGINT) THEN duration_ms END) AS {name}")
        })
        .collect();
    format!(
        "WITH ranked AS (SELECT service, duration_ms, \
           row_number() OVER (PARTITION BY service ORDER BY duration_ms) - 1 AS r, \
           count(*) OVER (PARTITION BY service) AS n FROM requests) \
         SELECT service, max(n) AS n, {} FROM ranked GROUP BY service ORDER BY service",
        columns.join(", ")
    )
}

/// `SELECT service, n, p50, … FROM <from> GROUP BY service` with the sketch expression `s`.
fn sketch_sql(s: &str, from: &str) -> String {
    let columns: Vec<String> = LEVELS
        .iter()
        .map(|(name, q)| format!("ddsketch_quantile({s}, {q}) AS {name}"))
        .collect();
    format!(
        "SELECT service, ddsketch_count({s}) AS n, {} FROM {from} GROUP BY service ORDER BY service",
        columns.join(", ")
    )
}

fn assert_within_alpha(exact: &[Value], approx: &[Value], what: &str) {
    assert_eq!(exact.len(), approx.len(), "{what}: services");
    assert!(exact.len() >= 3, "{what}: the demo has several services");
    for (e, a) in exact.iter().zip(approx) {
        assert_eq!(e["service"], a["service"], "{what}");
        assert_eq!(e["n"], a["n"], "{what}: ddsketch_count is exact");
        for (name, _) in LEVELS {
            let (x, y) = (e[name].as_f64().unwrap(), a[name].as_f64().unwrap());
            assert!(
                (y - x).abs() <= ALPHA * x * (1.0 + 1e-9),
                "{what}: {} {name}: sketch {y}, exact {x}, relative error {}",
                e["service"],
                (y - x).abs() / x
            );
        }
    }
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Writes one Parquet file per hour into `<lake>/<table>/date=…/hour=…/`, a `service` column
/// and a BINARY `sketch` column, as an hourly job would.
fn write_hourly_sketches(lake: &Path, table: &str, rows: &[Value]) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("service", DataType::Utf8, false),
        Field::new("sketch", DataType::Binary, true),
    ]));
    let mut hours: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r["date"].as_str().unwrap(), r["hour"].as_str().unwrap()))
        .collect();
    hours.sort();
    hours.dedup();
    for (date, hour) in hours {
        let here: Vec<&Value> = rows
            .iter()
            .filter(|r| r["date"] == date && r["hour"] == hour)
            .collect();
        let services =
            StringArray::from_iter_values(here.iter().map(|r| r["service"].as_str().unwrap()));
        let sketches: Vec<Vec<u8>> = here
            .iter()
            .map(|r| unhex(r["s"].as_str().unwrap()))
            .collect();
        let sketches = BinaryArray::from_iter_values(sketches.iter().map(Vec::as_slice));
        let batch =
            RecordBatch::try_new(schema.clone(), vec![Arc::new(services), Arc::new(sketches)])
                .unwrap();
        let dir = lake
            .join(table)
            .join(format!("date={date}"))
            .join(format!("hour={hour}"));
        std::fs::create_dir_all(&dir).unwrap();
        let file = std::fs::File::create(dir.join("part-0.parquet")).unwrap();
        let mut writer = parquet::arrow::ArrowWriter::try_new(file, schema.clone(), None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
    }
}

#[test]
fn sketch_percentiles_are_within_alpha_of_exact_ones_directly_and_from_stored_hourly_sketches() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    demo_lake(&lake, &["--days", "1", "--scale", "0.2"]);
    let exact = sql(&lake, &exact_sql());

    // 1. GROUP BY service over raw rows (partial + final aggregation over many files).
    let direct = sql(&lake, &sketch_sql("ddsketch(duration_ms)", "requests"));
    assert_within_alpha(&exact, &direct, "ddsketch over raw rows");

    // 2. Hourly sketches, stored as Parquet BINARY, merged back per service.
    let hourly = sql(
        &lake,
        "SELECT service, date, hour, encode(ddsketch(duration_ms), 'hex') AS s \
         FROM requests GROUP BY service, date, hour",
    );
    assert!(hourly.len() >= 24, "{} hourly rows", hourly.len());
    write_hourly_sketches(&lake, "hourly_latency_sketch", &hourly);
    let merged = sql(
        &lake,
        &sketch_sql("ddsketch_merge(sketch)", "hourly_latency_sketch"),
    );
    assert_within_alpha(
        &exact,
        &merged,
        "ddsketch_merge over stored hourly sketches",
    );
    // Merging hourly sketches gives exactly the percentiles of one sketch over the whole day.
    assert_eq!(merged, direct);

    // A corrupt stored sketch is a clear error, not a crash.
    let out = crate::run(&[
        "sql",
        "-q",
        "--lake",
        lake.to_str().unwrap(),
        "SELECT ddsketch_quantile(X'01ff', 0.5)",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad sketch bytes"), "{stderr}");
}
