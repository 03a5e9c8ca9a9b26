//! Trends (`postlaunch trends`): every key metric of one period against another — both values,
//! the absolute and relative change, and for rates a two-proportion z-test p-value, so a change
//! can be told from noise. `weekly_trends`: an ISO week against the week before (whole weeks,
//! Monday to Monday, so the same hours and days of the week are compared). `monthly_review`: the
//! last 30 days against the launch range.
//!
//! The analysis' shape, as every analysis: the periods (the week, or the pipeline file's launch
//! range) → [`query`] (`sql/trends/` over the hourly tables, merged sketches for percentiles; the
//! funnel scan for conversions) → [`compare_periods`] and [`review`] → [`output`]
//! (`weekly_trends`/`monthly_review`, and the period's [`crate::opportunities`]).

pub mod output;
pub mod query;

use std::path::Path;

use chrono::{DateTime, Datelike, TimeZone, Utc};

use crate::config::pipeline::HourlyConfig;
use crate::funnel::config::Funnel;
use crate::funnel::FunnelError;
use crate::lake::LakeError;
use crate::opportunities::{self, Opportunity};
use crate::query::sql::{Param, SqlError};
use crate::query::{LakeSession, QueryError};
use crate::stats::two_sample::two_proportion;

/// One metric of one entity, this week against last week.
#[derive(Debug, Clone, PartialEq)]
pub struct Trend {
    pub metric: String,
    pub entity: String,
    pub this_week: f64,
    pub last_week: f64,
    pub abs_change: f64,
    /// `None` when last week was 0.
    pub rel_change: Option<f64>,
    /// Two-sided two-proportion z-test p-value (rates only).
    pub p_value: Option<f64>,
}

/// Parses `2026-W48` into the Monday 00:00 UTC starting that ISO week.
pub fn parse_week(s: &str) -> Result<DateTime<Utc>, String> {
    let bad = || format!("`{s}` is not an ISO week: expected e.g. 2026-W48");
    let (y, w) = s.split_once("-W").ok_or_else(bad)?;
    let (y, w): (i32, u32) = (y.parse().map_err(|_| bad())?, w.parse().map_err(|_| bad())?);
    let monday = chrono::NaiveDate::from_isoywd_opt(y, w, chrono::Weekday::Mon).ok_or_else(bad)?;
    Ok(Utc.from_utc_datetime(&monday.and_hms_opt(0, 0, 0).ok_or_else(bad)?))
}

/// Parses `2026-11` into the first instant of the month and of the next.
pub fn parse_month(s: &str) -> Result<(DateTime<Utc>, DateTime<Utc>), String> {
    let bad = || format!("`{s}` is not a month: expected e.g. 2026-11");
    let (y, m) = s.split_once('-').ok_or_else(bad)?;
    let (y, m): (i32, u32) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    let from = Utc
        .with_ymd_and_hms(y, m, 1, 0, 0, 0)
        .single()
        .ok_or_else(bad)?;
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    let to = Utc
        .with_ymd_and_hms(ny, nm, 1, 0, 0, 0)
        .single()
        .ok_or_else(bad)?;
    Ok((from, to))
}

/// The ISO week name of a Monday.
pub fn week_name(monday: DateTime<Utc>) -> String {
    let w = monday.iso_week();
    format!("{}-W{:02}", w.year(), w.week())
}

/// Two periods to compare, each `[from, to)`.
#[derive(Debug, Clone, Copy)]
pub struct Periods {
    pub this_from: DateTime<Utc>,
    pub this_to: DateTime<Utc>,
    pub last_from: DateTime<Utc>,
    pub last_to: DateTime<Utc>,
}

impl Periods {
    /// The ISO week starting `monday` against the week before.
    pub fn week(monday: DateTime<Utc>) -> Periods {
        let week = chrono::Duration::weeks(1);
        Periods {
            this_from: monday,
            this_to: monday + week,
            last_from: monday - week,
            last_to: monday,
        }
    }
}

/// Each funnel's overall conversion (users reaching the last step of those entering) in both
/// periods, as rate rows with a two-proportion p-value. Entries of a period count; their
/// conversion window may run past its end, as in `postlaunch funnel`, and a funnel whose window
/// is still open at `at` is marked `(incomplete)`.
pub async fn funnel_trends(
    session: &LakeSession,
    funnels: &[crate::funnel::config::Funnel],
    periods: Periods,
    at: DateTime<Utc>,
) -> Result<Vec<Trend>, crate::funnel::FunnelError> {
    use crate::funnel::{compute, Period};
    let at = at.timestamp_micros();
    let overall = |rows: &[crate::funnel::StepRow]| -> Option<(u64, u64)> {
        let first = rows
            .iter()
            .filter(|r| r.breakdown.is_none())
            .min_by_key(|r| r.step)?;
        let last = rows
            .iter()
            .filter(|r| r.breakdown.is_none())
            .max_by_key(|r| r.step)?;
        Some((last.users, first.users))
    };
    let us = |t: DateTime<Utc>| t.timestamp_micros();
    let mut out = Vec::new();
    for f in funnels {
        let this = compute(
            session,
            f,
            None,
            Period {
                from: us(periods.this_from),
                to: us(periods.this_to),
            },
            at,
        )
        .await?;
        let last = compute(
            session,
            f,
            None,
            Period {
                from: us(periods.last_from),
                to: us(periods.last_to),
            },
            at,
        )
        .await?;
        let (Some((xs, ns)), Some((xl, nl))) = (overall(&this.rows), overall(&last.rows)) else {
            continue;
        };
        if ns == 0 || nl == 0 {
            continue;
        }
        let (t, l) = (xs as f64 / ns as f64, xl as f64 / nl as f64);
        out.push(Trend {
            metric: "funnel_conversion".into(),
            // Entries near the end of the data have not had their whole window yet.
            entity: if this.incomplete || last.incomplete {
                format!("{} (incomplete)", f.name)
            } else {
                f.name.clone()
            },
            this_week: t,
            last_week: l,
            abs_change: t - l,
            rel_change: (l != 0.0).then(|| t / l - 1.0),
            p_value: two_proportion(xl, nl, xs, ns, 0.05).ok().map(|r| r.p_value),
        });
    }
    Ok(out)
}

/// Sorts trends by the size of the relative change (undefined changes first).
pub fn sort_by_change(trends: &mut [Trend]) {
    trends.sort_by(|a, b| {
        let key = |t: &Trend| t.rel_change.map_or(f64::INFINITY, f64::abs);
        key(b)
            .total_cmp(&key(a))
            .then_with(|| a.metric.cmp(&b.metric))
    });
}

/// A period's length in days.
fn days(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_seconds() as f64 / 86_400.0
}

/// Computes the trends of `periods` (queries whose table is missing are skipped and named in the
/// second value), sorted by the size of the relative change.
pub async fn compare_periods(
    session: &LakeSession,
    periods: Periods,
) -> Result<(Vec<Trend>, Vec<String>), SqlError> {
    let params = [
        ("this_from", Param::Time(periods.this_from)),
        ("this_to", Param::Time(periods.this_to)),
        ("last_from", Param::Time(periods.last_from)),
        ("last_to", Param::Time(periods.last_to)),
        (
            "this_days",
            Param::Float(days(periods.this_from, periods.this_to)),
        ),
        (
            "last_days",
            Param::Float(days(periods.last_from, periods.last_to)),
        ),
    ];
    let (mut out, mut skipped) = (Vec::new(), Vec::new());
    for q in query::TRENDS {
        let Some(batches) = q.batches_or_skip(session, &params, &mut skipped).await? else {
            continue;
        };
        for b in &batches {
            out.extend(query::trends(q.path, b)?);
        }
    }
    sort_by_change(&mut out);
    Ok((out, skipped))
}

/// Errors of computing and storing trends.
#[derive(Debug, thiserror::Error)]
pub enum TrendsError {
    #[error(transparent)]
    Sql(#[from] SqlError),
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error(transparent)]
    Funnel(#[from] FunnelError),
    #[error("writing `{table}`: {source}")]
    Lake { table: String, source: LakeError },
    /// A request that cannot be answered from this lake or these settings.
    #[error("{0}")]
    Unanswerable(String),
}

/// What to compare and where to store it.
pub struct Request<'a> {
    pub periods: Periods,
    pub table: output::TrendTable,
    /// Funnels whose overall conversion is a trend and whose drop-offs are opportunities.
    pub funnels: &'a [Funnel],
    /// Store the results (`false`: compute and return only).
    pub write: bool,
    /// The analysis time: funnels whose window is still open then are incomplete.
    pub at: DateTime<Utc>,
}

/// A period's trends and opportunities, as stored.
pub struct Review {
    pub trends: Vec<Trend>,
    pub opportunities: Vec<Opportunity>,
    /// Queries skipped because their table is missing, with the reason.
    pub skipped: Vec<String>,
}

/// The trends of the request's periods (with the funnels' conversions) and the opportunities of
/// its first period, stored in the request's table and in `opportunities`.
pub async fn review(
    session: &LakeSession,
    lake: &Path,
    req: Request<'_>,
) -> Result<Review, TrendsError> {
    let (mut trends, mut skipped) = compare_periods(session, req.periods).await?;
    let has_events = session.tables.iter().any(|t| t == "events");
    if has_events && !req.funnels.is_empty() {
        trends.extend(funnel_trends(session, req.funnels, req.periods, req.at).await?);
        sort_by_change(&mut trends);
    }
    if trends.is_empty() {
        return Err(TrendsError::Unanswerable(
            "the hourly tables need data in both periods".into(),
        ));
    }
    let (mut found, skipped_o) =
        opportunities::from_sql(session, req.periods.this_from, req.periods.this_to).await?;
    if has_events && !req.funnels.is_empty() {
        let mut drops = opportunities::funnel_drop_offs(
            session,
            req.funnels,
            req.periods.this_from,
            req.periods.this_to,
            req.at,
        )
        .await?;
        drops.append(&mut found);
        found = drops;
    }
    skipped.extend(skipped_o.into_iter().map(|s| format!("opportunities: {s}")));
    if req.write {
        let start = req.periods.this_from;
        let table = req.table.name();
        let (schema, batch) = output::to_batch(start, req.table.columns(), &trends);
        output::store(lake, table, start, &schema, &batch).map_err(|source| TrendsError::Lake {
            table: table.into(),
            source,
        })?;
        let (schema, batch) = opportunities::output::to_batch(start, &found);
        output::store(lake, opportunities::output::TABLE, start, &schema, &batch).map_err(
            |source| TrendsError::Lake {
                table: opportunities::output::TABLE.into(),
                source,
            },
        )?;
    }
    Ok(Review {
        trends,
        opportunities: found,
        skipped,
    })
}

/// The Monday of the latest week in the weekly roll-ups, if any.
pub async fn latest_week(session: &LakeSession) -> Result<Option<DateTime<Utc>>, TrendsError> {
    for table in ["weekly_service_metrics", "weekly_business_metrics"] {
        if !session.tables.iter().any(|t| t == table) {
            continue;
        }
        let (_, batches) = session
            .query(&format!("SELECT max(period_start) AS latest FROM {table}"))
            .await?;
        for b in &batches {
            if let Some(Some(us)) =
                crate::query::sql::times(table_label(table), b, "latest")?.first()
            {
                return Ok(Utc.timestamp_micros(*us).single());
            }
        }
    }
    Ok(None)
}

fn table_label(table: &str) -> &'static str {
    match table {
        "weekly_service_metrics" => "weekly_service_metrics",
        _ => "weekly_business_metrics",
    }
}

/// The monthly review's periods: the 30 days before `at` against the launch range of
/// `[hourly.baseline]` (`from`, `to`).
pub fn monthly_periods(hourly: &HourlyConfig, at: DateTime<Utc>) -> Result<Periods, TrendsError> {
    let b = &hourly.baseline;
    let (Some(from), Some(to)) = (&b.from, &b.to) else {
        return Err(TrendsError::Unanswerable(
            "the pipeline file has no launch range: set `[hourly.baseline]` `from` and `to` (RFC 3339)"
                .into(),
        ));
    };
    let instant = |s: &str, field: &str| -> Result<DateTime<Utc>, TrendsError> {
        let us =
            crate::units::parse_instant(s, field).map_err(|e| TrendsError::Unanswerable(e.0))?;
        Ok(Utc.timestamp_micros(us).single().unwrap_or_default())
    };
    Ok(Periods {
        this_from: at - chrono::Duration::days(30),
        this_to: at,
        last_from: instant(from, "hourly.baseline.from")?,
        last_to: instant(to, "hourly.baseline.to")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_weeks_parse_to_their_monday_and_back() {
        let m = parse_week("2026-W46").unwrap();
        assert_eq!(m.format("%Y-%m-%d").to_string(), "2026-11-09");
        assert_eq!(week_name(m), "2026-W46");
        assert!(parse_week("2026-46").unwrap_err().contains("`2026-46`"));
        assert!(parse_week("2026-W54").is_err());
    }
}
