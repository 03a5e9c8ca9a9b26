//! Event timestamps: RFC 3339 strings or epoch milliseconds, to UTC microseconds, with a sanity
//! window so that a clock at 1970 or a unit mix-up (seconds sent as milliseconds) is rejected
//! instead of creating a partition decades away.

/// 2000-01-01T00:00:00Z in microseconds: nothing older is a real event of this product.
pub const MIN_TS_MICROS: i64 = 946_684_800_000_000;
/// How far in the future an event may claim to be (client clock skew).
pub const MAX_FUTURE_MICROS: i64 = 24 * 3600 * 1_000_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

fn digits(b: &[u8], range: std::ops::Range<usize>) -> Option<u32> {
    let s = b.get(range)?;
    s.iter().try_fold(0u32, |acc, c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

/// Parses an RFC 3339 date-time (`2026-11-27T13:05:07.123Z`, `…+01:00`; `T` may be a space, as
/// RFC 3339 allows) to microseconds since the epoch. Digits past microseconds are truncated.
pub fn parse_rfc3339(s: &[u8]) -> Result<i64, &'static str> {
    const BAD: &str = "is not an RFC 3339 date-time like 2026-11-27T13:05:07Z";
    if s.len() < 19 || s[4] != b'-' || s[7] != b'-' || s[13] != b':' || s[16] != b':' {
        return Err(BAD);
    }
    if !matches!(s[10], b'T' | b't' | b' ') {
        return Err(BAD);
    }
    let year = digits(s, 0..4).ok_or(BAD)?;
    let month = digits(s, 5..7).ok_or(BAD)?;
    let day = digits(s, 8..10).ok_or(BAD)?;
    let hour = digits(s, 11..13).ok_or(BAD)?;
    let minute = digits(s, 14..16).ok_or(BAD)?;
    let second = digits(s, 17..19).ok_or(BAD)?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(i64::from(year), month) {
        return Err("has a day or month that does not exist");
    }
    if hour > 23 || minute > 59 || second > 59 {
        return Err("has an hour, minute or second out of range");
    }
    let mut i = 19;
    let mut micros = 0i64;
    if s.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < s.len() && s[i].is_ascii_digit() {
            if i - start < 6 {
                micros = micros * 10 + i64::from(s[i] - b'0');
            }
            i += 1;
        }
        if i == start {
            return Err(BAD);
        }
        for _ in (i - start)..6 {
            micros *= 10;
        }
    }
    let offset_secs: i64 = match s.get(i) {
        Some(b'Z') | Some(b'z') if i + 1 == s.len() => 0,
        Some(sign @ (b'+' | b'-')) if i + 6 == s.len() && s[i + 3] == b':' => {
            let oh = digits(s, i + 1..i + 3).ok_or(BAD)?;
            let om = digits(s, i + 4..i + 6).ok_or(BAD)?;
            if oh > 23 || om > 59 {
                return Err("has a time-zone offset out of range");
            }
            let off = i64::from(oh * 3600 + om * 60);
            if *sign == b'-' {
                -off
            } else {
                off
            }
        }
        _ => return Err("has no time-zone offset (`Z` or `+hh:mm`) or has trailing text"),
    };
    let days = days_from_civil(i64::from(year), month, day);
    let secs = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second) - offset_secs;
    Ok(secs * 1_000_000 + micros)
}

/// Parses the raw JSON value of a `ts` field. `Ok(None)` for `null`.
pub fn parse_ts_value(raw: &[u8]) -> Result<Option<i64>, String> {
    match raw.first() {
        Some(b'"') => {
            let inner = &raw[1..raw.len().saturating_sub(1).max(1)];
            parse_rfc3339(inner).map(Some).map_err(|why| {
                format!(
                    "field `ts` is `{}`, which {why}",
                    String::from_utf8_lossy(inner)
                        .chars()
                        .take(64)
                        .collect::<String>()
                )
            })
        }
        Some(b'-' | b'0'..=b'9') => {
            let text = std::str::from_utf8(raw).unwrap_or_default();
            let ms: f64 = text.parse().map_err(|_| {
                format!("field `ts` is `{text}`, expected epoch milliseconds or an RFC 3339 string")
            })?;
            if !ms.is_finite() || ms.abs() > 1e16 {
                return Err(format!(
                    "field `ts` is `{text}`, out of range for epoch milliseconds"
                ));
            }
            Ok(Some((ms * 1000.0).round() as i64))
        }
        Some(b'n') if raw == b"null" => Ok(None),
        _ => Err(format!(
            "field `ts` is `{}`, expected an RFC 3339 string or epoch milliseconds",
            String::from_utf8_lossy(raw)
                .chars()
                .take(64)
                .collect::<String>()
        )),
    }
}

/// Checks that a timestamp is plausible for an event received at `now`.
pub fn check_plausible(ts: i64, now: i64) -> Result<(), String> {
    if ts < MIN_TS_MICROS {
        return Err(format!(
            "field `ts` is {}, before 2000-01-01: not a real event time (seconds sent as milliseconds?)",
            format_micros(ts)
        ));
    }
    if ts > now + MAX_FUTURE_MICROS {
        return Err(format!(
            "field `ts` is {}, more than 24 h after the time it was received ({})",
            format_micros(ts),
            format_micros(now)
        ));
    }
    Ok(())
}

/// RFC 3339 text of a microsecond timestamp, for messages.
pub fn format_micros(ts: i64) -> String {
    chrono::DateTime::from_timestamp_micros(ts).map_or_else(
        || ts.to_string(),
        |d| d.format("%Y-%m-%dT%H:%M:%S%.fZ").to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chrono_micros(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .timestamp_micros()
    }

    #[test]
    fn agrees_with_chrono_on_valid_inputs() {
        for s in [
            "2026-11-27T13:05:07Z",
            "2026-11-27T13:05:07.1Z",
            "2026-11-27T13:05:07.123456Z",
            "2026-11-27t13:05:07.123z",
            "2024-02-29T23:59:59.999+01:00",
            "2000-01-01T00:00:00-05:30",
            "2026-12-31T23:59:59.5+14:00",
        ] {
            assert_eq!(parse_rfc3339(s.as_bytes()), Ok(chrono_micros(s)), "{s}");
        }
        // digits past the microsecond are truncated
        assert_eq!(
            parse_rfc3339(b"2026-11-27T13:05:07.1234567Z"),
            Ok(chrono_micros("2026-11-27T13:05:07.123456Z"))
        );
        assert_eq!(
            parse_rfc3339(b"2026-11-27 13:05:07Z"),
            Ok(chrono_micros("2026-11-27T13:05:07Z"))
        );
    }

    #[test]
    fn rejects_what_is_not_rfc_3339() {
        for s in [
            "2026-11-27",
            "2026-11-27T13:05:07",
            "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-11-27T24:00:00Z",
            "2026-11-27T13:05:07.Z",
            "2026-11-27T13:05:07Zjunk",
            "yesterday at noon, roughly",
            "2026/11/27T13:05:07Z",
        ] {
            assert!(parse_rfc3339(s.as_bytes()).is_err(), "{s}");
        }
    }

    #[test]
    fn ts_values_accept_strings_epoch_millis_and_null() {
        let want = chrono_micros("2026-11-27T13:05:07.123Z");
        assert_eq!(
            parse_ts_value(b"\"2026-11-27T13:05:07.123Z\""),
            Ok(Some(want))
        );
        assert_eq!(
            parse_ts_value(b"1796216707123"),
            Ok(Some(1_796_216_707_123_000))
        );
        assert_eq!(parse_ts_value(b"null"), Ok(None));
        assert!(parse_ts_value(b"true").unwrap_err().contains("`true`"));
        assert!(parse_ts_value(b"{}").is_err());
        let now = want;
        assert!(check_plausible(1_700_000_000 * 1000, now)
            .unwrap_err()
            .contains("before 2000"));
        assert!(check_plausible(now + 2 * MAX_FUTURE_MICROS, now)
            .unwrap_err()
            .contains("24 h"));
        assert!(check_plausible(now - 1, now).is_ok());
    }
}
