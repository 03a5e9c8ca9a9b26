//! Command-line behaviour: exit codes, messages that name the bad value, read-only SQL,
//! idempotent re-ingest, stdin and gzip input.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::{bin, ok, run, sql, sql_i64};

fn request(i: usize) -> String {
    format!(
        r#"{{"ts":"2026-11-27T{:02}:{:02}:00Z","service":"api","endpoint":"GET /x","status":200,"duration_ms":{i}}}"#,
        i % 24,
        i % 60
    )
}

fn write_requests(path: &std::path::Path, n: usize) {
    let mut f = std::fs::File::create(path).unwrap();
    for i in 0..n {
        writeln!(f, "{}", request(i)).unwrap();
    }
}

#[test]
fn exit_codes_and_messages_name_the_bad_value() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let lake = lake.to_str().unwrap();

    // usage: unknown table, unknown flag value, missing file
    let out = run(&["ingest", "--lake", lake, "--table", "request", "x.ndjson"]);
    assert_eq!(out.status.code(), Some(64));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`request`") && err.contains("requests"),
        "{err}"
    );
    let out = run(&[
        "ingest",
        "--lake",
        lake,
        "--table",
        "requests",
        "--memory-budget",
        "lots",
        "x",
    ]);
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`lots`"));
    let out = run(&[
        "ingest",
        "--lake",
        lake,
        "--table",
        "requests",
        "/does/not/exist.ndjson",
    ]);
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/does/not/exist.ndjson"));
    let out = run(&["demo", "--lake", lake, "--scale", "0"]);
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--scale is 0, expected"));

    // config: a schema folder without schemas
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = run(&["schema", "--schemas", empty.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(78),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // sql over a lake that does not exist
    let out = run(&["sql", "--lake", "/no/such/lake", "SELECT 1"]);
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/no/such/lake"));

    // runtime: a query error; found: --fail-on-rows
    let f = dir.path().join("r.ndjson");
    write_requests(&f, 10);
    ok(&[
        "ingest",
        "-q",
        "--lake",
        lake,
        "--table",
        "requests",
        f.to_str().unwrap(),
    ]);
    let out = run(&["sql", "--lake", lake, "SELECT nope FROM requests"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope"));
    let out = run(&[
        "sql",
        "-q",
        "--lake",
        lake,
        "--fail-on-rows",
        "SELECT * FROM requests WHERE status >= 200",
    ]);
    assert_eq!(out.status.code(), Some(1));
    ok(&[
        "sql",
        "-q",
        "--lake",
        lake,
        "--fail-on-rows",
        "SELECT * FROM requests WHERE status >= 500",
    ]);
}

#[test]
fn sql_is_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let f = dir.path().join("r.ndjson");
    write_requests(&f, 5);
    ok(&[
        "ingest",
        "-q",
        "--lake",
        lake.to_str().unwrap(),
        "--table",
        "requests",
        f.to_str().unwrap(),
    ]);
    // `COPY` and `CREATE EXTERNAL TABLE` point into this test's own temporary folder, not a fixed
    // `/tmp` path: parallel runs do not collide, nothing is left behind, and a file there can only
    // come from this run's `COPY`.
    let copy_to = dir.path().join("copy.parquet");
    let copy = format!("COPY requests TO '{}'", copy_to.display());
    let external = format!(
        "CREATE EXTERNAL TABLE x STORED AS PARQUET LOCATION '{}'",
        dir.path().display()
    );
    for stmt in [
        "INSERT INTO requests SELECT * FROM requests",
        "DELETE FROM requests",
        "CREATE TABLE t AS SELECT 1",
        "DROP TABLE requests",
        &copy,
        &external,
        "SET datafusion.execution.batch_size = 1",
    ] {
        let out = run(&["sql", "--lake", lake.to_str().unwrap(), stmt]);
        assert_ne!(out.status.code(), Some(0), "{stmt} must be refused");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("read-only") || err.contains("not supported"),
            "{stmt}: {err}"
        );
    }
    assert!(
        !copy_to.exists(),
        "the refused `COPY` wrote `{}`",
        copy_to.display()
    );
    assert_eq!(sql_i64(&lake, "SELECT count(*) FROM requests"), 5);
}

/// Regression (issue 13): on a lake without rejections, `SELECT … FROM _rejected` failed with
/// "table not found" (the message printed three times), as did an event table the lake had no
/// data for yet. Tables the schemas define read as empty, with their columns; a table nobody
/// defines still fails, with one message naming it.
#[test]
fn defined_tables_without_data_read_as_empty_and_unknown_tables_fail_once() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let l = lake.to_str().unwrap();
    let f = dir.path().join("r.ndjson");
    write_requests(&f, 10);
    ok(&[
        "ingest",
        "-q",
        "--lake",
        l,
        "--table",
        "requests",
        f.to_str().unwrap(),
    ]);
    assert!(
        !lake.join("_rejected").exists() && !lake.join("incidents").exists(),
        "the clean file must leave the lake without `_rejected` and `incidents`"
    );
    assert_eq!(sql_i64(&lake, "SELECT count(*) FROM requests"), 10);

    for (table, first_column) in [
        ("_rejected", "received_at"),
        ("\"_rejected\"", "received_at"),
        ("incidents", "ts"),
    ] {
        assert_eq!(
            sql_i64(&lake, &format!("SELECT count(*) FROM {table}")),
            0,
            "{table}"
        );
        assert!(
            sql(&lake, &format!("SELECT * FROM {table}")).is_empty(),
            "{table}"
        );
        // the columns are there: the schema's, then the partition columns
        let out = ok(&["sql", "-q", "--lake", l, &format!("SELECT * FROM {table}")]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains(&format!("(no rows; columns: {first_column}, "))
                && text.contains(", date, hour)"),
            "{table}: {text}"
        );
    }
    let out = ok(&[
        "sql",
        "-q",
        "--lake",
        l,
        "SELECT reason, count(*) FROM _rejected GROUP BY reason",
    ]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("(no rows"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let out = run(&["sql", "--lake", l, "SELECT * FROM nope"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("nope") && err.contains("not found"), "{err}");
    assert_eq!(
        err.matches("nope").count(),
        1,
        "the message is repeated: {err}"
    );
}

#[test]
fn re_ingesting_the_same_file_stores_nothing_twice_and_appended_lines_are_picked_up() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let lake_s = lake.to_str().unwrap();
    let f = dir.path().join("r.ndjson");
    write_requests(&f, 1000);
    let f_s = f.to_str().unwrap();
    ok(&["ingest", "-q", "--lake", lake_s, "--table", "requests", f_s]);
    let out = ok(&["ingest", "--lake", lake_s, "--table", "requests", f_s]);
    let summary = String::from_utf8_lossy(&out.stderr);
    assert!(summary.contains("1,000 skipped"), "{summary}");
    assert_eq!(sql_i64(&lake, "SELECT count(*) FROM requests"), 1000);

    // a log file that grew: only the new lines are stored
    let mut a = std::fs::OpenOptions::new().append(true).open(&f).unwrap();
    for i in 1000..1100 {
        writeln!(a, "{}", request(i)).unwrap();
    }
    drop(a);
    ok(&["ingest", "-q", "--lake", lake_s, "--table", "requests", f_s]);
    assert_eq!(sql_i64(&lake, "SELECT count(*) FROM requests"), 1100);
    assert_eq!(
        sql_i64(&lake, "SELECT count(DISTINCT duration_ms) FROM requests"),
        1100
    );
}

#[test]
fn stdin_and_gzip_inputs_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let lake_s = lake.to_str().unwrap();
    let gz = dir.path().join("r.ndjson.gz");
    let mut enc =
        flate2::write::GzEncoder::new(std::fs::File::create(&gz).unwrap(), Default::default());
    for i in 0..300 {
        writeln!(enc, "{}", request(i)).unwrap();
    }
    enc.finish().unwrap();
    ok(&[
        "ingest",
        "-q",
        "--lake",
        lake_s,
        "--table",
        "requests",
        gz.to_str().unwrap(),
    ]);

    let mut child = Command::new(bin())
        .args(["ingest", "-q", "--lake", lake_s, "--table", "requests", "-"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut stdin = child.stdin.take().unwrap();
        for i in 0..200 {
            writeln!(stdin, "{}", request(i)).unwrap();
        }
    }
    assert!(child.wait().unwrap().success());
    assert_eq!(sql_i64(&lake, "SELECT count(*) FROM requests"), 500);
    // partition columns are there and pruning by them works
    let rows = sql(&lake, "SELECT hour, count(*) AS n FROM requests WHERE date = '2026-11-27' AND hour = '05' GROUP BY hour");
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0]["n"],
        (0..300).filter(|i| i % 24 == 5).count() + (0..200).filter(|i| i % 24 == 5).count()
    );
}

#[test]
fn events_properties_are_queryable_by_key() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let f = dir.path().join("e.ndjson");
    std::fs::write(
        &f,
        concat!(
            r#"{"ts":"2026-11-27T13:00:00Z","event":"purchase","user_id":"u1","revenue":30,"properties":{"plan":"pro","items":3,"utm":{"source":"mail"}}}"#,
            "\n",
            r#"{"ts":"2026-11-27T13:00:01Z","event":"purchase","user_id":"u2","revenue":10,"properties":{"plan":"free","items":1}}"#,
            "\n",
            r#"{"ts":"2026-11-27T13:00:02Z","event":"visit","anonymous_id":"a1"}"#,
            "\n"
        ),
    )
    .unwrap();
    ok(&[
        "ingest",
        "-q",
        "--lake",
        lake.to_str().unwrap(),
        "--table",
        "events",
        f.to_str().unwrap(),
    ]);
    let rows = sql(
        &lake,
        "SELECT json_get_str(properties, 'plan') AS plan, sum(json_get_num(properties, 'items')) AS items, \
         max(json_get_str(properties, 'utm.source')) AS utm FROM events GROUP BY 1 ORDER BY 1",
    );
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["plan"], "free");
    assert_eq!(rows[1]["plan"], "pro");
    assert_eq!(rows[1]["items"], 3.0);
    assert_eq!(rows[1]["utm"], "mail");
    assert!(rows[2]["plan"].is_null());
}

#[test]
fn hourly_rejects_bad_hours_queries_and_baselines_with_the_value_named() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let file = dir.path().join("r.ndjson");
    write_requests(&file, 30);
    let l = lake.to_str().unwrap();
    ok(&[
        "ingest",
        "-q",
        "--lake",
        l,
        "--table",
        "requests",
        file.to_str().unwrap(),
    ]);
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["--hour", "2026-11-27 13"],
            64,
            "`2026-11-27 13` is not an hour",
        ),
        (
            &["--from", "2026-11-27T13", "--to", "2026-11-27T10"],
            64,
            "must be before",
        ),
        (
            &["--hour", "2026-11-27T13", "--only", "nope"],
            64,
            "`nope` is not a query",
        ),
    ];
    for (extra, code, needle) in cases {
        let mut args = vec!["hourly", "--lake", l];
        args.extend_from_slice(extra);
        let out = run(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(*code), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    let pipeline = dir.path().join("p.toml");
    std::fs::write(
        &pipeline,
        "[kafka]\nbrokers = \"b:1\"\ngroup_id = \"g\"\n[[topics]]\ntopic = \"t\"\ntable = \"requests\"\n\
         [hourly.baseline]\nkind = \"launch\"\nfrom = \"2026-11-09T00:00:00Z\"\nto = \"2026-11-02T00:00:00Z\"\n",
    )
    .unwrap();
    let out = run(&[
        "hourly",
        "--lake",
        l,
        "--pipeline",
        pipeline.to_str().unwrap(),
        "--all",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{err}");
    assert!(
        err.contains("`hourly.baseline.from` (2026-11-09T00:00:00Z) must be before"),
        "{err}"
    );
    // and a good run: 24 hours of data, every hour computed, the day rolled up
    let out = ok(&["hourly", "--lake", l, "--all"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("24 hours computed") && err.contains("1 days"),
        "{err}"
    );
    assert_eq!(
        sql_i64(
            &lake,
            "SELECT sum(requests) FROM daily_service_metrics WHERE version = '*'"
        ),
        30
    );
}
