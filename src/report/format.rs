//! Numbers for people: every text report and terminal table formats its figures here, so one
//! figure reads the same everywhere. Stored tables, CSV and JSON keep full precision.

use std::fmt::Write;

/// A number with 4 significant digits (`0.4298`, `12.35`, `1235`); from 10 000 on, whole
/// (`32423`); below 0.0001, in scientific notation (`1.234e-5`). NaN and infinities: `n/a`.
pub fn num(x: f64) -> String {
    if !x.is_finite() {
        return "n/a".into();
    }
    let a = x.abs();
    if a == 0.0 {
        "0".into()
    } else if a >= 10_000.0 {
        format!("{x:.0}")
    } else if a < 1e-4 {
        format!("{x:.3e}")
    } else {
        // digits after the point so that 4 significant digits show
        let decimals = (3 - a.log10().floor() as i32).clamp(0, 7) as usize;
        let s = format!("{x:.decimals$}");
        // 9.99995 rounds to 10.0000: one digit too many
        if s.trim_start_matches('-')
            .replace('.', "")
            .trim_start_matches('0')
            .len()
            > 4
            && decimals > 0
        {
            format!("{x:.prec$}", prec = decimals - 1)
        } else {
            s
        }
    }
}

/// A relative change as a signed percentage with one decimal: `+27.1 %`, `-3.0 %`.
pub fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:+.1} %", 100.0 * x)
    } else {
        "n/a".into()
    }
}

/// A p-value: 4 decimals, or scientific notation below 0.0001 (`2.3e-299`).
pub fn p_value(p: f64) -> String {
    if !p.is_finite() {
        "n/a".into()
    } else if p < 1e-4 {
        format!("{p:.1e}")
    } else {
        format!("{p:.4}")
    }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Writes `lines` (the first is the header) as columns aligned on their widest cell, two spaces
/// apart.
pub fn write_aligned(s: &mut String, lines: &[Vec<String>]) {
    let columns = lines.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            lines
                .iter()
                .map(|l| l.get(c).map_or(0, |x| x.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    for l in lines {
        let cells: Vec<String> = l
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, w))| {
                if i + 1 == l.len() {
                    c.clone()
                } else {
                    format!("{c:<w$}")
                }
            })
            .collect();
        let _ = writeln!(s, "{}", cells.join("  ").trim_end());
    }
}

/// Serializes a time as RFC 3339 with seconds (`2026-11-10T14:00:00Z`), for JSON output.
pub fn ser_time<S: serde::Serializer>(
    t: &chrono::DateTime<chrono::Utc>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// Cuts `s` to at most `max` characters (an ellipsis marks the cut).
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Text safe inside HTML and SVG (element content and quoted attribute values): `<`, `>`, `&`,
/// `"` and `'` as entities; control characters but tab and newline dropped.
pub fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// Text that came from an event, safe inside Markdown (a table cell included): the characters
/// Markdown or HTML would act on are backslash-escaped or replaced by their entity, line breaks
/// become spaces. `<script>` stays text on GitHub and in any renderer.
pub fn markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '!' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// How a column of numbers is shown to people, by its name: p-values as [`p_value`], relative
/// changes as [`pct`], everything else as [`num`].
pub fn for_column(name: &str) -> fn(f64) -> String {
    if name == "p_value" || name.ends_with("_p_value") {
        p_value
    } else if name == "rel_change" || name.starts_with("relative_") || name.ends_with("_relative") {
        pct
    } else {
        num
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_escapes_what_a_renderer_would_act_on() {
        assert_eq!(
            markdown("<script>alert(1)</script> | *x* [a](b)\nnext"),
            "&lt;script&gt;alert(1)&lt;/script&gt; \\| \\*x\\* \\[a\\](b) next"
        );
        assert_eq!(markdown("שלום 🚀 a_b"), "שלום 🚀 a\\_b");
    }

    #[test]
    fn numbers_read_like_a_person_writes_them() {
        assert_eq!(num(0.4297919762258544), "0.4298");
        assert_eq!(num(32422.550000000003), "32423");
        assert_eq!(num(1234.5678), "1235");
        assert_eq!(num(12.3456), "12.35");
        assert_eq!(num(-0.012345), "-0.01235");
        assert_eq!(num(9.99995), "10.00");
        assert_eq!(num(0.0), "0");
        assert_eq!(num(0.00001234), "1.234e-5");
        assert_eq!(num(f64::NAN), "n/a");
        assert_eq!(pct(0.2712), "+27.1 %");
        assert_eq!(pct(-0.03), "-3.0 %");
        assert_eq!(p_value(2.3e-299), "2.3e-299");
        assert_eq!(p_value(0.03123), "0.0312");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(12), "12");
        let mut s = String::new();
        write_aligned(
            &mut s,
            &[
                vec!["a".into(), "bb".into()],
                vec!["ccc".into(), "d".into()],
            ],
        );
        assert_eq!(s, "a    bb\nccc  d\n");
    }
}
