//! Applying one global `Defaults` setting: each setting jitsudo carries
//! over, checked and recorded (the last one winning, as in sudo), and a
//! note for what is approximated or not converted.

use super::super::super::ast::{Setting, SettingOp};
use super::super::super::emit::quote;
use super::super::super::error::{check_policy, Error};
use super::super::super::Kind;
use super::super::duration::timeout;
use super::super::unique;
use super::unsupported::{dropped, unsupported};
use super::{DefaultsState, Note, Origin};
use jitsudo_policy::DEFAULT_ENV_KEEP;

/// The longest `timestamp_timeout` a policy takes, in minutes (a week).
const MAX_TIMESTAMP_MINUTES: f64 = 7.0 * 24.0 * 60.0;

/// The longest `passwd_timeout` jitsudo takes, in minutes.
const MAX_PASSWD_MINUTES: f64 = 60.0;

/// The note a setting gets, if any: kind and reason.
type Outcome = Option<(Kind, String)>;

/// Whether jitsudo's policy takes `text` as its `passprompt`; why not.
fn valid_passprompt(text: &str) -> Result<(), Error> {
    check_policy("", format!("[defaults]\npassprompt = {}\n", quote(text)))
}

/// Whether `name` is a valid jitsudo `env_keep` entry.
fn env_keep_entry(name: &str) -> bool {
    let stem = name.strip_suffix('*').unwrap_or(name);
    !name.is_empty() && !stem.contains(['=', '*', '\0'])
}

/// A number of minutes as sudoers gives it; a negated flag is 0.
fn minutes_value(value: Option<&str>, on: bool) -> Option<f64> {
    match value {
        None if !on => Some(0.0),
        None => None,
        Some(text) => text.parse::<f64>().ok().filter(|m| m.is_finite()),
    }
}

/// A dropped setting's note.
fn drop_it(reason: &str) -> Outcome {
    Some((Kind::Dropped, reason.to_owned()))
}

impl DefaultsState {
    /// Applies one global setting; returns the notes about it.
    pub(in super::super) fn apply(&mut self, setting: &Setting, origin: &Origin) -> Vec<Note> {
        let construct = format!("Defaults {}", setting.text);
        let on = !matches!(setting.op, SettingOp::Flag(false));
        let value = match &setting.op {
            SettingOp::Assign(value) | SettingOp::Add(value) | SettingOp::Remove(value) => {
                Some(value.as_str())
            }
            SettingOp::Flag(_) => None,
        };
        let list_op = !matches!(setting.op, SettingOp::Assign(_) | SettingOp::Flag(_));
        match setting.name.as_str() {
            "env_keep" => self.env_keep(setting, origin, &construct),
            name if list_op => unsupported(&construct, name, on),
            name => match self.apply_value(name, value, on, origin) {
                Some(None) => Vec::new(),
                Some(Some((kind, reason))) => vec![(kind, construct, reason)],
                None => unsupported(&construct, name, on),
            },
        }
    }

    /// Applies setting `name` (`value` for `name = value`, else `on` for
    /// `name` or `!name`): its note, or `None` when jitsudo does not carry
    /// the setting over.
    fn apply_value(
        &mut self,
        name: &str,
        value: Option<&str>,
        on: bool,
        origin: &Origin,
    ) -> Option<Outcome> {
        let origin = origin.clone();
        Some(match name {
            "secure_path" => self.secure_path(value, on, origin),
            "umask" => self.umask(value, on, origin),
            "passwd_tries" => self.passwd_tries(value, origin),
            "timestamp_timeout" => self.timestamp_timeout(value, on, origin),
            "passwd_timeout" => self.passwd_timeout(value, on, origin),
            "authenticate" if value.is_none() => {
                self.authenticate = on;
                None
            }
            "requiretty" if value.is_none() => {
                self.requiretty = on;
                None
            }
            "setenv" if value.is_none() => {
                self.setenv = on;
                None
            }
            "runas_default" => self.runas_default(value, on),
            "command_timeout" => self.command_timeout(value, on),
            "passprompt" => self.passprompt(value, on, origin),
            "user_command_timeouts" | "closefrom_override" if value.is_none() => {
                self.caller_choices.retain(|(known, ..)| known != name);
                self.caller_choices.push((name.to_owned(), on, origin));
                None
            }
            _ => return session_note(name, value, on),
        })
    }

    /// `secure_path = dir:dir…`.
    fn secure_path(&mut self, value: Option<&str>, on: bool, origin: Origin) -> Outcome {
        match value {
            Some(path) if path.split(':').all(|dir| dir.starts_with('/')) => {
                self.secure_path = Some((path.to_owned(), origin));
                None
            }
            Some(_) => drop_it("every directory of a secure_path must be absolute"),
            None => Some((Kind::Dropped, dropped("secure_path", on))),
        }
    }

    /// `umask = 0NNN` or `!umask`.
    fn umask(&mut self, value: Option<&str>, on: bool, origin: Origin) -> Outcome {
        let mask = match value {
            None if !on => Some(0o777),
            None => None,
            Some(text) => u32::from_str_radix(text, 8).ok().filter(|m| *m <= 0o777),
        };
        let Some(mask) = mask else {
            return drop_it("umask must be an octal number up to 0777");
        };
        // sudo: 0777 (or !umask) keeps the caller's umask, which is what
        // OR-ing with 0000 does.
        let mask = if mask == 0o777 { 0 } else { mask };
        self.umask = Some((format!("{mask:04o}"), origin));
        None
    }

    /// `passwd_tries = N`.
    fn passwd_tries(&mut self, value: Option<&str>, origin: Origin) -> Outcome {
        match value.and_then(|v| v.parse::<i64>().ok()) {
            Some(tries) if (1..=100).contains(&tries) => {
                self.passwd_tries = Some((tries, origin));
                None
            }
            _ => drop_it("jitsudo takes a passwd_tries between 1 and 100"),
        }
    }

    /// `timestamp_timeout = minutes` (at most a week).
    fn timestamp_timeout(&mut self, value: Option<&str>, on: bool, origin: Origin) -> Outcome {
        let Some(minutes) = minutes_value(value, on) else {
            return drop_it("timestamp_timeout must be a number of minutes");
        };
        if !(0.0..=MAX_TIMESTAMP_MINUTES).contains(&minutes) {
            self.timestamp_timeout = Some((MAX_TIMESTAMP_MINUTES, origin));
            return Some((
                Kind::Approximated,
                "jitsudo remembers an authentication for a week at most; converted as timestamp_timeout = 10080.0".into(),
            ));
        }
        self.timestamp_timeout = Some((minutes, origin));
        None
    }

    /// `passwd_timeout = minutes` (at most an hour).
    fn passwd_timeout(&mut self, value: Option<&str>, on: bool, origin: Origin) -> Outcome {
        let Some(minutes) = minutes_value(value, on).filter(|m| *m >= 0.0) else {
            return drop_it("passwd_timeout must be a number of minutes");
        };
        // sudo's 0 (or !passwd_timeout) waits forever; jitsudo's 0 waits as
        // long as it ever does.
        if minutes > MAX_PASSWD_MINUTES {
            self.passwd_timeout = Some((MAX_PASSWD_MINUTES, origin));
            return Some((
                Kind::Approximated,
                "jitsudo waits at most an hour for a password; converted as passwd_timeout = 60.0"
                    .into(),
            ));
        }
        self.passwd_timeout = Some((minutes, origin));
        None
    }

    /// `runas_default = user`.
    fn runas_default(&mut self, value: Option<&str>, on: bool) -> Outcome {
        let Some(user) = value else {
            return Some((Kind::Dropped, dropped("runas_default", on)));
        };
        self.runas_default = user.to_owned();
        Some((
            Kind::Approximated,
            format!(
                "rules without a run-as list are converted with run_as = [\"{user}\"], but jitsudo still runs a command as root when -u is not given: the caller must pass -u {user}"
            ),
        ))
    }

    /// `command_timeout = duration` or `!command_timeout`.
    fn command_timeout(&mut self, value: Option<&str>, on: bool) -> Outcome {
        match value.map(timeout) {
            Some(Ok(duration)) => self.command_timeout = duration,
            None if !on => self.command_timeout = None,
            _ => return drop_it("command_timeout must be a duration such as 90 or 1h30m"),
        }
        None
    }

    /// `passprompt = text`.
    fn passprompt(&mut self, value: Option<&str>, on: bool, origin: Origin) -> Outcome {
        let Some(text) = value else {
            return Some((Kind::Dropped, dropped("passprompt", on)));
        };
        match valid_passprompt(text) {
            Ok(()) => {
                self.passprompt = Some((text.to_owned(), origin));
                None
            }
            Err(error) => Some((Kind::Dropped, error.to_string())),
        }
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
            SettingOp::Add(value) => current.extend(names(value, &mut notes)),
            SettingOp::Remove(value) => {
                let removed = names(value, &mut notes);
                current.retain(|name| !removed.contains(name));
            }
        }
        self.env_keep = Some((unique(current), origin.clone()));
        notes
    }
}

/// The notes of the session settings jitsudo handles its own way
/// (`timestamp_type`, `umask_override`, `!tty_tickets`); `None` for any
/// other setting.
fn session_note(name: &str, value: Option<&str>, on: bool) -> Option<Outcome> {
    let note = match name {
        "timestamp_type" if value == Some("tty") => (
            Kind::Ignored,
            "jitsudo remembers an authentication per terminal session",
        ),
        "timestamp_type" => (
            Kind::Approximated,
            "jitsudo remembers an authentication per terminal session (as timestamp_type=tty)",
        ),
        "umask_override" if on => (
            Kind::Approximated,
            "jitsudo always ORs the umask with the caller's",
        ),
        "tty_tickets" if !on => (
            Kind::Approximated,
            "jitsudo remembers an authentication per terminal session",
        ),
        _ => return None,
    };
    Some(Some((note.0, note.1.to_owned())))
}
