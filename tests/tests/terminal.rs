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

/// `-S` with stdin a terminal: echo is off while the password is typed
/// (it never shows on the screen, nor in a transcript a program drives),
/// and the newline comes after it, as with sudo.
#[test]
fn password_from_stdin_on_a_terminal_is_not_echoed() {
    let secret = password(PW);
    Case::new(PW, "$SUDO -k -S id -un; echo status=$?")
        .pty(PtySpec::default().answer("password for jt_pw: ", &secret))
        .status(0)
        .stdout_is("[sudo] password for jt_pw: \nroot\nstatus=0\n")
        .stdout_lacks(&secret)
        .assert_same();
}

/// Job control in an interactive shell: ^Z stops the command (it really is
/// stopped, state T, not only the client), the shell says "Stopped", `fg`
/// continues it in the foreground and ^C then reaches it.
#[test]
fn control_z_stops_the_command_and_fg_resumes_it() {
    // Each step waits for the next prompt, which no typed line contains.
    let spec = PtySpec::default()
        .wait_for("prompt> ")
        .send(b"\"$J\" sh -c 'echo $$ > pid; echo re\"\"ady; exec cat'\r")
        .wait_for("ready")
        .wait_for_reader()
        .send(b"\x1a")
        .wait_for("Stopped")
        .wait_for("prompt> ")
        .send(b"echo state=$(ps -o stat= -p $(cat pid) | cut -c1)\r")
        .wait_for("prompt> ")
        .send(b"fg\r")
        .wait_for("exec cat'")
        .wait_for_reader()
        .send(b"\x03")
        .wait_for("prompt> ")
        .send(b"echo status=$?; exit\r");
    Case::new(
        ADMIN,
        "J=$SUDO PS1='prompt> ' exec bash --norc --noprofile -i 2>&1",
    )
    .in_fresh_dir()
    .pty(spec)
    .status(0)
    .stdout_has("Stopped")
    .stdout_has("state=T\n")
    .stdout_has("status=130\n")
    .assert_same();
}

/// Started in the background from an interactive shell (`jitsudo cmd &`),
/// the command starts in the background of its pty, as under sudo: when it
/// sets up the terminal it is stopped (the shell's `jobs` says "Stopped",
/// the command is in state T), and `fg` brings it to the foreground, where
/// it reads what is typed. Before: it took its pty's foreground at once and
/// waited for input the client never relayed.
#[test]
fn command_started_in_the_background_waits_for_fg() {
    let spec = PtySpec::default()
        .wait_for("prompt> ")
        // The shell's "[1] PID" goes to /dev/null (the command's stderr too).
        .send(b"{ \"$J\" sh -c 'echo $$ > pid; stty \"$(stty -g)\"; echo re\"\"ady; read x; echo got=$x' & } 2>/dev/null\r")
        .wait_for("prompt> ")
        .send(b"until jobs > j && grep -q Stopped j; do sleep 0.05; done; echo state=$(ps -o stat= -p $(cat pid) | cut -c1)\r")
        .wait_for("state=")
        .wait_for("prompt> ")
        .send(b"fg\r")
        .wait_for("ready")
        .wait_for_reader()
        .send(b"abc\r")
        .wait_for("got=abc")
        .wait_for("prompt> ")
        .send(b"echo status=$?; exit\r");
    Case::new(
        ADMIN,
        "J=$SUDO PS1='prompt> ' exec bash --norc --noprofile -i 2>&1",
    )
    .in_fresh_dir()
    .pty(spec)
    .timeout(std::time::Duration::from_secs(30))
    .status(0)
    .stdout_has("state=T")
    .stdout_has("got=abc")
    .stdout_has("status=0")
    .assert_same();
}

/// A command whose output goes into a pipe (`jitsudo cmd | cat`): the
/// caller's terminal keeps its modes while the command runs (no raw mode:
/// output post-processing stays on, so `cat` does not staircase), and
/// afterwards. Checked from a second process while the command waits.
#[test]
fn terminal_modes_are_kept_in_a_pipeline() {
    on_pty(
        "a=$(stty -g)
{ wait_file running && stty -g </dev/tty > during; touch checked; } &
$SUDO sh -c 'touch running; n=0; until [ -e checked ] || [ $n -gt 1000 ]; do n=$((n+1)); sleep 0.01; done; echo out1; echo out2' | cat
wait
[ \"$(cat during)\" = \"$a\" ] && echo unchanged-during
[ \"$(stty -g)\" = \"$a\" ] && echo restored",
        PtySpec::default(),
    )
    .in_fresh_dir()
    .status(0)
    .stdout_is("out1\nout2\nunchanged-during\nrestored\n")
    .assert_same();
}

/// A command in a pipeline that sets up or reads the terminal (it is
/// stopped by SIGTTOU or SIGTTIN in the background of its pty) is given
/// the terminal, as under sudo: it reads what is typed, and the terminal is
/// restored afterwards. The command first sets its terminal's modes (so
/// the handover has happened when `ready` shows), and writes through the
/// pty (so its output follows the echo).
#[test]
fn command_in_a_pipeline_gets_the_terminal_when_it_asks() {
    on_pty(
        "a=$(stty -g); $SUDO sh -c 'stty \"$(stty -g)\"; echo ready >&2; read x; echo got=$x >&2' | cat; [ \"$(stty -g)\" = \"$a\" ] && echo restored",
        PtySpec::default()
            .wait_for("ready")
            .wait_for_reader()
            .send(b"abc\r"),
    )
    .status(0)
    .stdout_is("ready\nabc\ngot=abc\nrestored\n")
    .assert_same();
}

/// `jitsudo cmd | less`: the keys go to less (the client does not read the
/// terminal of a pipeline), quitting early works, and the terminal's
/// settings are the same afterwards.
#[test]
fn quitting_less_early_leaves_the_terminal_as_it_was() {
    for _ in 0..3 {
        on_pty(
            "a=$(stty -g); $SUDO seq 1 2000 | less; b=$(stty -g); [ \"$a\" = \"$b\" ] && echo restored || echo changed",
            PtySpec::default().wait_for_reader().send(b"q"),
        )
        .env("LESS", "")
        .status(0)
        .stdout_has("restored\n")
        .stdout_lacks("changed")
        .assert_same();
    }
}

/// Runs `$SUDO -i` on a terminal of its own (`script`'s pty) whose
/// session leader is a shell that survives SIGHUP (it traps it) and so
/// passes none on: the client can learn of the hangup only from its
/// terminal. The root shell reads, from a FIFO that `script` copies to the
/// terminal, a command that records its pid (`shell`) and starts a
/// background child (`child`); then `script` is killed, which closes the
/// terminal's master side as a vanished SSH connection or a closed window
/// does. Prints `shell-still-running` (and, with `child`,
/// `child-still-running`) for what is left after a bound (10 s), then
/// `done`. A shell or child left running is killed.
fn hangup_script(child: bool) -> String {
    let report = if child {
        "echo child-still-running;"
    } else {
        ""
    };
    with_helpers(&format!(
        r#"mkfifo keys
SHELL=/bin/sh script -qfc "trap 'echo hup' HUP; $SUDO -i; echo after" /dev/null < keys > /dev/null &
t=$!
exec 3> keys
echo "echo \$\$ > $DIR/shell.tmp; mv $DIR/shell.tmp $DIR/shell; sleep 1000 & echo \$! > $DIR/child.tmp; mv $DIR/child.tmp $DIR/child" >&3
wait_file shell && wait_file child
s=$(cat shell); c=$(cat child)
kill -KILL $t; exec 3>&-
n=0; while {{ [ -d /proc/$s ] || [ -d /proc/$c ]; }} && [ $n -lt 1000 ]; do n=$((n+1)); sleep 0.01; done
[ -d /proc/$s ] && {{ echo shell-still-running; $SUDO -n kill -KILL $s; }}
[ -d /proc/$c ] && {{ {report} $SUDO -n kill -KILL $c; }}
echo done"#
    ))
}

/// Closing the terminal while a root shell runs on it ends the shell: a
/// root shell never outlives its terminal (sudo agrees).
#[test]
fn hangup_ends_a_root_shell() {
    Case::new(ADMIN, hangup_script(false))
        .pty(PtySpec::default())
        .in_fresh_dir()
        .status(0)
        .stdout_is("done\n")
        .assert_same();
}

/// The same, and what the root shell started in the background is gone
/// too. sudo leaves such a child running (the shell exits on EOF, without
/// hanging up its jobs); jitsudo hangs up every process group on the
/// command's pty.
#[test]
fn hangup_ends_the_children_of_a_root_shell() {
    Case::new(ADMIN, hangup_script(true))
        .pty(PtySpec::default())
        .in_fresh_dir()
        .status(0)
        .stdout_is("done\n")
        .assert_jitsudo();
}
