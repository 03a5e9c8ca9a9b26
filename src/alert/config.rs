//! `pipelines/alerts.toml`: the alert rules, parsed once into typed structs with every check done
//! at load time (`postlaunch validate pipelines/alerts.toml` runs exactly this; the pipeline file
//! names it with `alerts = "alerts.toml"`).
//!
//! Precedence: built-in defaults ([`defaults`]) < `[decision]` < the rule's own fields.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::Severity;
use crate::config::{de_duration, ConfigFile, Invalid};
use crate::stats::cusum::RateTest;

/// The built-in defaults, in one place.
pub mod defaults {
    use std::time::Duration;

    /// Evaluation step (event time): 5 s.
    pub fn step() -> Duration {
        Duration::from_secs(5)
    }
    /// How long after an event's time its step is closed: 10 s.
    pub fn lateness() -> Duration {
        Duration::from_secs(10)
    }
    /// ρ of the sequential test: a band's in-control rate is T/1.5.
    pub fn margin() -> f64 {
        1.5
    }
    /// h of the sequential test: ln 10⁶, a likelihood ratio of a million to one.
    pub fn evidence() -> f64 {
        1e6f64.ln()
    }
    /// How far back a breach's span may start: 1 hour.
    pub fn horizon() -> Duration {
        Duration::from_secs(3600)
    }
    /// The window of a rule's value, minimum traffic and resolution: 5 minutes.
    pub fn window() -> Duration {
        Duration::from_secs(300)
    }
    /// How long an alert keeps firing after its condition cleared: 2 minutes.
    pub fn keep_firing_for() -> Duration {
        Duration::from_secs(120)
    }
    /// Requests (or samples) the window must hold before a band may fire: 20.
    pub fn min_requests() -> u64 {
        20
    }
    /// A band resolves below this share of its threshold: 0.8.
    pub fn hysteresis() -> f64 {
        0.8
    }
    /// The latency percentile: p95.
    /// A partition silent this long (wall time) stops holding the clock back: 30 s.
    pub fn idle() -> Duration {
        Duration::from_secs(30)
    }
    /// SLO alerts keep firing 5 minutes after their band stopped holding.
    pub fn slo_keep() -> Duration {
        Duration::from_secs(300)
    }
    /// An SLO's period: 30 days.
    pub fn slo_window() -> Duration {
        Duration::from_secs(30 * 86_400)
    }
    /// The burn-rate alerts of the SRE Workbook (ch. 5, "multiwindow, multi-burn-rate"):
    /// 14.4× over 1 h and 5 min and 6× over 6 h and 30 min page; 1× over 3 days and 6 h is a
    /// ticket. Lowest first, as bands.
    pub fn burn() -> Vec<super::Burn> {
        let h = |x: u64| Duration::from_secs(x * 3600);
        let m = |x: u64| Duration::from_secs(x * 60);
        vec![
            super::Burn {
                severity: super::Severity::P3,
                factor: 1.0,
                long: h(72),
                short: h(6),
            },
            super::Burn {
                severity: super::Severity::P2,
                factor: 6.0,
                long: h(6),
                short: m(30),
            },
            super::Burn {
                severity: super::Severity::P1,
                factor: 14.4,
                long: h(1),
                short: m(5),
            },
        ]
    }
    /// Anomaly rules: how long an anomaly must last: one hour.
    pub fn anomaly_for() -> Duration {
        Duration::from_secs(3600)
    }
    /// Anomaly rules: weeks of the same hour of the week in the baseline.
    pub fn weeks() -> u32 {
        4
    }
    /// Anomaly rules: how many robust standard deviations (1.4826·MAD) from the median.
    pub fn z() -> f64 {
        4.0
    }
    /// Anomaly rules: the smallest change from the median that counts, relative.
    pub fn min_change() -> f64 {
        0.2
    }
    /// Trend rules: the significance level.
    pub fn alpha() -> f64 {
        0.05
    }
    pub fn percentile() -> f64 {
        0.95
    }
}

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsFile {
    /// How every rule decides.
    #[serde(default)]
    pub decision: Decision,
    /// The rules (`[[rule]]` tables).
    #[serde(default, rename = "rule")]
    pub rules: Vec<Rule>,
    /// Service level objectives (`[[slo]]`): multiwindow multi-burn-rate alerts.
    #[serde(default, rename = "slo")]
    pub slos: Vec<Slo>,
    /// P4 anomaly rules on the hourly tables (`[[anomaly]]`), run by `postlaunch run`.
    #[serde(default, rename = "anomaly")]
    pub anomalies: Vec<Anomaly>,
    /// P4 trend rules on `weekly_trends` (`[[trend]]`), run by `postlaunch run`.
    #[serde(default, rename = "trend")]
    pub trends: Vec<TrendRule>,
    /// `[notify]`: read by the notification layer (`crate::notify::config`), not here.
    #[serde(default)]
    pub notify: Option<toml::Table>,
    /// `[incidents]`: read by the incident layer (`crate::incident::config`), not here.
    #[serde(default)]
    pub incidents: Option<toml::Table>,
}

/// `[decision]`: the evaluation clock and the sequential test shared by the rate rules.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// Rules are evaluated at the end of every step of event time.
    #[serde(default = "defaults::step", deserialize_with = "de_duration")]
    pub step: Duration,
    /// A step is closed (evaluated, and later events for it ignored) once the stream's newest
    /// event is this much past its end: the watermark.
    #[serde(default = "defaults::lateness", deserialize_with = "de_duration")]
    pub lateness: Duration,
    /// ρ > 1: a band's in-control rate is T/ρ.
    #[serde(default = "defaults::margin")]
    pub margin: f64,
    /// h > 0: the log-likelihood ratio at which a band fires.
    #[serde(default = "defaults::evidence")]
    pub evidence: f64,
    /// How far back the span of a breach may start (at least a minute).
    #[serde(default = "defaults::horizon", deserialize_with = "de_duration")]
    pub horizon: Duration,
    /// Live: a partition that has delivered nothing for this long (wall time) no longer holds
    /// the clock back; until then the clock is the newest event of the slowest partition.
    #[serde(default = "defaults::idle", deserialize_with = "de_duration")]
    pub idle: Duration,
}

impl Default for Decision {
    fn default() -> Self {
        Decision {
            step: defaults::step(),
            lateness: defaults::lateness(),
            margin: defaults::margin(),
            evidence: defaults::evidence(),
            horizon: defaults::horizon(),
            idle: defaults::idle(),
        }
    }
}

/// What a rule measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// The share of a service's requests answered with a 5xx (`requests`).
    ErrorRate,
    /// A latency percentile of a service's requests (`requests.duration_ms`), decided as the
    /// share of requests slower than the band's level (p95 > 2 s ⇔ more than 5 % slower than 2 s).
    Latency,
    /// The mean of a `metrics` series (`metric`) over the window, per host or service.
    Gauge,
    /// No successful (non-5xx) response of a service over the window while traffic was expected:
    /// every request fails, or the service's events stop arriving while other services' events
    /// move the watermark (which proves the pipeline itself is alive). A band's `above` is the
    /// number of requests the window should hold: the median of the same minutes of the previous
    /// 7 days, or the rate of the hour before until a whole day has been seen.
    Unavailable,
    /// An `[[slo]]`'s burn rates (not written as a `[[rule]]`): bands are burn-rate factors,
    /// each over a long and a short window.
    #[serde(skip_deserializing)]
    BurnRate,
}

/// What one alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Per {
    Service,
    Host,
}

impl Per {
    pub fn label(self) -> &'static str {
        match self {
            Per::Service => "service",
            Per::Host => "host",
        }
    }
}

/// A band's level as written: a number, or a duration (`"2s"`) for latency.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Level {
    Number(f64),
    Text(String),
}

/// One band of a rule: above `above`, the alert is (at least) `severity`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Band {
    pub severity: Severity,
    /// The threshold: a share for error rates, a duration (or milliseconds) for latency, the
    /// metric's unit for gauges.
    pub above: Level,
    /// Resolves below this (default: `hysteresis` × `above`).
    #[serde(default)]
    pub resolve_below: Option<Level>,
}

/// One `[[rule]]`: a family of bands, one alert per entity that escalates and de-escalates.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Unique in the file; lowercase letters, digits and `_`.
    pub name: String,
    pub kind: RuleKind,
    /// What one alert is about (default: service; host only for gauges).
    #[serde(default)]
    pub per: Option<Per>,
    /// Gauges: the `metrics.name` series.
    #[serde(default)]
    pub metric: Option<String>,
    /// Latency: the percentile, in (0, 1) (default 0.95).
    #[serde(default)]
    pub percentile: Option<f64>,
    /// The window of the value, the minimum traffic and the resolution.
    #[serde(default = "defaults::window", deserialize_with = "de_duration")]
    pub window: Duration,
    /// How long the condition must hold before pending becomes firing (default 0: the sequential
    /// test is the statistical `for`).
    #[serde(default, rename = "for", deserialize_with = "de_duration")]
    pub for_: Duration,
    /// How long an alert keeps firing after its condition cleared.
    #[serde(
        default = "defaults::keep_firing_for",
        deserialize_with = "de_duration"
    )]
    pub keep_firing_for: Duration,
    /// Requests (samples, for gauges) the window must hold before a band fires.
    #[serde(default = "defaults::min_requests")]
    pub min_requests: u64,
    /// A band resolves below `hysteresis` × its threshold (unless it sets `resolve_below`).
    #[serde(default = "defaults::hysteresis")]
    pub hysteresis: f64,
    /// The runbook, a file under `runbooks/`.
    #[serde(default)]
    pub runbook: Option<PathBuf>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// The bands, lowest threshold (and severity) first.
    pub bands: Vec<Band>,
    /// Set for the rule an `[[slo]]` compiles to.
    #[serde(skip)]
    pub slo: Option<SloSpec>,
}

/// One `[[slo]]`: an availability or latency objective of a service (or of every service) over
/// a period, alerted on by burn rate: the bad share of a window over the error budget
/// (1 − objective). A burn rate of 1 spends the budget exactly over the period.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slo {
    /// Unique among rules and SLOs; lowercase letters, digits and `_`.
    pub name: String,
    /// The service; every service (an alert each) when absent.
    #[serde(default)]
    pub service: Option<String>,
    /// The share of good requests, e.g. 0.999.
    pub objective: f64,
    /// Latency SLOs: a good request answers at or below this ("1s"); availability SLOs (the
    /// default): a good request is not a 5xx.
    #[serde(default)]
    pub latency: Option<Level>,
    /// The SLO's period (default 30 days).
    #[serde(default = "defaults::slo_window", deserialize_with = "de_duration")]
    pub window: Duration,
    /// The burn-rate alerts, lowest factor first (default: the SRE Workbook's three).
    #[serde(default = "defaults::burn")]
    pub burn: Vec<Burn>,
    /// Requests the short window must hold before an alert fires.
    #[serde(default = "defaults::min_requests")]
    pub min_requests: u64,
    /// How long a burn-rate band keeps firing after it stopped holding (no flapping between
    /// the bands of a burn at the edge of a factor).
    #[serde(default = "defaults::slo_keep", deserialize_with = "de_duration")]
    pub keep_firing_for: Duration,
    #[serde(default)]
    pub runbook: Option<PathBuf>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// One burn-rate alert of an SLO: fires while both windows burn at least `factor` × budget.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Burn {
    pub severity: Severity,
    pub factor: f64,
    #[serde(deserialize_with = "de_duration")]
    pub long: Duration,
    #[serde(deserialize_with = "de_duration")]
    pub short: Duration,
}

/// What the engine needs of an SLO.
#[derive(Debug, Clone, PartialEq)]
pub struct SloSpec {
    /// 1 − objective.
    pub budget: f64,
    /// Latency SLOs: the level, ms.
    pub latency_ms: Option<f64>,
    pub service: Option<String>,
    /// Per band: (long, short) windows.
    pub windows: Vec<(Duration, Duration)>,
}

impl Slo {
    /// The rule the engine runs: a band per burn-rate alert, its threshold the factor.
    pub fn rule(&self) -> Rule {
        let mut labels = self.labels.clone();
        labels.insert("slo".into(), self.name.clone());
        labels.insert("objective".into(), self.objective.to_string());
        Rule {
            name: self.name.clone(),
            kind: RuleKind::BurnRate,
            per: None,
            metric: None,
            percentile: None,
            window: self.burn.iter().map(|b| b.long).max().unwrap_or_default(),
            for_: Duration::ZERO,
            keep_firing_for: self.keep_firing_for,
            min_requests: self.min_requests,
            hysteresis: 1.0,
            runbook: self.runbook.clone(),
            labels,
            annotations: self.annotations.clone(),
            bands: self
                .burn
                .iter()
                .map(|b| Band {
                    severity: b.severity,
                    above: Level::Number(b.factor),
                    resolve_below: None,
                })
                .collect(),
            slo: Some(SloSpec {
                budget: 1.0 - self.objective,
                latency_ms: self.latency.as_ref().and_then(|l| match l {
                    Level::Number(x) => Some(*x),
                    Level::Text(s) => crate::units::parse_duration(s)
                        .ok()
                        .map(|d| d.as_secs_f64() * 1000.0),
                }),
                service: self.service.clone(),
                windows: self.burn.iter().map(|b| (b.long, b.short)).collect(),
            }),
        }
    }

    fn validate(&self) -> Result<(), Invalid> {
        check_name(&self.name)?;
        if !(self.objective > 0.0 && self.objective < 1.0) {
            return Err(Invalid::at(
                "objective",
                format!(
                    "objective {}: expected a share in (0, 1), e.g. 0.999",
                    self.objective
                ),
            ));
        }
        if let Some(l) = &self.latency {
            let ok = match l {
                Level::Number(x) => *x > 0.0,
                Level::Text(s) => crate::units::parse_duration(s).is_ok_and(|d| !d.is_zero()),
            };
            if !ok {
                return Err(Invalid::at(
                    "latency",
                    format!("latency {l:?}: expected a positive duration such as \"1s\""),
                ));
            }
        }
        if self.burn.is_empty() {
            return Err(Invalid::at(
                "burn",
                "an SLO needs at least one burn-rate alert, e.g. { severity = \"P2\", factor = 6, long = \"6h\", short = \"30m\" }",
            ));
        }
        let mut previous: Option<&Burn> = None;
        for (i, b) in self.burn.iter().enumerate() {
            let at = |k: &str| format!("burn[{i}].{k}");
            if !(b.factor > 0.0 && b.factor.is_finite()) {
                return Err(Invalid::at(
                    at("factor"),
                    format!(
                        "factor {}: expected a positive burn rate, e.g. 14.4",
                        b.factor
                    ),
                ));
            }
            if b.factor * (1.0 - self.objective) >= 1.0 {
                return Err(Invalid::at(
                    at("factor"),
                    format!(
                        "factor {} × budget {:.4} ≥ 1: this alert can never fire (more than every request would have to fail); expected a factor below {:.1}",
                        b.factor,
                        1.0 - self.objective,
                        1.0 / (1.0 - self.objective)
                    ),
                ));
            }
            if b.short.is_zero() || b.short >= b.long {
                return Err(Invalid::at(
                    at("short"),
                    format!(
                        "short window {:?}: expected a positive window shorter than long ({:?})",
                        b.short, b.long
                    ),
                ));
            }
            if b.long > self.window {
                return Err(Invalid::at(
                    at("long"),
                    format!(
                        "long window {:?} is longer than the SLO's window {:?}",
                        b.long, self.window
                    ),
                ));
            }
            if let Some(p) = previous {
                if b.factor <= p.factor || b.severity <= p.severity {
                    return Err(Invalid::at(
                        at("factor"),
                        format!(
                            "{} at {}× after {} at {}×: expected burn-rate alerts in increasing order of factor and severity",
                            b.severity, b.factor, p.severity, p.factor
                        ),
                    ));
                }
            }
            previous = Some(b);
        }
        Ok(())
    }
}

/// Which way an anomaly counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Above the baseline only (latency, errors).
    #[default]
    Up,
    /// Below only (requests, conversion).
    Down,
    Both,
}

/// One `[[anomaly]]`: a P4 when an hour of a metric of an hourly table is far from its robust
/// seasonal baseline — the median and MAD of the same hour of the week over the last `weeks`
/// weeks (until three of those exist, the same hour of the previous seven days).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Anomaly {
    /// Unique among rules; lowercase letters, digits and `_`.
    pub name: String,
    /// An hourly table, e.g. "hourly_service_metrics".
    pub table: String,
    /// A numeric column of it, e.g. "p95_ms".
    pub metric: String,
    /// The columns naming one series (default ["service"]).
    #[serde(default = "default_entity")]
    pub entity: Vec<String>,
    /// Rows kept: column = value (e.g. { version = "*" }).
    #[serde(default)]
    pub filter: BTreeMap<String, String>,
    /// A column that must reach `min_volume` for the hour to count (e.g. "requests").
    #[serde(default)]
    pub volume: Option<String>,
    #[serde(default)]
    pub min_volume: f64,
    #[serde(default)]
    pub direction: Direction,
    /// How long the anomaly must last, in whole hours: "2h" fires at the second anomalous hour
    /// in a row (a single noisy hour does not page).
    #[serde(
        default = "defaults::anomaly_for",
        rename = "for",
        deserialize_with = "de_duration"
    )]
    pub for_: Duration,
    #[serde(default = "defaults::weeks")]
    pub weeks: u32,
    /// Robust standard deviations (1.4826·MAD) from the median.
    #[serde(default = "defaults::z")]
    pub z: f64,
    /// The floor: the change from the median must be at least this share of it.
    #[serde(default = "defaults::min_change")]
    pub min_change: f64,
    #[serde(default)]
    pub runbook: Option<PathBuf>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

fn default_entity() -> Vec<String> {
    vec!["service".into()]
}

/// The hourly tables and their columns (from the `-- Columns:` header of their SQL file).
pub fn hourly_tables() -> Vec<(String, Vec<String>)> {
    crate::hourly::queries::HOURLY
        .iter()
        .map(|q| (format!("hourly_{}", q.name()), q.columns()))
        .collect()
}

impl Anomaly {
    /// Consecutive anomalous hours before it fires.
    pub fn hours(&self) -> u32 {
        (self.for_.as_secs() / 3600).max(1) as u32
    }

    fn validate(&self) -> Result<(), Invalid> {
        check_name(&self.name)?;
        let tables = hourly_tables();
        let Some((_, columns)) = tables.iter().find(|(t, _)| *t == self.table) else {
            let names: Vec<&str> = tables.iter().map(|(t, _)| t.as_str()).collect();
            return Err(Invalid::at(
                "table",
                format!(
                    "unknown table `{}`: expected an hourly table, one of {}",
                    self.table,
                    names.join(", ")
                ),
            ));
        };
        let known = |key: &str, c: &str| -> Result<(), Invalid> {
            if columns.iter().any(|k| k == c) && c != "hour_start" {
                Ok(())
            } else {
                Err(Invalid::at(
                    key,
                    format!(
                        "unknown column `{c}` of `{}`: expected one of {}",
                        self.table,
                        columns.join(", ")
                    ),
                ))
            }
        };
        known("metric", &self.metric)?;
        if self.entity.is_empty() {
            return Err(Invalid::at(
                "entity",
                "expected at least one column naming the series, e.g. [\"service\"]",
            ));
        }
        for c in &self.entity {
            known("entity", c)?;
        }
        for c in self.filter.keys() {
            known("filter", c)?;
        }
        if let Some(v) = &self.volume {
            known("volume", v)?;
        }
        if !self.for_.as_secs().is_multiple_of(3600) || self.for_.is_zero() {
            return Err(Invalid::at(
                "for",
                format!(
                    "for = {:?}: expected whole hours (the hourly tables' period), e.g. \"2h\"",
                    self.for_
                ),
            ));
        }
        if self.weeks == 0 {
            return Err(Invalid::at(
                "weeks",
                "weeks = 0: expected at least 1 week of history",
            ));
        }
        let positive_z = self.z > 0.0 && self.z.is_finite();
        let floor = self.min_change >= 0.0 && self.min_change.is_finite();
        if !(positive_z && floor) {
            return Err(Invalid::at(
                "z",
                format!(
                    "z = {}, min_change = {}: expected a positive z and a non-negative share",
                    self.z, self.min_change
                ),
            ));
        }
        Ok(())
    }
}

/// One `[[trend]]`: a P4 when a metric of `weekly_trends` changed week over week by at least
/// `change` (relative) with a p-value below `alpha` (metrics without a test, such as p95: the
/// change alone).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrendRule {
    pub name: String,
    /// `weekly_trends.metric` values (e.g. "error_rate", "p95_ms"); every metric when empty.
    #[serde(default)]
    pub metrics: Vec<String>,
    /// The smallest |relative change|, e.g. 0.2 for ±20 %.
    pub change: f64,
    #[serde(default = "defaults::alpha")]
    pub alpha: f64,
    #[serde(default)]
    pub direction: Option<Direction>,
    #[serde(default)]
    pub runbook: Option<PathBuf>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

impl TrendRule {
    fn validate(&self) -> Result<(), Invalid> {
        check_name(&self.name)?;
        if !(self.change > 0.0 && self.change.is_finite()) {
            return Err(Invalid::at(
                "change",
                format!(
                    "change = {}: expected a positive relative change, e.g. 0.2",
                    self.change
                ),
            ));
        }
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return Err(Invalid::at(
                "alpha",
                format!(
                    "alpha = {}: expected a significance level in (0, 1), e.g. 0.05",
                    self.alpha
                ),
            ));
        }
        Ok(())
    }
}

/// Rule, SLO, anomaly and trend names: lowercase letters, digits and `_`.
fn check_name(n: &str) -> Result<(), Invalid> {
    if n.is_empty()
        || !n
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(Invalid::at(
            "name",
            format!("name `{n}`: expected lowercase letters, digits and `_`"),
        ));
    }
    Ok(())
}

/// The `metrics` series a gauge rule may name (the standard names of
/// `schemas/metrics.schema.json` that are gauges), and whether each is a ratio (0–1).
pub const GAUGE_METRICS: &[(&str, bool)] = &[
    ("cpu_utilization", true),
    ("memory_utilization", true),
    ("db_pool_in_use", false),
    ("db_pool_size", false),
    ("db_query_ms", false),
    ("db_replication_lag_s", false),
    ("dependency_latency_ms", false),
    ("disk_read_bytes", false),
    ("disk_write_bytes", false),
    ("network_rx_bytes", false),
    ("network_tx_bytes", false),
];

impl Rule {
    /// The entity an alert of this rule is about.
    pub fn per(&self) -> Per {
        self.per.unwrap_or(Per::Service)
    }

    /// The latency percentile.
    pub fn quantile(&self) -> f64 {
        self.percentile.unwrap_or_else(defaults::percentile)
    }

    /// A band's threshold as a number: a share, milliseconds, or the metric's unit.
    pub fn threshold(&self, level: &Level) -> Result<f64, String> {
        match (self.kind, level) {
            (_, Level::Number(x)) if x.is_finite() => Ok(*x),
            (RuleKind::Latency, Level::Text(s)) => crate::units::parse_duration(s)
                .map(|d| d.as_secs_f64() * 1000.0)
                .map_err(|e| format!("`{s}`: {e}")),
            (_, Level::Text(s)) => Err(format!("`{s}` is not a number")),
            (_, Level::Number(x)) => Err(format!("{x} is not a finite number")),
        }
    }

    /// The thresholds of the bands, in file order.
    pub fn thresholds(&self) -> Vec<f64> {
        self.bands
            .iter()
            .map(|b| self.threshold(&b.above).unwrap_or(f64::NAN))
            .collect()
    }

    /// Where each band resolves.
    pub fn resolve_levels(&self) -> Vec<f64> {
        self.bands
            .iter()
            .map(|b| match &b.resolve_below {
                Some(l) => self.threshold(l).unwrap_or(f64::NAN),
                None => self.threshold(&b.above).unwrap_or(f64::NAN) * self.hysteresis,
            })
            .collect()
    }

    /// The share of bad requests a band tests: the error rate itself, or 1 − percentile for
    /// latency (p95 above L ⇔ more than 5 % of requests slower than L).
    pub fn bad_share(&self, threshold: f64) -> f64 {
        match self.kind {
            RuleKind::ErrorRate => threshold,
            RuleKind::Latency => 1.0 - self.quantile(),
            RuleKind::Gauge | RuleKind::Unavailable | RuleKind::BurnRate => f64::NAN,
        }
    }

    fn validate(&self, decision: &Decision) -> Result<(), Invalid> {
        check_name(&self.name)?;
        if self.window < decision.step {
            return Err(Invalid::at(
                "window",
                format!(
                    "window {:?} is shorter than the evaluation step {:?} (`decision.step`): expected at least one step",
                    self.window, decision.step
                ),
            ));
        }
        if !(self.hysteresis > 0.0 && self.hysteresis <= 1.0) {
            return Err(Invalid::at(
                "hysteresis",
                format!(
                    "hysteresis {}: expected a share in (0, 1] of the threshold",
                    self.hysteresis
                ),
            ));
        }
        match self.kind {
            RuleKind::Gauge => {
                let Some(metric) = &self.metric else {
                    return Err(Invalid::at(
                        "metric",
                        "a gauge rule needs `metric`, the metrics series (e.g. \"cpu_utilization\")",
                    ));
                };
                if !GAUGE_METRICS.iter().any(|(m, _)| m == metric) {
                    let known: Vec<&str> = GAUGE_METRICS.iter().map(|(m, _)| *m).collect();
                    return Err(Invalid::at(
                        "metric",
                        format!(
                            "unknown metric `{metric}`: expected one of {}",
                            known.join(", ")
                        ),
                    ));
                }
            }
            _ => {
                if self.metric.is_some() {
                    return Err(Invalid::at(
                        "metric",
                        "`metric` is for gauge rules; error_rate and latency rules read `requests`",
                    ));
                }
                if self.per() == Per::Host {
                    return Err(Invalid::at(
                        "per",
                        "per = \"host\" is for gauge rules; request rules are per service",
                    ));
                }
            }
        }
        if let Some(q) = self.percentile {
            if self.kind != RuleKind::Latency || !(q > 0.0 && q < 1.0) {
                return Err(Invalid::at(
                    "percentile",
                    format!("percentile {q}: expected a share in (0, 1), on latency rules only (0.95 for p95)"),
                ));
            }
        }
        self.validate_bands(decision)
    }

    fn validate_bands(&self, decision: &Decision) -> Result<(), Invalid> {
        if self.bands.is_empty() {
            return Err(Invalid::at(
                "bands",
                "a rule needs at least one band, e.g. { severity = \"P2\", above = 0.01 }",
            ));
        }
        let mut previous: Option<(f64, Severity)> = None;
        for (i, band) in self.bands.iter().enumerate() {
            let key = format!("bands[{i}].above");
            let t = self
                .threshold(&band.above)
                .map_err(|e| Invalid::at(&key, format!("{e}: expected {}", self.kind_expects())))?;
            let never = match self.kind {
                RuleKind::ErrorRate => !(t > 0.0 && t < 1.0),
                RuleKind::Latency | RuleKind::Unavailable | RuleKind::BurnRate => t <= 0.0,
                RuleKind::Gauge => {
                    let ratio = GAUGE_METRICS
                        .iter()
                        .any(|(m, r)| *r && self.metric.as_deref() == Some(m));
                    ratio && t >= 1.0
                }
            };
            if never {
                return Err(Invalid::at(
                    &key,
                    format!(
                        "above = {t}: this band can never fire; expected {}",
                        self.kind_expects()
                    ),
                ));
            }
            if self.kind == RuleKind::Latency {
                let bad = self.bad_share(t);
                RateTest::new(bad, decision.margin, decision.evidence, self.min_requests)
                    .map_err(|e| Invalid::at("percentile", e.to_string()))?;
            }
            if let Some(r) = &band.resolve_below {
                let r = self
                    .threshold(r)
                    .map_err(|e| Invalid::at(format!("bands[{i}].resolve_below"), e))?;
                if r > t {
                    return Err(Invalid::at(
                        format!("bands[{i}].resolve_below"),
                        format!("resolve_below = {r} is above the band's threshold {t}: expected a lower level (hysteresis)"),
                    ));
                }
            }
            if let Some((pt, ps)) = previous {
                if t <= pt {
                    return Err(Invalid::at(
                        &key,
                        format!("above = {t} overlaps the band before it (above = {pt}): expected bands in increasing order of threshold"),
                    ));
                }
                if band.severity <= ps {
                    return Err(Invalid::at(
                        format!("bands[{i}].severity"),
                        format!(
                            "{} after {}: expected each band more severe than the one before (P4 → P1)",
                            band.severity, ps
                        ),
                    ));
                }
            }
            previous = Some((t, band.severity));
        }
        Ok(())
    }

    fn kind_expects(&self) -> &'static str {
        match self.kind {
            RuleKind::ErrorRate => "a share of requests in (0, 1), e.g. 0.05 for 5 %",
            RuleKind::Unavailable => {
                "a positive number of requests the window should hold (same minutes of previous days, or the hour before), e.g. 20"
            }
            RuleKind::Latency => {
                "a positive duration such as \"2s\" or \"500ms\" (or milliseconds)"
            }
            RuleKind::Gauge => {
                "a number in the metric's unit (a share in (0, 1) for *_utilization)"
            }
            RuleKind::BurnRate => "a positive burn-rate factor",
        }
    }
}

impl AlertsFile {
    /// The rules whose `runbook` file does not exist (relative paths are from `base`, the
    /// project folder): a warning until the runbooks are written.
    pub fn missing_runbooks(&self, base: &Path) -> Vec<(String, PathBuf)> {
        let named = self
            .rules
            .iter()
            .map(|r| (&r.name, &r.runbook))
            .chain(self.slos.iter().map(|r| (&r.name, &r.runbook)))
            .chain(self.anomalies.iter().map(|r| (&r.name, &r.runbook)))
            .chain(self.trends.iter().map(|r| (&r.name, &r.runbook)));
        named
            .filter_map(|(name, p)| {
                let p = p.as_ref()?;
                (!base.join(p).exists()).then(|| (name.clone(), p.clone()))
            })
            .collect()
    }

    /// The rules the stream engine runs: the `[[rule]]`s and the rules of the `[[slo]]`s.
    pub fn stream_rules(&self) -> Vec<Rule> {
        self.rules
            .iter()
            .cloned()
            .chain(self.slos.iter().map(Slo::rule))
            .collect()
    }

    /// The rules by the table they read — `requests` (error rate, latency) and `metrics`
    /// (gauges) — each set for an engine of its own, whose clock is its own table's events: a
    /// topic that lags behind the other does not make its events late.
    pub fn by_table(&self) -> Vec<(&'static str, AlertsFile)> {
        let part = |gauges: bool| AlertsFile {
            decision: self.decision.clone(),
            rules: self
                .rules
                .iter()
                .filter(|r| (r.kind == RuleKind::Gauge) == gauges)
                .cloned()
                .collect(),
            slos: if gauges {
                Vec::new()
            } else {
                self.slos.clone()
            },
            anomalies: Vec::new(),
            trends: Vec::new(),
            notify: None,
            incidents: None,
        };
        [("requests", part(false)), ("metrics", part(true))]
            .into_iter()
            .filter(|(_, f)| !f.rules.is_empty() || !f.slos.is_empty())
            .collect()
    }

    /// The built-in default rules (`pipelines/alerts.toml` as shipped).
    pub fn builtin() -> AlertsFile {
        AlertsFile::parse(DEFAULT_RULES, Path::new("pipelines/alerts.toml"))
            .expect("the shipped alerts.toml is valid (tested)")
    }
}

/// `pipelines/alerts.toml` as shipped.
pub const DEFAULT_RULES: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/pipelines/alerts.toml"
));

impl ConfigFile for AlertsFile {
    const KIND: &'static str = "alerts file";
    type Context = ();

    fn validate(&self, _: &()) -> Result<(), Invalid> {
        let d = &self.decision;
        if d.step.is_zero() {
            return Err(Invalid::at(
                "decision.step",
                "step is 0: expected e.g. \"5s\"",
            ));
        }
        if !(d.margin > 1.0 && d.margin.is_finite()) {
            return Err(Invalid::at(
                "decision.margin",
                format!(
                    "margin {}: expected a number above 1 (1.5: rate ≤ T/1.5 against ≥ 1.5·T)",
                    d.margin
                ),
            ));
        }
        if d.horizon < Duration::from_secs(60) {
            return Err(Invalid::at(
                "decision.horizon",
                format!(
                    "horizon {:?}: expected at least a minute (\"1h\")",
                    d.horizon
                ),
            ));
        }
        if !(d.evidence > 0.0 && d.evidence.is_finite()) {
            return Err(Invalid::at(
                "decision.evidence",
                format!(
                    "evidence {}: expected a positive log-likelihood ratio (9.2 = ln 10⁴)",
                    d.evidence
                ),
            ));
        }
        let mut names = std::collections::BTreeSet::new();
        let mut unique = |key: String, name: &String| {
            if names.insert(name.clone()) {
                Ok(())
            } else {
                Err(Invalid::at(
                    key,
                    format!("`{name}` is defined twice: expected unique names across rules, SLOs, anomalies and trends"),
                ))
            }
        };
        for (i, rule) in self.rules.iter().enumerate() {
            rule.validate(d)
                .map_err(|e| e.under(&format!("rule[{i}]")))?;
            unique(format!("rule[{i}].name"), &rule.name)?;
        }
        for (i, slo) in self.slos.iter().enumerate() {
            slo.validate().map_err(|e| e.under(&format!("slo[{i}]")))?;
            unique(format!("slo[{i}].name"), &slo.name)?;
        }
        for (i, a) in self.anomalies.iter().enumerate() {
            a.validate()
                .map_err(|e| e.under(&format!("anomaly[{i}]")))?;
            unique(format!("anomaly[{i}].name"), &a.name)?;
        }
        for (i, t) in self.trends.iter().enumerate() {
            t.validate().map_err(|e| e.under(&format!("trend[{i}]")))?;
            unique(format!("trend[{i}].name"), &t.name)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<AlertsFile, String> {
        AlertsFile::parse(text, Path::new("a.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn the_shipped_rules_are_the_protocols() {
        let f = AlertsFile::builtin();
        let find = |n: &str| f.rules.iter().find(|r| r.name == n).unwrap();
        let e = find("error_rate");
        assert_eq!(e.thresholds(), vec![0.005, 0.01, 0.05]);
        let sev: Vec<Severity> = e.bands.iter().map(|b| b.severity).collect();
        assert_eq!(sev, vec![Severity::P3, Severity::P2, Severity::P1]);
        let l = find("latency");
        assert_eq!(l.thresholds(), vec![1000.0, 2000.0, 5000.0]);
        assert!((l.quantile() - 0.95).abs() < 1e-12);
        assert_eq!(find("host_cpu").thresholds(), vec![0.8]);
        assert_eq!(find("host_cpu").per(), Per::Host);
        assert_eq!(find("host_memory").thresholds(), vec![0.7]);
    }

    const RULE: &str = "[[rule]]\nname = \"e\"\nkind = \"error_rate\"\n";

    #[test]
    fn bad_rules_name_the_line_and_what_was_expected() {
        let overlapping = format!(
            "{RULE}bands = [\n  {{ severity = \"P2\", above = 0.01 }},\n  {{ severity = \"P1\", above = 0.01 }},\n]\n"
        );
        let e = parse(&overlapping).unwrap_err();
        assert!(
            e.contains("overlaps") && e.contains("rule[0].bands[1].above"),
            "{e}"
        );
        let never = format!("{RULE}bands = [{{ severity = \"P1\", above = 1.5 }}]\n");
        let e = parse(&never).unwrap_err();
        assert!(e.contains("can never fire"), "{e}");
        let order = format!(
            "{RULE}bands = [{{ severity = \"P1\", above = 0.01 }}, {{ severity = \"P2\", above = 0.05 }}]\n"
        );
        assert!(parse(&order).unwrap_err().contains("more severe"));
        let window =
            format!("{RULE}window = \"1s\"\nbands = [{{ severity = \"P1\", above = 0.05 }}]\n");
        let e = parse(&window).unwrap_err();
        assert!(
            e.contains("line 4") && e.contains("shorter than the evaluation step"),
            "{e}"
        );
        let negative =
            format!("{RULE}window = \"-5m\"\nbands = [{{ severity = \"P1\", above = 0.05 }}]\n");
        assert!(parse(&negative).unwrap_err().contains("-5m"));
        let cpu = "[[rule]]\nname = \"c\"\nkind = \"gauge\"\nmetric = \"cpu_utilization\"\nper = \"host\"\nbands = [{ severity = \"P2\", above = 80 }]\n";
        assert!(parse(cpu).unwrap_err().contains("can never fire"));
        let unknown = "[[rule]]\nname = \"c\"\nkind = \"gauge\"\nmetric = \"cpu\"\nbands = [{ severity = \"P2\", above = 0.8 }]\n";
        let e = parse(unknown).unwrap_err();
        assert!(
            e.contains("unknown metric `cpu`") && e.contains("line 4"),
            "{e}"
        );
        let kind = "[[rule]]\nname = \"c\"\nkind = \"errors\"\nbands = []\n";
        assert!(parse(kind).unwrap_err().contains("error_rate"));
        let twice = format!(
            "{RULE}bands = [{{ severity = \"P1\", above = 0.05 }}]\n{RULE}bands = [{{ severity = \"P1\", above = 0.05 }}]\n"
        );
        assert!(parse(&twice).unwrap_err().contains("defined twice"));
        let latency = "[[rule]]\nname = \"l\"\nkind = \"latency\"\nbands = [{ severity = \"P1\", above = \"soon\" }]\n";
        assert!(parse(latency).unwrap_err().contains("`soon`"));
        // the slow rules: an unknown column or table, a `for` that is not whole hours
        let anomaly =
            "[[anomaly]]\nname = \"a\"\ntable = \"hourly_service_metrics\"\nmetric = \"p96_ms\"\n";
        let e = parse(anomaly).unwrap_err();
        assert!(
            e.contains("unknown column `p96_ms`") && e.contains("line 4") && e.contains("p95_ms"),
            "{e}"
        );
        let table = anomaly.replace("hourly_service_metrics", "service_hourly");
        assert!(parse(&table)
            .unwrap_err()
            .contains("expected an hourly table"));
        let hours = anomaly.replace("p96_ms", "p95_ms") + "for = \"90m\"\n";
        assert!(parse(&hours).unwrap_err().contains("whole hours"));
        let trend = "[[trend]]\nname = \"t\"\nchange = -0.2\n";
        assert!(parse(trend)
            .unwrap_err()
            .contains("positive relative change"));
    }
}
