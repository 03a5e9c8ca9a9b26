//! From sufficient statistics to decisions: one [`MetricResult`] per metric and treatment arm,
//! multiplicity adjustment over goal metrics, guardrails on their own, sample-ratio and
//! data-quality checks, and the verdict texts. Plain numbers only (no Arrow).
//!
//! Interval rules (see `docs/STATS.md`):
//! * goal metrics share the error budget: p-values are adjusted (Benjamini–Hochberg or Holm),
//!   and intervals are widened to match: level 1 − α·R/m for BH (the FCR-adjusted intervals of
//!   Benjamini and Yekutieli 2005, R = goal comparisons BH rejects, at least 1), 1 − α/m for
//!   Holm (Bonferroni intervals);
//! * guardrails are tested on their own at α;
//! * with `sequential = true` (the default) the deciding interval is the always-valid
//!   confidence sequence at that level, otherwise the fixed-horizon interval;
//! * `significant` is "the deciding interval excludes zero", by construction.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::config::{Experiment, Metric, MetricKind, Role};
use super::query::{HourlyArm, UnitCounts, UnitHour};
use crate::stats::multiple::Correction;
use crate::stats::sequential::{normal_mixture, optimal_mixture_ratio};
use crate::stats::srm::{chi_square_gof, GoodnessOfFit, SRM_ALPHA};
use crate::stats::{
    clustered_quantile_test, dist, ratio_delta, two_proportion, welch, CoMoments, Comparison,
    Interval,
};

/// What the metric's data is, per variant.
#[derive(Debug, Clone)]
pub enum MetricData {
    /// Hourly sufficient statistics (binary, mean, ratio metrics).
    Hourly(Vec<HourlyArm>),
    /// Raw `(value, user)` samples (latency quantiles, which do not add up over hours; the
    /// user is the cluster of the standard error).
    Samples(BTreeMap<String, Vec<(f64, u64)>>),
    /// The table the metric reads is not in the lake.
    Unavailable(String),
}

/// One row of the readout: one metric, one treatment arm against control.
#[derive(Debug, Clone, Serialize)]
pub struct MetricResult {
    pub metric: String,
    pub role: &'static str,
    pub kind: &'static str,
    /// Test used, e.g. `welch_t`.
    pub test: &'static str,
    pub control: String,
    pub variant: String,
    pub control_units: u64,
    pub variant_units: u64,
    /// Mean, rate, ratio or quantile per arm.
    pub control_value: f64,
    pub variant_value: f64,
    pub control_sd: f64,
    pub variant_sd: f64,
    /// variant − control, with the deciding interval.
    pub effect: f64,
    pub effect_ci: Interval,
    /// variant / control − 1, with the deciding interval (delta method).
    pub relative_effect: f64,
    pub relative_ci: Interval,
    /// Which interval decides, e.g. `always-valid 95%` or `fixed 97.5%`.
    pub interval: String,
    /// Fixed-horizon two-sided p-value.
    pub p_value: f64,
    /// p-value adjusted over the goal metrics (guardrails: unadjusted).
    pub p_value_adjusted: f64,
    /// Always-valid p-value (min(1, 1/Λ) of the normal mixture).
    pub sequential_p_value: f64,
    /// The deciding interval excludes zero.
    pub significant: bool,
    /// Relative minimum detectable effect at the configured power with these data.
    pub mde_relative: f64,
    pub flags: Vec<String>,
    pub verdict: String,
}

/// The whole readout of an experiment.
#[derive(Debug, Clone, Serialize)]
pub struct Readout {
    pub experiment: String,
    #[serde(serialize_with = "ser_time")]
    pub analysis_time: DateTime<Utc>,
    #[serde(serialize_with = "ser_time")]
    pub window_start: DateTime<Utc>,
    #[serde(serialize_with = "ser_time")]
    pub window_end: DateTime<Utc>,
    pub window_hours: u64,
    pub control: String,
    pub units: BTreeMap<String, u64>,
    pub excluded_multi_variant_units: u64,
    pub multi_variant_share: f64,
    pub srm: Option<GoodnessOfFit>,
    pub srm_failed: bool,
    pub correction: &'static str,
    pub rows: Vec<MetricResult>,
    pub flags: Vec<String>,
    pub notes: Vec<String>,
    pub verdict: String,
    /// Where the per-arm sums came from: a scan of the raw events, or the stored hourly
    /// statistics of an earlier readout at the same analysis time (then named).
    pub statistics: String,
    /// The hourly per-arm sufficient statistics the readout summed, per metric name (stored in
    /// `experiment_hourly`; latency metrics have none).
    #[serde(skip)]
    pub hourly: Vec<(String, HourlyArm)>,
    /// The units per hour of first exposure and variant (stored in `experiment_hourly` with no
    /// metric).
    #[serde(skip)]
    pub unit_hours: Vec<UnitHour>,
    /// The log version of each input table the sums were computed from (stored with them).
    #[serde(skip)]
    pub inputs: BTreeMap<String, u64>,
    /// The stored `experiment_hourly` file the sums were added up from, if any.
    #[serde(skip)]
    pub reused_from: Option<String>,
    /// Hours of first exposure (ending at the analysis time) that `hourly` and `unit_hours`
    /// cover: the window, or more when the scan covered more ([`crate::experiment::STORED_HOURS`]).
    #[serde(skip)]
    pub stored_hours: u64,
}

/// Times in JSON as RFC 3339 UTC.
pub fn ser_time<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

impl Readout {
    /// SRM p-value (NaN when it could not be computed).
    pub fn srm_p_value(&self) -> f64 {
        self.srm.as_ref().map_or(f64::NAN, |s| s.p_value)
    }
}

fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:+.1}%", 100.0 * x)
    } else {
        "n/a".into()
    }
}

fn level(alpha: f64) -> String {
    let l = 100.0 * (1.0 - alpha);
    if (l - l.round()).abs() < 1e-9 {
        format!("{l:.0}%")
    } else {
        format!("{l:.2}%")
    }
}

/// Sums the hourly statistics per variant: the window is the sum of its hours.
fn per_variant(hours: &[HourlyArm]) -> BTreeMap<String, (u64, CoMoments)> {
    let mut out: BTreeMap<String, (u64, CoMoments)> = BTreeMap::new();
    for h in hours {
        let e = out.entry(h.variant.clone()).or_default();
        e.0 += h.converted;
        e.1 = e.1.merge(&h.moments);
    }
    out
}

/// The fixed-horizon comparison of one metric for `variant` against the control.
fn compare(
    metric: &Metric,
    data: &MetricData,
    control: &str,
    variant: &str,
    alpha: f64,
) -> Result<Comparison, String> {
    match data {
        MetricData::Hourly(hours) => {
            let arms = per_variant(hours);
            let empty = (0, CoMoments::default());
            let a = arms.get(control).unwrap_or(&empty);
            let b = arms.get(variant).unwrap_or(&empty);
            match metric.kind {
                MetricKind::Binary => two_proportion(a.0, a.1.n, b.0, b.1.n, alpha),
                MetricKind::Mean => welch(&a.1.x(), &b.1.x(), alpha),
                MetricKind::Ratio => ratio_delta(&a.1, &b.1, alpha),
                MetricKind::Latency => unreachable!("latency metrics read samples"),
            }
            .map_err(|e| e.to_string())
        }
        MetricData::Samples(samples) => {
            let empty = Vec::new();
            clustered_quantile_test(
                samples.get(control).unwrap_or(&empty),
                samples.get(variant).unwrap_or(&empty),
                metric.quantile,
                alpha,
            )
            .map_err(|e| e.to_string())
        }
        MetricData::Unavailable(table) => Err(format!("the lake has no table `{table}`")),
    }
}

/// Analyses one experiment's data. `data` holds one entry per configured metric, in order.
pub fn analyse(
    exp: &Experiment,
    analysis_time: DateTime<Utc>,
    window_start: DateTime<Utc>,
    units: &UnitCounts,
    data: &[MetricData],
) -> Readout {
    let window_hours = ((analysis_time - window_start).num_seconds().max(0) / 3600) as u64;
    let variants = variants(exp, units);
    let checks = Checks::run(exp, units, &variants, window_hours);
    let info_fraction = info_fraction(units, analysis_time, window_hours);
    // The treatments: every variant after the control.
    let raws = compare_all(exp, data, &variants[1..]);
    let goals = GoalAdjustment::of(exp, &raws);
    let context = RowContext {
        exp,
        flags: &checks.flags,
        below_min: checks.below_min,
        info_fraction,
    };
    let rows = context.rows(&raws, &goals);
    let verdict = experiment_verdict(
        exp,
        &rows,
        checks.srm.as_ref(),
        checks.srm_failed,
        checks.min_units,
        checks.short,
    );
    let hourly = hourly_statistics(exp, data);
    Readout {
        experiment: exp.key.clone(),
        analysis_time,
        window_start,
        window_end: analysis_time,
        window_hours,
        control: exp.control.clone(),
        units: variants
            .iter()
            .cloned()
            .zip(checks.observed.iter().copied())
            .collect(),
        excluded_multi_variant_units: units.multi_variant,
        multi_variant_share: checks.multi_variant_share,
        srm: checks.srm,
        srm_failed: checks.srm_failed,
        correction: exp.correction.name(),
        rows,
        flags: checks.flags,
        notes: checks.notes,
        verdict,
        statistics: "scanned from the raw events".into(),
        hourly,
        unit_hours: units.hours.clone(),
        inputs: BTreeMap::new(),
        reused_from: None,
        stored_hours: window_hours,
    }
}

/// Step 1 of [`analyse`]: the variants, the control first, then the others seen or configured
/// (sorted).
fn variants(exp: &Experiment, units: &UnitCounts) -> Vec<String> {
    let mut variants: Vec<String> = units.per_variant.keys().cloned().collect();
    if let Some(split) = &exp.split {
        for v in split.keys() {
            if !variants.contains(v) {
                variants.push(v.clone());
            }
        }
    }
    variants.retain(|v| v != &exp.control);
    variants.sort();
    variants.insert(0, exp.control.clone());
    variants
}

/// Step 2 of [`analyse`]: the experiment-wide checks that come before any metric (assignment,
/// sample size, window length), with the flags and notes they raise.
struct Checks {
    /// Units per variant, in the order of [`variants`].
    observed: Vec<u64>,
    srm: Option<GoodnessOfFit>,
    srm_failed: bool,
    /// Share of the units seen in several variants.
    multi_variant_share: f64,
    /// Units in the smallest arm.
    min_units: u64,
    /// The smallest arm is below `min_units_per_arm`.
    below_min: bool,
    /// The window covers less than a week.
    short: bool,
    flags: Vec<String>,
    notes: Vec<String>,
}

impl Checks {
    /// Runs the checks, flagging in this order: variants outside the split, sample-ratio
    /// mismatch, units in several variants, too few units, a window under a week.
    fn run(exp: &Experiment, units: &UnitCounts, variants: &[String], window_hours: u64) -> Checks {
        let mut flags = unsplit_variants(exp, units);
        let mut notes = Vec::new();

        let (observed, srm) = sample_ratio(exp, units, variants);
        let srm_failed = srm.as_ref().is_some_and(|s| s.p_value < SRM_ALPHA);
        if srm_failed {
            flags.push("srm".to_string());
        }

        // Units in several variants.
        let multi_variant_share = if units.total() > 0 {
            units.multi_variant as f64 / units.total() as f64
        } else {
            0.0
        };
        if multi_variant_share > exp.multi_variant_flag {
            flags.push(format!(
                "multi_variant_units {:.1}% > {:.1}%",
                100.0 * multi_variant_share,
                100.0 * exp.multi_variant_flag
            ));
        }
        let min_units = observed.iter().copied().min().unwrap_or(0);
        let below_min = min_units < exp.min_units_per_arm;
        if below_min {
            flags.push("below_min_sample".to_string());
        }
        let short = window_hours < 7 * 24;
        if short {
            flags.push("window_under_a_week".to_string());
            notes.push(format!(
                "{window_hours} hours cover no full week: the result is provisional for weekly effects (weekday/weekend mix, novelty)."
            ));
        }
        Checks {
            observed,
            srm,
            srm_failed,
            multi_variant_share,
            min_units,
            below_min,
            short,
            flags,
            notes,
        }
    }
}

/// Flags for the variants in the data that the configured split does not name: the split is
/// wrong or something else assigns users; the SRM check then uses equal weight for them.
fn unsplit_variants(exp: &Experiment, units: &UnitCounts) -> Vec<String> {
    let mut flags = Vec::new();
    if let Some(split) = &exp.split {
        for v in units.per_variant.keys() {
            if !split.contains_key(v) {
                flags.push(format!("variant `{v}` is not in the configured split"));
            }
        }
    }
    flags
}

/// The sample-ratio mismatch test: the units observed per variant (in `variants` order) against
/// the configured split (weight 1 for variants it does not name).
fn sample_ratio(
    exp: &Experiment,
    units: &UnitCounts,
    variants: &[String],
) -> (Vec<u64>, Option<GoodnessOfFit>) {
    let observed: Vec<u64> = variants
        .iter()
        .map(|v| units.per_variant.get(v).copied().unwrap_or(0))
        .collect();
    let shares: Vec<f64> = variants
        .iter()
        .map(|v| {
            exp.split
                .as_ref()
                .and_then(|s| s.get(v).copied())
                .unwrap_or(1.0)
        })
        .collect();
    let srm = chi_square_gof(&observed, &shares).ok();
    (observed, srm)
}

/// Step 3 of [`analyse`]: the share of the planned window that has data, from the first
/// exposure in it to the analysis time (1 when unknown); it sizes the always-valid intervals.
fn info_fraction(units: &UnitCounts, analysis_time: DateTime<Utc>, window_hours: u64) -> f64 {
    match units.first_exposure {
        Some(first) if window_hours > 0 => {
            let elapsed = (analysis_time.timestamp_micros() - first).max(0) as f64 / 3.6e9;
            (elapsed / window_hours as f64).min(1.0)
        }
        _ => 1.0,
    }
}

/// One fixed-horizon comparison at α: a metric against the control for one treatment arm.
struct RawComparison {
    /// Index of the metric in the experiment's metrics.
    metric: usize,
    variant: String,
    cmp: Result<Comparison, String>,
}

/// Step 4 of [`analyse`]: the fixed-horizon comparisons at α, per metric (in order) and
/// treatment arm.
fn compare_all(exp: &Experiment, data: &[MetricData], treatments: &[String]) -> Vec<RawComparison> {
    let mut raws = Vec::new();
    for (i, (metric, d)) in exp.metrics.iter().zip(data).enumerate() {
        for v in treatments {
            raws.push(RawComparison {
                metric: i,
                variant: v.clone(),
                cmp: compare(metric, d, &exp.control, v, exp.alpha),
            });
        }
    }
    raws
}

/// Step 5 of [`analyse`]: multiplicity over the goal comparisons (see the module docs).
struct GoalAdjustment {
    /// The level the goal metrics' intervals are built at.
    alpha: f64,
    /// Per comparison, its adjusted p-value (NaN for guardrails).
    adjusted: Vec<f64>,
}

impl GoalAdjustment {
    /// Adjusts the goal comparisons' p-values with the experiment's correction (a comparison
    /// that could not be computed counts as p = 1) and derives their level.
    fn of(exp: &Experiment, raws: &[RawComparison]) -> GoalAdjustment {
        let goal_idx: Vec<usize> = (0..raws.len())
            .filter(|&i| exp.metrics[raws[i].metric].role == Role::Goal)
            .collect();
        let goal_p: Vec<f64> = goal_idx
            .iter()
            .map(|&i| raws[i].cmp.as_ref().map_or(1.0, |c| c.p_value))
            .collect();
        let adjusted = exp.correction.adjust(&goal_p);
        let m = goal_p.len().max(1) as f64;
        let alpha = match exp.correction {
            Correction::None => exp.alpha,
            Correction::Holm => exp.alpha / m,
            Correction::Bh => {
                let rejected = adjusted.iter().filter(|p| **p <= exp.alpha).count().max(1) as f64;
                exp.alpha * rejected / m
            }
        };
        let mut adjusted_of = vec![f64::NAN; raws.len()];
        for (k, &i) in goal_idx.iter().enumerate() {
            adjusted_of[i] = adjusted[k];
        }
        GoalAdjustment {
            alpha,
            adjusted: adjusted_of,
        }
    }
}

/// Step 6 of [`analyse`], the readout's rows: what every row of one readout shares.
struct RowContext<'a> {
    exp: &'a Experiment,
    /// The experiment-wide flags, which every row carries.
    flags: &'a [String],
    /// The smallest arm is below `min_units_per_arm`: every verdict is "too early".
    below_min: bool,
    /// Share of the planned window with data ([`info_fraction`]).
    info_fraction: f64,
}

impl RowContext<'_> {
    /// One row per comparison: goal metrics at the adjusted level, guardrails at α.
    fn rows(&self, raws: &[RawComparison], goals: &GoalAdjustment) -> Vec<MetricResult> {
        let mut rows = Vec::new();
        for (i, raw) in raws.iter().enumerate() {
            let metric = &self.exp.metrics[raw.metric];
            let alpha = if metric.role == Role::Goal {
                goals.alpha
            } else {
                self.exp.alpha
            };
            rows.push(self.row(raw, alpha, goals.adjusted[i]));
        }
        rows
    }

    /// The row of one comparison, decided at `alpha`; `p_adjusted` is its p-value adjusted
    /// over the goal metrics (used for goal metrics only).
    fn row(&self, raw: &RawComparison, alpha: f64, p_adjusted: f64) -> MetricResult {
        let metric = &self.exp.metrics[raw.metric];
        let mut flags: Vec<String> = self.flags.to_vec();
        let base = self.blank_row(metric, &raw.variant);
        let c = match raw.cmp.as_ref() {
            Ok(c) => c,
            Err(why) => {
                flags.push("not_computable".into());
                if metric.role == Role::Guardrail {
                    flags.push("guardrail_not_shown_safe".into());
                }
                return MetricResult {
                    flags,
                    verdict: format!("not computable: {why}"),
                    ..base
                };
            }
        };
        let d = Deciding::of(self.exp, c, alpha, self.info_fraction);
        let verdict = self.verdict(metric, c, &d, &mut flags);
        MetricResult {
            test: c.test.name(),
            control_units: c.control.n,
            variant_units: c.treatment.n,
            control_value: c.control.estimate,
            variant_value: c.treatment.estimate,
            control_sd: c.control.sd,
            variant_sd: c.treatment.sd,
            effect: c.effect,
            effect_ci: d.ci,
            relative_effect: c.relative,
            relative_ci: d.relative_ci,
            interval: d.kind,
            p_value: c.p_value,
            p_value_adjusted: if metric.role == Role::Goal {
                p_adjusted
            } else {
                c.p_value
            },
            sequential_p_value: d.sequential_p_value,
            significant: d.significant,
            mde_relative: d.mde_relative,
            flags,
            verdict,
            ..base
        }
    }

    /// The row of `metric` for `variant` with its names filled in and every number NaN (no
    /// test, no flags, no verdict yet).
    fn blank_row(&self, metric: &Metric, variant: &str) -> MetricResult {
        let nan = Interval {
            low: f64::NAN,
            high: f64::NAN,
        };
        MetricResult {
            metric: metric.name.clone(),
            role: metric.role.name(),
            kind: metric.kind.name(),
            test: "",
            control: self.exp.control.clone(),
            variant: variant.to_string(),
            control_units: 0,
            variant_units: 0,
            control_value: f64::NAN,
            variant_value: f64::NAN,
            control_sd: f64::NAN,
            variant_sd: f64::NAN,
            effect: f64::NAN,
            effect_ci: nan,
            relative_effect: f64::NAN,
            relative_ci: nan,
            interval: String::new(),
            p_value: f64::NAN,
            p_value_adjusted: f64::NAN,
            sequential_p_value: f64::NAN,
            significant: false,
            mde_relative: f64::NAN,
            flags: Vec::new(),
            verdict: String::new(),
        }
    }

    /// The row's verdict: "too early" below the minimum sample, else by the metric's role
    /// ([`goal_verdict`], [`guardrail_verdict`]). A guardrail's verdict adds its flag to `flags`.
    fn verdict(
        &self,
        metric: &Metric,
        c: &Comparison,
        d: &Deciding,
        flags: &mut Vec<String>,
    ) -> String {
        if self.below_min {
            format!(
                "too early: {} and {} units, minimum {} per arm",
                c.control.n, c.treatment.n, self.exp.min_units_per_arm
            )
        } else {
            match metric.role {
                Role::Goal => goal_verdict(metric, c, d),
                Role::Guardrail => guardrail_verdict(metric, c, &d.relative_ci, flags),
            }
        }
    }
}

/// The deciding interval of one comparison and what follows from it.
struct Deciding {
    /// The deciding interval of the effect.
    ci: Interval,
    /// Which interval decides, e.g. `always-valid 95%` or `fixed 97.5%`.
    kind: String,
    /// Always-valid p-value of the normal mixture.
    sequential_p_value: f64,
    /// The relative effect's interval, as wide (in standard errors) as the deciding one.
    relative_ci: Interval,
    /// The deciding interval excludes zero.
    significant: bool,
    /// Relative minimum detectable effect at the configured power.
    mde_relative: f64,
}

impl Deciding {
    /// The deciding interval at `alpha`: always-valid (normal mixture, τ² = r*·V_end, with
    /// V_end scaled by `info_fraction`) or fixed-horizon, as the experiment says; and the
    /// relative interval and MDE at the same width.
    fn of(exp: &Experiment, c: &Comparison, alpha: f64, info_fraction: f64) -> Deciding {
        let fixed = c.with_alpha(alpha);
        let base_value = c.control.estimate.abs();
        let v_end = c.se * c.se * info_fraction.clamp(1e-3, 1.0);
        let tau = (optimal_mixture_ratio(alpha) * v_end).sqrt();
        let cs = normal_mixture(c.effect, c.se, alpha, tau);
        let (ci, kind) = if exp.sequential {
            (cs.interval, format!("always-valid {}", level(alpha)))
        } else {
            (fixed.ci, format!("fixed {}", level(alpha)))
        };
        let multiplier = if c.se > 0.0 {
            (ci.high - ci.low) / (2.0 * c.se)
        } else {
            fixed.critical(alpha)
        };
        let relative_ci = Interval::around(c.relative, multiplier * c.relative_se);
        let significant = ci.excludes_zero();
        let mde_abs = (multiplier + dist::normal_quantile(exp.power)) * c.se;
        let mde_relative = if base_value > 0.0 {
            mde_abs / base_value
        } else {
            f64::NAN
        };
        Deciding {
            ci,
            kind,
            sequential_p_value: cs.p_value,
            relative_ci,
            significant,
            mde_relative,
        }
    }
}

/// A goal metric's verdict: better or worse when the deciding interval excludes zero, else
/// inconclusive with the MDE reached.
fn goal_verdict(metric: &Metric, c: &Comparison, d: &Deciding) -> String {
    let good = |x: f64| if metric.higher_is_better { x } else { -x };
    let ci = d.ci;
    if d.significant && good(c.effect) > 0.0 {
        format!(
            "better: {} (absolute {:+.4} [{:+.4}, {:+.4}])",
            pct(c.relative),
            c.effect,
            ci.low,
            ci.high
        )
    } else if d.significant {
        format!(
            "worse: {} (absolute {:+.4} [{:+.4}, {:+.4}])",
            pct(c.relative),
            c.effect,
            ci.low,
            ci.high
        )
    } else {
        format!("inconclusive, MDE reached: {:.1}%", 100.0 * d.mde_relative)
    }
}

/// A guardrail's verdict against its tolerance, from the relative interval: harm (flagged
/// `guardrail_harm`), ok, or not yet shown safe (flagged `guardrail_not_shown_safe`).
fn guardrail_verdict(
    metric: &Metric,
    c: &Comparison,
    relative_ci: &Interval,
    flags: &mut Vec<String>,
) -> String {
    // Worst and best plausible relative change in the harmful direction.
    let (worst, best) = if metric.higher_is_better {
        (-relative_ci.low, -relative_ci.high)
    } else {
        (relative_ci.high, relative_ci.low)
    };
    if best > metric.tolerance {
        flags.push("guardrail_harm".into());
        format!(
            "harm: {} beyond the {:.1}% tolerance [{}, {}]",
            pct(c.relative),
            100.0 * metric.tolerance,
            pct(relative_ci.low),
            pct(relative_ci.high)
        )
    } else if worst <= metric.tolerance {
        format!(
            "ok: no harm beyond {:.1}% [{}, {}]",
            100.0 * metric.tolerance,
            pct(relative_ci.low),
            pct(relative_ci.high)
        )
    } else {
        flags.push("guardrail_not_shown_safe".into());
        format!(
            "not yet shown safe: interval [{}, {}] reaches past the {:.1}% tolerance",
            pct(relative_ci.low),
            pct(relative_ci.high),
            100.0 * metric.tolerance
        )
    }
}

/// Step 7 of [`analyse`]: the hourly per-arm statistics the readout summed, per metric name
/// (latency metrics, read as samples, have none).
fn hourly_statistics(exp: &Experiment, data: &[MetricData]) -> Vec<(String, HourlyArm)> {
    exp.metrics
        .iter()
        .zip(data)
        .flat_map(|(m, d)| match d {
            MetricData::Hourly(h) => h.iter().map(|x| (m.name.clone(), x.clone())).collect(),
            _ => Vec::new(),
        })
        .collect()
}

fn experiment_verdict(
    exp: &Experiment,
    rows: &[MetricResult],
    srm: Option<&GoodnessOfFit>,
    srm_failed: bool,
    min_units: u64,
    short: bool,
) -> String {
    let provisional = if short {
        " (provisional: less than a week of data)"
    } else {
        ""
    };
    if srm_failed {
        return format!(
            "do not trust: sample-ratio mismatch (chi-square p = {:.2e} < {SRM_ALPHA}); fix assignment or logging before reading any metric, no ship verdict",
            srm.map_or(f64::NAN, |s| s.p_value)
        );
    }
    if min_units < exp.min_units_per_arm {
        return format!(
            "keep measuring: {min_units} units in the smallest arm, minimum {} per arm before any verdict",
            exp.min_units_per_arm
        );
    }
    let harmed: Vec<&MetricResult> = rows
        .iter()
        .filter(|r| r.flags.iter().any(|f| f == "guardrail_harm"))
        .collect();
    if let Some(r) = harmed.first() {
        return format!(
            "roll back: guardrail `{}` degraded ({}) on `{}`{provisional}",
            r.metric, r.verdict, r.variant
        );
    }
    let goals: Vec<&MetricResult> = rows.iter().filter(|r| r.role == "goal").collect();
    if let Some(r) = goals.iter().find(|r| r.verdict.starts_with("worse")) {
        return format!(
            "roll back: goal `{}` is {} on `{}`{provisional}",
            r.metric, r.verdict, r.variant
        );
    }
    let better: Vec<String> = goals
        .iter()
        .filter(|r| r.verdict.starts_with("better"))
        .map(|r| {
            format!(
                "`{}` {} on `{}`",
                r.metric,
                pct(r.relative_effect),
                r.variant
            )
        })
        .collect();
    if !better.is_empty() {
        if let Some(r) = rows
            .iter()
            .find(|r| r.flags.iter().any(|f| f == "guardrail_not_shown_safe"))
        {
            return format!(
                "keep measuring: {} improved, but guardrail `{}` is not yet shown within tolerance ({}){provisional}",
                better.join(", "),
                r.metric,
                r.verdict
            );
        }
        return format!("ship: {} improved{provisional}", better.join(", "));
    }
    let mde = goals
        .iter()
        .map(|r| r.mde_relative)
        .filter(|m| m.is_finite())
        .fold(f64::NAN, f64::min);
    format!(
        "inconclusive, MDE reached: {:.1}% (smallest relative effect this readout could detect with {:.0}% power){provisional}",
        100.0 * mde,
        100.0 * exp.power
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::config::ExperimentsFile;

    fn experiment(extra_metric: &str) -> Experiment {
        let text = format!(
            r#"
[[experiment]]
key = "e"
control = "control"
split = {{ control = 1, treatment = 1 }}
min_units_per_arm = 50
[[experiment.metric]]
name = "conv"
role = "goal"
kind = "binary"
event = "purchase"
{extra_metric}
"#
        );
        ExperimentsFile::parse_experiments(&text, std::path::Path::new("experiments.toml"))
            .map_err(|_| ())
            .expect("valid")
            .remove(0)
    }

    /// One cohort hour per arm: `n` units of which `converted` have x = 1.
    fn arm(variant: &str, n: u64, converted: u64) -> HourlyArm {
        let c = converted as f64;
        HourlyArm {
            cohort_hour: 0,
            variant: variant.into(),
            converted,
            moments: CoMoments::from_sums(n, c, 0.0, c, 0.0, 0.0),
        }
    }

    fn run(exp: &Experiment, units: (u64, u64), data: Vec<MetricData>) -> Readout {
        let at = DateTime::from_timestamp(1_800_000_000, 0).expect("time");
        let counts = UnitCounts {
            per_variant: [("control".into(), units.0), ("treatment".into(), units.1)].into(),
            multi_variant: 0,
            first_exposure: Some(at.timestamp_micros() - 48 * 3_600_000_000),
            hours: Vec::new(),
        };
        analyse(exp, at, at - chrono::Duration::hours(48), &counts, &data)
    }

    #[test]
    fn clear_lift_ships_and_is_provisional_under_a_week() {
        let exp = experiment("");
        let r = run(
            &exp,
            (5000, 5000),
            vec![MetricData::Hourly(vec![
                arm("control", 5000, 1000),
                arm("treatment", 5000, 1300),
            ])],
        );
        assert!(r.verdict.starts_with("ship"), "{}", r.verdict);
        assert!(r.verdict.contains("provisional"));
        assert!(r.notes[0].contains("no full week"));
        assert!(r.rows[0].significant && r.rows[0].effect_ci.low > 0.0);
        assert_eq!(r.rows[0].interval, "always-valid 95%");
    }

    #[test]
    fn nothing_found_reports_the_mde_never_no_effect() {
        let exp = experiment("");
        let r = run(
            &exp,
            (5000, 5000),
            vec![MetricData::Hourly(vec![
                arm("control", 5000, 1000),
                arm("treatment", 5000, 1010),
            ])],
        );
        assert!(
            r.verdict.starts_with("inconclusive, MDE reached: "),
            "{}",
            r.verdict
        );
        assert!(r.rows[0].verdict.starts_with("inconclusive, MDE reached: "));
        assert!(!format!("{r:?}").to_lowercase().contains("no effect"));
    }

    #[test]
    fn srm_blocks_and_small_samples_wait() {
        let exp = experiment("");
        let data = || {
            vec![MetricData::Hourly(vec![
                arm("control", 5500, 1000),
                arm("treatment", 4500, 1300),
            ])]
        };
        let r = run(&exp, (5500, 4500), data());
        assert!(r.srm_failed);
        assert!(r.verdict.starts_with("do not trust"), "{}", r.verdict);
        assert!(r.rows[0].flags.iter().any(|f| f == "srm"));
        let r = run(
            &exp,
            (40, 41),
            vec![MetricData::Hourly(vec![
                arm("control", 40, 10),
                arm("treatment", 41, 30),
            ])],
        );
        assert!(r.verdict.starts_with("keep measuring"), "{}", r.verdict);
        assert!(r.rows[0].verdict.starts_with("too early"));
    }

    #[test]
    fn goal_metrics_share_alpha_bh_by_default_holm_on_request() {
        let second = r#"
[[experiment.metric]]
name = "conv2"
role = "goal"
kind = "binary"
event = "purchase2"
"#;
        let data = || {
            vec![
                MetricData::Hourly(vec![
                    arm("control", 5000, 1000),
                    arm("treatment", 5000, 1300),
                ]),
                MetricData::Hourly(vec![
                    arm("control", 5000, 1000),
                    arm("treatment", 5000, 1010),
                ]),
            ]
        };
        // BH with one of two rejected: FCR-adjusted level 1 − α·1/2.
        let r = run(&experiment(second), (5000, 5000), data());
        assert_eq!(r.correction, "benjamini_hochberg");
        assert_eq!(r.rows[0].interval, "always-valid 97.50%");
        assert!(r.rows[0].p_value_adjusted >= r.rows[0].p_value);
        // Holm: Bonferroni intervals at α/m.
        let mut exp = experiment(second);
        exp.correction = Correction::Holm;
        let r = run(&exp, (5000, 5000), data());
        assert_eq!(r.correction, "holm");
        assert_eq!(r.rows[1].interval, "always-valid 97.50%");
        // Step-down: the smaller p-value doubles, the larger one stays (m − j + 1 = 1).
        let (p0, p1) = (r.rows[0].p_value, r.rows[1].p_value);
        assert!(p0 < p1);
        assert!((r.rows[0].p_value_adjusted - (2.0 * p0).min(1.0)).abs() < 1e-15);
        assert!((r.rows[1].p_value_adjusted - p1.max(2.0 * p0).min(1.0)).abs() < 1e-15);
    }

    #[test]
    fn a_harmed_guardrail_rolls_back() {
        // A guardrail "rate of errors" (binary on an event, lower is better) that triples.
        let exp = experiment(
            r#"
[[experiment.metric]]
name = "errors"
role = "guardrail"
kind = "binary"
event = "error_shown"
higher_is_better = false
tolerance = 0.05
"#,
        );
        let r = run(
            &exp,
            (5000, 5000),
            vec![
                MetricData::Hourly(vec![
                    arm("control", 5000, 1000),
                    arm("treatment", 5000, 1300),
                ]),
                MetricData::Hourly(vec![arm("control", 5000, 100), arm("treatment", 5000, 300)]),
            ],
        );
        assert!(r.verdict.starts_with("roll back"), "{}", r.verdict);
        assert!(r.rows[1].flags.iter().any(|f| f == "guardrail_harm"));
        // Guardrails are tested on their own: unadjusted, at α.
        assert_eq!(r.rows[1].interval, "always-valid 95%");
    }
}
