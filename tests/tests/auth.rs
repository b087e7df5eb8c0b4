//! Authentication: the password typed at the caller's terminal (PAM in the
//! daemon, prompts relayed to the client), wrong and missing passwords,
//! `-S`, `-p`, `-n`, refusals that come only after authenticating, expired
//! accounts, root and self-targets that are never asked, and the credential
//! cache scoped to the terminal session (`-v`, `-k`, `-K`).
//!
//! On a pty the transcript is what the terminal showed: prompts (written to
//! the terminal, not stdout), the newline printed after the unechoed
//! password, and everything the script printed. Scripts redirect stdout and
//! stderr to files where it matters which stream a message went to.

use std::path::Path;
use std::time::{Duration, SystemTime};

use jitsudo_audit::{field, EventKind};
use jitsudo_tests::services::{
    field_text, journal_since, wait_for_journal, wait_for_log_lines, LogTail, AUTH_LOG,
};
use jitsudo_tests::sh::with_helpers;
use jitsudo_tests::util::{find_bytes, marker};
use jitsudo_tests::*;

/// A wrong password, distinctive enough that a transcript echoing it is
/// caught.
const WRONG: &str = "not-the-password";

/// How long log records may take to show up.
const LOG_TIMEOUT: Duration = Duration::from_secs(15);

/// sudo's (and jitsudo's) two lines when a password is needed, there is no
/// terminal to read it from, and neither `-S` nor `-n` was given.
const NEEDS_A_TERMINAL: &str = "jitsudo: a terminal is required to read the password; either use \
     the -S option to read from standard input or configure an askpass helper\n\
     jitsudo: a password is required\n";

/// What the terminal shows for the default prompt and the newline printed
/// after the password was typed (jitsudo's default prompt is sudo's).
fn prompt(user: &str) -> String {
    format!("[sudo] password for {user}: \n")
}

/// The end of the default prompt, the same for both implementations.
fn prompt_tail(user: &str) -> String {
    format!("password for {user}: ")
}

/// The short host name, as sudo's messages and `%h` show it.
fn host() -> String {
    let name = nix::unistd::gethostname().expect("gethostname");
    let name = name.to_string_lossy();
    name.split('.').next().unwrap_or_default().to_string()
}

/// A case run by `user` (with the shell helpers) on a terminal playing
/// `spec`.
fn on_terminal(user: &str, script: &str, spec: PtySpec) -> Case {
    Case::new(user, with_helpers(script)).pty(spec)
}

/// A case run by `user` on a terminal: at each appearance of `prompt` the
/// next of `answers` is typed. Nothing typed may show on the terminal.
fn typing_at(user: &str, script: &str, prompt: &str, answers: &[&str]) -> Case {
    let spec = answers
        .iter()
        .fold(PtySpec::default(), |spec, a| spec.answer(prompt, a));
    let mut case = on_terminal(user, script, spec);
    let mut checked: Vec<&str> = Vec::new();
    for a in answers.iter().filter(|a| !a.is_empty()) {
        if !checked.contains(a) {
            checked.push(a);
            case = case.stdout_lacks(a);
        }
    }
    case
}

/// [`typing_at`] the default prompt.
fn typing(user: &str, script: &str, answers: &[&str]) -> Case {
    typing_at(user, script, &prompt_tail(user), answers)
}

/// A case run by `user` on a terminal where nothing is typed.
fn untyped(user: &str, script: &str) -> Case {
    on_terminal(user, script, PtySpec::default())
}

/// Expects `script` (run by `user` without a terminal) to fail with
/// [`NEEDS_A_TERMINAL`], exit 1, printing nothing else.
fn needs_a_terminal(user: &str, script: &str) {
    Case::new(user, script)
        .status(1)
        .stdout_is("")
        .stderr_is(NEEDS_A_TERMINAL)
        .assert_same();
}

#[test]
fn right_password_runs_the_command() {
    let pw = password(PW);
    typing(PW, "$SUDO id -un; echo rc=$?", &[&pw])
        .status(0)
        .stdout_is(format!("{}root\nrc=0\n", prompt(PW)))
        .assert_same();
}

#[test]
fn wrong_then_right_password() {
    let pw = password(PW);
    let p = prompt(PW);
    typing(PW, "$SUDO id -un; echo rc=$?", &[WRONG, &pw])
        .status(0)
        .stdout_is(format!("{p}Sorry, try again.\n{p}root\nrc=0\n"))
        .assert_same();
}

/// An empty line is a (wrong) password, not a way out.
#[test]
fn empty_password_is_a_wrong_password() {
    let pw = password(PW);
    let p = prompt(PW);
    typing(PW, "$SUDO id -un; echo rc=$?", &["", &pw])
        .status(0)
        .stdout_is(format!("{p}Sorry, try again.\n{p}root\nrc=0\n"))
        .assert_same();
}

/// Three wrong passwords: exit 1, the command never runs. The prompts and
/// "Sorry, try again." are written to the terminal, the final message to
/// stderr.
#[test]
fn three_wrong_passwords_and_nothing_runs() {
    let p = prompt(PW);
    typing(
        PW,
        "$SUDO touch $DIR/ran >$DIR/out 2>$DIR/err; echo rc=$?
[ -e $DIR/ran ] && echo ran || echo nothing-ran
echo stdout:; cat $DIR/out; echo stderr:; cat $DIR/err",
        &[WRONG, WRONG, WRONG],
    )
    .in_fresh_dir()
    .status(0)
    .stdout_is(format!(
        "{p}Sorry, try again.\n{p}Sorry, try again.\n{p}rc=1\nnothing-ran\nstdout:\nstderr:\n\
         jitsudo: 3 incorrect password attempts\n"
    ))
    .assert_same();
}

/// A user without any rule gets the same three tries, and failing them
/// says nothing about the policy.
#[test]
fn three_wrong_passwords_of_a_user_without_rules() {
    let p = prompt(NOBODY);
    typing(NOBODY, "$SUDO id; echo rc=$?", &[WRONG, WRONG, WRONG])
        .status(0)
        .stdout_is(format!(
            "{p}Sorry, try again.\n{p}Sorry, try again.\n{p}jitsudo: 3 incorrect password attempts\nrc=1\n"
        ))
        .assert_same();
}

/// The password comes from the terminal even when stdin is a pipe, and the
/// pipe still goes to the command.
#[test]
fn password_is_read_from_the_terminal_not_stdin() {
    let pw = password(PW);
    typing(PW, "echo data | $SUDO cat | tr a-z A-Z; echo rc=$?", &[&pw])
        .status(0)
        .stdout_is(format!("{}DATA\nrc=0\n", prompt(PW)))
        .assert_same();
}

/// ^C at the prompt: a newline, sudo's "a password is required", exit 1
/// (not 130), the terminal settings restored. (The whole foreground
/// process group gets SIGINT; the script's shell survives by its trap.)
#[test]
fn control_c_at_the_prompt() {
    on_terminal(
        PW,
        "trap : INT; a=$(stty -g)
$SUDO id -un; echo rc=$?
[ \"$a\" = \"$(stty -g)\" ] && echo restored",
        PtySpec::default()
            .wait_for(&prompt_tail(PW))
            .wait_for_reader()
            .send(b"\x03"),
    )
    .status(0)
    .stdout_is(format!(
        "{}jitsudo: a password is required\nrc=1\nrestored\n",
        prompt(PW)
    ))
    .assert_same();
}

/// ^D (end of file) at the prompt.
#[test]
fn end_of_file_at_the_prompt() {
    on_terminal(
        PW,
        "a=$(stty -g); $SUDO id -un; echo rc=$?; [ \"$a\" = \"$(stty -g)\" ] && echo restored",
        PtySpec::default().wait_for(&prompt_tail(PW)).send(b"\x04"),
    )
    .status(0)
    .stdout_is(format!(
        "{}jitsudo: no password was provided\njitsudo: a password is required\nrc=1\nrestored\n",
        prompt(PW)
    ))
    .assert_same();
}

/// `-n` never prompts, even on a terminal, whether or not the command
/// would be allowed.
#[test]
fn non_interactive_never_prompts_on_a_terminal() {
    for (user, command) in [(PW, "id -un"), (NOBODY, "id"), (LIMITED, "ls /")] {
        untyped(user, &format!("$SUDO -n {command}; echo rc=$?"))
            .status(0)
            .stdout_is("jitsudo: a password is required\nrc=1\n")
            .assert_same();
    }
}

#[test]
fn without_a_terminal_the_password_cannot_be_read() {
    needs_a_terminal(PW, "$SUDO id");
    needs_a_terminal(PW, "$SUDO -v");
    needs_a_terminal(PREC, "$SUDO id");
}

/// Not even a user without rules, or a command no rule allows, is told so
/// before authenticating.
#[test]
fn without_a_terminal_nobody_learns_what_is_allowed() {
    needs_a_terminal(NOBODY, "$SUDO id");
    needs_a_terminal(LIMITED, "$SUDO ls /");
}

/// `-S` reads one line from stdin (the prompt goes to stderr, with no
/// newline after it); the command gets the rest of stdin.
#[test]
fn password_from_stdin() {
    Case::new(PW, "$SUDO -S cat")
        .stdin(format!("{}\nrest1\nrest2\n", password(PW)))
        .status(0)
        .stdout_is("rest1\nrest2\n")
        .stderr_is("[sudo] password for jt_pw: ")
        .assert_same();
}

#[test]
fn wrong_then_right_password_from_stdin() {
    Case::new(PW, "$SUDO -S id -un")
        .stdin(format!("{WRONG}\n{}\n", password(PW)))
        .status(0)
        .stdout_is("root\n")
        .stderr_is("[sudo] password for jt_pw: Sorry, try again.\n[sudo] password for jt_pw: ")
        .assert_same();
}

#[test]
fn no_password_on_stdin() {
    Case::new(PW, "$SUDO -S id -un")
        .status(1)
        .stdout_is("")
        .stderr_is(
            "[sudo] password for jt_pw: \njitsudo: no password was provided\n\
             jitsudo: a password is required\n",
        )
        .assert_same();
}

#[test]
fn password_from_stdin_for_a_user_without_rules() {
    Case::new(NOBODY, "$SUDO -S id")
        .stdin(format!("{}\n", password(NOBODY)))
        .status(1)
        .stdout_is("")
        .stderr_is("[sudo] password for jt_nobody: jt_nobody is not in the jitsudo policy.\n")
        .assert_same();
}

/// `-p`: `%u` the caller, `%U` the target, `%h` the short host name, `%p`
/// whose password (the caller's), `%%` a percent sign.
#[test]
fn custom_prompt_with_escapes() {
    let pw = password(PW);
    let shown = format!("pw for jt_pw as jt_target on {} (jt_pw) 100%: ", host());
    typing_at(
        PW,
        "$SUDO -p 'pw for %u as %U on %h (%p) 100%%: ' -u jt_target id -un; echo rc=$?",
        &shown,
        &[&pw],
    )
    .status(0)
    .stdout_is(format!("{shown}\njt_target\nrc=0\n"))
    .assert_same();
}

#[test]
fn user_without_rules_is_refused_after_authenticating() {
    typing(NOBODY, "$SUDO id; echo rc=$?", &[&password(NOBODY)])
        .status(0)
        .stdout_is(format!(
            "{}jt_nobody is not in the jitsudo policy.\nrc=1\n",
            prompt(NOBODY)
        ))
        .assert_same();
}

/// A command no rule allows is named only after authenticating, whether
/// the user's rules need a password (jt_prec) or not (jt_limited).
#[test]
fn disallowed_command_is_named_after_authenticating() {
    for (user, command, shown) in [
        (LIMITED, "ls /", "'/usr/bin/ls /' as root"),
        (PREC, "-u jt_target id", "'/usr/bin/id' as jt_target"),
    ] {
        typing(
            user,
            &format!("$SUDO {command}; echo rc=$?"),
            &[&password(user)],
        )
        .status(0)
        .stdout_is(format!(
            "{}Sorry, user {user} is not allowed to execute {shown} on {}.\nrc=1\n",
            prompt(user),
            host()
        ))
        .assert_same();
    }
}

/// PAM's account check comes after the password: an expired account types
/// the right password and is refused, with sudo's wording on stderr (sudo
/// calls pam_acct_mgmt with PAM_SILENT, so pam_unix's own "Your account has
/// expired" never shows; Debian's common-account turns the result into
/// PAM_AUTH_ERR).
#[test]
fn expired_account_is_refused_after_the_password() {
    typing(
        EXPIRED,
        "$SUDO touch $DIR/ran 2>$DIR/err; echo rc=$?
[ -e $DIR/ran ] && echo ran || echo nothing-ran
echo stderr:; cat $DIR/err",
        &[&password(EXPIRED)],
    )
    .in_fresh_dir()
    .status(0)
    .stdout_is(format!(
        "{}rc=1\nnothing-ran\nstderr:\njitsudo: account validation failure, is your account locked?\n\
         jitsudo: a password is required\n",
        prompt(EXPIRED)
    ))
    .assert_same();
}

#[test]
fn expired_account_without_a_password() {
    untyped(EXPIRED, "$SUDO -n true; echo rc=$?")
        .status(0)
        .stdout_is("jitsudo: a password is required\nrc=1\n")
        .assert_same();
}

/// Root is never asked, even under a rule that wants a password, even with
/// `-k`.
#[test]
fn root_is_never_asked() {
    Case::new(
        ROOT,
        "$SUDO -u jt_pw id -un; $SUDO -k id -un; $SUDO -v; echo v=$?",
    )
    .status(0)
    .stdout_is("jt_pw\nroot\nv=0\n")
    .stderr_empty()
    .assert_same();
}

/// Running a command as oneself (same uid, and a group one is in) needs no
/// password; another group does.
#[test]
fn running_as_oneself_is_not_asked() {
    Case::new(
        PW,
        "$SUDO -u jt_pw id -un; $SUDO -g jt_pw id -gn; $SUDO -u jt_pw -g jt_pw id -un",
    )
    .status(0)
    .stdout_is("jt_pw\njt_pw\njt_pw\n")
    .stderr_empty()
    .assert_same();
    needs_a_terminal(PW, "$SUDO -u jt_pw -g jt_team id -un");
}

/// `-v` asks only when one of the user's rules wants a password; a user
/// without rules is told at once (no prompt), even with `-n`.
#[test]
fn validate_asks_only_when_a_rule_wants_a_password() {
    Case::new(LIMITED, "$SUDO -v; echo rc=$?")
        .status(0)
        .stdout_is("rc=0\n")
        .stderr_empty()
        .assert_same();
    let refusal = format!("Sorry, user jt_nobody may not run jitsudo on {}.\n", host());
    Case::new(NOBODY, "$SUDO -v; echo rc=$?; $SUDO -n -v; echo rc=$?")
        .status(0)
        .stdout_is("rc=1\nrc=1\n")
        .stderr_is(&refusal.repeat(2))
        .assert_same();
}

/// `-k` and `-K` need no password and work for users without rules.
#[test]
fn reset_and_remove_need_no_password() {
    Case::new(NOBODY, "$SUDO -k; echo k=$?; $SUDO -K; echo K=$?")
        .status(0)
        .stdout_is("k=0\nK=0\n")
        .stderr_empty()
        .assert_same();
}

/// After one authentication, `-n` works in the same terminal session (a
/// nested shell included) but not on another terminal.
#[test]
fn cache_serves_the_same_terminal_session_only() {
    typing(
        PW,
        "$SUDO true; echo first=$?
$SUDO -n id -un; echo same=$?
sh -c \"$SUDO -n id -un\"; echo nested=$?
on_new_terminal \"$SUDO -n id -un\"; echo other=$?",
        &[&password(PW)],
    )
    .status(0)
    .stdout_is(format!(
        "{}first=0\nroot\nsame=0\nroot\nnested=0\njitsudo: a password is required\nother=1\n",
        prompt(PW)
    ))
    .assert_same();
}

/// Without a terminal the cache belongs to the parent process: the next
/// command of the same script may use it, a child shell's may not.
#[test]
fn cache_without_a_terminal_is_scoped_to_the_parent_process() {
    Case::new(
        PW,
        "$SUDO -S true 2>/dev/null; echo first=$?
$SUDO -n id -un; echo same-parent=$?
sh -c \"$SUDO -n id -un; echo child-shell=\\$?\"",
    )
    .stdin(format!("{}\n", password(PW)))
    .status(0)
    .stdout_is("first=0\nroot\nsame-parent=0\nchild-shell=1\n")
    .stderr_is("jitsudo: a password is required\n")
    .assert_same();
}

/// Orphans share an adoptive parent (init, or a subreaper): one orphan of
/// the user that authenticated must not let another run without a
/// password. Each `orphan NAME CMD...` runs CMD only once it has been
/// reparented (its parent is no longer a child of the script), with stdin
/// NAME.in and output NAME.out; `wait_done NAME` waits until it has
/// finished. (sudo's ppid scope shares it: jitsudo only.)
#[test]
fn orphans_do_not_share_a_cached_authentication() {
    const SCRIPT: &str = r#"orphan() { n=$1; shift
  ( sh -c 'echo $$ > "$0.tmp"; mv "$0.tmp" "$0.pid"
    while p=$(cut -d" " -f4 /proc/$$/stat) && [ "$(cut -d" " -f4 /proc/$p/stat 2>/dev/null)" = "$1" ]; do sleep 0.01; done
    shift; exec "$@" < "$0.in" > "$0.out" 2>&1' "$n" $$ "$@" & )
  wait_file "$n.pid"; }
wait_done() { _p=$(cat "$1.pid"); _n=0
  while _s=$(cut -d' ' -f3 /proc/$_p/stat 2>/dev/null) && [ "$_s" != Z ]; do
    _n=$((_n+1)); [ $_n -gt 1000 ] && return 1; sleep 0.01; done; }
echo "$PASSWORD" > a.in; : > b.in
orphan a $SUDO -S -p '' id -un; wait_done a; cat a.out
orphan b $SUDO -n id -un; wait_done b; cat b.out"#;
    let script = SCRIPT.replace("$PASSWORD", &password(PW));
    Case::new(PW, with_helpers(&script))
        .in_fresh_dir()
        .status(0)
        .stdout_is("root\njitsudo: a password is required\n")
        .assert_jitsudo();
}

#[test]
fn validate_authenticates_and_fills_the_cache() {
    typing(
        PW,
        "$SUDO -v; echo v=$?; $SUDO -n -v; echo nv=$?; $SUDO -n id -un; echo n=$?",
        &[&password(PW)],
    )
    .status(0)
    .stdout_is(format!("{}v=0\nnv=0\nroot\nn=0\n", prompt(PW)))
    .assert_same();
}

#[test]
fn reset_invalidates_the_cache() {
    typing(
        PW,
        "$SUDO true; $SUDO -k; echo k=$?; $SUDO -n true; echo n=$?",
        &[&password(PW)],
    )
    .status(0)
    .stdout_is(format!(
        "{}k=0\njitsudo: a password is required\nn=1\n",
        prompt(PW)
    ))
    .assert_same();
}

/// `-k` on another terminal resets that terminal's entry only; `-K`
/// anywhere removes all of the user's (hence a user of its own).
#[test]
fn remove_forgets_every_session_reset_only_its_own() {
    typing(
        FORGET,
        "$SUDO true
on_new_terminal \"$SUDO -k\"; echo k=$?
$SUDO -n id -un; echo n=$?
on_new_terminal \"$SUDO -K\"; echo K=$?
$SUDO -n id -un; echo n=$?",
        &[&password(FORGET)],
    )
    .status(0)
    .stdout_is(format!(
        "{}k=0\nroot\nn=0\nK=0\njitsudo: a password is required\nn=1\n",
        prompt(FORGET)
    ))
    .assert_same();
}

/// `-k command` asks again for that command and leaves the cache as it
/// was: still valid if it was, ...
#[test]
fn reset_with_a_command_asks_again_and_keeps_the_cache() {
    let pw = password(PW);
    let p = prompt(PW);
    typing(
        PW,
        "$SUDO true; $SUDO -k id -un; echo k=$?; $SUDO -n id -un; echo n=$?",
        &[&pw, &pw],
    )
    .status(0)
    .stdout_is(format!("{p}{p}root\nk=0\nroot\nn=0\n"))
    .assert_same();
}

/// ... and still empty if it was.
#[test]
fn reset_with_a_command_does_not_fill_the_cache() {
    typing(
        PW,
        "$SUDO -k id -un; echo k=$?; $SUDO -n true; echo n=$?",
        &[&password(PW)],
    )
    .status(0)
    .stdout_is(format!(
        "{}root\nk=0\njitsudo: a password is required\nn=1\n",
        prompt(PW)
    ))
    .assert_same();
}

/// Whether `needle` occurs in `hay`.
fn contains(hay: &[u8], needle: &str) -> bool {
    find_bytes(hay, needle.as_bytes()).is_some()
}

/// Failed attempts before the right password: jitsudo logs an `auth.fail`
/// journal entry (with its MESSAGE_ID) for them, sudo's own log does not
/// (known difference); no typed password, wrong or right, reaches the
/// journal or auth.log with either.
#[test]
fn attempts_are_logged_but_passwords_never_are() {
    let m = marker("auth-log");
    let wrong = [format!("wrong-{m}-1"), format!("wrong-{m}-2")];
    let pw = password(PW);
    let since = SystemTime::now();
    let auth_log = LogTail::new(Path::new(AUTH_LOG));
    let p = prompt(PW);
    let outputs = typing(
        PW,
        &format!("$SUDO /usr/bin/true {m}-$(basename $SUDO); echo rc=$?"),
        &[&wrong[0], &wrong[1], &pw],
    )
    .known("auth-failure-logging")
    .status(0)
    .stdout_is(format!(
        "{p}Sorry, try again.\n{p}Sorry, try again.\n{p}rc=0\n"
    ))
    .assert_same();
    for (imp, _) in &outputs {
        let needle = format!("{m}-{}", imp.name());
        match imp {
            Impl::Sudo => sudo_logged_success_only(&needle),
            Impl::Jitsudo => jitsudo_logged_failures_and_success(&needle),
        }
    }
    let journal = journal_since(since);
    let log = auth_log.read();
    for typed in wrong.iter().chain([&pw]) {
        assert!(
            !contains(&journal, typed),
            "the journal holds the password {typed:?}"
        );
        assert!(
            !contains(&log, typed),
            "{AUTH_LOG} holds the password {typed:?}"
        );
    }
}

/// sudo's auth.log has the accepted command `needle` and no line about
/// its failed attempts.
fn sudo_logged_success_only(needle: &str) {
    let lines = wait_for_log_lines(Path::new(AUTH_LOG), &[needle, "jt_pw : TTY="], LOG_TIMEOUT);
    assert!(!lines.is_empty(), "sudo did not log {needle}");
    let failures = wait_for_log_lines(
        Path::new(AUTH_LOG),
        &[needle, "incorrect password"],
        Duration::ZERO,
    );
    assert!(
        failures.is_empty(),
        "sudo logged failed attempts: {failures:?}"
    );
}

/// jitsudo's journal has `auth.fail` entries for `needle` (right
/// MESSAGE_ID, user, priority warning), then its `exec.accept`.
fn jitsudo_logged_failures_and_success(needle: &str) {
    let kind = EventKind::AuthFail;
    let entries = wait_for_journal(field::EVENT, kind.name(), needle, LOG_TIMEOUT);
    assert!(!entries.is_empty(), "no {kind} journal entry for {needle}");
    for e in &entries {
        for (name, value) in [
            ("MESSAGE_ID", kind.message_id()),
            (field::USER, PW),
            ("PRIORITY", "4"),
        ] {
            assert_eq!(
                field_text(e, name).as_deref(),
                Some(value),
                "{name} of the {kind} entry for {needle}: {e:#?}"
            );
        }
    }
    let accept = EventKind::ExecAccept;
    let accepted = wait_for_journal(field::EVENT, accept.name(), needle, LOG_TIMEOUT);
    assert!(!accepted.is_empty(), "no {accept} entry for {needle}");
}

/// Shell functions for the cancelled-prompt cases. `wait_unread FIFO`
/// waits (bounded) until no process, the worker included, holds FIFO open
/// for reading: opening it to write without blocking then fails.
const UNREAD: &str = r#"
unread() { /usr/bin/python3 -c 'import os, sys
try: os.open(sys.argv[1], os.O_WRONLY | os.O_NONBLOCK)
except OSError: sys.exit(0)
sys.exit(1)' "$1"; }
wait_unread() { _n=0; until unread "$1"; do _n=$((_n+1)); [ $_n -gt 500 ] && { echo "still read: $1" >&2; return 1; }; sleep 0.01; done; }
"#;

/// `-S touch ran` with stdin a pipe the script holds open and never
/// writes; once the prompt shows, the client gets `kill -SIG`; then the
/// script closes the pipe, waits until nobody reads it (the worker holds
/// the caller's stdin: it is gone), and shows what the client said and
/// whether the command ran.
fn signalled_at_the_prompt(sig: &str, tag: &str) -> String {
    with_helpers(&format!(
        "{UNREAD}
mkfifo in; exec 3<>in
$SUDO -S touch \"$PWD/ran\" {tag}-$(basename $SUDO) <&3 2>err &
c=$!
wait_grep 'password for' err
{{ kill -{sig} $c; wait $c; }} 2>/dev/null; echo rc=$?
exec 3>&-
wait_unread in
cat err; [ -e ran ] && echo ran; true"
    ))
}

/// A signal that ends sudo (SIGTERM, SIGINT, SIGHUP, SIGQUIT) sent to the
/// client at the password prompt: as under sudo, a newline, "a password
/// is required", exit 1; the command never runs, and the worker ends
/// (nothing holds the caller's stdin any more). jitsudo logs the
/// abandoned authentication (the client, reading the answer itself, just
/// exits: the worker sees it go).
#[test]
fn a_signal_at_the_prompt_cancels_the_command() {
    for sig in ["TERM", "INT", "HUP", "QUIT"] {
        let m = marker(&format!("prompt-{sig}"));
        let outputs = Case::new(PW, signalled_at_the_prompt(sig, &m))
            .in_fresh_dir()
            .status(0)
            .stdout_is("rc=1\n[sudo] password for jt_pw: \njitsudo: a password is required\n")
            .assert_same();
        if outputs.iter().any(|(imp, _)| *imp == Impl::Jitsudo) {
            assert_abandon_logged(&format!("{m}-jitsudo"), "before the command started");
        }
    }
}

/// jitsudo's `auth.fail` entry for the request `needle`, whose reason
/// says `why` it ended before its command started.
fn assert_abandon_logged(needle: &str, why: &str) {
    let kind = EventKind::AuthFail;
    let entries = wait_for_journal(field::EVENT, kind.name(), needle, LOG_TIMEOUT);
    assert!(
        entries
            .iter()
            .any(|e| field_text(e, field::REASON).is_some_and(|r| r.contains(why))),
        "no {kind} entry for {needle} saying {why:?}: {entries:#?}"
    );
}

/// The client killed (SIGKILL) at the prompt: nothing runs, and the
/// worker ends at once instead of waiting out the prompt.
#[test]
fn a_client_killed_at_the_prompt_runs_nothing() {
    let m = marker("prompt-KILL");
    let outputs = Case::new(PW, signalled_at_the_prompt("KILL", &m))
        .in_fresh_dir()
        .status(0)
        .stdout_is("rc=137\n[sudo] password for jt_pw: ")
        .assert_same();
    if outputs.iter().any(|(imp, _)| *imp == Impl::Jitsudo) {
        assert_abandon_logged(&format!("{m}-jitsudo"), "the client went away");
    }
}

/// A signal sent to the client while PAM holds back the answer to a wrong
/// password (its ~2 s delay), when the client has nothing to read and
/// relays it to the worker: the request ends there, with sudo's "1
/// incorrect password attempt" (what sudo says for SIGINT there), and
/// the right password written afterwards runs nothing. (Before, the
/// worker dropped the relayed signal, asked again and ran the command.)
/// jitsudo only: the script waits until the client has read the wrong
/// answer by its stdin's offset in /proc, which setuid sudo hides.
#[test]
fn a_signal_after_a_wrong_password_cancels_the_command() {
    for sig in ["TERM", "INT", "HUP", "QUIT"] {
        let m = marker(&format!("delay-{sig}"));
        let script = with_helpers(&format!(
            "printf '%s\\n' {WRONG} > in
$SUDO -S touch \"$PWD/ran\" {m} <in 2>err &
c=$!
_n=0; until grep -qx 'pos:[[:space:]]*{len}' /proc/$c/fdinfo/0 2>/dev/null; do
  _n=$((_n+1)); [ $_n -gt 2500 ] && {{ echo 'the answer was not read' >&2; break; }}; sleep 0.01
done
kill -{sig} $c
printf '%s\\n' '{pw}' >> in
wait $c; echo rc=$?
cat err; [ -e ran ] && echo ran; true",
            len = WRONG.len() + 1,
            pw = password(PW),
        ));
        if Case::new(PW, script)
            .in_fresh_dir()
            .status(0)
            .stdout_is("rc=1\n[sudo] password for jt_pw: jitsudo: 1 incorrect password attempt\n")
            .stderr_empty()
            .assert_jitsudo()
            .is_some()
        {
            assert_abandon_logged(&m, "cancelled by a signal");
        }
    }
}
