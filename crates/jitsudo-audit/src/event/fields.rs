//! The structured fields of an event, as journald and the JSON trail carry them.

use std::borrow::Cow;

use super::{field, signal_name, Event, ExitStatus};

/// Value of `SYSLOG_IDENTIFIER` and the syslog ident of every event.
pub const SYSLOG_IDENTIFIER: &str = "jitsudo";

/// `LOG_AUTHPRIV` as a facility number (10), the value of `SYSLOG_FACILITY`.
pub const SYSLOG_FACILITY_AUTHPRIV: u8 = 10;

/// A list of fields being rendered: names and raw values.
type Fields<'a> = Vec<(&'a str, Cow<'a, [u8]>)>;

fn owned(s: String) -> Cow<'static, [u8]> {
    Cow::Owned(s.into_bytes())
}

/// Appends `name` with the bytes of `value`, when it is set.
fn opt<'a>(out: &mut Fields<'a>, name: &'a str, value: &'a Option<Vec<u8>>) {
    if let Some(v) = value {
        out.push((name, Cow::Borrowed(v.as_slice())));
    }
}

/// Appends `name` with the decimal `value`, when it is set.
fn number<'a>(out: &mut Fields<'a>, name: &'a str, value: Option<impl ToString>) {
    if let Some(v) = value {
        out.push((name, owned(v.to_string())));
    }
}

impl Event {
    /// Every structured field in wire order: `MESSAGE`, `MESSAGE_ID`,
    /// `PRIORITY`, `SYSLOG_FACILITY`, `SYSLOG_IDENTIFIER`, then the
    /// `JITSUDO_*` fields that are set, then the extra fields. Values are
    /// raw bytes.
    pub fn fields(&self) -> Vec<(&str, Cow<'_, [u8]>)> {
        let mut out = self.journal_header();
        self.push_request(&mut out);
        self.push_outcome(&mut out);
        for (name, value) in &self.extra {
            out.push((name.as_str(), Cow::Borrowed(value.as_slice())));
        }
        out
    }

    /// The journal's own fields and `JITSUDO_EVENT`.
    fn journal_header(&self) -> Fields<'_> {
        vec![
            ("MESSAGE", owned(self.message())),
            (
                "MESSAGE_ID",
                Cow::Borrowed(self.kind.message_id().as_bytes()),
            ),
            ("PRIORITY", owned(self.priority.as_u8().to_string())),
            (
                "SYSLOG_FACILITY",
                owned(SYSLOG_FACILITY_AUTHPRIV.to_string()),
            ),
            (
                "SYSLOG_IDENTIFIER",
                Cow::Borrowed(SYSLOG_IDENTIFIER.as_bytes()),
            ),
            (field::EVENT, Cow::Borrowed(self.kind.name().as_bytes())),
        ]
    }

    /// Who asked, from where, to run what as whom, under which rule.
    fn push_request<'a>(&'a self, out: &mut Fields<'a>) {
        opt(out, field::USER, &self.user);
        number(out, field::UID, self.uid);
        number(out, field::GID, self.gid);
        number(out, field::PID, self.pid);
        opt(out, field::TTY, &self.tty);
        opt(out, field::CWD, &self.cwd);
        opt(out, field::RUNAS, &self.run_as);
        opt(out, field::RUNAS_GROUP, &self.run_as_group);
        if let Some(line) = self.command_line() {
            out.push((field::COMMAND, Cow::Owned(line)));
        }
        opt(out, field::RULE, &self.rule);
        opt(out, field::POLICY_HASH, &self.policy_hash);
    }

    /// How it ended, why, and in which session, with what environment, for how long.
    fn push_outcome<'a>(&'a self, out: &mut Fields<'a>) {
        match self.exit {
            Some(ExitStatus::Code(code)) => number(out, field::EXIT, Some(code)),
            Some(ExitStatus::Signal(sig)) => out.push((field::SIGNAL, owned(signal_name(sig)))),
            None => {}
        }
        opt(out, field::REASON, &self.reason);
        number(out, field::SESSION, self.session);
        for name in &self.env_added {
            out.push((field::ENV_ADDED, Cow::Borrowed(name.as_slice())));
        }
        if let Some(elapsed) = self.run_time {
            let secs = format!("{}.{:03}", elapsed.as_secs(), elapsed.subsec_millis());
            out.push((field::RUN_TIME, owned(secs)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::accept;
    use super::*;

    #[test]
    fn structured_fields_are_raw() {
        let ev = accept().argv([&b"id"[..], b"a\nb", b"\xff"]);
        let fields = ev.fields();
        let get = |n: &str| {
            fields
                .iter()
                .find(|(name, _)| *name == n)
                .map(|(_, v)| v.to_vec())
        };
        assert_eq!(
            get(field::COMMAND).as_deref(),
            Some(&b"/usr/bin/id a\nb \xff"[..])
        );
        assert_eq!(get("PRIORITY").as_deref(), Some(&b"6"[..]));
        assert_eq!(get("SYSLOG_FACILITY").as_deref(), Some(&b"10"[..]));
        assert_eq!(get("SYSLOG_IDENTIFIER").as_deref(), Some(&b"jitsudo"[..]));
        assert_eq!(get(field::EVENT).as_deref(), Some(&b"exec.accept"[..]));
        assert_eq!(get(field::UID).as_deref(), Some(&b"1000"[..]));
        assert_eq!(get(field::RUNAS_GROUP), None);
        assert_eq!(get(field::EXIT), None);
    }
}
