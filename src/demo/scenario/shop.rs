//! The static description of the shop: its five services with their hosts, endpoints,
//! latencies and error mixes, the deployment plan of the period and the one incident.
//!
//! Nothing here depends on the configuration; [`super::plan`] turns these tables into
//! the times of one run, and the table generators read them for names and shapes.

pub(super) const WEB: usize = 0;
pub(super) const API: usize = 1;
pub(super) const CHECKOUT: usize = 2;
pub(super) const SEARCH: usize = 3;
pub(super) const AUTH: usize = 4;

/// Index of `POST /api/checkout/payment` in the checkout endpoints.
pub(super) const EP_PAYMENT: usize = 1;
/// Index of `GET /api/search` in the search endpoints.
pub(super) const EP_SEARCH: usize = 0;

pub(super) struct ServiceSpec {
    pub(super) name: &'static str,
    pub(super) hosts: usize,
    pub(super) traffic_share: f64,
    pub(super) initial_version: &'static str,
    /// Baseline and load-proportional CPU utilisation of a host.
    pub(super) cpu: (f64, f64),
    /// Memory growth per day since the last deployment (a slow leak in `api`).
    pub(super) memory_leak_per_day: f64,
    /// Bytes sent per request.
    pub(super) tx_bytes: f64,
    pub(super) endpoints: &'static [EndpointSpec],
}

pub(super) struct EndpointSpec {
    pub(super) route: &'static str,
    pub(super) share: f64,
    pub(super) median_ms: f64,
    pub(super) sigma: f64,
    pub(super) ok_status: u16,
    pub(super) client_error_rate: f64,
    /// Status and message of client errors; an empty message is omitted.
    pub(super) client_errors: &'static [(u16, &'static str)],
}

const fn ep(
    route: &'static str,
    share: f64,
    median_ms: f64,
    sigma: f64,
    ok_status: u16,
    client_error_rate: f64,
    client_errors: &'static [(u16, &'static str)],
) -> EndpointSpec {
    EndpointSpec {
        route,
        share,
        median_ms,
        sigma,
        ok_status,
        client_error_rate,
        client_errors,
    }
}

pub(super) static SERVICES: [ServiceSpec; 5] = [
    ServiceSpec {
        name: "web",
        hosts: 3,
        traffic_share: 0.30,
        initial_version: "1.9.4",
        cpu: (0.10, 0.45),
        memory_leak_per_day: 0.004,
        tx_bytes: 18_000.0,
        endpoints: &[
            ep("GET /", 0.25, 80.0, 0.5, 200, 0.002, &[(404, "not found")]),
            ep(
                "GET /product/:id",
                0.35,
                120.0,
                0.5,
                200,
                0.02,
                &[(404, "product not found")],
            ),
            ep(
                "GET /category/:slug",
                0.15,
                100.0,
                0.5,
                200,
                0.005,
                &[(404, "category not found")],
            ),
            ep(
                "GET /static/*asset",
                0.25,
                20.0,
                0.4,
                200,
                0.01,
                &[(404, "")],
            ),
        ],
    },
    ServiceSpec {
        name: "api",
        hosts: 4,
        traffic_share: 0.30,
        initial_version: "3.1.2",
        cpu: (0.12, 0.55),
        memory_leak_per_day: 0.02,
        tx_bytes: 4_000.0,
        endpoints: &[
            ep(
                "GET /api/cart",
                0.30,
                45.0,
                0.5,
                200,
                0.01,
                &[(401, "invalid or expired token")],
            ),
            ep(
                "POST /api/cart/items",
                0.20,
                70.0,
                0.55,
                201,
                0.02,
                &[
                    (400, "invalid request body"),
                    (409, "cart version conflict"),
                ],
            ),
            ep(
                "GET /api/products/:id",
                0.35,
                35.0,
                0.45,
                200,
                0.015,
                &[(404, "product not found")],
            ),
            ep(
                "GET /api/recommendations",
                0.15,
                150.0,
                0.7,
                200,
                0.002,
                &[(429, "rate limit exceeded")],
            ),
        ],
    },
    ServiceSpec {
        name: "checkout",
        hosts: 2,
        traffic_share: 0.10,
        initial_version: "2.3.1",
        cpu: (0.08, 0.35),
        memory_leak_per_day: 0.004,
        tx_bytes: 3_000.0,
        endpoints: &[
            ep(
                "POST /api/checkout",
                0.35,
                220.0,
                0.6,
                201,
                0.03,
                &[
                    (400, "invalid request body"),
                    (409, "cart changed during checkout"),
                ],
            ),
            ep(
                "POST /api/checkout/payment",
                0.30,
                300.0,
                0.7,
                200,
                0.05,
                &[(402, "payment declined"), (422, "card expired")],
            ),
            ep(
                "GET /api/orders/:id",
                0.35,
                60.0,
                0.5,
                200,
                0.01,
                &[(404, "order not found"), (403, "forbidden")],
            ),
        ],
    },
    ServiceSpec {
        name: "search",
        hosts: 2,
        traffic_share: 0.15,
        initial_version: "1.12.0",
        cpu: (0.15, 0.6),
        memory_leak_per_day: 0.004,
        tx_bytes: 8_000.0,
        endpoints: &[
            ep(
                "GET /api/search",
                0.6,
                110.0,
                0.65,
                200,
                0.003,
                &[(400, "query too long")],
            ),
            ep(
                "GET /api/search/suggest",
                0.4,
                25.0,
                0.5,
                200,
                0.001,
                &[(429, "rate limit exceeded")],
            ),
        ],
    },
    ServiceSpec {
        name: "auth",
        hosts: 2,
        traffic_share: 0.15,
        initial_version: "4.0.3",
        cpu: (0.06, 0.3),
        memory_leak_per_day: 0.004,
        tx_bytes: 1_000.0,
        endpoints: &[
            ep(
                "POST /api/auth/login",
                0.15,
                180.0,
                0.5,
                200,
                0.08,
                &[
                    (401, "invalid credentials"),
                    (429, "too many login attempts"),
                ],
            ),
            ep(
                "POST /api/auth/refresh",
                0.35,
                25.0,
                0.4,
                200,
                0.03,
                &[(401, "refresh token expired")],
            ),
            ep(
                "GET /api/auth/session",
                0.50,
                20.0,
                0.4,
                200,
                0.02,
                &[(401, "no session")],
            ),
        ],
    },
];

pub(super) const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];

/// Baseline server errors: status, message, weight.
pub(super) const SERVER_ERRORS: [(u16, &str, f64); 6] = [
    (500, "internal server error", 0.25),
    (500, "db: deadlock detected", 0.15),
    (
        502,
        "bad gateway: upstream connect error or disconnect/reset before headers",
        0.20,
    ),
    (503, "service unavailable: connection pool exhausted", 0.15),
    (503, "service unavailable: upstream overloaded", 0.10),
    (504, "gateway timeout: upstream request timeout", 0.15),
];

pub(super) const PAYMENT_BURST_ERRORS: [(u16, &str); 3] = [
    (502, "payment provider error: stripe returned 502"),
    (502, "payment provider error: stripe returned 502"),
    (504, "payment provider timeout after 10000 ms"),
];

pub(super) const SEARCH_BURST_ERRORS: [(u16, &str); 1] =
    [(503, "search index unavailable: shard relocating")];

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    Completed,
    RolledBack,
    Regresses,
}

pub(super) struct DeploySpec {
    /// Fraction of the period that selects the day; the time of day is fixed.
    pub(super) at: f64,
    pub(super) hour: i64,
    pub(super) service: usize,
    pub(super) version: &'static str,
    pub(super) strategy: &'static str,
    pub(super) outcome: Outcome,
    pub(super) description: &'static str,
}

pub(super) const DEPLOY_PLAN: [DeploySpec; 7] = [
    DeploySpec {
        at: 0.0,
        hour: 8,
        service: WEB,
        version: "2.0.0",
        strategy: "blue_green",
        outcome: Outcome::Completed,
        description: "Launch: new storefront and product pages",
    },
    DeploySpec {
        at: 0.15,
        hour: 10,
        service: API,
        version: "3.2.0",
        strategy: "rolling",
        outcome: Outcome::Completed,
        description: "Cart API: pagination and price caching",
    },
    DeploySpec {
        at: 0.30,
        hour: 11,
        service: SEARCH,
        version: "1.13.0",
        strategy: "canary",
        outcome: Outcome::RolledBack,
        description: "New ranking model for search results",
    },
    DeploySpec {
        at: 0.45,
        hour: 13,
        service: WEB,
        version: "2.1.0",
        strategy: "flag",
        outcome: Outcome::Completed,
        description: "Enable one_click_reorder for returning users",
    },
    DeploySpec {
        at: 0.60,
        hour: 14,
        service: CHECKOUT,
        version: "2.4.0",
        strategy: "canary",
        outcome: Outcome::Regresses,
        description: "Order service: switch to the new pricing engine",
    },
    DeploySpec {
        at: 0.75,
        hour: 16,
        service: AUTH,
        version: "4.1.0",
        strategy: "rolling",
        outcome: Outcome::Completed,
        description: "Session token rotation",
    },
    DeploySpec {
        at: 0.85,
        hour: 17,
        service: API,
        version: "3.2.1",
        strategy: "rolling",
        outcome: Outcome::Completed,
        description: "Hotfix: rounding of cart totals",
    },
];

/// Index in [`DEPLOY_PLAN`] of the deployment that launches [`NEW_FEATURE`](super::NEW_FEATURE).
pub(super) const FEATURE_DEPLOY: usize = 3;
pub(super) const FIRST_CHANGE_ID: usize = 1040;

pub(super) const INCIDENT_ID: &str = "INC-2026-001";
pub(super) const INCIDENT_SEVERITY: &str = "P2";
pub(super) const INCIDENT_TITLE: &str = "Payment failures at checkout (stripe 502/504)";
