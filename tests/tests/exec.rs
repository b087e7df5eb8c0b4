//! Running the command: exit statuses, lookup, cwd and `-D`, `-i`, `-s`,
//! umask, file ownership, `-b`, and stdio on pipes.

use std::time::Duration;

use jitsudo_tests::sh::with_helpers;
use jitsudo_tests::*;

/// Runs `script` as the admin and expects `stdout`, empty stderr, exit 0.
fn prints(script: &str, stdout: &str) {
    Case::new(ADMIN, script)
        .status(0)
        .stdout_is(stdout)
        .stderr_empty()
        .assert_same();
}

#[test]
fn exit_status_is_passed_through() {
    for code in [0, 1, 42, 255] {
        Case::new(ADMIN, format!("$SUDO sh -c 'exit {code}'"))
            .status(code)
            .stdout_is("")
            .stderr_empty()
            .assert_same();
    }
}

/// The command runs at the normal scheduling policy, as under sudo
/// (jitsudo forks and prepares its workers at SCHED_BATCH).
#[test]
fn the_command_runs_at_the_normal_scheduling_policy() {
    prints(
        "$SUDO sh -c 'chrt -p $$' | sed 's/^pid [0-9]*/pid/'",
        "pid's current scheduling policy: SCHED_OTHER\npid's current scheduling priority: 0\n",
    );
}

/// A command that cannot be run: exit 1, "command not found", quickly.
/// `setup` runs first, in a fresh `$DIR`.
fn not_found(setup: &str, command: &str) {
    Case::new(ADMIN, format!("{setup}$SUDO {command}"))
        .in_fresh_dir()
        .timeout(Duration::from_secs(10))
        .status(1)
        .stdout_is("")
        .stderr_is(&format!("jitsudo: {command}: command not found\n"))
        .assert_same();
}

#[test]
fn unknown_command_is_not_found() {
    not_found("", "jt-no-such-command");
    not_found("", "/nonexistent/jt-cmd");
}

#[test]
fn directory_is_not_found() {
    not_found("", "/etc");
}

#[test]
fn non_executable_file_is_not_found() {
    not_found("", "/etc/passwd");
}

#[test]
fn dev_null_is_not_found() {
    not_found("", "/dev/null");
}

#[test]
fn fifo_is_not_found_and_does_not_hang() {
    not_found("mkfifo $DIR/f; ", "$DIR/f");
}

#[test]
fn dangling_symlink_is_not_found() {
    not_found("ln -s /nonexistent $DIR/l; ", "$DIR/l");
}

/// `./x` is run relative to the cwd; SUDO_COMMAND keeps `./x`. A script's
/// `$0` is the name typed under sudo, the descriptor of the file decided on
/// under jitsudo.
#[test]
fn relative_command_is_run_from_the_cwd() {
    Case::new(
        ADMIN,
        "printf '#!/bin/sh\\necho \"$0|$SUDO_COMMAND|$(pwd)|$*\"\\n' > x; chmod 755 x; $SUDO ./x a 'b c'",
    )
    .in_fresh_dir()
    .known("script-name")
    .status(0)
    .stderr_empty()
    .on(Impl::Sudo)
    .stdout_is("./x|./x a b c|$DIR|a b c\n")
    .on(Impl::Jitsudo)
    .stdout_is("/dev/fd/3|./x a b c|$DIR|a b c\n")
    .assert_same();
}

/// A `#!` script the target user may execute but not read: the interpreter,
/// running as the target, cannot open it (as under sudo, whose interpreter
/// names the script where jitsudo's names the descriptor it was given).
#[test]
fn script_unreadable_by_the_target_fails_in_the_interpreter() {
    Case::new(
        ADMIN,
        "printf '#!/bin/sh\\necho ran\\n' > x; chmod 711 x; $SUDO -u jt_target ./x",
    )
    .in_fresh_dir()
    .status(2)
    .stdout_is("")
    .stderr_is("/bin/sh: 0: cannot open /dev/fd/3: Permission denied\n")
    .assert_jitsudo();
}

#[test]
fn bare_name_in_the_cwd_is_not_found() {
    Case::new(
        ADMIN,
        "printf '#!/bin/sh\\necho ran\\n' > jtx; chmod 755 jtx; $SUDO jtx",
    )
    .in_fresh_dir()
    .status(1)
    .stdout_is("")
    .stderr_is("jitsudo: jtx: command not found\n")
    .assert_same();
}

/// Commands are looked up in secure_path, never the caller's PATH.
#[test]
fn caller_path_is_not_used() {
    Case::new(
        ADMIN,
        "mkdir bin; for c in id jt-only-here; do printf '#!/bin/sh\\necho fake\\n' > bin/$c; chmod 755 bin/$c; done
PATH=$DIR/bin:$PATH; export PATH
$SUDO id -u; $SUDO jt-only-here; echo rc=$?",
    )
    .in_fresh_dir()
    .status(0)
    .stdout_is("0\nrc=1\n")
    .stderr_is("jitsudo: jt-only-here: command not found\n")
    .assert_same();
}

#[test]
fn runs_in_the_caller_cwd_even_with_spaces() {
    Case::new(
        ADMIN,
        "mkdir 'dir with  spaces'; cd 'dir with  spaces'; $SUDO pwd; $SUDO -u jt_target sh -c pwd",
    )
    .in_fresh_dir()
    .status(0)
    .stdout_is("$DIR/dir with  spaces\n$DIR/dir with  spaces\n")
    .stderr_empty()
    .assert_same();
}

/// Without -D, a cwd the target cannot enter is still the command's cwd
/// (sudo inherits it; failing to re-enter it is not an error).
#[test]
fn cwd_the_target_cannot_enter_is_kept() {
    Case::new(
        ADMIN,
        "mkdir -m 700 private; cd private && $SUDO -u jt_target pwd; echo rc=$?",
    )
    .in_fresh_dir()
    .status(0)
    .stdout_is("$DIR/private\nrc=0\n")
    .stderr_empty()
    .assert_same();
}

#[test]
fn chdir_option() {
    prints(
        "$SUDO -D / pwd; $SUDO --chdir=/etc pwd; $SUDO --chdir /usr pwd",
        "/\n/etc\n/usr\n",
    );
}

#[test]
fn chdir_to_a_missing_directory() {
    Case::new(ADMIN, "$SUDO -D /nonexistent/dir pwd")
        .status(1)
        .stdout_is("")
        .stderr_has("/nonexistent/dir")
        .assert_same();
}

#[test]
fn chdir_without_permission_is_refused() {
    Case::new(LIMITED, "cd /tmp && $SUDO -n -D / id -u")
        .status(1)
        .stdout_is("")
        .stderr_is("jitsudo: you are not permitted to use the -D option with /usr/bin/id\n")
        .assert_same();
}

/// `-i` runs the target's shell as a login shell (argv0 `-bash`) in the
/// target's home.
#[test]
fn login_shell_argv0_and_home() {
    prints("echo 'echo $0; pwd' | $SUDO -i", "-bash\n/root\n");
    prints(
        "echo 'echo $0; pwd; id -un' | $SUDO -u jt_target -i",
        "-bash\n/home/jt_target\njt_target\n",
    );
}

/// Arguments of `-i` and `-s` are escaped, as sudo does, before being
/// handed to `shell -c`: every character but alphanumerics, `_`, `-` and
/// `$` is backslash-quoted, so variables still expand (in the target's
/// environment).
#[test]
fn login_and_shell_escape_arguments_but_not_dollar() {
    for flag in ["-i", "-s"] {
        prints(
            &format!("$SUDO {flag} echo 'a  b' '$HOME' '\"q\"' \"it's\" '*'"),
            "a  b /root \"q\" it's *\n",
        );
    }
}

#[test]
fn shell_runs_a_script_from_stdin() {
    Case::new(ADMIN, "$SUDO -s")
        .stdin("id -u\necho \"$HOME\"\nexit 3\n")
        .status(3)
        .stdout_is("0\n/root\n")
        .stderr_empty()
        .assert_same();
}

#[test]
fn shell_uses_the_caller_shell_variable() {
    Case::new(ADMIN, "echo 'echo $0' | SHELL=/bin/sh $SUDO -s")
        .status(0)
        .stdout_is("/bin/sh\n")
        .assert_same();
}

#[test]
fn umask_is_the_union_of_caller_and_policy() {
    prints("umask 077; $SUDO sh -c umask", "0077\n");
    prints("umask 002; $SUDO sh -c umask", "0022\n");
    prints("umask 0; $SUDO sh -c umask", "0022\n");
}

#[test]
fn created_files_belong_to_the_target() {
    Case::new(
        ADMIN,
        "$SUDO touch r; $SUDO -u jt_target touch t; stat -c '%U:%G %a' r t",
    )
    .in_fresh_dir()
    .status(0)
    .stdout_is("root:root 644\njt_target:jt_target 644\n")
    .stderr_empty()
    .assert_same();
}

#[test]
fn background_option_returns_at_once() {
    let script = with_helpers(
        "$SUDO -b sh -c 'id -u > out.tmp; mv out.tmp out' </dev/null >/dev/null 2>&1; echo rc=$?; wait_file out && cat out",
    );
    Case::new(ADMIN, script)
        .in_fresh_dir()
        .status(0)
        .stdout_is("rc=0\n0\n")
        .stderr_empty()
        .assert_same();
}

#[test]
fn three_megabytes_of_binary_data_pass_unchanged() {
    Case::new(
        ADMIN,
        "head -c 3000000 /dev/urandom > f; a=$($SUDO cat < f | sha256sum); b=$(sha256sum < f); \
         [ \"$a\" = \"$b\" ] && echo same; $SUDO cat < f | cmp - f && echo cmp-same",
    )
    .in_fresh_dir()
    .status(0)
    .stdout_is("same\ncmp-same\n")
    .stderr_empty()
    .assert_same();
}

#[test]
fn stdin_reaches_the_command() {
    Case::new(ADMIN, "$SUDO cat")
        .stdin(b"line one\n\x00\xff binary\n".to_vec())
        .status(0)
        .stdout_is(b"line one\n\x00\xff binary\n")
        .stderr_empty()
        .assert_same();
}

#[test]
fn stdout_and_stderr_stay_apart() {
    Case::new(ADMIN, "$SUDO sh -c 'echo out; echo err >&2; echo out2'")
        .status(0)
        .stdout_is("out\nout2\n")
        .stderr_is("err\n")
        .assert_same();
}

/// Nothing is read ahead from stdin: each line stays for the loop.
#[test]
fn nothing_is_read_ahead_from_stdin() {
    Case::new(
        ADMIN,
        "printf 'a\\nb\\nc\\n' > f; while read l; do $SUDO true; echo \"$l\"; done < f",
    )
    .in_fresh_dir()
    .status(0)
    .stdout_is("a\nb\nc\n")
    .stderr_empty()
    .assert_same();
}

#[test]
fn no_tty_without_a_terminal() {
    Case::new(ADMIN, "$SUDO tty")
        .status(1)
        .stdout_is("not a tty\n")
        .stderr_empty()
        .assert_same();
}
