//! The malformed records: twelve fixed bad lines (truncated JSON, out of range values,
//! missing fields, wrong types, a non-object) that
//! [`ScenarioConfig::malformed`](super::ScenarioConfig::malformed) adds
//! to the tables they belong to, so that validation and the `_rejected` path have
//! something to catch.
//!
//! Each line goes into the hour that a fixed fraction of the period selects; adding
//! them draws no random numbers, so every other line stays the same.

use super::buffer::{Pending, RecKind};
use super::plan::Plan;
use super::writer::push_ts;
use super::{
    DEPLOYMENTS, EVENTS, EXPOSURES, FEEDBACK, METRICS, MINUTE, REQUESTS, SECOND, WEB_VITALS,
};

/// A fixed bad line: its table, where in the period it goes, and its text.
pub(super) struct Malformed {
    pub(super) table: usize,
    /// Fraction of the period that selects the hour.
    at: f64,
    /// What is wrong with it.
    #[cfg_attr(not(test), allow(dead_code, reason = "documentation, read by tests"))]
    pub(super) why: &'static str,
    line: BadLine,
}

enum BadLine {
    /// `{"ts":"<the record time>"` followed by this text.
    AfterTs(&'static str),
    /// This text as it is.
    Verbatim(&'static str),
}

impl Malformed {
    pub(super) fn write(&self, b: &mut Vec<u8>, ts: i64) {
        match self.line {
            BadLine::AfterTs(rest) => {
                b.extend_from_slice(br#"{"ts":""#);
                push_ts(b, ts);
                b.push(b'"');
                b.extend_from_slice(rest.as_bytes());
            }
            BadLine::Verbatim(line) => b.extend_from_slice(line.as_bytes()),
        }
    }
}

const fn bad(table: usize, at: f64, why: &'static str, line: BadLine) -> Malformed {
    Malformed {
        table,
        at,
        why,
        line,
    }
}

/// The twelve malformed lines of [`ScenarioConfig::malformed`](super::ScenarioConfig::malformed).
pub(super) const MALFORMED: [Malformed; 12] = [
    bad(
        REQUESTS,
        0.05,
        "truncated JSON",
        BadLine::AfterTs(r#","service":"api","endpoint":"GET /api/ca"#),
    ),
    bad(
        REQUESTS,
        0.12,
        "status out of range",
        BadLine::AfterTs(r#","service":"web","endpoint":"GET /","status":999,"duration_ms":12.5}"#),
    ),
    bad(
        REQUESTS,
        0.2,
        "required `service` missing",
        BadLine::AfterTs(r#","endpoint":"GET /api/cart","status":200,"duration_ms":40.1}"#),
    ),
    bad(
        REQUESTS,
        0.33,
        "negative duration",
        BadLine::AfterTs(
            r#","service":"api","endpoint":"GET /api/cart","status":200,"duration_ms":-5}"#,
        ),
    ),
    bad(
        REQUESTS,
        0.41,
        "unparseable time",
        BadLine::Verbatim(
            r#"{"ts":"yesterday","service":"auth","endpoint":"GET /api/auth/session","status":200,"duration_ms":18.0}"#,
        ),
    ),
    bad(
        WEB_VITALS,
        0.5,
        "device outside the enum",
        BadLine::AfterTs(r#","name":"LCP","value":2100.0,"page":"/","device":"fridge"}"#),
    ),
    bad(
        FEEDBACK,
        0.55,
        "rating above 5",
        BadLine::AfterTs(r#","source":"app_review","rating":7,"text":"Seven stars!"}"#),
    ),
    bad(
        EVENTS,
        0.62,
        "neither user_id nor anonymous_id",
        BadLine::AfterTs(r#","event":"purchase","revenue":19.99,"properties":{}}"#),
    ),
    bad(METRICS, 0.7, "not an object", BadLine::Verbatim("[1,2]")),
    bad(
        METRICS,
        0.78,
        "a string where a number is expected",
        BadLine::AfterTs(
            r#","name":"cpu_utilization","value":"high","unit":"ratio","service":"api","host":"api-1"}"#,
        ),
    ),
    bad(
        EXPOSURES,
        0.86,
        "required `variant` missing",
        BadLine::AfterTs(r#","experiment":"checkout_redesign","user_id":"u000001"}"#),
    ),
    bad(
        DEPLOYMENTS,
        0.93,
        "phase outside the enum",
        BadLine::AfterTs(
            r#","service":"web","version":"2.1.1","strategy":"rolling","phase":"paused"}"#,
        ),
    ),
];

/// Adds the malformed lines that fall into `hour` (starting at `t0`) to the buffers of
/// the enabled tables, a few seconds apart so that each has its own time.
pub(super) fn add_hour(
    plan: &Plan,
    hour: usize,
    t0: i64,
    enabled: &[bool; 8],
    pending: &mut [Pending; 8],
) {
    for (i, m) in MALFORMED.iter().enumerate() {
        if enabled[m.table] && plan.hour_of_fraction(m.at) == hour {
            let ts = t0 + 17 * MINUTE + i as i64 * 7 * SECOND;
            let out = &mut pending[m.table];
            let at = out.begin();
            m.write(&mut out.arena, ts);
            out.commit_as(at, ts, RecKind::Malformed);
        }
    }
}
