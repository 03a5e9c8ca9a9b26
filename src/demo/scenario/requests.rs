//! The `requests` table: one record per HTTP request the shop's services answer.
//!
//! Traffic follows the plan's hourly load; each request picks a service, endpoint and
//! host, a lognormal latency (slower under load and on the regressing deployment) and
//! an outcome (baseline 5xx, the plan's error bursts, endpoint-specific 4xx). A few
//! records carry `ts` in epoch milliseconds and a few arrive late.

use super::buffer::Pending;
use super::plan::{pick_user, Plan};
use super::shop::{REGIONS, SERVER_ERRORS, SERVICES};
use super::writer::Obj;
use super::{BASE_SERVER_ERROR_RATE, EPOCH_MS_TS_SHARE, HOUR, REGRESSION_FACTOR, REQUESTS_PER_DAY};
use crate::demo::rng::{Rng, WeightedIndex};

pub(super) struct RequestGen {
    rng: Rng,
    services: WeightedIndex,
    endpoints: Vec<WeightedIndex>,
    server_errors: WeightedIndex,
}

impl RequestGen {
    pub(super) fn new(seed: u64) -> Self {
        let shares: Vec<f64> = SERVICES.iter().map(|s| s.traffic_share).collect();
        let errors: Vec<f64> = SERVER_ERRORS.iter().map(|e| e.2).collect();
        Self {
            rng: Rng::stream(seed, "requests"),
            services: WeightedIndex::new(&shares),
            endpoints: SERVICES
                .iter()
                .map(|s| {
                    let w: Vec<f64> = s.endpoints.iter().map(|e| e.share).collect();
                    WeightedIndex::new(&w)
                })
                .collect(),
            server_errors: WeightedIndex::new(&errors),
        }
    }

    pub(super) fn hour(&mut self, plan: &Plan, t0: i64, load: f64, out: &mut Pending) {
        let n = self
            .rng
            .poisson(REQUESTS_PER_DAY / 24.0 * plan.scale * load);
        // Busier hours are a little slower for everyone.
        let load_factor = 1.0 + 0.1 * (load - 1.0);
        for _ in 0..n {
            let rng = &mut self.rng;
            let ts = t0 + rng.below(HOUR as u64) as i64;
            let svc = self.services.sample(rng);
            let spec = &SERVICES[svc];
            let e = self.endpoints[svc].sample(rng);
            let endpoint = &spec.endpoints[e];
            let host = rng.index(spec.hosts);

            let mut median = endpoint.median_ms * load_factor;
            if plan.regressed(svc, host, ts) {
                median *= REGRESSION_FACTOR;
            }
            let burst = plan.burst_at(svc, e, ts);
            let server_error_rate = burst.map_or(BASE_SERVER_ERROR_RATE, |b| b.rate);
            let u = rng.uniform();
            let (status, message, duration) = if u < server_error_rate {
                let (status, message) = match burst {
                    Some(b) => *rng.choose(b.errors),
                    None => {
                        let (s, m, _) = SERVER_ERRORS[self.server_errors.sample(rng)];
                        (s, m)
                    }
                };
                let duration = match status {
                    504 => 10_000.0 + rng.exponential(40.0),
                    503 => rng.lognormal(4.0, 0.5),
                    _ => rng.lognormal(median * 0.7, endpoint.sigma),
                };
                (status, message, duration)
            } else if u < server_error_rate + endpoint.client_error_rate {
                let (status, message) = *rng.choose(endpoint.client_errors);
                (status, message, rng.lognormal(median * 0.5, endpoint.sigma))
            } else {
                (
                    endpoint.ok_status,
                    "",
                    rng.lognormal(median, endpoint.sigma),
                )
            };

            let at = out.begin();
            let mut o = Obj::new(&mut out.arena);
            if rng.bernoulli(EPOCH_MS_TS_SHARE) {
                o.int("ts", ts);
            } else {
                o.ts("ts", ts);
            }
            o.str("service", spec.name);
            o.str("endpoint", endpoint.route);
            o.int("status", i64::from(status));
            o.num("duration_ms", duration, 1);
            o.str("region", REGIONS[host % 2]);
            o.str("version", plan.version_at(svc, host, ts));
            o.str("host", &plan.host_names[svc][host]);
            if rng.bernoulli(0.7) {
                let user = pick_user(rng, plan.users);
                o.user("user_id", user, plan.user_width);
            }
            if rng.bernoulli(0.92) {
                o.hex("session_id", "s-", rng.next_u64(), 16);
            }
            let (hi, lo) = (rng.next_u64(), rng.next_u64());
            o.hex2("trace_id", hi, lo);
            if !message.is_empty() {
                o.str("error_message", message);
            }
            o.end();
            out.commit_maybe_late(at, ts, rng);
        }
    }
}
