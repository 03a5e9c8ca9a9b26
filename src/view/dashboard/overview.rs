//! The Overview page: the alerts firing now, each SLO's status and error budget, and the key
//! number of each category against the range before (week over week for 7 days), each leading to
//! its page.

use chrono::Duration;

use super::{fmt, Context, DashboardError, Frame, Page, Range};
use crate::query::sql::{sql_file, Param, SqlFile};
use crate::view::document::{Cell, Document, Section};

const OVERVIEW: SqlFile = sql_file!("sql/dashboard/overview.sql");
const SLO: SqlFile = sql_file!("sql/dashboard/slo.sql");

/// The key numbers: (page, label, column, formatter, a rise is bad).
type Key = (
    Page,
    &'static str,
    &'static str,
    fn(Option<f64>) -> String,
    Option<bool>,
);

const KEYS: [Key; 12] = [
    (Page::Application, "requests", "requests", fmt::count, None),
    (
        Page::Application,
        "error rate",
        "error_rate",
        fmt::share,
        Some(true),
    ),
    (
        Page::Application,
        "p95 latency",
        "p95_ms",
        fmt::ms,
        Some(true),
    ),
    (
        Page::Infrastructure,
        "CPU (mean)",
        "cpu_avg",
        fmt::share,
        Some(true),
    ),
    (
        Page::Infrastructure,
        "memory (mean)",
        "memory_avg",
        fmt::share,
        Some(true),
    ),
    (
        Page::Database,
        "query p95",
        "query_p95_ms",
        fmt::ms,
        Some(true),
    ),
    (
        Page::Experience,
        "LCP p75",
        "lcp_p75_ms",
        fmt::ms,
        Some(true),
    ),
    (
        Page::Experience,
        "INP p75",
        "inp_p75_ms",
        fmt::ms,
        Some(true),
    ),
    (
        Page::Experience,
        "CLS p75",
        "cls_p75",
        fmt::number,
        Some(true),
    ),
    (Page::Business, "orders", "orders", fmt::count, Some(false)),
    (
        Page::Business,
        "revenue",
        "revenue",
        fmt::number,
        Some(false),
    ),
    (
        Page::Business,
        "conversion",
        "conversion_rate",
        fmt::share,
        Some(false),
    ),
];

pub async fn overview(cx: &Context<'_>) -> Result<Document, DashboardError> {
    let r = &cx.range;
    let mut doc = cx.document("Overview");
    let prev = r.previous();
    let (this_params, prev_params) = (r.tiered_params(), prev.tiered_params());
    let (alerts, slos, now, before) = tokio::try_join!(
        alerts(cx),
        slos(cx),
        cx.frame_with(&OVERVIEW, &this_params),
        cx.frame_with(&OVERVIEW, &prev_params)
    )?;
    doc.sections.push(alerts);
    doc.sections.push(slos);
    let (Some(now), Some(before)) = (now, before) else {
        doc.sections.push(Section::new("Key numbers").note(
            "The lake lacks hourly tables or their daily roll-ups: run `postlaunch hourly --all`.",
        ));
        return Ok(doc);
    };
    let get = |f: &Frame, c: &str| if f.rows > 0 { f.num(c, 0) } else { None };
    let rows = KEYS
        .iter()
        .map(|(page, label, col, show, rise_bad)| {
            let (a, b) = (get(&now, col), get(&before, col));
            let change = match (a, b) {
                (Some(a), Some(b)) if b.abs() > 0.0 => Some(a / b - 1.0),
                _ => None,
            };
            let class = match (change, rise_bad) {
                (Some(c), Some(bad)) if c.abs() >= 0.1 && (c > 0.0) == *bad => "num bad",
                (Some(c), Some(_)) if c.abs() >= 0.1 => "num good",
                _ => "num",
            };
            vec![
                Cell::link(page.title(), super::href(page.path(), r, &[])),
                Cell::text(*label),
                Cell::num(show(a)),
                Cell::num(show(b)),
                Cell::with(fmt::change(change), class),
            ]
        })
        .collect();
    doc.sections.push(
        Section::new("Key numbers")
            .text(format!(
                "This range against the {} before it ({} – {} UTC); changes of 10 % or more are coloured.",
                if r.to - r.from == Duration::days(7) { "week".to_string() } else { "same length".to_string() },
                super::show_time(prev.from),
                super::show_time(prev.to)
            ))
            .table(&["category", "figure", "this range", "before", "change"], rows),
    );
    Ok(doc)
}

async fn alerts(cx: &Context<'_>) -> Result<Section, DashboardError> {
    let s = Section::new("Alerts firing");
    if !cx.session.tables.iter().any(|t| t == "alerts") {
        return Ok(s.note(super::missing(
            "alerts",
            "alerts are stored by `postlaunch ingest`, `run` and `alerts replay`",
        )));
    }
    let active = crate::alert::state::current(cx.session, &["firing", "escalated", "de-escalated"])
        .await
        .map_err(|e| DashboardError::View(e.into()))?;
    if active.is_empty() {
        return Ok(s.text("None: every alert of the lake is resolved."));
    }
    let rows = active
        .iter()
        .map(|a| {
            vec![
                Cell::with(
                    a.severity.to_string(),
                    if matches!(
                        a.severity,
                        crate::alert::Severity::P1 | crate::alert::Severity::P2
                    ) {
                        "bad"
                    } else {
                        ""
                    },
                ),
                Cell::text(&a.rule),
                Cell::text(format!("{} {}", a.entity_kind, a.entity)),
                Cell::text(&a.change),
                Cell::text(super::show_micros(a.onset.unwrap_or(a.event_time))),
            ]
        })
        .collect();
    Ok(s.text("As of the lake's latest alert transition.")
        .table(&["severity", "rule", "entity", "state", "since"], rows))
}

async fn slos(cx: &Context<'_>) -> Result<Section, DashboardError> {
    let s = Section::new("SLOs and error budgets");
    if cx.rules.slos.is_empty() {
        return Ok(s.note("The rules file has no [[slo]]."));
    }
    let mut rows = Vec::new();
    for slo in &cx.rules.slos {
        let spec = slo.rule().slo.expect("an SLO's rule has its spec");
        let window = Duration::from_std(slo.window).unwrap_or(Duration::days(30));
        let range = Range {
            from: cx.range.to - window,
            to: cx.range.to,
            preset: "custom",
        };
        let mut params = range.tiered_params();
        params.push((
            "latency_ms",
            spec.latency_ms
                .map_or(Param::Sql("NULL".into()), Param::Float),
        ));
        let Some(f) = SLO.frame_if_present(cx.session, &params).await? else {
            return Ok(s.note(
                "The lake lacks hourly_service_metrics or daily_service_metrics: run `postlaunch hourly --all`.",
            ));
        };
        for i in (0..f.rows).filter(|&i| {
            slo.service
                .as_deref()
                .is_none_or(|x| x == f.text("service", i))
        }) {
            let (req, bad) = (
                f.num("requests", i).unwrap_or(0.0),
                f.num("bad", i).unwrap_or(0.0),
            );
            let share = bad / req;
            let spent = share / spec.budget;
            rows.push(vec![
                Cell::text(&slo.name),
                Cell::link(
                    f.text("service", i),
                    super::href(
                        Page::Application.path(),
                        &cx.range,
                        &[("service", f.text("service", i))],
                    ),
                ),
                Cell::num(format!(
                    "{} %",
                    crate::report::format::num(100.0 * slo.objective)
                )),
                Cell::num(format!(
                    "{} %",
                    crate::report::format::num(100.0 * (1.0 - share))
                )),
                Cell::num(fmt::count(Some(bad))),
                Cell::with(
                    format!("{} %", crate::report::format::num(100.0 * (1.0 - spent))),
                    if spent > 1.0 {
                        "num bad"
                    } else if spent < 0.5 {
                        "num good"
                    } else {
                        "num"
                    },
                ),
                Cell::with(
                    if spent > 1.0 { "missed" } else { "met" },
                    if spent > 1.0 { "bad" } else { "good" },
                ),
            ]);
        }
    }
    Ok(s.text(format!(
        "Over each SLO's window ending {} UTC: the share of good requests, and the error budget (1 − objective) left.",
        super::show_time(cx.range.to)
    ))
    .table(&["SLO", "service", "objective", "good", "bad requests", "budget left", "status"], rows))
}
