//! Human units in configuration files and on the command line: sizes (`128MiB`), durations
//! (`30s`, `2d`) and times (`2026-11-10T14:00:00Z`, `2026-11-10`). A leaf module: every stage
//! that reads a setting parses it here, so none of them depends on the command line for it.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// A value that is not in the unit's format; the message quotes it and says what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UnitError(pub String);

impl From<UnitError> for String {
    fn from(e: UnitError) -> String {
        e.0
    }
}

/// Parses human sizes: `512`, `64KiB`, `128MiB`, `1GiB`, `10MB`.
pub fn parse_size(s: &str) -> Result<usize, UnitError> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| {
        UnitError(format!(
            "`{s}` is not a size, expected e.g. `128MiB`, `64KiB`, `1GiB` or bytes"
        ))
    })?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kib" | "k" => 1024.0,
        "mib" | "m" => 1024.0 * 1024.0,
        "gib" | "g" => 1024.0 * 1024.0 * 1024.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        other => {
            return Err(UnitError(format!(
                "`{s}` has unknown unit `{other}`, expected B, KiB, MiB, GiB, KB, MB or GB"
            )))
        }
    };
    Ok((n * mult) as usize)
}

/// Parses human durations: `500ms`, `30s`, `15m`, `1h`, `2d`.
pub fn parse_duration(s: &str) -> Result<Duration, UnitError> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| {
        UnitError(format!(
            "`{s}` is not a duration, expected e.g. `30s`, `15m`, `1h` or `2d`"
        ))
    })?;
    let secs = match unit {
        "ms" => return Ok(Duration::from_millis(n)),
        "s" | "" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        other => {
            return Err(UnitError(format!(
                "`{s}` has unknown unit `{other}`, expected ms, s, m, h or d"
            )))
        }
    };
    Ok(Duration::from_secs(secs))
}

/// Parses a time given by a person: RFC 3339, `YYYY-MM-DDTHH:MM[:SS]` or `YYYY-MM-DD HH:MM`
/// (UTC), or a date (its midnight, UTC).
pub fn parse_time(s: &str) -> Result<DateTime<Utc>, UnitError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    for f in ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Ok(Utc.from_utc_datetime(&t));
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        if let Some(t) = d.and_hms_opt(0, 0, 0) {
            return Ok(Utc.from_utc_datetime(&t));
        }
    }
    Err(UnitError(format!(
        "`{s}` is not a time, expected RFC 3339 (2026-11-10T14:00:00Z), YYYY-MM-DDTHH:MM (UTC) or YYYY-MM-DD"
    )))
}

/// Parses an RFC 3339 instant (the setting `field`) into microseconds since the epoch.
pub fn parse_instant(s: &str, field: &str) -> Result<i64, UnitError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_micros())
        .map_err(|e| {
            UnitError(format!(
                "`{field}` is `{s}`, expected an RFC 3339 time such as 2026-11-02T00:00:00Z ({e})"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_durations_and_times_parse_and_explain_errors() {
        assert_eq!(parse_size("128MiB"), Ok(128 << 20));
        assert_eq!(parse_size("64 KiB"), Ok(64 << 10));
        assert_eq!(parse_size("10MB"), Ok(10_000_000));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("12 parsecs")
            .unwrap_err()
            .0
            .contains("`parsecs`"));
        assert!(parse_size("lots").unwrap_err().0.contains("`lots`"));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(172_800)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("1 fortnight").is_err());
        let t = parse_time("2026-11-10T14:00").unwrap();
        assert_eq!(t, parse_time("2026-11-10T14:00:00Z").unwrap());
        assert_eq!(
            parse_time("2026-11-10").unwrap(),
            parse_time("2026-11-10T00:00:00+00:00").unwrap()
        );
        assert!(parse_time("yesterday")
            .unwrap_err()
            .0
            .contains("`yesterday`"));
        assert!(parse_instant("soon", "hourly.baseline.from")
            .unwrap_err()
            .0
            .contains("`hourly.baseline.from` is `soon`"));
    }
}
