//! The Mann–Whitney U test (Wilcoxon rank-sum) for shifts in a distribution, e.g. latency.

use serde::Serialize;

use super::dist::normal_sf;
use super::StatsError;

/// Result of [`mann_whitney`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MannWhitney {
    /// U of the treatment sample: pairs (b, a) with b > a, plus half the ties.
    pub u: f64,
    /// U / (n_A·n_B): the probability that a treatment value exceeds a control value (ties
    /// count half). 0.5 means no shift.
    pub prob_greater: f64,
    /// Standardised statistic (with continuity correction), for the larger of the two U's.
    pub z: f64,
    /// Two-sided p-value.
    pub p_value: f64,
}

/// Two-sided Mann–Whitney U test, normal approximation with tie and continuity corrections.
///
/// Ranks of the pooled sample (ties get their average rank); `U_B = R_B − n_B(n_B+1)/2`;
/// `U = max(U_A, U_B)`, `μ = n_A·n_B/2`,
/// `σ² = n_A·n_B/12 · ((n+1) − Σ(t³ − t)/(n(n−1)))` over tie groups of size t;
/// `z = (U − μ − ½)/σ`, p = 2·Φ̄(z), clipped to [0, 1] (Mann and Whitney 1947; the tie
/// correction as in Lehmann, "Nonparametrics", 1975). Matches
/// `scipy.stats.mannwhitneyu(b, a, method="asymptotic", use_continuity=True)`.
/// When every value is tied, σ = 0 and there is no evidence of a shift: p = 1.
pub fn mann_whitney(control: &[f64], treatment: &[f64]) -> Result<MannWhitney, StatsError> {
    let (na, nb) = (control.len(), treatment.len());
    if na == 0 || nb == 0 {
        return Err(StatsError::TooFewUnits {
            what: "Mann–Whitney U test",
            n: na.min(nb) as u64,
            min: 1,
        });
    }
    if control.iter().chain(treatment).any(|x| x.is_nan()) {
        return Err(StatsError::Invalid {
            what: "Mann–Whitney U test",
            message: "a value is NaN, expected numbers".into(),
        });
    }
    // (value, is_treatment), sorted by value.
    let mut all: Vec<(f64, bool)> = control
        .iter()
        .map(|&x| (x, false))
        .chain(treatment.iter().map(|&x| (x, true)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = all.len();
    let (mut rank_sum_b, mut tie_term) = (0.0, 0.0);
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && all[j].0 == all[i].0 {
            j += 1;
        }
        // Ranks i+1..=j share their average.
        let avg = (i + 1 + j) as f64 / 2.0;
        let t = (j - i) as f64;
        tie_term += t * t * t - t;
        rank_sum_b += avg * all[i..j].iter().filter(|(_, b)| *b).count() as f64;
        i = j;
    }
    let (fa, fb, fnn) = (na as f64, nb as f64, n as f64);
    let u_b = rank_sum_b - fb * (fb + 1.0) / 2.0;
    let u_a = fa * fb - u_b;
    let mu = fa * fb / 2.0;
    let sigma = (fa * fb / 12.0 * ((fnn + 1.0) - tie_term / (fnn * (fnn - 1.0)))).sqrt();
    let u = u_a.max(u_b);
    let (z, p_value) = if sigma > 0.0 && sigma.is_finite() {
        let z = (u - mu - 0.5) / sigma;
        (z, (2.0 * normal_sf(z)).clamp(0.0, 1.0))
    } else {
        (0.0, 1.0)
    };
    Ok(MannWhitney {
        u: u_b,
        prob_greater: u_b / (fa * fb),
        z,
        p_value,
    })
}
