//! The Phase 8 completion assessment as a report section (weekly and monthly reports): the
//! decision, what is missing, every criterion with its evidence — as `postlaunch assess` computes
//! it, at the report's time, nothing stored.

use chrono::{DateTime, Utc};

use super::document::{Cell, Section};
use super::ViewError;
use crate::assess::{self, Settings, Verdict};
use crate::query::LakeSession;

/// The section of the assessment at `at`.
pub async fn section(
    session: &LakeSession,
    lake: &std::path::Path,
    settings: &Settings,
    at: DateTime<Utc>,
) -> Result<Section, ViewError> {
    let a = assess::evaluate(session, lake, settings, at).await?;
    let missing = a.missing().len();
    let mut s = Section::new("Phase 8 completion").text(format!(
        "As of {}: {} of {} criteria met — decision: {}.",
        at.format("%Y-%m-%d %H:%M UTC"),
        a.criteria.len() - missing,
        a.criteria.len(),
        a.decision()
    ));
    let cells = a
        .criteria
        .iter()
        .map(|c| {
            let class = match c.verdict {
                Verdict::Met => "good",
                Verdict::NotMet => "bad",
                Verdict::Unknown => "",
            };
            vec![
                Cell::text(c.group),
                Cell::text(&c.requirement),
                Cell::with(c.verdict.name(), class),
                Cell::text(&c.evidence),
            ]
        })
        .collect();
    s = s.table(&["group", "criterion", "verdict", "evidence"], cells);
    if !settings.notes.is_empty() {
        s = s.note(settings.notes.join("; "));
    }
    Ok(s)
}
