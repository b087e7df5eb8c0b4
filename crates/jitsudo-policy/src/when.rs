//! `when` clauses: time windows, dates, terminal, origin and host, checked
//! against the [`Context`] the daemon supplies.
//!
//! Time is pure arithmetic on a Unix timestamp and a UTC offset: named
//! (IANA) time zones are not supported, as they need the zone database;
//! `tz = "local"` uses the offset the daemon reports for the machine's zone
//! at that instant (so daylight saving time follows the machine).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::glob::Glob;

/// Facts about a request that come from the daemon's own sources, never
/// from the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Context<'a> {
    /// The time of the request.
    pub now: Timestamp,
    /// Whether the caller's process has a controlling terminal (from the
    /// kernel: the peer's `/proc/PID/stat` tty field).
    pub has_tty: bool,
    /// Where the caller's session comes from.
    pub origin: Origin,
    /// This machine's host name (the daemon's `gethostname`).
    pub host: &'a str,
}

/// An instant, with the local zone's offset at that instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp {
    /// Seconds since 1970-01-01 00:00:00 UTC.
    pub unix_seconds: i64,
    /// The machine's local UTC offset at that instant, in seconds east of
    /// UTC (`tm_gmtoff`), used by `tz = "local"`.
    pub local_utc_offset: i32,
}

/// Where a caller's session comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// A terminal on this machine (virtual console, local graphical session).
    Local,
    /// A terminal opened by sshd.
    Ssh,
    /// No terminal at all (cron, scripts, services).
    None,
    /// A terminal whose origin the daemon could not tell: matches no
    /// `origin` list (a rule without `origin` still matches).
    #[serde(skip_deserializing)]
    Unknown,
}

/// A rule's `when` clause: every condition given must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct When {
    /// Weekly windows; the time must be in one of them (empty: any time).
    pub hours: Vec<WeeklyWindow>,
    /// Date ranges; the date must be in one of them (empty: any date).
    pub dates: Vec<DateRange>,
    /// The zone `hours` and `dates` are written in.
    pub tz: TimeZone,
    /// `Some(true)`: a terminal is required; `Some(false)`: forbidden.
    pub tty: Option<bool>,
    /// Allowed origins (empty: any).
    pub origin: Vec<Origin>,
    /// Host name patterns, case-insensitive (empty: any host).
    pub hosts: Vec<Glob>,
}

/// The part of a `when` clause that does not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WhenPart {
    /// The host name matches no `hosts` pattern.
    Hosts,
    /// The date is in no `dates` range.
    Dates,
    /// The time is in no `hours` window.
    Hours,
    /// The terminal requirement (`tty`) is not met.
    Tty,
    /// The origin is not listed in `origin`.
    Origin,
}

/// The zone of a `when` clause's times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeZone {
    /// `"local"` (the default): the machine's zone, as the daemon reports it.
    Local,
    /// `"UTC"`.
    Utc,
    /// `"+HH:MM"` or `"-HH:MM"`: a fixed offset, in seconds east of UTC.
    Fixed(i32),
}

/// A weekly window such as `Mon-Fri 08:00-18:00`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeeklyWindow {
    /// Days the window starts on, bit 0 for Monday to bit 6 for Sunday.
    pub days: u8,
    /// First minute of the day inside the window (0..1440).
    pub start: u16,
    /// First minute after the window (1..=1440); a window whose end is not
    /// after its start runs past midnight into the next day.
    pub end: u16,
    /// As written.
    pub text: String,
}

/// An inclusive range of dates; an open end is unbounded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateRange {
    /// First day, as (year, month, day).
    pub first: Option<(i32, u8, u8)>,
    /// Last day, as (year, month, day).
    pub last: Option<(i32, u8, u8)>,
    /// As written.
    pub text: String,
}

/// The civil time in some zone: the date, the weekday (0 = Monday) and
/// the minute of the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Civil {
    date: (i32, u8, u8),
    weekday: u8,
    minute: u16,
}

impl When {
    /// Whether the clause holds in `context`, or the first part that does
    /// not (hosts, dates, hours, tty, origin).
    pub fn check(&self, context: &Context<'_>) -> Result<(), WhenPart> {
        if !self.hosts.is_empty() {
            let host = context.host.to_ascii_lowercase();
            if !self.hosts.iter().any(|p| p.matches(host.as_bytes(), false)) {
                return Err(WhenPart::Hosts);
            }
        }
        if !self.dates.is_empty() || !self.hours.is_empty() {
            let civil = self.tz.civil(&context.now);
            if !self.dates.is_empty() && !self.dates.iter().any(|d| d.contains(civil.date)) {
                return Err(WhenPart::Dates);
            }
            if !self.hours.is_empty() && !self.hours.iter().any(|w| w.contains(&civil)) {
                return Err(WhenPart::Hours);
            }
        }
        if self.tty.is_some_and(|wanted| wanted != context.has_tty) {
            return Err(WhenPart::Tty);
        }
        if !self.origin.is_empty() && !self.origin.contains(&context.origin) {
            return Err(WhenPart::Origin);
        }
        Ok(())
    }
}

impl TimeZone {
    /// Parses `"UTC"`, `"local"` or `"+HH:MM"`/`"-HH:MM"` (up to 14 hours).
    pub(crate) fn parse(text: &str) -> Result<TimeZone, String> {
        match text {
            "UTC" | "utc" | "Z" => return Ok(TimeZone::Utc),
            "local" => return Ok(TimeZone::Local),
            _ => {}
        }
        let fixed = text.strip_prefix(['+', '-']).and_then(|rest| {
            let (hours, minutes) = rest.split_once(':')?;
            let hours = two_digits(hours)?;
            let minutes = two_digits(minutes)?;
            (hours <= 14 && minutes < 60).then_some(i32::from(hours * 60 + minutes) * 60)
        });
        match fixed {
            Some(seconds) if text.starts_with('-') => Ok(TimeZone::Fixed(-seconds)),
            Some(seconds) => Ok(TimeZone::Fixed(seconds)),
            None if text.contains('/') => Err(format!(
                "named time zones such as `{text}` are not supported yet: use \"local\" (the machine's zone), \"UTC\" or a fixed offset such as \"+01:00\""
            )),
            None => Err(format!(
                "tz `{text}` must be \"local\", \"UTC\" or a fixed offset such as \"+01:00\""
            )),
        }
    }

    /// The civil time of `now` in this zone.
    fn civil(&self, now: &Timestamp) -> Civil {
        let offset = match self {
            TimeZone::Local => now.local_utc_offset,
            TimeZone::Utc => 0,
            TimeZone::Fixed(offset) => *offset,
        };
        let seconds = now.unix_seconds.saturating_add(i64::from(offset));
        let days = seconds.div_euclid(86_400);
        let minute = u16::try_from(seconds.rem_euclid(86_400) / 60).unwrap_or(0);
        let weekday = u8::try_from((days + 3).rem_euclid(7)).unwrap_or(0);
        Civil {
            date: civil_from_days(days),
            weekday,
            minute,
        }
    }
}

/// The date `days` days after 1970-01-01 (Howard Hinnant's algorithm),
/// clamped to years that fit an `i32`.
fn civil_from_days(days: i64) -> (i32, u8, u8) {
    let z = days.clamp(-700_000_000_000, 700_000_000_000) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        i32::try_from(year).unwrap_or(if year < 0 { i32::MIN } else { i32::MAX }),
        u8::try_from(month).unwrap_or(1),
        u8::try_from(day).unwrap_or(1),
    )
}

/// Exactly two ASCII digits.
fn two_digits(text: &str) -> Option<u16> {
    (text.len() == 2 && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

/// Day names, Monday first.
const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl WeeklyWindow {
    /// Parses `[DAYS] [HH:MM-HH:MM]`: days as `Mon`, `Mon-Fri` (ranges may
    /// wrap: `Fri-Mon`) or lists `Mon,Wed,Sat-Sun`; at least one part.
    pub(crate) fn parse(text: &str) -> Result<WeeklyWindow, String> {
        let invalid = |why: &str| {
            format!(
                "hours `{text}` {why}: write days and/or a time range, such as \"Mon-Fri 08:00-18:00\", \"Sat,Sun\" or \"22:00-06:00\""
            )
        };
        let words: Vec<&str> = text.split_ascii_whitespace().collect();
        let (days, times) = match words.as_slice() {
            [one] if one.contains(':') => (None, Some(*one)),
            [one] => (Some(*one), None),
            [days, times] => (Some(*days), Some(*times)),
            _ => return Err(invalid("is not a weekly window")),
        };
        let days = match days {
            Some(days) => parse_days(days).map_err(|why| invalid(&why))?,
            None => 0x7f,
        };
        let (start, end) = match times {
            Some(times) => parse_times(times).map_err(|why| invalid(&why))?,
            None => (0, 1440),
        };
        Ok(WeeklyWindow {
            days,
            start,
            end,
            text: text.to_owned(),
        })
    }

    /// Whether the civil time is inside the window.
    fn contains(&self, civil: &Civil) -> bool {
        let on = |weekday: u8| self.days & (1 << weekday) != 0;
        if self.start < self.end {
            on(civil.weekday) && (self.start..self.end).contains(&civil.minute)
        } else {
            (on(civil.weekday) && civil.minute >= self.start)
                || (on((civil.weekday + 6) % 7) && civil.minute < self.end)
        }
    }
}

/// Parses a day list into a bit set.
fn parse_days(text: &str) -> Result<u8, String> {
    let day = |name: &str| {
        DAYS.iter()
            .position(|d| d.eq_ignore_ascii_case(name))
            .ok_or_else(|| format!("has an unknown day `{name}` (use Mon, Tue, … Sun)"))
    };
    let mut set = 0u8;
    for item in text.split(',') {
        match item.split_once('-') {
            Some((first, last)) => {
                let (first, last) = (day(first)?, day(last)?);
                let mut d = first;
                loop {
                    set |= 1 << d;
                    if d == last {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            }
            None => set |= 1 << day(item)?,
        }
    }
    Ok(set)
}

/// Parses `HH:MM-HH:MM` into minutes of the day; the end may be `24:00`.
fn parse_times(text: &str) -> Result<(u16, u16), String> {
    let minute = |time: &str| {
        let (hours, minutes) = time.split_once(':')?;
        let (hours, minutes) = (two_digits(hours)?, two_digits(minutes)?);
        let total = hours * 60 + minutes;
        (minutes < 60 && total <= 1440).then_some(total)
    };
    let (start, end) = text
        .split_once('-')
        .ok_or_else(|| "has no `-` between the start and end times".to_owned())?;
    let start = minute(start)
        .filter(|&m| m < 1440)
        .ok_or_else(|| format!("has an invalid start time `{start}`"))?;
    let end = minute(end).ok_or_else(|| format!("has an invalid end time `{end}`"))?;
    if start == end {
        return Err("is an empty window (start equals end)".to_owned());
    }
    Ok((start, end))
}

impl DateRange {
    /// Parses `YYYY-MM-DD`, `FIRST..LAST`, `FIRST..` or `..LAST`.
    pub(crate) fn parse(text: &str) -> Result<DateRange, String> {
        let invalid = |why: String| {
            format!("dates `{text}` {why}: write \"2026-01-01..2026-12-31\", \"2026-01-01..\", \"..2026-12-31\" or one day")
        };
        let (first, last) = match text.split_once("..") {
            Some((first, last)) => (first, last),
            None => (text, text),
        };
        let date = |d: &str| -> Result<Option<(i32, u8, u8)>, String> {
            if d.is_empty() {
                Ok(None)
            } else {
                parse_date(d).map(Some).map_err(invalid)
            }
        };
        let (first, last) = (date(first)?, date(last)?);
        match (first, last) {
            (None, None) => Err(invalid("has neither a first nor a last day".to_owned())),
            (Some(a), Some(b)) if a > b => Err(invalid("ends before it starts".to_owned())),
            _ => Ok(DateRange {
                first,
                last,
                text: text.to_owned(),
            }),
        }
    }

    /// Whether the date is inside the range.
    fn contains(&self, date: (i32, u8, u8)) -> bool {
        let before = self.first.is_some_and(|first| date < first);
        let after = self.last.is_some_and(|last| date > last);
        !before && !after
    }
}

/// Parses a valid `YYYY-MM-DD` date.
fn parse_date(text: &str) -> Result<(i32, u8, u8), String> {
    let invalid = || format!("has an invalid date `{text}`");
    let mut parts = text.split('-');
    let (Some(y), Some(m), Some(d), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid());
    };
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(y, 4) || !digits(m, 2) || !digits(d, 2) {
        return Err(invalid());
    }
    let year: i32 = y.parse().map_err(|_| invalid())?;
    let month: u8 = m.parse().map_err(|_| invalid())?;
    let day: u8 = d.parse().map_err(|_| invalid())?;
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(invalid()),
    };
    if day == 0 || day > days_in_month {
        return Err(invalid());
    }
    Ok((year, month, day))
}

/// Compiles a `hosts` pattern (case-insensitive).
pub(crate) fn parse_host(text: &str) -> Result<Glob, String> {
    let valid = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._*?[]!^\\".contains(&b));
    if !valid {
        return Err(format!(
            "host pattern `{text}` may only contain letters, digits, `-`, `.`, `_` and wildcards"
        ));
    }
    Glob::new(&text.to_ascii_lowercase())
}

impl fmt::Display for WhenPart {
    /// The condition that failed, in a few words.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WhenPart::Hosts => "hosts: this host is not listed",
            WhenPart::Dates => "dates: today is outside the allowed dates",
            WhenPart::Hours => "hours: now is outside the allowed hours",
            WhenPart::Tty => "tty: the terminal requirement is not met",
            WhenPart::Origin => "origin: the session's origin is not listed",
        })
    }
}

impl fmt::Display for TimeZone {
    /// As written in a policy.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeZone::Local => f.write_str("local"),
            TimeZone::Utc => f.write_str("UTC"),
            TimeZone::Fixed(seconds) => {
                let sign = if *seconds < 0 { '-' } else { '+' };
                let minutes = seconds.unsigned_abs() / 60;
                write!(f, "{sign}{:02}:{:02}", minutes / 60, minutes % 60)
            }
        }
    }
}

impl fmt::Display for Origin {
    /// As written in a policy (`unknown` for [`Origin::Unknown`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::Local => "local",
            Origin::Ssh => "ssh",
            Origin::None => "none",
            Origin::Unknown => "unknown",
        })
    }
}

impl fmt::Display for When {
    /// A one-line summary, such as `hours Mon-Fri 08:00-18:00 (tz UTC), tty`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if !self.hours.is_empty() {
            let windows: Vec<&str> = self.hours.iter().map(|w| w.text.as_str()).collect();
            parts.push(format!("hours {}", windows.join(", ")));
        }
        if !self.dates.is_empty() {
            let ranges: Vec<&str> = self.dates.iter().map(|d| d.text.as_str()).collect();
            parts.push(format!("dates {}", ranges.join(", ")));
        }
        if !self.hours.is_empty() || !self.dates.is_empty() {
            parts.push(format!("tz {}", self.tz));
        }
        match self.tty {
            Some(true) => parts.push("tty".to_owned()),
            Some(false) => parts.push("no tty".to_owned()),
            None => {}
        }
        if !self.origin.is_empty() {
            let origins: Vec<String> = self.origin.iter().map(ToString::to_string).collect();
            parts.push(format!("origin {}", origins.join(", ")));
        }
        if !self.hosts.is_empty() {
            let hosts: Vec<&str> = self.hosts.iter().map(Glob::as_str).collect();
            parts.push(format!("hosts {}", hosts.join(", ")));
        }
        if parts.is_empty() {
            return f.write_str("always");
        }
        f.write_str(&parts.join("; "))
    }
}

#[cfg(test)]
mod tests;
