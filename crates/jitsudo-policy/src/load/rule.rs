//! Validation of one `[[rule]]` table.

use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use toml::Spanned;

use super::defaults::{env_keep_entry, umask};
use super::sets::CommandSets;
use super::Checker;
use crate::command::CommandPattern;
use crate::model::{Auth, Cwd, Effect, Rule};
use crate::principal::{IdPattern, WhoPattern};
use crate::schema::{RawCommand, RawRule, RawWhen, StringOrList};
use crate::when::{parse_host, DateRange, TimeZone, WeeklyWindow, When};

/// Builds the rule at 1-based `position` in the policy, recording every
/// problem; also returns the span to blame if its id turns out to be a duplicate.
pub(super) fn build(
    raw: &Spanned<RawRule>,
    position: usize,
    file: &Arc<str>,
    sets: &CommandSets,
    check: &mut Checker<'_>,
) -> (Rule, Range<usize>) {
    let span = raw.span();
    let body = raw.get_ref();
    let (id, id_span) = match &body.id {
        Some(id) => (
            check
                .check(id, rule_id)
                .unwrap_or_else(|| id.get_ref().clone()),
            id.span(),
        ),
        None => (format!("rule-{position}"), span.clone()),
    };
    let built = Rule {
        id,
        file: Arc::clone(file),
        line: check.map.line(span.start),
        who: who(body, check),
        run_as: run_as(body, check),
        run_as_groups: body
            .run_as_groups
            .as_ref()
            .map(|groups| check.check_all(groups, IdPattern::parse_group))
            .unwrap_or_default(),
        commands: commands(raw, sets, check),
        auth: body.auth.as_ref().map_or(Auth::default(), |a| *a.get_ref()),
        setenv: body.setenv.as_ref().is_some_and(|s| *s.get_ref()),
        cwd: body
            .cwd
            .as_ref()
            .and_then(|cwd| check.check(cwd, parse_cwd)),
        effect: body.effect.as_ref().map_or(Effect::Allow, |e| *e.get_ref()),
        env_keep: body
            .env_keep
            .as_ref()
            .map(|names| check.check_all(names.get_ref(), env_keep_entry))
            .unwrap_or_default(),
        umask: body.umask.as_ref().and_then(|u| check.check(u, umask)),
        timeout: body
            .timeout
            .as_ref()
            .and_then(|t| check.check(t, parse_timeout)),
        when: body
            .when
            .as_deref()
            .map(|when| Box::new(build_when(when.get_ref(), check))),
        grant: body.grant.as_deref().and_then(|grant| {
            super::grant::build(
                grant,
                body.effect.as_ref().map_or(Effect::Allow, |e| *e.get_ref()),
                check,
            )
            .map(Box::new)
        }),
        audit_failure: body.audit_failure.as_ref().map(|f| *f.get_ref()),
        record: body.record.as_ref().is_some_and(|r| *r.get_ref()),
        record_input: body.record_input.as_ref().is_some_and(|r| *r.get_ref()),
    };
    if built.record_input && !built.record {
        if let Some(span) = body.record_input.as_ref().map(Spanned::span) {
            check.report(span, "`record_input` needs `record = true`");
        }
    }
    if built.effect == Effect::Deny {
        refuse_options_on_deny(body, check);
    }
    (built, id_span)
}

/// Reports every option given to a deny rule: they would never apply, and a
/// reader could think they soften the denial.
fn refuse_options_on_deny(body: &RawRule, check: &mut Checker<'_>) {
    let spans = [
        ("auth", body.auth.as_ref().map(Spanned::span)),
        ("setenv", body.setenv.as_ref().map(Spanned::span)),
        ("cwd", body.cwd.as_ref().map(Spanned::span)),
        ("env_keep", body.env_keep.as_ref().map(Spanned::span)),
        ("umask", body.umask.as_ref().map(Spanned::span)),
        ("timeout", body.timeout.as_ref().map(Spanned::span)),
        (
            "audit_failure",
            body.audit_failure.as_ref().map(Spanned::span),
        ),
        ("record", body.record.as_ref().map(Spanned::span)),
        (
            "record_input",
            body.record_input.as_ref().map(Spanned::span),
        ),
    ];
    for (key, span) in spans {
        if let Some(span) = span {
            check.report(
                span,
                format!("`{key}` has no effect on a deny rule (effect = \"deny\"): remove it"),
            );
        }
    }
}

/// The `when` table.
fn build_when(raw: &RawWhen, check: &mut Checker<'_>) -> When {
    When {
        hours: raw
            .hours
            .as_ref()
            .map(|h| strings(h, WeeklyWindow::parse, check))
            .unwrap_or_default(),
        dates: raw
            .dates
            .as_ref()
            .map(|d| strings(d, DateRange::parse, check))
            .unwrap_or_default(),
        tz: raw
            .tz
            .as_ref()
            .and_then(|tz| check.check(tz, TimeZone::parse))
            .unwrap_or(TimeZone::Local),
        tty: raw.tty,
        origin: raw.origin.clone().unwrap_or_default(),
        hosts: raw
            .hosts
            .as_ref()
            .map(|hosts| check.check_all(hosts, parse_host))
            .unwrap_or_default(),
    }
}

/// Converts a string or each string of a list, recording each failure at
/// its position.
fn strings<T>(
    value: &Spanned<StringOrList>,
    convert: impl Fn(&str) -> Result<T, String>,
    check: &mut Checker<'_>,
) -> Vec<T> {
    match value.get_ref() {
        StringOrList::One(text) => match convert(text) {
            Ok(converted) => vec![converted],
            Err(message) => {
                check.report(value.span(), message);
                Vec::new()
            }
        },
        StringOrList::Many(items) => check.check_all(items, |s: &str| convert(s)),
    }
}

/// The most a `timeout` may be: a year.
const MAX_TIMEOUT: Duration = Duration::from_secs(366 * 24 * 3600);

/// A duration such as `"30s"`, `"5m"`, `"2h"`, `"1d"` or `"1h30m"`: one or
/// more groups of digits and a unit, more than zero in total.
pub(crate) fn parse_timeout(text: &str) -> Result<Duration, String> {
    let invalid = || {
        format!(
            "timeout `{text}` must be a duration such as \"30s\", \"5m\", \"2h\", \"1d\" or \"1h30m\" (at most a year, more than zero)"
        )
    };
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit: u64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 24 * 3600,
            _ => return Err(invalid()),
        };
        let amount: u64 = digits.parse().map_err(|_| invalid())?;
        total = amount
            .checked_mul(unit)
            .and_then(|seconds| total.checked_add(seconds))
            .ok_or_else(invalid)?;
        digits.clear();
    }
    let duration = Duration::from_secs(total);
    if !digits.is_empty() || total == 0 || duration > MAX_TIMEOUT {
        return Err(invalid());
    }
    Ok(duration)
}

/// The `who` list, which must not be empty.
fn who(body: &RawRule, check: &mut Checker<'_>) -> Vec<WhoPattern> {
    if body.who.get_ref().is_empty() {
        check.report(
            body.who.span(),
            "`who` must name at least one user or %group",
        );
    }
    check.check_all(body.who.get_ref(), WhoPattern::parse)
}

/// The `run_as` list, `["root"]` when absent.
fn run_as(body: &RawRule, check: &mut Checker<'_>) -> Vec<IdPattern> {
    match &body.run_as {
        Some(users) => check.check_all(users, IdPattern::parse_user),
        None => vec![IdPattern::Name("root".to_owned())],
    }
}

/// The `commands` list, which must not be empty, with `@set` references
/// replaced by the set's commands.
/// A group, caps or shell grant gives a privilege, not commands: its
/// rule lists none.
fn commands(
    raw: &Spanned<RawRule>,
    sets: &CommandSets,
    check: &mut Checker<'_>,
) -> Vec<CommandPattern> {
    let body = raw.get_ref();
    let privilege = body
        .grant
        .as_deref()
        .and_then(super::grant::kind_of)
        .filter(|kind| kind.is_privilege());
    let commands = match (&body.commands, privilege) {
        (Some(commands), None) => commands,
        (None, Some(_)) => return Vec::new(),
        (Some(commands), Some(kind)) => {
            check.report(
                commands.span(),
                format!(
                    "a {} grant gives no commands: remove `commands` (it is used with \
                     jitsudoctl shell ID or jitsudoctl run ID -- COMMAND)",
                    kind.name()
                ),
            );
            return Vec::new();
        }
        (None, None) => {
            check.report(raw.span(), "missing field `commands`");
            return Vec::new();
        }
    };
    if commands.get_ref().is_empty() {
        check.report(
            commands.span(),
            "`commands` must list at least one command (or \"ALL\")",
        );
    }
    // Sized up front: kept as long as the policy, with no room to spare.
    let entries = commands.get_ref();
    let mut flat = Vec::with_capacity(entries.iter().map(|e| expanded_len(e, sets)).sum());
    for entry in entries {
        let added = match super::sets::reference(entry.get_ref()) {
            Some(name) => super::sets::expand(name, sets).map(|set| flat.extend_from_slice(set)),
            None => CommandPattern::parse(entry.get_ref()).map(|command| flat.push(command)),
        };
        if let Err(message) = added {
            check.report(entry.span(), message);
        }
    }
    flat
}

/// How many commands an entry stands for: a set's size, or one.
fn expanded_len(entry: &Spanned<RawCommand>, sets: &CommandSets) -> usize {
    super::sets::reference(entry.get_ref()).map_or(1, |name| super::sets::len(name, sets))
}

/// An explicit rule id: non-empty, printable, no spaces (it goes into logs).
fn rule_id(id: &str) -> Result<String, String> {
    if id.is_empty() || id.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "rule id `{id}` must be non-empty and contain no spaces or control characters"
        ));
    }
    Ok(id.to_owned())
}

/// The `cwd` option: `"*"` or an absolute directory.
fn parse_cwd(cwd: &str) -> Result<Cwd, String> {
    match cwd {
        "*" => Ok(Cwd::Any),
        dir if dir.starts_with('/') && !dir.contains('\0') => Ok(Cwd::Exact(PathBuf::from(dir))),
        _ => Err(format!(
            "cwd `{cwd}` must be \"*\" (any directory) or an absolute directory"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_take_units() {
        assert_eq!(parse_timeout("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_timeout("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_timeout("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_timeout("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_timeout("1h30m"), Ok(Duration::from_secs(5400)));
        for bad in [
            "",
            "0s",
            "30",
            "s",
            "5 m",
            "-5m",
            "1.5h",
            "5M",
            "400d",
            "99999999999999999999s",
            "1h30",
        ] {
            assert!(parse_timeout(bad).is_err(), "{bad:?} accepted");
        }
    }
}
