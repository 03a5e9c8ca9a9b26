//! Least-squares lines: the growth of a resource per day and the day it would cross a level (the
//! monthly report's capacity planning, "budget for infrastructure scaling").
//!
//! * [`ols`]: ordinary least squares of y on x — slope, intercept, R², the slope's standard error
//!   — SciPy's `scipy.stats.linregress(x, y)` (`slope`, `intercept`, `rvalue**2`, `stderr`).
//! * [`Fit::crossing`]: where the fitted line reaches a level, `(level − intercept) / slope`, for
//!   a rising line only.

use serde::Serialize;

/// A fitted line `y = intercept + slope·x`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Fit {
    pub slope: f64,
    pub intercept: f64,
    /// Share of the variance of y the line explains (0 for a flat y).
    pub r2: f64,
    /// Standard error of the slope (NaN below 3 points).
    pub slope_se: f64,
    pub n: usize,
}

/// The least-squares line through `(x, y)` (pairs with a non-finite value ignored); `None` below
/// two points or when every x is the same.
pub fn ols(points: &[(f64, f64)]) -> Option<Fit> {
    let p: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    let n = p.len();
    if n < 2 {
        return None;
    }
    let nf = n as f64;
    let (mx, my) = (
        p.iter().map(|q| q.0).sum::<f64>() / nf,
        p.iter().map(|q| q.1).sum::<f64>() / nf,
    );
    let sxx: f64 = p.iter().map(|q| (q.0 - mx).powi(2)).sum();
    let syy: f64 = p.iter().map(|q| (q.1 - my).powi(2)).sum();
    let sxy: f64 = p.iter().map(|q| (q.0 - mx) * (q.1 - my)).sum();
    if sxx <= 0.0 {
        return None;
    }
    let slope = sxy / sxx;
    let intercept = my - slope * mx;
    let r2 = if syy > 0.0 {
        sxy * sxy / (sxx * syy)
    } else {
        0.0
    };
    let slope_se = if n > 2 {
        let sse = (syy - slope * sxy).max(0.0);
        (sse / (nf - 2.0) / sxx).sqrt()
    } else {
        f64::NAN
    };
    Some(Fit {
        slope,
        intercept,
        r2,
        slope_se,
        n,
    })
}

impl Fit {
    /// The line at `x`.
    pub fn at(&self, x: f64) -> f64 {
        self.intercept + self.slope * x
    }

    /// Where the line reaches `level` from below: `None` when it does not rise.
    pub fn crossing(&self, level: f64) -> Option<f64> {
        (self.slope > 0.0).then(|| (level - self.intercept) / self.slope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_scipy_linregress() {
        // scipy.stats.linregress(np.arange(10.0),
        //   [0.41,0.43,0.42,0.46,0.47,0.49,0.48,0.52,0.53,0.55]):
        // slope 0.0153939393939394, intercept 0.40672727272727266, rvalue**2 0.9564727509932991,
        // stderr 0.001161045094585939; (0.8 − intercept) / slope = 25.547244094488185
        let y = [0.41, 0.43, 0.42, 0.46, 0.47, 0.49, 0.48, 0.52, 0.53, 0.55];
        let pts: Vec<(f64, f64)> = y.iter().enumerate().map(|(i, v)| (i as f64, *v)).collect();
        let f = ols(&pts).unwrap();
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert!(close(f.slope, 0.0153939393939394), "{f:?}");
        assert!(close(f.intercept, 0.40672727272727266), "{f:?}");
        assert!(close(f.r2, 0.9564727509932991), "{f:?}");
        assert!(close(f.slope_se, 0.001161045094585939), "{f:?}");
        assert!((f.crossing(0.8).unwrap() - 25.547244094488185).abs() < 1e-9);
    }

    #[test]
    fn degenerate_inputs_give_no_line_and_a_falling_line_no_crossing() {
        assert_eq!(ols(&[(1.0, 2.0)]), None);
        assert_eq!(ols(&[(1.0, 2.0), (1.0, 3.0)]), None);
        let f = ols(&[(0.0, 0.5), (1.0, 0.4), (2.0, f64::NAN), (3.0, 0.2)]).unwrap();
        assert_eq!(f.n, 3);
        assert!(f.slope < 0.0 && f.crossing(0.8).is_none());
        let flat = ols(&[(0.0, 0.5), (1.0, 0.5), (2.0, 0.5)]).unwrap();
        assert!(flat.slope.abs() < 1e-15 && flat.r2.abs() < 1e-15 && flat.crossing(0.8).is_none());
    }
}
