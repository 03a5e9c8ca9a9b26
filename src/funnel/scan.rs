//! The per-user funnel scan: plain Rust over one user's events sorted by time, no Arrow.
//! [`super`] feeds it the rows of the funnel query (one user at a time) and aggregates what it
//! returns into per-step counts.
//!
//! Semantics (PostHog's, see `docs/FUNNELS.md`):
//! * Every event that can start the funnel (step 1; in `any` mode any step) starts an *attempt*
//!   whose window `[t0, t0 + window]` is anchored at it.
//! * `ordered`: the attempt reaches step k+1 at the first event matching step k+1 after the
//!   event that reached step k (same timestamp allowed); repeats of earlier steps and other
//!   events in between are ignored.
//! * `strict`: like `ordered`, but the attempt stops at the first funnel-step event that is not
//!   the next step (exclusion-only and unrelated events do not stop it).
//! * `any`: each event matching a step not yet done completes it (the lowest such step when it
//!   matches several); step k means "k distinct steps done".
//! * Exclusions: an exclusion event strictly between an attempt's first and last reached step
//!   voids the attempt (it counts for nothing, not even step 1).
//! * A user (per breakdown group, the group of the attempt's first event) counts at the
//!   furthest step of any attempt; ties go to the earliest attempt, whose step times are
//!   reported.
//! * Events are sorted by time here (arrival order does not matter); events with equal
//!   timestamps are ordered by the lowest step they match, exclusion-only events last.

use std::ops::Range;

use super::config::OrderMode;

/// Bit of [`Event::mask`] marking an exclusion event (steps use bits 0..32).
pub const EXCLUDE_BIT: u64 = 1 << 62;

/// One event of a user, as the scan needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// Microseconds since the epoch.
    pub ts: i64,
    /// Bit k set when the event matches step k (0-based); [`EXCLUDE_BIT`] for exclusions.
    pub mask: u64,
    /// Breakdown group of the event (an index into the caller's list of values).
    pub group: u32,
}

/// The best attempt of a user in one breakdown group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    /// Breakdown group (of the attempt's first event).
    pub group: u32,
    /// Time each reached step was reached (µs); `times[0]` is the attempt's start, the length
    /// is the number of steps reached (at least 1).
    pub times: Vec<i64>,
}

/// Scans one user's events (in any order; sorted here) for a funnel of `steps` steps with a
/// `window` in microseconds. Only events with `ts` in `starts` may start an attempt (the report
/// period). Returns the best attempt per breakdown group that reached at least step 1, sorted by
/// group.
pub fn scan(
    events: &mut [Event],
    steps: usize,
    window: i64,
    mode: OrderMode,
    starts: Range<i64>,
) -> Vec<Reach> {
    let step_bits: u64 = if steps >= 64 {
        u64::MAX >> 2
    } else {
        (1u64 << steps) - 1
    };
    events.sort_by_key(|e| (e.ts, (e.mask & step_bits).trailing_zeros()));
    let mut best: Vec<Reach> = Vec::new();
    for i in 0..events.len() {
        let start = events[i];
        if !starts.contains(&start.ts) {
            continue;
        }
        let starts_attempt = match mode {
            OrderMode::Any => start.mask & step_bits != 0,
            OrderMode::Ordered | OrderMode::Strict => start.mask & 1 != 0,
        };
        if !starts_attempt {
            continue;
        }
        let slot = best.iter().position(|r| r.group == start.group);
        if slot.is_some_and(|s| best[s].times.len() == steps) {
            // Already complete in this group: a later attempt cannot beat it (ties keep the
            // earliest attempt).
            continue;
        }
        let times = attempt(&events[i..], steps, step_bits, window, mode);
        if voided(&events[i + 1..], &times) {
            continue;
        }
        match slot {
            Some(s) if best[s].times.len() >= times.len() => {}
            Some(s) => best[s].times = times,
            None => best.push(Reach {
                group: start.group,
                times,
            }),
        }
    }
    best.sort_by_key(|r| r.group);
    best
}

/// The step times of the attempt started by `events[0]`.
fn attempt(
    events: &[Event],
    steps: usize,
    step_bits: u64,
    window: i64,
    mode: OrderMode,
) -> Vec<i64> {
    let t0 = events[0].ts;
    let end = t0.saturating_add(window);
    let mut times = vec![t0];
    let mut done = match mode {
        OrderMode::Any => lowest_bit(events[0].mask & step_bits),
        _ => 1,
    };
    for e in &events[1..] {
        if e.ts > end || times.len() == steps {
            break;
        }
        let next = times.len();
        match mode {
            OrderMode::Ordered => {
                if e.mask & (1 << next) != 0 {
                    times.push(e.ts);
                }
            }
            OrderMode::Strict => {
                let m = e.mask & step_bits;
                if m == 0 {
                    continue;
                }
                if m & (1 << next) != 0 {
                    times.push(e.ts);
                } else {
                    break;
                }
            }
            OrderMode::Any => {
                let new = e.mask & step_bits & !done;
                if new != 0 {
                    done |= lowest_bit(new);
                    times.push(e.ts);
                }
            }
        }
    }
    times
}

fn lowest_bit(m: u64) -> u64 {
    m & m.wrapping_neg()
}

/// Whether an exclusion event lies strictly between the attempt's first and last reached step.
fn voided(after_start: &[Event], times: &[i64]) -> bool {
    let (Some(&first), Some(&last)) = (times.first(), times.last()) else {
        return false;
    };
    after_start
        .iter()
        .take_while(|e| e.ts < last)
        .any(|e| e.mask & EXCLUDE_BIT != 0 && e.ts > first)
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000_000; // one hour in µs
    const ALL: Range<i64> = i64::MIN..i64::MAX;

    /// Events from (hour, step mask) pairs in group 0.
    fn ev(spec: &[(i64, u64)]) -> Vec<Event> {
        spec.iter()
            .map(|&(h, mask)| Event {
                ts: h * H,
                mask,
                group: 0,
            })
            .collect()
    }

    /// Steps reached by the best attempt (0 when none).
    fn reached(spec: &[(i64, u64)], steps: usize, window_h: i64, mode: OrderMode) -> usize {
        let mut e = ev(spec);
        let r = scan(&mut e, steps, window_h * H, mode, ALL);
        r.first().map_or(0, |r| r.times.len())
    }

    const A: u64 = 1; // step 1
    const B: u64 = 2; // step 2
    const C: u64 = 4; // step 3
    const X: u64 = EXCLUDE_BIT;

    #[test]
    fn ordered_counts_the_furthest_step_and_ignores_arrival_order() {
        // A B C in time, delivered C, A, B.
        assert_eq!(
            reached(&[(3, C), (1, A), (2, B)], 3, 24, OrderMode::Ordered),
            3
        );
        // C before B: only A, B count (C came before B).
        assert_eq!(
            reached(&[(1, A), (2, C), (3, B)], 3, 24, OrderMode::Ordered),
            2
        );
        // Nothing without step 1.
        assert_eq!(reached(&[(1, B), (2, C)], 3, 24, OrderMode::Ordered), 0);
        // Equal timestamps: A and B at the same instant count in order.
        assert_eq!(reached(&[(1, B), (1, A)], 2, 24, OrderMode::Ordered), 2);
    }

    #[test]
    fn repeated_steps_are_ignored_in_ordered_mode_and_break_strict_mode() {
        let spec = [(1, A), (2, B), (3, B), (4, A), (5, C)];
        assert_eq!(reached(&spec, 3, 24, OrderMode::Ordered), 3);
        // Strict: A B then B again stops attempt 1 at 2 steps; attempt 2 (A at 4) reaches C? No:
        // C is step 3, not step 2, so it stops at 1. Best = 2.
        assert_eq!(reached(&spec, 3, 24, OrderMode::Strict), 2);
        // Strict with an unrelated event (mask 0) in between still completes.
        assert_eq!(
            reached(&[(1, A), (2, 0), (3, B), (4, C)], 3, 24, OrderMode::Strict),
            3
        );
    }

    #[test]
    fn the_window_expires_and_a_second_entry_can_convert() {
        // B at 25 h is outside the 24 h window of A at 0 h.
        assert_eq!(reached(&[(0, A), (25, B)], 2, 24, OrderMode::Ordered), 1);
        // Exactly at the window's end still counts.
        assert_eq!(reached(&[(0, A), (24, B)], 2, 24, OrderMode::Ordered), 2);
        // A second entry at 10 h anchors a new window that reaches B at 25 h.
        let mut e = ev(&[(0, A), (10, A), (25, B)]);
        let r = scan(&mut e, 2, 24 * H, OrderMode::Ordered, ALL);
        assert_eq!(r[0].times, vec![10 * H, 25 * H]);
    }

    #[test]
    fn exclusions_void_the_attempt_between_first_and_last_reached_step() {
        // A X B: voided; no other attempt, so the user is not in the funnel at all.
        assert_eq!(
            reached(&[(1, A), (2, X), (3, B)], 2, 24, OrderMode::Ordered),
            0
        );
        // X after the last reached step: fine.
        assert_eq!(
            reached(&[(1, A), (2, B), (3, X)], 3, 24, OrderMode::Ordered),
            2
        );
        // X before the first step: fine.
        assert_eq!(
            reached(&[(0, X), (1, A), (2, B)], 2, 24, OrderMode::Ordered),
            2
        );
        // A X B, then a clean second attempt A B.
        assert_eq!(
            reached(
                &[(1, A), (2, X), (3, B), (4, A), (5, B)],
                2,
                24,
                OrderMode::Ordered
            ),
            2
        );
        // Exclusion events do not break strict mode by themselves (but still void).
        assert_eq!(
            reached(&[(1, A), (2, X), (3, B)], 2, 24, OrderMode::Strict),
            0
        );
    }

    #[test]
    fn any_order_counts_distinct_steps() {
        assert_eq!(reached(&[(1, C), (2, A), (3, B)], 3, 24, OrderMode::Any), 3);
        // Repeats of a done step do not count twice.
        assert_eq!(reached(&[(1, B), (2, B), (3, B)], 3, 24, OrderMode::Any), 1);
        // Window from the first event of the attempt; the attempt from B at 20 h gets C.
        assert_eq!(
            reached(&[(0, A), (20, B), (30, C)], 3, 24, OrderMode::Any),
            2
        );
    }

    #[test]
    fn groups_and_start_ranges() {
        let mut e = vec![
            Event {
                ts: H,
                mask: A,
                group: 0,
            },
            Event {
                ts: 2 * H,
                mask: A,
                group: 1,
            },
            Event {
                ts: 3 * H,
                mask: B,
                group: 1,
            },
        ];
        // Group 0's attempt reaches B too (B's own group does not matter).
        let r = scan(&mut e, 2, 24 * H, OrderMode::Ordered, ALL);
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].group, r[0].times.len()), (0, 2));
        assert_eq!((r[1].group, r[1].times.len()), (1, 2));
        // Only attempts starting in [2 h, 10 h): group 1 only.
        let r = scan(&mut e, 2, 24 * H, OrderMode::Ordered, 2 * H..10 * H);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].group, 1);
        // Tie: the earliest complete attempt's times are kept.
        let mut e = ev(&[(1, A), (2, B), (5, A), (6, B)]);
        let r = scan(&mut e, 2, 24 * H, OrderMode::Ordered, ALL);
        assert_eq!(r[0].times, vec![H, 2 * H]);
    }
}
