//! Funnels (`pipelines/funnels.toml`): how many users go through an ordered series of events
//! within a conversion window, and where the others drop off.
//!
//! Where it sits: after [`crate::query`]. One DataFusion query per funnel selects the events
//! that matter (steps, exclusions) in the period plus one window, tags each with a bit mask of
//! the steps it matches and its breakdown value, groups them by user and runs the aggregate
//! [`udaf::FunnelScan`] (the per-user ordered [`scan`]) to get each user's best attempt;
//! [`compute`] sums those into per-step rows ([`StepRow`]): users, conversion, drop-off, time between steps and a
//! sample of user ids who dropped. `postlaunch funnel` prints them; the daily lake table
//! `daily_funnel_steps` stores them per day of entry. The semantics are in `docs/FUNNELS.md`.

pub mod config;
pub mod output;
pub mod scan;
pub mod udaf;

use std::collections::BTreeMap;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Int64Type};

use self::config::{Breakdown, Funnel};
use self::scan::EXCLUDE_BIT;
use crate::query::{LakeSession, QueryError};

/// How many user ids who dropped at a step are listed (the smallest ids, so it is deterministic).
pub const DROPPED_SAMPLE: usize = 10;

/// Errors of computing a funnel.
#[derive(Debug, thiserror::Error)]
pub enum FunnelError {
    #[error("funnel `{funnel}`: query failed: {source}")]
    Query { funnel: String, source: QueryError },
    #[error("funnel `{funnel}`: unexpected query result: {message}")]
    Result { funnel: String, message: String },
    #[error("writing `{table}`: {source}")]
    Lake {
        table: String,
        source: crate::lake::LakeError,
    },
    #[error("building the funnel table: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
}

/// The period whose entries (first-step events) are counted, in µs since the epoch:
/// `[from, to)`. Events up to `to + window` still count for conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: i64,
    pub to: i64,
}

/// One row of a funnel report: one step of one breakdown group.
#[derive(Debug, Clone, PartialEq)]
pub struct StepRow {
    /// Breakdown value (`None`: no breakdown, or users without a value).
    pub breakdown: Option<String>,
    /// 1-based step number.
    pub step: usize,
    /// The step's label (in `any` mode step k means "any k distinct steps").
    pub label: String,
    /// Users who reached the step.
    pub users: u64,
    /// users / users of the previous step (1 for step 1; `None` when the previous step has 0).
    pub conversion_from_previous: Option<f64>,
    /// users / users of step 1.
    pub conversion_from_start: Option<f64>,
    /// Users who reached the previous step but not this one (0 for step 1).
    pub dropped: u64,
    /// Median seconds from the previous step to this one, over users who reached it.
    pub median_secs_from_previous: Option<f64>,
    /// 90th percentile of the same (linear interpolation, as numpy's default).
    pub p90_secs_from_previous: Option<f64>,
    /// Up to [`DROPPED_SAMPLE`] ids of users who dropped here, smallest first.
    pub dropped_sample: Vec<String>,
}

/// A computed funnel.
#[derive(Debug, Clone)]
pub struct FunnelReport {
    pub funnel: String,
    pub period: Period,
    /// Whether the last entries' window is still open: `period.to + window` is after the
    /// analysis time (`--at`, default now), so conversions can still come. (Not the latest event:
    /// on data that ended long ago every window has closed.)
    pub incomplete: bool,
    pub rows: Vec<StepRow>,
}

fn sql_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn rfc3339(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

/// The query selecting a funnel's events: `uid`, `t` (µs), `mask`, `bd` (VARCHAR).
pub fn events_sql(f: &Funnel, breakdown: Option<&Breakdown>, period: Period) -> String {
    let mut mask_terms = Vec::new();
    for (i, s) in f.steps.iter().enumerate() {
        let mut cond = format!("e.event = {}", sql_str(&s.event));
        for (k, v) in &s.filters {
            cond.push_str(&format!(
                " AND json_get_str(e.properties, {}) = {}",
                sql_str(k),
                sql_str(v)
            ));
        }
        mask_terms.push(format!(
            "CASE WHEN {cond} THEN CAST({} AS BIGINT) ELSE CAST(0 AS BIGINT) END",
            1u64 << i
        ));
    }
    if !f.exclude.is_empty() {
        let list: Vec<String> = f.exclude.iter().map(|e| sql_str(e)).collect();
        mask_terms.push(format!(
            "CASE WHEN e.event IN ({}) THEN CAST({EXCLUDE_BIT} AS BIGINT) ELSE CAST(0 AS BIGINT) END",
            list.join(", ")
        ));
    }
    let mut events: Vec<String> = f.steps.iter().map(|s| sql_str(&s.event)).collect();
    events.extend(f.exclude.iter().map(|e| sql_str(e)));
    events.sort();
    events.dedup();
    let (bd, join) = match breakdown {
        None => ("CAST(NULL AS VARCHAR)".to_string(), String::new()),
        Some(Breakdown::Platform) => ("e.platform".to_string(), String::new()),
        Some(Breakdown::Property(p)) => (
            format!("json_get_str(e.properties, {})", sql_str(p)),
            String::new(),
        ),
        Some(Breakdown::Experiment(k)) => (
            "x.variant".to_string(),
            format!(
                "LEFT JOIN (SELECT user_id AS x_user, first_value(variant ORDER BY ts, variant) AS variant \
                 FROM exposures WHERE experiment = {} GROUP BY user_id) x ON x.x_user = e.user_id",
                sql_str(k)
            ),
        ),
    };
    let window_us = i64::try_from(f.window.as_micros()).unwrap_or(i64::MAX);
    format!(
        "SELECT COALESCE(e.user_id, e.anonymous_id) AS uid, \
         CAST(CAST(e.ts AS TIMESTAMP) AS BIGINT) / 1000 AS t, \
         {mask} AS mask, CAST({bd} AS VARCHAR) AS bd \
         FROM events e {join} \
         WHERE e.event IN ({events}) \
         AND e.ts >= to_timestamp_micros({from}) AND e.ts <= to_timestamp_micros({to})",
        mask = mask_terms.join(" + "),
        events = events.join(", "),
        from = sql_str(&rfc3339(period.from)),
        to = sql_str(&rfc3339(period.to.saturating_add(window_us))),
    )
}

/// The time span of the `events` table in µs: (first, last).
pub async fn events_span(session: &LakeSession) -> Result<Option<(i64, i64)>, QueryError> {
    let (_, batches) = session
        .query(
            "SELECT CAST(CAST(min(ts) AS TIMESTAMP) AS BIGINT) / 1000 AS a, \
             CAST(CAST(max(ts) AS TIMESTAMP) AS BIGINT) / 1000 AS b FROM events",
        )
        .await?;
    let Some(b) = batches.iter().find(|b| b.num_rows() > 0) else {
        return Ok(None);
    };
    let a = b.column(0).as_primitive_opt::<Int64Type>();
    let z = b.column(1).as_primitive_opt::<Int64Type>();
    match (a, z) {
        (Some(a), Some(z)) if a.is_valid(0) && z.is_valid(0) => Ok(Some((a.value(0), z.value(0)))),
        _ => Ok(None),
    }
}

/// The time of the latest event (µs), `None` when `events` is empty; for the reports that run
/// funnels (trends, opportunities).
pub async fn latest_event(session: &LakeSession) -> Result<Option<i64>, FunnelError> {
    events_span(session)
        .await
        .map(|span| span.map(|(_, last)| last))
        .map_err(|source| FunnelError::Query {
            funnel: String::new(),
            source,
        })
}

/// Computes a funnel over entries in `period`, as of `at` (µs): the result is incomplete when
/// the window of the period's last entries ends after `at` (their conversions can still come).
pub async fn compute(
    session: &LakeSession,
    f: &Funnel,
    breakdown: Option<&Breakdown>,
    period: Period,
    at: i64,
) -> Result<FunnelReport, FunnelError> {
    let window_us = i64::try_from(f.window.as_micros()).unwrap_or(i64::MAX);
    session
        .ctx
        .register_udaf(datafusion::logical_expr::AggregateUDF::from(
            udaf::FunnelScan::new(f.steps.len(), window_us, f.order, period.from..period.to),
        ));
    let sql = format!(
        "SELECT uid, {}(t, mask, bd) AS r FROM ({}) GROUP BY uid",
        udaf::NAME,
        events_sql(f, breakdown, period)
    );
    tracing::debug!(funnel = %f.name, sql = %sql, "Funnel query.");
    let (_, batches) = session
        .query(&sql)
        .await
        .map_err(|source| FunnelError::Query {
            funnel: f.name.clone(),
            source,
        })?;
    let bad = |message: String| FunnelError::Result {
        funnel: f.name.clone(),
        message,
    };
    let mut by_group: BTreeMap<Option<String>, Vec<(String, Vec<i64>)>> = BTreeMap::new();
    for b in &batches {
        // Strings come back as views or plain, depending on the plan.
        let uid = arrow::compute::cast(b.column(0), &DataType::Utf8)
            .map_err(|_| bad(format!("uid is {}", b.column(0).data_type())))?;
        let uid = uid.as_string::<i32>();
        let r = b
            .column(1)
            .as_list_opt::<i32>()
            .ok_or_else(|| bad(format!("r is {}", b.column(1).data_type())))?;
        for i in 0..b.num_rows() {
            if uid.is_null(i) || r.is_null(i) {
                continue;
            }
            let entries = r.value(i);
            let entries = entries
                .as_struct_opt()
                .ok_or_else(|| bad(format!("r's entries are {}", entries.data_type())))?;
            let bd = entries.column(0).as_string::<i32>();
            let times = entries.column(1).as_list::<i32>();
            for j in 0..entries.len() {
                let t = times.value(j);
                let t = t.as_primitive::<Int64Type>();
                by_group
                    .entry(bd.is_valid(j).then(|| bd.value(j).to_string()))
                    .or_default()
                    .push((uid.value(i).to_string(), t.values().to_vec()));
            }
        }
    }
    if by_group.is_empty() && breakdown.is_none() {
        // Nobody entered: still one row per step (zeros), so a report and a daily partition
        // say so instead of being empty.
        by_group.insert(None, Vec::new());
    }
    let labels: Vec<String> = f.steps.iter().map(|s| s.label().to_string()).collect();
    let mut rows = Vec::new();
    for (g, users) in by_group {
        rows.extend(step_rows(g, &labels, users));
    }
    Ok(FunnelReport {
        funnel: f.name.clone(),
        period,
        incomplete: period.to.saturating_add(window_us) > at,
        rows,
    })
}

/// Sums the best attempts of a group's users into one row per step.
pub fn step_rows(
    breakdown: Option<String>,
    labels: &[String],
    mut users: Vec<(String, Vec<i64>)>,
) -> Vec<StepRow> {
    users.sort();
    let mut rows: Vec<StepRow> = Vec::with_capacity(labels.len());
    let mut first = 0u64;
    for (k, label) in labels.iter().enumerate() {
        let reached = users.iter().filter(|(_, t)| t.len() > k).count() as u64;
        if k == 0 {
            first = reached;
        }
        let prev = rows.last().map(|r| r.users);
        let mut secs: Vec<f64> = users
            .iter()
            .filter(|(_, t)| t.len() > k && k > 0)
            .map(|(_, t)| (t[k] - t[k - 1]) as f64 / 1e6)
            .collect();
        secs.sort_by(f64::total_cmp);
        let ratio = |a: u64, b: u64| (b > 0).then(|| a as f64 / b as f64);
        rows.push(StepRow {
            breakdown: breakdown.clone(),
            step: k + 1,
            label: label.clone(),
            users: reached,
            conversion_from_previous: match prev {
                None => ratio(reached, reached),
                Some(p) => ratio(reached, p),
            },
            conversion_from_start: ratio(reached, first),
            dropped: prev.map_or(0, |p| p - reached),
            median_secs_from_previous: quantile(&secs, 0.5),
            p90_secs_from_previous: quantile(&secs, 0.9),
            dropped_sample: if k == 0 {
                Vec::new()
            } else {
                users
                    .iter()
                    .filter(|(_, t)| t.len() == k)
                    .take(DROPPED_SAMPLE)
                    .map(|(u, _)| u.clone())
                    .collect()
            },
        });
    }
    rows
}

/// Quantile `q` of sorted values with linear interpolation (numpy's default).
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let pos = q * (n - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_rows_count_convert_and_sample_drop_offs() {
        let labels: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let s = 1_000_000;
        let users = vec![
            ("u3".to_string(), vec![0, 10 * s, 30 * s]),
            ("u1".to_string(), vec![0, 20 * s]),
            ("u2".to_string(), vec![0]),
            ("u4".to_string(), vec![0, 30 * s]),
        ];
        let rows = step_rows(None, &labels, users);
        assert_eq!(
            rows.iter().map(|r| r.users).collect::<Vec<_>>(),
            vec![4, 3, 1]
        );
        assert_eq!(rows[1].dropped, 1);
        assert_eq!(rows[1].dropped_sample, vec!["u2".to_string()]);
        assert_eq!(rows[2].dropped, 2);
        assert_eq!(
            rows[2].dropped_sample,
            vec!["u1".to_string(), "u4".to_string()]
        );
        assert_eq!(rows[1].conversion_from_previous, Some(0.75));
        assert_eq!(rows[2].conversion_from_start, Some(0.25));
        assert_eq!(rows[1].median_secs_from_previous, Some(20.0));
        // 10, 20, 30 s: p90 = 20 + 0.8 * 10.
        assert!((rows[1].p90_secs_from_previous.unwrap() - 28.0).abs() < 1e-9);
        assert_eq!(rows[0].median_secs_from_previous, None);
    }

    #[test]
    fn quantiles_interpolate_like_numpy() {
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(quantile(&[5.0], 0.9), Some(5.0));
        // numpy.quantile([1, 2, 3, 4], 0.5) == 2.5; 0.9 -> 3.7
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0], 0.5), Some(2.5));
        assert!((quantile(&[1.0, 2.0, 3.0, 4.0], 0.9).unwrap() - 3.7).abs() < 1e-12);
    }
}
