//! `[notify]` of `pipelines/alerts.toml`: the channels, which severities each hears (the
//! protocol's routing: P1/P2 PagerDuty, P2/P3 Slack, P3/P4 e-mail), grouping, inhibition and the
//! repeat interval. Parsed once with every check done at load time (`postlaunch validate` runs
//! it); a channel without its table is off.
//!
//! Secrets (routing keys, webhook URLs, SMTP passwords) are written as `${NAME}` and read from
//! the environment at load time; they are kept in [`Secret`], which never prints its value.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::Channel;
use crate::alert::Severity;
use crate::config::{de_duration, expand_env, ConfigFile, Invalid};

/// The built-in defaults.
pub mod defaults {
    use std::time::Duration;

    use crate::alert::Severity;

    /// Alerts of one service within 10 s go out as one notification.
    pub fn group_wait() -> Duration {
        Duration::from_secs(10)
    }
    /// A P1 is sent at once: its group does not wait.
    pub fn immediate() -> Vec<Severity> {
        vec![Severity::P1]
    }
    /// A still-firing alert is notified again every 4 hours.
    pub fn repeat_interval() -> Duration {
        Duration::from_secs(4 * 3600)
    }
    /// One attempt's timeout.
    pub fn timeout() -> Duration {
        Duration::from_secs(10)
    }
    /// Retries stop after an hour (the notification is recorded as failed).
    pub fn give_up_after() -> Duration {
        Duration::from_secs(3600)
    }
    /// A channel failing this long raises its own alert on the others.
    pub fn failing_after() -> Duration {
        Duration::from_secs(180)
    }
    pub fn yes() -> bool {
        true
    }
    pub fn pagerduty_url() -> String {
        "https://events.pagerduty.com/v2/enqueue".into()
    }
    pub fn pagerduty() -> Vec<Severity> {
        vec![Severity::P1, Severity::P2]
    }
    pub fn slack() -> Vec<Severity> {
        vec![Severity::P2, Severity::P3]
    }
    pub fn email() -> Vec<Severity> {
        vec![Severity::P3, Severity::P4]
    }
    pub fn all() -> Vec<Severity> {
        vec![Severity::P1, Severity::P2, Severity::P3, Severity::P4]
    }
    pub fn smtp_port() -> u16 {
        587
    }
    /// The protocol's inhibitions: a P1 of a service mutes its lower alerts; `unavailable` mutes
    /// the error-rate and latency alerts of the same service.
    pub fn inhibit() -> Vec<super::Inhibit> {
        vec![
            super::Inhibit {
                source_severities: vec![Severity::P1],
                source_rules: Vec::new(),
                target_severities: vec![Severity::P2, Severity::P3, Severity::P4],
                target_rules: Vec::new(),
            },
            super::Inhibit {
                source_severities: Vec::new(),
                source_rules: vec!["unavailable".into()],
                target_severities: Vec::new(),
                target_rules: vec!["error_rate".into(), "latency".into()],
            },
        ]
    }
}

/// A value from the environment that is never printed.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"***\"")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
        Ok(Secret(String::deserialize(d)?))
    }
}

/// PagerDuty Events API v2.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagerDuty {
    /// The events endpoint (tests point it at a local receiver).
    #[serde(default = "defaults::pagerduty_url")]
    pub url: String,
    /// The integration's routing key, e.g. "${PAGERDUTY_ROUTING_KEY}".
    pub routing_key: Secret,
    #[serde(default = "defaults::pagerduty")]
    pub severities: Vec<Severity>,
}

/// A Slack incoming webhook.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slack {
    /// e.g. "${SLACK_WEBHOOK_URL}" (the URL is the secret).
    pub webhook_url: Secret,
    #[serde(default = "defaults::slack")]
    pub severities: Vec<Severity>,
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Tls {
    /// Plain connection upgraded with STARTTLS (port 587).
    #[default]
    Starttls,
    /// TLS from the start (port 465).
    Tls,
    /// No encryption: a local relay only.
    None,
}

/// E-mail over SMTP.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Email {
    pub host: String,
    #[serde(default = "defaults::smtp_port")]
    pub port: u16,
    #[serde(default)]
    pub tls: Tls,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<Secret>,
    pub from: String,
    pub to: Vec<String>,
    #[serde(default = "defaults::email")]
    pub severities: Vec<Severity>,
}

/// Alertmanager's API v2 (`POST /api/v2/alerts`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alertmanager {
    /// The base URL, e.g. "http://127.0.0.1:9093".
    pub url: String,
    #[serde(default = "defaults::all")]
    pub severities: Vec<Severity>,
}

/// A generic JSON webhook.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    pub url: Secret,
    #[serde(default = "defaults::all")]
    pub severities: Vec<Severity>,
}

/// An inhibition: while an alert matching the source is firing on an entity, the alerts of the
/// same entity matching the target are not notified (they still change state and are stored).
/// An empty list matches anything.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inhibit {
    #[serde(default)]
    pub source_severities: Vec<Severity>,
    #[serde(default)]
    pub source_rules: Vec<String>,
    #[serde(default)]
    pub target_severities: Vec<Severity>,
    #[serde(default)]
    pub target_rules: Vec<String>,
}

/// `[notify]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    #[serde(default = "defaults::group_wait", deserialize_with = "de_duration")]
    pub group_wait: Duration,
    /// Severities that do not wait for `group_wait`: a group holding a firing alert of one of
    /// them goes out at once (default P1 — "a P1 pages within seconds"); alerts of the same
    /// group arriving later go out as their own notification.
    #[serde(default = "defaults::immediate")]
    pub immediate: Vec<Severity>,
    #[serde(
        default = "defaults::repeat_interval",
        deserialize_with = "de_duration"
    )]
    pub repeat_interval: Duration,
    #[serde(default = "defaults::yes")]
    pub send_resolved: bool,
    #[serde(default = "defaults::timeout", deserialize_with = "de_duration")]
    pub timeout: Duration,
    #[serde(default = "defaults::give_up_after", deserialize_with = "de_duration")]
    pub give_up_after: Duration,
    #[serde(default = "defaults::failing_after", deserialize_with = "de_duration")]
    pub channel_failing_after: Duration,
    #[serde(default)]
    pub pagerduty: Option<PagerDuty>,
    #[serde(default)]
    pub slack: Option<Slack>,
    #[serde(default)]
    pub email: Option<Email>,
    #[serde(default)]
    pub alertmanager: Option<Alertmanager>,
    #[serde(default)]
    pub webhook: Option<Webhook>,
    #[serde(default = "defaults::inhibit")]
    pub inhibit: Vec<Inhibit>,
    /// Where the runbooks are read, e.g. "https://github.com/acme/shop/blob/main": a rule's
    /// `runbook = "runbooks/latency.md"` becomes a link under it in PagerDuty and Slack (without
    /// it, the path is shown).
    #[serde(default)]
    pub runbook_url: Option<String>,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            group_wait: defaults::group_wait(),
            immediate: defaults::immediate(),
            repeat_interval: defaults::repeat_interval(),
            send_resolved: true,
            timeout: defaults::timeout(),
            give_up_after: defaults::give_up_after(),
            channel_failing_after: defaults::failing_after(),
            pagerduty: None,
            slack: None,
            email: None,
            alertmanager: None,
            webhook: None,
            inhibit: defaults::inhibit(),
            runbook_url: None,
        }
    }
}

impl NotifyConfig {
    /// The channels configured, with the severities each hears.
    pub fn channels(&self) -> Vec<(Channel, &[Severity])> {
        let mut out: Vec<(Channel, &[Severity])> = Vec::new();
        if let Some(c) = &self.pagerduty {
            out.push((Channel::Pagerduty, &c.severities));
        }
        if let Some(c) = &self.slack {
            out.push((Channel::Slack, &c.severities));
        }
        if let Some(c) = &self.email {
            out.push((Channel::Email, &c.severities));
        }
        if let Some(c) = &self.alertmanager {
            out.push((Channel::Alertmanager, &c.severities));
        }
        if let Some(c) = &self.webhook {
            out.push((Channel::Webhook, &c.severities));
        }
        out
    }

    /// The channels that hear `severity`.
    pub fn route(&self, severity: Severity) -> Vec<Channel> {
        self.channels()
            .into_iter()
            .filter(|(_, s)| s.contains(&severity))
            .map(|(c, _)| c)
            .collect()
    }

    /// Replaces `${NAME}` in every secret and URL by the environment's value.
    fn expand(&mut self) -> Result<(), Invalid> {
        let env = |v: &mut String, key: &str| -> Result<(), Invalid> {
            *v = expand_env(v, key).map_err(|e| Invalid::at(format!("notify.{key}"), e))?;
            Ok(())
        };
        if let Some(c) = &mut self.pagerduty {
            env(&mut c.url, "pagerduty.url")?;
            env(&mut c.routing_key.0, "pagerduty.routing_key")?;
        }
        if let Some(c) = &mut self.slack {
            env(&mut c.webhook_url.0, "slack.webhook_url")?;
        }
        if let Some(c) = &mut self.email {
            env(&mut c.host, "email.host")?;
            if let Some(p) = &mut c.password {
                env(&mut p.0, "email.password")?;
            }
            if let Some(u) = &mut c.username {
                env(u, "email.username")?;
            }
        }
        if let Some(c) = &mut self.alertmanager {
            env(&mut c.url, "alertmanager.url")?;
        }
        if let Some(c) = &mut self.webhook {
            env(&mut c.url.0, "webhook.url")?;
        }
        Ok(())
    }

    fn check(&self) -> Result<(), Invalid> {
        let url = |v: &str, key: &str| -> Result<(), Invalid> {
            if v.starts_with("http://") || v.starts_with("https://") {
                Ok(())
            } else {
                // a secret URL is not echoed: only its scheme is wrong
                Err(Invalid::at(
                    key,
                    "expected an http:// or https:// URL (its value is not shown: it may be a secret)",
                ))
            }
        };
        let severities = |s: &[Severity], key: &str| -> Result<(), Invalid> {
            if s.is_empty() {
                Err(Invalid::at(
                    key,
                    "severities = []: this channel would hear nothing; expected e.g. [\"P1\", \"P2\"] (or remove the channel)",
                ))
            } else {
                Ok(())
            }
        };
        if let Some(c) = &self.pagerduty {
            url(&c.url, "notify.pagerduty.url")?;
            severities(&c.severities, "notify.pagerduty.severities")?;
            if c.routing_key.0.trim().is_empty() {
                return Err(Invalid::at(
                    "notify.pagerduty.routing_key",
                    "empty routing key: expected the integration's key, e.g. \"${PAGERDUTY_ROUTING_KEY}\"",
                ));
            }
        }
        if let Some(c) = &self.slack {
            url(&c.webhook_url.0, "notify.slack.webhook_url")?;
            severities(&c.severities, "notify.slack.severities")?;
        }
        if let Some(c) = &self.email {
            severities(&c.severities, "notify.email.severities")?;
            for (i, a) in std::iter::once(&c.from).chain(&c.to).enumerate() {
                if a.parse::<lettre::message::Mailbox>().is_err() {
                    let key = if i == 0 {
                        "notify.email.from".to_string()
                    } else {
                        format!("notify.email.to[{}]", i - 1)
                    };
                    return Err(Invalid::at(
                        key,
                        format!("`{a}` is not an e-mail address: expected e.g. \"oncall@example.com\" or \"On-call <oncall@example.com>\""),
                    ));
                }
            }
            if c.to.is_empty() {
                return Err(Invalid::at(
                    "notify.email.to",
                    "to = []: expected at least one recipient",
                ));
            }
            if c.host.trim().is_empty() {
                return Err(Invalid::at(
                    "notify.email.host",
                    "empty host: expected the SMTP server, e.g. \"smtp.example.com\"",
                ));
            }
            if c.password.is_some() && c.username.is_none() {
                return Err(Invalid::at(
                    "notify.email.username",
                    "a password without a username: expected both (or neither)",
                ));
            }
        }
        if let Some(c) = &self.alertmanager {
            url(&c.url, "notify.alertmanager.url")?;
            severities(&c.severities, "notify.alertmanager.severities")?;
        }
        if let Some(c) = &self.webhook {
            url(&c.url.0, "notify.webhook.url")?;
            severities(&c.severities, "notify.webhook.severities")?;
        }
        if let Some(u) = &self.runbook_url {
            url(u, "notify.runbook_url")?;
        }
        if self.group_wait > Duration::from_secs(600) {
            return Err(Invalid::at(
                "notify.group_wait",
                format!(
                    "group_wait {:?}: expected at most 10 minutes (a page must not wait longer)",
                    self.group_wait
                ),
            ));
        }
        if self.repeat_interval < Duration::from_secs(60) {
            return Err(Invalid::at(
                "notify.repeat_interval",
                format!(
                    "repeat_interval {:?}: expected at least a minute",
                    self.repeat_interval
                ),
            ));
        }
        Ok(())
    }
}

/// The rules file as the notification layer reads it: only `[notify]` (the rest is the alert
/// engine's, [`crate::alert::AlertsFile`]).
#[derive(Debug, Clone, Deserialize)]
pub struct NotifyFile {
    #[serde(default)]
    pub notify: NotifyConfig,
    #[serde(flatten)]
    _rules: toml::Table,
}

impl NotifyFile {
    /// Loads `[notify]` of the rules file at `path`, its `${NAME}`s expanded.
    pub fn load_notify(path: &Path) -> Result<NotifyConfig, crate::config::ConfigError> {
        Self::expanded(NotifyFile::load(path)?, path)
    }

    /// The same, from the text of the file.
    pub fn parse_notify(
        text: &str,
        path: &Path,
    ) -> Result<NotifyConfig, crate::config::ConfigError> {
        Self::expanded(NotifyFile::parse(text, path)?, path)
    }

    /// The config with its `${NAME}`s expanded (validation has expanded a copy already, so this
    /// fails only when the environment changed in between).
    fn expanded(file: NotifyFile, path: &Path) -> Result<NotifyConfig, crate::config::ConfigError> {
        let mut c = file.notify;
        c.expand().map_err(
            |Invalid { key, message }| crate::config::ConfigError::Invalid {
                kind: Self::KIND,
                path: path.to_path_buf(),
                line: None,
                key,
                message,
            },
        )?;
        Ok(c)
    }
}

impl ConfigFile for NotifyFile {
    const KIND: &'static str = "alerts file";
    type Context = ();

    fn validate(&self, _: &()) -> Result<(), Invalid> {
        let mut c = self.notify.clone();
        c.expand()?;
        c.check()
    }
}
