//! `pipelines/experiments.toml`: which experiments to analyse, their metrics and decision rules,
//! parsed once into typed structs with every cross-field check done at load time
//! (`postlaunch validate pipelines/experiments.toml` runs exactly this).
//!
//! Precedence: built-in defaults ([`Defaults`]) < `[defaults]` of the file < the experiment's
//! own fields < command-line flags (`--window`).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::config::{de_duration, de_opt_duration, ConfigError, ConfigFile, Invalid};
use crate::stats::multiple::Correction;

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentsFile {
    /// Settings every experiment inherits unless it sets its own.
    #[serde(default)]
    pub defaults: Defaults,
    /// The experiments, by key (`[[experiment]]` tables).
    #[serde(default, rename = "experiment")]
    pub experiments: Vec<ExperimentConfig>,
}

/// Defaults shared by every experiment: all built-in values live here.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Analysis window ending at the analysis time, e.g. `"48h"` or `"7d"`.
    #[serde(default = "defaults::window", deserialize_with = "de_duration")]
    pub window: Duration,
    /// False-positive rate of each decision (1 − confidence level of the intervals).
    #[serde(default = "defaults::alpha")]
    pub alpha: f64,
    /// Adjustment for several goal metrics: `bh` (Benjamini–Hochberg), `holm` or `none`.
    #[serde(default = "defaults::correction")]
    pub correction: Correction,
    /// Units per arm below which no verdict is given.
    #[serde(default = "defaults::min_units_per_arm")]
    pub min_units_per_arm: u64,
    /// Decide on always-valid (sequential) intervals, safe to look at every hour.
    #[serde(default = "defaults::sequential")]
    pub sequential: bool,
    /// Power at which the minimum detectable effect (MDE) is reported.
    #[serde(default = "defaults::power")]
    pub power: f64,
    /// Share of units seen in more than one variant above which the experiment is flagged.
    #[serde(default = "defaults::multi_variant_flag")]
    pub multi_variant_flag: f64,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            window: defaults::window(),
            alpha: defaults::alpha(),
            correction: defaults::correction(),
            min_units_per_arm: defaults::min_units_per_arm(),
            sequential: defaults::sequential(),
            power: defaults::power(),
            multi_variant_flag: defaults::multi_variant_flag(),
        }
    }
}

/// The built-in defaults, in one place.
mod defaults {
    use super::*;
    pub fn window() -> Duration {
        Duration::from_secs(48 * 3600)
    }
    pub fn alpha() -> f64 {
        0.05
    }
    pub fn correction() -> Correction {
        Correction::Bh
    }
    pub fn min_units_per_arm() -> u64 {
        100
    }
    pub fn sequential() -> bool {
        true
    }
    pub fn power() -> f64 {
        0.8
    }
    pub fn multi_variant_flag() -> f64 {
        0.01
    }
}

/// One `[[experiment]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentConfig {
    /// The experiment's key, as in `exposures.experiment`.
    pub key: String,
    /// What is tested, for people reading the report.
    #[serde(default)]
    pub description: Option<String>,
    /// The control variant, as in `exposures.variant`.
    pub control: String,
    /// Intended share of each variant (weights; default: equal shares of the variants seen).
    #[serde(default)]
    pub split: Option<BTreeMap<String, f64>>,
    /// Overrides `defaults.window`.
    #[serde(default, deserialize_with = "de_opt_duration")]
    pub window: Option<Duration>,
    /// Overrides `defaults.alpha`.
    #[serde(default)]
    pub alpha: Option<f64>,
    /// Overrides `defaults.correction`.
    #[serde(default)]
    pub correction: Option<Correction>,
    /// Overrides `defaults.min_units_per_arm`.
    #[serde(default)]
    pub min_units_per_arm: Option<u64>,
    /// Overrides `defaults.sequential`.
    #[serde(default)]
    pub sequential: Option<bool>,
    /// The metrics (`[[experiment.metric]]` tables).
    #[serde(rename = "metric")]
    pub metrics: Vec<MetricConfig>,
}

/// Goal metrics decide; guardrails only block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Goal,
    Guardrail,
}

impl Role {
    pub fn name(&self) -> &'static str {
        match self {
            Role::Goal => "goal",
            Role::Guardrail => "guardrail",
        }
    }
}

/// How a metric is computed per unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    /// Did the unit have `event` after its first exposure (a rate; two-proportion z-test).
    Binary,
    /// Count of `event` (or the sum of its `revenue`) per unit, zero without one (Welch).
    Mean,
    /// Σ numerator / Σ denominator over units (delta method).
    Ratio,
    /// A quantile of the latency of requests served to the units (quantile z-test).
    Latency,
}

impl MetricKind {
    pub fn name(&self) -> &'static str {
        match self {
            MetricKind::Binary => "binary",
            MetricKind::Mean => "mean",
            MetricKind::Ratio => "ratio",
            MetricKind::Latency => "latency",
        }
    }
}

/// Which table a metric reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricSource {
    /// Product events (`events`).
    #[default]
    Events,
    /// Requests (`requests`): error rate (ratio) or latency.
    Requests,
}

/// What is summed per unit for `mean` metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueKind {
    /// The number of events.
    #[default]
    Count,
    /// The sum of the events' `revenue`.
    Revenue,
}

/// One `[[experiment.metric]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricConfig {
    /// Name in reports, unique within the experiment.
    pub name: String,
    /// `goal` or `guardrail`.
    pub role: Role,
    /// `binary`, `mean`, `ratio` or `latency`.
    pub kind: MetricKind,
    /// `events` (default) or `requests` (ratio = 5xx per request, or latency).
    #[serde(default)]
    pub source: MetricSource,
    /// The event (binary, mean) or the numerator event (ratio over events).
    #[serde(default)]
    pub event: Option<String>,
    /// For `mean`: `count` (default) or `revenue`.
    #[serde(default)]
    pub value: ValueKind,
    /// For `ratio` over events: the denominator event.
    #[serde(default)]
    pub denominator_event: Option<String>,
    /// For `requests` metrics: only this service (default: all).
    #[serde(default)]
    pub service: Option<String>,
    /// For `latency`: the quantile, e.g. 0.95.
    #[serde(default)]
    pub quantile: Option<f64>,
    /// Whether an increase is good (default: true for events, false for requests).
    #[serde(default)]
    pub higher_is_better: Option<bool>,
    /// For guardrails: the relative degradation tolerated, e.g. 0.05 for 5 % (default 0).
    #[serde(default)]
    pub tolerance: Option<f64>,
}

/// An experiment with every default applied and every rule checked.
#[derive(Debug, Clone)]
pub struct Experiment {
    pub key: String,
    pub description: Option<String>,
    pub control: String,
    pub split: Option<BTreeMap<String, f64>>,
    pub window: Duration,
    pub alpha: f64,
    pub correction: Correction,
    pub min_units_per_arm: u64,
    pub sequential: bool,
    pub power: f64,
    pub multi_variant_flag: f64,
    pub metrics: Vec<Metric>,
}

/// A metric with its defaults applied.
#[derive(Debug, Clone)]
pub struct Metric {
    pub name: String,
    pub role: Role,
    pub kind: MetricKind,
    pub source: MetricSource,
    pub event: String,
    pub value: ValueKind,
    pub denominator_event: String,
    pub service: String,
    pub quantile: f64,
    pub higher_is_better: bool,
    pub tolerance: f64,
}

impl ConfigFile for ExperimentsFile {
    const KIND: &'static str = "experiments file";
    type Context = ();

    fn validate(&self, _: &()) -> Result<(), Invalid> {
        self.resolve().map(|_| ())
    }
}

impl ExperimentsFile {
    /// Reads, parses and validates `path`, and applies the defaults.
    pub fn load_experiments(path: &Path) -> Result<Vec<Experiment>, ConfigError> {
        let file = <Self as ConfigFile>::load(path)?;
        Ok(file.experiments_resolved())
    }

    /// Parses and validates the text of an experiments file, and applies the defaults.
    pub fn parse_experiments(text: &str, path: &Path) -> Result<Vec<Experiment>, ConfigError> {
        let file = <Self as ConfigFile>::parse(text, path)?;
        Ok(file.experiments_resolved())
    }

    /// The experiments of a validated file.
    fn experiments_resolved(&self) -> Vec<Experiment> {
        self.resolve().unwrap_or_default()
    }

    /// Applies defaults and checks every rule, with the offending value in the message.
    pub fn resolve(&self) -> Result<Vec<Experiment>, Invalid> {
        let d = &self.defaults;
        check_common(
            "defaults",
            "defaults",
            d.alpha,
            d.window,
            d.power,
            d.multi_variant_flag,
        )?;
        let mut keys = std::collections::BTreeSet::new();
        let mut out = Vec::new();
        for (i, e) in self.experiments.iter().enumerate() {
            let key = format!("experiment[{i}]");
            if e.key.trim().is_empty() {
                return Err(Invalid::at(
                    format!("{key}.key"),
                    "an `[[experiment]]` has an empty `key`",
                ));
            }
            if !keys.insert(e.key.clone()) {
                return Err(Invalid::at(
                    format!("{key}.key"),
                    format!("experiment `{}` is defined twice", e.key),
                ));
            }
            let at = format!("experiment `{}`", e.key);
            let x = Experiment {
                key: e.key.clone(),
                description: e.description.clone(),
                control: e.control.clone(),
                split: e.split.clone(),
                window: e.window.unwrap_or(d.window),
                alpha: e.alpha.unwrap_or(d.alpha),
                correction: e.correction.unwrap_or(d.correction),
                min_units_per_arm: e.min_units_per_arm.unwrap_or(d.min_units_per_arm),
                sequential: e.sequential.unwrap_or(d.sequential),
                power: d.power,
                multi_variant_flag: d.multi_variant_flag,
                metrics: e
                    .metrics
                    .iter()
                    .enumerate()
                    .map(|(j, m)| resolve_metric(&at, &format!("{key}.metric[{j}]"), m))
                    .collect::<Result<_, _>>()?,
            };
            check_common(&at, &key, x.alpha, x.window, x.power, x.multi_variant_flag)?;
            if let Some(split) = &x.split {
                if !split.contains_key(&x.control) {
                    return Err(Invalid::at(
                        format!("{key}.split"),
                        format!(
                            "{at}: `split` has no share for the control `{}` (it has {:?})",
                            x.control,
                            split.keys().collect::<Vec<_>>()
                        ),
                    ));
                }
                if split.len() < 2 {
                    return Err(Invalid::at(
                        format!("{key}.split"),
                        format!(
                            "{at}: `split` names {} variant(s), expected at least 2",
                            split.len()
                        ),
                    ));
                }
                if let Some((v, s)) = split.iter().find(|(_, s)| !(s.is_finite() && **s > 0.0)) {
                    return Err(Invalid::at(
                        format!("{key}.split.{v}"),
                        format!("{at}: `split.{v}` is {s}, expected a positive weight"),
                    ));
                }
            }
            if !x.metrics.iter().any(|m| m.role == Role::Goal) {
                return Err(Invalid::at(
                    key.clone(),
                    format!("{at}: no goal metric, expected at least one `[[experiment.metric]]` with `role = \"goal\"`"),
                ));
            }
            let mut names = std::collections::BTreeSet::new();
            for (j, m) in x.metrics.iter().enumerate() {
                if !names.insert(&m.name) {
                    return Err(Invalid::at(
                        format!("{key}.metric[{j}].name"),
                        format!("{at}: metric `{}` is defined twice", m.name),
                    ));
                }
            }
            out.push(x);
        }
        Ok(out)
    }
}

fn check_common(
    at: &str,
    key: &str,
    alpha: f64,
    window: Duration,
    power: f64,
    multi_variant_flag: f64,
) -> Result<(), Invalid> {
    if !(alpha > 0.0 && alpha <= 0.5) {
        return Err(Invalid::at(
            format!("{key}.alpha"),
            format!("{at}: `alpha` is {alpha}, expected a number in (0, 0.5]"),
        ));
    }
    if window < Duration::from_secs(3600) || !window.as_secs().is_multiple_of(3600) {
        return Err(Invalid::at(
            format!("{key}.window"),
            format!(
            "{at}: `window` is {} s, expected whole hours of at least 1h (e.g. \"48h\", \"7d\")",
            window.as_secs()
        ),
        ));
    }
    if !(power > 0.5 && power < 1.0) {
        return Err(Invalid::at(
            format!("{key}.power"),
            format!("{at}: `power` is {power}, expected a number in (0.5, 1)"),
        ));
    }
    if !(0.0..1.0).contains(&multi_variant_flag) {
        return Err(Invalid::at(
            format!("{key}.multi_variant_flag"),
            format!(
                "{at}: `multi_variant_flag` is {multi_variant_flag}, expected a share in [0, 1)"
            ),
        ));
    }
    Ok(())
}

fn resolve_metric(at: &str, key: &str, m: &MetricConfig) -> Result<Metric, Invalid> {
    let at = format!("{at}, metric `{}`", m.name);
    if m.name.trim().is_empty() {
        return Err(Invalid::at(
            format!("{key}.name"),
            format!("{at}: empty `name`"),
        ));
    }
    let need_event = || {
        m.event
            .clone()
            .filter(|e| !e.trim().is_empty())
            .ok_or_else(|| {
                Invalid::at(
                    format!("{key}.event"),
                    format!("{at}: `event` is missing, expected the event name, e.g. \"purchase\""),
                )
            })
    };
    let (event, denominator_event) = match (m.kind, m.source) {
        (MetricKind::Binary | MetricKind::Mean, MetricSource::Events) => (need_event()?, String::new()),
        (MetricKind::Ratio, MetricSource::Events) => {
            let d = m
                .denominator_event
                .clone()
                .filter(|e| !e.trim().is_empty())
                .ok_or_else(|| {
                    Invalid::at(
                        format!("{key}.denominator_event"),
                        format!("{at}: `denominator_event` is missing, expected the denominator's event name"),
                    )
                })?;
            (need_event()?, d)
        }
        (MetricKind::Ratio | MetricKind::Latency, MetricSource::Requests) => {
            if m.event.is_some() || m.denominator_event.is_some() {
                return Err(Invalid::at(format!("{key}.event"), format!(
                    "{at}: `event`/`denominator_event` do not apply to `source = \"requests\"` (the ratio is 5xx responses per request)"
                )));
            }
            (String::new(), String::new())
        }
        (kind, source) => {
            return Err(Invalid::at(
                format!("{key}.kind"),
                format!(
                    "{at}: kind `{}` cannot read source `{}`, expected binary/mean/ratio on events, ratio/latency on requests",
                    kind.name(),
                    match source {
                        MetricSource::Events => "events",
                        MetricSource::Requests => "requests",
                    }
                ),
            ))
        }
    };
    let quantile = match (m.kind, m.quantile) {
        (MetricKind::Latency, Some(q)) if q > 0.0 && q < 1.0 => q,
        (MetricKind::Latency, Some(q)) => {
            return Err(Invalid::at(
                format!("{key}.quantile"),
                format!("{at}: `quantile` is {q}, expected a number in (0, 1), e.g. 0.95"),
            ))
        }
        (MetricKind::Latency, None) => {
            return Err(Invalid::at(
                format!("{key}.quantile"),
                format!("{at}: `quantile` is missing, expected e.g. 0.5 or 0.95"),
            ))
        }
        (_, Some(q)) => {
            return Err(Invalid::at(
                format!("{key}.quantile"),
                format!("{at}: `quantile` ({q}) only applies to latency metrics"),
            ))
        }
        (_, None) => f64::NAN,
    };
    if m.value == ValueKind::Revenue && m.kind != MetricKind::Mean {
        return Err(Invalid::at(
            format!("{key}.value"),
            format!("{at}: `value = \"revenue\"` only applies to mean metrics"),
        ));
    }
    let tolerance = m.tolerance.unwrap_or(0.0);
    if !(tolerance >= 0.0 && tolerance.is_finite()) {
        return Err(Invalid::at(
            format!("{key}.tolerance"),
            format!(
                "{at}: `tolerance` is {tolerance}, expected a relative degradation >= 0, e.g. 0.05"
            ),
        ));
    }
    if m.tolerance.is_some() && m.role == Role::Goal {
        return Err(Invalid::at(
            format!("{key}.tolerance"),
            format!("{at}: `tolerance` only applies to guardrails"),
        ));
    }
    Ok(Metric {
        name: m.name.clone(),
        role: m.role,
        kind: m.kind,
        source: m.source,
        event,
        value: m.value,
        denominator_event,
        service: m.service.clone().unwrap_or_default(),
        quantile,
        higher_is_better: m
            .higher_is_better
            .unwrap_or(m.source == MetricSource::Events),
        tolerance,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<Experiment>, ConfigError> {
        ExperimentsFile::parse_experiments(text, Path::new("experiments.toml"))
    }

    fn invalid(text: &str) -> String {
        match parse(text) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("accepted: {text}"),
        }
    }

    const GOOD: &str = r#"
[[experiment]]
key = "x"
control = "control"
[[experiment.metric]]
name = "conv"
role = "goal"
kind = "binary"
event = "purchase"
"#;

    #[test]
    fn the_repository_file_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/experiments.toml");
        let exps =
            ExperimentsFile::load_experiments(&path).expect("pipelines/experiments.toml is valid");
        assert!(exps.iter().any(|e| e.key == "checkout_redesign"));
    }

    #[test]
    fn defaults_apply_and_bad_values_are_quoted() {
        let e = &parse(GOOD).map_err(|_| ()).expect("valid")[0];
        assert_eq!(e.window, Duration::from_secs(48 * 3600));
        assert_eq!(e.alpha, 0.05);
        assert!(e.metrics[0].higher_is_better);
        assert!(invalid(&GOOD.replace(
            "control = \"control\"",
            "control = \"control\"\nalpha = 0.7"
        ))
        .contains("`alpha` is 0.7"));
        assert!(invalid(&GOOD.replace("event = \"purchase\"", "")).contains("`event` is missing"));
        assert!(
            invalid(&GOOD.replace("kind = \"binary\"", "kind = \"median\"")).contains("median")
        );
        assert!(
            invalid(&GOOD.replace("role = \"goal\"", "role = \"guardrail\"")).contains("no goal")
        );
        assert!(invalid(&format!("{GOOD}\ncolour = 1")).contains("colour"));
        assert!(invalid(&GOOD.replace(
            "control = \"control\"",
            "control = \"control\"\nwindow = \"90m\""
        ))
        .contains("whole hours"));
        assert!(invalid(&GOOD.replace(
            "event = \"purchase\"",
            "event = \"purchase\"\nquantile = 0.9"
        ))
        .contains("only applies to latency"));
    }
}
