//! The SQL of trends: the files of `sql/trends/` (run through [`crate::query::sql`]) and their
//! rows read into [`Trend`]s, with the two-proportion p-value of rates.

use arrow::record_batch::RecordBatch;

use super::Trend;
use crate::query::sql::{i64s, opt_f64s, sql_file, strings, SqlError, SqlFile};
use crate::stats::two_sample::two_proportion;

/// The trend queries; each is skipped when its hourly table is not in the lake.
pub const TRENDS: &[SqlFile] = &[
    sql_file!("sql/trends/service.sql"),
    sql_file!("sql/trends/web_vitals.sql"),
    sql_file!("sql/trends/business.sql"),
    sql_file!("sql/trends/adoption.sql"),
];

/// The rows of a `sql/trends/` result (`file`, for errors): one [`Trend`] per metric and entity
/// with both values (rows without both are left out). Rates carry their successes and trials,
/// from which the p-value of the change comes (control = the last period).
pub fn trends(file: &'static str, b: &RecordBatch) -> Result<Vec<Trend>, SqlError> {
    let metric = strings(file, b, "metric")?;
    let entity = strings(file, b, "entity")?;
    let this = opt_f64s(file, b, "this_value")?;
    let last = opt_f64s(file, b, "last_value")?;
    let (xs, ns) = (
        i64s(file, b, "this_successes")?,
        i64s(file, b, "this_trials")?,
    );
    let (xl, nl) = (
        i64s(file, b, "last_successes")?,
        i64s(file, b, "last_trials")?,
    );
    let count = |x: Option<i64>| x.map(|v| u64::try_from(v).unwrap_or(0));
    let mut out = Vec::new();
    for i in 0..b.num_rows() {
        let (Some(t), Some(l)) = (this[i], last[i]) else {
            continue;
        };
        let p_value = match (count(xs[i]), count(ns[i]), count(xl[i]), count(nl[i])) {
            (Some(xs), Some(ns), Some(xl), Some(nl)) => {
                two_proportion(xl, nl, xs, ns, 0.05).ok().map(|r| r.p_value)
            }
            _ => None,
        };
        out.push(Trend {
            metric: metric[i].clone().unwrap_or_default(),
            entity: entity[i].clone().unwrap_or_default(),
            this_week: t,
            last_week: l,
            abs_change: t - l,
            rel_change: (l != 0.0).then(|| t / l - 1.0),
            p_value,
        });
    }
    Ok(out)
}
