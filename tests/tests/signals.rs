//! Signals: a command killed by a signal, signals sent to the client, a
//! client started with signals blocked or ignored, and a client killed on a
//! pipe.

use jitsudo_tests::sh::with_helpers;
use jitsudo_tests::*;

/// A command dying of `sig`: the client dies of the same signal (the shell
/// sees 128+n, and prints its own note, e.g. "Terminated") and prints
/// nothing of its own.
#[test]
fn client_dies_of_the_signal_that_killed_the_command() {
    for (sig, status, note) in [
        ("TERM", 143, "Terminated"),
        ("KILL", 137, "Killed"),
        ("HUP", 129, "Hangup"),
        ("USR1", 138, "User defined signal 1"),
    ] {
        Case::new(
            ADMIN,
            format!("$SUDO sh -c 'kill -{sig} $$'; echo status=$?"),
        )
        .status(0)
        .stdout_is(format!("status={status}\n"))
        .stderr_is(&format!("{note}\n"))
        .assert_same();
    }
}

/// Starts a bash command that reports which signal it got, sends `sig` to
/// the client once the command is ready, and prints what happened.
/// `prefix` goes before `$SUDO` (e.g. `env --default-signal=INT`: a
/// non-interactive shell starts background jobs with SIGINT and SIGQUIT
/// ignored). The command waits in the `wait` builtin, which a trapped
/// signal interrupts at once: no polling loop (forking a `sleep` a hundred
/// times a second slowed a loaded machine further, and one left behind by
/// a failed run never ended).
fn forwarding_script(sig: &str, prefix: &str) -> String {
    with_helpers(&format!(
        "{prefix} $SUDO bash -c 'trap \"echo got {sig}; kill \\$s; exit 7\" {sig}; sleep 60 & s=$!; echo ready > r; wait $s' > out 2>&1 &
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
        Case::new(ADMIN, forwarding_script(sig, ""))
            .in_fresh_dir()
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
        Case::new(
            ADMIN,
            forwarding_script(sig, &format!("env --default-signal={sig}")),
        )
        .in_fresh_dir()
        .status(0)
        .stdout_is(format!("status=7\ngot {sig}\n"))
        .stderr_empty()
        .assert_same();
    }
}

/// The script for a client started with `prefix` (an `env` signal
/// option): one normal exit, one death by SIGTERM.
fn exit_and_signal_script(prefix: &str) -> String {
    format!(
        "{prefix} $SUDO sh -c 'exit 5'; echo status=$?; {prefix} $SUDO sh -c 'kill -TERM $$'; echo status=$?"
    )
}

/// A client started with every signal blocked still reports the exit
/// status, and mirrors a fatal signal.
#[test]
fn client_with_signals_blocked_reports_status() {
    Case::new(ADMIN, exit_and_signal_script("env --block-signal"))
        .status(0)
        .stdout_is("status=5\nstatus=143\n")
        .stderr_is("Terminated\n")
        .assert_same();
}

/// A client started with every signal ignored: the exit status is passed
/// on, and the command inherits the ignored SIGTERM (so its `kill -TERM $$`
/// does nothing and it exits 0), as with sudo.
#[test]
fn client_with_signals_ignored_reports_status() {
    Case::new(ADMIN, exit_and_signal_script("env --ignore-signal"))
        .status(0)
        .stdout_is("status=5\nstatus=0\n")
        .stderr_empty()
        .assert_same();
}

/// The command starts with an empty signal mask whatever the client
/// inherited; signals the caller ignored stay ignored (so `nohup sudo cmd`
/// works), as with sudo.
#[test]
fn command_starts_with_empty_mask_and_inherited_ignores() {
    Case::new(ADMIN, "$SUDO grep -E '^Sig(Blk|Ign)' /proc/self/status")
        .status(0)
        .stdout_is("SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n")
        .assert_same();
    Case::new(
        ADMIN,
        "env --block-signal=USR1,TERM --ignore-signal=USR2,HUP $SUDO grep -E '^Sig(Blk|Ign)' /proc/self/status",
    )
    .status(0)
    .stdout_has("SigBlk:\t0000000000000000\n")
    .expect("SIGHUP and SIGUSR2 still ignored", |o| {
        let text = o.stdout_text();
        let mask = text
            .lines()
            .find_map(|l| l.strip_prefix("SigIgn:\t"))
            .and_then(|m| u64::from_str_radix(m, 16).ok())
            .ok_or("no SigIgn line")?;
        let want = (1 << (libc::SIGHUP - 1)) | (1 << (libc::SIGUSR2 - 1));
        (mask & want == want)
            .then_some(())
            .ok_or_else(|| format!("SigIgn {mask:#x}"))
    })
    .stderr_empty()
    .assert_same();
}

/// SIGKILL to the client when there is no terminal: nothing can forward
/// it, so the command goes on (as with sudo) and finishes on its own.
#[test]
fn client_killed_on_a_pipe() {
    // The shell's own "Killed" note is printed or not depending on timing:
    // it goes to /dev/null; the client's stderr is shown at the end.
    let script = with_helpers(
        "$SUDO sh -c 'echo $$ > pid.tmp; mv pid.tmp pid; i=0; while [ ! -e stop ] && [ $i -lt 1000 ]; do sleep 0.01; i=$((i+1)); done; echo finished > done' 2>client.err &
c=$!
wait_file pid
{ kill -KILL $c; wait $c; } 2>/dev/null; echo client=$?
[ -d /proc/$(cat pid) ] && echo command-alive
touch stop
wait_file done && cat done client.err",
    );
    Case::new(ADMIN, script)
        .in_fresh_dir()
        .status(0)
        .stdout_is("client=137\ncommand-alive\nfinished\n")
        .stderr_empty()
        .assert_same();
}
