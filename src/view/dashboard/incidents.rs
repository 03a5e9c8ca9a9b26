//! The Incidents page: the incidents of the range and every open one with their response
//! figures (`incident_metrics`, as `postlaunch incidents` stores them); drill-down to one
//! incident's report (timeline, SLO figures, post-mortem).

use super::{fmt, link, missing, Context, DashboardError, Page};
use crate::query::sql::{sql_file, SqlFile};
use crate::view::document::{Cell, Document, Section};

const INCIDENTS: SqlFile = sql_file!("sql/dashboard/incidents.sql");

pub async fn incidents(cx: &Context<'_>, id: Option<&str>) -> Result<Document, DashboardError> {
    let r = &cx.range;
    if let Some(id) = id {
        let mut doc = match crate::view::incident_report::incident(
            cx.session,
            cx.incidents,
            id,
            cx.now,
            cx.lake,
        )
        .await
        {
            Ok(d) => d,
            Err(crate::view::ViewError::Incident(
                e @ crate::incident::IncidentError::Unknown(_),
            )) => return Err(DashboardError::NotFound(e.to_string())),
            Err(e) => return Err(e.into()),
        };
        doc.sections.insert(
            0,
            Section::new("Back").links(vec![link("All incidents", Page::Incidents.path(), r, &[])]),
        );
        doc.footer = cx.footer();
        return Ok(doc);
    }
    let mut doc = cx.document("Incidents");
    let Some(f) = cx.frame(&INCIDENTS).await? else {
        doc.sections.push(Section::new("Incidents").note(missing(
            "incident_metrics",
            "record incidents with `postlaunch incident open …`, then run `postlaunch incidents`",
        )));
        return Ok(doc);
    };
    if f.rows == 0 {
        doc.sections
            .push(Section::new("Incidents").note("No incident in this range, and none open."));
        return Ok(doc);
    }
    let slo = &cx.incidents.slo;
    let rows = (0..f.rows)
        .map(|i| {
            let id = f.text("incident_id", i);
            // the SLOs hold for their severities only (the protocol: P1)
            let held = slo
                .severities
                .iter()
                .any(|s| s.to_string() == f.text("severity", i));
            let over = |x: Option<f64>, limit: f64| {
                if held && x.is_some_and(|x| x > limit) {
                    "num bad"
                } else {
                    "num"
                }
            };
            let (mttd, mttr) = (f.num("mttd_s", i), f.num("mttr_s", i));
            vec![
                Cell::link(id, super::href(Page::Incidents.path(), r, &[("id", id)])),
                Cell::text(f.text("severity", i)),
                Cell::text(f.text("service", i)),
                Cell::text(f.text("title", i)),
                Cell::text(f.text("state", i)),
                Cell::text(super::show_micros(
                    f.time("impact_start", i).unwrap_or_default(),
                )),
                Cell::with(fmt::span(mttd), over(mttd, slo.detection.as_secs_f64())),
                Cell::num(fmt::span(f.num("mtta_s", i))),
                Cell::with(fmt::span(mttr), over(mttr, slo.resolution.as_secs_f64())),
                Cell::num(format!(
                    "{} ({} late)",
                    fmt::count(f.num("updates", i)),
                    fmt::count(f.num("late_updates", i))
                )),
                Cell::with(
                    if f.num("postmortem_late", i).is_some_and(|x| x > 0.5) {
                        "late"
                    } else {
                        ""
                    },
                    if f.num("postmortem_late", i).is_some_and(|x| x > 0.5) {
                        "bad"
                    } else {
                        ""
                    },
                ),
                Cell::num(fmt::count(f.num("actions_open", i))),
                Cell::text(if f.num("blind_spot", i).is_some_and(|x| x > 0.5) {
                    "yes"
                } else {
                    ""
                }),
            ]
        })
        .collect();
    doc.sections.push(
        Section::new("Incidents")
            .text(format!(
                "Red: over the SLO of {} incidents (detection {}, resolution {}). Figures as `postlaunch incidents` last stored them.",
                slo.severities.iter().map(|s| s.to_string()).collect::<Vec<_>>().join("/"),
                fmt::span(Some(slo.detection.as_secs_f64())),
                fmt::span(Some(slo.resolution.as_secs_f64()))
            ))
            .table(
                &["incident", "severity", "service", "title", "state", "impact start", "MTTD", "MTTA", "MTTR", "updates", "post-mortem", "open actions", "blind spot"],
                rows,
            ),
    );
    Ok(doc)
}
