//! The `opportunities` table: candidate optimisations of a period with their measured reach, the
//! input of the RICE backlog — the funnel steps where most users drop off, the support-ticket
//! categories with the most users, endpoints with regressions, and the slowest endpoints
//! (`sql/opportunities/`; funnel drop-offs from the funnel scan). Computed for the period of a
//! trends review ([`crate::trends::review`]) and stored by [`output`].

pub mod output;

use chrono::{DateTime, Utc};

use crate::query::sql::{f64s, i64s, sql_file, strings, Param, SqlError, SqlFile};
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
    /// The measured size: a funnel drop-off's share of the step's users lost, a ticket
    /// category's tickets, a regression's ratio to the baseline, a slow endpoint's p95 (ms).
    pub value: f64,
}

/// The opportunities of the period `[from, to)` from the SQL files (skipped ones are named in
/// the second value).
pub async fn from_sql(
    session: &LakeSession,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<(Vec<Opportunity>, Vec<String>), SqlError> {
    let params = [
        ("this_from", Param::Time(from)),
        ("this_to", Param::Time(to)),
    ];
    let (mut out, mut skipped) = (Vec::new(), Vec::new());
    for q in OPPORTUNITIES {
        let Some(batches) = q.batches_or_skip(session, &params, &mut skipped).await? else {
            continue;
        };
        for b in &batches {
            let f = q.path;
            let kind = strings(f, b, "kind")?;
            let subject = strings(f, b, "subject")?;
            let detail = strings(f, b, "detail")?;
            let reach = i64s(f, b, "reach")?;
            let unit = strings(f, b, "reach_unit")?;
            let value = f64s(f, b, "value")?;
            for i in 0..b.num_rows() {
                out.push(Opportunity {
                    kind: kind[i].clone().unwrap_or_default(),
                    subject: subject[i].clone().unwrap_or_default(),
                    detail: detail[i].clone().unwrap_or_default(),
                    reach: reach[i].unwrap_or(0),
                    reach_unit: unit[i].clone().unwrap_or_default(),
                    value: value[i],
                });
            }
        }
    }
    Ok((out, skipped))
}

/// The 3 funnel steps (over every funnel) where the most users dropped off in `[from, to)`, as of
/// `at` (a drop-off whose window is still open says so).
pub async fn funnel_drop_offs(
    session: &LakeSession,
    funnels: &[crate::funnel::config::Funnel],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    at: DateTime<Utc>,
) -> Result<Vec<Opportunity>, crate::funnel::FunnelError> {
    use crate::funnel::{compute, Period};
    let at = at.timestamp_micros();
    let period = Period {
        from: from.timestamp_micros(),
        to: to.timestamp_micros(),
    };
    let mut out = Vec::new();
    for f in funnels {
        let report = compute(session, f, None, period, at).await?;
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
                value: r.dropped as f64 / (r.dropped + r.users) as f64,
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
