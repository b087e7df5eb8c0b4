//! Against the real rsyslogd (started if needed), which writes authpriv to
//! /var/log/auth.log with Debian's default configuration. Runs as root.

use std::path::Path;

use jitsudo_audit::test_support::{
    ensure_rsyslogd, require_root, unique_marker, wait_for_log_lines,
};
use jitsudo_audit::{Event, EventKind, Sink, Syslog};

const AUTH_LOG: &str = "/var/log/auth.log";

#[test]
fn refusal_is_one_escaped_line_in_auth_log() {
    require_root();
    ensure_rsyslogd().expect("start rsyslogd");
    let marker = unique_marker("syslog");
    let ev = Event::new(EventKind::ExecReject)
        .user("alice")
        .tty(Some("pts/3"))
        .cwd("/home/alice")
        .run_as("root")
        .command("/usr/bin/echo")
        .argv([
            &b"echo"[..],
            marker.as_bytes(),
            b"x\nalice : TTY=forged",
            b"\xff",
        ])
        .reason("command not allowed");
    Syslog::new().emit(&ev).expect("emit");

    let lines = wait_for_log_lines(Path::new(AUTH_LOG), &marker, 1).expect("line in auth.log");
    assert_eq!(lines.len(), 1, "{lines:?}");
    let want = format!(
        "jitsudo[{}]: alice : command not allowed ; TTY=pts/3 ; PWD=/home/alice ; USER=root ; \
         COMMAND=/usr/bin/echo {marker} x\\x0aalice : TTY=forged \\xff",
        std::process::id()
    );
    assert!(lines[0].ends_with(&want), "{}", lines[0]);
}

#[test]
fn long_command_is_split_like_sudo() {
    require_root();
    ensure_rsyslogd().expect("start rsyslogd");
    let marker = unique_marker("syslog-long");
    // About 20 KB, every word carrying the marker so every piece is found.
    let words: Vec<String> = (0..500).map(|i| format!("{marker}-{i:03}")).collect();
    let ev = Event::new(EventKind::ExecAccept)
        .user("alice")
        .cwd("/")
        .run_as("root")
        .command("/bin/echo")
        .argv(std::iter::once("echo".to_owned()).chain(words.iter().cloned()));
    Syslog::new().emit(&ev).expect("emit");

    // Pieces are written in order: once the last word is there, all are.
    let last = words.last().expect("500 words");
    wait_for_log_lines(Path::new(AUTH_LOG), last, 1).expect("last piece");
    let lines = wait_for_log_lines(Path::new(AUTH_LOG), &marker, 1).expect("all pieces");
    assert!(lines.len() > 1, "a 20 KB line is split");
    let message = ev.message();
    let tag = format!("jitsudo[{}]: ", std::process::id());
    let mut rebuilt = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let (_, body) = line.split_once(&tag).expect("our ident");
        let body = if i == 0 {
            assert!(body.starts_with("alice : TTY=unknown ; PWD=/ ; USER=root ; COMMAND="));
            body
        } else {
            body.strip_prefix("(command continued) ")
                .expect("continuation piece")
        };
        rebuilt.push(body);
    }
    assert_eq!(rebuilt.join(" "), message);
}
