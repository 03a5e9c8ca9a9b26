//! `postlaunch incident postmortem INC-… --template`: a blameless post-mortem skeleton in
//! Markdown, prefilled with what the lake knows — the impact window, the response figures
//! against the protocol's SLOs, a timeline merged from the incident's events, its alerts, the
//! notifications sent for them and the deployments of its service in the day before — and the
//! sections people write (summary, root cause, what went well, action items). Every string that
//! came from an event is escaped ([`crate::report::format::markdown`]).

use std::fmt::Write;

use chrono::{DateTime, Utc};

use super::config::IncidentsConfig;
use super::metrics::{fold, linked, measure, span, Incident, IncidentMetrics};
use super::query::{alerts, deployments, notifications};
use super::{IncidentError, Status};
use crate::lake::layout::HOUR_MICROS;
use crate::query::LakeSession;
use crate::report::format::markdown as md;

fn when(t: i64) -> String {
    DateTime::<Utc>::from_timestamp_micros(t)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

fn time(t: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_micros(t).unwrap_or_default()
}

/// One line of the timeline; `what` is plain text (escaped by whoever renders it).
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub ts: i64,
    /// incident, alert, notification or deployment.
    pub source: &'static str,
    pub what: String,
}

/// What a post-mortem (or an incident report) is made of.
#[derive(Debug, Clone)]
pub struct Gathered {
    pub incident: Incident,
    pub metrics: IncidentMetrics,
    /// In time order.
    pub lines: Vec<Line>,
    /// Whether the lake has an `alerts` table to judge detection by.
    pub has_alerts: bool,
}

/// The skeleton of incident `id` as of `now` (µs).
pub async fn template(
    session: &LakeSession,
    cfg: &IncidentsConfig,
    id: &str,
    now: i64,
) -> Result<String, IncidentError> {
    let g = gather(session, cfg, id, now).await?;
    Ok(render(&g.incident, &g.metrics, &g.lines, g.has_alerts))
}

/// Incident `id` as of `now` (µs): its figures and its timeline merged from its events, its
/// alerts, the notifications sent for them and its service's deployments from a day before.
pub async fn gather(
    session: &LakeSession,
    cfg: &IncidentsConfig,
    id: &str,
    now: i64,
) -> Result<Gathered, IncidentError> {
    let incident = fold(super::query::events(session).await?)
        .into_iter()
        .find(|i| i.id == id)
        .ok_or_else(|| IncidentError::Unknown(id.to_string()))?;
    let before = i64::try_from(cfg.link_before.as_micros()).unwrap_or(0);
    let from = incident.detected - before - 24 * HOUR_MICROS;
    let to = incident.resolved.unwrap_or(now).max(incident.detected) + HOUR_MICROS;
    let all_alerts = alerts(session, time(from), time(to)).await?;
    let sent = notifications(session, time(from), time(to)).await?;
    let mut m = measure(&incident, all_alerts.as_deref(), sent.as_deref(), cfg, now);
    super::explain_blind_spot(session, &mut m).await?;
    let mut lines = Vec::new();
    for e in &incident.events {
        let mut what = match e.status {
            Status::ActionItem => format!(
                "action item {} ({}): {}",
                e.action_id.as_deref().unwrap_or("?"),
                e.action_state.as_deref().unwrap_or("open"),
                e.message.as_deref().unwrap_or("")
            ),
            s => {
                let mut w = s.name().replace('_', " ");
                if let Some(msg) = &e.message {
                    w.push_str(": ");
                    w.push_str(msg);
                }
                w
            }
        };
        if let Some(a) = &e.author {
            let _ = write!(what, " — {}", a);
        }
        lines.push(Line {
            ts: e.ts,
            source: "incident",
            what,
        });
    }
    let mine: Vec<String> = match &all_alerts {
        Some(a) => {
            let keys: std::collections::BTreeSet<String> =
                linked(&incident, a, cfg).iter().map(|a| a.key()).collect();
            for r in a.iter().filter(|r| keys.contains(&r.key())) {
                lines.push(Line {
                    ts: r.event_time,
                    source: "alert",
                    what: format!(
                        "{} {} {} on {}{}",
                        r.severity,
                        &r.rule,
                        r.change,
                        &r.entity,
                        r.value
                            .map(|v| format!(
                                " (value {}, threshold {})",
                                crate::report::format::num(v),
                                r.threshold.map_or("-".into(), crate::report::format::num)
                            ))
                            .unwrap_or_default()
                    ),
                });
            }
            keys.into_iter().collect()
        }
        None => Vec::new(),
    };
    if let (Some(sent), Some(all)) = (&sent, &all_alerts) {
        for s in sent.iter().filter(|s| mine.contains(&s.alert)) {
            // on the event timeline: the transition's time plus the delivery delay
            let decided = all
                .iter()
                .find(|a| a.key() == s.alert && a.event_time == s.event_time)
                .map_or(s.event_time, |a| a.wall_time);
            lines.push(Line {
                ts: s.event_time + (s.wall_time - decided).max(0),
                source: "notification",
                what: format!("{} notified on {}", &s.change, &s.channel),
            });
        }
    }
    for d in deployments(session, time(m.impact_start - 24 * HOUR_MICROS), time(to))
        .await?
        .into_iter()
        .filter(|d| incident.service.as_deref().is_none_or(|s| s == d.service))
    {
        lines.push(Line {
            ts: d.ts,
            source: "deployment",
            what: format!(
                "{} {} {}{}",
                &d.service,
                &d.version,
                &d.phase,
                d.description
                    .as_deref()
                    .map(|x| format!(": {}", x))
                    .unwrap_or_default()
            ),
        });
    }
    lines.sort_by_key(|l| l.ts);
    Ok(Gathered {
        incident,
        metrics: m,
        lines,
        has_alerts: all_alerts.is_some(),
    })
}

fn figure(v: Option<f64>) -> String {
    v.map_or("—".into(), span)
}

fn render(i: &Incident, m: &IncidentMetrics, lines: &[Line], has_alerts: bool) -> String {
    let mut s = String::new();
    let title = i
        .title
        .as_deref()
        .map(md)
        .unwrap_or_else(|| "_title_".into());
    let service = i.service.as_deref().map(md).unwrap_or_else(|| "—".into());
    let _ = writeln!(s, "# Post-mortem: {} — {title}\n", md(&i.id));
    let _ = writeln!(s, "> Blameless: this is about how our systems and processes let this happen and how they helped or hindered the response — not about who did what. Write what people knew at the time, not what we know now.\n");
    let _ = writeln!(s, "Severity: **{}** · Service: **{service}** · State: {} · Document status: draft · Author: _ · Reviewers: _\n", i.severity, m.state);
    let _ = writeln!(s, "## Summary\n\n_What happened, to whom, for how long, and how it ended — three sentences for someone who was not there._\n");
    let _ = writeln!(s, "## Impact\n");
    let _ = writeln!(s, "| | |\n|---|---|");
    let _ = writeln!(
        s,
        "| impact start | {} UTC (from the {}) |",
        when(m.impact_start),
        m.impact_start_from
    );
    let _ = writeln!(s, "| detected | {} UTC |", when(m.detected_at));
    for (name, t) in [("mitigated", m.mitigated_at), ("resolved", m.resolved_at)] {
        let _ = writeln!(
            s,
            "| {name} | {} |",
            t.map_or("—".into(), |t| format!("{} UTC", when(t)))
        );
    }
    let _ = writeln!(
        s,
        "| users and requests affected | _fill in from the query below_ |\n"
    );
    if let Some(svc) = &i.service {
        let end = m.mitigated_at.or(m.resolved_at).unwrap_or(m.detected_at);
        let _ = writeln!(
            s,
            "```sql\n-- postlaunch sql --lake <lake> -f this.sql\nSELECT count(*) AS requests, sum(CASE WHEN status >= 500 THEN 1 ELSE 0 END) AS errors,\n       count(DISTINCT user_id) AS users\nFROM requests\nWHERE service = {} AND ts >= TIMESTAMP '{}' AND ts < TIMESTAMP '{}';\n```\n",
            crate::query::sql::quote(svc),
            when(m.impact_start),
            when(end)
        );
    }
    let _ = writeln!(s, "## Response against the protocol\n");
    let _ = writeln!(s, "| figure | value |\n|---|---|");
    let _ = writeln!(
        s,
        "| MTTD (impact start → first alert) | {} |",
        figure(m.mttd_s)
    );
    let _ = writeln!(
        s,
        "| time to notify (first alert → first person told{}) | {} |",
        m.notified_on
            .as_deref()
            .map(|c| format!(", on {}", md(c)))
            .unwrap_or_default(),
        figure(m.time_to_notify_s)
    );
    let _ = writeln!(s, "| MTTA (told → acknowledged) | {} |", figure(m.mtta_s));
    let _ = writeln!(
        s,
        "| response (told → mitigation started) | {} |",
        figure(m.response_s)
    );
    let _ = writeln!(
        s,
        "| time to mitigate (impact start → mitigated) | {} |",
        figure(m.time_to_mitigate_s)
    );
    let _ = writeln!(
        s,
        "| MTTR (impact start → resolved) | {} |",
        figure(m.mttr_s)
    );
    let _ = writeln!(
        s,
        "| stakeholder updates (longest gap; late) | {} ({}; {} late) |",
        m.updates,
        figure(m.max_update_gap_s),
        m.late_updates
    );
    let _ = writeln!(
        s,
        "| post-mortem due | {}{} |\n",
        m.postmortem_due
            .map_or("when resolved".into(), |t| format!("{} UTC", when(t))),
        if m.postmortem_late {
            " — **late**"
        } else {
            ""
        }
    );
    let _ = writeln!(s, "## Detection\n");
    match (m.blind_spot, &m.first_alert) {
        (Some(false), Some(a)) => {
            let _ = writeln!(
                s,
                "First alert: {} at {} UTC. _Did it point at the cause? Was its severity right?_\n",
                md(a),
                m.first_alert_at.map(when).unwrap_or_default()
            );
        }
        (Some(true), _) => {
            let _ = writeln!(
                s,
                "**Blind spot: no alert fired before the incident was detected.**"
            );
            match (&m.moved_first, &m.candidate_rule) {
                (Some(mv), Some(rule)) => {
                    let _ = writeln!(s, "The metric that moved first: {}.\nCandidate rule for `pipelines/alerts.toml`: `{}`\n", md(mv), rule.replace('`', "'"));
                }
                _ => {
                    let _ = writeln!(s, "No hourly figure of the service moved beyond its band: _what would have shown it?_\n");
                }
            }
        }
        _ => {
            let _ = writeln!(
                s,
                "{}\n",
                if has_alerts {
                    "_How was it detected?_"
                } else {
                    "_How was it detected?_ (the lake has no `alerts` table to tell)"
                }
            );
        }
    }
    let _ = writeln!(s, "## Timeline (UTC)\n");
    let _ = writeln!(s, "| time | source | what |\n|---|---|---|");
    for l in lines {
        let _ = writeln!(s, "| {} | {} | {} |", when(l.ts), l.source, md(&l.what));
    }
    let _ = writeln!(s, "\n## Root cause and trigger\n\n_Ask why until the answer is a system or a process, not a person._\n");
    let _ = writeln!(
        s,
        "## What went well\n\n- _\n\n## What went wrong\n\n- _\n\n## Where we got lucky\n\n- _\n"
    );
    let _ = writeln!(
        s,
        "## Action items\n\n| id | state | item | owner | due |\n|---|---|---|---|---|"
    );
    for (id, (state, text)) in &i.actions {
        let _ = writeln!(s, "| {} | {} | {} | _ | _ |", md(id), md(state), md(text));
    }
    let _ = writeln!(
        s,
        "| _ | open | _prevent: …_ | _ | _ |\n| _ | open | _detect sooner: …_ | _ | _ |"
    );
    let _ = writeln!(s, "\nRecord each with `postlaunch incident action {} --id A1 --state open -m \"…\"`; publish with `postlaunch incident postmortem {} --url <link>`.", md(&i.id), md(&i.id));
    s
}
