//! The tags (`NOPASSWD:`, `SETENV:`…) and options (`CWD=`, `TIMEOUT=`…)
//! in force for each command of a list, inherited along it as sudo does.

use super::super::ast::{CmndSpec, Command, CommandKind, Item};

/// The `SETENV` state of a command spec, as sudo tracks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum SetenvTag {
    /// Not given.
    #[default]
    Unspecified,
    /// Implied by the command `ALL` (not inherited by later commands).
    Implied,
    /// `SETENV:` (true) or `NOSETENV:` (false).
    Explicit(bool),
}

/// The tags in force for a command spec.
#[derive(Debug, Clone, Default)]
pub(super) struct Tags {
    pub(super) nopasswd: Option<bool>,
    pub(super) noexec: Option<bool>,
    pub(super) intercept: Option<bool>,
    pub(super) setenv: SetenvTag,
    pub(super) log_input: Option<bool>,
    pub(super) log_output: Option<bool>,
    pub(super) mail: Option<bool>,
    pub(super) follow: Option<bool>,
}

impl Tags {
    /// The tags of `spec`, inheriting from `previous` what it does not set.
    pub(super) fn of(spec: &CmndSpec, previous: &Tags) -> Tags {
        let mut tags = Tags::default();
        for tag in &spec.tags {
            let (slot, value) = match tag.as_str() {
                "NOPASSWD" => (&mut tags.nopasswd, true),
                "PASSWD" => (&mut tags.nopasswd, false),
                "NOEXEC" => (&mut tags.noexec, true),
                "EXEC" => (&mut tags.noexec, false),
                "INTERCEPT" => (&mut tags.intercept, true),
                "NOINTERCEPT" => (&mut tags.intercept, false),
                "LOG_INPUT" => (&mut tags.log_input, true),
                "NOLOG_INPUT" => (&mut tags.log_input, false),
                "LOG_OUTPUT" => (&mut tags.log_output, true),
                "NOLOG_OUTPUT" => (&mut tags.log_output, false),
                "MAIL" => (&mut tags.mail, true),
                "NOMAIL" => (&mut tags.mail, false),
                "FOLLOW" => (&mut tags.follow, true),
                "NOFOLLOW" => (&mut tags.follow, false),
                "SETENV" => {
                    tags.setenv = SetenvTag::Explicit(true);
                    continue;
                }
                _ => {
                    tags.setenv = SetenvTag::Explicit(false);
                    continue;
                }
            };
            *slot = Some(value);
        }
        let inherit = |own: &mut Option<bool>, theirs: Option<bool>| {
            if own.is_none() {
                *own = theirs;
            }
        };
        inherit(&mut tags.nopasswd, previous.nopasswd);
        inherit(&mut tags.noexec, previous.noexec);
        inherit(&mut tags.intercept, previous.intercept);
        inherit(&mut tags.log_input, previous.log_input);
        inherit(&mut tags.log_output, previous.log_output);
        inherit(&mut tags.mail, previous.mail);
        inherit(&mut tags.follow, previous.follow);
        if tags.setenv == SetenvTag::Unspecified {
            if let SetenvTag::Explicit(value) = previous.setenv {
                tags.setenv = SetenvTag::Explicit(value);
            }
        }
        let is_all = matches!(
            &spec.command.item,
            Item::Command(Command {
                kind: CommandKind::All,
                ..
            })
        );
        if is_all && !spec.command.negated && tags.setenv == SetenvTag::Unspecified {
            tags.setenv = SetenvTag::Implied;
        }
        tags
    }
}

/// The options in force for a command spec (`CWD=`, `CHROOT=`…).
#[derive(Debug, Clone, Default)]
pub(super) struct Options {
    /// Each option's value and how it was written, by name.
    values: Vec<(String, String)>,
}

impl Options {
    /// The options of `spec`, inheriting from `previous` what it does not
    /// set (ROLE and TYPE, PRIVS and LIMITPRIVS go in pairs, as in sudo).
    pub(super) fn of(spec: &CmndSpec, previous: &Options) -> Options {
        let own = |name: &str| spec.options.iter().any(|o| o.name == name);
        let pair = |name: &str| match name {
            "ROLE" | "TYPE" => own("ROLE") || own("TYPE"),
            "PRIVS" | "LIMITPRIVS" => own("PRIVS") || own("LIMITPRIVS"),
            _ => own(name),
        };
        let mut values: Vec<(String, String)> = previous
            .values
            .iter()
            .filter(|(name, _)| !pair(name))
            .cloned()
            .collect();
        for option in &spec.options {
            values.retain(|(name, _)| *name != option.name);
            values.push((option.name.clone(), option.value.clone()));
        }
        Options { values }
    }

    /// The value of option `name`.
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}
