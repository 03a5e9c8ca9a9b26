//! What each service is sent, built to its published contract:
//!
//! * PagerDuty Events API v2 (developer.pagerduty.com, "Send an Alert Event"): `routing_key`,
//!   `event_action` trigger/resolve, a `dedup_key` stable per alert (≤ 255 characters), and for a
//!   trigger `payload.summary` (≤ 1024), `source`, `severity` (critical, error, warning, info),
//!   `timestamp`, `custom_details` with the evidence, and `links` to the runbook.
//! * Slack incoming webhooks with Block Kit (api.slack.com/block-kit): `text` (the
//!   notification's fallback), a header block (plain text ≤ 150), section blocks (mrkdwn ≤ 3000,
//!   at most 10 fields of ≤ 2000), at most 50 blocks; `&`, `<` and `>` escaped in mrkdwn.
//! * Alertmanager API v2 (`POST /api/v2/alerts`, its OpenAPI spec): an array of alerts with
//!   `labels` (names `[a-zA-Z_][a-zA-Z0-9_]*`), `annotations`, `startsAt`, `endsAt` (set to the
//!   resolution time when resolved) and `generatorURL`.
//! * A generic webhook: `{"version": "1", "source": "postlaunch", "group": …, "alerts": […]}`.
//! * E-mail: a subject, a plain-text part and an HTML part (rendered with MiniJinja, every value
//!   escaped).
//!
//! Strings that came from events (services, hosts, endpoints, labels) are escaped for the
//! format that carries them.

use serde_json::{json, Value};

use super::Alert;
use crate::alert::Severity;

/// The alerts of one entity sent together (one notification), with the channel's view of them.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub entity_kind: String,
    pub entity: String,
    pub alerts: Vec<Alert>,
}

impl Group {
    /// "P1 service checkout: 2 alert(s) firing", or "Resolved: service checkout".
    pub fn headline(&self) -> String {
        let firing = self.alerts.iter().filter(|a| a.firing).count();
        let top = self
            .alerts
            .iter()
            .map(|a| a.severity)
            .max()
            .unwrap_or(Severity::P4);
        if firing == 0 {
            format!("Resolved: {} {}", self.entity_kind, self.entity)
        } else {
            format!(
                "{top} {} {}: {firing} alert(s) firing",
                self.entity_kind, self.entity
            )
        }
    }
}

fn rfc3339(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub use crate::report::format::truncate;

/// The value as a person reads it: a share in %, a latency in ms/s, a burn rate ×.
pub fn show_value(a: &Alert, v: f64) -> String {
    match a.rule.as_str() {
        _ if a.labels.contains_key("slo") => format!("{v:.1}× burn"),
        "error_rate" => format!("{:.2} %", v * 100.0),
        "latency" | "latency_anomaly" => {
            if v >= 1000.0 {
                format!("{:.2} s", v / 1000.0)
            } else {
                format!("{v:.0} ms")
            }
        }
        _ if v.abs() < 1.0 && v != 0.0 => format!("{v:.3}"),
        _ => format!("{v:.1}"),
    }
}

/// One line: "P1 error_rate on checkout: 7.00 % (threshold 5.00 %)".
pub fn summary(a: &Alert) -> String {
    let state = if a.firing { "" } else { "RESOLVED " };
    let value = a
        .value
        .map_or(String::from("no value"), |v| show_value(a, v));
    format!(
        "{state}{} {} on {} {}: {value} (threshold {})",
        a.severity,
        a.rule,
        a.entity_kind,
        a.entity,
        show_value(a, a.threshold)
    )
}

/// PagerDuty's severity for ours.
pub fn pagerduty_severity(s: Severity) -> &'static str {
    match s {
        Severity::P1 => "critical",
        Severity::P2 => "error",
        Severity::P3 => "warning",
        Severity::P4 => "info",
    }
}

/// One PagerDuty event for `a`: a trigger while it fires, a resolve when it does not.
pub fn pagerduty(a: &Alert, routing_key: &str, runbook_base: Option<&str>) -> Value {
    let dedup = truncate(&a.key(), 255);
    if !a.firing {
        return json!({
            "routing_key": routing_key,
            "event_action": "resolve",
            "dedup_key": dedup,
        });
    }
    let mut links = Vec::new();
    if let Some(r) = &a.runbook {
        let href = match runbook_base {
            Some(base) => format!("{}/{}", base.trim_end_matches('/'), r),
            None => r.clone(),
        };
        links.push(json!({ "href": href, "text": "Runbook" }));
    }
    json!({
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": dedup,
        "client": "postlaunch",
        "payload": {
            "summary": truncate(&summary(a), 1024),
            "source": truncate(&a.entity, 255),
            "severity": pagerduty_severity(a.severity),
            "timestamp": rfc3339(a.event_time),
            "component": a.entity,
            "group": a.entity_kind,
            "class": a.rule,
            "custom_details": {
                "change": a.change,
                "value": a.value,
                "threshold": a.threshold,
                "window_s": a.window_s,
                "requests": a.requests,
                "bad": a.bad,
                "since": rfc3339(a.since),
                "labels": a.labels,
                "annotations": a.annotations,
            },
        },
        "links": links,
    })
}

/// Escapes `&`, `<` and `>` for Slack's mrkdwn and plain text.
pub fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// One Slack message for a group: a header, one section per alert (at most 45; the rest are
/// counted), the runbook links.
pub fn slack(g: &Group, runbook_base: Option<&str>) -> Value {
    let headline = g.headline();
    let mut blocks = vec![json!({
        "type": "header",
        "text": { "type": "plain_text", "text": truncate(&slack_escape(&headline), 150) }
    })];
    for a in g.alerts.iter().take(45) {
        let state = if a.firing {
            ":red_circle:"
        } else {
            ":white_check_mark:"
        };
        let value = a.value.map_or(String::from("—"), |v| show_value(a, v));
        let mut fields = vec![
            format!("*Severity*\n{}", a.severity),
            format!("*Rule*\n{}", slack_escape(&a.rule)),
            format!(
                "*Value*\n{value} (threshold {})",
                show_value(a, a.threshold)
            ),
            format!(
                "*Since*\n<!date^{}^{{date_short_pretty}} {{time}}|{}>",
                a.since / 1_000_000,
                rfc3339(a.since)
            ),
        ];
        if let Some(r) = &a.runbook {
            let link = match runbook_base {
                Some(base) => format!(
                    "<{}/{}|{}>",
                    base.trim_end_matches('/'),
                    slack_escape(r),
                    slack_escape(r)
                ),
                None => format!("`{}`", slack_escape(r)),
            };
            fields.push(format!("*Runbook*\n{link}"));
        }
        blocks.push(json!({
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": truncate(&format!("{state} *{}* {}", a.change, slack_escape(&summary(a))), 3000),
            },
            "fields": fields
                .into_iter()
                .map(|f| json!({ "type": "mrkdwn", "text": truncate(&f, 2000) }))
                .collect::<Vec<_>>(),
        }));
    }
    if g.alerts.len() > 45 {
        blocks.push(json!({
            "type": "context",
            "elements": [{ "type": "mrkdwn", "text": format!("and {} more", g.alerts.len() - 45) }]
        }));
    }
    json!({ "text": slack_escape(&headline), "blocks": blocks })
}

/// A valid Alertmanager label name from `k` (other characters become `_`).
pub fn label_name(k: &str) -> String {
    let mut out: String = k
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// The alerts of a group for Alertmanager's `POST /api/v2/alerts`; `now` (µs) ends resolved
/// ones.
pub fn alertmanager(g: &Group, now: i64, generator: &str) -> Value {
    let alerts: Vec<Value> = g
        .alerts
        .iter()
        .map(|a| {
            let mut labels = serde_json::Map::new();
            for (k, v) in &a.labels {
                labels.insert(label_name(k), json!(v));
            }
            labels.insert("alertname".into(), json!(a.rule));
            labels.insert("severity".into(), json!(a.severity.to_string()));
            labels.insert(label_name(&a.entity_kind), json!(a.entity));
            labels.insert("source".into(), json!("postlaunch"));
            let mut annotations = serde_json::Map::new();
            for (k, v) in &a.annotations {
                annotations.insert(label_name(k), json!(v));
            }
            annotations.insert("summary".into(), json!(summary(a)));
            if let Some(r) = &a.runbook {
                annotations.insert("runbook".into(), json!(r));
            }
            let mut alert = json!({
                "labels": labels,
                "annotations": annotations,
                "startsAt": rfc3339(a.since),
                "generatorURL": generator,
            });
            if !a.firing {
                alert["endsAt"] = json!(rfc3339(now));
            }
            alert
        })
        .collect();
    Value::Array(alerts)
}

/// The generic webhook's body.
pub fn webhook(g: &Group) -> Value {
    json!({
        "version": "1",
        "source": "postlaunch",
        "group": { "entity_kind": g.entity_kind, "entity": g.entity },
        "alerts": g.alerts,
    })
}

const EMAIL_HTML: &str = r#"<!doctype html>
<html><body style="font-family: sans-serif">
<h2>{{ headline }}</h2>
<table cellpadding="4" style="border-collapse: collapse">
<tr><th align="left">Severity</th><th align="left">Change</th><th align="left">Rule</th><th align="left">Value</th><th align="left">Threshold</th><th align="left">Since</th><th align="left">Runbook</th></tr>
{% for a in alerts %}<tr><td>{{ a.severity }}</td><td>{{ a.change }}</td><td>{{ a.rule }}</td><td>{{ a.value }}</td><td>{{ a.threshold }}</td><td>{{ a.since }}</td><td>{{ a.runbook }}</td></tr>
{% endfor %}</table>
<p>{{ entity_kind }} <b>{{ entity }}</b> · sent by postlaunch</p>
</body></html>
"#;

/// An e-mail for a group: (subject, plain text, HTML).
pub fn email(g: &Group) -> (String, String, String) {
    let headline = format!("[postlaunch] {}", g.headline());
    // a subject is one line
    let subject = truncate(&headline.replace(['\r', '\n'], " "), 200);
    let mut text = format!("{headline}\n\n");
    let rows: Vec<Value> = g
        .alerts
        .iter()
        .map(|a| {
            let value = a.value.map_or(String::from("—"), |v| show_value(a, v));
            text.push_str(&format!(
                "- {} ({}), since {}{}\n",
                summary(a),
                a.change,
                rfc3339(a.since),
                a.runbook
                    .as_ref()
                    .map_or(String::new(), |r| format!(", runbook {r}"))
            ));
            json!({
                "severity": a.severity.to_string(),
                "change": a.change,
                "rule": a.rule,
                "value": value,
                "threshold": show_value(a, a.threshold),
                "since": rfc3339(a.since),
                "runbook": a.runbook.clone().unwrap_or_default(),
            })
        })
        .collect();
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    let html = env
        .render_str(
            EMAIL_HTML,
            minijinja::Value::from(minijinja::value::Serde(json!({
                "headline": headline,
                "alerts": rows,
                "entity_kind": g.entity_kind,
                "entity": g.entity,
            }))),
        )
        .unwrap_or_else(|e| format!("<pre>could not render: {e}</pre>"));
    (subject, text, html)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::route::tests::alert;

    #[test]
    fn pagerduty_events_follow_the_events_api_v2_contract() {
        let a = alert("error_rate", "checkout", Severity::P1, true);
        let e = pagerduty(&a, "R0UT1NGKEY", None);
        assert_eq!(e["event_action"], "trigger");
        assert_eq!(e["dedup_key"], "postlaunch/error_rate/service/checkout");
        assert_eq!(e["payload"]["severity"], "critical");
        assert_eq!(e["payload"]["source"], "checkout");
        assert_eq!(e["links"][0]["href"], "runbooks/error_rate.md");
        let s = e["payload"]["summary"].as_str().unwrap();
        assert_eq!(
            s,
            "P1 error_rate on service checkout: 7.00 % (threshold 5.00 %)"
        );
        assert!(
            chrono::DateTime::parse_from_rfc3339(e["payload"]["timestamp"].as_str().unwrap())
                .is_ok()
        );
        // the resolve carries the same dedup_key and nothing else
        let r = pagerduty(
            &alert("error_rate", "checkout", Severity::P1, false),
            "R0UT1NGKEY",
            None,
        );
        assert_eq!(r["event_action"], "resolve");
        assert_eq!(r["dedup_key"], e["dedup_key"]);
        assert!(r.get("payload").is_none());
        // with [notify] runbook_url, the runbook is a link under it
        let e = pagerduty(&a, "k", Some("https://git.example.com/shop/blob/main/"));
        assert_eq!(
            e["links"][0]["href"],
            "https://git.example.com/shop/blob/main/runbooks/error_rate.md"
        );
        // limits: a long entity is cut to the contract's sizes
        let long = alert("error_rate", &"x".repeat(2000), Severity::P2, true);
        let e = pagerduty(&long, "k", None);
        assert!(e["payload"]["summary"].as_str().unwrap().chars().count() <= 1024);
        assert!(e["dedup_key"].as_str().unwrap().chars().count() <= 255);
    }

    #[test]
    fn slack_and_email_escape_strings_from_events() {
        let evil = alert(
            "latency",
            "<script>alert(1)</script> & co",
            Severity::P2,
            true,
        );
        let g = Group {
            entity_kind: "service".into(),
            entity: evil.entity.clone(),
            alerts: vec![evil],
        };
        let m = slack(&g, None).to_string();
        assert!(!m.contains("<script>"), "{m}");
        assert!(m.contains("&lt;script&gt;"), "{m}");
        let (subject, text, html) = email(&g);
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(subject.starts_with("[postlaunch] P2 service"));
        assert!(text.contains("P2 latency on service"));
    }

    #[test]
    fn alertmanager_alerts_have_valid_labels_and_end_when_resolved() {
        let mut a = alert("error_rate", "checkout", Severity::P1, true);
        a.labels.insert("team-name".into(), "payments".into());
        let g = Group {
            entity_kind: "service".into(),
            entity: "checkout".into(),
            alerts: vec![a.clone()],
        };
        let v = alertmanager(&g, 5_000_000, "http://localhost/");
        let l = &v[0]["labels"];
        assert_eq!(l["alertname"], "error_rate");
        assert_eq!(l["severity"], "P1");
        assert_eq!(l["service"], "checkout");
        assert_eq!(l["team_name"], "payments");
        assert!(v[0].get("endsAt").is_none());
        a.firing = false;
        let g = Group {
            alerts: vec![a],
            ..g
        };
        let v = alertmanager(&g, 5_000_000, "http://localhost/");
        assert_eq!(v[0]["endsAt"], "1970-01-01T00:00:05.000Z");
        assert_eq!(label_name("9lives"), "_9lives");
    }
}
