//! The plan: every time-dependent fact of one run, computed once from the
//! configuration before the first hour is generated.
//!
//! [`Plan`] places the deployment plan, the error bursts and the incident of
//! [`super::shop`] in the configured period, computes the expected traffic of every
//! hour and answers the generators' questions (which version a host runs, whether a
//! request hits the regression, which variant a user is assigned to). It also builds
//! the [`Scenario`] summary at the end. Nothing here draws random numbers except
//! [`pick_user`], which takes the caller's stream.

use std::collections::BTreeMap;
use std::f64::consts::TAU;

use chrono::{DateTime, Utc};

use super::buffer::Emitted;
use super::shop::{
    Outcome, CHECKOUT, DEPLOY_PLAN, EP_PAYMENT, EP_SEARCH, FEATURE_DEPLOY, FIRST_CHANGE_ID,
    INCIDENT_ID, INCIDENT_SEVERITY, PAYMENT_BURST_ERRORS, SEARCH, SEARCH_BURST_ERRORS, SERVICES,
};
use super::{
    ErrorBurst, Scenario, ScenarioConfig, ALL_TABLES, BOTH_VARIANTS_SHARE, DAY, EXPERIMENT, HOUR,
    MINUTE, NEW_FEATURE, REGRESSION_FACTOR, TREATMENT_LIFT, USERS_PER_SCALE, VARIANTS,
};
use crate::demo::rng::{mix64, stream_seed, unit_f64, Rng};

pub(super) struct Deploy {
    pub(super) service: usize,
    pub(super) version: &'static str,
    pub(super) strategy: &'static str,
    pub(super) outcome: Outcome,
    pub(super) change_id: usize,
    pub(super) description: &'static str,
    pub(super) started: i64,
    /// Completion or rollback.
    pub(super) finished: i64,
}

pub(super) struct Burst {
    pub(super) service: usize,
    pub(super) endpoint: usize,
    pub(super) start: i64,
    pub(super) end: i64,
    pub(super) rate: f64,
    pub(super) errors: &'static [(u16, &'static str)],
}

pub(super) struct Plan {
    pub(super) start: i64,
    pub(super) end: i64,
    pub(super) hours: usize,
    pub(super) scale: f64,
    /// Expected traffic of each hour relative to the period's mean hour.
    pub(super) hourly_load: Vec<f64>,
    /// Mean of the raw traffic shape over the period's hours.
    shape_mean: f64,
    /// Highest relative load, used to turn load into utilisation.
    peak_load: f64,
    pub(super) deploys: Vec<Deploy>,
    /// Per service: `(from, version)` of every completed version, oldest first.
    versions: Vec<Vec<(i64, &'static str)>>,
    /// `(service, from, to, version)`: the service's first host runs `version` meanwhile.
    canaries: Vec<(usize, i64, i64, &'static str)>,
    regress: usize,
    pub(super) bursts: [Burst; 2],
    pub(super) incident: [(i64, &'static str); 5],
    pub(super) feature_launch: i64,
    control_share: f64,
    /// Hash salts of the per-user stable draws.
    assignment_salt: u64,
    both_variants_salt: u64,
    pub(super) platform_salt: u64,
    pub(super) users: u64,
    pub(super) user_width: usize,
    pub(super) host_names: Vec<Vec<String>>,
}

impl Plan {
    pub(super) fn new(cfg: &ScenarioConfig) -> Self {
        let start = cfg.start.timestamp_millis();
        let days = cfg.days;
        let hours = days as usize * 24;
        let end = start + i64::from(days) * DAY;
        let at = |frac: f64, hour: i64, minute: i64| {
            let day = ((frac * f64::from(days)).floor() as i64).min(i64::from(days) - 1);
            start + day * DAY + hour * HOUR + minute * MINUTE
        };

        let deploys = schedule_deploys(&at);
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
        let (bursts, incident) = bursts_and_incident(&at, end);

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
        plan.set_load();
        plan
    }

    /// Fills in the hourly load, the shape's mean and the peak load from [`Plan::shape`].
    fn set_load(&mut self) {
        let shapes: Vec<f64> = (0..self.hours)
            .map(|h| self.shape(self.start + h as i64 * HOUR + HOUR / 2))
            .collect();
        self.shape_mean = shapes.iter().sum::<f64>() / self.hours as f64;
        self.hourly_load = shapes.iter().map(|s| s / self.shape_mean).collect();
        self.peak_load = self.hourly_load.iter().copied().fold(1.0, f64::max);
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
    pub(super) fn load(&self, ms: i64) -> f64 {
        self.shape(ms) / self.shape_mean
    }

    /// Load as a utilisation in `[0, 1]`.
    pub(super) fn utilisation(&self, ms: i64) -> f64 {
        (self.load(ms) / self.peak_load).min(1.0)
    }

    pub(super) fn hour_of_fraction(&self, frac: f64) -> usize {
        ((frac * self.hours as f64) as usize).min(self.hours - 1)
    }

    fn regressing(&self) -> &Deploy {
        &self.deploys[self.regress]
    }

    /// Version a host of `service` runs at `ms`.
    pub(super) fn version_at(&self, service: usize, host: usize, ms: i64) -> &'static str {
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
    pub(super) fn deployed_since(&self, service: usize, ms: i64) -> i64 {
        self.versions[service]
            .iter()
            .rev()
            .find(|&&(from, _)| from <= ms)
            .map_or(self.start, |&(from, _)| from.max(self.start))
    }

    /// Whether the regressing version serves this request.
    pub(super) fn regressed(&self, service: usize, host: usize, ms: i64) -> bool {
        let d = self.regressing();
        service == d.service
            && (ms >= d.finished || (host == 0 && (d.started..d.finished).contains(&ms)))
    }

    /// Whether the whole service runs the regressing version.
    pub(super) fn service_regressed(&self, service: usize, ms: i64) -> bool {
        let d = self.regressing();
        service == d.service && ms >= d.finished
    }

    /// Relative strength of the post-regression feedback spike at `ms` (0 before).
    pub(super) fn complaint_boost(&self, ms: i64) -> f64 {
        let since = ms - self.regressing().finished;
        if since < 0 {
            0.0
        } else {
            3.0 * (-(since as f64) / (36 * HOUR) as f64).exp()
        }
    }

    pub(super) fn burst_at(&self, service: usize, endpoint: usize, ms: i64) -> Option<&Burst> {
        self.bursts.iter().find(|b| {
            b.service == service && b.endpoint == endpoint && (b.start..b.end).contains(&ms)
        })
    }

    /// The variant a user is assigned to: a stable hash of seed and user.
    pub(super) fn variant_of(&self, user: u64) -> usize {
        let u = unit_f64(mix64(self.assignment_salt ^ user));
        usize::from(u >= self.control_share)
    }

    /// Whether the user is one of the few shown both variants.
    pub(super) fn sees_both(&self, user: u64) -> bool {
        unit_f64(mix64(self.both_variants_salt ^ user)) < BOTH_VARIANTS_SHARE
    }

    pub(super) fn summary(
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

/// The deployments of [`DEPLOY_PLAN`] at their times in this period; `at(fraction,
/// hour, minute)` places a time of day on the day that `fraction` of the period selects.
fn schedule_deploys(at: &impl Fn(f64, i64, i64) -> i64) -> Vec<Deploy> {
    DEPLOY_PLAN
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
        .collect()
}

/// The two error bursts (payment, then search) and the incident opened for the first:
/// its status changes in time order, the postmortem no later than the period's `end`.
fn bursts_and_incident(
    at: &impl Fn(f64, i64, i64) -> i64,
    end: i64,
) -> ([Burst; 2], [(i64, &'static str); 5]) {
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
    (bursts, incident)
}

/// A user of the pool, some much more active than others.
pub(super) fn pick_user(rng: &mut Rng, users: u64) -> u64 {
    let u = rng.uniform();
    ((u * u.sqrt() * users as f64) as u64).min(users - 1)
}
