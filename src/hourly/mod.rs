//! The hourly job: after the lake, before alerts and reports. For each closed hour it runs every
//! query in `sql/hourly/` over that hour's partitions and stores each result as a derived lake
//! table `hourly_<name>` (one partition per hour, replaced when recomputed); then it rolls the
//! hours up into `daily_<name>` and `weekly_<name>` (ISO weeks) from the stored hourly rows —
//! percentiles by merging DDSketches, never by rescanning raw rows.
//!
//! Late events: the job remembers, per computed hour, the commit-log version of every input
//! table it read (`<lake>/.postlaunch/hourly-state.json`). A later commit that adds files to that
//! hour (an ingest of late events; compactions do not count) makes the hour stale, and the next
//! run recomputes it.

pub mod queries;
pub mod state;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, Duration as ChronoDuration, TimeZone, Utc};

use crate::config::HourlyConfig;
use crate::lake::derived::{replace_partition, replace_partitions};
use crate::lake::layout::HOUR_MICROS;
use crate::lake::LakeError;
use crate::query::sql::{Param, SqlError, SqlFile};
use crate::query::{LakeSession, QueryError};
use crate::schema::Catalog;
use queries::{HOURLY, ROLLUP};
use state::JobState;

/// Errors of the hourly job, each naming the SQL file or table concerned.
#[derive(Debug, thiserror::Error)]
pub enum HourlyError {
    #[error("`{file}` for hour {hour}: {source}")]
    Query {
        file: String,
        hour: String,
        source: QueryError,
    },
    #[error("writing `{table}`: {source}")]
    Lake { table: String, source: LakeError },
    #[error("{0}")]
    Query0(#[from] QueryError),
    #[error("{0}")]
    Sql(#[from] SqlError),
    #[error("job state `{path}`: {message}")]
    State { path: PathBuf, message: String },
    #[error("{0}")]
    Invalid(String),
}

/// Hours computed from the input tables at `versions`, recorded in the job state once their
/// results are stored.
struct Computed {
    from: i64,
    to: i64,
    versions: state::Versions,
}

/// One query's rows for a batch of hours, by hour.
struct BatchResult {
    table: String,
    schema: arrow::datatypes::SchemaRef,
    parts: Vec<(i64, Vec<arrow::array::RecordBatch>)>,
}

/// A batch's results being written to the lake (one commit per table) on a blocking thread.
struct BatchWrite {
    /// Rows written per table.
    task: tokio::task::JoinHandle<Result<Vec<(String, u64)>, HourlyError>>,
    batch: Computed,
}

impl BatchWrite {
    fn spawn(lake: &Path, results: Vec<BatchResult>, batch: Computed) -> BatchWrite {
        let lake = lake.to_path_buf();
        let task = tokio::task::spawn_blocking(move || {
            results
                .into_iter()
                .map(|r| {
                    replace_partitions(&lake, &r.table, &r.schema, &r.parts)
                        .map(|done| (r.table.clone(), done.rows))
                        .map_err(|source| HourlyError::Lake {
                            table: r.table,
                            source,
                        })
                })
                .collect()
        });
        BatchWrite { task, batch }
    }
}

/// What a run computed.
#[derive(Debug, Default, Clone)]
pub struct HourlyReport {
    /// Hours computed (requested and stale ones).
    pub hours: usize,
    /// Of those, hours recomputed because late events arrived after they were computed.
    pub late: usize,
    /// Result rows written, all tables together.
    pub rows: u64,
    /// Daily and weekly periods rolled up.
    pub days: usize,
    pub weeks: usize,
    /// Queries skipped because an input table is missing from the lake (e.g. no `metrics`).
    pub skipped: BTreeSet<String>,
}

/// An hour as its key: microseconds since the epoch of its start divided by [`HOUR_MICROS`].
pub fn hour_start(hour: i64) -> DateTime<Utc> {
    Utc.timestamp_micros(hour * HOUR_MICROS)
        .single()
        .unwrap_or_default()
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// Parses `2026-11-27T13` (or a full RFC 3339 time inside the hour) into an hour key.
pub fn parse_hour(s: &str) -> Result<i64, String> {
    let t = if s.len() == 13 {
        chrono::NaiveDateTime::parse_from_str(&format!("{s}:00:00"), "%Y-%m-%dT%H:%M:%S")
            .map(|n| n.and_utc())
            .map_err(|e| e.to_string())
    } else {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| e.to_string())
    };
    t.map(|t| t.timestamp_micros().div_euclid(HOUR_MICROS))
        .map_err(|e| {
            format!(
                "`{s}` is not an hour: expected e.g. 2026-11-27T13 (UTC) or an RFC 3339 time ({e})"
            )
        })
}

/// The hourly job over one lake.
pub struct HourlyJob {
    pub lake: PathBuf,
    pub catalog: Catalog,
    pub cfg: HourlyConfig,
    /// Only these queries (file names without `.sql`); empty means all.
    pub only: Vec<String>,
    /// Skip the daily and weekly roll-ups.
    pub no_rollups: bool,
}

impl HourlyJob {
    /// Hours that hold raw data in any input table, from the commit logs (for `--all`).
    pub fn hours_with_data(&self) -> Result<BTreeSet<i64>, HourlyError> {
        let mut out = BTreeSet::new();
        for table in queries::input_tables() {
            let log = crate::lake::log::TableLog::open(&self.lake, &table).map_err(|source| {
                HourlyError::Lake {
                    table: table.clone(),
                    source,
                }
            })?;
            let prefix = format!("{table}/");
            out.extend(
                log.files()
                    .filter(|f| f.path.starts_with(&prefix))
                    .filter_map(|f| crate::lake::layout::parse_partition(&f.path)),
            );
        }
        Ok(out)
    }

    /// The hours the daemon computes at `now`: every hour with data that has closed, and whose
    /// `grace` has passed, and was never computed ([`Self::run`] adds the stale ones).
    pub fn due_hours(
        &self,
        now: DateTime<Utc>,
        grace: std::time::Duration,
    ) -> Result<BTreeSet<i64>, HourlyError> {
        let due = last_due_hour(now, grace);
        let state = JobState::load(&self.lake)?;
        Ok(self
            .hours_with_data()?
            .into_iter()
            .filter(|h| *h <= due && !state.hours.contains_key(h))
            .collect())
    }

    /// Computes `hours` plus every stale hour, then the daily and weekly roll-ups they touch.
    /// `progress` is called after each hour with (done, total).
    pub async fn run(
        &self,
        hours: &BTreeSet<i64>,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<HourlyReport, HourlyError> {
        let mut state = JobState::load(&self.lake)?;
        let stale = state.stale_hours(&self.lake)?;
        let mut todo: BTreeSet<i64> = hours.clone();
        let late = stale.difference(hours).count();
        todo.extend(stale.iter().copied());
        let mut report = HourlyReport {
            late,
            ..HourlyReport::default()
        };
        if !stale.is_empty() {
            tracing::info!(
                hours = stale.len(),
                "Recomputing hours that received late events."
            );
        }
        let mut session = LakeSession::open(&self.lake, &self.catalog).await?;
        session.group_by_partitions();
        let total = todo.len();
        let mut done = 0;
        let mut record = |state: &mut JobState, batch: Computed, report: &mut HourlyReport| {
            for hour in batch.from..batch.to {
                state.computed(hour, batch.versions.clone());
            }
            state.save(&self.lake)?;
            report.hours += (batch.to - batch.from) as usize;
            done += (batch.to - batch.from) as usize;
            progress(done, total);
            Ok::<_, HourlyError>(())
        };
        let regressions = HOURLY
            .iter()
            .find(|q| q.name() == "regressions" && self.selected(q));
        // Each batch's results are written on a blocking thread while the next batch is
        // queried: writing a day of hours (24 files, each fsynced, and a commit) took a third
        // of a backfill's time with the cores idle.
        let mut writing: Option<BatchWrite> = None;
        for (from, to) in batches(&todo, BATCH_HOURS) {
            let versions = state::input_versions(&self.lake)?;
            let mut results = Vec::new();
            for q in HOURLY.iter().filter(|q| self.selected(q)) {
                if q.name() == "regressions" {
                    // Windows over the stored hourly rows: one hour at a time, after the rest.
                    continue;
                }
                results.extend(self.query_batch(&session, q, from, to, &mut report).await?);
            }
            if let Some(w) = writing.take() {
                let batch = self.land(w, &mut session, &mut report).await?;
                record(&mut state, batch, &mut report)?;
            }
            let batch = Computed { from, to, versions };
            let w = BatchWrite::spawn(&self.lake, results, batch);
            match regressions {
                None => writing = Some(w),
                Some(q) => {
                    // They read this batch's hourly rows: wait for them.
                    let batch = self.land(w, &mut session, &mut report).await?;
                    for hour in from..to {
                        self.run_hourly(&mut session, q, hour, &mut report).await?;
                    }
                    record(&mut state, batch, &mut report)?;
                }
            }
        }
        if let Some(w) = writing.take() {
            let batch = self.land(w, &mut session, &mut report).await?;
            record(&mut state, batch, &mut report)?;
        }
        if self.no_rollups {
            return Ok(report);
        }
        let days: BTreeSet<i64> = todo.iter().map(|h| h.div_euclid(24)).collect();
        let weeks: BTreeSet<i64> = days.iter().map(|d| iso_week_start_day(*d)).collect();
        for &day in &days {
            let from = hour_start(day * 24);
            self.run_rollups(
                &mut session,
                "daily",
                from,
                ChronoDuration::days(1),
                &mut report,
            )
            .await?;
            report.days += 1;
        }
        for &monday in &weeks {
            let from = hour_start(monday * 24);
            self.run_rollups(
                &mut session,
                "weekly",
                from,
                ChronoDuration::days(7),
                &mut report,
            )
            .await?;
            report.weeks += 1;
        }
        Ok(report)
    }

    fn selected(&self, q: &SqlFile) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| o == q.name())
    }

    /// Checks `--only` names against the job's queries.
    pub fn check_only(&self) -> Result<(), String> {
        for o in &self.only {
            if !HOURLY.iter().chain(ROLLUP).any(|q| q.name() == o) {
                let mut names: Vec<&str> = HOURLY.iter().chain(ROLLUP).map(|q| q.name()).collect();
                names.sort();
                names.dedup();
                return Err(format!(
                    "--only `{o}` is not a query of the hourly job or its roll-ups; expected one of: {}",
                    names.join(", ")
                ));
            }
        }
        Ok(())
    }

    /// Parameters shared by every hourly query.
    fn hour_params(&self, hour: i64) -> Vec<(&'static str, Param)> {
        let start = hour_start(hour);
        vec![
            ("date", Param::Text(start.format("%Y-%m-%d").to_string())),
            ("hour", Param::Text(start.format("%H").to_string())),
            ("hour_start", Param::Time(start)),
            ("hour_end", Param::Time(start + ChronoDuration::hours(1))),
            (
                "apdex_t_ms",
                Param::Float(self.cfg.apdex_t.as_secs_f64() * 1000.0),
            ),
        ]
    }

    /// Waits for a batch's results to be written and registers tables it created.
    async fn land(
        &self,
        w: BatchWrite,
        session: &mut LakeSession,
        report: &mut HourlyReport,
    ) -> Result<Computed, HourlyError> {
        let written = w.task.await.map_err(|e| {
            HourlyError::Invalid(format!("the thread writing results failed: {e}"))
        })??;
        for (table, rows) in written {
            report.rows += rows;
            if rows > 0 && !session.tables.contains(&table) {
                session.register(&self.lake, &table).await?;
            }
        }
        Ok(w.batch)
    }

    /// Runs one query over the hours `[from, to)` at once and splits its rows by hour, for
    /// [`BatchWrite`] to store each hour's rows in its partition (an hour without rows gets an
    /// empty partition: its old rows are removed). `None` when an input table is missing.
    async fn query_batch(
        &self,
        session: &LakeSession,
        q: &SqlFile,
        from: i64,
        to: i64,
        report: &mut HourlyReport,
    ) -> Result<Option<BatchResult>, HourlyError> {
        let table = format!("hourly_{}", q.name());
        if let Some(why) = q.missing_table(&session.tables) {
            tracing::debug!(query = q.path, %why, "Input table missing; query skipped.");
            report.skipped.insert(why.to_string());
            return Ok(None);
        }
        let (start, end) = (hour_start(from), hour_start(to));
        let params = vec![
            (
                "date_from",
                Param::Text(start.format("%Y-%m-%d").to_string()),
            ),
            (
                "date_to",
                Param::Text(
                    (end - ChronoDuration::seconds(1))
                        .format("%Y-%m-%d")
                        .to_string(),
                ),
            ),
            ("from", Param::Time(start)),
            ("to", Param::Time(end)),
            ("partitions", Param::Sql(partitions_of(&[(start, end)]))),
            (
                "apdex_t_ms",
                Param::Float(self.cfg.apdex_t.as_secs_f64() * 1000.0),
            ),
        ];
        let sql = q.render(&params)?;
        let query_err = |source| HourlyError::Query {
            file: q.path.to_string(),
            hour: format!("{}..{}", rfc3339(start), rfc3339(end)),
            source,
        };
        let (schema, batches) = session.query(&sql).await.map_err(query_err)?;
        let mut by_hour = split_by_hour_start(&schema, &batches).map_err(HourlyError::Invalid)?;
        let parts: Vec<(i64, Vec<arrow::array::RecordBatch>)> = (from..to)
            .map(|hour| (hour, by_hour.remove(&hour).unwrap_or_default()))
            .collect();
        if let Some(stray) = by_hour.keys().next() {
            return Err(HourlyError::Invalid(format!(
                "`{}` returned rows for hour {} outside [{}, {})",
                q.path,
                rfc3339(hour_start(*stray)),
                rfc3339(start),
                rfc3339(end)
            )));
        }
        Ok(Some(BatchResult {
            table,
            schema,
            parts,
        }))
    }

    async fn run_hourly(
        &self,
        session: &mut LakeSession,
        q: &SqlFile,
        hour: i64,
        report: &mut HourlyReport,
    ) -> Result<(), HourlyError> {
        let table = format!("hourly_{}", q.name());
        if let Some(why) = q.missing_table(&session.tables) {
            tracing::debug!(query = q.path, %why, "Input table missing; query skipped.");
            report.skipped.insert(why.to_string());
            return Ok(());
        }
        let mut params = self.hour_params(hour);
        if q.name() == "regressions" {
            params.extend(self.regression_params(session, hour).await?);
        }
        let sql = q.render(&params)?;
        let (schema, batches) = session
            .query(&sql)
            .await
            .map_err(|source| HourlyError::Query {
                file: q.path.to_string(),
                hour: rfc3339(hour_start(hour)),
                source,
            })?;
        let r =
            replace_partition(&self.lake, &table, hour, &schema, &batches).map_err(|source| {
                HourlyError::Lake {
                    table: table.clone(),
                    source,
                }
            })?;
        report.rows += r.rows;
        if !session.tables.contains(&table) && r.rows > 0 {
            session.register(&self.lake, &table).await?;
        }
        Ok(())
    }

    /// `{current_where}`, `{baseline_where}`, their `{…_partitions}` and the thresholds of
    /// `regressions.sql`.
    async fn regression_params(
        &self,
        session: &LakeSession,
        hour: i64,
    ) -> Result<Vec<(&'static str, Param)>, HourlyError> {
        let r = &self.cfg.regressions;
        let b = &self.cfg.baseline;
        let window_hours = (r.current_window.as_secs() / 3600).max(1) as i64;
        let end = hour_start(hour + 1);
        let cur_from = hour_start(hour + 1 - window_hours);
        let current = format!(
            "hour_start >= TIMESTAMP '{}' AND hour_start < TIMESTAMP '{}'",
            rfc3339(cur_from),
            rfc3339(end)
        );
        // The hour ranges each side reads, for `partitions_of`.
        let mut baseline_windows = Vec::new();
        let baseline = match b.kind.as_str() {
            "launch" => {
                let from = b.from.clone().unwrap_or_default();
                let to = b.to.clone().unwrap_or_default();
                let f = crate::units::parse_instant(&from, "hourly.baseline.from")
                    .map_err(|e| HourlyError::Invalid(e.0))?;
                let t = crate::units::parse_instant(&to, "hourly.baseline.to")
                    .map_err(|e| HourlyError::Invalid(e.0))?;
                let (f, t) = (
                    Utc.timestamp_micros(f).single().unwrap_or_default(),
                    Utc.timestamp_micros(t).single().unwrap_or_default(),
                );
                baseline_windows.push((f, t));
                format!(
                    "hour_start >= TIMESTAMP '{}' AND hour_start < TIMESTAMP '{}'",
                    rfc3339(f),
                    rfc3339(t)
                )
            }
            "pre_deployment" => {
                // Per service: the window before its latest deployment started before this hour.
                let sql = format!(
                    "SELECT service, max(ts) AS started FROM deployments \
                     WHERE phase = 'started' AND ts < TIMESTAMP '{}' GROUP BY service",
                    rfc3339(end)
                );
                let (_, batches) = session.query(&sql).await?;
                let mut parts = Vec::new();
                for batch in &batches {
                    let services =
                        arrow::compute::cast(batch.column(0), &arrow::datatypes::DataType::Utf8)
                            .map_err(|e| {
                                HourlyError::Invalid(format!("deployments.service: {e}"))
                            })?;
                    let services = arrow::array::cast::AsArray::as_string::<i32>(&services);
                    let started = arrow::array::cast::AsArray::as_primitive::<
                        arrow::datatypes::TimestampMicrosecondType,
                    >(batch.column(1));
                    for i in 0..batch.num_rows() {
                        let t = Utc
                            .timestamp_micros(started.value(i))
                            .single()
                            .unwrap_or_default();
                        let to = hour_start(t.timestamp_micros().div_euclid(HOUR_MICROS));
                        let from = to
                            - ChronoDuration::from_std(b.window)
                                .unwrap_or(ChronoDuration::hours(24));
                        baseline_windows.push((from, to));
                        parts.push(format!(
                            "(service = '{}' AND hour_start >= TIMESTAMP '{}' AND hour_start < TIMESTAMP '{}')",
                            services.value(i).replace('\'', "''"),
                            rfc3339(from),
                            rfc3339(to)
                        ));
                    }
                }
                if parts.is_empty() {
                    "FALSE".to_string()
                } else {
                    parts.join(" OR ")
                }
            }
            _ => {
                // same_hour_of_week: the current window shifted back by 1..=weeks weeks.
                let parts: Vec<String> = (1..=b.weeks as i64)
                    .map(|w| {
                        let (f, t) = (
                            cur_from - ChronoDuration::weeks(w),
                            end - ChronoDuration::weeks(w),
                        );
                        baseline_windows.push((f, t));
                        format!(
                            "(hour_start >= TIMESTAMP '{}' AND hour_start < TIMESTAMP '{}')",
                            rfc3339(f),
                            rfc3339(t)
                        )
                    })
                    .collect();
                parts.join(" OR ")
            }
        };
        Ok(vec![
            ("current_where", Param::Sql(current)),
            ("baseline_where", Param::Sql(baseline)),
            (
                "current_partitions",
                Param::Sql(partitions_of(&[(cur_from, end)])),
            ),
            (
                "baseline_partitions",
                Param::Sql(partitions_of(&baseline_windows)),
            ),
            ("baseline_kind", Param::Text(b.kind.clone())),
            ("threshold", Param::Float(r.threshold)),
            ("min_samples", Param::Int(r.min_samples as i64)),
            (
                "z_critical",
                Param::Float(crate::stats::dist::normal_critical(
                    2.0 * r.error_rate_alpha,
                )),
            ),
        ])
    }

    async fn run_rollups(
        &self,
        session: &mut LakeSession,
        period: &str,
        from: DateTime<Utc>,
        length: ChronoDuration,
        report: &mut HourlyReport,
    ) -> Result<(), HourlyError> {
        let to = from + length;
        let date = |t: DateTime<Utc>| Param::Text(t.format("%Y-%m-%d").to_string());
        let week = ChronoDuration::weeks(1);
        let second = ChronoDuration::seconds(1);
        let params = vec![
            ("period_start", Param::Time(from)),
            ("from", Param::Time(from)),
            ("to", Param::Time(to)),
            ("date_from", date(from)),
            ("date_to", date(to - second)),
            ("seconds", Param::Int(length.num_seconds())),
            ("prev_from", Param::Time(from - week)),
            ("prev_to", Param::Time(to - week)),
            ("prev_date_from", date(from - week)),
            ("prev_date_to", date(to - week - second)),
        ];
        let key = from.timestamp_micros().div_euclid(HOUR_MICROS);
        for q in ROLLUP.iter().filter(|q| self.selected(q)) {
            let table = format!("{period}_{}", q.name());
            if let Some(why) = q.missing_table(&session.tables) {
                report.skipped.insert(why.to_string());
                continue;
            }
            let sql = q.render(&params)?;
            let (schema, batches) =
                session
                    .query(&sql)
                    .await
                    .map_err(|source| HourlyError::Query {
                        file: q.path.to_string(),
                        hour: rfc3339(from),
                        source,
                    })?;
            let r = replace_partition(&self.lake, &table, key, &schema, &batches).map_err(
                |source| HourlyError::Lake {
                    table: table.clone(),
                    source,
                },
            )?;
            report.rows += r.rows;
            if !session.tables.contains(&table) && r.rows > 0 {
                session.register(&self.lake, &table).await?;
            }
        }
        Ok(())
    }
}

/// Hours per query in a backfill: one query per day keeps memory bounded and the progress bar
/// moving, and costs far less than one query per hour.
const BATCH_HOURS: i64 = 24;

/// A predicate on the `date`/`hour` partition columns that holds for every hour overlapping
/// one of `windows` (`[from, to)`): `{partitions}` of a batch's queries, and the two sides of
/// `regressions.sql`. Made of partition columns only, it lets DataFusion read only those hours'
/// files; for a single window within one day it also pins `date` (and `hour`, for a single
/// hour) by equality, so that only that day's (hour's) folder is listed.
/// `regressions.sql` scans `hourly_service_metrics` several times per hour: filtered on
/// `hour_start` alone, each scan listed and opened every file of the table.
fn partitions_of(windows: &[(DateTime<Utc>, DateTime<Utc>)]) -> String {
    let key = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H").to_string();
    let hours: Vec<(DateTime<Utc>, DateTime<Utc>)> = windows
        .iter()
        .map(|&(from, to)| {
            let first = hour_start(from.timestamp_micros().div_euclid(HOUR_MICROS));
            let end = hour_start((to.timestamp_micros() + HOUR_MICROS - 1).div_euclid(HOUR_MICROS));
            (first, end.max(first))
        })
        .collect();
    let range = |(first, end): (DateTime<Utc>, DateTime<Utc>)| {
        format!(
            "concat(date, 'T', hour) >= '{}' AND concat(date, 'T', hour) < '{}'",
            key(first),
            key(end)
        )
    };
    match hours.as_slice() {
        [] => "FALSE".to_string(),
        [(first, end)] if *end == *first + ChronoDuration::hours(1) => format!(
            "date = '{}' AND hour = '{}'",
            first.format("%Y-%m-%d"),
            first.format("%H")
        ),
        [(first, end)] if first.date_naive() == (*end - ChronoDuration::hours(1)).date_naive() => {
            format!(
                "date = '{}' AND {}",
                first.format("%Y-%m-%d"),
                range((*first, *end))
            )
        }
        [one] => range(*one),
        many => many
            .iter()
            .map(|w| format!("({})", range(*w)))
            .collect::<Vec<_>>()
            .join(" OR "),
    }
}

/// Splits a set of hours into runs of consecutive hours, each at most `max` long, as `[from, to)`.
pub fn batches(hours: &BTreeSet<i64>, max: i64) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::new();
    for &h in hours {
        match out.last_mut() {
            Some((from, to)) if *to == h && h - *from < max => *to = h + 1,
            _ => out.push((h, h + 1)),
        }
    }
    out
}

/// Groups result rows by their `hour_start` column, as hour keys.
fn split_by_hour_start(
    schema: &arrow::datatypes::Schema,
    batches: &[arrow::array::RecordBatch],
) -> Result<std::collections::BTreeMap<i64, Vec<arrow::array::RecordBatch>>, String> {
    use arrow::array::{Array, AsArray, UInt32Array};
    use arrow::datatypes::{DataType, TimeUnit, TimestampMicrosecondType};
    let col = schema
        .index_of("hour_start")
        .map_err(|_| "an hourly query must return an `hour_start` column".to_string())?;
    let mut out: std::collections::BTreeMap<i64, Vec<arrow::array::RecordBatch>> =
        std::collections::BTreeMap::new();
    for b in batches.iter().filter(|b| b.num_rows() > 0) {
        let ts = arrow::compute::cast(
            b.column(col),
            &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        )
        .map_err(|e| format!("`hour_start` is not a timestamp: {e}"))?;
        let ts = ts.as_primitive::<TimestampMicrosecondType>();
        let mut rows: std::collections::BTreeMap<i64, Vec<u32>> = std::collections::BTreeMap::new();
        for i in 0..ts.len() {
            if ts.is_null(i) {
                return Err("`hour_start` is NULL in a result row".into());
            }
            rows.entry(ts.value(i).div_euclid(HOUR_MICROS))
                .or_default()
                .push(i as u32);
        }
        for (hour, idx) in rows {
            let part = arrow::compute::take_record_batch(b, &UInt32Array::from(idx))
                .map_err(|e| e.to_string())?;
            out.entry(hour).or_default().push(part);
        }
    }
    Ok(out)
}

/// The day number (days since the epoch) of the Monday starting `day`'s ISO week.
pub fn iso_week_start_day(day: i64) -> i64 {
    let date = hour_start(day * 24).date_naive();
    day - date.weekday().num_days_from_monday() as i64
}

/// The last closed hour whose grace period has passed at `now`.
pub fn last_due_hour(now: DateTime<Utc>, grace: std::time::Duration) -> i64 {
    let grace = ChronoDuration::from_std(grace).unwrap_or_default();
    (now - grace).timestamp_micros().div_euclid(HOUR_MICROS) - 1
}

/// The lake folder of the job's own files (hidden, so it is not taken for a table).
pub fn job_dir(lake: &Path) -> PathBuf {
    lake.join(".postlaunch")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_parse_and_weeks_start_on_monday() {
        let h = parse_hour("2026-11-27T13").unwrap();
        assert_eq!(rfc3339(hour_start(h)), "2026-11-27T13:00:00");
        assert_eq!(parse_hour("2026-11-27T13:59:59Z").unwrap(), h);
        assert!(parse_hour("2026-11-27 13")
            .unwrap_err()
            .contains("2026-11-27 13"));
        // 2026-11-27 is a Friday; its ISO week starts on Monday 2026-11-23.
        let monday = iso_week_start_day(h.div_euclid(24));
        assert_eq!(
            hour_start(monday * 24).format("%Y-%m-%d").to_string(),
            "2026-11-23"
        );
    }

    #[test]
    fn partition_predicates_cover_whole_hours_and_pin_what_they_can() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let w = |a: &str, b: &str| (t(a), t(b));
        // One hour: both columns by equality (DataFusion lists that folder only).
        assert_eq!(
            partitions_of(&[w("2026-11-10T14:00:00Z", "2026-11-10T15:00:00Z")]),
            "date = '2026-11-10' AND hour = '14'"
        );
        // Within a day, off the hour: the day pinned, the hours widened to whole ones.
        assert_eq!(
            partitions_of(&[w("2026-11-10T11:30:00Z", "2026-11-10T13:10:00Z")]),
            "date = '2026-11-10' AND concat(date, 'T', hour) >= '2026-11-10T11' \
             AND concat(date, 'T', hour) < '2026-11-10T14'"
        );
        // Across midnight: a range; several windows: one range each.
        assert_eq!(
            partitions_of(&[w("2026-11-10T23:00:00Z", "2026-11-11T01:00:00Z")]),
            "concat(date, 'T', hour) >= '2026-11-10T23' AND concat(date, 'T', hour) < '2026-11-11T01'"
        );
        assert_eq!(
            partitions_of(&[
                w("2026-11-03T14:00:00Z", "2026-11-03T15:00:00Z"),
                w("2026-10-27T14:00:00Z", "2026-10-27T15:00:00Z")
            ]),
            "(concat(date, 'T', hour) >= '2026-11-03T14' AND concat(date, 'T', hour) < '2026-11-03T15') \
             OR (concat(date, 'T', hour) >= '2026-10-27T14' AND concat(date, 'T', hour) < '2026-10-27T15')"
        );
        assert_eq!(partitions_of(&[]), "FALSE");
    }

    #[test]
    fn hours_batch_into_runs_of_consecutive_hours() {
        let hours: BTreeSet<i64> = [1, 2, 3, 5, 6, 9].into();
        assert_eq!(batches(&hours, 24), [(1, 4), (5, 7), (9, 10)]);
        assert_eq!(batches(&hours, 2), [(1, 3), (3, 4), (5, 7), (9, 10)]);
        assert!(batches(&BTreeSet::new(), 24).is_empty());
    }

    #[test]
    fn the_due_hour_waits_for_the_grace_period() {
        let now = Utc.with_ymd_and_hms(2026, 11, 27, 14, 5, 0).unwrap();
        let ten_min = std::time::Duration::from_secs(600);
        // 14:05 with 10 min grace: 13:00-14:00 is not due until 14:10, so 12:00 is the last.
        assert_eq!(
            rfc3339(hour_start(last_due_hour(now, ten_min))),
            "2026-11-27T12:00:00"
        );
        let later = Utc.with_ymd_and_hms(2026, 11, 27, 14, 10, 0).unwrap();
        assert_eq!(
            rfc3339(hour_start(last_due_hour(later, ten_min))),
            "2026-11-27T13:00:00"
        );
    }
}
