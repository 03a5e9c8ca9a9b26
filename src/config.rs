//! Pipeline configuration: `pipelines/*.toml`, parsed once at the edge into typed structs with
//! every cross-field check done at load time (`postlaunch validate` runs exactly this).
//!
//! Precedence: built-in defaults < the TOML file < `POSTLAUNCH_*` environment variables < CLI
//! flags. Values of `[kafka.options]` may reference environment variables as `${NAME}`, so
//! secrets (SASL passwords, TLS key passphrases) live in the environment, never in the file, and
//! are never logged.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::schema::Catalog;

/// Errors of loading a pipeline file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read pipeline file `{path}`: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("pipeline file `{path}` is invalid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("pipeline file `{path}`: {message}")]
    Invalid { path: PathBuf, message: String },
}

fn de_size<'de, D: serde::Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    let s = String::deserialize(d)?;
    crate::cli::parse_size(&s).map_err(serde::de::Error::custom)
}

fn de_duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    crate::cli::parse_duration(&s).map_err(serde::de::Error::custom)
}

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
    /// Loads and validates a pipeline file.
    pub fn load(path: &Path, catalog: &Catalog) -> Result<PipelineConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let cfg: PipelineConfig = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        cfg.validate(catalog)
            .map_err(|message| ConfigError::Invalid {
                path: path.to_path_buf(),
                message,
            })?;
        Ok(cfg)
    }

    /// Cross-field checks, with the offending values in the message.
    pub fn validate(&self, catalog: &Catalog) -> Result<(), String> {
        if self.kafka.brokers.trim().is_empty() {
            return Err("`kafka.brokers` is empty, expected `host:port[,host:port…]`".into());
        }
        if self.kafka.group_id.trim().is_empty() {
            return Err("`kafka.group_id` is empty".into());
        }
        if !matches!(self.kafka.start_from.as_str(), "earliest" | "latest") {
            return Err(format!(
                "`kafka.start_from` is `{}`, expected `earliest` or `latest`",
                self.kafka.start_from
            ));
        }
        for (k, v) in &self.kafka.options {
            if matches!(
                k.as_str(),
                "bootstrap.servers"
                    | "group.id"
                    | "enable.auto.commit"
                    | "enable.auto.offset.store"
            ) {
                return Err(format!(
                    "`kafka.options.\"{k}\"` is managed by postlaunch (use `kafka.brokers`/`kafka.group_id`; offsets are committed after the lake commit)"
                ));
            }
            expand_env(v, k)?;
        }
        if self.topics.is_empty() {
            return Err("no `[[topics]]`: map at least one topic to a table".into());
        }
        let mut seen = BTreeMap::new();
        for t in &self.topics {
            catalog
                .get(&t.table)
                .map_err(|e| format!("topic `{}`: {e}", t.topic))?;
            if let Some(prev) = seen.insert(t.topic.clone(), t.table.clone()) {
                return Err(format!(
                    "topic `{}` is listed twice (tables `{prev}` and `{}`)",
                    t.topic, t.table
                ));
            }
        }
        if self.flush.max_rows == 0 {
            return Err("`flush.max_rows` is 0, expected at least 1".into());
        }
        if self.flush.max_age.is_zero() {
            return Err("`flush.max_age` is 0s, expected a positive duration such as `30s`".into());
        }
        if self.flush.max_bytes > self.memory_budget {
            return Err(format!(
                "`flush.max_bytes` ({}) must not exceed `memory_budget` ({})",
                self.flush.max_bytes, self.memory_budget
            ));
        }
        if !self.metrics.listen.is_empty() {
            self.metrics.listen.parse::<SocketAddr>().map_err(|_| {
                format!(
                    "`metrics.listen` is `{}`, expected `address:port` such as `127.0.0.1:9464` (or \"\" to disable)",
                    self.metrics.listen
                )
            })?;
        }
        Ok(())
    }
}
