//! Robust location and scale: the median and the median absolute deviation (MAD), the baseline
//! of the P4 anomaly rules (`src/alert/slow.rs`).
//!
//! * median: the middle value, the mean of the two middle ones for an even count — NumPy's
//!   `numpy.median`.
//! * MAD: `median(|x − median(x)|)`; scaled by 1.4826 (= 1/Φ⁻¹(3/4)) it estimates the standard
//!   deviation of normal data — SciPy's `scipy.stats.median_abs_deviation(x, scale="normal")`.
//!
//! The Python oracle test (`tests/python/test_stats.py`) checks both against NumPy and SciPy.

use serde::Serialize;

/// 1/Φ⁻¹(3/4): the MAD of a normal sample times this estimates its standard deviation.
pub const MAD_TO_SIGMA: f64 = 1.482_602_218_505_602;

/// The median of `values` (NaNs ignored); `None` when there are none.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// A robust baseline: the median of the references and their MAD.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Baseline {
    pub median: f64,
    /// The raw (unscaled) median absolute deviation.
    pub mad: f64,
    /// How many references it was computed from.
    pub n: usize,
}

impl Baseline {
    /// The baseline of `values` (NaNs ignored); `None` when there are none.
    pub fn of(values: &[f64]) -> Option<Baseline> {
        let m = median(values)?;
        let dev: Vec<f64> = values
            .iter()
            .filter(|x| !x.is_nan())
            .map(|x| (x - m).abs())
            .collect();
        Some(Baseline {
            median: m,
            mad: median(&dev).unwrap_or(0.0),
            n: dev.len(),
        })
    }

    /// The MAD scaled to a normal standard deviation.
    pub fn sigma(&self) -> f64 {
        self.mad * MAD_TO_SIGMA
    }

    /// The robust z-score of `x`: (x − median) / (1.4826·MAD); `None` when the MAD is 0.
    pub fn z(&self, x: f64) -> Option<f64> {
        let s = self.sigma();
        (s > 0.0).then(|| (x - self.median) / s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_mad_by_hand() {
        // odd count: sorted 1 2 3 4 100 → median 3; |x−3| = 2 1 0 1 97 → sorted 0 1 1 2 97 → 1
        let b = Baseline::of(&[3.0, 1.0, 100.0, 2.0, 4.0]).unwrap();
        assert!((b.median - 3.0).abs() < 1e-12 && (b.mad - 1.0).abs() < 1e-12);
        assert_eq!(b.n, 5);
        // even count: 1 2 3 4 → 2.5; deviations 1.5 0.5 0.5 1.5 → 1.0
        let b = Baseline::of(&[4.0, 1.0, 3.0, 2.0]).unwrap();
        assert!((b.median - 2.5).abs() < 1e-12 && (b.mad - 1.0).abs() < 1e-12);
        // z of 10 against median 2.5 and sigma 1.4826: (10 − 2.5)/1.4826 = 5.0587
        assert!((b.z(10.0).unwrap() - 7.5 / MAD_TO_SIGMA).abs() < 1e-9);
        // one reference: MAD 0, no z
        let one = Baseline::of(&[7.0]).unwrap();
        assert!(one.z(8.0).is_none() && (one.median - 7.0).abs() < 1e-12);
        assert!(Baseline::of(&[]).is_none() && Baseline::of(&[f64::NAN]).is_none());
    }
}
