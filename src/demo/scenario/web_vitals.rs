//! The `web_vitals` table: Core Web Vitals reported by the storefront's page loads.
//!
//! Each page load picks a page template and a device and draws TTFB, FCP, LCP and CLS
//! (INP for most, FID for a few) from lognormals that share one factor per page load,
//! so a slow network slows every metric of it; `/checkout` TTFB worsens with the
//! regression. Each metric is its own record, stamped when the browser reports it.

use super::buffer::Pending;
use super::plan::{pick_user, Plan};
use super::shop::CHECKOUT;
use super::writer::Obj;
use super::{HOUR, PAGE_LOADS_PER_DAY, SECOND};
use crate::demo::rng::{Rng, WeightedIndex};

const PAGES: [&str; 5] = ["/", "/search", "/product/:id", "/cart", "/checkout"];
const PAGE_SHARES: [f64; 5] = [0.25, 0.20, 0.35, 0.12, 0.08];
/// LCP multiplier per page (hero images make product pages slower).
const PAGE_LCP: [f64; 5] = [0.9, 1.0, 1.15, 0.85, 0.95];
/// CLS multiplier per page.
const PAGE_CLS: [f64; 5] = [1.0, 1.2, 1.6, 0.8, 0.7];
const DEVICES: [&str; 3] = ["mobile", "desktop", "tablet"];
const DEVICE_SHARES: [f64; 3] = [0.60, 0.35, 0.05];
/// Medians per device (mobile, desktop, tablet) and log-scale sigma.
const TTFB: ([f64; 3], f64) = ([550.0, 280.0, 400.0], 0.5);
const FCP: ([f64; 3], f64) = ([1_500.0, 800.0, 1_100.0], 0.4);
const LCP: ([f64; 3], f64) = ([2_200.0, 1_250.0, 1_700.0], 0.45);
const INP: ([f64; 3], f64) = ([190.0, 85.0, 140.0], 0.6);
const CLS: ([f64; 3], f64) = ([0.05, 0.025, 0.035], 0.9);
const FID: ([f64; 3], f64) = ([45.0, 14.0, 30.0], 0.7);

pub(super) struct VitalsGen {
    rng: Rng,
    pages: WeightedIndex,
    devices: WeightedIndex,
}

impl VitalsGen {
    pub(super) fn new(seed: u64) -> Self {
        Self {
            rng: Rng::stream(seed, "web_vitals"),
            pages: WeightedIndex::new(&PAGE_SHARES),
            devices: WeightedIndex::new(&DEVICE_SHARES),
        }
    }

    pub(super) fn hour(&mut self, plan: &Plan, t0: i64, load: f64, out: &mut Pending) {
        let n = self
            .rng
            .poisson(PAGE_LOADS_PER_DAY / 24.0 * plan.scale * load);
        for _ in 0..n {
            let rng = &mut self.rng;
            let ts = t0 + rng.below(HOUR as u64) as i64;
            let page = self.pages.sample(rng);
            let device = self.devices.sample(rng);
            let user = rng.bernoulli(0.6).then(|| pick_user(rng, plan.users));
            let session = rng.next_u64();
            // One shared factor per page load: a slow network slows every metric.
            let z = rng.normal();
            let mut draw = |(medians, sigma): ([f64; 3], f64), mult: f64| {
                medians[device] * mult * (sigma * (0.6 * z + 0.8 * rng.normal())).exp()
            };
            let backend = if page == 4 && plan.service_regressed(CHECKOUT, ts) {
                1.25
            } else {
                1.0
            };
            let ttfb = draw(TTFB, backend);
            let fcp = draw(FCP, 1.0).max(ttfb + 50.0);
            let lcp = draw(LCP, PAGE_LCP[page]).max(fcp);
            let cls = draw(CLS, PAGE_CLS[page]);
            let inp = draw(INP, 1.0);
            let fid = draw(FID, 1.0);
            let hide = ts + lcp as i64 + 5 * SECOND + rng.below(115 * SECOND as u64) as i64;
            let has_inp = rng.bernoulli(0.75);
            let has_fid = rng.bernoulli(0.05);
            let mut vitals: [(&str, f64, i64, u32); 6] = [
                ("TTFB", ttfb, ts + ttfb as i64, 1),
                ("FCP", fcp, ts + fcp as i64, 1),
                ("LCP", lcp, ts + lcp as i64, 1),
                ("CLS", cls, hide, 4),
                ("INP", inp, hide, 1),
                ("FID", fid, ts + lcp as i64 + 400, 1),
            ];
            let count = if has_inp { 5 } else { 4 };
            if has_fid {
                vitals[count] = vitals[5];
            }
            let count = count + usize::from(has_fid);
            for &(name, value, vts, decimals) in &vitals[..count] {
                if vts >= plan.end {
                    continue;
                }
                let at = out.begin();
                let mut o = Obj::new(&mut out.arena);
                o.ts("ts", vts);
                o.str("name", name);
                o.num("value", value, decimals);
                o.str("page", PAGES[page]);
                o.str("device", DEVICES[device]);
                if let Some(user) = user {
                    o.user("user_id", user, plan.user_width);
                }
                o.hex("session_id", "s-", session, 16);
                o.end();
                out.commit_maybe_late(at, vts, rng);
            }
        }
    }
}
