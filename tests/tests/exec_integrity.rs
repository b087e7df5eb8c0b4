//! The file executed is the file the policy decided on (issue 8, findings
//! 1-3), tried as a hostile local user: a path swapped between the decision
//! and the exec, a directory mounted over in the caller's own namespaces,
//! and other personalities of an allowed file reached by name or by link.
//!
//! Each attack tries to make a file of the caller's own run as root; such
//! a file leaves `evil-0` behind (`evil-<uid>` when it runs as the caller).

use std::time::Duration;

use jitsudo_tests::services::{field_text, wait_for_journal};
use jitsudo_tests::util::marker;
use jitsudo_tests::*;

/// Creates the caller's own directory `d` (not the sticky scratch dir,
/// where root would not follow the caller's links) and, in it, `evil`: a
/// script that leaves `evil-<uid>` in `d`.
const SETUP: &str = "mkdir d && cd d || exit 9
printf '#!/bin/sh\\ntouch \"%s/evil-$(id -u)\"\\n' \"$PWD\" > evil && chmod 755 evil
";

/// `user` may run `/usr/bin/id`. A link `id` in the caller's directory is
/// swapped between `/usr/bin/id` and `evil` in a tight loop while the
/// caller runs it through jitsudo, up to 300 times: `evil` must never run
/// as root, and the real `id` must have run (the test is not passing only
/// because every request was refused).
fn swap_race(user: &str) {
    let script = format!(
        "{SETUP}ln -s /usr/bin/id id
(while :; do ln -sfn evil new && mv -T new id; ln -sfn /usr/bin/id new && mv -T new id; done) 2>/dev/null &
swapper=$!
ok=0; i=0
while [ $i -lt 300 ] && [ ! -e evil-0 ]; do
    [ \"$($SUDO \"$PWD/id\" -u 2>/dev/null)\" = 0 ] && ok=$((ok + 1))
    i=$((i + 1))
done
kill $swapper; wait $swapper 2>/dev/null
[ -e evil-0 ] && echo \"the swapped-in script ran as root (try $i)\"
[ $ok -gt 0 ] && echo 'the allowed id ran'
true"
    );
    Case::new(user, script)
        .in_fresh_dir()
        .timeout(Duration::from_secs(300))
        .status(0)
        .stdout_is("the allowed id ran\n")
        .assert_jitsudo();
}

#[test]
fn swapping_a_link_after_the_decision_never_runs_the_callers_file() {
    swap_race(LIMITED);
}

#[test]
fn swapping_a_link_never_runs_the_callers_file_under_a_digest_pin() {
    swap_race(PINNED);
}

/// In its own user and mount namespace the caller mounts its directory over
/// `/usr/bin` and runs `./id` from there: the daemon refuses callers from
/// another mount namespace (and logs it), and the caller's `id` never runs
/// as root.
#[test]
fn a_directory_mounted_over_in_another_namespace_is_not_run() {
    let m = marker("foreign-ns");
    let run = Case::new(
        LIMITED,
        format!(
            "{SETUP}mkdir fake && cp evil fake/id
unshare -Urm sh -c 'mount --bind fake /usr/bin && cd /usr/bin && \"$0\" ./id {m}' $SUDO
echo \"status $?\"
[ -e evil-0 ] && echo 'the caller'\\''s id ran as root'
true"
        ),
    )
    .in_fresh_dir()
    .status(0)
    .stdout_is("status 1\n")
    .stderr_is(
        "jitsudo: commands from another mount namespace are not supported; \
         run jitsudo from the host's namespace\n",
    )
    .assert_jitsudo();
    if run.is_some() {
        let entries = wait_for_journal("JITSUDO_USER", LIMITED, &m, Duration::from_secs(15));
        assert!(
            entries.iter().any(|e| field_text(e, "JITSUDO_REASON")
                .is_some_and(|r| r.contains("another mount namespace"))),
            "the refusal was not logged: {entries:#?}"
        );
    }
}

/// A user namespace alone changes nothing the daemon relies on (the kernel
/// reports the caller's real uid): the command runs as usual.
#[test]
fn a_user_namespace_alone_is_served() {
    Case::new(LIMITED, "unshare -Ur $SUDO /usr/bin/id -u")
        .status(0)
        .stdout_is("0\n")
        .stderr_empty()
        .assert_jitsudo();
}

/// A rule for `/usr/bin/rbash` (a link to bash) allows rbash, restricted,
/// and neither `bash` itself nor a link to rbash named otherwise (bash is
/// restricted only when called `rbash`).
#[test]
fn a_rule_for_rbash_allows_neither_bash_nor_a_renamed_link() {
    Case::new(
        RBASH,
        format!(
            "{SETUP}$SUDO rbash -c 'shopt -q restricted_shell && echo restricted'
echo \"rbash: $?\"
$SUDO /usr/bin/bash -c 'touch \"$0/evil-bash\"' \"$PWD\" 2>/dev/null
echo \"bash: $?\"
ln -s /usr/bin/rbash sh
$SUDO \"$PWD/sh\" -c 'touch \"$0/evil-link\"' \"$PWD\" 2>/dev/null
echo \"link: $?\"
ls"
        ),
    )
    .in_fresh_dir()
    .status(0)
    .stdout_is("restricted\nrbash: 0\nbash: 1\nlink: 1\nevil\nsh\n")
    .assert_jitsudo();
}

/// A link named like an allowed command (`id`) that leads to another
/// program (bash) does not run it.
#[test]
fn a_link_named_like_an_allowed_command_does_not_run_another_program() {
    Case::new(
        LIMITED,
        format!(
            "{SETUP}ln -s /usr/bin/bash id
$SUDO \"$PWD/id\" -c 'touch \"$0/evil-0\"' \"$PWD\" 2>/dev/null
echo \"status $?\"
ls"
        ),
    )
    .in_fresh_dir()
    .status(0)
    .stdout_is("status 1\nevil\nid\n")
    .assert_jitsudo();
}
