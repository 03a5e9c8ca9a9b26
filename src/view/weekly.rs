//! `postlaunch report weekly --week 2026-W46`: the weekly optimisation retrospective as a
//! [`Document`] — the week's metric trends against the week before (significant changes first),
//! each service's daily p95 and error rate over both weeks with the deployments marked, the
//! optimisations measured, the new candidates (`opportunities`), the incidents and the alert
//! noise of the week. Every figure comes from the function the matching command uses (`trends`,
//! `impact`, `incidents`, `alerts review`), so the report and the terminal agree.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Duration, Utc};

use super::chart::{line_chart, Marker, Options, Series};
use super::document::{Cell, Document, Section};
use super::query;
use super::ViewError;
use crate::incident::config::IncidentsConfig;
use crate::incident::metrics::span;
use crate::query::LakeSession;
use crate::report::format::{num, p_value, pct};
use crate::trends::{self, output::TrendTable, Periods, Request};

/// A chart's points: (x, y).
type Points = Vec<(f64, f64)>;

/// Significance for "significant changes first".
const ALPHA: f64 = 0.05;

fn opt(x: Option<f64>, f: fn(f64) -> String) -> String {
    x.map_or("—".into(), f)
}

fn secs(x: Option<f64>) -> String {
    x.map_or("—".into(), span)
}

/// Trends as table rows — metric, entity, both values, change, p-value — significant changes
/// first (p < [`ALPHA`]), then by the size of the relative change; a change of `highlight` or more
/// is marked. Also how many are significant.
pub(super) fn trend_cells(
    trends: &[trends::Trend],
    highlight: Option<f64>,
) -> (Vec<Vec<Cell>>, usize) {
    let significant = |t: &trends::Trend| t.p_value.is_some_and(|p| p < ALPHA);
    let mut rows: Vec<&trends::Trend> = trends.iter().collect();
    rows.sort_by(|a, b| {
        significant(b).cmp(&significant(a)).then(
            b.rel_change
                .unwrap_or(0.0)
                .abs()
                .total_cmp(&a.rel_change.unwrap_or(0.0).abs()),
        )
    });
    let cells = rows
        .iter()
        .map(|t| {
            let class = match (t.rel_change, highlight) {
                (Some(r), Some(h)) if r.abs() >= h => "bad",
                _ => "num",
            };
            vec![
                Cell::text(&t.metric),
                Cell::text(&t.entity),
                Cell::num(num(t.this_week)),
                Cell::num(num(t.last_week)),
                Cell::with(opt(t.rel_change, pct), class),
                Cell::num(opt(t.p_value, p_value)),
            ]
        })
        .collect();
    (cells, trends.iter().filter(|t| significant(t)).count())
}

/// Each measured deployment's verdict, once (every row of a deployment carries it).
pub(super) fn verdict_lines(rows: &[query::Optimisation]) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for o in rows {
        let line = format!(
            "{}: {}",
            o.deployment,
            o.verdict.as_deref().unwrap_or("no verdict")
        );
        if !lines.contains(&line) {
            lines.push(line);
        }
    }
    lines
}

/// The weekly retrospective of the ISO week starting `monday`, as of `now`.
pub async fn weekly(
    session: &LakeSession,
    lake: &Path,
    monday: DateTime<Utc>,
    incidents: &IncidentsConfig,
    assessment: &crate::assess::Settings,
    now: DateTime<Utc>,
) -> Result<Document, ViewError> {
    let periods = Periods::week(monday);
    let (from, to) = (periods.this_from, periods.this_to);
    let week = trends::week_name(monday);
    let last = trends::week_name(periods.last_from);
    let review = trends::review(
        session,
        lake,
        Request {
            periods,
            table: TrendTable::Weekly,
            funnels: &[],
            write: false,
            at: now,
        },
    )
    .await?;
    let mut sections = Vec::new();

    // 1. trends: significant changes first, then by the size of the change
    let mut s = Section::new(format!("Metric trends, {week} against {last}"));
    if review.trends.is_empty() {
        s = s.note(format!(
            "no weekly figures for {week} and {last}: run `postlaunch hourly --all` over both weeks"
        ));
    } else {
        let (cells, n_sig) = trend_cells(&review.trends, Some(0.2));
        s = s.text(format!(
            "{} metrics compared; {n_sig} changed significantly (two-proportion test, p < {ALPHA}; only rates have a test).",
            review.trends.len()
        ));
        s = s.table(
            &["metric", "entity", &week, &last, "change", "p-value"],
            cells,
        );
    }
    for why in &review.skipped {
        s = s.note(format!("skipped: {why}"));
    }
    sections.push(s);

    // 2. daily p95 and error rate per service, both weeks, deployments marked
    let mut s = Section::new("Services, day by day");
    match query::service_daily(session, periods.last_from, to).await? {
        None => s = s.note("no `hourly_service_metrics`: run `postlaunch hourly --all`"),
        Some(days) => {
            let deployments = crate::incident::query::deployments(session, periods.last_from, to)
                .await?
                .into_iter()
                .filter(|d| d.phase == "completed" || d.phase == "rolled_back")
                .map(|d| Marker {
                    x: d.ts as f64,
                    label: format!("{}@{} {}", d.service, d.version, d.phase),
                })
                .collect::<Vec<_>>();
            // per service: (day, p95 ms) and (day, 5xx %)
            let mut p95: BTreeMap<&str, Points> = BTreeMap::new();
            let mut errors: BTreeMap<&str, Points> = BTreeMap::new();
            for d in &days {
                let day = d.day as f64;
                p95.entry(&d.service).or_default().push((day, d.p95_ms));
                errors
                    .entry(&d.service)
                    .or_default()
                    .push((day, d.error_rate * 100.0));
            }
            let series = |by: &BTreeMap<&str, Points>| {
                by.iter()
                    .map(|(name, points)| Series {
                        name: name.to_string(),
                        points: points.clone(),
                    })
                    .collect::<Vec<_>>()
            };
            let names: Vec<&str> = p95.keys().copied().collect();
            s = s
                .chart(
                    line_chart(
                        &series(&p95),
                        &deployments,
                        &Options {
                            title: format!("p95 latency per day, {last} and {week}"),
                            unit: " ms".into(),
                            ..Options::default()
                        },
                    ),
                    format!(
                        "p95 latency per day of {} over {last} and {week}, deployments marked",
                        names.join(", ")
                    ),
                )
                .chart(
                    line_chart(
                        &series(&errors),
                        &deployments,
                        &Options {
                            title: format!("5xx share per day, {last} and {week}"),
                            unit: " %".into(),
                            ..Options::default()
                        },
                    ),
                    format!("share of 5xx responses per day of {}", names.join(", ")),
                );
        }
    }
    sections.push(s);

    // 3. optimisations measured
    let mut s = Section::new("Optimisations measured");
    match query::optimisations(session, periods.last_from, to).await? {
        None => {
            s = s.note("no `deployment_impact` table: measure deployments with `postlaunch impact`")
        }
        Some(rows) if rows.is_empty() => {
            s = s.note(format!(
                "no deployment finished in {last} or {week} was measured"
            ))
        }
        Some(rows) => {
            let cells = rows
                .iter()
                .map(|o| {
                    let class = match o.hypothesis_result.as_deref() {
                        Some("held") => "good",
                        Some("backfire") | Some("backfired") => "bad",
                        _ => "",
                    };
                    vec![
                        Cell::text(&o.deployment),
                        Cell::text(o.comparison.clone().unwrap_or_default()),
                        Cell::text(&o.metric),
                        Cell::num(opt(o.baseline_value, num)),
                        Cell::num(opt(o.after_value, num)),
                        Cell::num(opt(o.relative_effect, pct)),
                        Cell::num(opt(o.p_value, p_value)),
                        Cell::with(o.hypothesis_result.clone().unwrap_or_default(), class),
                    ]
                })
                .collect();
            s = s.table(
                &[
                    "deployment",
                    "comparison",
                    "metric",
                    "before",
                    "after",
                    "change",
                    "p-value",
                    "hypothesis",
                ],
                cells,
            );
            s = s.list(verdict_lines(&rows));
        }
    }
    sections.push(s);

    // 4. new candidates
    let mut s = Section::new("New candidates (opportunities)");
    if review.opportunities.is_empty() {
        s = s.note("no opportunities found this week");
    } else {
        let mut ops = review.opportunities.clone();
        ops.sort_by_key(|o| std::cmp::Reverse(o.reach));
        let cells = ops
            .iter()
            .map(|o| {
                vec![
                    Cell::text(&o.kind),
                    Cell::text(&o.subject),
                    Cell::text(&o.detail),
                    Cell::num(format!(
                        "{} {}",
                        crate::report::format::thousands(u64::try_from(o.reach).unwrap_or(0)),
                        o.reach_unit
                    )),
                ]
            })
            .collect();
        s = s.table(&["kind", "subject", "detail", "reach"], cells);
    }
    sections.push(s);

    // 5. incidents of the week
    let mut s = Section::new("Incidents");
    let week_range = (Some(from.timestamp_micros()), Some(to.timestamp_micros()));
    let inc = crate::incident::review(
        session,
        lake,
        incidents,
        week_range,
        now.timestamp_micros(),
        false,
    )
    .await?;
    if inc.rows.is_empty() {
        s = s.note(format!("no incident was opened in {week}"));
    } else {
        let cells = inc
            .rows
            .iter()
            .map(|r| {
                vec![
                    Cell::text(&r.incident_id),
                    Cell::text(r.severity.to_string()),
                    Cell::text(r.service.clone().unwrap_or_default()),
                    Cell::text(crate::report::format::truncate(
                        r.title.as_deref().unwrap_or_default(),
                        80,
                    )),
                    Cell::num(secs(r.mttd_s)),
                    Cell::num(secs(r.mtta_s)),
                    Cell::num(secs(r.mttr_s)),
                    match r.blind_spot {
                        Some(true) => Cell::with("yes", "bad"),
                        Some(false) => Cell::text("no"),
                        None => Cell::text("—"),
                    },
                ]
            })
            .collect();
        s = s
            .table(
                &[
                    "incident",
                    "severity",
                    "service",
                    "title",
                    "MTTD",
                    "MTTA",
                    "MTTR",
                    "blind spot",
                ],
                cells,
            )
            .list(crate::incident::output::rollup_lines(&inc.rollups));
        for r in inc.rows.iter().filter(|r| r.blind_spot == Some(true)) {
            if let (Some(m), Some(c)) = (&r.moved_first, &r.candidate_rule) {
                s = s.text(format!(
                    "{} was a blind spot: {m}. Candidate rule: {c}",
                    r.incident_id
                ));
            }
        }
    }
    for n in &inc.notes {
        s = s.note(n.clone());
    }
    sections.push(s);

    // 6. alert noise
    let mut s = Section::new("Alert noise");
    match crate::alert::review::review(session, from, to).await? {
        None => s = s.note("no `alerts` table: alerts are stored by the live ingest"),
        Some((_, batches, has_incidents)) => {
            let f = "alerts review";
            let mut cells = Vec::new();
            for b in &batches {
                let rule = crate::query::sql::strings(f, b, "rule")?;
                let fired = crate::query::sql::opt_f64s(f, b, "fired")?;
                let dur = crate::query::sql::opt_f64s(f, b, "median_duration_s")?;
                let flap = crate::query::sql::opt_f64s(f, b, "resolved_within_5m")?;
                let act = crate::query::sql::opt_f64s(f, b, "followed_by_incident")?;
                for i in 0..b.num_rows() {
                    cells.push(vec![
                        Cell::text(rule[i].clone().unwrap_or_default()),
                        Cell::num(opt(fired[i], num)),
                        Cell::num(secs(dur[i])),
                        Cell::num(opt(flap[i], pct)),
                        Cell::num(opt(act[i], pct)),
                    ]);
                }
            }
            if cells.is_empty() {
                s = s.note(format!("no alert fired in {week}"));
            } else {
                s = s.table(
                    &[
                        "rule",
                        "fired",
                        "median duration",
                        "resolved within 5 min",
                        "followed by an incident",
                    ],
                    cells,
                );
            }
            if !has_incidents {
                s = s.note("no `incidents` table: “followed by an incident” is empty");
            }
        }
    }
    sections.push(s);

    // the Phase 8 assessment at the week's end (or now, for the current week)
    sections.push(super::assessment::section(session, lake, assessment, to.min(now)).await?);

    Ok(Document {
        title: format!("Weekly optimisation retrospective — {week}"),
        subtitle: format!(
            "{} to {} against {last}",
            from.format("%Y-%m-%d"),
            (to - Duration::days(1)).format("%Y-%m-%d")
        ),
        footer: format!(
            "postlaunch report weekly --week {week} · lake {} · made {}",
            lake.display(),
            now.format("%Y-%m-%d %H:%M UTC")
        ),
        sections,
    })
}
