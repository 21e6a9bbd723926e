//! Civil-calendar helpers on naive (time-zone-less) timestamps.
//!
//! Timestamps are `i64` seconds since 1970-01-01T00:00:00 in the data's own
//! local time, the same "naive" convention pandas uses for strings without
//! an offset. Keeping this tiny module in-house avoids a date crate for the
//! handful of operations the analyses need (day floors, months, weeks).

use crate::error::{Error, Result};

/// Seconds in a day.
pub const DAY: i64 = 86_400;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The (year, month, day) of a day count since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Day number (days since 1970-01-01, floored) of a timestamp.
pub fn day_of(ts: i64) -> i64 {
    ts.div_euclid(DAY)
}

/// ISO weekday of a day number: Monday = 0 … Sunday = 6.
pub fn weekday(day: i64) -> i64 {
    (day + 3).rem_euclid(7)
}

/// Format a day number as `YYYY-MM-DD`.
pub fn format_day(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Parse `YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS[.fff]]` or `YYYY-MM-DDTHH:MM[:SS[.fff]]`
/// (an optional trailing `Z` is accepted) into naive seconds since the epoch.
/// Fractional seconds are truncated.
pub fn parse_timestamp(s: &str) -> Result<i64> {
    let bad = || Error::Parse { what: "timestamp", value: s.to_string() };
    let t = s.trim().trim_end_matches('Z');
    let (date, time) = match t.find(['T', ' ']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let mut dp = date.split('-');
    let y: i64 = dp.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
    let m: u32 = dp.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
    let d: u32 = dp.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
    if dp.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(bad());
    }
    let mut secs = days_from_civil(y, m, d) * DAY;
    if let Some(time) = time {
        let mut tp = time.split(':');
        let h: i64 = tp.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
        let mi: i64 = tp.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
        let sec: i64 = match tp.next() {
            Some(v) => v.split('.').next().and_then(|v| v.parse().ok()).ok_or_else(bad)?,
            None => 0,
        };
        if h > 23 || mi > 59 || sec > 60 {
            return Err(bad());
        }
        secs += h * 3600 + mi * 60 + sec;
    }
    Ok(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_days() {
        for z in [-1000, 0, 1, 10_000, 19_000, 20_454] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(format_day(days_from_civil(1998, 7, 1)), "1998-07-01");
        assert_eq!(weekday(days_from_civil(2024, 12, 29)), 6); // a Sunday
    }

    #[test]
    fn parses_timestamps() {
        assert_eq!(parse_timestamp("1970-01-02").unwrap(), DAY);
        assert_eq!(parse_timestamp("1970-01-01T01:00:05").unwrap(), 3605);
        assert_eq!(parse_timestamp("1970-01-01 00:01").unwrap(), 60);
        assert!(parse_timestamp("yesterday").is_err());
    }
}
