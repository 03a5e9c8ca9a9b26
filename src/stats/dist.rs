//! Tail probabilities and quantiles of the normal, Student t and chi-square distributions.
//!
//! p-values are computed from survival functions (`erfc`, the regularised incomplete beta and
//! upper incomplete gamma functions of statrs), never as `1 - cdf`, so a p-value of 1e-300 is
//! as accurate as one of 0.3. Quantiles start from statrs' inverse and are polished with Newton
//! steps on the survival function, to full double precision (the SciPy oracle tests compare
//! interval bounds with a relative tolerance of 1e-9).

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};
use statrs::function::{beta, gamma};

const SQRT_2: f64 = std::f64::consts::SQRT_2;

/// P(Z > z) for a standard normal Z.
pub fn normal_sf(z: f64) -> f64 {
    0.5 * erfc(z / SQRT_2)
}

/// The complementary error function, to full double precision.
///
/// statrs' `erfc` has relative errors up to about 1e-9 (e.g. at 0.5), too coarse for the
/// oracle tests; erfc(x) = Q(½, x²) for x ≥ 0, and statrs' upper regularised incomplete gamma
/// function `gamma_ur` is accurate to about 1e-15. For x < 0, erfc(x) = 2 − erfc(−x), where
/// nothing cancels because the result is at least 1.
pub fn erfc(x: f64) -> f64 {
    if x.is_nan() {
        f64::NAN
    } else if x == 0.0 {
        1.0
    } else if x > 0.0 {
        if x > 27.3 {
            // erfc(27.3) < 1e-325: below the smallest subnormal.
            0.0
        } else {
            gamma::gamma_ur(0.5, x * x)
        }
    } else {
        2.0 - erfc(-x)
    }
}

/// Two-sided p-value of a standard normal statistic: P(|Z| ≥ |z|) = erfc(|z|/√2).
pub fn normal_two_sided(z: f64) -> f64 {
    if z.is_nan() {
        return f64::NAN;
    }
    erfc(z.abs() / SQRT_2).min(1.0)
}

/// Standard normal density.
pub fn normal_pdf(z: f64) -> f64 {
    (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// The standard normal quantile of `p` in (0, 1).
pub fn normal_quantile(p: f64) -> f64 {
    if !(p > 0.0 && p < 1.0) {
        return match p {
            0.0 => f64::NEG_INFINITY,
            1.0 => f64::INFINITY,
            _ => f64::NAN,
        };
    }
    let mut z = Normal::standard().inverse_cdf(p);
    // Newton on the tail that is small, so the target is representable precisely.
    for _ in 0..3 {
        let f = if p < 0.5 {
            normal_sf(-z) - p
        } else {
            (1.0 - p) - normal_sf(z)
        };
        let d = normal_pdf(z);
        if d == 0.0 || !f.is_finite() {
            break;
        }
        let step = f / d;
        z -= step;
        if step.abs() <= 1e-15 * z.abs().max(1.0) {
            break;
        }
    }
    z
}

/// Two-sided critical value of the standard normal: z with P(|Z| > z) = alpha.
pub fn normal_critical(alpha: f64) -> f64 {
    -normal_quantile(alpha / 2.0)
}

/// Two-sided p-value of a Student t statistic with `df` degrees of freedom:
/// P(|T| ≥ |t|) = I_{df/(df+t²)}(df/2, 1/2), the regularised incomplete beta function.
pub fn t_two_sided(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if df.is_infinite() {
        return normal_two_sided(t);
    }
    if t.is_infinite() {
        return 0.0;
    }
    let x = df / (df + t * t);
    beta::beta_reg(df / 2.0, 0.5, x).clamp(0.0, 1.0)
}

/// Two-sided critical value of Student t: c with P(|T| > c) = alpha.
pub fn t_critical(alpha: f64, df: f64) -> f64 {
    if df.is_infinite() {
        return normal_critical(alpha);
    }
    let Ok(dist) = StudentsT::new(0.0, 1.0, df) else {
        return f64::NAN;
    };
    let mut c = -dist.inverse_cdf(alpha / 2.0);
    if !c.is_finite() || c <= 0.0 {
        c = normal_critical(alpha);
    }
    // Newton on the two-sided tail: f(c) = P(|T| > c) − alpha, f'(c) = −2·pdf(c).
    use statrs::distribution::Continuous;
    for _ in 0..20 {
        let f = t_two_sided(c, df) - alpha;
        let d = 2.0 * dist.pdf(c);
        if d == 0.0 || !f.is_finite() {
            break;
        }
        let step = f / d;
        c += step;
        if step.abs() <= 1e-15 * c.abs() {
            break;
        }
    }
    c
}

/// P(X > x) for a chi-square X with `k` degrees of freedom: the upper regularised incomplete
/// gamma function Q(k/2, x/2).
pub fn chi_square_sf(x: f64, k: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 1.0;
    }
    if x.is_infinite() || !(k > 0.0 && k.is_finite()) {
        return if x.is_infinite() { 0.0 } else { f64::NAN };
    }
    gamma::gamma_ur(k / 2.0, x / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rtol: f64) -> bool {
        (a - b).abs() <= rtol * b.abs()
    }

    #[test]
    fn known_values() {
        // scipy.stats.norm.sf(1.959963984540054) = 0.025
        assert!(
            close(normal_sf(1.959963984540054), 0.025, 1e-12),
            "{:e}",
            normal_sf(1.959963984540054)
        );
        // 2 * scipy.stats.norm.sf(8) = 1.244192114854348e-15
        assert!(close(normal_two_sided(8.0), 1.244192114854348e-15, 1e-12));
        // 2 * scipy.stats.norm.sf(30) = 9.813427854295816e-198
        assert!(close(normal_two_sided(30.0), 9.813427854295816e-198, 1e-9));
        // scipy.stats.norm.ppf(0.975) = 1.959963984540054
        assert!(close(normal_critical(0.05), 1.959963984540054, 1e-14));
        // scipy.stats.t.ppf(0.975, 7.5) = 2.333039626864974 (two-sided 5 %)
        assert!(close(t_critical(0.05, 7.5), 2.333039626864974, 1e-10));
        // 2 * scipy.stats.t.sf(2.5, 10) = 0.03144684423660882
        assert!(close(t_two_sided(2.5, 10.0), 0.03144684423660882, 1e-10));
        // scipy.stats.chi2.sf(3.84, 1) = 0.05004352124870519
        assert!(close(chi_square_sf(3.84, 1.0), 0.05004352124870519, 1e-10));
    }
}
