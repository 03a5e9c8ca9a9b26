//! Unit tests of the scenario: determinism, table filtering, every line against its
//! schema in `schemas/`, the malformed lines, ordering and lateness, and the story's
//! facts (the regression, the experiment, the feature launch, the feedback spike,
//! the timeline), plus the JSON writer's number and time formatting.

use std::collections::hash_map::DefaultHasher;
use std::hash::Hasher;

use chrono::SecondsFormat;
use serde_json::{Map, Value};

use super::malformed::MALFORMED;
use super::writer::{push_fixed, push_hex, push_i64, push_padded, push_ts};
use super::*;

type Lines = BTreeMap<String, Vec<Vec<u8>>>;

fn cfg(days: u32, tables: &[&str]) -> ScenarioConfig {
    ScenarioConfig {
        days,
        tables: tables.iter().map(|t| (*t).to_owned()).collect(),
        ..ScenarioConfig::default()
    }
}

/// Generates and keeps every line, by table.
fn run(cfg: &ScenarioConfig) -> (Scenario, Lines) {
    let mut lines = Lines::new();
    let scenario = generate(cfg, &mut |table, line| {
        lines
            .entry(table.to_owned())
            .or_default()
            .push(line.to_vec());
        Ok(())
    })
    .expect("generation succeeds");
    (scenario, lines)
}

/// Hash of every (table, line) in emission order.
fn digest(cfg: &ScenarioConfig) -> (u64, u64) {
    let mut h = DefaultHasher::new();
    let mut n = 0;
    generate(cfg, &mut |table, line| {
        h.write(table.as_bytes());
        h.write(line);
        n += 1;
        Ok(())
    })
    .expect("generation succeeds");
    (h.finish(), n)
}

fn parse(line: &[u8]) -> Map<String, Value> {
    match serde_json::from_slice(line) {
        Ok(Value::Object(o)) => o,
        _ => panic!("not a JSON object: {}", String::from_utf8_lossy(line)),
    }
}

fn ts_ms(record: &Map<String, Value>) -> i64 {
    match &record["ts"] {
        Value::Number(n) => n.as_i64().expect("integer ts"),
        Value::String(s) => DateTime::parse_from_rfc3339(s)
            .expect("RFC 3339 ts")
            .timestamp_millis(),
        other => panic!("bad ts {other}"),
    }
}

fn schema(table: &str) -> Value {
    let path = format!("{}/schemas/{table}.schema.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("schema file is readable");
    serde_json::from_str(&text).expect("schema is JSON")
}

fn type_ok(ty: &str, v: &Value) -> bool {
    match ty {
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        _ => false,
    }
}

/// Checks a line against the subset of JSON Schema our schemas use; `Err` says why
/// it does not match. Unknown fields are errors too, to catch typos here.
fn validate(schema: &Value, line: &[u8]) -> Result<(), String> {
    let v: Value = serde_json::from_slice(line).map_err(|e| format!("not JSON: {e}"))?;
    let obj = v.as_object().ok_or("not an object")?;
    let has_all = |req: &Value| {
        req.as_array()
            .is_none_or(|r| r.iter().all(|k| obj.contains_key(k.as_str().unwrap_or(""))))
    };
    if !has_all(&schema["required"]) {
        return Err(format!("missing one of {}", schema["required"]));
    }
    if let Some(any) = schema["anyOf"].as_array() {
        if !any.iter().any(|branch| has_all(&branch["required"])) {
            return Err("no anyOf branch matches".into());
        }
    }
    for (key, val) in obj {
        let prop = schema["properties"]
            .get(key)
            .ok_or_else(|| format!("unknown field `{key}`"))?;
        let types: Vec<&str> = match &prop["type"] {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        if !types.is_empty() && !types.iter().any(|t| type_ok(t, val)) {
            return Err(format!("`{key}`: {val} is not {types:?}"));
        }
        if let Some(allowed) = prop["enum"].as_array() {
            if !allowed.contains(val) {
                return Err(format!("`{key}`: {val} not in enum"));
            }
        }
        if let (Some(min), Some(x)) = (prop["minimum"].as_f64(), val.as_f64()) {
            if x < min {
                return Err(format!("`{key}`: {x} < {min}"));
            }
        }
        if let (Some(max), Some(x)) = (prop["maximum"].as_f64(), val.as_f64()) {
            if x > max {
                return Err(format!("`{key}`: {x} > {max}"));
            }
        }
        if let (Some(min), Some(s)) = (prop["minLength"].as_u64(), val.as_str()) {
            if (s.chars().count() as u64) < min {
                return Err(format!("`{key}` is too short"));
            }
        }
        if prop["format"] == "date-time" {
            if let Some(s) = val.as_str() {
                DateTime::parse_from_rfc3339(s).map_err(|e| format!("`{key}`: {s}: {e}"))?;
            }
        }
        if let (Some(ty), Some(map)) = (
            prop["additionalProperties"]["type"].as_str(),
            val.as_object(),
        ) {
            if !map.values().all(|x| type_ok(ty, x)) {
                return Err(format!("`{key}`: values must be {ty}"));
            }
        }
        if let Some(x) = val.as_f64() {
            if !x.is_finite() {
                return Err(format!("`{key}` is not finite"));
            }
        }
    }
    Ok(())
}

#[test]
fn push_ts_matches_chrono() {
    for ms in [
        0,
        1_793_577_600_000,
        1_793_577_600_000 + 13 * HOUR + 5 * MINUTE + 7_123,
        951_782_400_000 - 1, // 2000-02-28T23:59:59.999 (leap year)
        4_102_444_799_999,   // 2099-12-31T23:59:59.999
        -86_400_000 + 5,
    ] {
        let mut b = Vec::new();
        push_ts(&mut b, ms);
        let expected = DateTime::<Utc>::from_timestamp_millis(ms)
            .expect("in range")
            .to_rfc3339_opts(SecondsFormat::Millis, true);
        assert_eq!(String::from_utf8(b).expect("ASCII"), expected, "ms {ms}");
    }
}

#[test]
fn number_writers() {
    let s = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = Vec::new();
        f(&mut b);
        String::from_utf8(b).expect("ASCII")
    };
    assert_eq!(s(&|b| push_fixed(b, 123.456, 1)), "123.5");
    assert_eq!(s(&|b| push_fixed(b, 0.04, 4)), "0.0400");
    assert_eq!(s(&|b| push_fixed(b, -5.0, 0)), "-5");
    assert_eq!(s(&|b| push_fixed(b, -0.0001, 2)), "0.00");
    assert_eq!(s(&|b| push_fixed(b, f64::NAN, 2)), "0.00");
    assert_eq!(s(&|b| push_padded(b, 42, 6)), "000042");
    assert_eq!(s(&|b| push_padded(b, 1_234_567, 6)), "1234567");
    assert_eq!(s(&|b| push_i64(b, i64::MIN)), i64::MIN.to_string());
    assert_eq!(s(&|b| push_hex(b, 0xABCDEF, 8)), "00abcdef");
}

#[test]
fn same_config_gives_identical_bytes() {
    let c = ScenarioConfig {
        malformed: true,
        ..cfg(2, &[])
    };
    let (a, n) = digest(&c);
    assert_eq!((a, n), digest(&c));
    assert!(n > 100_000, "{n} lines");
    let other = ScenarioConfig { seed: 7, ..c };
    assert_ne!(a, digest(&other).0);
}

#[test]
fn filtering_tables_does_not_change_the_others() {
    let (_, all) = run(&cfg(2, &[]));
    let subset = ["requests", "exposures", "feedback", "incidents"];
    let (scenario, some) = run(&cfg(2, &subset));
    assert_eq!(some.keys().map(String::as_str).collect::<Vec<_>>(), {
        let mut s = subset.to_vec();
        s.sort_unstable();
        s
    });
    assert_eq!(scenario.records.len(), subset.len());
    for table in subset {
        assert_eq!(all[table], some[table], "table {table}");
    }
}

#[test]
fn every_line_matches_its_schema() {
    let (scenario, lines) = run(&cfg(3, &[]));
    assert_eq!(scenario.malformed, 0);
    for table in ALL_TABLES {
        let schema = schema(table);
        let table_lines = &lines[table];
        assert!(!table_lines.is_empty(), "{table} is empty");
        assert_eq!(scenario.records[table], table_lines.len() as u64);
        let mut epoch_ts = 0;
        for line in table_lines {
            if let Err(why) = validate(&schema, line) {
                panic!("{table}: {why}: {}", String::from_utf8_lossy(line));
            }
            match &parse(line)["ts"] {
                Value::String(s) => {
                    assert!(
                        s.len() == 24 && s.ends_with('Z') && &s[19..20] == ".",
                        "{s}"
                    )
                }
                _ => epoch_ts += 1,
            }
        }
        let share = epoch_ts as f64 / table_lines.len() as f64;
        if table == "requests" {
            assert!((0.04..0.06).contains(&share), "epoch-ms ts share {share}");
        } else {
            assert_eq!(epoch_ts, 0, "{table}");
        }
    }
}

#[test]
fn malformed_lines_are_the_only_invalid_ones_and_change_nothing_else() {
    let (clean_scenario, clean) = run(&cfg(2, &[]));
    let (scenario, dirty) = run(&ScenarioConfig {
        malformed: true,
        ..cfg(2, &[])
    });
    assert_eq!(scenario.malformed, 12);
    assert_eq!(scenario.malformed_by_table.values().sum::<u64>(), 12);
    let mut invalid = 0;
    for table in ALL_TABLES {
        let schema = schema(table);
        let valid: Vec<Vec<u8>> = dirty[table]
            .iter()
            .filter(|l| validate(&schema, l).is_ok())
            .cloned()
            .collect();
        let bad = (dirty[table].len() - valid.len()) as u64;
        assert_eq!(
            bad,
            scenario.malformed_by_table.get(table).copied().unwrap_or(0),
            "{table}"
        );
        invalid += bad;
        assert_eq!(valid, clean[table], "{table}");
        assert_eq!(
            scenario.records[table],
            clean_scenario.records[table] + bad,
            "{table}"
        );
    }
    assert_eq!(invalid, 12);
}

#[test]
fn hostile_records_are_valid_and_change_nothing_else() {
    let small = ScenarioConfig {
        scale: 0.05,
        ..cfg(14, &["requests", "feedback"])
    };
    let (_, clean) = run(&small);
    let (_, hostile) = run(&ScenarioConfig {
        hostile: true,
        ..small.clone()
    });
    let mut added = 0;
    for table in ["requests", "feedback"] {
        let schema = schema(table);
        let before: std::collections::HashSet<&Vec<u8>> = clean[table].iter().collect();
        let extra: Vec<&Vec<u8>> = hostile[table]
            .iter()
            .filter(|l| !before.contains(l))
            .collect();
        for l in &extra {
            assert!(
                validate(&schema, l).is_ok(),
                "{}",
                String::from_utf8_lossy(l)
            );
            let text = String::from_utf8_lossy(l);
            assert!(
                text.contains("<script>")
                    || text.contains("onerror")
                    || text.contains(&"a-very-long-route-segment/".repeat(16)),
                "{text}"
            );
        }
        added += extra.len();
        let kept: Vec<&Vec<u8>> = hostile[table]
            .iter()
            .filter(|l| before.contains(l))
            .collect();
        assert_eq!(kept, clean[table].iter().collect::<Vec<_>>(), "{table}");
    }
    assert_eq!(added, 4);
}

#[test]
fn each_malformed_line_breaks_its_schema() {
    for m in &MALFORMED {
        let mut line = Vec::new();
        m.write(&mut line, 1_793_577_600_000);
        let table = ALL_TABLES[m.table];
        assert!(
            validate(&schema(table), &line).is_err(),
            "{table} line meant to be bad ({}) is valid: {}",
            m.why,
            String::from_utf8_lossy(&line)
        );
    }
}

#[test]
fn lines_are_in_ts_order_except_a_few_late_ones() {
    let (scenario, lines) = run(&cfg(2, &[]));
    let mut late_total = 0;
    for table in ALL_TABLES {
        let mut newest = i64::MIN;
        let mut late = 0;
        for line in &lines[table] {
            let ts = ts_ms(&parse(line));
            if ts < newest {
                late += 1;
                assert!(
                    newest - ts <= MAX_LATENESS_MS,
                    "{table}: {} ms late",
                    newest - ts
                );
            }
            newest = newest.max(ts);
            assert!(
                ts >= scenario.start.timestamp_millis() && ts < scenario.end.timestamp_millis()
            );
        }
        let share = late as f64 / lines[table].len() as f64;
        match table {
            "requests" | "web_vitals" | "events" => {
                assert!(share > 0.001 && share < 0.01, "{table}: {share}")
            }
            _ => assert_eq!(late, 0, "{table}"),
        }
        late_total += late;
    }
    assert!(
        late_total <= scenario.late,
        "{late_total} > {}",
        scenario.late
    );
}

/// p95 of a sample (nearest rank).
fn p95(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[((xs.len() as f64 * 0.95).ceil() as usize).saturating_sub(1)]
}

#[test]
fn regression_raises_checkout_p95_by_about_30_percent() {
    let (scenario, lines) = run(&cfg(4, &["requests"]));
    assert_eq!(scenario.regressing_deployment, "checkout@2.4.0");
    let cut = scenario.regression_completed_at.timestamp_millis();
    let ratio = |service: &str| {
        let (mut before, mut after) = (Vec::new(), Vec::new());
        for line in &lines["requests"] {
            let r = parse(line);
            if r["service"] == service {
                let d = r["duration_ms"].as_f64().expect("duration");
                if ts_ms(&r) < cut {
                    before.push(d);
                } else {
                    after.push(d);
                }
            }
        }
        assert!(before.len() > 2_000 && after.len() > 2_000);
        p95(after) / p95(before)
    };
    let checkout = ratio("checkout");
    assert!(
        (1.15..1.5).contains(&checkout),
        "checkout p95 ratio {checkout}"
    );
    let api = ratio("api");
    assert!((0.9..1.1).contains(&api), "api p95 ratio {api}");
}

/// Per variant: (users, begin_checkout events, purchases) of exposed users, and the
/// number of users seen with both variants.
fn experiment_stats(lines: &Lines) -> ([(usize, usize, usize); 2], usize) {
    let mut variant_of: BTreeMap<String, usize> = BTreeMap::new();
    let mut both = 0;
    let mut seen_both = std::collections::BTreeSet::new();
    for line in &lines["exposures"] {
        let r = parse(line);
        assert_eq!(r["experiment"], EXPERIMENT);
        let v = VARIANTS
            .iter()
            .position(|v| r["variant"] == *v)
            .expect("known variant");
        let user = r["user_id"].as_str().expect("user_id").to_owned();
        let first = *variant_of.entry(user.clone()).or_insert(v);
        if first != v && seen_both.insert(user) {
            both += 1;
        }
    }
    let mut stats = [(0, 0, 0); 2];
    for v in variant_of.values() {
        stats[*v].0 += 1;
    }
    for line in &lines["events"] {
        let r = parse(line);
        let Some(v) = r
            .get("user_id")
            .and_then(Value::as_str)
            .and_then(|u| variant_of.get(u))
        else {
            continue;
        };
        match r["event"].as_str() {
            Some("begin_checkout") => stats[*v].1 += 1,
            Some("purchase") => stats[*v].2 += 1,
            _ => {}
        }
    }
    (stats, both)
}

#[test]
fn treatment_converts_better_and_assignment_is_balanced() {
    let (scenario, lines) = run(&cfg(14, &["events", "exposures"]));
    assert_eq!(scenario.experiment, EXPERIMENT);
    let (stats, both) = experiment_stats(&lines);
    let conversion =
        |(_, checkouts, purchases): (usize, usize, usize)| purchases as f64 / checkouts as f64;
    let (control, treatment) = (conversion(stats[0]), conversion(stats[1]));
    assert!(
        treatment > control * 1.04,
        "treatment {treatment} vs control {control}"
    );
    assert!(
        (0.6..0.8).contains(&control),
        "control conversion {control}"
    );
    let users = (stats[0].0 + stats[1].0) as f64;
    let control_share = stats[0].0 as f64 / users;
    assert!((0.47..0.53).contains(&control_share), "{control_share}");
    assert!(
        both >= 1 && (both as f64) < users * 0.02,
        "{both} of {users}"
    );

    let skewed = ScenarioConfig {
        srm_skew: true,
        ..cfg(14, &["exposures"])
    };
    let (skewed_scenario, skewed_lines) = run(&skewed);
    assert_eq!(skewed_scenario.control_share, 0.55);
    let (stats, _) = experiment_stats(&Lines::from([
        ("exposures".to_owned(), skewed_lines["exposures"].clone()),
        ("events".to_owned(), Vec::new()),
    ]));
    let control_share = stats[0].0 as f64 / (stats[0].0 + stats[1].0) as f64;
    assert!((0.52..0.58).contains(&control_share), "{control_share}");
}

#[test]
fn new_feature_adoption_ramps_up_after_launch() {
    let (scenario, lines) = run(&cfg(14, &["events"]));
    let launch = scenario.new_feature_launched_at.timestamp_millis();
    let mut per_day = vec![0u32; 14];
    for line in &lines["events"] {
        let r = parse(line);
        if r["event"] == NEW_FEATURE {
            let ts = ts_ms(&r);
            assert!(ts >= launch);
            per_day[((ts - scenario.start.timestamp_millis()) / DAY) as usize] += 1;
        }
        if r["event"] == "purchase" {
            assert!(r["revenue"].as_f64().is_some_and(|x| x > 0.0));
        }
    }
    assert!(per_day[13] > 2 * per_day[7], "{per_day:?}");
}

#[test]
fn bug_tickets_spike_after_the_regression() {
    let (scenario, lines) = run(&cfg(14, &["feedback"]));
    let cut = scenario.regression_completed_at.timestamp_millis();
    let (mut before, mut after) = (0, 0);
    let (mut ratings, mut promoters, mut detractors, mut nps) = (Vec::new(), 0, 0, 0);
    for line in &lines["feedback"] {
        let r = parse(line);
        let ts = ts_ms(&r);
        match r["source"].as_str() {
            Some("support_ticket") if r["category"] == "bug" => {
                if (cut - DAY..cut).contains(&ts) {
                    before += 1;
                } else if (cut..cut + DAY).contains(&ts) {
                    after += 1;
                }
            }
            Some("app_review") => ratings.push(r["rating"].as_f64().expect("rating")),
            Some("nps") => {
                let score = r["score"].as_i64().expect("score");
                nps += 1;
                promoters += i32::from(score >= 9);
                detractors += i32::from(score <= 6);
            }
            _ => {}
        }
    }
    assert!(
        after > 2 * before,
        "bug tickets: {before} before, {after} after"
    );
    let mean = ratings.iter().sum::<f64>() / ratings.len() as f64;
    assert!((3.7..4.1).contains(&mean), "mean rating {mean}");
    let promoters = f64::from(promoters) / f64::from(nps);
    let detractors = f64::from(detractors) / f64::from(nps);
    assert!((0.40..0.50).contains(&promoters), "{promoters}");
    assert!((0.16..0.24).contains(&detractors), "{detractors}");
}

#[test]
fn default_story_facts() {
    let (scenario, lines) = run(&cfg(14, &["deployments", "incidents"]));
    assert_eq!(scenario.regressing_deployment, "checkout@2.4.0");
    assert_eq!(scenario.regressing_service, "checkout");
    assert_eq!(
        scenario.regression_completed_at.to_rfc3339(),
        "2026-11-10T14:25:00+00:00"
    );
    assert_eq!(scenario.rolled_back_deployment, "search@1.13.0");
    assert_eq!(scenario.incident_id, "INC-2026-001");
    assert_eq!(scenario.variants, ["control", "treatment"]);
    assert_eq!(scenario.records["deployments"], 14);
    assert_eq!(scenario.records["incidents"], 5);
    let statuses: Vec<String> = lines["incidents"]
        .iter()
        .map(|l| parse(l)["status"].as_str().expect("status").to_owned())
        .collect();
    assert_eq!(
        statuses,
        [
            "detected",
            "acknowledged",
            "mitigated",
            "resolved",
            "postmortem_published"
        ]
    );
    let burst = &scenario.error_bursts[0];
    assert_eq!(burst.endpoint, "POST /api/checkout/payment");
    assert_eq!(scenario.error_bursts[1].endpoint, "GET /api/search");
    assert_eq!(burst.incident_id.as_deref(), Some("INC-2026-001"));
    assert!(
        scenario.incident_detected_at > burst.start && scenario.incident_detected_at < burst.end
    );
    let phases: Vec<String> = lines["deployments"]
        .iter()
        .map(|l| parse(l)["phase"].as_str().expect("phase").to_owned())
        .collect();
    assert_eq!(phases.iter().filter(|p| *p == "rolled_back").count(), 1);
    assert_eq!(phases.iter().filter(|p| *p == "completed").count(), 6);
}

#[test]
fn short_periods_tell_the_same_story() {
    let (scenario, lines) = run(&cfg(1, &["deployments", "incidents"]));
    assert_eq!(scenario.records["deployments"], 14);
    assert_eq!(scenario.records["incidents"], 5);
    assert!(scenario.regression_completed_at < scenario.end);
    assert!(lines["incidents"]
        .iter()
        .all(|l| ts_ms(&parse(l)) < scenario.end.timestamp_millis()));
}

#[test]
fn volume_scales_linearly() {
    let count = |scale: f64| {
        let c = ScenarioConfig {
            scale,
            ..cfg(1, &["requests"])
        };
        digest(&c).1 as f64
    };
    let one = count(1.0);
    assert!((24_000.0..26_000.0).contains(&one), "{one} requests a day");
    let ratio = count(2.5) / one;
    assert!((2.4..2.6).contains(&ratio), "{ratio}");
}

#[test]
fn invalid_configurations_are_rejected() {
    let err = |c: ScenarioConfig| {
        generate(&c, &mut |_, _| Ok(()))
            .expect_err("rejected")
            .to_string()
    };
    assert!(err(cfg(0, &[])).contains("days (0)"));
    assert!(err(ScenarioConfig {
        scale: 0.0,
        ..cfg(1, &[])
    })
    .contains("scale (0)"));
    assert!(err(ScenarioConfig {
        scale: f64::NAN,
        ..cfg(1, &[])
    })
    .contains("scale (NaN)"));
    assert!(err(cfg(1, &["requests", "logs"])).contains("unknown table `logs`"));
}

#[test]
fn sink_errors_stop_the_generation() {
    let mut calls = 0;
    let result = generate(&cfg(1, &[]), &mut |_, _| {
        calls += 1;
        if calls == 10 {
            anyhow::bail!("disk full");
        }
        Ok(())
    });
    assert_eq!(result.expect_err("sink error").to_string(), "disk full");
    assert_eq!(calls, 10);
}
