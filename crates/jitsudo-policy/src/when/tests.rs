use super::*;

/// 2026-03-02 09:30 UTC, a Monday.
const MONDAY_0930: i64 = 1_772_443_800;

fn at(unix_seconds: i64, local_utc_offset: i32) -> Context<'static> {
    Context {
        now: Timestamp {
            unix_seconds,
            local_utc_offset,
        },
        has_tty: true,
        origin: Origin::Local,
        host: "web-1.example.org",
    }
}

fn utc(unix_seconds: i64) -> Context<'static> {
    at(unix_seconds, 0)
}

fn when() -> When {
    When {
        hours: Vec::new(),
        dates: Vec::new(),
        tz: TimeZone::Utc,
        tty: None,
        origin: Vec::new(),
        hosts: Vec::new(),
    }
}

fn hours(windows: &[&str]) -> When {
    When {
        hours: windows
            .iter()
            .map(|w| WeeklyWindow::parse(w).unwrap_or_else(|e| panic!("{e}")))
            .collect(),
        ..when()
    }
}

fn dates(ranges: &[&str]) -> When {
    When {
        dates: ranges
            .iter()
            .map(|r| DateRange::parse(r).unwrap_or_else(|e| panic!("{e}")))
            .collect(),
        ..when()
    }
}

#[test]
fn civil_time_is_computed() {
    let civil = |t, tz: TimeZone| {
        tz.civil(&Timestamp {
            unix_seconds: t,
            local_utc_offset: 3600,
        })
    };
    let monday = civil(MONDAY_0930, TimeZone::Utc);
    assert_eq!(
        (monday.date, monday.weekday, monday.minute),
        ((2026, 3, 2), 0, 570)
    );
    let sunday = civil(1_772_407_800, TimeZone::Utc);
    assert_eq!(
        (sunday.date, sunday.weekday, sunday.minute),
        ((2026, 3, 1), 6, 1410)
    );
    // The same instant one hour east is Monday 00:30.
    let local = civil(1_772_407_800, TimeZone::Local);
    assert_eq!(
        (local.date, local.weekday, local.minute),
        ((2026, 3, 2), 0, 30)
    );
    let fixed = civil(1_772_407_800, TimeZone::Fixed(-3600));
    assert_eq!((fixed.date, fixed.minute), ((2026, 3, 1), 1350));
    let leap = civil(1_709_208_000, TimeZone::Utc);
    assert_eq!((leap.date, leap.weekday), ((2024, 2, 29), 3));
    let before_epoch = civil(-60, TimeZone::Utc);
    assert_eq!(
        (before_epoch.date, before_epoch.weekday, before_epoch.minute),
        ((1969, 12, 31), 2, 1439)
    );
    // Extremes do not panic.
    let _ = civil(i64::MAX, TimeZone::Fixed(50_400));
    let _ = civil(i64::MIN, TimeZone::Fixed(-50_400));
}

#[test]
fn weekly_windows_match() {
    let office = hours(&["Mon-Fri 08:00-18:00"]);
    assert_eq!(office.check(&utc(MONDAY_0930)), Ok(()));
    assert_eq!(
        office.check(&utc(MONDAY_0930 - 2 * 3600)),
        Err(WhenPart::Hours)
    );
    assert_eq!(
        office.check(&utc(MONDAY_0930 + 8 * 3600 + 1800)),
        Err(WhenPart::Hours),
        "18:00 is outside"
    );
    assert_eq!(
        office.check(&utc(MONDAY_0930 - 86_400)),
        Err(WhenPart::Hours),
        "Sunday"
    );
    let weekend = hours(&["Sat,Sun", "Mon 09:00-09:31"]);
    assert_eq!(weekend.check(&utc(MONDAY_0930 - 86_400)), Ok(()));
    assert_eq!(weekend.check(&utc(MONDAY_0930)), Ok(()));
    assert_eq!(
        weekend.check(&utc(MONDAY_0930 + 86_400)),
        Err(WhenPart::Hours)
    );
    let any_day = hours(&["09:00-10:00"]);
    assert_eq!(any_day.check(&utc(MONDAY_0930 + 3 * 86_400)), Ok(()));
}

#[test]
fn overnight_windows_belong_to_their_start_day() {
    let night = hours(&["Sun 22:00-06:00"]);
    // Sunday 23:30 and Monday 05:00 are in; Monday 23:30 and Sunday 05:00 are not.
    assert_eq!(night.check(&utc(1_772_407_800)), Ok(()));
    assert_eq!(night.check(&utc(MONDAY_0930 - 4 * 3600 - 1800)), Ok(()));
    assert_eq!(
        night.check(&utc(1_772_407_800 + 86_400)),
        Err(WhenPart::Hours)
    );
    assert_eq!(
        night.check(&utc(MONDAY_0930 - 86_400 - 4 * 3600 - 1800)),
        Err(WhenPart::Hours)
    );
    let wrapping_days = hours(&["Fri-Mon"]);
    assert_eq!(wrapping_days.check(&utc(MONDAY_0930)), Ok(()));
    assert_eq!(
        wrapping_days.check(&utc(MONDAY_0930 + 86_400)),
        Err(WhenPart::Hours)
    );
}

#[test]
fn time_zones_shift_windows() {
    let mut office = hours(&["Mon 10:00-11:00"]);
    assert_eq!(office.check(&utc(MONDAY_0930)), Err(WhenPart::Hours));
    office.tz = TimeZone::Fixed(3600);
    assert_eq!(office.check(&utc(MONDAY_0930)), Ok(()));
    office.tz = TimeZone::Local;
    assert_eq!(office.check(&at(MONDAY_0930, 0)), Err(WhenPart::Hours));
    assert_eq!(office.check(&at(MONDAY_0930, 3600)), Ok(()));
}

#[test]
fn bad_windows_are_refused() {
    for bad in [
        "",
        "Mon-Fri 08:00-18:00 extra",
        "Mon-Fry",
        "Funday",
        "08:00",
        "8:00-18:00",
        "08:00-25:00",
        "24:00-06:00",
        "08:60-09:00",
        "08:00-08:00",
        "Mon-Fri 0800-1800",
        "Mon,,Tue",
    ] {
        assert!(WeeklyWindow::parse(bad).is_err(), "{bad:?} accepted");
    }
    let window =
        WeeklyWindow::parse("mon,WED,Fri-Sat 00:00-24:00").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(window.days, 0b011_0101);
    assert_eq!((window.start, window.end), (0, 1440));
}

#[test]
fn date_ranges_are_inclusive_and_may_be_open() {
    let year = dates(&["2026-01-01..2026-12-31"]);
    assert_eq!(year.check(&utc(MONDAY_0930)), Ok(()));
    assert_eq!(
        year.check(&utc(1_798_761_540)),
        Ok(()),
        "last minute of the year"
    );
    assert_eq!(year.check(&utc(1_798_761_540 + 60)), Err(WhenPart::Dates));
    assert_eq!(dates(&["2026-03-02"]).check(&utc(MONDAY_0930)), Ok(()));
    assert_eq!(
        dates(&["2026-03-03.."]).check(&utc(MONDAY_0930)),
        Err(WhenPart::Dates)
    );
    assert_eq!(dates(&["..2026-03-02"]).check(&utc(MONDAY_0930)), Ok(()));
    assert_eq!(
        dates(&["2025-01-01..2025-12-31", "2026-03-01..2026-03-31"]).check(&utc(MONDAY_0930)),
        Ok(())
    );
    for bad in [
        "..",
        "2026-13-01",
        "2026-02-29",
        "2026-1-01",
        "2026-12-31..2026-01-01",
        "yesterday",
        "2026-01-01...2026-02-01",
        "2026-00-10",
        "2026-04-31",
    ] {
        assert!(DateRange::parse(bad).is_err(), "{bad:?} accepted");
    }
    assert!(DateRange::parse("2024-02-29").is_ok());
}

#[test]
fn time_zones_parse() {
    assert_eq!(TimeZone::parse("UTC"), Ok(TimeZone::Utc));
    assert_eq!(TimeZone::parse("local"), Ok(TimeZone::Local));
    assert_eq!(TimeZone::parse("+02:00"), Ok(TimeZone::Fixed(7200)));
    assert_eq!(TimeZone::parse("-05:30"), Ok(TimeZone::Fixed(-19_800)));
    assert_eq!(TimeZone::Fixed(-19_800).to_string(), "-05:30");
    let named = TimeZone::parse("Europe/Paris").err().unwrap_or_default();
    assert!(named.contains("not supported yet"), "{named}");
    for bad in ["+2", "+15:00", "+02:60", "CET", "", "02:00"] {
        assert!(TimeZone::parse(bad).is_err(), "{bad:?} accepted");
    }
}

#[test]
fn tty_origin_and_hosts() {
    let mut ctx = utc(MONDAY_0930);
    let tty = When {
        tty: Some(true),
        ..when()
    };
    assert_eq!(tty.check(&ctx), Ok(()));
    ctx.has_tty = false;
    assert_eq!(tty.check(&ctx), Err(WhenPart::Tty));
    let no_tty = When {
        tty: Some(false),
        ..when()
    };
    assert_eq!(no_tty.check(&ctx), Ok(()));

    let ssh = When {
        origin: vec![Origin::Ssh, Origin::None],
        ..when()
    };
    ctx.origin = Origin::Local;
    assert_eq!(ssh.check(&ctx), Err(WhenPart::Origin));
    ctx.origin = Origin::None;
    assert_eq!(ssh.check(&ctx), Ok(()));
    ctx.origin = Origin::Unknown;
    assert_eq!(ssh.check(&ctx), Err(WhenPart::Origin));
    assert_eq!(when().check(&ctx), Ok(()), "no condition: always");

    let hosts = When {
        hosts: ["WEB-*", "db1"]
            .iter()
            .map(|h| parse_host(h).unwrap_or_else(|e| panic!("{e}")))
            .collect(),
        ..when()
    };
    assert_eq!(hosts.check(&ctx), Ok(()), "case-insensitive");
    ctx.host = "DB1";
    assert_eq!(hosts.check(&ctx), Ok(()));
    ctx.host = "db10";
    assert_eq!(hosts.check(&ctx), Err(WhenPart::Hosts));
    for bad in ["", "web 1", "a/b", "x[", "é"] {
        assert!(parse_host(bad).is_err(), "{bad:?} accepted");
    }
}

#[test]
fn the_first_failing_part_is_reported() {
    let strict = When {
        hosts: vec![parse_host("db*").unwrap_or_else(|e| panic!("{e}"))],
        tty: Some(false),
        ..hours(&["Sat"])
    };
    assert_eq!(strict.check(&utc(MONDAY_0930)), Err(WhenPart::Hosts));
    let mut ctx = utc(MONDAY_0930);
    ctx.host = "db2";
    assert_eq!(strict.check(&ctx), Err(WhenPart::Hours));
    assert_eq!(strict.to_string(), "hours Sat; tz UTC; no tty; hosts db*");
    assert_eq!(when().to_string(), "always");
}
