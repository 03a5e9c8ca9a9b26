//! The bad-input corpus (`tests/corpus/bad_inputs.json`): every malformed record lands in
//! `_rejected` with a useful reason and its source position, and the good records around it are
//! stored.

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::Value;

use crate::{ok, sql, sql_i64};

const MAX_RECORD: usize = 2048;

fn payload(case: &Value) -> Vec<u8> {
    if let Some(hex) = case["payload_hex"].as_str() {
        return (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
    }
    let p = case["payload"].as_str().unwrap();
    if p == "OVERSIZE" {
        // a valid record, but over the limit
        return format!(
            r#"{{"ts":"2026-11-27T13:00:00Z","service":"api","endpoint":"GET /cart","status":200,"duration_ms":1,"error_message":"{}"}}"#,
            "x".repeat(MAX_RECORD * 2)
        )
        .into_bytes();
    }
    p.as_bytes().to_vec()
}

#[test]
fn every_bad_input_is_rejected_with_its_reason_and_the_good_ones_are_stored() {
    let corpus: Value =
        serde_json::from_str(include_str!("../corpus/bad_inputs.json")).expect("corpus is JSON");
    let cases = corpus["cases"].as_array().unwrap();
    assert!(
        cases.len() >= 30,
        "the corpus needs at least 30 distinct bad inputs"
    );
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let lake_s = lake.to_str().unwrap();

    // per table: good, bad, good, bad, ..., good
    let mut by_table: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for c in cases {
        by_table
            .entry(c["table"].as_str().unwrap())
            .or_default()
            .push(c);
    }
    let mut expected: Vec<(String, String, i64, String, Vec<u8>)> = Vec::new();
    for (table, cases) in &by_table {
        let good = corpus["good"][table]
            .as_str()
            .expect("a good record for every table");
        let path = dir.path().join(format!("{table}.ndjson"));
        let mut f = std::fs::File::create(&path).unwrap();
        let mut line = 0i64;
        writeln!(f, "{good}").unwrap();
        line += 1;
        for c in cases {
            let p = payload(c);
            f.write_all(&p).unwrap();
            f.write_all(b"\n").unwrap();
            line += 1;
            expected.push((
                c["name"].as_str().unwrap().to_string(),
                table.to_string(),
                line,
                c["reason"].as_str().unwrap().to_string(),
                p,
            ));
            writeln!(f, "{good}").unwrap();
            line += 1;
        }
        drop(f);
        ok(&[
            "ingest",
            "-q",
            "--lake",
            lake_s,
            "--table",
            table,
            "--max-record-bytes",
            &MAX_RECORD.to_string(),
            path.to_str().unwrap(),
        ]);
        assert_eq!(
            sql_i64(&lake, &format!("SELECT count(*) FROM {table}")),
            cases.len() as i64 + 1,
            "every good record of `{table}` is stored"
        );
    }

    let rows = sql(
        &lake,
        "SELECT target_table, source, position, reason, payload, payload_bytes FROM _rejected",
    );
    assert_eq!(rows.len(), cases.len(), "one `_rejected` row per bad input");
    for (name, table, line, reason, bytes) in &expected {
        let row = rows
            .iter()
            .find(|r| r["target_table"] == table.as_str() && r["position"] == *line)
            .unwrap_or_else(|| panic!("case `{name}`: no `_rejected` row for {table} line {line}"));
        let got = row["reason"].as_str().unwrap();
        assert!(
            got.contains(reason.as_str()),
            "case `{name}`: reason `{got}` lacks `{reason}`"
        );
        assert!(
            row["source"]
                .as_str()
                .unwrap()
                .ends_with(&format!("{table}.ndjson")),
            "case `{name}`: source is the file"
        );
        assert_eq!(
            row["payload_bytes"],
            bytes.len(),
            "case `{name}`: original size"
        );
        // payload comes back hex-encoded from JSON output; oversized records keep their first
        // --max-record-bytes only
        let hex: String = bytes
            .iter()
            .take(MAX_RECORD)
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            row["payload"].as_str().unwrap(),
            hex,
            "case `{name}`: raw payload kept"
        );
    }
}
