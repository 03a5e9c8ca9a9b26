//! The `opportunities` table: candidate optimisations of a period with their measured reach, the
//! input of the RICE backlog — the funnel steps where most users drop off, the support-ticket
//! categories with the most users, endpoints with regressions, and the slowest endpoints
//! (`sql/opportunities/`; funnel drop-offs from the funnel scan).

use std::sync::Arc;

use arrow::array::TimestampMicrosecondArray;
use arrow::array::{ArrayRef, AsArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Float64Type, Int64Type, Schema, SchemaRef, TimeUnit};
use chrono::{DateTime, Utc};

use super::trends::Periods;
use crate::query::sql::{sql_file, Param, SqlError, SqlFile};
use crate::query::LakeSession;

/// The opportunity queries; each is skipped when one of its tables is not in the lake.
pub const OPPORTUNITIES: &[SqlFile] = &[
    sql_file!("sql/opportunities/regressions.sql"),
    sql_file!("sql/opportunities/tickets.sql"),
    sql_file!("sql/opportunities/slow_endpoints.sql"),
];

/// One candidate optimisation.
#[derive(Debug, Clone, PartialEq)]
pub struct Opportunity {
    /// `funnel_drop_off`, `ticket_category`, `regression` or `slow_endpoint`.
    pub kind: String,
    pub subject: String,
    pub detail: String,
    /// How many users or requests it touches in the period.
    pub reach: i64,
    /// `users` or `requests`.
    pub reach_unit: String,
    /// The measured size (dropped users, tickets, ratio to baseline, p95 ms).
    pub value: f64,
}

/// The opportunities of the period `periods.this_*` from the SQL files (skipped ones are named in
/// the second value).
pub async fn from_sql(
    session: &LakeSession,
    periods: Periods,
) -> Result<(Vec<Opportunity>, Vec<String>), SqlError> {
    let params = [
        ("this_from", Param::Time(periods.this_from)),
        ("this_to", Param::Time(periods.this_to)),
    ];
    let (mut out, mut skipped) = (Vec::new(), Vec::new());
    for q in OPPORTUNITIES {
        let (_, batches) = match q.run(session, &params).await {
            Ok(result) => result,
            Err(why @ SqlError::MissingTable { .. }) => {
                skipped.push(why.to_string());
                continue;
            }
            Err(e) => return Err(e),
        };
        for b in &batches {
            let s = |i: usize| {
                arrow::compute::cast(b.column(i), &DataType::Utf8)
                    .map(|a| a.as_string::<i32>().clone())
            };
            let (Ok(kind), Ok(subject), Ok(detail), Ok(unit)) = (s(0), s(1), s(2), s(4)) else {
                continue;
            };
            let (Ok(reach), Ok(value)) = (
                arrow::compute::cast(b.column(3), &DataType::Int64),
                arrow::compute::cast(b.column(5), &DataType::Float64),
            ) else {
                continue;
            };
            let (reach, value) = (
                reach.as_primitive::<Int64Type>().clone(),
                value.as_primitive::<Float64Type>().clone(),
            );
            for i in 0..b.num_rows() {
                out.push(Opportunity {
                    kind: kind.value(i).to_string(),
                    subject: subject.value(i).to_string(),
                    detail: detail.value(i).to_string(),
                    reach: reach.value(i),
                    reach_unit: unit.value(i).to_string(),
                    value: value.value(i),
                });
            }
        }
    }
    Ok((out, skipped))
}

/// The 3 funnel steps (over every funnel) where the most users dropped off in the period.
pub async fn funnel_drop_offs(
    session: &LakeSession,
    funnels: &[crate::funnel::config::Funnel],
    periods: Periods,
) -> Result<Vec<Opportunity>, crate::funnel::FunnelError> {
    use crate::funnel::{compute, latest_event, Period};
    let Some(latest) = latest_event(session).await? else {
        return Ok(Vec::new());
    };
    let period = Period {
        from: periods.this_from.timestamp_micros(),
        to: periods.this_to.timestamp_micros(),
    };
    let mut out = Vec::new();
    for f in funnels {
        let report = compute(session, f, None, period, latest).await?;
        for r in report
            .rows
            .iter()
            .filter(|r| r.breakdown.is_none() && r.step > 1)
        {
            if r.dropped == 0 {
                continue;
            }
            out.push(Opportunity {
                kind: "funnel_drop_off".into(),
                subject: format!("{}: step {} {}", f.name, r.step, r.label),
                detail: format!(
                    "{} of {} users lost here{}",
                    r.dropped,
                    r.dropped + r.users,
                    if report.incomplete {
                        " (window still open)"
                    } else {
                        ""
                    }
                ),
                reach: i64::try_from(r.dropped).unwrap_or(i64::MAX),
                reach_unit: "users".into(),
                value: r.dropped as f64,
            });
        }
    }
    out.sort_by(|a, b| {
        b.reach
            .cmp(&a.reach)
            .then_with(|| a.subject.cmp(&b.subject))
    });
    out.truncate(3);
    Ok(out)
}

/// The stored form: one row per opportunity, stamped with the period's start.
pub fn to_batch(start: DateTime<Utc>, items: &[Opportunity]) -> (SchemaRef, RecordBatch) {
    let schema = Arc::new(Schema::new(vec![
        Field::new(
            "period_start",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("kind", DataType::Utf8, false),
        Field::new("subject", DataType::Utf8, false),
        Field::new("detail", DataType::Utf8, false),
        Field::new("reach", DataType::Int64, false),
        Field::new("reach_unit", DataType::Utf8, false),
        Field::new("value", DataType::Float64, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(
            TimestampMicrosecondArray::from(vec![start.timestamp_micros(); items.len()])
                .with_timezone("UTC"),
        ),
        Arc::new(StringArray::from_iter_values(items.iter().map(|o| &o.kind))),
        Arc::new(StringArray::from_iter_values(
            items.iter().map(|o| &o.subject),
        )),
        Arc::new(StringArray::from_iter_values(
            items.iter().map(|o| &o.detail),
        )),
        Arc::new(Int64Array::from_iter_values(items.iter().map(|o| o.reach))),
        Arc::new(StringArray::from_iter_values(
            items.iter().map(|o| &o.reach_unit),
        )),
        Arc::new(Float64Array::from_iter_values(
            items.iter().map(|o| o.value),
        )),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns)
        .expect("the columns are built to the schema above");
    (schema, batch)
}
