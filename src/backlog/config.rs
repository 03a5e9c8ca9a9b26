//! `pipelines/backlog.toml`: the targets candidates are measured against, the rules of
//! confidence, the effort of each kind of work in person-weeks, and per-candidate overrides of
//! any RICE factor. Checked at load (`postlaunch validate`).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::rice::{ConfidenceRules, IMPACT_SCALE, KINDS};
use crate::config::{ConfigFile, Invalid};

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BacklogFile {
    #[serde(default)]
    pub targets: Targets,
    #[serde(default)]
    pub confidence: ConfidenceRules,
    /// Person-weeks per kind of candidate (`[effort]`; a kind not named: `default`).
    #[serde(default)]
    pub effort: BTreeMap<String, f64>,
    /// Overrides of one candidate's factors (`[[candidate]]`, by id).
    #[serde(default, rename = "candidate")]
    pub candidates: Vec<Override>,
}

/// What "too slow", "too many misses" and "idle" mean.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Targets {
    /// An endpoint's p95 above this is a candidate (ms).
    pub latency_p95_ms: f64,
    /// A database query's p95 above this is a candidate (ms).
    pub query_p95_ms: f64,
    /// A cache's hit ratio below this is a candidate (0–1).
    pub cache_hit_ratio: f64,
    /// A host whose CPU and memory p95 are both below this is over-provisioned (0–1).
    pub idle_utilization: f64,
}

impl Default for Targets {
    fn default() -> Self {
        Targets {
            latency_p95_ms: 300.0,
            query_p95_ms: 50.0,
            cache_hit_ratio: 0.9,
            idle_utilization: 0.3,
        }
    }
}

/// A candidate's factors set by hand, with why.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Override {
    /// The candidate's id, e.g. `BL-3f2a9c01` (`postlaunch backlog` prints it).
    pub id: String,
    pub reach: Option<f64>,
    pub impact: Option<f64>,
    pub confidence: Option<f64>,
    pub effort: Option<f64>,
    /// Why the factors were set (shown with the candidate).
    pub note: Option<String>,
}

/// The effort of a kind when the file does not name it (person-weeks).
pub const DEFAULT_EFFORT: f64 = 2.0;

impl BacklogFile {
    /// Effort of `kind` in person-weeks and where it came from.
    pub fn effort_of(&self, kind: &str) -> (f64, String) {
        match (self.effort.get(kind), self.effort.get("default")) {
            (Some(e), _) => (*e, format!("[effort] {kind}")),
            (None, Some(e)) => (*e, "[effort] default".into()),
            (None, None) => (DEFAULT_EFFORT, "built-in default".into()),
        }
    }
}

impl ConfigFile for BacklogFile {
    const KIND: &'static str = "backlog file";
    type Context = ();

    fn validate(&self, _: &()) -> Result<(), Invalid> {
        let t = &self.targets;
        let positive = |key: &str, v: f64| {
            if v > 0.0 && v.is_finite() {
                Ok(())
            } else {
                Err(Invalid::at(
                    key,
                    format!("`{key}` is {v}, expected a positive number"),
                ))
            }
        };
        let share = |key: &str, v: f64| {
            if v > 0.0 && v < 1.0 {
                Ok(())
            } else {
                Err(Invalid::at(
                    key,
                    format!("`{key}` is {v}, expected a share between 0 and 1, e.g. 0.9"),
                ))
            }
        };
        positive("targets.latency_p95_ms", t.latency_p95_ms)?;
        positive("targets.query_p95_ms", t.query_p95_ms)?;
        share("targets.cache_hit_ratio", t.cache_hit_ratio)?;
        share("targets.idle_utilization", t.idle_utilization)?;
        let c = &self.confidence;
        if c.min_samples < 1 || c.high_samples < c.min_samples {
            return Err(Invalid::at(
                "confidence.high_samples",
                format!(
                    "`min_samples` is {} and `high_samples` {}, expected 1 ≤ min_samples ≤ high_samples",
                    c.min_samples, c.high_samples
                ),
            ));
        }
        share("confidence.alpha", c.alpha)?;
        for (kind, e) in &self.effort {
            if kind != "default" && !KINDS.iter().any(|(k, _)| k == kind) {
                let names: Vec<&str> = KINDS.iter().map(|(k, _)| *k).collect();
                return Err(Invalid::at(
                    format!("effort.{kind}"),
                    format!(
                        "`[effort]` names the kind `{kind}`, expected `default` or one of {}",
                        names.join(", ")
                    ),
                ));
            }
            positive(&format!("effort.{kind}"), *e)?;
        }
        for (i, o) in self.candidates.iter().enumerate() {
            let key = format!("candidate[{i}]");
            if !crate::impact::config::is_backlog_id(&o.id) {
                return Err(Invalid::at(
                    format!("{key}.id"),
                    format!(
                        "candidate id `{}` is malformed, expected `BL-` and 8 hex digits as `postlaunch backlog` prints it, e.g. `BL-3f2a9c01`",
                        o.id
                    ),
                ));
            }
            if let Some(r) = o.reach {
                if !(r >= 0.0 && r.is_finite()) {
                    return Err(Invalid::at(
                        format!("{key}.reach"),
                        format!("`reach` of `{}` is {r}, expected a count ≥ 0", o.id),
                    ));
                }
            }
            if let Some(v) = o.impact {
                if !IMPACT_SCALE.iter().any(|s| (s - v).abs() < 1e-9) {
                    return Err(Invalid::at(
                        format!("{key}.impact"),
                        format!(
                            "`impact` of `{}` is {v}, expected one of 0.25, 0.5, 1, 2, 3",
                            o.id
                        ),
                    ));
                }
            }
            if let Some(v) = o.confidence {
                if ![0.5, 0.8, 1.0].iter().any(|s: &f64| (s - v).abs() < 1e-9) {
                    return Err(Invalid::at(
                        format!("{key}.confidence"),
                        format!(
                            "`confidence` of `{}` is {v}, expected 0.5, 0.8 or 1.0 (50/80/100 %)",
                            o.id
                        ),
                    ));
                }
            }
            if let Some(v) = o.effort {
                positive(&format!("{key}.effort"), v)?;
            }
        }
        Ok(())
    }
}
