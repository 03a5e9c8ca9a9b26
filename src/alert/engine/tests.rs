//! The rules on synthetic streams, in event time: thresholds, bands, `for`, minimum traffic,
//! hysteresis, `keep_firing_for`, lateness, and independence from batching. Errors are spread
//! evenly (request i is an error when ⌊(i+1)·p⌋ > ⌊i·p⌋), so every rate is exact and the tests are
//! deterministic.

use std::path::Path;

use super::*;
use crate::alert::config::AlertsFile;
use crate::alert::{Change, Severity};
use crate::config::ConfigFile;

const SEC: i64 = 1_000_000;
/// 2026-11-27T00:00:00Z.
const T0: i64 = 1_795_737_600 * SEC;

/// Requests of one service: `rps` a second from `from_s` to `to_s` (seconds after T0), a share
/// `errors` of them 5xx, a share `slow` of them taking `slow_ms` (others 100 ms).
#[derive(Clone, Copy)]
struct Phase {
    from_s: i64,
    to_s: i64,
    rps: i64,
    errors: f64,
    slow: f64,
    slow_ms: f64,
}

fn phase(from_s: i64, to_s: i64, rps: i64, errors: f64) -> Phase {
    Phase {
        from_s,
        to_s,
        rps,
        errors,
        slow: 0.0,
        slow_ms: 0.0,
    }
}

fn every(i: i64, share: f64) -> bool {
    ((i + 1) as f64 * share).floor() > (i as f64 * share).floor()
}

/// The events of `phases` as (ts, status, duration), in time order.
fn events(phases: &[Phase]) -> Vec<(i64, i64, f64)> {
    let mut out = Vec::new();
    for p in phases {
        let mut i = 0;
        for s in p.from_s..p.to_s {
            for k in 0..p.rps {
                let ts = T0 + s * SEC + k * SEC / p.rps;
                let status = if every(i, p.errors) { 503 } else { 200 };
                let ms = if every(i, p.slow) { p.slow_ms } else { 100.0 };
                out.push((ts, status, ms));
                i += 1;
            }
        }
    }
    out
}

fn rules(text: &str) -> AlertsFile {
    AlertsFile::parse(text, Path::new("test.toml")).unwrap()
}

/// Feeds `events` of service `svc`, advancing after each, then runs the clock 30 minutes on.
fn run(file: &AlertsFile, phases: &[Phase]) -> Vec<Transition> {
    let mut engine = Engine::new(file).unwrap();
    let mut out = Vec::new();
    let evs = events(phases);
    for (ts, status, ms) in &evs {
        engine.add_request(*ts, "svc", *status, *ms);
        out.extend(engine.advance(*ts));
    }
    let end = evs.last().map_or(T0, |e| e.0);
    out.extend(engine.advance(end + 1800 * SEC));
    out
}

/// (change, severity, seconds after T0) of each transition.
fn summary(ts: &[Transition]) -> Vec<(Change, Severity, i64)> {
    ts.iter()
        .map(|t| (t.change, t.severity, (t.event_time - T0) / SEC))
        .collect()
}

/// The shipped rules file with only rule `name`.
fn shipped_rule(name: &str) -> AlertsFile {
    let f = AlertsFile::builtin();
    AlertsFile {
        rules: f.rules.into_iter().filter(|r| r.name == name).collect(),
        slos: Vec::new(),
        anomalies: Vec::new(),
        trends: Vec::new(),
        notify: None,
        ..f
    }
}

fn error_rule(bands: &str, extra: &str) -> AlertsFile {
    rules(&format!(
        "[[rule]]\nname = \"e\"\nkind = \"error_rate\"\n{extra}\nbands = [{bands}]\n"
    ))
}

#[test]
fn a_band_fires_above_its_threshold_and_not_below() {
    let p1 = error_rule(
        "{ severity = \"P1\", above = 0.05 }",
        "keep_firing_for = \"0s\"",
    );
    // 0.8 × T for an hour at 100 req/s (360 000 requests): nothing.
    let quiet = run(&p1, &[phase(0, 3600, 100, 0.04)]);
    assert!(quiet.is_empty(), "{:?}", summary(&quiet));
    // 1.5 × T (7.5 %) after 10 healthy minutes: fires, within 30 s of the step (expected delay
    // h/KL(7.5 % ‖ 1/30) = 13.8/0.0201 ≈ 690 requests ≈ 7 s, module docs of stats::cusum).
    let loud = run(
        &p1,
        &[phase(0, 600, 100, 0.01), phase(600, 1200, 100, 0.075)],
    );
    let fired = loud.iter().find(|t| t.change == Change::Firing).unwrap();
    let delay = (fired.event_time - T0) / SEC - 600;
    assert!((0..=30).contains(&delay), "fired {delay} s after the step");
    assert_eq!(fired.severity, Severity::P1);
    assert!(fired.statistic.unwrap() >= 13.8 && fired.onset.unwrap().n >= 20);
    // A 6 % step against 5 % (the benchmark's case): still within a minute.
    let marginal = run(
        &p1,
        &[phase(0, 600, 100, 0.01), phase(600, 1800, 100, 0.06)],
    );
    let fired = marginal
        .iter()
        .find(|t| t.change == Change::Firing)
        .unwrap();
    let delay = (fired.event_time - T0) / SEC - 600;
    assert!(
        (0..=60).contains(&delay),
        "fired {delay} s after a 6 % step"
    );
}

#[test]
fn one_alert_escalates_and_de_escalates_across_the_bands() {
    let only_errors = shipped_rule("error_rate");
    let ts = run(
        &only_errors,
        &[
            phase(0, 600, 50, 0.001),
            phase(600, 1200, 50, 0.03),
            phase(1200, 1500, 50, 0.12),
            phase(1500, 2400, 50, 0.03),
            phase(2400, 3600, 50, 0.001),
        ],
    );
    let s = summary(&ts);
    let kinds: Vec<(Change, Severity)> = s.iter().map(|x| (x.0, x.1)).collect();
    // One alert: it fires (P3 or P2), reaches P1 in the 12 % phase, comes back to P2, resolves.
    assert_eq!(kinds.first().map(|k| k.0), Some(Change::Firing), "{s:?}");
    assert!(kinds.contains(&(Change::Escalated, Severity::P1)), "{s:?}");
    assert!(
        kinds.contains(&(Change::DeEscalated, Severity::P2)),
        "{s:?}"
    );
    assert_eq!(kinds.last().map(|k| k.0), Some(Change::Resolved), "{s:?}");
    assert_eq!(
        kinds.iter().filter(|k| k.0 == Change::Firing).count(),
        1,
        "never a second alert for the same spike: {s:?}"
    );
    let p1 = s.iter().find(|x| x.1 == Severity::P1).unwrap();
    assert!((1200..1230).contains(&p1.2), "P1 at {} s: {s:?}", p1.2);
    let de = s.iter().find(|x| x.0 == Change::DeEscalated).unwrap();
    // The 12 % phase leaves the 5-minute window at 1800 s; the P1 band then stops holding once
    // the window is below 4 % and is kept 2 minutes longer.
    assert!(
        (1500..=2000).contains(&de.2),
        "de-escalated at {} s: {s:?}",
        de.2
    );
    let resolved = s.last().unwrap();
    assert!(
        (2400..=2900).contains(&resolved.2),
        "resolved at {} s: {s:?}",
        resolved.2
    );
}

#[test]
fn few_requests_never_fire() {
    // 12 errors out of 12 requests, the service's only traffic: far past the level
    // (12 · ln 30 = 40.8 ≥ 13.8), but no span holds min_requests = 20 requests.
    let bands = "{ severity = \"P1\", above = 0.05 }";
    let burst = [phase(0, 600, 1, 0.0), phase(600, 612, 1, 1.0)];
    let sparse = |file: &AlertsFile| {
        let mut engine = Engine::new(file).unwrap();
        let mut out = Vec::new();
        for (ts, status, ms) in events(&burst).into_iter().filter(|e| e.0 >= T0 + 600 * SEC) {
            engine.add_request(ts, "svc", status, ms);
            out.extend(engine.advance(ts));
        }
        out.extend(engine.advance(T0 + 3600 * SEC));
        out
    };
    assert!(sparse(&error_rule(bands, "")).is_empty());
    // The same stream with min_requests = 5 fires: the minimum is what held it back.
    let fired = sparse(&error_rule(bands, "min_requests = 5"));
    assert_eq!(fired.first().map(|t| t.change), Some(Change::Firing));
}

#[test]
fn for_makes_a_breach_wait_as_pending() {
    let file = error_rule(
        "{ severity = \"P2\", above = 0.05 }",
        "for = \"5m\"\nkeep_firing_for = \"0s\"",
    );
    let long = summary(&run(
        &file,
        &[
            phase(0, 300, 100, 0.0),
            phase(300, 900, 100, 0.2),
            phase(900, 2000, 100, 0.0),
        ],
    ));
    assert_eq!(long[0].0, Change::Pending, "{long:?}");
    assert_eq!(long[1].0, Change::Firing, "{long:?}");
    assert!(long[1].2 - long[0].2 >= 300, "{long:?}");
    // A breach shorter than `for` only ever pends, then clears (once the share since it began is
    // below 4 %: 30 s at 20 % then 0 %, 150 s later).
    let short = summary(&run(
        &file,
        &[
            phase(0, 300, 100, 0.0),
            phase(300, 330, 100, 0.2),
            phase(330, 2000, 100, 0.0),
        ],
    ));
    let changes: Vec<Change> = short.iter().map(|x| x.0).collect();
    assert!(!changes.contains(&Change::Firing), "{short:?}");
    assert_eq!(
        changes,
        vec![Change::Pending, Change::Resolved],
        "{short:?}"
    );
}

#[test]
fn hysteresis_and_keep_firing_for_hold_a_firing_alert() {
    let bands = "{ severity = \"P1\", above = 0.05 }";
    // 4.5 % is below the threshold but above the resolve level 0.8 × 5 % = 4 %: still firing.
    let held = summary(&run(
        &error_rule(bands, "keep_firing_for = \"0s\""),
        &[
            phase(0, 300, 100, 0.0),
            phase(300, 600, 100, 0.1),
            phase(600, 2400, 100, 0.045),
        ],
    ));
    assert_eq!(held.len(), 1, "{held:?}");
    // At 3 % it resolves, once the breach has left the 5-minute window ...
    let cleared = summary(&run(
        &error_rule(bands, "keep_firing_for = \"0s\""),
        &[
            phase(0, 300, 100, 0.0),
            phase(300, 600, 100, 0.1),
            phase(600, 2400, 100, 0.03),
        ],
    ));
    assert_eq!(cleared.last().unwrap().0, Change::Resolved, "{cleared:?}");
    let at = cleared.last().unwrap().2;
    assert!((600..=900).contains(&at), "{cleared:?}");
    // ... and keep_firing_for = 5m holds it 5 minutes longer.
    let kept = summary(&run(
        &error_rule(bands, "keep_firing_for = \"5m\""),
        &[
            phase(0, 300, 100, 0.0),
            phase(300, 600, 100, 0.1),
            phase(600, 2400, 100, 0.03),
        ],
    ));
    assert_eq!(kept.last().unwrap().2, at + 300, "{kept:?}");
}

#[test]
fn latency_bands_test_the_share_slower_than_their_level() {
    let file = rules(
        "[[rule]]\nname = \"l\"\nkind = \"latency\"\nbands = [\n  { severity = \"P3\", above = \"1s\" },\n  { severity = \"P2\", above = \"2s\" },\n  { severity = \"P1\", above = \"5s\" },\n]\n",
    );
    let slow = |share: f64, ms: f64| Phase {
        slow: share,
        slow_ms: ms,
        ..phase(300, 1200, 50, 0.0)
    };
    // 10 % of requests at 3 s: p95 = 3 s, the P2 band (2 s) but not P1 (5 s).
    let ts = run(&file, &[phase(0, 300, 50, 0.0), slow(0.1, 3000.0)]);
    let firing = ts.iter().find(|t| t.change == Change::Firing).unwrap();
    assert!(firing.severity >= Severity::P3);
    assert!(
        ts.iter().all(|t| t.severity != Severity::P1),
        "{:?}",
        summary(&ts)
    );
    assert!(ts
        .iter()
        .any(|t| t.severity == Severity::P2 && t.change != Change::Resolved));
    // Decided within seconds, while the window is still mostly from before: the share slower
    // than 2 s since the onset is the 10 %, and the window's p95 (nearest rank) reaches 3 000 ms
    // once the window is past the change.
    let p2 = ts.iter().find(|t| t.severity == Severity::P2).unwrap();
    let onset = p2.onset.unwrap();
    assert_eq!(onset.since, T0 + 300 * SEC, "the change began at 300 s");
    let share = onset.bad as f64 / onset.n as f64;
    assert!((share - 0.1).abs() < 0.02, "{onset:?}");
    assert!(p2.event_time - onset.since < 30 * SEC, "{:?}", summary(&ts));
    let mut engine = Engine::new(&file).unwrap();
    for (t, st, ms) in events(&[phase(0, 300, 50, 0.0), slow(0.1, 3000.0)]) {
        engine.add_request(t, "svc", st, ms);
    }
    let later = engine.advance(T0 + 1200 * SEC);
    assert!(later.iter().any(|t| t.change == Change::Firing));
    let family = engine.families.values().next().unwrap();
    let rec = family.transition_record(
        &engine.rules[0],
        "svc",
        T0,
        (Change::Firing, Severity::P2, None, 1),
    );
    assert!(
        (rec.value.unwrap() - 3000.0).abs() < 1e-9,
        "{:?}",
        rec.value
    );
    // 3 % at 3 s: p95 = 100 ms, nothing.
    assert!(run(&file, &[phase(0, 300, 50, 0.0), slow(0.03, 3000.0)]).is_empty());
}

#[test]
fn gauges_fire_after_for_and_resolve_below_the_hysteresis() {
    let cpu = shipped_rule("host_cpu");
    let mut engine = Engine::new(&cpu).unwrap();
    let mut out = Vec::new();
    // a sample every 5 minutes (the demo's scrape): 0.5, then 0.85 from 1 h, 0.75 from 2 h
    // (above 0.9 × 0.8 = 0.72: held), 0.6 from 3 h.
    for k in 0..48 {
        let ts = T0 + k * 300 * SEC;
        let v = match k {
            0..12 => 0.5,
            12..24 => 0.85,
            24..36 => 0.75,
            _ => 0.6,
        };
        engine.add_sample(ts, "cpu_utilization", Some("web-1"), Some("web"), v);
        engine.add_sample(ts, "memory_utilization", Some("web-1"), Some("web"), 0.99);
        out.extend(engine.advance(ts));
    }
    out.extend(engine.advance(T0 + 5 * 3600 * SEC));
    let s = summary(&out);
    let changes: Vec<Change> = s.iter().map(|x| x.0).collect();
    assert_eq!(
        changes,
        vec![Change::Pending, Change::Firing, Change::Resolved],
        "{s:?}"
    );
    assert!(out
        .iter()
        .all(|t| t.entity == "web-1" && t.entity_kind == "host"));
    assert!(s[1].2 - s[0].2 >= 600, "for = 10m: {s:?}");
    assert!(s[2].2 > 3 * 3600, "held above 0.72 until 3 h: {s:?}");
}

#[test]
fn late_events_are_counted_and_left_out() {
    let file = error_rule("{ severity = \"P1\", above = 0.05 }", "");
    let mut engine = Engine::new(&file).unwrap();
    engine.add_request(T0 + 50 * SEC, "svc", 200, 1.0);
    engine.add_request(T0 + 100 * SEC, "svc", 200, 1.0);
    engine.advance(T0 + 100 * SEC);
    assert_eq!(engine.watermark(), Some(T0 + 90 * SEC), "newest − lateness");
    engine.add_request(T0 + 85 * SEC, "svc", 500, 1.0);
    assert_eq!(engine.late, 1);
    engine.add_request(T0 + 95 * SEC, "svc", 500, 1.0);
    assert_eq!(engine.late, 1, "a step after the watermark is still open");
}

#[test]
fn batching_and_advance_cadence_do_not_change_the_decision() {
    let f = AlertsFile::builtin();
    let evs = events(&[
        phase(0, 600, 20, 0.002),
        phase(600, 1500, 20, 0.2),
        phase(1500, 3000, 20, 0.002),
    ]);
    let mut every_event = Engine::new(&f).unwrap();
    let mut a = Vec::new();
    for (ts, st, ms) in &evs {
        every_event.add_request(*ts, "svc", *st, *ms);
        a.extend(every_event.advance(*ts));
    }
    a.extend(every_event.advance(T0 + 7200 * SEC));
    // batches of 1 000 events, the clock advanced once per batch (as the live observer does)
    let mut batched = Engine::new(&f).unwrap();
    let mut b = Vec::new();
    for chunk in evs.chunks(1000) {
        for (ts, st, ms) in chunk {
            batched.add_request(*ts, "svc", *st, *ms);
        }
        b.extend(batched.advance(chunk.last().unwrap().0));
    }
    b.extend(batched.advance(T0 + 7200 * SEC));
    assert!(!a.is_empty());
    assert_eq!(a, b);
}

#[test]
fn a_service_whose_events_stop_is_unavailable_and_a_quiet_one_is_not() {
    let only = shipped_rule("unavailable");
    let mut engine = Engine::new(&only).unwrap();
    let mut out = Vec::new();
    // `api` serves 10 requests a second throughout (its events move the watermark); `svc`
    // serves 10 a second for 20 minutes, then nothing for 10 minutes, then again; `quiet`
    // serves one request every 2 minutes.
    for s in 0..2400i64 {
        for k in 0..10 {
            let ts = T0 + s * SEC + k * SEC / 10;
            engine.add_request(ts, "api", 200, 10.0);
            if !(1200..1800).contains(&s) {
                engine.add_request(ts, "svc", 200, 10.0);
            }
        }
        if s % 120 == 0 {
            engine.add_request(T0 + s * SEC, "quiet", 200, 10.0);
        }
        out.extend(engine.advance(T0 + s * SEC));
    }
    let s: Vec<(String, Change, i64)> = out
        .iter()
        .map(|t| (t.entity.clone(), t.change, (t.event_time - T0) / SEC))
        .collect();
    // fires once the 1-minute window holds no success (1260 s), P1; resolves after the events
    // return (1800 s) and keep_firing_for (1 min) has passed
    assert_eq!(s.len(), 2, "{s:?}");
    assert_eq!((s[0].0.as_str(), s[0].1), ("svc", Change::Firing), "{s:?}");
    assert!((1260..=1270).contains(&s[0].2), "{s:?}");
    assert_eq!(out[0].severity, Severity::P1);
    assert!(
        out[0].value.unwrap() > 500.0,
        "expected ~600 requests: {:?}",
        out[0].value
    );
    assert_eq!(
        (s[1].0.as_str(), s[1].1),
        ("svc", Change::Resolved),
        "{s:?}"
    );
    assert!((1800..=1870).contains(&s[1].2), "{s:?}");
}

#[test]
fn a_service_failing_every_request_is_unavailable() {
    let only = shipped_rule("unavailable");
    let ts = run(
        &only,
        &[
            phase(0, 900, 5, 0.0),
            phase(900, 1200, 5, 1.0),
            phase(1200, 1500, 5, 0.0),
        ],
    );
    let s = summary(&ts);
    assert_eq!(
        s.first().map(|x| (x.0, x.1)),
        Some((Change::Firing, Severity::P1)),
        "{s:?}"
    );
    assert!((960..=970).contains(&s[0].2), "{s:?}");
    // resolved once successes are back (1200 s) and keep_firing_for (1 min) has passed. (The
    // helper then moves the clock 30 minutes without any event, which a real stream never does:
    // with no other service to show the pipeline alive, that reads as this one going silent.)
    assert_eq!(s[1].0, Change::Resolved, "{s:?}");
    assert!((1200..=1270).contains(&s[1].2), "{s:?}");
}

#[test]
fn a_service_busy_at_this_time_of_day_is_expected_busy_then_and_quiet_otherwise() {
    // a daily batch: 10 requests a second 12:00–12:10 on three days, nothing in between; on the
    // fourth day at 12:00 every request fails
    let day = 86_400;
    let noon = 12 * 3600;
    let only = shipped_rule("unavailable");
    let mut phases: Vec<Phase> = (0..3)
        .map(|d| phase(d * day + noon, d * day + noon + 600, 10, 0.0))
        .collect();
    phases.push(phase(3 * day + noon, 3 * day + noon + 300, 5, 1.0));
    let s = summary(&run(&only, &phases));
    // The first day has no day before it: the hour before is the reference, and the batch's end
    // at 12:10 reads as the service going silent (P1 at 12:11, resolved by the next success).
    assert_eq!(s[0], (Change::Firing, Severity::P1, noon + 660), "{s:?}");
    assert_eq!(s[1].0, Change::Resolved, "{s:?}");
    // From the second day on, the same minutes of the previous days are the reference: the
    // batch's end is expected (no page on days 1 and 2), and on day 3 the 1-minute window ending
    // 12:01:00 is the first to hold only failures where the previous days' same minute (12:00)
    // held 600 requests each: P1.
    let later: Vec<_> = s.iter().filter(|x| x.2 >= day + noon + 600).collect();
    assert_eq!(
        later.first().copied(),
        Some(&(Change::Firing, Severity::P1, 3 * day + noon + 60)),
        "{s:?}"
    );
    assert_eq!(
        later.iter().filter(|x| x.0 == Change::Firing).count(),
        1,
        "{s:?}"
    );
    // day 3's batch runs as usual, and failures come at 23:50, a time of day that had no
    // traffic before: nothing was expected then, no page after the first day
    let mut quiet = phases[..3].to_vec();
    quiet.push(phase(3 * day + noon, 3 * day + noon + 600, 10, 0.0));
    quiet.push(phase(
        3 * day + 2 * noon - 600,
        3 * day + 2 * noon - 300,
        5,
        1.0,
    ));
    let s = summary(&run(&only, &quiet));
    assert!(
        s.iter().all(|x| x.0 != Change::Firing || x.2 < day),
        "{s:?}"
    );
    // day 3's batch does not run at all (the service's later events move the clock): its
    // absence at the minutes the batch always ran pages
    let mut missing = phases[..3].to_vec();
    missing.push(phase(
        3 * day + 2 * noon - 600,
        3 * day + 2 * noon - 300,
        5,
        0.0,
    ));
    let s = summary(&run(&only, &missing));
    assert!(
        s.contains(&(Change::Firing, Severity::P1, 3 * day + noon + 60)),
        "{s:?}"
    );
}

/// An availability SLO of 99 % (budget 1 %) with the SRE Workbook's three burn-rate alerts.
const SLO: &str = "[[slo]]\nname = \"availability\"\nobjective = 0.99\n";

#[test]
fn slo_burn_rate_alerts_fire_when_both_windows_burn_and_match_hand_computed_values() {
    // 10 requests a second: 7 h without errors (the history covers every short window), 1 h at
    // 20 % (burn rate 20), then healthy again. Errors are spread exactly (every 5th request), so
    // every count below is exact.
    let t = run(
        &rules(SLO),
        &[
            phase(0, 25_200, 10, 0.0),
            phase(25_200, 28_800, 10, 0.2),
            phase(28_800, 54_000, 10, 0.0),
        ],
    );
    let s = summary(&t);
    // P3, 1× over 3 d and 6 h: the long window holds the whole history (it is shorter), so at
    // the end e of a step its burn is 2(e − 25 200) / (10 e) / 0.01 ≥ 1 ⇔ e ≥ 26 526.3 (the 6 h
    // window, from the mark at or before e − 6 h, burns more): the step ending at 26 530 s
    // (2660 bad of 265 300: burn 1.0026).
    assert_eq!(s[0], (Change::Firing, Severity::P3, 26_530), "{s:?}");
    assert!((t[0].value.unwrap() - 2660.0 / 265_300.0 / 0.01).abs() < 1e-9);
    // P1, 14.4× over 1 h and 5 min: with d = e − 25 200 the long window runs from the minute
    // mark 21 600 + 60⌊d/60⌋, so 2d ≥ 1.44 (3600 + d mod 60): the first step end that meets it
    // is d = 2625 (e = 27 825; 2620 misses by 0.8 s). Long: 5250 bad of 36 450 → 14.403; short
    // (5 min, from the mark 27 480): 690 of 3450 → 20.0. P2 (6× over 6 h) never holds: at most
    // 7200 bad in 216 000+ → 3.3.
    assert_eq!(s[1], (Change::Escalated, Severity::P1, 27_825), "{s:?}");
    let p1 = &t[1];
    assert!((p1.value.unwrap() - 5250.0 / 36_450.0 / 0.01).abs() < 1e-9);
    assert!((p1.statistic.unwrap() - 20.0).abs() < 1e-9);
    assert_eq!((p1.requests, p1.bad), (36_450, 5250));
    assert!((p1.window_s - 3600.0).abs() < 1e-9);
    assert_eq!(
        p1.labels.get("slo").map(String::as_str),
        Some("availability")
    );
    // After the errors stop the 5-minute window clears P1 within minutes and, 5 minutes later
    // (keep_firing_for), the alert is back to P3; P3 stops holding once the 6-hour window has
    // left most errors behind: 2 (28 800 − m) < 0.01 · 10 · (e − m) with m the mark at or before
    // e − 6 h ⇔ m > ~27 720, e ≈ 49 300, and resolves 5 minutes later. One alert throughout.
    let changes: Vec<(Change, Severity)> = s.iter().map(|x| (x.0, x.1)).collect();
    assert_eq!(
        changes,
        vec![
            (Change::Firing, Severity::P3),
            (Change::Escalated, Severity::P1),
            (Change::DeEscalated, Severity::P3),
            (Change::Resolved, Severity::P3),
        ],
        "{s:?}"
    );
    assert!((29_100..29_200).contains(&s[2].2), "{s:?}");
    assert!((49_500..49_800).contains(&s[3].2), "{s:?}");
}

#[test]
fn latency_slos_count_slow_requests_and_a_service_slo_ignores_other_services() {
    // 90 % of requests within 500 ms (budget 10 %), P2 at 6.5× over 1 h and 5 min only: 2000 s
    // of fast requests, then every request takes 800 ms (burn 10)
    let file = "[[slo]]\nname = \"fast\"\nobjective = 0.9\nlatency = \"500ms\"\nburn = [{ severity = \"P2\", factor = 6.5, long = \"1h\", short = \"5m\" }]\n";
    let slow = Phase {
        slow: 1.0,
        slow_ms: 800.0,
        ..phase(2000, 6000, 5, 0.0)
    };
    let phases = [phase(0, 2000, 5, 0.0), slow];
    let t = run(&rules(file), &phases);
    // long window from the mark m = 60⌊(e − 3600)/60⌋: 5 (e − 2000) ≥ 0.65 · 5 (e − m) first at
    // e = 4380 (m = 780): 11 900 slow of 18 000 → burn 6.61; short: 1500 of 1500 → 10
    assert_eq!(
        summary(&t).first(),
        Some(&(Change::Firing, Severity::P2, 4380)),
        "{:?}",
        summary(&t)
    );
    assert_eq!((t[0].requests, t[0].bad), (18_000, 11_900));
    assert!((t[0].statistic.unwrap() - 10.0).abs() < 1e-9);
    // the same SLO for another service: nothing for `svc`
    let other = file.replace("objective", "service = \"checkout\"\nobjective");
    assert!(run(&rules(&other), &phases).is_empty());
}

#[test]
fn bad_slos_name_the_line_and_what_was_expected() {
    let parse = |t: &str| {
        AlertsFile::parse(t, Path::new("a.toml"))
            .map(|_| ())
            .unwrap_err()
            .to_string()
    };
    let never = "[[slo]]\nname = \"s\"\nobjective = 0.9\nburn = [{ severity = \"P1\", factor = 14.4, long = \"1h\", short = \"5m\" }]\n";
    let e = parse(never);
    assert!(
        e.contains("can never fire") && e.contains("slo[0].burn[0].factor"),
        "{e}"
    );
    let order = "[[slo]]\nname = \"s\"\nobjective = 0.999\nburn = [\n  { severity = \"P1\", factor = 14.4, long = \"1h\", short = \"5m\" },\n  { severity = \"P2\", factor = 6, long = \"6h\", short = \"30m\" },\n]\n";
    let e = parse(order);
    assert!(
        e.contains("increasing order") && e.contains("line 6"),
        "{e}"
    );
    let short = "[[slo]]\nname = \"s\"\nobjective = 0.999\nburn = [{ severity = \"P2\", factor = 6, long = \"1h\", short = \"2h\" }]\n";
    assert!(parse(short).contains("shorter than long"));
    let objective = "[[slo]]\nname = \"s\"\nobjective = 99.9\n";
    let e = parse(objective);
    assert!(e.contains("objective 99.9") && e.contains("line 3"), "{e}");
    let twice = format!("{SLO}{SLO}");
    assert!(parse(&twice).contains("defined twice"));
}

#[test]
fn a_restored_slo_alert_keeps_firing_until_its_short_windows_refill_then_resolves() {
    let file = rules(SLO);
    let mut engine = Engine::new(&file).unwrap();
    engine.restore(&crate::alert::state::Active {
        rule: "availability".into(),
        entity_kind: "service".into(),
        entity: "svc".into(),
        change: "firing".into(),
        severity: Severity::P2,
        event_time: T0,
        onset: None,
    });
    // healthy traffic after the restart: each band is judged once the history covers its short
    // window — P2 (30 min) then, P3 (6 h) later — and clears: each is de-escalated or resolved
    // keep_firing_for (5 min) after it stops holding; never a new page
    let mut out = Vec::new();
    for (ts, status, ms) in events(&[phase(0, 7 * 3600, 10, 0.0)]) {
        engine.add_request(ts, "svc", status, ms);
        out.extend(engine.advance(ts));
    }
    let s = summary(&out);
    assert_eq!(s.len(), 2, "{s:?}");
    assert_eq!(
        (s[0].0, s[0].1),
        (Change::DeEscalated, Severity::P3),
        "{s:?}"
    );
    assert!((2100..2200).contains(&s[0].2), "{s:?}");
    assert_eq!((s[1].0, s[1].1), (Change::Resolved, Severity::P3), "{s:?}");
    assert!((21_900..22_000).contains(&s[1].2), "{s:?}");
}
