//! `pipelines/optimizations.toml`: what each shipped change was meant to do, so the impact report
//! can say whether the hypothesis held or backfired. Checked at load (`postlaunch validate`).

use serde::Deserialize;

use crate::config::{ConfigFile, Invalid};

/// Metrics the impact report measures (names as in `deployment_impact.metric`).
pub const METRICS: [&str; 7] = [
    "p50_latency_ms",
    "p95_latency_ms",
    "p99_latency_ms",
    "error_rate",
    "throughput_per_hour",
    "conversion",
    "cost_per_user_usd",
];

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptimizationsFile {
    /// The changes (`[[optimization]]` tables).
    #[serde(default, rename = "optimization")]
    pub optimizations: Vec<Optimization>,
}

/// One optimisation through its lifecycle: proposed (from a backlog candidate) → shipped (a
/// deployment or an experiment) → measured (48 hours after, `postlaunch impact` or `postlaunch
/// run`) → kept or reverted, with the learning written down.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Optimization {
    /// The change id, as in `deployments.change_id` (e.g. `CHG-1044`).
    pub change_id: String,
    /// The backlog candidate it came from (`BL-…`, `postlaunch backlog`).
    #[serde(default)]
    pub backlog_id: Option<String>,
    /// The deployment that shipped it, `SERVICE@VERSION` (none yet: proposed).
    #[serde(default)]
    pub deployment: Option<String>,
    /// Or the A/B experiment that ships it (its key in `pipelines/experiments.toml`).
    #[serde(default)]
    pub experiment: Option<String>,
    /// What was changed and why, for the report.
    #[serde(default)]
    pub description: Option<String>,
    /// What the team decided after the measurement: `kept` or `reverted`.
    #[serde(default)]
    pub decision: Option<Decision>,
    /// What was learnt (for the changelog).
    #[serde(default)]
    pub learning: Option<String>,
    /// The expected effects (`[[optimization.hypothesis]]` tables).
    #[serde(rename = "hypothesis")]
    pub hypotheses: Vec<Hypothesis>,
}

/// Kept or reverted after the measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Kept,
    Reverted,
}

impl Decision {
    pub fn name(self) -> &'static str {
        match self {
            Decision::Kept => "kept",
            Decision::Reverted => "reverted",
        }
    }
}

/// Which way a metric was expected to move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Increase,
    Decrease,
}

impl Direction {
    pub fn name(&self) -> &'static str {
        match self {
            Direction::Increase => "increase",
            Direction::Decrease => "decrease",
        }
    }

    /// +1 for an increase, −1 for a decrease.
    pub fn sign(&self) -> f64 {
        match self {
            Direction::Increase => 1.0,
            Direction::Decrease => -1.0,
        }
    }
}

/// "This change moves `metric` in `direction` by about `expected_relative`."
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hypothesis {
    /// One of [`METRICS`].
    pub metric: String,
    /// `increase` or `decrease`.
    pub direction: Direction,
    /// Expected relative size, e.g. 0.10 for 10 %.
    pub expected_relative: f64,
}

impl ConfigFile for OptimizationsFile {
    const KIND: &'static str = "optimizations file";
    type Context = ();

    /// Cross-field checks, quoting the offending value.
    fn validate(&self, _: &()) -> Result<(), Invalid> {
        for (i, o) in self.optimizations.iter().enumerate() {
            let key = format!("optimization[{i}]");
            let at = format!("optimization `{}`", o.change_id);
            if o.change_id.trim().is_empty() {
                return Err(Invalid::at(
                    format!("{key}.change_id"),
                    "an `[[optimization]]` has an empty `change_id`",
                ));
            }
            if let Some(d) = o
                .deployment
                .as_deref()
                .filter(|d| parse_deployment(d).is_none())
            {
                return Err(Invalid::at(
                    format!("{key}.deployment"),
                    format!(
                        "{at}: `deployment` is `{d}`, expected `SERVICE@VERSION`, e.g. `checkout@2.4.0`"
                    ),
                ));
            }
            if o.deployment.is_some() && o.experiment.is_some() {
                return Err(Invalid::at(
                    format!("{key}.experiment"),
                    format!("{at}: both `deployment` and `experiment` are set, expected the one that shipped it"),
                ));
            }
            if let Some(b) = o.backlog_id.as_deref().filter(|b| !is_backlog_id(b)) {
                return Err(Invalid::at(
                    format!("{key}.backlog_id"),
                    format!("{at}: `backlog_id` is `{b}`, expected `BL-` and 8 hex digits as `postlaunch backlog` prints it"),
                ));
            }
            if o.decision.is_some() && o.deployment.is_none() && o.experiment.is_none() {
                return Err(Invalid::at(
                    format!("{key}.decision"),
                    format!("{at}: a `decision` for a change that was not shipped: set `deployment` or `experiment` first"),
                ));
            }
            if o.hypotheses.is_empty() {
                return Err(Invalid::at(
                    key,
                    format!("{at}: no `[[optimization.hypothesis]]`, expected at least one"),
                ));
            }
            for (j, h) in o.hypotheses.iter().enumerate() {
                let hkey = format!("{key}.hypothesis[{j}]");
                if !METRICS.contains(&h.metric.as_str()) {
                    return Err(Invalid::at(
                        format!("{hkey}.metric"),
                        format!(
                            "{at}: hypothesis metric `{}` is unknown, expected one of {}",
                            h.metric,
                            METRICS.join(", ")
                        ),
                    ));
                }
                if !(h.expected_relative > 0.0 && h.expected_relative.is_finite()) {
                    return Err(Invalid::at(
                        format!("{hkey}.expected_relative"),
                        format!(
                            "{at}: `expected_relative` of `{}` is {}, expected a positive relative size, e.g. 0.1",
                            h.metric, h.expected_relative
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Whether `s` is shaped as a backlog id (`BL-` and 8 hex digits).
pub fn is_backlog_id(s: &str) -> bool {
    s.strip_prefix("BL-")
        .is_some_and(|h| h.len() == 8 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Splits `SERVICE@VERSION`.
pub fn parse_deployment(s: &str) -> Option<(String, String)> {
    let (service, version) = s.split_once('@')?;
    (!service.is_empty() && !version.is_empty() && !version.contains('@'))
        .then(|| (service.to_string(), version.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn the_repository_file_is_valid_and_bad_values_are_quoted() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/optimizations.toml");
        let file = OptimizationsFile::load(&path).expect("pipelines/optimizations.toml is valid");
        assert!(file
            .optimizations
            .iter()
            .any(|o| o.deployment.as_deref() == Some("checkout@2.4.0")));
        let bad = |text: &str| {
            OptimizationsFile::parse(text, Path::new("o.toml"))
                .expect_err("invalid")
                .to_string()
        };
        let good = "[[optimization]]\nchange_id = \"C\"\ndeployment = \"a@1\"\n[[optimization.hypothesis]]\nmetric = \"error_rate\"\ndirection = \"decrease\"\nexpected_relative = 0.1\n";
        let e = bad(&good.replace("a@1", "a-1"));
        assert!(
            e.contains("`a-1`") && e.contains("line 3 (`optimization[0].deployment`)"),
            "{e}"
        );
        assert!(bad(&good.replace("error_rate", "happiness")).contains("`happiness`"));
        assert!(bad(&good.replace("0.1", "-2.0")).contains("-2"));
        assert!(bad(&good.replace("decrease", "sideways")).contains("sideways"));
        let e = bad(&good.replace(
            "deployment = \"a@1\"",
            "deployment = \"a@1\"\nbacklog_id = \"BL-xyz\"",
        ));
        assert!(e.contains("`BL-xyz`"), "{e}");
        let e = bad(&good.replace("deployment = \"a@1\"", "decision = \"kept\""));
        assert!(e.contains("not shipped"), "{e}");
        assert!(bad(&good.replace(
            "deployment = \"a@1\"",
            "deployment = \"a@1\"\ndecision = \"maybe\""
        ))
        .contains("maybe"));
    }
}
