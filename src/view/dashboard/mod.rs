//! The dashboards of `postlaunch serve`: one page per category of the launch protocol, each a
//! [`Document`] of tables (with drill-down links) and SVG charts, read from the lake at the
//! time of the request.
//!
//! The shape, as every analysis: the page and its [`Range`] (from the URL; no config of its own
//! beyond the rules file's SLOs and the experiments file) → `sql/dashboard/` → a [`Document`]
//! ([`overview`], [`application`], [`infrastructure`], [`database`], [`dependencies`],
//! [`experience`], [`business`], [`changes`], [`incidents`]) → HTML ([`render`], the report's
//! sections inside the dashboard's frame). `crate::serve` answers HTTP with it.
//!
//! Every value from the URL is checked here: a range is parsed into times (a bad one is
//! [`DashboardError::BadRequest`]); a service, endpoint, version, deployment or incident is
//! looked up among the rows the SQL returned (an unknown one is [`DashboardError::NotFound`]).
//! None is ever part of SQL text.

use std::path::Path;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use serde::Serialize;

use super::chart::Marker;
use super::document::{Document, Link};
use super::ViewError;
use crate::alert::config::AlertsFile;
use crate::incident::config::IncidentsConfig;
pub use crate::query::frame::Frame;
use crate::query::sql::{time_range, SqlFile};
use crate::query::LakeSession;
use crate::report::format::num;

pub mod application;
pub mod business;
pub mod changes;
pub mod database;
pub mod dependencies;
pub mod experience;
pub mod incidents;
pub mod infrastructure;
pub mod overview;

/// Errors of a dashboard page.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    /// A query parameter that is not valid: HTTP 400.
    #[error("{0}")]
    BadRequest(String),
    /// A service, endpoint, deployment … the lake does not have: HTTP 404.
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    View(#[from] ViewError),
}

impl From<crate::query::sql::SqlError> for DashboardError {
    fn from(e: crate::query::sql::SqlError) -> Self {
        DashboardError::View(e.into())
    }
}

impl From<crate::incident::IncidentError> for DashboardError {
    fn from(e: crate::incident::IncidentError) -> Self {
        DashboardError::View(e.into())
    }
}

/// The pages, in the order of the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    Overview,
    Application,
    Infrastructure,
    Database,
    Dependencies,
    Experience,
    Business,
    Changes,
    Incidents,
}

impl Page {
    pub const ALL: [Page; 9] = [
        Page::Overview,
        Page::Application,
        Page::Infrastructure,
        Page::Database,
        Page::Dependencies,
        Page::Experience,
        Page::Business,
        Page::Changes,
        Page::Incidents,
    ];

    /// The page's path.
    pub fn path(self) -> &'static str {
        match self {
            Page::Overview => "/",
            Page::Application => "/application",
            Page::Infrastructure => "/infrastructure",
            Page::Database => "/database",
            Page::Dependencies => "/dependencies",
            Page::Experience => "/experience",
            Page::Business => "/business",
            Page::Changes => "/changes",
            Page::Incidents => "/incidents",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Page::Overview => "Overview",
            Page::Application => "Application",
            Page::Infrastructure => "Infrastructure",
            Page::Database => "Database",
            Page::Dependencies => "Dependencies & cache",
            Page::Experience => "User experience",
            Page::Business => "Business",
            Page::Changes => "Experiments & deployments",
            Page::Incidents => "Incidents",
        }
    }

    /// The page of a path.
    pub fn of_path(path: &str) -> Option<Page> {
        Page::ALL.into_iter().find(|p| p.path() == path)
    }

    /// The query parameters the page reads besides the range (its drill-down); any other is a
    /// bad request.
    pub fn keys(self) -> &'static [&'static str] {
        match self {
            Page::Application => &["service", "endpoint", "version"],
            Page::Changes => &["deployment", "experiment"],
            Page::Incidents => &["id"],
            _ => &[],
        }
    }
}

/// The presets of the range picker.
pub const PRESETS: [(&str, &str, i64); 3] = [
    ("24h", "Last 24 hours", 24),
    ("7d", "Last 7 days", 24 * 7),
    ("30d", "Last 30 days", 24 * 30),
];

/// The longest custom range.
pub const MAX_DAYS: i64 = 400;

/// The time range a page shows: `[from, to)`, whole hours.
#[derive(Debug, Clone, PartialEq)]
pub struct Range {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// `24h`, `7d`, `30d` or `custom`.
    pub preset: &'static str,
}

impl Range {
    /// The range of a URL's `range`, `from` and `to` (default: the last 7 days). A preset ends
    /// at `end`: the end of the lake's latest hour of data, so that "last 24 hours" of a lake
    /// whose data ended last week shows that data rather than nothing.
    pub fn parse(
        range: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
        end: DateTime<Utc>,
    ) -> Result<Range, DashboardError> {
        let bad = |m: String| DashboardError::BadRequest(m);
        let preset = range.unwrap_or(if from.is_some() || to.is_some() {
            "custom"
        } else {
            "7d"
        });
        if let Some((key, _, hours)) = PRESETS.iter().find(|(k, _, _)| *k == preset) {
            return Ok(Range {
                from: end - Duration::hours(*hours),
                to: end,
                preset: key,
            });
        }
        if preset != "custom" {
            return Err(bad(format!(
                "range `{}`: expected one of 24h, 7d, 30d or custom (with from and to)",
                crate::report::format::truncate(preset, 40)
            )));
        }
        let (Some(f), Some(t)) = (from, to) else {
            return Err(bad(
                "a custom range needs both `from` and `to`, e.g. from=2026-11-09&to=2026-11-16"
                    .into(),
            ));
        };
        let (from, to) = (parse_time("from", f)?, parse_time("to", t)?);
        if from >= to {
            return Err(bad(format!(
                "`from` ({}) must be before `to` ({})",
                show_time(from),
                show_time(to)
            )));
        }
        if to - from > Duration::days(MAX_DAYS) {
            return Err(bad(format!(
                "the range is {} days long; at most {MAX_DAYS}",
                (to - from).num_days()
            )));
        }
        Ok(Range {
            from,
            to,
            preset: "custom",
        })
    }

    /// The query string of the range (`range=7d`, or `range=custom&from=…&to=…`).
    pub fn query(&self) -> Vec<(&'static str, String)> {
        if self.preset == "custom" {
            vec![
                ("range", "custom".into()),
                ("from", input_time(self.from)),
                ("to", input_time(self.to)),
            ]
        } else {
            vec![("range", self.preset.into())]
        }
    }

    /// The range as words, for a subtitle.
    pub fn describe(&self) -> String {
        let what = PRESETS
            .iter()
            .find(|(k, _, _)| *k == self.preset)
            .map_or("Custom range".to_string(), |(_, l, _)| l.to_string());
        format!(
            "{what}: {} – {} UTC",
            show_time(self.from),
            show_time(self.to)
        )
    }

    /// The range of the same length just before it (week over week for 7 days).
    pub fn previous(&self) -> Range {
        Range {
            from: self.from - (self.to - self.from),
            to: self.from,
            preset: "custom",
        }
    }

    pub fn hours(&self) -> f64 {
        (self.to - self.from).num_seconds() as f64 / 3600.0
    }

    /// `{from}` and `{to}`.
    pub fn params(&self) -> Vec<(&'static str, crate::query::sql::Param)> {
        time_range(self.from, self.to).to_vec()
    }

    /// `{from}`, `{to}` and the whole UTC days inside the range, `{day_from}` and `{day_to}`
    /// (both `to` when it holds none): the queries that read whole days from the daily
    /// roll-ups (one file a day instead of 24) and the hours outside them from the hourly
    /// tables.
    pub fn tiered_params(&self) -> Vec<(&'static str, crate::query::sql::Param)> {
        use crate::query::sql::Param;
        let day = |t: DateTime<Utc>| {
            t.date_naive()
                .and_hms_opt(0, 0, 0)
                .expect("midnight")
                .and_utc()
        };
        let first = if day(self.from) == self.from {
            self.from
        } else {
            day(self.from) + Duration::days(1)
        };
        let last = day(self.to);
        let (a, b) = if first < last {
            (first, last)
        } else {
            (self.to, self.to)
        };
        let mut p = self.params();
        p.push(("day_from", Param::Time(a)));
        p.push(("day_to", Param::Time(b)));
        p
    }
}

/// `2026-11-09T00:00`, `2026-11-09T00:00:00Z` or `2026-11-09`, as UTC.
fn parse_time(name: &str, s: &str) -> Result<DateTime<Utc>, DashboardError> {
    let s = s.trim();
    let t = DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
                .ok()
                .map(|t| t.and_utc())
        })
        .or_else(|| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc())
        });
    t.ok_or_else(|| {
        DashboardError::BadRequest(format!(
            "`{name}` = `{}`: expected a UTC time such as 2026-11-09, 2026-11-09T14:00 or 2026-11-09T14:00:00Z",
            crate::report::format::truncate(s, 40)
        ))
    })
}

/// A time as `2026-11-09 14:00`.
pub fn show_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

/// A time as the range picker's inputs take it (`2026-11-09T14:00`).
pub fn input_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M").to_string()
}

/// A time in µs as `2026-11-09 14:00`.
pub fn show_micros(us: i64) -> String {
    DateTime::from_timestamp_micros(us).map_or("—".into(), show_time)
}

/// The end of the lake's latest hour of service figures (`hourly_service_metrics`), from its
/// partition folders; `now` when it has none or when that is later than now.
pub fn data_end(lake: &Path, now: DateTime<Utc>) -> DateTime<Utc> {
    let table = lake.join("hourly_service_metrics");
    let mut latest: Option<i64> = None;
    for day in std::fs::read_dir(&table).into_iter().flatten().flatten() {
        let day_name = day.file_name().to_string_lossy().into_owned();
        for hour in std::fs::read_dir(day.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = format!("{day_name}/{}", hour.file_name().to_string_lossy());
            if let Some(k) = crate::lake::layout::parse_partition(&name) {
                latest = Some(latest.map_or(k, |l: i64| l.max(k)));
            }
        }
    }
    latest
        .and_then(|k| DateTime::from_timestamp((k + 1) * 3600, 0))
        .map_or(now, |t| t.min(now))
}

/// `path?k=v&…` with every key and value percent-encoded, the range first.
pub fn href(path: &str, range: &Range, extra: &[(&str, &str)]) -> String {
    use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
    let q = range
        .query()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .chain(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())))
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(&v, NON_ALPHANUMERIC)))
        .collect::<Vec<_>>()
        .join("&");
    format!("{path}?{q}")
}

/// A link to `path` with `extra` in the query, keeping the range.
pub fn link(text: impl Into<String>, path: &str, range: &Range, extra: &[(&str, &str)]) -> Link {
    Link {
        text: text.into(),
        href: href(path, range, extra),
    }
}

/// What every page reads besides the lake.
pub struct Context<'a> {
    pub session: &'a LakeSession,
    pub lake: &'a Path,
    /// The rules file: the SLOs of the Overview.
    pub rules: &'a AlertsFile,
    /// `[incidents]` of the rules file: the incident SLOs.
    pub incidents: &'a IncidentsConfig,
    /// The experiments of the experiments file, for readouts; `None` without one.
    pub experiments: Option<&'a [crate::experiment::config::Experiment]>,
    pub now: DateTime<Utc>,
    pub range: Range,
}

impl Context<'_> {
    /// A page's document: its title, the range as its subtitle, the footer, no sections yet.
    pub fn document(&self, title: &str) -> Document {
        Document {
            title: title.into(),
            subtitle: self.range.describe(),
            footer: self.footer(),
            sections: Vec::new(),
        }
    }

    /// The footer of every page.
    pub fn footer(&self) -> String {
        format!(
            "Read from lake {} at {} UTC. Every figure is a query of sql/dashboard/ (postlaunch sql -f FILE gives the same).",
            self.lake.display(),
            self.now.format("%Y-%m-%d %H:%M:%S")
        )
    }

    /// Runs a file over the page's range; `None` when the lake lacks one of its tables.
    pub async fn frame(&self, file: &SqlFile) -> Result<Option<Frame>, DashboardError> {
        self.frame_over(file, &self.range.clone()).await
    }

    /// Runs a file over `range`.
    pub async fn frame_over(
        &self,
        file: &SqlFile,
        range: &Range,
    ) -> Result<Option<Frame>, DashboardError> {
        self.frame_with(file, &range.params()).await
    }

    /// Runs a file with `params`.
    pub async fn frame_with(
        &self,
        file: &SqlFile,
        params: &[(&'static str, crate::query::sql::Param)],
    ) -> Result<Option<Frame>, DashboardError> {
        Ok(file.frame_if_present(self.session, params).await?)
    }

    /// The deployments of the range as chart markers (`service@version`), of `service` only
    /// when given.
    pub async fn deployment_markers(
        &self,
        service: Option<&str>,
    ) -> Result<Vec<Marker>, DashboardError> {
        let deps =
            crate::incident::query::deployments(self.session, self.range.from, self.range.to)
                .await?;
        Ok(deps
            .into_iter()
            .filter(|d| d.phase == "completed" || d.phase == "rolled_back")
            .filter(|d| service.is_none_or(|s| d.service == s))
            .map(|d| Marker {
                x: d.ts as f64,
                label: format!(
                    "{}@{}{}",
                    d.service,
                    d.version,
                    if d.phase == "rolled_back" {
                        " (rolled back)"
                    } else {
                        ""
                    }
                ),
            })
            .collect())
    }
}

/// A chart line of `rows` of a frame: x from time column `x`, y from `y` times `scale`.
pub fn series(
    f: &Frame,
    rows: impl Iterator<Item = usize>,
    name: impl Into<String>,
    x: &str,
    y: &str,
    scale: f64,
) -> super::chart::Series {
    super::chart::Series {
        name: name.into(),
        points: rows
            .filter_map(|i| Some((f.time(x, i)? as f64, f.num(y, i)? * scale)))
            .collect(),
    }
}

/// A chart's options: `title`, `unit`, time on x, zero-based y.
pub fn chart_options(title: impl Into<String>, unit: &str) -> super::chart::Options {
    super::chart::Options {
        title: title.into(),
        unit: unit.into(),
        width: 900.0,
        ..Default::default()
    }
}

/// What makes the hourly tables, for the note of a page without them.
pub const HOURLY: &str =
    "run `postlaunch hourly --all` (or `postlaunch run`) to compute the hourly tables";

/// The note of a section whose table the lake lacks.
pub fn missing(table: &str, how: &str) -> String {
    format!("The lake has no `{table}` table yet: {how}.")
}

/// Formatters of figures.
pub mod fmt {
    use super::num;

    pub fn ms(x: Option<f64>) -> String {
        x.map_or("—".into(), |x| format!("{} ms", num(x)))
    }

    pub fn count(x: Option<f64>) -> String {
        x.map_or("—".into(), |x| {
            crate::report::format::thousands(x.max(0.0).round() as u64)
        })
    }

    /// A share as a percentage, `0.52 %`.
    pub fn share(x: Option<f64>) -> String {
        x.filter(|x| x.is_finite())
            .map_or("—".into(), |x| format!("{} %", num(100.0 * x)))
    }

    pub fn number(x: Option<f64>) -> String {
        x.map_or("—".into(), num)
    }

    /// Bytes as `3.49 GB`.
    pub fn bytes(x: Option<f64>) -> String {
        let Some(x) = x else { return "—".into() };
        let units = ["B", "kB", "MB", "GB", "TB", "PB"];
        let mut v = x;
        let mut u = 0;
        while v.abs() >= 1000.0 && u + 1 < units.len() {
            v /= 1000.0;
            u += 1;
        }
        format!("{} {}", num(v), units[u])
    }

    /// Seconds as `7 min`, `2.1 h`.
    pub fn span(x: Option<f64>) -> String {
        x.map_or("—".into(), crate::incident::metrics::span)
    }

    /// A relative change as `+12.3 %`.
    pub fn change(x: Option<f64>) -> String {
        x.map_or("—".into(), crate::report::format::pct)
    }
}

/// A navigation entry of the frame.
#[derive(Debug, Serialize)]
struct NavEntry {
    title: &'static str,
    href: String,
    current: bool,
}

/// A choice of the range picker.
#[derive(Debug, Serialize)]
struct RangeChoice {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

/// A page as HTML: the document's sections inside the frame (navigation keeping the range, the
/// range picker keeping the drill-down in hidden fields). Scripts and styles are files of the
/// server (`/assets/…`), so the Content-Security-Policy needs no inline exception.
pub fn render(page: Page, range: &Range, keep: &[(&str, String)], doc: &Document) -> String {
    let pages: Vec<NavEntry> = Page::ALL
        .iter()
        .map(|p| NavEntry {
            title: p.title(),
            href: href(p.path(), range, &[]),
            current: *p == page,
        })
        .collect();
    let mut ranges: Vec<RangeChoice> = PRESETS
        .iter()
        .map(|(v, l, _)| RangeChoice {
            value: v,
            label: l,
            selected: range.preset == *v,
        })
        .collect();
    ranges.push(RangeChoice {
        value: "custom",
        label: "Custom (from – to)",
        selected: range.preset == "custom",
    });
    super::document::render(
        "dashboard.html",
        minijinja::context! {
            doc => minijinja::Value::from(minijinja::value::Serde(doc)),
            pages => minijinja::Value::from(minijinja::value::Serde(&pages)),
            ranges => minijinja::Value::from(minijinja::value::Serde(&ranges)),
            action => page.path(),
            hidden => minijinja::Value::from(minijinja::value::Serde(keep)),
            from => input_time(range.from),
            to => input_time(range.to),
        },
    )
}

/// The page for an error: what was wrong and a way back.
pub fn error_document(title: &str, message: &str, range: &Range) -> Document {
    Document {
        title: title.into(),
        subtitle: message.into(),
        footer: String::new(),
        sections: vec![super::document::Section::new("Where to go").links(
            Page::ALL
                .iter()
                .map(|p| link(p.title(), p.path(), range, &[]))
                .collect(),
        )],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn end() -> DateTime<Utc> {
        "2026-11-16T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn presets_end_at_the_data() {
        let r = Range::parse(None, None, None, end()).unwrap();
        assert_eq!(r.preset, "7d");
        assert_eq!(
            r.from,
            "2026-11-09T00:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        let r = Range::parse(Some("24h"), Some("ignored"), None, end()).unwrap();
        assert_eq!(r.to - r.from, Duration::hours(24));
        assert_eq!(r.previous().to, r.from);
    }

    #[test]
    fn whole_days_of_a_range() {
        use crate::query::sql::Param;
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let days = |r: &Range| match &r.tiered_params()[2..] {
            [(_, Param::Time(a)), (_, Param::Time(b))] => (*a, *b),
            other => panic!("{other:?}"),
        };
        let r = Range::parse(
            Some("custom"),
            Some("2026-11-02T06:00"),
            Some("2026-11-05T12:00"),
            end(),
        )
        .unwrap();
        assert_eq!(
            days(&r),
            (t("2026-11-03T00:00:00Z"), t("2026-11-05T00:00:00Z"))
        );
        let r = Range::parse(Some("7d"), None, None, end()).unwrap();
        assert_eq!(days(&r), (r.from, r.to));
        // no whole day: every hour from the hourly tables
        let r = Range::parse(
            Some("custom"),
            Some("2026-11-02T06:00"),
            Some("2026-11-03T05:00"),
            end(),
        )
        .unwrap();
        assert_eq!(days(&r), (r.to, r.to));
    }

    #[test]
    fn custom_ranges_parse_and_bad_ones_say_why() {
        let r = Range::parse(None, Some("2026-11-09"), Some("2026-11-10T12:00"), end()).unwrap();
        assert_eq!(r.preset, "custom");
        assert_eq!(r.hours().round() as i64, 36);
        assert_eq!(
            href("/application", &r, &[("service", "a b&<c>")]),
            "/application?range=custom&from=2026%2D11%2D09T00%3A00&to=2026%2D11%2D10T12%3A00&service=a%20b%26%3Cc%3E"
        );
        for (range, from, to, needle) in [
            (Some("1y"), None, None, "expected one of 24h"),
            (Some("custom"), Some("2026-11-09"), None, "needs both"),
            (
                None,
                Some("yesterday"),
                Some("2026-11-10"),
                "`from` = `yesterday`",
            ),
            (
                None,
                Some("2026-11-10"),
                Some("2026-11-09"),
                "must be before",
            ),
            (None, Some("2020-01-01"), Some("2026-11-09"), "at most 400"),
        ] {
            match Range::parse(range, from, to, end()) {
                Err(DashboardError::BadRequest(m)) => assert!(m.contains(needle), "{m}"),
                other => panic!("{range:?} {from:?} {to:?}: {other:?}"),
            }
        }
    }
}
