//! `postlaunch report monthly --month 2026-11`: the monthly performance review for the product
//! owner as a [`Document`] — every category's key metrics over the month's last 30 days against
//! the launch baseline (`trends`' monthly review), the optimisations measured in the month, the
//! month's incidents against the SLOs, and capacity planning: per host group the daily CPU and
//! memory, their growth (a least-squares line, [`crate::stats::regression`]) and the projected
//! day each crosses 80 %, and the infrastructure cost per active user with its trend.

use chrono::{DateTime, Datelike, Duration, Utc};

use super::chart::{line_chart, Options, Series};
use super::document::{Cell, Document, Section};
use super::query;
use super::ViewError;
use crate::incident::config::IncidentsConfig;
use crate::incident::metrics::span;
use crate::query::LakeSession;
use crate::report::format::{num, pct};
use crate::stats::regression::ols;
use crate::trends::{self, output::TrendTable, Request};

/// The utilisation capacity planning warns at.
pub const CAPACITY_LEVEL: f64 = 0.8;
const DAY_US: f64 = 86_400e6;

fn opt(x: Option<f64>, f: fn(f64) -> String) -> String {
    x.map_or("—".into(), f)
}

fn date(us: f64) -> String {
    DateTime::<Utc>::from_timestamp_micros(us as i64)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// The projection of one utilisation series: (now, growth per week, projected crossing).
fn project(points: &[(f64, f64)], month_end: f64) -> (Option<f64>, Option<f64>, String) {
    let Some(fit) = ols(points) else {
        return (None, None, "too few days".into());
    };
    let now = fit.at(points.iter().map(|p| p.0).fold(f64::MIN, f64::max));
    let weekly = fit.slope * 7.0 * DAY_US;
    let when = if now >= CAPACITY_LEVEL {
        "above 80 % now".to_string()
    } else {
        match fit.crossing(CAPACITY_LEVEL) {
            None => "not rising".into(),
            Some(x) if x - month_end > 365.0 * DAY_US => "not within a year".into(),
            Some(x) => date(x),
        }
    };
    (Some(now), Some(weekly), when)
}

/// The monthly review of [from, to), against the launch range of `hourly` (if any), as of `now`.
pub async fn monthly(
    session: &LakeSession,
    lake: &std::path::Path,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    hourly: Option<&crate::config::pipeline::HourlyConfig>,
    incidents: &IncidentsConfig,
    assessment: &crate::assess::Settings,
    now: DateTime<Utc>,
) -> Result<Document, ViewError> {
    let month = format!("{}-{:02}", from.year(), from.month());
    let end = to.min(now);
    let mut sections = Vec::new();

    // 1. every category against the launch
    let mut s = Section::new("Against the launch");
    match hourly.map(|h| trends::monthly_periods(h, end)) {
        None => {
            s = s.note("no pipeline file with `[hourly.baseline]`: give --pipeline to compare the month with the launch")
        }
        Some(Err(e)) => s = s.note(e.to_string()),
        Some(Ok(periods)) => {
            let review = trends::review(
                session,
                lake,
                Request {
                    periods,
                    table: TrendTable::Monthly,
                    funnels: &[],
                    write: false,
                    at: now,
                },
            )
            .await?;
            s = s.text(format!(
                "The 30 days to {} against the launch ({} to {}); significant changes of rates first.",
                periods.this_to.format("%Y-%m-%d"),
                periods.last_from.format("%Y-%m-%d %H:%M"),
                periods.last_to.format("%Y-%m-%d %H:%M")
            ));
            let (cells, _) = super::weekly::trend_cells(&review.trends, None);
            s = s.table(
                &["metric", "entity", "last 30 days", "launch", "change", "p-value"],
                cells,
            );
        }
    }
    sections.push(s);

    // 2. the month's optimisations
    let mut s = Section::new("Optimisations of the month");
    match query::optimisations(session, from, to).await? {
        None => {
            s = s.note("no `deployment_impact` table: measure deployments with `postlaunch impact`")
        }
        Some(rows) if rows.is_empty() => s = s.note("no deployment of the month was measured"),
        Some(rows) => {
            s = s.list(super::weekly::verdict_lines(&rows));
        }
    }
    sections.push(s);

    // 3. incidents against the SLOs
    let mut s = Section::new("Incidents and their SLOs");
    let inc = crate::incident::review(
        session,
        lake,
        incidents,
        (Some(from.timestamp_micros()), Some(to.timestamp_micros())),
        now.timestamp_micros(),
        false,
    )
    .await?;
    if inc.rows.is_empty() {
        s = s.note(format!("no incident in {month}"));
    } else {
        let cells = inc
            .rows
            .iter()
            .map(|r| {
                vec![
                    Cell::text(&r.incident_id),
                    Cell::text(r.severity.to_string()),
                    Cell::text(r.service.clone().unwrap_or_default()),
                    Cell::num(r.mttd_s.map_or("—".into(), span)),
                    Cell::num(r.mttr_s.map_or("—".into(), span)),
                    Cell::text(if r.postmortem_late { "late" } else { "" }),
                ]
            })
            .collect();
        s = s
            .table(
                &[
                    "incident",
                    "severity",
                    "service",
                    "MTTD",
                    "MTTR",
                    "post-mortem",
                ],
                cells,
            )
            .list(crate::incident::output::rollup_lines(&inc.rollups));
    }
    sections.push(s);

    // 4. capacity planning
    let mut s = Section::new("Capacity planning");
    let month_end = to.timestamp_micros() as f64;
    match query::capacity(session, from, to).await? {
        None => s = s.note("no `hourly_host_metrics`: run `postlaunch hourly --all`"),
        Some(days) if days.is_empty() => s = s.note(format!("no host metrics in {month}")),
        Some(days) => {
            s = s.text(format!(
                "Per host group (service): the daily mean utilisation of its hosts, a least-squares line through the month's days, and the day the line reaches {:.0} %. Disk: the lake has disk throughput, not disk usage, so no disk projection.",
                CAPACITY_LEVEL * 100.0
            ));
            let mut groups: std::collections::BTreeMap<&str, Vec<&query::GroupDay>> =
                Default::default();
            for d in &days {
                groups.entry(&d.service).or_default().push(d);
            }
            let mut cells = Vec::new();
            let mut cpu_series = Vec::new();
            for (g, ds) in &groups {
                for (what, pts) in [
                    (
                        "CPU",
                        ds.iter().map(|d| (d.day as f64, d.cpu)).collect::<Vec<_>>(),
                    ),
                    (
                        "memory",
                        ds.iter()
                            .map(|d| (d.day as f64, d.memory))
                            .collect::<Vec<_>>(),
                    ),
                ] {
                    let (now_v, weekly, when) = project(&pts, month_end);
                    let class = if when == "above 80 % now" || when.starts_with(char::is_numeric) {
                        "bad"
                    } else {
                        ""
                    };
                    cells.push(vec![
                        Cell::text(*g),
                        Cell::text(what),
                        Cell::num(format!("{}", ds.last().map_or(0.0, |d| d.hosts))),
                        Cell::num(opt(now_v, |v| format!("{:.1} %", v * 100.0))),
                        Cell::num(opt(weekly, |w| format!("{:+.2} points", w * 100.0))),
                        Cell::with(when, class),
                    ]);
                    if what == "CPU" {
                        cpu_series.push(Series {
                            name: g.to_string(),
                            points: pts.iter().map(|(x, y)| (*x, y * 100.0)).collect(),
                        });
                    }
                }
            }
            s = s
                .table(
                    &[
                        "host group",
                        "resource",
                        "hosts",
                        "now (fitted)",
                        "growth per week",
                        "crosses 80 %",
                    ],
                    cells,
                )
                .chart(
                    line_chart(
                        &cpu_series,
                        &[],
                        &Options {
                            title: format!("CPU utilisation per day and host group, {month}"),
                            unit: " %".into(),
                            ..Options::default()
                        },
                    ),
                    format!("mean CPU utilisation per day of each host group in {month}"),
                );
        }
    }
    sections.push(s);

    // 5. cost per active user
    let mut s = Section::new("Infrastructure cost per active user");
    match query::cost_per_user(session, from, to).await? {
        None => s = s.note("no `metrics` or `events` table"),
        Some(days) if days.is_empty() => {
            s = s.note(format!(
                "no `infra_cost_usd` metric or no active users in {month}"
            ))
        }
        Some(days) => {
            let pts: Vec<(f64, f64)> = days
                .iter()
                .filter_map(|d| d.cost_per_user_usd.map(|c| (d.day as f64, c)))
                .collect();
            let total: f64 = days.iter().map(|d| d.cost_usd).sum();
            let mean = pts.iter().map(|p| p.1).sum::<f64>() / pts.len().max(1) as f64;
            let trend = ols(&pts).map(|f| f.slope * 7.0 * DAY_US / mean.max(1e-12));
            s = s
                .text(format!(
                    "{} days: infrastructure cost {} USD, on average {} USD per active user and day; trend {} per week.",
                    days.len(),
                    num(total),
                    num(mean),
                    opt(trend, pct)
                ))
                .chart(
                    line_chart(
                        &[Series {
                            name: "cost per active user".into(),
                            points: pts,
                        }],
                        &[],
                        &Options {
                            title: format!("Infrastructure cost per active user per day, {month}"),
                            unit: " $".into(),
                            zero_based: false,
                            ..Options::default()
                        },
                    ),
                    format!("infrastructure cost per active user per day in {month}"),
                );
        }
    }
    sections.push(s);

    // the Phase 8 assessment at the month's end (or now, for the current month)
    sections.push(super::assessment::section(session, lake, assessment, end).await?);

    Ok(Document {
        title: format!("Monthly performance review — {month}"),
        subtitle: format!(
            "{} to {}",
            from.format("%Y-%m-%d"),
            (to - Duration::days(1)).format("%Y-%m-%d")
        ),
        footer: format!(
            "postlaunch report monthly --month {month} · lake {} · made {}",
            lake.display(),
            now.format("%Y-%m-%d %H:%M UTC")
        ),
        sections,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn months_parse_to_their_bounds() {
        let (f, t) = trends::parse_month("2026-12").unwrap();
        assert_eq!(f.to_rfc3339(), "2026-12-01T00:00:00+00:00");
        assert_eq!(t.to_rfc3339(), "2027-01-01T00:00:00+00:00");
        assert!(trends::parse_month("2026-13")
            .unwrap_err()
            .contains("2026-13"));
        assert!(trends::parse_month("November").is_err());
    }

    #[test]
    fn a_rising_group_is_projected_to_its_crossing_day() {
        // 0.41 … 0.55 over 10 days from 2026-11-01: slope 0.015394 a day (scipy.stats.linregress,
        // see stats::regression), crossing 0.8 at day 25.55 → 2026-11-26
        let t0 = Utc
            .with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
            .unwrap()
            .timestamp_micros() as f64;
        let y = [0.41, 0.43, 0.42, 0.46, 0.47, 0.49, 0.48, 0.52, 0.53, 0.55];
        let pts: Vec<(f64, f64)> = y
            .iter()
            .enumerate()
            .map(|(i, v)| (t0 + i as f64 * DAY_US, *v))
            .collect();
        let (now, weekly, when) = project(&pts, t0 + 30.0 * DAY_US);
        assert!((weekly.unwrap() - 0.0153939393939394 * 7.0).abs() < 1e-9);
        assert!((now.unwrap() - (0.40672727272727266 + 9.0 * 0.0153939393939394)).abs() < 1e-9);
        assert_eq!(when, "2026-11-26");
        let falling: Vec<(f64, f64)> = pts.iter().map(|(x, y)| (*x, 1.0 - y)).collect();
        assert_eq!(project(&falling, t0).2, "not rising");
    }
}
