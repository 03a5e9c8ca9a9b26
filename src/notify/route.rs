//! Which channels hear a transition, and which alerts mute which: the routing of the protocol
//! (by severity), inhibition (a P1 of a service mutes its lower alerts; `unavailable` mutes the
//! same service's error-rate and latency alerts) and the repeat of still-firing alerts. Pure
//! logic over alerts and wall times; the [`super::worker`] calls it.

use std::collections::{BTreeMap, BTreeSet};

use super::config::{Inhibit, NotifyConfig};
use super::{Alert, Channel};

/// The alerts on now and what each channel was told.
#[derive(Debug, Default)]
pub struct Router {
    /// Firing alerts by [`Alert::key`].
    pub active: BTreeMap<String, Alert>,
    /// (channel, alert key) → wall time (µs) the channel was last told it fires.
    pub told: BTreeMap<(Channel, String), i64>,
    /// (channel, alert key) of firing alerts whose notification was muted (inhibition): told
    /// when their inhibitor resolves, and not sent a resolution they never had a firing for.
    pub muted: BTreeSet<(Channel, String)>,
}

fn matches(severities: &[crate::alert::Severity], rules: &[String], a: &Alert) -> bool {
    (severities.is_empty() || severities.contains(&a.severity))
        && (rules.is_empty() || rules.contains(&a.rule))
}

impl Router {
    /// The notifications transition `a` causes, at wall time `now` (µs): the channels that hear
    /// its severity, and — when it leaves a channel's severities (a de-escalation below a page)
    /// or resolves — a resolution to each channel that was told it fires.
    pub fn on_transition(
        &mut self,
        cfg: &NotifyConfig,
        a: Alert,
        now: i64,
    ) -> Vec<(Channel, Alert)> {
        let key = a.key();
        let mut out = Vec::new();
        if a.firing {
            let now_channels = cfg.route(a.severity);
            // channels told before that no longer hear this severity: resolved there
            let left: Vec<Channel> = self
                .told
                .keys()
                .filter(|(c, k)| *k == key && !now_channels.contains(c))
                .map(|(c, _)| *c)
                .collect();
            for c in left {
                self.told.remove(&(c, key.clone()));
                let mut off = a.clone();
                off.firing = false;
                out.push((c, off));
            }
            for c in now_channels {
                self.told.insert((c, key.clone()), now);
                out.push((c, a.clone()));
            }
            self.active.insert(key, a);
        } else {
            self.active.remove(&key);
            let told: Vec<Channel> = self
                .told
                .keys()
                .filter(|(_, k)| *k == key)
                .map(|(c, _)| *c)
                .collect();
            for c in told {
                self.told.remove(&(c, key.clone()));
                if self.muted.remove(&(c, key.clone())) {
                    continue;
                }
                if cfg.send_resolved {
                    out.push((c, a.clone()));
                }
            }
            // the alerts of the same entity this one muted are told now, unless still muted
            let freed: Vec<(Channel, String)> = self
                .muted
                .iter()
                .filter(|(_, k)| {
                    self.active.get(k).is_some_and(|x| {
                        x.entity == a.entity
                            && x.entity_kind == a.entity_kind
                            && self.inhibitor(&cfg.inhibit, x).is_none()
                    })
                })
                .cloned()
                .collect();
            for (c, k) in freed {
                self.muted.remove(&(c, k.clone()));
                if let Some(x) = self.active.get(&k) {
                    let mut again = x.clone();
                    again.change = "uninhibited".into();
                    // a transition of its own (its queue key)
                    again.event_time = now;
                    self.told.insert((c, k), now);
                    out.push((c, again));
                }
            }
        }
        out
    }

    /// The alert that mutes `a` now, if any: another firing alert of the same entity matching
    /// an inhibition's source while `a` matches its target.
    pub fn inhibitor(&self, rules: &[Inhibit], a: &Alert) -> Option<&Alert> {
        if !a.firing {
            return None;
        }
        let key = a.key();
        rules.iter().find_map(|r| {
            if !matches(&r.target_severities, &r.target_rules, a) {
                return None;
            }
            self.active.values().find(|s| {
                s.key() != key
                    && s.entity == a.entity
                    && s.entity_kind == a.entity_kind
                    && matches(&r.source_severities, &r.source_rules, s)
            })
        })
    }

    /// Still-firing alerts whose channel was last told more than `repeat_interval` ago, at wall
    /// time `now` (µs): notified again (change `repeat`).
    pub fn repeats(&mut self, cfg: &NotifyConfig, now: i64) -> Vec<(Channel, Alert)> {
        let every = i64::try_from(cfg.repeat_interval.as_micros()).unwrap_or(i64::MAX);
        let mut out = Vec::new();
        for ((c, key), at) in self.told.iter_mut() {
            if now - *at < every {
                continue;
            }
            if let Some(a) = self.active.get(key) {
                *at = now;
                let mut again = a.clone();
                again.change = "repeat".into();
                // a repeat is a transition of its own (its queue key): the wall time tells it apart
                again.event_time = now;
                out.push((*c, again));
            }
        }
        out
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::alert::Severity;

    pub(crate) fn alert(rule: &str, entity: &str, sev: Severity, firing: bool) -> Alert {
        Alert {
            rule: rule.into(),
            entity_kind: "service".into(),
            entity: entity.into(),
            firing,
            change: if firing { "firing" } else { "resolved" }.into(),
            severity: sev,
            previous: None,
            value: Some(0.07),
            threshold: 0.05,
            window_s: 300.0,
            requests: 100,
            bad: 7,
            event_time: 1,
            since: 0,
            labels: Default::default(),
            annotations: Default::default(),
            runbook: Some("runbooks/error_rate.md".into()),
        }
    }

    fn cfg() -> NotifyConfig {
        use crate::config::ConfigFile;
        let text = "[notify]\n[notify.pagerduty]\nurl = \"http://127.0.0.1:1/v2/enqueue\"\nrouting_key = \"k\"\n[notify.slack]\nwebhook_url = \"http://127.0.0.1:1/slack\"\n[notify.email]\nhost = \"127.0.0.1\"\ntls = \"none\"\nfrom = \"postlaunch@example.com\"\nto = [\"oncall@example.com\"]\n";
        super::super::config::NotifyFile::parse(text, std::path::Path::new("a.toml"))
            .unwrap()
            .notify
    }

    fn channels(v: &[(Channel, Alert)]) -> Vec<(Channel, bool)> {
        v.iter().map(|(c, a)| (*c, a.firing)).collect()
    }

    #[test]
    fn severities_route_to_the_protocols_channels_and_resolutions_follow() {
        let cfg = cfg();
        let mut r = Router::default();
        use Channel::*;
        // P3: Slack and e-mail
        let out = r.on_transition(&cfg, alert("error_rate", "checkout", Severity::P3, true), 0);
        assert_eq!(channels(&out), vec![(Slack, true), (Email, true)]);
        // escalated to P1: e-mail and Slack no longer hear it (resolved there), PagerDuty pages
        let mut up = alert("error_rate", "checkout", Severity::P1, true);
        up.change = "escalated".into();
        let out = r.on_transition(&cfg, up, 1);
        assert_eq!(
            channels(&out),
            vec![(Slack, false), (Email, false), (Pagerduty, true)]
        );
        // de-escalated to P2: PagerDuty (updated) and Slack again
        let out = r.on_transition(&cfg, alert("error_rate", "checkout", Severity::P2, true), 2);
        assert_eq!(channels(&out), vec![(Pagerduty, true), (Slack, true)]);
        // resolved: each channel told it fires hears the resolution
        let out = r.on_transition(
            &cfg,
            alert("error_rate", "checkout", Severity::P2, false),
            3,
        );
        assert_eq!(channels(&out), vec![(Pagerduty, false), (Slack, false)]);
        assert!(r.active.is_empty() && r.told.is_empty());
    }

    #[test]
    fn a_p1_mutes_the_services_other_alerts_and_unavailable_mutes_errors_and_latency() {
        let cfg = cfg();
        let mut r = Router::default();
        r.on_transition(&cfg, alert("error_rate", "checkout", Severity::P1, true), 0);
        let latency = alert("latency", "checkout", Severity::P2, true);
        assert_eq!(
            r.inhibitor(&cfg.inhibit, &latency).map(|a| a.rule.as_str()),
            Some("error_rate")
        );
        // not another service's, not itself, not a resolution
        assert!(r
            .inhibitor(
                &cfg.inhibit,
                &alert("latency", "search", Severity::P2, true)
            )
            .is_none());
        assert!(r
            .inhibitor(
                &cfg.inhibit,
                &alert("error_rate", "checkout", Severity::P1, true)
            )
            .is_none());
        assert!(r
            .inhibitor(
                &cfg.inhibit,
                &alert("latency", "checkout", Severity::P2, false)
            )
            .is_none());
        // unavailable (P1) mutes error-rate and latency, even a P1, but not a host alert
        let mut r = Router::default();
        r.on_transition(&cfg, alert("unavailable", "search", Severity::P1, true), 0);
        assert!(r
            .inhibitor(
                &cfg.inhibit,
                &alert("error_rate", "search", Severity::P1, true)
            )
            .is_some());
        assert!(r
            .inhibitor(&cfg.inhibit, &alert("slo", "search", Severity::P1, true))
            .is_none());
    }

    #[test]
    fn a_muted_alert_is_told_when_its_inhibitor_resolves_and_never_gets_a_lone_resolution() {
        let cfg = cfg();
        let mut r = Router::default();
        r.on_transition(&cfg, alert("error_rate", "checkout", Severity::P1, true), 0);
        let latency = alert("latency", "checkout", Severity::P2, true);
        let routed = r.on_transition(&cfg, latency.clone(), 1);
        // the worker finds it muted on both its channels (PagerDuty, Slack) and says so
        for (c, a) in &routed {
            assert!(r.inhibitor(&cfg.inhibit, a).is_some());
            r.muted.insert((*c, a.key()));
        }
        // the P1 resolves: its resolution to PagerDuty, and the latency alert told at last
        let out = r.on_transition(
            &cfg,
            alert("error_rate", "checkout", Severity::P1, false),
            2,
        );
        let told: Vec<(Channel, &str, bool)> = out
            .iter()
            .map(|(c, a)| (*c, a.rule.as_str(), a.firing))
            .collect();
        assert_eq!(
            told,
            vec![
                (Channel::Pagerduty, "error_rate", false),
                (Channel::Pagerduty, "latency", true),
                (Channel::Slack, "latency", true),
            ]
        );
        assert_eq!(out[1].1.change, "uninhibited");
        assert!(r.muted.is_empty());
        // a muted alert that resolves while still muted: no resolution for a firing never sent
        let mut r = Router::default();
        r.on_transition(&cfg, alert("unavailable", "search", Severity::P1, true), 0);
        for (c, a) in r.on_transition(&cfg, alert("error_rate", "search", Severity::P2, true), 1) {
            r.muted.insert((c, a.key()));
        }
        let out = r.on_transition(&cfg, alert("error_rate", "search", Severity::P2, false), 2);
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn still_firing_alerts_repeat_after_the_interval() {
        let cfg = cfg();
        let hour = 3_600_000_000;
        let mut r = Router::default();
        r.on_transition(&cfg, alert("error_rate", "checkout", Severity::P1, true), 0);
        assert!(r.repeats(&cfg, 3 * hour).is_empty());
        let again = r.repeats(&cfg, 4 * hour);
        assert_eq!(channels(&again), vec![(Channel::Pagerduty, true)]);
        assert_eq!(again[0].1.change, "repeat");
        assert!(
            r.repeats(&cfg, 5 * hour).is_empty(),
            "the next one 4 h later"
        );
    }
}
