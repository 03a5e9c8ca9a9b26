//! The `deployments` and `incidents` tables: the story's timeline written out, two
//! records per deployment (started, then completed or rolled back) and one per status
//! change of the incident. Both are independent of `scale`; the times come from the
//! [`Plan`].

use super::buffer::Pending;
use super::plan::Plan;
use super::shop::{Outcome, CHECKOUT, INCIDENT_ID, INCIDENT_SEVERITY, INCIDENT_TITLE, SERVICES};
use super::writer::{push_u64, Obj};
use super::HOUR;

/// The deployment phases (started, completed or rolled back) that fall into the hour
/// starting at `t0`.
pub(super) fn deployments_hour(plan: &Plan, t0: i64, out: &mut Pending) {
    for d in &plan.deploys {
        let finished = if d.outcome == Outcome::RolledBack {
            "rolled_back"
        } else {
            "completed"
        };
        for (ts, phase) in [(d.started, "started"), (d.finished, finished)] {
            if !(t0..t0 + HOUR).contains(&ts) {
                continue;
            }
            let at = out.begin();
            let mut o = Obj::new(&mut out.arena);
            o.ts("ts", ts);
            o.str("service", SERVICES[d.service].name);
            o.str("version", d.version);
            o.str("strategy", d.strategy);
            o.str("phase", phase);
            o.raw_with("change_id", |b| {
                b.extend_from_slice(b"\"CHG-");
                push_u64(b, d.change_id as u64);
                b.push(b'"');
            });
            o.str("description", d.description);
            o.end();
            out.commit(at, ts);
        }
    }
}

/// The incident's status changes that fall into the hour starting at `t0`.
pub(super) fn incidents_hour(plan: &Plan, t0: i64, out: &mut Pending) {
    for &(ts, status) in &plan.incident {
        if !(t0..t0 + HOUR).contains(&ts) {
            continue;
        }
        let at = out.begin();
        let mut o = Obj::new(&mut out.arena);
        o.ts("ts", ts);
        o.str("incident_id", INCIDENT_ID);
        o.str("severity", INCIDENT_SEVERITY);
        o.str("status", status);
        o.str("service", SERVICES[CHECKOUT].name);
        o.str("title", INCIDENT_TITLE);
        o.end();
        out.commit(at, ts);
    }
}
