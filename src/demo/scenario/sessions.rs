//! The `events` and `exposures` tables: one simulation of shopping sessions feeds both.
//!
//! A session of a signed-in user or an anonymous visitor starts with a visit and goes
//! down the funnel (view_item → add_to_cart → begin_checkout → purchase) as far as its
//! step conversions let it, with searches, recommendation clicks, wishlist adds and,
//! after the launch, [`NEW_FEATURE`] on the way. A signed-in user reaching the cart is
//! exposed to [`EXPERIMENT`], and the treatment buys more often. Both tables draw from
//! the one `sessions` stream.

use super::buffer::Pending;
use super::plan::{pick_user, Plan};
use super::writer::Obj;
use super::{
    CATALOG_ITEMS, DAY, EXPERIMENT, HOUR, NEW_FEATURE, PURCHASE_RATE, SECOND, SESSIONS_PER_DAY,
    TREATMENT_LIFT, VARIANTS,
};
use crate::demo::rng::{mix64, unit_f64, Rng};

const PLATFORMS: [&str; 3] = ["web", "ios", "android"];
const REFERRERS: [&str; 6] = [
    "google",
    "direct",
    "newsletter",
    "instagram",
    "bing",
    "direct",
];
const LANDING_PAGES: [&str; 4] = ["/", "/product/:id", "/search", "/category/:slug"];
const CATEGORIES: [&str; 7] = [
    "shoes",
    "apparel",
    "electronics",
    "home",
    "beauty",
    "sports",
    "toys",
];
const PAYMENT_METHODS: [&str; 3] = ["card", "paypal", "apple_pay"];

#[derive(Clone, Copy)]
enum Who {
    User(u64),
    Anonymous(u64),
}

struct Session {
    who: Who,
    id: u64,
    platform: &'static str,
    /// End of the period: events after it are dropped.
    end: i64,
    user_width: usize,
}

pub(super) struct SessionGen {
    rng: Rng,
}

impl SessionGen {
    pub(super) fn new(seed: u64) -> Self {
        Self {
            rng: Rng::stream(seed, "sessions"),
        }
    }

    pub(super) fn hour(
        &mut self,
        plan: &Plan,
        t0: i64,
        load: f64,
        events: &mut Pending,
        exposures: &mut Pending,
    ) {
        let n = self
            .rng
            .poisson(SESSIONS_PER_DAY / 24.0 * plan.scale * load);
        for _ in 0..n {
            let start = t0 + self.rng.below(HOUR as u64) as i64;
            self.session(plan, start, events, exposures);
        }
    }

    /// One session, from the visit down the funnel as far as it goes: the stream draws
    /// in the order the session happens, so every step below depends on the ones
    /// before.
    fn session(&mut self, plan: &Plan, start: i64, events: &mut Pending, exposures: &mut Pending) {
        let rng = &mut self.rng;
        let s = Session::new(rng, plan);
        let mut t = start;
        arrive(events, rng, plan, &s, &mut t);
        if !rng.bernoulli(0.6) {
            return;
        }
        let item = browse(events, rng, &s, &mut t);
        if !rng.bernoulli(0.35) {
            return;
        }
        let variant = add_to_cart(events, exposures, rng, plan, &s, &mut t, item);
        if !rng.bernoulli(0.55) {
            return;
        }
        check_out(events, rng, &s, t, variant);
    }
}

impl Session {
    /// A new session of a signed-in user of the pool or of an anonymous visitor.
    fn new(rng: &mut Rng, plan: &Plan) -> Self {
        let who = if rng.bernoulli(0.35) {
            Who::Anonymous(rng.next_u64())
        } else {
            Who::User(pick_user(rng, plan.users))
        };
        let platform = match who {
            // A user's platform is stable: a hash of the user.
            Who::User(u) => {
                let h = unit_f64(mix64(plan.platform_salt ^ u));
                PLATFORMS[usize::from(h >= 0.55) + usize::from(h >= 0.83)]
            }
            Who::Anonymous(_) => {
                let h = rng.uniform();
                PLATFORMS[usize::from(h >= 0.85) + usize::from(h >= 0.95)]
            }
        };
        Self {
            who,
            id: rng.next_u64(),
            platform,
            end: plan.end,
            user_width: plan.user_width,
        }
    }

    /// The signed-in user, if any.
    fn user(&self) -> Option<u64> {
        match self.who {
            Who::User(u) => Some(u),
            Who::Anonymous(_) => None,
        }
    }
}

/// Moves `t` on to the session's next event.
fn step(rng: &mut Rng, t: &mut i64) {
    *t += 3 * SECOND + rng.exponential(30_000.0) as i64;
}

/// The session's first events: the visit, maybe a search, and for signed-in users
/// after the launch maybe [`NEW_FEATURE`], its adoption ramping up over four days.
fn arrive(events: &mut Pending, rng: &mut Rng, plan: &Plan, s: &Session, t: &mut i64) {
    let referrer = *rng.choose(&REFERRERS);
    let landing = *rng.choose(&LANDING_PAGES);
    let first_visit = rng.bernoulli(0.2);
    event(events, rng, s, *t, "visit", None, |o, _| {
        o.str("referrer", referrer);
        o.str("landing_page", landing);
        o.boolean("first_visit", first_visit);
        if referrer == "newsletter" || referrer == "instagram" {
            let mut utm = o.obj("utm");
            utm.str("source", referrer);
            utm.str(
                "medium",
                if referrer == "newsletter" {
                    "email"
                } else {
                    "social"
                },
            );
            utm.str("campaign", "launch_week");
            utm.end();
        }
    });
    step(rng, t);

    if rng.bernoulli(0.35) {
        event(events, rng, s, *t, "search", None, |o, rng| {
            let results = rng.poisson(18.0) as i64;
            o.int("query_length", 3 + rng.poisson(9.0) as i64);
            o.int("results", results);
            o.boolean("had_results", results > 0);
        });
        step(rng, t);
    }

    if s.user().is_some() && *t >= plan.feature_launch {
        let ramp = ((*t - plan.feature_launch) as f64 / (4 * DAY) as f64).min(1.0);
        if rng.bernoulli(0.03 + 0.22 * ramp) {
            event(events, rng, s, *t, NEW_FEATURE, None, |o, rng| {
                o.hex("previous_order_id", "o-", rng.next_u64(), 12);
                o.int("items", 1 + rng.poisson(1.0) as i64);
                o.str("source", "order_history");
            });
            step(rng, t);
        }
    }
}

/// Product views, each maybe followed by a recommendation click, then for signed-in
/// users maybe a wishlist add; returns the last item viewed.
fn browse(events: &mut Pending, rng: &mut Rng, s: &Session, t: &mut i64) -> u64 {
    let user = s.user();
    let mut item = 0;
    for _ in 0..=rng.poisson(1.2) {
        item = rng.below(CATALOG_ITEMS);
        event(events, rng, s, *t, "view_item", None, |o, _| {
            item_props(o, item)
        });
        step(rng, t);
        if rng.bernoulli(0.1) {
            let position = 1 + rng.below(8) as i64;
            let rec = rng.below(CATALOG_ITEMS);
            event(events, rng, s, *t, "recommendation_click", None, |o, _| {
                o.item("item_id", rec);
                o.int("position", position);
                o.boolean("personalized", user.is_some());
            });
            step(rng, t);
        }
    }
    if user.is_some() && rng.bernoulli(0.12) {
        event(events, rng, s, *t, "wishlist_add", None, |o, _| {
            o.item("item_id", item)
        });
        step(rng, t);
    }
    item
}

/// `item` goes into the cart; a signed-in user is exposed to the experiment there.
/// Returns the variant the user is assigned to (`None` when anonymous).
fn add_to_cart(
    events: &mut Pending,
    exposures: &mut Pending,
    rng: &mut Rng,
    plan: &Plan,
    s: &Session,
    t: &mut i64,
    item: u64,
) -> Option<usize> {
    event(events, rng, s, *t, "add_to_cart", None, |o, rng| {
        item_props(o, item);
        o.int("quantity", 1 + rng.poisson(0.3) as i64);
    });
    let user = s.user();
    let variant = user.map(|u| plan.variant_of(u));
    if let Some(u) = user {
        // The cart shows the redesigned checkout button: the exposure.
        let ts = *t + 300 + rng.below(1_200) as i64;
        let shown = if plan.sees_both(u) {
            rng.index(VARIANTS.len())
        } else {
            plan.variant_of(u)
        };
        if ts < plan.end {
            let at = exposures.begin();
            let mut o = Obj::new(&mut exposures.arena);
            o.ts("ts", ts);
            o.str("experiment", EXPERIMENT);
            o.str("variant", VARIANTS[shown]);
            o.user("user_id", u, plan.user_width);
            o.end();
            exposures.commit(at, ts);
        }
    }
    step(rng, t);
    variant
}

/// begin_checkout, then the purchase with the control rate, raised by
/// [`TREATMENT_LIFT`] in treatment.
fn check_out(events: &mut Pending, rng: &mut Rng, s: &Session, mut t: i64, variant: Option<usize>) {
    let items = 1 + rng.poisson(1.3) as i64;
    let revenue = rng.lognormal(52.0, 0.55);
    event(events, rng, s, t, "begin_checkout", None, |o, _| {
        o.int("items", items);
        o.num("cart_value", revenue, 2);
        o.str("currency", "USD");
    });
    step(rng, &mut t);

    let lift = if variant == Some(1) {
        1.0 + TREATMENT_LIFT
    } else {
        1.0
    };
    if !rng.bernoulli(PURCHASE_RATE * lift) {
        return;
    }
    let order = rng.next_u64();
    let method = *rng.choose(&PAYMENT_METHODS);
    event(events, rng, s, t, "purchase", Some(revenue), |o, rng| {
        o.hex("order_id", "o-", order, 12);
        o.int("items", items);
        o.str("currency", "USD");
        o.str("payment_method", method);
        o.boolean("first_order", rng.bernoulli(0.2));
    });
}

fn item_props(o: &mut Obj<'_>, item: u64) {
    o.item("item_id", item);
    o.str(
        "category",
        CATEGORIES[(item % CATEGORIES.len() as u64) as usize],
    );
    // Prices are a stable function of the item.
    let price = 5.0 + 145.0 * unit_f64(mix64(item)).powi(2);
    o.num("price", price, 2);
}

/// Writes one event; drops it if it falls after the end of the period.
fn event(
    out: &mut Pending,
    rng: &mut Rng,
    s: &Session,
    ts: i64,
    name: &str,
    revenue: Option<f64>,
    props: impl FnOnce(&mut Obj<'_>, &mut Rng),
) {
    if ts >= s.end {
        return;
    }
    let at = out.begin();
    let mut o = Obj::new(&mut out.arena);
    o.ts("ts", ts);
    o.str("event", name);
    match s.who {
        Who::User(u) => o.user("user_id", u, s.user_width),
        Who::Anonymous(a) => o.hex("anonymous_id", "anon-", a, 12),
    }
    o.hex("session_id", "s-", s.id, 16);
    o.str("platform", s.platform);
    if let Some(revenue) = revenue {
        o.num("revenue", revenue, 2);
    }
    let mut p = o.obj("properties");
    props(&mut p, rng);
    p.end();
    o.end();
    out.commit_maybe_late(at, ts, rng);
}
