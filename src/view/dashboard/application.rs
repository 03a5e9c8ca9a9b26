//! The Application page: per service RED — requests, error rate, p50/p95/p99, throughput — with
//! the drill-down service → endpoint → version; deployments are marked on every time chart.

use super::{chart_options, fmt, link, missing, series, Context, DashboardError, Frame, Page};
use crate::query::sql::{sql_file, SqlFile};
use crate::view::chart::{line_chart, Series};
use crate::view::document::{Cell, Document, Section};

const SERVICES: SqlFile = sql_file!("sql/dashboard/services.sql");
const ENDPOINTS: SqlFile = sql_file!("sql/dashboard/endpoints.sql");
const HOURS: SqlFile = sql_file!("sql/dashboard/service_hours.sql");
const ENDPOINT_HOURS: SqlFile = sql_file!("sql/dashboard/endpoint_hours.sql");

/// Which level of the drill-down.
#[derive(Debug, Clone, Default)]
pub struct Drill<'a> {
    pub service: Option<&'a str>,
    pub endpoint: Option<&'a str>,
    pub version: Option<&'a str>,
}

/// The figures of row `i` as cells after the first: requests, throughput, errors, error rate,
/// p50, p95, p99.
fn red_cells(f: &Frame, i: usize, hours: f64) -> Vec<Cell> {
    let req = f.num("requests", i);
    vec![
        Cell::num(fmt::count(req)),
        Cell::num(fmt::number(req.map(|r| r / (hours * 3600.0)))),
        Cell::num(fmt::count(f.num("errors", i))),
        Cell::num(fmt::share(f.num("error_rate", i))),
        Cell::num(fmt::ms(f.num("p50_ms", i))),
        Cell::num(fmt::ms(f.num("p95_ms", i))),
        Cell::num(fmt::ms(f.num("p99_ms", i))),
    ]
}

const RED: [&str; 7] = [
    "requests",
    "req/s",
    "errors",
    "error rate",
    "p50",
    "p95",
    "p99",
];

fn columns(first: &'static str) -> Vec<&'static str> {
    std::iter::once(first).chain(RED).collect()
}

pub async fn application(cx: &Context<'_>, d: &Drill<'_>) -> Result<Document, DashboardError> {
    if d.endpoint.is_some() && d.service.is_none() || d.version.is_some() && d.endpoint.is_none() {
        return Err(DashboardError::BadRequest(
            "the drill-down goes service → endpoint → version: give `service` with `endpoint`, and `endpoint` with `version`".into(),
        ));
    }
    let r = &cx.range;
    let mut doc = cx.document("Application");
    // the queries of the page's level, at once
    let (services, service_hours, endpoints, endpoint_hours, markers) = tokio::try_join!(
        cx.frame(&SERVICES),
        async {
            Ok(match d.endpoint {
                None => cx.frame(&HOURS).await?,
                Some(_) => None,
            })
        },
        async {
            Ok(match d.service {
                Some(_) => cx.frame(&ENDPOINTS).await?,
                None => None,
            })
        },
        async {
            Ok(match d.endpoint {
                Some(_) => cx.frame(&ENDPOINT_HOURS).await?,
                None => None,
            })
        },
        cx.deployment_markers(d.service),
    )?;
    let Some(services) = services else {
        doc.sections
            .push(Section::new("Services").note(missing("hourly_service_metrics", super::HOURLY)));
        return Ok(doc);
    };
    let hours = service_hours.unwrap_or_default();
    let Some(service) = d.service else {
        // every service
        let rows = (0..services.rows)
            .map(|i| {
                let s = services.text("service", i);
                let mut row = vec![Cell::link(
                    s,
                    super::href(Page::Application.path(), r, &[("service", s)]),
                )];
                row.extend(red_cells(&services, i, r.hours()));
                row
            })
            .collect();
        let all = |y: &str, scale: f64| -> Vec<Series> {
            (0..services.rows)
                .map(|j| {
                    let s = services.text("service", j);
                    series(
                        &hours,
                        hours.rows_where("service", s),
                        s,
                        "hour_start",
                        y,
                        scale,
                    )
                })
                .collect()
        };
        doc.sections.push(
            Section::new("Services")
                .text("Pick a service for its endpoints, then an endpoint for its versions.")
                .table(&columns("service"), rows),
        );
        doc.sections
            .push(Section::new("p95 latency per hour").chart(
                line_chart(
                    &all("p95_ms", 1.0),
                    &markers,
                    &chart_options("p95 latency per service, hourly", "ms"),
                ),
                "p95 latency of each service per hour; dashed lines are deployments",
            ));
        doc.sections.push(Section::new("Error rate per hour").chart(
            line_chart(
                &all("error_rate", 100.0),
                &markers,
                &chart_options("error rate per service, hourly", "%"),
            ),
            "error rate of each service per hour; dashed lines are deployments",
        ));
        return Ok(doc);
    };
    let Some(si) = services.rows_where("service", service).next() else {
        return Err(DashboardError::NotFound(format!(
            "service `{}` has no requests in this range",
            crate::report::format::truncate(service, 80)
        )));
    };
    let endpoints = endpoints.unwrap_or_default();
    let mut crumbs = vec![
        link("All services", Page::Application.path(), r, &[]),
        link(
            service,
            Page::Application.path(),
            r,
            &[("service", service)],
        ),
    ];
    let Some(endpoint) = d.endpoint else {
        doc.title = format!("Application · {service}");
        let mut summary = vec![Cell::text(service)];
        summary.extend(red_cells(&services, si, r.hours()));
        let rows = (0..endpoints.rows)
            .filter(|&i| {
                endpoints.text("service", i) == service && endpoints.text("version", i) == "*"
            })
            .map(|i| {
                let e = endpoints.text("endpoint", i);
                let mut row = vec![Cell::link(
                    e,
                    super::href(
                        Page::Application.path(),
                        r,
                        &[("service", service), ("endpoint", e)],
                    ),
                )];
                row.extend(red_cells(&endpoints, i, r.hours()));
                row
            })
            .collect();
        let of = |y: &str, scale: f64| {
            vec![series(
                &hours,
                hours.rows_where("service", service),
                service,
                "hour_start",
                y,
                scale,
            )]
        };
        crumbs.pop();
        doc.sections.push(
            Section::new(format!("Service {service}"))
                .links(crumbs)
                .table(&columns("service"), vec![summary]),
        );
        doc.sections
            .push(Section::new("Endpoints").table(&columns("endpoint"), rows));
        doc.sections.push(
            Section::new("Latency and errors per hour")
                .chart(
                    line_chart(
                        &of("p95_ms", 1.0),
                        &markers,
                        &chart_options(format!("p95 latency of {service}, hourly"), "ms"),
                    ),
                    format!("p95 latency of {service} per hour; dashed lines are its deployments"),
                )
                .chart(
                    line_chart(
                        &of("error_rate", 100.0),
                        &markers,
                        &chart_options(format!("error rate of {service}, hourly"), "%"),
                    ),
                    format!("error rate of {service} per hour; dashed lines are its deployments"),
                ),
        );
        return Ok(doc);
    };
    let of_endpoint = |i: usize| {
        endpoints.text("service", i) == service && endpoints.text("endpoint", i) == endpoint
    };
    let Some(ei) =
        (0..endpoints.rows).find(|&i| of_endpoint(i) && endpoints.text("version", i) == "*")
    else {
        return Err(DashboardError::NotFound(format!(
            "service `{service}` has no endpoint `{}` with requests in this range",
            crate::report::format::truncate(endpoint, 120)
        )));
    };
    let version_rows: Vec<usize> = (0..endpoints.rows)
        .filter(|&i| of_endpoint(i) && endpoints.text("version", i) != "*")
        .collect();
    let hours = endpoint_hours.unwrap_or_default();
    let hour_rows = |v: &str| -> Vec<usize> {
        (0..hours.rows)
            .filter(|&i| {
                hours.text("service", i) == service
                    && hours.text("endpoint", i) == endpoint
                    && hours.text("version", i) == v
            })
            .collect()
    };
    let by_version = |y: &str, scale: f64, only: Option<&str>| -> Vec<Series> {
        version_rows
            .iter()
            .map(|&i| endpoints.text("version", i))
            .filter(|v| only.is_none_or(|o| o == *v))
            .map(|v| series(&hours, hour_rows(v).into_iter(), v, "hour_start", y, scale))
            .collect()
    };
    let Some(version) = d.version else {
        doc.title = format!("Application · {service} · {endpoint}");
        let mut summary = vec![Cell::text(endpoint)];
        summary.extend(red_cells(&endpoints, ei, r.hours()));
        let rows = version_rows
            .iter()
            .map(|&i| {
                let v = endpoints.text("version", i);
                let mut row = vec![Cell::link(
                    v,
                    super::href(
                        Page::Application.path(),
                        r,
                        &[("service", service), ("endpoint", endpoint), ("version", v)],
                    ),
                )];
                row.extend(red_cells(&endpoints, i, r.hours()));
                row.push(Cell::text(super::show_micros(
                    endpoints.time("first_hour", i).unwrap_or_default(),
                )));
                row.push(Cell::text(super::show_micros(
                    endpoints.time("last_hour", i).unwrap_or_default(),
                )));
                row
            })
            .collect();
        let mut cols = columns("version");
        cols.extend(["first hour", "last hour"]);
        doc.sections.push(
            Section::new(format!("Endpoint {endpoint}"))
                .links(crumbs)
                .table(&columns("endpoint"), vec![summary]),
        );
        doc.sections
            .push(Section::new("Versions").table(&cols, rows));
        doc.sections.push(Section::new("p95 latency per hour, by version").chart(
            line_chart(&by_version("p95_ms", 1.0, None), &markers, &chart_options(format!("p95 latency of {endpoint} by version, hourly"), "ms")),
            format!("p95 latency of {endpoint} per hour, one line per version; dashed lines are deployments of {service}"),
        ));
        return Ok(doc);
    };
    let Some(vi) = version_rows
        .iter()
        .copied()
        .find(|&i| endpoints.text("version", i) == version)
    else {
        return Err(DashboardError::NotFound(format!(
            "endpoint `{endpoint}` of `{service}` has no version `{}` with requests in this range",
            crate::report::format::truncate(version, 80)
        )));
    };
    doc.title = format!("Application · {service} · {endpoint} · {version}");
    crumbs.push(link(
        endpoint,
        Page::Application.path(),
        r,
        &[("service", service), ("endpoint", endpoint)],
    ));
    let mut row = vec![Cell::text(version)];
    row.extend(red_cells(&endpoints, vi, r.hours()));
    let mut all = vec![Cell::text("all versions")];
    all.extend(red_cells(&endpoints, ei, r.hours()));
    doc.sections.push(
        Section::new(format!("Version {version} of {endpoint}"))
            .links(crumbs)
            .table(&columns("version"), vec![row, all])
            .text(format!(
                "Served from {} to {} (hours with requests in this range).",
                super::show_micros(endpoints.time("first_hour", vi).unwrap_or_default()),
                super::show_micros(endpoints.time("last_hour", vi).unwrap_or_default())
            )),
    );
    let mut lines = by_version("p95_ms", 1.0, Some(version));
    lines.push(series(
        &hours,
        hour_rows("*").into_iter(),
        "all versions",
        "hour_start",
        "p95_ms",
        1.0,
    ));
    let mut errors = by_version("error_rate", 100.0, Some(version));
    errors.push(series(
        &hours,
        hour_rows("*").into_iter(),
        "all versions",
        "hour_start",
        "error_rate",
        100.0,
    ));
    doc.sections.push(
        Section::new("Per hour")
            .chart(
                line_chart(
                    &lines,
                    &markers,
                    &chart_options(format!("p95 latency of {endpoint} {version}, hourly"), "ms"),
                ),
                format!("p95 latency of version {version} per hour against all versions"),
            )
            .chart(
                line_chart(
                    &errors,
                    &markers,
                    &chart_options(format!("error rate of {endpoint} {version}, hourly"), "%"),
                ),
                format!("error rate of version {version} per hour against all versions"),
            ),
    );
    Ok(doc)
}
