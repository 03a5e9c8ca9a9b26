//! The backlog in Markdown: the ranked table (`postlaunch backlog --format md`) and each top
//! candidate's GitHub issue (title, body with the evidence, the factors, the reproducing query
//! and the hidden marker; labels). Every string from the lake is escaped.

use std::fmt::Write;

use super::github::{marker, Draft};
use super::{Backlog, Candidate};
use crate::report::format::{markdown as md, num, truncate};

/// Movement against the period before: `new`, `↑2`, `↓1`, `=`.
pub fn movement(c: &Candidate) -> String {
    match c.previous_rank {
        None => "new".into(),
        Some(p) if p > c.rank => format!("↑{}", p - c.rank),
        Some(p) if p < c.rank => format!("↓{}", c.rank - p),
        Some(_) => "=".into(),
    }
}

/// The ranked table.
pub fn table(b: &Backlog) -> String {
    let mut s = format!(
        "# Optimisation backlog, {}\n\nRICE = Reach × Impact × Confidence / Effort; reach per month. \
         Factors set in `pipelines/backlog.toml` are marked *.\n\n\
         | # | move | id | category | candidate | RICE | reach | impact | confidence | effort | evidence |\n\
         |--:|---|---|---|---|--:|--:|--:|--:|--:|---|\n",
        md(&b.period.name)
    );
    for c in &b.candidates {
        let star = |f: &str| {
            if c.overridden.iter().any(|o| o == f) {
                "*"
            } else {
                ""
            }
        };
        let _ = writeln!(
            s,
            "| {} | {} | `{}` | {} | {} | {} | {}{} | {}{} | {} %{} | {}{} | {} |",
            c.rank,
            movement(c),
            c.id,
            md(&c.category),
            md(&truncate(&c.subject, 120)),
            num(c.rice),
            num(c.reach),
            star("reach"),
            num(c.impact),
            star("impact"),
            (c.confidence * 100.0).round(),
            star("confidence"),
            num(c.effort),
            star("effort"),
            md(&truncate(&c.detail, 200)),
        );
    }
    if b.candidates.is_empty() {
        s.push_str("\nNo candidate found in this period.\n");
    }
    s
}

/// The priority label of the `rank`-th published candidate.
pub fn priority(rank: usize) -> &'static str {
    match rank {
        1 | 2 => "priority: high",
        3 | 4 => "priority: medium",
        _ => "priority: low",
    }
}

/// The GitHub issue of a candidate.
pub fn draft(b: &Backlog, c: &Candidate) -> Draft {
    let title: String = format!("[{}] {}", c.category, c.subject)
        .chars()
        .map(|ch| if ch.is_control() { ' ' } else { ch })
        .collect();
    let mut body = String::new();
    let _ = writeln!(body, "{}", marker(&c.id));
    let _ = writeln!(
        body,
        "**RICE {}** — rank {} of {} in the optimisation backlog of {} ({}).\n",
        num(c.rice),
        c.rank,
        b.candidates.len(),
        md(&b.period.name),
        movement(c)
    );
    let _ = writeln!(body, "**Candidate:** {}\n", md(&c.subject));
    let _ = writeln!(body, "**Evidence:** {}\n", md(&c.detail));
    let _ = writeln!(
        body,
        "| Factor | Value | From |\n|---|--:|---|\n| Reach | {} {} | {} |\n| Impact | {} | {} |\n| Confidence | {} % | {} |\n| Effort | {} person-weeks | {} |\n",
        num(c.reach),
        md(&c.reach_unit),
        md(&c.reach_source),
        num(c.impact),
        md(&c.impact_source),
        (c.confidence * 100.0).round(),
        md(&c.confidence_source),
        num(c.effort),
        md(&c.effort_source)
    );
    let _ = writeln!(
        body,
        "Kind `{}`, found by {}.",
        c.kind,
        md(&c.sources.join(", "))
    );
    if !c.overridden.is_empty() {
        let _ = writeln!(
            body,
            "Set by hand in `pipelines/backlog.toml`: {}{}.",
            c.overridden.join(", "),
            c.note
                .as_deref()
                .map(|n| format!(" — {}", md(n)))
                .unwrap_or_default()
        );
    }
    let fence = "`".repeat(longest_run(&c.query, '`').max(2) + 1);
    let _ = writeln!(
        body,
        "\n### Reproduce\n\n`postlaunch sql --lake LAKE \"…\"` with:\n\n{fence}sql\n{}\n{fence}\n",
        c.query
    );
    let _ = writeln!(
        body,
        "_Opened by `postlaunch backlog publish`; a re-run updates this issue (the hidden marker \
         above ties it to `{}`)._",
        c.id
    );
    Draft {
        id: c.id.clone(),
        title: truncate(&title, 250),
        body,
        labels: vec![
            "optimization".into(),
            c.category.clone(),
            priority(c.rank).into(),
        ],
    }
}

/// The longest run of `ch` in `s`.
fn longest_run(s: &str, ch: char) -> usize {
    let (mut best, mut run) = (0, 0);
    for c in s.chars() {
        run = if c == ch { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backlog::Period;

    fn hostile() -> (Backlog, Candidate) {
        let c = Candidate {
            id: "BL-0123abcd".into(),
            rank: 1,
            previous_rank: Some(3),
            category: "performance".into(),
            kind: "slow_endpoint".into(),
            subject: "web GET /search/\"><img src=x onerror=alert(1)> -->\n| x |".into(),
            detail: "p95 <script>alert(1)</script> ``` ms".into(),
            sources: vec!["sql/backlog/endpoints.sql".into()],
            reach: 1234.0,
            reach_unit: "users per month".into(),
            reach_source: "x".into(),
            measure: 2.0,
            impact: 2.0,
            impact_source: "p95 / target 2 ≥ 2 → 2".into(),
            confidence: 0.8,
            confidence_source: "y".into(),
            effort: 1.0,
            effort_source: "z".into(),
            rice: 1974.4,
            overridden: vec!["effort".into()],
            note: Some("<b>note</b>".into()),
            query: "SELECT * FROM t WHERE subject = '```'".into(),
        };
        let b = Backlog {
            period: Period::parse("2026-W46").unwrap(),
            candidates: vec![c.clone()],
            skipped: vec![],
        };
        (b, c)
    }

    #[test]
    fn an_issue_escapes_event_strings_and_keeps_one_marker() {
        let (b, c) = hostile();
        let d = draft(&b, &c);
        assert_eq!(movement(&c), "↑2");
        assert!(!d.body.contains("<img") && !d.body.contains("<script") && !d.body.contains("<b>"));
        assert!(d.body.contains("&lt;img src=x onerror=alert(1)&gt;"));
        // the marker is the only HTML comment: the subject's `-->` cannot end or fake it
        assert_eq!(d.body.matches("<!--").count(), 1);
        assert_eq!(
            super::super::github::marker_id(&d.body),
            Some("BL-0123abcd")
        );
        // the query's ``` cannot close the code block: the fence is longer
        assert!(d.body.contains("\n````sql\n") && d.body.contains("\n````\n"));
        assert!(!d.title.contains('\n'));
        assert_eq!(d.labels, ["optimization", "performance", "priority: high"]);
        let t = table(&b);
        assert!(!t.contains("<img") && t.contains("| 1.000* |"), "{t}");
    }
}
