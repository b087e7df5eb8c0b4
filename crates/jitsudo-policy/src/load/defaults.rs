//! Validation of the `[defaults]` table.

use std::time::Duration;

use super::Checker;
use crate::grant::{Timing, GRACE_BOUNDS, START_WITHIN_BOUNDS, WARN_BOUNDS};
use crate::model::{Defaults, Limits};
use crate::schema::RawDefaults;

/// Overrides `defaults` with every valid key set in `raw`.
pub(super) fn apply(raw: &RawDefaults, defaults: &mut Defaults, check: &mut Checker<'_>) {
    if let Some(path) = raw
        .secure_path
        .as_ref()
        .and_then(|v| check.check(v, secure_path))
    {
        defaults.secure_path = path;
    }
    if let Some(names) = &raw.env_keep {
        defaults.env_keep = check.check_all(names, env_keep_entry);
    }
    if let Some(umask) = raw.umask.as_ref().and_then(|v| check.check(v, umask)) {
        defaults.umask = umask;
    }
    if let Some(tries) = raw
        .passwd_tries
        .as_ref()
        .and_then(|v| check.check(v, passwd_tries))
    {
        defaults.passwd_tries = tries;
    }
    if let Some(timeout) = raw
        .timestamp_timeout
        .as_ref()
        .and_then(|v| check.check(v, timestamp_timeout))
    {
        defaults.timestamp_timeout = timeout;
    }
    if let Some(timeout) = raw
        .passwd_timeout
        .as_ref()
        .and_then(|v| check.check(v, passwd_timeout))
    {
        defaults.passwd_timeout = timeout;
    }
    apply_limits(raw, &mut defaults.limits, check);
    if let Some(prompt) = raw
        .passprompt
        .as_ref()
        .and_then(|v| check.check(v, passprompt))
    {
        defaults.passprompt = prompt;
    }
    if let Some(allowed) = raw.user_command_timeouts {
        defaults.user_command_timeouts = allowed;
    }
    if let Some(allowed) = raw.closefrom_override {
        defaults.closefrom_override = allowed;
    }
    apply_grant_timing(raw, &mut defaults.grant_timing, check);
    if let Some(failure) = raw.audit_failure {
        defaults.audit_failure = failure;
    }
    if let Some(max) = raw
        .record_max_bytes
        .as_ref()
        .and_then(|v| check.check(v, record_max_bytes))
    {
        defaults.record_max_bytes = max;
    }
    apply_record_bounds(raw, defaults, check);
    if let Some(sinks) = raw
        .audit_sinks
        .as_ref()
        .and_then(|v| check.check(v, audit_sinks))
    {
        defaults.audit_sinks = sinks;
    }
    apply_audit_log(raw, defaults, check);
    apply_checkpoints(raw, &mut defaults.audit_checkpoint, check);
}

/// `audit_log`: at least one sink, each once, holding every required one.
fn apply_audit_log(raw: &RawDefaults, defaults: &mut Defaults, check: &mut Checker<'_>) {
    let Some(value) = &raw.audit_log else {
        return;
    };
    let Some(log) = check.check(value, |sinks: &[crate::AuditSink]| {
        listed_once("audit_log", sinks)
    }) else {
        return;
    };
    if log.is_empty() {
        check.report(
            value.span(),
            r#"audit_log must name at least one sink: "journald", "syslog" or "file""#,
        );
        return;
    }
    let missing: Vec<String> = defaults
        .audit_sinks
        .iter()
        .filter(|sink| !log.contains(sink))
        .map(|sink| format!("{:?}", sink.name()))
        .collect();
    if !missing.is_empty() {
        let (required, log_names) = (names(&defaults.audit_sinks), names(&log));
        check.report(
            value.span(),
            format!(
                "audit_sinks requires {} (audit_sinks = [{required}]), which audit_log does not \
                 write: add it to audit_log, or require only sinks it writes (e.g. audit_sinks \
                 = [{log_names}])",
                missing.join(", ")
            ),
        );
        return;
    }
    defaults.audit_log = log;
}

/// Sinks as the policy lists them: `"journald", "file"`.
fn names(sinks: &[crate::AuditSink]) -> String {
    let quoted: Vec<String> = sinks.iter().map(|s| format!("{:?}", s.name())).collect();
    quoted.join(", ")
}

/// The required sinks: each named once.
fn audit_sinks(sinks: &[crate::AuditSink]) -> Result<Vec<crate::AuditSink>, String> {
    listed_once("audit_sinks", sinks)
}

/// `sinks`, refused if one is named twice in `key`.
fn listed_once(key: &str, sinks: &[crate::AuditSink]) -> Result<Vec<crate::AuditSink>, String> {
    let mut seen = Vec::with_capacity(sinks.len());
    for sink in sinks {
        if seen.contains(sink) {
            return Err(format!("{key} names {:?} twice", sink.name()));
        }
        seen.push(*sink);
    }
    Ok(seen)
}

/// `audit_checkpoint_records` and `audit_checkpoint_interval`, each within
/// its bounds.
fn apply_checkpoints(raw: &RawDefaults, every: &mut crate::Checkpoints, check: &mut Checker<'_>) {
    let (low, high) = crate::audit::CHECKPOINT_RECORDS_BOUNDS;
    if let Some(records) = raw.audit_checkpoint_records.as_ref().and_then(|v| {
        check.check(v, |n: &i64| match u32::try_from(*n) {
            Ok(n) if (low..=high).contains(&n) => Ok(n),
            _ => Err(format!(
                "audit_checkpoint_records must be between {low} and {high}, not {n}"
            )),
        })
    }) {
        every.records = records;
    }
    let key = "audit_checkpoint_interval";
    let bounds = crate::audit::CHECKPOINT_INTERVAL_BOUNDS;
    if let Some(interval) = raw
        .audit_checkpoint_interval
        .as_ref()
        .and_then(|v| check.check(v, |t: &str| super::grant::within(t, key, bounds)))
    {
        every.interval = interval;
    }
}

/// `grant_warn`, `grant_grace` and `grant_start_within`, each within its
/// bounds.
fn apply_grant_timing(raw: &RawDefaults, timing: &mut Timing, check: &mut Checker<'_>) {
    let keys = [
        (&raw.grant_warn, &mut timing.warn, "grant_warn", WARN_BOUNDS),
        (
            &raw.grant_grace,
            &mut timing.grace,
            "grant_grace",
            GRACE_BOUNDS,
        ),
        (
            &raw.grant_start_within,
            &mut timing.start_within,
            "grant_start_within",
            START_WITHIN_BOUNDS,
        ),
    ];
    for (value, slot, key, bounds) in keys {
        if let Some(duration) = value
            .as_ref()
            .and_then(|v| check.check(v, |t: &str| super::grant::within(t, key, bounds)))
        {
            *slot = duration;
        }
    }
}

/// A prompt: one line of at most 256 bytes.
fn passprompt(text: &str) -> Result<String, String> {
    if text.len() > 256 || text.contains(['\n', '\0']) {
        Err("passprompt must be one line of at most 256 bytes".to_owned())
    } else {
        Ok(text.to_owned())
    }
}

/// The daemon-wide limits: each a whole number within its range.
fn apply_limits(raw: &RawDefaults, limits: &mut Limits, check: &mut Checker<'_>) {
    let keys = [
        (
            &raw.max_connections,
            &mut limits.max_connections,
            "max_connections",
            MAX_CONNECTIONS,
        ),
        (
            &raw.max_connections_per_user,
            &mut limits.max_connections_per_user,
            "max_connections_per_user",
            MAX_CONNECTIONS,
        ),
        (
            &raw.max_pending_auth,
            &mut limits.max_pending_auth,
            "max_pending_auth",
            MAX_PENDING,
        ),
        (
            &raw.max_pending_auth_per_user,
            &mut limits.max_pending_auth_per_user,
            "max_pending_auth_per_user",
            MAX_PENDING,
        ),
    ];
    for (value, slot, name, max) in keys {
        if let Some(n) = value
            .as_ref()
            .and_then(|v| check.check(v, |n| limit(name, max, n)))
        {
            *slot = n;
        }
    }
}

/// Highest `max_connections` and `max_connections_per_user`.
const MAX_CONNECTIONS: u32 = 65_536;
/// Highest `max_pending_auth` and `max_pending_auth_per_user`.
const MAX_PENDING: u32 = 4096;

/// A count between 1 and `max`.
fn limit(name: &str, max: u32, n: &i64) -> Result<u32, String> {
    match u32::try_from(*n) {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(format!("{name} must be between 1 and {max}, not {n}")),
    }
}

/// Minutes (fractions allowed) a password prompt waits for its answer.
/// sudo's `0` means forever; a daemon bounds every wait, so `0` means the
/// longest wait allowed, [`MAX_PASSWD_MINUTES`].
fn passwd_timeout(minutes: &f64) -> Result<Duration, String> {
    let m = *minutes;
    match m {
        0.0 => Ok(Duration::from_secs_f64(MAX_PASSWD_MINUTES * 60.0)),
        _ if m.is_finite() && m > 0.0 && m <= MAX_PASSWD_MINUTES => {
            Ok(Duration::from_secs_f64(m * 60.0))
        }
        _ => Err(format!(
            "passwd_timeout must be a number of minutes between 0 and {MAX_PASSWD_MINUTES} (0: the longest), not {m}"
        )),
    }
}

/// The longest a password prompt may wait, in minutes.
const MAX_PASSWD_MINUTES: f64 = 60.0;

/// Minutes (fractions allowed, as in sudoers) a successful authentication
/// is remembered; 0 means always ask. Capped at a week.
fn timestamp_timeout(minutes: &f64) -> Result<Duration, String> {
    if minutes.is_finite() && (0.0..=MAX_TIMESTAMP_MINUTES).contains(minutes) {
        Ok(Duration::from_secs_f64(minutes * 60.0))
    } else {
        Err(format!(
            "timestamp_timeout must be a number of minutes between 0 and {MAX_TIMESTAMP_MINUTES}, not {minutes}"
        ))
    }
}

/// A week, in minutes.
const MAX_TIMESTAMP_MINUTES: f64 = 7.0 * 24.0 * 60.0;

/// A `PATH` whose every directory is absolute (an empty or relative entry
/// would search the command's working directory).
fn secure_path(path: &str) -> Result<String, String> {
    match path.split(':').find(|dir| !dir.starts_with('/')) {
        Some(dir) => Err(format!(
            "secure_path entry `{dir}` must be an absolute directory"
        )),
        None => Ok(path.to_owned()),
    }
}

/// A variable name, optionally ending in `*` to match a prefix.
pub(super) fn env_keep_entry(name: &str) -> Result<String, String> {
    let stem = name.strip_suffix('*').unwrap_or(name);
    let valid = !name.is_empty() && !stem.contains(['=', '*', '\0']);
    if !valid {
        return Err(format!(
            "env_keep entry `{name}` must be a variable name, optionally ending in `*`"
        ));
    }
    Ok(name.to_owned())
}

/// An octal umask such as `"0022"`, at most `0777`.
pub(super) fn umask(text: &str) -> Result<u32, String> {
    let octal =
        !text.is_empty() && text.len() <= 4 && text.bytes().all(|b| (b'0'..=b'7').contains(&b));
    match u32::from_str_radix(text, 8) {
        Ok(mask) if octal && mask <= 0o777 => Ok(mask),
        _ => Err(format!(
            "umask `{text}` must be an octal string between \"0000\" and \"0777\", like \"0022\""
        )),
    }
}

/// A recording's size cap: 4 KiB to 1 TiB.
fn record_max_bytes(max: &i64) -> Result<u64, String> {
    match u64::try_from(*max) {
        Ok(n) if (4096..=1 << 40).contains(&n) => Ok(n),
        _ => Err(format!(
            "record_max_bytes must be between 4096 and 1099511627776, not {max}"
        )),
    }
}

/// `record_retention` and `record_max_total`.
fn apply_record_bounds(raw: &RawDefaults, defaults: &mut Defaults, check: &mut Checker<'_>) {
    if let Some(age) = raw.record_retention.as_ref() {
        defaults.record_retention = check.check(age, record_retention);
    }
    if let Some(max) = raw.record_max_total.as_ref() {
        defaults.record_max_total = check.check(max, record_max_total);
    }
}

/// How long recordings are kept: days up to a century (`"90d"`, `"2555d"`),
/// or a shorter duration (`"12h"`).
fn record_retention(text: &str) -> Result<Duration, String> {
    let days = text.strip_suffix('d').and_then(|d| d.parse::<u64>().ok());
    match days {
        Some(days) if (1..=36_500).contains(&days) => Ok(Duration::from_secs(days * 86_400)),
        _ => super::rule::parse_timeout(text).map_err(|_| {
            format!("record_retention `{text}` must be a duration such as \"90d\" or \"12h\" (at most 36500d)")
        }),
    }
}

/// What all recordings may hold together: 4 KiB to 1 PiB.
fn record_max_total(max: &i64) -> Result<u64, String> {
    match u64::try_from(*max) {
        Ok(n) if (4096..=1 << 50).contains(&n) => Ok(n),
        _ => Err(format!(
            "record_max_total must be between 4096 and 1125899906842624, not {max}"
        )),
    }
}

/// A number of password attempts, 1 to 100.
fn passwd_tries(tries: &i64) -> Result<u32, String> {
    match u32::try_from(*tries) {
        Ok(n) if (1..=100).contains(&n) => Ok(n),
        _ => Err(format!(
            "passwd_tries must be between 1 and 100, not {tries}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_timeout_is_minutes() {
        assert_eq!(timestamp_timeout(&0.0), Ok(Duration::ZERO));
        assert_eq!(timestamp_timeout(&2.5), Ok(Duration::from_secs(150)));
        for bad in [-1.0, f64::NAN, f64::INFINITY, 1e9] {
            assert!(timestamp_timeout(&bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn passwd_timeout_is_bounded_minutes() {
        assert_eq!(passwd_timeout(&0.5), Ok(Duration::from_secs(30)));
        assert_eq!(passwd_timeout(&0.0), Ok(Duration::from_secs(3600)));
        for bad in [-1.0, 61.0, f64::NAN, f64::INFINITY] {
            assert!(passwd_timeout(&bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn limits_are_positive_and_bounded() {
        assert_eq!(limit("x", 10, &1), Ok(1));
        assert_eq!(limit("x", 10, &10), Ok(10));
        for bad in [0, -1, 11, i64::MAX] {
            assert!(limit("x", 10, &bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn umask_accepts_octal_strings() {
        assert_eq!(umask("0022"), Ok(0o022));
        assert_eq!(umask("077"), Ok(0o077));
        assert_eq!(umask("0"), Ok(0));
        assert_eq!(umask("0777"), Ok(0o777));
        for bad in ["", "0018", "22a", "01000", "00022", "-022", "+22", " 022"] {
            assert!(umask(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn passwd_tries_is_bounded() {
        assert_eq!(passwd_tries(&1), Ok(1));
        assert_eq!(passwd_tries(&100), Ok(100));
        for bad in [0, 101, -1, i64::MAX] {
            assert!(passwd_tries(&bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn passprompt_is_one_short_line() {
        assert_eq!(passprompt("[sudo] %p: "), Ok("[sudo] %p: ".to_owned()));
        assert!(passprompt("a\nb").is_err());
        assert!(passprompt(&"x".repeat(257)).is_err());
    }

    #[test]
    fn secure_path_must_be_absolute_everywhere() {
        assert!(secure_path("/usr/bin:/bin").is_ok());
        for bad in ["", "/usr/bin:", ":/bin", "/bin:.", "bin"] {
            assert!(secure_path(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn env_keep_entries_are_names_or_prefixes() {
        for good in ["LANG", "LC_*", "*", "XDG_SESSION_TYPE"] {
            assert!(env_keep_entry(good).is_ok(), "{good:?} refused");
        }
        for bad in ["", "A=B", "L*C", "**", "A\0"] {
            assert!(env_keep_entry(bad).is_err(), "{bad:?} accepted");
        }
    }
}
