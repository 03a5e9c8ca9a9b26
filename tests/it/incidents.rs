//! `postlaunch incident …` and `postlaunch incidents`: an incident's life recorded from the
//! command line, measured against the protocol's SLOs, its post-mortem skeleton; the errors.

use std::path::Path;

use serde_json::Value;

use crate::{ok, run, sql_i64};

/// `postlaunch incident ARGS… --lake LAKE`.
fn incident(lake: &Path, args: &[&str]) -> String {
    let mut all = vec!["incident"];
    all.extend(args);
    all.extend(["--lake", lake.to_str().unwrap(), "--author", "alice", "-q"]);
    String::from_utf8(ok(&all).stdout).unwrap()
}

fn measured(lake: &Path, at: &str) -> Vec<Value> {
    let out = ok(&[
        "incidents",
        "-q",
        "--lake",
        lake.to_str().unwrap(),
        "--all-columns",
        "--format",
        "json",
        "--at",
        at,
    ]);
    serde_json::from_slice(&out.stdout).unwrap()
}

fn close(v: &Value, expected: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - expected).abs() < 1e-6)
}

const HOSTILE: &str = "checkout <script>alert(1)</script> \"><img src=x onerror=alert(2)> | *boom*";

#[test]
fn an_incident_recorded_from_the_command_line_is_measured_against_the_protocol() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let id = incident(
        &lake,
        &[
            "open",
            "--severity",
            "P1",
            "--service",
            "checkout",
            "--title",
            HOSTILE,
            "--at",
            "2026-11-20T10:05:00Z",
            "--impact-start",
            "2026-11-20T10:00:00Z",
        ],
    );
    assert_eq!(id.trim(), "INC-2026-001");
    let id = id.trim();
    for (args, at) in [
        (vec!["ack", id], "2026-11-20T10:09:00Z"),
        (
            vec![
                "update",
                id,
                "-m",
                "rolling back to 2.3.9",
                "--status",
                "mitigating",
            ],
            "2026-11-20T10:15:00Z",
        ),
        (
            vec![
                "update",
                id,
                "-m",
                "errors back to normal",
                "--status",
                "mitigated",
            ],
            "2026-11-20T10:25:00Z",
        ),
        (vec!["update", id, "-m", "watching"], "2026-11-20T10:50:00Z"),
        (vec!["resolve", id], "2026-11-20T11:30:00Z"),
        (
            vec![
                "action",
                id,
                "--id",
                "A1",
                "-m",
                "alert on payment 502s <b>per provider</b>",
            ],
            "2026-11-20T12:00:00Z",
        ),
        (
            vec!["action", id, "--id", "A2", "-m", "runbook for the provider"],
            "2026-11-20T12:01:00Z",
        ),
        (
            vec!["action", id, "--id", "A2", "--state", "done"],
            "2026-11-21T09:00:00Z",
        ),
        (
            vec![
                "postmortem",
                id,
                "--url",
                "https://wiki.example.com/pm/INC-2026-001",
            ],
            "2026-11-21T10:00:00Z",
        ),
    ] {
        let mut a = args.clone();
        a.extend(["--at", at]);
        incident(&lake, &a);
    }
    let rows = measured(&lake, "2026-11-25T00:00:00Z");
    assert_eq!(rows.len(), 1, "{rows:?}");
    let r = &rows[0];
    assert_eq!(r["incident_id"], "INC-2026-001");
    assert_eq!(r["state"], "closed");
    assert_eq!(r["impact_start_from"], "recorded");
    // no `alerts` table: nothing to judge detection by
    assert!(r["mttd_s"].is_null() && r["blind_spot"].is_null(), "{r}");
    // nobody paged: MTTA and response count from the detection (10:05)
    assert!(close(&r["mtta_s"], 240.0), "{r}"); // 10:05 → 10:09
    assert!(close(&r["response_s"], 600.0), "{r}"); // 10:05 → 10:15 mitigating
    assert!(close(&r["time_to_mitigate_s"], 1500.0), "{r}"); // 10:00 → 10:25
    assert!(close(&r["mttr_s"], 5400.0), "{r}"); // 10:00 → 11:30
                                                 // updates at 10:09, 10:15, 10:25, 10:50, 11:30: gaps 4, 6, 10, 25, 40 min; P1 owes one every
                                                 // 15 min → two late, the longest 40 min
    assert_eq!(r["updates"], 5);
    assert_eq!(r["late_updates"], 2);
    assert!(close(&r["max_update_gap_s"], 2400.0), "{r}");
    // post-mortem 22.5 h after the resolution: on time
    assert_eq!(r["postmortem_late"], false);
    assert_eq!(
        (r["actions_open"].as_u64(), r["actions_done"].as_u64()),
        (Some(1), Some(1))
    );
    // stored once, replaced when measured again
    measured(&lake, "2026-11-26T00:00:00Z");
    assert_eq!(sql_i64(&lake, "SELECT count(*) FROM incident_metrics"), 1);
    // the roll-ups: resolution 1.5 h < 2 h, response 10 min < 15 min, post-mortem on time
    let out = ok(&[
        "incidents",
        "--lake",
        lake.to_str().unwrap(),
        "--at",
        "2026-11-25T00:00:00Z",
        "--check",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("met  P1 resolution"), "{text}");
    assert!(text.contains("met  P1 response"), "{text}");
    assert!(text.contains("no data  P1 detection"), "{text}");
    // a second incident, resolved in 3 h: --check finds the missed SLO (exit 1)
    let second = incident(
        &lake,
        &[
            "open",
            "--severity",
            "p1",
            "--title",
            "search down",
            "--at",
            "2026-11-22T01:00:00Z",
        ],
    );
    assert_eq!(second.trim(), "INC-2026-002");
    incident(
        &lake,
        &["resolve", "INC-2026-002", "--at", "2026-11-22T04:00:00Z"],
    );
    let out = run(&[
        "incidents",
        "-q",
        "--lake",
        lake.to_str().unwrap(),
        "--at",
        "2026-11-25T00:00:00Z",
        "--check",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("MISSED  P1 resolution") && text.contains("1 of 2 within"),
        "{text}"
    );
    // the post-mortem of INC-2026-002 is overdue on the 25th: a late one
    let rows = measured(&lake, "2026-11-25T00:00:00Z");
    let late = rows
        .iter()
        .find(|r| r["incident_id"] == "INC-2026-002")
        .unwrap();
    assert_eq!(late["postmortem_late"], true, "{late}");

    // the post-mortem skeleton: the timeline, the figures, every event string escaped
    let md = incident(&lake, &["postmortem", id, "--template"]);
    assert!(
        md.starts_with("# Post-mortem: INC-2026-001 — checkout &lt;script&gt;"),
        "{md}"
    );
    for needle in [
        "| 2026-11-20 10:05:00 | incident | detected — alice |",
        "| 2026-11-20 10:15:00 | incident | mitigating: rolling back to 2.3.9 — alice |",
        "| MTTR (impact start → resolved) | 90 min |",
        "| A1 | open | alert on payment 502s &lt;b&gt;per provider&lt;/b&gt; | _ | _ |",
        "| A2 | done | runbook for the provider | _ | _ |",
        "WHERE service = 'checkout' AND ts >= TIMESTAMP '2026-11-20 10:00:00'",
        "## Root cause and trigger",
    ] {
        assert!(md.contains(needle), "missing {needle:?} in\n{md}");
    }
    assert!(
        !md.contains("<script>") && !md.contains("<img") && !md.contains("<b>"),
        "{md}"
    );
    let file = dir.path().join("pm.md");
    incident(
        &lake,
        &["postmortem", id, "--template", "-o", file.to_str().unwrap()],
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), md);
}

#[test]
fn bad_incident_commands_say_what_is_wrong_with_usage_and_config_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let l = lake.to_str().unwrap();
    let code = |args: &[&str]| {
        let out = run(args);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    // no incidents yet
    let (c, e) = code(&["incidents", "--lake", l]);
    assert_eq!(c, Some(64), "{e}");
    assert!(e.contains("no `incidents` table"), "{e}");
    let (c, e) = code(&["incident", "ack", "INC-2026-404", "--lake", l]);
    assert_eq!(c, Some(64), "{e}");
    assert!(e.contains("no incident `INC-2026-404`"), "{e}");
    let (c, e) = code(&[
        "incident",
        "open",
        "--severity",
        "P7",
        "--title",
        "x",
        "--lake",
        l,
    ]);
    assert_eq!(c, Some(64), "{e}");
    assert!(e.contains("P7") && e.contains("P1, P2, P3 or P4"), "{e}");
    let (c, e) = code(&[
        "incident",
        "open",
        "--severity",
        "P2",
        "--title",
        "x",
        "--at",
        "yesterday-ish",
        "--lake",
        l,
    ]);
    assert_eq!(c, Some(64), "{e}");
    assert!(e.contains("--at") && e.contains("yesterday-ish"), "{e}");
    ok(&[
        "incident",
        "open",
        "-q",
        "--severity",
        "P2",
        "--title",
        "x",
        "--id",
        "OPS-7",
        "--lake",
        l,
    ]);
    let (c, e) = code(&[
        "incident",
        "open",
        "--severity",
        "P2",
        "--title",
        "y",
        "--id",
        "OPS-7",
        "--lake",
        l,
    ]);
    assert_eq!(c, Some(64), "{e}");
    assert!(e.contains("`OPS-7` exists already"), "{e}");
    let (c, e) = code(&["incident", "action", "OPS-7", "--id", "A1", "--lake", l]);
    assert_eq!(c, Some(64), "{e}");
    assert!(e.contains("give its text with -m"), "{e}");
    let (c, e) = code(&[
        "incidents",
        "--lake",
        l,
        "--from",
        "2026-11-10",
        "--to",
        "2026-11-01",
    ]);
    assert_eq!(c, Some(64), "{e}");
    assert!(e.contains("is not before"), "{e}");
    // a rules file whose [incidents] is wrong: exit 78 naming the file and the key
    let rules = dir.path().join("alerts.toml");
    std::fs::write(&rules, "[incidents.slo]\nresolution = \"2 hours\"\n").unwrap();
    let (c, e) = code(&["incidents", "--lake", l, "--rules", rules.to_str().unwrap()]);
    assert_eq!(c, Some(78), "{e}");
    assert!(e.contains("alerts.toml") && e.contains("2 hours"), "{e}");
}
