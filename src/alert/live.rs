//! The live path: `ingest --pipeline` hands every decoded batch of `requests` and `metrics` to
//! [`LiveAlerts`] (a [`BatchObserver`]), which feeds the [`Engine`] row by row and advances its
//! clock, so steps close as soon as the watermark passes them — every few seconds while events
//! flow, not once a minute.
//!
//! The clock is kept per Kafka partition: the engine's clock is the newest event of the slowest
//! partition that has delivered something within `decision.idle` (wall time). A partition that
//! lags behind the others therefore holds the watermark back instead of having its events
//! counted late and its services look silent (a late or stalled partition cannot fake a drop);
//! one that has gone quiet for `idle` stops holding it back, so a single idle partition cannot
//! stop evaluation. The transitions go, in order, through a
//! channel to a delivery thread that hands each to every [`Deliver`]; the consumer never waits
//! for a receiver.
//!
//! The decision is the replay's: the same engine, fed the same rows in the order they arrive.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use arrow::record_batch::RecordBatch;

use super::config::AlertsFile;
use super::silence::Silencer;
use super::state::Active;
use super::{Engine, Transition};
use crate::pipeline::observe::BatchObserver;
use crate::query::sql::{f64s, i64s, opt_f64s, strings, times, SqlError};

/// Where transitions go: the notification layer implements this (PagerDuty, Slack, e-mail,
/// Alertmanager); [`LogDeliver`] writes them to the log.
pub trait Deliver: Send {
    fn deliver(&mut self, t: &Transition);

    /// Whether this reaches people: then it is not handed the transitions of silenced alerts
    /// (`Transition::silenced`). The log, the `alerts` table and `/metrics` see them all.
    fn notifies(&self) -> bool {
        false
    }
}

/// Logs each transition (stderr; `--log-format json` for machines): firing and escalations as
/// warnings, the rest as information.
#[derive(Debug, Default)]
pub struct LogDeliver;

impl Deliver for LogDeliver {
    fn deliver(&mut self, t: &Transition) {
        let event_time = chrono::DateTime::from_timestamp_micros(t.event_time)
            .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            .unwrap_or_default();
        let value = t.value.map_or(String::from("-"), |v| format!("{v:.4}"));
        let silenced = t.silenced.as_ref().map_or(String::new(), |id| {
            format!(" (silenced by {id}: not notified)")
        });
        let (rule, entity, change, severity) =
            (&t.rule, &t.entity, t.change.name(), t.severity.to_string());
        match t.change {
            super::Change::Firing | super::Change::Escalated => tracing::warn!(
                rule = %rule, entity = %entity, change, severity = %severity, value = %value,
                threshold = t.threshold, event_time = %event_time, "Alert {change}: {severity} {rule} {entity}.{silenced}"
            ),
            _ => tracing::info!(
                rule = %rule, entity = %entity, change, severity = %severity, value = %value,
                threshold = t.threshold, event_time = %event_time, "Alert {change}: {severity} {rule} {entity}.{silenced}"
            ),
        }
    }
}

/// Appends each transition to the lake's `alerts` table (one small commit each: transitions are
/// rare; `postlaunch compact` merges the files of closed hours).
#[derive(Debug)]
pub struct TableDeliver {
    pub lake: std::path::PathBuf,
}

impl Deliver for TableDeliver {
    fn deliver(&mut self, t: &Transition) {
        let wall = chrono::Utc::now().timestamp_micros();
        if let Err(e) = super::output::store(&self.lake, std::slice::from_ref(t), wall) {
            tracing::error!(error = %e, rule = %t.rule, entity = %t.entity, "Could not store an alert transition in the `alerts` table.");
        }
    }
}

/// Keeps `/metrics`' `postlaunch_alerts{severity,state}` up to date: every alert's state after
/// each transition, counted by severity and state (zeros included, so a dashboard sees them).
pub struct MetricsDeliver {
    metrics: crate::metrics::Metrics,
    /// (rule, entity) → (severity, state) of the alerts not resolved.
    active: std::collections::BTreeMap<(String, String), (super::Severity, &'static str)>,
}

impl MetricsDeliver {
    pub fn new(metrics: crate::metrics::Metrics) -> MetricsDeliver {
        let mut d = MetricsDeliver {
            metrics,
            active: Default::default(),
        };
        d.publish();
        d
    }

    fn publish(&mut self) {
        use super::Severity::*;
        let mut counts = std::collections::BTreeMap::new();
        for sev in [P1, P2, P3, P4] {
            for state in ["pending", "firing"] {
                counts.insert((sev.to_string(), state.to_string()), 0);
            }
        }
        for (sev, state) in self.active.values() {
            *counts
                .entry((sev.to_string(), state.to_string()))
                .or_insert(0) += 1;
        }
        self.metrics.alerts(counts);
    }
}

impl Deliver for MetricsDeliver {
    fn deliver(&mut self, t: &Transition) {
        let key = (t.rule.clone(), t.entity.clone());
        match t.change {
            super::Change::Resolved => {
                self.active.remove(&key);
            }
            super::Change::Pending => {
                self.active.insert(key, (t.severity, "pending"));
            }
            _ => {
                self.active.insert(key, (t.severity, "firing"));
            }
        }
        self.publish();
    }
}

/// One table's engine and its partitions' clocks.
struct Clocked {
    engine: Engine,
    /// (topic, partition) → (its newest event µs, when it last delivered).
    partitions: std::collections::HashMap<(String, i32), (i64, std::time::Instant)>,
    /// (topic, partition) → the last offset fed: a batch re-read after a rebalance (the lake
    /// commit position is behind what was observed) is not counted twice.
    offsets: std::collections::HashMap<(String, i32), i64>,
    idle: std::time::Duration,
}

impl Clocked {
    /// Records partition `key`'s newest event and returns the engine's clock: the newest event
    /// of the slowest partition that delivered within `idle`.
    fn clock(&mut self, key: (String, i32), newest: i64) -> i64 {
        let now = std::time::Instant::now();
        let e = self.partitions.entry(key).or_insert((newest, now));
        e.0 = e.0.max(newest);
        e.1 = now;
        let idle = self.idle;
        self.partitions
            .values()
            .filter(|(_, seen)| now.duration_since(*seen) <= idle)
            .map(|(t, _)| *t)
            .min()
            .unwrap_or(newest)
    }
}

/// An engine per table read (behind a lock), and the channel to the delivery thread.
pub struct LiveAlerts {
    engines: Vec<(&'static str, Mutex<Clocked>)>,
    tx: Sender<Transition>,
    /// For the evaluation lag on `/metrics`.
    metrics: Option<crate::metrics::Metrics>,
}

impl LiveAlerts {
    /// Starts the delivery thread; the observer goes to the ingest's `observers`. The thread ends
    /// when the observer is dropped (the ingest has stopped) and every transition is delivered.
    pub fn start(
        file: &AlertsFile,
        active: &[Active],
        mut to: Vec<Box<dyn Deliver>>,
        mut silencer: Option<Silencer>,
        metrics: Option<crate::metrics::Metrics>,
    ) -> Result<(Arc<LiveAlerts>, JoinHandle<()>), String> {
        let engines = file
            .by_table()
            .into_iter()
            .map(|(table, rules)| {
                let mut engine = Engine::new(&rules)?;
                for a in active {
                    engine.restore(a);
                }
                let clocked = Clocked {
                    engine,
                    partitions: Default::default(),
                    offsets: Default::default(),
                    idle: rules.decision.idle,
                };
                Ok((table, Mutex::new(clocked)))
            })
            .collect::<Result<Vec<_>, String>>()?;
        let (tx, rx): (Sender<Transition>, Receiver<Transition>) = channel();
        let thread = std::thread::Builder::new()
            .name("alert-delivery".into())
            .spawn(move || {
                for mut t in rx {
                    if let Some(s) = &mut silencer {
                        s.mark(&mut t);
                    }
                    for d in &mut to {
                        if t.silenced.is_none() || !d.notifies() {
                            d.deliver(&t);
                        }
                    }
                }
            })
            .map_err(|e| format!("cannot start the alert delivery thread: {e}"))?;
        let live = LiveAlerts {
            engines,
            tx,
            metrics,
        };
        Ok((Arc::new(live), thread))
    }

    /// Feeds a batch of `requests` or `metrics` rows from `source` (topic, partition) at
    /// `offsets` (first, last; `None` without offsets) and advances the clock (see the module
    /// docs). A batch whose offsets were all fed before (a re-read after a rebalance) is skipped.
    pub fn feed(
        &self,
        table: &str,
        source: (&str, i32),
        offsets: Option<(i64, i64)>,
        batch: &RecordBatch,
    ) -> Result<Vec<Transition>, SqlError> {
        let Some((_, clocked)) = self.engines.iter().find(|(t, _)| *t == table) else {
            return Ok(Vec::new());
        };
        let Ok(mut clocked) = clocked.lock() else {
            return Ok(Vec::new());
        };
        let clocked = &mut *clocked;
        if let Some((_, last)) = offsets {
            let seen = clocked
                .offsets
                .entry((source.0.to_string(), source.1))
                .or_insert(i64::MIN);
            if last <= *seen {
                return Ok(Vec::new());
            }
            *seen = last;
        }
        let engine = &mut clocked.engine;
        let mut newest = i64::MIN;
        match table {
            "requests" => {
                let src = "requests batch";
                let (ts, service) = (times(src, batch, "ts")?, strings(src, batch, "service")?);
                let (status, duration) = (
                    i64s(src, batch, "status")?,
                    f64s(src, batch, "duration_ms")?,
                );
                for i in 0..batch.num_rows() {
                    if let (Some(t), Some(s), Some(st)) = (ts[i], service[i].as_deref(), status[i])
                    {
                        engine.add_request(t, s, st, duration[i]);
                        newest = newest.max(t);
                    }
                }
            }
            "metrics" => {
                let src = "metrics batch";
                let (ts, name) = (times(src, batch, "ts")?, strings(src, batch, "name")?);
                let (host, service) = (
                    strings(src, batch, "host")?,
                    strings(src, batch, "service")?,
                );
                let value = opt_f64s(src, batch, "value")?;
                for i in 0..batch.num_rows() {
                    if let (Some(t), Some(n), Some(v)) = (ts[i], name[i].as_deref(), value[i]) {
                        engine.add_sample(t, n, host[i].as_deref(), service[i].as_deref(), v);
                        newest = newest.max(t);
                    }
                }
            }
            _ => return Ok(Vec::new()),
        }
        if newest == i64::MIN {
            return Ok(Vec::new());
        }
        let clock = clocked.clock((source.0.to_string(), source.1), newest);
        let engine = &mut clocked.engine;
        let out = engine.advance(clock);
        if let (Some(m), Some(w)) = (&self.metrics, engine.watermark()) {
            let now = chrono::Utc::now().timestamp_micros();
            m.alert_lag(table, (now - w) as f64 / 1e6);
        }
        Ok(out)
    }
}

impl BatchObserver for LiveAlerts {
    /// A batch from a source without partitions (one clock).
    fn observe(&self, table: &str, batch: &RecordBatch) {
        self.deliver(self.feed(table, ("", -1), None, batch), table);
    }

    fn observe_partition(
        &self,
        table: &str,
        topic: &str,
        partition: i32,
        offsets: (i64, i64),
        batch: &RecordBatch,
    ) {
        self.deliver(
            self.feed(table, (topic, partition), Some(offsets), batch),
            table,
        );
    }
}

impl LiveAlerts {
    /// Hands the transitions of a fed batch to the delivery thread.
    fn deliver(&self, fed: Result<Vec<Transition>, SqlError>, table: &str) {
        match fed {
            Ok(transitions) => {
                for t in transitions {
                    // the delivery thread only ends after the last sender is dropped
                    let _ = self.tx.send(t);
                }
            }
            Err(e) => tracing::error!(table, error = %e, "Alerting could not read a batch."),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::{Change, Severity};
    use crate::batch::Decoder;
    use crate::schema::Catalog;
    use crate::source::RawChunk;

    /// Collects what it is handed.
    struct Collect(std::sync::Arc<Mutex<Vec<Transition>>>);

    impl Deliver for Collect {
        fn deliver(&mut self, t: &Transition) {
            if let Ok(mut v) = self.0.lock() {
                v.push(t.clone());
            }
        }
    }

    /// A deliverer that reaches people: silenced transitions never get to it.
    struct Pager(std::sync::Arc<Mutex<Vec<Transition>>>);

    impl Deliver for Pager {
        fn deliver(&mut self, t: &Transition) {
            if let Ok(mut v) = self.0.lock() {
                v.push(t.clone());
            }
        }
        fn notifies(&self) -> bool {
            true
        }
    }

    fn batch(table: &str, lines: &[String]) -> RecordBatch {
        let mut chunk = RawChunk::new("t".into(), None, 1);
        for (i, l) in lines.iter().enumerate() {
            chunk.push(i as i64 + 1, l.as_bytes(), 1 << 20);
        }
        let schema = Catalog::builtin().unwrap().get(table).unwrap().clone();
        let out = Decoder::new(schema).decode(&chunk, 1_796_000_000_000_000);
        assert!(out.rejected.is_empty(), "{:?}", out.rejected);
        out.batch.unwrap()
    }

    /// checkout failing outright for two minutes at 2 requests a second, then healthy.
    fn failing_checkout() -> Vec<String> {
        let mut lines = Vec::new();
        for s in 0..900 {
            for k in 0..2 {
                let status = if (120..240).contains(&s) { 503 } else { 200 };
                lines.push(format!(
                    r#"{{"ts":"2026-11-27T13:{:02}:{:02}.{k}Z","service":"checkout","endpoint":"POST /api/checkout","status":{status},"duration_ms":12}}"#,
                    s / 60,
                    s % 60
                ));
            }
        }
        lines
    }

    /// Requests of `service` for seconds [from, to) after 13:00, 5 a second, all answered 200.
    fn healthy(service: &str, from: i64, to: i64) -> Vec<String> {
        (from..to)
            .flat_map(|s| {
                (0..5).map(move |k| {
                    format!(
                        r#"{{"ts":"2026-11-27T13:{:02}:{:02}.{k}Z","service":"{service}","endpoint":"GET /","status":200,"duration_ms":12}}"#,
                        s / 60,
                        s % 60
                    )
                })
            })
            .collect()
    }

    #[test]
    fn a_lagging_partition_holds_the_clock_back_and_an_idle_one_stops_holding_it() {
        use crate::config::ConfigFile;
        let rules = AlertsFile::parse(
            "[decision]\nidle = \"300ms\"\n[[rule]]\nname = \"unavailable\"\nkind = \"unavailable\"\nwindow = \"1m\"\nbands = [{ severity = \"P1\", above = 20 }]\n",
            std::path::Path::new("a.toml"),
        )
        .unwrap();
        let got = std::sync::Arc::new(Mutex::new(Vec::new()));
        let (live, thread) = LiveAlerts::start(
            &rules,
            &[],
            vec![Box::new(Collect(got.clone()))],
            None,
            None,
        )
        .unwrap();
        let next = std::cell::RefCell::new([0i64; 2]);
        let feed = |partition: i32, lines: Vec<String>| {
            let mut next = next.borrow_mut();
            let first = next[partition as usize];
            next[partition as usize] += lines.len() as i64;
            let offsets = (first, first + lines.len() as i64 - 1);
            live.observe_partition(
                "requests",
                "t",
                partition,
                offsets,
                &batch("requests", &lines),
            );
        };
        // 13:00–13:10 both partitions in step: `a` on partition 0, `b` on partition 1
        for s in 0..600 {
            feed(0, healthy("a", s, s + 1));
            feed(1, healthy("b", s, s + 1));
        }
        // then partition 1 falls 2 minutes behind (it delivers its backlog in order, late): with
        // one clock for the table, b's events would all be late and `b` would look unavailable
        for s in 600..900 {
            feed(0, healthy("a", s, s + 1));
            if s >= 720 {
                feed(1, healthy("b", s - 120, s - 119));
            }
        }
        let lagging = got.lock().unwrap().clone();
        assert!(lagging.is_empty(), "{lagging:?}");
        // partition 1 stops delivering altogether: after `idle` it no longer holds the clock, a's
        // events move it on, and b's absence pages (its events stopped while the pipeline is alive)
        std::thread::sleep(std::time::Duration::from_millis(400));
        for s in 900..1200 {
            feed(0, healthy("a", s, s + 1));
        }
        drop(live);
        thread.join().unwrap();
        let got = got.lock().unwrap();
        assert!(
            got.iter()
                .any(|t| t.entity == "b" && t.change == Change::Firing),
            "{got:?}"
        );
        assert!(got.iter().all(|t| t.entity == "b"), "{got:?}");
    }

    /// The transitions of `lines` fed in chunks of 97 to partition 0 of topic `t`, each chunk
    /// `times` times, with its offsets or without.
    fn fed(lines: &[String], times: usize, offsets: bool) -> Vec<(Change, Severity, i64)> {
        let got = std::sync::Arc::new(Mutex::new(Vec::new()));
        let (live, thread) = LiveAlerts::start(
            &AlertsFile::builtin(),
            &[],
            vec![Box::new(Collect(got.clone()))],
            None,
            None,
        )
        .unwrap();
        for (i, chunk) in lines.chunks(97).enumerate() {
            let first = i as i64 * 97;
            let b = batch("requests", chunk);
            for _ in 0..times {
                if offsets {
                    let last = first + chunk.len() as i64 - 1;
                    live.observe_partition("requests", "t", 0, (first, last), &b);
                } else {
                    live.observe("requests", &b);
                }
            }
        }
        drop(live);
        thread.join().unwrap();
        let got = got.lock().unwrap();
        got.iter()
            .map(|t| (t.change, t.severity, t.event_time))
            .collect()
    }

    #[test]
    fn a_batch_re_read_after_a_rebalance_is_not_counted_twice() {
        // checkout at 2 requests a second with 2 % errors from 13:01: counted twice, the same
        // share of errors would be twice the evidence and fire sooner
        let mut lines = Vec::new();
        for s in 0..600 {
            for k in 0..2 {
                let i = s * 2 + k;
                let status = if s >= 60 && i % 50 == 0 { 503 } else { 200 };
                lines.push(format!(
                    r#"{{"ts":"2026-11-27T13:{:02}:{:02}.{k}Z","service":"checkout","endpoint":"POST /api/checkout","status":{status},"duration_ms":12}}"#,
                    s / 60,
                    s % 60
                ));
            }
        }
        let once = fed(&lines, 1, true);
        assert!(!once.is_empty(), "the test needs an alert to compare");
        assert_eq!(fed(&lines, 2, true), once);
        assert_ne!(
            fed(&lines, 2, false),
            once,
            "double counting would change the decision"
        );
    }

    #[test]
    fn silenced_alerts_change_state_but_do_not_reach_people() {
        let dir = tempfile::tempdir().unwrap();
        let now = chrono::Utc::now().timestamp_micros();
        let hour = 3_600_000_000;
        let s = crate::alert::silence::Silences::add(
            dir.path(),
            vec!["service=checkout".parse().unwrap()],
            now - hour,
            now + hour,
            "maintenance".into(),
            "test".into(),
        )
        .unwrap();
        let (logged, paged) = (
            std::sync::Arc::new(Mutex::new(Vec::new())),
            std::sync::Arc::new(Mutex::new(Vec::new())),
        );
        let (live, thread) = LiveAlerts::start(
            &AlertsFile::builtin(),
            &[],
            vec![
                Box::new(Collect(logged.clone())),
                Box::new(Pager(paged.clone())),
            ],
            Some(Silencer::new(dir.path().to_path_buf())),
            None,
        )
        .unwrap();
        for chunk in failing_checkout().chunks(97) {
            live.observe("requests", &batch("requests", chunk));
        }
        drop(live);
        thread.join().unwrap();
        let logged = logged.lock().unwrap();
        assert!(
            logged.iter().any(|t| t.change == Change::Firing),
            "{logged:?}"
        );
        assert!(
            logged
                .iter()
                .all(|t| t.silenced.as_deref() == Some(s.id.as_str())),
            "{logged:?}"
        );
        assert!(paged.lock().unwrap().is_empty());
        // ended: the next alert reaches people again
        crate::alert::silence::Silences::expire(dir.path(), &s.id, now).unwrap();
        let paged = std::sync::Arc::new(Mutex::new(Vec::new()));
        let (live, thread) = LiveAlerts::start(
            &AlertsFile::builtin(),
            &[],
            vec![Box::new(Pager(paged.clone()))],
            Some(Silencer::new(dir.path().to_path_buf())),
            None,
        )
        .unwrap();
        for chunk in failing_checkout().chunks(97) {
            live.observe("requests", &batch("requests", chunk));
        }
        drop(live);
        thread.join().unwrap();
        let paged = paged.lock().unwrap();
        assert!(paged
            .iter()
            .any(|t| t.change == Change::Firing && t.silenced.is_none()));
    }

    #[test]
    fn batches_reach_the_engine_of_their_table_and_transitions_are_delivered_in_order() {
        let got = std::sync::Arc::new(Mutex::new(Vec::new()));
        let metrics = crate::metrics::Metrics::default();
        let (live, thread) = LiveAlerts::start(
            &AlertsFile::builtin(),
            &[],
            vec![
                Box::new(Collect(got.clone())),
                Box::new(MetricsDeliver::new(metrics.clone())),
            ],
            None,
            Some(metrics.clone()),
        )
        .unwrap();
        // checkout fails outright for two minutes at 2 requests a second, then recovers; resolved
        // once the window is past the failures (13:09) and keep_firing_for (2 min) has passed
        let lines = failing_checkout();
        let mut firing_seen = false;
        for chunk in lines.chunks(97) {
            live.observe("requests", &batch("requests", chunk));
            // the delivery thread publishes asynchronously: look a moment later
            std::thread::sleep(std::time::Duration::from_millis(2));
            firing_seen |= metrics
                .render()
                .contains("postlaunch_alerts{severity=\"P1\",state=\"firing\"} 1");
        }
        assert!(firing_seen, "{}", metrics.render());
        assert!(metrics
            .render()
            .contains("postlaunch_alert_evaluation_lag_seconds{table=\"requests\"}"));
        // a metrics batch far in the future moves only the metrics engine's clock
        let cpu = vec![
            r#"{"ts":"2026-11-28T00:00:00Z","name":"cpu_utilization","value":0.99,"host":"h1"}"#
                .to_string(),
        ];
        live.observe("metrics", &batch("metrics", &cpu));
        live.observe("web_vitals", &batch("requests", &lines[..1]));
        drop(live);
        thread.join().unwrap();
        let got = got.lock().unwrap();
        let summary: Vec<(Change, Severity)> = got.iter().map(|t| (t.change, t.severity)).collect();
        assert_eq!(
            summary.first(),
            Some(&(Change::Firing, Severity::P1)),
            "{summary:?}"
        );
        assert!(got.iter().all(|t| t.entity == "checkout"), "{got:?}");
        assert!(got.windows(2).all(|w| w[0].event_time <= w[1].event_time));
        // fired within 15 s of the first failure (13:02:00): 2 failures a second
        let first = got[0].event_time - 1_795_784_400_000_000 - 120_000_000;
        assert!((0..=15_000_000).contains(&first), "{first}");
        assert_eq!(
            summary.last().map(|s| s.0),
            Some(Change::Resolved),
            "{summary:?}"
        );
        // resolved: no alert left on /metrics
        assert!(metrics
            .render()
            .contains("postlaunch_alerts{severity=\"P1\",state=\"firing\"} 0"));
    }
}
