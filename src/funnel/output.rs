//! The stored and printed form of funnels: [`report_batch`] (one row per step and breakdown
//! group) and the daily lake table `daily_funnel_steps` ([`write_daily`]: every funnel per UTC
//! day of entry, one partition per day, replaced on re-runs).

use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Float64Array, StringArray, TimestampMicrosecondArray, UInt64Array,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;

use super::config::{Breakdown, Funnel};
use super::{compute, FunnelError, FunnelReport, Period};
use crate::lake::layout::HOUR_MICROS;
use crate::query::LakeSession;

/// The derived lake table of daily funnel steps.
pub const DAILY_TABLE: &str = "daily_funnel_steps";

const DAY_US: i64 = 86_400_000_000;

/// The report as one Arrow batch (for printing, and for `daily_funnel_steps` with a day column
/// added by the caller).
pub fn report_batch(
    r: &FunnelReport,
) -> Result<(SchemaRef, RecordBatch), arrow::error::ArrowError> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("funnel", DataType::Utf8, false),
        Field::new("breakdown", DataType::Utf8, true),
        Field::new("step", DataType::UInt64, false),
        Field::new("label", DataType::Utf8, false),
        Field::new("users", DataType::UInt64, false),
        Field::new("conversion_from_previous", DataType::Float64, true),
        Field::new("conversion_from_start", DataType::Float64, true),
        Field::new("dropped", DataType::UInt64, false),
        Field::new("median_secs_from_previous", DataType::Float64, true),
        Field::new("p90_secs_from_previous", DataType::Float64, true),
        Field::new("dropped_sample", DataType::Utf8, false),
        Field::new("incomplete", DataType::Boolean, false),
    ]));
    let rows = &r.rows;
    let cols: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec![r.funnel.as_str(); rows.len()])),
        Arc::new(StringArray::from(
            rows.iter()
                .map(|x| x.breakdown.as_deref())
                .collect::<Vec<_>>(),
        )),
        Arc::new(UInt64Array::from(
            rows.iter().map(|x| x.step as u64).collect::<Vec<_>>(),
        )),
        Arc::new(StringArray::from(
            rows.iter().map(|x| x.label.as_str()).collect::<Vec<_>>(),
        )),
        Arc::new(UInt64Array::from(
            rows.iter().map(|x| x.users).collect::<Vec<_>>(),
        )),
        Arc::new(Float64Array::from(
            rows.iter()
                .map(|x| x.conversion_from_previous)
                .collect::<Vec<_>>(),
        )),
        Arc::new(Float64Array::from(
            rows.iter()
                .map(|x| x.conversion_from_start)
                .collect::<Vec<_>>(),
        )),
        Arc::new(UInt64Array::from(
            rows.iter().map(|x| x.dropped).collect::<Vec<_>>(),
        )),
        Arc::new(Float64Array::from(
            rows.iter()
                .map(|x| x.median_secs_from_previous)
                .collect::<Vec<_>>(),
        )),
        Arc::new(Float64Array::from(
            rows.iter()
                .map(|x| x.p90_secs_from_previous)
                .collect::<Vec<_>>(),
        )),
        Arc::new(StringArray::from(
            rows.iter()
                .map(|x| x.dropped_sample.join(","))
                .collect::<Vec<_>>(),
        )),
        Arc::new(BooleanArray::from(vec![r.incomplete; rows.len()])),
    ];
    let batch = RecordBatch::try_new(schema.clone(), cols)?;
    Ok((schema, batch))
}

/// What [`write_daily`] stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DailyWrite {
    pub days: usize,
    pub rows: usize,
}

/// Every funnel, per UTC day of entry in `period`, one `daily_funnel_steps` partition per day.
/// `breakdown` overrides each funnel's own (`Some(None)`: no breakdown). `at` is the analysis
/// time (µs), for the incomplete flag.
pub async fn write_daily(
    lake: &Path,
    session: &LakeSession,
    funnels: &[Funnel],
    breakdown: Option<Option<Breakdown>>,
    period: Period,
    at: i64,
) -> Result<DailyWrite, FunnelError> {
    let mut written = DailyWrite::default();
    let mut day = period.from.div_euclid(DAY_US) * DAY_US;
    while day < period.to {
        let mut batches = Vec::new();
        let mut schema = None;
        for f in funnels {
            let own = match f.breakdown.as_deref() {
                None | Some("none") => None,
                Some(b) => Some(Breakdown::parse(b).map_err(|message| FunnelError::Result {
                    funnel: f.name.clone(),
                    message,
                })?),
            };
            let breakdown = breakdown.clone().unwrap_or(own);
            let one_day = Period {
                from: day,
                to: day + DAY_US,
            };
            let report = compute(session, f, breakdown.as_ref(), one_day, at).await?;
            let (s, b) = report_batch(&report)?;
            let (s, b) = with_day(&s, &b, day)?;
            written.rows += b.num_rows();
            schema = Some(s);
            batches.push(b);
        }
        if let Some(schema) = schema {
            crate::lake::derived::replace_partition(
                lake,
                DAILY_TABLE,
                day / HOUR_MICROS,
                &schema,
                &batches,
            )
            .map_err(|source| FunnelError::Lake {
                table: DAILY_TABLE.into(),
                source,
            })?;
        }
        written.days += 1;
        day += DAY_US;
    }
    Ok(written)
}

/// Prepends the `day_start` column.
fn with_day(
    schema: &Schema,
    batch: &RecordBatch,
    day: i64,
) -> Result<(Schema, RecordBatch), arrow::error::ArrowError> {
    let mut fields = vec![Arc::new(Field::new(
        "day_start",
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        false,
    ))];
    fields.extend(schema.fields().iter().cloned());
    let schema = Schema::new(fields);
    let mut cols: Vec<ArrayRef> = vec![Arc::new(
        TimestampMicrosecondArray::from(vec![day; batch.num_rows()]).with_timezone("UTC"),
    )];
    cols.extend(batch.columns().iter().cloned());
    let batch = RecordBatch::try_new(Arc::new(schema.clone()), cols)?;
    Ok((schema, batch))
}
