//! The Phase 8 completion assessment (`postlaunch assess`, protocol step 10): every criterion of
//! the protocol and every validation criterion the data can show, each with its evidence and a
//! verdict, and the decision — *complete: enter maintenance mode* when every one is met, else
//! *continue optimisation cycles* with what is missing. Stored in `phase8_assessment`.
//!
//! The analysis' shape: the settings (launch range, alert rules, channels, incident SLOs,
//! runbooks; [`Settings`]) → `sql/assess/` and the incident review → [`evaluate`] → an
//! [`Assessment`] → [`output`].
//!
//! Ranges: "the last 30 days" is `[at − 30 d, at)`. Comparisons with the launch baseline use the
//! launch range of the pipeline file (`[hourly.baseline]` `from`/`to`) against the recent range
//! `[max(at − 30 d, launch end), at)`, so the two never overlap. A criterion the data cannot judge
//! (a setting missing, no figures to compare) is *unknown*, and unknown is not met. Where the
//! absence is itself the answer, it is judged: no `incidents` table, no P1 (met); no
//! `monthly_review` stored, no review (not met).

pub mod output;

use std::path::PathBuf;

use chrono::{DateTime, Duration, Utc};

use crate::alert::config::AlertsFile;
use crate::alert::Severity;
use crate::incident::config::IncidentsConfig;
use crate::notify::config::NotifyConfig;
use crate::query::frame::Frame;
use crate::query::sql::{sql_file, time_range, SqlError, SqlFile};
use crate::query::{LakeSession, QueryError};
use crate::stats::two_sample::{clustered_quantile_test, two_proportion};

const LATENCY: SqlFile = sql_file!("sql/assess/latency.sql");
const CONVERSION: SqlFile = sql_file!("sql/assess/conversion.sql");
const FEEDBACK: SqlFile = sql_file!("sql/assess/feedback.sql");
const COST: SqlFile = sql_file!("sql/view/cost_per_user.sql");
const TRACKING: SqlFile = sql_file!("sql/assess/tracking.sql");
const OPTIMIZATIONS: SqlFile = sql_file!("sql/assess/optimizations.sql");
const BACKLOG: SqlFile = sql_file!("sql/assess/backlog.sql");
const MONTHLY_REVIEW: SqlFile = sql_file!("sql/assess/monthly_review.sql");

/// The protocol's thresholds.
pub mod targets {
    /// p95 latency reduction against the launch baseline.
    pub const LATENCY_REDUCTION: f64 = 0.10;
    /// Conversion increase against the launch baseline.
    pub const CONVERSION_INCREASE: f64 = 0.05;
    pub const NPS: f64 = 40.0;
    pub const APP_RATING: f64 = 4.5;
    pub const RUNBOOKS: usize = 10;
    pub const OPTIMIZATIONS_PER_MONTH: usize = 3;
    /// Share of the last 7 days' hours with hourly figures.
    pub const TRACKING_COVERAGE: f64 = 0.95;
    /// The feedback sources the protocol collects from.
    pub const FEEDBACK_SOURCES: [&str; 4] = ["in_app", "support_ticket", "app_review", "nps"];
}

/// Significance of the launch comparisons (two-sided).
pub const ALPHA: f64 = 0.05;

/// A criterion's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Met,
    NotMet,
    /// The data or settings cannot show it (counts as not met).
    Unknown,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Met => "met",
            Verdict::NotMet => "not met",
            Verdict::Unknown => "unknown",
        }
    }

    fn of(met: bool) -> Verdict {
        if met {
            Verdict::Met
        } else {
            Verdict::NotMet
        }
    }
}

/// One criterion, its evidence and verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Criterion {
    /// Stable key, e.g. `no_p1_30d`.
    pub key: &'static str,
    /// `protocol` (the completion criteria) or `validation`.
    pub group: &'static str,
    /// What is required, in words.
    pub requirement: String,
    /// The figures that decided it.
    pub evidence: String,
    /// The main figure, where there is one.
    pub value: Option<f64>,
    pub verdict: Verdict,
}

/// The whole assessment at a time.
#[derive(Debug, Clone)]
pub struct Assessment {
    pub at: DateTime<Utc>,
    pub criteria: Vec<Criterion>,
}

impl Assessment {
    /// Every criterion met.
    pub fn complete(&self) -> bool {
        self.criteria.iter().all(|c| c.verdict == Verdict::Met)
    }

    /// The decision, in the protocol's words.
    pub fn decision(&self) -> &'static str {
        if self.complete() {
            "complete: enter maintenance mode"
        } else {
            "continue optimisation cycles"
        }
    }

    /// The criteria not met (or unknown).
    pub fn missing(&self) -> Vec<&Criterion> {
        self.criteria
            .iter()
            .filter(|c| c.verdict != Verdict::Met)
            .collect()
    }
}

/// What the criteria are judged against besides the lake.
#[derive(Default)]
pub struct Settings {
    /// The launch range (`[hourly.baseline]` `from`/`to` of the pipeline file).
    pub launch: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// The baseline kind of the hourly job's regression comparison, when a pipeline file is given.
    pub baseline_kind: Option<String>,
    /// The alert rules and their notification channels (`pipelines/alerts.toml`).
    pub alerts: Option<(AlertsFile, NotifyConfig)>,
    /// Folder the rules' runbook paths are relative to.
    pub runbooks_base: Option<PathBuf>,
    /// The incident SLOs (`[incidents]` of the alerts file; defaults otherwise).
    pub incidents: IncidentsConfig,
    /// What could not be loaded, said in the criteria that needed it.
    pub notes: Vec<String>,
}

/// Errors of the assessment.
#[derive(Debug, thiserror::Error)]
pub enum AssessError {
    #[error(transparent)]
    Sql(#[from] SqlError),
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error(transparent)]
    Incident(#[from] crate::incident::IncidentError),
    #[error("writing `phase8_assessment`: {0}")]
    Lake(#[from] crate::lake::LakeError),
}

/// Evaluates every criterion at `at`.
pub async fn evaluate(
    session: &LakeSession,
    lake: &std::path::Path,
    settings: &Settings,
    at: DateTime<Utc>,
) -> Result<Assessment, AssessError> {
    let month_ago = at - Duration::days(30);
    let recent_from = match settings.launch {
        Some((_, to)) => month_ago.max(to),
        None => month_ago,
    };
    let mut c = Vec::new();
    let review = crate::incident::review(
        session,
        lake,
        &settings.incidents,
        (
            Some(month_ago.timestamp_micros()),
            Some(at.timestamp_micros()),
        ),
        at.timestamp_micros(),
        false,
    )
    .await?;
    let p1: Vec<&crate::incident::metrics::IncidentMetrics> = review
        .rows
        .iter()
        .filter(|r| r.severity == Severity::P1)
        .collect();
    c.push(no_p1(session, &p1));
    c.push(key_metrics(session, settings, recent_from, at).await?);
    let (nps, rating, sources) = feedback(session, month_ago, at).await?;
    c.push(nps);
    c.push(rating);
    c.push(cost(session, settings, recent_from, at).await?);
    c.extend(alerting(settings));
    c.push(tracking(session, settings, at).await?);
    c.push(sources);
    c.push(backlog(session, at).await?);
    c.push(optimizations(session, month_ago, at).await?);
    c.extend(p1_response(&p1, &settings.incidents));
    c.push(monthly_review(session, at).await?);
    Ok(Assessment { at, criteria: c })
}

fn day(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

fn pct(x: f64) -> String {
    format!("{:+.1} %", 100.0 * x)
}

fn unknown(key: &'static str, group: &'static str, requirement: &str, why: String) -> Criterion {
    Criterion {
        key,
        group,
        requirement: requirement.into(),
        evidence: why,
        value: None,
        verdict: Verdict::Unknown,
    }
}

/// Why there is no launch range.
fn no_launch(settings: &Settings) -> String {
    if settings.baseline_kind.is_some() {
        "the pipeline file has no launch range: set `[hourly.baseline]` `from` and `to`".into()
    } else {
        "no launch range: give --pipeline with `[hourly.baseline]` `from`/`to`".into()
    }
}

fn no_p1(session: &LakeSession, p1: &[&crate::incident::metrics::IncidentMetrics]) -> Criterion {
    let req = "performance stable: no P1 incident in the last 30 days";
    if !session.tables.iter().any(|t| t == "incidents") {
        return Criterion {
            key: "no_p1_30d",
            group: "protocol",
            requirement: req.into(),
            evidence: "no `incidents` table: no incident recorded".into(),
            value: Some(0.0),
            verdict: Verdict::Met,
        };
    }
    let ids: Vec<&str> = p1.iter().map(|r| r.incident_id.as_str()).collect();
    Criterion {
        key: "no_p1_30d",
        group: "protocol",
        requirement: req.into(),
        evidence: if ids.is_empty() {
            "no P1 incident".into()
        } else {
            format!("{} P1 incident(s): {}", ids.len(), ids.join(", "))
        },
        value: Some(ids.len() as f64),
        verdict: Verdict::of(ids.is_empty()),
    }
}

/// More than 10 % p95 latency reduction or 5 % conversion increase against the launch, each with its
/// interval: it counts when the point estimate passes the threshold and the interval excludes
/// no change (an improvement inside the noise does not count).
async fn key_metrics(
    session: &LakeSession,
    settings: &Settings,
    recent_from: DateTime<Utc>,
    at: DateTime<Utc>,
) -> Result<Criterion, AssessError> {
    let req = "key metrics improved against the launch: p95 latency −10 % or conversion +5 % (interval clear of no change)";
    let Some((lf, lt)) = settings.launch else {
        return Ok(unknown(
            "key_metrics_improved",
            "protocol",
            req,
            no_launch(settings),
        ));
    };
    if recent_from >= at {
        return Ok(unknown(
            "key_metrics_improved",
            "protocol",
            req,
            format!(
                "no time after the launch range (ends {}) before {}",
                day(lt),
                day(at)
            ),
        ));
    }
    let mut parts = Vec::new();
    let mut met = false;
    let mut value = None;
    let mut judged = 0;
    // (duration, cluster): a user's requests are one cluster, an anonymous request its own (as
    // the impact report clusters them); the clusters of both ranges share one numbering
    let mut users: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    let mut next = 0u64;
    let mut durations = |bs: Option<Vec<arrow::record_batch::RecordBatch>>| {
        bs.map(|bs| {
            let f = Frame::new(&bs);
            (0..f.rows)
                .filter_map(|i| {
                    let d = f.num("duration_ms", i)?;
                    next += 1;
                    let cluster = match f.text("user_id", i) {
                        "" => next,
                        u => *users.entry(u.to_string()).or_insert(next),
                    };
                    Some((d, cluster))
                })
                .collect::<Vec<(f64, u64)>>()
        })
    };
    let launch = LATENCY
        .batches_if_present(session, &time_range(lf, lt))
        .await?;
    let recent = LATENCY
        .batches_if_present(session, &time_range(recent_from, at))
        .await?;
    let (launch, recent) = (durations(launch), durations(recent));
    match (launch, recent) {
        (Some(a), Some(b)) if a.len() >= 2 && b.len() >= 2 => {
            if let Ok(t) = clustered_quantile_test(&a, &b, 0.95, ALPHA) {
                judged += 1;
                let ok = t.relative <= -targets::LATENCY_REDUCTION && t.relative_ci.high < 0.0;
                met |= ok;
                value = Some(t.relative);
                parts.push(format!(
                    "p95 {:.0} → {:.0} ms, {} [{}, {}]{}",
                    t.control.estimate,
                    t.treatment.estimate,
                    pct(t.relative),
                    pct(t.relative_ci.low),
                    pct(t.relative_ci.high),
                    if ok { " ✓" } else { "" }
                ));
            }
        }
        _ => parts.push("p95: no requests in one of the ranges".into()),
    }
    let conv = |from, to| async move {
        let f = CONVERSION
            .frame_if_present(session, &time_range(from, to))
            .await?;
        Ok::<_, AssessError>(f.and_then(|f| {
            (f.rows > 0).then(|| {
                (
                    f.num("purchasing_users", 0).unwrap_or(0.0) as u64,
                    f.num("active_users", 0).unwrap_or(0.0) as u64,
                )
            })
        }))
    };
    match (conv(lf, lt).await?, conv(recent_from, at).await?) {
        (Some((xa, na)), Some((xb, nb))) if na > 0 && nb > 0 => {
            if let Ok(t) = two_proportion(xa, na, xb, nb, ALPHA) {
                judged += 1;
                let ok = t.relative >= targets::CONVERSION_INCREASE && t.relative_ci.low > 0.0;
                met |= ok;
                parts.push(format!(
                    "conversion {:.2} % → {:.2} %, {} [{}, {}]{}",
                    100.0 * t.control.estimate,
                    100.0 * t.treatment.estimate,
                    pct(t.relative),
                    pct(t.relative_ci.low),
                    pct(t.relative_ci.high),
                    if ok { " ✓" } else { "" }
                ));
            }
        }
        _ => parts.push("conversion: no users in one of the ranges".into()),
    }
    Ok(Criterion {
        key: "key_metrics_improved",
        group: "protocol",
        requirement: req.into(),
        evidence: format!(
            "launch {}–{} against {}–{}: {}",
            day(lf),
            day(lt),
            day(recent_from),
            day(at),
            parts.join("; ")
        ),
        value,
        // neither figure could be compared: the data cannot show it
        verdict: if judged == 0 {
            Verdict::Unknown
        } else {
            Verdict::of(met)
        },
    })
}

/// NPS > 40 (its interval's lower bound above 40), app rating > 4.5, and feedback from every
/// source, over `[from, at)`.
async fn feedback(
    session: &LakeSession,
    from: DateTime<Utc>,
    at: DateTime<Utc>,
) -> Result<(Criterion, Criterion, Criterion), AssessError> {
    let nps_req = format!(
        "user satisfaction: NPS > {} (the interval's lower bound)",
        targets::NPS
    );
    let rating_req = format!("user satisfaction: app rating > {}", targets::APP_RATING);
    let src_req = format!(
        "feedback collected from all sources ({}) in the last 30 days",
        targets::FEEDBACK_SOURCES.join(", ")
    );
    let Some(f) = FEEDBACK
        .frame_if_present(session, &time_range(from, at))
        .await?
    else {
        let why = || "no `feedback` table".to_string();
        return Ok((
            unknown("nps", "protocol", &nps_req, why()),
            unknown("app_rating", "protocol", &rating_req, why()),
            unknown("feedback_sources", "validation", &src_req, why()),
        ));
    };
    let row = |s: &str| f.rows_where("source", s).next();
    let nps = match row("nps").map(|i| {
        (
            f.num("answers", i).unwrap_or(0.0),
            f.num("promoters", i).unwrap_or(0.0),
            f.num("detractors", i).unwrap_or(0.0),
        )
    }) {
        Some((n, p, d)) if n > 0.0 => {
            // the normal-approximation interval of sql/rollup/feedback.sql
            let (pp, pd) = (p / n, d / n);
            let score = 100.0 * (pp - pd);
            let var = (pp + pd - (pp - pd).powi(2)) / n;
            let half = crate::stats::dist::normal_critical(ALPHA) * 100.0 * var.sqrt();
            let low = score - half;
            Criterion {
                key: "nps",
                group: "protocol",
                requirement: nps_req,
                evidence: format!(
                    "NPS {score:.1} [{low:.1}, {:.1}] from {n} answers",
                    score + half
                ),
                value: Some(score),
                verdict: Verdict::of(low > targets::NPS),
            }
        }
        _ => unknown("nps", "protocol", &nps_req, "no NPS answers".into()),
    };
    let rating = match row("app_review").map(|i| {
        (
            f.num("ratings", i).unwrap_or(0.0),
            f.num("rating_sum", i).unwrap_or(0.0),
            f.num("rating_sum_sq", i).unwrap_or(0.0),
        )
    }) {
        Some((n, s, ss)) if n > 0.0 => {
            let mean = s / n;
            let sd = if n > 1.0 {
                ((ss - n * mean * mean) / (n - 1.0)).max(0.0).sqrt()
            } else {
                f64::NAN
            };
            let half = crate::stats::dist::normal_critical(ALPHA) * sd / n.sqrt();
            Criterion {
                key: "app_rating",
                group: "protocol",
                requirement: rating_req,
                evidence: format!(
                    "app rating {mean:.2} [{:.2}, {:.2}] from {n} reviews",
                    mean - half,
                    mean + half
                ),
                value: Some(mean),
                verdict: Verdict::of(mean > targets::APP_RATING),
            }
        }
        _ => unknown(
            "app_rating",
            "protocol",
            &rating_req,
            "no app reviews".into(),
        ),
    };
    let counts: Vec<(&str, f64)> = targets::FEEDBACK_SOURCES
        .iter()
        .map(|s| (*s, row(s).and_then(|i| f.num("items", i)).unwrap_or(0.0)))
        .collect();
    let silent: Vec<&str> = counts
        .iter()
        .filter(|(_, n)| *n < 1.0)
        .map(|(s, _)| *s)
        .collect();
    let sources = Criterion {
        key: "feedback_sources",
        group: "validation",
        requirement: src_req,
        evidence: counts
            .iter()
            .map(|(s, n)| format!("{s} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
            + &if silent.is_empty() {
                String::new()
            } else {
                format!("; nothing from {}", silent.join(", "))
            },
        value: Some((counts.len() - silent.len()) as f64),
        verdict: Verdict::of(silent.is_empty()),
    };
    Ok((nps, rating, sources))
}

/// Infrastructure cost per active user: the daily figures of the launch range against the
/// recent range (Welch's t-test of the daily values); decreased when the recent mean is lower
/// and the interval of the difference is below zero.
async fn cost(
    session: &LakeSession,
    settings: &Settings,
    recent_from: DateTime<Utc>,
    at: DateTime<Utc>,
) -> Result<Criterion, AssessError> {
    let req = "cost optimised: infrastructure cost per active user decreased against the launch";
    let Some((lf, lt)) = settings.launch else {
        return Ok(unknown(
            "cost_per_user",
            "protocol",
            req,
            no_launch(settings),
        ));
    };
    let daily = |from, to| async move {
        let f = COST
            .frame_if_present(session, &time_range(from, to))
            .await?;
        Ok::<_, AssessError>(f.map(|f| {
            (0..f.rows)
                .filter_map(|i| f.num("cost_per_user_usd", i))
                .collect::<Vec<f64>>()
        }))
    };
    let (Some(a), Some(b)) = (daily(lf, lt).await?, daily(recent_from, at).await?) else {
        return Ok(unknown(
            "cost_per_user",
            "protocol",
            req,
            "no `infra_cost_usd` metrics or no events".into(),
        ));
    };
    let m = |x: &[f64]| crate::stats::moments::Moments::of(x);
    match crate::stats::two_sample::welch(&m(&a), &m(&b), ALPHA) {
        Ok(t) => Ok(Criterion {
            key: "cost_per_user",
            group: "protocol",
            requirement: req.into(),
            evidence: format!(
                "${:.4} → ${:.4} per user per day ({} and {} days), {} [{}, {}]",
                t.control.estimate,
                t.treatment.estimate,
                a.len(),
                b.len(),
                pct(t.relative),
                pct(t.relative_ci.low),
                pct(t.relative_ci.high)
            ),
            value: Some(t.relative),
            verdict: Verdict::of(t.ci.high < 0.0),
        }),
        Err(e) => Ok(unknown("cost_per_user", "protocol", req, e.to_string())),
    }
}

/// Alert rules for P1–P4, each severity heard by a channel; runbooks for 10 scenarios.
fn alerting(settings: &Settings) -> Vec<Criterion> {
    let req = "alert rules for P1–P4, each severity delivered to a channel";
    let rb_req = format!(
        "runbooks for at least {} alert scenarios",
        targets::RUNBOOKS
    );
    let Some((rules, notify)) = &settings.alerts else {
        let why =
            "no alert rules: give --rules pipelines/alerts.toml, or a pipeline file with `alerts`"
                .to_string();
        return vec![
            unknown("alert_rules", "validation", req, why.clone()),
            unknown("runbooks", "validation", &rb_req, why),
        ];
    };
    let mut by_severity = Vec::new();
    let mut gaps = Vec::new();
    for s in [Severity::P1, Severity::P2, Severity::P3, Severity::P4] {
        // a rule alerts at each of its bands' severities; anomaly and trend rules at P4
        let n = rules
            .stream_rules()
            .iter()
            .filter(|r| r.bands.iter().any(|b| b.severity == s))
            .count()
            + if s == Severity::P4 {
                rules.anomalies.len() + rules.trends.len()
            } else {
                0
            };
        let channels: Vec<&str> = notify.route(s).iter().map(|c| c.name()).collect();
        by_severity.push(format!(
            "{s}: {n} rule(s) → {}",
            if channels.is_empty() {
                "no channel".to_string()
            } else {
                channels.join(", ")
            }
        ));
        if n == 0 || channels.is_empty() {
            gaps.push(s.to_string());
        }
    }
    let base = settings.runbooks_base.clone().unwrap_or_default();
    let mut runbooks: Vec<PathBuf> = rules
        .rules
        .iter()
        .filter_map(|r| r.runbook.clone())
        .chain(rules.slos.iter().filter_map(|r| r.runbook.clone()))
        .chain(rules.anomalies.iter().filter_map(|r| r.runbook.clone()))
        .chain(rules.trends.iter().filter_map(|r| r.runbook.clone()))
        .filter(|p| base.join(p).is_file())
        .collect();
    runbooks.sort();
    runbooks.dedup();
    vec![
        Criterion {
            key: "alert_rules",
            group: "validation",
            requirement: req.into(),
            evidence: by_severity.join("; "),
            value: Some((4 - gaps.len()) as f64),
            verdict: Verdict::of(gaps.is_empty()),
        },
        Criterion {
            key: "runbooks",
            group: "validation",
            requirement: rb_req,
            evidence: format!("{} runbook files the rules link to exist", runbooks.len()),
            value: Some(runbooks.len() as f64),
            verdict: Verdict::of(runbooks.len() >= targets::RUNBOOKS),
        },
    ]
}

/// Hourly figures for at least 95 % of the last 7 days' hours, and a baseline comparison
/// configured (the pipeline file's `[hourly.baseline]`).
async fn tracking(
    session: &LakeSession,
    settings: &Settings,
    at: DateTime<Utc>,
) -> Result<Criterion, AssessError> {
    let req =
        "hourly tracking with a baseline comparison (figures for ≥ 95 % of the last 7 days' hours)";
    let from = at - Duration::days(7);
    let Some(f) = TRACKING
        .frame_if_present(session, &time_range(from, at))
        .await?
    else {
        return Ok(unknown(
            "hourly_tracking",
            "validation",
            req,
            "no `hourly_service_metrics`: run `postlaunch hourly` (or `postlaunch run`)".into(),
        ));
    };
    let hours = f.num("hours", 0).unwrap_or(0.0);
    let share = hours / (7.0 * 24.0);
    let baseline = settings.baseline_kind.clone();
    Ok(Criterion {
        key: "hourly_tracking",
        group: "validation",
        requirement: req.into(),
        evidence: format!(
            "{hours} of 168 hours ({:.0} %) before {}; baseline: {}",
            100.0 * share,
            day(at),
            baseline.as_deref().unwrap_or("unknown (give --pipeline)")
        ),
        value: Some(share),
        verdict: if baseline.is_none() {
            Verdict::Unknown
        } else {
            Verdict::of(share >= targets::TRACKING_COVERAGE)
        },
    })
}

/// The backlog ranked for a period that started in the 14 days before `at`.
async fn backlog(session: &LakeSession, at: DateTime<Utc>) -> Result<Criterion, AssessError> {
    let req = "optimisation backlog prioritised (ranked for a period starting in the last 14 days)";
    let no: [(&str, crate::query::sql::Param); 0] = [];
    let Some(f) = BACKLOG.frame_if_present(session, &no).await? else {
        return Ok(unknown(
            "backlog_prioritised",
            "validation",
            req,
            "no `optimization_backlog`: run `postlaunch backlog`".into(),
        ));
    };
    let latest = f.time("latest", 0);
    let ok = latest.is_some_and(|t| {
        t >= (at - Duration::days(14)).timestamp_micros() && t < at.timestamp_micros()
    });
    Ok(Criterion {
        key: "backlog_prioritised",
        group: "validation",
        requirement: req.into(),
        evidence: match latest {
            Some(t) => format!(
                "latest ranking for the period starting {} ({} candidates stored)",
                day(DateTime::from_timestamp_micros(t).unwrap_or_default()),
                f.num("candidates", 0).unwrap_or(0.0)
            ),
            None => "no ranking stored".into(),
        },
        value: f.num("candidates", 0),
        verdict: Verdict::of(ok),
    })
}

/// At least 3 optimisations measured (48-hour impact with a hypothesis) in the last 30 days.
async fn optimizations(
    session: &LakeSession,
    from: DateTime<Utc>,
    at: DateTime<Utc>,
) -> Result<Criterion, AssessError> {
    let req = format!(
        "at least {} optimisations implemented and their impact measured in the last 30 days",
        targets::OPTIMIZATIONS_PER_MONTH
    );
    let Some(f) = OPTIMIZATIONS
        .frame_if_present(session, &time_range(from, at))
        .await?
    else {
        return Ok(unknown(
            "optimizations_measured",
            "validation",
            &req,
            "no `deployment_impact`: run `postlaunch impact --deployment SERVICE@VERSION --optimizations pipelines/optimizations.toml`".into(),
        ));
    };
    let names: Vec<String> = (0..f.rows)
        .map(|i| {
            format!(
                "{}{}",
                f.text("deployment", i),
                if f.num("backfired", i).unwrap_or(0.0) > 0.0 {
                    " (backfired)"
                } else {
                    ""
                }
            )
        })
        .collect();
    Ok(Criterion {
        key: "optimizations_measured",
        group: "validation",
        requirement: req,
        evidence: format!(
            "{} measured: {}",
            names.len(),
            if names.is_empty() {
                "none".into()
            } else {
                names.join(", ")
            }
        ),
        value: Some(names.len() as f64),
        verdict: Verdict::of(names.len() >= targets::OPTIMIZATIONS_PER_MONTH),
    })
}

/// P1 response p95 < 15 min and a post-mortem within 24 h of every P1, over the last 30 days'
/// P1 incidents (the incident SLOs' roll-ups restricted to P1). No P1: met, and said.
fn p1_response(
    p1: &[&crate::incident::metrics::IncidentMetrics],
    cfg: &IncidentsConfig,
) -> Vec<Criterion> {
    let mut only_p1 = cfg.clone();
    only_p1.slo.severities = vec![Severity::P1];
    let rows: Vec<crate::incident::metrics::IncidentMetrics> =
        p1.iter().map(|r| (*r).clone()).collect();
    let rollups = crate::incident::metrics::rollups(&rows, &only_p1);
    let get = |slo: &str| rollups.iter().find(|r| r.slo == slo);
    let span = crate::incident::metrics::span;
    let mk = |key: &'static str, slo: &str, req: String| {
        let r = get(slo);
        let (evidence, verdict) = match r {
            _ if p1.is_empty() => (
                "no P1 incident in the last 30 days".to_string(),
                Verdict::Met,
            ),
            Some(r) if r.met.is_some() => (
                format!(
                    "{} of {} P1 measured, {} within; {}",
                    r.measured,
                    r.incidents,
                    r.within,
                    r.value_s
                        .map(|v| format!("figure {}", span(v)))
                        .unwrap_or_default()
                ),
                Verdict::of(r.met == Some(true)),
            ),
            Some(r) => (
                format!("{} P1, none measured yet", r.incidents),
                Verdict::Unknown,
            ),
            None => ("no roll-up".into(), Verdict::Unknown),
        };
        Criterion {
            key,
            group: "validation",
            requirement: req,
            evidence,
            value: r.and_then(|r| r.value_s),
            verdict,
        }
    };
    vec![
        mk(
            "p1_response_p95",
            "response",
            format!(
                "P1 response p{} < {}",
                cfg.slo.response_quantile * 100.0,
                span(cfg.slo.response.as_secs_f64())
            ),
        ),
        mk(
            "p1_postmortem",
            "postmortem",
            format!(
                "a post-mortem within {} of every P1",
                span(cfg.slo.postmortem.as_secs_f64())
            ),
        ),
    ]
}

/// A monthly review whose 30 days ended in the 31 days before `at`.
async fn monthly_review(
    session: &LakeSession,
    at: DateTime<Utc>,
) -> Result<Criterion, AssessError> {
    let req = "monthly review produced and stored (`postlaunch trends --monthly`)";
    let no: [(&str, crate::query::sql::Param); 0] = [];
    let Some(f) = MONTHLY_REVIEW.frame_if_present(session, &no).await? else {
        return Ok(Criterion {
            key: "monthly_review",
            group: "validation",
            requirement: req.into(),
            evidence: "no `monthly_review` stored".into(),
            value: None,
            verdict: Verdict::NotMet,
        });
    };
    let end = f
        .time("latest", 0)
        .map(|t| t + Duration::days(30).num_microseconds().unwrap_or(0));
    let ok = end.is_some_and(|e| {
        e >= (at - Duration::days(31)).timestamp_micros() && e <= at.timestamp_micros() + 1
    });
    Ok(Criterion {
        key: "monthly_review",
        group: "validation",
        requirement: req.into(),
        evidence: match end {
            Some(e) => format!(
                "latest review of the 30 days to {}",
                day(DateTime::from_timestamp_micros(e).unwrap_or_default())
            ),
            None => "no review stored".into(),
        },
        value: None,
        verdict: Verdict::of(ok),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn criterion(key: &'static str, verdict: Verdict) -> Criterion {
        Criterion {
            key,
            group: "protocol",
            requirement: key.into(),
            evidence: String::new(),
            value: None,
            verdict,
        }
    }

    #[test]
    fn complete_only_when_every_criterion_is_met_and_unknown_is_missing() {
        let mut a = Assessment {
            at: Utc::now(),
            criteria: vec![criterion("a", Verdict::Met), criterion("b", Verdict::Met)],
        };
        assert!(a.complete());
        assert_eq!(a.decision(), "complete: enter maintenance mode");
        a.criteria.push(criterion("c", Verdict::Unknown));
        assert!(!a.complete());
        assert_eq!(a.decision(), "continue optimisation cycles");
        let missing: Vec<&str> = a.missing().iter().map(|c| c.key).collect();
        assert_eq!(missing, ["c"]);
    }
}
