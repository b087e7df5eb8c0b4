//! User specifications: `users hosts = (runas) OPTIONS TAGS: command, …`
//! with `:`-separated host parts.

use super::super::ast::{CmndSpec, Privilege, Runas, SpecOption, StmtKind};
use super::lexer::normalize;
use super::members::Ctx;
use super::{fail, Parsed, Parser};

/// The tags a command spec may carry before its command (`NOPASSWD:`…).
const TAGS: [&str; 16] = [
    "NOPASSWD",
    "PASSWD",
    "NOEXEC",
    "EXEC",
    "INTERCEPT",
    "NOINTERCEPT",
    "SETENV",
    "NOSETENV",
    "LOG_OUTPUT",
    "NOLOG_OUTPUT",
    "LOG_INPUT",
    "NOLOG_INPUT",
    "MAIL",
    "NOMAIL",
    "FOLLOW",
    "NOFOLLOW",
];

/// The `NAME=value` options a command spec may carry before its tags.
const OPTIONS: [&str; 10] = [
    "CWD",
    "CHROOT",
    "TIMEOUT",
    "NOTBEFORE",
    "NOTAFTER",
    "ROLE",
    "TYPE",
    "APPARMOR_PROFILE",
    "PRIVS",
    "LIMITPRIVS",
];

impl Parser<'_> {
    /// `users hosts = specs [: hosts = specs]…`.
    pub(super) fn user_spec(&mut self) -> Parsed<StmtKind> {
        let users = self.list(Ctx::User)?;
        let mut privileges = Vec::new();
        loop {
            if !self.skip_blanks() && privileges.is_empty() {
                return fail(format!(
                    "expected a blank and a host list after the user list, found {}",
                    self.found()
                ));
            }
            let hosts = self.list(Ctx::Host)?;
            self.expect(b'=', "`=` after the host list")?;
            let mut specs = vec![self.cmnd_spec()?];
            loop {
                if !self.eat(b',') {
                    break;
                }
                specs.push(self.cmnd_spec()?);
            }
            privileges.push(Privilege { hosts, specs });
            if !self.eat(b':') {
                break;
            }
        }
        Ok(StmtKind::UserSpec { users, privileges })
    }

    /// `[(runas)] [OPTION=value…] [TAG:…] command`.
    fn cmnd_spec(&mut self) -> Parsed<CmndSpec> {
        self.skip_blanks();
        let runas = if self.peek() == Some(b'(') {
            Some(self.runas()?)
        } else {
            None
        };
        let mut options = Vec::new();
        loop {
            self.skip_blanks();
            let Some(name) = self.option_ahead() else {
                break;
            };
            self.pos += name.len();
            self.expect(b'=', "`=` after the option name")?;
            self.skip_blanks();
            let value = if self.peek() == Some(b'"') {
                self.quoted()?
            } else if self.peek() == Some(b'/') {
                self.path()
            } else {
                self.word().0
            };
            if value.is_empty() {
                return fail(format!(
                    "expected a value for `{name}`, found {}",
                    self.found()
                ));
            }
            options.push(SpecOption {
                name: name.to_owned(),
                value,
            });
        }
        let mut tags = Vec::new();
        loop {
            self.skip_blanks();
            let Some((tag, len)) = self.keyword_colon_ahead(&TAGS) else {
                break;
            };
            self.pos += len;
            tags.push(tag.to_owned());
        }
        let command = self.command_member(false)?;
        Ok(CmndSpec {
            runas,
            options,
            tags,
            command,
        })
    }

    /// An option name followed by `=` at the cursor.
    fn option_ahead(&self) -> Option<&'static str> {
        let rest = self.rest();
        OPTIONS.into_iter().find(|name| {
            rest.strip_prefix(name).is_some_and(|after| {
                !after
                    .starts_with(|c: char| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                    && after.trim_start_matches([' ', '\t']).starts_with('=')
            })
        })
    }

    /// `(users[:groups])`.
    fn runas(&mut self) -> Parsed<Runas> {
        let start = self.pos;
        self.pos += 1;
        self.skip_blanks();
        let users = if matches!(self.peek(), Some(b':' | b')')) {
            None
        } else {
            Some(self.list(Ctx::Runas)?)
        };
        self.skip_blanks();
        let mut groups = None;
        if self.peek() == Some(b':') {
            self.pos += 1;
            self.skip_blanks();
            if self.peek() != Some(b')') {
                groups = Some(self.list(Ctx::Runas)?);
            }
        }
        self.expect(b')', "`)` to close the run-as list")?;
        Ok(Runas {
            users,
            groups,
            text: normalize(&self.src[start..self.pos]),
        })
    }
}
