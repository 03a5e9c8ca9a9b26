//! `postlaunch report impact --deployment S@V`: what a deployment did, as a [`Document`] — the
//! verdict and why, per comparison (after against before; canary against baseline) every metric
//! with its change and interval drawn, the hypotheses of `pipelines/optimizations.toml` held, not
//! shown or backfired — from [`crate::impact::report`], the function `postlaunch impact` prints.

use chrono::{DateTime, Utc};

use super::chart::{interval_chart, Estimate, Options};
use super::document::{Cell, Document, Section};
use crate::impact::ImpactReport;
use crate::report::format::{num, p_value, pct};

fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

/// The report of `r`, made at `now`.
pub fn impact(r: &ImpactReport, lake: &std::path::Path, now: DateTime<Utc>) -> Document {
    let d = &r.deployment;
    let name = format!("{}@{}", d.service, d.version);
    let mut sections = vec![Section::new("Verdict").text(r.verdict.clone()).table(
        &["", ""],
        vec![
            vec![
                Cell::text("deployment"),
                Cell::text(format!("{name} ({}, {})", d.strategy, d.outcome)),
            ],
            vec![
                Cell::text("change"),
                Cell::text(format!("{} {}", d.change_id, d.description)),
            ],
            vec![
                Cell::text("rolled out"),
                Cell::text(format!("{} → {} UTC", when(d.started), when(d.finished))),
            ],
            vec![
                Cell::text("before"),
                Cell::text(format!(
                    "{} → {} UTC ({})",
                    when(r.baseline_start),
                    when(r.baseline_end),
                    r.baseline
                )),
            ],
            vec![
                Cell::text("after"),
                Cell::text(format!(
                    "{} → {} UTC",
                    when(r.after_start),
                    when(r.after_end)
                )),
            ],
        ],
    )];
    let mut comparisons: Vec<&str> = Vec::new();
    for row in &r.rows {
        if !comparisons.contains(&row.comparison) {
            comparisons.push(row.comparison);
        }
    }
    let confidence = format!("{:.0} %", (1.0 - r.alpha) * 100.0);
    for c in comparisons {
        let rows: Vec<_> = r.rows.iter().filter(|x| x.comparison == c).collect();
        let cells = rows
            .iter()
            .map(|x| {
                let class = if x.backfire {
                    "bad"
                } else if x.hypothesis_result.as_deref() == Some("held") {
                    "good"
                } else {
                    ""
                };
                vec![
                    Cell::text(x.metric),
                    Cell::num(num(x.baseline_value)),
                    Cell::num(num(x.after_value)),
                    Cell::num(format!(
                        "{} [{}, {}]",
                        pct(x.relative_effect),
                        pct(x.relative_ci.low),
                        pct(x.relative_ci.high)
                    )),
                    Cell::num(p_value(x.p_value)),
                    Cell::text(x.hypothesis.clone().unwrap_or_default()),
                    Cell::with(x.hypothesis_result.clone().unwrap_or_default(), class),
                ]
            })
            .collect();
        let estimates: Vec<Estimate> = rows
            .iter()
            .map(|x| Estimate {
                label: x.metric.to_string(),
                value: 100.0 * x.relative_effect,
                low: 100.0 * x.relative_ci.low,
                high: 100.0 * x.relative_ci.high,
                bad: x.backfire,
            })
            .collect();
        let heading = match c {
            "before_after" => "After against before".to_string(),
            "canary" => "Canary against the baseline hosts".to_string(),
            other => other.replace('_', " "),
        };
        let (a, b) = if c == "canary" {
            ("baseline hosts", "canary")
        } else {
            ("before", "after")
        };
        let mut s = Section::new(heading)
            .table(
                &[
                    "metric",
                    a,
                    b,
                    &format!("change [{confidence} interval]"),
                    "p-value",
                    "hypothesis",
                    "result",
                ],
                cells,
            )
            .chart(
                interval_chart(
                    &estimates,
                    &Options {
                        title: format!(
                            "Relative change of each metric with its {confidence} interval"
                        ),
                        unit: " %".into(),
                        ..Options::default()
                    },
                ),
                format!("relative change of each metric, {confidence} intervals, zero marked"),
            );
        for x in rows.iter().filter(|x| !x.note.is_empty()) {
            s = s.note(format!("{}: {}", x.metric, x.note));
        }
        sections.push(s);
    }
    if !r.notes.is_empty() {
        sections.push(Section::new("Caveats").list(r.notes.clone()));
    }
    Document {
        title: format!("Deployment impact — {name}"),
        subtitle: format!(
            "{} h after completion against {}",
            (r.after_end - r.after_start).num_hours(),
            r.baseline
        ),
        footer: format!(
            "postlaunch report impact --deployment {name} · lake {} · made {}",
            lake.display(),
            now.format("%Y-%m-%d %H:%M UTC")
        ),
        sections,
    }
}
