//! Against the real systemd-journald (started if needed). Runs as root.

use jitsudo_audit::test_support::{
    ensure_journald, require_root, unique_marker, wait_for_journal_entry, JournalEntry,
};
use jitsudo_audit::{field, Event, EventKind, ExitStatus, FieldName, Journald, Transport};

const MARKER: &str = "JITSUDO_TEST_MARKER";

fn setup() -> (Journald, String) {
    require_root();
    ensure_journald().expect("start systemd-journald");
    (Journald::new(), unique_marker("journald"))
}

fn marked(ev: Event, marker: &str) -> Event {
    ev.field(FieldName::new(MARKER).expect("valid name"), marker)
}

/// Every field the model produced is in the entry, byte for byte.
fn assert_entry_has_all_fields(entry: &JournalEntry, ev: &Event) {
    for (name, want) in ev.fields() {
        let got = entry.get(name);
        assert!(
            got == Some(&*want),
            "{name}: want {} bytes, got {:?} bytes",
            want.len(),
            got.map(<[u8]>::len)
        );
    }
    assert_eq!(entry.get("_TRANSPORT"), Some(&b"journal"[..]));
}

#[test]
fn large_binary_entry_arrives_whole_through_memfd() {
    let (journald, marker) = setup();
    let big = vec![b'A'; 256 * 1024];
    let ev = marked(
        Event::new(EventKind::ExecReject)
            .user("alice")
            .uid(1000)
            .gid(1001)
            .pid(4242)
            .tty(Some("pts/7"))
            .cwd(b"/home/alice/d\xffr")
            .run_as("root")
            .run_as_group(Some("adm"))
            .command("/usr/bin/printf")
            .argv([&b"printf"[..], b"line1\nline2", b"\xfe", &big])
            .rule("admins")
            .policy_hash(Some("sha256:0123abcd"))
            .reason("command not allowed"),
        &marker,
    );
    assert_eq!(journald.send(&ev).expect("send"), Transport::Memfd);

    let entry = wait_for_journal_entry(MARKER, &marker).expect("entry in the journal");
    assert_entry_has_all_fields(&entry, &ev);

    // Spelled out, so the test does not only trust the model.
    let get = |name: &str| entry.get(name).unwrap_or_default().to_vec();
    assert_eq!(get("MESSAGE_ID"), b"268238af1ea02a8ed1ed234497efb80a");
    assert_eq!(get("PRIORITY"), b"4");
    assert_eq!(get("SYSLOG_FACILITY"), b"10");
    assert_eq!(get("SYSLOG_IDENTIFIER"), b"jitsudo");
    assert_eq!(get(field::EVENT), b"exec.reject");
    assert_eq!(get(field::USER), b"alice");
    assert_eq!(get(field::UID), b"1000");
    assert_eq!(get(field::GID), b"1001");
    assert_eq!(get(field::PID), b"4242");
    assert_eq!(get(field::TTY), b"pts/7");
    assert_eq!(get(field::CWD), b"/home/alice/d\xffr");
    assert_eq!(get(field::RUNAS), b"root");
    assert_eq!(get(field::RUNAS_GROUP), b"adm");
    assert_eq!(get(field::RULE), b"admins");
    assert_eq!(get(field::POLICY_HASH), b"sha256:0123abcd");
    assert_eq!(get(field::REASON), b"command not allowed");
    let mut command = b"/usr/bin/printf line1\nline2 \xfe ".to_vec();
    command.extend_from_slice(&big);
    assert!(get(field::COMMAND) == command, "JITSUDO_COMMAND is exact");
    let message = String::from_utf8(get("MESSAGE")).expect("MESSAGE is UTF-8");
    assert!(message.starts_with(
        "alice : command not allowed ; TTY=pts/7 ; PWD=/home/alice/d\\xffr ; USER=root ; \
         GROUP=adm ; COMMAND=/usr/bin/printf line1\\x0aline2 \\xfe AAAA"
    ));
    assert!(!message.contains('\n'));
}

#[test]
fn small_entries_arrive_as_datagrams() {
    let (journald, marker) = setup();
    let exited = marked(
        Event::new(EventKind::ExecExit)
            .user("bob")
            .tty(None::<&str>)
            .cwd("/")
            .run_as("root")
            .command("/bin/false")
            .argv(["false"])
            .exit_status(ExitStatus::Code(42)),
        &format!("{marker}-code"),
    );
    let killed = marked(
        Event::new(EventKind::ExecExit)
            .user("bob")
            .cwd("/")
            .run_as("root")
            .command("/bin/sleep")
            .argv(["sleep", "60"])
            .exit_status(ExitStatus::Signal(libc::SIGTERM)),
        &format!("{marker}-signal"),
    );
    assert_eq!(journald.send(&exited).expect("send"), Transport::Datagram);
    assert_eq!(journald.send(&killed).expect("send"), Transport::Datagram);

    let entry = wait_for_journal_entry(MARKER, &format!("{marker}-code")).expect("exit entry");
    assert_entry_has_all_fields(&entry, &exited);
    assert_eq!(entry.get(field::EXIT), Some(&b"42"[..]));
    assert_eq!(entry.get(field::SIGNAL), None);
    assert_eq!(entry.get("PRIORITY"), Some(&b"6"[..]));
    assert_eq!(
        entry.get("MESSAGE"),
        Some(&b"bob : exited 42 ; TTY=unknown ; PWD=/ ; USER=root ; COMMAND=/bin/false"[..])
    );

    let entry = wait_for_journal_entry(MARKER, &format!("{marker}-signal")).expect("kill entry");
    assert_entry_has_all_fields(&entry, &killed);
    assert_eq!(entry.get(field::SIGNAL), Some(&b"SIGTERM"[..]));
    assert_eq!(entry.get(field::EXIT), None);
    assert_eq!(
        entry.get("MESSAGE_ID"),
        Some(&b"e5e0820c0293463316a557aedfa7c78f"[..])
    );
}
