//! Rows of docs/threat-model.md that no other file covers: terminal
//! injection from a command run as another user, a caller whose process
//! name imitates /proc fields, and sudo's options whose features carried its
//! worst vulnerabilities (`-R` chroot, `-e` sudoedit, `-h host`).

use jitsudo_tests::*;

/// A command run as another user pushes a line into its terminal's input
/// queue with TIOCSTI (the CVE-2005-4890 / doas #106 class: with the
/// caller's own terminal, the line would run in the caller's shell once
/// the command exits). The command has its own pty, so the caller's
/// terminal receives nothing. The first line proves that TIOCSTI works on
/// this kernel (`dev.tty.legacy_tiocsti`), so the test can fail.
#[test]
fn tiocsti_from_the_command_does_not_reach_the_callers_terminal() {
    const PUSH: &str =
        r#"perl -e 'for (split //, $ARGV[0]) { ioctl(STDIN, 0x5412, $_) or exit 3 }'"#;
    // One line from the terminal, or nothing after a second.
    const READ: &str = "timeout --foreground 1 head -n 1";
    let script = format!(
        "{PUSH} 'self-test\n'; echo \"own=$({READ})\"
$SUDO -u {TARGET} {PUSH} 'echo INJECTED\n'; echo \"command=$?\"
line=$({READ}); [ -n \"$line\" ] && echo \"caller-read=$line\" || echo caller-read-nothing"
    );
    Case::new(ADMIN, script)
        .pty(PtySpec::default())
        .status(0)
        .stdout_has("own=self-test")
        .stdout_has("command=0")
        .stdout_has("caller-read-nothing")
        .stdout_lacks("caller-read=")
        .assert_jitsudo();
}

/// sudo's `-R` (chroot, CVE-2025-32463 and CVE-2023-27320) is refused,
/// with the reason, and nothing runs.
#[test]
fn there_is_no_chroot_option() {
    Case::new(ADMIN, "$SUDO -R / /usr/bin/id -u")
        .status(1)
        .stdout_is("")
        .stderr_is("jitsudo: the -R option is not supported: jitsudo does not change the root directory (chroot)\n")
        .assert_jitsudo();
}

/// sudoedit (`-e`, CVE-2023-22809, CVE-2021-3156's entry point,
/// CVE-2021-23239/23240) edits, never executes: the file named is opened
/// (here unchanged by the editor `true`), not run. The editing itself is
/// tests/tests/edit.rs.
#[test]
fn sudoedit_never_runs_the_file() {
    Case::new(ADMIN, "SUDO_EDITOR=true $SUDO -e /usr/bin/id")
        .status(0)
        .stdout_is("")
        .stderr_is("jitsudo: /usr/bin/id unchanged\n")
        .assert_jitsudo();
}

/// `-h HOST` never takes another host to evaluate rules against
/// (CVE-2025-32462): refused as sudo refuses it, and nothing runs; with
/// `-l` it is refused too.
#[test]
fn dash_h_never_names_another_host() {
    Case::new(
        ADMIN,
        "$SUDO -h otherhost /usr/bin/id -u; $SUDO -l -h otherhost; echo rc=$?",
    )
    .status(0)
    .stdout_is("rc=1\n")
    .stderr_has("jitsudo: a remote host may only be specified when listing privileges.\n")
    .stderr_has("jitsudo: listing privileges for another host is not supported")
    .assert_jitsudo();
}

/// The daemon reads the caller's terminal and session from
/// `/proc/PID/stat`, whose second field is the process name, which the
/// caller chooses (CVE-2017-1000367: sudo took the tty from there). A
/// client started through a link named like the fields that follow
/// (`x) R 1 1 1 0 1`: parent 1, session 1, no terminal) must still be
/// seen on its own terminal, in its own session: the authentication cached
/// there serves it.
#[test]
fn a_process_name_imitating_proc_fields_changes_nothing() {
    let script = "$SUDO true; echo first=$?
ln -s $SUDO 'x) R 1 1 1 0 1'
./'x) R 1 1 1 0 1' -n id -un; echo imitating=$?";
    let spec = PtySpec::default().answer(&format!("password for {PW}: "), &password(PW));
    Case::new(PW, script)
        .pty(spec)
        .in_fresh_dir()
        .status(0)
        .stdout_has("first=0")
        .stdout_has("root\nimitating=0")
        .assert_same();
}
