//! Monitoring blind spots (the protocol's failure handling): an incident no alert saw before it
//! was detected. The hourly figures of its service (requests, error rate, p95/p99, its hosts'
//! CPU and memory, its dependencies, its queries: `sql/incident/movers_*.sql`) are searched for the
//! metric that moved first — the earliest hour, from the hour before the impact started to the
//! hour it was detected, whose value is outside the robust band of the week before (median ±
//! 4 normal-scaled MADs, at least 5 % of the median and a floor per metric,
//! [`crate::stats::robust`]) in the bad direction — and the rule that would
//! have seen it is proposed, at half the move: a rule to paste into `pipelines/alerts.toml`.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::query::{movers, Point};
use super::IncidentError;
use crate::lake::layout::HOUR_MICROS;
use crate::query::LakeSession;
use crate::stats::robust::Baseline;

/// Robust z beyond which an hour counts as moved.
pub const MOVED_Z: f64 = 4.0;
/// The band's half-width is at least this share of the median (a flat baseline — an error rate of
/// exactly 0 — would make any blip "moved").
pub const MIN_RELATIVE_SIGMA: f64 = 0.05;
/// References needed before a series is judged.
pub const MIN_REFERENCES: usize = 6;
/// How far back the references go.
pub const LOOKBACK_HOURS: i64 = 7 * 24;

/// The first metric that moved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mover {
    pub metric: String,
    pub entity: String,
    /// The hour it first moved (µs).
    pub hour_start: i64,
    pub value: f64,
    /// The references' median.
    pub baseline: f64,
    /// Robust z of `value` against the references.
    pub z: f64,
}

/// The smallest band half-width of `metric`, in its unit: below it a change is noise however flat
/// the week before was (an error rate of 0 every hour makes one 5xx no move).
fn min_sigma(metric: &str) -> f64 {
    match metric {
        "error_rate" => 0.002,
        "cpu_avg" | "memory_avg" | "pool_utilization_max" => 0.02,
        "p95_ms" | "p99_ms" | "dependency_p95_ms" | "query_p95_ms" => 5.0,
        "requests" | "dependency_errors" => 2.0,
        _ => 1e-12,
    }
}

/// Whether up is the bad direction of `metric` (a drop in requests is the bad one of traffic).
fn bad_up(metric: &str) -> bool {
    metric != "requests"
}

/// The metric that moved first in the hours [`from_hour`, `to_hour`] (µs, hour starts) against
/// the hours of `points` before `from_hour`; ties: the largest move.
pub fn moved_first(points: &[Point], from_hour: i64, to_hour: i64) -> Option<Mover> {
    let mut series: std::collections::BTreeMap<(&str, &str), Vec<&Point>> = Default::default();
    for p in points {
        series
            .entry((p.metric.as_str(), p.entity.as_str()))
            .or_default()
            .push(p);
    }
    let mut best: Option<Mover> = None;
    for ((metric, entity), ps) in series {
        let refs: Vec<f64> = ps
            .iter()
            .filter(|p| p.hour_start < from_hour)
            .map(|p| p.value)
            .collect();
        if refs.len() < MIN_REFERENCES {
            continue;
        }
        let Some(b) = Baseline::of(&refs) else {
            continue;
        };
        let sigma = b
            .sigma()
            .max(MIN_RELATIVE_SIGMA * b.median.abs())
            .max(min_sigma(metric));
        let sign = if bad_up(metric) { 1.0 } else { -1.0 };
        let mut window: Vec<&&Point> = ps
            .iter()
            .filter(|p| p.hour_start >= from_hour && p.hour_start <= to_hour)
            .collect();
        window.sort_by_key(|p| p.hour_start);
        let Some(first) = window
            .into_iter()
            .find(|p| sign * (p.value - b.median) / sigma >= MOVED_Z)
        else {
            continue;
        };
        let m = Mover {
            metric: metric.to_string(),
            entity: entity.to_string(),
            hour_start: first.hour_start,
            value: first.value,
            baseline: b.median,
            z: (first.value - b.median) / sigma,
        };
        let better = match &best {
            None => true,
            Some(x) => {
                m.hour_start < x.hour_start
                    || (m.hour_start == x.hour_start && m.z.abs() > x.z.abs())
            }
        };
        if better {
            best = Some(m);
        }
    }
    best
}

/// The rule that would have seen `m` (of `service`), to paste into `pipelines/alerts.toml`: a band
/// halfway between the baseline and the value that moved.
pub fn candidate_rule(m: &Mover, service: &str) -> String {
    let mid = (m.baseline + m.value) / 2.0;
    let name = |s: &str| crate::lake::keyed::file_key(s);
    let anomaly = |table: &str, column: &str, entity: &str, direction: &str| {
        format!(
            "[[anomaly]] name = \"{}_{}_anomaly\" table = \"{table}\" metric = \"{column}\" entity = [\"service\", \"{entity}\"] direction = \"{direction}\" for = \"1h\"",
            name(service),
            column
        )
    };
    match m.metric.as_str() {
        "error_rate" => format!(
            "[[rule]] kind = \"error_rate\": a band {{ severity = \"P2\", above = {:.4} }} (5xx share; the week before: {:.4})",
            mid, m.baseline
        ),
        "p95_ms" | "p99_ms" => format!(
            "[[rule]] kind = \"latency\" percentile = {}: a band {{ severity = \"P3\", above = \"{:.0}ms\" }} (the week before: {:.0} ms)",
            if m.metric == "p95_ms" { "0.95" } else { "0.99" },
            mid,
            m.baseline
        ),
        "cpu_avg" | "memory_avg" => format!(
            "[[rule]] kind = \"gauge\" metric = \"{}\" per = \"host\": a band {{ severity = \"P3\", above = {:.2} }} (host {}; the week before: {:.2})",
            if m.metric == "cpu_avg" { "cpu_utilization" } else { "memory_utilization" },
            mid,
            m.entity,
            m.baseline
        ),
        "requests" => anomaly("hourly_service_metrics", "requests", "endpoint", "down"),
        "dependency_p95_ms" => anomaly("hourly_dependency_metrics", "latency_p95_ms", "dependency", "up"),
        "dependency_errors" => anomaly("hourly_dependency_metrics", "errors", "dependency", "up"),
        "query_p95_ms" => anomaly("hourly_database_metrics", "query_p95_ms", "query", "up"),
        "pool_utilization_max" => {
            anomaly("hourly_database_metrics", "pool_utilization_max", "query", "up")
        }
        other => format!("an alert on `{other}` of `{}` above {mid:.4}", m.entity),
    }
}

/// The metric of `service` that moved first before an incident whose impact started at
/// `impact_start` and was detected at `detected` (µs); `None` when nothing moved or the hourly
/// tables are missing (the bool: whether they were there to search).
pub async fn explain(
    session: &LakeSession,
    service: &str,
    impact_start: i64,
    detected: i64,
) -> Result<(Option<Mover>, bool), IncidentError> {
    let hour = |t: i64| t.div_euclid(HOUR_MICROS) * HOUR_MICROS;
    let from_hour = hour(impact_start) - HOUR_MICROS;
    let to_hour = hour(detected);
    let time = |t: i64| DateTime::<Utc>::from_timestamp_micros(t).unwrap_or_default();
    let Some(points) = movers(
        session,
        service,
        time(from_hour - LOOKBACK_HOURS * HOUR_MICROS),
        time(to_hour + HOUR_MICROS),
    )
    .await?
    else {
        return Ok((None, false));
    };
    Ok((moved_first(&points, from_hour, to_hour), true))
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = HOUR_MICROS;

    fn series(metric: &str, values: &[f64]) -> Vec<Point> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| Point {
                metric: metric.into(),
                entity: "checkout".into(),
                hour_start: i as i64 * H,
                value: *v,
            })
            .collect()
    }

    #[test]
    fn the_earliest_hour_outside_the_band_wins_and_a_drop_counts_only_for_traffic() {
        // 10 reference hours, then the window (hours 10..=12): p95 moves at hour 11, the error
        // rate only at hour 12; requests rise (not bad) and CPU falls (not bad)
        let mut p = series(
            "p95_ms",
            &[
                200., 210., 190., 205., 195., 200., 202., 198., 201., 199., 204., 320., 330.,
            ],
        );
        p.extend(series(
            "error_rate",
            &[
                0.01, 0.011, 0.009, 0.01, 0.01, 0.012, 0.008, 0.01, 0.01, 0.01, 0.01, 0.011, 0.2,
            ],
        ));
        p.extend(series(
            "requests",
            &[
                1000., 1010., 990., 1005., 995., 1000., 1002., 998., 1001., 999., 1000., 3000.,
                3000.,
            ],
        ));
        p.extend(series(
            "cpu_avg",
            &[
                0.5, 0.52, 0.49, 0.5, 0.51, 0.5, 0.5, 0.49, 0.5, 0.5, 0.5, 0.05, 0.05,
            ],
        ));
        let m = moved_first(&p, 10 * H, 12 * H).unwrap();
        assert_eq!((m.metric.as_str(), m.hour_start), ("p95_ms", 11 * H));
        // median of the references 200; MAD 2 → σ = max(2·1.4826, 5 % of 200) = 10: z = 12
        assert!((m.baseline - 200.0).abs() < 1e-9);
        assert!((m.z - 12.0).abs() < 1e-9, "{}", m.z);
        let rule = candidate_rule(&m, "checkout");
        assert!(
            rule.contains("kind = \"latency\"") && rule.contains("above = \"260ms\""),
            "{rule}"
        );
        // a traffic drop is a move
        let drop = series(
            "requests",
            &[
                1000., 1010., 990., 1005., 995., 1000., 1002., 998., 1001., 999., 1000., 100.,
            ],
        );
        let m = moved_first(&drop, 10 * H, 12 * H).unwrap();
        assert_eq!(m.metric, "requests");
        assert!(candidate_rule(&m, "checkout").contains("direction = \"down\""));
    }

    #[test]
    fn nothing_moved_or_too_few_references_gives_none() {
        let calm = series(
            "p95_ms",
            &[
                200., 210., 190., 205., 195., 200., 202., 198., 201., 199., 204., 215.,
            ],
        );
        assert_eq!(moved_first(&calm, 10 * H, 12 * H), None);
        let short = series("p95_ms", &[200., 210., 190., 900.]);
        assert_eq!(moved_first(&short, 3 * H, 3 * H), None);
    }
}
