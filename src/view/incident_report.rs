//! `postlaunch report incident INC-…`: one incident as a [`Document`] — what happened, the
//! response figures against the protocol's SLOs, detection (or the blind spot), the timeline of
//! its events, alerts, notifications and deployments, the action items and the post-mortem —
//! from the same functions as `postlaunch incidents` and `incident postmortem --template`.

use chrono::{DateTime, Utc};

use super::document::{Cell, Document, Section};
use super::ViewError;
use crate::incident::config::IncidentsConfig;
use crate::incident::metrics::span;
use crate::incident::postmortem::gather;
use crate::query::LakeSession;

fn when(t: i64) -> String {
    DateTime::<Utc>::from_timestamp_micros(t)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// The report of incident `id` as of `now`.
pub async fn incident(
    session: &LakeSession,
    cfg: &IncidentsConfig,
    id: &str,
    now: DateTime<Utc>,
    lake: &std::path::Path,
) -> Result<Document, ViewError> {
    let g = gather(session, cfg, id, now.timestamp_micros()).await?;
    let (i, m) = (&g.incident, &g.metrics);
    let mut sections = Vec::new();

    let mut s = Section::new("What happened").table(
        &["", ""],
        vec![
            vec![Cell::text("severity"), Cell::text(i.severity.to_string())],
            vec![
                Cell::text("service"),
                Cell::text(i.service.clone().unwrap_or_else(|| "—".into())),
            ],
            vec![Cell::text("state"), Cell::text(m.state)],
            vec![
                Cell::text("impact start"),
                Cell::text(format!(
                    "{} UTC (from the {})",
                    when(m.impact_start),
                    m.impact_start_from
                )),
            ],
            vec![
                Cell::text("detected"),
                Cell::text(format!("{} UTC", when(m.detected_at))),
            ],
            vec![
                Cell::text("resolved"),
                Cell::text(
                    m.resolved_at
                        .map_or("—".into(), |t| format!("{} UTC", when(t))),
                ),
            ],
        ],
    );
    if !m.alerts.is_empty() {
        s = s.text(format!("Alerts: {}", m.alerts));
    }
    sections.push(s);

    // the figures, each against its objective where the protocol sets one for this severity
    let slo = &cfg.slo;
    let held = slo.severities.contains(&i.severity);
    let row = |name: &str, v: Option<f64>, objective: Option<f64>| {
        let verdict = match (v, objective.filter(|_| held)) {
            (Some(v), Some(o)) if v < o => Cell::with(format!("< {}", span(o)), "good"),
            (Some(_), Some(o)) => Cell::with(format!("over {}", span(o)), "bad"),
            _ => Cell::text(""),
        };
        vec![
            Cell::text(name),
            Cell::num(v.map_or("—".into(), span)),
            verdict,
        ]
    };
    let mut s = Section::new("Response").table(
        &["figure", "value", "objective"],
        vec![
            row(
                "MTTD (impact start → first alert)",
                m.mttd_s,
                Some(slo.detection.as_secs_f64()),
            ),
            row(
                "time to notify (first alert → first person told)",
                m.time_to_notify_s,
                None,
            ),
            row("MTTA (told → acknowledged)", m.mtta_s, None),
            row(
                "response (told → mitigation started)",
                m.response_s,
                Some(slo.response.as_secs_f64()),
            ),
            row("time to mitigate", m.time_to_mitigate_s, None),
            row(
                "MTTR (impact start → resolved)",
                m.mttr_s,
                Some(slo.resolution.as_secs_f64()),
            ),
            row(
                "longest gap between stakeholder updates",
                m.max_update_gap_s,
                cfg.update_interval(i.severity).map(|d| d.as_secs_f64()),
            ),
        ],
    );
    s = s.text(format!(
        "{} stakeholder updates, {} late.",
        m.updates, m.late_updates
    ));
    if !held {
        s = s.note(format!(
            "the protocol's SLOs hold for {}; a {} is shown without them",
            slo.severities
                .iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join("/"),
            i.severity
        ));
    }
    sections.push(s);

    let mut s = Section::new("Detection");
    s = match (m.blind_spot, &m.first_alert) {
        (Some(false), Some(a)) => s.text(format!(
            "First alert: {a} at {} UTC.",
            m.first_alert_at.map(when).unwrap_or_default()
        )),
        (Some(true), _) => {
            let s = s.text("Blind spot: no alert fired before the incident was detected.");
            match (&m.moved_first, &m.candidate_rule) {
                (Some(mv), Some(rule)) => s
                    .text(format!("The metric that moved first: {mv}."))
                    .text(format!("Candidate rule: {rule}")),
                _ => s.text("No hourly figure of the service moved beyond its band."),
            }
        }
        _ => s.note("no `alerts` table: detection cannot be judged"),
    };
    sections.push(s);

    let cells = g
        .lines
        .iter()
        .map(|l| {
            vec![
                Cell::text(when(l.ts)),
                Cell::text(l.source),
                Cell::text(&l.what),
            ]
        })
        .collect();
    sections.push(Section::new("Timeline (UTC)").table(&["time", "source", "what"], cells));

    let mut s = Section::new("Action items");
    if i.actions.is_empty() {
        s = s.note(format!(
            "none recorded (postlaunch incident action {} --id A1 -m \"…\")",
            i.id
        ));
    } else {
        let cells = i
            .actions
            .iter()
            .map(|(id, (state, text))| {
                vec![
                    Cell::text(id),
                    Cell::with(state, if state == "done" { "good" } else { "" }),
                    Cell::text(text),
                ]
            })
            .collect();
        s = s.table(&["id", "state", "item"], cells);
    }
    sections.push(s);

    let s = Section::new("Post-mortem");
    let s = match (&i.postmortem, &i.postmortem_link) {
        (Some(t), Some(link)) => s.text(format!("Published {} UTC: {link}", when(*t))),
        (Some(t), None) => s.text(format!("Published {} UTC.", when(*t))),
        (None, _) => s.text(format!(
            "Not published yet{}. Start it with `postlaunch incident postmortem {} --template`.",
            m.postmortem_due.map_or(String::new(), |d| format!(
                "; due {} UTC{}",
                when(d),
                if m.postmortem_late { " (late)" } else { "" }
            )),
            i.id
        )),
    };
    sections.push(s);

    Ok(Document {
        title: format!(
            "Incident {} — {}",
            i.id,
            i.title.clone().unwrap_or_default()
        ),
        subtitle: format!(
            "{} · {} · {}",
            i.severity,
            i.service.clone().unwrap_or_default(),
            m.state
        ),
        footer: format!(
            "postlaunch report incident {} · lake {} · made {}",
            i.id,
            lake.display(),
            now.format("%Y-%m-%d %H:%M UTC")
        ),
        sections,
    })
}
