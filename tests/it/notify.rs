//! Notifications against local receivers that check each request against the service's
//! published contract and answer with its real status codes (`scripts/receivers.py`: PagerDuty
//! Events API v2, Slack incoming webhooks), through `postlaunch alerts test`, which sends a test
//! alert and its resolution through the real path: queue, payload, sending, retries.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::{run, sql};

/// A receiver of `scripts/receivers.py` on a free port of 127.0.0.1, stopped (by its PID) when
/// dropped.
pub struct Receiver {
    child: Child,
    pub port: u16,
    out: PathBuf,
}

impl Receiver {
    pub fn start(service: &str, dir: &Path, script: &str) -> Receiver {
        let out = dir.join(format!("{service}.jsonl"));
        let mut child = Command::new("python3")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/receivers.py"))
            .args([service, "--out", out.to_str().unwrap(), "--script", script])
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs scripts/receivers.py");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("listening ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("receiver said `{line}`"));
        Receiver { child, port, out }
    }

    /// What it received: each request's body and the status it answered.
    pub fn received(&self) -> Vec<(u16, Value)> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                (v["status"].as_u64().unwrap() as u16, v["body"].clone())
            })
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A 32-character routing key, as PagerDuty's integrations have.
pub const KEY: &str = "0123456789abcdef0123456789abcdef";

fn rules(dir: &Path, pagerduty: &Receiver, slack: &Receiver, key: &str) -> PathBuf {
    let p = dir.join("alerts.toml");
    std::fs::write(
        &p,
        format!(
            "[notify]\n[notify.pagerduty]\nurl = \"http://127.0.0.1:{}/v2/enqueue\"\nrouting_key = \"{key}\"\n[notify.slack]\nwebhook_url = \"http://127.0.0.1:{}/services/T0/B0/x\"\n",
            pagerduty.port, slack.port
        ),
    )
    .unwrap();
    p
}

fn test_channel(rules: &Path, lake: &Path, channel: &str) -> std::process::Output {
    run(&[
        "alerts",
        "test",
        "--lake",
        lake.to_str().unwrap(),
        "--rules",
        rules.to_str().unwrap(),
        "--channel",
        channel,
        "--timeout",
        "30s",
    ])
}

#[test]
fn pagerduty_gets_a_trigger_and_its_resolve_to_the_contract_and_retries_429_and_5xx() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    std::fs::create_dir_all(&lake).unwrap();
    // the first two requests fail: 429 (Retry-After: 1) and 500; then the receiver answers
    let pd = Receiver::start("pagerduty", dir.path(), "429,500");
    let slack = Receiver::start("slack", dir.path(), "");
    let rules = rules(dir.path(), &pd, &slack, KEY);
    let out = test_channel(&rules, &lake, "pagerduty");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = pd.received();
    let statuses: Vec<u16> = got.iter().map(|(s, _)| *s).collect();
    assert_eq!(statuses, vec![429, 500, 202, 202], "{got:?}");
    let (trigger, resolve) = (&got[2].1, &got[3].1);
    assert_eq!(trigger["event_action"], "trigger");
    // the test alert has the highest severity the channel hears: P1 for PagerDuty
    assert_eq!(trigger["payload"]["severity"], "critical");
    assert_eq!(resolve["event_action"], "resolve");
    assert_eq!(trigger["dedup_key"], resolve["dedup_key"]);
    // every attempt is in the `notifications` table: two retries, two sent
    let rows = sql(
        &lake,
        "SELECT status, count(*) AS n FROM notifications WHERE channel = 'pagerduty' GROUP BY status ORDER BY status",
    );
    let counts: Vec<(String, i64)> = rows
        .iter()
        .map(|r| {
            (
                r["status"].as_str().unwrap().to_string(),
                r["n"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        vec![("retry".into(), 2), ("sent".into(), 2)],
        "{rows:?}"
    );
    assert!(
        stdout.contains("pagerduty trigger 3: sent (HTTP 202)"),
        "{stdout}"
    );
    // Slack: one message for the alert, one for its resolution, both to the contract
    let out = test_channel(&rules, &lake, "slack");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let got = slack.received();
    assert_eq!(
        got.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        vec![200, 200],
        "{got:?}"
    );
    assert!(got[0].1["blocks"][0]["text"]["text"]
        .as_str()
        .unwrap()
        .contains("postlaunch-test"));
    assert!(got[1].1["text"].as_str().unwrap().starts_with("Resolved"));
}

#[test]
fn a_refused_notification_is_not_retried_and_bad_settings_exit_78() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let pd = Receiver::start("pagerduty", dir.path(), "");
    let slack = Receiver::start("slack", dir.path(), "");
    // PagerDuty refuses a routing key that is not 32 characters: 400, no retry
    let rules = rules(dir.path(), &pd, &slack, "short");
    let out = test_channel(&rules, &lake, "pagerduty");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("failed (HTTP 400)") && stdout.contains("routing_key"),
        "{stdout}"
    );
    let got = pd.received();
    assert!(
        got.iter().all(|(s, _)| *s == 400) && got.len() <= 2,
        "{got:?}"
    );
    // a channel that is not configured, a secret from an unset variable: 78, naming what is
    // wrong and never the secret
    let out = test_channel(&rules, &lake, "email");
    assert_eq!(out.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&out.stderr).contains("[notify.email]"));
    let secret = dir.path().join("secret.toml");
    std::fs::write(
        &secret,
        "[notify.slack]\nwebhook_url = \"${POSTLAUNCH_TEST_UNSET_WEBHOOK}\"\n",
    )
    .unwrap();
    let out = test_channel(&secret, &lake, "slack");
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("POSTLAUNCH_TEST_UNSET_WEBHOOK") && err.contains("notify.slack.webhook_url"),
        "{err}"
    );
    let plain = dir.path().join("plain.toml");
    std::fs::write(
        &plain,
        "[notify.slack]\nwebhook_url = \"hooks.slack.com/services/SECRET\"\n",
    )
    .unwrap();
    let out = run(&["validate", plain.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("http://") && !err.contains("SECRET"), "{err}");
}
