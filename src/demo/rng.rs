//! Deterministic pseudo-random numbers for the demo scenario generator.
//!
//! The demo data must be byte-identical for a given seed on every machine and every
//! version of our dependencies, so the generator does not use an external RNG crate
//! whose streams could change between releases. This module implements:
//!
//! * [`SplitMix64`], used only to expand a 64-bit seed into generator state, and
//!   [`mix64`], its finaliser, used as a stateless hash (e.g. a user's experiment
//!   bucket);
//! * [`Rng`], a xoshiro256\*\* generator with the distributions the scenario needs:
//!   uniform, normal (Marsaglia's polar method), lognormal, exponential, Poisson,
//!   Bernoulli;
//! * [`WeightedIndex`], a precomputed weighted choice over a small set.
//!
//! Each table of the scenario draws from its own [`Rng::stream`], derived from the
//! scenario seed and the table name, so that generating a subset of the tables does
//! not change the records of the others.

/// SplitMix64 (Steele, Lea and Flood): a tiny 64-bit generator used to seed [`Rng`].
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(self.state)
    }
}

/// The SplitMix64 output function: a bijective 64-bit mixer with good avalanche.
///
/// Used as a stateless hash, e.g. `mix64(seed ^ user)` gives a stable pseudo-random
/// number per user that does not depend on how many draws a stream has made.
pub fn mix64(x: u64) -> u64 {
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Maps 64 random bits to a uniform `f64` in `[0, 1)` (53 bits of precision).
pub fn unit_f64(bits: u64) -> f64 {
    (bits >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// The seed of the stream called `name` under the scenario seed `seed`.
///
/// FNV-1a of the name, mixed with the seed, so that streams of different names are
/// unrelated even for neighbouring seeds.
pub fn stream_seed(seed: u64, name: &str) -> u64 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    mix64(seed ^ mix64(h))
}

/// xoshiro256\*\* (Blackman and Vigna) with the distributions the demo scenario needs.
///
/// Not cryptographic. All methods are deterministic functions of the seed and the
/// sequence of calls made before.
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
    /// Second normal deviate of the last polar-method pair, used by the next call.
    spare_normal: Option<f64>,
}

impl Rng {
    /// A generator whose state is expanded from `seed` with [`SplitMix64`].
    pub fn seed_from_u64(seed: u64) -> Self {
        let mut sm = SplitMix64::new(seed);
        let s = [sm.next_u64(), sm.next_u64(), sm.next_u64(), sm.next_u64()];
        // SplitMix64 is a bijection over a counter, so four consecutive outputs are
        // never all zero (the one state xoshiro cannot leave).
        Self {
            s,
            spare_normal: None,
        }
    }

    /// The independent stream called `name` (e.g. a table name) under `seed`.
    pub fn stream(seed: u64, name: &str) -> Self {
        Self::seed_from_u64(stream_seed(seed, name))
    }

    /// The next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in `[0, 1)`.
    #[inline]
    pub fn uniform(&mut self) -> f64 {
        unit_f64(self.next_u64())
    }

    /// Uniform in `[lo, hi)`.
    #[inline]
    pub fn uniform_range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }

    /// Uniform integer in `[0, n)`; `0` when `n == 0`.
    ///
    /// Lemire's multiply-shift without the rejection step: the bias is at most
    /// `n / 2^64`, far below anything the demo data could show.
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform index in `[0, n)`; `0` when `n == 0`.
    #[inline]
    pub fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    /// `true` with probability `p` (clamped to `[0, 1]`).
    #[inline]
    pub fn bernoulli(&mut self, p: f64) -> bool {
        self.uniform() < p
    }

    /// A uniformly chosen element of `items`.
    ///
    /// # Panics
    /// If `items` is empty (the generator only passes non-empty constant tables).
    #[inline]
    pub fn choose<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        assert!(!items.is_empty(), "choose from an empty slice");
        &items[self.index(items.len())]
    }

    /// Standard normal deviate (mean 0, standard deviation 1), Marsaglia's polar method.
    pub fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare_normal.take() {
            return z;
        }
        loop {
            let u = 2.0 * self.uniform() - 1.0;
            let v = 2.0 * self.uniform() - 1.0;
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                let f = (-2.0 * s.ln() / s).sqrt();
                self.spare_normal = Some(v * f);
                return u * f;
            }
        }
    }

    /// Normal deviate with the given mean and standard deviation.
    #[inline]
    pub fn normal_with(&mut self, mean: f64, sd: f64) -> f64 {
        mean + sd * self.normal()
    }

    /// Lognormal deviate with the given median (`exp(mu)`) and log-scale `sigma`.
    #[inline]
    pub fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }

    /// Exponential deviate with the given mean.
    #[inline]
    pub fn exponential(&mut self, mean: f64) -> f64 {
        // 1 - u is in (0, 1], so the logarithm is finite.
        -mean * (1.0 - self.uniform()).ln()
    }

    /// Poisson deviate with the given mean; `0` for a non-positive or non-finite mean.
    ///
    /// Knuth's multiplication method for means below 30; above, the normal
    /// approximation `round(mean + sqrt(mean) * z)`, which is what hourly record
    /// counts need (they are only ever large means).
    pub fn poisson(&mut self, mean: f64) -> u64 {
        if !(mean.is_finite() && mean > 0.0) {
            return 0;
        }
        if mean < 30.0 {
            let limit = (-mean).exp();
            let mut k = 0u64;
            let mut p = self.uniform();
            while p > limit {
                k += 1;
                p *= self.uniform();
            }
            k
        } else {
            let x = (mean + mean.sqrt() * self.normal()).round();
            if x > 0.0 {
                x as u64
            } else {
                0
            }
        }
    }
}

/// A precomputed weighted choice among `weights.len()` options.
#[derive(Debug, Clone)]
pub struct WeightedIndex {
    cumulative: Vec<f64>,
}

impl WeightedIndex {
    /// Builds the choice from non-negative weights (they need not sum to 1).
    ///
    /// # Panics
    /// If `weights` is empty, contains a negative or non-finite weight, or sums to
    /// zero: the generator only builds these from constant tables.
    pub fn new(weights: &[f64]) -> Self {
        assert!(
            !weights.is_empty(),
            "WeightedIndex needs at least one weight"
        );
        let mut total = 0.0;
        let mut cumulative = Vec::with_capacity(weights.len());
        for &w in weights {
            assert!(
                w.is_finite() && w >= 0.0,
                "weight {w} must be finite and >= 0"
            );
            total += w;
            cumulative.push(total);
        }
        assert!(total > 0.0, "weights must not all be zero");
        for c in &mut cumulative {
            *c /= total;
        }
        Self { cumulative }
    }

    /// Number of options.
    pub fn len(&self) -> usize {
        self.cumulative.len()
    }

    /// Always `false`: a `WeightedIndex` has at least one option.
    pub fn is_empty(&self) -> bool {
        self.cumulative.is_empty()
    }

    /// Draws an option index with probability proportional to its weight.
    #[inline]
    pub fn sample(&self, rng: &mut Rng) -> usize {
        let u = rng.uniform();
        // Linear scan: the option sets are small (at most a dozen).
        self.cumulative
            .iter()
            .position(|&c| u < c)
            .unwrap_or(self.cumulative.len() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const N: usize = 100_000;

    fn mean_var(xs: &[f64]) -> (f64, f64) {
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
        (mean, var)
    }

    #[test]
    fn splitmix64_matches_reference_output() {
        // First output of the reference C implementation for seed 0.
        assert_eq!(SplitMix64::new(0).next_u64(), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn same_seed_same_sequence_and_streams_differ() {
        let a: Vec<u64> = {
            let mut r = Rng::seed_from_u64(42);
            (0..100).map(|_| r.next_u64()).collect()
        };
        let b: Vec<u64> = {
            let mut r = Rng::seed_from_u64(42);
            (0..100).map(|_| r.next_u64()).collect()
        };
        assert_eq!(a, b);
        let mut x = Rng::stream(42, "requests");
        let mut y = Rng::stream(42, "metrics");
        let mut z = Rng::stream(43, "requests");
        let (x0, y0, z0) = (x.next_u64(), y.next_u64(), z.next_u64());
        assert_ne!(x0, y0);
        assert_ne!(x0, z0);
    }

    #[test]
    fn uniform_is_in_unit_interval_with_mean_one_half() {
        let mut r = Rng::seed_from_u64(1);
        let xs: Vec<f64> = (0..N).map(|_| r.uniform()).collect();
        assert!(xs.iter().all(|&x| (0.0..1.0).contains(&x)));
        let (mean, var) = mean_var(&xs);
        assert!((mean - 0.5).abs() < 0.005, "mean {mean}");
        assert!((var - 1.0 / 12.0).abs() < 0.002, "var {var}");
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut r = Rng::seed_from_u64(2);
        let mut seen = [0u32; 7];
        for _ in 0..N {
            seen[r.index(7)] += 1;
        }
        for &c in &seen {
            assert!((c as f64 - N as f64 / 7.0).abs() < 600.0, "{seen:?}");
        }
        assert_eq!(r.below(0), 0);
    }

    #[test]
    fn normal_has_mean_zero_and_unit_variance() {
        let mut r = Rng::seed_from_u64(3);
        let xs: Vec<f64> = (0..N).map(|_| r.normal()).collect();
        let (mean, var) = mean_var(&xs);
        // Standard error of the mean is 1/sqrt(100k) ~ 0.0032.
        assert!(mean.abs() < 0.015, "mean {mean}");
        assert!((var - 1.0).abs() < 0.02, "var {var}");
        let within_1sd = xs.iter().filter(|x| x.abs() < 1.0).count() as f64 / N as f64;
        assert!((within_1sd - 0.6827).abs() < 0.01, "{within_1sd}");
    }

    #[test]
    fn lognormal_median_and_exponential_mean() {
        let mut r = Rng::seed_from_u64(4);
        let mut xs: Vec<f64> = (0..N).map(|_| r.lognormal(200.0, 0.5)).collect();
        xs.sort_by(f64::total_cmp);
        let median = xs[N / 2];
        assert!((median / 200.0 - 1.0).abs() < 0.02, "median {median}");
        let ys: Vec<f64> = (0..N).map(|_| r.exponential(40.0)).collect();
        let (mean, _) = mean_var(&ys);
        assert!((mean / 40.0 - 1.0).abs() < 0.02, "mean {mean}");
        assert!(ys.iter().all(|&y| y >= 0.0));
    }

    #[test]
    fn poisson_mean_and_variance_small_and_large() {
        let mut r = Rng::seed_from_u64(5);
        for lambda in [0.3, 4.0, 25.0, 1_000.0] {
            let xs: Vec<f64> = (0..N).map(|_| r.poisson(lambda) as f64).collect();
            let (mean, var) = mean_var(&xs);
            assert!(
                (mean / lambda - 1.0).abs() < 0.02,
                "lambda {lambda}: mean {mean}"
            );
            assert!(
                (var / lambda - 1.0).abs() < 0.05,
                "lambda {lambda}: var {var}"
            );
        }
        assert_eq!(r.poisson(0.0), 0);
        assert_eq!(r.poisson(f64::NAN), 0);
    }

    #[test]
    fn bernoulli_and_weighted_index_frequencies() {
        let mut r = Rng::seed_from_u64(6);
        let hits = (0..N).filter(|_| r.bernoulli(0.3)).count() as f64 / N as f64;
        assert!((hits - 0.3).abs() < 0.01, "{hits}");
        let w = WeightedIndex::new(&[6.0, 3.5, 0.5, 0.0]);
        assert_eq!(w.len(), 4);
        let mut counts = [0usize; 4];
        for _ in 0..N {
            counts[w.sample(&mut r)] += 1;
        }
        let share = |i: usize| counts[i] as f64 / N as f64;
        assert!((share(0) - 0.6).abs() < 0.01, "{counts:?}");
        assert!((share(1) - 0.35).abs() < 0.01, "{counts:?}");
        assert!((share(2) - 0.05).abs() < 0.005, "{counts:?}");
        assert_eq!(counts[3], 0);
    }

    #[test]
    fn mix64_unit_values_are_uniform() {
        let n = N as u64;
        let mean = (0..n).map(|i| unit_f64(mix64(i))).sum::<f64>() / N as f64;
        assert!((mean - 0.5).abs() < 0.005, "{mean}");
    }
}
