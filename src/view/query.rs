//! The SQL of the reports: the files of `sql/view/` and their rows as plain structs; a missing
//! table gives `None` (the report says what to run instead of failing).

use chrono::{DateTime, Utc};

use super::ViewError;
use crate::query::sql::{opt_f64s, sql_file, strings, time_range, times, SqlFile};
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
    let f = CAPACITY.path;
    let Some(bs) = CAPACITY
        .batches_if_present(session, &time_range(from, to))
        .await?
    else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for b in &bs {
        let (day, service) = (times(f, b, "day")?, strings(f, b, "service")?);
        let (hosts, cpu, mem) = (
            opt_f64s(f, b, "hosts")?,
            opt_f64s(f, b, "cpu_avg")?,
            opt_f64s(f, b, "memory_avg")?,
        );
        for i in 0..b.num_rows() {
            let Some(day) = day[i] else { continue };
            out.push(GroupDay {
                day,
                service: service[i].clone().unwrap_or_default(),
                hosts: hosts[i].unwrap_or(0.0),
                cpu: cpu[i].unwrap_or(f64::NAN),
                memory: mem[i].unwrap_or(f64::NAN),
            });
        }
    }
    Ok(Some(out))
}

/// The days of [from, to) with cost and active users; `None` without `metrics` or `events`.
pub async fn cost_per_user(
    session: &LakeSession,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Option<Vec<CostDay>>, ViewError> {
    let f = COST_PER_USER.path;
    let Some(bs) = COST_PER_USER
        .batches_if_present(session, &time_range(from, to))
        .await?
    else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for b in &bs {
        let day = times(f, b, "day")?;
        let (cost, users, per) = (
            opt_f64s(f, b, "cost_usd")?,
            opt_f64s(f, b, "active_users")?,
            opt_f64s(f, b, "cost_per_user_usd")?,
        );
        for i in 0..b.num_rows() {
            let Some(day) = day[i] else { continue };
            out.push(CostDay {
                day,
                cost_usd: cost[i].unwrap_or(0.0),
                active_users: users[i].unwrap_or(0.0),
                cost_per_user_usd: per[i],
            });
        }
    }
    Ok(Some(out))
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
    let f = SERVICE_DAILY.path;
    let Some(bs) = SERVICE_DAILY
        .batches_if_present(session, &time_range(from, to))
        .await?
    else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for b in &bs {
        let (day, service) = (times(f, b, "day")?, strings(f, b, "service")?);
        let (req, err, p95) = (
            opt_f64s(f, b, "requests")?,
            opt_f64s(f, b, "error_rate")?,
            opt_f64s(f, b, "p95_ms")?,
        );
        for i in 0..b.num_rows() {
            let (Some(day), Some(service)) = (day[i], service[i].clone()) else {
                continue;
            };
            out.push(ServiceDay {
                day,
                service,
                requests: req[i].unwrap_or(0.0),
                error_rate: err[i].unwrap_or(f64::NAN),
                p95_ms: p95[i].unwrap_or(f64::NAN),
            });
        }
    }
    Ok(Some(out))
}

/// The optimisations measured whose deployment finished in [from, to); `None` without
/// `deployment_impact`.
pub async fn optimisations(
    session: &LakeSession,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Option<Vec<Optimisation>>, ViewError> {
    let f = OPTIMISATIONS.path;
    let Some(bs) = OPTIMISATIONS
        .batches_if_present(session, &time_range(from, to))
        .await?
    else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for b in &bs {
        let s = |c| strings(f, b, c);
        let x = |c| opt_f64s(f, b, c);
        let (dep, chg, cmp, metric) = (
            s("deployment")?,
            s("change_id")?,
            s("comparison")?,
            s("metric")?,
        );
        let (bv, av, rel, p) = (
            x("baseline_value")?,
            x("after_value")?,
            x("relative_effect")?,
            x("p_value")?,
        );
        let (hyp, res, verdict) = (s("hypothesis")?, s("hypothesis_result")?, s("verdict")?);
        for i in 0..b.num_rows() {
            out.push(Optimisation {
                deployment: dep[i].clone().unwrap_or_default(),
                change_id: chg[i].clone(),
                comparison: cmp[i].clone(),
                metric: metric[i].clone().unwrap_or_default(),
                baseline_value: bv[i],
                after_value: av[i],
                relative_effect: rel[i],
                p_value: p[i],
                hypothesis: hyp[i].clone(),
                hypothesis_result: res[i].clone(),
                verdict: verdict[i].clone(),
            });
        }
    }
    Ok(Some(out))
}
