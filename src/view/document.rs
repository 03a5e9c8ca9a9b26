//! A report as data — sections of text, tables and charts — rendered to a self-contained HTML
//! page (inline CSS and SVG, no scripts, no external resources, prints cleanly) or to Markdown
//! (for a GitHub issue or a wiki; charts become a line of text). Every report builds a
//! [`Document`]; the renderers are the only place markup is written, and they escape every
//! string: HTML through the template's auto-escaping, Markdown through
//! [`crate::report::format::markdown`].

use serde::Serialize;

use crate::report::format::markdown as md;

/// One report.
#[derive(Debug, Clone, Serialize)]
pub struct Document {
    pub title: String,
    /// What it covers, e.g. "2026-W46 against 2026-W45".
    pub subtitle: String,
    /// When and from what it was made (lake, time), for the footer.
    pub footer: String,
    pub sections: Vec<Section>,
}

/// A heading and what follows it.
#[derive(Debug, Clone, Serialize)]
pub struct Section {
    pub heading: String,
    pub blocks: Vec<Block>,
}

/// A piece of a section.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Block {
    /// A paragraph.
    Text { text: String },
    /// A note in a quieter voice: what is missing and why.
    Note { text: String },
    /// A bulleted list.
    List { items: Vec<String> },
    /// A table; `classes` per cell mark good/bad figures (`good`, `bad`, `num`).
    Table {
        columns: Vec<String>,
        rows: Vec<Vec<Cell>>,
    },
    /// An SVG chart made by [`super::chart`] (its labels escaped there), with its text
    /// alternative — what the Markdown shows instead.
    Chart { svg: String, alt: String },
    /// A row of links (a dashboard's breadcrumbs and drill-downs); Markdown shows their text.
    Links { links: Vec<Link> },
}

/// A link of a dashboard page: a path on the same server with its query (built by
/// `view::dashboard::href`, which percent-encodes every value).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Link {
    pub text: String,
    pub href: String,
}

/// One table cell.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Cell {
    pub text: String,
    /// CSS class: `num` (right-aligned), `good`, `bad`, or empty.
    pub class: &'static str,
    /// Where the cell leads (a dashboard's drill-down); reports have none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        Cell {
            text: s.into(),
            class: "",
            href: None,
        }
    }

    pub fn num(s: impl Into<String>) -> Cell {
        Cell {
            text: s.into(),
            class: "num",
            href: None,
        }
    }

    pub fn with(s: impl Into<String>, class: &'static str) -> Cell {
        Cell {
            text: s.into(),
            class,
            href: None,
        }
    }

    /// A text cell leading to `href`.
    pub fn link(s: impl Into<String>, href: String) -> Cell {
        Cell {
            text: s.into(),
            class: "",
            href: Some(href),
        }
    }
}

impl Section {
    pub fn new(heading: impl Into<String>) -> Section {
        Section {
            heading: heading.into(),
            blocks: Vec::new(),
        }
    }

    pub fn text(mut self, t: impl Into<String>) -> Section {
        self.blocks.push(Block::Text { text: t.into() });
        self
    }

    pub fn note(mut self, t: impl Into<String>) -> Section {
        self.blocks.push(Block::Note { text: t.into() });
        self
    }

    pub fn list(mut self, items: Vec<String>) -> Section {
        self.blocks.push(Block::List { items });
        self
    }

    pub fn table(mut self, columns: &[&str], rows: Vec<Vec<Cell>>) -> Section {
        self.blocks.push(Block::Table {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows,
        });
        self
    }

    pub fn links(mut self, links: Vec<Link>) -> Section {
        self.blocks.push(Block::Links { links });
        self
    }

    pub fn chart(mut self, svg: String, alt: impl Into<String>) -> Section {
        self.blocks.push(Block::Chart {
            svg,
            alt: alt.into(),
        });
        self
    }
}

/// The templates of every page: reports (`document.html`) and dashboards (`dashboard.html`)
/// share the sections (`sections.html`) and the style sheet (`style.css`, inline in a report,
/// served as a file by the dashboards).
const TEMPLATES: [(&str, &str); 4] = [
    ("document.html", include_str!("templates/document.html")),
    ("dashboard.html", include_str!("templates/dashboard.html")),
    ("sections.html", include_str!("templates/sections.html")),
    ("style.css", include_str!("templates/style.css")),
];

/// The style sheet of reports and dashboards.
pub const STYLE: &str = include_str!("templates/style.css");

/// Renders template `name` with `ctx`. Every `{{ … }}` is HTML-escaped; charts are marked safe
/// in the template (SVG built by `chart`, which escapes its labels).
pub fn render(name: &str, ctx: minijinja::Value) -> String {
    // parsed once per process: every dashboard request renders a page
    static ENV: std::sync::OnceLock<minijinja::Environment<'static>> = std::sync::OnceLock::new();
    let env = ENV.get_or_init(|| {
        let mut env = minijinja::Environment::new();
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
        for (n, t) in TEMPLATES {
            env.add_template(n, t).expect("the templates parse");
        }
        env
    });
    env.get_template(name)
        .and_then(|t| t.render(ctx))
        .expect("the templates render every page")
}

/// The document as one self-contained HTML page.
pub fn to_html(doc: &Document) -> String {
    render(
        "document.html",
        minijinja::context! { doc => minijinja::Value::from(minijinja::value::Serde(doc)) },
    )
}

/// The document as Markdown.
pub fn to_markdown(doc: &Document) -> String {
    let mut s = format!("# {}\n\n_{}_\n\n", md(&doc.title), md(&doc.subtitle));
    for sec in &doc.sections {
        s.push_str(&format!("## {}\n\n", md(&sec.heading)));
        for b in &sec.blocks {
            match b {
                Block::Text { text } => s.push_str(&format!("{}\n\n", md(text))),
                Block::Note { text } => s.push_str(&format!("> {}\n\n", md(text))),
                Block::List { items } => {
                    for i in items {
                        s.push_str(&format!("- {}\n", md(i)));
                    }
                    s.push('\n');
                }
                Block::Table { columns, rows } => {
                    let head: Vec<String> = columns.iter().map(|c| md(c)).collect();
                    s.push_str(&format!("| {} |\n", head.join(" | ")));
                    let align: Vec<&str> = columns
                        .iter()
                        .enumerate()
                        .map(|(i, _)| {
                            if rows
                                .first()
                                .is_some_and(|r| r.get(i).is_some_and(|c| c.class == "num"))
                            {
                                "---:"
                            } else {
                                "---"
                            }
                        })
                        .collect();
                    s.push_str(&format!("|{}|\n", align.join("|")));
                    for r in rows {
                        let cells: Vec<String> = r.iter().map(|c| md(&c.text)).collect();
                        s.push_str(&format!("| {} |\n", cells.join(" | ")));
                    }
                    s.push('\n');
                }
                Block::Chart { alt, .. } => s.push_str(&format!("_Chart: {}_\n\n", md(alt))),
                Block::Links { links } => {
                    let texts: Vec<String> = links.iter().map(|l| md(&l.text)).collect();
                    s.push_str(&format!("{}\n\n", texts.join(" · ")));
                }
            }
        }
    }
    s.push_str(&format!("---\n{}\n", md(&doc.footer)));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hostile() -> Document {
        let evil = "<script>alert(1)</script> \"><img src=x onerror=alert(2)> | *x*";
        Document {
            title: format!("Weekly {evil}"),
            subtitle: "2026-W46".into(),
            footer: "lake `x`".into(),
            sections: vec![Section::new(evil)
                .text(evil)
                .note(evil)
                .list(vec![evil.into()])
                .table(
                    &["service", "p95"],
                    vec![vec![Cell::text(evil), Cell::num("912")]],
                )
                .chart(
                    super::super::chart::line_chart(&[], &[], &Default::default()),
                    evil,
                )],
        }
    }

    #[test]
    fn html_escapes_every_string_and_loads_nothing() {
        let html = to_html(&hostile());
        assert!(html.starts_with("<!DOCTYPE html>"), "{}", &html[..40]);
        assert!(
            !html.contains("<script") && !html.contains("<img"),
            "{html}"
        );
        // minijinja also escapes `/` (`&#x2f;`)
        assert!(html.contains("&lt;script&gt;alert(1)&lt;"), "{html}");
        // self-contained: no src=, href= to elsewhere, or url(
        for needle in [" src=\"", "href=", "https://", "url("] {
            assert!(
                !html
                    .replace("http://www.w3.org/2000/svg", "")
                    .contains(needle),
                "{needle} in {html}"
            );
        }
        assert!(html.contains("<svg"), "the chart is inline");
    }

    #[test]
    fn markdown_escapes_every_string_and_right_aligns_numbers() {
        let m = to_markdown(&hostile());
        assert!(!m.contains("<script") && !m.contains("<img"), "{m}");
        assert!(m.contains("|---|---:|"), "{m}");
        assert!(m.contains("\\| \\*x\\*"), "{m}");
    }
}
