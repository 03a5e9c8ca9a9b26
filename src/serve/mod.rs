//! `postlaunch serve`: the dashboards over HTTP (axum). Read-only: GET and HEAD only, nothing is
//! written to the lake. Each request reads the lake as it is (a session kept open while the
//! lake's tables stay the same, reopened when a table folder appears or goes; no file listing
//! is cached), so a page reflects the latest commit of an ingest or an hourly run.
//!
//! What it guards: binds 127.0.0.1 unless told otherwise, and anywhere else only with a token
//! ([`Options::token`]: `Authorization: Bearer …`, or a cookie set by `/login?token=…`); a strict
//! Content-Security-Policy (scripts and styles only from the server's own files, no inline code,
//! nothing fetched from elsewhere); every query parameter checked by the page
//! ([`crate::view::dashboard`]): a bad one is a 400 page with the reason, an unknown service or
//! incident a 404 page. Every response says how long its parts took in `Server-Timing`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::Utc;

use crate::alert::config::AlertsFile;
use crate::experiment::config::Experiment;
use crate::incident::config::IncidentsConfig;
use crate::query::{lake_tables, LakeSession};
use crate::schema::Catalog;
use crate::view::dashboard::{self as dash, DashboardError, Page, Range};

/// The Content-Security-Policy of every response.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The cookie `/login?token=…` sets.
const COOKIE: &str = "postlaunch_token";

/// What the server serves.
pub struct Options {
    pub lake: PathBuf,
    pub catalog: Catalog,
    pub listen: SocketAddr,
    /// Required of every request when set.
    pub token: Option<String>,
    pub rules: AlertsFile,
    pub incidents: IncidentsConfig,
    pub experiments: Option<Vec<Experiment>>,
}

/// Errors of starting the server.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("--listen {0} is not a loopback address: anyone who reaches it could read the lake. Give --auth-token TOKEN (or POSTLAUNCH_SERVE_TOKEN) to require a token, or listen on 127.0.0.1")]
    Exposed(SocketAddr),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Query(#[from] crate::query::QueryError),
    #[error("serving: {0}")]
    Io(#[from] std::io::Error),
}

/// The open session and the tables it was opened with.
struct Cached {
    tables: Vec<String>,
    session: Arc<LakeSession>,
}

struct AppState {
    opts: Options,
    session: tokio::sync::Mutex<Option<Cached>>,
}

impl AppState {
    /// The session over the lake as it is now.
    async fn session(&self) -> Result<Arc<LakeSession>, crate::query::QueryError> {
        let tables = lake_tables(&self.opts.lake);
        let mut cached = self.session.lock().await;
        if let Some(c) = cached.as_ref().filter(|c| c.tables == tables) {
            return Ok(c.session.clone());
        }
        let session = Arc::new(LakeSession::open(&self.opts.lake, &self.opts.catalog).await?);
        *cached = Some(Cached {
            tables,
            session: session.clone(),
        });
        Ok(session)
    }
}

/// Checks the options: a token where the address is not a loopback one.
pub fn check(opts: &Options) -> Result<(), ServeError> {
    if !opts.listen.ip().is_loopback() && opts.token.as_deref().is_none_or(str::is_empty) {
        return Err(ServeError::Exposed(opts.listen));
    }
    Ok(())
}

/// The routes.
fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route(
            "/assets/style.css",
            get(|| asset("text/css", crate::view::document::STYLE)),
        )
        .route(
            "/assets/dashboard.css",
            get(|| asset("text/css", include_str!("../view/templates/dashboard.css"))),
        )
        .route(
            "/assets/dashboard.js",
            get(|| {
                asset(
                    "text/javascript",
                    include_str!("../view/templates/dashboard.js"),
                )
            }),
        )
        .route(
            "/assets/favicon.svg",
            get(|| {
                asset(
                    "image/svg+xml",
                    include_str!("../view/templates/favicon.svg"),
                )
            }),
        )
        .route("/login", get(login))
        .route("/", get(page))
        .route("/{page}", get(page))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

/// Binds and serves until `shutdown` completes; `ready` gets the bound address.
pub async fn serve(
    opts: Options,
    ready: impl FnOnce(SocketAddr),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    check(&opts)?;
    // Fails early on a lake that is not there; the first request reuses it.
    let tables = lake_tables(&opts.lake);
    let session = Arc::new(LakeSession::open(&opts.lake, &opts.catalog).await?);
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .map_err(|source| ServeError::Bind {
            addr: opts.listen,
            source,
        })?;
    ready(listener.local_addr()?);
    let state = Arc::new(AppState {
        opts,
        session: tokio::sync::Mutex::new(Some(Cached { tables, session })),
    });
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

async fn asset(kind: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        body,
    )
        .into_response()
}

/// Compares in time independent of where the strings first differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn token_of(headers: &HeaderMap) -> Option<String> {
    if let Some(t) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return Some(t.trim().to_string());
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| {
            c.trim()
                .strip_prefix(&format!("{COOKIE}="))
                .map(String::from)
        })
        .next()
}

/// Every response: the token check, the security headers, the request's log line.
async fn guard(
    State(state): State<Arc<AppState>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let started = Instant::now();
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    let allowed = match &state.opts.token {
        None => true,
        Some(t) => path == "/login" || token_of(req.headers()).is_some_and(|g| same(&g, t)),
    };
    let mut res = if allowed {
        next.run(req).await
    } else {
        (
            StatusCode::UNAUTHORIZED,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "This server requires a token: send `Authorization: Bearer TOKEN`, or open /login?token=TOKEN once in the browser.\n",
        )
            .into_response()
    };
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    tracing::info!(
        %method,
        path = %crate::report::format::truncate(&path, 200),
        status = res.status().as_u16(),
        ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    res
}

#[derive(serde::Deserialize)]
struct LoginQuery {
    token: Option<String>,
}

/// `/login?token=…`: sets the token cookie and goes to the overview.
async fn login(State(state): State<Arc<AppState>>, q: Query<LoginQuery>) -> Response {
    match (&state.opts.token, &q.token) {
        (Some(t), Some(g)) if same(g, t) => (
            StatusCode::SEE_OTHER,
            [
                (header::LOCATION, "/".to_string()),
                (
                    header::SET_COOKIE,
                    format!("{COOKIE}={t}; HttpOnly; SameSite=Strict; Path=/"),
                ),
            ],
        )
            .into_response(),
        (None, _) => (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response(),
        _ => (
            StatusCode::UNAUTHORIZED,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "Wrong or missing token.\n",
        )
            .into_response(),
    }
}

async fn not_found(State(state): State<Arc<AppState>>, uri: Uri) -> Response {
    let end = Utc::now();
    let range = Range::parse(None, None, None, dash::data_end(&state.opts.lake, end))
        .expect("the default range parses");
    error_page(
        StatusCode::NOT_FOUND,
        "Not found",
        &format!(
            "No page `{}`.",
            crate::report::format::truncate(uri.path(), 120)
        ),
        &range,
    )
}

fn error_page(status: StatusCode, title: &str, message: &str, range: &Range) -> Response {
    let doc = dash::error_document(title, message, range);
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        dash::render(Page::Overview, range, &[], &doc),
    )
        .into_response()
}

/// One dashboard page.
async fn page(
    State(state): State<Arc<AppState>>,
    uri: Uri,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let started = Instant::now();
    let now = Utc::now();
    let end = dash::data_end(&state.opts.lake, now);
    let fallback = Range::parse(None, None, None, end).expect("the default range parses");
    let Some(page) = Page::of_path(uri.path()) else {
        return not_found(State(state), uri).await;
    };
    // Each parameter once, and only those the page knows.
    let mut seen: Vec<&str> = Vec::new();
    for (k, _) in &query {
        let known =
            ["range", "from", "to"].contains(&k.as_str()) || page.keys().contains(&k.as_str());
        if !known || seen.contains(&k.as_str()) {
            let why = if known {
                "is given twice"
            } else {
                "is not a parameter of this page"
            };
            let expected: Vec<&str> = ["range", "from", "to"]
                .iter()
                .chain(page.keys())
                .copied()
                .collect();
            return error_page(
                StatusCode::BAD_REQUEST,
                "Bad request",
                &format!(
                    "`{}` {why}; {} takes: {}.",
                    crate::report::format::truncate(k, 40),
                    page.title(),
                    expected.join(", ")
                ),
                &fallback,
            );
        }
        seen.push(k);
    }
    let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let range = match Range::parse(get("range"), get("from"), get("to"), end) {
        Ok(r) => r,
        Err(e) => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "Bad request",
                &e.to_string(),
                &fallback,
            )
        }
    };
    let session = match state.session().await {
        Ok(s) => s,
        Err(e) => {
            return error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Lake unavailable",
                &e.to_string(),
                &range,
            )
        }
    };
    let opened = started.elapsed();
    let cx = dash::Context {
        session: &session,
        lake: &state.opts.lake,
        rules: &state.opts.rules,
        incidents: &state.opts.incidents,
        experiments: state.opts.experiments.as_deref(),
        now,
        range: range.clone(),
    };
    let built = match page {
        Page::Overview => dash::overview::overview(&cx).await,
        Page::Application => {
            let d = dash::application::Drill {
                service: get("service"),
                endpoint: get("endpoint"),
                version: get("version"),
            };
            dash::application::application(&cx, &d).await
        }
        Page::Infrastructure => dash::infrastructure::infrastructure(&cx).await,
        Page::Database => dash::database::database(&cx).await,
        Page::Dependencies => dash::dependencies::dependencies(&cx).await,
        Page::Experience => dash::experience::experience(&cx).await,
        Page::Business => dash::business::business(&cx).await,
        Page::Changes => dash::changes::changes(&cx, get("deployment"), get("experiment")).await,
        Page::Incidents => dash::incidents::incidents(&cx, get("id")).await,
    };
    let doc = match built {
        Ok(d) => d,
        Err(DashboardError::BadRequest(m)) => {
            return error_page(StatusCode::BAD_REQUEST, "Bad request", &m, &range)
        }
        Err(DashboardError::NotFound(m)) => {
            return error_page(StatusCode::NOT_FOUND, "Not found", &m, &range)
        }
        Err(e) => {
            tracing::error!(page = page.path(), error = %e, "page failed");
            return error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Error",
                &e.to_string(),
                &range,
            );
        }
    };
    let queried = started.elapsed();
    let keep: Vec<(&str, String)> = page
        .keys()
        .iter()
        .filter_map(|k| get(k).map(|v| (*k, v.to_string())))
        .collect();
    let html = dash::render(page, &range, &keep, &doc);
    let total = started.elapsed();
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    let timing = format!(
        "lake;desc=\"open session\";dur={:.1}, query;desc=\"queries\";dur={:.1}, render;dur={:.1}, total;dur={:.1}",
        ms(opened),
        ms(queried - opened),
        ms(total - queried),
        ms(total)
    );
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_string()),
            (header::CACHE_CONTROL, "no-store".to_string()),
            (header::HeaderName::from_static("server-timing"), timing),
        ],
        html,
    )
        .into_response()
}
