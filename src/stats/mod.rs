//! The statistics stage: plain numbers in, plain structs out. Arrow stops before this module;
//! the experiment and impact layers hand it sufficient statistics ([`Moments`],
//! [`CoMoments`]) or raw samples and get back a [`Comparison`] per metric.
//!
//! What is here, each with its formula and source in the function docs (and in `docs/STATS.md`):
//!
//! * [`two_sample`]: Welch's t-test for means, the two-proportion z-test for rates, the delta
//!   method for ratio metrics, a quantile (p50/p95) test with order-statistic standard errors;
//!   every one reports the absolute effect with its interval and the relative effect with a
//!   delta-method interval.
//! * [`rank`]: the Mann–Whitney U test (normal approximation, tie and continuity corrections).
//! * [`srm`]: the chi-square goodness-of-fit test for sample-ratio mismatch.
//! * [`multiple`]: Benjamini–Hochberg and Holm adjusted p-values.
//! * [`power`]: power and minimum detectable effect of a two-sided z-test.
//! * [`sequential`]: an always-valid confidence sequence (normal mixture / mSPRT).
//! * [`cusum`]: Page's CUSUM on a rate, the sequential decision of the alert rules.
//! * [`ddsketch`]: the DDSketch, a mergeable quantile sketch with relative-error guarantees.
//! * [`robust`]: the median and the median absolute deviation, the anomaly rules' baseline.
//! * [`regression`]: least-squares lines, the growth and crossing date of capacity planning.
//! * [`dist`]: tail probabilities and quantiles of the normal, Student t and chi-square
//!   distributions, computed from survival functions so tiny p-values stay accurate.
//!
//! Conventions: "control" is arm A, "treatment" arm B; effects are B − A; intervals are
//! two-sided; `significant` is *defined* as "the interval excludes zero", so it can never
//! disagree with the interval that is printed.

pub mod cusum;
pub mod ddsketch;
pub mod dist;
pub mod moments;
pub mod multiple;
pub mod power;
pub mod rank;
pub mod regression;
pub mod robust;
pub mod sequential;
pub mod srm;
pub mod two_sample;

#[cfg(test)]
mod props;

pub use moments::{CoMoments, Moments};
pub use two_sample::{
    clustered_quantile_test, quantile_test, ratio_delta, two_proportion, welch, ArmEstimate,
    Comparison, TestKind,
};

use serde::Serialize;

/// Why a statistic cannot be computed. Each variant names what is missing, with the numbers.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StatsError {
    #[error("{what}: {n} units in an arm, expected at least {min}")]
    TooFewUnits {
        what: &'static str,
        n: u64,
        min: u64,
    },
    #[error("{what}: both arms have zero variance, the test is undefined")]
    ZeroVariance { what: &'static str },
    #[error("{what}: {message}")]
    Invalid { what: &'static str, message: String },
}

/// A closed interval `[low, high]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

impl Interval {
    /// `center ± half_width`.
    pub fn around(center: f64, half_width: f64) -> Interval {
        Interval {
            low: center - half_width,
            high: center + half_width,
        }
    }

    /// Whether `x` lies in the interval (bounds included). NaN bounds contain everything, so a
    /// degenerate interval is never read as significant.
    pub fn contains(&self, x: f64) -> bool {
        !(self.low > x || self.high < x)
    }

    /// Whether zero lies outside the interval: the definition of "significant" everywhere.
    pub fn excludes_zero(&self) -> bool {
        !self.contains(0.0)
    }

    /// The interval of `-x`.
    pub fn negated(&self) -> Interval {
        Interval {
            low: -self.high,
            high: -self.low,
        }
    }
}
