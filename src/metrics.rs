//! Observability of the pipeline itself: counters and gauges in Prometheus' text format, served
//! on `/metrics` (address from the pipeline file). Every metric is documented in the README.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Upper bounds (seconds) of the flush-duration histogram buckets.
pub const FLUSH_BUCKETS: [f64; 10] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

#[derive(Default)]
struct TableCounters {
    consumed: u64,
    stored: u64,
    rejected: u64,
    bytes: u64,
    files: u64,
}

#[derive(Default)]
struct Inner {
    tables: BTreeMap<String, TableCounters>,
    /// (topic, partition) → consumer lag in messages (from librdkafka statistics).
    lag: BTreeMap<(String, i32), i64>,
    flush_buckets: [u64; FLUSH_BUCKETS.len()],
    flush_count: u64,
    flush_sum: f64,
    last_durable: Option<Instant>,
    /// (severity, state) → alerts in that state now (alerting only).
    alerts: BTreeMap<(String, String), i64>,
    /// table → seconds between now and the alert engine's watermark (alerting only).
    alert_lag: BTreeMap<String, f64>,
    /// channel → (notifications sent, notifications that failed for good) (notifying only).
    notifications: BTreeMap<String, (u64, u64)>,
}

/// The pipeline's metrics; cheap to clone and share between threads.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Mutex<Inner>>,
    started: Instant,
    rebalances: Arc<AtomicU64>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            inner: Arc::default(),
            started: Instant::now(),
            rebalances: Arc::default(),
        }
    }
}

impl Metrics {
    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    /// Records consumed and bytes received for a table.
    pub fn consumed(&self, table: &str, records: u64, bytes: u64) {
        self.with(|i| {
            let t = i.tables.entry(table.to_string()).or_default();
            t.consumed += records;
            t.bytes += bytes;
        });
    }

    /// A checkpoint made rows durable.
    pub fn committed(&self, table: &str, stored: u64, rejected: u64, files: u64, seconds: f64) {
        self.with(|i| {
            let t = i.tables.entry(table.to_string()).or_default();
            t.stored += stored;
            t.rejected += rejected;
            t.files += files;
            i.flush_count += 1;
            i.flush_sum += seconds;
            for (b, le) in i.flush_buckets.iter_mut().zip(FLUSH_BUCKETS) {
                if seconds <= le {
                    *b += 1;
                }
            }
            i.last_durable = Some(Instant::now());
        });
    }

    /// Consumer lag of one partition.
    pub fn lag(&self, topic: &str, partition: i32, lag: i64) {
        self.with(|i| {
            i.lag.insert((topic.to_string(), partition), lag);
        });
    }

    /// The number of alerts in each (severity, state) now.
    pub fn alerts(&self, counts: BTreeMap<(String, String), i64>) {
        self.with(|i| i.alerts = counts);
    }

    /// How far the alert engine of `table` trails the wall clock (seconds).
    pub fn alert_lag(&self, table: &str, seconds: f64) {
        self.with(|i| {
            i.alert_lag.insert(table.to_string(), seconds);
        });
    }

    /// A notification on `channel` was delivered (`ok`) or failed for good.
    pub fn notified(&self, channel: &str, ok: bool) {
        self.with(|i| {
            let e = i.notifications.entry(channel.to_string()).or_default();
            if ok {
                e.0 += 1;
            } else {
                e.1 += 1;
            }
        });
    }

    /// A partition assignment changed.
    pub fn rebalanced(&self) {
        self.rebalances.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let uptime = self.started.elapsed().as_secs_f64();
        self.with(|i| {
            let mut family = |name: &str, help: &str, kind: &str, rows: Vec<(String, String)>| {
                let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} {kind}");
                for (labels, value) in rows {
                    let _ = writeln!(s, "{name}{labels} {value}");
                }
            };
            let per_table = |f: fn(&TableCounters) -> u64| -> Vec<(String, String)> {
                i.tables
                    .iter()
                    .map(|(t, c)| (format!("{{table=\"{t}\"}}"), f(c).to_string()))
                    .collect()
            };
            family("postlaunch_records_consumed_total", "Records read from the source, per table.", "counter", per_table(|c| c.consumed));
            family("postlaunch_records_stored_total", "Rows committed to the lake, per table.", "counter", per_table(|c| c.stored));
            family("postlaunch_records_rejected_total", "Records committed to _rejected, per target table.", "counter", per_table(|c| c.rejected));
            family("postlaunch_bytes_consumed_total", "Payload bytes read from the source, per table.", "counter", per_table(|c| c.bytes));
            family("postlaunch_files_written_total", "Parquet files committed, per table (including its _rejected files).", "counter", per_table(|c| c.files));
            family(
                "postlaunch_consumer_lag",
                "Messages between the partition's high watermark and the committed offset (librdkafka statistics).",
                "gauge",
                i.lag
                    .iter()
                    .map(|((t, p), l)| (format!("{{topic=\"{t}\",partition=\"{p}\"}}"), l.to_string()))
                    .collect(),
            );
            let since = i.last_durable.map_or(uptime, |t| t.elapsed().as_secs_f64());
            family(
                "postlaunch_seconds_since_last_durable_write",
                "Seconds since the last lake commit (since start if none yet).",
                "gauge",
                vec![(String::new(), format!("{since:.3}"))],
            );
            if !i.alerts.is_empty() || !i.alert_lag.is_empty() {
                family(
                    "postlaunch_alerts",
                    "Alerts in each state now, by severity (alert rules of the pipeline file).",
                    "gauge",
                    i.alerts
                        .iter()
                        .map(|((sev, state), n)| (format!("{{severity=\"{sev}\",state=\"{state}\"}}"), n.to_string()))
                        .collect(),
                );
                family(
                    "postlaunch_alert_evaluation_lag_seconds",
                    "Wall clock minus the alert engine's watermark (the end of its last evaluated step), per table.",
                    "gauge",
                    i.alert_lag
                        .iter()
                        .map(|(t, s)| (format!("{{table=\"{t}\"}}"), format!("{s:.3}")))
                        .collect(),
                );
            }
            if !i.notifications.is_empty() {
                let rows = |f: fn(&(u64, u64)) -> u64| -> Vec<(String, String)> {
                    i.notifications
                        .iter()
                        .map(|(c, n)| (format!("{{channel=\"{c}\"}}"), f(n).to_string()))
                        .collect()
                };
                family("postlaunch_notifications_sent_total", "Notifications delivered, per channel.", "counter", rows(|n| n.0));
                family("postlaunch_notifications_failed_total", "Notifications that failed for good (a 4xx, or retries given up), per channel.", "counter", rows(|n| n.1));
            }
            let mut rows: Vec<(String, String)> = FLUSH_BUCKETS
                .iter()
                .zip(i.flush_buckets)
                .map(|(le, n)| (format!("_bucket{{le=\"{le}\"}}"), n.to_string()))
                .collect();
            rows.push(("_bucket{le=\"+Inf\"}".into(), i.flush_count.to_string()));
            rows.push(("_sum".into(), format!("{:.6}", i.flush_sum)));
            rows.push(("_count".into(), i.flush_count.to_string()));
            family(
                "postlaunch_flush_duration_seconds",
                "Time to write and commit one checkpoint.",
                "histogram",
                rows,
            );
        });
        let _ = writeln!(
            s,
            "# HELP postlaunch_rebalances_total Partition assignments and revocations.\n# TYPE postlaunch_rebalances_total counter\npostlaunch_rebalances_total {}",
            self.rebalances.load(Ordering::Relaxed)
        );
        s
    }

    /// Serves `/metrics` on `addr` until the task is dropped.
    pub async fn serve(self, addr: std::net::SocketAddr) -> std::io::Result<()> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind(addr).await?;
        tracing::info!(%addr, "Serving Prometheus metrics on /metrics.");
        loop {
            let (mut sock, _) = listener.accept().await?;
            let metrics = self.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 2048];
                let n = sock.read(&mut buf).await.unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]);
                let path = req.split_whitespace().nth(1).unwrap_or("/");
                let (status, body) = if path == "/metrics" {
                    ("200 OK", metrics.render())
                } else {
                    ("404 Not Found", "see /metrics\n".to_string())
                };
                let resp = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_has_every_family_with_values() {
        let m = Metrics::default();
        m.consumed("requests", 10, 1000);
        m.committed("requests", 9, 1, 2, 0.2);
        m.lag("requests", 3, 42);
        let text = m.render();
        for line in [
            "postlaunch_records_consumed_total{table=\"requests\"} 10",
            "postlaunch_records_stored_total{table=\"requests\"} 9",
            "postlaunch_records_rejected_total{table=\"requests\"} 1",
            "postlaunch_bytes_consumed_total{table=\"requests\"} 1000",
            "postlaunch_files_written_total{table=\"requests\"} 2",
            "postlaunch_consumer_lag{topic=\"requests\",partition=\"3\"} 42",
            "postlaunch_flush_duration_seconds_bucket{le=\"0.1\"} 0",
            "postlaunch_flush_duration_seconds_bucket{le=\"0.25\"} 1",
            "postlaunch_flush_duration_seconds_count 1",
        ] {
            assert!(text.contains(line), "missing `{line}` in\n{text}");
        }
        assert!(text.contains("postlaunch_seconds_since_last_durable_write "));
    }
}
