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

/// One shipped change and what it was expected to do.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Optimization {
    /// The change id, as in `deployments.change_id` (e.g. `CHG-1044`).
    pub change_id: String,
    /// The deployment that shipped it, `SERVICE@VERSION`.
    pub deployment: String,
    /// What was changed and why, for the report.
    #[serde(default)]
    pub description: Option<String>,
    /// The expected effects (`[[optimization.hypothesis]]` tables).
    #[serde(rename = "hypothesis")]
    pub hypotheses: Vec<Hypothesis>,
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
            if parse_deployment(&o.deployment).is_none() {
                return Err(Invalid::at(
                    format!("{key}.deployment"),
                    format!(
                        "{at}: `deployment` is `{}`, expected `SERVICE@VERSION`, e.g. `checkout@2.4.0`",
                        o.deployment
                    ),
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
            .any(|o| o.deployment == "checkout@2.4.0"));
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
    }
}
