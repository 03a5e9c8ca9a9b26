//! The alerts' state across restarts: the latest transition of every alert in the `alerts` table
//! (`sql/alert/current.sql`). A restarted ingest restores the alerts still firing into its
//! engines (`Engine::restore`), so it neither pages again for an alert that is still firing nor
//! forgets to resolve it — what Prometheus's `ALERTS_FOR_STATE` is for, restored as firing
//! rather than dropped back to pending. A pending alert starts over.

use std::str::FromStr;

use super::{AlertError, Severity};
use crate::query::sql::{quote, sql_file, strings, times, Param, SqlFile};
use crate::query::LakeSession;

const CURRENT: SqlFile = sql_file!("sql/alert/current.sql");

/// Changes after which an alert is still active.
pub const ACTIVE: &[&str] = &["firing", "escalated", "de-escalated", "pending"];

/// The latest transition of one alert.
#[derive(Debug, Clone, PartialEq)]
pub struct Active {
    pub rule: String,
    /// `service`, `host`, …
    pub entity_kind: String,
    pub entity: String,
    /// `firing`, `escalated`, `de-escalated`, `pending` or `resolved`.
    pub change: String,
    pub severity: Severity,
    /// µs since the epoch.
    pub event_time: i64,
    /// When the breach began (µs), for rate rules.
    pub onset: Option<i64>,
}

impl Active {
    /// Firing (including escalated and de-escalated), not pending or resolved.
    pub fn firing(&self) -> bool {
        matches!(
            self.change.as_str(),
            "firing" | "escalated" | "de-escalated"
        )
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Severity, String> {
        match s {
            "P1" => Ok(Severity::P1),
            "P2" => Ok(Severity::P2),
            "P3" => Ok(Severity::P3),
            "P4" => Ok(Severity::P4),
            other => Err(format!(
                "`{other}` is not a severity: expected P1, P2, P3 or P4"
            )),
        }
    }
}

/// The `{changes}` parameter for a list of changes (constants of postlaunch, quoted).
pub fn changes_param(changes: &[&str]) -> Param {
    Param::Sql(
        changes
            .iter()
            .map(|c| quote(c))
            .collect::<Vec<_>>()
            .join(", "),
    )
}

/// The rows of `sql/alert/current.sql` for `changes`, to print; `None` when the lake has no
/// `alerts` table yet.
pub async fn current_rows(
    session: &LakeSession,
    changes: &[&str],
) -> Result<
    Option<(
        arrow::datatypes::SchemaRef,
        Vec<arrow::record_batch::RecordBatch>,
    )>,
    AlertError,
> {
    if CURRENT.missing_table(&session.tables).is_some() {
        return Ok(None);
    }
    let params = [("changes", changes_param(changes))];
    Ok(Some(CURRENT.run(session, &params).await?))
}

/// The latest transition of every alert whose latest change is one of `changes`; empty when
/// the lake has no `alerts` table yet.
pub async fn current(session: &LakeSession, changes: &[&str]) -> Result<Vec<Active>, AlertError> {
    let mut skipped = Vec::new();
    let params = [("changes", changes_param(changes))];
    let Some(batches) = CURRENT
        .batches_or_skip(session, &params, &mut skipped)
        .await?
    else {
        return Ok(Vec::new());
    };
    let f = CURRENT.path;
    let mut out = Vec::new();
    for b in &batches {
        let (rule, entity, change) = (
            strings(f, b, "rule")?,
            strings(f, b, "entity")?,
            strings(f, b, "change")?,
        );
        let kind = strings(f, b, "entity_kind")?;
        let (severity, at, onset) = (
            strings(f, b, "severity")?,
            times(f, b, "event_time")?,
            times(f, b, "onset")?,
        );
        for i in 0..b.num_rows() {
            let (Some(rule), Some(entity), Some(change), Some(sev), Some(at)) = (
                rule[i].clone(),
                entity[i].clone(),
                change[i].clone(),
                severity[i].as_deref(),
                at[i],
            ) else {
                continue;
            };
            let Ok(severity) = sev.parse() else { continue };
            out.push(Active {
                rule,
                entity_kind: kind[i].clone().unwrap_or_else(|| "service".into()),
                entity,
                change,
                severity,
                event_time: at,
                onset: onset[i],
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::{AlertsFile, Change, Engine};
    use crate::schema::Catalog;

    const SEC: i64 = 1_000_000;
    /// 2026-11-27T00:00:00Z.
    const T0: i64 = 1_795_737_600 * SEC;

    /// `rps` requests a second of service `svc` over [from, to) seconds, every `every`-th a 503.
    fn feed(
        e: &mut Engine,
        from: i64,
        to: i64,
        rps: i64,
        every: i64,
    ) -> Vec<crate::alert::Transition> {
        let mut out = Vec::new();
        let mut i = 0;
        for s in from..to {
            for k in 0..rps {
                let ts = T0 + s * SEC + k * SEC / rps;
                let status = if every > 0 && i % every == 0 {
                    503
                } else {
                    200
                };
                e.add_request(ts, "checkout", status, 10.0);
                i += 1;
                out.extend(e.advance(ts));
            }
        }
        out
    }

    #[test]
    fn a_restart_while_firing_neither_pages_again_nor_forgets_to_resolve() {
        let rules = AlertsFile::builtin().by_table().remove(0).1;
        let mut before = Engine::new(&rules).unwrap();
        // 20 % errors from 300 s: P1 fires
        let mut ts = feed(&mut before, 0, 300, 20, 0);
        ts.extend(feed(&mut before, 300, 600, 20, 5));
        let fired: Vec<_> = ts.iter().filter(|t| t.change == Change::Firing).collect();
        assert_eq!(fired.len(), 1, "{ts:?}");
        // the transitions go to a lake's `alerts` table; the process stops mid-incident
        let dir = tempfile::tempdir().unwrap();
        let lake = dir.path().join("lake");
        crate::alert::output::store(&lake, &ts, T0).unwrap();
        let rt = tokio::runtime::Runtime::new().unwrap();
        let active = rt.block_on(async {
            let session = LakeSession::open(&lake, &Catalog::builtin().unwrap())
                .await
                .unwrap();
            current(&session, ACTIVE).await.unwrap()
        });
        assert_eq!(active.len(), 1, "{active:?}");
        assert_eq!(
            (active[0].rule.as_str(), active[0].severity),
            ("error_rate", Severity::P1)
        );
        assert!(active[0].firing() && active[0].onset.is_some());
        // the restarted engine: still 20 % for a while (no second firing), then healthy (resolved)
        let mut after = Engine::new(&rules).unwrap();
        for a in &active {
            after.restore(a);
        }
        let mut later = feed(&mut after, 610, 700, 20, 5);
        later.extend(feed(&mut after, 700, 1500, 20, 0));
        let changes: Vec<(Change, Severity)> =
            later.iter().map(|t| (t.change, t.severity)).collect();
        assert!(
            !changes.iter().any(|c| c.0 == Change::Firing),
            "{changes:?}"
        );
        // (on the way down it may de-escalate first: the 1 % band clears later than the 5 % one)
        assert_eq!(
            changes.last().map(|c| c.0),
            Some(Change::Resolved),
            "{changes:?}"
        );
        // and a fresh engine without the state would have paged again
        let mut forgetful = Engine::new(&rules).unwrap();
        let again = feed(&mut forgetful, 610, 700, 20, 5);
        assert!(again.iter().any(|t| t.change == Change::Firing));
    }
}
