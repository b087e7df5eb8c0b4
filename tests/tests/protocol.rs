//! The daemon as a server (jitsudo only): no daemon, hostile peers on the
//! raw socket, idle connections, descriptors sent with garbage, and
//! SIGTERM while a command runs.

use std::fs;
use std::io::{ErrorKind, IoSlice, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::time::{Duration, Instant};

use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
use nix::unistd::Pid;

use jitsudo_tests::daemon::Daemon;
use jitsudo_tests::util::poll_until;
use jitsudo_tests::*;

/// How long the daemon may take to drop a bad connection.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// `false` (and the test recorded as skipped) when JITSUDO_TESTS_ONLY
/// excludes jitsudo.
fn jitsudo_enabled() -> bool {
    jitsudo_tests::skip::runs(Impl::Jitsudo)
}

/// The client's error when nobody listens on `socket`: exit 1, one line
/// naming the socket.
fn no_daemon(socket: &Path) {
    let shown = socket.display().to_string();
    Case::new(ADMIN, "$SUDO true")
        .socket(socket)
        .status(1)
        .stdout_is("")
        .expect("one line on stderr", |o| {
            let text = o.stderr_text();
            (text.lines().count() == 1 && text.ends_with('\n'))
                .then_some(())
                .ok_or_else(|| format!("{} lines", text.lines().count()))
        })
        .stderr_has(&shown)
        .stderr_has("jitsudo: ")
        .assert_jitsudo();
}

#[test]
fn no_daemon_missing_socket() {
    if jitsudo_enabled() {
        no_daemon(&world().scratch_dir("nodaemon").join("jitsudod.sock"));
    }
}

#[test]
fn no_daemon_stale_socket() {
    if !jitsudo_enabled() {
        return;
    }
    let path = world().scratch_dir("stale").join("jitsudod.sock");
    drop(UnixListener::bind(&path).expect("bind"));
    no_daemon(&path);
}

/// Connects to the shared daemon as root.
fn connect() -> UnixStream {
    let s = UnixStream::connect(&world().daemon().socket).expect("connect to jitsudod");
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("read timeout");
    s
}

/// Reads until the daemon closes the connection (EOF or reset); panics if
/// it is still open after CLOSE_TIMEOUT. Whatever it says first (an error
/// frame) is fine.
fn expect_closed(mut s: UnixStream, what: &str) {
    let deadline = Instant::now() + CLOSE_TIMEOUT;
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return, // reset: closed too
        }
        assert!(
            Instant::now() < deadline,
            "daemon kept the connection open after {what}"
        );
    }
}

/// The daemon still serves a normal request.
fn still_serves() {
    Case::new(ADMIN, "$SUDO id -un")
        .status(0)
        .stdout_is("root\n")
        .stderr_empty()
        .assert_jitsudo();
}

/// Sends `bytes` (then, if `half_close`, shuts down writing) and expects
/// the daemon to close the connection and keep serving.
fn hostile_bytes(what: &str, bytes: &[u8], half_close: bool) {
    if !jitsudo_enabled() {
        return;
    }
    let mut s = connect();
    // The daemon may close before reading everything: ignore EPIPE.
    let _ = s.write_all(bytes);
    if half_close {
        let _ = s.shutdown(std::net::Shutdown::Write);
    }
    expect_closed(s, what);
    still_serves();
}

/// A frame: 4-byte big-endian length, then the payload.
fn frame(payload: &[u8]) -> Vec<u8> {
    let mut f = (payload.len() as u32).to_be_bytes().to_vec();
    f.extend_from_slice(payload);
    f
}

#[test]
fn garbage_is_rejected() {
    hostile_bytes("garbage", b"GET / HTTP/1.0\r\n\r\n", false);
}

#[test]
fn truncated_frame_is_rejected() {
    let mut bytes = 100u32.to_be_bytes().to_vec();
    bytes.extend_from_slice(b"only ten b");
    hostile_bytes("a truncated frame", &bytes, true);
}

#[test]
fn truncated_length_prefix_is_rejected() {
    hostile_bytes("half a length prefix", &[0, 0], true);
}

#[test]
fn oversized_length_prefix_is_rejected() {
    hostile_bytes(
        "a 4 GiB length prefix",
        &0xFFFF_FFFFu32.to_be_bytes(),
        false,
    );
}

#[test]
fn frame_over_the_size_limit_is_rejected() {
    hostile_bytes(
        "a 64 MiB length prefix",
        &(64u32 << 20).to_be_bytes(),
        false,
    );
}

#[test]
fn empty_frame_is_rejected() {
    hostile_bytes("an empty frame", &frame(b""), false);
}

/// A well-formed frame whose payload is not a handshake (a request, or
/// anything else, before the version handshake).
#[test]
fn message_before_handshake_is_rejected() {
    hostile_bytes(
        "a frame that is not a handshake",
        &frame(&[0xff, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08]),
        false,
    );
}

/// A client that connects and says nothing does not stop anyone else.
#[test]
fn idle_connections_do_not_block_others() {
    if !jitsudo_enabled() {
        return;
    }
    let idle: Vec<UnixStream> = (0..50).map(|_| connect()).collect();
    still_serves();
    drop(idle);
}

/// Number of open descriptors of `pid`.
/// How many of `pid`'s descriptors are open on `file` (other descriptors
/// come and go with the worker pool and do not count).
fn fds_open_on(pid: Pid, file: &Path) -> usize {
    fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter(|entry| fs::read_link(entry.path()).is_ok_and(|target| target == file))
                .count()
        })
        .unwrap_or(0)
}

/// Sends a non-handshake frame with 20 descriptors of `file` attached and
/// waits for the daemon to drop the connection.
fn send_garbage_with_fds(socket: &Path, file: &Path) {
    let s = UnixStream::connect(socket).expect("connect");
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("read timeout");
    let fds: Vec<OwnedFd> = (0..20)
        .map(|_| OwnedFd::from(fs::File::open(file).expect("open the marker file")))
        .collect();
    let raw: Vec<i32> = fds.iter().map(|f| f.as_raw_fd()).collect();
    let payload = frame(b"\xffnot a handshake");
    let _ = sendmsg::<()>(
        s.as_raw_fd(),
        &[IoSlice::new(&payload)],
        &[ControlMessage::ScmRights(&raw)],
        MsgFlags::MSG_NOSIGNAL,
        None,
    );
    expect_closed(s, "garbage with 20 descriptors");
}

/// Descriptors passed along with garbage are closed, not kept: none of
/// the daemon's descriptors stays open on the file they were opened on.
#[test]
fn descriptors_sent_with_garbage_are_not_leaked() {
    if !jitsudo_enabled() {
        return;
    }
    let w = world();
    let daemon = Daemon::start(w, "fdleak", &w.policy);
    let marker = w.scratch_dir("fdleak").join("passed-file");
    fs::write(&marker, b"").expect("create the marker file");
    for _ in 0..5 {
        send_garbage_with_fds(&daemon.socket, &marker);
    }
    let settled = poll_until(CLOSE_TIMEOUT, || {
        (fds_open_on(daemon.pid(), &marker) == 0).then_some(())
    });
    assert!(
        settled.is_some(),
        "jitsudod holds {} descriptors of the passed file\n{}",
        fds_open_on(daemon.pid(), &marker),
        daemon.log_text()
    );
    daemon.terminate(CLOSE_TIMEOUT);
}

/// SIGTERM stops the daemon accepting, but a running command goes on and
/// its exit status still reaches the client.
#[test]
fn sigterm_keeps_running_commands_alive() {
    if !jitsudo_enabled() {
        return;
    }
    let w = world();
    let daemon = Daemon::start(w, "sigterm", &w.policy);
    let dir = w.scratch_dir("sigterm");
    let case = Case::new(
        ADMIN,
        "$SUDO sh -c 'touch started; i=0; while [ ! -e go ] && [ $i -lt 3000 ]; do sleep 0.01; i=$((i+1)); done; echo finished; exit 7'; echo status=$?",
    )
    .socket(&daemon.socket)
    .cwd(&dir)
    .status(0)
    .stdout_is("finished\nstatus=7\n")
    .stderr_empty();
    let client = std::thread::spawn(move || case.assert_jitsudo());
    let started = poll_until(Duration::from_secs(20), || {
        dir.join("started").exists().then_some(())
    });
    assert!(
        started.is_some(),
        "command did not start\n{}",
        daemon.log_text()
    );
    let status = daemon.terminate(Duration::from_secs(10));
    assert!(
        status.is_some(),
        "jitsudod did not exit on SIGTERM\n{}",
        daemon.log_text()
    );
    assert!(
        UnixStream::connect(&daemon.socket).is_err(),
        "socket still accepts after SIGTERM"
    );
    fs::write(dir.join("go"), b"").expect("create go file");
    if let Err(panic) = client.join() {
        std::panic::resume_unwind(panic);
    }
}
