//! Property tests of the statistics (STYLE.md 20): p-values in [0, 1]; swapping the arms
//! mirrors effects and intervals and keeps p-values; `significant` exactly when the interval
//! excludes zero; the confidence sequence is never narrower than the fixed interval. Datasets
//! come from a seeded generator (no proptest dependency), 200 per property, with unequal sizes,
//! scales and variances.
//!
//! A test that fails on a dataset it is defined for fails the property (it used to skip the
//! dataset silently); where a dataset is legitimately out of a test's reach, the test must say
//! so with an error, and enough datasets must remain for the property to mean something.

use super::multiple::{benjamini_hochberg, holm};
use super::rank::mann_whitney;
use super::sequential::normal_mixture;
use super::srm::chi_square_gof;
use super::*;
use crate::demo::rng::Rng;

const CASES: u64 = 200;

fn sample(rng: &mut Rng, n: usize, mean: f64, sd: f64) -> Vec<f64> {
    (0..n).map(|_| rng.normal_with(mean, sd)).collect()
}

fn size(rng: &mut Rng) -> usize {
    // Tiny to large, log-uniform.
    (2.0 * 10f64.powf(rng.uniform_range(0.0, 3.5))) as usize
}

fn mirrored(a: &Comparison, b: &Comparison) {
    let tol = |x: f64| 1e-9 * x.abs().max(1e-12);
    assert!((a.effect + b.effect).abs() <= tol(a.effect), "{a:?} {b:?}");
    assert!((a.ci.low + b.ci.high).abs() <= tol(a.ci.low));
    assert!((a.ci.high + b.ci.low).abs() <= tol(a.ci.high));
    assert!((a.p_value - b.p_value).abs() <= 1e-12 * a.p_value.max(1e-300));
    assert_eq!(a.significant(), b.significant());
}

/// Both orders of a two-sample test on data it is defined for: an error is a failure, named.
fn both_ok(
    what: &str,
    ab: Result<Comparison, StatsError>,
    ba: Result<Comparison, StatsError>,
) -> (Comparison, Comparison) {
    match (ab, ba) {
        (Ok(ab), Ok(ba)) => (ab, ba),
        (ab, ba) => panic!(
            "{what} failed: A vs B: {:?}; B vs A: {:?}",
            ab.err(),
            ba.err()
        ),
    }
}

fn sound(c: &Comparison) {
    assert!((0.0..=1.0).contains(&c.p_value), "{c:?}");
    assert_eq!(c.significant(), !(c.ci.low <= 0.0 && 0.0 <= c.ci.high));
    assert!(c.ci.low <= c.effect && c.effect <= c.ci.high);
    if c.se == 0.0 {
        return;
    }
    let cs = normal_mixture(c.effect, c.se, c.alpha, c.se * 3.0);
    if c.df.is_none() {
        // Never narrower than the fixed-horizon z interval (a t interval with few degrees of
        // freedom can be wider).
        assert!(cs.interval.low <= c.ci.low && cs.interval.high >= c.ci.high);
    }
    assert!((0.0..=1.0).contains(&cs.p_value));
    assert_eq!(cs.p_value < c.alpha, cs.interval.excludes_zero(), "{cs:?}");
}

#[test]
fn welch_properties() {
    let mut rng = Rng::seed_from_u64(1);
    for _ in 0..CASES {
        let (na, nb) = (size(&mut rng), size(&mut rng));
        let (sa, sb) = (rng.uniform_range(0.1, 5.0), rng.uniform_range(0.1, 5.0));
        let shift = rng.uniform_range(-2.0, 2.0);
        let a = sample(&mut rng, na, 10.0, sa);
        let b = sample(&mut rng, nb, 10.0 + shift, sb);
        let (ma, mb) = (Moments::of(&a), Moments::of(&b));
        let ab = welch(&ma, &mb, 0.05).expect("welch");
        let ba = welch(&mb, &ma, 0.05).expect("welch");
        sound(&ab);
        mirrored(&ab, &ba);
        // The p-value and the interval agree (same SE and distribution).
        assert_eq!(ab.p_value < 0.05, ab.significant(), "{ab:?}");
    }
}

#[test]
fn two_proportion_properties() {
    let mut rng = Rng::seed_from_u64(2);
    for i in 0..CASES {
        let (na, nb) = (size(&mut rng) as u64, size(&mut rng) as u64);
        let (pa, pb) = if i % 10 == 0 {
            (0.0, 0.0)
        } else {
            (rng.uniform(), rng.uniform())
        };
        let xa = (0..na).filter(|_| rng.bernoulli(pa)).count() as u64;
        let xb = (0..nb).filter(|_| rng.bernoulli(pb)).count() as u64;
        let ab = two_proportion(xa, na, xb, nb, 0.05).expect("z");
        let ba = two_proportion(xb, nb, xa, na, 0.05).expect("z");
        sound(&ab);
        mirrored(&ab, &ba);
    }
}

#[test]
fn ratio_and_quantile_properties() {
    let mut rng = Rng::seed_from_u64(3);
    let mut clustered_checked = 0;
    for _ in 0..CASES {
        let arm = |rng: &mut Rng, n: usize, rate: f64| {
            let ys: Vec<f64> = (0..n).map(|_| 1.0 + rng.poisson(4.0) as f64).collect();
            let xs: Vec<f64> = ys
                .iter()
                .map(|y| (0..*y as u64).filter(|_| rng.bernoulli(rate)).count() as f64)
                .collect();
            CoMoments::of(&xs, &ys)
        };
        let (na, nb) = (size(&mut rng).max(3), size(&mut rng).max(3));
        let (a, b) = (arm(&mut rng, na, 0.3), arm(&mut rng, nb, 0.35));
        // At least 3 users an arm, each with a positive denominator (and, at these rates, varying
        // numerators): defined.
        let (ab, ba) = both_ok(
            &format!("ratio_delta, arms of {na} and {nb} users"),
            ratio_delta(&a, &b, 0.05),
            ratio_delta(&b, &a, 0.05),
        );
        sound(&ab);
        mirrored(&ab, &ba);
        let xa: Vec<f64> = (0..na).map(|_| rng.lognormal(100.0, 0.5)).collect();
        let xb: Vec<f64> = (0..nb).map(|_| rng.lognormal(110.0, 0.5)).collect();
        for q in [0.5, 0.95] {
            // At least 3 distinct values an arm: the order-statistic interval has a width.
            let (ab, ba) = both_ok(
                &format!("quantile_test q={q}, arms of {na} and {nb}"),
                quantile_test(&xa, &xb, q, 0.05),
                quantile_test(&xb, &xa, q, 0.05),
            );
            sound(&ab);
            mirrored(&ab, &ba);
        }
        // Clustered: a few observations per user; swapping arms mirrors the effect.
        let ca: Vec<(f64, u64)> = xa
            .iter()
            .enumerate()
            .map(|(i, x)| (*x, i as u64 / 3))
            .collect();
        let cb: Vec<(f64, u64)> = xb
            .iter()
            .enumerate()
            .map(|(i, x)| (*x, i as u64 / 3))
            .collect();
        let (ab, ba) = (
            clustered_quantile_test(&ca, &cb, 0.95, 0.05),
            clustered_quantile_test(&cb, &ca, 0.95, 0.05),
        );
        if na.min(nb) > 3 {
            let (ab, ba) = both_ok(
                &format!("clustered_quantile_test, arms of {na} and {nb}"),
                ab,
                ba,
            );
            sound(&ab);
            mirrored(&ab, &ba);
            clustered_checked += 1;
        } else {
            // 3 observations or fewer: one cluster in an arm, whose cluster-robust standard
            // error is undefined; the test must refuse, not return a number.
            assert!(
                ab.is_err() && ba.is_err(),
                "clustered_quantile_test with one cluster in an arm ({na} and {nb} values): \
                 {ab:?} / {ba:?}"
            );
        }
        let mw = mann_whitney(&xa, &xb).expect("mw");
        let wm = mann_whitney(&xb, &xa).expect("mw");
        assert!((0.0..=1.0).contains(&mw.p_value));
        assert!((mw.p_value - wm.p_value).abs() < 1e-12);
        assert!((mw.prob_greater + wm.prob_greater - 1.0).abs() < 1e-12);
    }
    // Arms of at most 3 values come up about one time in five (163 of 200 datasets checked):
    // most datasets must remain for the clustered test's properties to be checked at all.
    assert!(
        clustered_checked >= CASES * 3 / 4,
        "the clustered quantile test was checked on only {clustered_checked} of {CASES} datasets"
    );
}

#[test]
fn adjustments_and_srm_properties() {
    let mut rng = Rng::seed_from_u64(4);
    for _ in 0..CASES {
        let m = 1 + rng.index(12);
        let p: Vec<f64> = (0..m).map(|_| rng.uniform().powi(3)).collect();
        for adj in [benjamini_hochberg(&p), holm(&p)] {
            for (raw, a) in p.iter().zip(&adj) {
                assert!(*a >= *raw * (1.0 - 1e-15) && *a <= 1.0, "{p:?} {adj:?}");
            }
            // Monotone: a smaller raw p never gets a larger adjusted p.
            for i in 0..m {
                for j in 0..m {
                    if p[i] < p[j] {
                        assert!(adj[i] <= adj[j]);
                    }
                }
            }
        }
        let counts: Vec<u64> = (0..2 + rng.index(3)).map(|_| rng.below(5_000)).collect();
        if counts.iter().sum::<u64>() > 0 {
            let shares = vec![1.0; counts.len()];
            let g = chi_square_gof(&counts, &shares).expect("gof");
            assert!((0.0..=1.0).contains(&g.p_value));
        }
    }
}
