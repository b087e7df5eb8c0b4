//! sudo 1.9.13's options beyond the basics (`-H`, `-P`, `-A`, `-B`, `-N`,
//! `-T`, `-C`, `-h host`, `-ll`, `-D` with the current directory,
//! `SUDO_PROMPT`, `SUDO_PS1`), compared with real sudo; and the options
//! jitsudo refuses (`-e`/sudoedit, `-R`, `-r`, `-t`), with their reason.

use jitsudo_tests::*;

/// Ansible's become (method sudo) always sends `-H -S -n` (or `-H -S -p`).
#[test]
fn ansible_become_flags_run_the_command() {
    Case::new(
        ADMIN,
        "$SUDO -H -S -n -u root /bin/sh -c 'echo BECOME-SUCCESS; id -un'",
    )
    .status(0)
    .stdout_is("BECOME-SUCCESS\nroot\n")
    .stderr_empty()
    .assert_same();
}

#[test]
fn set_home_replaces_a_home_kept_by_preserve_env() {
    Case::new(ADMIN, "$SUDO -E -n printenv HOME; $SUDO -E -H -n printenv HOME; $SUDO -H -n -u jt_target printenv HOME")
        .env("HOME", "/caller/home")
        .status(0)
        .stdout_is("/caller/home\n/root\n/home/jt_target\n")
        .stderr_empty()
        .assert_same();
}

#[test]
fn set_home_gives_way_to_an_explicit_home() {
    Case::new(
        ADMIN,
        "$SUDO -H -n --preserve-env=HOME printenv HOME; $SUDO -H -n HOME=/y printenv HOME",
    )
    .env("HOME", "/caller/home")
    .status(0)
    .stdout_is("/caller/home\n/y\n")
    .assert_same();
}

#[test]
fn preserve_groups_keeps_the_callers_groups() {
    let admin_gid = gid(ADMIN);
    Case::new(ADMIN, "$SUDO -n id -G; $SUDO -P -n id -G")
        .status(0)
        .stdout_is(format!("0\n0 {admin_gid}\n"))
        .stderr_empty()
        .assert_same();
}

#[test]
fn bell_and_no_update_are_accepted() {
    Case::new(
        ADMIN,
        "$SUDO -B -N -n true; echo rc=$?; $SUDO --bell --no-update -n true; echo rc=$?",
    )
    .status(0)
    .stdout_is("rc=0\nrc=0\n")
    .stderr_empty()
    .assert_same();
}

/// No `-S`, a password prompt: sudo rings the bell only on a terminal.
#[test]
fn bell_is_not_rung_on_stdin_prompts() {
    Case::new(PW, "$SUDO -k -B -S true")
        .status(1)
        .stderr_is("[sudo] password for jt_pw: \njitsudo: no password was provided\njitsudo: a password is required\n")
        .assert_same();
}

/// `-N`: the password is checked but not remembered.
#[test]
fn no_update_does_not_remember_the_password() {
    let pw = password(PW);
    Case::new(
        PW,
        "$SUDO -K; $SUDO -N -S -p '' true && echo ran; $SUDO -n true; echo rc=$?",
    )
    .stdin(format!("{pw}\n"))
    .status(0)
    .stdout_is("ran\nrc=1\n")
    .stderr_is("jitsudo: a password is required\n")
    .assert_same();
}

#[test]
fn command_timeout_needs_the_policy() {
    Case::new(ADMIN, "$SUDO -T 5 -n true")
        .status(1)
        .stdout_is("")
        .stderr_is("jitsudo: sorry, you are not allowed set a command timeout\n")
        .assert_same();
}

#[test]
fn command_timeout_must_be_a_duration() {
    Case::new(ADMIN, "$SUDO -T 5x true")
        .known("audit-plugin-line")
        .status(1)
        .stderr_is("jitsudo: 5x: invalid timeout value\n")
        .assert_same();
}

#[test]
fn close_from_needs_the_policy() {
    Case::new(ADMIN, "$SUDO -C 5 -n true")
        .status(1)
        .stderr_is("jitsudo: you are not permitted to use the -C option\n")
        .assert_same();
}

#[test]
fn close_from_below_three_is_a_usage_error() {
    Case::new(ADMIN, "$SUDO -C 2 -n true")
        .known("usage-text")
        .status(1)
        .stderr_is(
            "jitsudo: the argument to -C must be a number greater than or equal to 3\n<usage>\n",
        )
        .assert_same();
}

/// Before: `-h HOST CMD` printed the help and exited 0 without running
/// anything, so a script saw success.
#[test]
fn remote_host_is_refused_outside_listing() {
    Case::new(ADMIN, "$SUDO -h localhost true")
        .status(1)
        .stdout_is("")
        .stderr_is("jitsudo: a remote host may only be specified when listing privileges.\n")
        .assert_same();
}

#[test]
fn this_host_is_accepted() {
    Case::new(
        ADMIN,
        "$SUDO -h \"$(hostname)\" -n id -un; $SUDO --host=\"$(hostname)\" -n id -un",
    )
    .status(0)
    .stdout_is("root\nroot\n")
    .stderr_empty()
    .assert_same();
}

/// Before: `-D` naming the current directory was refused to a caller
/// without `cwd` permission; sudo accepts it.
#[test]
fn chdir_to_the_current_directory_needs_no_permission() {
    Case::new(
        LIMITED,
        "$SUDO -n -D /tmp id -un; $SUDO -n -D /var id -un; echo rc=$?",
    )
    .cwd("/tmp")
    .status(0)
    .stdout_is("root\nrc=1\n")
    .stderr_is("jitsudo: you are not permitted to use the -D option with /usr/bin/id\n")
    .assert_same();
}

#[test]
fn sudo_prompt_is_the_default_prompt_and_p_wins() {
    Case::new(PW, "$SUDO -k -S true; $SUDO -k -S -p 'XX: ' true")
        .env("SUDO_PROMPT", "PP %p@%U: ")
        .status(1)
        .stderr_is(
            "PP jt_pw@root: \njitsudo: no password was provided\njitsudo: a password is required\n\
             XX: \njitsudo: no password was provided\njitsudo: a password is required\n",
        )
        .assert_same();
}

#[test]
fn sudo_ps1_becomes_ps1() {
    Case::new(
        ADMIN,
        "$SUDO -n printenv PS1; $SUDO -n printenv SUDO_PS1; echo rc=$?",
    )
    .env("SUDO_PS1", "root# ")
    .env("PS1", "$ ")
    .status(0)
    .stdout_is("root# \nrc=1\n")
    .assert_same();
}

#[test]
fn askpass_without_a_helper_says_so() {
    Case::new(PW, "$SUDO -k -A true")
        .status(1)
        .stdout_is("")
        .stderr_is("jitsudo: no askpass program specified, try setting SUDO_ASKPASS\n")
        .assert_same();
}

/// The helper gets the prompt as its argument and runs as the caller,
/// never as root.
#[test]
fn askpass_helper_runs_as_the_caller() {
    let pw = password(PW);
    let script = format!(
        "printf '#!/bin/sh\\necho \"asked $(id -un): $1\" >&2\\necho {pw}\\n' > $DIR/ask; \
         chmod 755 $DIR/ask; SUDO_ASKPASS=$DIR/ask $SUDO -k -A id -un"
    );
    Case::new(PW, script)
        .in_fresh_dir()
        .status(0)
        .stdout_is("root\n")
        .stderr_is("asked jt_pw: [sudo] password for jt_pw: \n")
        .assert_same();
}

/// Without a terminal, a password prompt goes to `SUDO_ASKPASS` without
/// `-A` when `DISPLAY` is set (even empty), as sudo's tgetpass decides;
/// without `DISPLAY`, or with an empty `SUDO_ASKPASS`, a terminal is still
/// required. Before: every one of these wanted a terminal.
#[test]
fn askpass_is_chosen_without_a_terminal_when_display_is_set() {
    let pw = password(PW);
    let script = format!(
        "printf '#!/bin/sh\\necho \"asked: $1\" >&2\\necho {pw}\\n' > $DIR/ask; chmod 755 $DIR/ask; \
         DISPLAY=:0 SUDO_ASKPASS=$DIR/ask $SUDO -k id -un; \
         DISPLAY= SUDO_ASKPASS=$DIR/ask $SUDO -k -p 'P: ' id -un; \
         env -u DISPLAY SUDO_ASKPASS=$DIR/ask $SUDO -k true; \
         DISPLAY=:0 SUDO_ASKPASS= $SUDO -k true; echo rc=$?"
    );
    let needs_a_terminal = "jitsudo: a terminal is required to read the password; either use \
         the -S option to read from standard input or configure an askpass helper\n\
         jitsudo: a password is required\n";
    Case::new(PW, script)
        .in_fresh_dir()
        .status(0)
        .stdout_is("root\nroot\nrc=1\n")
        .stderr_is(&format!(
            "asked: [sudo] password for {PW}: \nasked: P: \n{needs_a_terminal}{needs_a_terminal}"
        ))
        .assert_same();
}

#[test]
fn askpass_with_no_answer_is_no_password() {
    Case::new(PW, "SUDO_ASKPASS=/bin/false $SUDO -k -A true")
        .status(1)
        .stderr_is("jitsudo: no password was provided\njitsudo: a password is required\n")
        .assert_same();
}

#[test]
fn askpass_and_stdin_together_is_a_usage_error() {
    Case::new(PW, "$SUDO -A -S true")
        .known("usage-text")
        .status(1)
        .stderr_is("jitsudo: the -A and -S options may not be used together\n<usage>\n")
        .assert_same();
}

/// Before: root listing another user with `-l -U` was asked for a
/// password (and, without a terminal, refused).
#[test]
fn root_lists_another_user_without_a_password() {
    Case::new(ROOT, "$SUDO -l -U jt_pw")
        .status(0)
        .stdout_has("User jt_pw may run the following commands on")
        .stderr_empty()
        .assert_jitsudo();
}

#[test]
fn long_listing_shows_each_rule() {
    Case::new(LIMITED, "$SUDO -n -ll")
        .status(0)
        .stdout_has("RunAsUsers: root\n")
        .stdout_has("Options: !setenv, !authenticate\n")
        .stdout_has("\t/usr/bin/id\n")
        .stderr_empty()
        .assert_jitsudo();
}

/// Before: a `sudoedit` link to jitsudo executed its "file" argument as
/// root. Now the name means `-e` (see tests/edit.rs for editing itself).
#[test]
fn sudoedit_name_never_executes_the_file() {
    Case::new(
        ADMIN,
        "ln -s $SUDO $DIR/sudoedit; SUDO_EDITOR=true $DIR/sudoedit /etc/hostname; echo rc=$?",
    )
    .in_fresh_dir()
    .status(0)
    .stdout_is("rc=0\n")
    .stderr_is("jitsudo: /etc/hostname unchanged\n")
    .assert_jitsudo();
}

#[test]
fn chroot_and_selinux_options_are_refused_with_a_reason() {
    Case::new(ADMIN, "$SUDO -R / -n true; $SUDO -r r -n true; $SUDO -t t -n true")
        .known("unsupported-options")
        .on(Impl::Jitsudo)
        .status(1)
        .stderr_is(
            "jitsudo: the -R option is not supported: jitsudo does not change the root directory (chroot)\n\
             jitsudo: the -r and -t options are not supported: jitsudo does not set SELinux roles or types\n\
             jitsudo: the -r and -t options are not supported: jitsudo does not set SELinux roles or types\n",
        )
        .on(Impl::Sudo)
        .status(0)
        .stderr_is("jitsudo: you are not permitted to use the -R option with /usr/bin/true\n")
        .assert_same();
}

/// A daemon whose policy sets `defaults` (TOML lines) and lets jt_pw run
/// anything with a password and jt_admin and root anything as anyone
/// without.
fn daemon_with(name: &str, defaults: &str) -> jitsudo_tests::daemon::Daemon {
    let policy = format!(
        "[defaults]\n{defaults}\n\n[[rule]]\nwho = [\"jt_admin\", \"root\"]\ncommands = [\"ALL\"]\n\
         run_as = [\"ALL\"]\nauth = \"none\"\n\n[[rule]]\nwho = [\"jt_pw\"]\ncommands = [\"ALL\"]\n"
    );
    let path = world().policy_dir(name).join("policy.toml");
    jitsudo_tests::util::write_atomic(&path, policy.as_bytes(), 0o644);
    jitsudo_tests::daemon::Daemon::start(world(), name, &path)
}

/// With `user_command_timeouts`, `-T` ends the command in time.
#[test]
fn command_timeout_allowed_by_the_policy_ends_the_command() {
    let daemon = daemon_with("user-timeouts", "user_command_timeouts = true");
    let started = std::time::Instant::now();
    Case::new(ADMIN, "$SUDO -T 1 -n sleep 30; echo rc=$?")
        .socket(&daemon.socket)
        .status(0)
        .stdout_lacks("rc=0")
        .assert_jitsudo();
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

/// With `closefrom_override` (sudo: for the run-as user jt_target; jitsudo:
/// the daemon's policy), `-C N` keeps the caller's open descriptors from 3
/// up to N-1 open in the command at their numbers, and those from N up are
/// closed. Before: the command got fds 0-2 only.
#[test]
fn close_from_keeps_the_callers_descriptors_below_it() {
    let daemon = daemon_with("closefrom", "closefrom_override = true");
    Case::new(
        ADMIN,
        "echo five > $DIR/f5; echo seven > $DIR/f7; exec 5<$DIR/f5 7<$DIR/f7 9<$DIR/f5; \
         $SUDO -u jt_target -C 8 -n sh -c 'cat <&5; cat <&7; \
           for n in 3 4 5 6 7 8 9 10; do [ -e /proc/self/fd/$n ] && echo open $n; done; true'; \
         $SUDO -u jt_target -C 6 -n cat /proc/self/fd/5; \
         $SUDO -u jt_target -C 7 -n sh -c 'echo out >&6' 6>$DIR/w; cat $DIR/w; \
         printf '#!/bin/sh\\ncat /proc/self/fd/5\\n' > $DIR/s; chmod 755 $DIR/s; \
         $SUDO -u jt_target -C 6 -n $DIR/s; $SUDO -u jt_target -C 6 -n -l true",
    )
    .in_fresh_dir()
    .socket(&daemon.socket)
    .status(0)
    .stdout_is("five\nseven\nopen 5\nopen 7\nfive\nout\nfive\n/usr/bin/true\n")
    .stderr_empty()
    .assert_same();
}

/// `-C` keeps an `O_PATH` descriptor too (a directory opened only to name
/// it), which the client's start-up scan (one `poll`) cannot see.
#[test]
fn close_from_keeps_an_o_path_descriptor() {
    let daemon = daemon_with("closefrom-o-path", "closefrom_override = true");
    Case::new(
        ADMIN,
        "/usr/bin/python3 -c 'import os, sys
os.dup2(os.open(\"/etc\", os.O_PATH | os.O_DIRECTORY), 5)
os.execvp(sys.argv[1], sys.argv[1:])' $SUDO -u jt_target -C 6 -n readlink /proc/self/fd/5",
    )
    .socket(&daemon.socket)
    .status(0)
    .stdout_is("/etc\n")
    .stderr_empty()
    .assert_same();
}

/// More descriptors than jitsudo passes are refused before anything runs,
/// with the reason (sudo has no such limit).
#[test]
fn close_from_refuses_more_descriptors_than_the_cap() {
    let daemon = daemon_with("closefrom-cap", "closefrom_override = true");
    Case::new(
        ADMIN,
        "bash -c 'exec 3</dev/null 4</dev/null 5</dev/null 6</dev/null 7</dev/null \
           8</dev/null 9</dev/null 10</dev/null 11</dev/null; \
         $SUDO -C 20 -n touch $DIR/ran; test -e $DIR/ran && echo ran; \
         $SUDO -C 11 -n sh -c \"ls /proc/self/fd | wc -l\"'",
    )
    .in_fresh_dir()
    .socket(&daemon.socket)
    .status(0)
    .stdout_is("12\n")
    .stderr_is(
        "jitsudo: -C 20 would keep 9 descriptors open: at most 8 can be passed to the command\n",
    )
    .assert_jitsudo();
}

/// What a hostile client crafting its own `-C` request gets: the daemon's
/// refusal, or "ran" when the command ran (it touches `marker`).
fn crafted_close_from(
    socket: &std::path::Path,
    marker: &std::path::Path,
    close_from: Option<u32>,
    kept: u64,
    attached: &[std::os::fd::RawFd],
) -> String {
    use jitsudo_proto::{decode, send_frame, Exit, FrameReader, ServerMessage};
    use jitsudo_tests::crafted::{hello_and_run, run_request};
    use std::os::fd::AsFd;
    let conn = std::os::unix::net::UnixStream::connect(socket).expect("connect");
    let cwd = std::fs::File::open("/").expect("open /");
    let mut run = run_request(&[b"/usr/bin/touch", marker.as_os_str().as_encoded_bytes()]);
    run.close_from = close_from;
    run.kept_fds = kept;
    let frames = hello_and_run(run);
    let mut fds = vec![std::os::fd::AsRawFd::as_raw_fd(&cwd)];
    fds.extend_from_slice(attached);
    send_frame(conn.as_fd(), &frames, &fds).expect("send");
    let mut reader = FrameReader::new(jitsudo_proto::MAX_MESSAGE_LEN);
    while let Ok(Some(frame)) = reader.read_frame(conn.as_fd()) {
        match decode::<ServerMessage>(&frame) {
            Ok(ServerMessage::Error(failure)) => {
                return String::from_utf8_lossy(&failure.message).into_owned()
            }
            Ok(ServerMessage::Exited(Exit::Code(0))) => return "ran".to_owned(),
            Ok(ServerMessage::Exited(other)) => return format!("{other:?}"),
            _ => {}
        }
    }
    "connection closed".to_owned()
}

/// A client that attaches other descriptors than its `-C` request
/// announces, or announces ones `-C` does not keep, is refused before
/// anything runs, and the daemon keeps none of them.
#[test]
fn close_from_descriptors_must_match_the_request() {
    let daemon = daemon_with("closefrom-hostile", "closefrom_override = true");
    let dir = world().scratch_dir("closefrom-hostile");
    let passed = dir.join("passed-file");
    std::fs::write(&passed, b"").expect("create the passed file");
    let files: Vec<std::fs::File> = (0..12)
        .map(|_| std::fs::File::open(&passed).expect("open the passed file"))
        .collect();
    let raw: Vec<i32> = files.iter().map(std::os::fd::AsRawFd::as_raw_fd).collect();
    let marker = dir.join("ran");
    let wrong_count = "protocol error: wrong number of descriptors";
    let not_kept = "protocol error: descriptors above 2 come only with -C, below its number";
    let too_many = "protocol error: -C keeps at most 8 descriptors, from 3 to 63";
    let nine = (3..12).fold(0u64, |mask, n| mask | 1 << n);
    let hostile: [(Option<u32>, u64, &[i32], &str); 7] = [
        (Some(8), 1 << 5 | 1 << 6, &raw[..1], wrong_count),
        (Some(8), 1 << 5, &raw[..2], wrong_count),
        (Some(8), 0, &raw[..1], wrong_count),
        (None, 1 << 5, &raw[..1], not_kept),
        (Some(5), 1 << 5, &raw[..1], not_kept),
        (Some(8), 1 << 2, &raw[..1], too_many),
        (Some(20), nine, &raw[..9], too_many),
    ];
    for (close_from, kept, attached, refusal) in hostile {
        let got = crafted_close_from(&daemon.socket, &marker, close_from, kept, attached);
        assert_eq!(
            got,
            refusal,
            "-C {close_from:?}, kept {kept:#x}, {} attached",
            attached.len()
        );
        assert!(
            !marker.exists(),
            "the command ran for -C {close_from:?}, kept {kept:#x}"
        );
    }
    // The same request with the descriptors it announces runs.
    let got = crafted_close_from(&daemon.socket, &marker, Some(8), 1 << 5, &raw[..1]);
    assert_eq!(got, "ran");
    assert!(marker.exists());
    drop(files);
    let pid = daemon.pid();
    let held = || {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .map(|dir| {
                dir.filter_map(Result::ok)
                    .filter(|e| std::fs::read_link(e.path()).is_ok_and(|t| t == passed))
                    .count()
            })
            .unwrap_or(0)
    };
    // The daemon lets go of them once it has handed the job over, which
    // may be a moment after the command ran (bounded wait).
    let released = jitsudo_tests::util::poll_until(std::time::Duration::from_secs(10), || {
        (held() == 0).then_some(())
    });
    assert!(
        released.is_some(),
        "jitsudod keeps {} descriptors of the passed file",
        held()
    );
}

/// `passprompt` replaces the default prompt; `-p` still wins.
#[test]
fn passprompt_from_the_policy() {
    let daemon = daemon_with("passprompt", "passprompt = \"Password of %p on %h: \"");
    Case::new(PW, "$SUDO -k -S true; $SUDO -k -S -p 'XX: ' true")
        .socket(&daemon.socket)
        .status(1)
        .expect("the policy's prompt", |o| {
            let err = String::from_utf8_lossy(&o.stderr);
            (err.starts_with("Password of jt_pw on ") && err.contains("\nXX: \n"))
                .then_some(())
                .ok_or_else(|| err.into_owned())
        })
        .assert_jitsudo();
}
