//! The Infrastructure page: hosts per host group (CPU, memory, disk I/O, network), each group's
//! CPU and memory per hour, and the infrastructure cost per active user.

use super::{chart_options, fmt, missing, series, Context, DashboardError};
use crate::query::sql::{sql_file, SqlFile};
use crate::view::chart::{line_chart, Series};
use crate::view::document::{Cell, Document, Section};

const HOSTS: SqlFile = sql_file!("sql/dashboard/hosts.sql");
const HOST_HOURS: SqlFile = sql_file!("sql/dashboard/host_hours.sql");

pub async fn infrastructure(cx: &Context<'_>) -> Result<Document, DashboardError> {
    let r = &cx.range;
    let mut doc = cx.document("Infrastructure");
    let (hosts, hours, cost) = tokio::try_join!(cx.frame(&HOSTS), cx.frame(&HOST_HOURS), async {
        crate::view::query::cost_per_user(cx.session, r.from, r.to)
            .await
            .map_err(DashboardError::View)
    })?;
    let Some(hosts) = hosts else {
        doc.sections
            .push(Section::new("Hosts").note(missing("hourly_host_metrics", super::HOURLY)));
        return Ok(doc);
    };
    let rows = (0..hosts.rows)
        .map(|i| {
            vec![
                Cell::text(hosts.text("service", i)),
                Cell::text(hosts.text("host", i)),
                Cell::num(fmt::share(hosts.num("cpu_avg", i))),
                Cell::num(fmt::share(hosts.num("cpu_max", i))),
                Cell::num(fmt::share(hosts.num("memory_avg", i))),
                Cell::num(fmt::share(hosts.num("memory_max", i))),
                Cell::num(fmt::bytes(hosts.num("disk_read_bytes", i))),
                Cell::num(fmt::bytes(hosts.num("disk_write_bytes", i))),
                Cell::num(fmt::bytes(hosts.num("network_rx_bytes", i))),
                Cell::num(fmt::bytes(hosts.num("network_tx_bytes", i))),
            ]
        })
        .collect();
    doc.sections.push(Section::new("Hosts").table(
        &[
            "host group",
            "host",
            "CPU mean",
            "CPU max",
            "memory mean",
            "memory max",
            "disk read",
            "disk write",
            "network in",
            "network out",
        ],
        rows,
    ));
    let hours = hours.unwrap_or_default();
    let mut groups: Vec<&str> = (0..hosts.rows).map(|i| hosts.text("service", i)).collect();
    groups.dedup();
    let per_group = |y: &str| -> Vec<Series> {
        groups
            .iter()
            .map(|g| {
                series(
                    &hours,
                    hours.rows_where("service", g),
                    *g,
                    "hour_start",
                    y,
                    100.0,
                )
            })
            .collect()
    };
    doc.sections.push(
        Section::new("Per hour")
            .chart(
                line_chart(
                    &per_group("cpu_avg"),
                    &[],
                    &chart_options("CPU per host group, hourly mean", "%"),
                ),
                "mean CPU utilisation of each host group per hour",
            )
            .chart(
                line_chart(
                    &per_group("memory_avg"),
                    &[],
                    &chart_options("memory per host group, hourly mean", "%"),
                ),
                "mean memory utilisation of each host group per hour",
            ),
    );
    let cost = match cost {
        None => Section::new("Cost per active user").note(missing(
            "metrics",
            "the cost gauge comes with the metrics events",
        )),
        Some(days) if days.is_empty() => {
            Section::new("Cost per active user").note("No cost figures in this range.")
        }
        Some(days) => {
            let total: f64 = days.iter().map(|d| d.cost_usd).sum();
            let rows = days
                .iter()
                .map(|d| {
                    vec![
                        Cell::text(super::show_micros(d.day)[..10].to_string()),
                        Cell::num(format!("{:.2}", d.cost_usd)),
                        Cell::num(fmt::count(Some(d.active_users))),
                        Cell::num(
                            d.cost_per_user_usd
                                .map_or("—".into(), |c| format!("{c:.4}")),
                        ),
                    ]
                })
                .collect();
            Section::new("Cost per active user")
                .text(format!(
                    "Infrastructure cost in this range: {total:.2} USD."
                ))
                .table(&["day", "cost (USD)", "active users", "USD per user"], rows)
        }
    };
    doc.sections.push(cost);
    Ok(doc)
}
