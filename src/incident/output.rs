//! The stored form of incident figures: `incident_metrics`, one row per incident, replaced each
//! time the incident is measured again (a keyed file per incident, partitioned by the hour of its
//! detection); the columns a person reads first; the roll-up lines.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Float64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
    UInt32Array,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

use super::metrics::{span, IncidentMetrics, Rollup};
use crate::lake::LakeError;

/// The lake table of incident figures.
pub const TABLE: &str = "incident_metrics";

fn time(name: &str, nullable: bool) -> Field {
    Field::new(
        name,
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        nullable,
    )
}

/// Every column of each incident's figures.
pub fn to_batch(rows: &[IncidentMetrics]) -> (SchemaRef, RecordBatch) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("incident_id", DataType::Utf8, false),
        Field::new("severity", DataType::Utf8, false),
        Field::new("service", DataType::Utf8, true),
        Field::new("title", DataType::Utf8, true),
        Field::new("state", DataType::Utf8, false),
        time("impact_start", false),
        Field::new("impact_start_from", DataType::Utf8, false),
        time("detected_at", false),
        time("first_alert_at", true),
        Field::new("first_alert", DataType::Utf8, true),
        time("notified_at", true),
        Field::new("notified_on", DataType::Utf8, true),
        time("acknowledged_at", true),
        time("mitigation_started_at", true),
        time("mitigated_at", true),
        time("resolved_at", true),
        time("postmortem_at", true),
        time("postmortem_due", true),
        Field::new("mttd_s", DataType::Float64, true),
        Field::new("time_to_notify_s", DataType::Float64, true),
        Field::new("mtta_s", DataType::Float64, true),
        Field::new("response_s", DataType::Float64, true),
        Field::new("time_to_mitigate_s", DataType::Float64, true),
        Field::new("mttr_s", DataType::Float64, true),
        Field::new("updates", DataType::UInt32, false),
        Field::new("max_update_gap_s", DataType::Float64, true),
        Field::new("late_updates", DataType::UInt32, false),
        Field::new("postmortem_late", DataType::Boolean, false),
        Field::new("actions_open", DataType::UInt32, false),
        Field::new("actions_done", DataType::UInt32, false),
        Field::new("alerts", DataType::Utf8, false),
        Field::new("blind_spot", DataType::Boolean, true),
        Field::new("moved_first", DataType::Utf8, true),
        Field::new("candidate_rule", DataType::Utf8, true),
    ]));
    let s = |f: &dyn Fn(&IncidentMetrics) -> Option<String>| -> ArrayRef {
        Arc::new(StringArray::from_iter(rows.iter().map(f)))
    };
    let t = |f: &dyn Fn(&IncidentMetrics) -> Option<i64>| -> ArrayRef {
        Arc::new(TimestampMicrosecondArray::from_iter(rows.iter().map(f)).with_timezone("UTC"))
    };
    let x = |f: &dyn Fn(&IncidentMetrics) -> Option<f64>| -> ArrayRef {
        Arc::new(Float64Array::from_iter(rows.iter().map(f)))
    };
    let u = |f: &dyn Fn(&IncidentMetrics) -> u32| -> ArrayRef {
        Arc::new(UInt32Array::from_iter_values(rows.iter().map(f)))
    };
    let columns: Vec<ArrayRef> = vec![
        s(&|r| Some(r.incident_id.clone())),
        s(&|r| Some(r.severity.to_string())),
        s(&|r| r.service.clone()),
        s(&|r| r.title.clone()),
        s(&|r| Some(r.state.to_string())),
        t(&|r| Some(r.impact_start)),
        s(&|r| Some(r.impact_start_from.to_string())),
        t(&|r| Some(r.detected_at)),
        t(&|r| r.first_alert_at),
        s(&|r| r.first_alert.clone()),
        t(&|r| r.notified_at),
        s(&|r| r.notified_on.clone()),
        t(&|r| r.acknowledged_at),
        t(&|r| r.mitigation_started_at),
        t(&|r| r.mitigated_at),
        t(&|r| r.resolved_at),
        t(&|r| r.postmortem_at),
        t(&|r| r.postmortem_due),
        x(&|r| r.mttd_s),
        x(&|r| r.time_to_notify_s),
        x(&|r| r.mtta_s),
        x(&|r| r.response_s),
        x(&|r| r.time_to_mitigate_s),
        x(&|r| r.mttr_s),
        u(&|r| r.updates),
        x(&|r| r.max_update_gap_s),
        u(&|r| r.late_updates),
        Arc::new(BooleanArray::from_iter(
            rows.iter().map(|r| Some(r.postmortem_late)),
        )),
        u(&|r| r.actions_open),
        u(&|r| r.actions_done),
        s(&|r| Some(r.alerts.clone())),
        Arc::new(BooleanArray::from_iter(rows.iter().map(|r| r.blind_spot))),
        s(&|r| r.moved_first.clone()),
        s(&|r| r.candidate_rule.clone()),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns)
        .expect("the columns are built to the schema above");
    (schema, batch)
}

/// The columns read first: which incident, how fast each step was, what is owed.
pub fn summary(rows: &[IncidentMetrics]) -> (SchemaRef, RecordBatch) {
    let (schema, batch) = to_batch(rows);
    let keep = [
        "incident_id",
        "severity",
        "service",
        "state",
        "detected_at",
        "mttd_s",
        "time_to_notify_s",
        "mtta_s",
        "response_s",
        "mttr_s",
        "late_updates",
        "postmortem_late",
        "actions_open",
        "blind_spot",
    ];
    let idx: Vec<usize> = keep
        .iter()
        .filter_map(|k| schema.index_of(k).ok())
        .collect();
    let batch = batch.project(&idx).expect("the columns exist");
    (batch.schema(), batch)
}

/// Stores each incident's row in `incident_metrics`, replacing its earlier one (one commit per
/// incident).
pub fn store(lake: &Path, rows: &[IncidentMetrics]) -> Result<(), LakeError> {
    for r in rows {
        let (schema, batch) = to_batch(std::slice::from_ref(r));
        let ts_col = schema.index_of("detected_at").expect("the column exists");
        crate::lake::keyed::replace_derived(
            lake,
            TABLE,
            &r.incident_id,
            &batch,
            ts_col,
            r.detected_at,
            &[],
        )?;
    }
    Ok(())
}

/// One line per roll-up: the objective, the figure, met or not.
pub fn rollup_lines(rollups: &[Rollup]) -> Vec<String> {
    rollups
        .iter()
        .map(|r| {
            let verdict = match r.met {
                Some(true) => "met",
                Some(false) => "MISSED",
                None => "no data",
            };
            let figure = match (r.slo, r.value_s) {
                (_, None) => String::new(),
                ("postmortem", Some(v)) if v.is_infinite() => "; one or more missing".into(),
                ("response", Some(v)) => format!("; p95 {}", span(v)),
                (_, Some(v)) => format!("; worst {}", span(v)),
            };
            format!(
                "{verdict:>7}  {}: {} of {} within{figure} (incidents: {})",
                r.objective, r.within, r.measured, r.incidents
            )
        })
        .collect()
}
