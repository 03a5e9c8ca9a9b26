//! The deterministic demo scenario: two weeks after the launch of an e-commerce shop.
//!
//! `postlaunch demo` feeds these records into the pipeline (as NDJSON files or Kafka
//! messages) so that every query, statistic, alert and report has something true to
//! find. The generator sits in front of `source/` in the data flow: it produces what a
//! real shop would send, one NDJSON line per record, table by table, hour by hour.
//!
//! # The story
//!
//! The period starts at `start` (default Monday 2026-11-02 00:00 UTC, launch day) and
//! lasts `days` days (default 14). Events are placed at fixed fractions of the period
//! so that shorter runs tell the same story; with the defaults the timeline is:
//!
//! | when (UTC)           | what |
//! |----------------------|------|
//! | 11-02 08:00          | `web@2.0.0` blue/green: the launch; traffic starts 50 % above normal and settles over a few days |
//! | 11-04 10:00          | `api@3.2.0` rolling deployment, no effect |
//! | 11-06 11:00          | `search@1.13.0` canary, **rolled back** at 11:18, no effect (its canary host reports the version meanwhile) |
//! | 11-06 19:40–20:10    | error burst: 30 % 502/504 on `POST /api/checkout/payment` (the payment provider); incident **INC-2026-001** (P2, `checkout`) detected 19:44, acknowledged 19:49, mitigated 20:10, resolved 21:50, postmortem two days later; `stripe` dependency latency ×8 and billing tickets spike |
//! | 11-08 13:00          | `web@2.1.0` (flag): the new feature `one_click_reorder` launches; its adoption ramps up over four days |
//! | 11-10 14:00–14:25    | `checkout@2.4.0` canary: **the regression**. From completion on, every `checkout` endpoint is 1.3× slower (p95 +30 %), the `insert_order` query 2.2×, checkout DB pools fuller, CPU higher, `/checkout` TTFB worse, and "bug"/"performance" feedback spikes |
//! | 11-12 16:00          | `auth@4.1.0` rolling deployment, no effect |
//! | 11-13 03:10–03:30    | error burst: 15 % 503 on `GET /api/search` (no incident was opened) |
//! | 11-13 17:00          | `api@3.2.1` rolling hotfix, no effect |
//!
//! Throughout, the experiment **`checkout_redesign`** (`control` / `treatment`) runs
//! on signed-in users, assigned by a hash of the user, 50/50 (55/45 with
//! [`ScenarioConfig::srm_skew`], a sample-ratio mismatch). A user is exposed when a
//! session reaches the cart; the treatment really raises begin_checkout → purchase
//! conversion from 70 % to about 78 % (+12 % relative). About 0.3 % of the users are
//! shown a random variant at each exposure, so those exposed more than once usually
//! see both: a data-quality wrinkle analyses must handle.
//!
//! # Tables and volumes at `scale = 1`
//!
//! * `requests`: ~25 000 a day, five services (`web`, `api`, `checkout`, `search`,
//!   `auth`) with 2–4 route templates each, 13 hosts in `us-east-1`/`eu-west-1`,
//!   diurnal (peak 19:00 UTC, trough 07:00), weekly and launch-decay traffic;
//!   lognormal latencies per endpoint; 0.5 % 5xx with messages, endpoint-specific 4xx;
//!   5 % of the records carry `ts` as epoch milliseconds instead of RFC 3339.
//! * `metrics`: every 5 minutes per host CPU, memory, disk and network; DB query
//!   latency per query, pool usage, replication lag; API cache hits/misses; latency of
//!   the `stripe`, `sendgrid` and `maps` dependencies; hourly infra cost per service
//!   (~32 000 a day, independent of `scale`, values follow the traffic).
//! * `web_vitals`: ~3 000 a day; LCP, FCP, TTFB, CLS for every page load, INP for 75 %,
//!   FID for 5 %; five page templates, 60 % mobile (LCP median 2.2 s), correlated within
//!   a page load.
//! * `events`: ~6 000 a day from ~1 800 sessions of a pool of 3 000 × `scale` users
//!   (`u000123`) and anonymous visitors (`anon-…`): visit → view_item → add_to_cart →
//!   begin_checkout → purchase with 60/35/55/70 % step conversions, plus `search`,
//!   `recommendation_click`, `wishlist_add` and `one_click_reorder`.
//! * `exposures`: one per signed-in session that reaches the cart (~250 a day).
//! * `feedback`: support tickets, app reviews (mean rating ~3.9), NPS (45 % promoters,
//!   20 % detractors), in-app feedback and surveys, ~170 a day; a few texts contain
//!   JSON escapes and non-ASCII characters on purpose.
//! * `deployments` and `incidents`: the timeline above (14 and 5 records), independent
//!   of `scale`.
//!
//! `requests`, `web_vitals`, `events`, `exposures` and `feedback` scale linearly with
//! [`ScenarioConfig::scale`].
//!
//! # Ordering, determinism and memory
//!
//! Records are built one hour at a time into a per-table buffer, sorted and handed to
//! the sink; records whose time falls into a later hour (session events, late
//! arrivals) wait in the buffer, so memory stays around one hour of data. Within a
//! table, `ts` never decreases except for deliberately late records: 0.5 % of
//! `requests`, `web_vitals` and `events` arrive up to 10 minutes late, i.e. after
//! records up to 10 minutes newer. Every table draws from its own random stream
//! derived from the seed ([`Rng::stream`](super::rng::Rng::stream); `events` and
//! `exposures` share one, the sessions), so the same configuration gives
//! byte-identical output and generating a subset of the tables does not change the
//! others.
//!
//! With [`ScenarioConfig::malformed`], twelve fixed bad lines (truncated JSON, out of
//! range values, missing fields, wrong types, a non-object) are added to the tables
//! they belong to, without changing any other line.
//!
//! # Where the code lives
//!
//! This file holds the entry point [`generate`], its configuration and summary, and
//! the knobs of the story (volumes, rates, table indices). The submodules follow the
//! generation's steps: `shop` is the static description of the shop (services,
//! endpoints, errors, the deployment plan, the incident); `plan` computes every
//! time-dependent fact once from the configuration; one generator per table or group
//! of tables (`requests`, `metrics`, `web_vitals`, `sessions` for `events` and
//! `exposures`, `feedback`, `deployments` for `deployments` and `incidents`) writes an
//! hour of records; `malformed` adds the twelve bad lines; `buffer` orders each
//! table's records and hands them to the sink; `writer` is the allocation-free JSON
//! writer they all use. The unit tests are in `tests`.

mod buffer;
mod deployments;
mod feedback;
mod hostile;
mod malformed;
mod metrics;
mod plan;
mod requests;
mod sessions;
mod shop;
#[cfg(test)]
mod tests;
mod web_vitals;
mod writer;

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use chrono::{DateTime, TimeZone, Utc};

use buffer::{Emitted, Pending};
use deployments::{deployments_hour, incidents_hour};
use feedback::FeedbackGen;
use metrics::MetricsGen;
use plan::Plan;
use requests::RequestGen;
use sessions::SessionGen;
use web_vitals::VitalsGen;

/// Names of the eight tables the scenario can generate, in emission order.
pub const ALL_TABLES: [&str; 8] = [
    "requests",
    "metrics",
    "web_vitals",
    "events",
    "exposures",
    "feedback",
    "deployments",
    "incidents",
];

/// Name of the A/B experiment that runs throughout the scenario.
pub const EXPERIMENT: &str = "checkout_redesign";
/// Variants of [`EXPERIMENT`], control first.
pub const VARIANTS: [&str; 2] = ["control", "treatment"];
/// The feature launched mid-period whose adoption ramps up.
pub const NEW_FEATURE: &str = "one_click_reorder";
/// Latency multiplier of the regressing deployment's service (medians and so p95).
pub const REGRESSION_FACTOR: f64 = 1.3;
/// Share of `requests`, `web_vitals` and `events` records that arrive late.
pub const LATE_FRACTION: f64 = 0.005;
/// How late a late record can be, in milliseconds.
pub const MAX_LATENESS_MS: i64 = 10 * MINUTE;

const REQUESTS: usize = 0;
const METRICS: usize = 1;
const WEB_VITALS: usize = 2;
const EVENTS: usize = 3;
const EXPOSURES: usize = 4;
const FEEDBACK: usize = 5;
const DEPLOYMENTS: usize = 6;
const INCIDENTS: usize = 7;

const SECOND: i64 = 1_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// Volumes per day at `scale = 1` (before the traffic shape).
const REQUESTS_PER_DAY: f64 = 25_000.0;
const PAGE_LOADS_PER_DAY: f64 = 625.0;
const SESSIONS_PER_DAY: f64 = 1_800.0;
const USERS_PER_SCALE: f64 = 3_000.0;
const TICKETS_PER_DAY: f64 = 40.0;
const REVIEWS_PER_DAY: f64 = 25.0;
const NPS_PER_DAY: f64 = 60.0;
const IN_APP_PER_DAY: f64 = 30.0;
const SURVEYS_PER_DAY: f64 = 5.0;

/// Baseline probability of a 5xx answer.
const BASE_SERVER_ERROR_RATE: f64 = 0.005;
/// Share of requests and events that carry a `ts` in epoch milliseconds.
const EPOCH_MS_TS_SHARE: f64 = 0.05;
/// Purchase probability after begin_checkout in control.
const PURCHASE_RATE: f64 = 0.70;
/// Relative increase of that probability in treatment.
const TREATMENT_LIFT: f64 = 0.12;
/// Share of users shown a random variant at each exposure (so often both).
const BOTH_VARIANTS_SHARE: f64 = 0.003;
const CATALOG_ITEMS: u64 = 5_000;

/// What to generate. [`Default`] gives the documented demo.
#[derive(Debug, Clone)]
pub struct ScenarioConfig {
    /// Seed of every random stream; the same configuration gives the same bytes.
    pub seed: u64,
    /// Length of the period in days (at least 1); default 14.
    pub days: u32,
    /// Volume multiplier of the traffic-driven tables; default 1.0.
    pub scale: f64,
    /// First instant of the period, launch day 00:00 UTC; default 2026-11-02T00:00:00Z.
    /// Times of day in the story assume it is a midnight.
    pub start: DateTime<Utc>,
    /// Tables to generate, by name from [`ALL_TABLES`]; empty means all eight.
    pub tables: Vec<String>,
    /// Assign the experiment 55/45 (control/treatment) instead of 50/50.
    pub srm_skew: bool,
    /// Also emit the twelve fixed malformed lines.
    pub malformed: bool,
    /// Also emit the four hostile records (markup, right-to-left text, emoji, a very long route
    /// in valid events) that every page and report must show as text.
    pub hostile: bool,
}

impl Default for ScenarioConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            days: 14,
            scale: 1.0,
            start: Utc
                .with_ymd_and_hms(2026, 11, 2, 0, 0, 0)
                .single()
                .expect("2026-11-02T00:00:00Z is a valid UTC instant"),
            tables: Vec::new(),
            srm_skew: false,
            malformed: false,
            hostile: false,
        }
    }
}

/// An injected error burst: `error_rate` of the endpoint's requests fail in the window.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorBurst {
    /// Service serving the endpoint.
    pub service: String,
    /// Route template, e.g. `POST /api/checkout/payment`.
    pub endpoint: String,
    /// First instant of the burst.
    pub start: DateTime<Utc>,
    /// End of the burst (exclusive).
    pub end: DateTime<Utc>,
    /// Share of the endpoint's requests that fail with a 5xx during the burst.
    pub error_rate: f64,
    /// Incident opened for the burst, if any.
    pub incident_id: Option<String>,
}

/// What the generated data contains: the facts a summary prints and tests check.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// First instant of the period.
    pub start: DateTime<Utc>,
    /// End of the period (exclusive).
    pub end: DateTime<Utc>,
    /// The deployment that regresses latency, as `service@version`.
    pub regressing_deployment: String,
    /// Its service.
    pub regressing_service: String,
    /// When it completed; from then on the service is [`Scenario::regression_factor`]× slower.
    pub regression_completed_at: DateTime<Utc>,
    /// Latency multiplier of the regression (p95 after / p95 before, in expectation).
    pub regression_factor: f64,
    /// The deployment that was rolled back without effect, as `service@version`.
    pub rolled_back_deployment: String,
    /// Identifier of the one incident.
    pub incident_id: String,
    /// Severity of the incident.
    pub incident_severity: String,
    /// Service the incident is about.
    pub incident_service: String,
    /// When the incident was detected.
    pub incident_detected_at: DateTime<Utc>,
    /// When the incident was resolved.
    pub incident_resolved_at: DateTime<Utc>,
    /// The injected error bursts, in time order of the default scenario.
    pub error_bursts: Vec<ErrorBurst>,
    /// Name of the experiment.
    pub experiment: String,
    /// Its variants, control first.
    pub variants: Vec<String>,
    /// Intended share of users assigned to control (0.5, or 0.55 with `srm_skew`).
    pub control_share: f64,
    /// Relative lift of begin_checkout → purchase conversion in treatment (0.12 = +12 %).
    pub treatment_lift: f64,
    /// The feature launched mid-period.
    pub new_feature: String,
    /// When it launched.
    pub new_feature_launched_at: DateTime<Utc>,
    /// Lines emitted per generated table, malformed ones included.
    pub records: BTreeMap<String, u64>,
    /// Malformed lines emitted per table (only tables that got some).
    pub malformed_by_table: BTreeMap<String, u64>,
    /// Malformed lines emitted in total.
    pub malformed: u64,
    /// Records emitted deliberately late (after newer records of their table).
    pub late: u64,
}

impl Scenario {
    /// Total number of lines emitted.
    pub fn total_records(&self) -> u64 {
        self.records.values().sum()
    }
}

/// Generates the scenario hour by hour and calls `sink(table, line)` once per NDJSON
/// record (the line has no trailing newline).
///
/// Memory stays bounded by about one hour of records. Within one table, lines come in
/// non-decreasing `ts` order except for [`LATE_FRACTION`] of the `requests`,
/// `web_vitals` and `events` records, which arrive up to [`MAX_LATENESS_MS`] late.
/// An error from `sink` stops the generation and is returned.
///
/// # Errors
/// If `days` is 0 or above 3 660, `scale` is not a positive finite number of at most
/// 10 000, a name in `tables` is not one of [`ALL_TABLES`], or `sink` fails.
pub fn generate(
    cfg: &ScenarioConfig,
    sink: &mut dyn FnMut(&str, &[u8]) -> Result<()>,
) -> Result<Scenario> {
    let enabled = enabled_tables(cfg)?;
    let plan = Plan::new(cfg);

    let mut requests = RequestGen::new(cfg.seed);
    let mut metrics = MetricsGen::new(cfg.seed);
    let mut vitals = VitalsGen::new(cfg.seed);
    let mut sessions = SessionGen::new(cfg.seed);
    let mut feedback = FeedbackGen::new(cfg.seed);

    let mut pending: [Pending; 8] = std::array::from_fn(|_| Pending::default());
    let mut emitted = [Emitted::default(); 8];

    for hour in 0..plan.hours {
        let t0 = plan.start + hour as i64 * HOUR;
        let load = plan.hourly_load[hour];
        {
            let [req, met, vit, ev, exp, fb, dep, inc] = &mut pending;
            if enabled[REQUESTS] {
                requests.hour(&plan, t0, load, req);
            }
            if enabled[METRICS] {
                metrics.hour(&plan, t0, load, met);
            }
            if enabled[WEB_VITALS] {
                vitals.hour(&plan, t0, load, vit);
            }
            if enabled[EVENTS] || enabled[EXPOSURES] {
                sessions.hour(&plan, t0, load, ev, exp);
            }
            if enabled[FEEDBACK] {
                feedback.hour(&plan, t0, load, fb);
            }
            if enabled[DEPLOYMENTS] {
                deployments_hour(&plan, t0, dep);
            }
            if enabled[INCIDENTS] {
                incidents_hour(&plan, t0, inc);
            }
        }
        if cfg.malformed {
            malformed::add_hour(&plan, hour, t0, &enabled, &mut pending);
        }
        if cfg.hostile {
            hostile::add_hour(&plan, hour, t0, &enabled, &mut pending);
        }
        let limit = if hour + 1 == plan.hours {
            i64::MAX
        } else {
            t0 + HOUR
        };
        for (i, out) in pending.iter_mut().enumerate() {
            if enabled[i] {
                out.flush(limit, ALL_TABLES[i], sink, &mut emitted[i])?;
            } else {
                out.clear();
            }
        }
    }

    Ok(plan.summary(cfg, &enabled, &emitted))
}

/// Which tables `cfg.tables` selects, validating the rest of the configuration too.
fn enabled_tables(cfg: &ScenarioConfig) -> Result<[bool; 8]> {
    if cfg.days == 0 || cfg.days > 3_660 {
        bail!("days ({}) must be between 1 and 3660", cfg.days);
    }
    if !(cfg.scale.is_finite() && cfg.scale > 0.0 && cfg.scale <= 10_000.0) {
        bail!(
            "scale ({}) must be a positive finite number of at most 10000",
            cfg.scale
        );
    }
    if cfg.tables.is_empty() {
        return Ok([true; 8]);
    }
    let mut enabled = [false; 8];
    for name in &cfg.tables {
        match ALL_TABLES.iter().position(|t| t == name) {
            Some(i) => enabled[i] = true,
            None => bail!(
                "unknown table `{name}`, expected one of {}",
                ALL_TABLES.join(", ")
            ),
        }
    }
    Ok(enabled)
}
