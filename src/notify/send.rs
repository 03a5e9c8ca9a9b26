//! Sending: an HTTP POST of JSON (PagerDuty, Slack, Alertmanager, webhooks) with `ureq`, an
//! e-mail with `lettre`; each outcome classified for the retry policy of [`super::worker`]: 2xx
//! sent; 429 (with its `Retry-After`), 5xx, timeouts and connection errors retried; other 4xx
//! failed for good, with the response logged (retrying a request the service refused does not
//! help).

use std::time::Duration;

use serde_json::Value;

use super::config::{Email, Tls};

/// What an attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Delivered; the HTTP status (250 for SMTP).
    Sent { status: u16 },
    /// Try again, after `after` when the service said so (`Retry-After`).
    Retry {
        status: Option<u16>,
        reason: String,
        after: Option<Duration>,
    },
    /// Refused for good.
    Failed { status: Option<u16>, reason: String },
}

/// An HTTP client with the timeout, which hands back 4xx/5xx responses instead of errors.
pub fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .user_agent(concat!("postlaunch/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

/// POSTs `body` as JSON to `url`. `what` names the channel in messages (never the URL, which
/// may be a secret).
pub fn post_json(agent: &ureq::Agent, url: &str, body: &Value) -> Outcome {
    let resp = match agent.post(url).send_json(body) {
        Ok(r) => r,
        Err(e) => {
            return Outcome::Retry {
                status: None,
                reason: e.to_string(),
                after: None,
            }
        }
    };
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let text: String = resp
        .into_body()
        .read_to_string()
        .unwrap_or_default()
        .chars()
        .take(500)
        .collect();
    match status {
        200..=299 => Outcome::Sent { status },
        429 | 500..=599 | 408 => Outcome::Retry {
            status: Some(status),
            reason: format!("HTTP {status}: {text}"),
            after: retry_after,
        },
        _ => Outcome::Failed {
            status: Some(status),
            reason: format!("HTTP {status}: {text}"),
        },
    }
}

/// Sends an e-mail (plain text and HTML alternatives) to every recipient of `cfg`.
pub fn email(cfg: &Email, subject: &str, text: &str, html: &str, timeout: Duration) -> Outcome {
    use lettre::message::{Mailbox, MultiPart};
    use lettre::transport::smtp::authentication::Credentials;
    use lettre::{Message, SmtpTransport, Transport};
    let failed = |reason: String| Outcome::Failed {
        status: None,
        reason,
    };
    let from: Mailbox = match cfg.from.parse() {
        Ok(m) => m,
        Err(e) => return failed(format!("from `{}`: {e}", cfg.from)),
    };
    let mut b = Message::builder().from(from).subject(subject);
    for to in &cfg.to {
        match to.parse::<Mailbox>() {
            Ok(m) => b = b.to(m),
            Err(e) => return failed(format!("to `{to}`: {e}")),
        }
    }
    let msg = match b.multipart(MultiPart::alternative_plain_html(
        text.to_string(),
        html.to_string(),
    )) {
        Ok(m) => m,
        Err(e) => return failed(format!("building the message: {e}")),
    };
    let builder = match cfg.tls {
        Tls::Starttls => SmtpTransport::starttls_relay(&cfg.host),
        Tls::Tls => SmtpTransport::relay(&cfg.host),
        Tls::None => Ok(SmtpTransport::builder_dangerous(&cfg.host)),
    };
    let mut builder = match builder {
        Ok(b) => b.port(cfg.port).timeout(Some(timeout)),
        Err(e) => return failed(format!("SMTP host `{}`: {e}", cfg.host)),
    };
    if let (Some(u), Some(p)) = (&cfg.username, &cfg.password) {
        builder = builder.credentials(Credentials::new(u.clone(), p.0.clone()));
    }
    match builder.build().send(&msg) {
        Ok(r) => Outcome::Sent {
            status: r.code().to_string().parse().unwrap_or(250),
        },
        Err(e) if e.is_permanent() => failed(format!("SMTP: {e}")),
        Err(e) => Outcome::Retry {
            status: None,
            reason: format!("SMTP: {e}"),
            after: None,
        },
    }
}
