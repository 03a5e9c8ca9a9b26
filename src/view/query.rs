//! The SQL of the reports: the files of `sql/view/` and their rows as plain structs; a missing
//! table gives `None` (the report says what to run instead of failing).

use chrono::{DateTime, Utc};

use super::ViewError;
use crate::query::sql::{sql_file, time_range, SqlFile};
use crate::query::LakeSession;

const SERVICE_DAILY: SqlFile = sql_file!("sql/view/service_daily.sql");
const OPTIMISATIONS: SqlFile = sql_file!("sql/view/optimisations.sql");
const CAPACITY: SqlFile = sql_file!("sql/view/capacity.sql");
const COST_PER_USER: SqlFile = sql_file!("sql/view/cost_per_user.sql");

/// One host group's day.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupDay {
    /// Midnight UTC (µs).
    pub day: i64,
    pub service: String,
    pub hosts: f64,
    pub cpu: f64,
    pub memory: f64,
}

/// One day's infrastructure cost per active user.
#[derive(Debug, Clone, PartialEq)]
pub struct CostDay {
    pub day: i64,
    pub cost_usd: f64,
    pub active_users: f64,
    pub cost_per_user_usd: Option<f64>,
}

/// Each host group's days in [from, to); `None` without `hourly_host_metrics`.
pub async fn capacity(
    session: &LakeSession,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Option<Vec<GroupDay>>, ViewError> {
    let Some(f) = CAPACITY
        .frame_if_present(session, &time_range(from, to))
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(
        (0..f.rows)
            .filter_map(|i| {
                Some(GroupDay {
                    day: f.time("day", i)?,
                    service: f.text("service", i).to_string(),
                    hosts: f.num("hosts", i).unwrap_or(0.0),
                    cpu: f.num("cpu_avg", i).unwrap_or(f64::NAN),
                    memory: f.num("memory_avg", i).unwrap_or(f64::NAN),
                })
            })
            .collect(),
    ))
}

/// The days of [from, to) with cost and active users; `None` without `metrics` or `events`.
pub async fn cost_per_user(
    session: &LakeSession,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Option<Vec<CostDay>>, ViewError> {
    let Some(f) = COST_PER_USER
        .frame_if_present(session, &time_range(from, to))
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(
        (0..f.rows)
            .filter_map(|i| {
                Some(CostDay {
                    day: f.time("day", i)?,
                    cost_usd: f.num("cost_usd", i).unwrap_or(0.0),
                    active_users: f.num("active_users", i).unwrap_or(0.0),
                    cost_per_user_usd: f.num("cost_per_user_usd", i),
                })
            })
            .collect(),
    ))
}

/// One service's day.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceDay {
    /// Midnight UTC of the day (µs).
    pub day: i64,
    pub service: String,
    pub requests: f64,
    pub error_rate: f64,
    pub p95_ms: f64,
}

/// The latest measurement of one deployment, comparison and metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Optimisation {
    pub deployment: String,
    pub change_id: Option<String>,
    pub comparison: Option<String>,
    pub metric: String,
    pub baseline_value: Option<f64>,
    pub after_value: Option<f64>,
    pub relative_effect: Option<f64>,
    pub p_value: Option<f64>,
    pub hypothesis: Option<String>,
    pub hypothesis_result: Option<String>,
    pub verdict: Option<String>,
}

/// Each service's days in [from, to); `None` without `hourly_service_metrics`.
pub async fn service_daily(
    session: &LakeSession,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Option<Vec<ServiceDay>>, ViewError> {
    let Some(f) = SERVICE_DAILY
        .frame_if_present(session, &time_range(from, to))
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(
        (0..f.rows)
            .filter(|&i| !f.text("service", i).is_empty())
            .filter_map(|i| {
                Some(ServiceDay {
                    day: f.time("day", i)?,
                    service: f.text("service", i).to_string(),
                    requests: f.num("requests", i).unwrap_or(0.0),
                    error_rate: f.num("error_rate", i).unwrap_or(f64::NAN),
                    p95_ms: f.num("p95_ms", i).unwrap_or(f64::NAN),
                })
            })
            .collect(),
    ))
}

/// The optimisations measured whose deployment finished in [from, to); `None` without
/// `deployment_impact`.
pub async fn optimisations(
    session: &LakeSession,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Option<Vec<Optimisation>>, ViewError> {
    let Some(f) = OPTIMISATIONS
        .frame_if_present(session, &time_range(from, to))
        .await?
    else {
        return Ok(None);
    };
    let opt = |c: &str, i: usize| {
        Some(f.text(c, i))
            .filter(|t| !t.is_empty())
            .map(String::from)
    };
    Ok(Some(
        (0..f.rows)
            .map(|i| Optimisation {
                deployment: f.text("deployment", i).to_string(),
                change_id: opt("change_id", i),
                comparison: opt("comparison", i),
                metric: f.text("metric", i).to_string(),
                baseline_value: f.num("baseline_value", i),
                after_value: f.num("after_value", i),
                relative_effect: f.num("relative_effect", i),
                p_value: f.num("p_value", i),
                hypothesis: opt("hypothesis", i),
                hypothesis_result: opt("hypothesis_result", i),
                verdict: opt("verdict", i),
            })
            .collect(),
    ))
}
