//! The RICE factors derived from the data: Impact from a candidate's measure by a rule per kind
//! (on the standard 0.25/0.5/1/2/3 scale), Confidence from the evidence (sample size, agreeing
//! sources, a significant change), stable ids, and the score. docs/BACKLOG.md has the rules as a
//! table; `postlaunch backlog` shows which rule gave each factor.

use serde::Deserialize;

/// Sample sizes behind the confidence levels (see [`confidence`]; `[confidence]` of
/// pipelines/backlog.toml).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConfidenceRules {
    /// Fewer samples behind the measure: 50 %.
    pub min_samples: i64,
    /// At least this many, and a second source agrees or the change is significant: 100 %.
    pub high_samples: i64,
    /// Significance level of the tests that count as evidence.
    pub alpha: f64,
}

impl Default for ConfidenceRules {
    fn default() -> Self {
        ConfidenceRules {
            min_samples: 100,
            high_samples: 1000,
            alpha: 0.05,
        }
    }
}

/// Impact's scale: minimal, low, medium, high, massive.
pub const IMPACT_SCALE: [f64; 5] = [0.25, 0.5, 1.0, 2.0, 3.0];

/// Every kind of candidate and its category.
pub const KINDS: &[(&str, &str)] = &[
    ("slow_endpoint", "performance"),
    ("slow_query", "performance"),
    ("cache_gap", "performance"),
    ("regression", "performance"),
    ("error_message", "reliability"),
    ("timeout", "reliability"),
    ("flapping_alert", "reliability"),
    ("incident_action", "reliability"),
    ("poor_web_vital", "user_experience"),
    ("abandonment", "user_experience"),
    ("funnel_drop_off", "user_experience"),
    ("feedback_category", "user_experience"),
    ("feedback_term", "user_experience"),
    ("ticket_category", "user_experience"),
    ("over_provisioned_host", "cost"),
    ("expensive_query", "cost"),
    ("idle_service", "cost"),
];

/// The category of `kind` ("other" for a kind this version does not know).
pub fn category(kind: &str) -> &'static str {
    KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, c)| *c)
        .unwrap_or("other")
}

/// Steps of a rule: the first `(at_least, impact)` whose bound the measure reaches.
fn step(measure: f64, steps: &[(f64, f64)], floor: f64) -> f64 {
    steps
        .iter()
        .find(|(bound, _)| measure >= *bound)
        .map(|(_, i)| *i)
        .unwrap_or(floor)
}

/// Impact of a candidate of `kind` whose measure is `measure` (what each kind measures: the
/// SQL file's header, and docs/BACKLOG.md), with the rule that gave it.
pub fn impact(kind: &str, measure: f64) -> (f64, String) {
    // (the measure's name, [(at least, impact)], below every bound)
    let (what, steps, floor): (&str, &[(f64, f64)], f64) = match kind {
        "slow_endpoint" | "slow_query" => (
            "p95 / target",
            &[(3.0, 3.0), (2.0, 2.0), (1.5, 1.0), (1.2, 0.5)],
            0.25,
        ),
        "regression" => (
            "ratio to the baseline",
            &[(2.0, 3.0), (1.5, 2.0), (1.2, 1.0)],
            0.5,
        ),
        "cache_gap" => (
            "target − hit ratio",
            &[(0.3, 2.0), (0.15, 1.0), (0.05, 0.5)],
            0.25,
        ),
        "error_message" | "timeout" => (
            "share of the service's requests",
            &[(0.05, 3.0), (0.01, 2.0), (0.002, 1.0), (0.0005, 0.5)],
            0.25,
        ),
        "flapping_alert" => ("share resolved within 5 min", &[(0.75, 1.0)], 0.5),
        // the measure is the severity, 1 (P1) … 4
        "incident_action" => ("severity (1 = P1)", &[], 0.5),
        "poor_web_vital" => (
            "share of samples not good",
            &[(0.5, 3.0), (0.4, 2.0), (0.3, 1.0)],
            0.5,
        ),
        "funnel_drop_off" => (
            "share of the step's users lost",
            &[(0.5, 3.0), (0.3, 2.0), (0.15, 1.0), (0.05, 0.5)],
            0.25,
        ),
        "abandonment" => (
            "share of non-converting sessions",
            &[(0.3, 2.0), (0.15, 1.0), (0.05, 0.5)],
            0.25,
        ),
        "feedback_category" | "feedback_term" => (
            "share of in-app feedback senders",
            &[(0.25, 2.0), (0.1, 1.0), (0.05, 0.5)],
            0.25,
        ),
        "ticket_category" => ("tickets", &[(100.0, 2.0), (20.0, 1.0)], 0.5),
        "over_provisioned_host" | "idle_service" => (
            "share of the infrastructure cost",
            &[(0.1, 2.0), (0.05, 1.0), (0.02, 0.5)],
            0.25,
        ),
        "expensive_query" => ("share of database time", &[(0.5, 1.0)], 0.5),
        _ => ("no rule for this kind", &[], 1.0),
    };
    if kind == "incident_action" {
        let i = match measure.round() as i64 {
            1 => 2.0,
            2 => 1.0,
            _ => 0.5,
        };
        return (i, format!("P{} incident → {i}", measure.round() as i64));
    }
    let i = step(measure, steps, floor);
    let bound = steps.iter().find(|(b, _)| measure >= *b).map(|(b, _)| *b);
    let rule = match bound {
        Some(b) => format!("{what} {} ≥ {} → {i}", short(measure), short(b)),
        None if steps.is_empty() => format!("{what} → {i}"),
        None => format!(
            "{what} {} < {} → {i}",
            short(measure),
            short(steps.last().map(|s| s.0).unwrap_or(0.0))
        ),
    };
    (i, rule)
}

/// A number in a rule: 3 significant digits.
fn short(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let digits = (3 - 1 - x.abs().log10().floor() as i32).max(0) as usize;
    let s = format!("{x:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// What the confidence is judged from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evidence {
    /// The samples behind the measure (requests, lookups, sessions, …).
    pub samples: i64,
    /// Independent sources that found the same problem (SQL files, stored opportunities, a
    /// regression of the same endpoint).
    pub sources: usize,
    /// A two-sided test's p-value of the change against the period before, where there is one.
    pub p_value: Option<f64>,
}

/// Confidence (1.0, 0.8 or 0.5) and the rule that gave it: 100 % with at least `high_samples`
/// samples and either a second source or a significant change; 80 % with at least `min_samples`;
/// 50 % below that.
pub fn confidence(e: Evidence, rules: &ConfidenceRules) -> (f64, String) {
    let significant = e.p_value.is_some_and(|p| p < rules.alpha);
    let mut why = vec![format!("{} samples", e.samples)];
    if e.sources > 1 {
        why.push(format!("{} sources agree", e.sources));
    }
    if let Some(p) = e.p_value {
        why.push(format!("p = {}", short(p)));
    }
    let c = if e.samples >= rules.high_samples && (e.sources > 1 || significant) {
        1.0
    } else if e.samples >= rules.min_samples {
        0.8
    } else {
        0.5
    };
    (c, format!("{} → {} %", why.join(", "), (c * 100.0) as i64))
}

/// The RICE score: reach × impact × confidence / effort.
pub fn score(reach: f64, impact: f64, confidence: f64, effort: f64) -> f64 {
    reach * impact * confidence / effort
}

/// The stable id of a candidate: `BL-` and the first 8 hex digits of the 64-bit FNV-1a hash of
/// its kind and subject (the same problem gets the same id every period, on every machine);
/// [`crate::impact::config::is_backlog_id`] checks the shape.
pub fn id(kind: &str, subject: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in kind.bytes().chain([0u8]).chain(subject.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("BL-{:08x}", h >> 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impact_follows_the_documented_steps() {
        assert_eq!(impact("slow_endpoint", 3.2).0, 3.0);
        assert_eq!(impact("slow_endpoint", 1.6).0, 1.0);
        assert_eq!(impact("slow_endpoint", 1.05).0, 0.25);
        assert_eq!(impact("error_message", 0.012).0, 2.0);
        assert_eq!(impact("funnel_drop_off", 0.31).0, 2.0);
        assert_eq!(impact("incident_action", 1.0).0, 2.0);
        assert_eq!(impact("incident_action", 3.0).0, 0.5);
        let (i, rule) = impact("poor_web_vital", 0.42);
        assert_eq!(i, 2.0);
        assert_eq!(rule, "share of samples not good 0.42 ≥ 0.4 → 2");
        for (k, _) in KINDS {
            for m in [0.0, 0.01, 0.3, 1.0, 2.5, 100.0] {
                let i = impact(k, m).0;
                assert!(IMPACT_SCALE.contains(&i), "{k} {m} → {i}");
            }
        }
    }

    #[test]
    fn confidence_needs_samples_and_agreement_for_100_percent() {
        let r = ConfidenceRules::default();
        let e = |samples, sources, p_value| Evidence {
            samples,
            sources,
            p_value,
        };
        assert_eq!(confidence(e(5000, 1, None), &r).0, 0.8);
        assert_eq!(confidence(e(5000, 2, None), &r).0, 1.0);
        assert_eq!(confidence(e(5000, 1, Some(0.01)), &r).0, 1.0);
        assert_eq!(confidence(e(5000, 1, Some(0.2)), &r).0, 0.8);
        assert_eq!(confidence(e(500, 3, Some(0.001)), &r).0, 0.8);
        assert_eq!(confidence(e(99, 3, None), &r).0, 0.5);
        assert_eq!(
            confidence(e(5000, 2, Some(0.2)), &r).1,
            "5000 samples, 2 sources agree, p = 0.2 → 100 %"
        );
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        // Pinned: an id must never change between versions (published issues carry it). Expected
        // from an independent FNV-1a 64 in Python: h = 0xcbf29ce484222325; for each byte b of
        // b"slow_endpoint\0checkout POST /api/checkout": h ^= b; h = h * 0x100000001b3 mod 2^64.
        assert_eq!(
            id("slow_endpoint", "checkout POST /api/checkout"),
            "BL-aea21393"
        );
        assert_ne!(id("slow_endpoint", "a b"), id("slow_endpoint", "a  b"));
        assert_ne!(id("slow_endpoint", "ab"), id("slow_endpointa", "b"));
        use crate::impact::config::is_backlog_id as is_id;
        assert!(is_id(&id("x", "y")));
        assert!(!is_id("BL-12345") && !is_id("BL-1234567g") && !is_id("XX-12345678"));
        assert!((score(1000.0, 2.0, 0.8, 4.0) - 400.0).abs() < 1e-9);
    }
}
