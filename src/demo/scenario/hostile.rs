//! The hostile records: valid events whose strings are what a page must show as text — markup
//! (`<script>`, `"><img onerror=…>`), right-to-left overrides, emoji and a very long route —
//! that [`ScenarioConfig::hostile`](super::ScenarioConfig::hostile) adds, so that every page,
//! report and message is shown to escape them (the dashboards' and reports' browser tests look
//! for them).
//!
//! Like the malformed lines, each goes into the hour a fixed fraction of the period selects and
//! draws no random numbers, so every other record stays the same.

use super::buffer::{Pending, RecKind};
use super::plan::Plan;
use super::writer::push_ts;
use super::{FEEDBACK, MINUTE, REQUESTS, SECOND};

/// Markup that would run or inject an element if a page spliced it in unescaped.
pub const SCRIPT: &str = "<script>alert(\"postlaunch-xss\")</script>";
/// An attribute break-out with an event handler.
pub const IMG: &str = "\"><img src=x onerror=alert(1)>";
/// Right-to-left text with an override character, and emoji.
pub const RTL: &str = "\u{202e}مرحبا 🚀🔥\u{202c}";

/// A hostile line: its table, where in the period it goes, and its text after `{"ts":"…"`.
struct Hostile {
    table: usize,
    at: f64,
    rest: String,
}

fn json(s: &str) -> String {
    serde_json::to_string(s).expect("a string serializes")
}

fn lines() -> Vec<Hostile> {
    let long = format!("GET /{}", "a-very-long-route-segment/".repeat(16));
    vec![
        Hostile {
            table: REQUESTS,
            at: 0.47,
            rest: format!(
                r#","service":"web","endpoint":{},"status":404,"duration_ms":35.5,"version":{},"error_message":{},"trace_id":"hostile-1"}}"#,
                json(&format!("GET /search/{IMG}")),
                json(&format!("2.0.0{SCRIPT}")),
                json(&format!("{SCRIPT} {IMG} {RTL}"))
            ),
        },
        Hostile {
            table: REQUESTS,
            at: 0.48,
            rest: format!(
                r#","service":"web","endpoint":{},"status":200,"duration_ms":41.0,"trace_id":"hostile-2"}}"#,
                json(&format!("GET /{RTL}/{SCRIPT}"))
            ),
        },
        Hostile {
            table: REQUESTS,
            at: 0.49,
            rest: format!(
                r#","service":"web","endpoint":{},"status":200,"duration_ms":52.25,"trace_id":"hostile-3"}}"#,
                json(&long)
            ),
        },
        Hostile {
            table: FEEDBACK,
            at: 0.5,
            rest: format!(
                r#","source":"in_app","category":{},"text":{}}}"#,
                json(IMG),
                json(&format!(
                    "{SCRIPT} {RTL} {}",
                    "very long feedback ".repeat(20)
                ))
            ),
        },
    ]
}

/// Adds the hostile records that fall into `hour` (starting at `t0`) to the buffers of the
/// enabled tables.
pub(super) fn add_hour(
    plan: &Plan,
    hour: usize,
    t0: i64,
    enabled: &[bool; 8],
    pending: &mut [Pending; 8],
) {
    for (i, h) in lines().iter().enumerate() {
        if enabled[h.table] && plan.hour_of_fraction(h.at) == hour {
            let ts = t0 + 23 * MINUTE + i as i64 * 11 * SECOND;
            let out = &mut pending[h.table];
            let at = out.begin();
            out.arena.extend_from_slice(br#"{"ts":""#);
            push_ts(&mut out.arena, ts);
            out.arena.push(b'"');
            out.arena.extend_from_slice(h.rest.as_bytes());
            out.commit_as(at, ts, RecKind::OnTime);
        }
    }
}
