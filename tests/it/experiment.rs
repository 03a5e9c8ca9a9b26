//! `postlaunch experiment analyze` and `postlaunch impact` on the demo: the true effect of
//! `checkout_redesign` is found with the right sign and the split passes the sample-ratio check;
//! the skewed demo (`--srm-skew`, 55/45) fails it; the regressing `checkout@2.4.0` shows its p95
//! rise and backfires its hypothesis; results land in `experiment_results` and
//! `deployment_impact` without duplicates.

use std::path::Path;

use serde_json::Value;

use crate::{demo_lake, ok, run, sql};

fn config() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("pipelines/experiments.toml")
        .display()
        .to_string()
}

/// A 14-day demo lake of only `tables` (fast in a debug build), without malformed lines.
fn two_weeks(lake: &Path, scale: &str, tables: &str, extra: &[&str]) {
    let mut args = vec![
        "--days",
        "14",
        "--scale",
        scale,
        "--tables",
        tables,
        "--no-malformed",
    ];
    args.extend(extra);
    demo_lake(lake, &args);
}

/// A demo lake with only the tables experiments read from events, at a scale where a +12 %
/// conversion lift is detectable over the 14 days.
fn demo(lake: &Path, extra: &[&str]) {
    two_weeks(lake, "3", "events,exposures", extra);
}

fn analyze(lake: &Path, extra: &[&str]) -> (i32, Value) {
    let config = config();
    let mut args = vec![
        "experiment",
        "analyze",
        "checkout_redesign",
        "-q",
        "--lake",
        lake.to_str().unwrap(),
        "--config",
        &config,
        "--format",
        "json",
    ];
    args.extend(extra);
    let out = run(&args);
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), json)
}

fn row<'a>(readout: &'a Value, metric: &str) -> &'a Value {
    readout["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["metric"] == metric)
        .unwrap_or_else(|| panic!("no row for `{metric}` in {readout:#}"))
}

#[test]
fn demo_effect_is_detected_with_the_right_sign_and_srm_passes() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    demo(&lake, &[]);
    let (code, readout) = analyze(&lake, &["--window", "14d"]);
    assert_eq!(code, 0, "{readout:#}");
    assert!(!readout["srm_failed"].as_bool().unwrap());
    assert!(readout["srm"]["p_value"].as_f64().unwrap() > 0.001);
    // The demo's truth: begin_checkout → purchase is 12 % more likely in treatment.
    let conv = row(&readout, "checkout_conversion");
    assert_eq!(conv["significant"], true, "{conv:#}");
    assert!(conv["effect"].as_f64().unwrap() > 0.0);
    assert!(conv["effect_ci"]["low"].as_f64().unwrap() > 0.0);
    let rel = conv["relative_effect"].as_f64().unwrap();
    assert!((0.04..0.2).contains(&rel), "relative effect {rel}");
    assert!(conv["verdict"].as_str().unwrap().starts_with("better"));
    // Multi-variant users are excluded and counted (the demo shows ~0.3 % both variants).
    assert!(readout["excluded_multi_variant_units"].as_u64().unwrap() >= 1);
    // Guardrails need `requests`, which this lake lacks: no ship verdict without them.
    assert!(
        readout["verdict"]
            .as_str()
            .unwrap()
            .starts_with("keep measuring"),
        "{}",
        readout["verdict"]
    );

    // Stored in the lake, once per (experiment, analysis time, window), readable by SQL.
    let (code, _) = analyze(&lake, &["--window", "14d"]);
    assert_eq!(code, 0);
    let rows = sql(
        &lake,
        "SELECT metric, significant, srm_p_value FROM experiment_results WHERE metric = 'checkout_conversion'",
    );
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["significant"], true);

    // A 48-hour readout says it is provisional and never prints "no effect".
    let (code, short) = analyze(&lake, &["--at", "2026-11-10T12:00:00Z"]);
    assert_eq!(code, 0);
    assert_eq!(short["window_hours"], 48);
    let text = short.to_string();
    assert!(text.contains("no full week"), "{text}");
    assert!(!text.to_lowercase().contains("no effect"));
    let out = ok(&[
        "experiment",
        "analyze",
        "checkout_redesign",
        "-q",
        "--no-write",
        "--lake",
        lake.to_str().unwrap(),
        "--config",
        &config(),
        "--at",
        "2026-11-10T12:00:00Z",
    ]);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("Verdict:") && report.contains("provisional"),
        "{report}"
    );
    let all = sql(&lake, "SELECT count(*) AS n FROM experiment_results");
    assert_eq!(all[0]["n"], 10, "two readouts of five metrics");
}

/// Every number of `a` and `b` agrees to `rtol` (sums added in another order differ in the last
/// bits); everything else is equal. `statistics` (where the sums came from) is skipped.
fn assert_same_readout(a: &Value, b: &Value, rtol: f64, at: &str) {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!(
                (x - y).abs() <= rtol * x.abs().max(y.abs()),
                "{at}: {x} vs {y}"
            );
        }
        (Value::Object(x), Value::Object(y)) => {
            assert_eq!(
                x.keys().collect::<Vec<_>>(),
                y.keys().collect::<Vec<_>>(),
                "{at}"
            );
            for (k, v) in x.iter().filter(|(k, _)| k.as_str() != "statistics") {
                assert_same_readout(v, &y[k], rtol, &format!("{at}.{k}"));
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{at}");
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                assert_same_readout(v, w, rtol, &format!("{at}[{i}]"));
            }
        }
        _ => assert_eq!(a, b, "{at}"),
    }
}

/// A readout that scans stores the hourly statistics of at least 7 days; a later readout at the
/// same analysis time whose window fits (7 days after 48 hours, 48 hours after 14 days) adds up
/// stored hours instead of scanning raw events, with the same result as a scan; a late event
/// from before the analysis time, or a changed metric definition, makes it scan again.
#[test]
fn later_readouts_add_up_stored_hours_until_late_events_arrive() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    two_weeks(&lake, "1", "events,exposures", &[]);
    let at = ["--at", "2026-11-16T00:00:00Z"];
    let scanned = |r: &Value| r["statistics"] == "scanned from the raw events";
    let added = |r: &Value, hours: u64| {
        let s = r["statistics"].as_str().unwrap();
        s.contains(&format!(
            "added up from the stored hourly statistics of {hours} hours"
        ))
    };
    let readout = |extra: &[&str]| analyze(&lake, &[&at[..], extra].concat()).1;

    // 48 hours first: it scans and stores 168 hours; the 7-day readout then adds them up.
    let short = readout(&["--window", "48h"]);
    assert!(scanned(&short), "{}", short["statistics"]);
    let week = readout(&["--window", "7d", "--no-write"]);
    assert!(added(&week, 168), "{}", week["statistics"]);
    assert_same_readout(
        &week,
        &readout(&["--window", "7d", "--no-write", "--rescan"]),
        1e-12,
        "7d",
    );
    let long = readout(&["--window", "14d"]);
    assert!(scanned(&long), "{}", long["statistics"]);

    // The smallest stored file that covers the window serves it.
    let short = readout(&["--window", "48h", "--no-write"]);
    assert!(added(&short, 168), "{}", short["statistics"]);
    let rescan = readout(&["--window", "48h", "--no-write", "--rescan"]);
    assert!(scanned(&rescan));
    assert_same_readout(&short, &rescan, 1e-12, "48h");
    let again = readout(&["--window", "14d", "--no-write"]);
    assert!(added(&again, 336), "{}", again["statistics"]);
    assert_same_readout(&again, &long, 1e-12, "14d");
    // Unit counts, the sample-ratio check and the multi-variant exclusion come from the stored
    // unit rows too.
    assert!(
        short["units"]["control"].as_u64().unwrap() > 50,
        "{}",
        short["units"]
    );

    // A late purchase (before the analysis time) by a unit of the window makes the stored sums
    // stale: the next readout scans and sees it.
    let user = sql(
        &lake,
        "SELECT user_id FROM exposures GROUP BY user_id \
         HAVING min(ts) >= TIMESTAMP '2026-11-15T00:00:00Z' AND count(DISTINCT variant) = 1 \
         ORDER BY user_id LIMIT 1",
    )[0]["user_id"]
        .as_str()
        .unwrap()
        .to_string();
    let late = dir.path().join("late.ndjson");
    std::fs::write(
        &late,
        format!(
            "{{\"ts\":\"2026-11-15T23:30:00Z\",\"event\":\"purchase\",\"user_id\":\"{user}\",\"session_id\":\"s-late\",\"platform\":\"web\",\"revenue\":5000.0}}\n"
        ),
    )
    .unwrap();
    ok(&[
        "ingest",
        "-q",
        "--lake",
        lake.to_str().unwrap(),
        "-t",
        "events",
        late.to_str().unwrap(),
    ]);
    let (_, after) = analyze(
        &lake,
        &[&at[..], &["--window", "48h", "--no-write"]].concat(),
    );
    assert!(scanned(&after), "{}", after["statistics"]);
    let revenue = |r: &Value| {
        let row = row(r, "revenue_per_user");
        row["control_value"].as_f64().unwrap() + row["variant_value"].as_f64().unwrap()
    };
    assert!(
        revenue(&after) > revenue(&short) + 1.0,
        "the late purchase counts"
    );

    // Stored again after the late event (14 days), reused again: the stale 168-hour file is
    // passed over for the fresh 336-hour one. A different metric definition under the same
    // name is not reused.
    readout(&["--window", "14d"]);
    let again = readout(&["--window", "48h", "--no-write"]);
    assert!(added(&again, 336), "{}", again["statistics"]);
    assert_same_readout(&again, &after, 1e-12, "after the late event");
    let changed = dir.path().join("experiments.toml");
    std::fs::write(
        &changed,
        std::fs::read_to_string(config()).unwrap().replace(
            "denominator_event = \"begin_checkout\"",
            "denominator_event = \"add_to_cart\"",
        ),
    )
    .unwrap();
    let out = ok(&[
        "experiment",
        "analyze",
        "checkout_redesign",
        "-q",
        "--lake",
        lake.to_str().unwrap(),
        "--config",
        changed.to_str().unwrap(),
        "--format",
        "json",
        "--no-write",
        at[0],
        at[1],
        "--window",
        "48h",
    ]);
    let changed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(scanned(&changed), "{}", changed["statistics"]);
}

#[test]
fn skewed_demo_fails_the_srm_check() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    demo(&lake, &["--srm-skew"]);
    let (code, readout) = analyze(&lake, &["--window", "14d", "--fail-on-srm", "--no-write"]);
    assert_eq!(code, 1, "--fail-on-srm exits 1 on a mismatch: {readout:#}");
    assert_eq!(readout["srm_failed"], true);
    assert!(readout["srm"]["p_value"].as_f64().unwrap() < 0.001);
    assert!(readout["verdict"]
        .as_str()
        .unwrap()
        .starts_with("do not trust"));
    assert!(row(&readout, "checkout_conversion")["flags"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f == "srm"));
}

#[test]
fn bad_usage_and_config_have_their_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    std::fs::create_dir_all(&lake).unwrap();
    let out = run(&[
        "experiment",
        "analyze",
        "no_such_experiment",
        "--lake",
        lake.to_str().unwrap(),
        "--config",
        &config(),
    ]);
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("checkout_redesign"));
    // Windows are whole hours of first exposure: an analysis time off the hour is refused.
    let out = run(&[
        "experiment",
        "analyze",
        "checkout_redesign",
        "--lake",
        lake.to_str().unwrap(),
        "--config",
        &config(),
        "--at",
        "2026-11-10T14:30",
    ]);
    assert_eq!(out.status.code(), Some(64));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("--at is 2026-11-10T14:30:00Z, expected a time on the hour"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[experiment]]\nkey = \"x\"\ncontrol = \"c\"\nalpha = 2.0\n[[experiment.metric]]\nname = \"m\"\nrole = \"goal\"\nkind = \"binary\"\nevent = \"purchase\"\n",
    )
    .unwrap();
    let out = run(&[
        "experiment",
        "analyze",
        "x",
        "--lake",
        lake.to_str().unwrap(),
        "--config",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`alpha` is 2"));

    // `postlaunch validate` knows experiments files by name.
    ok(&["validate", &config()]);
    let named = dir.path().join("experiments.toml");
    std::fs::copy(&bad, &named).unwrap();
    let out = run(&["validate", named.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`alpha` is 2"));
}

/// `postlaunch impact` on the demo's regressing canary `checkout@2.4.0`: p95 latency rises by
/// about 30 % (the demo's truth), the "faster checkout" hypothesis of
/// `pipelines/optimizations.toml` backfires, and the report lands in `deployment_impact`.
#[test]
fn impact_shows_the_checkout_p95_regression_and_the_backfire() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    two_weeks(&lake, "1", "requests,deployments", &[]);
    let optimizations = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("pipelines/optimizations.toml")
        .display()
        .to_string();
    let args = [
        "impact",
        "-q",
        "--lake",
        lake.to_str().unwrap(),
        "--deployment",
        "checkout@2.4.0",
        "--optimizations",
        &optimizations,
        "--format",
        "json",
    ];
    let out = ok(&args);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["baseline"], "the same hours one week earlier");
    let p95 = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["comparison"] == "before_after" && r["metric"] == "p95_latency_ms")
        .expect("p95 row");
    assert_eq!(p95["significant"], true, "{p95:#}");
    let rel = p95["relative_effect"].as_f64().unwrap();
    assert!((0.15..0.5).contains(&rel), "p95 change {rel}");
    assert!(p95["relative_ci"]["low"].as_f64().unwrap() > 0.0);
    assert_eq!(p95["hypothesis_result"], "backfire");
    assert_eq!(report["backfire"], true);
    assert!(report["verdict"].as_str().unwrap().starts_with("BACKFIRE"));
    // Canary deployments also get canary-against-baseline rows.
    assert!(report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["comparison"] == "canary"));

    // --fail-on-backfire exits 1; the report is stored once per deployment and window.
    let mut failing = args.to_vec();
    failing.push("--fail-on-backfire");
    assert_eq!(run(&failing).status.code(), Some(1));
    let rows = sql(
        &lake,
        "SELECT backfire, hypothesis_result FROM deployment_impact WHERE metric = 'p95_latency_ms' AND comparison = 'before_after'",
    );
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["backfire"], true);

    // An API change without a regression: nothing backfires.
    let out = ok(&[
        "impact",
        "-q",
        "--no-write",
        "--lake",
        lake.to_str().unwrap(),
        "--deployment",
        "api@3.2.0",
        "--optimizations",
        &optimizations,
        "--format",
        "json",
    ]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["backfire"], false, "{:#}", report["verdict"]);

    let out = run(&[
        "impact",
        "--lake",
        lake.to_str().unwrap(),
        "--deployment",
        "checkout@9.9.9",
    ]);
    assert_eq!(out.status.code(), Some(64));
    let out = run(&[
        "impact",
        "--lake",
        lake.to_str().unwrap(),
        "--deployment",
        "checkout",
    ]);
    assert_eq!(out.status.code(), Some(64));
    ok(&["validate", &optimizations]);
}
