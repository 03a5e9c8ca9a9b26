//! The Dependencies & cache page: each service's downstream dependencies (calls, p95, errors)
//! and caches (hit ratio).

use super::{fmt, missing, Context, DashboardError};
use crate::query::sql::{sql_file, SqlFile};
use crate::view::document::{Cell, Document, Section};

const DEPENDENCIES: SqlFile = sql_file!("sql/dashboard/dependencies.sql");

pub async fn dependencies(cx: &Context<'_>) -> Result<Document, DashboardError> {
    let mut doc = cx.document("Dependencies & cache");
    let Some(f) = cx.frame(&DEPENDENCIES).await? else {
        doc.sections.push(
            Section::new("Dependencies").note(missing("hourly_dependency_metrics", super::HOURLY)),
        );
        return Ok(doc);
    };
    let row = |i: usize| {
        vec![
            Cell::text(f.text("service", i)),
            Cell::text(f.text("dependency", i)),
            Cell::num(fmt::count(f.num("samples", i))),
            Cell::num(fmt::ms(f.num("p95_ms", i))),
            Cell::num(fmt::count(f.num("errors", i))),
            Cell::num(fmt::share(f.num("error_rate", i))),
            Cell::num(fmt::share(f.num("cache_hit_ratio", i))),
        ]
    };
    let cols = [
        "service",
        "name",
        "calls",
        "p95",
        "errors",
        "error rate",
        "cache hit ratio",
    ];
    let kinds = [("dependency", "Dependencies"), ("cache", "Caches")];
    for (kind, heading) in kinds {
        let rows: Vec<_> = f.rows_where("kind", kind).map(row).collect();
        doc.sections.push(if rows.is_empty() {
            Section::new(heading).note(format!("No {kind} figures in this range."))
        } else {
            Section::new(heading).table(&cols, rows)
        });
    }
    let other: Vec<_> = (0..f.rows)
        .filter(|&i| !kinds.iter().any(|(k, _)| f.text("kind", i) == *k))
        .map(row)
        .collect();
    if !other.is_empty() {
        doc.sections.push(Section::new("Other").table(&cols, other));
    }
    Ok(doc)
}
