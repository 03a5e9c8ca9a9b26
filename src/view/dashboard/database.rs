//! The Database page: per query label of each service, query p50/p95/p99, pool utilisation and
//! replication lag.

use super::{fmt, missing, Context, DashboardError};
use crate::query::sql::{sql_file, SqlFile};
use crate::view::document::{Cell, Document, Section};

const DATABASES: SqlFile = sql_file!("sql/dashboard/databases.sql");

pub async fn database(cx: &Context<'_>) -> Result<Document, DashboardError> {
    let mut doc = cx.document("Database");
    let Some(f) = cx.frame(&DATABASES).await? else {
        doc.sections
            .push(Section::new("Queries").note(missing("hourly_database_metrics", super::HOURLY)));
        return Ok(doc);
    };
    let rows = (0..f.rows)
        .map(|i| {
            let q = f.text("query", i);
            vec![
                Cell::text(f.text("service", i)),
                Cell::text(if q == "*" { "(all queries)" } else { q }),
                Cell::num(fmt::count(f.num("samples", i))),
                Cell::num(fmt::ms(f.num("p50_ms", i))),
                Cell::num(fmt::ms(f.num("p95_ms", i))),
                Cell::num(fmt::ms(f.num("p99_ms", i))),
                Cell::num(fmt::share(f.num("pool_utilization_avg", i))),
                Cell::num(fmt::share(f.num("pool_utilization_max", i))),
                Cell::num(
                    f.num("replication_lag_max_s", i)
                        .map_or("—".into(), |s| format!("{} s", fmt::number(Some(s)))),
                ),
            ]
        })
        .collect();
    doc.sections.push(
        Section::new("Queries")
            .text("Query times per query label; pool and replication figures are per database (the `(all queries)` row).")
            .table(
                &["service", "query", "samples", "p50", "p95", "p99", "pool mean", "pool max", "replication lag max"],
                rows,
            ),
    );
    Ok(doc)
}
