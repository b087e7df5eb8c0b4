//! The sudo command line: usage errors, help and version, option parsing,
//! long forms, `-l`, `-k`/`-K`/`-v`.

use jitsudo_tests::*;

/// A usage error: exit 1, nothing on stdout, `first_line` (if any) then the
/// usage on stderr.
fn usage_error(script: &str, first_line: Option<&str>) {
    let stderr = match first_line {
        Some(line) => format!("{line}\n<usage>\n"),
        None => "<usage>\n".to_string(),
    };
    Case::new(ADMIN, script)
        .known("usage-text")
        .status(1)
        .stdout_is("")
        .stderr_is(&stderr)
        .assert_same();
}

#[test]
fn no_arguments_is_a_usage_error() {
    usage_error("$SUDO", None);
}

// getopt names the program by argv[0] as invoked (here an absolute path,
// normalised to `$SUDO`), not by "sudo:".
#[test]
fn bad_short_option_is_a_usage_error() {
    usage_error("$SUDO -Z true", Some("$SUDO: invalid option -- 'Z'"));
}

#[test]
fn bad_long_option_is_a_usage_error() {
    usage_error(
        "$SUDO --bogus true",
        Some("$SUDO: unrecognized option '--bogus'"),
    );
}

#[test]
fn user_option_without_argument_is_a_usage_error() {
    usage_error(
        "$SUDO -u",
        Some("$SUDO: option requires an argument -- 'u'"),
    );
}

#[test]
fn user_option_without_command_is_a_usage_error() {
    usage_error("$SUDO -u root", None);
}

#[test]
fn group_option_without_command_is_a_usage_error() {
    usage_error("$SUDO -g root", None);
}

#[test]
fn empty_user_name_is_a_usage_error() {
    usage_error("$SUDO -u '' id", None);
}

#[test]
fn empty_group_name_is_a_usage_error() {
    usage_error("$SUDO -g '' id", None);
}

#[test]
fn login_and_shell_together_is_a_usage_error() {
    usage_error(
        "$SUDO -i -s true",
        Some("jitsudo: you may not specify both the -i and -s options"),
    );
}

#[test]
fn login_and_preserve_env_together_is_a_usage_error() {
    usage_error(
        "$SUDO -E -i true",
        Some("jitsudo: you may not specify both the -i and -E options"),
    );
}

#[test]
fn help_exits_zero_with_usage_on_stdout() {
    for flag in ["-h", "--help"] {
        Case::new(NOBODY, format!("$SUDO {flag}"))
            .known("help-text")
            .status(0)
            .stdout_has("usage: jitsudo")
            .stderr_empty()
            .assert_same();
    }
}

#[test]
fn version_exits_zero() {
    for flag in ["-V", "--version"] {
        Case::new(NOBODY, format!("$SUDO {flag}"))
            .known("version-text")
            .status(0)
            .stdout_has("version")
            .stderr_empty()
            .assert_same();
    }
}

#[test]
fn double_dash_ends_options() {
    Case::new(ADMIN, "$SUDO -- id -un")
        .status(0)
        .stdout_is("root\n")
        .stderr_empty()
        .assert_same();
}

#[test]
fn options_end_at_the_command() {
    Case::new(ADMIN, "$SUDO echo -u jt_target -- -n")
        .status(0)
        .stdout_is("-u jt_target -- -n\n")
        .stderr_empty()
        .assert_same();
}

#[test]
fn long_user_forms() {
    for flags in ["--user=jt_target", "--user jt_target", "-ujt_target"] {
        Case::new(ADMIN, format!("$SUDO {flags} id -un"))
            .status(0)
            .stdout_is("jt_target\n")
            .stderr_empty()
            .assert_same();
    }
}

#[test]
fn long_group_and_non_interactive_forms() {
    Case::new(
        ADMIN,
        "$SUDO --non-interactive --user jt_target --group=jt_other id -gn",
    )
    .status(0)
    .stdout_is("jt_other\n")
    .stderr_empty()
    .assert_same();
}

#[test]
fn combined_short_flags() {
    Case::new(ADMIN, "$SUDO -nu jt_target id -un")
        .status(0)
        .stdout_is("jt_target\n")
        .assert_same();
}

#[test]
fn list_an_allowed_command_prints_its_path() {
    Case::new(LIMITED, "$SUDO -n -l id -u; echo rc=$?")
        .status(0)
        .stdout_is("/usr/bin/id -u\nrc=0\n")
        .stderr_empty()
        .assert_same();
}

#[test]
fn list_a_disallowed_command_fails_silently() {
    Case::new(LIMITED, "$SUDO -n -l ls; echo rc=$?")
        .status(0)
        .stdout_is("rc=1\n")
        .stderr_empty()
        .assert_same();
}

#[test]
fn list_a_missing_command() {
    Case::new(ADMIN, "$SUDO -n --list /nonexistent/cmd; echo rc=$?")
        .status(0)
        .stdout_is("rc=1\n")
        .stderr_is("jitsudo: /nonexistent/cmd: command not found\n")
        .assert_same();
}

#[test]
fn reset_and_validate_timestamps() {
    Case::new(
        ADMIN,
        "$SUDO -k; echo k=$?; $SUDO -K; echo K=$?; $SUDO -n -v; echo v=$?; $SUDO -k true; echo kt=$?",
    )
    .status(0)
    .stdout_is("k=0\nK=0\nv=0\nkt=0\n")
    .stderr_empty()
    .assert_same();
}

#[test]
fn validate_needs_a_password_for_a_password_rule() {
    Case::new(PW, "$SUDO -n -v")
        .status(1)
        .stdout_is("")
        .stderr_is("jitsudo: a password is required\n")
        .assert_same();
}
