//! Audit: accepted, finished and refused commands reach a real journald
//! (native JITSUDO_* fields) and syslog (authpriv, /var/log/auth.log).

use std::path::Path;
use std::time::Duration;

use jitsudo_tests::services::{field_text, wait_for_journal, wait_for_log_lines, AUTH_LOG};
use jitsudo_tests::util::marker;
use jitsudo_tests::*;

/// How long log records may take to show up.
const LOG_TIMEOUT: Duration = Duration::from_secs(15);

/// Checks the harness's syslog pipeline with the reference: sudo's refusal
/// of a user without a rule lands in auth.log ("user NOT in sudoers").
#[test]
fn sudo_refusal_reaches_auth_log() {
    let m = marker("sudo-refusal");
    let run = Case::new(NOBODY, format!("$SUDO /usr/bin/id {m}"))
        .status(1)
        .assert_one(Impl::Sudo);
    if run.is_some() {
        let lines = wait_for_log_lines(
            Path::new(AUTH_LOG),
            &[&m, "jt_nobody : user NOT in sudoers"],
            LOG_TIMEOUT,
        );
        assert!(
            !lines.is_empty(),
            "no auth.log line for sudo's refusal ({m})"
        );
    }
}

/// With -n, sudo does not log the refusal of a user without a rule (it
/// stops at "a password is required"); jitsudo logs every refusal. The
/// logged argument names the implementation (`basename $SUDO`), so each
/// side's log line is told apart while the outputs still compare equal.
#[test]
fn non_interactive_refusal_is_logged_by_jitsudo_only() {
    let m = marker("refuse-n");
    let outputs = Case::new(
        NOBODY,
        format!("$SUDO -n /usr/bin/id \"{m}-$(basename $SUDO)\""),
    )
    .known("refusal-logging")
    .status(1)
    .stderr_is("jitsudo: a password is required\n")
    .assert_same();
    for (imp, _) in outputs {
        let wait = match imp {
            Impl::Sudo => Duration::from_secs(2),
            Impl::Jitsudo => LOG_TIMEOUT,
        };
        let needle = format!("{m}-{}", imp.name());
        let logged = !wait_for_log_lines(Path::new(AUTH_LOG), &[&needle], wait).is_empty();
        assert_eq!(
            logged,
            imp == Impl::Jitsudo,
            "{} logged the -n refusal: {logged}",
            imp.name()
        );
    }
}

/// Journal entries of `user` mentioning `m`; fails if there are none.
fn journal_of(user: &str, m: &str) -> Vec<serde_json::Map<String, serde_json::Value>> {
    let entries = wait_for_journal("JITSUDO_USER", user, m, LOG_TIMEOUT);
    assert!(
        !entries.is_empty(),
        "no journal entry with JITSUDO_USER={user} mentioning {m}"
    );
    entries
}

/// Whether some entry has `field` equal to `value`.
fn some_entry_has(
    entries: &[serde_json::Map<String, serde_json::Value>],
    field: &str,
    value: &str,
) -> bool {
    entries
        .iter()
        .any(|e| field_text(e, field).as_deref() == Some(value))
}

#[test]
fn accepted_command_and_its_exit_are_in_the_journal() {
    let m = marker("accept");
    let Some(_) = Case::new(ADMIN, format!("$SUDO -u jt_target sh -c 'exit 3' {m}"))
        .status(3)
        .assert_jitsudo()
    else {
        return;
    };
    let entries = journal_of(ADMIN, &m);
    for (field, value) in [
        ("JITSUDO_RUNAS", "jt_target"),
        ("JITSUDO_RULE", "admin-all"),
        ("JITSUDO_EXIT", "3"),
    ] {
        assert!(
            some_entry_has(&entries, field, value),
            "no journal entry with {field}={value} for {m}: {entries:#?}"
        );
    }
    assert!(
        entries.iter().all(|e| field_text(e, "JITSUDO_COMMAND")
            .is_none_or(|c| c.contains("/usr/bin/sh") || c.contains("/bin/sh"))),
        "JITSUDO_COMMAND should name the resolved path: {entries:#?}"
    );
    let lines = wait_for_log_lines(Path::new(AUTH_LOG), &[&m, "jt_admin"], LOG_TIMEOUT);
    assert!(!lines.is_empty(), "no auth.log line for {m}");
}

/// A refusal is always logged, in the journal and in auth.log, with or
/// without -n.
fn refusal_is_logged(user: &str, tag: &str) {
    for flags in ["-n", ""] {
        refusal_with_flags_is_logged(user, tag, flags);
    }
}

fn refusal_with_flags_is_logged(user: &str, tag: &str, flags: &str) {
    let m = marker(tag);
    let Some(_) = Case::new(user, format!("$SUDO {flags} /usr/bin/ls {m}"))
        .status(1)
        .assert_jitsudo()
    else {
        return;
    };
    let entries = journal_of(user, &m);
    assert!(
        entries
            .iter()
            .all(|e| field_text(e, "JITSUDO_EXIT").is_none()),
        "a refused command has no exit record: {entries:#?}"
    );
    let lines = wait_for_log_lines(Path::new(AUTH_LOG), &[&m, user], LOG_TIMEOUT);
    assert!(!lines.is_empty(), "no auth.log line for the refusal {m}");
}

#[test]
fn refusal_of_a_user_without_rules_is_logged() {
    refusal_is_logged(NOBODY, "refuse-nobody");
}

#[test]
fn refusal_of_a_disallowed_command_is_logged() {
    refusal_is_logged(LIMITED, "refuse-limited");
}

#[test]
fn refusal_for_lack_of_a_password_is_logged() {
    refusal_is_logged(PW, "refuse-pw");
}

/// A directory name and an argument holding the line's ` ; ` separator
/// cannot forge `USER=`, `COMMAND=` or `TTY=` fields in the sudo-format
/// line: each field appears once, and the `;` of the values is escaped.
#[test]
fn separators_in_values_cannot_forge_log_fields() {
    let m = marker("forge");
    let dir = "d ; USER=root ; COMMAND=/bin/forged ; x";
    let Some(_) = Case::new(
        ADMIN,
        format!("mkdir -p '{dir}' && cd '{dir}' && $SUDO /usr/bin/true '{m} ; TTY=forged'"),
    )
    .in_fresh_dir()
    .status(0)
    .assert_jitsudo() else {
        return;
    };
    let lines = wait_for_log_lines(Path::new(AUTH_LOG), &[&m, "jt_admin : "], LOG_TIMEOUT);
    assert!(!lines.is_empty(), "no auth.log line for {m}");
    for line in &lines {
        // TTY= follows " : " (or, on exit lines, "exited N ; ").
        let tty = line.matches(" : TTY=").count() + line.matches(" ; TTY=").count();
        assert_eq!(tty, 1, "TTY= forged in: {line}");
        for field in [" ; PWD=", " ; USER=", " ; COMMAND="] {
            assert_eq!(line.matches(field).count(), 1, "{field} forged in: {line}");
        }
        assert!(
            line.contains("PWD=") && line.contains("/d \\x3b USER=root \\x3b COMMAND="),
            "{line}"
        );
    }
}
