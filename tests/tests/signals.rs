//! Signals: a command killed by a signal, signals sent to the client, a
//! client started with signals blocked or ignored, and a client killed on a
//! pipe.

use jitsudo_tests::sh::with_helpers;
use jitsudo_tests::*;

/// A command dying of `sig`: the client dies of the same signal (the shell
/// sees 128+n) and prints nothing of its own.
#[test]
fn client_dies_of_the_signal_that_killed_the_command() {
    for (sig, status) in [("TERM", 143), ("KILL", 137), ("HUP", 129), ("USR1", 138)] {
        Case::new(
            ADMIN,
            format!("$SUDO sh -c 'kill -{sig} $$'; echo status=$?"),
        )
        .status(0)
        .stdout_is(format!("status={status}\n"))
        .stderr_empty()
        .assert_same();
    }
}

/// Starts a bash command that reports which signal it got, sends `sig` to
/// the client once the command is ready, and prints what happened.
/// `prefix` goes before `$SUDO` (e.g. `env --default-signal=INT`: a
/// non-interactive shell starts background jobs with SIGINT and SIGQUIT
/// ignored).
fn forwarding_script(sig: &str, prefix: &str) -> String {
    with_helpers(&format!(
        "{prefix} $SUDO bash -c 'trap \"echo got {sig}; exit 7\" {sig}; echo ready > r; while :; do sleep 0.01; done' > out 2>&1 &
c=$!
wait_file r
kill -{sig} $c
wait $c; echo status=$?
cat out"
    ))
}

#[test]
fn signals_sent_to_the_client_reach_the_command() {
    for sig in ["TERM", "HUP", "USR1", "USR2"] {
        let dir = world().scratch_dir(sig);
        Case::new(ADMIN, forwarding_script(sig, ""))
            .cwd(&dir)
            .status(0)
            .stdout_is(format!("status=7\ngot {sig}\n"))
            .stderr_empty()
            .assert_same();
    }
}

/// SIGINT and SIGQUIT without a terminal (the client is started with the
/// default disposition for them).
#[test]
fn interrupt_and_quit_without_a_tty_reach_the_command() {
    for sig in ["INT", "QUIT"] {
        let dir = world().scratch_dir(sig);
        Case::new(
            ADMIN,
            forwarding_script(sig, &format!("env --default-signal={sig}")),
        )
        .cwd(&dir)
        .status(0)
        .stdout_is(format!("status=7\ngot {sig}\n"))
        .stderr_empty()
        .assert_same();
    }
}

/// A client started with every signal blocked, or ignored, still reports
/// the exit status, and mirrors a fatal signal.
#[test]
fn client_with_signals_blocked_or_ignored_reports_status() {
    for prefix in ["env --block-signal", "env --ignore-signal"] {
        Case::new(
            ADMIN,
            format!(
                "{prefix} $SUDO sh -c 'exit 5'; echo status=$?; {prefix} $SUDO sh -c 'kill -TERM $$'; echo status=$?"
            ),
        )
        .status(0)
        .stdout_is("status=5\nstatus=143\n")
        .stderr_empty()
        .assert_same();
    }
}

/// The command starts with an empty signal mask and default dispositions,
/// whatever the client inherited.
#[test]
fn command_starts_with_clean_signal_state() {
    Case::new(
        ADMIN,
        "env --block-signal=USR1,TERM --ignore-signal=USR2,HUP $SUDO grep -E '^Sig(Blk|Ign)' /proc/self/status",
    )
    .status(0)
    .stdout_is("SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n")
    .stderr_empty()
    .assert_same();
}

/// SIGKILL to the client when there is no terminal: nothing can forward
/// it, so the command goes on (as with sudo) and finishes on its own.
#[test]
fn client_killed_on_a_pipe() {
    let dir = world().scratch_dir("kill-pipe");
    let script = with_helpers(
        "$SUDO sh -c 'echo $$ > pid.tmp; mv pid.tmp pid; i=0; while [ ! -e stop ] && [ $i -lt 1000 ]; do sleep 0.01; i=$((i+1)); done; echo finished > done' &
c=$!
wait_file pid
kill -KILL $c; wait $c; echo client=$?
[ -d /proc/$(cat pid) ] && echo command-alive
touch stop
wait_file done && cat done",
    );
    Case::new(ADMIN, script)
        .cwd(&dir)
        .status(0)
        .stdout_is("client=137\ncommand-alive\nfinished\n")
        .stderr_empty()
        .assert_same();
}
