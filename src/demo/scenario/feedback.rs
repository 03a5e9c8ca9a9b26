//! The `feedback` table: support tickets, app reviews, NPS answers, in-app feedback and
//! surveys, each source with its own categories, ratings and canned texts.
//!
//! Volumes follow the traffic. After the regression, "bug" tickets and "performance"
//! feedback spike and fade over a day and a half ([`Plan::complaint_boost`]); after the
//! payment error burst, "billing" tickets about failed payments come in for three
//! hours. A few texts carry JSON escapes and non-ASCII characters on purpose.

use super::buffer::Pending;
use super::plan::{pick_user, Plan};
use super::writer::{push_u64, Obj};
use super::{HOUR, IN_APP_PER_DAY, NPS_PER_DAY, REVIEWS_PER_DAY, SURVEYS_PER_DAY, TICKETS_PER_DAY};
use crate::demo::rng::{Rng, WeightedIndex};

const TICKET_CATEGORIES: [&str; 5] = ["billing", "shipping", "login", "bug", "other"];
const TICKET_SHARES: [f64; 5] = [0.25, 0.30, 0.15, 0.15, 0.15];
const BUG: usize = 3;
/// Texts are written verbatim into JSON strings, so they are JSON-escaped here.
const TICKET_TEXTS: [&[&str]; 5] = [
    &[
        "I was charged twice for my order",
        "Refund has not arrived yet",
        "Invoice shows the wrong VAT number",
    ],
    &[
        "Where is my package? Tracking has not updated in 3 days",
        "Delivered to the wrong address",
        "Can I change the delivery date?",
    ],
    &[
        "Password reset email never arrives",
        "Logged out every few minutes on the app",
        "Cannot sign in with Apple",
    ],
    &[
        "Cart total is wrong after removing an item",
        "App crashes when opening order history",
        "Promo code field disappears on mobile",
    ],
    &[
        "Do you ship to Norway?",
        "Please add a dark mode",
        "How do I close my account?",
    ],
];
const REGRESSION_COMPLAINTS: [&str; 3] = [
    "Checkout page spins forever after I click Pay",
    "Checkout is very slow since yesterday",
    "Placing an order took over a minute",
];
const PAYMENT_COMPLAINTS: [&str; 2] = [
    "Payment failed but the money was taken",
    "Card payment keeps failing with an error",
];
const REVIEW_SHARES: [f64; 5] = [0.08, 0.06, 0.12, 0.30, 0.44];
const REVIEW_TEXTS: [&[&str]; 5] = [
    &["Checkout keeps failing. Uninstalled.", "Slow and buggy"],
    &["Too many notifications", "Search never finds what I want"],
    &[
        "OK but search results are poor",
        "Decent, delivery was slow",
    ],
    &[
        "Good app, delivery was quick",
        "Nice selection, fair prices",
    ],
    &["Love it! Fast and easy", "Best shopping app I have used"],
];
/// P(score = 0..=10): 20 % detractors (0–6), 35 % passives, 45 % promoters.
const NPS_SHARES: [f64; 11] = [
    0.02, 0.01, 0.01, 0.02, 0.02, 0.04, 0.08, 0.15, 0.20, 0.20, 0.25,
];
const NPS_TEXTS: [&str; 3] = [
    "Prices are too high",
    "Good, but delivery could be faster",
    "Great selection and easy returns",
];
const IN_APP_CATEGORIES: [&str; 5] = ["checkout", "search", "performance", "ui", "other"];
const IN_APP_SHARES: [f64; 5] = [0.20, 0.20, 0.15, 0.30, 0.15];
const PERFORMANCE: usize = 2;
const IN_APP_TEXTS: [&[&str]; 5] = [
    &[
        "Why do I have to enter my address twice?",
        "Apple Pay button missing",
    ],
    &["Filters are great", "Search ignores typos"],
    &["Pages load slowly on 4G", "Images take ages"],
    &[
        r#"Love the new \"one-click reorder\" button ✨"#,
        r#"Two issues:\n1) filters reset\n2) back button loses my place"#,
        "Font is too small on the cart page",
    ],
    &["Keep up the good work", "Café au lait colour option please"],
];
const SURVEY_TEXTS: [&str; 3] = [
    "Easy to find what I needed",
    "Checkout had too many steps",
    "Would buy again",
];

pub(super) struct FeedbackGen {
    rng: Rng,
    tickets: u64,
    categories: WeightedIndex,
    reviews: WeightedIndex,
    nps: WeightedIndex,
    in_app: WeightedIndex,
}

impl FeedbackGen {
    pub(super) fn new(seed: u64) -> Self {
        Self {
            rng: Rng::stream(seed, "feedback"),
            tickets: 0,
            categories: WeightedIndex::new(&TICKET_SHARES),
            reviews: WeightedIndex::new(&REVIEW_SHARES),
            nps: WeightedIndex::new(&NPS_SHARES),
            in_app: WeightedIndex::new(&IN_APP_SHARES),
        }
    }

    pub(super) fn hour(&mut self, plan: &Plan, t0: i64, load: f64, out: &mut Pending) {
        let per_hour = |per_day: f64| per_day / 24.0 * plan.scale * load;
        let boost = plan.complaint_boost(t0 + HOUR / 2);
        self.support_tickets(plan, t0, per_hour, boost, out);
        self.app_reviews(t0, per_hour(REVIEWS_PER_DAY), out);
        self.nps_answers(plan, t0, per_hour(NPS_PER_DAY), out);
        let in_app = per_hour(IN_APP_PER_DAY) * (1.0 + 0.5 * boost);
        self.in_app_feedback(plan, t0, in_app, boost, out);
        self.surveys(plan, t0, per_hour(SURVEYS_PER_DAY), out);
    }

    /// Support tickets: the baseline mix, extra "bug" tickets after the regression,
    /// extra "billing" tickets in the three hours after the payment error burst.
    fn support_tickets(
        &mut self,
        plan: &Plan,
        t0: i64,
        per_hour: impl Fn(f64) -> f64,
        boost: f64,
        out: &mut Pending,
    ) {
        let rng = &mut self.rng;
        let n = rng.poisson(per_hour(TICKETS_PER_DAY));
        let extra_bugs = rng.poisson(per_hour(TICKETS_PER_DAY * TICKET_SHARES[BUG]) * boost);
        let payment = &plan.bursts[0];
        let (lo, hi) = (
            t0.max(payment.start),
            (t0 + HOUR).min(payment.start + 3 * HOUR),
        );
        let extra_billing = if hi > lo {
            rng.poisson(5.0 * plan.scale * (hi - lo) as f64 / HOUR as f64)
        } else {
            0
        };
        for i in 0..n + extra_bugs + extra_billing {
            let (category, text, ts) = if i < n {
                let c = self.categories.sample(rng);
                let text = if c == BUG && rng.bernoulli(boost / (1.0 + boost)) {
                    *rng.choose(&REGRESSION_COMPLAINTS)
                } else {
                    *rng.choose(TICKET_TEXTS[c])
                };
                (c, text, t0 + rng.below(HOUR as u64) as i64)
            } else if i < n + extra_bugs {
                let text = *rng.choose(&REGRESSION_COMPLAINTS);
                (BUG, text, t0 + rng.below(HOUR as u64) as i64)
            } else {
                let text = *rng.choose(&PAYMENT_COMPLAINTS);
                (0, text, lo + rng.below((hi - lo) as u64) as i64)
            };
            self.tickets += 1;
            let ticket = 100_000 + self.tickets;
            let user = rng.bernoulli(0.9).then(|| pick_user(rng, plan.users));
            let at = out.begin();
            let mut o = Obj::new(&mut out.arena);
            o.ts("ts", ts);
            o.str("source", "support_ticket");
            o.str("category", TICKET_CATEGORIES[category]);
            o.str("text", text);
            if let Some(u) = user {
                o.user("user_id", u, plan.user_width);
            }
            o.raw_with("ticket_id", |b| {
                b.extend_from_slice(b"\"T-");
                push_u64(b, ticket);
                b.push(b'"');
            });
            o.end();
            out.commit(at, ts);
        }
    }

    /// App store reviews; `mean` is the expected number this hour.
    fn app_reviews(&mut self, t0: i64, mean: f64, out: &mut Pending) {
        let rng = &mut self.rng;
        for _ in 0..rng.poisson(mean) {
            let ts = t0 + rng.below(HOUR as u64) as i64;
            let rating = self.reviews.sample(rng);
            let store = if rng.bernoulli(0.6) { "ios" } else { "android" };
            let text = *rng.choose(REVIEW_TEXTS[rating]);
            let at = out.begin();
            let mut o = Obj::new(&mut out.arena);
            o.ts("ts", ts);
            o.str("source", "app_review");
            o.str("category", store);
            o.int("rating", rating as i64 + 1);
            o.str("text", text);
            o.end();
            out.commit(at, ts);
        }
    }

    /// NPS answers, some with a comment; `mean` is the expected number this hour.
    fn nps_answers(&mut self, plan: &Plan, t0: i64, mean: f64, out: &mut Pending) {
        let rng = &mut self.rng;
        for _ in 0..rng.poisson(mean) {
            let ts = t0 + rng.below(HOUR as u64) as i64;
            let score = self.nps.sample(rng);
            let user = pick_user(rng, plan.users);
            let comment = rng.bernoulli(0.3);
            let at = out.begin();
            let mut o = Obj::new(&mut out.arena);
            o.ts("ts", ts);
            o.str("source", "nps");
            o.int("score", score as i64);
            if comment {
                o.str(
                    "text",
                    NPS_TEXTS[usize::from(score >= 7) + usize::from(score >= 9)],
                );
            }
            o.user("user_id", user, plan.user_width);
            o.end();
            out.commit(at, ts);
        }
    }

    /// In-app feedback, with "performance" complaints after the regression; `mean` is
    /// the expected number this hour.
    fn in_app_feedback(&mut self, plan: &Plan, t0: i64, mean: f64, boost: f64, out: &mut Pending) {
        let rng = &mut self.rng;
        let in_app = rng.poisson(mean);
        for _ in 0..in_app {
            let ts = t0 + rng.below(HOUR as u64) as i64;
            let (category, text) = if rng.bernoulli(boost / (2.0 + boost)) {
                (PERFORMANCE, *rng.choose(&REGRESSION_COMPLAINTS))
            } else {
                let c = self.in_app.sample(rng);
                (c, *rng.choose(IN_APP_TEXTS[c]))
            };
            let user = pick_user(rng, plan.users);
            let at = out.begin();
            let mut o = Obj::new(&mut out.arena);
            o.ts("ts", ts);
            o.str("source", "in_app");
            o.str("category", IN_APP_CATEGORIES[category]);
            o.str("text", text);
            o.user("user_id", user, plan.user_width);
            o.end();
            out.commit(at, ts);
        }
    }

    /// Post-purchase surveys; `mean` is the expected number this hour.
    fn surveys(&mut self, plan: &Plan, t0: i64, mean: f64, out: &mut Pending) {
        let rng = &mut self.rng;
        for _ in 0..rng.poisson(mean) {
            let ts = t0 + rng.below(HOUR as u64) as i64;
            let rating = self.reviews.sample(rng) as i64 + 1;
            let text = *rng.choose(&SURVEY_TEXTS);
            let user = pick_user(rng, plan.users);
            let at = out.begin();
            let mut o = Obj::new(&mut out.arena);
            o.ts("ts", ts);
            o.str("source", "survey");
            o.str("category", "post_purchase");
            o.int("rating", rating);
            o.str("text", text);
            o.user("user_id", user, plan.user_width);
            o.end();
            out.commit(at, ts);
        }
    }
}
