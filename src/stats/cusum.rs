//! Sequential change detection on a rate: "has the share of bad trials risen above a threshold,
//! recently?", decided on counts as they arrive — Prometheus's `for:` done statistically. A large
//! breach is flagged within a handful of trials, a marginal one after enough of them.
//!
//! For a threshold T and a margin ρ > 1, the in-control rate is p₀ = T/ρ. Over a recent span of
//! n trials with k bad ones (p̂ = k/n), the log-likelihood ratio of "the rate since the span began
//! is p̂" against "it is p₀" is
//!
//! ```text
//! Λ(span) = n · KL(p̂ ‖ p₀),   KL(p ‖ q) = p·ln(p/q) + (1−p)·ln((1−p)/(1−q))
//! ```
//!
//! and the statistic is the largest Λ over the spans ending now that hold at least `min_n`
//! trials and whose rate is at least T:
//!
//! ```text
//! G = max { n·KL(p̂ ‖ p₀) : span ends now, starts within the horizon, n ≥ min_n, p̂ ≥ T }
//! ```
//!
//! An alarm is raised when G ≥ h. This is the generalised-likelihood-ratio CUSUM of Lorden (1971,
//! "Procedures for reacting to a change in distribution", Ann. Math. Statist. 42) and Siegmund &
//! Venkatraman (1995, Ann. Statist. 23) for a Bernoulli rate, with the post-change rate estimated
//! instead of fixed, so one test reacts fast to a 6 % breach at 100 requests a second and to 9
//! errors in 75 requests of a quiet service. The span that attains the maximum is the estimate of
//! when the change began (its *onset*).
//!
//! Properties used by the alert rules, and checked by the tests below:
//!
//! * Nothing fires while the observed rate of every recent span is below T: the rule fires at its
//!   threshold and not below it, whatever the noise. Between p₀ = T/ρ and T a sustained rate can
//!   still fire, through a span whose rate fluctuates above T; the hysteresis of the rules keeps
//!   such an alert from flapping.
//! * Detection: a step to rate p > T is flagged after about h / KL(p ‖ p₀) trials — with
//!   h = ln 10⁶, 1 540 trials (15 s at 100 requests per second) for 6 % against a 5 % band, 32
//!   for 30 % (computed, not measured: `scripts/bench-alerts.sh` measures the whole path); 4 errors in the first 20 requests of a service that fails outright.
//! * False alarms, measured by simulation (`false_alarms_are_rare_at_the_healthy_rate`): with the
//!   defaults (h = ln 10⁶, ρ = 1.5, the engine's 71 span starts over an hour) no alarm in 5·10⁶
//!   trials at T/2 at 100 requests a second, nor in 2·10⁵ trials of a quiet service at 0.5 %
//!   against a 1 % band. Spans of few trials are where a false alarm would come from; that is what
//!   `min_n` (the rules' `min_requests`) bounds: with h = ln 10⁴ instead, the quiet service does
//!   raise a false alarm within 1.2·10⁵ trials (4 errors in 20 requests at 0.5 %), which is why
//!   the default is ln 10⁶.
//!
//! Spans start at the boundaries of the caller's buckets (steps, then coarser buckets further
//! back), so G is evaluated over at most a few dozen candidate starts.

/// KL(p ‖ q) of two Bernoulli rates, in nats (0·ln 0 = 0).
pub fn bernoulli_kl(p: f64, q: f64) -> f64 {
    let term = |x: f64, y: f64| if x <= 0.0 { 0.0 } else { x * (x / y).ln() };
    term(p, q) + term(1.0 - p, 1.0 - q)
}

/// The test of one band: threshold T, in-control rate T/ρ, alarm level h.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateTest {
    pub threshold: f64,
    pub p0: f64,
    pub h: f64,
    pub min_n: u64,
}

/// The statistic G and the span that attains it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    pub statistic: f64,
    /// The index (in the caller's order, newest first) of the bucket the span starts at.
    pub start: usize,
    pub n: u64,
    pub bad: u64,
}

/// Why a test cannot be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RateTestError {
    #[error("a threshold must be a share in (0, 1), got {0}")]
    Threshold(f64),
    #[error("the margin ρ must be a finite number above 1, got {0}")]
    Margin(f64),
    #[error("the alarm level h must be positive and finite, got {0}")]
    Level(f64),
}

impl RateTest {
    /// The test of "rate ≥ `threshold`" against the in-control rate `threshold`/`margin`.
    pub fn new(threshold: f64, margin: f64, h: f64, min_n: u64) -> Result<RateTest, RateTestError> {
        if !(threshold > 0.0 && threshold < 1.0) {
            return Err(RateTestError::Threshold(threshold));
        }
        if !(margin > 1.0 && margin.is_finite()) {
            return Err(RateTestError::Margin(margin));
        }
        if !(h > 0.0 && h.is_finite()) {
            return Err(RateTestError::Level(h));
        }
        Ok(RateTest {
            threshold,
            p0: threshold / margin,
            h,
            min_n: min_n.max(1),
        })
    }

    /// G over the spans that start at each bucket of `buckets` — `(trials, bad)` per bucket,
    /// newest first — and end now; `None` when no span qualifies (too few trials, or a rate
    /// below T everywhere).
    pub fn detect(&self, buckets: impl IntoIterator<Item = (u64, u64)>) -> Option<Detection> {
        let (mut n, mut bad) = (0u64, 0u64);
        let mut best: Option<Detection> = None;
        for (i, (bn, bb)) in buckets.into_iter().enumerate() {
            n += bn;
            bad += bb.min(bn);
            if bn == 0 || n < self.min_n {
                continue;
            }
            let rate = bad as f64 / n as f64;
            if rate < self.threshold {
                continue;
            }
            let g = n as f64 * bernoulli_kl(rate, self.p0);
            if best.is_none_or(|b| g > b.statistic) {
                best = Some(Detection {
                    statistic: g,
                    start: i,
                    n,
                    bad,
                });
            }
        }
        best
    }

    /// Whether `d` is an alarm (G ≥ h).
    pub fn alarms(&self, d: Option<&Detection>) -> bool {
        d.is_some_and(|d| d.statistic >= self.h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::rng::Rng;

    /// Trials until the first alarm at rate `p`, in buckets of `per` trials, with a horizon of
    /// `horizon` buckets (capped at `max` buckets); `None` when none.
    fn run_length(
        t: &RateTest,
        rng: &mut Rng,
        p: f64,
        per: u64,
        horizon: usize,
        max: u64,
    ) -> Option<u64> {
        let mut buckets: std::collections::VecDeque<(u64, u64)> = Default::default();
        for b in 1..=max {
            let bad = (0..per).filter(|_| rng.uniform_range(0.0, 1.0) < p).count() as u64;
            buckets.push_front((per, bad));
            buckets.truncate(horizon);
            if t.alarms(t.detect(buckets.iter().copied()).as_ref()) {
                return Some(b * per);
            }
        }
        None
    }

    #[test]
    fn kl_matches_hand_computed_values() {
        // KL(0.06 ‖ 0.05/1.5) = 0.06·ln(1.8) + 0.94·ln(0.94/0.966667) = 0.035267 − 0.026294
        // = 0.0089718 (Python's math.log); KL(p ‖ p) = 0; KL(1 ‖ q) = −ln q.
        assert!((bernoulli_kl(0.06, 0.05 / 1.5) - 0.0089718).abs() < 1e-6);
        assert!(bernoulli_kl(0.2, 0.2).abs() < 1e-15);
        assert!((bernoulli_kl(1.0, 0.1) - 10f64.ln()).abs() < 1e-12);
        assert!((bernoulli_kl(0.0, 0.1) - (1.0f64 / 0.9).ln()).abs() < 1e-12);
    }

    #[test]
    fn the_statistic_is_the_best_span_at_or_above_the_threshold() {
        let t = RateTest::new(0.05, 1.5, 1e4f64.ln(), 20).unwrap();
        // newest first: 10 bad of 20, then 0 of 100, then 2 of 10
        let d = t.detect([(20, 10), (100, 0), (10, 2)]).unwrap();
        // the newest bucket alone: 20·KL(0.5 ‖ 1/30) = 20·(0.5·ln 15 + 0.5·ln(0.5/0.966667))
        // = 20.48805
        assert_eq!((d.start, d.n, d.bad), (0, 20, 10));
        assert!((d.statistic - 20.48805).abs() < 1e-4, "{d:?}");
        assert!(t.alarms(Some(&d)));
        // below the threshold everywhere: nothing, however much data
        assert!(t.detect([(1000, 49), (1000, 49)]).is_none());
        // too few trials: nothing, however bad
        assert!(t.detect([(3, 3), (10, 0)]).is_none_or(|d| d.n >= 20));
        assert!(t.detect([(3, 3)]).is_none());
    }

    #[test]
    fn false_alarms_are_rare_at_the_healthy_rate() {
        // The alert engine's spans: 12 steps of 5 s, then 59 one-minute buckets (71 starts).
        // 5·10⁶ trials at T/2 (2.5 % against a 5 % band) in steps of 500 (100 req/s): no alarm.
        let t = RateTest::new(0.05, 1.5, 1e6f64.ln(), 20).unwrap();
        let mut rng = Rng::seed_from_u64(14);
        assert_eq!(run_length(&t, &mut rng, 0.025, 500, 71, 10_000), None);
        // A quiet service (one request a step) at the demo's healthy 0.5 %: 2·10⁵ trials, none
        // against the 1 % band either.
        let p2 = RateTest::new(0.01, 1.5, 1e6f64.ln(), 20).unwrap();
        assert_eq!(run_length(&p2, &mut rng, 0.005, 1, 71, 200_000), None);
    }

    #[test]
    fn detection_takes_about_h_over_the_divergence() {
        // 6 % against a 5 % band: h / KL(0.06 ‖ 1/30) = 13.8155 / 0.0089718 = 1 540 trials
        // expected; 50 seeded runs in buckets of 100 — the median within [800, 3 000].
        let t = RateTest::new(0.05, 1.5, 1e6f64.ln(), 20).unwrap();
        let mut rng = Rng::seed_from_u64(7);
        let mut runs: Vec<u64> = (0..50)
            .map(|_| run_length(&t, &mut rng, 0.06, 100, 720, 1_000).unwrap_or(u64::MAX))
            .collect();
        runs.sort_unstable();
        let median = runs[25];
        assert!((800..=3_000).contains(&median), "median {median}: {runs:?}");
        // A large breach in a quiet service: 30 % in buckets of 5 (one request a second) is
        // seen within 200 trials (h / KL(0.3 ‖ 1/30) = 13.8155 / 0.43323 = 32 expected, Python's math.log).
        let fast = run_length(&t, &mut rng, 0.3, 5, 720, 10_000).unwrap();
        assert!(fast <= 200, "{fast}");
    }

    #[test]
    fn bad_parameters_are_refused() {
        assert!(matches!(
            RateTest::new(0.0, 1.5, 9.0, 1),
            Err(RateTestError::Threshold(_))
        ));
        assert!(matches!(
            RateTest::new(0.05, 1.0, 9.0, 1),
            Err(RateTestError::Margin(_))
        ));
        assert!(matches!(
            RateTest::new(0.05, 1.5, f64::NAN, 1),
            Err(RateTestError::Level(_))
        ));
    }
}
