//! The human-readable line of an event, in sudo's syslog format.

use std::fmt::Write as _;

use super::{signal_name, Event, EventKind, ExitStatus};
use crate::escape::{escape_also, escape_into};

const UNKNOWN: &[u8] = b"unknown";

impl Event {
    /// The human-readable line, in sudo's syslog format so that existing
    /// log tooling keeps working:
    ///
    /// ```text
    /// alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id -u
    /// alice : command not allowed ; TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/sh
    /// alice : exited 42 ; TTY=unknown ; PWD=/ ; USER=root ; GROUP=adm ; COMMAND=/bin/false
    /// alice : killed by SIGTERM ; TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/sleep 60
    /// ```
    ///
    /// Daemon events render as `jitsudod started`, `jitsudod stopping` or
    /// `policy reloaded`, followed by ` ; REASON=...` and ` ; POLICY_HASH=...`
    /// when set.
    ///
    /// Every value is escaped: bytes that are not UTF-8, control
    /// characters and `;` (and `:` in the user name) appear as `\xNN`, so
    /// the result is always one line and every ` ; ` in it separates two
    /// fields.
    pub fn message(&self) -> String {
        let mut s = String::with_capacity(128);
        if self.kind.is_command_event() {
            self.render_command_line(&mut s);
        } else {
            self.render_other_line(&mut s);
        }
        s
    }

    /// The line of a daemon, policy, grant or request event.
    fn render_other_line(&self, s: &mut String) {
        s.push_str(match self.kind {
            EventKind::DaemonStart => "jitsudod started",
            EventKind::DaemonStop => "jitsudod stopping",
            EventKind::PolicyReload => "policy reloaded",
            EventKind::RecordRemoved => "session recordings removed",
            other => other.name(),
        });
        if let Some(reason) = &self.reason {
            s.push_str(" ; REASON=");
            escape_into(s, reason);
        }
        let fields = if self.kind.shows_extra_fields() {
            &self.extra[..]
        } else {
            &[]
        };
        for (name, value) in fields {
            s.push_str(" ; ");
            s.push_str(
                name.as_str()
                    .strip_prefix("JITSUDO_")
                    .unwrap_or(name.as_str()),
            );
            s.push('=');
            escape_into(s, value);
        }
        if let Some(hash) = &self.policy_hash {
            s.push_str(" ; POLICY_HASH=");
            escape_into(s, hash);
        }
    }

    /// sudo's `user : [outcome ; ]TTY=... ; COMMAND=...` line.
    fn render_command_line(&self, s: &mut String) {
        escape_also(s, self.user.as_deref().unwrap_or(UNKNOWN), &[':']);
        s.push_str(" : ");
        self.render_outcome(s);
        s.push_str("TTY=");
        let tty = self.tty.as_deref().unwrap_or(UNKNOWN);
        escape_into(s, tty.strip_prefix(b"/dev/").unwrap_or(tty));
        s.push_str(" ; PWD=");
        escape_into(s, self.cwd.as_deref().unwrap_or(UNKNOWN));
        s.push_str(" ; USER=");
        escape_into(s, self.run_as.as_deref().unwrap_or(UNKNOWN));
        if let Some(group) = &self.run_as_group {
            s.push_str(" ; GROUP=");
            escape_into(s, group);
        }
        s.push_str(" ; COMMAND=");
        match self.command_line() {
            Some(line) => escape_into(s, &line),
            None => s.push_str("unknown"),
        }
    }

    /// The `reason ; ` or `exited N ; ` part of a refusal, failure or exit;
    /// nothing for an accepted command.
    fn render_outcome(&self, s: &mut String) {
        let default_reason: &[u8] = match self.kind {
            EventKind::ExecReject => b"command not allowed",
            EventKind::AuthFail => b"authentication failure",
            EventKind::AuditFail => b"audit sink failure",
            EventKind::RecordTruncated => b"session recording truncated",
            EventKind::ExecExit => {
                self.render_exit(s);
                s.push_str(" ; ");
                return;
            }
            _ => return,
        };
        escape_into(s, self.reason.as_deref().unwrap_or(default_reason));
        s.push_str(" ; ");
    }

    /// `exited N`, `killed by SIG...` or `exit status unknown`.
    fn render_exit(&self, s: &mut String) {
        match self.exit {
            Some(ExitStatus::Code(code)) => {
                // Writing to a String cannot fail.
                let _ = write!(s, "exited {code}");
            }
            Some(ExitStatus::Signal(sig)) => {
                s.push_str("killed by ");
                s.push_str(&signal_name(sig));
            }
            None => s.push_str("exit status unknown"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::super::tests::accept;
    use super::super::{field, Priority};
    use super::*;

    #[test]
    fn accept_message_is_sudo_format() {
        assert_eq!(
            accept().message(),
            "alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id -u"
        );
    }

    #[test]
    fn group_comes_before_command() {
        let ev = accept().run_as_group(Some("adm"));
        assert_eq!(
            ev.message(),
            "alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; GROUP=adm ; COMMAND=/usr/bin/id -u"
        );
    }

    #[test]
    fn missing_tty_is_unknown_and_dev_prefix_dropped() {
        let ev = accept().tty(None::<&str>);
        assert!(ev.message().starts_with("alice : TTY=unknown ; PWD="));
        let ev = accept().tty(Some("/dev/pts/3"));
        assert!(ev.message().starts_with("alice : TTY=pts/3 ; PWD="));
    }

    #[test]
    fn reject_message_carries_reason() {
        let ev = Event::new(EventKind::ExecReject)
            .user("bob")
            .tty(Some("pts/1"))
            .cwd("/tmp")
            .run_as("root")
            .command("/bin/sh")
            .argv(["sh"])
            .reason("command not allowed");
        assert_eq!(
            ev.message(),
            "bob : command not allowed ; TTY=pts/1 ; PWD=/tmp ; USER=root ; COMMAND=/bin/sh"
        );
        assert_eq!(ev.priority(), Priority::Warning);
    }

    #[test]
    fn reject_without_reason_uses_sudo_default() {
        let ev = Event::new(EventKind::ExecReject).user("bob").argv(["ls"]);
        assert_eq!(
            ev.message(),
            "bob : command not allowed ; TTY=unknown ; PWD=unknown ; USER=unknown ; COMMAND=ls"
        );
    }

    #[test]
    fn auth_fail_message() {
        let ev = Event::new(EventKind::AuthFail)
            .user("bob")
            .tty(Some("pts/1"))
            .cwd("/")
            .run_as("root")
            .command("/usr/bin/id")
            .reason("3 incorrect password attempts");
        assert_eq!(
            ev.message(),
            "bob : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/ ; USER=root ; \
             COMMAND=/usr/bin/id"
        );
    }

    #[test]
    fn exit_code_and_signal_messages() {
        let ev = Event::new(EventKind::ExecExit)
            .user("alice")
            .cwd("/")
            .run_as("root")
            .command("/bin/false")
            .argv(["false"])
            .exit_status(ExitStatus::Code(42));
        assert_eq!(
            ev.message(),
            "alice : exited 42 ; TTY=unknown ; PWD=/ ; USER=root ; COMMAND=/bin/false"
        );
        let ev = ev.exit_status(ExitStatus::Signal(libc::SIGTERM));
        assert_eq!(
            ev.message(),
            "alice : killed by SIGTERM ; TTY=unknown ; PWD=/ ; USER=root ; COMMAND=/bin/false"
        );
        assert!(ev
            .fields()
            .contains(&(field::SIGNAL, Cow::Borrowed(&b"SIGTERM"[..]))));
    }

    #[test]
    fn newline_in_argv_cannot_forge_a_line() {
        let ev = accept().argv([&b"id"[..], b"x\nalice : TTY=forged", b"\xff"]);
        let msg = ev.message();
        assert_eq!(
            msg,
            "alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; \
             COMMAND=/usr/bin/id x\\x0aalice : TTY=forged \\xff"
        );
        assert!(!msg.chars().any(char::is_control));
    }

    #[test]
    fn daemon_messages() {
        let ev = Event::new(EventKind::PolicyReload).policy_hash(Some("deadbeef"));
        assert_eq!(ev.message(), "policy reloaded ; POLICY_HASH=deadbeef");
        let ev = Event::new(EventKind::PolicyReload)
            .reason("line 3: unknown key\n")
            .with_priority(Priority::Error);
        assert_eq!(
            ev.message(),
            "policy reloaded ; REASON=line 3: unknown key\\x0a"
        );
        assert_eq!(ev.priority(), Priority::Error);
        assert_eq!(
            Event::new(EventKind::DaemonStart).message(),
            "jitsudod started"
        );
        assert_eq!(
            Event::new(EventKind::DaemonStop).message(),
            "jitsudod stopping"
        );
    }
}
