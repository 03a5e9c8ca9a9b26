//! Trends (`postlaunch trends`): every key metric of one period against another — both values,
//! the absolute and relative change, and for rates a two-proportion z-test p-value, so a change
//! can be told from noise. `weekly_trends`: an ISO week against the week before (whole weeks,
//! Monday to Monday, so the same hours and days of the week are compared). `monthly_review`: the
//! last 30 days against the launch range. Built by `sql/trends/` from the hourly tables (merged
//! sketches for percentiles) and, for distinct users, the raw events.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Float64Type, Int64Type, Schema, SchemaRef, TimeUnit};
use chrono::{DateTime, Datelike, TimeZone, Utc};

use crate::query::sql::{sql_file, Param, SqlError, SqlFile};
use crate::query::LakeSession;
use crate::stats::two_sample::two_proportion;

/// The trend queries; each is skipped when its weekly table is not in the lake.
pub const TRENDS: &[SqlFile] = &[
    sql_file!("sql/trends/service.sql"),
    sql_file!("sql/trends/web_vitals.sql"),
    sql_file!("sql/trends/business.sql"),
    sql_file!("sql/trends/adoption.sql"),
];

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
/// conversion window may run past its end, as in `postlaunch funnel`.
pub async fn funnel_trends(
    session: &LakeSession,
    funnels: &[crate::funnel::config::Funnel],
    periods: Periods,
) -> Result<Vec<Trend>, crate::funnel::FunnelError> {
    use crate::funnel::{compute, latest_event, Period};
    let Some(latest) = latest_event(session).await? else {
        return Ok(Vec::new());
    };
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
            latest,
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
            latest,
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
    for q in TRENDS {
        let (_, batches) = match q.run(session, &params).await {
            Ok(result) => result,
            Err(why @ SqlError::MissingTable { .. }) => {
                skipped.push(why.to_string());
                continue;
            }
            Err(e) => return Err(e),
        };
        for b in &batches {
            out.extend(rows(b));
        }
    }
    sort_by_change(&mut out);
    Ok((out, skipped))
}

fn rows(b: &RecordBatch) -> Vec<Trend> {
    let s = |i: usize| {
        arrow::compute::cast(b.column(i), &DataType::Utf8).map(|a| a.as_string::<i32>().clone())
    };
    let f = |i: usize| {
        arrow::compute::cast(b.column(i), &DataType::Float64)
            .map(|a| a.as_primitive::<Float64Type>().clone())
    };
    let n = |i: usize| {
        arrow::compute::cast(b.column(i), &DataType::Int64)
            .map(|a| a.as_primitive::<Int64Type>().clone())
    };
    let (Ok(metric), Ok(entity)) = (s(0), s(1)) else {
        return Vec::new();
    };
    let (Ok(this), Ok(last), Ok(xs), Ok(ns), Ok(xl), Ok(nl)) = (f(2), f(3), n(4), n(5), n(6), n(7))
    else {
        return Vec::new();
    };
    (0..b.num_rows())
        .filter(|&i| this.is_valid(i) && last.is_valid(i))
        .map(|i| {
            let (t, l) = (this.value(i), last.value(i));
            let counts = [&xs, &ns, &xl, &nl];
            let p_value = if counts.iter().all(|c| c.is_valid(i)) {
                let c = |a: &Int64Array| u64::try_from(a.value(i)).unwrap_or(0);
                // control = last week, treatment = this week
                two_proportion(c(&xl), c(&nl), c(&xs), c(&ns), 0.05)
                    .ok()
                    .map(|r| r.p_value)
            } else {
                None
            };
            Trend {
                metric: metric.value(i).to_string(),
                entity: entity.value(i).to_string(),
                this_week: t,
                last_week: l,
                abs_change: t - l,
                rel_change: (l != 0.0).then(|| t / l - 1.0),
                p_value,
            }
        })
        .collect()
}

/// The stored form: one row per trend, stamped `start` in a column named `start_name`, with the
/// two values in columns `this_name` and `last_name` (e.g. `this_week`/`last_week`).
pub fn to_batch(
    start: DateTime<Utc>,
    [start_name, this_name, last_name]: [&str; 3],
    trends: &[Trend],
) -> (SchemaRef, RecordBatch) {
    let schema = Arc::new(Schema::new(vec![
        Field::new(
            start_name,
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("metric", DataType::Utf8, false),
        Field::new("entity", DataType::Utf8, false),
        Field::new(this_name, DataType::Float64, false),
        Field::new(last_name, DataType::Float64, false),
        Field::new("abs_change", DataType::Float64, false),
        Field::new("rel_change", DataType::Float64, true),
        Field::new("p_value", DataType::Float64, true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(
            TimestampMicrosecondArray::from(vec![start.timestamp_micros(); trends.len()])
                .with_timezone("UTC"),
        ),
        Arc::new(StringArray::from_iter_values(
            trends.iter().map(|t| &t.metric),
        )),
        Arc::new(StringArray::from_iter_values(
            trends.iter().map(|t| &t.entity),
        )),
        Arc::new(Float64Array::from_iter_values(
            trends.iter().map(|t| t.this_week),
        )),
        Arc::new(Float64Array::from_iter_values(
            trends.iter().map(|t| t.last_week),
        )),
        Arc::new(Float64Array::from_iter_values(
            trends.iter().map(|t| t.abs_change),
        )),
        Arc::new(Float64Array::from_iter(trends.iter().map(|t| t.rel_change))),
        Arc::new(Float64Array::from_iter(trends.iter().map(|t| t.p_value))),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns)
        .expect("the columns are built to the schema above");
    (schema, batch)
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
