//! Per incident, the response measured on one timeline (event time): MTTD (impact start → first
//! alert), time to notify (first alert → first person told), MTTA (told → acknowledged), response
//! (told → mitigation started), time to mitigate and MTTR (impact start → mitigated, resolved),
//! the stakeholder updates and the longest gap between them, the post-mortem's due date and
//! whether it is late, the action items; and the roll-ups against the protocol's SLOs.
//!
//! Where each instant comes from:
//! * impact start: recorded (`impact_start` of an event), else the onset of the first alert
//!   (the sequential test's estimate of when the change began), else the detection;
//! * the incident's alerts: those it names (`alerts`), and those of its service firing from
//!   `link_before` before its detection until its resolution;
//! * told: the first delivered notification of one of its firing transitions, placed on the
//!   event timeline as the transition's event time plus the delivery delay (delivered − decided,
//!   both wall clock) — so a replay of old events measures the same as the live path did.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::config::IncidentsConfig;
use super::query::{AlertRow, Sent};
use super::{Event, Status};
use crate::alert::Severity;

const SECOND: f64 = 1e6;

/// One incident: its events folded.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    pub id: String,
    /// The latest severity recorded.
    pub severity: Severity,
    pub service: Option<String>,
    pub title: Option<String>,
    /// The first `detected` (else the first event).
    pub detected: i64,
    /// The earliest impact start recorded.
    pub impact_recorded: Option<i64>,
    pub acknowledged: Option<i64>,
    pub mitigating: Option<i64>,
    pub mitigated: Option<i64>,
    pub resolved: Option<i64>,
    pub postmortem: Option<i64>,
    pub postmortem_link: Option<String>,
    /// Alert keys named by its events.
    pub linked: BTreeSet<String>,
    /// action id → (state, text), the latest of each.
    pub actions: BTreeMap<String, (String, String)>,
    pub events: Vec<Event>,
}

impl Incident {
    /// Open until resolved.
    pub fn is_open(&self) -> bool {
        self.resolved.is_none()
    }

    /// The stakeholder updates: every event of a person that tells where things stand, after
    /// detection (postlaunch's own notes — an alert linked or resolved — are not updates).
    pub fn updates(&self) -> Vec<i64> {
        self.events
            .iter()
            .filter(|e| e.author.as_deref() != Some("postlaunch"))
            .filter(|e| {
                matches!(
                    e.status,
                    Status::Acknowledged
                        | Status::Update
                        | Status::Mitigating
                        | Status::Mitigated
                        | Status::Resolved
                ) && e.ts >= self.detected
            })
            .map(|e| e.ts)
            .collect()
    }
}

/// Folds events (any order) into incidents, in order of detection.
pub fn fold(mut events: Vec<Event>) -> Vec<Incident> {
    events.sort_by(|a, b| (&a.incident_id, a.ts).cmp(&(&b.incident_id, b.ts)));
    let mut out: Vec<Incident> = Vec::new();
    for e in events {
        if out.last().is_none_or(|i| i.id != e.incident_id) {
            out.push(Incident {
                id: e.incident_id.clone(),
                severity: e.severity,
                service: None,
                title: None,
                detected: e.ts,
                impact_recorded: None,
                acknowledged: None,
                mitigating: None,
                mitigated: None,
                resolved: None,
                postmortem: None,
                postmortem_link: None,
                linked: BTreeSet::new(),
                actions: BTreeMap::new(),
                events: Vec::new(),
            });
        }
        let i = out.last_mut().expect("pushed above");
        i.severity = e.severity;
        if i.service.is_none() {
            i.service = e.service.clone().filter(|s| !s.is_empty());
        }
        if i.title.is_none() {
            i.title = e.title.clone();
        }
        if let Some(t) = e.impact_start {
            i.impact_recorded = Some(i.impact_recorded.map_or(t, |x| x.min(t)));
        }
        if let Some(a) = &e.alerts {
            i.linked.extend(a.split_whitespace().map(String::from));
        }
        let first = |slot: &mut Option<i64>| {
            slot.get_or_insert(e.ts);
        };
        match e.status {
            Status::Detected => {
                if !i.events.iter().any(|x| x.status == Status::Detected) {
                    i.detected = e.ts;
                }
            }
            Status::Acknowledged => first(&mut i.acknowledged),
            Status::Mitigating => first(&mut i.mitigating),
            Status::Mitigated => first(&mut i.mitigated),
            // a later resolution (reopened, resolved again) is the one that counts
            Status::Resolved => i.resolved = Some(e.ts),
            Status::PostmortemPublished => {
                first(&mut i.postmortem);
                if e.message.is_some() {
                    i.postmortem_link = e.message.clone();
                }
            }
            Status::ActionItem => {
                if let Some(id) = &e.action_id {
                    let text = e
                        .message
                        .clone()
                        .or_else(|| i.actions.get(id).map(|a| a.1.clone()))
                        .unwrap_or_default();
                    let state = e.action_state.clone().unwrap_or_else(|| "open".into());
                    i.actions.insert(id.clone(), (state, text));
                }
            }
            Status::Update => {}
        }
        i.events.push(e);
    }
    out.sort_by_key(|i| (i.detected, i.id.clone()));
    out
}

/// One row of `incident_metrics`. Durations in seconds; `None` where the instant is not known
/// (not acknowledged yet, no alert, no notification).
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentMetrics {
    pub incident_id: String,
    pub severity: Severity,
    pub service: Option<String>,
    pub title: Option<String>,
    /// open, mitigated, resolved, closed (post-mortem published).
    pub state: &'static str,
    pub impact_start: i64,
    /// recorded, alert onset or detection.
    pub impact_start_from: &'static str,
    pub detected_at: i64,
    pub first_alert_at: Option<i64>,
    pub first_alert: Option<String>,
    pub notified_at: Option<i64>,
    pub notified_on: Option<String>,
    pub acknowledged_at: Option<i64>,
    pub mitigation_started_at: Option<i64>,
    pub mitigated_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub postmortem_at: Option<i64>,
    pub postmortem_due: Option<i64>,
    pub mttd_s: Option<f64>,
    pub time_to_notify_s: Option<f64>,
    pub mtta_s: Option<f64>,
    pub response_s: Option<f64>,
    pub time_to_mitigate_s: Option<f64>,
    pub mttr_s: Option<f64>,
    /// Stakeholder updates after detection (acknowledgement, updates, mitigation, resolution).
    pub updates: u32,
    /// The longest stretch without an update while open (to now when still open).
    pub max_update_gap_s: Option<f64>,
    /// Gaps longer than the severity's `update_every` (none owed: 0).
    pub late_updates: u32,
    pub postmortem_late: bool,
    pub actions_open: u32,
    pub actions_done: u32,
    /// The incident's alerts (their keys, space-separated).
    pub alerts: String,
    /// No alert fired before it was detected (`None`: no `alerts` table to judge by).
    pub blind_spot: Option<bool>,
    /// For a blind spot: the metric that moved first and the rule that would have seen it.
    pub moved_first: Option<String>,
    pub candidate_rule: Option<String>,
}

fn secs(from: Option<i64>, to: Option<i64>) -> Option<f64> {
    Some((to? - from?) as f64 / SECOND)
}

/// The alerts of `i` among `alerts`: named by it, or of its service firing from `link_before`
/// before its detection to its resolution. Firing and escalated transitions, in time order.
pub fn linked<'a>(
    i: &Incident,
    alerts: &'a [AlertRow],
    cfg: &IncidentsConfig,
) -> Vec<&'a AlertRow> {
    let before = i64::try_from(cfg.link_before.as_micros()).unwrap_or(i64::MAX);
    let until = i.resolved.unwrap_or(i64::MAX);
    let mut out: Vec<&AlertRow> = alerts
        .iter()
        .filter(|a| a.fires())
        .filter(|a| {
            i.linked.contains(&a.key())
                || (a.entity_kind == "service"
                    && i.service.as_deref() == Some(a.entity.as_str())
                    && a.event_time >= i.detected.saturating_sub(before)
                    && a.event_time <= until)
        })
        .collect();
    out.sort_by_key(|a| (a.event_time, a.wall_time));
    out
}

/// The first person told of any of `alerts`: (when on the event timeline, the channel).
fn first_told(alerts: &[&AlertRow], sent: &[Sent]) -> Option<(i64, String)> {
    let mut best: Option<(i64, String)> = None;
    for a in alerts {
        let key = a.key();
        for s in sent
            .iter()
            .filter(|s| s.alert == key && s.event_time == a.event_time && s.change != "resolved")
        {
            let at = a.event_time + (s.wall_time - a.wall_time).max(0);
            if best.as_ref().is_none_or(|b| at < b.0) {
                best = Some((at, s.channel.clone()));
            }
        }
    }
    best
}

/// The figures of `i` as of `now` (µs; the end of a still-open incident's current gap).
/// `alerts`/`sent`: `None` when the lake has no such table (then what needs them is `None`).
pub fn measure(
    i: &Incident,
    alerts: Option<&[AlertRow]>,
    sent: Option<&[Sent]>,
    cfg: &IncidentsConfig,
    now: i64,
) -> IncidentMetrics {
    let mine = alerts.map(|a| linked(i, a, cfg)).unwrap_or_default();
    let first = mine.first().copied();
    let (impact_start, impact_start_from) = match (i.impact_recorded, first) {
        (Some(t), _) => (t, "recorded"),
        (None, Some(a)) => (
            a.onset.unwrap_or(a.event_time).min(i.detected),
            "alert onset",
        ),
        (None, None) => (i.detected, "detection"),
    };
    let told = sent.and_then(|s| first_told(&mine, s));
    let notified_at = told.as_ref().map(|t| t.0);
    // responses count from the page, or from the detection when nobody was paged
    let told_or_detected = Some(notified_at.unwrap_or(i.detected));
    let mitigation_started = i.mitigating.or(i.mitigated);
    let postmortem_due = i
        .resolved
        .map(|r| r + i64::try_from(cfg.slo.postmortem.as_micros()).unwrap_or(i64::MAX / 4));
    let postmortem_late = match (postmortem_due, i.postmortem) {
        (Some(due), Some(p)) => p > due,
        (Some(due), None) => now > due,
        _ => false,
    };
    // stakeholder updates: the gaps from detection through each update to the resolution (or now)
    let updates = i.updates();
    let end = i.resolved.unwrap_or(now.max(i.detected));
    let mut marks = vec![i.detected];
    marks.extend(updates.iter().copied().filter(|t| *t <= end));
    marks.push(end);
    marks.sort_unstable();
    let gaps: Vec<i64> = marks.windows(2).map(|w| w[1] - w[0]).collect();
    let max_gap = gaps.iter().copied().max();
    let late_updates = match cfg.update_interval(i.severity) {
        Some(every) => {
            let every = i64::try_from(every.as_micros()).unwrap_or(i64::MAX);
            gaps.iter().filter(|g| **g > every).count() as u32
        }
        None => 0,
    };
    let state = if i.postmortem.is_some() && i.resolved.is_some() {
        "closed"
    } else if i.resolved.is_some() {
        "resolved"
    } else if i.mitigated.is_some() {
        "mitigated"
    } else {
        "open"
    };
    let actions_done = i.actions.values().filter(|a| a.0 == "done").count() as u32;
    let mut keys: BTreeSet<String> = mine.iter().map(|a| a.key()).collect();
    keys.extend(i.linked.iter().cloned());
    IncidentMetrics {
        incident_id: i.id.clone(),
        severity: i.severity,
        service: i.service.clone(),
        title: i.title.clone(),
        state,
        impact_start,
        impact_start_from,
        detected_at: i.detected,
        first_alert_at: first.map(|a| a.event_time),
        first_alert: first.map(|a| format!("{} {} on {}", a.severity, a.rule, a.entity)),
        notified_at,
        notified_on: told.map(|t| t.1),
        acknowledged_at: i.acknowledged,
        mitigation_started_at: mitigation_started,
        mitigated_at: i.mitigated,
        resolved_at: i.resolved,
        postmortem_at: i.postmortem,
        postmortem_due,
        mttd_s: first.map(|a| ((a.event_time - impact_start).max(0)) as f64 / SECOND),
        time_to_notify_s: secs(first.map(|a| a.event_time), notified_at),
        mtta_s: secs(told_or_detected, i.acknowledged),
        response_s: secs(told_or_detected, mitigation_started),
        time_to_mitigate_s: secs(Some(impact_start), i.mitigated),
        mttr_s: secs(Some(impact_start), i.resolved),
        updates: updates.len() as u32,
        max_update_gap_s: max_gap.map(|g| g as f64 / SECOND),
        late_updates,
        postmortem_late,
        actions_open: i.actions.len() as u32 - actions_done,
        actions_done,
        alerts: keys.into_iter().collect::<Vec<_>>().join(" "),
        blind_spot: alerts.map(|_| first.is_none_or(|a| a.event_time > i.detected)),
        moved_first: None,
        candidate_rule: None,
    }
}

/// One of the protocol's incident SLOs over a set of incidents.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rollup {
    /// detection, response, resolution, postmortem.
    pub slo: &'static str,
    /// What is measured against what, in words.
    pub objective: String,
    /// Incidents of the SLO's severities in the set.
    pub incidents: usize,
    /// Of them, those with the figure (e.g. resolved ones for resolution).
    pub measured: usize,
    /// Of those, within the objective.
    pub within: usize,
    /// The figure compared: the p95 for response, the worst for the others (s).
    pub value_s: Option<f64>,
    pub objective_s: f64,
    /// `None`: nothing measured.
    pub met: Option<bool>,
}

/// The roll-ups of `rows` against `cfg.slo`.
pub fn rollups(rows: &[IncidentMetrics], cfg: &IncidentsConfig) -> Vec<Rollup> {
    let slo = &cfg.slo;
    let sev: Vec<&IncidentMetrics> = rows
        .iter()
        .filter(|r| slo.severities.contains(&r.severity))
        .collect();
    let names: Vec<String> = slo.severities.iter().map(|s| s.to_string()).collect();
    let names = names.join("/");
    let every = |name: &'static str,
                 objective: String,
                 limit: f64,
                 f: &dyn Fn(&IncidentMetrics) -> Option<f64>| {
        let vals: Vec<f64> = sev.iter().filter_map(|r| f(r)).collect();
        let within = vals.iter().filter(|v| **v < limit).count();
        Rollup {
            slo: name,
            objective,
            incidents: sev.len(),
            measured: vals.len(),
            within,
            value_s: vals.iter().copied().reduce(f64::max),
            objective_s: limit,
            met: (!vals.is_empty()).then_some(within == vals.len()),
        }
    };
    let d = slo.detection.as_secs_f64();
    let mut out = vec![every(
        "detection",
        format!(
            "{names} detection (impact start → first alert) < {}",
            span(d)
        ),
        d,
        &|r| r.mttd_s,
    )];
    let r = slo.response.as_secs_f64();
    let q = slo.response_quantile;
    let mut resp: Vec<f64> = sev.iter().filter_map(|x| x.response_s).collect();
    resp.sort_by(f64::total_cmp);
    let p = (!resp.is_empty()).then(|| crate::stats::two_sample::quantile_with_se(&resp, q).0);
    out.push(Rollup {
        slo: "response",
        objective: format!(
            "{names} response (notification → mitigation start) < {} at p{}",
            span(r),
            q * 100.0
        ),
        incidents: sev.len(),
        measured: resp.len(),
        within: resp.iter().filter(|v| **v < r).count(),
        value_s: p,
        objective_s: r,
        met: p.map(|p| p < r),
    });
    let res = slo.resolution.as_secs_f64();
    out.push(every(
        "resolution",
        format!(
            "{names} resolution (impact start → resolved) < {}",
            span(res)
        ),
        res,
        &|r| r.mttr_s,
    ));
    let pm = slo.postmortem.as_secs_f64();
    out.push(every(
        "postmortem",
        format!(
            "a post-mortem within {} of every {names} resolution",
            span(pm)
        ),
        pm,
        &|r| match (r.resolved_at, r.postmortem_at) {
            (Some(res), Some(p)) => Some((p - res) as f64 / SECOND),
            // due and missing: counted, and past the objective
            (Some(_), None) if r.postmortem_late => Some(f64::INFINITY),
            _ => None,
        },
    ));
    out
}

/// A duration for people: 90 s, 15 min, 2 h, 1.5 d.
pub fn span(s: f64) -> String {
    if !s.is_finite() {
        return "never".into();
    }
    if s < 120.0 {
        format!("{s:.0} s")
    } else if s < 7200.0 {
        format!("{:.0} min", s / 60.0)
    } else if s < 172_800.0 {
        let h = s / 3600.0;
        if (h - h.round()).abs() < 0.05 {
            format!("{:.0} h", h)
        } else {
            format!("{h:.1} h")
        }
    } else {
        format!("{:.1} d", s / 86400.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000_000;
    /// 2026-11-06T19:00:00Z
    const T0: i64 = 1_793_991_600_000_000;

    fn ev(min: i64, status: Status) -> Event {
        let mut e = Event::new(T0 + min * MIN, "INC-2026-001", Severity::P1, status);
        e.service = Some("checkout".into());
        e
    }

    fn alert(min: i64, decided_after_s: i64, change: &str) -> AlertRow {
        AlertRow {
            event_time: T0 + min * MIN,
            wall_time: T0 + min * MIN + decided_after_s * 1_000_000,
            rule: "error_rate".into(),
            entity_kind: "service".into(),
            entity: "checkout".into(),
            change: change.into(),
            severity: Severity::P2,
            onset: Some(T0 + 40 * MIN),
            value: Some(0.3),
            threshold: 0.05.into(),
        }
    }

    /// The demo's incident: burst from 19:40, alert decided at 19:41, paged 8 s after the
    /// decision, detected 19:44, acknowledged 19:49, mitigation 19:55–20:10, resolved 21:50,
    /// post-mortem two days later (late), updates at 20:00 and 20:30.
    fn demo() -> (Incident, Vec<AlertRow>, Vec<Sent>) {
        let mut events = vec![
            ev(44, Status::Detected),
            ev(49, Status::Acknowledged),
            ev(55, Status::Mitigating),
            ev(60, Status::Update),
            ev(70, Status::Mitigated),
            ev(90, Status::Update),
            ev(170, Status::Resolved),
            ev(170 + 2 * 24 * 60, Status::PostmortemPublished),
        ];
        let mut a = ev(100, Status::ActionItem);
        a.action_id = Some("A1".into());
        a.message = Some("retry budget for stripe".into());
        events.push(a.clone());
        a.ts += MIN;
        a.action_state = Some("done".into());
        a.message = None;
        events.push(a);
        let mut other = ev(0, Status::Detected);
        other.incident_id = "INC-2026-000".into();
        events.insert(3, other);
        let incidents = fold(events);
        assert_eq!(incidents.len(), 2);
        let i = incidents
            .into_iter()
            .find(|i| i.id == "INC-2026-001")
            .unwrap();
        let alerts = vec![alert(41, 2, "firing"), alert(80, 1, "resolved")];
        let sent = vec![Sent {
            alert: "postlaunch/error_rate/service/checkout".into(),
            channel: "pagerduty".into(),
            change: "firing".into(),
            event_time: T0 + 41 * MIN,
            wall_time: T0 + 41 * MIN + 10_000_000,
        }];
        (i, alerts, sent)
    }

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-6)
    }

    #[test]
    fn each_figure_runs_between_the_instants_the_protocol_names() {
        let (i, alerts, sent) = demo();
        assert_eq!(
            i.actions["A1"],
            ("done".to_string(), "retry budget for stripe".to_string())
        );
        let cfg = IncidentsConfig::default();
        let m = measure(&i, Some(&alerts), Some(&sent), &cfg, T0 + 10_000 * MIN);
        // impact start: the alert's onset 19:40 (nothing recorded)
        assert_eq!(
            (m.impact_start, m.impact_start_from),
            (T0 + 40 * MIN, "alert onset")
        );
        assert!(close(m.mttd_s, 60.0), "{:?}", m.mttd_s); // 19:40 → 19:41
                                                          // told 10 s after the decision, which came 2 s after the step closed: 8 s on the timeline
        assert!(close(m.time_to_notify_s, 8.0), "{:?}", m.time_to_notify_s);
        assert_eq!(m.notified_on.as_deref(), Some("pagerduty"));
        let told = 41.0 * 60.0 + 8.0;
        assert!(close(m.mtta_s, 49.0 * 60.0 - told));
        assert!(close(m.response_s, 55.0 * 60.0 - told));
        assert!(close(m.time_to_mitigate_s, 30.0 * 60.0));
        assert!(close(m.mttr_s, 130.0 * 60.0));
        // updates 49, 55, 60, 70, 90, 170: gaps 5, 6, 5, 5, 10, 20, 80 min; P1 owes one every 15
        assert_eq!(m.updates, 6);
        assert!(close(m.max_update_gap_s, 80.0 * 60.0));
        assert_eq!(m.late_updates, 2);
        assert!(
            m.postmortem_late,
            "two days after the resolution, due after one"
        );
        assert_eq!((m.actions_open, m.actions_done), (0, 1));
        assert_eq!(m.blind_spot, Some(false));
        assert_eq!(m.state, "closed");
    }

    #[test]
    fn without_alerts_before_detection_an_incident_is_a_blind_spot_and_without_a_table_unknown() {
        let (i, mut alerts, _) = demo();
        let cfg = IncidentsConfig::default();
        // the alert fired only after the humans detected it
        alerts[0].event_time = T0 + 50 * MIN;
        alerts[0].onset = None;
        let m = measure(&i, Some(&alerts), None, &cfg, T0);
        assert_eq!(m.blind_spot, Some(true));
        assert_eq!(m.impact_start_from, "alert onset");
        assert_eq!(
            m.impact_start,
            T0 + 44 * MIN,
            "an onset after detection is the detection"
        );
        assert_eq!(m.notified_at, None);
        // no alerts table: nothing to judge by
        let m = measure(&i, None, None, &cfg, T0);
        assert_eq!(
            (m.blind_spot, m.mttd_s, m.impact_start_from),
            (None, None, "detection")
        );
        // an alert of another service does not count
        alerts[0].event_time = T0 + 41 * MIN;
        alerts[0].entity = "search".into();
        let m = measure(&i, Some(&alerts), None, &cfg, T0);
        assert_eq!(m.blind_spot, Some(true));
    }

    #[test]
    fn an_open_incident_counts_its_current_silence_as_a_late_update() {
        let events = vec![ev(0, Status::Detected), ev(10, Status::Acknowledged)];
        let i = fold(events).remove(0);
        let m = measure(&i, None, None, &IncidentsConfig::default(), T0 + 60 * MIN);
        assert_eq!(m.state, "open");
        assert!(close(m.max_update_gap_s, 50.0 * 60.0));
        assert_eq!(m.late_updates, 1);
        assert!(!m.postmortem_late, "not resolved: nothing due");
    }

    #[test]
    fn rollups_hold_the_p1_figures_against_the_protocol() {
        let cfg = IncidentsConfig::default();
        let (i, alerts, sent) = demo();
        let m = measure(&i, Some(&alerts), Some(&sent), &cfg, T0 + 10_000 * MIN);
        let mut fast = m.clone();
        fast.incident_id = "INC-2026-002".into();
        fast.response_s = Some(60.0);
        fast.mttr_s = Some(3600.0);
        fast.postmortem_at = fast.resolved_at;
        let mut p2 = m.clone();
        p2.severity = Severity::P2;
        p2.mttd_s = Some(3600.0);
        let r = rollups(&[m, fast, p2], &cfg);
        let get = |n: &str| r.iter().find(|x| x.slo == n).unwrap().clone();
        let d = get("detection");
        assert_eq!(
            (d.incidents, d.measured, d.within, d.met),
            (2, 2, 2, Some(true)),
            "the P2 is not counted"
        );
        // response: 60 s and 13 min 52 s; nearest-rank p95 of two values is the larger
        let resp = get("response");
        assert!(close(resp.value_s, 55.0 * 60.0 - (41.0 * 60.0 + 8.0)));
        assert_eq!(resp.met, Some(true));
        let res = get("resolution");
        assert_eq!((res.within, res.measured, res.met), (1, 2, Some(false)));
        let pm = get("postmortem");
        assert_eq!((pm.within, pm.measured, pm.met), (1, 2, Some(false)));
    }

    #[test]
    fn spans_read_as_people_say_them() {
        assert_eq!(span(90.0), "90 s");
        assert_eq!(span(900.0), "15 min");
        assert_eq!(span(7200.0), "2 h");
        assert_eq!(span(5400.0 * 3.0), "4.5 h");
        assert_eq!(span(86400.0), "24 h");
        assert_eq!(span(3.0 * 86400.0), "3.0 d");
    }
}
