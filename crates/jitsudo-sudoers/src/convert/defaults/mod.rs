//! `Defaults` settings: the ones carried into `[defaults]` or into every
//! rule, the ones without effect on who may run what, and the rest.

mod apply;
mod unsupported;

use std::fmt::Write as _;

use super::super::ast::{Binding, Setting, SettingOp, StmtKind};
use super::super::emit::{comment_safe, quote};
use super::super::Kind;
use super::duration::{minutes, timeout};
use super::{Converter, Note};
use unsupported::ignored;

/// Where a setting was made: file and line.
pub(super) type Origin = (String, usize);

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

impl DefaultsState {
    /// Writes the `[defaults]` keys that sudoers set.
    fn write_keys(&self, out: &mut String) {
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
fn per_rule(setting: &Setting) -> Option<String> {
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
fn bound(binding: &Binding, setting: &Setting, requiretty: bool) -> Vec<Note> {
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

impl Converter<'_> {
    /// Applies every global `Defaults` line in order, then reports the
    /// bound ones (whose notes depend on the global settings).
    pub(super) fn collect_defaults(&mut self) {
        for global in [true, false] {
            for index in 0..self.statements.len() {
                let located = &self.statements[index];
                let StmtKind::Defaults { binding, settings } = &located.stmt.kind else {
                    continue;
                };
                if binding.is_none() != global {
                    continue;
                }
                let origin = (located.file.clone(), located.stmt.line);
                for setting in settings {
                    let notes = match binding {
                        None => self.defaults.apply(setting, &origin),
                        Some(binding) => bound(binding, setting, self.defaults.requiretty),
                    };
                    if global && notes.is_empty() {
                        if let Some(comment) = per_rule(setting) {
                            self.comments[index].push(comment);
                        }
                    }
                    for (kind, construct, reason) in notes {
                        self.note(index, kind, &construct, reason);
                    }
                }
            }
        }
    }

    /// Writes the `[defaults]` table: each `Defaults` line quoted with its
    /// notes, then the resulting keys.
    pub(super) fn defaults_section(&self, out: &mut String) {
        let lines: Vec<usize> = (0..self.statements.len())
            .filter(|&i| matches!(self.statements[i].stmt.kind, StmtKind::Defaults { .. }))
            .collect();
        if lines.is_empty() {
            return;
        }
        out.push_str("\n[defaults]\n");
        for index in lines {
            self.quote_statement(index, out);
        }
        self.defaults.write_keys(out);
    }
}
