//! The alert engine: events in (requests and metric samples, with their event times), state
//! transitions out.
//!
//! Time is event time, cut into steps of `decision.step`. A step is closed when the stream's
//! clock (the newest event, per partition on the live path) is `decision.lateness` past its end
//! (the watermark): then every family evaluates it, in
//! step order, and an event for a closed step is counted as late and left out of the decision. A
//! quiet or stalled stream therefore cannot fake a drop: no step closes until newer events prove
//! time has moved on. Given the same events, the transitions depend neither on how the events
//! were batched nor on when [`Engine::advance`] was called, only on the watermarks reached — which
//! is what lets `alerts replay` reproduce the live path.

use std::collections::BTreeMap;

use super::config::{AlertsFile, RuleKind};
use super::family::{Compiled, Family};
use super::Transition;

/// The rules, their families and the clock.
#[derive(Debug)]
pub struct Engine {
    rules: Vec<Compiled>,
    /// Families by (rule index, entity).
    families: BTreeMap<(usize, String), Family>,
    step_us: i64,
    lateness_us: i64,
    /// The next step to close; `None` before the first event.
    next: Option<i64>,
    /// The clock: the newest time [`Engine::advance`] was given (µs).
    newest: i64,
    /// Events that arrived for an already-closed step.
    pub late: u64,
}

impl Engine {
    /// An engine for the rules of `file` (validated).
    pub fn new(file: &AlertsFile) -> Result<Engine, String> {
        let d = &file.decision;
        let step_us = i64::try_from(d.step.as_micros()).unwrap_or(i64::MAX).max(1);
        let rules = file
            .stream_rules()
            .iter()
            .map(|r| Compiled::new(r, step_us, d))
            .collect::<Result<_, _>>()?;
        Ok(Engine {
            rules,
            families: BTreeMap::new(),
            step_us,
            lateness_us: i64::try_from(d.lateness.as_micros()).unwrap_or(i64::MAX),
            next: None,
            newest: i64::MIN,
            late: 0,
        })
    }

    /// The step of event time `ts`, or `None` (counted late) when that step is closed.
    fn open_step(&mut self, ts: i64) -> Option<i64> {
        let step = ts.div_euclid(self.step_us);
        match self.next {
            Some(next) if step < next => {
                self.late += 1;
                return None;
            }
            None => self.next = Some(step),
            Some(_) => {}
        }
        Some(step)
    }

    /// One request of `service` at `ts` (µs).
    pub fn add_request(&mut self, ts: i64, service: &str, status: i64, duration_ms: f64) {
        let Some(step) = self.open_step(ts) else {
            return;
        };
        for (i, c) in self.rules.iter().enumerate() {
            if c.rule.kind == RuleKind::Gauge || c.only.as_deref().is_some_and(|o| o != service) {
                continue;
            }
            let family = self
                .families
                .entry((i, service.to_string()))
                .or_insert_with(|| Family::new(c));
            family.step_mut(c, step).add_request(c, status, duration_ms);
        }
    }

    /// One sample of metric series `metric` at `ts` (µs), from `host` of `service`.
    pub fn add_sample(
        &mut self,
        ts: i64,
        metric: &str,
        host: Option<&str>,
        service: Option<&str>,
        value: f64,
    ) {
        if !value.is_finite() {
            return;
        }
        let Some(step) = self.open_step(ts) else {
            return;
        };
        for (i, c) in self.rules.iter().enumerate() {
            if c.rule.metric.as_deref() != Some(metric) {
                continue;
            }
            let entity = match c.rule.per() {
                super::config::Per::Host => host,
                super::config::Per::Service => service,
            };
            let Some(entity) = entity else { continue };
            let family = self
                .families
                .entry((i, entity.to_string()))
                .or_insert_with(|| Family::new(c));
            family.step_mut(c, step).add_sample(value);
        }
    }

    /// Moves the watermark to `now` − lateness (never back) and closes every step that ends at or
    /// before it; returns the transitions, in event-time order. `now` is the stream's event-time
    /// clock: the newest event of a replay; live, the newest event of the slowest partition
    /// still delivering ([`super::live`]), so that a lagging partition's events are not late.
    pub fn advance(&mut self, now: i64) -> Vec<Transition> {
        let mut out = Vec::new();
        let Some(mut next) = self.next else {
            return out;
        };
        self.newest = self.newest.max(now);
        let watermark = self.newest.saturating_sub(self.lateness_us);
        while (next + 1).saturating_mul(self.step_us) <= watermark {
            self.close(next, &mut out);
            next += 1;
        }
        self.next = Some(next);
        out
    }

    /// Closes step `step` in every family.
    fn close(&mut self, step: i64, out: &mut Vec<Transition>) {
        let end = (step + 1) * self.step_us;
        for ((rule, entity), family) in self.families.iter_mut() {
            let c = &self.rules[*rule];
            if let Some(change) = family.close(c, step) {
                out.push(family.transition_record(c, entity, end, change));
            }
        }
        // Bounded memory: families with nothing in their window and no alert are forgotten.
        if step % 720 == 0 {
            self.families.retain(|_, f| !f.idle());
        }
    }

    /// Restores an alert that was firing before a restart (`alerts` table, [`super::state`]): it
    /// continues firing at its severity without a new `firing` transition, and resolves as usual
    /// once new events show the breach is over. Alerts of rules this engine does not have, and
    /// pending ones, are ignored.
    pub fn restore(&mut self, a: &super::state::Active) {
        if !a.firing() {
            return;
        }
        let Some((i, c)) = self
            .rules
            .iter()
            .enumerate()
            .find(|(_, c)| c.rule.name == a.rule)
        else {
            return;
        };
        let Some(band) = c.rule.bands.iter().position(|b| b.severity == a.severity) else {
            return;
        };
        let family = self
            .families
            .entry((i, a.entity.clone()))
            .or_insert_with(|| Family::new(c));
        family.restore(band, a.onset.unwrap_or(a.event_time), a.event_time);
    }

    /// The watermark reached: the end of the last closed step (µs), if any.
    pub fn watermark(&self) -> Option<i64> {
        self.next.map(|n| n * self.step_us)
    }
}

#[cfg(test)]
mod tests;
