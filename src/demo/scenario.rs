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
//! derived from the seed ([`Rng::stream`]; `events` and `exposures` share one, the
//! sessions), so the same configuration gives byte-identical output and generating a
//! subset of the tables does not change the others.
//!
//! With [`ScenarioConfig::malformed`], twelve fixed bad lines (truncated JSON, out of
//! range values, missing fields, wrong types, a non-object) are added to the tables
//! they belong to, without changing any other line.

use std::collections::BTreeMap;
use std::f64::consts::TAU;

use anyhow::{bail, Result};
use chrono::{DateTime, TimeZone, Utc};

use super::rng::{mix64, stream_seed, unit_f64, Rng, WeightedIndex};

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
            for (i, m) in MALFORMED.iter().enumerate() {
                if enabled[m.table] && plan.hour_of_fraction(m.at) == hour {
                    let ts = t0 + 17 * MINUTE + i as i64 * 7 * SECOND;
                    let out = &mut pending[m.table];
                    let at = out.begin();
                    m.write(&mut out.arena, ts);
                    out.commit_as(at, ts, RecKind::Malformed);
                }
            }
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

// ---------------------------------------------------------------------------------
// Static description of the shop
// ---------------------------------------------------------------------------------

const WEB: usize = 0;
const API: usize = 1;
const CHECKOUT: usize = 2;
const SEARCH: usize = 3;
const AUTH: usize = 4;

/// Index of `POST /api/checkout/payment` in the checkout endpoints.
const EP_PAYMENT: usize = 1;
/// Index of `GET /api/search` in the search endpoints.
const EP_SEARCH: usize = 0;

struct ServiceSpec {
    name: &'static str,
    hosts: usize,
    traffic_share: f64,
    initial_version: &'static str,
    /// Baseline and load-proportional CPU utilisation of a host.
    cpu: (f64, f64),
    /// Memory growth per day since the last deployment (a slow leak in `api`).
    memory_leak_per_day: f64,
    /// Bytes sent per request.
    tx_bytes: f64,
    endpoints: &'static [EndpointSpec],
}

struct EndpointSpec {
    route: &'static str,
    share: f64,
    median_ms: f64,
    sigma: f64,
    ok_status: u16,
    client_error_rate: f64,
    /// Status and message of client errors; an empty message is omitted.
    client_errors: &'static [(u16, &'static str)],
}

const fn ep(
    route: &'static str,
    share: f64,
    median_ms: f64,
    sigma: f64,
    ok_status: u16,
    client_error_rate: f64,
    client_errors: &'static [(u16, &'static str)],
) -> EndpointSpec {
    EndpointSpec {
        route,
        share,
        median_ms,
        sigma,
        ok_status,
        client_error_rate,
        client_errors,
    }
}

static SERVICES: [ServiceSpec; 5] = [
    ServiceSpec {
        name: "web",
        hosts: 3,
        traffic_share: 0.30,
        initial_version: "1.9.4",
        cpu: (0.10, 0.45),
        memory_leak_per_day: 0.004,
        tx_bytes: 18_000.0,
        endpoints: &[
            ep("GET /", 0.25, 80.0, 0.5, 200, 0.002, &[(404, "not found")]),
            ep(
                "GET /product/:id",
                0.35,
                120.0,
                0.5,
                200,
                0.02,
                &[(404, "product not found")],
            ),
            ep(
                "GET /category/:slug",
                0.15,
                100.0,
                0.5,
                200,
                0.005,
                &[(404, "category not found")],
            ),
            ep(
                "GET /static/*asset",
                0.25,
                20.0,
                0.4,
                200,
                0.01,
                &[(404, "")],
            ),
        ],
    },
    ServiceSpec {
        name: "api",
        hosts: 4,
        traffic_share: 0.30,
        initial_version: "3.1.2",
        cpu: (0.12, 0.55),
        memory_leak_per_day: 0.02,
        tx_bytes: 4_000.0,
        endpoints: &[
            ep(
                "GET /api/cart",
                0.30,
                45.0,
                0.5,
                200,
                0.01,
                &[(401, "invalid or expired token")],
            ),
            ep(
                "POST /api/cart/items",
                0.20,
                70.0,
                0.55,
                201,
                0.02,
                &[
                    (400, "invalid request body"),
                    (409, "cart version conflict"),
                ],
            ),
            ep(
                "GET /api/products/:id",
                0.35,
                35.0,
                0.45,
                200,
                0.015,
                &[(404, "product not found")],
            ),
            ep(
                "GET /api/recommendations",
                0.15,
                150.0,
                0.7,
                200,
                0.002,
                &[(429, "rate limit exceeded")],
            ),
        ],
    },
    ServiceSpec {
        name: "checkout",
        hosts: 2,
        traffic_share: 0.10,
        initial_version: "2.3.1",
        cpu: (0.08, 0.35),
        memory_leak_per_day: 0.004,
        tx_bytes: 3_000.0,
        endpoints: &[
            ep(
                "POST /api/checkout",
                0.35,
                220.0,
                0.6,
                201,
                0.03,
                &[
                    (400, "invalid request body"),
                    (409, "cart changed during checkout"),
                ],
            ),
            ep(
                "POST /api/checkout/payment",
                0.30,
                300.0,
                0.7,
                200,
                0.05,
                &[(402, "payment declined"), (422, "card expired")],
            ),
            ep(
                "GET /api/orders/:id",
                0.35,
                60.0,
                0.5,
                200,
                0.01,
                &[(404, "order not found"), (403, "forbidden")],
            ),
        ],
    },
    ServiceSpec {
        name: "search",
        hosts: 2,
        traffic_share: 0.15,
        initial_version: "1.12.0",
        cpu: (0.15, 0.6),
        memory_leak_per_day: 0.004,
        tx_bytes: 8_000.0,
        endpoints: &[
            ep(
                "GET /api/search",
                0.6,
                110.0,
                0.65,
                200,
                0.003,
                &[(400, "query too long")],
            ),
            ep(
                "GET /api/search/suggest",
                0.4,
                25.0,
                0.5,
                200,
                0.001,
                &[(429, "rate limit exceeded")],
            ),
        ],
    },
    ServiceSpec {
        name: "auth",
        hosts: 2,
        traffic_share: 0.15,
        initial_version: "4.0.3",
        cpu: (0.06, 0.3),
        memory_leak_per_day: 0.004,
        tx_bytes: 1_000.0,
        endpoints: &[
            ep(
                "POST /api/auth/login",
                0.15,
                180.0,
                0.5,
                200,
                0.08,
                &[
                    (401, "invalid credentials"),
                    (429, "too many login attempts"),
                ],
            ),
            ep(
                "POST /api/auth/refresh",
                0.35,
                25.0,
                0.4,
                200,
                0.03,
                &[(401, "refresh token expired")],
            ),
            ep(
                "GET /api/auth/session",
                0.50,
                20.0,
                0.4,
                200,
                0.02,
                &[(401, "no session")],
            ),
        ],
    },
];

const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];

/// Baseline server errors: status, message, weight.
const SERVER_ERRORS: [(u16, &str, f64); 6] = [
    (500, "internal server error", 0.25),
    (500, "db: deadlock detected", 0.15),
    (
        502,
        "bad gateway: upstream connect error or disconnect/reset before headers",
        0.20,
    ),
    (503, "service unavailable: connection pool exhausted", 0.15),
    (503, "service unavailable: upstream overloaded", 0.10),
    (504, "gateway timeout: upstream request timeout", 0.15),
];

const PAYMENT_BURST_ERRORS: [(u16, &str); 3] = [
    (502, "payment provider error: stripe returned 502"),
    (502, "payment provider error: stripe returned 502"),
    (504, "payment provider timeout after 10000 ms"),
];

const SEARCH_BURST_ERRORS: [(u16, &str); 1] = [(503, "search index unavailable: shard relocating")];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Completed,
    RolledBack,
    Regresses,
}

struct DeploySpec {
    /// Fraction of the period that selects the day; the time of day is fixed.
    at: f64,
    hour: i64,
    service: usize,
    version: &'static str,
    strategy: &'static str,
    outcome: Outcome,
    description: &'static str,
}

const DEPLOY_PLAN: [DeploySpec; 7] = [
    DeploySpec {
        at: 0.0,
        hour: 8,
        service: WEB,
        version: "2.0.0",
        strategy: "blue_green",
        outcome: Outcome::Completed,
        description: "Launch: new storefront and product pages",
    },
    DeploySpec {
        at: 0.15,
        hour: 10,
        service: API,
        version: "3.2.0",
        strategy: "rolling",
        outcome: Outcome::Completed,
        description: "Cart API: pagination and price caching",
    },
    DeploySpec {
        at: 0.30,
        hour: 11,
        service: SEARCH,
        version: "1.13.0",
        strategy: "canary",
        outcome: Outcome::RolledBack,
        description: "New ranking model for search results",
    },
    DeploySpec {
        at: 0.45,
        hour: 13,
        service: WEB,
        version: "2.1.0",
        strategy: "flag",
        outcome: Outcome::Completed,
        description: "Enable one_click_reorder for returning users",
    },
    DeploySpec {
        at: 0.60,
        hour: 14,
        service: CHECKOUT,
        version: "2.4.0",
        strategy: "canary",
        outcome: Outcome::Regresses,
        description: "Order service: switch to the new pricing engine",
    },
    DeploySpec {
        at: 0.75,
        hour: 16,
        service: AUTH,
        version: "4.1.0",
        strategy: "rolling",
        outcome: Outcome::Completed,
        description: "Session token rotation",
    },
    DeploySpec {
        at: 0.85,
        hour: 17,
        service: API,
        version: "3.2.1",
        strategy: "rolling",
        outcome: Outcome::Completed,
        description: "Hotfix: rounding of cart totals",
    },
];

/// Index in [`DEPLOY_PLAN`] of the deployment that launches [`NEW_FEATURE`].
const FEATURE_DEPLOY: usize = 3;
const FIRST_CHANGE_ID: usize = 1040;

const INCIDENT_ID: &str = "INC-2026-001";
const INCIDENT_SEVERITY: &str = "P2";
const INCIDENT_TITLE: &str = "Payment failures at checkout (stripe 502/504)";

// ---------------------------------------------------------------------------------
// The plan: every time-dependent fact, computed once from the configuration
// ---------------------------------------------------------------------------------

struct Deploy {
    service: usize,
    version: &'static str,
    strategy: &'static str,
    outcome: Outcome,
    change_id: usize,
    description: &'static str,
    started: i64,
    /// Completion or rollback.
    finished: i64,
}

struct Burst {
    service: usize,
    endpoint: usize,
    start: i64,
    end: i64,
    rate: f64,
    errors: &'static [(u16, &'static str)],
}

struct Plan {
    start: i64,
    end: i64,
    hours: usize,
    scale: f64,
    /// Expected traffic of each hour relative to the period's mean hour.
    hourly_load: Vec<f64>,
    /// Mean of the raw traffic shape over the period's hours.
    shape_mean: f64,
    /// Highest relative load, used to turn load into utilisation.
    peak_load: f64,
    deploys: Vec<Deploy>,
    /// Per service: `(from, version)` of every completed version, oldest first.
    versions: Vec<Vec<(i64, &'static str)>>,
    /// `(service, from, to, version)`: the service's first host runs `version` meanwhile.
    canaries: Vec<(usize, i64, i64, &'static str)>,
    regress: usize,
    bursts: [Burst; 2],
    incident: [(i64, &'static str); 5],
    feature_launch: i64,
    control_share: f64,
    /// Hash salts of the per-user stable draws.
    assignment_salt: u64,
    both_variants_salt: u64,
    platform_salt: u64,
    users: u64,
    user_width: usize,
    host_names: Vec<Vec<String>>,
}

impl Plan {
    fn new(cfg: &ScenarioConfig) -> Self {
        let start = cfg.start.timestamp_millis();
        let days = cfg.days;
        let hours = days as usize * 24;
        let end = start + i64::from(days) * DAY;
        let at = |frac: f64, hour: i64, minute: i64| {
            let day = ((frac * f64::from(days)).floor() as i64).min(i64::from(days) - 1);
            start + day * DAY + hour * HOUR + minute * MINUTE
        };

        let deploys: Vec<Deploy> = DEPLOY_PLAN
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let started = at(d.at, d.hour, 0);
                let minutes = match (d.outcome, d.strategy) {
                    (Outcome::RolledBack, _) => 18,
                    (_, "blue_green") => 6,
                    (_, "canary") => 25,
                    (_, "flag") => 1,
                    _ => 12,
                };
                Deploy {
                    service: d.service,
                    version: d.version,
                    strategy: d.strategy,
                    outcome: d.outcome,
                    change_id: FIRST_CHANGE_ID + i,
                    description: d.description,
                    started,
                    finished: started + minutes * MINUTE,
                }
            })
            .collect();

        let mut versions: Vec<Vec<(i64, &'static str)>> = SERVICES
            .iter()
            .map(|s| vec![(i64::MIN, s.initial_version)])
            .collect();
        let mut canaries = Vec::new();
        for d in &deploys {
            if d.outcome != Outcome::RolledBack {
                versions[d.service].push((d.finished, d.version));
            }
            if d.strategy == "canary" {
                canaries.push((d.service, d.started, d.finished, d.version));
            }
        }
        for v in &mut versions {
            v.sort_by_key(|&(from, _)| from);
        }
        let regress = deploys
            .iter()
            .position(|d| d.outcome == Outcome::Regresses)
            .expect("DEPLOY_PLAN has a regressing deployment");

        let payment_start = at(0.35, 19, 40);
        let search_start = at(0.80, 3, 10);
        let bursts = [
            Burst {
                service: CHECKOUT,
                endpoint: EP_PAYMENT,
                start: payment_start,
                end: payment_start + 30 * MINUTE,
                rate: 0.30,
                errors: &PAYMENT_BURST_ERRORS,
            },
            Burst {
                service: SEARCH,
                endpoint: EP_SEARCH,
                start: search_start,
                end: search_start + 20 * MINUTE,
                rate: 0.15,
                errors: &SEARCH_BURST_ERRORS,
            },
        ];
        let incident = [
            (payment_start + 4 * MINUTE, "detected"),
            (payment_start + 9 * MINUTE, "acknowledged"),
            (payment_start + 30 * MINUTE, "mitigated"),
            (payment_start + 130 * MINUTE, "resolved"),
            (
                (payment_start + 46 * HOUR).min(end - MINUTE),
                "postmortem_published",
            ),
        ];

        let mut plan = Self {
            start,
            end,
            hours,
            scale: cfg.scale,
            hourly_load: Vec::new(),
            shape_mean: 1.0,
            peak_load: 1.0,
            feature_launch: deploys[FEATURE_DEPLOY].finished,
            deploys,
            versions,
            canaries,
            regress,
            bursts,
            incident,
            control_share: if cfg.srm_skew { 0.55 } else { 0.5 },
            assignment_salt: stream_seed(cfg.seed, "assignment"),
            both_variants_salt: stream_seed(cfg.seed, "both-variants"),
            platform_salt: stream_seed(cfg.seed, "platform"),
            users: ((USERS_PER_SCALE * cfg.scale).round() as u64).max(50),
            user_width: 6,
            host_names: SERVICES
                .iter()
                .map(|s| (1..=s.hosts).map(|i| format!("{}-{i}", s.name)).collect())
                .collect(),
        };
        plan.user_width = plan.users.saturating_sub(1).to_string().len().max(6);
        let shapes: Vec<f64> = (0..hours)
            .map(|h| plan.shape(start + h as i64 * HOUR + HOUR / 2))
            .collect();
        plan.shape_mean = shapes.iter().sum::<f64>() / hours as f64;
        plan.hourly_load = shapes.iter().map(|s| s / plan.shape_mean).collect();
        plan.peak_load = plan.hourly_load.iter().copied().fold(1.0, f64::max);
        plan
    }

    /// Raw traffic shape at `ms`: diurnal × weekly × launch decay × slow growth.
    fn shape(&self, ms: i64) -> f64 {
        let hour_of_day = ms.rem_euclid(DAY) as f64 / HOUR as f64;
        // Peak at 19:00 UTC (European evening, American afternoon), trough at 07:00.
        let diurnal = 1.0 + 0.6 * ((hour_of_day - 13.0) * TAU / 24.0).sin();
        let weekly = match (ms.div_euclid(DAY) + 4).rem_euclid(7) {
            0 => 1.08, // Sunday
            6 => 0.92, // Saturday
            _ => 1.0,
        };
        let days_in = ((ms - self.start) as f64 / DAY as f64).max(0.0);
        let launch = 1.0 + 0.5 * (-days_in / 2.0).exp();
        let growth = 1.0 + 0.01 * days_in;
        diurnal * weekly * launch * growth
    }

    /// Expected traffic at `ms` relative to the mean hour.
    fn load(&self, ms: i64) -> f64 {
        self.shape(ms) / self.shape_mean
    }

    /// Load as a utilisation in `[0, 1]`.
    fn utilisation(&self, ms: i64) -> f64 {
        (self.load(ms) / self.peak_load).min(1.0)
    }

    fn hour_of_fraction(&self, frac: f64) -> usize {
        ((frac * self.hours as f64) as usize).min(self.hours - 1)
    }

    fn regressing(&self) -> &Deploy {
        &self.deploys[self.regress]
    }

    /// Version a host of `service` runs at `ms`.
    fn version_at(&self, service: usize, host: usize, ms: i64) -> &'static str {
        if host == 0 {
            for &(s, from, to, version) in &self.canaries {
                if s == service && (from..to).contains(&ms) {
                    return version;
                }
            }
        }
        let timeline = &self.versions[service];
        timeline
            .iter()
            .rev()
            .find(|&&(from, _)| from <= ms)
            .map_or(timeline[0].1, |&(_, v)| v)
    }

    /// When the service's running version was deployed (the period start at the latest).
    fn deployed_since(&self, service: usize, ms: i64) -> i64 {
        self.versions[service]
            .iter()
            .rev()
            .find(|&&(from, _)| from <= ms)
            .map_or(self.start, |&(from, _)| from.max(self.start))
    }

    /// Whether the regressing version serves this request.
    fn regressed(&self, service: usize, host: usize, ms: i64) -> bool {
        let d = self.regressing();
        service == d.service
            && (ms >= d.finished || (host == 0 && (d.started..d.finished).contains(&ms)))
    }

    /// Whether the whole service runs the regressing version.
    fn service_regressed(&self, service: usize, ms: i64) -> bool {
        let d = self.regressing();
        service == d.service && ms >= d.finished
    }

    /// Relative strength of the post-regression feedback spike at `ms` (0 before).
    fn complaint_boost(&self, ms: i64) -> f64 {
        let since = ms - self.regressing().finished;
        if since < 0 {
            0.0
        } else {
            3.0 * (-(since as f64) / (36 * HOUR) as f64).exp()
        }
    }

    fn burst_at(&self, service: usize, endpoint: usize, ms: i64) -> Option<&Burst> {
        self.bursts.iter().find(|b| {
            b.service == service && b.endpoint == endpoint && (b.start..b.end).contains(&ms)
        })
    }

    /// The variant a user is assigned to: a stable hash of seed and user.
    fn variant_of(&self, user: u64) -> usize {
        let u = unit_f64(mix64(self.assignment_salt ^ user));
        usize::from(u >= self.control_share)
    }

    /// Whether the user is one of the few shown both variants.
    fn sees_both(&self, user: u64) -> bool {
        unit_f64(mix64(self.both_variants_salt ^ user)) < BOTH_VARIANTS_SHARE
    }

    fn summary(
        &self,
        cfg: &ScenarioConfig,
        enabled: &[bool; 8],
        emitted: &[Emitted; 8],
    ) -> Scenario {
        let dt = |ms: i64| {
            DateTime::<Utc>::from_timestamp_millis(ms)
                .expect("scenario times are in chrono's range")
        };
        let reg = self.regressing();
        let rolled_back = self
            .deploys
            .iter()
            .find(|d| d.outcome == Outcome::RolledBack)
            .expect("DEPLOY_PLAN has a rolled-back deployment");
        let mut records = BTreeMap::new();
        let mut malformed_by_table = BTreeMap::new();
        for (i, e) in emitted.iter().enumerate() {
            if enabled[i] {
                records.insert(ALL_TABLES[i].to_owned(), e.lines);
                if e.malformed > 0 {
                    malformed_by_table.insert(ALL_TABLES[i].to_owned(), e.malformed);
                }
            }
        }
        let error_bursts = self
            .bursts
            .iter()
            .enumerate()
            .map(|(i, b)| ErrorBurst {
                service: SERVICES[b.service].name.to_owned(),
                endpoint: SERVICES[b.service].endpoints[b.endpoint].route.to_owned(),
                start: dt(b.start),
                end: dt(b.end),
                error_rate: b.rate,
                incident_id: (i == 0).then(|| INCIDENT_ID.to_owned()),
            })
            .collect();
        Scenario {
            start: dt(self.start),
            end: dt(self.end),
            regressing_deployment: format!("{}@{}", SERVICES[reg.service].name, reg.version),
            regressing_service: SERVICES[reg.service].name.to_owned(),
            regression_completed_at: dt(reg.finished),
            regression_factor: REGRESSION_FACTOR,
            rolled_back_deployment: format!(
                "{}@{}",
                SERVICES[rolled_back.service].name, rolled_back.version
            ),
            incident_id: INCIDENT_ID.to_owned(),
            incident_severity: INCIDENT_SEVERITY.to_owned(),
            incident_service: SERVICES[CHECKOUT].name.to_owned(),
            incident_detected_at: dt(self.incident[0].0),
            incident_resolved_at: dt(self.incident[3].0),
            error_bursts,
            experiment: EXPERIMENT.to_owned(),
            variants: VARIANTS.iter().map(|v| (*v).to_owned()).collect(),
            control_share: if cfg.srm_skew { 0.55 } else { 0.5 },
            treatment_lift: TREATMENT_LIFT,
            new_feature: NEW_FEATURE.to_owned(),
            new_feature_launched_at: dt(self.feature_launch),
            records,
            malformed_by_table,
            malformed: emitted.iter().map(|e| e.malformed).sum(),
            late: emitted.iter().map(|e| e.late).sum(),
        }
    }
}

// ---------------------------------------------------------------------------------
// Per-table buffers: one hour of records, sorted on flush
// ---------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum RecKind {
    OnTime,
    Late,
    Malformed,
}

#[derive(Clone, Copy)]
struct Rec {
    /// Emission time: `ts`, or later for a late record.
    key: i64,
    /// Creation order, to break ties deterministically.
    seq: u64,
    start: usize,
    end: usize,
    kind: RecKind,
}

/// Records of one table not yet emitted; their bytes live in one reused arena.
#[derive(Default)]
struct Pending {
    arena: Vec<u8>,
    spare: Vec<u8>,
    recs: Vec<Rec>,
    seq: u64,
}

#[derive(Default, Clone, Copy)]
struct Emitted {
    lines: u64,
    late: u64,
    malformed: u64,
}

impl Pending {
    /// Starts a record: returns its offset in the arena.
    fn begin(&mut self) -> usize {
        self.arena.len()
    }

    /// Ends the record started at `start`, to be emitted in `ts` order.
    fn commit(&mut self, start: usize, ts: i64) {
        self.commit_as(start, ts, RecKind::OnTime);
    }

    /// Ends the record started at `start`; with probability [`LATE_FRACTION`] it is
    /// emitted up to [`MAX_LATENESS_MS`] after its `ts`.
    fn commit_maybe_late(&mut self, start: usize, ts: i64, rng: &mut Rng) {
        if rng.bernoulli(LATE_FRACTION) {
            let delay = SECOND + rng.below((MAX_LATENESS_MS - SECOND) as u64) as i64;
            self.commit_as(start, ts + delay, RecKind::Late);
        } else {
            self.commit_as(start, ts, RecKind::OnTime);
        }
    }

    fn commit_as(&mut self, start: usize, key: i64, kind: RecKind) {
        self.recs.push(Rec {
            key,
            seq: self.seq,
            start,
            end: self.arena.len(),
            kind,
        });
        self.seq += 1;
    }

    /// Emits, in order, the records due before `limit`, keeping the rest.
    fn flush(
        &mut self,
        limit: i64,
        table: &str,
        sink: &mut dyn FnMut(&str, &[u8]) -> Result<()>,
        emitted: &mut Emitted,
    ) -> Result<()> {
        self.recs.sort_unstable_by_key(|r| (r.key, r.seq));
        let due = self.recs.partition_point(|r| r.key < limit);
        for r in &self.recs[..due] {
            sink(table, &self.arena[r.start..r.end])?;
            emitted.lines += 1;
            match r.kind {
                RecKind::OnTime => {}
                RecKind::Late => emitted.late += 1,
                RecKind::Malformed => emitted.malformed += 1,
            }
        }
        self.spare.clear();
        for r in &mut self.recs[due..] {
            let start = self.spare.len();
            self.spare.extend_from_slice(&self.arena[r.start..r.end]);
            r.start = start;
            r.end = self.spare.len();
        }
        self.recs.drain(..due);
        std::mem::swap(&mut self.arena, &mut self.spare);
        Ok(())
    }

    fn clear(&mut self) {
        self.arena.clear();
        self.recs.clear();
    }
}

// ---------------------------------------------------------------------------------
// requests
// ---------------------------------------------------------------------------------

struct RequestGen {
    rng: Rng,
    services: WeightedIndex,
    endpoints: Vec<WeightedIndex>,
    server_errors: WeightedIndex,
}

impl RequestGen {
    fn new(seed: u64) -> Self {
        let shares: Vec<f64> = SERVICES.iter().map(|s| s.traffic_share).collect();
        let errors: Vec<f64> = SERVER_ERRORS.iter().map(|e| e.2).collect();
        Self {
            rng: Rng::stream(seed, "requests"),
            services: WeightedIndex::new(&shares),
            endpoints: SERVICES
                .iter()
                .map(|s| {
                    let w: Vec<f64> = s.endpoints.iter().map(|e| e.share).collect();
                    WeightedIndex::new(&w)
                })
                .collect(),
            server_errors: WeightedIndex::new(&errors),
        }
    }

    fn hour(&mut self, plan: &Plan, t0: i64, load: f64, out: &mut Pending) {
        let n = self
            .rng
            .poisson(REQUESTS_PER_DAY / 24.0 * plan.scale * load);
        // Busier hours are a little slower for everyone.
        let load_factor = 1.0 + 0.1 * (load - 1.0);
        for _ in 0..n {
            let rng = &mut self.rng;
            let ts = t0 + rng.below(HOUR as u64) as i64;
            let svc = self.services.sample(rng);
            let spec = &SERVICES[svc];
            let e = self.endpoints[svc].sample(rng);
            let endpoint = &spec.endpoints[e];
            let host = rng.index(spec.hosts);

            let mut median = endpoint.median_ms * load_factor;
            if plan.regressed(svc, host, ts) {
                median *= REGRESSION_FACTOR;
            }
            let burst = plan.burst_at(svc, e, ts);
            let server_error_rate = burst.map_or(BASE_SERVER_ERROR_RATE, |b| b.rate);
            let u = rng.uniform();
            let (status, message, duration) = if u < server_error_rate {
                let (status, message) = match burst {
                    Some(b) => *rng.choose(b.errors),
                    None => {
                        let (s, m, _) = SERVER_ERRORS[self.server_errors.sample(rng)];
                        (s, m)
                    }
                };
                let duration = match status {
                    504 => 10_000.0 + rng.exponential(40.0),
                    503 => rng.lognormal(4.0, 0.5),
                    _ => rng.lognormal(median * 0.7, endpoint.sigma),
                };
                (status, message, duration)
            } else if u < server_error_rate + endpoint.client_error_rate {
                let (status, message) = *rng.choose(endpoint.client_errors);
                (status, message, rng.lognormal(median * 0.5, endpoint.sigma))
            } else {
                (
                    endpoint.ok_status,
                    "",
                    rng.lognormal(median, endpoint.sigma),
                )
            };

            let at = out.begin();
            let mut o = Obj::new(&mut out.arena);
            if rng.bernoulli(EPOCH_MS_TS_SHARE) {
                o.int("ts", ts);
            } else {
                o.ts("ts", ts);
            }
            o.str("service", spec.name);
            o.str("endpoint", endpoint.route);
            o.int("status", i64::from(status));
            o.num("duration_ms", duration, 1);
            o.str("region", REGIONS[host % 2]);
            o.str("version", plan.version_at(svc, host, ts));
            o.str("host", &plan.host_names[svc][host]);
            if rng.bernoulli(0.7) {
                let user = pick_user(rng, plan.users);
                o.user("user_id", user, plan.user_width);
            }
            if rng.bernoulli(0.92) {
                o.hex("session_id", "s-", rng.next_u64(), 16);
            }
            let (hi, lo) = (rng.next_u64(), rng.next_u64());
            o.hex2("trace_id", hi, lo);
            if !message.is_empty() {
                o.str("error_message", message);
            }
            o.end();
            out.commit_maybe_late(at, ts, rng);
        }
    }
}

/// A user of the pool, some much more active than others.
fn pick_user(rng: &mut Rng, users: u64) -> u64 {
    let u = rng.uniform();
    ((u * u.sqrt() * users as f64) as u64).min(users - 1)
}

// ---------------------------------------------------------------------------------
// metrics
// ---------------------------------------------------------------------------------

/// Database queries: name, calling service, median latency in ms.
const QUERIES: [(&str, usize, f64); 5] = [
    ("get_cart", API, 4.0),
    ("list_products", API, 12.0),
    ("insert_order", CHECKOUT, 9.0),
    ("search_products", SEARCH, 28.0),
    ("get_session", AUTH, 1.5),
];
/// The query the regressing deployment slows down (an N+1 in the new pricing engine).
const REGRESSED_QUERY: &str = "insert_order";
const POOL_SERVICES: [usize; 3] = [API, CHECKOUT, AUTH];
const POOL_SIZE: f64 = 50.0;
/// External dependencies: name, calling service, median latency in ms.
const DEPENDENCIES: [(&str, usize, f64); 3] = [
    ("stripe", CHECKOUT, 180.0),
    ("sendgrid", API, 90.0),
    ("maps", WEB, 60.0),
];
const HOST_HOURLY_USD: f64 = 0.192;

struct MetricsGen {
    rng: Rng,
}

impl MetricsGen {
    fn new(seed: u64) -> Self {
        Self {
            rng: Rng::stream(seed, "metrics"),
        }
    }

    fn hour(&mut self, plan: &Plan, t0: i64, load: f64, out: &mut Pending) {
        let rng = &mut self.rng;
        for spec in &SERVICES {
            let requests = REQUESTS_PER_DAY / 24.0 * plan.scale * load * spec.traffic_share;
            let value = spec.hosts as f64 * HOST_HOURLY_USD + requests * 0.000_02;
            let cost = Series::new("infra_cost_usd", "usd", 4, spec.name, None);
            cost.sample(out, t0, value * rng.uniform_range(0.97, 1.03));
        }

        for tick in 0..12 {
            let t = t0 + tick * 5 * MINUTE;
            let util = plan.utilisation(t);
            let load = plan.load(t);
            for (svc, spec) in SERVICES.iter().enumerate() {
                let regressed = plan.service_regressed(svc, t);
                let per_host_requests =
                    REQUESTS_PER_DAY / 288.0 * plan.scale * load * spec.traffic_share
                        / spec.hosts as f64;
                let days_deployed = (t - plan.deployed_since(svc, t)) as f64 / DAY as f64;
                for (host, name) in plan.host_names[svc].iter().enumerate() {
                    // Each host's scraper fires at its own offset within the second.
                    let ts = t + ((svc * 41 + host * 173) % 1000) as i64;
                    let series = |metric, unit, decimals| {
                        Series::new(metric, unit, decimals, spec.name, Some(name))
                    };
                    let mut cpu_load = spec.cpu.1 * util;
                    if regressed {
                        cpu_load *= 1.25;
                    }
                    let cpu = spec.cpu.0 + cpu_load + rng.normal_with(0.0, 0.02);
                    let memory = 0.35
                        + 0.1 * util
                        + spec.memory_leak_per_day * days_deployed
                        + rng.normal_with(0.0, 0.01);
                    let rx = per_host_requests * 1_500.0 * rng.lognormal(1.0, 0.1) + 50_000.0;
                    let tx = per_host_requests * spec.tx_bytes * rng.lognormal(1.0, 0.1) + 20_000.0;
                    let disk_read = rng.lognormal(2.0e6 * (0.3 + util), 0.35);
                    let disk_write = rng.lognormal(1.0e6 * (0.3 + util), 0.4);
                    series("cpu_utilization", "ratio", 4).sample(out, ts, cpu.clamp(0.01, 0.99));
                    series("memory_utilization", "ratio", 4).sample(
                        out,
                        ts,
                        memory.clamp(0.05, 0.97),
                    );
                    series("disk_read_bytes", "bytes", 0).sample(out, ts, disk_read);
                    series("disk_write_bytes", "bytes", 0).sample(out, ts, disk_write);
                    series("network_rx_bytes", "bytes", 0).sample(out, ts, rx);
                    series("network_tx_bytes", "bytes", 0).sample(out, ts, tx);
                    if svc == API {
                        let lookups = per_host_requests * 6.0;
                        let hit_rate = rng.normal_with(0.93, 0.01).clamp(0.5, 0.999);
                        let hits = (lookups * hit_rate).round();
                        let misses = (lookups - hits).max(0.0).round();
                        series("cache_hits", "count", 0).sample(out, ts, hits);
                        series("cache_misses", "count", 0).sample(out, ts, misses);
                    }
                    if POOL_SERVICES.contains(&svc) {
                        // Slow queries hold their connections longer.
                        let mut busy = POOL_SIZE * (0.08 + 0.45 * util);
                        if regressed {
                            busy *= 1.5;
                        }
                        let in_use = (busy + rng.normal_with(0.0, 1.5))
                            .round()
                            .clamp(0.0, POOL_SIZE);
                        series("db_pool_in_use", "connections", 0).sample(out, ts, in_use);
                        series("db_pool_size", "connections", 0).sample(out, ts, POOL_SIZE);
                    }
                }
            }

            let ts = t + 500;
            for (query, svc, median) in QUERIES {
                let mut m = median * (1.0 + 0.4 * util);
                if query == REGRESSED_QUERY && plan.service_regressed(svc, t) {
                    m *= 2.2;
                }
                let series = Series {
                    label: Some(("query", query)),
                    ..Series::new("db_query_ms", "ms", 2, SERVICES[svc].name, Some("db-1"))
                };
                series.sample(out, ts, rng.lognormal(m, 0.25));
            }
            let lag = rng.lognormal(0.25 * (1.0 + util), 0.5);
            Series::new("db_replication_lag_s", "seconds", 3, "db", Some("db-2"))
                .sample(out, ts, lag);
            let payment = &plan.bursts[0];
            for (dependency, svc, median) in DEPENDENCIES {
                let mut m = median;
                // The payment provider's outage behind the checkout error burst.
                if dependency == "stripe" && t + 5 * MINUTE > payment.start && t < payment.end {
                    m *= 8.0;
                }
                let series = Series {
                    label: Some(("dependency", dependency)),
                    ..Series::new("dependency_latency_ms", "ms", 1, SERVICES[svc].name, None)
                };
                series.sample(out, ts, rng.lognormal(m, 0.2));
            }
        }
    }
}

/// One metric series: everything of a sample but its time and value.
#[derive(Clone, Copy)]
struct Series<'a> {
    name: &'a str,
    unit: &'a str,
    /// Decimals written for the value.
    decimals: u32,
    service: &'a str,
    host: Option<&'a str>,
    /// At most one label in this scenario.
    label: Option<(&'a str, &'a str)>,
}

impl<'a> Series<'a> {
    fn new(
        name: &'a str,
        unit: &'a str,
        decimals: u32,
        service: &'a str,
        host: Option<&'a str>,
    ) -> Self {
        Self {
            name,
            unit,
            decimals,
            service,
            host,
            label: None,
        }
    }

    fn sample(&self, out: &mut Pending, ts: i64, value: f64) {
        let at = out.begin();
        let mut o = Obj::new(&mut out.arena);
        o.ts("ts", ts);
        o.str("name", self.name);
        o.num("value", value, self.decimals);
        o.str("unit", self.unit);
        o.str("service", self.service);
        if let Some(host) = self.host {
            o.str("host", host);
        }
        if let Some((key, value)) = self.label {
            let mut labels = o.obj("labels");
            labels.str(key, value);
            labels.end();
        }
        o.end();
        out.commit(at, ts);
    }
}

// ---------------------------------------------------------------------------------
// web_vitals
// ---------------------------------------------------------------------------------

const PAGES: [&str; 5] = ["/", "/search", "/product/:id", "/cart", "/checkout"];
const PAGE_SHARES: [f64; 5] = [0.25, 0.20, 0.35, 0.12, 0.08];
/// LCP multiplier per page (hero images make product pages slower).
const PAGE_LCP: [f64; 5] = [0.9, 1.0, 1.15, 0.85, 0.95];
/// CLS multiplier per page.
const PAGE_CLS: [f64; 5] = [1.0, 1.2, 1.6, 0.8, 0.7];
const DEVICES: [&str; 3] = ["mobile", "desktop", "tablet"];
const DEVICE_SHARES: [f64; 3] = [0.60, 0.35, 0.05];
/// Medians per device (mobile, desktop, tablet) and log-scale sigma.
const TTFB: ([f64; 3], f64) = ([550.0, 280.0, 400.0], 0.5);
const FCP: ([f64; 3], f64) = ([1_500.0, 800.0, 1_100.0], 0.4);
const LCP: ([f64; 3], f64) = ([2_200.0, 1_250.0, 1_700.0], 0.45);
const INP: ([f64; 3], f64) = ([190.0, 85.0, 140.0], 0.6);
const CLS: ([f64; 3], f64) = ([0.05, 0.025, 0.035], 0.9);
const FID: ([f64; 3], f64) = ([45.0, 14.0, 30.0], 0.7);

struct VitalsGen {
    rng: Rng,
    pages: WeightedIndex,
    devices: WeightedIndex,
}

impl VitalsGen {
    fn new(seed: u64) -> Self {
        Self {
            rng: Rng::stream(seed, "web_vitals"),
            pages: WeightedIndex::new(&PAGE_SHARES),
            devices: WeightedIndex::new(&DEVICE_SHARES),
        }
    }

    fn hour(&mut self, plan: &Plan, t0: i64, load: f64, out: &mut Pending) {
        let n = self
            .rng
            .poisson(PAGE_LOADS_PER_DAY / 24.0 * plan.scale * load);
        for _ in 0..n {
            let rng = &mut self.rng;
            let ts = t0 + rng.below(HOUR as u64) as i64;
            let page = self.pages.sample(rng);
            let device = self.devices.sample(rng);
            let user = rng.bernoulli(0.6).then(|| pick_user(rng, plan.users));
            let session = rng.next_u64();
            // One shared factor per page load: a slow network slows every metric.
            let z = rng.normal();
            let mut draw = |(medians, sigma): ([f64; 3], f64), mult: f64| {
                medians[device] * mult * (sigma * (0.6 * z + 0.8 * rng.normal())).exp()
            };
            let backend = if page == 4 && plan.service_regressed(CHECKOUT, ts) {
                1.25
            } else {
                1.0
            };
            let ttfb = draw(TTFB, backend);
            let fcp = draw(FCP, 1.0).max(ttfb + 50.0);
            let lcp = draw(LCP, PAGE_LCP[page]).max(fcp);
            let cls = draw(CLS, PAGE_CLS[page]);
            let inp = draw(INP, 1.0);
            let fid = draw(FID, 1.0);
            let hide = ts + lcp as i64 + 5 * SECOND + rng.below(115 * SECOND as u64) as i64;
            let has_inp = rng.bernoulli(0.75);
            let has_fid = rng.bernoulli(0.05);
            let mut vitals: [(&str, f64, i64, u32); 6] = [
                ("TTFB", ttfb, ts + ttfb as i64, 1),
                ("FCP", fcp, ts + fcp as i64, 1),
                ("LCP", lcp, ts + lcp as i64, 1),
                ("CLS", cls, hide, 4),
                ("INP", inp, hide, 1),
                ("FID", fid, ts + lcp as i64 + 400, 1),
            ];
            let count = if has_inp { 5 } else { 4 };
            if has_fid {
                vitals[count] = vitals[5];
            }
            let count = count + usize::from(has_fid);
            for &(name, value, vts, decimals) in &vitals[..count] {
                if vts >= plan.end {
                    continue;
                }
                let at = out.begin();
                let mut o = Obj::new(&mut out.arena);
                o.ts("ts", vts);
                o.str("name", name);
                o.num("value", value, decimals);
                o.str("page", PAGES[page]);
                o.str("device", DEVICES[device]);
                if let Some(user) = user {
                    o.user("user_id", user, plan.user_width);
                }
                o.hex("session_id", "s-", session, 16);
                o.end();
                out.commit_maybe_late(at, vts, rng);
            }
        }
    }
}

// ---------------------------------------------------------------------------------
// events and exposures (one simulation of sessions)
// ---------------------------------------------------------------------------------

const PLATFORMS: [&str; 3] = ["web", "ios", "android"];
const REFERRERS: [&str; 6] = [
    "google",
    "direct",
    "newsletter",
    "instagram",
    "bing",
    "direct",
];
const LANDING_PAGES: [&str; 4] = ["/", "/product/:id", "/search", "/category/:slug"];
const CATEGORIES: [&str; 7] = [
    "shoes",
    "apparel",
    "electronics",
    "home",
    "beauty",
    "sports",
    "toys",
];
const PAYMENT_METHODS: [&str; 3] = ["card", "paypal", "apple_pay"];

#[derive(Clone, Copy)]
enum Who {
    User(u64),
    Anonymous(u64),
}

struct Session {
    who: Who,
    id: u64,
    platform: &'static str,
    /// End of the period: events after it are dropped.
    end: i64,
    user_width: usize,
}

struct SessionGen {
    rng: Rng,
}

impl SessionGen {
    fn new(seed: u64) -> Self {
        Self {
            rng: Rng::stream(seed, "sessions"),
        }
    }

    fn hour(
        &mut self,
        plan: &Plan,
        t0: i64,
        load: f64,
        events: &mut Pending,
        exposures: &mut Pending,
    ) {
        let n = self
            .rng
            .poisson(SESSIONS_PER_DAY / 24.0 * plan.scale * load);
        for _ in 0..n {
            let start = t0 + self.rng.below(HOUR as u64) as i64;
            self.session(plan, start, events, exposures);
        }
    }

    fn session(&mut self, plan: &Plan, start: i64, events: &mut Pending, exposures: &mut Pending) {
        let rng = &mut self.rng;
        let who = if rng.bernoulli(0.35) {
            Who::Anonymous(rng.next_u64())
        } else {
            Who::User(pick_user(rng, plan.users))
        };
        let platform = match who {
            // A user's platform is stable: a hash of the user.
            Who::User(u) => {
                let h = unit_f64(mix64(plan.platform_salt ^ u));
                PLATFORMS[usize::from(h >= 0.55) + usize::from(h >= 0.83)]
            }
            Who::Anonymous(_) => {
                let h = rng.uniform();
                PLATFORMS[usize::from(h >= 0.85) + usize::from(h >= 0.95)]
            }
        };
        let s = Session {
            who,
            id: rng.next_u64(),
            platform,
            end: plan.end,
            user_width: plan.user_width,
        };
        let user = match who {
            Who::User(u) => Some(u),
            Who::Anonymous(_) => None,
        };
        let mut t = start;
        let step = |rng: &mut Rng, t: &mut i64| {
            *t += 3 * SECOND + rng.exponential(30_000.0) as i64;
        };

        let referrer = *rng.choose(&REFERRERS);
        let landing = *rng.choose(&LANDING_PAGES);
        let first_visit = rng.bernoulli(0.2);
        event(events, rng, &s, t, "visit", None, |o, _| {
            o.str("referrer", referrer);
            o.str("landing_page", landing);
            o.boolean("first_visit", first_visit);
            if referrer == "newsletter" || referrer == "instagram" {
                let mut utm = o.obj("utm");
                utm.str("source", referrer);
                utm.str(
                    "medium",
                    if referrer == "newsletter" {
                        "email"
                    } else {
                        "social"
                    },
                );
                utm.str("campaign", "launch_week");
                utm.end();
            }
        });
        step(rng, &mut t);

        if rng.bernoulli(0.35) {
            event(events, rng, &s, t, "search", None, |o, rng| {
                let results = rng.poisson(18.0) as i64;
                o.int("query_length", 3 + rng.poisson(9.0) as i64);
                o.int("results", results);
                o.boolean("had_results", results > 0);
            });
            step(rng, &mut t);
        }

        if user.is_some() && t >= plan.feature_launch {
            let ramp = ((t - plan.feature_launch) as f64 / (4 * DAY) as f64).min(1.0);
            if rng.bernoulli(0.03 + 0.22 * ramp) {
                event(events, rng, &s, t, NEW_FEATURE, None, |o, rng| {
                    o.hex("previous_order_id", "o-", rng.next_u64(), 12);
                    o.int("items", 1 + rng.poisson(1.0) as i64);
                    o.str("source", "order_history");
                });
                step(rng, &mut t);
            }
        }

        if !rng.bernoulli(0.6) {
            return;
        }
        let mut item = 0;
        for _ in 0..=rng.poisson(1.2) {
            item = rng.below(CATALOG_ITEMS);
            event(events, rng, &s, t, "view_item", None, |o, _| {
                item_props(o, item)
            });
            step(rng, &mut t);
            if rng.bernoulli(0.1) {
                let position = 1 + rng.below(8) as i64;
                let rec = rng.below(CATALOG_ITEMS);
                event(events, rng, &s, t, "recommendation_click", None, |o, _| {
                    o.item("item_id", rec);
                    o.int("position", position);
                    o.boolean("personalized", user.is_some());
                });
                step(rng, &mut t);
            }
        }
        if user.is_some() && rng.bernoulli(0.12) {
            event(events, rng, &s, t, "wishlist_add", None, |o, _| {
                o.item("item_id", item)
            });
            step(rng, &mut t);
        }

        if !rng.bernoulli(0.35) {
            return;
        }
        event(events, rng, &s, t, "add_to_cart", None, |o, rng| {
            item_props(o, item);
            o.int("quantity", 1 + rng.poisson(0.3) as i64);
        });
        let variant = user.map(|u| plan.variant_of(u));
        if let Some(u) = user {
            // The cart shows the redesigned checkout button: the exposure.
            let ts = t + 300 + rng.below(1_200) as i64;
            let shown = if plan.sees_both(u) {
                rng.index(VARIANTS.len())
            } else {
                plan.variant_of(u)
            };
            if ts < plan.end {
                let at = exposures.begin();
                let mut o = Obj::new(&mut exposures.arena);
                o.ts("ts", ts);
                o.str("experiment", EXPERIMENT);
                o.str("variant", VARIANTS[shown]);
                o.user("user_id", u, plan.user_width);
                o.end();
                exposures.commit(at, ts);
            }
        }
        step(rng, &mut t);

        if !rng.bernoulli(0.55) {
            return;
        }
        let items = 1 + rng.poisson(1.3) as i64;
        let revenue = rng.lognormal(52.0, 0.55);
        event(events, rng, &s, t, "begin_checkout", None, |o, _| {
            o.int("items", items);
            o.num("cart_value", revenue, 2);
            o.str("currency", "USD");
        });
        step(rng, &mut t);

        let lift = if variant == Some(1) {
            1.0 + TREATMENT_LIFT
        } else {
            1.0
        };
        if !rng.bernoulli(PURCHASE_RATE * lift) {
            return;
        }
        let order = rng.next_u64();
        let method = *rng.choose(&PAYMENT_METHODS);
        event(events, rng, &s, t, "purchase", Some(revenue), |o, rng| {
            o.hex("order_id", "o-", order, 12);
            o.int("items", items);
            o.str("currency", "USD");
            o.str("payment_method", method);
            o.boolean("first_order", rng.bernoulli(0.2));
        });
    }
}

fn item_props(o: &mut Obj<'_>, item: u64) {
    o.item("item_id", item);
    o.str(
        "category",
        CATEGORIES[(item % CATEGORIES.len() as u64) as usize],
    );
    // Prices are a stable function of the item.
    let price = 5.0 + 145.0 * unit_f64(mix64(item)).powi(2);
    o.num("price", price, 2);
}

/// Writes one event; drops it if it falls after the end of the period.
fn event(
    out: &mut Pending,
    rng: &mut Rng,
    s: &Session,
    ts: i64,
    name: &str,
    revenue: Option<f64>,
    props: impl FnOnce(&mut Obj<'_>, &mut Rng),
) {
    if ts >= s.end {
        return;
    }
    let at = out.begin();
    let mut o = Obj::new(&mut out.arena);
    o.ts("ts", ts);
    o.str("event", name);
    match s.who {
        Who::User(u) => o.user("user_id", u, s.user_width),
        Who::Anonymous(a) => o.hex("anonymous_id", "anon-", a, 12),
    }
    o.hex("session_id", "s-", s.id, 16);
    o.str("platform", s.platform);
    if let Some(revenue) = revenue {
        o.num("revenue", revenue, 2);
    }
    let mut p = o.obj("properties");
    props(&mut p, rng);
    p.end();
    o.end();
    out.commit_maybe_late(at, ts, rng);
}

// ---------------------------------------------------------------------------------
// feedback
// ---------------------------------------------------------------------------------

const TICKET_CATEGORIES: [&str; 5] = ["billing", "shipping", "login", "bug", "other"];
const TICKET_SHARES: [f64; 5] = [0.25, 0.30, 0.15, 0.15, 0.15];
const BUG: usize = 3;
/// Texts are written verbatim into JSON strings, so they are JSON-escaped here.
const TICKET_TEXTS: [&[&str]; 5] = [
    &[
        "I was charged twice for my order",
        "Refund has not arrived yet",
        "Invoice shows the wrong VAT number",
    ],
    &[
        "Where is my package? Tracking has not updated in 3 days",
        "Delivered to the wrong address",
        "Can I change the delivery date?",
    ],
    &[
        "Password reset email never arrives",
        "Logged out every few minutes on the app",
        "Cannot sign in with Apple",
    ],
    &[
        "Cart total is wrong after removing an item",
        "App crashes when opening order history",
        "Promo code field disappears on mobile",
    ],
    &[
        "Do you ship to Norway?",
        "Please add a dark mode",
        "How do I close my account?",
    ],
];
const REGRESSION_COMPLAINTS: [&str; 3] = [
    "Checkout page spins forever after I click Pay",
    "Checkout is very slow since yesterday",
    "Placing an order took over a minute",
];
const PAYMENT_COMPLAINTS: [&str; 2] = [
    "Payment failed but the money was taken",
    "Card payment keeps failing with an error",
];
const REVIEW_SHARES: [f64; 5] = [0.08, 0.06, 0.12, 0.30, 0.44];
const REVIEW_TEXTS: [&[&str]; 5] = [
    &["Checkout keeps failing. Uninstalled.", "Slow and buggy"],
    &["Too many notifications", "Search never finds what I want"],
    &[
        "OK but search results are poor",
        "Decent, delivery was slow",
    ],
    &[
        "Good app, delivery was quick",
        "Nice selection, fair prices",
    ],
    &["Love it! Fast and easy", "Best shopping app I have used"],
];
/// P(score = 0..=10): 20 % detractors (0–6), 35 % passives, 45 % promoters.
const NPS_SHARES: [f64; 11] = [
    0.02, 0.01, 0.01, 0.02, 0.02, 0.04, 0.08, 0.15, 0.20, 0.20, 0.25,
];
const NPS_TEXTS: [&str; 3] = [
    "Prices are too high",
    "Good, but delivery could be faster",
    "Great selection and easy returns",
];
const IN_APP_CATEGORIES: [&str; 5] = ["checkout", "search", "performance", "ui", "other"];
const IN_APP_SHARES: [f64; 5] = [0.20, 0.20, 0.15, 0.30, 0.15];
const PERFORMANCE: usize = 2;
const IN_APP_TEXTS: [&[&str]; 5] = [
    &[
        "Why do I have to enter my address twice?",
        "Apple Pay button missing",
    ],
    &["Filters are great", "Search ignores typos"],
    &["Pages load slowly on 4G", "Images take ages"],
    &[
        r#"Love the new \"one-click reorder\" button ✨"#,
        r#"Two issues:\n1) filters reset\n2) back button loses my place"#,
        "Font is too small on the cart page",
    ],
    &["Keep up the good work", "Café au lait colour option please"],
];
const SURVEY_TEXTS: [&str; 3] = [
    "Easy to find what I needed",
    "Checkout had too many steps",
    "Would buy again",
];

struct FeedbackGen {
    rng: Rng,
    tickets: u64,
    categories: WeightedIndex,
    reviews: WeightedIndex,
    nps: WeightedIndex,
    in_app: WeightedIndex,
}

impl FeedbackGen {
    fn new(seed: u64) -> Self {
        Self {
            rng: Rng::stream(seed, "feedback"),
            tickets: 0,
            categories: WeightedIndex::new(&TICKET_SHARES),
            reviews: WeightedIndex::new(&REVIEW_SHARES),
            nps: WeightedIndex::new(&NPS_SHARES),
            in_app: WeightedIndex::new(&IN_APP_SHARES),
        }
    }

    fn hour(&mut self, plan: &Plan, t0: i64, load: f64, out: &mut Pending) {
        let per_hour = |per_day: f64| per_day / 24.0 * plan.scale * load;
        let boost = plan.complaint_boost(t0 + HOUR / 2);
        let rng = &mut self.rng;

        // Support tickets: the baseline mix, extra "bug" tickets after the regression,
        // extra "billing" tickets in the three hours after the payment error burst.
        let n = rng.poisson(per_hour(TICKETS_PER_DAY));
        let extra_bugs = rng.poisson(per_hour(TICKETS_PER_DAY * TICKET_SHARES[BUG]) * boost);
        let payment = &plan.bursts[0];
        let (lo, hi) = (
            t0.max(payment.start),
            (t0 + HOUR).min(payment.start + 3 * HOUR),
        );
        let extra_billing = if hi > lo {
            rng.poisson(5.0 * plan.scale * (hi - lo) as f64 / HOUR as f64)
        } else {
            0
        };
        for i in 0..n + extra_bugs + extra_billing {
            let (category, text, ts) = if i < n {
                let c = self.categories.sample(rng);
                let text = if c == BUG && rng.bernoulli(boost / (1.0 + boost)) {
                    *rng.choose(&REGRESSION_COMPLAINTS)
                } else {
                    *rng.choose(TICKET_TEXTS[c])
                };
                (c, text, t0 + rng.below(HOUR as u64) as i64)
            } else if i < n + extra_bugs {
                let text = *rng.choose(&REGRESSION_COMPLAINTS);
                (BUG, text, t0 + rng.below(HOUR as u64) as i64)
            } else {
                let text = *rng.choose(&PAYMENT_COMPLAINTS);
                (0, text, lo + rng.below((hi - lo) as u64) as i64)
            };
            self.tickets += 1;
            let ticket = 100_000 + self.tickets;
            let user = rng.bernoulli(0.9).then(|| pick_user(rng, plan.users));
            let at = out.begin();
            let mut o = Obj::new(&mut out.arena);
            o.ts("ts", ts);
            o.str("source", "support_ticket");
            o.str("category", TICKET_CATEGORIES[category]);
            o.str("text", text);
            if let Some(u) = user {
                o.user("user_id", u, plan.user_width);
            }
            o.raw_with("ticket_id", |b| {
                b.extend_from_slice(b"\"T-");
                push_u64(b, ticket);
                b.push(b'"');
            });
            o.end();
            out.commit(at, ts);
        }

        for _ in 0..rng.poisson(per_hour(REVIEWS_PER_DAY)) {
            let ts = t0 + rng.below(HOUR as u64) as i64;
            let rating = self.reviews.sample(rng);
            let store = if rng.bernoulli(0.6) { "ios" } else { "android" };
            let text = *rng.choose(REVIEW_TEXTS[rating]);
            let at = out.begin();
            let mut o = Obj::new(&mut out.arena);
            o.ts("ts", ts);
            o.str("source", "app_review");
            o.str("category", store);
            o.int("rating", rating as i64 + 1);
            o.str("text", text);
            o.end();
            out.commit(at, ts);
        }

        for _ in 0..rng.poisson(per_hour(NPS_PER_DAY)) {
            let ts = t0 + rng.below(HOUR as u64) as i64;
            let score = self.nps.sample(rng);
            let user = pick_user(rng, plan.users);
            let comment = rng.bernoulli(0.3);
            let at = out.begin();
            let mut o = Obj::new(&mut out.arena);
            o.ts("ts", ts);
            o.str("source", "nps");
            o.int("score", score as i64);
            if comment {
                o.str(
                    "text",
                    NPS_TEXTS[usize::from(score >= 7) + usize::from(score >= 9)],
                );
            }
            o.user("user_id", user, plan.user_width);
            o.end();
            out.commit(at, ts);
        }

        let in_app = rng.poisson(per_hour(IN_APP_PER_DAY) * (1.0 + 0.5 * boost));
        for _ in 0..in_app {
            let ts = t0 + rng.below(HOUR as u64) as i64;
            let (category, text) = if rng.bernoulli(boost / (2.0 + boost)) {
                (PERFORMANCE, *rng.choose(&REGRESSION_COMPLAINTS))
            } else {
                let c = self.in_app.sample(rng);
                (c, *rng.choose(IN_APP_TEXTS[c]))
            };
            let user = pick_user(rng, plan.users);
            let at = out.begin();
            let mut o = Obj::new(&mut out.arena);
            o.ts("ts", ts);
            o.str("source", "in_app");
            o.str("category", IN_APP_CATEGORIES[category]);
            o.str("text", text);
            o.user("user_id", user, plan.user_width);
            o.end();
            out.commit(at, ts);
        }

        for _ in 0..rng.poisson(per_hour(SURVEYS_PER_DAY)) {
            let ts = t0 + rng.below(HOUR as u64) as i64;
            let rating = self.reviews.sample(rng) as i64 + 1;
            let text = *rng.choose(&SURVEY_TEXTS);
            let user = pick_user(rng, plan.users);
            let at = out.begin();
            let mut o = Obj::new(&mut out.arena);
            o.ts("ts", ts);
            o.str("source", "survey");
            o.str("category", "post_purchase");
            o.int("rating", rating);
            o.str("text", text);
            o.user("user_id", user, plan.user_width);
            o.end();
            out.commit(at, ts);
        }
    }
}

// ---------------------------------------------------------------------------------
// deployments and incidents
// ---------------------------------------------------------------------------------

fn deployments_hour(plan: &Plan, t0: i64, out: &mut Pending) {
    for d in &plan.deploys {
        let finished = if d.outcome == Outcome::RolledBack {
            "rolled_back"
        } else {
            "completed"
        };
        for (ts, phase) in [(d.started, "started"), (d.finished, finished)] {
            if !(t0..t0 + HOUR).contains(&ts) {
                continue;
            }
            let at = out.begin();
            let mut o = Obj::new(&mut out.arena);
            o.ts("ts", ts);
            o.str("service", SERVICES[d.service].name);
            o.str("version", d.version);
            o.str("strategy", d.strategy);
            o.str("phase", phase);
            o.raw_with("change_id", |b| {
                b.extend_from_slice(b"\"CHG-");
                push_u64(b, d.change_id as u64);
                b.push(b'"');
            });
            o.str("description", d.description);
            o.end();
            out.commit(at, ts);
        }
    }
}

fn incidents_hour(plan: &Plan, t0: i64, out: &mut Pending) {
    for &(ts, status) in &plan.incident {
        if !(t0..t0 + HOUR).contains(&ts) {
            continue;
        }
        let at = out.begin();
        let mut o = Obj::new(&mut out.arena);
        o.ts("ts", ts);
        o.str("incident_id", INCIDENT_ID);
        o.str("severity", INCIDENT_SEVERITY);
        o.str("status", status);
        o.str("service", SERVICES[CHECKOUT].name);
        o.str("title", INCIDENT_TITLE);
        o.end();
        out.commit(at, ts);
    }
}

// ---------------------------------------------------------------------------------
// malformed records
// ---------------------------------------------------------------------------------

/// A fixed bad line: its table, where in the period it goes, and its text.
struct Malformed {
    table: usize,
    /// Fraction of the period that selects the hour.
    at: f64,
    /// What is wrong with it.
    #[cfg_attr(not(test), allow(dead_code, reason = "documentation, read by tests"))]
    why: &'static str,
    line: BadLine,
}

enum BadLine {
    /// `{"ts":"<the record time>"` followed by this text.
    AfterTs(&'static str),
    /// This text as it is.
    Verbatim(&'static str),
}

impl Malformed {
    fn write(&self, b: &mut Vec<u8>, ts: i64) {
        match self.line {
            BadLine::AfterTs(rest) => {
                b.extend_from_slice(br#"{"ts":""#);
                push_ts(b, ts);
                b.push(b'"');
                b.extend_from_slice(rest.as_bytes());
            }
            BadLine::Verbatim(line) => b.extend_from_slice(line.as_bytes()),
        }
    }
}

const fn bad(table: usize, at: f64, why: &'static str, line: BadLine) -> Malformed {
    Malformed {
        table,
        at,
        why,
        line,
    }
}

/// The twelve malformed lines of [`ScenarioConfig::malformed`].
const MALFORMED: [Malformed; 12] = [
    bad(
        REQUESTS,
        0.05,
        "truncated JSON",
        BadLine::AfterTs(r#","service":"api","endpoint":"GET /api/ca"#),
    ),
    bad(
        REQUESTS,
        0.12,
        "status out of range",
        BadLine::AfterTs(r#","service":"web","endpoint":"GET /","status":999,"duration_ms":12.5}"#),
    ),
    bad(
        REQUESTS,
        0.2,
        "required `service` missing",
        BadLine::AfterTs(r#","endpoint":"GET /api/cart","status":200,"duration_ms":40.1}"#),
    ),
    bad(
        REQUESTS,
        0.33,
        "negative duration",
        BadLine::AfterTs(
            r#","service":"api","endpoint":"GET /api/cart","status":200,"duration_ms":-5}"#,
        ),
    ),
    bad(
        REQUESTS,
        0.41,
        "unparseable time",
        BadLine::Verbatim(
            r#"{"ts":"yesterday","service":"auth","endpoint":"GET /api/auth/session","status":200,"duration_ms":18.0}"#,
        ),
    ),
    bad(
        WEB_VITALS,
        0.5,
        "device outside the enum",
        BadLine::AfterTs(r#","name":"LCP","value":2100.0,"page":"/","device":"fridge"}"#),
    ),
    bad(
        FEEDBACK,
        0.55,
        "rating above 5",
        BadLine::AfterTs(r#","source":"app_review","rating":7,"text":"Seven stars!"}"#),
    ),
    bad(
        EVENTS,
        0.62,
        "neither user_id nor anonymous_id",
        BadLine::AfterTs(r#","event":"purchase","revenue":19.99,"properties":{}}"#),
    ),
    bad(METRICS, 0.7, "not an object", BadLine::Verbatim("[1,2]")),
    bad(
        METRICS,
        0.78,
        "a string where a number is expected",
        BadLine::AfterTs(
            r#","name":"cpu_utilization","value":"high","unit":"ratio","service":"api","host":"api-1"}"#,
        ),
    ),
    bad(
        EXPOSURES,
        0.86,
        "required `variant` missing",
        BadLine::AfterTs(r#","experiment":"checkout_redesign","user_id":"u000001"}"#),
    ),
    bad(
        DEPLOYMENTS,
        0.93,
        "phase outside the enum",
        BadLine::AfterTs(
            r#","service":"web","version":"2.1.1","strategy":"rolling","phase":"paused"}"#,
        ),
    ),
];

// ---------------------------------------------------------------------------------
// JSON writing without allocation
// ---------------------------------------------------------------------------------

/// Writes one JSON object into a byte buffer. Keys and string values are written
/// verbatim: every string the generator writes is already valid JSON string content.
struct Obj<'a> {
    b: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Obj<'a> {
    fn new(b: &'a mut Vec<u8>) -> Self {
        b.push(b'{');
        Self { b, first: true }
    }

    #[inline]
    fn key(&mut self, k: &str) {
        if !self.first {
            self.b.push(b',');
        }
        self.first = false;
        self.b.push(b'"');
        self.b.extend_from_slice(k.as_bytes());
        self.b.extend_from_slice(b"\":");
    }

    #[inline]
    fn str(&mut self, k: &str, v: &str) {
        self.key(k);
        self.b.push(b'"');
        self.b.extend_from_slice(v.as_bytes());
        self.b.push(b'"');
    }

    #[inline]
    fn int(&mut self, k: &str, v: i64) {
        self.key(k);
        push_i64(self.b, v);
    }

    #[inline]
    fn num(&mut self, k: &str, v: f64, decimals: u32) {
        self.key(k);
        push_fixed(self.b, v, decimals);
    }

    #[inline]
    fn boolean(&mut self, k: &str, v: bool) {
        self.key(k);
        self.b.extend_from_slice(if v {
            b"true".as_slice()
        } else {
            b"false".as_slice()
        });
    }

    #[inline]
    fn ts(&mut self, k: &str, ms: i64) {
        self.key(k);
        self.b.push(b'"');
        push_ts(self.b, ms);
        self.b.push(b'"');
    }

    /// `"k":"u000123"`, the user id zero-padded to `width` digits.
    #[inline]
    fn user(&mut self, k: &str, user: u64, width: usize) {
        self.key(k);
        self.b.extend_from_slice(b"\"u");
        push_padded(self.b, user, width);
        self.b.push(b'"');
    }

    /// `"k":"sku-00042"`.
    fn item(&mut self, k: &str, item: u64) {
        self.key(k);
        self.b.extend_from_slice(b"\"sku-");
        push_padded(self.b, item, 5);
        self.b.push(b'"');
    }

    /// `"k":"<prefix><digits hex digits of v>"`.
    #[inline]
    fn hex(&mut self, k: &str, prefix: &str, v: u64, digits: u32) {
        self.key(k);
        self.b.push(b'"');
        self.b.extend_from_slice(prefix.as_bytes());
        push_hex(self.b, v, digits);
        self.b.push(b'"');
    }

    /// `"k":"<32 hex digits>"`.
    #[inline]
    fn hex2(&mut self, k: &str, hi: u64, lo: u64) {
        self.key(k);
        self.b.push(b'"');
        push_hex(self.b, hi, 16);
        push_hex(self.b, lo, 16);
        self.b.push(b'"');
    }

    /// A value written by `f` (which must write valid JSON).
    fn raw_with(&mut self, k: &str, f: impl FnOnce(&mut Vec<u8>)) {
        self.key(k);
        f(self.b);
    }

    /// A nested object; call [`Obj::end`] on it before writing to `self` again.
    fn obj(&mut self, k: &str) -> Obj<'_> {
        self.key(k);
        Obj::new(self.b)
    }

    fn end(self) {
        self.b.push(b'}');
    }
}

fn push_u64(b: &mut Vec<u8>, mut n: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    b.extend_from_slice(&tmp[i..]);
}

fn push_i64(b: &mut Vec<u8>, n: i64) {
    if n < 0 {
        b.push(b'-');
    }
    push_u64(b, n.unsigned_abs());
}

/// `n` zero-padded to at least `width` digits.
fn push_padded(b: &mut Vec<u8>, n: u64, width: usize) {
    let mut tmp = [b'0'; 20];
    let mut i = tmp.len();
    let mut m = n;
    loop {
        i -= 1;
        tmp[i] = b'0' + (m % 10) as u8;
        m /= 10;
        if m == 0 {
            break;
        }
    }
    let start = i.min(tmp.len().saturating_sub(width));
    b.extend_from_slice(&tmp[start..]);
}

/// `x` with exactly `decimals` decimals (at most 9); non-finite values, which the
/// generator never produces, are written as 0.
fn push_fixed(b: &mut Vec<u8>, x: f64, decimals: u32) {
    let pow = 10u64.pow(decimals);
    let scaled = (x.abs() * pow as f64).round();
    let scaled = if scaled.is_finite() && scaled < 9.0e18 {
        scaled as u64
    } else {
        0
    };
    if x < 0.0 && scaled != 0 {
        b.push(b'-');
    }
    push_u64(b, scaled / pow);
    if decimals > 0 {
        b.push(b'.');
        push_padded(b, scaled % pow, decimals as usize);
    }
}

/// The low `digits` hex digits of `v`, most significant first.
fn push_hex(b: &mut Vec<u8>, v: u64, digits: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for i in (0..digits).rev() {
        b.push(HEX[((v >> (4 * i)) & 0xF) as usize]);
    }
}

/// RFC 3339 UTC with milliseconds, e.g. `2026-11-02T13:05:07.123Z`.
fn push_ts(b: &mut Vec<u8>, ms: i64) {
    let days = ms.div_euclid(DAY);
    let in_day = ms.rem_euclid(DAY);
    let (y, m, d) = civil_from_days(days);
    push_padded(b, y.max(0) as u64, 4);
    b.push(b'-');
    push_padded(b, u64::from(m), 2);
    b.push(b'-');
    push_padded(b, u64::from(d), 2);
    b.push(b'T');
    push_padded(b, (in_day / HOUR) as u64, 2);
    b.push(b':');
    push_padded(b, (in_day % HOUR / MINUTE) as u64, 2);
    b.push(b':');
    push_padded(b, (in_day % MINUTE / SECOND) as u64, 2);
    b.push(b'.');
    push_padded(b, (in_day % SECOND) as u64, 3);
    b.push(b'Z');
}

/// Proleptic Gregorian `(year, month, day)` of a day count since 1970-01-01
/// (Howard Hinnant's `civil_from_days` algorithm, from its published description).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use std::collections::hash_map::DefaultHasher;
    use std::hash::Hasher;

    use chrono::SecondsFormat;
    use serde_json::{Map, Value};

    use super::*;

    type Lines = BTreeMap<String, Vec<Vec<u8>>>;

    fn cfg(days: u32, tables: &[&str]) -> ScenarioConfig {
        ScenarioConfig {
            days,
            tables: tables.iter().map(|t| (*t).to_owned()).collect(),
            ..ScenarioConfig::default()
        }
    }

    /// Generates and keeps every line, by table.
    fn run(cfg: &ScenarioConfig) -> (Scenario, Lines) {
        let mut lines = Lines::new();
        let scenario = generate(cfg, &mut |table, line| {
            lines
                .entry(table.to_owned())
                .or_default()
                .push(line.to_vec());
            Ok(())
        })
        .expect("generation succeeds");
        (scenario, lines)
    }

    /// Hash of every (table, line) in emission order.
    fn digest(cfg: &ScenarioConfig) -> (u64, u64) {
        let mut h = DefaultHasher::new();
        let mut n = 0;
        generate(cfg, &mut |table, line| {
            h.write(table.as_bytes());
            h.write(line);
            n += 1;
            Ok(())
        })
        .expect("generation succeeds");
        (h.finish(), n)
    }

    fn parse(line: &[u8]) -> Map<String, Value> {
        match serde_json::from_slice(line) {
            Ok(Value::Object(o)) => o,
            _ => panic!("not a JSON object: {}", String::from_utf8_lossy(line)),
        }
    }

    fn ts_ms(record: &Map<String, Value>) -> i64 {
        match &record["ts"] {
            Value::Number(n) => n.as_i64().expect("integer ts"),
            Value::String(s) => DateTime::parse_from_rfc3339(s)
                .expect("RFC 3339 ts")
                .timestamp_millis(),
            other => panic!("bad ts {other}"),
        }
    }

    fn schema(table: &str) -> Value {
        let path = format!("{}/schemas/{table}.schema.json", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).expect("schema file is readable");
        serde_json::from_str(&text).expect("schema is JSON")
    }

    fn type_ok(ty: &str, v: &Value) -> bool {
        match ty {
            "string" => v.is_string(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            "boolean" => v.is_boolean(),
            "object" => v.is_object(),
            "array" => v.is_array(),
            _ => false,
        }
    }

    /// Checks a line against the subset of JSON Schema our schemas use; `Err` says why
    /// it does not match. Unknown fields are errors too, to catch typos here.
    fn validate(schema: &Value, line: &[u8]) -> Result<(), String> {
        let v: Value = serde_json::from_slice(line).map_err(|e| format!("not JSON: {e}"))?;
        let obj = v.as_object().ok_or("not an object")?;
        let has_all = |req: &Value| {
            req.as_array()
                .is_none_or(|r| r.iter().all(|k| obj.contains_key(k.as_str().unwrap_or(""))))
        };
        if !has_all(&schema["required"]) {
            return Err(format!("missing one of {}", schema["required"]));
        }
        if let Some(any) = schema["anyOf"].as_array() {
            if !any.iter().any(|branch| has_all(&branch["required"])) {
                return Err("no anyOf branch matches".into());
            }
        }
        for (key, val) in obj {
            let prop = schema["properties"]
                .get(key)
                .ok_or_else(|| format!("unknown field `{key}`"))?;
            let types: Vec<&str> = match &prop["type"] {
                Value::String(t) => vec![t.as_str()],
                Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            if !types.is_empty() && !types.iter().any(|t| type_ok(t, val)) {
                return Err(format!("`{key}`: {val} is not {types:?}"));
            }
            if let Some(allowed) = prop["enum"].as_array() {
                if !allowed.contains(val) {
                    return Err(format!("`{key}`: {val} not in enum"));
                }
            }
            if let (Some(min), Some(x)) = (prop["minimum"].as_f64(), val.as_f64()) {
                if x < min {
                    return Err(format!("`{key}`: {x} < {min}"));
                }
            }
            if let (Some(max), Some(x)) = (prop["maximum"].as_f64(), val.as_f64()) {
                if x > max {
                    return Err(format!("`{key}`: {x} > {max}"));
                }
            }
            if let (Some(min), Some(s)) = (prop["minLength"].as_u64(), val.as_str()) {
                if (s.chars().count() as u64) < min {
                    return Err(format!("`{key}` is too short"));
                }
            }
            if prop["format"] == "date-time" {
                if let Some(s) = val.as_str() {
                    DateTime::parse_from_rfc3339(s).map_err(|e| format!("`{key}`: {s}: {e}"))?;
                }
            }
            if let (Some(ty), Some(map)) = (
                prop["additionalProperties"]["type"].as_str(),
                val.as_object(),
            ) {
                if !map.values().all(|x| type_ok(ty, x)) {
                    return Err(format!("`{key}`: values must be {ty}"));
                }
            }
            if let Some(x) = val.as_f64() {
                if !x.is_finite() {
                    return Err(format!("`{key}` is not finite"));
                }
            }
        }
        Ok(())
    }

    #[test]
    fn push_ts_matches_chrono() {
        for ms in [
            0,
            1_793_577_600_000,
            1_793_577_600_000 + 13 * HOUR + 5 * MINUTE + 7_123,
            951_782_400_000 - 1, // 2000-02-28T23:59:59.999 (leap year)
            4_102_444_799_999,   // 2099-12-31T23:59:59.999
            -86_400_000 + 5,
        ] {
            let mut b = Vec::new();
            push_ts(&mut b, ms);
            let expected = DateTime::<Utc>::from_timestamp_millis(ms)
                .expect("in range")
                .to_rfc3339_opts(SecondsFormat::Millis, true);
            assert_eq!(String::from_utf8(b).expect("ASCII"), expected, "ms {ms}");
        }
    }

    #[test]
    fn number_writers() {
        let s = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut b = Vec::new();
            f(&mut b);
            String::from_utf8(b).expect("ASCII")
        };
        assert_eq!(s(&|b| push_fixed(b, 123.456, 1)), "123.5");
        assert_eq!(s(&|b| push_fixed(b, 0.04, 4)), "0.0400");
        assert_eq!(s(&|b| push_fixed(b, -5.0, 0)), "-5");
        assert_eq!(s(&|b| push_fixed(b, -0.0001, 2)), "0.00");
        assert_eq!(s(&|b| push_fixed(b, f64::NAN, 2)), "0.00");
        assert_eq!(s(&|b| push_padded(b, 42, 6)), "000042");
        assert_eq!(s(&|b| push_padded(b, 1_234_567, 6)), "1234567");
        assert_eq!(s(&|b| push_i64(b, i64::MIN)), i64::MIN.to_string());
        assert_eq!(s(&|b| push_hex(b, 0xABCDEF, 8)), "00abcdef");
    }

    #[test]
    fn same_config_gives_identical_bytes() {
        let c = ScenarioConfig {
            malformed: true,
            ..cfg(2, &[])
        };
        let (a, n) = digest(&c);
        assert_eq!((a, n), digest(&c));
        assert!(n > 100_000, "{n} lines");
        let other = ScenarioConfig { seed: 7, ..c };
        assert_ne!(a, digest(&other).0);
    }

    #[test]
    fn filtering_tables_does_not_change_the_others() {
        let (_, all) = run(&cfg(2, &[]));
        let subset = ["requests", "exposures", "feedback", "incidents"];
        let (scenario, some) = run(&cfg(2, &subset));
        assert_eq!(some.keys().map(String::as_str).collect::<Vec<_>>(), {
            let mut s = subset.to_vec();
            s.sort_unstable();
            s
        });
        assert_eq!(scenario.records.len(), subset.len());
        for table in subset {
            assert_eq!(all[table], some[table], "table {table}");
        }
    }

    #[test]
    fn every_line_matches_its_schema() {
        let (scenario, lines) = run(&cfg(3, &[]));
        assert_eq!(scenario.malformed, 0);
        for table in ALL_TABLES {
            let schema = schema(table);
            let table_lines = &lines[table];
            assert!(!table_lines.is_empty(), "{table} is empty");
            assert_eq!(scenario.records[table], table_lines.len() as u64);
            let mut epoch_ts = 0;
            for line in table_lines {
                if let Err(why) = validate(&schema, line) {
                    panic!("{table}: {why}: {}", String::from_utf8_lossy(line));
                }
                match &parse(line)["ts"] {
                    Value::String(s) => {
                        assert!(
                            s.len() == 24 && s.ends_with('Z') && &s[19..20] == ".",
                            "{s}"
                        )
                    }
                    _ => epoch_ts += 1,
                }
            }
            let share = epoch_ts as f64 / table_lines.len() as f64;
            if table == "requests" {
                assert!((0.04..0.06).contains(&share), "epoch-ms ts share {share}");
            } else {
                assert_eq!(epoch_ts, 0, "{table}");
            }
        }
    }

    #[test]
    fn malformed_lines_are_the_only_invalid_ones_and_change_nothing_else() {
        let (clean_scenario, clean) = run(&cfg(2, &[]));
        let (scenario, dirty) = run(&ScenarioConfig {
            malformed: true,
            ..cfg(2, &[])
        });
        assert_eq!(scenario.malformed, 12);
        assert_eq!(scenario.malformed_by_table.values().sum::<u64>(), 12);
        let mut invalid = 0;
        for table in ALL_TABLES {
            let schema = schema(table);
            let valid: Vec<Vec<u8>> = dirty[table]
                .iter()
                .filter(|l| validate(&schema, l).is_ok())
                .cloned()
                .collect();
            let bad = (dirty[table].len() - valid.len()) as u64;
            assert_eq!(
                bad,
                scenario.malformed_by_table.get(table).copied().unwrap_or(0),
                "{table}"
            );
            invalid += bad;
            assert_eq!(valid, clean[table], "{table}");
            assert_eq!(
                scenario.records[table],
                clean_scenario.records[table] + bad,
                "{table}"
            );
        }
        assert_eq!(invalid, 12);
    }

    #[test]
    fn each_malformed_line_breaks_its_schema() {
        for m in &MALFORMED {
            let mut line = Vec::new();
            m.write(&mut line, 1_793_577_600_000);
            let table = ALL_TABLES[m.table];
            assert!(
                validate(&schema(table), &line).is_err(),
                "{table} line meant to be bad ({}) is valid: {}",
                m.why,
                String::from_utf8_lossy(&line)
            );
        }
    }

    #[test]
    fn lines_are_in_ts_order_except_a_few_late_ones() {
        let (scenario, lines) = run(&cfg(2, &[]));
        let mut late_total = 0;
        for table in ALL_TABLES {
            let mut newest = i64::MIN;
            let mut late = 0;
            for line in &lines[table] {
                let ts = ts_ms(&parse(line));
                if ts < newest {
                    late += 1;
                    assert!(
                        newest - ts <= MAX_LATENESS_MS,
                        "{table}: {} ms late",
                        newest - ts
                    );
                }
                newest = newest.max(ts);
                assert!(
                    ts >= scenario.start.timestamp_millis() && ts < scenario.end.timestamp_millis()
                );
            }
            let share = late as f64 / lines[table].len() as f64;
            match table {
                "requests" | "web_vitals" | "events" => {
                    assert!(share > 0.001 && share < 0.01, "{table}: {share}")
                }
                _ => assert_eq!(late, 0, "{table}"),
            }
            late_total += late;
        }
        assert!(
            late_total <= scenario.late,
            "{late_total} > {}",
            scenario.late
        );
    }

    /// p95 of a sample (nearest rank).
    fn p95(mut xs: Vec<f64>) -> f64 {
        xs.sort_by(f64::total_cmp);
        xs[((xs.len() as f64 * 0.95).ceil() as usize).saturating_sub(1)]
    }

    #[test]
    fn regression_raises_checkout_p95_by_about_30_percent() {
        let (scenario, lines) = run(&cfg(4, &["requests"]));
        assert_eq!(scenario.regressing_deployment, "checkout@2.4.0");
        let cut = scenario.regression_completed_at.timestamp_millis();
        let ratio = |service: &str| {
            let (mut before, mut after) = (Vec::new(), Vec::new());
            for line in &lines["requests"] {
                let r = parse(line);
                if r["service"] == service {
                    let d = r["duration_ms"].as_f64().expect("duration");
                    if ts_ms(&r) < cut {
                        before.push(d);
                    } else {
                        after.push(d);
                    }
                }
            }
            assert!(before.len() > 2_000 && after.len() > 2_000);
            p95(after) / p95(before)
        };
        let checkout = ratio("checkout");
        assert!(
            (1.15..1.5).contains(&checkout),
            "checkout p95 ratio {checkout}"
        );
        let api = ratio("api");
        assert!((0.9..1.1).contains(&api), "api p95 ratio {api}");
    }

    /// Per variant: (users, begin_checkout events, purchases) of exposed users, and the
    /// number of users seen with both variants.
    fn experiment_stats(lines: &Lines) -> ([(usize, usize, usize); 2], usize) {
        let mut variant_of: BTreeMap<String, usize> = BTreeMap::new();
        let mut both = 0;
        let mut seen_both = std::collections::BTreeSet::new();
        for line in &lines["exposures"] {
            let r = parse(line);
            assert_eq!(r["experiment"], EXPERIMENT);
            let v = VARIANTS
                .iter()
                .position(|v| r["variant"] == *v)
                .expect("known variant");
            let user = r["user_id"].as_str().expect("user_id").to_owned();
            let first = *variant_of.entry(user.clone()).or_insert(v);
            if first != v && seen_both.insert(user) {
                both += 1;
            }
        }
        let mut stats = [(0, 0, 0); 2];
        for v in variant_of.values() {
            stats[*v].0 += 1;
        }
        for line in &lines["events"] {
            let r = parse(line);
            let Some(v) = r
                .get("user_id")
                .and_then(Value::as_str)
                .and_then(|u| variant_of.get(u))
            else {
                continue;
            };
            match r["event"].as_str() {
                Some("begin_checkout") => stats[*v].1 += 1,
                Some("purchase") => stats[*v].2 += 1,
                _ => {}
            }
        }
        (stats, both)
    }

    #[test]
    fn treatment_converts_better_and_assignment_is_balanced() {
        let (scenario, lines) = run(&cfg(14, &["events", "exposures"]));
        assert_eq!(scenario.experiment, EXPERIMENT);
        let (stats, both) = experiment_stats(&lines);
        let conversion =
            |(_, checkouts, purchases): (usize, usize, usize)| purchases as f64 / checkouts as f64;
        let (control, treatment) = (conversion(stats[0]), conversion(stats[1]));
        assert!(
            treatment > control * 1.04,
            "treatment {treatment} vs control {control}"
        );
        assert!(
            (0.6..0.8).contains(&control),
            "control conversion {control}"
        );
        let users = (stats[0].0 + stats[1].0) as f64;
        let control_share = stats[0].0 as f64 / users;
        assert!((0.47..0.53).contains(&control_share), "{control_share}");
        assert!(
            both >= 1 && (both as f64) < users * 0.02,
            "{both} of {users}"
        );

        let skewed = ScenarioConfig {
            srm_skew: true,
            ..cfg(14, &["exposures"])
        };
        let (skewed_scenario, skewed_lines) = run(&skewed);
        assert_eq!(skewed_scenario.control_share, 0.55);
        let (stats, _) = experiment_stats(&Lines::from([
            ("exposures".to_owned(), skewed_lines["exposures"].clone()),
            ("events".to_owned(), Vec::new()),
        ]));
        let control_share = stats[0].0 as f64 / (stats[0].0 + stats[1].0) as f64;
        assert!((0.52..0.58).contains(&control_share), "{control_share}");
    }

    #[test]
    fn new_feature_adoption_ramps_up_after_launch() {
        let (scenario, lines) = run(&cfg(14, &["events"]));
        let launch = scenario.new_feature_launched_at.timestamp_millis();
        let mut per_day = vec![0u32; 14];
        for line in &lines["events"] {
            let r = parse(line);
            if r["event"] == NEW_FEATURE {
                let ts = ts_ms(&r);
                assert!(ts >= launch);
                per_day[((ts - scenario.start.timestamp_millis()) / DAY) as usize] += 1;
            }
            if r["event"] == "purchase" {
                assert!(r["revenue"].as_f64().is_some_and(|x| x > 0.0));
            }
        }
        assert!(per_day[13] > 2 * per_day[7], "{per_day:?}");
    }

    #[test]
    fn bug_tickets_spike_after_the_regression() {
        let (scenario, lines) = run(&cfg(14, &["feedback"]));
        let cut = scenario.regression_completed_at.timestamp_millis();
        let (mut before, mut after) = (0, 0);
        let (mut ratings, mut promoters, mut detractors, mut nps) = (Vec::new(), 0, 0, 0);
        for line in &lines["feedback"] {
            let r = parse(line);
            let ts = ts_ms(&r);
            match r["source"].as_str() {
                Some("support_ticket") if r["category"] == "bug" => {
                    if (cut - DAY..cut).contains(&ts) {
                        before += 1;
                    } else if (cut..cut + DAY).contains(&ts) {
                        after += 1;
                    }
                }
                Some("app_review") => ratings.push(r["rating"].as_f64().expect("rating")),
                Some("nps") => {
                    let score = r["score"].as_i64().expect("score");
                    nps += 1;
                    promoters += i32::from(score >= 9);
                    detractors += i32::from(score <= 6);
                }
                _ => {}
            }
        }
        assert!(
            after > 2 * before,
            "bug tickets: {before} before, {after} after"
        );
        let mean = ratings.iter().sum::<f64>() / ratings.len() as f64;
        assert!((3.7..4.1).contains(&mean), "mean rating {mean}");
        let promoters = f64::from(promoters) / f64::from(nps);
        let detractors = f64::from(detractors) / f64::from(nps);
        assert!((0.40..0.50).contains(&promoters), "{promoters}");
        assert!((0.16..0.24).contains(&detractors), "{detractors}");
    }

    #[test]
    fn default_story_facts() {
        let (scenario, lines) = run(&cfg(14, &["deployments", "incidents"]));
        assert_eq!(scenario.regressing_deployment, "checkout@2.4.0");
        assert_eq!(scenario.regressing_service, "checkout");
        assert_eq!(
            scenario.regression_completed_at.to_rfc3339(),
            "2026-11-10T14:25:00+00:00"
        );
        assert_eq!(scenario.rolled_back_deployment, "search@1.13.0");
        assert_eq!(scenario.incident_id, "INC-2026-001");
        assert_eq!(scenario.variants, ["control", "treatment"]);
        assert_eq!(scenario.records["deployments"], 14);
        assert_eq!(scenario.records["incidents"], 5);
        let statuses: Vec<String> = lines["incidents"]
            .iter()
            .map(|l| parse(l)["status"].as_str().expect("status").to_owned())
            .collect();
        assert_eq!(
            statuses,
            [
                "detected",
                "acknowledged",
                "mitigated",
                "resolved",
                "postmortem_published"
            ]
        );
        let burst = &scenario.error_bursts[0];
        assert_eq!(burst.endpoint, "POST /api/checkout/payment");
        assert_eq!(scenario.error_bursts[1].endpoint, "GET /api/search");
        assert_eq!(burst.incident_id.as_deref(), Some("INC-2026-001"));
        assert!(
            scenario.incident_detected_at > burst.start
                && scenario.incident_detected_at < burst.end
        );
        let phases: Vec<String> = lines["deployments"]
            .iter()
            .map(|l| parse(l)["phase"].as_str().expect("phase").to_owned())
            .collect();
        assert_eq!(phases.iter().filter(|p| *p == "rolled_back").count(), 1);
        assert_eq!(phases.iter().filter(|p| *p == "completed").count(), 6);
    }

    #[test]
    fn short_periods_tell_the_same_story() {
        let (scenario, lines) = run(&cfg(1, &["deployments", "incidents"]));
        assert_eq!(scenario.records["deployments"], 14);
        assert_eq!(scenario.records["incidents"], 5);
        assert!(scenario.regression_completed_at < scenario.end);
        assert!(lines["incidents"]
            .iter()
            .all(|l| ts_ms(&parse(l)) < scenario.end.timestamp_millis()));
    }

    #[test]
    fn volume_scales_linearly() {
        let count = |scale: f64| {
            let c = ScenarioConfig {
                scale,
                ..cfg(1, &["requests"])
            };
            digest(&c).1 as f64
        };
        let one = count(1.0);
        assert!((24_000.0..26_000.0).contains(&one), "{one} requests a day");
        let ratio = count(2.5) / one;
        assert!((2.4..2.6).contains(&ratio), "{ratio}");
    }

    #[test]
    fn invalid_configurations_are_rejected() {
        let err = |c: ScenarioConfig| {
            generate(&c, &mut |_, _| Ok(()))
                .expect_err("rejected")
                .to_string()
        };
        assert!(err(cfg(0, &[])).contains("days (0)"));
        assert!(err(ScenarioConfig {
            scale: 0.0,
            ..cfg(1, &[])
        })
        .contains("scale (0)"));
        assert!(err(ScenarioConfig {
            scale: f64::NAN,
            ..cfg(1, &[])
        })
        .contains("scale (NaN)"));
        assert!(err(cfg(1, &["requests", "logs"])).contains("unknown table `logs`"));
    }

    #[test]
    fn sink_errors_stop_the_generation() {
        let mut calls = 0;
        let result = generate(&cfg(1, &[]), &mut |_, _| {
            calls += 1;
            if calls == 10 {
                anyhow::bail!("disk full");
            }
            Ok(())
        });
        assert_eq!(result.expect_err("sink error").to_string(), "disk full");
        assert_eq!(calls, 10);
    }
}
