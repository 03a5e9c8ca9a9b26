//! The Experiments & deployments page: each deployment's measured impact (`deployment_impact`,
//! as `postlaunch impact` stored it) and each experiment's arms; drill-down to a deployment's
//! metrics with their intervals drawn, and to an experiment's readout (computed as `postlaunch
//! experiment analyze` does, nothing stored).

use std::collections::BTreeMap;

use super::{fmt, link, missing, Context, DashboardError, Page};
use crate::query::sql::{sql_file, SqlFile};
use crate::report::format::p_value;
use crate::view::chart::{interval_chart, Estimate, Options};
use crate::view::document::{Cell, Document, Section};

const IMPACT: SqlFile = sql_file!("sql/dashboard/impact.sql");
const EXPERIMENTS: SqlFile = sql_file!("sql/dashboard/experiments.sql");

pub async fn changes(
    cx: &Context<'_>,
    deployment: Option<&str>,
    experiment: Option<&str>,
) -> Result<Document, DashboardError> {
    let r = &cx.range;
    let mut doc = cx.document("Experiments & deployments");
    let back = link(
        "All experiments and deployments",
        Page::Changes.path(),
        r,
        &[],
    );
    if let Some(d) = deployment {
        let f = cx.frame(&IMPACT).await?.unwrap_or_default();
        let rows: Vec<usize> = f.rows_where("deployment", d).collect();
        let Some(&first) = rows.first() else {
            return Err(DashboardError::NotFound(format!(
                "no measured deployment `{}` finished in this range",
                crate::report::format::truncate(d, 80)
            )));
        };
        doc.title = format!("Deployment {d}");
        let estimates: Vec<Estimate> = rows
            .iter()
            .map(|&i| Estimate {
                label: format!("{} · {}", f.text("comparison", i), f.text("metric", i)),
                value: 100.0 * f.num("relative_effect", i).unwrap_or(f64::NAN),
                low: 100.0 * f.num("relative_ci_low", i).unwrap_or(f64::NAN),
                high: 100.0 * f.num("relative_ci_high", i).unwrap_or(f64::NAN),
                bad: f.num("backfire", i).is_some_and(|b| b > 0.5),
            })
            .collect();
        let table = rows
            .iter()
            .map(|&i| {
                vec![
                    Cell::text(f.text("comparison", i)),
                    Cell::text(f.text("metric", i)),
                    Cell::num(fmt::number(f.num("baseline_value", i))),
                    Cell::num(fmt::number(f.num("after_value", i))),
                    Cell::num(format!(
                        "{} [{}, {}]",
                        fmt::change(f.num("relative_effect", i)),
                        fmt::change(f.num("relative_ci_low", i)),
                        fmt::change(f.num("relative_ci_high", i))
                    )),
                    Cell::num(f.num("p_value", i).map_or("—".into(), p_value)),
                    Cell::with(
                        f.text("hypothesis_result", i),
                        if f.text("hypothesis_result", i) == "backfired" {
                            "bad"
                        } else {
                            ""
                        },
                    ),
                ]
            })
            .collect();
        doc.sections.push(
            Section::new("Verdict")
                .links(vec![back])
                .text(format!(
                    "Finished {} ({}): {}",
                    super::show_micros(f.time("deployment_finished", first).unwrap_or_default()),
                    f.text("outcome", first),
                    f.text("verdict", first)
                ))
                .text(format!(
                    "The full report: postlaunch report impact --deployment {d}"
                )),
        );
        doc.sections.push(
            Section::new("Every metric")
                .table(&["comparison", "metric", "before", "after", "change [95 % CI]", "p", "hypothesis"], table)
                .chart(
                    interval_chart(&estimates, &Options { title: format!("relative change of each metric of {d}"), unit: "%".into(), x_is_time: false, width: 900.0, ..Default::default() }),
                    "relative change of each metric with its 95 % interval; red: against the hypothesis",
                ),
        );
        return Ok(doc);
    }
    let exposures = cx.frame(&EXPERIMENTS).await?;
    if let Some(key) = experiment {
        let f = exposures.unwrap_or_default();
        if f.rows_where("experiment", key).next().is_none() {
            return Err(DashboardError::NotFound(format!(
                "experiment `{}` has no exposures in this range",
                crate::report::format::truncate(key, 80)
            )));
        }
        let Some(exps) = cx.experiments else {
            doc.sections.push(Section::new(format!("Experiment {key}")).links(vec![back]).note(
                "No experiments file: start `postlaunch serve` with --experiments FILE for readouts.",
            ));
            return Ok(doc);
        };
        let Some(exp) = exps.iter().find(|e| e.key == key) else {
            return Err(DashboardError::NotFound(format!(
                "experiment `{}` is not in the experiments file",
                crate::report::format::truncate(key, 80),
            )));
        };
        let at = crate::experiment::default_analysis_time(cx.session, exp)
            .await
            .map_err(|e| DashboardError::View(e.into()))?;
        let readout = crate::experiment::readout(
            cx.session,
            cx.lake,
            exp,
            at,
            exp.window,
            crate::experiment::Sums::ReuseStored,
        )
        .await
        .map_err(|e| DashboardError::View(e.into()))?;
        let report = crate::view::experiment_report::experiment(&readout, cx.lake, cx.now);
        doc.title = report.title;
        doc.subtitle = format!(
            "{} (the experiment's own window, not the page's range)",
            report.subtitle
        );
        doc.sections.push(Section::new("Back").links(vec![back]));
        doc.sections.extend(report.sections);
        return Ok(doc);
    }
    doc.sections.push(match cx.frame(&IMPACT).await? {
        None => Section::new("Deployments").note(missing(
            "deployment_impact",
            "measure a deployment with `postlaunch impact --deployment SERVICE@VERSION`",
        )),
        Some(f) if f.rows == 0 => {
            Section::new("Deployments").note("No measured deployment finished in this range.")
        }
        Some(f) => {
            let mut seen = BTreeMap::new();
            for i in 0..f.rows {
                seen.entry(f.text("deployment", i)).or_insert(i);
            }
            let mut firsts: Vec<usize> = seen.into_values().collect();
            firsts.sort_by_key(|&i| std::cmp::Reverse(f.time("deployment_finished", i)));
            Section::new("Deployments").table(
                &["deployment", "finished", "outcome", "verdict"],
                firsts
                    .into_iter()
                    .map(|i| {
                        let d = f.text("deployment", i);
                        let verdict = f.text("verdict", i);
                        vec![
                            Cell::link(
                                d,
                                super::href(Page::Changes.path(), r, &[("deployment", d)]),
                            ),
                            Cell::text(super::show_micros(
                                f.time("deployment_finished", i).unwrap_or_default(),
                            )),
                            Cell::text(f.text("outcome", i)),
                            Cell::with(
                                verdict,
                                if verdict.starts_with("BACKFIRE") {
                                    "bad"
                                } else {
                                    ""
                                },
                            ),
                        ]
                    })
                    .collect(),
            )
        }
    });
    doc.sections.push(match exposures {
        None => Section::new("Experiments").note(missing(
            "exposures",
            "experiments arrive as exposure events",
        )),
        Some(f) if f.rows == 0 => Section::new("Experiments").note("No exposures in this range."),
        Some(f) => Section::new("Experiments")
            .text(
                "Units exposed per arm in this range; an experiment's readout uses its own window.",
            )
            .table(
                &[
                    "experiment",
                    "arm",
                    "units",
                    "first exposure",
                    "last exposure",
                ],
                (0..f.rows)
                    .map(|i| {
                        let k = f.text("experiment", i);
                        vec![
                            Cell::link(
                                k,
                                super::href(Page::Changes.path(), r, &[("experiment", k)]),
                            ),
                            Cell::text(f.text("variant", i)),
                            Cell::num(fmt::count(f.num("units", i))),
                            Cell::text(super::show_micros(
                                f.time("first_exposure", i).unwrap_or_default(),
                            )),
                            Cell::text(super::show_micros(
                                f.time("last_exposure", i).unwrap_or_default(),
                            )),
                        ]
                    })
                    .collect(),
            ),
    });
    Ok(doc)
}
