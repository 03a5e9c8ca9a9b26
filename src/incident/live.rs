//! Incidents opened by alerts: [`IncidentDeliver`] is a [`Deliver`] of the live alert path. A
//! firing (or escalated) alert of a severity in `[incidents] open_on` (P1/P2) opens an incident
//! for its alert group — its service (or host) — unless one of that group is open, which it is
//! then linked to; an escalation raises the incident's severity; the resolution of a linked
//! alert is noted on the incident's timeline. Resolving the incident stays a person's call.
//!
//! It sits before the `alerts` table in the delivery order, and every event it records names the
//! transition that caused it as its source: a transition decided again after a crash records
//! nothing twice ([`super::record`]). Silenced alerts open nothing (`notifies`).

use std::path::PathBuf;
use std::sync::Arc;

use super::config::IncidentsConfig;
use super::metrics::{fold, Incident};
use super::{next_id, record, Event, IncidentError, Status};
use crate::alert::live::Deliver;
use crate::alert::{Change, Transition};
use crate::schema::{Catalog, TableSchema};

/// Opens and links incidents from the live alert path.
pub struct IncidentDeliver {
    lake: PathBuf,
    catalog: Catalog,
    table: Arc<TableSchema>,
    cfg: IncidentsConfig,
    runtime: tokio::runtime::Runtime,
    /// Opened at the first alert that needs it and kept: it reads the table's latest commits
    /// (no listing cache), those of other tools included.
    session: Option<crate::query::LakeSession>,
}

impl IncidentDeliver {
    pub fn new(
        lake: PathBuf,
        catalog: Catalog,
        cfg: IncidentsConfig,
    ) -> Result<IncidentDeliver, IncidentError> {
        let table = catalog
            .get(super::TABLE)
            .map_err(|e| IncidentError::Invalid(e.to_string()))?
            .clone();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| IncidentError::Invalid(format!("incident runtime: {e}")))?;
        Ok(IncidentDeliver {
            lake,
            catalog,
            table,
            cfg,
            runtime,
            session: None,
        })
    }

    /// The incidents in the lake now (those other tools sent on the topic included).
    fn incidents(&mut self) -> Result<Vec<Incident>, IncidentError> {
        if !self.lake.join(super::TABLE).is_dir() {
            return Ok(Vec::new());
        }
        let (lake, catalog, slot) = (&self.lake, &self.catalog, &mut self.session);
        self.runtime.block_on(async {
            if slot.is_none() {
                *slot = Some(crate::query::LakeSession::open(lake, catalog).await?);
            }
            let session = slot.as_ref().expect("opened above");
            Ok(fold(super::query::events(session).await?))
        })
    }

    fn on(&mut self, t: &Transition) -> Result<(), IncidentError> {
        let key = format!("postlaunch/{}/{}/{}", t.rule, t.entity_kind, t.entity);
        let occasion = format!("{key}/{}/{}/{}", t.change.name(), t.severity, t.event_time);
        let fires = matches!(t.change, Change::Firing | Change::Escalated);
        if fires && !self.cfg.open_on.contains(&t.severity) {
            return Ok(());
        }
        // resolutions matter only for alerts that could have opened one
        if !fires && (t.change != Change::Resolved || !self.cfg.open_on.contains(&t.severity)) {
            return Ok(());
        }
        let incidents = self.incidents()?;
        let service = (t.entity_kind == "service").then(|| t.entity.clone());
        // the open incident of this alert's group: one linked to the alert, else one of its service
        let open = incidents.iter().filter(|i| i.is_open());
        let mine = open.clone().find(|i| i.linked.contains(&key)).or_else(|| {
            open.clone()
                .find(|i| service.is_some() && i.service == service)
        });
        let summary = t
            .annotations
            .get("summary")
            .cloned()
            .unwrap_or_else(|| format!("{} {}", t.rule, t.entity));
        match (mine, fires) {
            (Some(i), true) => {
                let mut e = Event::new(
                    t.event_time,
                    &i.id,
                    i.severity.max(t.severity),
                    Status::Update,
                );
                e.alerts = Some(key.clone());
                e.author = Some("postlaunch".into());
                e.message = Some(format!(
                    "alert {} {} on {}: {summary}",
                    t.severity, t.rule, t.entity
                ));
                if record(
                    &self.lake,
                    self.table.clone(),
                    &format!("postlaunch:incident/{occasion}"),
                    &[e],
                )? {
                    tracing::warn!(incident = %i.id, alert = %key, severity = %t.severity, "Alert linked to the open incident.");
                }
            }
            (None, true) => {
                let year = chrono::DateTime::from_timestamp_micros(t.event_time)
                    .map_or(2026, |d| chrono::Datelike::year(&d));
                let ids: Vec<String> = incidents.iter().map(|i| i.id.clone()).collect();
                let id = next_id(year, &ids);
                let mut e = Event::new(t.event_time, &id, t.severity, Status::Detected);
                e.service = service;
                e.title = Some(format!("{} {} on {}", t.severity, t.rule, t.entity));
                e.message = Some(summary);
                e.author = Some("postlaunch".into());
                e.impact_start = t.onset.map(|o| o.since.min(t.event_time));
                e.alerts = Some(key.clone());
                if record(
                    &self.lake,
                    self.table.clone(),
                    &format!("postlaunch:incident/{occasion}"),
                    &[e],
                )? {
                    tracing::warn!(incident = %id, alert = %key, severity = %t.severity, "Incident opened by an alert.");
                }
            }
            (Some(i), false) if i.linked.contains(&key) => {
                let mut e = Event::new(t.event_time, &i.id, i.severity, Status::Update);
                e.alerts = Some(key.clone());
                e.author = Some("postlaunch".into());
                e.message = Some(format!("alert {} on {} resolved", t.rule, t.entity));
                record(
                    &self.lake,
                    self.table.clone(),
                    &format!("postlaunch:incident/{occasion}"),
                    &[e],
                )?;
            }
            _ => {}
        }
        Ok(())
    }
}

impl Deliver for IncidentDeliver {
    fn deliver(&mut self, t: &Transition) {
        if let Err(e) = self.on(t) {
            tracing::error!(error = %e, rule = %t.rule, entity = %t.entity, "Could not record the alert in the `incidents` table.");
        }
    }

    fn notifies(&self) -> bool {
        true
    }
}
