//! The slow rules, P4: anomalies of the hourly tables (`[[anomaly]]`) and week-over-week trends
//! (`[[trend]]`). They read computed tables, not the stream: `postlaunch run` evaluates them after
//! each hourly job (the hour just computed, the newest week of `weekly_trends`), and
//! `alerts replay` over every hour and week of its range.
//!
//! The analysis' shape: the rules ([`super::config::Anomaly`], [`super::config::TrendRule`]) →
//! `sql/alert/anomaly.sql`, `sql/alert/trends.sql` → [`judge_anomalies`], [`judge_trends`] (one
//! verdict per series and period) → [`walk`] (firing when a series turns anomalous, resolved when
//! it no longer is) → transitions, stored in `alerts` like those of the stream rules.
//!
//! Anomaly: the value of an hour against the same hour of the week over the last `weeks` weeks
//! (until three such hours exist, the same hour of the previous seven days): anomalous when it
//! is more than max(z · 1.4826 · MAD, min_change · |median|) from the median, in the rule's
//! direction ([`crate::stats::robust`]). Hours whose `volume` is below `min_volume` are not
//! judged and are no references.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use super::config::{AlertsFile, Anomaly, Direction, TrendRule};
use super::{AlertError, Change, Severity, Transition};
use crate::lake::layout::HOUR_MICROS;
use crate::query::sql::{f64s, opt_f64s, quote, sql_file, strings, times, Param, SqlFile};
use crate::query::LakeSession;
use crate::stats::robust::Baseline;

const ANOMALY: SqlFile = sql_file!("sql/alert/anomaly.sql");
const TRENDS: SqlFile = sql_file!("sql/alert/trends.sql");

const DAY: i64 = 24 * HOUR_MICROS;
const WEEK: i64 = 7 * DAY;

/// One verdict: a series at a period, anomalous or not.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// When the period ends (µs): the event time of a transition.
    pub at: i64,
    pub rule: String,
    pub entity_kind: String,
    pub entity: String,
    pub anomalous: bool,
    pub value: f64,
    /// The level it crossed (or would have): median ± the allowed deviation; trends: the value
    /// of the week before.
    pub threshold: f64,
    /// Anomalies: the robust z; trends: the p-value.
    pub statistic: Option<f64>,
    pub volume: u64,
    pub window_s: f64,
    /// Anomalous verdicts in a row before it fires (an anomaly rule's `for`).
    pub needed: u32,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub runbook: Option<String>,
}

/// Whether `x` is anomalous against `b` by rule `a`, and the level it was judged against.
pub fn judge(a: &Anomaly, b: &Baseline, x: f64) -> (bool, f64) {
    let allowed = (a.z * b.sigma()).max(a.min_change * b.median.abs());
    let up = x - b.median > allowed && allowed > 0.0;
    let down = b.median - x > allowed && allowed > 0.0;
    match a.direction {
        Direction::Up => (up, b.median + allowed),
        Direction::Down => (down, b.median - allowed),
        Direction::Both if x < b.median => (down, b.median - allowed),
        Direction::Both => (up, b.median + allowed),
    }
}

/// The references of hour `h` in `series` (hour → value): the same hour of the last `weeks`
/// weeks, or, while fewer than three of those exist, of the previous seven days.
pub fn references(series: &BTreeMap<i64, f64>, h: i64, weeks: u32) -> Vec<f64> {
    let pick = |step: i64, count: i64| -> Vec<f64> {
        (1..=count)
            .filter_map(|k| series.get(&(h - k * step)).copied())
            .collect()
    };
    let weekly = pick(WEEK, i64::from(weeks));
    if weekly.len() >= 3 {
        weekly
    } else {
        pick(DAY, 7)
    }
}

fn entity_expr(a: &Anomaly) -> String {
    if a.entity.len() == 1 {
        a.entity[0].clone()
    } else {
        format!("concat_ws(' ', {})", a.entity.join(", "))
    }
}

fn filter_expr(a: &Anomaly) -> String {
    if a.filter.is_empty() {
        return "TRUE".into();
    }
    a.filter
        .iter()
        .map(|(k, v)| format!("CAST({k} AS VARCHAR) = {}", quote(v)))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// The verdicts of rule `a` for every hour in [from, to) (µs, whole hours).
pub async fn judge_anomalies(
    session: &LakeSession,
    a: &Anomaly,
    from: i64,
    to: i64,
    skipped: &mut Vec<String>,
) -> Result<Vec<Verdict>, AlertError> {
    if !session.tables.contains(&a.table) {
        skipped.push(format!(
            "anomaly rule `{}`: the lake has no `{}` (run `postlaunch hourly`)",
            a.name, a.table
        ));
        return Ok(Vec::new());
    }
    let lookback = (i64::from(a.weeks) * WEEK).max(7 * DAY);
    let time = |us: i64| Param::Time(DateTime::from_timestamp_micros(us).unwrap_or_default());
    let params = [
        ("table", Param::Sql(a.table.clone())),
        ("metric", Param::Sql(a.metric.clone())),
        ("entity", Param::Sql(entity_expr(a))),
        ("filter", Param::Sql(filter_expr(a))),
        (
            "volume",
            Param::Sql(a.volume.clone().unwrap_or_else(|| "NULL".into())),
        ),
        ("from", time(from - lookback)),
        ("to", time(to)),
    ];
    let batches = ANOMALY.batches(session, &params).await?;
    // entity → hour → value (hours with too little volume left out)
    let mut series: BTreeMap<String, BTreeMap<i64, (f64, f64)>> = BTreeMap::new();
    let f = ANOMALY.path;
    for b in &batches {
        let (hour, entity) = (times(f, b, "hour_start")?, strings(f, b, "entity")?);
        let (value, volume) = (opt_f64s(f, b, "value")?, opt_f64s(f, b, "volume")?);
        for i in 0..b.num_rows() {
            let (Some(h), Some(e), Some(v)) = (hour[i], entity[i].clone(), value[i]) else {
                continue;
            };
            let vol = volume[i].unwrap_or(f64::NAN);
            // NaN (no volume) is below any minimum
            if a.volume.is_some() && vol.partial_cmp(&a.min_volume).is_none_or(|o| o.is_lt()) {
                continue;
            }
            if v.is_finite() {
                series.entry(e).or_default().insert(h, (v, vol));
            }
        }
    }
    let mut out = Vec::new();
    let kind = a.entity.join("/");
    for (entity, points) in &series {
        let values: BTreeMap<i64, f64> = points.iter().map(|(h, (v, _))| (*h, *v)).collect();
        for (&h, &(x, vol)) in points.range(from..to) {
            let refs = references(&values, h, a.weeks);
            if refs.len() < 3 {
                continue;
            }
            let Some(b) = Baseline::of(&refs) else {
                continue;
            };
            let (anomalous, level) = judge(a, &b, x);
            let mut labels = a.labels.clone();
            labels.insert("metric".into(), a.metric.clone());
            let mut annotations = a.annotations.clone();
            annotations.insert(
                "baseline".into(),
                format!(
                    "median {:.4} (MAD {:.4}) of {} earlier hours like this one",
                    b.median, b.mad, b.n
                ),
            );
            out.push(Verdict {
                at: h + HOUR_MICROS,
                rule: a.name.clone(),
                entity_kind: kind.clone(),
                entity: entity.clone(),
                anomalous,
                value: x,
                threshold: level,
                statistic: b.z(x),
                volume: if vol.is_finite() { vol as u64 } else { 0 },
                window_s: 3600.0,
                needed: a.hours(),
                labels,
                annotations,
                runbook: a.runbook.as_ref().map(|p| p.display().to_string()),
            });
        }
    }
    Ok(out)
}

/// The verdicts of trend rule `r` for the weeks starting in [from, to) (µs).
pub async fn judge_trends(
    session: &LakeSession,
    r: &TrendRule,
    from: i64,
    to: i64,
    skipped: &mut Vec<String>,
) -> Result<Vec<Verdict>, AlertError> {
    let time = |us: i64| Param::Time(DateTime::from_timestamp_micros(us).unwrap_or_default());
    let params = [("from", time(from)), ("to", time(to))];
    let Some(batches) = TRENDS.batches_or_skip(session, &params, skipped).await? else {
        return Ok(Vec::new());
    };
    let f = TRENDS.path;
    let mut out = Vec::new();
    for b in &batches {
        let (week, metric, entity) = (
            times(f, b, "week_start")?,
            strings(f, b, "metric")?,
            strings(f, b, "entity")?,
        );
        let (this, last) = (f64s(f, b, "this_week")?, f64s(f, b, "last_week")?);
        let (rel, p) = (opt_f64s(f, b, "rel_change")?, opt_f64s(f, b, "p_value")?);
        for i in 0..b.num_rows() {
            let (Some(w), Some(m), Some(e)) = (week[i], metric[i].clone(), entity[i].clone())
            else {
                continue;
            };
            if !r.metrics.is_empty() && !r.metrics.contains(&m) {
                continue;
            }
            let Some(change) = rel[i].filter(|c| c.is_finite()) else {
                continue;
            };
            let direction_ok = match r.direction.unwrap_or(Direction::Both) {
                Direction::Up => change > 0.0,
                Direction::Down => change < 0.0,
                Direction::Both => true,
            };
            let significant = p[i].is_none_or(|p| p < r.alpha);
            let mut labels = r.labels.clone();
            labels.insert("metric".into(), m.clone());
            let mut annotations = r.annotations.clone();
            annotations.insert(
                "change".into(),
                format!(
                    "{:+.1} % week over week ({} → {}){}",
                    change * 100.0,
                    last[i],
                    this[i],
                    p[i].map_or(String::from(", no test for this metric"), |p| format!(
                        ", p = {p:.2e}"
                    ))
                ),
            );
            out.push(Verdict {
                at: w + WEEK,
                rule: r.name.clone(),
                entity_kind: "trend".into(),
                entity: format!("{e} {m}"),
                anomalous: direction_ok && change.abs() >= r.change && significant,
                value: this[i],
                threshold: last[i],
                statistic: p[i],
                volume: 0,
                window_s: (WEEK / 1_000_000) as f64,
                needed: 1,
                labels,
                annotations,
                runbook: r.runbook.as_ref().map(|p| p.display().to_string()),
            });
        }
    }
    Ok(out)
}

/// Transitions from verdicts: a series fires (P4) once it has been anomalous for `needed`
/// verdicts in a row and resolves at its first verdict that is not; `active` holds the (rule,
/// entity) pairs already firing (from the `alerts` table), which neither fire again nor are
/// forgotten.
pub fn walk(mut verdicts: Vec<Verdict>, active: &BTreeSet<(String, String)>) -> Vec<Transition> {
    verdicts.sort_by(|a, b| (a.at, &a.rule, &a.entity).cmp(&(b.at, &b.rule, &b.entity)));
    let mut firing = active.clone();
    let mut streak: BTreeMap<(String, String), u32> = BTreeMap::new();
    let mut out = Vec::new();
    for v in verdicts {
        let key = (v.rule.clone(), v.entity.clone());
        let run = streak.entry(key.clone()).or_insert(0);
        *run = if v.anomalous { *run + 1 } else { 0 };
        let change = match (v.anomalous, firing.contains(&key)) {
            (true, false) if *run >= v.needed => {
                firing.insert(key);
                Change::Firing
            }
            (false, true) => {
                firing.remove(&key);
                Change::Resolved
            }
            _ => continue,
        };
        out.push(Transition {
            event_time: v.at,
            rule: v.rule,
            entity_kind: v.entity_kind,
            entity: v.entity,
            change,
            severity: Severity::P4,
            previous: (change == Change::Resolved).then_some(Severity::P4),
            value: Some(v.value),
            threshold: v.threshold,
            window_s: v.window_s,
            requests: v.volume,
            bad: 0,
            statistic: v.statistic,
            onset: None,
            labels: v.labels,
            annotations: v.annotations,
            runbook: v.runbook,
            silenced: None,
        });
    }
    out
}

/// Every verdict of the slow rules of `file` over [from, to): the hours of the anomaly rules,
/// the weeks (by their start) of the trend rules.
pub async fn verdicts(
    session: &LakeSession,
    file: &AlertsFile,
    from: i64,
    to: i64,
    skipped: &mut Vec<String>,
) -> Result<Vec<Verdict>, AlertError> {
    let mut out = Vec::new();
    for a in &file.anomalies {
        out.extend(judge_anomalies(session, a, from, to, skipped).await?);
    }
    for r in &file.trends {
        out.extend(judge_trends(session, r, from, to, skipped).await?);
    }
    Ok(out)
}

/// For `postlaunch run`: the slow rules after an hourly job — the anomaly rules on `hour` (its
/// start, µs), the trend rules on the newest week of `weekly_trends` that has ended — against
/// the alerts the lake's `alerts` table has firing. Evaluating the same hour twice changes
/// nothing.
pub async fn after_hour(
    session: &LakeSession,
    file: &AlertsFile,
    hour: i64,
    now: DateTime<Utc>,
) -> Result<(Vec<Transition>, Vec<String>), AlertError> {
    let mut skipped = Vec::new();
    if file.anomalies.is_empty() && file.trends.is_empty() {
        return Ok((Vec::new(), skipped));
    }
    let names: BTreeSet<&str> = file
        .anomalies
        .iter()
        .map(|a| a.name.as_str())
        .chain(file.trends.iter().map(|t| t.name.as_str()))
        .collect();
    let active: BTreeSet<(String, String)> = super::state::current(session, super::state::ACTIVE)
        .await?
        .into_iter()
        .filter(|a| names.contains(a.rule.as_str()))
        .map(|a| (a.rule, a.entity))
        .collect();
    let mut verdicts = Vec::new();
    for a in &file.anomalies {
        // the hours its `for` needs in a row, ending with `hour`
        let first = hour - i64::from(a.hours() - 1) * HOUR_MICROS;
        verdicts
            .extend(judge_anomalies(session, a, first, hour + HOUR_MICROS, &mut skipped).await?);
    }
    if !file.trends.is_empty() {
        // the newest week that has ended
        let now = now.timestamp_micros();
        let mut week_verdicts = Vec::new();
        for r in &file.trends {
            week_verdicts
                .extend(judge_trends(session, r, now - 5 * WEEK, now, &mut skipped).await?);
        }
        let newest = week_verdicts
            .iter()
            .filter(|v| v.at <= now)
            .map(|v| v.at)
            .max();
        verdicts.extend(week_verdicts.into_iter().filter(|v| Some(v.at) == newest));
    }
    Ok((walk(verdicts, &active), skipped))
}

/// `postlaunch run`'s step after each hourly job: [`after_hour`], each transition marked by the
/// lake's silences, logged and appended to `alerts`; returns how many.
pub async fn deliver_after_hour(
    lake: &std::path::Path,
    session: &LakeSession,
    file: &AlertsFile,
    hour: i64,
    now: DateTime<Utc>,
) -> Result<usize, AlertError> {
    let (mut ts, skipped) = after_hour(session, file, hour, now).await?;
    for s in skipped {
        tracing::warn!(reason = %s, "A slow alert rule was skipped.");
    }
    deliver(lake, &mut ts, now)?;
    Ok(ts.len())
}

/// The alert path of `postlaunch run` (the slow rules' transitions, a backfired optimisation's):
/// each transition marked by the lake's silences, logged, and appended to `alerts`.
pub fn deliver(
    lake: &std::path::Path,
    ts: &mut [super::Transition],
    now: DateTime<Utc>,
) -> Result<(), AlertError> {
    use super::live::Deliver;
    let mut silencer = super::silence::Silencer::new(lake.to_path_buf());
    for t in ts.iter_mut() {
        silencer.mark(t);
        super::live::LogDeliver.deliver(t);
    }
    if !ts.is_empty() {
        super::output::store(lake, ts, now.timestamp_micros())
            .map_err(|e| AlertError::Rules(format!("storing alert transitions: {e}")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(direction: Direction) -> Anomaly {
        let text = format!(
            "[[anomaly]]\nname = \"a\"\ntable = \"hourly_service_metrics\"\nmetric = \"p95_ms\"\ndirection = \"{}\"\n",
            match direction {
                Direction::Up => "up",
                Direction::Down => "down",
                Direction::Both => "both",
            }
        );
        use crate::config::ConfigFile;
        AlertsFile::parse(&text, std::path::Path::new("a.toml"))
            .unwrap()
            .anomalies
            .remove(0)
    }

    #[test]
    fn the_baseline_is_the_same_hour_of_earlier_weeks_or_days() {
        let h0 = 1_000 * WEEK; // a Thursday 00:00, whatever: only differences matter
        let mut s = BTreeMap::new();
        // the previous 7 days at this hour: 100..106; other hours: 999 (never references)
        for k in 1..=7 {
            s.insert(h0 - k * DAY, 99.0 + k as f64);
            s.insert(h0 - k * DAY + HOUR_MICROS, 999.0);
        }
        let refs = references(&s, h0, 4);
        assert_eq!(refs.len(), 7, "fewer than 3 weeks: the 7 previous days");
        assert!(refs.iter().all(|r| (100.0..=106.0).contains(r)));
        // three weeks of history at this hour of the week: those only
        for k in 2..=3 {
            s.insert(h0 - k * WEEK, 500.0 + k as f64);
        }
        let refs = references(&s, h0, 4);
        assert_eq!(refs, vec![106.0, 502.0, 503.0]);
    }

    #[test]
    fn judged_against_median_and_mad_with_a_floor_in_the_rules_direction() {
        // references 100, 102, 98, 101, 99: median 100, |dev| 0 2 2 1 1 → MAD 1, σ = 1.4826;
        // z = 4 → 5.93, floor 0.2 · 100 = 20: allowed 20
        let b = Baseline::of(&[100.0, 102.0, 98.0, 101.0, 99.0]).unwrap();
        let up = rule(Direction::Up);
        let (hit, level) = judge(&up, &b, 121.0);
        assert!(hit && (level - 120.0).abs() < 1e-9);
        assert!(!judge(&up, &b, 119.0).0);
        assert!(!judge(&up, &b, 50.0).0, "up only");
        assert!(judge(&rule(Direction::Down), &b, 79.0).0);
        assert!(judge(&rule(Direction::Both), &b, 79.0).0);
        // a noisy baseline: MAD 10 → σ 14.826, z = 4 → 59.3 > the floor
        let noisy = Baseline::of(&[80.0, 90.0, 100.0, 110.0, 120.0]).unwrap();
        let (hit, level) = judge(&up, &noisy, 150.0);
        assert!(!hit && (level - (100.0 + 4.0 * 10.0 * 1.482_602_218_505_602)).abs() < 1e-9);
    }

    fn verdict(at: i64, anomalous: bool) -> Verdict {
        Verdict {
            at,
            rule: "a".into(),
            entity_kind: "service".into(),
            entity: "checkout".into(),
            anomalous,
            value: 1.0,
            threshold: 0.5,
            statistic: None,
            volume: 10,
            window_s: 3600.0,
            needed: 1,
            labels: Default::default(),
            annotations: Default::default(),
            runbook: None,
        }
    }

    #[test]
    fn a_series_fires_once_per_episode_and_resolves() {
        let v: Vec<Verdict> = [false, true, true, false, true]
            .iter()
            .enumerate()
            .map(|(i, a)| verdict(i as i64 * HOUR_MICROS, *a))
            .collect();
        let t = walk(v.clone(), &BTreeSet::new());
        let changes: Vec<(i64, Change)> = t
            .iter()
            .map(|t| (t.event_time / HOUR_MICROS, t.change))
            .collect();
        assert_eq!(
            changes,
            vec![
                (1, Change::Firing),
                (3, Change::Resolved),
                (4, Change::Firing)
            ]
        );
        assert!(t.iter().all(|t| t.severity == Severity::P4));
        // already firing (restored from `alerts`): no second firing, resolution still comes
        let active = [("a".to_string(), "checkout".to_string())].into();
        let t = walk(v[1..4].to_vec(), &active);
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].change, Change::Resolved);
        // `for = "2h"`: the second anomalous hour in a row fires; a lone one does not
        let two: Vec<Verdict> = [true, false, true, true, true, false]
            .iter()
            .enumerate()
            .map(|(i, a)| Verdict {
                needed: 2,
                ..verdict(i as i64 * HOUR_MICROS, *a)
            })
            .collect();
        let changes: Vec<(i64, Change)> = walk(two, &BTreeSet::new())
            .iter()
            .map(|t| (t.event_time / HOUR_MICROS, t.change))
            .collect();
        assert_eq!(changes, vec![(3, Change::Firing), (5, Change::Resolved)]);
    }
}
