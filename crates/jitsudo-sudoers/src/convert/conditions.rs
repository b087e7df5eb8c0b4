//! The conditions of an allowed command: the `when` clause its tags,
//! options and `Defaults` give (or why it cannot be converted), its `cwd`
//! and its `timeout`.

use super::super::ast::CmndSpec;
use super::super::emit::WhenOut;
use super::super::Kind;
use super::duration::timeout;
use super::period::period;
use super::tags::{Options, Tags};
use super::Converter;

impl Converter<'_> {
    /// The `when` clause of the allow entries of a spec, or `None` when
    /// its tags or options stop them from being converted (what stops them
    /// is reported; what is only approximated or ignored too).
    pub(super) fn allow_conditions(
        &mut self,
        index: usize,
        spec: &CmndSpec,
        tags: &Tags,
        options: &Options,
        hosts: &[String],
    ) -> Option<WhenOut> {
        let mut when = WhenOut {
            hosts: hosts.to_vec(),
            tty: self.defaults.requiretty,
            ..WhenOut::default()
        };
        let command = spec.command.text.as_str();
        // Every check runs (and reports) even after one has failed.
        let ok = [
            self.execution_tags(index, command, tags),
            self.dates(index, command, options, &mut when),
            self.confinement(index, command, options),
        ]
        .iter()
        .all(|ok| *ok);
        if ok {
            self.note_logging_tags(index, tags);
        }
        ok.then_some(when)
    }

    /// Reports `reason` (about `construct`) as stopping the command from
    /// being converted; false.
    fn stop(&mut self, index: usize, construct: String, reason: &str) -> bool {
        self.note(index, Kind::Dropped, &construct, reason);
        false
    }

    /// `NOEXEC:` and `INTERCEPT:`, which stop a command (false, reported).
    fn execution_tags(&mut self, index: usize, command: &str, tags: &Tags) -> bool {
        let mut ok = true;
        if tags.noexec == Some(true) {
            ok = self.stop(
                index,
                format!("NOEXEC: {command}"),
                "jitsudo cannot stop a command from running other programs: the command is not converted",
            );
        }
        if tags.intercept == Some(true) {
            ok = self.stop(
                index,
                format!("INTERCEPT: {command}"),
                "jitsudo cannot check the programs a command runs: the command is not converted",
            );
        }
        ok
    }

    /// `NOTBEFORE=` and `NOTAFTER=` into `when.dates`; false (reported)
    /// when they cannot be converted.
    fn dates(
        &mut self,
        index: usize,
        command: &str,
        options: &Options,
        when: &mut WhenOut,
    ) -> bool {
        let (not_before, not_after) = (options.get("NOTBEFORE"), options.get("NOTAFTER"));
        if not_before.is_none() && not_after.is_none() {
            return true;
        }
        let written: Vec<String> = [("NOTBEFORE", not_before), ("NOTAFTER", not_after)]
            .into_iter()
            .filter_map(|(name, value)| value.map(|v| format!("{name}={v}")))
            .collect();
        let construct = format!("{} {command}", written.join(" "));
        let period = match period(not_before, not_after) {
            Ok(period) => period,
            Err(reason) => {
                return self.stop(
                    index,
                    construct,
                    &format!("{reason}: the command is not converted"),
                )
            }
        };
        if period.rounded {
            self.note(
                index,
                Kind::Approximated,
                &construct,
                format!(
                    "jitsudo's dates are whole days: converted as dates = \"{}\" (tz = \"{}\"), the part-days at the ends are left out",
                    period.dates, period.tz
                ),
            );
        }
        when.dates = Some(period.dates);
        when.tz = Some(period.tz);
        true
    }

    /// `CHROOT=` and the SELinux, AppArmor and Solaris options, which stop
    /// a command (false, reported); `CHROOT=*` only makes `-R` refused.
    fn confinement(&mut self, index: usize, command: &str, options: &Options) -> bool {
        let mut ok = true;
        match options.get("CHROOT") {
            Some("*") => self.note(
                index,
                Kind::Dropped,
                &format!("CHROOT=* {command}"),
                "jitsudo cannot run commands in another root directory: -R is refused",
            ),
            Some(value) => {
                ok = self.stop(
                    index,
                    format!("CHROOT={value} {command}"),
                    "jitsudo cannot run commands in another root directory: the command is not converted",
                )
            }
            None => {}
        }
        for name in ["ROLE", "TYPE", "APPARMOR_PROFILE", "PRIVS", "LIMITPRIVS"] {
            if let Some(value) = options.get(name) {
                ok = self.stop(
                    index,
                    format!("{name}={value} {command}"),
                    "jitsudo cannot confine a command (SELinux, AppArmor, Solaris privileges): the command is not converted",
                );
            }
        }
        ok
    }

    /// Notes the tags about logging, mail and symbolic links, which do not
    /// stop a command.
    fn note_logging_tags(&mut self, index: usize, tags: &Tags) {
        for (tag, on) in [
            ("LOG_INPUT", tags.log_input),
            ("LOG_OUTPUT", tags.log_output),
        ] {
            if on == Some(true) {
                self.note(
                    index,
                    Kind::Approximated,
                    tag,
                    "jitsudo does not record terminal input or output; its audit log records the command",
                );
            }
        }
        if let Some(on) = tags.mail {
            let tag = if on { "MAIL" } else { "NOMAIL" };
            self.note(index, Kind::Ignored, tag, "jitsudo sends no mail");
        }
        if let Some(on) = tags.follow {
            let (tag, kind) = if on {
                ("FOLLOW", Kind::Approximated)
            } else {
                ("NOFOLLOW", Kind::Ignored)
            };
            self.note(
                index,
                kind,
                tag,
                "jitsudo never edits a file through a symbolic link",
            );
        }
    }

    /// The `cwd` of a spec from its `CWD=` option.
    pub(super) fn cwd(&mut self, index: usize, options: &Options) -> Option<String> {
        let value = options.get("CWD")?.to_owned();
        let construct = format!("CWD={value}");
        if value == "*" {
            return Some(value);
        }
        if value.starts_with('/') {
            self.note(
                index,
                Kind::Approximated,
                &construct,
                format!(
                    "converted as cwd = \"{value}\", which lets the caller pass -D {value}; sudo also runs the command there without -D, jitsudo runs it in the caller's directory"
                ),
            );
            return Some(value);
        }
        self.note(
            index,
            Kind::Approximated,
            &construct,
            "a home directory as working directory cannot be expressed: the command runs in the caller's directory and -D is refused",
        );
        None
    }

    /// The `timeout` of a spec: its `TIMEOUT=` or `Defaults command_timeout`.
    pub(super) fn spec_timeout(&mut self, index: usize, options: &Options) -> Option<String> {
        let Some(value) = options.get("TIMEOUT") else {
            return self.defaults.command_timeout.clone();
        };
        match timeout(value) {
            Ok(duration) => duration,
            Err(message) => {
                self.note(
                    index,
                    Kind::Dropped,
                    &format!("TIMEOUT={value}"),
                    format!("{message}: the command has no time limit"),
                );
                None
            }
        }
    }
}
