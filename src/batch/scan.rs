//! A single pass over one record's bytes that finds its top-level keys, without building values.
//!
//! arrow-json decodes the typed columns; this scanner exists for what arrow-json cannot tell us
//! per record: which top-level fields the schema does not know (they are counted), duplicated
//! known fields, and the byte spans of the fields the batch stage extracts itself (`ts`, raw JSON
//! objects). It also catches most malformed lines up front, so the decoder's batch-level errors
//! (and the bisection that isolates them) are rare.

/// Why a record is not a well-formed JSON object (as far as a key scan can tell).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanError {
    NotAnObject(char),
    Unterminated(&'static str),
    Expected {
        what: &'static str,
        at: usize,
        found: char,
    },
    DuplicateField(String),
    TrailingData(usize),
}

impl std::fmt::Display for ScanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScanError::NotAnObject(c) => {
                write!(f, "not a JSON object: the record starts with `{c}`, expected `{{`")
            }
            ScanError::Unterminated(what) => write!(f, "not valid JSON: unterminated {what}"),
            ScanError::Expected { what, at, found } => {
                write!(f, "not valid JSON: expected {what} at byte {at}, found `{found}`")
            }
            ScanError::DuplicateField(name) => write!(f, "duplicate field `{name}`"),
            ScanError::TrailingData(at) => write!(
                f,
                "not valid JSON: unexpected data after the object at byte {at} (one object per line)"
            ),
        }
    }
}

/// Byte range `start..end` of a value in its record.
pub type Span = (usize, usize);

/// Result of scanning one record.
#[derive(Debug, Default, Clone)]
pub struct Scanned {
    /// Bit `i` is set when known field `i` is present (even as `null`).
    pub seen: u64,
    /// Byte spans of the values of the fields asked for, `(0, 0)` when absent.
    pub spans: Vec<Span>,
}

fn char_at(b: &[u8], i: usize) -> char {
    b.get(i).map_or('\u{2400}', |&c| {
        if c.is_ascii() {
            c as char
        } else {
            '\u{FFFD}'
        }
    })
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\r' | b'\n') {
        i += 1;
    }
    i
}

/// `b[i]` is `"`; returns the index after the closing quote.
fn skip_string(b: &[u8], i: usize) -> Result<usize, ScanError> {
    // Most strings in events are short (keys, enums, ids): a plain loop beats a vectorised
    // search's set-up cost for them; long ones go to memchr.
    let short_end = (i + 1 + 24).min(b.len());
    let mut j = i + 1;
    while j < short_end {
        match b[j] {
            b'"' => return Ok(j + 1),
            b'\\' => break,
            _ => j += 1,
        }
    }
    loop {
        match memchr::memchr2(b'"', b'\\', &b[j..]) {
            Some(k) if b[j + k] == b'"' => return Ok(j + k + 1),
            Some(k) => j += k + 2,
            None => return Err(ScanError::Unterminated("string")),
        }
        if j > b.len() {
            return Err(ScanError::Unterminated("string"));
        }
    }
}

fn skip_value(b: &[u8], i: usize) -> Result<usize, ScanError> {
    match b.get(i) {
        Some(b'"') => skip_string(b, i),
        Some(b'{') | Some(b'[') => {
            let mut depth = 0usize;
            let mut j = i;
            while j < b.len() {
                match b[j] {
                    b'"' => {
                        j = skip_string(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Ok(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            Err(ScanError::Unterminated("object or array"))
        }
        Some(_) => {
            let mut j = i;
            while j < b.len() && !matches!(b[j], b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n')
            {
                j += 1;
            }
            if j == i {
                return Err(ScanError::Expected {
                    what: "a value",
                    at: i,
                    found: char_at(b, i),
                });
            }
            Ok(j)
        }
        None => Err(ScanError::Unterminated("object")),
    }
}

/// Scans the top level of one record.
///
/// `known` are the schema's field names (at most 64); the spans of the fields whose bit is set in
/// `want_spans` are returned. `unknown` is called with the raw bytes of each key not in `known`
/// (still escaped: `st\u0061tus` is not `status` here) and the byte span of its value.
pub fn scan(
    b: &[u8],
    known: &[&[u8]],
    want_spans: u64,
    out: &mut Scanned,
    unknown: &mut dyn FnMut(&[u8], Span),
) -> Result<(), ScanError> {
    out.seen = 0;
    out.spans.clear();
    out.spans.resize(known.len(), (0, 0));
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return Err(ScanError::NotAnObject(char_at(b, i)));
    }
    i = skip_ws(b, i + 1);
    let mut next_guess = 0usize;
    if b.get(i) == Some(&b'}') {
        i += 1;
    } else {
        loop {
            if b.get(i) != Some(&b'"') {
                return Err(ScanError::Expected {
                    what: "a field name",
                    at: i,
                    found: char_at(b, i),
                });
            }
            let key_end = skip_string(b, i)?;
            let key = &b[i + 1..key_end - 1];
            i = skip_ws(b, key_end);
            if b.get(i) != Some(&b':') {
                return Err(ScanError::Expected {
                    what: "`:`",
                    at: i,
                    found: char_at(b, i),
                });
            }
            i = skip_ws(b, i + 1);
            let value_start = i;
            i = skip_value(b, i)?;
            // Producers usually send fields in the same order; try the field after the previous
            // match first, then compare lengths before bytes.
            let guess = next_guess.min(known.len().saturating_sub(1));
            let found = if known.get(guess).is_some_and(|k| *k == key) {
                Some(guess)
            } else {
                known.iter().position(|k| k.len() == key.len() && *k == key)
            };
            if let Some(f) = found {
                next_guess = f + 1;
            }
            match found {
                Some(f) => {
                    let bit = 1u64 << f;
                    if out.seen & bit != 0 {
                        return Err(ScanError::DuplicateField(
                            String::from_utf8_lossy(key).into_owned(),
                        ));
                    }
                    out.seen |= bit;
                    if want_spans & bit != 0 {
                        out.spans[f] = (value_start, i);
                    }
                }
                None => unknown(key, (value_start, i)),
            }
            i = skip_ws(b, i);
            match b.get(i) {
                Some(b',') => i = skip_ws(b, i + 1),
                Some(b'}') => {
                    i += 1;
                    break;
                }
                _ => {
                    return Err(ScanError::Expected {
                        what: "`,` or `}`",
                        at: i,
                        found: char_at(b, i),
                    })
                }
            }
        }
    }
    let end = skip_ws(b, i);
    if end != b.len() {
        return Err(ScanError::TrailingData(end));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(line: &str) -> (Result<Scanned, ScanError>, Vec<String>) {
        let known: [&[u8]; 3] = [b"ts", b"a", b"props"];
        let mut out = Scanned::default();
        let mut unknown = Vec::new();
        let r = scan(
            line.as_bytes(),
            &known,
            0b101,
            &mut out,
            &mut |k, (s, e)| {
                unknown.push(format!("{}={}", String::from_utf8_lossy(k), &line[s..e]))
            },
        );
        (r.map(|_| out), unknown)
    }

    #[test]
    fn finds_spans_and_unknown_keys_at_the_top_level_only() {
        let line = r#" {"ts": "2026-01-01T00:00:00Z", "x": {"a": 1, "s": "}\"{"}, "props": {"k": [1, {"z": 2}]}, "a": 3} "#;
        let (r, unknown) = run(line);
        let s = r.unwrap();
        assert_eq!(s.seen, 0b111);
        assert_eq!(
            &line[s.spans[0].0..s.spans[0].1],
            "\"2026-01-01T00:00:00Z\""
        );
        assert_eq!(&line[s.spans[2].0..s.spans[2].1], r#"{"k": [1, {"z": 2}]}"#);
        assert_eq!(s.spans[1], (0, 0), "span of `a` was not asked for");
        assert_eq!(unknown, vec![r#"x={"a": 1, "s": "}\"{"}"#]);
    }

    #[test]
    fn malformed_records_are_named() {
        assert_eq!(run("[1,2]").0.unwrap_err(), ScanError::NotAnObject('['));
        assert_eq!(
            run(r#"{"a": "x"#).0.unwrap_err(),
            ScanError::Unterminated("string")
        );
        assert_eq!(
            run(r#"{"a": 1, "a": 2}"#).0.unwrap_err(),
            ScanError::DuplicateField("a".into())
        );
        assert_eq!(
            run(r#"{"a": 1}{"a": 2}"#).0.unwrap_err(),
            ScanError::TrailingData(8)
        );
        assert!(matches!(
            run(r#"{"a" 1}"#).0.unwrap_err(),
            ScanError::Expected { what: "`:`", .. }
        ));
        assert!(matches!(
            run(r#"{"a": 1 "b": 2}"#).0.unwrap_err(),
            ScanError::Expected { .. }
        ));
        assert_eq!(
            run(r#"{"a": {"b": [1}"#).0.unwrap_err(),
            ScanError::Unterminated("object or array")
        );
        assert!(run("{}").0.is_ok());
    }
}
