//! Alerting: the rules of `pipelines/alerts.toml` evaluated on event time, producing alert
//! **state transitions** (pending, firing, escalated, de-escalated, resolved). Routing them to
//! people is not this module's business: whatever delivers them takes [`Transition`]s.
//!
//! The analysis' shape, as every analysis: [`config`] (the rules) → `sql/alert/` (the requests
//! and metric samples of a range, for [`replay`]) → [`engine`] (steps of event time closed by a
//! watermark; per rule and entity a [`family`] of bands decided by a GLR-CUSUM on the counts,
//! [`crate::stats::cusum`]) → transitions, printed by `postlaunch alerts replay`.
//!
//! One engine serves every path: `alerts replay` feeds it history from the lake in event-time
//! order; the live path feeds it the batches the ingest daemon decodes. The decision depends only
//! on the events and their times, so both agree on the same events.

pub mod config;
pub mod engine;
pub mod family;
pub mod live;
pub mod output;
pub mod replay;
pub mod review;
pub mod silence;
pub mod slow;
pub mod state;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

pub use config::AlertsFile;
pub use engine::Engine;

/// Severity, P1 (critical) the highest: `P1 > P2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Severity {
    /// Low, info: anomalies and trends.
    P4,
    /// Medium, warning.
    P3,
    /// High, degraded.
    P2,
    /// Critical, service down.
    P1,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::P1 => "P1",
            Severity::P2 => "P2",
            Severity::P3 => "P3",
            Severity::P4 => "P4",
        })
    }
}

/// What happened to an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// The condition holds, waiting for the rule's `for`.
    Pending,
    /// The alert fires (a human is to be told).
    Firing,
    /// A higher band holds: the same alert, more severe.
    Escalated,
    /// The higher band cleared (for `keep_firing_for`), a lower one still holds.
    DeEscalated,
    /// No band holds any more (or a pending alert's condition cleared).
    Resolved,
}

impl Change {
    pub fn name(self) -> &'static str {
        match self {
            Change::Pending => "pending",
            Change::Firing => "firing",
            Change::Escalated => "escalated",
            Change::DeEscalated => "de-escalated",
            Change::Resolved => "resolved",
        }
    }
}

/// One state transition of one alert, with the evidence that decided it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transition {
    /// Event time of the decision: the end of the step that was evaluated (µs since the epoch).
    pub event_time: i64,
    pub rule: String,
    /// `service` or `host`.
    pub entity_kind: String,
    pub entity: String,
    pub change: Change,
    /// The severity after the change (for `resolved`, the one that was firing or pending).
    pub severity: Severity,
    /// The severity before (escalations, de-escalations, resolutions).
    pub previous: Option<Severity>,
    /// The rule's value over the window: a share of 5xx, a latency percentile (ms), a mean.
    pub value: Option<f64>,
    /// The threshold of the band that decided (`above`).
    pub threshold: f64,
    /// The window of `value`, seconds.
    pub window_s: f64,
    /// Requests (samples, for gauges) in the window.
    pub requests: u64,
    /// Of them, bad ones for the deciding band (5xx, slower than the level); 0 for gauges.
    pub bad: u64,
    /// Rate rules: the sequential test's statistic G of the deciding band, against `evidence`.
    /// SLO rules: the short window's burn rate (`value` is the long window's).
    pub statistic: Option<f64>,
    /// Rate rules: the span that decided — when it began (the estimate of when the change began)
    /// and its requests and bad ones. At a fast decision the window is still mostly from before
    /// the change; `bad / n` of the span is the rate now.
    pub onset: Option<family::Onset>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub runbook: Option<String>,
    /// The silence (its ID) that keeps this transition from people: it is stored and logged,
    /// not notified ([`silence`]).
    pub silenced: Option<String>,
}

/// Errors of alerting.
#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    #[error(transparent)]
    Sql(#[from] crate::query::sql::SqlError),
    #[error(transparent)]
    Query(#[from] crate::query::QueryError),
    #[error("{0}")]
    Rules(String),
}
