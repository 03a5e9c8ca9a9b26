//! The User experience page: Core Web Vitals p75 per page and device with Google's good /
//! needs-improvement / poor shares (the thresholds of `sql/hourly/web_vitals.sql`).

use super::{fmt, missing, Context, DashboardError};
use crate::query::sql::{sql_file, SqlFile};
use crate::report::format::num;
use crate::view::document::{Cell, Document, Section};

const WEB_VITALS: SqlFile = sql_file!("sql/dashboard/web_vitals.sql");

/// Google's thresholds: (vital, good at or below, poor above, unit).
pub const THRESHOLDS: [(&str, f64, f64, &str); 6] = [
    ("LCP", 2500.0, 4000.0, "ms"),
    ("INP", 200.0, 500.0, "ms"),
    ("CLS", 0.1, 0.25, ""),
    ("FCP", 1800.0, 3000.0, "ms"),
    ("TTFB", 800.0, 1800.0, "ms"),
    ("FID", 100.0, 300.0, "ms"),
];

/// The p75 with its unit, and its rating as a cell class.
fn p75_cell(vital: &str, p75: Option<f64>) -> Cell {
    let Some(x) = p75 else {
        return Cell::num("—");
    };
    match THRESHOLDS.iter().find(|t| t.0 == vital) {
        Some(&(_, good, poor, unit)) => {
            let (rating, class) = if x <= good {
                ("good", "num good")
            } else if x > poor {
                ("poor", "num bad")
            } else {
                ("needs improvement", "num")
            };
            Cell::with(
                format!("{} {unit} ({rating})", num(x)).replace("  ", " "),
                class,
            )
        }
        None => Cell::num(num(x)),
    }
}

pub async fn experience(cx: &Context<'_>) -> Result<Document, DashboardError> {
    let mut doc = cx.document("User experience");
    let Some(f) = cx.frame(&WEB_VITALS).await? else {
        doc.sections.push(
            Section::new("Core Web Vitals").note(missing("hourly_web_vitals", super::HOURLY)),
        );
        return Ok(doc);
    };
    let cells = |i: usize| {
        vec![
            Cell::num(fmt::count(f.num("samples", i))),
            p75_cell(f.text("vital", i), f.num("p75", i)),
            Cell::num(fmt::share(f.num("good_share", i))),
            Cell::num(fmt::share(f.num("needs_improvement_share", i))),
            Cell::num(fmt::share(f.num("poor_share", i))),
        ]
    };
    let all: Vec<_> = (0..f.rows)
        .filter(|&i| f.text("page", i) == "*")
        .map(|i| {
            let mut row = vec![Cell::text(f.text("vital", i))];
            row.extend(cells(i));
            row
        })
        .collect();
    doc.sections.push(
        Section::new("Core Web Vitals, every page")
            .text("p75 as Google assesses a site: good when 75 % of visits are good (LCP ≤ 2.5 s, INP ≤ 200 ms, CLS ≤ 0.1, FCP ≤ 1.8 s, TTFB ≤ 800 ms).")
            .table(&["vital", "samples", "p75", "good", "needs improvement", "poor"], all),
    );
    let mut vitals: Vec<&str> = (0..f.rows).map(|i| f.text("vital", i)).collect();
    vitals.dedup();
    for v in vitals {
        let rows: Vec<_> = (0..f.rows)
            .filter(|&i| f.text("vital", i) == v && f.text("page", i) != "*")
            .map(|i| {
                let mut row = vec![
                    Cell::text(f.text("page", i)),
                    Cell::text(f.text("device", i)),
                ];
                row.extend(cells(i));
                row
            })
            .collect();
        doc.sections
            .push(Section::new(format!("{v} per page and device")).table(
                &[
                    "page",
                    "device",
                    "samples",
                    "p75",
                    "good",
                    "needs improvement",
                    "poor",
                ],
                rows,
            ));
    }
    Ok(doc)
}
