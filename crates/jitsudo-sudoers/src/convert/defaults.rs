//! `Defaults` settings: the ones carried into `[defaults]` or into every
//! rule, the ones without effect on who may run what, and the rest.

use std::fmt::Write as _;

use super::super::ast::{Binding, Setting, SettingOp};
use super::super::emit::{comment_safe, quote};
use super::super::Kind;
use crate::error::Error;
use jitsudo_policy::DEFAULT_ENV_KEEP;

/// Where a setting was made: file and line.
pub(super) type Origin = (String, usize);

/// A note about a setting: kind, construct, reason.
pub(super) type Note = (Kind, String, String);

/// The longest `timestamp_timeout` a policy takes, in minutes (a week).
const MAX_TIMESTAMP_MINUTES: f64 = 7.0 * 24.0 * 60.0;

/// The longest `passwd_timeout` jitsudo takes, in minutes.
const MAX_PASSWD_MINUTES: f64 = 60.0;

/// The global `Defaults` as applied so far (last setting wins, as in sudo).
#[derive(Debug, Clone)]
pub(super) struct DefaultsState {
    /// `secure_path`.
    secure_path: Option<(String, Origin)>,
    /// `env_keep`, `None` while untouched (jitsudo's default list).
    env_keep: Option<(Vec<String>, Origin)>,
    /// `umask`, as the policy writes it.
    umask: Option<(String, Origin)>,
    /// `passwd_tries`.
    passwd_tries: Option<(i64, Origin)>,
    /// `timestamp_timeout`, in minutes.
    timestamp_timeout: Option<(f64, Origin)>,
    /// `passwd_timeout`, in minutes.
    passwd_timeout: Option<(f64, Origin)>,
    /// `authenticate` (false: rules without `PASSWD` need no password).
    pub authenticate: bool,
    /// `setenv` (true: rules without `NOSETENV` may set the environment).
    pub setenv: bool,
    /// `runas_default`: the run-as user of rules without a run-as list.
    pub runas_default: String,
    /// `command_timeout`, as a jitsudo duration.
    pub command_timeout: Option<String>,
    /// `requiretty`: allow rules get `when.tty = true`.
    pub requiretty: bool,
    /// `passprompt`.
    passprompt: Option<(String, Origin)>,
    /// `user_command_timeouts` and `closefrom_override`, by name.
    caller_choices: Vec<(String, bool, Origin)>,
}

impl Default for DefaultsState {
    fn default() -> Self {
        DefaultsState {
            secure_path: None,
            env_keep: None,
            umask: None,
            passwd_tries: None,
            timestamp_timeout: None,
            passwd_timeout: None,
            authenticate: true,
            setenv: false,
            runas_default: "root".to_owned(),
            command_timeout: None,
            requiretty: false,
            passprompt: None,
            caller_choices: Vec::new(),
        }
    }
}

/// Why a setting has no effect on who may run what, if it has none.
fn ignored(name: &str, on: bool) -> Option<&'static str> {
    Some(match name {
        "env_reset" if on => {
            "jitsudo always resets the environment (env_keep lists the variables it keeps)"
        }
        "use_pty" => {
            "jitsudo always runs a command started from a terminal in a new pseudo-terminal"
        }
        "mail_badpass" | "mail_always" | "mail_no_host" | "mail_no_perms" | "mail_no_user"
        | "mail_all_cmnds" | "mailto" | "mailsub" | "mailerpath" | "mailerflags" | "mailfrom" => {
            "jitsudo sends no mail; its audit log records every decision"
        }
        "lecture" | "lecture_file" | "lecture_status_dir" => "jitsudo shows no lecture",
        "insults" => "jitsudo prints no insults",
        "badpass_message" | "pwfeedback" => "jitsudo's password prompt is its own",
        "syslog" | "syslog_goodpri" | "syslog_badpri" | "syslog_maxlen" | "syslog_pid"
        | "logfile" | "log_year" | "log_host" | "log_pid" | "loglinelen" | "log_allowed"
        | "log_denied" | "log_format" | "log_exit_status" => {
            "jitsudo records every decision in its own audit log"
        }
        "always_set_home" | "set_home" if on => {
            "jitsudo sets HOME to the target user's home directory"
        }
        "set_logname" if on => "jitsudo sets USER and LOGNAME to the target user",
        "tty_tickets" if on => "jitsudo remembers an authentication per terminal session",
        "requiretty" if !on => "jitsudo does not require a terminal either",
        "editor" | "env_editor" => {
            "jitsudo's sudoedit runs the caller's SUDO_EDITOR, VISUAL or EDITOR (else vi), as the caller"
        }
        "fqdn" if !on => "jitsudo does not resolve host names either",
        "match_group_by_gid" => {
            "jitsudo matches groups against the caller's group ids as the kernel reports them"
        }
        _ => return None,
    })
}

/// Why a setting cannot be carried over, for the known ones.
fn dropped(name: &str, on: bool) -> String {
    match name {
        "env_reset" => {
            "jitsudo always resets the environment; list the variables to keep in env_keep".into()
        }
        "secure_path" => "jitsudo always sets PATH to its secure_path".into(),
        "targetpw" | "rootpw" | "runaspw" if on => {
            "jitsudo always asks for the caller's own password".into()
        }
        "log_input" | "log_output" | "iolog_dir" | "iolog_file" | "iolog_user" | "iolog_group"
        | "iolog_mode" | "iolog_flush" | "compress_io" => {
            "jitsudo does not record terminal input or output".into()
        }
        "noexec" | "intercept" => {
            "jitsudo cannot stop commands from running other programs".into()
        }
        "env_check" | "env_delete" => {
            "jitsudo keeps only env_keep's variables and always removes dangerous ones; it has no env_check or env_delete list".into()
        }
        "exempt_group" => {
            "no group is exempt from authentication; give its members NOPASSWD rules instead"
                .into()
        }
        "root_sudo" => "jitsudo cannot forbid root to use it".into(),
        "closefrom" => {
            "jitsudo closes every descriptor above 2 unless the caller keeps some with -C (closefrom_override)".into()
        }
        "passprompt_override" if on => {
            "-p and SUDO_PROMPT always replace jitsudo's passprompt".into()
        }
        "pam_service" | "pam_login_service" | "pam_session" | "pam_setcred" => {
            "jitsudo authenticates with its own PAM service `jitsudo`".into()
        }
        _ => format!("`{name}` is not supported by jitsudo"),
    }
}

/// Whether jitsudo's policy takes `text` as its `passprompt`; why not.
fn valid_passprompt(text: &str) -> Result<(), Error> {
    let source = jitsudo_policy::Source {
        name: String::new(),
        text: format!("[defaults]\npassprompt = {}\n", quote(text)),
    };
    jitsudo_policy::parse(&[source])
        .map(drop)
        .map_err(|errors| Error::Policy(errors.into_iter().map(|e| e.message).collect()))
}

/// A sudo duration (`90`, `5m`, `1h30m`, `2D`) as a jitsudo duration
/// (`"90s"`, `"5m"`, `"1h30m"`, `"2d"`); `Ok(None)` for zero (no timeout).
pub(super) fn timeout(text: &str) -> Result<Option<String>, Error> {
    let invalid = || Error::BadDuration(text.to_owned());
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let seconds: u64 = text.parse().map_err(|_| invalid())?;
        return Ok((seconds > 0).then(|| format!("{seconds}s")));
    }
    if text.is_empty() {
        return Err(invalid());
    }
    let lower = text.to_ascii_lowercase();
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in lower.chars() {
        match c {
            '0'..='9' => digits.push(c),
            'd' | 'h' | 'm' | 's' if !digits.is_empty() => {
                let amount: u64 = digits.parse().map_err(|_| invalid())?;
                total = total.saturating_add(amount);
                digits.clear();
            }
            _ => return Err(invalid()),
        }
    }
    if !digits.is_empty() {
        return Err(invalid());
    }
    Ok((total > 0).then_some(lower))
}

/// Whether `name` is a valid jitsudo `env_keep` entry.
fn env_keep_entry(name: &str) -> bool {
    let stem = name.strip_suffix('*').unwrap_or(name);
    !name.is_empty() && !stem.contains(['=', '*', '\0'])
}

/// Formats minutes as a TOML float.
/// A number of minutes as sudoers gives it; a negated flag is 0.
fn minutes_value(value: Option<&str>, on: bool) -> Option<f64> {
    match value {
        None if !on => Some(0.0),
        None => None,
        Some(text) => text.parse::<f64>().ok().filter(|m| m.is_finite()),
    }
}

fn minutes(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.1}")
    } else {
        format!("{value}")
    }
}

impl DefaultsState {
    /// Applies one global setting; returns the notes about it.
    pub(super) fn apply(&mut self, setting: &Setting, origin: &Origin) -> Vec<Note> {
        let construct = format!("Defaults {}", setting.text);
        let on = !matches!(setting.op, SettingOp::Flag(false));
        let note = |kind, reason: String| vec![(kind, construct.clone(), reason)];
        let value = match &setting.op {
            SettingOp::Assign(value) | SettingOp::Add(value) | SettingOp::Remove(value) => {
                Some(value.as_str())
            }
            SettingOp::Flag(_) => None,
        };
        let list_op = !matches!(setting.op, SettingOp::Assign(_) | SettingOp::Flag(_));
        match setting.name.as_str() {
            "env_keep" => return self.env_keep(setting, origin, &construct),
            _ if list_op => {
                if let Some(reason) = ignored(&setting.name, on) {
                    return note(Kind::Ignored, reason.into());
                }
                return note(Kind::Dropped, dropped(&setting.name, on));
            }
            "secure_path" => match value {
                Some(path) if path.split(':').all(|dir| dir.starts_with('/')) => {
                    self.secure_path = Some((path.to_owned(), origin.clone()));
                }
                Some(_) => {
                    return note(
                        Kind::Dropped,
                        "every directory of a secure_path must be absolute".into(),
                    )
                }
                None => return note(Kind::Dropped, dropped("secure_path", on)),
            },
            "umask" => {
                let mask = match value {
                    None if !on => Some(0o777),
                    None => None,
                    Some(text) => u32::from_str_radix(text, 8).ok().filter(|m| *m <= 0o777),
                };
                let Some(mask) = mask else {
                    return note(
                        Kind::Dropped,
                        "umask must be an octal number up to 0777".into(),
                    );
                };
                // sudo: 0777 (or !umask) keeps the caller's umask, which is
                // what OR-ing with 0000 does.
                let mask = if mask == 0o777 { 0 } else { mask };
                self.umask = Some((format!("{mask:04o}"), origin.clone()));
            }
            "passwd_tries" => match value.and_then(|v| v.parse::<i64>().ok()) {
                Some(tries) if (1..=100).contains(&tries) => {
                    self.passwd_tries = Some((tries, origin.clone()));
                }
                _ => {
                    return note(
                        Kind::Dropped,
                        "jitsudo takes a passwd_tries between 1 and 100".into(),
                    )
                }
            },
            "timestamp_timeout" => {
                let Some(minutes) = minutes_value(value, on) else {
                    return note(
                        Kind::Dropped,
                        "timestamp_timeout must be a number of minutes".into(),
                    );
                };
                if !(0.0..=MAX_TIMESTAMP_MINUTES).contains(&minutes) {
                    self.timestamp_timeout = Some((MAX_TIMESTAMP_MINUTES, origin.clone()));
                    return note(
                        Kind::Approximated,
                        "jitsudo remembers an authentication for a week at most; converted as timestamp_timeout = 10080.0".into(),
                    );
                }
                self.timestamp_timeout = Some((minutes, origin.clone()));
            }
            "passwd_timeout" => {
                let Some(minutes) = minutes_value(value, on).filter(|m| *m >= 0.0) else {
                    return note(
                        Kind::Dropped,
                        "passwd_timeout must be a number of minutes".into(),
                    );
                };
                // sudo's 0 (or !passwd_timeout) waits forever; jitsudo's
                // 0 waits as long as it ever does.
                if minutes > MAX_PASSWD_MINUTES {
                    self.passwd_timeout = Some((MAX_PASSWD_MINUTES, origin.clone()));
                    return note(
                        Kind::Approximated,
                        "jitsudo waits at most an hour for a password; converted as passwd_timeout = 60.0".into(),
                    );
                }
                self.passwd_timeout = Some((minutes, origin.clone()));
            }
            "authenticate" if value.is_none() => self.authenticate = on,
            "requiretty" if value.is_none() => self.requiretty = on,
            "setenv" if value.is_none() => self.setenv = on,
            "runas_default" => match value {
                Some(user) => {
                    self.runas_default = user.to_owned();
                    return note(
                        Kind::Approximated,
                        format!(
                            "rules without a run-as list are converted with run_as = [\"{user}\"], but jitsudo still runs a command as root when -u is not given: the caller must pass -u {user}"
                        ),
                    );
                }
                None => return note(Kind::Dropped, dropped("runas_default", on)),
            },
            "command_timeout" => match value.map(timeout) {
                Some(Ok(duration)) => self.command_timeout = duration,
                None if !on => self.command_timeout = None,
                _ => {
                    return note(
                        Kind::Dropped,
                        "command_timeout must be a duration such as 90 or 1h30m".into(),
                    )
                }
            },
            "passprompt" => match value.map(|text| (text, valid_passprompt(text))) {
                Some((text, Ok(()))) => self.passprompt = Some((text.to_owned(), origin.clone())),
                Some((_, Err(e))) => return note(Kind::Dropped, e.to_string()),
                None => return note(Kind::Dropped, dropped("passprompt", on)),
            },
            name @ ("user_command_timeouts" | "closefrom_override") if value.is_none() => {
                self.caller_choices.retain(|(known, ..)| known != name);
                self.caller_choices
                    .push((name.to_owned(), on, origin.clone()));
            }
            "timestamp_type" => {
                if value == Some("tty") {
                    return note(
                        Kind::Ignored,
                        "jitsudo remembers an authentication per terminal session".into(),
                    );
                }
                return note(
                    Kind::Approximated,
                    "jitsudo remembers an authentication per terminal session (as timestamp_type=tty)"
                        .into(),
                );
            }
            "umask_override" if on => {
                return note(
                    Kind::Approximated,
                    "jitsudo always ORs the umask with the caller's".into(),
                )
            }
            "tty_tickets" if !on => {
                return note(
                    Kind::Approximated,
                    "jitsudo remembers an authentication per terminal session".into(),
                )
            }
            name => {
                if let Some(reason) = ignored(name, on) {
                    return note(Kind::Ignored, reason.into());
                }
                return note(Kind::Dropped, dropped(name, on));
            }
        }
        Vec::new()
    }

    /// `env_keep = …`, `+=`, `-=` and `!env_keep`.
    fn env_keep(&mut self, setting: &Setting, origin: &Origin, construct: &str) -> Vec<Note> {
        let mut notes = Vec::new();
        let mut current = match &self.env_keep {
            Some((names, _)) => names.clone(),
            None => DEFAULT_ENV_KEEP.iter().map(|n| (*n).to_owned()).collect(),
        };
        let names = |value: &str, notes: &mut Vec<Note>| -> Vec<String> {
            value
                .split_ascii_whitespace()
                .filter(|name| {
                    let valid = env_keep_entry(name);
                    if !valid {
                        notes.push((
                            Kind::Dropped,
                            format!("{construct} ({name})"),
                            "jitsudo's env_keep takes variable names, optionally ending in `*`; a name with a value or an inner `*` is not kept".to_owned(),
                        ));
                    }
                    valid
                })
                .map(str::to_owned)
                .collect()
        };
        match &setting.op {
            SettingOp::Flag(false) => current.clear(),
            SettingOp::Flag(true) => {
                notes.push((
                    Kind::Dropped,
                    construct.to_owned(),
                    "env_keep needs a list of variable names".to_owned(),
                ));
                return notes;
            }
            SettingOp::Assign(value) => current = names(value, &mut notes),
            SettingOp::Add(value) => {
                for name in names(value, &mut notes) {
                    if !current.contains(&name) {
                        current.push(name);
                    }
                }
            }
            SettingOp::Remove(value) => {
                let removed = names(value, &mut notes);
                current.retain(|name| !removed.contains(name));
            }
        }
        let mut unique = Vec::new();
        for name in current {
            if !unique.contains(&name) {
                unique.push(name);
            }
        }
        self.env_keep = Some((unique, origin.clone()));
        notes
    }

    /// Writes the `[defaults]` keys that sudoers set.
    pub(super) fn write_keys(&self, out: &mut String) {
        let from = |origin: &Origin| format!("  # {}:{}", comment_safe(&origin.0), origin.1);
        if let Some((path, origin)) = &self.secure_path {
            let _ = writeln!(out, "secure_path = {}{}", quote(path), from(origin));
        }
        if let Some((names, origin)) = &self.env_keep {
            let quoted: Vec<String> = names.iter().map(|name| quote(name)).collect();
            let _ = writeln!(out, "env_keep = [{}]{}", quoted.join(", "), from(origin));
        }
        if let Some((mask, origin)) = &self.umask {
            let _ = writeln!(out, "umask = {}{}", quote(mask), from(origin));
        }
        if let Some((tries, origin)) = &self.passwd_tries {
            let _ = writeln!(out, "passwd_tries = {tries}{}", from(origin));
        }
        if let Some((value, origin)) = &self.timestamp_timeout {
            let _ = writeln!(
                out,
                "timestamp_timeout = {}{}",
                minutes(*value),
                from(origin)
            );
        }
        if let Some((value, origin)) = &self.passwd_timeout {
            let _ = writeln!(out, "passwd_timeout = {}{}", minutes(*value), from(origin));
        }
        if let Some((text, origin)) = &self.passprompt {
            let _ = writeln!(out, "passprompt = {}{}", quote(text), from(origin));
        }
        for (name, on, origin) in &self.caller_choices {
            let _ = writeln!(out, "{name} = {on}{}", from(origin));
        }
    }
}

/// What a global setting carried into every rule does, for a comment.
pub(super) fn per_rule(setting: &Setting) -> Option<String> {
    Some(match (setting.name.as_str(), &setting.op) {
        ("requiretty", SettingOp::Flag(true)) => {
            "every allow rule gets when = { tty = true }".to_owned()
        }
        ("authenticate", SettingOp::Flag(false)) => {
            "every rule without PASSWD gets auth = \"none\"".to_owned()
        }
        ("setenv", SettingOp::Flag(true)) => {
            "every rule without NOSETENV gets setenv = true".to_owned()
        }
        ("command_timeout", SettingOp::Assign(value)) => match timeout(value) {
            Ok(Some(duration)) => {
                format!("every rule without TIMEOUT= gets timeout = \"{duration}\"")
            }
            _ => return None,
        },
        ("runas_default", SettingOp::Assign(user)) => {
            format!("rules without a run-as list get run_as = [\"{user}\"]")
        }
        _ => return None,
    })
}

/// The notes for a setting of a `Defaults` line bound to users, hosts,
/// run-as users or commands (never converted); `requiretty` tells whether
/// the global defaults require a terminal.
pub(super) fn bound(binding: &Binding, setting: &Setting, requiretty: bool) -> Vec<Note> {
    let members: Vec<&str> = binding.members.iter().map(|m| m.text.as_str()).collect();
    let construct = format!(
        "Defaults{}{} {}",
        binding.kind,
        members.join(", "),
        setting.text
    );
    let on = !matches!(setting.op, SettingOp::Flag(false));
    let scope = match binding.kind {
        ':' => "users",
        '@' => "hosts",
        '>' => "run-as users",
        _ => "commands",
    };
    let exempts_from_requiretty = setting.name == "requiretty" && !on;
    if exempts_from_requiretty && requiretty {
        return vec![(
            Kind::Dropped,
            construct,
            format!(
                "Defaults for specific {scope} are not converted: their rules keep when = {{ tty = true }} from Defaults requiretty"
            ),
        )];
    }
    if let Some(reason) = ignored(&setting.name, on) {
        return vec![(Kind::Ignored, construct, reason.to_owned())];
    }
    vec![(
        Kind::Dropped,
        construct,
        format!(
            "Defaults for specific {scope} are not converted: jitsudo's [defaults] apply to every rule"
        ),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sudo_durations_become_jitsudo_durations() {
        assert_eq!(timeout("90"), Ok(Some("90s".into())));
        assert_eq!(timeout("1H30m"), Ok(Some("1h30m".into())));
        assert_eq!(timeout("2d"), Ok(Some("2d".into())));
        assert_eq!(timeout("0"), Ok(None));
        assert_eq!(timeout("0m"), Ok(None));
        for bad in ["", "m", "5x", "1.5h", "5m3"] {
            assert!(timeout(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn minutes_are_toml_floats() {
        assert_eq!(minutes(15.0), "15.0");
        assert_eq!(minutes(2.5), "2.5");
    }
}
