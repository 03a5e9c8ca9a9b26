//! `postlaunch alerts replay` on the two-week demo, and the alert rules through `validate`.
//!
//! The demo's story (src/demo/scenario/mod.rs) is the oracle: an error burst on checkout's
//! payment endpoint 2026-11-06 19:40–20:10 (incident INC-2026-001), a 15 % 503 burst on search
//! 2026-11-13 03:10–03:30, and nothing else that should page. The rules are the shipped
//! `pipelines/alerts.toml`.

use std::path::Path;

use serde_json::Value;

use crate::{demo_lake, ok, run};

/// `alerts replay --format json` of `lake` with the shipped rules: every transition.
pub fn replay(lake: &Path) -> Vec<Value> {
    let out = ok(&[
        "alerts",
        "replay",
        "-q",
        "--lake",
        lake.to_str().unwrap(),
        "--rules",
        concat!(env!("CARGO_MANIFEST_DIR"), "/pipelines/alerts.toml"),
        "--format",
        "json",
    ]);
    match serde_json::from_slice(&out.stdout).expect("alerts replay --format json prints JSON") {
        Value::Array(rows) => rows,
        other => panic!("expected an array, got {other}"),
    }
}

fn field<'a>(row: &'a Value, name: &str) -> &'a str {
    row.get(name).and_then(Value::as_str).unwrap_or_default()
}

/// Whether a transition raised an alert to `sev` (firing or escalated).
fn raised(row: &Value, sev: &str) -> bool {
    field(row, "severity") == sev && matches!(field(row, "change"), "firing" | "escalated")
}

fn within(row: &Value, from: &str, to: &str) -> bool {
    let t = field(row, "event_time");
    t >= from && t < to
}

#[test]
fn the_demo_replay_finds_the_incident_and_pages_for_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    demo_lake(&lake, &["--days", "14", "--tables", "requests,metrics"]);
    let rows = replay(&lake);
    let summary: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{} {} {} {} {}",
                field(r, "event_time"),
                field(r, "rule"),
                field(r, "entity"),
                field(r, "change"),
                field(r, "severity")
            )
        })
        .collect();
    // INC-2026-001: the checkout error burst pages (P2 or P1) within its 30 minutes.
    let incident = rows.iter().find(|r| {
        field(r, "rule") == "error_rate"
            && field(r, "entity") == "checkout"
            && (raised(r, "P1") || raised(r, "P2"))
            && within(r, "2026-11-06T19:40", "2026-11-06T20:10")
    });
    assert!(
        incident.is_some(),
        "no page for INC-2026-001:\n{}",
        summary.join("\n")
    );
    // No P1 on any service but checkout; no P1/P2 outside the two real error bursts.
    for r in &rows {
        let line = format!(
            "{} {} {}",
            field(r, "event_time"),
            field(r, "rule"),
            field(r, "entity")
        );
        if raised(r, "P1") {
            assert_eq!(field(r, "entity"), "checkout", "P1 elsewhere: {line}");
        }
        if raised(r, "P1") || raised(r, "P2") {
            let in_burst = within(r, "2026-11-06T19:40", "2026-11-06T20:20")
                || within(r, "2026-11-13T03:10", "2026-11-13T03:40");
            assert!(
                in_burst,
                "a page outside the demo's incidents: {line}\n{}",
                summary.join("\n")
            );
        }
    }
    // Both bursts end long before the story does: every alert that was raised is resolved, and
    // its last transition is the resolution.
    for r in rows.iter().filter(|r| field(r, "change") == "firing") {
        let last = rows
            .iter()
            .rfind(|x| {
                field(x, "rule") == field(r, "rule") && field(x, "entity") == field(r, "entity")
            })
            .unwrap();
        assert_eq!(field(last, "change"), "resolved", "{}", summary.join("\n"));
    }
}

#[test]
fn alert_rules_are_validated_with_file_line_and_expectation() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = ok(&["validate", &format!("{root}/pipelines/alerts.toml")]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("alert rules error_rate (3 bands)"), "{text}");
    // the pipeline file names the rules; validating it checks them too
    let out = ok(&["validate", &format!("{root}/pipelines/demo.toml")]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("alerts.toml` (5 rules)"));
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("alerts.toml");
    std::fs::write(
        &bad,
        "[[rule]]\nname = \"e\"\nkind = \"error_rate\"\nbands = [\n  { severity = \"P2\", above = 0.05 },\n  { severity = \"P1\", above = 0.01 },\n]\n",
    )
    .unwrap();
    let out = run(&["validate", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("alerts.toml`, line 6") && err.contains("overlaps"),
        "{err}"
    );
    // a replay with it refuses to start, with the same message
    let out = run(&[
        "alerts",
        "replay",
        "--lake",
        dir.path().to_str().unwrap(),
        "--rules",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(78));
    let out = run(&[
        "alerts",
        "replay",
        "--lake",
        dir.path().to_str().unwrap(),
        "--from",
        "yesterday",
    ]);
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--from"));
}
