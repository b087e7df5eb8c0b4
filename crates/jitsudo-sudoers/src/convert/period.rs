//! `NOTBEFORE=` and `NOTAFTER=` (sudo's generalized times) as the whole
//! days of a `when.dates` range, always rounded inwards so the converted
//! rule never applies at a time the sudoers rule did not.

use super::super::error::Error;

/// A period in policy terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Period {
    /// `dates`, such as `"2026-01-01..2026-06-30"`.
    pub dates: String,
    /// `tz`: `"UTC"` when the times had a zone, `"local"` otherwise.
    pub tz: String,
    /// True when a bound was not on a day boundary and was rounded inwards.
    pub rounded: bool,
}

/// A parsed generalized time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Instant {
    /// Days since 1970-01-01 (in UTC when `zoned`, else local).
    days: i64,
    /// Seconds into that day.
    seconds: i64,
    /// Whether a fraction of a second follows.
    fraction: bool,
    /// Whether a zone (`Z` or an offset) was given.
    zoned: bool,
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let shifted_month = (month + 9) % 12;
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The civil date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `YYYY-MM-DD` of a day count.
fn date(days: i64) -> String {
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Parses `YYYYMMDDHH[MM[SS]][.fraction][Z|+HHMM|-HHMM]`.
fn parse(text: &str) -> Option<Instant> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if !matches!(digits, 10 | 12 | 14) {
        return None;
    }
    let number = |range: std::ops::Range<usize>| text[range].parse::<i64>().ok();
    let (year, month, day, hour) = (number(0..4)?, number(4..6)?, number(6..8)?, number(8..10)?);
    let minute = if digits >= 12 { number(10..12)? } else { 0 };
    let second = if digits >= 14 { number(12..14)? } else { 0 };
    let mut rest = &text[digits..];
    let mut fraction = false;
    if let Some(after) = rest.strip_prefix(['.', ',']) {
        let len = after.bytes().take_while(u8::is_ascii_digit).count();
        if len == 0 {
            return None;
        }
        fraction = after[..len].bytes().any(|b| b != b'0');
        rest = &after[len..];
    }
    let offset_minutes = match rest {
        "" => None,
        "Z" | "z" => Some(0),
        _ => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let zone = &rest[1..];
            if zone.len() != 4 || !zone.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let hours: i64 = zone[..2].parse().ok()?;
            let minutes: i64 = zone[2..].parse().ok()?;
            if hours > 14 || minutes > 59 {
                return None;
            }
            Some(sign * (hours * 60 + minutes))
        }
    };
    let days = days_from_civil(year, month, day);
    if civil_from_days(days) != (year, month, day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut seconds = hour * 3600 + minute * 60 + second.min(59);
    let mut days = days;
    if let Some(offset) = offset_minutes {
        let total = days * 86_400 + seconds - offset * 60;
        days = total.div_euclid(86_400);
        seconds = total.rem_euclid(86_400);
    }
    Some(Instant {
        days,
        seconds,
        fraction,
        zoned: offset_minutes.is_some(),
    })
}

/// A period that cannot be converted, and why.
fn unconvertible(reason: &str) -> Result<Period, Error> {
    Err(Error::Unconvertible(reason.to_owned()))
}

/// The `when.dates` range for `NOTBEFORE`/`NOTAFTER`, or why there is none.
pub(super) fn period(not_before: Option<&str>, not_after: Option<&str>) -> Result<Period, Error> {
    let parse_named = |name: &str, text: Option<&str>| -> Result<Option<Instant>, Error> {
        text.map(|text| {
            parse(text).ok_or_else(|| {
                Error::Unconvertible(format!(
                    "{name}={text} is not a time sudo reads (YYYYMMDDHH[MM[SS]][Z|±HHMM])"
                ))
            })
        })
        .transpose()
    };
    let first = parse_named("NOTBEFORE", not_before)?;
    let last = parse_named("NOTAFTER", not_after)?;
    let zoned = match (first, last) {
        (Some(a), Some(b)) if a.zoned != b.zoned => {
            return unconvertible("NOTBEFORE and NOTAFTER mix a local time and a time with a zone")
        }
        (Some(a), _) | (None, Some(a)) => a.zoned,
        (None, None) => return unconvertible("no period"),
    };
    let mut rounded = false;
    let first_day = first.map(|a| {
        if a.seconds == 0 && !a.fraction {
            a.days
        } else {
            rounded = true;
            a.days + 1
        }
    });
    let last_day = last.map(|b| {
        if b.seconds == 86_399 {
            b.days
        } else {
            rounded = true;
            b.days - 1
        }
    });
    if let (Some(a), Some(b)) = (first_day, last_day) {
        if a > b {
            return unconvertible(
                "the period holds no whole day, and jitsudo's dates are whole days",
            );
        }
    }
    let dates = format!(
        "{}..{}",
        first_day.map(date).unwrap_or_default(),
        last_day.map(date).unwrap_or_default()
    );
    Ok(Period {
        dates,
        tz: if zoned { "UTC" } else { "local" }.to_owned(),
        rounded,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(before: Option<&str>, after: Option<&str>) -> (String, String, bool) {
        let period = period(before, after).unwrap();
        (period.dates, period.tz, period.rounded)
    }

    #[test]
    fn civil_dates_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(date(days_from_civil(2024, 2, 29)), "2024-02-29");
        assert_eq!(date(days_from_civil(2000, 3, 1) - 1), "2000-02-29");
        assert_eq!(date(days_from_civil(1900, 3, 1) - 1), "1900-02-28");
    }

    #[test]
    fn whole_days_convert_exactly() {
        assert_eq!(
            ok(Some("2026010100Z"), Some("20261231235959Z")),
            ("2026-01-01..2026-12-31".into(), "UTC".into(), false)
        );
        assert_eq!(
            ok(Some("202601010000"), None),
            ("2026-01-01..".into(), "local".into(), false)
        );
        assert_eq!(
            ok(None, Some("20260630235959.5")),
            ("..2026-06-30".into(), "local".into(), false)
        );
    }

    #[test]
    fn partial_days_round_inwards() {
        assert_eq!(
            ok(Some("20260101120000Z"), Some("20260301120000Z")),
            ("2026-01-02..2026-02-28".into(), "UTC".into(), true)
        );
        assert_eq!(
            ok(Some("2026010100.5Z"), None),
            ("2026-01-02..".into(), "UTC".into(), true)
        );
    }

    #[test]
    fn offsets_are_turned_into_utc() {
        // 2026-01-01 00:00 at +01:00 is 2025-12-31 23:00 UTC.
        assert_eq!(
            ok(Some("20260101000000+0100"), None),
            ("2026-01-01..".into(), "UTC".into(), true)
        );
        // 2026-01-31 23:59:59 at -00:00 offset is exact.
        assert_eq!(
            ok(None, Some("20260131235959-0000")),
            ("..2026-01-31".into(), "UTC".into(), false)
        );
    }

    #[test]
    fn refuses_bad_or_empty_periods() {
        for bad in [
            "2026",
            "20261301000000Z",
            "20260230000000Z",
            "2026010100Q",
            "2026010100+1",
        ] {
            assert!(period(Some(bad), None).is_err(), "{bad:?} accepted");
        }
        assert!(period(Some("20260101120000Z"), Some("20260102110000Z")).is_err());
        assert!(period(Some("20260101000000Z"), Some("20260102000000")).is_err());
    }
}
