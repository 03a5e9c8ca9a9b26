//! What people read without a terminal: reports as documents ([`document`]: sections of text,
//! tables and SVG charts, rendered to self-contained HTML or Markdown) built from the analyses'
//! own functions, so a report and the command line never disagree.
//!
//! The shape, as every analysis: the period and the rules file (no config of its own) →
//! `sql/view/` (daily service figures for charts, measured optimisations) plus the analyses'
//! functions (`trends`, `incident`, `alert::review`) → a [`document::Document`] ([`weekly`], [`monthly`],
//! [`experiment_report`], [`impact_report`], [`incident_report`]) → HTML and Markdown ([`document::to_html`], [`document::to_markdown`]);
//! [`chart`] draws the SVG.

pub mod assessment;
pub mod chart;
pub mod dashboard;
pub mod document;
pub mod experiment_report;
pub mod impact_report;
pub mod incident_report;
pub mod monthly;
pub mod query;
pub mod weekly;

/// Errors of the reports.
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    #[error(transparent)]
    Sql(#[from] crate::query::sql::SqlError),
    #[error(transparent)]
    Query(#[from] crate::query::QueryError),
    #[error(transparent)]
    Trends(#[from] crate::trends::TrendsError),
    #[error(transparent)]
    Incident(#[from] crate::incident::IncidentError),
    #[error(transparent)]
    Alert(#[from] crate::alert::AlertError),
    #[error(transparent)]
    Experiment(#[from] crate::experiment::ExperimentError),
    #[error(transparent)]
    Assess(#[from] crate::assess::AssessError),
}
