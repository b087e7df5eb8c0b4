//! On a terminal: a new pty for the command, ^C, window size, terminal
//! settings restored, and a killed client does not leave the command
//! running.

use jitsudo_tests::sh::with_helpers;
use jitsudo_tests::*;

/// A case run by the admin on a pty playing `pty`.
fn on_pty(script: &str, pty: PtySpec) -> Case {
    Case::new(ADMIN, with_helpers(script)).pty(pty)
}

#[test]
fn plain_output_on_a_terminal() {
    on_pty("$SUDO echo hello; echo status=$?", PtySpec::default())
        .status(0)
        .stdout_is("hello\nstatus=0\n")
        .assert_same();
}

/// The command gets a new pty (not the caller's) on fds 0, 1 and 2.
#[test]
fn command_gets_a_new_pty() {
    on_pty(
        "t=$($SUDO tty); case $t in /dev/pts/[0-9]*) echo pts;; *) echo \"not a pty: $t\";; esac
[ \"$t\" != \"$(tty)\" ] && echo new
$SUDO sh -c 'test -t 0 -a -t 1 -a -t 2 && echo all-ttys'",
        PtySpec::default(),
    )
    .status(0)
    .stdout_is("pts\nnew\nall-ttys\n")
    .assert_same();
}

#[test]
fn control_c_interrupts_the_command() {
    on_pty(
        "$SUDO sh -c 'echo ready; sleep 10'; echo status=$?",
        PtySpec::default().wait_for("ready").send(b"\x03"),
    )
    .status(0)
    .stdout_has("status=130\n")
    .assert_same();
}

#[test]
fn window_size_follows_the_terminal() {
    on_pty(
        "stty size; $SUDO sh -c 'stty size; echo ready; i=0; while [ \"$(stty size)\" = \"24 80\" ] && [ $i -lt 300 ]; do sleep 0.01; i=$((i+1)); done; stty size'",
        PtySpec::default().wait_for("ready").resize(40, 100),
    )
    .status(0)
    .stdout_is("24 80\n24 80\nready\n40 100\n")
    .assert_same();
}

/// The caller's terminal settings are the same after the command, however
/// it ended.
#[test]
fn terminal_settings_are_restored() {
    // The shell's own note for a job killed by a signal comes first.
    for (command, status, note) in [
        ("true", 0, ""),
        ("exit 3", 3, ""),
        ("kill -KILL $$", 137, "Killed\n"),
        ("kill -TERM $$", 143, "Terminated\n"),
    ] {
        on_pty(
            &format!(
                "a=$(stty -g); $SUDO sh -c '{command}'; echo status=$?; b=$(stty -g); [ \"$a\" = \"$b\" ] && echo restored"
            ),
            PtySpec::default(),
        )
        .status(0)
        .stdout_is(format!("{note}status={status}\nrestored\n"))
        .assert_same();
    }
}

#[test]
fn terminal_settings_are_restored_after_control_c() {
    on_pty(
        "a=$(stty -g); $SUDO sh -c 'echo ready; sleep 10'; echo status=$?; b=$(stty -g); [ \"$a\" = \"$b\" ] && echo restored",
        PtySpec::default().wait_for("ready").send(b"\x03"),
    )
    .status(0)
    .stdout_has("status=130\nrestored\n")
    .assert_same();
}

/// SIGKILL to the client on a terminal: the command must not go on running
/// unattended (it loses its terminal and gets SIGHUP).
#[test]
fn client_killed_on_a_terminal_does_not_leave_the_command_running() {
    on_pty(
        "$SUDO sh -c 'echo $$ > pid.tmp; mv pid.tmp pid; exec sleep 60' &
c=$!
wait_file pid; p=$(cat pid)
{ kill -KILL $c; wait $c; } 2>/dev/null; echo client=$?
n=0; while [ -d /proc/$p ] && [ $n -lt 1000 ]; do sleep 0.01; n=$((n+1)); done
[ -d /proc/$p ] && echo still-running || echo gone",
        PtySpec::default(),
    )
    .in_fresh_dir()
    .status(0)
    .stdout_is("client=137\ngone\n")
    .assert_same();
}

/// `-b` as another user from a terminal: the background command must not
/// hold the caller's terminal (it outlives the client and could read what
/// the caller types next, or draw a fake prompt there). Checked from
/// outside, by root reading the running command's /proc/PID/fd, not by
/// the command's own output; the command ends when the file `done` exists.
#[test]
fn background_command_does_not_get_the_callers_terminal() {
    const SCRIPT: &str = r#"$SUDO -b -u jt_target sh -c 'echo $$ > pid.tmp; mv pid.tmp pid; n=0; until [ -e done ] || [ $n -gt 2000 ]; do n=$((n+1)); sleep 0.01; done'
wait_file pid && p=$(cat pid) && echo "tty=$(tty)"
$SUDO sh -c "for f in /proc/$p/fd/*; do echo link=\$(readlink \$f); done"
touch done"#;
    let Some(run) = on_pty(SCRIPT, PtySpec::default())
        .in_fresh_dir()
        .status(0)
        .assert_jitsudo()
    else {
        return;
    };
    let text = run.stdout_text().replace('\r', "");
    let tty = text
        .lines()
        .find_map(|line| line.strip_prefix("tty="))
        .unwrap_or_else(|| panic!("no tty= in {text:?}"));
    let links: Vec<&str> = text
        .lines()
        .filter_map(|line| line.strip_prefix("link="))
        .collect();
    assert!(tty.starts_with("/dev/pts/"), "{text:?}");
    assert!(links.len() >= 3, "{text:?}");
    assert!(
        !links.contains(&tty),
        "the background command holds the caller's terminal {tty}: {links:?}"
    );
}
