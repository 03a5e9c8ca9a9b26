//! One alert family: a rule's bands for one service or host. It keeps the steps of the rule's
//! window, the counts of the last hour in buckets (the 12 newest steps, then one bucket a minute)
//! for the sequential test of each band (rate rules, [`RateTest`]), which bands hold, and the
//! alert's state; closing a step updates all of them and yields at most one [`Transition`].
//!
//! A band *holds* from the moment its test alarms — a recent span of at least `min_requests`
//! requests whose bad share is at or above the threshold, with a likelihood ratio of at least
//! e^`evidence` against the in-control rate (gauges: the window's mean is above the threshold
//! with `min_requests` samples) — until the window's value falls below the band's resolve level
//! while the test no longer alarms (hysteresis). The alert's severity is that of the highest band
//! holding; a firing alert keeps a band for `keep_firing_for` after it stopped holding.

use std::collections::{BTreeMap, VecDeque};

use super::config::{Decision, Rule, RuleKind};
use super::{Change, Severity, Transition};
use crate::stats::cusum::{Detection, RateTest};

/// A rule with its numbers resolved once.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub rule: Rule,
    /// Band thresholds (shares, ms, or the metric's unit), lowest first.
    pub thresholds: Vec<f64>,
    /// Where each band resolves.
    pub resolve: Vec<f64>,
    /// The sequential test of each band (empty for gauges).
    pub tests: Vec<RateTest>,
    /// Minute buckets kept for the tests (the horizon).
    pub horizon_minutes: usize,
    /// Steps in the window.
    pub window_steps: i64,
    pub step_us: i64,
    pub for_us: i64,
    pub keep_us: i64,
    /// SLO rules: the error budget (1 − objective), the latency level (ms) of a good request,
    /// the service (all when `None`), and per band the (long, short) windows, µs.
    pub budget: f64,
    pub latency_ms: Option<f64>,
    pub only: Option<String>,
    pub burn_windows: Vec<(i64, i64)>,
}

impl Compiled {
    pub fn new(rule: &Rule, step_us: i64, d: &Decision) -> Result<Compiled, String> {
        let thresholds = rule.thresholds();
        let tests = match rule.kind {
            RuleKind::Gauge | RuleKind::Unavailable | RuleKind::BurnRate => Vec::new(),
            _ => thresholds
                .iter()
                .map(|t| RateTest::new(rule.bad_share(*t), d.margin, d.evidence, rule.min_requests))
                .collect::<Result<_, _>>()
                .map_err(|e| format!("rule `{}`: {e}", rule.name))?,
        };
        let us = |d: std::time::Duration| i64::try_from(d.as_micros()).unwrap_or(i64::MAX);
        let slo = rule.slo.clone();
        Ok(Compiled {
            budget: slo.as_ref().map_or(f64::NAN, |s| s.budget),
            latency_ms: slo.as_ref().and_then(|s| s.latency_ms),
            only: slo.as_ref().and_then(|s| s.service.clone()),
            burn_windows: slo
                .as_ref()
                .map(|s| s.windows.iter().map(|(l, sh)| (us(*l), us(*sh))).collect())
                .unwrap_or_default(),
            rule: rule.clone(),
            resolve: rule.resolve_levels(),
            thresholds,
            tests,
            horizon_minutes: (d.horizon.as_secs() / 60).max(1) as usize,
            // SLO rules keep their windows in the ledger, not as steps
            window_steps: if rule.kind == RuleKind::BurnRate {
                1
            } else {
                (us(rule.window) / step_us).max(1)
            },
            step_us,
            for_us: us(rule.for_),
            keep_us: us(rule.keep_firing_for),
        })
    }
}

/// What one step (or one window) holds for a family.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counts {
    /// Requests (samples, for gauges).
    pub n: u64,
    /// Bad requests per band: 5xx, or slower than the band's level.
    pub bad: Vec<u64>,
    /// Latency rules: the durations (ms), for the window's percentile.
    pub durations: Vec<f64>,
    /// Gauges: the sum of the samples.
    pub sum: f64,
}

impl Counts {
    pub fn new(bands: usize) -> Counts {
        Counts {
            bad: vec![0; bands],
            ..Counts::default()
        }
    }

    /// One request: its status and duration against the rule's bands.
    pub fn add_request(&mut self, c: &Compiled, status: i64, duration_ms: f64) {
        self.n += 1;
        match c.rule.kind {
            RuleKind::ErrorRate | RuleKind::Unavailable => {
                if status >= 500 {
                    self.bad.iter_mut().for_each(|b| *b += 1);
                }
            }
            RuleKind::Latency => {
                for (b, t) in self.bad.iter_mut().zip(&c.thresholds) {
                    *b += u64::from(duration_ms > *t);
                }
                self.durations.push(duration_ms);
            }
            RuleKind::BurnRate => {
                let bad = match c.latency_ms {
                    Some(l) => duration_ms > l,
                    None => status >= 500,
                };
                if bad {
                    self.bad.iter_mut().for_each(|b| *b += 1);
                }
            }
            RuleKind::Gauge => {}
        }
    }

    /// One metric sample.
    pub fn add_sample(&mut self, value: f64) {
        self.n += 1;
        self.sum += value;
    }
}

/// The alert's state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum State {
    Inactive,
    /// Band `band` holds since `since` (µs), waiting for `for`.
    Pending {
        band: usize,
        since: i64,
    },
    /// Firing at band `band`.
    Firing {
        band: usize,
    },
}

/// The span that decided a band: when it began (the estimate of when the change began) and its
/// requests and bad ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Onset {
    /// Start of the span (µs).
    pub since: i64,
    pub n: u64,
    pub bad: u64,
}

/// Unavailable rules look at the same minutes of this many previous days.
pub const DAYS: i64 = 7;
const MINUTE: i64 = 60_000_000;
const DAY: i64 = 1440 * MINUTE;

/// Steps kept one by one before they are merged into minute buckets: one minute of 5 s steps.
pub const FINE_STEPS: usize = 12;

/// The counts of a step or of a minute, for the tests.
#[derive(Debug, Clone, PartialEq)]
struct Bucket {
    /// Start (µs).
    start: i64,
    n: u64,
    bad: Vec<u64>,
}

/// SLO rules: running totals of requests and bad ones, marked at the start of every minute, so
/// that the counts of any window up to the longest (3 days) are two subtractions.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    n: u64,
    bad: u64,
    /// (minute start µs, totals before that minute), oldest first.
    marks: VecDeque<(i64, u64, u64)>,
}

impl Ledger {
    /// Adds a closed step starting at `start` (µs); forgets marks older than `keep` µs.
    fn push(&mut self, start: i64, n: u64, bad: u64, keep: i64) {
        let minute = start.div_euclid(60_000_000) * 60_000_000;
        if self.marks.back().is_none_or(|m| m.0 < minute) {
            self.marks.push_back((minute, self.n, self.bad));
        }
        self.n += n;
        self.bad += bad;
        while self.marks.len() > 1 && self.marks[1].0 <= minute - keep {
            self.marks.pop_front();
        }
    }

    /// Whether the history reaches back `w` µs from `end`.
    pub fn covers(&self, end: i64, w: i64) -> bool {
        self.marks
            .front()
            .is_some_and(|m| m.0 <= end.saturating_sub(w))
    }

    /// (requests, bad) of the window of `w` µs ending at `end`, to the minute: from the last
    /// minute mark at or before `end − w` (all that is kept when the history is shorter).
    pub fn window(&self, end: i64, w: i64) -> (u64, u64) {
        let from = end.saturating_sub(w);
        let i = self
            .marks
            .partition_point(|m| m.0 <= from)
            .saturating_sub(1);
        match self.marks.get(i) {
            Some(m) => (self.n - m.1, self.bad - m.2),
            None => (0, 0),
        }
    }
}

/// One rule's bands for one entity.
#[derive(Debug, Clone)]
pub struct Family {
    /// Steps not yet closed, by step index.
    pub open: BTreeMap<i64, Counts>,
    /// The closed steps of the window, oldest first, and their totals.
    window: VecDeque<(i64, Counts)>,
    total: Counts,
    /// The newest steps (newest first, at most [`FINE_STEPS`]), then minute buckets (newest
    /// first, at most the horizon): the starts of the spans the tests consider.
    fine: VecDeque<Bucket>,
    coarse: VecDeque<Bucket>,
    /// Bad requests per band in `fine` and `coarse`: no test is run while a band has none.
    bad_in_horizon: Vec<u64>,
    /// Per band: the test's latest result.
    detections: Vec<Option<Detection>>,
    holds: Vec<bool>,
    /// Per band that holds: the start of the span that made it hold (µs). Its resolution looks
    /// at the window's steps from then on only.
    held_since: Vec<i64>,
    /// Per band: when it last stopped holding (µs). The test then starts over: spans begin
    /// after it, so the evidence of a breach that has been resolved cannot raise it again.
    restart: Vec<i64>,
    /// When each band last held (µs, step end).
    last_held: Vec<Option<i64>>,
    /// SLO rules: the burn-rate ledger.
    ledger: Ledger,
    /// Unavailable rules: requests per minute over the last [`DAYS`] days (minute start µs, n),
    /// oldest first, and when the family first saw a step: the same minutes of previous days.
    minutes: VecDeque<(i64, u64)>,
    first_seen: Option<i64>,
    pub state: State,
}

impl Family {
    pub fn new(c: &Compiled) -> Family {
        let bands = c.thresholds.len();
        Family {
            open: BTreeMap::new(),
            window: VecDeque::new(),
            total: Counts::new(bands),
            fine: VecDeque::new(),
            coarse: VecDeque::new(),
            bad_in_horizon: vec![0; c.tests.len()],
            detections: vec![None; c.tests.len()],
            holds: vec![false; bands],
            held_since: vec![i64::MIN; bands],
            restart: vec![i64::MIN; bands],
            last_held: vec![None; bands],
            ledger: Ledger::default(),
            minutes: VecDeque::new(),
            first_seen: None,
            state: State::Inactive,
        }
    }

    /// Puts the family back in the state it had before a restart: firing at `band`, every band
    /// up to it holding since `since`, last seen holding at `at` (µs).
    pub fn restore(&mut self, band: usize, since: i64, at: i64) {
        for b in 0..=band.min(self.holds.len().saturating_sub(1)) {
            self.holds[b] = true;
            self.held_since[b] = since;
            self.last_held[b] = Some(at);
        }
        self.state = State::Firing { band };
    }

    /// The counts of open step `step`, created empty.
    pub fn step_mut(&mut self, c: &Compiled, step: i64) -> &mut Counts {
        self.open
            .entry(step)
            .or_insert_with(|| Counts::new(c.thresholds.len()))
    }

    /// Whether the family has nothing to remember (no data in the window, no alert, no
    /// evidence): it can be dropped.
    pub fn idle(&self) -> bool {
        self.state == State::Inactive
            && self.ledger.marks.is_empty()
            && self.open.is_empty()
            && self.total.n == 0
            && self.bad_in_horizon.iter().all(|b| *b == 0)
            && self.fine.iter().chain(&self.coarse).all(|k| k.n == 0)
    }

    /// Closes step `step`: moves its counts into the window, updates the bands and the state.
    pub fn close(
        &mut self,
        c: &Compiled,
        step: i64,
    ) -> Option<(Change, Severity, Option<Severity>, usize)> {
        let counts = self
            .open
            .remove(&step)
            .unwrap_or_else(|| Counts::new(c.thresholds.len()));
        self.push(c, step, counts);
        let end = (step + 1) * c.step_us;
        for b in 0..c.thresholds.len() {
            let holds = self.band_holds(c, b, end);
            if self.holds[b] && !holds {
                self.restart[b] = end;
            }
            self.holds[b] = holds;
            if holds {
                self.last_held[b] = Some(end);
            }
        }
        self.transition(c, end)
    }

    fn push(&mut self, c: &Compiled, step: i64, counts: Counts) {
        let window_steps = c.window_steps;
        for (b, t) in self.total.bad.iter_mut().zip(&counts.bad) {
            *b += t;
        }
        self.total.n += counts.n;
        self.total.sum += counts.sum;
        match c.rule.kind {
            RuleKind::Gauge => {}
            RuleKind::BurnRate => {
                let keep = c.burn_windows.iter().map(|w| w.0).max().unwrap_or(0);
                let bad = counts.bad.first().copied().unwrap_or(0);
                self.ledger.push(step * c.step_us, counts.n, bad, keep);
            }
            RuleKind::Unavailable => {
                self.bucket(c, step, &counts);
                self.remember_minute(step * c.step_us, counts.n);
            }
            _ => self.bucket(c, step, &counts),
        }
        self.window.push_back((step, counts));
        while let Some((s, _)) = self.window.front() {
            if *s > step - window_steps {
                break;
            }
            let Some((_, old)) = self.window.pop_front() else {
                break;
            };
            self.total.n -= old.n;
            self.total.sum -= old.sum;
            for (b, t) in self.total.bad.iter_mut().zip(&old.bad) {
                *b -= t;
            }
        }
        if self.total.n == 0 {
            self.total.sum = 0.0;
        }
    }

    /// Adds a closed step to the test buckets: newest first; the oldest fine step merges into its
    /// minute's bucket, and minutes beyond the horizon are dropped.
    fn bucket(&mut self, c: &Compiled, step: i64, counts: &Counts) {
        for (t, b) in self.bad_in_horizon.iter_mut().zip(&counts.bad) {
            *t += b;
        }
        self.fine.push_front(Bucket {
            start: step * c.step_us,
            n: counts.n,
            bad: counts.bad.clone(),
        });
        if self.fine.len() <= FINE_STEPS {
            return;
        }
        let Some(old) = self.fine.pop_back() else {
            return;
        };
        let minute = |t: i64| t.div_euclid(60_000_000);
        match self.coarse.front_mut() {
            Some(m) if minute(m.start) == minute(old.start) => {
                m.n += old.n;
                for (a, b) in m.bad.iter_mut().zip(&old.bad) {
                    *a += b;
                }
                m.start = m.start.min(old.start);
            }
            _ => self.coarse.push_front(old),
        }
        while self.coarse.len() > c.horizon_minutes {
            if let Some(gone) = self.coarse.pop_back() {
                for (t, b) in self.bad_in_horizon.iter_mut().zip(&gone.bad) {
                    *t -= b;
                }
            }
        }
    }

    /// The test of band `b` over the buckets (skipped, `None`, when the horizon holds no bad
    /// request for it).
    fn detect(&self, c: &Compiled, b: usize) -> Option<Detection> {
        if self.bad_in_horizon[b] == 0 {
            return None;
        }
        let restart = self.restart[b];
        c.tests[b].detect(
            self.fine
                .iter()
                .chain(&self.coarse)
                .take_while(|k| k.start >= restart)
                .map(|k| (k.n, k.bad[b])),
        )
    }

    /// Where the span of a detection starts (µs).
    fn onset(&self, d: &Detection) -> Onset {
        let start = self
            .fine
            .iter()
            .chain(&self.coarse)
            .nth(d.start)
            .map_or(0, |k| k.start);
        Onset {
            since: start,
            n: d.n,
            bad: d.bad,
        }
    }

    /// Unavailable rules: adds a closed step's requests to its minute; forgets minutes older than
    /// [`DAYS`] days and a window.
    fn remember_minute(&mut self, start: i64, n: u64) {
        self.first_seen.get_or_insert(start);
        let minute = start.div_euclid(MINUTE) * MINUTE;
        match self.minutes.back_mut() {
            Some(m) if m.0 == minute => m.1 += n,
            _ => self.minutes.push_back((minute, n)),
        }
        while self
            .minutes
            .front()
            .is_some_and(|m| m.0 < minute - DAYS * DAY - DAY / 24)
        {
            self.minutes.pop_front();
        }
    }

    /// Unavailable rules: the median of the requests the same minutes of each of the previous
    /// [`DAYS`] days held (the window, to the minute, ending at `end`), over the days the family
    /// has seen whole; `None` before the first such day.
    fn expected_days(&self, c: &Compiled, end: i64) -> Option<f64> {
        let first = self.first_seen?;
        let window = c.window_steps * c.step_us;
        let floor = |t: i64| t.div_euclid(MINUTE) * MINUTE;
        let mut days: Vec<f64> = (1..=DAYS)
            .filter_map(|k| {
                let (from, to) = (floor(end - window - k * DAY), floor(end - k * DAY));
                (first <= from).then(|| {
                    let i = self.minutes.partition_point(|m| m.0 < from);
                    self.minutes
                        .range(i..)
                        .take_while(|m| m.0 < to.max(from + MINUTE))
                        .map(|m| m.1)
                        .sum::<u64>() as f64
                })
            })
            .collect();
        let median = crate::stats::robust::median(&days);
        days.clear();
        median
    }

    /// Unavailable rules: the requests the window should hold — what the same minutes of the
    /// previous days held (median), once the family has seen a whole day before them; until
    /// then, the rate of the hour before. A service busy only at some time of day (a daily
    /// batch) is thus expected busy then, and quiet when it is usually quiet.
    fn expected_traffic(&self, c: &Compiled, end: i64) -> Option<f64> {
        self.expected_days(c, end).or_else(|| self.expected(c))
    }

    /// Unavailable rules: the requests the window would hold at the rate of the buckets before
    /// it (up to the horizon); `None` until those cover at least one window.
    fn expected(&self, c: &Compiled) -> Option<f64> {
        let newest = self.fine.front()?.start;
        let window_start = newest + c.step_us - c.window_steps * c.step_us;
        let before: Vec<&Bucket> = self
            .fine
            .iter()
            .chain(&self.coarse)
            .filter(|k| k.start < window_start)
            .collect();
        let oldest = before.last()?.start;
        let span = window_start - oldest;
        let window = c.window_steps * c.step_us;
        if span < window {
            return None;
        }
        let n: u64 = before.iter().map(|k| k.n).sum();
        Some(n as f64 * window as f64 / span as f64)
    }

    /// Whether band `b` holds after the step just pushed (see the module docs).
    fn band_holds(&mut self, c: &Compiled, b: usize, end: i64) -> bool {
        let was = self.holds[b];
        let n = self.total.n;
        if c.rule.kind == RuleKind::BurnRate {
            // both windows burn at least factor × budget (SRE Workbook ch. 5); no request in the
            // short window: no evidence either way, unchanged
            let (long, short) = c.burn_windows[b];
            let (ln, lb) = self.ledger.window(end, long);
            let (sn, sb) = self.ledger.window(end, short);
            if sn == 0 {
                return was;
            }
            // no judgement before the history covers the short window: at start-up both windows
            // would otherwise be the few minutes seen so far (an alert restored after a restart
            // keeps firing until then)
            if !self.ledger.covers(end, short) {
                return was;
            }
            let level = c.thresholds[b] * c.budget;
            return sn >= c.rule.min_requests
                && lb as f64 >= level * ln as f64
                && sb as f64 >= level * sn as f64;
        }
        if c.rule.kind == RuleKind::Unavailable {
            let successes = n - self.total.bad[b];
            if was || successes > 0 {
                return successes == 0;
            }
            return self
                .expected_traffic(c, end)
                .is_some_and(|e| e > c.thresholds[b]);
        }
        if c.rule.kind == RuleKind::Gauge {
            if n == 0 {
                return was;
            }
            let mean = self.total.sum / n as f64;
            return if was {
                mean >= c.resolve[b]
            } else {
                n >= c.rule.min_requests && mean > c.thresholds[b]
            };
        }
        if !was {
            if self.fine.front().is_none_or(|k| k.n == 0) {
                // no new request: no span can newly qualify
                return false;
            }
            let d = self.detect(c, b);
            self.detections[b] = d;
            let alarmed = c.tests[b].alarms(d.as_ref());
            if let Some(d) = d.filter(|_| alarmed) {
                self.held_since[b] = self.onset(&d).since;
            }
            return alarmed;
        }
        // Holding: resolved when the bad share of the window's steps since the breach began is
        // below the resolve level (latency: the share slower than the resolve level is below
        // 1 − percentile). No request since then: no evidence, still holding.
        let since = self.held_since[b];
        let recent = self.window.iter().filter(|(s, _)| s * c.step_us >= since);
        let (mut n, mut bad) = (0u64, 0u64);
        for (_, w) in recent {
            n += w.n;
            bad += match c.rule.kind {
                RuleKind::Latency => {
                    w.durations.iter().filter(|d| **d > c.resolve[b]).count() as u64
                }
                _ => w.bad[b],
            };
        }
        let level = match c.rule.kind {
            RuleKind::Latency => 1.0 - c.rule.quantile(),
            _ => c.resolve[b],
        };
        n == 0 || bad as f64 >= level * n as f64
    }

    /// The state change after a step ending at `end`, if any: (change, severity, previous, band).
    fn transition(
        &mut self,
        c: &Compiled,
        end: i64,
    ) -> Option<(Change, Severity, Option<Severity>, usize)> {
        let sev = |b: usize| c.rule.bands[b].severity;
        let top = self.holds.iter().rposition(|h| *h);
        match self.state {
            State::Inactive => {
                let b = top?;
                if c.for_us == 0 {
                    self.state = State::Firing { band: b };
                    Some((Change::Firing, sev(b), None, b))
                } else {
                    self.state = State::Pending {
                        band: b,
                        since: end,
                    };
                    Some((Change::Pending, sev(b), None, b))
                }
            }
            State::Pending { band, since } => match top {
                None => {
                    self.state = State::Inactive;
                    Some((Change::Resolved, sev(band), Some(sev(band)), band))
                }
                Some(b) if end - since >= c.for_us => {
                    self.state = State::Firing { band: b };
                    Some((Change::Firing, sev(b), None, b))
                }
                Some(b) => {
                    self.state = State::Pending { band: b, since };
                    None
                }
            },
            State::Firing { band } => {
                let kept = (0..self.holds.len()).rposition(|b| {
                    self.holds[b] || self.last_held[b].is_some_and(|t| end - t <= c.keep_us)
                });
                match kept {
                    None => {
                        self.state = State::Inactive;
                        Some((Change::Resolved, sev(band), Some(sev(band)), band))
                    }
                    Some(b) if b > band => {
                        self.state = State::Firing { band: b };
                        Some((Change::Escalated, sev(b), Some(sev(band)), b))
                    }
                    Some(b) if b < band => {
                        self.state = State::Firing { band: b };
                        Some((Change::DeEscalated, sev(b), Some(sev(band)), b))
                    }
                    Some(_) => None,
                }
            }
        }
    }

    /// The evidence of band `band` for a transition at `end`.
    pub fn transition_record(
        &self,
        c: &Compiled,
        entity: &str,
        end: i64,
        (change, severity, previous, band): (Change, Severity, Option<Severity>, usize),
    ) -> Transition {
        let mut n = self.total.n;
        let mut bad = self.total.bad.get(band).copied().unwrap_or(0);
        let mut window_s = (c.window_steps * c.step_us) as f64 / 1e6;
        let mut statistic = self
            .detections
            .get(band)
            .copied()
            .flatten()
            .map(|d| d.statistic);
        let burn = |(n, bad): (u64, u64)| (n > 0).then(|| bad as f64 / n as f64 / c.budget);
        if c.rule.kind == RuleKind::BurnRate {
            // value: the long window's burn rate; statistic: the short window's
            let (long, short) = c.burn_windows[band];
            (n, bad) = self.ledger.window(end, long);
            window_s = long as f64 / 1e6;
            statistic = burn(self.ledger.window(end, short));
        }
        let value = match c.rule.kind {
            RuleKind::BurnRate => burn((n, bad)),
            RuleKind::Unavailable => self.expected_traffic(c, end),
            _ if n == 0 => None,
            RuleKind::ErrorRate => Some(self.total.bad[band] as f64 / n as f64),
            RuleKind::Gauge => Some(self.total.sum / n as f64),
            RuleKind::Latency => {
                let mut d: Vec<f64> = self
                    .window
                    .iter()
                    .flat_map(|(_, w)| w.durations.iter().copied())
                    .collect();
                d.sort_by(f64::total_cmp);
                // the nearest-rank percentile: the smallest value with at least q·n at or below it
                let rank = ((c.rule.quantile() * d.len() as f64).ceil() as usize).clamp(1, d.len());
                Some(d[rank - 1])
            }
        };
        Transition {
            event_time: end,
            rule: c.rule.name.clone(),
            entity_kind: c.rule.per().label().to_string(),
            entity: entity.to_string(),
            change,
            severity,
            previous,
            value,
            threshold: c.thresholds[band],
            window_s,
            requests: n,
            bad,
            statistic,
            onset: self
                .detections
                .get(band)
                .copied()
                .flatten()
                .map(|d| self.onset(&d)),
            labels: c.rule.labels.clone(),
            annotations: c.rule.annotations.clone(),
            runbook: c.rule.runbook.as_ref().map(|p| p.display().to_string()),
            silenced: None,
        }
    }
}
