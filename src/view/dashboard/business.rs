//! The Business page: active users, conversion and revenue per day, feature adoption, funnels
//! with their step drop-offs, feedback and NPS.

use super::{chart_options, fmt, missing, series, Context, DashboardError};
use crate::query::sql::{sql_file, SqlFile};
use crate::view::chart::line_chart;
use crate::view::document::{Cell, Document, Section};

const DAYS: SqlFile = sql_file!("sql/dashboard/business_days.sql");
const ADOPTION: SqlFile = sql_file!("sql/dashboard/adoption.sql");
const FUNNELS: SqlFile = sql_file!("sql/dashboard/funnels.sql");
const FEEDBACK: SqlFile = sql_file!("sql/dashboard/feedback.sql");

const ROLLUPS: &str = "run `postlaunch hourly --all` (it writes the daily roll-ups)";

pub async fn business(cx: &Context<'_>) -> Result<Document, DashboardError> {
    let mut doc = cx.document("Business");
    doc.sections.push(match cx.frame(&DAYS).await? {
        None => Section::new("Users, conversion, revenue")
            .note(missing("daily_business_metrics", ROLLUPS)),
        Some(f) => {
            let rows = (0..f.rows)
                .map(|i| {
                    vec![
                        Cell::text(
                            super::show_micros(f.time("day", i).unwrap_or_default())[..10]
                                .to_string(),
                        ),
                        Cell::num(fmt::count(f.num("active_users", i))),
                        Cell::num(fmt::count(f.num("sessions", i))),
                        Cell::num(fmt::count(f.num("purchasing_users", i))),
                        Cell::num(fmt::share(f.num("conversion_rate", i))),
                        Cell::num(fmt::count(f.num("orders", i))),
                        Cell::num(fmt::number(f.num("revenue", i))),
                    ]
                })
                .collect();
            let revenue: f64 = (0..f.rows).filter_map(|i| f.num("revenue", i)).sum();
            let orders: f64 = (0..f.rows).filter_map(|i| f.num("orders", i)).sum();
            Section::new("Users, conversion, revenue")
                .text(format!(
                    "{} orders and {} in revenue over the days of this range.",
                    fmt::count(Some(orders)),
                    fmt::number(Some(revenue))
                ))
                .table(
                    &[
                        "day",
                        "active users",
                        "sessions",
                        "purchasing users",
                        "conversion",
                        "orders",
                        "revenue",
                    ],
                    rows,
                )
                .chart(
                    line_chart(
                        &[series(
                            &f,
                            0..f.rows,
                            "active users",
                            "day",
                            "active_users",
                            1.0,
                        )],
                        &[],
                        &chart_options("daily active users", ""),
                    ),
                    "daily active users",
                )
                .chart(
                    line_chart(
                        &[series(
                            &f,
                            0..f.rows,
                            "conversion",
                            "day",
                            "conversion_rate",
                            100.0,
                        )],
                        &[],
                        &chart_options("daily conversion", "%"),
                    ),
                    "share of active users who purchased, per day",
                )
        }
    });
    doc.sections.push(match cx.frame(&FUNNELS).await? {
        None => Section::new("Funnels").note(missing(
            "daily_funnel_steps",
            "run `postlaunch funnel --write-daily` to store every funnel per day of entry",
        )),
        Some(f) if f.rows == 0 => Section::new("Funnels").note("No funnel entries in this range."),
        Some(f) => Section::new("Funnels").table(
            &[
                "funnel",
                "step",
                "users",
                "from previous",
                "from start",
                "dropped since previous",
            ],
            (0..f.rows)
                .map(|i| {
                    vec![
                        Cell::text(f.text("funnel", i)),
                        Cell::text(format!(
                            "{}. {}",
                            fmt::count(f.num("step", i)),
                            f.text("label", i)
                        )),
                        Cell::num(fmt::count(f.num("users", i))),
                        Cell::num(fmt::share(f.num("conversion_from_previous", i))),
                        Cell::num(fmt::share(f.num("conversion_from_start", i))),
                        Cell::num(fmt::count(f.num("dropped", i))),
                    ]
                })
                .collect(),
        ),
    });
    doc.sections.push(match cx.frame(&ADOPTION).await? {
        None => Section::new("Feature adoption").note(missing("daily_feature_adoption", ROLLUPS)),
        Some(f) => Section::new("Feature adoption").table(
            &[
                "feature event",
                "days",
                "users",
                "events",
                "mean daily adoption",
            ],
            (0..f.rows)
                .map(|i| {
                    vec![
                        Cell::text(f.text("event", i)),
                        Cell::num(fmt::count(f.num("days", i))),
                        Cell::num(fmt::count(f.num("users", i))),
                        Cell::num(fmt::count(f.num("events", i))),
                        Cell::num(fmt::share(f.num("adoption", i))),
                    ]
                })
                .collect(),
        ),
    });
    doc.sections.push(match cx.frame(&FEEDBACK).await? {
        None => Section::new("Feedback and NPS").note(missing("daily_feedback", ROLLUPS)),
        Some(f) => {
            let mut s = Section::new("Feedback and NPS");
            for i in f.rows_where("kind", "nps") {
                s = s.text(format!(
                    "NPS {} ({} responses).",
                    fmt::number(f.num("value", i)),
                    fmt::count(f.num("responses", i))
                ));
            }
            for i in (0..f.rows)
                .filter(|&i| f.text("kind", i) == "app_rating" && f.text("key", i) == "average")
            {
                s = s.text(format!(
                    "App rating {} of 5.",
                    fmt::number(f.num("value", i))
                ));
            }
            s.table(
                &["kind", "key", "responses"],
                (0..f.rows)
                    .filter(|&i| {
                        !matches!(f.text("kind", i), "nps") && f.text("key", i) != "average"
                    })
                    .map(|i| {
                        vec![
                            Cell::text(f.text("kind", i).replace('_', " ")),
                            Cell::text(f.text("key", i)),
                            Cell::num(fmt::count(f.num("responses", i))),
                        ]
                    })
                    .collect(),
            )
        }
    });
    Ok(doc)
}
