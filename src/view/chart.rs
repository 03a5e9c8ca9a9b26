//! Charts as SVG text, drawn by the server or into a report: readable without JavaScript, crisp
//! in print, no external resources. Every label is escaped ([`esc`]); numbers are placed on a
//! linear scale with "nice" ticks.

use std::fmt::Write;

use crate::report::format::html as esc;

/// One line of a chart: (x, y) points in x order; x is a time in µs or any number.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// A vertical marker (a deployment, an incident) at `x`, with a label.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    pub x: f64,
    pub label: String,
}

/// How a chart is drawn.
#[derive(Debug, Clone)]
pub struct Options {
    pub width: f64,
    pub height: f64,
    /// The accessible title (`<title>`, read by screen readers and shown on hover).
    pub title: String,
    /// y-axis unit, appended to tick labels (`ms`, `%`).
    pub unit: String,
    /// x values are µs since the epoch (labels as dates and hours).
    pub x_is_time: bool,
    /// y starts at 0 (rates, counts) rather than at the data's minimum.
    pub zero_based: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            width: 640.0,
            height: 220.0,
            title: String::new(),
            unit: String::new(),
            x_is_time: true,
            zero_based: true,
        }
    }
}

/// Ticks covering [lo, hi]: 3–6 values on a 1/2/5 × 10ⁿ step.
pub fn nice_ticks(lo: f64, hi: f64) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return vec![lo];
    }
    let raw = (hi - lo) / 4.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| (hi - lo) / s <= 5.0)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() * step;
    let mut out = Vec::new();
    let mut t = first;
    while t <= hi + step * 1e-9 {
        out.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
        t += step;
    }
    out
}

/// A tick as written on an axis: round numbers without trailing zeros (0.8, 200, 1500).
fn tick_label(v: f64, unit: &str) -> String {
    let rounded = (v * 1e6).round() / 1e6;
    format!("{rounded}{unit}")
}

fn time_label(us: f64) -> String {
    chrono::DateTime::from_timestamp_micros(us as i64)
        .map(|d| d.format("%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

/// A palette that reads in print and for the common colour-vision deficiencies (Okabe–Ito).
const COLOURS: [&str; 6] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9",
];

/// A line chart of `series` with `markers`, as an `<svg>` element.
pub fn line_chart(series: &[Series], markers: &[Marker], o: &Options) -> String {
    let (left, right, top, bottom) = (56.0, 12.0, 12.0, 40.0);
    let (w, h) = (o.width - left - right, o.height - top - bottom);
    let pts = series.iter().flat_map(|s| s.points.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in pts.filter(|(x, y)| x.is_finite() && y.is_finite()) {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {} {}" width="{}" height="{}" role="img" aria-label="{}"><title>{}</title>"#,
        o.width,
        o.height,
        o.width,
        o.height,
        esc(&o.title),
        esc(&o.title)
    );
    if x0 > x1 {
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" class="empty">no data in this range</text></svg>"#,
            o.width / 2.0 - 60.0,
            o.height / 2.0
        );
        return s;
    }
    if o.zero_based {
        y0 = y0.min(0.0);
    }
    if y1 <= y0 {
        y1 = y0 + 1.0;
    }
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    let ticks = nice_ticks(y0, y1);
    y1 = y1.max(ticks.last().copied().unwrap_or(y1));
    let sx = |x: f64| left + (x - x0) / (x1 - x0) * w;
    let sy = |y: f64| top + h - (y - y0) / (y1 - y0) * h;
    // axes and grid
    for t in &ticks {
        let y = sy(*t);
        let _ = write!(
            s,
            r#"<line class="grid" x1="{left}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}"/><text class="tick" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            left + w,
            left - 4.0,
            y + 4.0,
            esc(&tick_label(*t, &o.unit))
        );
    }
    for (i, x) in [x0, (x0 + x1) / 2.0, x1].into_iter().enumerate() {
        let label = if o.x_is_time {
            time_label(x)
        } else {
            crate::report::format::num(x)
        };
        let anchor = ["start", "middle", "end"][i];
        let _ = write!(
            s,
            r#"<text class="tick" x="{:.1}" y="{:.1}" text-anchor="{anchor}">{}</text>"#,
            sx(x),
            top + h + 16.0,
            esc(&label)
        );
    }
    // markers under the lines
    // labels staggered on three rows: deployments close in time do not overwrite each other
    for (k, m) in markers
        .iter()
        .filter(|m| m.x >= x0 && m.x <= x1)
        .enumerate()
    {
        let x = sx(m.x);
        let label_y = top + 10.0 + (k % 3) as f64 * 11.0;
        let _ = write!(
            s,
            r#"<g class="marker"><title>{}</title><line x1="{x:.1}" y1="{top}" x2="{x:.1}" y2="{:.1}"/><text x="{:.1}" y="{:.1}" text-anchor="{}">{}</text></g>"#,
            esc(&m.label),
            top + h,
            // near the right edge the label runs to the left of its line
            if x > left + 0.75 * w {
                x - 3.0
            } else {
                x + 3.0
            },
            label_y,
            if x > left + 0.75 * w { "end" } else { "start" },
            esc(&crate::report::format::truncate(&m.label, 24))
        );
    }
    for (i, ser) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let mut d = String::new();
        let mut pen_up = true;
        for &(x, y) in &ser.points {
            if !(x.is_finite() && y.is_finite()) {
                pen_up = true;
                continue;
            }
            let _ = write!(
                d,
                "{}{:.1},{:.1} ",
                if pen_up { "M" } else { "L" },
                sx(x),
                sy(y)
            );
            pen_up = false;
        }
        let _ = write!(
            s,
            r#"<path class="line" fill="none" stroke="{colour}" stroke-width="1.6" d="{}"><title>{}</title></path>"#,
            d.trim_end(),
            esc(&ser.name)
        );
    }
    // legend
    if series.len() > 1 {
        for (i, ser) in series.iter().enumerate() {
            let x = left + i as f64 * (w / series.len() as f64);
            let _ = write!(
                s,
                r#"<rect x="{x:.1}" y="{:.1}" width="10" height="3" fill="{}"/><text class="legend" x="{:.1}" y="{:.1}">{}</text>"#,
                o.height - 10.0,
                COLOURS[i % COLOURS.len()],
                x + 14.0,
                o.height - 6.0,
                esc(&crate::report::format::truncate(&ser.name, 28))
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// One estimate with its interval, for [`interval_chart`].
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    pub label: String,
    pub value: f64,
    pub low: f64,
    pub high: f64,
    /// Drawn in the alarm colour (a backfire, a significant move the wrong way).
    pub bad: bool,
}

/// Estimates with their intervals as horizontal bars around a zero line (a forest plot): one row
/// per estimate, the label on the left; non-finite ones are listed without a bar.
pub fn interval_chart(rows: &[Estimate], o: &Options) -> String {
    let (left, right, top, row_h) = (200.0, 16.0, 14.0, 22.0);
    let height = top + row_h * rows.len().max(1) as f64 + 30.0;
    let w = o.width - left - right;
    let finite = rows
        .iter()
        .filter(|r| r.low.is_finite() && r.high.is_finite() && r.value.is_finite());
    let (mut lo, mut hi) = (0.0f64, 0.0f64);
    for r in finite {
        lo = lo.min(r.low);
        hi = hi.max(r.high);
    }
    if hi <= lo {
        hi = lo + 1.0;
    }
    let pad = (hi - lo) * 0.05;
    let (lo, hi) = (lo - pad, hi + pad);
    let sx = |x: f64| left + (x - lo) / (hi - lo) * w;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {} {height}" width="{}" height="{height}" role="img" aria-label="{}"><title>{}</title>"#,
        o.width,
        o.width,
        esc(&o.title),
        esc(&o.title)
    );
    let bottom = top + row_h * rows.len().max(1) as f64;
    for t in nice_ticks(lo, hi) {
        let x = sx(t);
        let _ = write!(
            s,
            r#"<line class="grid" x1="{x:.1}" y1="{top}" x2="{x:.1}" y2="{bottom:.1}"/><text class="tick" x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            bottom + 14.0,
            esc(&tick_label(t, &o.unit))
        );
    }
    let z = sx(0.0);
    let _ = write!(
        s,
        r##"<line x1="{z:.1}" y1="{top}" x2="{z:.1}" y2="{bottom:.1}" stroke="#59636e"/>"##
    );
    for (i, r) in rows.iter().enumerate() {
        let y = top + row_h * (i as f64 + 0.5);
        let colour = if r.bad { COLOURS[1] } else { COLOURS[0] };
        let _ = write!(
            s,
            r#"<text class="tick" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            left - 8.0,
            y + 4.0,
            esc(&crate::report::format::truncate(&r.label, 30))
        );
        if r.low.is_finite() && r.high.is_finite() && r.value.is_finite() {
            let _ = write!(
                s,
                r#"<g><title>{}: {} [{}, {}]</title><line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{colour}" stroke-width="2"/><circle cx="{:.1}" cy="{y:.1}" r="4" fill="{colour}"/></g>"#,
                esc(&r.label),
                esc(&tick_label(r.value, &o.unit)),
                esc(&tick_label(r.low, &o.unit)),
                esc(&tick_label(r.high, &o.unit)),
                sx(r.low),
                sx(r.high),
                sx(r.value)
            );
        }
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(
            nice_ticks(0.0, 100.0),
            vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
        );
        assert_eq!(nice_ticks(0.0, 0.07), vec![0.0, 0.02, 0.04, 0.06]);
        let t = nice_ticks(180.0, 930.0);
        assert!(
            t.first().unwrap() >= &180.0 && t.last().unwrap() <= &930.0 && t.len() >= 3,
            "{t:?}"
        );
    }

    #[test]
    fn an_interval_chart_draws_one_bar_per_finite_estimate_around_zero() {
        let rows = vec![
            Estimate {
                label: "p95 <b>".into(),
                value: 32.3,
                low: 23.8,
                high: 40.9,
                bad: true,
            },
            Estimate {
                label: "conversion".into(),
                value: 2.6,
                low: -6.0,
                high: 11.0,
                bad: false,
            },
            Estimate {
                label: "n/a".into(),
                value: f64::NAN,
                low: f64::NAN,
                high: f64::NAN,
                bad: false,
            },
        ];
        let svg = interval_chart(
            &rows,
            &Options {
                unit: " %".into(),
                ..Options::default()
            },
        );
        assert_eq!(svg.matches("<circle").count(), 2, "{svg}");
        assert!(svg.contains("p95 &lt;b&gt;") && !svg.contains("<b>"));
        assert!(
            svg.contains(r##"fill="#D55E00""##),
            "the backfire in the alarm colour"
        );
    }

    #[test]
    fn tick_labels_are_written_as_people_write_round_numbers() {
        assert_eq!(tick_label(0.8000000000000002, " %"), "0.8 %");
        assert_eq!(tick_label(200.0, " ms"), "200 ms");
        assert_eq!(tick_label(0.0, ""), "0");
    }

    #[test]
    fn labels_from_events_are_escaped_and_an_empty_chart_says_so() {
        let s = Series {
            name: "<script>alert(1)</script>".into(),
            points: vec![
                (0.0, 1.0),
                (3_600e6, 2.0),
                (7_200e6, f64::NAN),
                (10_800e6, 3.0),
            ],
        };
        let m = Marker {
            x: 3_600e6,
            label: "checkout@2.4.0 \"><img src=x onerror=alert(2)>".into(),
        };
        let svg = line_chart(&[s.clone(), s], &[m], &Options::default());
        assert!(!svg.contains("<script>") && !svg.contains("<img"), "{svg}");
        assert!(svg.contains("&lt;script&gt;") && svg.contains("&quot;&gt;&lt;img"));
        // the NaN breaks the line: two sub-paths
        assert_eq!(
            svg.matches(" M").count() + svg.matches("d=\"M").count(),
            4,
            "{svg}"
        );
        let empty = line_chart(&[], &[], &Options::default());
        assert!(empty.contains("no data in this range"));
    }
}
