//! Notifications: the alert engine's transitions routed to people — PagerDuty (Events API v2),
//! Slack (incoming webhook, Block Kit), e-mail (SMTP), Alertmanager (API v2) and a generic JSON
//! webhook — by the `[notify]` section of `pipelines/alerts.toml`.
//!
//! The shape, as for every stage: [`config`] (channels, routing by severity, grouping,
//! inhibition, repeat) → [`route`] (which channels hear a transition; which alerts mute which) →
//! [`queue`] (every notification written to disk before it is sent, so a crash between decision
//! and delivery loses no page, and a transition decided again after a restart is not sent twice)
//! → [`payload`] (each service's published request format) → [`send`] (HTTP and SMTP, outcomes
//! classified for retry) → [`worker`] (grouping, retries with backoff, the `notifications` table,
//! `/metrics`). [`worker::NotifyDeliver`] is the [`crate::alert::live::Deliver`] the live ingest
//! plugs in; it never sees silenced transitions.

pub mod config;
pub mod payload;
pub mod queue;
pub mod route;
pub mod send;
pub mod worker;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::alert::{Change, Severity, Transition};

/// A notification channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Pagerduty,
    Slack,
    Email,
    Alertmanager,
    Webhook,
}

impl Channel {
    pub const ALL: [Channel; 5] = [
        Channel::Pagerduty,
        Channel::Slack,
        Channel::Email,
        Channel::Alertmanager,
        Channel::Webhook,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Channel::Pagerduty => "pagerduty",
            Channel::Slack => "slack",
            Channel::Email => "email",
            Channel::Alertmanager => "alertmanager",
            Channel::Webhook => "webhook",
        }
    }
}

impl std::str::FromStr for Channel {
    type Err = String;
    fn from_str(s: &str) -> Result<Channel, String> {
        Channel::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| {
                format!("`{s}` is not a channel: expected pagerduty, slack, email, alertmanager or webhook")
            })
    }
}

/// What a notification says of one alert: the transition's facts, kept in the queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub rule: String,
    pub entity_kind: String,
    pub entity: String,
    /// `firing` (also escalated, de-escalated and repeats: the alert is on) or `resolved`.
    pub firing: bool,
    /// The transition: firing, escalated, de-escalated, resolved, repeat.
    pub change: String,
    pub severity: Severity,
    pub previous: Option<Severity>,
    pub value: Option<f64>,
    pub threshold: f64,
    pub window_s: f64,
    pub requests: u64,
    pub bad: u64,
    /// Event time of the transition (µs).
    pub event_time: i64,
    /// When the alert began firing (µs; the onset of the breach where known).
    pub since: i64,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub runbook: Option<String>,
}

impl Alert {
    /// The notification's view of a transition (`None` for `pending`: nobody is told yet).
    pub fn of(t: &Transition) -> Option<Alert> {
        let firing = match t.change {
            Change::Pending => return None,
            Change::Resolved => false,
            _ => true,
        };
        Some(Alert {
            rule: t.rule.clone(),
            entity_kind: t.entity_kind.clone(),
            entity: t.entity.clone(),
            firing,
            change: t.change.name().to_string(),
            severity: t.severity,
            previous: t.previous,
            value: t.value,
            threshold: t.threshold,
            window_s: t.window_s,
            requests: t.requests,
            bad: t.bad,
            event_time: t.event_time,
            since: t.onset.map_or(t.event_time, |o| o.since),
            labels: t.labels.clone(),
            annotations: t.annotations.clone(),
            runbook: t.runbook.clone(),
        })
    }

    /// An alert still firing before a restart (the `alerts` table's latest transition), as the
    /// router knows it: told on its channels, so its resolution goes out and nothing repeats.
    pub fn restored(a: &crate::alert::state::Active) -> Alert {
        Alert {
            rule: a.rule.clone(),
            entity_kind: a.entity_kind.clone(),
            entity: a.entity.clone(),
            firing: true,
            change: a.change.clone(),
            severity: a.severity,
            previous: None,
            value: None,
            threshold: f64::NAN,
            window_s: 0.0,
            requests: 0,
            bad: 0,
            event_time: a.event_time,
            since: a.onset.unwrap_or(a.event_time),
            labels: Default::default(),
            annotations: Default::default(),
            runbook: None,
        }
    }

    /// The alert's identity, stable across restarts and repeats: PagerDuty's `dedup_key`, the
    /// Alertmanager label set's core.
    pub fn key(&self) -> String {
        format!(
            "postlaunch/{}/{}/{}",
            self.rule, self.entity_kind, self.entity
        )
    }

    /// The identity of this transition (queue file names: a transition decided again after a
    /// restart has the same one, and is not sent twice).
    pub fn transition_key(&self) -> String {
        format!(
            "{}/{}/{}/{}",
            self.key(),
            self.change,
            self.severity,
            self.event_time
        )
    }
}

/// Errors of notifying.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("{0}")]
    Config(String),
    #[error("notification queue `{path}`: {source}")]
    Queue {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}
