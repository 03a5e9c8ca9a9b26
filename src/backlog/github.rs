//! Publishing the top of the backlog as GitHub issues through the REST API
//! (docs.github.com/en/rest/issues/issues): the issues labelled `optimization` are listed
//! (every page, by the `Link` header), each candidate's hidden marker
//! (`<!-- postlaunch-backlog-id: BL-… -->`) finds its issue, and a re-run updates it (`PATCH`)
//! instead of opening a duplicate; a closed issue stays closed unless `reopen`.
//!
//! The API as it behaves: rate limits (403/429 with `Retry-After`, or `x-ratelimit-remaining: 0`
//! until `x-ratelimit-reset`; a secondary limit without either waits a minute) and 5xx are
//! retried up to [`ATTEMPTS`] times, each wait at most `max_wait`; 401, 403, 404 and 410 are
//! configuration errors with what to check; 422's validation errors are shown. The token goes in
//! the `Authorization` header only: it is never printed, logged or sent to another host.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{json, Value};

/// Tries of one request (the first and the retries).
pub const ATTEMPTS: u32 = 6;

/// The marker that ties an issue to a candidate.
pub fn marker(id: &str) -> String {
    format!("<!-- postlaunch-backlog-id: {id} -->")
}

/// The candidate id in an issue body's marker.
pub fn marker_id(body: &str) -> Option<&str> {
    let rest = body.split("<!-- postlaunch-backlog-id: ").nth(1)?;
    let id = rest.split(" -->").next()?;
    crate::impact::config::is_backlog_id(id).then_some(id)
}

/// An issue to create or update.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub id: String,
    pub title: String,
    pub body: String,
    pub labels: Vec<String>,
}

/// What publishing did for one candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    pub id: String,
    pub number: u64,
    pub url: String,
    /// `created`, `updated`, `reopened` or `left closed`.
    pub action: &'static str,
}

/// Errors of talking to GitHub; `is_config` ones are settings to fix (exit 78).
#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    #[error("{0}")]
    Config(String),
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    Failed(String),
}

impl GithubError {
    pub fn is_config(&self) -> bool {
        matches!(self, GithubError::Config(_))
    }
}

/// An issue of a candidate found in the repository.
struct Existing {
    number: u64,
    state: String,
    url: String,
    labels: Vec<String>,
}

/// Whether the token may be sent to `api`: https, or plain http to this machine only.
pub fn safe_api_url(api: &str) -> Result<(), String> {
    let uri: ureq::http::Uri = api
        .parse()
        .map_err(|e| format!("`{api}` is not a URL ({e})"))?;
    let host = uri.host().unwrap_or_default();
    let local = matches!(host, "127.0.0.1" | "localhost" | "[::1]" | "::1");
    let has_userinfo = uri.authority().is_some_and(|a| a.as_str().contains('@'));
    match uri.scheme_str() {
        _ if has_userinfo => Err(format!("`{api}` has a user name in it; give the API root only")),
        Some("https") if !host.is_empty() => Ok(()),
        Some("http") if local => Ok(()),
        _ => Err(format!(
            "`{api}` must be https:// (plain http only to 127.0.0.1 or localhost): the token travels to it"
        )),
    }
}

/// A client for one repository.
pub struct Client {
    agent: ureq::Agent,
    api: String,
    repo: String,
    token: String,
    max_wait: Duration,
    /// Where progress and retries are said (stderr in the CLI).
    pub say: Box<dyn Fn(&str) + Send>,
}

/// An answer: status, the `Link` header's next page, the JSON body.
struct Answer {
    next: Option<String>,
    json: Value,
}

impl Client {
    /// `api`: `https://api.github.com` or a GitHub Enterprise `https://HOST/api/v3`; `repo`:
    /// `OWNER/NAME`.
    pub fn new(api: &str, repo: &str, token: String, max_wait: Duration) -> Client {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(30)))
            .http_status_as_error(false)
            .user_agent(concat!("postlaunch/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Client {
            agent,
            api: api.trim_end_matches('/').to_string(),
            repo: repo.to_string(),
            token,
            max_wait,
            say: Box::new(|_| {}),
        }
    }

    /// Creates or updates one issue per draft; see the module's doc.
    pub fn publish(&self, drafts: &[Draft], reopen: bool) -> Result<Vec<Published>, GithubError> {
        let existing = self.existing()?;
        let mut out = Vec::new();
        for d in drafts {
            let done = match existing.get(&d.id) {
                Some(e) if e.state == "closed" && !reopen => Published {
                    id: d.id.clone(),
                    number: e.number,
                    url: e.url.clone(),
                    action: "left closed",
                },
                Some(e) => {
                    // labels people added stay; the priority is ours to move
                    let mut labels: Vec<String> = e
                        .labels
                        .iter()
                        .filter(|l| !l.starts_with("priority: ") && !d.labels.contains(l))
                        .cloned()
                        .collect();
                    labels.extend(d.labels.iter().cloned());
                    let mut patch = json!({"title": d.title, "body": d.body, "labels": labels});
                    let action = if e.state == "closed" {
                        patch["state"] = json!("open");
                        "reopened"
                    } else {
                        "updated"
                    };
                    let path = format!("/repos/{}/issues/{}", self.repo, e.number);
                    let a = self.send("PATCH", &self.url(&path), Some(&patch))?;
                    self.published(d, &a.json, action)
                }
                None => {
                    let issue = json!({"title": d.title, "body": d.body, "labels": d.labels});
                    let path = format!("/repos/{}/issues", self.repo);
                    let a = self.send("POST", &self.url(&path), Some(&issue))?;
                    self.published(d, &a.json, "created")
                }
            };
            (self.say)(&format!(
                "{} #{} {} ({})",
                done.action, done.number, done.url, d.id
            ));
            out.push(done);
        }
        Ok(out)
    }

    fn published(&self, d: &Draft, issue: &Value, action: &'static str) -> Published {
        Published {
            id: d.id.clone(),
            number: issue["number"].as_u64().unwrap_or(0),
            url: issue["html_url"].as_str().unwrap_or_default().to_string(),
            action,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.api)
    }

    /// Every issue labelled `optimization` with a marker, by candidate id.
    fn existing(&self) -> Result<HashMap<String, Existing>, GithubError> {
        let mut found = HashMap::new();
        let mut next = Some(self.url(&format!(
            "/repos/{}/issues?state=all&labels=optimization&per_page=100",
            self.repo
        )));
        let mut pages = 0;
        while let Some(url) = next.take() {
            // the token goes only to the API it was given for
            if !url.starts_with(&format!("{}/", self.api)) {
                return Err(GithubError::Failed(format!(
                    "GitHub's `Link` header points to another host (`{url}`); not following it"
                )));
            }
            let a = self.send("GET", &url, None)?;
            pages += 1;
            for issue in a.json.as_array().into_iter().flatten() {
                if issue.get("pull_request").is_some() {
                    continue;
                }
                if let Some(id) = issue["body"].as_str().and_then(marker_id) {
                    let labels = issue["labels"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|l| l["name"].as_str().or(l.as_str()).map(str::to_string))
                        .collect();
                    // the newest issue of an id wins (the list is newest first)
                    found.entry(id.to_string()).or_insert(Existing {
                        number: issue["number"].as_u64().unwrap_or(0),
                        state: issue["state"].as_str().unwrap_or("open").to_string(),
                        url: issue["html_url"].as_str().unwrap_or_default().to_string(),
                        labels,
                    });
                }
            }
            next = a.next;
        }
        (self.say)(&format!(
            "{} existing backlog issue(s) in {} ({pages} page(s))",
            found.len(),
            self.repo
        ));
        Ok(found)
    }

    /// GitHub's headers: the token, the media type, the API version.
    fn headers<B>(&self, r: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        r.header("Authorization", format!("Bearer {}", self.token))
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28")
    }

    /// One request, retried on rate limits, 5xx and connection errors.
    fn send(&self, method: &str, url: &str, body: Option<&Value>) -> Result<Answer, GithubError> {
        let path = url.strip_prefix(&self.api).unwrap_or(url);
        let mut backoff = Duration::from_secs(1);
        for attempt in 1..=ATTEMPTS {
            let resp = match method {
                "GET" => self.headers(self.agent.get(url)).call(),
                "POST" => self
                    .headers(self.agent.post(url))
                    .send_json(body.unwrap_or(&Value::Null)),
                _ => self
                    .headers(self.agent.patch(url))
                    .send_json(body.unwrap_or(&Value::Null)),
            };
            let last = attempt == ATTEMPTS;
            let resp = match resp {
                Ok(r) => r,
                Err(e) if !last => {
                    (self.say)(&format!(
                        "{method} {path}: {e}; retrying in {} s (attempt {attempt} of {ATTEMPTS})",
                        backoff.as_secs()
                    ));
                    std::thread::sleep(backoff);
                    backoff *= 2;
                    continue;
                }
                Err(e) => {
                    return Err(GithubError::Failed(format!(
                        "{method} {path}: {e} (after {ATTEMPTS} attempts)"
                    )))
                }
            };
            let status = resp.status().as_u16();
            let header = |name: &str| {
                resp.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            let (retry_after, remaining, reset, link) = (
                header("retry-after"),
                header("x-ratelimit-remaining"),
                header("x-ratelimit-reset"),
                header("link"),
            );
            let text = resp.into_body().read_to_string().unwrap_or_default();
            let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            let message = json["message"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| text.chars().take(300).collect());
            if (200..300).contains(&status) {
                return Ok(Answer {
                    next: link.as_deref().and_then(next_link),
                    json,
                });
            }
            let limited = status == 429
                || (status == 403
                    && (retry_after.is_some()
                        || remaining.as_deref() == Some("0")
                        || message.to_lowercase().contains("rate limit")));
            let wait = if limited {
                Some(rate_limit_wait(
                    retry_after.as_deref(),
                    remaining.as_deref(),
                    reset.as_deref(),
                ))
            } else if status >= 500 {
                Some(backoff)
            } else {
                None
            };
            match wait {
                Some(w) if !last && w <= self.max_wait => {
                    (self.say)(&format!(
                        "{method} {path}: HTTP {status} ({}); waiting {} s (attempt {attempt} of {ATTEMPTS})",
                        if limited { "rate limited" } else { "server error" },
                        w.as_secs_f64().ceil()
                    ));
                    std::thread::sleep(w);
                    backoff *= 2;
                    continue;
                }
                Some(w) if limited => {
                    return Err(GithubError::Failed(format!(
                        "{method} {path}: GitHub's rate limit (HTTP {status}: {message}); it asks to wait {} s, more than --max-wait {} s or after {attempt} attempts — run again later",
                        w.as_secs_f64().ceil(),
                        self.max_wait.as_secs()
                    )))
                }
                _ => {}
            }
            return Err(self.refused(method, path, status, &message, &json));
        }
        unreachable!("the last attempt returns")
    }

    /// The error of a refused request, with what to check.
    fn refused(
        &self,
        method: &str,
        path: &str,
        status: u16,
        message: &str,
        json: &Value,
    ) -> GithubError {
        let repo = &self.repo;
        match status {
            401 => GithubError::Config(format!(
                "GitHub refused the token in GITHUB_TOKEN (HTTP 401: {message}): check that it is valid, not expired, and allowed to write issues of `{repo}`"
            )),
            403 => GithubError::Config(format!(
                "GitHub forbids {method} {path} (HTTP 403: {message}): the token needs the `issues: write` permission (fine-grained) or the `repo` scope on `{repo}`"
            )),
            404 => GithubError::Config(format!(
                "`{repo}` was not found at {} (HTTP 404 on {method} {path}): check --repo OWNER/NAME and --api-url; a private repository the token cannot see also answers 404",
                self.api
            )),
            410 => GithubError::Config(format!(
                "issues are disabled in `{repo}` (HTTP 410: {message})"
            )),
            422 => {
                let errors: Vec<String> = json["errors"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|e| match e.as_str() {
                        Some(s) => s.to_string(),
                        None => format!(
                            "{} {} {}{}",
                            e["resource"].as_str().unwrap_or(""),
                            e["field"].as_str().unwrap_or(""),
                            e["code"].as_str().unwrap_or(""),
                            e["message"].as_str().map(|m| format!(": {m}")).unwrap_or_default()
                        )
                        .trim()
                        .to_string(),
                    })
                    .collect();
                GithubError::Validation(format!(
                    "GitHub rejected {method} {path} (HTTP 422: {message}): {}",
                    if errors.is_empty() { "no details".into() } else { errors.join("; ") }
                ))
            }
            _ => GithubError::Failed(format!("{method} {path}: HTTP {status}: {message}")),
        }
    }
}

/// How long a rate-limited request waits: `Retry-After` seconds; else until
/// `x-ratelimit-reset` when `x-ratelimit-remaining` is 0; else a minute (GitHub: "wait for at
/// least one minute before retrying").
pub fn rate_limit_wait(
    retry_after: Option<&str>,
    remaining: Option<&str>,
    reset: Option<&str>,
) -> Duration {
    if let Some(s) = retry_after.and_then(|v| v.trim().parse::<u64>().ok()) {
        return Duration::from_secs(s);
    }
    if remaining == Some("0") {
        if let Some(reset) = reset.and_then(|v| v.trim().parse::<i64>().ok()) {
            let now = chrono::Utc::now().timestamp();
            return Duration::from_secs((reset - now).max(0) as u64 + 1);
        }
    }
    Duration::from_secs(60)
}

/// The `rel="next"` URL of a `Link` header.
pub fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| p.trim() == "rel=\"next\"")
            .then(|| {
                url.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_say_what_to_check_and_show_github_s_validation_errors() {
        let c = Client::new(
            "https://api.github.com",
            "acme/shop",
            "ghp_secret".into(),
            Duration::from_secs(1),
        );
        // GitHub's documented 422 body ("Validation failed" of the REST API's client errors)
        let body: Value = serde_json::from_str(
            r#"{"message": "Validation Failed", "errors": [{"resource": "Issue", "field": "title", "code": "missing_field"}, {"resource": "Label", "code": "custom", "field": "name", "message": "name is too long"}]}"#,
        )
        .unwrap();
        let e = c.refused(
            "POST",
            "/repos/acme/shop/issues",
            422,
            "Validation Failed",
            &body,
        );
        assert!(!e.is_config());
        assert_eq!(
            e.to_string(),
            "GitHub rejected POST /repos/acme/shop/issues (HTTP 422: Validation Failed): Issue title missing_field; Label name custom: name is too long"
        );
        for (status, says) in [
            (401, "GITHUB_TOKEN"),
            (403, "issues: write"),
            (404, "`acme/shop` was not found"),
            (410, "disabled"),
        ] {
            let e = c.refused("GET", "/x", status, "m", &Value::Null);
            assert!(
                e.is_config() && e.to_string().contains(says),
                "{status}: {e}"
            );
            assert!(!e.to_string().contains("ghp_secret"));
        }
    }

    #[test]
    fn link_headers_and_markers_parse_as_github_writes_them() {
        // GitHub's documented example ("Using pagination in the REST API")
        let link = "<https://api.github.com/repositories/1300192/issues?page=2>; rel=\"prev\", <https://api.github.com/repositories/1300192/issues?page=4>; rel=\"next\", <https://api.github.com/repositories/1300192/issues?page=515>; rel=\"last\", <https://api.github.com/repositories/1300192/issues?page=1>; rel=\"first\"";
        assert_eq!(
            next_link(link).as_deref(),
            Some("https://api.github.com/repositories/1300192/issues?page=4")
        );
        assert_eq!(next_link("<https://x/a?page=1>; rel=\"prev\""), None);
        let body = format!("text\n{}\nmore", marker("BL-0123abcd"));
        assert_eq!(marker_id(&body), Some("BL-0123abcd"));
        assert_eq!(
            marker_id("&lt;!-- postlaunch-backlog-id: BL-0123abcd --&gt;"),
            None
        );
        assert_eq!(
            marker_id("<!-- postlaunch-backlog-id: BL-nothex!! -->"),
            None
        );
        assert_eq!(
            rate_limit_wait(Some("3"), None, None),
            Duration::from_secs(3)
        );
        assert_eq!(
            rate_limit_wait(None, Some("1"), Some("0")),
            Duration::from_secs(60)
        );
        let soon = (chrono::Utc::now().timestamp() + 5).to_string();
        let w = rate_limit_wait(None, Some("0"), Some(&soon));
        assert!(
            w >= Duration::from_secs(5) && w <= Duration::from_secs(6),
            "{w:?}"
        );
    }
}
