//! Sufficient statistics that add up: per arm and hour, then summed over any window.
//!
//! [`Moments`] keeps `n`, the mean and the sum of squared deviations (Welford/Chan form) rather
//! than raw Σx²: merging is exact in exact arithmetic and does not cancel catastrophically when
//! the mean is large next to the spread. [`CoMoments`] does the same for pairs `(x, y)` (ratio
//! metrics need Σxy through the covariance). Both can be built from the plain sums SQL returns
//! (n, Σx, Σx², Σxy).
//!
//! Merging follows Chan, Golub and LeVeque (1979), "Updating formulae and a pairwise algorithm
//! for computing sample variances".

use serde::Serialize;

/// Count, mean and sum of squared deviations of a sample.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Moments {
    pub n: u64,
    pub mean: f64,
    /// Σ (x − mean)².
    pub m2: f64,
}

impl Moments {
    /// Two-pass moments of a slice (the accurate way for raw samples).
    pub fn of(xs: &[f64]) -> Moments {
        let n = xs.len();
        if n == 0 {
            return Moments::default();
        }
        let mean = xs.iter().sum::<f64>() / n as f64;
        // Second pass, with the compensation term of the corrected two-pass algorithm.
        let (mut m2, mut comp) = (0.0, 0.0);
        for x in xs {
            let d = x - mean;
            m2 += d * d;
            comp += d;
        }
        m2 -= comp * comp / n as f64;
        Moments {
            n: n as u64,
            mean,
            m2: m2.max(0.0),
        }
    }

    /// From plain sums: `n`, Σx and Σx².
    pub fn from_sums(n: u64, sum: f64, sum_sq: f64) -> Moments {
        if n == 0 {
            return Moments::default();
        }
        let mean = sum / n as f64;
        Moments {
            n,
            mean,
            m2: (sum_sq - sum * mean).max(0.0),
        }
    }

    /// The moments of the union of two samples.
    pub fn merge(&self, other: &Moments) -> Moments {
        if self.n == 0 {
            return *other;
        }
        if other.n == 0 {
            return *self;
        }
        let n = self.n + other.n;
        let (na, nb, nn) = (self.n as f64, other.n as f64, n as f64);
        let delta = other.mean - self.mean;
        Moments {
            n,
            mean: self.mean + delta * nb / nn,
            m2: self.m2 + other.m2 + delta * delta * na * nb / nn,
        }
    }

    /// Sample variance (n − 1 denominator); NaN below two observations.
    pub fn variance(&self) -> f64 {
        if self.n < 2 {
            f64::NAN
        } else {
            self.m2 / (self.n - 1) as f64
        }
    }

    /// Sample standard deviation.
    pub fn sd(&self) -> f64 {
        self.variance().sqrt()
    }

    /// Σx.
    pub fn sum(&self) -> f64 {
        self.mean * self.n as f64
    }
}

/// Count, means, and (co-)sums of squared deviations of paired observations `(x, y)`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct CoMoments {
    pub n: u64,
    pub mean_x: f64,
    pub mean_y: f64,
    /// Σ (x − x̄)².
    pub cxx: f64,
    /// Σ (y − ȳ)².
    pub cyy: f64,
    /// Σ (x − x̄)(y − ȳ).
    pub cxy: f64,
}

impl CoMoments {
    /// Two-pass co-moments of paired slices (same length).
    pub fn of(xs: &[f64], ys: &[f64]) -> CoMoments {
        let n = xs.len().min(ys.len());
        if n == 0 {
            return CoMoments::default();
        }
        let nf = n as f64;
        let mx = xs[..n].iter().sum::<f64>() / nf;
        let my = ys[..n].iter().sum::<f64>() / nf;
        let (mut cxx, mut cyy, mut cxy) = (0.0, 0.0, 0.0);
        for (x, y) in xs[..n].iter().zip(&ys[..n]) {
            let (dx, dy) = (x - mx, y - my);
            cxx += dx * dx;
            cyy += dy * dy;
            cxy += dx * dy;
        }
        CoMoments {
            n: n as u64,
            mean_x: mx,
            mean_y: my,
            cxx,
            cyy,
            cxy,
        }
    }

    /// From plain sums: n, Σx, Σy, Σx², Σy², Σxy.
    pub fn from_sums(n: u64, sx: f64, sy: f64, sxx: f64, syy: f64, sxy: f64) -> CoMoments {
        if n == 0 {
            return CoMoments::default();
        }
        let nf = n as f64;
        let (mx, my) = (sx / nf, sy / nf);
        CoMoments {
            n,
            mean_x: mx,
            mean_y: my,
            cxx: (sxx - sx * mx).max(0.0),
            cyy: (syy - sy * my).max(0.0),
            cxy: sxy - sx * my,
        }
    }

    /// The co-moments of the union of two samples.
    pub fn merge(&self, o: &CoMoments) -> CoMoments {
        if self.n == 0 {
            return *o;
        }
        if o.n == 0 {
            return *self;
        }
        let n = self.n + o.n;
        let (na, nb, nn) = (self.n as f64, o.n as f64, n as f64);
        let (dx, dy) = (o.mean_x - self.mean_x, o.mean_y - self.mean_y);
        let w = na * nb / nn;
        CoMoments {
            n,
            mean_x: self.mean_x + dx * nb / nn,
            mean_y: self.mean_y + dy * nb / nn,
            cxx: self.cxx + o.cxx + dx * dx * w,
            cyy: self.cyy + o.cyy + dy * dy * w,
            cxy: self.cxy + o.cxy + dx * dy * w,
        }
    }

    /// The moments of x alone.
    pub fn x(&self) -> Moments {
        Moments {
            n: self.n,
            mean: self.mean_x,
            m2: self.cxx,
        }
    }

    /// The moments of y alone.
    pub fn y(&self) -> Moments {
        Moments {
            n: self.n,
            mean: self.mean_y,
            m2: self.cyy,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_hours_equals_the_whole_window() {
        let xs: Vec<f64> = (0..100).map(|i| 1e6 + (i * 37 % 11) as f64).collect();
        let ys: Vec<f64> = (0..100).map(|i| (i * 13 % 7) as f64).collect();
        let whole = Moments::of(&xs);
        let merged = Moments::of(&xs[..30]).merge(&Moments::of(&xs[30..]));
        assert_eq!(whole.n, merged.n);
        assert!((whole.mean - merged.mean).abs() < 1e-9);
        assert!((whole.m2 - merged.m2).abs() < 1e-6 * whole.m2);
        let c = CoMoments::of(&xs, &ys);
        let cm = CoMoments::of(&xs[..41], &ys[..41]).merge(&CoMoments::of(&xs[41..], &ys[41..]));
        assert!((c.cxy - cm.cxy).abs() < 1e-6 * c.cxy.abs().max(1.0));
        assert!((c.cyy - cm.cyy).abs() < 1e-9 * c.cyy);
        let sums = CoMoments::from_sums(
            100,
            ys.iter().sum(),
            ys.iter().sum(),
            ys.iter().map(|y| y * y).sum(),
            ys.iter().map(|y| y * y).sum(),
            ys.iter().map(|y| y * y).sum(),
        );
        assert!((sums.cxy - CoMoments::of(&ys, &ys).cxy).abs() < 1e-9);
    }
}
