//! Deployment impact: the hours after a deployment completed against a baseline, for latency
//! quantiles, error rate, throughput, conversion and cost per user, with tests and intervals
//! from [`crate::stats`]; canaries also compare the canary version against the other versions
//! over the same minutes. Hypotheses from `pipelines/optimizations.toml` are checked (held, not
//! shown, backfired). Results go to the lake table `deployment_impact`.
//!
//! ```text
//!  deployments ─▶ periods ─▶ sql/impact/*.sql (samples, hourly aggregates) ─▶ stats ─▶ output
//! ```
//!
//! The baseline is the same hours one week earlier when the lake has them (so time of day and
//! day of week match), else the `window` before the deployment. Both periods start on whole
//! hours: the after period starts at the first full hour after completion.

pub mod config;
pub mod output;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, DurationRound, Utc};
use serde::Serialize;

use self::config::{Direction, Hypothesis, OptimizationsFile};
use crate::experiment::analysis::ser_time;
use crate::query::sql::{self as sqlq, sql_file, Param, SqlError, SqlFile};
use crate::query::LakeSession;
use crate::stats::{
    clustered_quantile_test, ratio_delta, two_proportion, welch, CoMoments, Comparison, Interval,
    Moments,
};

const DEPLOYMENT: SqlFile = sql_file!("sql/impact/deployment.sql");
const REQUEST_RANGE: SqlFile = sql_file!("sql/impact/request_range.sql");
const LATENCY_SAMPLES: SqlFile = sql_file!("sql/impact/latency_samples.sql");
const HOURLY_REQUESTS: SqlFile = sql_file!("sql/impact/hourly_requests.sql");
const HOURLY_BUSINESS: SqlFile = sql_file!("sql/impact/hourly_business.sql");

/// Errors of an impact report.
#[derive(Debug, thiserror::Error)]
pub enum ImpactError {
    #[error(transparent)]
    Sql(#[from] SqlError),
    #[error("deployment `{0}` is not in the lake's `deployments` table")]
    UnknownDeployment(String),
    #[error("deployment `{0}` has no `completed` or `rolled_back` phase yet")]
    NotFinished(String),
    #[error("the lake has no table `{0}`, which the impact report needs")]
    MissingTable(String),
}

/// The deployment under study.
#[derive(Debug, Clone, Serialize)]
pub struct Deployment {
    pub service: String,
    pub version: String,
    pub strategy: String,
    pub change_id: String,
    pub description: String,
    #[serde(serialize_with = "ser_time")]
    pub started: DateTime<Utc>,
    #[serde(serialize_with = "ser_time")]
    pub finished: DateTime<Utc>,
    /// `completed` or `rolled_back`.
    pub outcome: String,
}

/// One compared metric.
#[derive(Debug, Clone, Serialize)]
pub struct ImpactRow {
    /// `before_after` or `canary`.
    pub comparison: &'static str,
    pub metric: &'static str,
    pub test: &'static str,
    pub baseline_n: u64,
    pub after_n: u64,
    pub baseline_value: f64,
    pub after_value: f64,
    pub effect: f64,
    pub ci: Interval,
    pub relative_effect: f64,
    pub relative_ci: Interval,
    pub p_value: f64,
    pub significant: bool,
    /// The hypothesis about this metric, if any: `decrease 10%`.
    pub hypothesis: Option<String>,
    /// `held`, `held (smaller than expected)`, `not shown` or `backfire`.
    pub hypothesis_result: Option<String>,
    pub backfire: bool,
    pub note: String,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct ImpactReport {
    pub deployment: Deployment,
    #[serde(serialize_with = "ser_time")]
    pub analysis_time: DateTime<Utc>,
    #[serde(serialize_with = "ser_time")]
    pub baseline_start: DateTime<Utc>,
    #[serde(serialize_with = "ser_time")]
    pub baseline_end: DateTime<Utc>,
    #[serde(serialize_with = "ser_time")]
    pub after_start: DateTime<Utc>,
    #[serde(serialize_with = "ser_time")]
    pub after_end: DateTime<Utc>,
    /// How the baseline was chosen.
    pub baseline: String,
    pub alpha: f64,
    pub rows: Vec<ImpactRow>,
    pub notes: Vec<String>,
    pub backfire: bool,
    pub verdict: String,
}

async fn deployment(
    session: &LakeSession,
    service: &str,
    version: &str,
) -> Result<Deployment, ImpactError> {
    let name = format!("{service}@{version}");
    let batches = DEPLOYMENT
        .batches(
            session,
            &[
                ("service", Param::Text(service.into())),
                ("version", Param::Text(version.into())),
            ],
        )
        .await?;
    let mut phases: Vec<(String, i64, String, String, String)> = Vec::new();
    for b in &batches {
        let phase = sqlq::strings(DEPLOYMENT.path, b, "phase")?;
        let ts = sqlq::times(DEPLOYMENT.path, b, "ts")?;
        let strategy = sqlq::strings(DEPLOYMENT.path, b, "strategy")?;
        let change = sqlq::strings(DEPLOYMENT.path, b, "change_id")?;
        let desc = sqlq::strings(DEPLOYMENT.path, b, "description")?;
        for i in 0..b.num_rows() {
            if let (Some(p), Some(t)) = (phase[i].clone(), ts[i]) {
                phases.push((
                    p,
                    t,
                    strategy[i].clone().unwrap_or_default(),
                    change[i].clone().unwrap_or_default(),
                    desc[i].clone().unwrap_or_default(),
                ));
            }
        }
    }
    if phases.is_empty() {
        return Err(ImpactError::UnknownDeployment(name));
    }
    let time = |us: i64| DateTime::from_timestamp_micros(us).unwrap_or_default();
    let started = phases
        .iter()
        .find(|p| p.0 == "started")
        .map_or(phases[0].1, |p| p.1);
    let finish = phases
        .iter()
        .rev()
        .find(|p| p.0 == "completed" || p.0 == "rolled_back")
        .ok_or_else(|| ImpactError::NotFinished(name.clone()))?;
    Ok(Deployment {
        service: service.into(),
        version: version.into(),
        strategy: finish.2.clone(),
        change_id: finish.3.clone(),
        description: finish.4.clone(),
        started: time(started),
        finished: time(finish.1),
        outcome: finish.0.clone(),
    })
}

/// Samples and hourly aggregates of one comparison, by arm (`before`, `after`).
#[derive(Default)]
struct ArmData {
    /// `(duration, cluster)`: the cluster is the user; anonymous requests are their own.
    durations: Vec<(f64, u64)>,
    /// Per cluster: (errors, requests), for the error rate by the delta method.
    errors_by_cluster: BTreeMap<u64, (f64, f64)>,
    hourly_requests: Vec<f64>,
    hourly_cost_per_user: Vec<f64>,
    checkout_sessions: u64,
    purchase_sessions: u64,
}

async fn samples(
    session: &LakeSession,
    params: &[(&str, Param)],
) -> Result<BTreeMap<String, ArmData>, ImpactError> {
    let mut arms: BTreeMap<String, ArmData> = BTreeMap::new();
    let mut users: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    let mut next: u64 = 0;
    for b in &LATENCY_SAMPLES.batches(session, params).await? {
        let arm = sqlq::strings(LATENCY_SAMPLES.path, b, "arm")?;
        let user = sqlq::strings(LATENCY_SAMPLES.path, b, "user_id")?;
        let d = sqlq::f64s(LATENCY_SAMPLES.path, b, "duration_ms")?;
        let e = sqlq::i64s(LATENCY_SAMPLES.path, b, "is_error")?;
        for i in 0..b.num_rows() {
            if let Some(a) = &arm[i] {
                let cluster = match &user[i] {
                    Some(u) => *users.entry(u.clone()).or_insert_with(|| {
                        next += 1;
                        next
                    }),
                    None => {
                        next += 1;
                        next
                    }
                };
                let x = arms.entry(a.clone()).or_default();
                x.durations.push((d[i], cluster));
                let c = x.errors_by_cluster.entry(cluster).or_default();
                c.0 += f64::from(u8::from(e[i] == Some(1)));
                c.1 += 1.0;
            }
        }
    }
    Ok(arms)
}

fn values(xs: &[(f64, u64)]) -> Vec<f64> {
    xs.iter().map(|x| x.0).collect()
}

/// Error rate = Σ errors / Σ requests with users as clusters (delta method), so that a few
/// users with many failing retries do not pass for many independent failures.
fn error_rate(
    before: &ArmData,
    after: &ArmData,
    alpha: f64,
) -> Result<Comparison, crate::stats::StatsError> {
    let moments = |a: &ArmData| {
        let (x, y): (Vec<f64>, Vec<f64>) = a.errors_by_cluster.values().copied().unzip();
        CoMoments::of(&x, &y)
    };
    let (a, b) = (moments(before), moments(after));
    if a.cxx == 0.0 && b.cxx == 0.0 {
        // No error on either side (or no variation): the rate test has nothing to estimate;
        // the two-proportion test gives p = 1 and a [0, 0] interval.
        let n = |m: &CoMoments| (m.mean_y * m.n as f64).round() as u64;
        let x = |m: &CoMoments| (m.mean_x * m.n as f64).round() as u64;
        return two_proportion(x(&a), n(&a), x(&b), n(&b), alpha);
    }
    ratio_delta(&a, &b, alpha)
}

fn hypothesis_result(h: &Hypothesis, c: &Comparison) -> (String, bool) {
    let sign = h.direction.sign();
    let rel = &c.relative_ci;
    if c.significant() && c.effect * sign > 0.0 {
        // The whole interval lies in the expected direction; is the expected size plausible?
        let smaller = match h.direction {
            Direction::Increase => rel.high < h.expected_relative,
            Direction::Decrease => rel.low > -h.expected_relative,
        };
        if smaller {
            ("held (smaller than expected)".into(), false)
        } else {
            ("held".into(), false)
        }
    } else if c.significant() {
        ("backfire".into(), true)
    } else {
        ("not shown".into(), false)
    }
}

fn row(
    comparison: &'static str,
    metric: &'static str,
    c: Result<Comparison, String>,
    hypotheses: &[&Hypothesis],
) -> ImpactRow {
    let nan = Interval {
        low: f64::NAN,
        high: f64::NAN,
    };
    // Hypotheses are about the change as shipped: checked on the before/after comparison only.
    let h = hypotheses
        .iter()
        .find(|h| h.metric == metric && comparison == "before_after");
    let hypothesis =
        h.map(|h| format!("{} {:.0}%", h.direction.name(), 100.0 * h.expected_relative));
    match c {
        Ok(c) => {
            let (result, backfire) = match h {
                Some(h) if comparison == "before_after" => {
                    let (r, b) = hypothesis_result(h, &c);
                    (Some(r), b)
                }
                _ => (None, false),
            };
            ImpactRow {
                comparison,
                metric,
                test: c.test.name(),
                baseline_n: c.control.n,
                after_n: c.treatment.n,
                baseline_value: c.control.estimate,
                after_value: c.treatment.estimate,
                effect: c.effect,
                ci: c.ci,
                relative_effect: c.relative,
                relative_ci: c.relative_ci,
                p_value: c.p_value,
                significant: c.significant(),
                hypothesis,
                hypothesis_result: result,
                backfire,
                note: String::new(),
            }
        }
        Err(why) => ImpactRow {
            comparison,
            metric,
            test: "",
            baseline_n: 0,
            after_n: 0,
            baseline_value: f64::NAN,
            after_value: f64::NAN,
            effect: f64::NAN,
            ci: nan,
            relative_effect: f64::NAN,
            relative_ci: nan,
            p_value: f64::NAN,
            significant: false,
            hypothesis_result: hypothesis.as_ref().map(|_| "not shown".to_string()),
            hypothesis,
            backfire: false,
            note: format!("not computable: {why}"),
        },
    }
}

/// Builds the impact report of `SERVICE@VERSION` over `window` after completion.
pub async fn report(
    session: &LakeSession,
    service: &str,
    version: &str,
    window: std::time::Duration,
    alpha: f64,
    optimizations: Option<&OptimizationsFile>,
) -> Result<ImpactReport, ImpactError> {
    for t in ["deployments", "requests"] {
        if !has_table(session, t) {
            return Err(ImpactError::MissingTable(t.into()));
        }
    }
    let dep = deployment(session, service, version).await?;
    let window = Duration::seconds(window.as_secs() as i64);
    let (first, last) = request_range(session, service).await?;
    let periods = Periods::choose(&dep, window, first);
    let mut notes = periods.notes(&dep, window, first, last);
    let hypotheses = hypotheses_of(optimizations, service, version);
    let params = periods.params(service);
    let arms = before_after_arms(session, &params, &mut notes).await?;
    let empty = ArmData::default();
    let before = arms.get("before").unwrap_or(&empty);
    let after = arms.get("after").unwrap_or(&empty);
    let mut rows = before_after_rows(before, after, alpha, &hypotheses);
    if dep.strategy == "canary" && dep.finished > dep.started {
        rows.extend(canary_rows(session, &dep, &params, alpha, &hypotheses).await?);
    }
    let backfire = rows.iter().any(|r| r.backfire);
    let verdict = verdict(&rows, backfire);
    Ok(ImpactReport {
        deployment: dep,
        analysis_time: Utc::now(),
        baseline_start: periods.baseline_start,
        baseline_end: periods.baseline_end,
        after_start: periods.after_start,
        after_end: periods.after_end,
        baseline: periods.baseline,
        alpha,
        rows,
        notes,
        backfire,
        verdict,
    })
}

/// Whether the lake has the table `name`.
fn has_table(session: &LakeSession, name: &str) -> bool {
    session.tables.iter().any(|x| x == name)
}

/// The first and last request time of `service` in the lake (`None` when it has none).
async fn request_range(
    session: &LakeSession,
    service: &str,
) -> Result<(Option<DateTime<Utc>>, Option<DateTime<Utc>>), ImpactError> {
    let mut range = (None, None);
    for b in &REQUEST_RANGE
        .batches(session, &[("service", Param::Text(service.into()))])
        .await?
    {
        range.0 = sqlq::times(REQUEST_RANGE.path, b, "first_ts")?[0];
        range.1 = sqlq::times(REQUEST_RANGE.path, b, "last_ts")?[0];
    }
    let first = range.0.and_then(DateTime::from_timestamp_micros);
    let last = range.1.and_then(DateTime::from_timestamp_micros);
    Ok((first, last))
}

/// The two compared periods of the before/after comparison, on whole hours.
struct Periods {
    baseline_start: DateTime<Utc>,
    baseline_end: DateTime<Utc>,
    after_start: DateTime<Utc>,
    after_end: DateTime<Utc>,
    /// How the baseline was chosen.
    baseline: String,
}

impl Periods {
    /// The after period starts at the first full hour after completion and lasts `window`. The
    /// baseline is the same hours one week earlier when the lake's requests (from `first`)
    /// reach back that far and they end before the deployment started, else the `window` before
    /// the hour the deployment started in.
    fn choose(dep: &Deployment, window: Duration, first: Option<DateTime<Utc>>) -> Periods {
        let hour = Duration::hours(1);
        let after_start = dep
            .finished
            .duration_trunc(hour)
            .map(|t| if t < dep.finished { t + hour } else { t })
            .unwrap_or(dep.finished);
        let after_end = after_start + window;
        let week = Duration::days(7);
        let deploy_start = dep.started.duration_trunc(hour).unwrap_or(dep.started);
        let (baseline_start, baseline_end, baseline) = match first {
            Some(f) if f <= after_start - week && after_end - week <= deploy_start => (
                after_start - week,
                after_end - week,
                "the same hours one week earlier".to_string(),
            ),
            _ => (
                deploy_start - window,
                deploy_start,
                format!(
                    "the {} hours before the deployment started (no data a week earlier)",
                    window.num_hours()
                ),
            ),
        };
        Periods {
            baseline_start,
            baseline_end,
            after_start,
            after_end,
            baseline,
        }
    }

    /// The report's notes on the periods: a baseline cut short by the start of the data, an
    /// after period cut short by its end (`last`), a rollback, and the limits of any
    /// before/after comparison.
    fn notes(
        &self,
        dep: &Deployment,
        window: Duration,
        first: Option<DateTime<Utc>>,
        last: Option<DateTime<Utc>>,
    ) -> Vec<String> {
        let mut notes = Vec::new();
        if first.is_some_and(|f| f > self.baseline_start) {
            notes.push("the baseline period starts before the first request in the lake: it is shorter than the window".into());
        }
        if last.is_some_and(|l| l < self.after_end) {
            notes.push(format!(
                "data ends at {}: the after period is shorter than {} hours; the result is provisional",
                last.map(|l| l.format("%Y-%m-%d %H:%M UTC").to_string())
                    .unwrap_or_default(),
                window.num_hours()
            ));
        }
        if dep.outcome == "rolled_back" {
            notes.push(
                "the deployment was rolled back: the after period runs the previous version".into(),
            );
        }
        notes.push("before/after comparisons are observational: traffic, other deployments and incidents in either period also move the metrics (standard errors treat each user's requests as one cluster; anonymous requests as their own)".into());
        notes
    }

    /// The parameters of `sql/impact/*.sql` for `service` over both periods.
    fn params(&self, service: &str) -> Vec<(&'static str, Param)> {
        vec![
            ("service", Param::Text(service.into())),
            ("before_start", Param::Time(self.baseline_start)),
            ("before_end", Param::Time(self.baseline_end)),
            ("after_start", Param::Time(self.after_start)),
            ("after_end", Param::Time(self.after_end)),
        ]
    }
}

/// The hypotheses recorded for `SERVICE@VERSION` in the optimizations file.
fn hypotheses_of<'a>(
    optimizations: Option<&'a OptimizationsFile>,
    service: &str,
    version: &str,
) -> Vec<&'a Hypothesis> {
    optimizations
        .into_iter()
        .flat_map(|o| &o.optimizations)
        .filter(|o| o.deployment.as_deref() == Some(format!("{service}@{version}").as_str()))
        .flat_map(|o| &o.hypotheses)
        .collect()
}

/// The data of the before/after comparison by arm: latency samples of all versions, hourly
/// requests, and cost and conversion when the lake has `metrics` and `events` (else a note
/// says so).
async fn before_after_arms(
    session: &LakeSession,
    params: &[(&'static str, Param)],
    notes: &mut Vec<String>,
) -> Result<BTreeMap<String, ArmData>, ImpactError> {
    let mut p = params.to_vec();
    p.push(("canary_version", Param::Text(String::new())));
    let mut arms = samples(session, &p).await?;
    let users = add_hourly_requests(session, params, &mut arms).await?;
    if ["metrics", "events"].iter().all(|t| has_table(session, t)) {
        add_hourly_business(session, params, &users, &mut arms).await?;
    } else {
        notes.push("the lake lacks `metrics` or `events`: no conversion or cost per user".into());
    }
    Ok(arms)
}

/// Adds each arm's hourly requests (throughput) to `arms`; returns the users of each arm and
/// hour, which cost per user divides by.
async fn add_hourly_requests(
    session: &LakeSession,
    params: &[(&'static str, Param)],
    arms: &mut BTreeMap<String, ArmData>,
) -> Result<BTreeMap<(String, i64), f64>, ImpactError> {
    let mut users: BTreeMap<(String, i64), f64> = BTreeMap::new();
    for b in &HOURLY_REQUESTS.batches(session, params).await? {
        let arm = sqlq::strings(HOURLY_REQUESTS.path, b, "arm")?;
        let hour = sqlq::times(HOURLY_REQUESTS.path, b, "hour")?;
        let requests = sqlq::f64s(HOURLY_REQUESTS.path, b, "requests")?;
        let u = sqlq::f64s(HOURLY_REQUESTS.path, b, "users")?;
        for i in 0..b.num_rows() {
            if let (Some(a), Some(h)) = (&arm[i], hour[i]) {
                arms.entry(a.clone())
                    .or_default()
                    .hourly_requests
                    .push(requests[i]);
                users.insert((a.clone(), h), u[i]);
            }
        }
    }
    Ok(users)
}

/// Adds each arm's hourly cost per user (hours with users and cost) and its checkout and
/// purchase sessions to `arms`.
async fn add_hourly_business(
    session: &LakeSession,
    params: &[(&'static str, Param)],
    users: &BTreeMap<(String, i64), f64>,
    arms: &mut BTreeMap<String, ArmData>,
) -> Result<(), ImpactError> {
    for b in &HOURLY_BUSINESS.batches(session, params).await? {
        let arm = sqlq::strings(HOURLY_BUSINESS.path, b, "arm")?;
        let hour = sqlq::times(HOURLY_BUSINESS.path, b, "hour")?;
        let cost = sqlq::f64s(HOURLY_BUSINESS.path, b, "cost_usd")?;
        let checkout = sqlq::i64s(HOURLY_BUSINESS.path, b, "checkout_sessions")?;
        let purchase = sqlq::i64s(HOURLY_BUSINESS.path, b, "purchase_sessions")?;
        for i in 0..b.num_rows() {
            if let (Some(a), Some(h)) = (&arm[i], hour[i]) {
                let x = arms.entry(a.clone()).or_default();
                let u = users.get(&(a.clone(), h)).copied().unwrap_or(0.0);
                if u > 0.0 && cost[i] > 0.0 {
                    x.hourly_cost_per_user.push(cost[i] / u);
                }
                x.checkout_sessions += checkout[i].unwrap_or(0).max(0) as u64;
                x.purchase_sessions += purchase[i].unwrap_or(0).max(0) as u64;
            }
        }
    }
    Ok(())
}

/// A test's result with its error as text, for [`row`].
fn computed(r: Result<Comparison, crate::stats::StatsError>) -> Result<Comparison, String> {
    r.map_err(|e| e.to_string())
}

/// The before/after rows: latency quantiles (the p50 row noting a Mann–Whitney test), error
/// rate, throughput, conversion and cost per user.
fn before_after_rows(
    before: &ArmData,
    after: &ArmData,
    alpha: f64,
    hypotheses: &[&Hypothesis],
) -> Vec<ImpactRow> {
    let mut rows = Vec::new();
    for (metric, q) in [
        ("p50_latency_ms", 0.5),
        ("p95_latency_ms", 0.95),
        ("p99_latency_ms", 0.99),
    ] {
        rows.push(row(
            "before_after",
            metric,
            computed(clustered_quantile_test(
                &before.durations,
                &after.durations,
                q,
                alpha,
            )),
            hypotheses,
        ));
    }
    // The rank test as a second opinion on a shift of the whole latency distribution.
    if let (Some(p50), Ok(mw)) = (
        rows.first_mut(),
        crate::stats::rank::mann_whitney(&values(&before.durations), &values(&after.durations)),
    ) {
        if p50.note.is_empty() {
            p50.note = format!(
                "Mann–Whitney p = {:.2e}, P(after > before) = {:.3}",
                mw.p_value, mw.prob_greater
            );
        }
    }
    rows.push(row(
        "before_after",
        "error_rate",
        computed(error_rate(before, after, alpha)),
        hypotheses,
    ));
    rows.push(row(
        "before_after",
        "throughput_per_hour",
        computed(welch(
            &Moments::of(&before.hourly_requests),
            &Moments::of(&after.hourly_requests),
            alpha,
        )),
        hypotheses,
    ));
    rows.push(row(
        "before_after",
        "conversion",
        computed(two_proportion(
            before.purchase_sessions.min(before.checkout_sessions),
            before.checkout_sessions,
            after.purchase_sessions.min(after.checkout_sessions),
            after.checkout_sessions,
            alpha,
        )),
        hypotheses,
    ));
    rows.push(row(
        "before_after",
        "cost_per_user_usd",
        computed(welch(
            &Moments::of(&before.hourly_cost_per_user),
            &Moments::of(&after.hourly_cost_per_user),
            alpha,
        )),
        hypotheses,
    ));
    rows
}

/// The canary rows: the new version against the others over the canary's own minutes
/// (p50 and p95 latency, error rate). `params` are those of the before/after comparison.
async fn canary_rows(
    session: &LakeSession,
    dep: &Deployment,
    params: &[(&'static str, Param)],
    alpha: f64,
    hypotheses: &[&Hypothesis],
) -> Result<Vec<ImpactRow>, ImpactError> {
    let mut p = params.to_vec();
    for (name, value) in p.iter_mut() {
        match *name {
            "after_start" => *value = Param::Time(dep.started),
            "after_end" => *value = Param::Time(dep.finished),
            _ => {}
        }
    }
    p.push(("canary_version", Param::Text(dep.version.clone())));
    let canary = samples(session, &p).await?;
    let empty = ArmData::default();
    let base = canary.get("before").unwrap_or(&empty);
    let new = canary.get("after").unwrap_or(&empty);
    let mut rows = Vec::new();
    for (metric, q) in [("p50_latency_ms", 0.5), ("p95_latency_ms", 0.95)] {
        rows.push(row(
            "canary",
            metric,
            computed(clustered_quantile_test(
                &base.durations,
                &new.durations,
                q,
                alpha,
            )),
            hypotheses,
        ));
    }
    rows.push(row(
        "canary",
        "error_rate",
        computed(error_rate(base, new, alpha)),
        hypotheses,
    ));
    Ok(rows)
}

fn verdict(rows: &[ImpactRow], backfire: bool) -> String {
    let pct = |x: f64| format!("{:+.1}%", 100.0 * x);
    if backfire {
        let which: Vec<String> = rows
            .iter()
            .filter(|r| r.backfire)
            .map(|r| {
                format!(
                    "{} moved {} [{}, {}] against the expected {}",
                    r.metric,
                    pct(r.relative_effect),
                    pct(r.relative_ci.low),
                    pct(r.relative_ci.high),
                    r.hypothesis.clone().unwrap_or_default()
                )
            })
            .collect();
        return format!("BACKFIRE: {}; roll back and document", which.join("; "));
    }
    let held: Vec<&str> = rows
        .iter()
        .filter(|r| {
            r.hypothesis_result
                .as_deref()
                .is_some_and(|h| h.starts_with("held"))
        })
        .map(|r| r.metric)
        .collect();
    let moved: Vec<String> = rows
        .iter()
        .filter(|r| r.comparison == "before_after" && r.significant)
        .map(|r| format!("{} {}", r.metric, pct(r.relative_effect)))
        .collect();
    let mut v = if !held.is_empty() {
        format!("hypothesis held for {}", held.join(", "))
    } else if rows.iter().any(|r| r.hypothesis.is_some()) {
        "hypotheses not shown (keep measuring or accept no measurable change)".to_string()
    } else {
        "no hypothesis recorded in optimizations.toml".to_string()
    };
    if moved.is_empty() {
        v.push_str("; no metric moved significantly");
    } else {
        v.push_str(&format!("; significant changes: {}", moved.join(", ")));
    }
    v
}
