//! Hostile input to a client that is not setuid: non-UTF-8 bytes, argv
//! sizes, inherited and closed descriptors. (Hostile user and group names
//! are in identity.rs, dangerous variables in env.rs, odd command files in
//! exec.rs.)

use jitsudo_tests::*;

/// Runs `script` as the admin, expecting `stdout` and exit 0.
fn prints(script: &str, stdout: &str) {
    Case::new(ADMIN, script)
        .status(0)
        .stdout_is(stdout)
        .stderr_empty()
        .assert_same();
}

#[test]
fn non_utf8_argument_arrives_unchanged() {
    prints(
        "$SUDO printf '%s|' \"$(printf 'a\\377b\\300')\" \"$(printf '\\355\\240\\200')\" | od -An -tx1",
        " 61 ff 62 c0 7c ed a0 80 7c\n",
    );
}

#[test]
fn non_utf8_variable_assignment_arrives_unchanged() {
    prints(
        "$SUDO \"V=$(printf 'x\\377\\376')\" printenv V | od -An -tx1",
        " 78 ff fe 0a\n",
    );
}

#[test]
fn non_utf8_preserved_variable_arrives_unchanged() {
    prints(
        "V=$(printf 'y\\377') $SUDO -E printenv V | od -An -tx1",
        " 79 ff 0a\n",
    );
}

#[test]
fn non_utf8_command_path_and_cwd() {
    Case::new(
        ADMIN,
        "d=$(printf 'd\\377'); mkdir \"$d\"; cd \"$d\"; n=$(printf 'n\\376'); printf '#!/bin/sh\\npwd\\n' > \"$n\"; chmod 755 \"$n\"; $SUDO \"./$n\"",
    )
    .in_fresh_dir()
    .status(0)
    .stdout_is(b"$DIR/d\xff\n")
    .stderr_empty()
    .assert_same();
}

/// Ten arguments of 100 kB each (MAX_ARG_STRLEN is 128 KiB per string).
#[test]
fn one_megabyte_of_arguments_works() {
    prints(
        "a=$(head -c 100000 /dev/zero | tr '\\0' a); set --; for i in 1 2 3 4 5 6 7 8 9 10; do set -- \"$@\" \"$a\"; done
$SUDO sh -c 'echo $#; printf %s \"$@\" | wc -c' sh \"$@\"",
        "10\n1000000\n",
    );
}

/// An argument list the client could be started with (stack limit raised)
/// but the command cannot: refused with a clear error, exit 1.
#[test]
fn argument_list_too_long_for_the_command_is_refused() {
    Case::new(
        ADMIN,
        "ulimit -s unlimited; a=$(head -c 100000 /dev/zero | tr '\\0' a); set --; for i in $(seq 40); do set -- \"$@\" \"$a\"; done
$SUDO sh -c 'echo ran' sh \"$@\"",
    )
    .status(1)
    .stdout_is("")
    .stderr_is("jitsudo: unable to execute /usr/bin/sh: Argument list too long\n")
    .assert_same();
}

/// One argument longer than MAX_ARG_STRLEN once `-s` has escaped it.
#[test]
fn escaped_shell_argument_too_long_is_refused() {
    Case::new(
        ADMIN,
        "a=$(head -c 70000 /dev/zero | tr '\\0' a); $SUDO -s printf %s \"$a\" \"$a\"",
    )
    .status(1)
    .stdout_is("")
    .stderr_is("jitsudo: unable to execute /bin/bash: Argument list too long\n")
    .assert_same();
}

/// The command gets exactly fds 0, 1 and 2, whatever the caller had open.
#[test]
fn command_gets_exactly_the_standard_descriptors() {
    prints(
        "exec 3</etc/passwd 4>/dev/null 7<&0 9>&1; $SUDO sh -c 'ls -1 /proc/$$/fd'",
        "0\n1\n2\n",
    );
}

#[test]
fn command_gets_exactly_the_standard_descriptors_on_a_terminal() {
    Case::new(
        ADMIN,
        "exec 3</etc/passwd 5>/dev/null; $SUDO sh -c 'ls -1 /proc/$$/fd'",
    )
    .pty(PtySpec::default())
    .status(0)
    .stdout_is("0\n1\n2\n")
    .assert_same();
}

/// Prints whether fd `fd` of the command is a socket.
const NOT_A_SOCKET: &str =
    "case $(readlink /proc/$$/fd/FD) in socket:*) echo socket;; *) echo no-socket;; esac";

/// A closed caller fd stays unusable: the command cannot read from a closed
/// stdin, nor write to a closed stdout or stderr, and never gets a socket
/// (sudo's glibc puts /dev/full or /dev/null there, opened the wrong way).
#[test]
fn closed_stdin_stays_unusable() {
    prints(
        &format!(
            "$SUDO sh -c 'read x; echo read=$?; {}' <&-",
            NOT_A_SOCKET.replace("FD", "0")
        ),
        "read=1\nno-socket\n",
    );
}

#[test]
fn closed_stdout_stays_unusable() {
    Case::new(
        ADMIN,
        format!(
            "exec 3>&1; $SUDO sh -c 'echo out; echo write=$? >&2; {} >&2' >&-",
            NOT_A_SOCKET.replace("FD", "1")
        ),
    )
    .status(0)
    .stdout_is("")
    .stderr_is("sh: 1: echo: echo: I/O error\nwrite=1\nno-socket\n")
    .assert_same();
}

#[test]
fn closed_stderr_stays_unusable() {
    prints(
        &format!(
            "$SUDO sh -c 'echo err >&2; echo write=$?; {}' 2>&-",
            NOT_A_SOCKET.replace("FD", "2")
        ),
        "write=1\nno-socket\n",
    );
}
