//! `postlaunch report experiment KEY`: an A/B readout as a [`Document`] — the decision and why
//! (the verdict, the flags), the set-up (window, units per arm, the sample-ratio check), every
//! metric with its change and deciding interval drawn, its adjusted p-value and minimum
//! detectable effect — from [`crate::experiment::readout`], the function `experiment analyze`
//! prints.

use chrono::{DateTime, Utc};

use super::chart::{interval_chart, Estimate, Options};
use super::document::{Cell, Document, Section};
use crate::experiment::analysis::Readout;
use crate::report::format::{num, p_value, pct, thousands};

/// The report of `r`, made at `now`.
pub fn experiment(r: &Readout, lake: &std::path::Path, now: DateTime<Utc>) -> Document {
    let mut decision = Section::new("Decision").text(r.verdict.clone());
    if !r.flags.is_empty() {
        decision = decision.list(r.flags.clone());
    }
    let mut setup_rows = vec![
        vec![
            Cell::text("window"),
            Cell::text(format!(
                "{} → {} UTC ({} h of first exposure)",
                r.window_start.format("%Y-%m-%d %H:%M"),
                r.window_end.format("%Y-%m-%d %H:%M"),
                r.window_hours
            )),
        ],
        vec![Cell::text("control"), Cell::text(&r.control)],
    ];
    for (arm, n) in &r.units {
        setup_rows.push(vec![
            Cell::text(format!("units in {arm}")),
            Cell::num(thousands(*n)),
        ]);
    }
    if let Some(srm) = &r.srm {
        setup_rows.push(vec![
            Cell::text("sample-ratio check"),
            Cell::with(
                format!(
                    "χ² = {}, p = {}{}",
                    num(srm.statistic),
                    p_value(srm.p_value),
                    if r.srm_failed { " — MISMATCH" } else { "" }
                ),
                if r.srm_failed { "bad" } else { "" },
            ),
        ]);
    }
    setup_rows.push(vec![
        Cell::text("multiple testing"),
        Cell::text(r.correction),
    ]);
    let setup = Section::new("Set-up").table(&["", ""], setup_rows);
    let cells = r
        .rows
        .iter()
        .map(|m| {
            let class = if m.significant && m.role == "guardrail" {
                "bad"
            } else if m.significant {
                "good"
            } else {
                ""
            };
            vec![
                Cell::text(&m.metric),
                Cell::text(m.role),
                Cell::text(&m.variant),
                Cell::num(num(m.control_value)),
                Cell::num(num(m.variant_value)),
                Cell::with(
                    format!(
                        "{} [{}, {}]",
                        pct(m.relative_effect),
                        pct(m.relative_ci.low),
                        pct(m.relative_ci.high)
                    ),
                    if class.is_empty() { "num" } else { class },
                ),
                Cell::num(p_value(m.p_value_adjusted)),
                Cell::num(pct(m.mde_relative)),
                Cell::text(&m.verdict),
            ]
        })
        .collect();
    let estimates: Vec<Estimate> = r
        .rows
        .iter()
        .map(|m| Estimate {
            label: format!("{} ({})", m.metric, m.variant),
            value: 100.0 * m.relative_effect,
            low: 100.0 * m.relative_ci.low,
            high: 100.0 * m.relative_ci.high,
            bad: m.significant && m.role == "guardrail",
        })
        .collect();
    let metrics = Section::new("Metrics")
        .table(
            &[
                "metric",
                "role",
                "variant",
                "control",
                "variant value",
                "change [deciding interval]",
                "adjusted p",
                "MDE",
                "verdict",
            ],
            cells,
        )
        .chart(
            interval_chart(
                &estimates,
                &Options {
                    title: "Relative change of each metric against control, deciding interval"
                        .into(),
                    unit: " %".into(),
                    ..Options::default()
                },
            ),
            "relative change of each metric against control with its deciding interval, zero marked",
        );
    let mut sections = vec![decision, setup, metrics];
    if !r.notes.is_empty() {
        sections.push(Section::new("Notes").list(r.notes.clone()));
    }
    Document {
        title: format!("Experiment readout — {}", r.experiment),
        subtitle: format!(
            "analysed {} UTC · {}",
            r.analysis_time.format("%Y-%m-%d %H:%M"),
            r.statistics
        ),
        footer: format!(
            "postlaunch report experiment {} · lake {} · made {}",
            r.experiment,
            lake.display(),
            now.format("%Y-%m-%d %H:%M UTC")
        ),
        sections,
    }
}
