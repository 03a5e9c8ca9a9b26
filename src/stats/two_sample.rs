//! Two-sample comparisons: control (A) against treatment (B), effect = B − A.
//!
//! Every test returns a [`Comparison`] holding the arm estimates, the absolute effect with its
//! two-sided interval, the relative effect (B/A − 1) with a delta-method interval, the test
//! statistic and its p-value. The interval and the p-value come from the same standard error
//! and reference distribution (except the two-proportion test, see [`two_proportion`]), and
//! [`Comparison::significant`] is *defined* as "the interval excludes zero".

use serde::Serialize;

use super::dist::{normal_critical, normal_two_sided, t_critical, t_two_sided};
use super::{CoMoments, Interval, Moments, StatsError};

/// Which test produced a [`Comparison`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TestKind {
    /// Welch's unequal-variances t-test.
    Welch,
    /// Two-proportion z-test (pooled SE for the test, unpooled for the interval).
    TwoProportionZ,
    /// Difference of two ratios of means, delta-method standard errors, z-test.
    DeltaRatio,
    /// Difference of two sample quantiles, order-statistic (Woodruff) standard errors, z-test.
    QuantileZ,
    /// The same with cluster-robust (per-user) standard errors by the delta method.
    ClusteredQuantileZ,
}

impl TestKind {
    /// The name printed in reports and stored in the lake.
    pub fn name(&self) -> &'static str {
        match self {
            TestKind::Welch => "welch_t",
            TestKind::TwoProportionZ => "two_proportion_z",
            TestKind::DeltaRatio => "delta_method_z",
            TestKind::QuantileZ => "quantile_z",
            TestKind::ClusteredQuantileZ => "clustered_quantile_z",
        }
    }
}

/// One arm's estimate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ArmEstimate {
    /// Units (users, requests) in the arm.
    pub n: u64,
    /// Mean, rate, ratio or quantile.
    pub estimate: f64,
    /// Standard deviation per unit (for ratios: of the linearised unit values).
    pub sd: f64,
    /// Standard error of `estimate`.
    pub se: f64,
}

/// The result of comparing treatment with control.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub test: TestKind,
    pub control: ArmEstimate,
    pub treatment: ArmEstimate,
    /// treatment − control.
    pub effect: f64,
    /// Standard error of `effect` used for the interval.
    pub se: f64,
    /// Test statistic (t or z), positive when treatment is higher.
    pub statistic: f64,
    /// Degrees of freedom (Welch); `None` for z-tests.
    pub df: Option<f64>,
    /// Two-sided p-value.
    pub p_value: f64,
    /// 1 − confidence level of the intervals.
    pub alpha: f64,
    /// Interval of `effect`.
    pub ci: Interval,
    /// treatment / control − 1.
    pub relative: f64,
    /// Delta-method standard error of `relative`.
    pub relative_se: f64,
    /// Interval of `relative`.
    pub relative_ci: Interval,
}

impl Comparison {
    /// The two-sided critical value at `alpha` of this test's reference distribution.
    pub fn critical(&self, alpha: f64) -> f64 {
        match self.df {
            Some(df) => t_critical(alpha, df),
            None => normal_critical(alpha),
        }
    }

    /// The same comparison with intervals at level 1 − `alpha` (e.g. multiplicity-adjusted).
    pub fn with_alpha(&self, alpha: f64) -> Comparison {
        let c = self.critical(alpha);
        Comparison {
            alpha,
            ci: Interval::around(self.effect, c * self.se),
            relative_ci: Interval::around(self.relative, c * self.relative_se),
            ..self.clone()
        }
    }

    /// Whether the interval of the effect excludes zero.
    pub fn significant(&self) -> bool {
        self.ci.excludes_zero()
    }
}

/// The z-test of two independent arms' estimates: standard error √(se_a² + se_b²), normal
/// two-sided p-value. `what` names the test in the error for a zero or undefined standard error.
fn z_test(
    test: TestKind,
    a: ArmEstimate,
    b: ArmEstimate,
    alpha: f64,
    what: &'static str,
) -> Result<Comparison, StatsError> {
    let se = (a.se * a.se + b.se * b.se).sqrt();
    if !(se.is_finite() && se > 0.0) {
        return Err(StatsError::ZeroVariance { what });
    }
    let z = (b.estimate - a.estimate) / se;
    Ok(compare(test, a, b, se, z, None, normal_two_sided(z), alpha))
}

/// Builds the comparison from arm estimates, the SE of the effect and the test's p-value.
#[allow(clippy::too_many_arguments)]
fn compare(
    test: TestKind,
    control: ArmEstimate,
    treatment: ArmEstimate,
    se: f64,
    statistic: f64,
    df: Option<f64>,
    p_value: f64,
    alpha: f64,
) -> Comparison {
    let effect = treatment.estimate - control.estimate;
    let (relative, relative_se) = relative_delta(&control, &treatment);
    let c = Comparison {
        test,
        control,
        treatment,
        effect,
        se,
        statistic,
        df,
        p_value,
        alpha,
        ci: Interval::around(effect, 0.0),
        relative,
        relative_se,
        relative_ci: Interval::around(relative, 0.0),
    };
    c.with_alpha(alpha)
}

/// Relative effect r = B/A − 1 and its delta-method standard error for independent arms:
/// Var(B/A) ≈ Var(B)/A² + B²·Var(A)/A⁴ (first-order Taylor expansion of B/A around the means;
/// Deng, Knoblich and Lu 2018, "Applying the Delta Method in Metric Analytics", §3).
pub fn relative_delta(control: &ArmEstimate, treatment: &ArmEstimate) -> (f64, f64) {
    let (a, b) = (control.estimate, treatment.estimate);
    if a == 0.0 {
        return (f64::NAN, f64::NAN);
    }
    let var = treatment.se.powi(2) / (a * a) + b * b * control.se.powi(2) / a.powi(4);
    (b / a - 1.0, var.sqrt())
}

fn check_alpha(what: &'static str, alpha: f64) -> Result<(), StatsError> {
    if alpha > 0.0 && alpha < 1.0 {
        Ok(())
    } else {
        Err(StatsError::Invalid {
            what,
            message: format!("alpha is {alpha}, expected a number in (0, 1)"),
        })
    }
}

fn check_n(what: &'static str, n: u64, min: u64) -> Result<(), StatsError> {
    if n < min {
        Err(StatsError::TooFewUnits { what, n, min })
    } else {
        Ok(())
    }
}

/// Welch's t-test of the difference of means.
///
/// `se² = s_A²/n_A + s_B²/n_B`, `t = (x̄_B − x̄_A)/se`, Welch–Satterthwaite
/// `df = se⁴ / ((s_A²/n_A)²/(n_A−1) + (s_B²/n_B)²/(n_B−1))`; two-sided p from the t survival
/// function; interval `effect ± t_{1−α/2, df}·se` (Welch 1947, "The generalization of
/// Student's problem when several different population variances are involved"). Matches
/// `scipy.stats.ttest_ind(b, a, equal_var=False)` and its `confidence_interval()`.
pub fn welch(control: &Moments, treatment: &Moments, alpha: f64) -> Result<Comparison, StatsError> {
    const WHAT: &str = "Welch t-test";
    check_alpha(WHAT, alpha)?;
    check_n(WHAT, control.n.min(treatment.n), 2)?;
    let va = control.variance() / control.n as f64;
    let vb = treatment.variance() / treatment.n as f64;
    let se = (va + vb).sqrt();
    if se == 0.0 || !se.is_finite() {
        return Err(StatsError::ZeroVariance { what: WHAT });
    }
    let effect = treatment.mean - control.mean;
    let t = effect / se;
    let df =
        (va + vb).powi(2) / (va * va / (control.n - 1) as f64 + vb * vb / (treatment.n - 1) as f64);
    let arm = |m: &Moments, v: f64| ArmEstimate {
        n: m.n,
        estimate: m.mean,
        sd: m.sd(),
        se: v.sqrt(),
    };
    Ok(compare(
        TestKind::Welch,
        arm(control, va),
        arm(treatment, vb),
        se,
        t,
        Some(df),
        t_two_sided(t, df),
        alpha,
    ))
}

/// Two-proportion z-test of conversion rates `x/n`.
///
/// The test uses the pooled standard error under H0 (p_A = p_B):
/// `p̄ = (x_A + x_B)/(n_A + n_B)`, `z = (p̂_B − p̂_A) / sqrt(p̄(1−p̄)(1/n_A + 1/n_B))`,
/// p = 2·Φ̄(|z|) (Φ̄ = normal survival function). The interval is the unpooled Wald interval
/// `effect ± z_{1−α/2}·sqrt(p̂_A(1−p̂_A)/n_A + p̂_B(1−p̂_B)/n_B)`, which does not assume H0.
/// `significant` follows the interval; in rare borderline cases p < α while the interval
/// touches zero (or the reverse), and the interval wins. When both arms are all-zero (or
/// all-one) there is no evidence: z = 0, p = 1, interval [0, 0].
pub fn two_proportion(
    x_control: u64,
    n_control: u64,
    x_treatment: u64,
    n_treatment: u64,
    alpha: f64,
) -> Result<Comparison, StatsError> {
    const WHAT: &str = "two-proportion z-test";
    check_alpha(WHAT, alpha)?;
    check_n(WHAT, n_control.min(n_treatment), 1)?;
    if x_control > n_control || x_treatment > n_treatment {
        return Err(StatsError::Invalid {
            what: WHAT,
            message: format!(
                "more conversions than units ({x_control}/{n_control}, {x_treatment}/{n_treatment})"
            ),
        });
    }
    let (na, nb) = (n_control as f64, n_treatment as f64);
    let (pa, pb) = (x_control as f64 / na, x_treatment as f64 / nb);
    let pooled = (x_control + x_treatment) as f64 / (na + nb);
    let se0 = (pooled * (1.0 - pooled) * (1.0 / na + 1.0 / nb)).sqrt();
    let z = if se0 > 0.0 { (pb - pa) / se0 } else { 0.0 };
    let (va, vb) = (pa * (1.0 - pa) / na, pb * (1.0 - pb) / nb);
    let arm = |n: u64, p: f64, v: f64| ArmEstimate {
        n,
        estimate: p,
        sd: (p * (1.0 - p)).sqrt(),
        se: v.sqrt(),
    };
    Ok(compare(
        TestKind::TwoProportionZ,
        arm(n_control, pa, va),
        arm(n_treatment, pb, vb),
        (va + vb).sqrt(),
        z,
        None,
        normal_two_sided(z),
        alpha,
    ))
}

/// Difference of ratio metrics R = Σx/Σy (e.g. errors per request, purchases per checkout),
/// with the unit (user) as the randomisation unit, by the delta method.
///
/// Per arm, with sample (co)variances over units: `Var(R̂) ≈ (s_xx − 2R·s_xy + R²·s_yy) /
/// (n·ȳ²)` (Deng, Knoblich and Lu 2018, eq. 4; the ratio's numerator and denominator are
/// correlated within a user, so a naive binomial variance would be too small). Then
/// `z = (R_B − R_A)/sqrt(Var_A + Var_B)`, p = 2·Φ̄(|z|), interval `effect ± z_{1−α/2}·se`.
pub fn ratio_delta(
    control: &CoMoments,
    treatment: &CoMoments,
    alpha: f64,
) -> Result<Comparison, StatsError> {
    const WHAT: &str = "delta-method ratio test";
    check_alpha(WHAT, alpha)?;
    check_n(WHAT, control.n.min(treatment.n), 2)?;
    let arm = |m: &CoMoments| -> Result<ArmEstimate, StatsError> {
        if m.mean_y <= 0.0 {
            return Err(StatsError::Invalid {
                what: WHAT,
                message: format!(
                    "the denominator's mean is {}, expected a positive number",
                    m.mean_y
                ),
            });
        }
        let r = m.mean_x / m.mean_y;
        let d = (m.n - 1) as f64;
        let unit_var = ((m.cxx - 2.0 * r * m.cxy + r * r * m.cyy) / d).max(0.0);
        let var = unit_var / (m.n as f64 * m.mean_y * m.mean_y);
        Ok(ArmEstimate {
            n: m.n,
            estimate: r,
            sd: unit_var.sqrt() / m.mean_y,
            se: var.sqrt(),
        })
    };
    z_test(
        TestKind::DeltaRatio,
        arm(control)?,
        arm(treatment)?,
        alpha,
        WHAT,
    )
}

/// The `q`-quantile of a sorted sample by the nearest-rank rule, x_(⌈nq⌉), and its
/// order-statistic standard error.
///
/// Woodruff (1952), "Confidence intervals for medians and other position measures": the
/// distribution-free 95 % interval of the quantile is `[x_(l), x_(u)]` with
/// `l = ⌊nq − 1.96·sqrt(nq(1−q))⌋`, `u = ⌈nq + 1.96·sqrt(nq(1−q))⌉` (1-based ranks clamped to
/// 1..n); its width over 2·1.96 estimates the standard error (Deng, Knoblich and Lu 2018, §4.2,
/// use the same idea for quantile metrics).
pub fn quantile_with_se(sorted: &[f64], q: f64) -> (f64, f64) {
    let n = sorted.len();
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let nf = n as f64;
    let rank = |r: f64| -> usize { (r.clamp(1.0, nf) as usize) - 1 };
    let estimate = sorted[rank((nf * q).ceil())];
    let z = normal_critical(0.05);
    let spread = z * (nf * q * (1.0 - q)).sqrt();
    let lo = sorted[rank((nf * q - spread).floor())];
    let hi = sorted[rank((nf * q + spread).ceil())];
    (estimate, (hi - lo) / (2.0 * z))
}

/// Difference of the `q`-quantiles (e.g. q = 0.95 for p95 latency) of two independent samples,
/// z-test with Woodruff standard errors ([`quantile_with_se`]): `z = (Q_B − Q_A) /
/// sqrt(se_A² + se_B²)`, interval `effect ± z_{1−α/2}·se`. Observations must be independent
/// (requests of one user are not quite; see `docs/STATS.md`).
pub fn quantile_test(
    control: &[f64],
    treatment: &[f64],
    q: f64,
    alpha: f64,
) -> Result<Comparison, StatsError> {
    const WHAT: &str = "quantile z-test";
    check_alpha(WHAT, alpha)?;
    if !(q > 0.0 && q < 1.0) {
        return Err(StatsError::Invalid {
            what: WHAT,
            message: format!("quantile is {q}, expected a number in (0, 1)"),
        });
    }
    check_n(WHAT, control.len().min(treatment.len()) as u64, 2)?;
    let arm = |xs: &[f64]| {
        let mut s: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
        s.sort_by(f64::total_cmp);
        let (estimate, se) = quantile_with_se(&s, q);
        ArmEstimate {
            n: s.len() as u64,
            estimate,
            sd: se * (s.len() as f64).sqrt(),
            se,
        }
    };
    z_test(
        TestKind::QuantileZ,
        arm(control),
        arm(treatment),
        alpha,
        WHAT,
    )
}

/// The `q`-quantile of observations grouped in clusters (e.g. requests of users), with a
/// cluster-robust standard error.
///
/// Observations of one user are correlated, so the Woodruff standard error, which assumes
/// independent observations, is too small. Following Deng, Knoblich and Lu (2018, §4.2): the
/// share of observations at or below the quantile, p̂ = Σc_i/Σn_i over clusters i (c_i of its
/// n_i observations are ≤ Q̂), is a ratio metric whose variance the delta method gives,
/// `Var(p̂) = (s_cc − 2p̂·s_cn + p̂²·s_nn) / (K·n̄²)` over the K clusters; that interval of the
/// share maps to ranks `l = ⌊N(q − 1.96·se_p)⌋`, `u = ⌈N(q + 1.96·se_p)⌉` of the N sorted
/// observations, and `se_Q = (x_(u) − x_(l))/(2·1.96)`. `values` are `(value, cluster)` pairs.
pub fn clustered_quantile_with_se(values: &[(f64, u64)], q: f64) -> (f64, f64) {
    let mut v: Vec<(f64, u64)> = values.iter().copied().filter(|x| x.0.is_finite()).collect();
    let n = v.len();
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let nf = n as f64;
    let rank = |r: f64| -> usize { (r.clamp(1.0, nf) as usize) - 1 };
    let estimate = v[rank((nf * q).ceil())].0;
    let mut per: std::collections::BTreeMap<u64, (f64, f64)> = std::collections::BTreeMap::new();
    for (x, c) in &v {
        let e = per.entry(*c).or_default();
        e.1 += 1.0;
        if *x <= estimate {
            e.0 += 1.0;
        }
    }
    let (cs, ns): (Vec<f64>, Vec<f64>) = per.values().copied().unzip();
    if cs.len() < 2 {
        return (estimate, f64::NAN);
    }
    let m = CoMoments::of(&cs, &ns);
    let share = m.mean_x / m.mean_y;
    let k = m.n as f64;
    let var = ((m.cxx - 2.0 * share * m.cxy + share * share * m.cyy) / (k - 1.0)).max(0.0)
        / (k * m.mean_y * m.mean_y);
    let z = normal_critical(0.05);
    let spread = z * var.sqrt();
    let lo = v[rank((nf * (q - spread)).floor())].0;
    let hi = v[rank((nf * (q + spread)).ceil())].0;
    (estimate, (hi - lo) / (2.0 * z))
}

/// Difference of the `q`-quantiles of two samples of clustered observations (`(value,
/// cluster)`, e.g. request latencies and their user), z-test with the cluster-robust standard
/// errors of [`clustered_quantile_with_se`].
pub fn clustered_quantile_test(
    control: &[(f64, u64)],
    treatment: &[(f64, u64)],
    q: f64,
    alpha: f64,
) -> Result<Comparison, StatsError> {
    const WHAT: &str = "clustered quantile z-test";
    check_alpha(WHAT, alpha)?;
    if !(q > 0.0 && q < 1.0) {
        return Err(StatsError::Invalid {
            what: WHAT,
            message: format!("quantile is {q}, expected a number in (0, 1)"),
        });
    }
    check_n(WHAT, control.len().min(treatment.len()) as u64, 2)?;
    let arm = |xs: &[(f64, u64)]| {
        let (estimate, se) = clustered_quantile_with_se(xs, q);
        let n = xs.iter().filter(|x| x.0.is_finite()).count();
        ArmEstimate {
            n: n as u64,
            estimate,
            sd: se * (n as f64).sqrt(),
            se,
        }
    };
    z_test(
        TestKind::ClusteredQuantileZ,
        arm(control),
        arm(treatment),
        alpha,
        WHAT,
    )
}
