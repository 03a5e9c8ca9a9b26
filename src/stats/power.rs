//! Power and minimum detectable effect (MDE) of a two-sided z-test with a given standard error.
//!
//! An experiment that finds nothing is only informative if it could have found something: the
//! verdict prints "inconclusive, MDE reached: x %", the smallest relative effect the data had an
//! 80 % chance to detect, instead of "no effect".

use super::dist::{normal_critical, normal_quantile, normal_sf};

/// Default power for the MDE.
pub const DEFAULT_POWER: f64 = 0.8;

/// The smallest true effect (in the units of `se`) that a two-sided test at `alpha` detects
/// with probability `power`: `(z_{1−α/2} + z_power)·se` (the normal approximation; the
/// negligible opposite-tail rejection probability is ignored, as is usual).
pub fn mde(se: f64, alpha: f64, power: f64) -> f64 {
    (normal_critical(alpha) + normal_quantile(power)) * se
}

/// Probability that a two-sided z-test at `alpha` rejects when the true effect is `effect` and
/// the estimator's standard error is `se`: `Φ̄(z_{1−α/2} − |δ|/se) + Φ̄(z_{1−α/2} + |δ|/se)`.
pub fn power(effect: f64, se: f64, alpha: f64) -> f64 {
    let z = normal_critical(alpha);
    let d = effect.abs() / se;
    normal_sf(z - d) + normal_sf(z + d)
}

/// Units per arm (equal arms) for a two-sided test at `alpha` to detect an absolute effect
/// `effect` with probability `power`, given the per-unit standard deviation `sd`:
/// `2·sd²·(z_{1−α/2} + z_power)² / effect²`.
pub fn units_per_arm(sd: f64, effect: f64, alpha: f64, power: f64) -> f64 {
    let z = normal_critical(alpha) + normal_quantile(power);
    2.0 * sd * sd * z * z / (effect * effect)
}
