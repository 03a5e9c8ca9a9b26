//! Always-valid inference for results looked at while data still arrives.
//!
//! A fixed-horizon 95 % interval checked every hour will, sooner or later, exclude zero by
//! chance: peeking inflates the false-positive rate far above 5 %. A *confidence sequence*
//! covers the true effect at all times simultaneously with probability 1 − α, so it may be
//! looked at after every hour and a decision taken whenever it excludes zero.
//!
//! We use the normal-mixture boundary: for an estimate θ̂ ~ N(θ, V) (V = se², shrinking as data
//! arrives) and a N(0, τ²) mixture over the effect, the mixture likelihood ratio against θ is
//!
//! ```text
//! Λ(θ) = sqrt(V / (V + τ²)) · exp( τ²·(θ̂ − θ)² / (2·V·(V + τ²)) )
//! ```
//!
//! a nonnegative martingale under θ, so by Ville's inequality P(∃t: Λ_t(θ) ≥ 1/α) ≤ α. The
//! confidence sequence is {θ : Λ(θ) < 1/α}:
//!
//! ```text
//! θ̂ ± sqrt( V·(V + τ²)/τ² · ( ln((V + τ²)/V) + 2·ln(1/α) ) )
//! ```
//!
//! and the always-valid p-value for θ = 0 is min(1, 1/Λ(0)) (the mSPRT of Johari, Pekelis and
//! Walsh 2017/2022, "Always valid inference: continuous monitoring of A/B tests", Operations
//! Research; the boundary is eq. (14) of Howard, Ramdas, McAuliffe and Sekhon 2021,
//! "Time-uniform, nonparametric, nonasymptotic confidence sequences", Ann. Statist., in the
//! asymptotic (CLT) form of Waudby-Smith et al. 2021). The p-value is below α exactly when the
//! sequence excludes zero. Optimizely and Eppo use this same construction.
//!
//! τ sets where the boundary is tightest. With r = τ²/V the squared half-width is
//! V·(1 + 1/r)·(ln(1 + r) + 2·ln(1/α)), smallest when r = ln(1 + r) + 2·ln(1/α)
//! ([`optimal_mixture_ratio`], r ≈ 8.2 for α = 0.05, where the half-width is 3.03·se against
//! 1.96·se of a fixed-horizon interval). The experiment layer sets τ² = r·V_end, with V_end the
//! variance expected at the end of the planned window (the current variance scaled by the share
//! of the window elapsed), so τ stays (nearly) the same across hourly looks, as the guarantee
//! requires, and the sequence is tightest at the planned readout.

use serde::Serialize;

use super::Interval;

/// The ratio r = τ²/V at which the normal-mixture boundary at level 1 − `alpha` is narrowest:
/// the fixed point of r = ln(1 + r) + 2·ln(1/α) (≈ 8.2 for α = 0.05).
pub fn optimal_mixture_ratio(alpha: f64) -> f64 {
    let two_l = 2.0 * (1.0 / alpha).ln();
    let mut r = two_l + 1.0;
    for _ in 0..100 {
        let next = (1.0 + r).ln() + two_l;
        if (next - r).abs() < 1e-12 * r {
            return next;
        }
        r = next;
    }
    r
}

/// Result of [`normal_mixture`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ConfidenceSequence {
    /// The always-valid interval of the effect.
    pub interval: Interval,
    /// Always-valid p-value of "effect = 0" at this look: min(1, 1/Λ(0)).
    pub p_value: f64,
    /// Mixture standard deviation used.
    pub tau: f64,
}

/// The normal-mixture confidence sequence at level 1 − `alpha` for an estimate `effect` with
/// standard error `se` and mixture scale `tau` (see the module docs for the formula).
pub fn normal_mixture(effect: f64, se: f64, alpha: f64, tau: f64) -> ConfidenceSequence {
    let v = se * se;
    let t2 = tau * tau;
    if !(v > 0.0 && t2 > 0.0 && v.is_finite() && t2.is_finite()) {
        return ConfidenceSequence {
            interval: Interval {
                low: f64::NAN,
                high: f64::NAN,
            },
            p_value: f64::NAN,
            tau,
        };
    }
    let log_ratio = ((v + t2) / v).ln();
    let half = (v * (v + t2) / t2 * (log_ratio + 2.0 * (1.0 / alpha).ln())).sqrt();
    // ln Λ(0) = −½·ln((V+τ²)/V) + τ²·θ̂²/(2V(V+τ²)); p = min(1, exp(−ln Λ)).
    let log_lambda = -0.5 * log_ratio + t2 * effect * effect / (2.0 * v * (v + t2));
    ConfidenceSequence {
        interval: Interval::around(effect, half),
        p_value: (-log_lambda).exp().min(1.0),
        tau,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optimal_ratio_minimises_the_width() {
        let alpha = 0.05;
        let r = optimal_mixture_ratio(alpha);
        assert!((8.0..8.5).contains(&r), "{r}");
        let width = |r: f64| normal_mixture(0.0, 1.0, alpha, r.sqrt()).interval.high;
        assert!(width(r) < width(r * 0.9) && width(r) < width(r * 1.1));
        assert!((width(r) - 3.03).abs() < 0.01, "{}", width(r));
    }
}
