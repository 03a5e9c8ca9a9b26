//! Pipeline files (`pipelines/*.toml`): a Kafka ingest and the hourly job, loaded through
//! [`super::ConfigFile`] with every cross-field check done at load time (`postlaunch validate`
//! runs exactly this).
//!
//! Precedence: built-in defaults < the TOML file < `POSTLAUNCH_*` environment variables < CLI
//! flags. Values of `[kafka.options]` may reference environment variables as `${NAME}`, so
//! secrets (SASL passwords, TLS key passphrases) live in the environment, never in the file, and
//! are never logged.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::{de_duration, de_size, ConfigFile, Invalid};
use crate::schema::Catalog;
use crate::units::parse_instant;

/// A pipeline file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    /// Lake root folder (overridden by `POSTLAUNCH_LAKE` and `--lake`).
    #[serde(default = "defaults::lake")]
    pub lake: PathBuf,
    /// Kafka connection and consumer settings.
    pub kafka: KafkaConfig,
    /// When buffered data is written to the lake.
    #[serde(default)]
    pub flush: FlushConfig,
    /// Memory for in-flight data (buffered rows and decoded batches not yet in the lake).
    #[serde(default = "defaults::memory_budget", deserialize_with = "de_size")]
    pub memory_budget: usize,
    /// The Prometheus `/metrics` endpoint.
    #[serde(default)]
    pub metrics: MetricsConfig,
    /// Which topic feeds which table.
    pub topics: Vec<TopicConfig>,
    /// The hourly job (`postlaunch hourly`, `postlaunch run`).
    #[serde(default)]
    pub hourly: HourlyConfig,
    /// The alert rules file (`alerts.toml`), relative to this file's folder.
    #[serde(default)]
    pub alerts: Option<PathBuf>,
}

/// `[hourly]`: the hourly job's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HourlyConfig {
    /// Apdex threshold T: requests up to T are satisfied, up to 4T tolerating.
    #[serde(default = "defaults::apdex_t", deserialize_with = "de_duration")]
    pub apdex_t: Duration,
    /// How long after an hour closes `postlaunch run` waits before computing it (late events).
    #[serde(default = "defaults::grace", deserialize_with = "de_duration")]
    pub grace: Duration,
    /// What an hour is compared against in `hourly_regressions`.
    #[serde(default)]
    pub baseline: BaselineConfig,
    /// When a difference from the baseline is a regression.
    #[serde(default)]
    pub regressions: RegressionConfig,
}

impl Default for HourlyConfig {
    fn default() -> Self {
        HourlyConfig {
            apdex_t: defaults::apdex_t(),
            grace: defaults::grace(),
            baseline: BaselineConfig::default(),
            regressions: RegressionConfig::default(),
        }
    }
}

/// `[hourly.baseline]`: one of three kinds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineConfig {
    /// `same_hour_of_week` (the same hour of the week over the previous `weeks` weeks),
    /// `launch` (the fixed range `from`..`to`, e.g. the first week after launch) or
    /// `pre_deployment` (the `window` before the service's latest deployment started).
    #[serde(default = "defaults::baseline_kind")]
    pub kind: String,
    /// `same_hour_of_week`: how many previous weeks.
    #[serde(default = "defaults::baseline_weeks")]
    pub weeks: u32,
    /// The launch range's start (RFC 3339, inclusive): the baseline of kind `launch`, and what
    /// `postlaunch trends --monthly` compares the last 30 days with.
    #[serde(default)]
    pub from: Option<String>,
    /// The launch range's end (RFC 3339, exclusive).
    #[serde(default)]
    pub to: Option<String>,
    /// `pre_deployment`: how long before the deployment.
    #[serde(
        default = "defaults::baseline_window",
        deserialize_with = "de_duration"
    )]
    pub window: Duration,
}

impl Default for BaselineConfig {
    fn default() -> Self {
        BaselineConfig {
            kind: defaults::baseline_kind(),
            weeks: defaults::baseline_weeks(),
            from: None,
            to: None,
            window: defaults::baseline_window(),
        }
    }
}

/// `[hourly.regressions]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegressionConfig {
    /// A metric regresses when current > baseline × threshold (1.2 = 20 % worse).
    #[serde(default = "defaults::regression_threshold")]
    pub threshold: f64,
    /// Requests needed on each side (current window and baseline) before comparing.
    #[serde(default = "defaults::regression_min_samples")]
    pub min_samples: u64,
    /// The current side: the hour and the hours before it, this long in total (whole hours).
    #[serde(
        default = "defaults::regression_window",
        deserialize_with = "de_duration"
    )]
    pub current_window: Duration,
    /// An error-rate increase must also be significant at this level (one-sided
    /// two-proportion z-test), so that a handful of errors on a quiet endpoint do not flap.
    #[serde(default = "defaults::regression_alpha")]
    pub error_rate_alpha: f64,
}

impl Default for RegressionConfig {
    fn default() -> Self {
        RegressionConfig {
            threshold: defaults::regression_threshold(),
            min_samples: defaults::regression_min_samples(),
            current_window: defaults::regression_window(),
            error_rate_alpha: defaults::regression_alpha(),
        }
    }
}

impl HourlyConfig {
    /// Checks of the `[hourly]` section, with the offending values in the message.
    pub fn validate(&self) -> Result<(), Invalid> {
        let invalid =
            |key: &str, message: String| Err(Invalid::at(format!("hourly.{key}"), message));
        if self.apdex_t.is_zero() {
            return invalid(
                "apdex_t",
                "`hourly.apdex_t` is 0s, expected a positive duration such as `500ms`".into(),
            );
        }
        let b = &self.baseline;
        match b.kind.as_str() {
            "same_hour_of_week" => {
                if b.weeks == 0 || b.weeks > 52 {
                    return invalid(
                        "baseline.weeks",
                        format!("`hourly.baseline.weeks` is {}, expected 1 to 52", b.weeks),
                    );
                }
            }
            "launch" => {
                if b.from.is_none() || b.to.is_none() {
                    return invalid(
                        "baseline.kind",
                        "`hourly.baseline.kind = \"launch\"` needs `from` and `to` (RFC 3339)".into(),
                    );
                }
            }
            "pre_deployment" => {
                if b.window < Duration::from_secs(3600) {
                    return invalid(
                        "baseline.window",
                        format!("`hourly.baseline.window` is {:?}, expected at least 1h", b.window),
                    );
                }
            }
            other => {
                return invalid(
                    "baseline.kind",
                    format!("`hourly.baseline.kind` is `{other}`, expected `same_hour_of_week`, `launch` or `pre_deployment`"),
                )
            }
        }
        // The launch range (also read by the monthly review, whatever the baseline kind).
        if let (Some(from), Some(to)) = (&b.from, &b.to) {
            let f = parse_instant(from, "hourly.baseline.from")
                .map_err(|e| Invalid::at("hourly.baseline.from", e.0))?;
            let t = parse_instant(to, "hourly.baseline.to")
                .map_err(|e| Invalid::at("hourly.baseline.to", e.0))?;
            if f >= t {
                return invalid(
                    "baseline.from",
                    format!("`hourly.baseline.from` ({from}) must be before `to` ({to})"),
                );
            }
        }
        let r = &self.regressions;
        if !(r.threshold.is_finite() && r.threshold > 1.0) {
            return invalid("regressions.threshold", format!(
                "`hourly.regressions.threshold` is {}, expected a ratio above 1 such as 1.2 (20 % worse)",
                r.threshold
            ));
        }
        if r.current_window < Duration::from_secs(3600)
            || !r.current_window.as_secs().is_multiple_of(3600)
        {
            return invalid("regressions.current_window", format!(
                "`hourly.regressions.current_window` is {:?}, expected whole hours such as `1h` or `6h`",
                r.current_window
            ));
        }
        if !(r.error_rate_alpha > 0.0 && r.error_rate_alpha < 1.0) {
            return invalid("regressions.error_rate_alpha", format!(
                "`hourly.regressions.error_rate_alpha` is {}, expected a level in (0, 1) such as 0.01",
                r.error_rate_alpha
            ));
        }
        Ok(())
    }
}

/// `[kafka]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfig {
    /// Bootstrap servers, `host:port[,host:port…]`.
    pub brokers: String,
    /// Consumer group; instances with the same group split the partitions.
    pub group_id: String,
    /// Where to start in a partition the lake holds nothing of: `earliest` or `latest`.
    #[serde(default = "defaults::start_from")]
    pub start_from: String,
    /// librdkafka options passed through as is (`security.protocol`, `sasl.*`, `ssl.*`, …).
    /// `${NAME}` in a value is replaced by the environment variable NAME.
    #[serde(default)]
    pub options: BTreeMap<String, String>,
}

/// `[flush]`: a checkpoint (Parquet files + commit) is written when any trigger fires.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlushConfig {
    /// Rows buffered for one table.
    #[serde(default = "defaults::max_rows")]
    pub max_rows: usize,
    /// Bytes (Arrow memory) buffered for one table.
    #[serde(default = "defaults::max_bytes", deserialize_with = "de_size")]
    pub max_bytes: usize,
    /// Age of the oldest buffered record; fires even when the topic goes quiet.
    #[serde(default = "defaults::max_age", deserialize_with = "de_duration")]
    pub max_age: Duration,
}

impl Default for FlushConfig {
    fn default() -> Self {
        FlushConfig {
            max_rows: defaults::max_rows(),
            max_bytes: defaults::max_bytes(),
            max_age: defaults::max_age(),
        }
    }
}

/// `[metrics]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Address of the Prometheus endpoint; `""` disables it.
    #[serde(default = "defaults::metrics_listen")]
    pub listen: String,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            listen: defaults::metrics_listen(),
        }
    }
}

/// One `[[topics]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicConfig {
    /// Kafka topic.
    pub topic: String,
    /// Lake table (an event schema in `schemas/`).
    pub table: String,
    /// Also send rejected records to this topic (with headers naming the reason and origin).
    #[serde(default)]
    pub dead_letter_topic: Option<String>,
}

/// The defaults, in one visible place.
pub mod defaults {
    use std::path::PathBuf;
    use std::time::Duration;

    pub fn lake() -> PathBuf {
        PathBuf::from("./lake")
    }
    pub fn start_from() -> String {
        "earliest".into()
    }
    pub fn max_rows() -> usize {
        1_000_000
    }
    pub fn max_bytes() -> usize {
        128 << 20
    }
    pub fn max_age() -> Duration {
        Duration::from_secs(30)
    }
    pub fn memory_budget() -> usize {
        256 << 20
    }
    pub fn metrics_listen() -> String {
        "127.0.0.1:9464".into()
    }
    pub fn apdex_t() -> Duration {
        Duration::from_millis(500)
    }
    pub fn grace() -> Duration {
        Duration::from_secs(600)
    }
    pub fn baseline_kind() -> String {
        "same_hour_of_week".into()
    }
    pub fn baseline_weeks() -> u32 {
        4
    }
    pub fn baseline_window() -> Duration {
        Duration::from_secs(24 * 3600)
    }
    pub fn regression_threshold() -> f64 {
        1.2
    }
    pub fn regression_min_samples() -> u64 {
        200
    }
    pub fn regression_window() -> Duration {
        Duration::from_secs(3600)
    }
    pub fn regression_alpha() -> f64 {
        0.01
    }
}

/// Replaces `${NAME}` with the environment variable NAME; an unset variable is an error naming it.
pub fn expand_env(value: &str, key: &str) -> Result<String, String> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("option `{key}`: unterminated `${{` in its value"))?;
        let name = &after[..end];
        let v = std::env::var(name).map_err(|_| {
            format!("option `{key}` needs environment variable `{name}`, which is not set")
        })?;
        out.push_str(&v);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Whether a librdkafka option may hold a secret (its value is never printed).
pub fn is_secret(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["password", "secret", "key", "token", "jaas"]
        .iter()
        .any(|s| k.contains(s))
        && !k.ends_with(".location")
}

impl PipelineConfig {
    /// Loads and validates a pipeline file against the event schemas.
    pub fn load(path: &std::path::Path, catalog: &Catalog) -> Result<Self, super::ConfigError> {
        Self::load_with(path, catalog)
    }
}

impl ConfigFile for PipelineConfig {
    const KIND: &'static str = "pipeline file";
    type Context = Catalog;

    /// Cross-field checks, with the offending values in the message.
    fn validate(&self, catalog: &Catalog) -> Result<(), Invalid> {
        let invalid = |key: &str, message: String| Err(Invalid::at(key, message));
        if self.kafka.brokers.trim().is_empty() {
            return invalid(
                "kafka.brokers",
                "`kafka.brokers` is empty, expected `host:port[,host:port…]`".into(),
            );
        }
        if self.kafka.group_id.trim().is_empty() {
            return invalid("kafka.group_id", "`kafka.group_id` is empty".into());
        }
        if !matches!(self.kafka.start_from.as_str(), "earliest" | "latest") {
            return invalid(
                "kafka.start_from",
                format!(
                    "`kafka.start_from` is `{}`, expected `earliest` or `latest`",
                    self.kafka.start_from
                ),
            );
        }
        for (k, v) in &self.kafka.options {
            let key = format!("kafka.options.{k}");
            if matches!(
                k.as_str(),
                "bootstrap.servers"
                    | "group.id"
                    | "enable.auto.commit"
                    | "enable.auto.offset.store"
            ) {
                return invalid(
                    &key,
                    format!("`kafka.options.\"{k}\"` is managed by postlaunch (use `kafka.brokers`/`kafka.group_id`; offsets are committed after the lake commit)"),
                );
            }
            expand_env(v, k).map_err(|m| Invalid::at(&key, m))?;
        }
        if self.topics.is_empty() {
            return invalid(
                "topics",
                "no `[[topics]]`: map at least one topic to a table".into(),
            );
        }
        let mut seen = BTreeMap::new();
        for (i, t) in self.topics.iter().enumerate() {
            let key = format!("topics[{i}].table");
            catalog
                .get(&t.table)
                .map_err(|e| Invalid::at(&key, format!("topic `{}`: {e}", t.topic)))?;
            if let Some(prev) = seen.insert(t.topic.clone(), t.table.clone()) {
                return invalid(
                    &format!("topics[{i}].topic"),
                    format!(
                        "topic `{}` is listed twice (tables `{prev}` and `{}`)",
                        t.topic, t.table
                    ),
                );
            }
        }
        if self.flush.max_rows == 0 {
            return invalid(
                "flush.max_rows",
                "`flush.max_rows` is 0, expected at least 1".into(),
            );
        }
        if self.flush.max_age.is_zero() {
            return invalid(
                "flush.max_age",
                "`flush.max_age` is 0s, expected a positive duration such as `30s`".into(),
            );
        }
        if self.flush.max_bytes > self.memory_budget {
            return invalid(
                "flush.max_bytes",
                format!(
                    "`flush.max_bytes` ({}) must not exceed `memory_budget` ({})",
                    self.flush.max_bytes, self.memory_budget
                ),
            );
        }
        self.hourly.validate()?;
        if !self.metrics.listen.is_empty() {
            self.metrics.listen.parse::<SocketAddr>().map_err(|_| {
                Invalid::at(
                    "metrics.listen",
                    format!(
                        "`metrics.listen` is `{}`, expected `address:port` such as `127.0.0.1:9464` (or \"\" to disable)",
                        self.metrics.listen
                    ),
                )
            })?;
        }
        Ok(())
    }
}
