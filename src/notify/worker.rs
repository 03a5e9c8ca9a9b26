//! The notifier: [`NotifyDeliver`] takes the alert engine's transitions (it is a
//! [`Deliver`] that reaches people, so it never gets silenced ones), routes them and queues one
//! notification per channel on disk; a worker thread sends the queue — the alerts of one entity
//! queued within `group_wait` of each other as one notification (a group with a firing P1 —
//! `immediate` — goes at once), muted alerts (inhibition)
//! skipped, failures retried with exponential backoff (`backon`; a 429's `Retry-After` wins)
//! until `give_up_after` — and records every attempt in the lake's `notifications` table.
//!
//! Meta-monitoring: a channel whose attempts have failed for `channel_failing_after` raises a
//! P2 alert `notification_channel` about itself on the other channels, resolved by its next
//! success.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use arrow::array::{
    ArrayRef, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray, UInt32Array,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use backon::BackoffBuilder;

use super::config::NotifyConfig;
use super::payload::{self, Group};
use super::queue::{Item, Queue};
use super::route::Router;
use super::send::{self, Outcome};
use super::{Alert, Channel, NotifyError};
use crate::alert::live::Deliver;
use crate::alert::{Severity, Transition};
use crate::lake::layout::HOUR_MICROS;

/// The lake table of notification attempts.
pub const TABLE: &str = "notifications";

fn wall() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// What the deliverer and the worker share.
struct Shared {
    cfg: NotifyConfig,
    router: Mutex<Router>,
    queue: Queue,
    lake: PathBuf,
    metrics: Option<crate::metrics::Metrics>,
    stop: AtomicBool,
}

impl Shared {
    fn route(&self, a: Alert) {
        let now = wall();
        let routed = match self.router.lock() {
            Ok(mut r) => r.on_transition(&self.cfg, a, now),
            Err(_) => return,
        };
        self.enqueue(routed, now);
    }

    fn enqueue(&self, routed: Vec<(Channel, Alert)>, now: i64) {
        for (c, a) in routed {
            match self.queue.enqueue(c, a, now) {
                Ok(true) => {}
                Ok(false) => tracing::info!(channel = c.name(), "A notification decided again after a restart was queued or sent already; not sending it twice."),
                Err(e) => tracing::error!(channel = c.name(), error = %e, "Could not queue a notification."),
            }
        }
    }
}

/// The alert engine's deliverer to people: routes each transition and queues it.
pub struct NotifyDeliver {
    shared: Arc<Shared>,
}

impl Deliver for NotifyDeliver {
    fn deliver(&mut self, t: &Transition) {
        if let Some(a) = Alert::of(t) {
            self.shared.route(a);
        }
    }

    fn notifies(&self) -> bool {
        true
    }
}

impl Drop for NotifyDeliver {
    /// The engine has stopped: the worker sends what is due (without waiting for groups) and
    /// ends; what cannot be sent stays queued for the next start.
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
    }
}

/// Starts the notifier for `lake` with `cfg`; `active` are the alerts still firing (restored
/// from the `alerts` table), which the router knows as told on their channels (no second page,
/// their resolution still goes out).
pub fn start(
    lake: &Path,
    cfg: NotifyConfig,
    active: Vec<Alert>,
    metrics: Option<crate::metrics::Metrics>,
) -> Result<(NotifyDeliver, JoinHandle<()>), NotifyError> {
    let queue = Queue::open(lake)?;
    let mut router = Router::default();
    let now = wall();
    for a in active {
        for c in cfg.route(a.severity) {
            router.told.insert((c, a.key()), now);
        }
        router.active.insert(a.key(), a);
    }
    let shared = Arc::new(Shared {
        cfg,
        router: Mutex::new(router),
        queue,
        lake: lake.to_path_buf(),
        metrics,
        stop: AtomicBool::new(false),
    });
    let worker = Worker::new(shared.clone(), false);
    let thread = std::thread::Builder::new()
        .name("notify".into())
        .spawn(move || worker.run())
        .map_err(|source| NotifyError::Queue {
            path: lake.to_path_buf(),
            source,
        })?;
    Ok((NotifyDeliver { shared }, thread))
}

/// One attempt, for the `notifications` table.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub wall: i64,
    pub channel: Channel,
    pub alert: Alert,
    /// sent, retry, failed or inhibited.
    pub status: &'static str,
    pub attempt: u32,
    /// From queueing to this attempt.
    pub latency_ms: i64,
    pub http_status: Option<u16>,
    pub error: Option<String>,
}

/// How `postlaunch alerts test` sends its alert.
#[derive(Debug, Clone)]
pub struct TestAlert {
    pub channel: Channel,
    /// The entity named (default `postlaunch-test`).
    pub entity: String,
    /// How long the alert fires before it is resolved.
    pub hold: Duration,
    /// Retries stop after this long.
    pub timeout: Duration,
    /// How many alerts of the entity fire together (one notification for them all, as grouping
    /// sends a service's alerts): `postlaunch_test`, or `postlaunch_test_1` … `_N`.
    pub group: usize,
}

/// `postlaunch alerts test --channel C`: a test alert (firing, then resolved after `hold`)
/// through the whole path — queue in `lake`, payload, sending, retries — on one channel only, at
/// the highest severity it hears; waits until both are settled or `timeout` passes. Returns
/// every attempt.
pub fn test_channel(
    lake: &Path,
    mut cfg: NotifyConfig,
    t: &TestAlert,
) -> Result<Vec<Attempt>, NotifyError> {
    let (channel, timeout) = (t.channel, t.timeout);
    let Some(&(_, severities)) = cfg.channels().iter().find(|(c, _)| *c == channel) else {
        return Err(NotifyError::Config(format!(
            "channel `{}` is not configured: add [notify.{}] to the rules file",
            channel.name(),
            channel.name()
        )));
    };
    let severity = severities.iter().copied().max().unwrap_or(Severity::P1);
    for c in Channel::ALL.into_iter().filter(|c| *c != channel) {
        match c {
            Channel::Pagerduty => cfg.pagerduty = None,
            Channel::Slack => cfg.slack = None,
            Channel::Email => cfg.email = None,
            Channel::Alertmanager => cfg.alertmanager = None,
            Channel::Webhook => cfg.webhook = None,
        }
    }
    cfg.group_wait = Duration::ZERO;
    let shared = Arc::new(Shared {
        cfg,
        router: Mutex::new(Router::default()),
        // a queue of its own: a test left unsent when it times out is not sent later by the daemon
        queue: Queue::open_dir(&lake.join(".notify-test"))?,
        lake: lake.to_path_buf(),
        metrics: None,
        stop: AtomicBool::new(false),
    });
    let mut worker = Worker::new(shared.clone(), true);
    let now = wall();
    let a = Alert {
        rule: "postlaunch_test".into(),
        entity_kind: "service".into(),
        entity: t.entity.clone(),
        firing: true,
        change: "firing".into(),
        severity,
        previous: None,
        value: Some(1.0),
        threshold: 0.5,
        window_s: 60.0,
        requests: 0,
        bad: 0,
        event_time: now,
        since: now,
        labels: Default::default(),
        annotations: [(
            "summary".to_string(),
            "a test notification from `postlaunch alerts test`; resolved right away".to_string(),
        )]
        .into(),
        runbook: None,
    };
    let mut group: Vec<Alert> = if t.group <= 1 {
        vec![a]
    } else {
        (1..=t.group)
            .map(|i| Alert {
                rule: format!("postlaunch_test_{i}"),
                ..a.clone()
            })
            .collect()
    };
    let deadline = std::time::Instant::now() + timeout + t.hold;
    // all routed before the first pass: one group (group_wait is 0 here)
    for a in &group {
        shared.route(a.clone());
    }
    // the resolution only once the trigger is settled: a receiver sees them in order
    let mut resolved = false;
    loop {
        worker.pass(false)?;
        let pending = shared.queue.pending()?;
        if pending.is_empty() {
            if resolved {
                break;
            }
            std::thread::sleep(t.hold);
            let now = wall();
            for a in &mut group {
                a.firing = false;
                a.change = "resolved".into();
                a.event_time = now;
                shared.route(a.clone());
            }
            resolved = true;
            continue;
        }
        if std::time::Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = std::fs::remove_dir_all(lake.join(".notify-test"));
    Ok(worker.history.take().unwrap_or_default())
}

struct Worker {
    shared: Arc<Shared>,
    agent: ureq::Agent,
    /// channel → wall time of the first failure of its current run of failures.
    failing_since: BTreeMap<Channel, i64>,
    /// channels whose `notification_channel` alert is raised.
    raised: BTreeMap<Channel, Alert>,
    /// Every attempt, kept when asked (`alerts test`).
    history: Option<Vec<Attempt>>,
}

impl Worker {
    /// A worker on `shared`; `keep_history`: every attempt is kept (`alerts test`).
    fn new(shared: Arc<Shared>, keep_history: bool) -> Worker {
        Worker {
            agent: send::agent(shared.cfg.timeout),
            shared,
            failing_since: BTreeMap::new(),
            raised: BTreeMap::new(),
            history: keep_history.then(Vec::new),
        }
    }

    fn run(mut self) {
        let mut last_prune = 0;
        loop {
            let stopping = self.shared.stop.load(Ordering::SeqCst);
            if let Err(e) = self.pass(stopping) {
                tracing::error!(error = %e, "Notifying failed; retrying.");
            }
            if stopping {
                return;
            }
            let now = wall();
            if now - last_prune > HOUR_MICROS {
                self.shared.queue.prune(now, 48 * HOUR_MICROS);
                last_prune = now;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Sends every group that is due; `flush`: without waiting for `group_wait`.
    fn pass(&mut self, flush: bool) -> Result<(), NotifyError> {
        let sh = self.shared.clone();
        let now = wall();
        let repeats = match sh.router.lock() {
            Ok(mut r) => r.repeats(&sh.cfg, now),
            Err(_) => Vec::new(),
        };
        sh.enqueue(repeats, now);
        let wait = i64::try_from(sh.cfg.group_wait.as_micros()).unwrap_or(0);
        let mut groups: BTreeMap<(Channel, String, String), Vec<Item>> = BTreeMap::new();
        for item in sh.queue.pending()? {
            if item.next_attempt > now && !(flush && item.attempts == 0) {
                continue;
            }
            groups
                .entry((
                    item.channel,
                    item.alert.entity_kind.clone(),
                    item.alert.entity.clone(),
                ))
                .or_default()
                .push(item);
        }
        let mut attempts = Vec::new();
        for ((channel, kind, entity), items) in groups {
            let oldest = items.iter().map(|i| i.enqueued).min().unwrap_or(now);
            let urgent = items
                .iter()
                .any(|i| i.alert.firing && sh.cfg.immediate.contains(&i.alert.severity));
            if !flush && !urgent && items.iter().all(|i| i.attempts == 0) && now - oldest < wait {
                continue;
            }
            // muted alerts are not sent (they are recorded)
            let (muted, send): (Vec<Item>, Vec<Item>) = match sh.router.lock() {
                Ok(r) => items
                    .into_iter()
                    .partition(|i| r.inhibitor(&sh.cfg.inhibit, &i.alert).is_some()),
                Err(_) => continue,
            };
            if let Ok(mut r) = sh.router.lock() {
                for m in &muted {
                    r.muted.insert((channel, m.alert.key()));
                }
            }
            for m in muted {
                attempts.push(Attempt {
                    wall: now,
                    channel,
                    alert: m.alert.clone(),
                    status: "inhibited",
                    attempt: m.attempts,
                    latency_ms: (now - m.enqueued) / 1000,
                    http_status: None,
                    error: None,
                });
                sh.queue.done(&m)?;
            }
            if send.is_empty() {
                continue;
            }
            let group = Group {
                entity_kind: kind,
                entity: entity.clone(),
                alerts: send.iter().map(|i| i.alert.clone()).collect(),
            };
            let outcome = self.send(channel, &group);
            self.settle(channel, send, &outcome, now, &mut attempts)?;
        }
        if !attempts.is_empty() {
            self.record(&attempts);
            if let Some(h) = &mut self.history {
                h.extend(attempts);
            }
        }
        Ok(())
    }

    /// One notification of a group on a channel (PagerDuty: one event per alert).
    fn send(&self, channel: Channel, g: &Group) -> Outcome {
        let cfg = &self.shared.cfg;
        let missing = || Outcome::Failed {
            status: None,
            reason: format!("channel {} is not configured", channel.name()),
        };
        match channel {
            Channel::Pagerduty => {
                let Some(pd) = &cfg.pagerduty else {
                    return missing();
                };
                let mut last = Outcome::Sent { status: 202 };
                for a in &g.alerts {
                    last = send::post_json(
                        &self.agent,
                        &pd.url,
                        &payload::pagerduty(a, &pd.routing_key.0, cfg.runbook_url.as_deref()),
                    );
                    if !matches!(last, Outcome::Sent { .. }) {
                        break;
                    }
                }
                last
            }
            Channel::Slack => match &cfg.slack {
                Some(s) => send::post_json(
                    &self.agent,
                    &s.webhook_url.0,
                    &payload::slack(g, cfg.runbook_url.as_deref()),
                ),
                None => missing(),
            },
            Channel::Alertmanager => match &cfg.alertmanager {
                Some(am) => {
                    let url = format!("{}/api/v2/alerts", am.url.trim_end_matches('/'));
                    send::post_json(
                        &self.agent,
                        &url,
                        &payload::alertmanager(g, wall(), "postlaunch://alerts"),
                    )
                }
                None => missing(),
            },
            Channel::Webhook => match &cfg.webhook {
                Some(w) => send::post_json(&self.agent, &w.url.0, &payload::webhook(g)),
                None => missing(),
            },
            Channel::Email => match &cfg.email {
                Some(e) => {
                    let (subject, text, html) = payload::email(g);
                    send::email(e, &subject, &text, &html, cfg.timeout)
                }
                None => missing(),
            },
        }
    }

    /// Files the items of a sent (or not) group by the outcome: done, retried later, or given up.
    fn settle(
        &mut self,
        channel: Channel,
        items: Vec<Item>,
        outcome: &Outcome,
        now: i64,
        attempts: &mut Vec<Attempt>,
    ) -> Result<(), NotifyError> {
        let sh = self.shared.clone();
        let give_up = i64::try_from(sh.cfg.give_up_after.as_micros()).unwrap_or(i64::MAX);
        let ok = matches!(outcome, Outcome::Sent { .. });
        for mut item in items {
            item.attempts += 1;
            let (status, http, error) = match outcome {
                Outcome::Sent { status } => ("sent", Some(*status), None),
                Outcome::Failed { status, reason } => ("failed", *status, Some(reason.clone())),
                Outcome::Retry { status, reason, .. } if now - item.enqueued >= give_up => (
                    "failed",
                    *status,
                    Some(format!(
                        "gave up after {} attempts: {reason}",
                        item.attempts
                    )),
                ),
                Outcome::Retry { status, reason, .. } => ("retry", *status, Some(reason.clone())),
            };
            attempts.push(Attempt {
                wall: now,
                channel,
                alert: item.alert.clone(),
                status,
                attempt: item.attempts,
                latency_ms: (now - item.enqueued) / 1000,
                http_status: http,
                error: error.clone(),
            });
            match status {
                "retry" => {
                    let after = match outcome {
                        Outcome::Retry { after: Some(a), .. } => *a,
                        _ => backoff(item.attempts),
                    };
                    item.next_attempt =
                        now + i64::try_from(after.as_micros()).unwrap_or(i64::MAX / 2);
                    item.last_error = error;
                    tracing::warn!(
                        channel = channel.name(),
                        attempt = item.attempts,
                        retry_in_s = after.as_secs_f64(),
                        error = item.last_error.as_deref().unwrap_or(""),
                        "A notification failed; retrying."
                    );
                    sh.queue.update(&item)?;
                }
                _ => {
                    if status == "sent" && item.alert.firing {
                        if let Ok(mut r) = sh.router.lock() {
                            r.muted.remove(&(channel, item.alert.key()));
                        }
                    }
                    if status == "failed" {
                        tracing::error!(channel = channel.name(), alert = %item.alert.key(), error = error.as_deref().unwrap_or(""), "A notification failed for good.");
                    }
                    if let Some(m) = &sh.metrics {
                        m.notified(channel.name(), status == "sent");
                    }
                    sh.queue.done(&item)?;
                }
            }
        }
        self.watch(channel, ok, now);
        Ok(())
    }

    /// Meta-monitoring: raises (or resolves) the `notification_channel` alert of `channel`.
    fn watch(&mut self, channel: Channel, ok: bool, now: i64) {
        let limit =
            i64::try_from(self.shared.cfg.channel_failing_after.as_micros()).unwrap_or(i64::MAX);
        if ok {
            self.failing_since.remove(&channel);
            if let Some(mut a) = self.raised.remove(&channel) {
                a.firing = false;
                a.change = "resolved".into();
                a.event_time = now;
                self.raise(channel, a, now);
            }
            return;
        }
        let since = *self.failing_since.entry(channel).or_insert(now);
        if now - since >= limit && !self.raised.contains_key(&channel) {
            let a = Alert {
                rule: "notification_channel".into(),
                entity_kind: "channel".into(),
                entity: channel.name().into(),
                firing: true,
                change: "firing".into(),
                severity: Severity::P2,
                previous: None,
                value: Some(((now - since) / 1_000_000) as f64),
                threshold: (limit / 1_000_000) as f64,
                window_s: (limit / 1_000_000) as f64,
                requests: 0,
                bad: 0,
                event_time: now,
                since,
                labels: Default::default(),
                annotations: [(
                    "summary".to_string(),
                    format!(
                        "notifications on {} have failed for {} s",
                        channel.name(),
                        (now - since) / 1_000_000
                    ),
                )]
                .into(),
                runbook: None,
            };
            self.raised.insert(channel, a.clone());
            self.raise(channel, a, now);
        }
    }

    /// Queues a `notification_channel` alert on every configured channel but the failing one.
    fn raise(&self, failing: Channel, a: Alert, now: i64) {
        tracing::warn!(
            channel = failing.name(),
            firing = a.firing,
            "Notification channel alert."
        );
        let others: Vec<(Channel, Alert)> = self
            .shared
            .cfg
            .channels()
            .into_iter()
            .map(|(c, _)| c)
            .filter(|c| *c != failing)
            .map(|c| (c, a.clone()))
            .collect();
        self.shared.enqueue(others, now);
    }

    /// Appends attempts to the `notifications` table (one commit).
    fn record(&self, attempts: &[Attempt]) {
        let mut hours: BTreeMap<i64, Vec<Attempt>> = BTreeMap::new();
        for a in attempts {
            hours
                .entry(a.wall.div_euclid(HOUR_MICROS))
                .or_default()
                .push(a.clone());
        }
        let (schema, _) = to_batch(&[]);
        let parts: Vec<(i64, Vec<RecordBatch>)> = hours
            .into_iter()
            .map(|(h, a)| (h, vec![to_batch(&a).1]))
            .collect();
        if let Err(e) =
            crate::lake::derived::append_partitions(&self.shared.lake, TABLE, &schema, &parts)
        {
            tracing::error!(error = %e, "Could not store notification attempts in `notifications`.");
        }
    }
}

/// The wait before retry `attempt` (1-based): exponential from 1 s, doubling, at most 5
/// minutes, with jitter (`backon`).
pub fn backoff(attempt: u32) -> Duration {
    backon::ExponentialBuilder::default()
        .with_min_delay(Duration::from_secs(1))
        .with_max_delay(Duration::from_secs(300))
        .with_factor(2.0)
        .with_jitter()
        .without_max_times()
        .build()
        .nth(attempt.saturating_sub(1) as usize)
        .unwrap_or(Duration::from_secs(300))
}

fn to_batch(attempts: &[Attempt]) -> (SchemaRef, RecordBatch) {
    let utc = || DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    let schema = Arc::new(Schema::new(vec![
        Field::new("wall_time", utc(), false),
        Field::new("channel", DataType::Utf8, false),
        Field::new("alert", DataType::Utf8, false),
        Field::new("rule", DataType::Utf8, false),
        Field::new("entity", DataType::Utf8, false),
        Field::new("severity", DataType::Utf8, false),
        Field::new("change", DataType::Utf8, false),
        Field::new("event_time", utc(), false),
        Field::new("status", DataType::Utf8, false),
        Field::new("attempt", DataType::UInt32, false),
        Field::new("latency_ms", DataType::Int64, false),
        Field::new("http_status", DataType::UInt32, true),
        Field::new("error", DataType::Utf8, true),
    ]));
    let s = |f: &dyn Fn(&Attempt) -> String| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(attempts.iter().map(f)))
    };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(
            TimestampMicrosecondArray::from_iter_values(attempts.iter().map(|a| a.wall))
                .with_timezone("UTC"),
        ),
        s(&|a| a.channel.name().to_string()),
        s(&|a| a.alert.key()),
        s(&|a| a.alert.rule.clone()),
        s(&|a| a.alert.entity.clone()),
        s(&|a| a.alert.severity.to_string()),
        s(&|a| {
            if a.alert.firing {
                a.alert.change.clone()
            } else {
                "resolved".into()
            }
        }),
        Arc::new(
            TimestampMicrosecondArray::from_iter_values(
                attempts.iter().map(|a| a.alert.event_time),
            )
            .with_timezone("UTC"),
        ),
        s(&|a| a.status.to_string()),
        Arc::new(UInt32Array::from_iter_values(
            attempts.iter().map(|a| a.attempt),
        )),
        Arc::new(Int64Array::from_iter_values(
            attempts.iter().map(|a| a.latency_ms),
        )),
        Arc::new(UInt32Array::from_iter(
            attempts.iter().map(|a| a.http_status.map(u32::from)),
        )),
        Arc::new(StringArray::from_iter(
            attempts.iter().map(|a| a.error.clone()),
        )),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns)
        .expect("the columns are built to the schema above");
    (schema, batch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_channel_failing_too_long_raises_its_own_alert_on_the_others_until_it_recovers() {
        let dir = tempfile::tempdir().unwrap();
        let text = "[notify]\nchannel_failing_after = \"3m\"\n[notify.pagerduty]\nurl = \"http://127.0.0.1:9/v2/enqueue\"\nrouting_key = \"k\"\n[notify.slack]\nwebhook_url = \"http://127.0.0.1:9/hook\"\n";
        let cfg =
            super::super::config::NotifyFile::parse_notify(text, Path::new("a.toml")).unwrap();
        let shared = Arc::new(Shared {
            cfg,
            router: Mutex::new(Router::default()),
            queue: Queue::open(dir.path()).unwrap(),
            lake: dir.path().to_path_buf(),
            metrics: None,
            stop: AtomicBool::new(false),
        });
        let mut w = Worker::new(shared.clone(), false);
        let minute = 60_000_000;
        // PagerDuty fails for 2 minutes: nothing yet; at 3 minutes: a P2 about it, on Slack only
        w.watch(Channel::Pagerduty, false, 0);
        w.watch(Channel::Pagerduty, false, 2 * minute);
        assert!(shared.queue.pending().unwrap().is_empty());
        w.watch(Channel::Pagerduty, false, 3 * minute);
        let q = shared.queue.pending().unwrap();
        assert_eq!(q.len(), 1, "{q:?}");
        assert_eq!(q[0].channel, Channel::Slack);
        assert_eq!(
            (
                q[0].alert.rule.as_str(),
                q[0].alert.entity.as_str(),
                q[0].alert.severity
            ),
            ("notification_channel", "pagerduty", Severity::P2)
        );
        assert!(q[0].alert.firing);
        // still failing: raised once; then a success resolves it on Slack
        w.watch(Channel::Pagerduty, false, 4 * minute);
        assert_eq!(shared.queue.pending().unwrap().len(), 1);
        w.watch(Channel::Pagerduty, true, 5 * minute);
        let q = shared.queue.pending().unwrap();
        assert_eq!(q.len(), 2);
        assert!(q
            .iter()
            .any(|i| !i.alert.firing && i.channel == Channel::Slack));
    }

    #[test]
    fn a_p1_does_not_wait_for_its_group_but_a_p2_does() {
        let dir = tempfile::tempdir().unwrap();
        // nothing listens on port 9: every attempt fails and is retried, which is what we count
        let text = "[notify]\ngroup_wait = \"10m\"\n[notify.pagerduty]\nurl = \"http://127.0.0.1:9/v2/enqueue\"\nrouting_key = \"k\"\n";
        let cfg =
            super::super::config::NotifyFile::parse_notify(text, Path::new("a.toml")).unwrap();
        assert_eq!(cfg.immediate, vec![Severity::P1]);
        let shared = Arc::new(Shared {
            cfg,
            router: Mutex::new(Router::default()),
            queue: Queue::open(dir.path()).unwrap(),
            lake: dir.path().to_path_buf(),
            metrics: None,
            stop: AtomicBool::new(false),
        });
        let mut w = Worker::new(shared.clone(), true);
        let alert = |entity: &str, severity| Alert {
            rule: "error_rate".into(),
            entity_kind: "service".into(),
            entity: entity.into(),
            firing: true,
            change: "firing".into(),
            severity,
            previous: None,
            value: Some(0.06),
            threshold: 0.05,
            window_s: 300.0,
            requests: 100,
            bad: 6,
            event_time: 0,
            since: 0,
            labels: Default::default(),
            annotations: Default::default(),
            runbook: None,
        };
        shared.route(alert("search", Severity::P2));
        shared.route(alert("checkout", Severity::P1));
        w.pass(false).unwrap();
        let tried: Vec<(String, Severity)> = w
            .history
            .as_ref()
            .unwrap()
            .iter()
            .map(|a| (a.alert.entity.clone(), a.alert.severity))
            .collect();
        assert_eq!(
            tried,
            vec![("checkout".to_string(), Severity::P1)],
            "the P2 waits 10 minutes"
        );
    }

    #[test]
    fn backoff_grows_exponentially_to_five_minutes() {
        // jitter adds up to the delay again: attempt n waits in [2^(n−1), 2^n) s, capped
        for (n, low) in [(1u32, 1.0), (2, 2.0), (3, 4.0), (6, 32.0)] {
            let d = backoff(n).as_secs_f64();
            assert!(d >= low - 1e-9 && d <= 2.0 * low + 1e-9, "attempt {n}: {d}");
        }
        assert!(backoff(30).as_secs_f64() <= 600.0 + 1e-9);
    }
}
