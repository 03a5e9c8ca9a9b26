//! `postlaunch alerts review --week 2026-W46`: the weekly alert-fatigue review of the protocol,
//! from the `alerts` table — per rule, how often it fired, the median duration, the share
//! resolved within 5 minutes (flapping) and the share followed by an incident (actionable):
//! `sql/alert/review.sql`.

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, Utc};

use super::AlertError;
use crate::query::sql::{sql_file, Param, SqlFile};
use crate::query::LakeSession;

const REVIEW: SqlFile = sql_file!("sql/alert/review.sql");

/// The incidents to judge by: the opening (first record) of each incident of the `incidents`
/// table, as (service, ts).
const INCIDENTS: &str =
    "SELECT max(service) AS service, min(ts) AS ts FROM incidents GROUP BY incident_id";
/// No incidents: no rows, of the types of the `alerts` columns they are compared with.
const NO_INCIDENTS: &str = "SELECT entity AS service, event_time AS ts FROM alerts WHERE FALSE";

/// The review rows of the week [from, to); `None` when the lake has no `alerts` table. The bool:
/// whether the lake has an `incidents` table to judge by.
pub async fn review(
    session: &LakeSession,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Option<(SchemaRef, Vec<RecordBatch>, bool)>, AlertError> {
    if REVIEW.missing_table(&session.tables).is_some() {
        return Ok(None);
    }
    let has_incidents = session.tables.iter().any(|t| t == "incidents");
    let params = [
        ("from", Param::Time(from)),
        ("to", Param::Time(to)),
        (
            "incidents",
            Param::Sql(
                if has_incidents {
                    INCIDENTS
                } else {
                    NO_INCIDENTS
                }
                .into(),
            ),
        ),
        (
            "has_incidents",
            Param::Sql(if has_incidents { "TRUE" } else { "FALSE" }.into()),
        ),
    ];
    let (schema, batches) = REVIEW.run(session, &params).await?;
    Ok(Some((schema, batches, has_incidents)))
}
