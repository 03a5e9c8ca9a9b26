//! Sample-ratio mismatch: are units split between the arms as configured?
//!
//! A mismatch means the assignment or the logging is broken (bots, redirects, a crash in one
//! arm), and every metric of the experiment is then suspect, whatever its p-value says
//! (Fabijan et al. 2019, "Diagnosing Sample Ratio Mismatch in Online Controlled Experiments").

use serde::Serialize;

use super::dist::chi_square_sf;
use super::StatsError;

/// p-value below which the split is declared mismatched (the industry convention: SRM checks
/// run on every experiment, so a strict threshold keeps false alarms rare).
pub const SRM_ALPHA: f64 = 0.001;

/// Result of [`chi_square_gof`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GoodnessOfFit {
    /// Σ (observed − expected)² / expected.
    pub statistic: f64,
    /// Arms − 1.
    pub df: f64,
    /// P(χ²_df > statistic).
    pub p_value: f64,
    /// Expected counts: the total split by the configured shares.
    pub expected: Vec<f64>,
}

/// Pearson's chi-square goodness-of-fit test of `observed` counts against `shares` (weights,
/// normalised to sum to 1). Matches `scipy.stats.chisquare(observed, expected)` with
/// `expected = total · shares / Σshares`.
pub fn chi_square_gof(observed: &[u64], shares: &[f64]) -> Result<GoodnessOfFit, StatsError> {
    const WHAT: &str = "chi-square goodness of fit";
    if observed.len() != shares.len() || observed.len() < 2 {
        return Err(StatsError::Invalid {
            what: WHAT,
            message: format!(
                "{} counts and {} shares, expected the same number, at least 2",
                observed.len(),
                shares.len()
            ),
        });
    }
    if shares.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
        return Err(StatsError::Invalid {
            what: WHAT,
            message: format!("shares {shares:?}, expected positive numbers"),
        });
    }
    let total: u64 = observed.iter().sum();
    if total == 0 {
        return Err(StatsError::TooFewUnits {
            what: WHAT,
            n: 0,
            min: 1,
        });
    }
    let weight: f64 = shares.iter().sum();
    let expected: Vec<f64> = shares.iter().map(|s| total as f64 * s / weight).collect();
    let statistic: f64 = observed
        .iter()
        .zip(&expected)
        .map(|(&o, e)| (o as f64 - e).powi(2) / e)
        .sum();
    let df = (observed.len() - 1) as f64;
    Ok(GoodnessOfFit {
        statistic,
        df,
        p_value: chi_square_sf(statistic, df),
        expected,
    })
}
