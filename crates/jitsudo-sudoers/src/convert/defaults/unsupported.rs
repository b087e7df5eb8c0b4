//! Settings jitsudo does not carry over: why each is without effect on
//! who may run what (ignored), or why it cannot be converted (dropped).

use super::super::super::Kind;
use super::Note;

/// The note for a setting that is not converted: ignored when it has no
/// effect on who may run what, else dropped with the reason.
pub(super) fn unsupported(construct: &str, name: &str, on: bool) -> Vec<Note> {
    let (kind, reason) = match ignored(name, on) {
        Some(reason) => (Kind::Ignored, reason.to_owned()),
        None => (Kind::Dropped, dropped(name, on)),
    };
    vec![(kind, construct.to_owned(), reason)]
}

/// Why a setting has no effect on who may run what, if it has none.
pub(super) fn ignored(name: &str, on: bool) -> Option<&'static str> {
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
pub(super) fn dropped(name: &str, on: bool) -> String {
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
