//! The RICE backlog (`postlaunch backlog`): every candidate optimisation of a period — the
//! performance, reliability, user-experience and cost problems that `sql/backlog/` finds, and
//! the stored `opportunities` (funnel drop-offs, ticket categories, regressions, slow endpoints)
//! — ranked by RICE = Reach × Impact × Confidence / Effort, and stored in
//! `optimization_backlog` (one partition per period) with every factor and where it came from.
//!
//! The analysis' shape: the period and `pipelines/backlog.toml` ([`config`]) → the SQL files
//! and the stored opportunities → [`rice`] (impact and confidence rules, stable ids) → a ranked
//! [`Backlog`] → [`output`]. [`github`] publishes the top of it as GitHub issues.
//!
//! Reach is measured per period and stated per month: × 30 / the period's days (an upper bound
//! for users, as some come back every week). Each candidate's `query` reproduces its figures
//! with `postlaunch sql`.

pub mod config;
pub mod github;
pub mod markdown;
pub mod output;
pub mod rice;

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, Utc};

use crate::query::frame::Frame;
use crate::query::sql::{quote, sql_file, Param, SqlError, SqlFile};
use crate::query::{LakeSession, QueryError};
use config::BacklogFile;

/// The candidate queries; each is skipped (and named) when the lake lacks one of its tables.
pub const CANDIDATES: &[SqlFile] = &[
    sql_file!("sql/backlog/endpoints.sql"),
    sql_file!("sql/backlog/queries.sql"),
    sql_file!("sql/backlog/cache.sql"),
    sql_file!("sql/backlog/errors.sql"),
    sql_file!("sql/backlog/alerts.sql"),
    sql_file!("sql/backlog/actions.sql"),
    sql_file!("sql/backlog/web_vitals.sql"),
    sql_file!("sql/backlog/abandonment.sql"),
    sql_file!("sql/backlog/feedback.sql"),
    sql_file!("sql/backlog/cost.sql"),
];

/// A period the backlog is computed for: an ISO week (`2026-W46`) or a month (`2026-11`).
#[derive(Debug, Clone, PartialEq)]
pub struct Period {
    pub name: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl Period {
    /// Parses `2026-W46` or `2026-11`.
    pub fn parse(s: &str) -> Result<Period, String> {
        if s.contains("-W") {
            let from = crate::trends::parse_week(s)?;
            return Ok(Period::week(from));
        }
        let (from, to) = crate::trends::parse_month(s).map_err(|_| {
            format!("`{s}` is not a period: expected an ISO week (2026-W46) or a month (2026-11)")
        })?;
        Ok(Period {
            name: from.format("%Y-%m").to_string(),
            from,
            to,
        })
    }

    /// The ISO week starting on `monday`.
    pub fn week(monday: DateTime<Utc>) -> Period {
        Period {
            name: crate::trends::week_name(monday),
            from: monday,
            to: monday + Duration::days(7),
        }
    }

    /// The period just before, of the same kind.
    pub fn previous(&self) -> Period {
        if self.name.contains("-W") {
            return Period::week(self.from - Duration::days(7));
        }
        let before = self.from - Duration::days(1);
        Period::parse(&format!("{}-{:02}", before.year(), before.month()))
            .expect("a month built from a date parses")
    }

    pub fn days(&self) -> f64 {
        (self.to - self.from).num_seconds() as f64 / 86_400.0
    }

    /// The parameters of the candidate queries.
    fn params(&self, cfg: &BacklogFile) -> Vec<(&'static str, Param)> {
        let day = |t: DateTime<Utc>| Param::Text(t.format("%Y-%m-%d").to_string());
        let prev = self.previous();
        let t = &cfg.targets;
        vec![
            ("from", Param::Time(self.from)),
            ("to", Param::Time(self.to)),
            ("date_from", day(self.from)),
            ("date_to", day(self.to - Duration::microseconds(1))),
            ("prev_from", Param::Time(prev.from)),
            ("prev_date_from", day(prev.from)),
            ("latency_target_ms", Param::Float(t.latency_p95_ms)),
            ("query_target_ms", Param::Float(t.query_p95_ms)),
            ("cache_target", Param::Float(t.cache_hit_ratio)),
            ("idle_utilization", Param::Float(t.idle_utilization)),
        ]
    }
}

/// One ranked candidate, with every factor and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Stable over periods: [`rice::id`] of kind and subject.
    pub id: String,
    pub rank: usize,
    /// Its rank in the period before (`None`: new).
    pub previous_rank: Option<usize>,
    pub category: String,
    pub kind: String,
    pub subject: String,
    /// The evidence in words (figures of the period).
    pub detail: String,
    /// What found it (SQL files, `opportunities`, `hourly_regressions`).
    pub sources: Vec<String>,
    /// Users (or pages, requests) per month.
    pub reach: f64,
    pub reach_unit: String,
    pub reach_source: String,
    /// What the impact rule was applied to (the SQL file's `measure`).
    pub measure: f64,
    pub impact: f64,
    pub impact_source: String,
    pub confidence: f64,
    pub confidence_source: String,
    pub effort: f64,
    pub effort_source: String,
    pub rice: f64,
    /// The factors `pipelines/backlog.toml` set by hand (`reach`, `impact`, …).
    pub overridden: Vec<String>,
    /// The override's note.
    pub note: Option<String>,
    /// SQL that reproduces the figures (`postlaunch sql`).
    pub query: String,
}

/// A period's ranked candidates.
#[derive(Debug, Clone)]
pub struct Backlog {
    pub period: Period,
    pub candidates: Vec<Candidate>,
    /// Queries skipped because a table is missing, with the reason.
    pub skipped: Vec<String>,
}

/// Errors of computing and storing the backlog.
#[derive(Debug, thiserror::Error)]
pub enum BacklogError {
    #[error(transparent)]
    Sql(#[from] SqlError),
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error("writing `optimization_backlog`: {0}")]
    Lake(#[from] crate::lake::LakeError),
    /// Nothing to rank: what is missing.
    #[error("{0}")]
    Unanswerable(String),
}

/// What a source row says before the factors.
struct Found {
    kind: String,
    subject: String,
    detail: String,
    reach: f64,
    unit: String,
    measure: f64,
    samples: i64,
    p_value: Option<f64>,
    source: String,
    query: String,
}

/// The backlog of `period`: every candidate found, ranked by RICE. `store` writes it to
/// `optimization_backlog` (the period's partition is replaced).
pub async fn compute(
    session: &LakeSession,
    cfg: &BacklogFile,
    period: &Period,
) -> Result<Backlog, BacklogError> {
    let params = period.params(cfg);
    let mut skipped = Vec::new();
    let mut found = Vec::new();
    let files = futures::future::join_all(
        CANDIDATES
            .iter()
            .map(|q| q.frame_if_present(session, &params)),
    )
    .await;
    for (q, frame) in CANDIDATES.iter().zip(files) {
        let Some(f) = frame? else {
            if let Some(why) = q.missing_table(&session.tables) {
                skipped.push(why.to_string());
            }
            continue;
        };
        let sql = strip_comments(&q.render(&params)?);
        for i in 0..f.rows {
            let (kind, subject) = (f.text("kind", i), f.text("subject", i));
            found.push(Found {
                kind: kind.into(),
                subject: subject.into(),
                detail: f.text("detail", i).into(),
                reach: f.num("reach", i).unwrap_or(0.0),
                unit: f.text("reach_unit", i).into(),
                measure: f.num("measure", i).unwrap_or(0.0),
                samples: f.num("samples", i).unwrap_or(0.0) as i64,
                p_value: change_p_value(&f, i, cfg.confidence.alpha),
                source: q.path.into(),
                query: format!(
                    "SELECT * FROM (\n{sql}\n) WHERE kind = {} AND subject = {}",
                    quote(kind),
                    quote(subject)
                ),
            });
        }
    }
    found.extend(
        stored_opportunities(session, period, cfg.targets.latency_p95_ms, &mut skipped).await?,
    );
    // every source skipped: nothing could be looked for
    if found.is_empty() && skipped.len() == CANDIDATES.len() + 1 {
        return Err(BacklogError::Unanswerable(format!(
            "no candidate could be looked for: {}",
            skipped.join("; ")
        )));
    }
    let mut candidates = rank(cfg, period, merge(found));
    let before = previous_ranks(session, &period.previous()).await?;
    for c in &mut candidates {
        c.previous_rank = before.get(&c.id).copied();
    }
    Ok(Backlog {
        period: period.clone(),
        candidates,
        skipped,
    })
}

/// Stores `backlog` in `optimization_backlog`, replacing its period.
pub fn store(lake: &std::path::Path, backlog: &Backlog) -> Result<(), BacklogError> {
    let (schema, batch) = output::to_batch(backlog);
    crate::trends::output::store(lake, output::TABLE, backlog.period.from, &schema, &batch)?;
    Ok(())
}

/// The two-proportion test's p-value of this period's share against the period before, for a
/// file that gives both counts (`baseline_count`, `baseline_samples`).
fn change_p_value(f: &Frame, i: usize, alpha: f64) -> Option<f64> {
    let (bx, bn) = (f.num("baseline_count", i)?, f.num("baseline_samples", i)?);
    let (share, n) = (f.num("measure", i)?, f.num("samples", i)?);
    if n < 1.0 || bn < 1.0 {
        return None;
    }
    let x = (share * n).round();
    crate::stats::two_sample::two_proportion(bx as u64, bn as u64, x as u64, n as u64, alpha)
        .ok()
        .map(|c| c.p_value)
}

/// A rendered SQL file without its comment lines (a query to paste).
fn strip_comments(sql: &str) -> String {
    sql.lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The `opportunities` stored for the period by `postlaunch trends` (funnel drop-offs, ticket
/// categories, regressions, slow endpoints — those at or under the latency target are left out:
/// not a problem by the backlog's definition).
async fn stored_opportunities(
    session: &LakeSession,
    period: &Period,
    latency_target_ms: f64,
    skipped: &mut Vec<String>,
) -> Result<Vec<Found>, BacklogError> {
    let table = crate::opportunities::output::TABLE;
    if !session.tables.iter().any(|t| t == table) {
        skipped.push(format!(
            "the stored `{table}` (run `postlaunch trends --week W --funnels pipelines/funnels.toml` for the period)"
        ));
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT kind, subject, detail, reach, reach_unit, value FROM {table} \
         WHERE period_start >= {} AND period_start < {} ORDER BY kind, subject",
        Param::Time(period.from).render(),
        Param::Time(period.to).render()
    );
    let (_, batches) = session.query(&sql).await?;
    let f = Frame::new(&batches);
    let mut out = Vec::new();
    for i in 0..f.rows {
        let (kind, subject) = (f.text("kind", i), f.text("subject", i));
        let reach = f.num("reach", i).unwrap_or(0.0);
        if kind == "slow_endpoint" && f.num("value", i).unwrap_or(0.0) <= latency_target_ms {
            continue;
        }
        out.push(Found {
            kind: kind.into(),
            subject: subject.into(),
            detail: f.text("detail", i).into(),
            reach,
            unit: f.text("reach_unit", i).into(),
            measure: f.num("value", i).unwrap_or(0.0),
            samples: reach as i64,
            p_value: None,
            source: table.into(),
            query: format!(
                "SELECT * FROM {table} WHERE period_start >= {} AND period_start < {} AND kind = {} AND subject = {}",
                Param::Time(period.from).render(),
                Param::Time(period.to).render(),
                quote(kind),
                quote(subject)
            ),
        });
    }
    Ok(out)
}

/// One entry per id: the first source's figures, every source named. A regression of an
/// endpoint also counts as a source of that endpoint's `slow_endpoint`.
fn merge(found: Vec<Found>) -> Vec<(Found, Vec<String>)> {
    let mut out: Vec<(Found, Vec<String>)> = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    let regressions: Vec<String> = found
        .iter()
        .filter(|f| f.kind == "regression")
        .map(|f| f.subject.clone())
        .collect();
    for f in found {
        let id = rice::id(&f.kind, &f.subject);
        if let Some(&i) = at.get(&id) {
            if !out[i].1.contains(&f.source) {
                out[i].1.push(f.source);
            }
            continue;
        }
        let mut sources = vec![f.source.clone()];
        if f.kind == "slow_endpoint"
            && regressions.iter().any(|r| {
                r.strip_prefix(f.subject.as_str())
                    .is_some_and(|m| m.starts_with(' '))
            })
        {
            sources.push("hourly_regressions".into());
        }
        at.insert(id, out.len());
        out.push((f, sources));
    }
    out
}

/// The factors of every candidate, overrides applied, sorted by RICE (then id) and ranked.
fn rank(cfg: &BacklogFile, period: &Period, found: Vec<(Found, Vec<String>)>) -> Vec<Candidate> {
    let per_month = 30.0 / period.days();
    let mut out: Vec<Candidate> = found
        .into_iter()
        .map(|(f, sources)| {
            let id = rice::id(&f.kind, &f.subject);
            // a slow endpoint from `opportunities` carries its p95 in ms; ours the ratio
            let measure =
                if f.kind == "slow_endpoint" && f.source == crate::opportunities::output::TABLE {
                    f.measure / cfg.targets.latency_p95_ms
                } else {
                    f.measure
                };
            let (impact, impact_source) = rice::impact(&f.kind, measure);
            let evidence = rice::Evidence {
                samples: f.samples,
                sources: sources.len(),
                p_value: f.p_value,
            };
            let (confidence, confidence_source) = rice::confidence(evidence, &cfg.confidence);
            let (effort, effort_source) = cfg.effort_of(&f.kind);
            let mut c = Candidate {
                id: id.clone(),
                rank: 0,
                previous_rank: None,
                category: rice::category(&f.kind).into(),
                kind: f.kind,
                subject: f.subject,
                detail: f.detail,
                reach: f.reach * per_month,
                reach_source: format!(
                    "{} {} in {} × 30/{}",
                    f.reach,
                    f.unit,
                    period.name,
                    period.days()
                ),
                reach_unit: format!("{} per month", f.unit),
                sources,
                measure,
                impact,
                impact_source,
                confidence,
                confidence_source,
                effort,
                effort_source,
                rice: 0.0,
                overridden: Vec::new(),
                note: None,
                query: f.query,
            };
            if let Some(o) = cfg.candidates.iter().find(|o| o.id == id) {
                let mut over = Vec::new();
                over.extend(apply("reach", o.reach, &mut c.reach, &mut c.reach_source));
                over.extend(apply(
                    "impact",
                    o.impact,
                    &mut c.impact,
                    &mut c.impact_source,
                ));
                over.extend(apply(
                    "confidence",
                    o.confidence,
                    &mut c.confidence,
                    &mut c.confidence_source,
                ));
                over.extend(apply(
                    "effort",
                    o.effort,
                    &mut c.effort,
                    &mut c.effort_source,
                ));
                c.overridden = over;
                c.note = o.note.clone();
            }
            c.rice = rice::score(c.reach, c.impact, c.confidence, c.effort);
            c
        })
        .collect();
    out.sort_by(|a, b| b.rice.total_cmp(&a.rice).then_with(|| a.id.cmp(&b.id)));
    for (i, c) in out.iter_mut().enumerate() {
        c.rank = i + 1;
    }
    out
}

/// Sets an overridden factor and its source; the factor's name when it was set.
fn apply(name: &str, value: Option<f64>, field: &mut f64, source: &mut String) -> Option<String> {
    let v = value?;
    *field = v;
    *source = "pipelines/backlog.toml [[candidate]]".into();
    Some(name.to_string())
}

/// Each id's rank in the stored backlog of `period` (empty when there is none).
async fn previous_ranks(
    session: &LakeSession,
    period: &Period,
) -> Result<HashMap<String, usize>, BacklogError> {
    if !session.tables.iter().any(|t| t == output::TABLE) {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "SELECT id, rank FROM {} WHERE period_start = {}",
        output::TABLE,
        Param::Time(period.from).render()
    );
    let (_, batches) = session.query(&sql).await?;
    let f = Frame::new(&batches);
    Ok((0..f.rows)
        .map(|i| {
            (
                f.text("id", i).to_string(),
                f.num("rank", i).unwrap_or(0.0) as usize,
            )
        })
        .collect())
}

/// The latest ISO week with hourly service figures, if any.
pub async fn latest_period(session: &LakeSession) -> Result<Option<Period>, BacklogError> {
    Ok(crate::trends::latest_week(session)
        .await
        .map_err(|e| BacklogError::Unanswerable(e.to_string()))?
        .map(Period::week))
}
