//! The `metrics` table: infrastructure and dependency time series, independent of
//! `scale` in count but following the traffic in value.
//!
//! Every 5 minutes each host reports CPU, memory, disk and network (plus cache and DB
//! pool gauges where they apply), the database its query latencies and replication
//! lag, and the external dependencies their latency; once an hour every service
//! reports its infra cost. The regression shows up as higher CPU, fuller pools and a
//! slower `insert_order`; the payment burst as a slow `stripe`.

use super::buffer::Pending;
use super::plan::Plan;
use super::shop::{API, AUTH, CHECKOUT, SEARCH, SERVICES, WEB};
use super::writer::Obj;
use super::{DAY, MINUTE, REQUESTS_PER_DAY};
use crate::demo::rng::Rng;

/// Database queries: name, calling service, median latency in ms.
const QUERIES: [(&str, usize, f64); 5] = [
    ("get_cart", API, 4.0),
    ("list_products", API, 12.0),
    ("insert_order", CHECKOUT, 9.0),
    ("search_products", SEARCH, 28.0),
    ("get_session", AUTH, 1.5),
];
/// The query the regressing deployment slows down (an N+1 in the new pricing engine).
const REGRESSED_QUERY: &str = "insert_order";
const POOL_SERVICES: [usize; 3] = [API, CHECKOUT, AUTH];
const POOL_SIZE: f64 = 50.0;
/// External dependencies: name, calling service, median latency in ms.
const DEPENDENCIES: [(&str, usize, f64); 3] = [
    ("stripe", CHECKOUT, 180.0),
    ("sendgrid", API, 90.0),
    ("maps", WEB, 60.0),
];
const HOST_HOURLY_USD: f64 = 0.192;

pub(super) struct MetricsGen {
    rng: Rng,
}

impl MetricsGen {
    pub(super) fn new(seed: u64) -> Self {
        Self {
            rng: Rng::stream(seed, "metrics"),
        }
    }

    pub(super) fn hour(&mut self, plan: &Plan, t0: i64, load: f64, out: &mut Pending) {
        let rng = &mut self.rng;
        infra_costs(rng, plan, t0, load, out);
        for tick in 0..12 {
            let t = t0 + tick * 5 * MINUTE;
            let util = plan.utilisation(t);
            host_samples(rng, plan, t, util, out);
            database_samples(rng, plan, t, util, out);
            dependency_samples(rng, plan, t, out);
        }
    }
}

/// The hourly infra cost of every service, at the start of the hour.
fn infra_costs(rng: &mut Rng, plan: &Plan, t0: i64, load: f64, out: &mut Pending) {
    for spec in &SERVICES {
        let requests = REQUESTS_PER_DAY / 24.0 * plan.scale * load * spec.traffic_share;
        let value = spec.hosts as f64 * HOST_HOURLY_USD + requests * 0.000_02;
        let cost = Series::new("infra_cost_usd", "usd", 4, spec.name, None);
        cost.sample(out, t0, value * rng.uniform_range(0.97, 1.03));
    }
}

/// One scrape of every host at the 5-minute tick `t`: CPU, memory, disk and network,
/// plus cache counters on `api` hosts and DB pool usage on the pool services.
fn host_samples(rng: &mut Rng, plan: &Plan, t: i64, util: f64, out: &mut Pending) {
    let load = plan.load(t);
    for (svc, spec) in SERVICES.iter().enumerate() {
        let regressed = plan.service_regressed(svc, t);
        let per_host_requests =
            REQUESTS_PER_DAY / 288.0 * plan.scale * load * spec.traffic_share / spec.hosts as f64;
        let days_deployed = (t - plan.deployed_since(svc, t)) as f64 / DAY as f64;
        for (host, name) in plan.host_names[svc].iter().enumerate() {
            // Each host's scraper fires at its own offset within the second.
            let ts = t + ((svc * 41 + host * 173) % 1000) as i64;
            let series =
                |metric, unit, decimals| Series::new(metric, unit, decimals, spec.name, Some(name));
            let mut cpu_load = spec.cpu.1 * util;
            if regressed {
                cpu_load *= 1.25;
            }
            let cpu = spec.cpu.0 + cpu_load + rng.normal_with(0.0, 0.02);
            let memory = 0.35
                + 0.1 * util
                + spec.memory_leak_per_day * days_deployed
                + rng.normal_with(0.0, 0.01);
            let rx = per_host_requests * 1_500.0 * rng.lognormal(1.0, 0.1) + 50_000.0;
            let tx = per_host_requests * spec.tx_bytes * rng.lognormal(1.0, 0.1) + 20_000.0;
            let disk_read = rng.lognormal(2.0e6 * (0.3 + util), 0.35);
            let disk_write = rng.lognormal(1.0e6 * (0.3 + util), 0.4);
            series("cpu_utilization", "ratio", 4).sample(out, ts, cpu.clamp(0.01, 0.99));
            series("memory_utilization", "ratio", 4).sample(out, ts, memory.clamp(0.05, 0.97));
            series("disk_read_bytes", "bytes", 0).sample(out, ts, disk_read);
            series("disk_write_bytes", "bytes", 0).sample(out, ts, disk_write);
            series("network_rx_bytes", "bytes", 0).sample(out, ts, rx);
            series("network_tx_bytes", "bytes", 0).sample(out, ts, tx);
            if svc == API {
                let lookups = per_host_requests * 6.0;
                let hit_rate = rng.normal_with(0.93, 0.01).clamp(0.5, 0.999);
                let hits = (lookups * hit_rate).round();
                let misses = (lookups - hits).max(0.0).round();
                series("cache_hits", "count", 0).sample(out, ts, hits);
                series("cache_misses", "count", 0).sample(out, ts, misses);
            }
            if POOL_SERVICES.contains(&svc) {
                // Slow queries hold their connections longer.
                let mut busy = POOL_SIZE * (0.08 + 0.45 * util);
                if regressed {
                    busy *= 1.5;
                }
                let in_use = (busy + rng.normal_with(0.0, 1.5))
                    .round()
                    .clamp(0.0, POOL_SIZE);
                series("db_pool_in_use", "connections", 0).sample(out, ts, in_use);
                series("db_pool_size", "connections", 0).sample(out, ts, POOL_SIZE);
            }
        }
    }
}

/// The database at the 5-minute tick `t`: the latency of every query (the regressed
/// one slower) and the replica's replication lag.
fn database_samples(rng: &mut Rng, plan: &Plan, t: i64, util: f64, out: &mut Pending) {
    let ts = t + 500;
    for (query, svc, median) in QUERIES {
        let mut m = median * (1.0 + 0.4 * util);
        if query == REGRESSED_QUERY && plan.service_regressed(svc, t) {
            m *= 2.2;
        }
        let series = Series {
            label: Some(("query", query)),
            ..Series::new("db_query_ms", "ms", 2, SERVICES[svc].name, Some("db-1"))
        };
        series.sample(out, ts, rng.lognormal(m, 0.25));
    }
    let lag = rng.lognormal(0.25 * (1.0 + util), 0.5);
    Series::new("db_replication_lag_s", "seconds", 3, "db", Some("db-2")).sample(out, ts, lag);
}

/// The latency of every external dependency at the 5-minute tick `t`.
fn dependency_samples(rng: &mut Rng, plan: &Plan, t: i64, out: &mut Pending) {
    let ts = t + 500;
    let payment = &plan.bursts[0];
    for (dependency, svc, median) in DEPENDENCIES {
        let mut m = median;
        // The payment provider's outage behind the checkout error burst.
        if dependency == "stripe" && t + 5 * MINUTE > payment.start && t < payment.end {
            m *= 8.0;
        }
        let series = Series {
            label: Some(("dependency", dependency)),
            ..Series::new("dependency_latency_ms", "ms", 1, SERVICES[svc].name, None)
        };
        series.sample(out, ts, rng.lognormal(m, 0.2));
    }
}

/// One metric series: everything of a sample but its time and value.
#[derive(Clone, Copy)]
struct Series<'a> {
    name: &'a str,
    unit: &'a str,
    /// Decimals written for the value.
    decimals: u32,
    service: &'a str,
    host: Option<&'a str>,
    /// At most one label in this scenario.
    label: Option<(&'a str, &'a str)>,
}

impl<'a> Series<'a> {
    pub(super) fn new(
        name: &'a str,
        unit: &'a str,
        decimals: u32,
        service: &'a str,
        host: Option<&'a str>,
    ) -> Self {
        Self {
            name,
            unit,
            decimals,
            service,
            host,
            label: None,
        }
    }

    fn sample(&self, out: &mut Pending, ts: i64, value: f64) {
        let at = out.begin();
        let mut o = Obj::new(&mut out.arena);
        o.ts("ts", ts);
        o.str("name", self.name);
        o.num("value", value, self.decimals);
        o.str("unit", self.unit);
        o.str("service", self.service);
        if let Some(host) = self.host {
            o.str("host", host);
        }
        if let Some((key, value)) = self.label {
            let mut labels = o.obj("labels");
            labels.str(key, value);
            labels.end();
        }
        o.end();
        out.commit(at, ts);
    }
}
