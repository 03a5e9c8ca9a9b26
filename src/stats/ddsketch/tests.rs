//! Unit tests of the sketch: the relative-error guarantee on several distributions (a
//! differential test against sorting), merging, serialization, bad bytes and counts above a
//! threshold. The SQL functions are tested in `crate::query::sketch`.

use super::*;
use crate::demo::rng::Rng;

/// The exact value of 0-based rank ⌊q·(n − 1)⌋ of sorted `xs` (numpy `method="lower"`).
fn exact_lower(sorted: &[f64], q: f64) -> f64 {
    sorted[(q * (sorted.len() - 1) as f64).floor() as usize]
}

/// The sketch of `xs`, added one by one (also used by the SQL tests).
pub(crate) fn sketch_of(alpha: f64, xs: &[f64]) -> DDSketch {
    let mut s = DDSketch::new(alpha).unwrap();
    for &x in xs {
        s.add(x);
    }
    s
}

/// Quantile levels: a fine grid plus the tails and every rank of small inputs.
fn levels(n: usize) -> Vec<f64> {
    let mut qs: Vec<f64> = (0..=1000).map(|i| f64::from(i) / 1000.0).collect();
    qs.extend([0.0001, 0.999, 0.9999, 0.99999]);
    if n > 1 && n <= 2000 {
        qs.extend((0..n).map(|r| r as f64 / (n - 1) as f64));
    }
    qs
}

/// Asserts the documented guarantee for every level: |x̂ − x_r| ≤ α·|x_r|, with 10⁻¹² relative
/// slack for floating-point rounding at bucket boundaries and [`MIN_INDEXABLE`] absolute slack
/// for values read back as 0.
fn assert_guarantee(alpha: f64, xs: &[f64], what: &str) {
    let s = sketch_of(alpha, xs);
    let mut sorted: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    assert_eq!(s.count(), sorted.len() as u64, "{what}");
    for q in levels(sorted.len()) {
        let exact = exact_lower(&sorted, q);
        let est = s.quantile(q).unwrap().unwrap();
        let bound = alpha * exact.abs() * (1.0 + 1e-12) + MIN_INDEXABLE;
        assert!(
            (est - exact).abs() <= bound,
            "{what}: q {q}: estimate {est}, exact {exact}, bound {bound}"
        );
    }
}

#[test]
fn guarantee_holds_on_lognormal_uniform_and_normal_data() {
    let mut rng = Rng::seed_from_u64(11);
    let lognormal: Vec<f64> = (0..50_000).map(|_| rng.lognormal(120.0, 0.8)).collect();
    assert_guarantee(0.01, &lognormal, "lognormal");
    // At α = 0.1 % the 2048 buckets cover a ratio max/min of only e^8.2 ≈ 3 600: σ = 0.8 would
    // collapse the lowest values (as documented), σ = 0.3 does not.
    let narrow: Vec<f64> = (0..50_000).map(|_| rng.lognormal(120.0, 0.3)).collect();
    assert_guarantee(0.001, &narrow, "lognormal, alpha 0.1 %");
    assert_guarantee(0.05, &lognormal, "lognormal, alpha 5 %");
    let uniform: Vec<f64> = (0..50_000)
        .map(|_| rng.uniform_range(0.0, 1000.0))
        .collect();
    assert_guarantee(0.01, &uniform, "uniform");
    // Negative values go to the mirrored store; zeros in between.
    let mut normal: Vec<f64> = (0..20_000).map(|_| rng.normal_with(0.0, 100.0)).collect();
    normal.extend([0.0; 500]);
    assert_guarantee(0.01, &normal, "normal with zeros");
}

#[test]
fn guarantee_holds_on_degenerate_inputs() {
    assert_guarantee(0.01, &[42.0; 1000], "constant");
    assert_guarantee(0.01, &[0.0; 1000], "zeros");
    assert_guarantee(0.01, &[7.25], "single value");
    assert_guarantee(0.01, &[-3.5], "single negative value");
    assert_guarantee(0.01, &[0.0, 1e-13, -0.0, 5.0], "below MIN_INDEXABLE");
    assert_guarantee(0.01, &[1.0, 2.0], "two values");
    let with_junk = [1.0, f64::NAN, 2.0, f64::INFINITY, 3.0, f64::NEG_INFINITY];
    assert_guarantee(0.01, &with_junk, "NaN and infinities ignored");
    assert_eq!(sketch_of(0.01, &with_junk).count(), 3);
}

#[test]
fn guarantee_holds_on_huge_range_data_without_collapsing() {
    // 10^-5 .. 10^12: a ratio of 10^17, inside γ^2047 ≈ 6·10^17 for α = 1 %.
    let mut rng = Rng::seed_from_u64(12);
    let xs: Vec<f64> = (0..50_000)
        .map(|_| 10f64.powf(rng.uniform_range(-5.0, 12.0)))
        .collect();
    assert_guarantee(0.01, &xs, "huge range");
    let s = sketch_of(0.01, &xs);
    assert!(s.bucket_count() > 1900 && s.bucket_count() <= MAX_BUCKETS);
    let extremes = [f64::MAX, f64::MIN_POSITIVE * 1e300, 1e-11, 1e300];
    assert!(sketch_of(0.01, &extremes).quantile(0.5).unwrap().is_some());
}

#[test]
fn collapsing_bounds_buckets_and_keeps_the_guarantee_above_the_collapsed_values() {
    // 10^-10 .. 10^10 spans more than 2048 buckets at α = 1 %: the lowest collapse.
    let mut rng = Rng::seed_from_u64(13);
    let xs: Vec<f64> = (0..50_000)
        .map(|_| 10f64.powf(rng.uniform_range(-10.0, 10.0)))
        .collect();
    let s = sketch_of(0.01, &xs);
    assert!(s.bucket_count() <= MAX_BUCKETS);
    assert_eq!(s.positive.counts.len(), MAX_BUCKETS);
    let lowest_kept = s.mapping.value(s.positive.offset) * (1.0 + 0.01);
    let mut sorted = xs.clone();
    sorted.sort_by(f64::total_cmp);
    let mut checked = 0;
    for q in levels(sorted.len()) {
        let exact = exact_lower(&sorted, q);
        if exact > lowest_kept {
            let est = s.quantile(q).unwrap().unwrap();
            assert!((est - exact).abs() <= 0.01 * exact * (1.0 + 1e-12), "q {q}");
            checked += 1;
        }
    }
    assert!(
        checked > 800,
        "only {checked} levels above the collapsed buckets"
    );
    // Collapsing depends only on the values, not their order.
    let mut reversed = xs.clone();
    reversed.reverse();
    assert_eq!(
        without_sum(&sketch_of(0.01, &reversed)),
        without_sum(&s),
        "collapse is order-independent"
    );
}

#[test]
fn quantile_is_monotone_in_q_and_exact_at_the_ends() {
    let mut rng = Rng::seed_from_u64(14);
    let xs: Vec<f64> = (0..10_000).map(|_| rng.lognormal(50.0, 1.5)).collect();
    let s = sketch_of(0.01, &xs);
    let mut previous = f64::NEG_INFINITY;
    for i in 0..=10_000 {
        let x = s.quantile(f64::from(i) / 10_000.0).unwrap().unwrap();
        assert!(x >= previous, "q {}: {x} < {previous}", i as f64 / 1e4);
        previous = x;
    }
    let min = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(s.quantile(0.0).unwrap(), Some(min));
    assert_eq!(s.quantile(1.0).unwrap(), Some(max));
    assert_eq!((s.min(), s.max()), (Some(min), Some(max)));
}

#[test]
fn quantile_rejects_q_outside_the_unit_interval_and_empty_is_none() {
    let s = sketch_of(0.01, &[1.0]);
    for q in [-0.01, 1.01, f64::NAN, f64::INFINITY] {
        assert!(
            matches!(s.quantile(q), Err(SketchError::Quantile(_))),
            "{q}"
        );
    }
    assert_eq!(DDSketch::default().quantile(0.5).unwrap(), None);
    assert_eq!(DDSketch::default().min(), None);
    assert!(DDSketch::new(0.0).is_err() && DDSketch::new(1.0).is_err());
    assert!(DDSketch::new(f64::NAN).is_err());
}

/// The sketch with its sum zeroed: the part that must not depend on merge order (also used by
/// the SQL tests).
pub(crate) fn without_sum(s: &DDSketch) -> Vec<u8> {
    let mut s = s.clone();
    s.sum = 0.0;
    s.to_bytes()
}

#[test]
fn merge_equals_the_sketch_of_the_concatenation() {
    let mut rng = Rng::seed_from_u64(15);
    // Whole milliseconds: the float sum is exact, so even the bytes are equal.
    let whole: Vec<f64> = (0..30_000)
        .map(|_| rng.lognormal(200.0, 1.0).round())
        .collect();
    let (a, b) = whole.split_at(12_345);
    let mut merged = sketch_of(0.01, a);
    merged.merge(&sketch_of(0.01, b)).unwrap();
    assert_eq!(merged.to_bytes(), sketch_of(0.01, &whole).to_bytes());
    let mut other_way = sketch_of(0.01, b);
    other_way.merge(&sketch_of(0.01, a)).unwrap();
    assert_eq!(other_way.to_bytes(), merged.to_bytes());

    // 24 "hours" of fractional lognormal values with negatives: everything but the sum's last
    // bits is equal, in any merge order.
    let xs: Vec<f64> = (0..48_000)
        .map(|i| {
            let x = rng.lognormal(80.0, 1.2);
            if i % 97 == 0 {
                -x
            } else {
                x
            }
        })
        .collect();
    let hours: Vec<DDSketch> = xs.chunks(2_000).map(|c| sketch_of(0.01, c)).collect();
    let whole = sketch_of(0.01, &xs);
    let mut forward = DDSketch::default();
    for h in &hours {
        forward.merge(h).unwrap();
    }
    let mut backward = DDSketch::default();
    for h in hours.iter().rev() {
        backward.merge(h).unwrap();
    }
    assert_eq!(without_sum(&forward), without_sum(&whole));
    assert_eq!(without_sum(&backward), without_sum(&whole));
    assert!((forward.sum() - whole.sum()).abs() <= 1e-9 * whole.sum().abs());
    // Merging an empty sketch changes nothing.
    let before = forward.to_bytes();
    forward.merge(&DDSketch::default()).unwrap();
    assert_eq!(forward.to_bytes(), before);
}

#[test]
fn extend_sorted_equals_adding_one_by_one() {
    let mut rng = Rng::seed_from_u64(16);
    for alpha in [0.01, 0.001, 1e-6] {
        // Lognormal values with repeats on bucket edges, zeros, negatives and whole numbers.
        let mut xs: Vec<f64> = (0..40_000)
            .map(|i| match i % 50 {
                0 => 0.0,
                1 => -rng.lognormal(30.0, 1.0),
                2 => rng.lognormal(100.0, 1.0).round(),
                _ => rng.lognormal(100.0, 1.5),
            })
            .collect();
        let m = Mapping::new(alpha).unwrap();
        for k in [100, 250, 400] {
            // Exactly at, and one ulp either side of, bucket boundaries γ^k.
            let edge = (f64::from(k) * m.ln_gamma).exp();
            xs.extend([
                edge,
                f64::from_bits(edge.to_bits() - 1),
                f64::from_bits(edge.to_bits() + 1),
            ]);
        }
        xs.sort_by(f64::total_cmp);
        let mut sorted = DDSketch::new(alpha).unwrap();
        sorted.extend_sorted(&xs);
        let one_by_one = sketch_of(alpha, &xs);
        assert_eq!(
            without_sum(&sorted),
            without_sum(&one_by_one),
            "alpha {alpha}"
        );
        assert!((sorted.sum() - one_by_one.sum()).abs() <= 1e-9 * one_by_one.sum().abs());
    }
}

#[test]
fn merge_refuses_counts_that_would_overflow() {
    // A valid encoding of u64::MAX zeros: decodes, but two of them cannot be merged.
    let mut bytes = vec![FORMAT_VERSION];
    bytes.extend_from_slice(&DEFAULT_ALPHA.to_le_bytes());
    put_varint(&mut bytes, u64::MAX);
    put_varint(&mut bytes, u64::MAX);
    for x in [0.0f64, 0.0, 0.0] {
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    bytes.extend([0, 0]);
    let mut a = DDSketch::from_bytes(&bytes).unwrap();
    assert_eq!(a.quantile(0.5).unwrap(), Some(0.0));
    let b = a.clone();
    assert!(matches!(a.merge(&b), Err(SketchError::CountOverflow(..))));
    assert_eq!(a, b, "a refused merge changes nothing");
}

#[test]
fn merge_refuses_a_different_alpha() {
    let mut a = sketch_of(0.01, &[1.0]);
    let b = sketch_of(0.02, &[1.0]);
    assert_eq!(a.merge(&b), Err(SketchError::AlphaMismatch(0.01, 0.02)));
}

#[test]
fn serialization_round_trips_and_is_compact() {
    let mut rng = Rng::seed_from_u64(16);
    let mut xs: Vec<f64> = (0..20_000).map(|_| rng.lognormal(300.0, 0.6)).collect();
    xs.extend([0.0, -1.5, -2000.0]);
    for s in [
        DDSketch::default(),
        sketch_of(0.01, &[0.0]),
        sketch_of(0.01, &[-1.0]),
        sketch_of(0.001, &xs),
        sketch_of(0.01, &xs),
    ] {
        let bytes = s.to_bytes();
        let back = DDSketch::from_bytes(&bytes).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.to_bytes(), bytes);
    }
    let bytes = sketch_of(0.01, &xs).to_bytes();
    // ~130 buckets for σ = 0.6 at α = 1 %, about 3 bytes each.
    assert!(bytes.len() < 600, "{} bytes", bytes.len());
}

#[test]
fn bad_bytes_give_errors_not_panics() {
    let good = sketch_of(0.01, &[0.0, 1.0, 2.0, 300.0, -4.0]).to_bytes();
    let err = |b: &[u8]| match DDSketch::from_bytes(b) {
        Err(SketchError::Decode(m)) => m,
        other => panic!("{b:?} decoded: {other:?}"),
    };
    assert!(err(&[]).contains("truncated"));
    for n in 0..good.len() {
        err(&good[..n]);
    }
    let mut trailing = good.clone();
    trailing.push(0);
    assert!(err(&trailing).contains("trailing"));
    let mut version = good.clone();
    version[0] = 9;
    assert!(err(&version).contains("version 9"));
    let mut alpha = good.clone();
    alpha[1..9].copy_from_slice(&2.0f64.to_le_bytes());
    assert!(err(&alpha).contains("relative accuracy 2"));
    let mut count = good.clone();
    count[9] += 1;
    assert!(err(&count).contains("count"));
    // An 11-byte varint overflows.
    let mut long = good[..9].to_vec();
    long.extend([0xff; 11]);
    assert!(err(&long).contains("overflows"));
    // A bucket span wider than MAX_BUCKETS would let bytes allocate unbounded memory.
    let mut wide = DDSketch::default().to_bytes();
    wide[9] = 2; // count
    let mut tail = vec![2u8, 0, 1]; // 2 positive buckets, first index 0, count 1
    put_varint(&mut tail, 5000); // next index 5000
    tail.extend([1, 0]); // count 1, no negative buckets
    wide.splice(wide.len() - 2.., tail);
    wide[10 + 8..10 + 16].copy_from_slice(&1.0f64.to_le_bytes()); // max
    wide[10..10 + 8].copy_from_slice(&1.0f64.to_le_bytes()); // min
    wide[10 + 16..10 + 24].copy_from_slice(&2.0f64.to_le_bytes()); // sum
    assert!(err(&wide).contains("span"), "{}", err(&wide));

    // Random bytes and random single-byte corruptions never panic.
    let mut rng = Rng::seed_from_u64(17);
    for _ in 0..20_000 {
        let n = rng.index(80);
        let bytes: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
        let _ = DDSketch::from_bytes(&bytes);
        let mut flipped = good.clone();
        let i = rng.index(flipped.len());
        flipped[i] ^= 1 << rng.index(8);
        if let Ok(s) = DDSketch::from_bytes(&flipped) {
            // Whatever decodes is a usable sketch.
            let _ = s.quantile(0.5).unwrap();
        }
    }
}

#[test]
fn count_above_is_exact_away_from_the_threshold_and_bounded_near_it() {
    let mut rng = Rng::seed_from_u64(9);
    let mut xs: Vec<f64> = (0..5000).map(|_| rng.lognormal(120.0, 0.8)).collect();
    xs.sort_by(f64::total_cmp);
    let s = sketch_of(0.01, &xs);
    for &t in &[
        xs[0] * 0.5,
        xs[100],
        xs[2500],
        xs[4900],
        xs[4999],
        xs[4999] * 2.0,
    ] {
        let exact = xs.iter().filter(|&&x| x > t).count() as u64;
        // Values more than 2α away from t (relatively) are always on the right side.
        let sure_above = xs.iter().filter(|&&x| x > t * 1.02 + 1e-12).count() as u64;
        let maybe_above = xs.iter().filter(|&&x| x > t / 1.02 - 1e-12).count() as u64;
        let got = s.count_above(t);
        assert!(
            (sure_above..=maybe_above).contains(&got),
            "t = {t}: got {got}, exact {exact}, bounds {sure_above}..={maybe_above}"
        );
    }
    assert_eq!(s.count_above(f64::NAN), 0);
}
