//! Sink speaking journald's native protocol.
//!
//! One entry is one datagram on `/run/systemd/journal/socket` holding the
//! fields one after another, each either `NAME=value\n` (values without a
//! newline) or `NAME\n`, the value's length as a 64-bit little-endian
//! integer, the value, `\n` (any value, binary-safe). An entry too large for
//! a datagram is written to a sealed memfd whose descriptor is sent alone
//! with `SCM_RIGHTS`. See systemd's "Native Journal Protocol" document.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, IoSlice, Write as _};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, SealFlag};
use nix::sys::memfd::{memfd_create, MFdFlags};
use nix::sys::socket::{
    sendmsg, setsockopt, socket, sockopt, AddressFamily, ControlMessage, MsgFlags, SockFlag,
    SockType, UnixAddr,
};
use nix::sys::time::TimeVal;

use crate::event::Event;
use crate::sink::Sink;

/// Where journald listens for native-protocol datagrams.
pub const DEFAULT_JOURNAL_SOCKET: &str = "/run/systemd/journal/socket";

/// Longest a single send may block on a stalled journald.
const SEND_TIMEOUT_SECS: i64 = 1;

/// How an entry reached journald.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// In one datagram.
    Datagram,
    /// In a sealed memfd passed with `SCM_RIGHTS` (entry too large for a
    /// datagram).
    Memfd,
}

/// journald sink (native protocol).
///
/// The socket is opened on first use. It is not connected: every datagram
/// is addressed to the socket path, as libsystemd does, so a journald that
/// was restarted (new socket, same path) is reached without any state to
/// refresh. After a failed send the socket is dropped and reopened once
/// before the error is returned. A send blocks at most one second on a
/// stalled journald.
#[derive(Debug)]
pub struct Journald {
    path: PathBuf,
    socket: Mutex<Option<OwnedFd>>,
}

impl Default for Journald {
    fn default() -> Self {
        Self::new()
    }
}

impl Journald {
    /// Sink for the system journal at [`DEFAULT_JOURNAL_SOCKET`].
    pub fn new() -> Self {
        Self::with_path(DEFAULT_JOURNAL_SOCKET)
    }

    /// Sink for a journald (or test double) listening on `path`.
    pub fn with_path(path: impl Into<PathBuf>) -> Self {
        Journald {
            path: path.into(),
            socket: Mutex::new(None),
        }
    }

    /// The socket path entries are sent to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sends `ev`, telling which transport carried it.
    pub fn send(&self, ev: &Event) -> io::Result<Transport> {
        let entry = encode(&ev.fields());
        let addr = UnixAddr::new(self.path.as_path())?;
        let mut cached = self.socket.lock().unwrap_or_else(PoisonError::into_inner);
        let mut attempts_left = 2;
        loop {
            attempts_left -= 1;
            let sock = match cached.take() {
                Some(sock) => sock,
                None => open_socket()?,
            };
            let sent = match send_datagram(&sock, &addr, &entry) {
                Ok(()) => Ok(Transport::Datagram),
                Err(Errno::EMSGSIZE | Errno::ENOBUFS) => {
                    send_memfd(&sock, &addr, &entry).map(|()| Transport::Memfd)
                }
                Err(e) => Err(io::Error::from(e)),
            };
            match sent {
                Ok(transport) => {
                    *cached = Some(sock);
                    return Ok(transport);
                }
                // A full queue already cost a whole timeout: do not wait twice.
                Err(e) if attempts_left == 0 || e.kind() == io::ErrorKind::WouldBlock => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!("journald at {}: {e}", self.path.display()),
                    ));
                }
                // The socket is dropped here; the next round opens a new one.
                Err(_) => {}
            }
        }
    }
}

impl Sink for Journald {
    fn emit(&self, ev: &Event) -> io::Result<()> {
        self.send(ev).map(|_| ())
    }

    fn name(&self) -> &str {
        "journald"
    }

    fn probe(&self) -> io::Result<()> {
        crate::sink::datagram_listener(&self.path)
    }

    /// Opens the socket (it is not connected: nothing about journald is
    /// learnt ahead, a restarted one is still reached).
    fn prepare(&self) {
        let mut cached = self.socket.lock().unwrap_or_else(PoisonError::into_inner);
        if cached.is_none() {
            *cached = open_socket().ok();
        }
    }
}

fn open_socket() -> io::Result<OwnedFd> {
    let sock = socket(
        AddressFamily::Unix,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    setsockopt(
        &sock,
        sockopt::SendTimeout,
        &TimeVal::new(SEND_TIMEOUT_SECS, 0),
    )?;
    Ok(sock)
}

fn send_datagram(sock: &OwnedFd, addr: &UnixAddr, entry: &[u8]) -> Result<(), Errno> {
    sendmsg(
        sock.as_raw_fd(),
        &[IoSlice::new(entry)],
        &[],
        MsgFlags::MSG_NOSIGNAL,
        Some(addr),
    )
    .map(|_| ())
}

fn send_memfd(sock: &OwnedFd, addr: &UnixAddr, entry: &[u8]) -> io::Result<()> {
    let memfd = memfd_create(
        "jitsudo-audit",
        MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING,
    )?;
    let mut file = File::from(memfd);
    file.write_all(entry)?;
    let memfd = OwnedFd::from(file);
    // journald only accepts a memfd that can no longer change.
    fcntl(
        &memfd,
        FcntlArg::F_ADD_SEALS(
            SealFlag::F_SEAL_SHRINK
                | SealFlag::F_SEAL_GROW
                | SealFlag::F_SEAL_WRITE
                | SealFlag::F_SEAL_SEAL,
        ),
    )?;
    let fds = [memfd.as_raw_fd()];
    sendmsg(
        sock.as_raw_fd(),
        &[],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::MSG_NOSIGNAL,
        Some(addr),
    )?;
    Ok(())
}

/// Serializes fields in the native protocol.
fn encode(fields: &[(&str, Cow<'_, [u8]>)]) -> Vec<u8> {
    let size = fields
        .iter()
        .map(|(name, value)| name.len() + value.len() + 10)
        .sum();
    let mut out = Vec::with_capacity(size);
    for (name, value) in fields {
        out.extend_from_slice(name.as_bytes());
        if value.contains(&b'\n') {
            out.push(b'\n');
            // usize always fits in u64 on the platforms journald runs on.
            out.extend_from_slice(&(value.len() as u64).to_le_bytes());
            out.extend_from_slice(value);
        } else {
            out.push(b'=');
            out.extend_from_slice(value);
        }
        out.push(b'\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{EventKind, FieldName};
    use std::io::{Read, Seek, SeekFrom};
    use std::os::fd::AsFd;
    use std::os::unix::net::UnixDatagram;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn temp_socket_path() -> PathBuf {
        static N: AtomicUsize = AtomicUsize::new(0);
        std::env::temp_dir().join(format!(
            "jitsudo-audit-test-{}-{}.sock",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ))
    }

    fn listen(path: &Path) -> UnixDatagram {
        let _ = std::fs::remove_file(path);
        UnixDatagram::bind(path).expect("bind test socket")
    }

    #[test]
    fn encodes_text_fields() {
        let fields = [
            ("MESSAGE", Cow::Borrowed(&b"hello world"[..])),
            ("PRIORITY", Cow::Borrowed(&b"6"[..])),
            ("EMPTY", Cow::Borrowed(&b""[..])),
        ];
        assert_eq!(
            encode(&fields),
            b"MESSAGE=hello world\nPRIORITY=6\nEMPTY=\n"
        );
    }

    #[test]
    fn encodes_binary_fields_with_length_prefix() {
        let fields = [
            ("A", Cow::Borrowed(&b"x\ny"[..])),
            ("B", Cow::Borrowed(&b"\xff="[..])),
        ];
        let mut expected = b"A\n".to_vec();
        expected.extend_from_slice(&[3, 0, 0, 0, 0, 0, 0, 0]);
        expected.extend_from_slice(b"x\ny\nB=\xff=\n");
        assert_eq!(encode(&fields), expected);
    }

    #[test]
    fn encodes_a_whole_event() {
        let ev = Event::new(EventKind::DaemonStart)
            .pid(7)
            .field(FieldName::new("JITSUDO_NOTE").expect("valid"), "a\nb");
        let mut expected = b"MESSAGE=jitsudod started\n\
            MESSAGE_ID=0774ca86ce2c54db5c01c29d9592fc02\n\
            PRIORITY=6\n\
            SYSLOG_FACILITY=10\n\
            SYSLOG_IDENTIFIER=jitsudo\n\
            JITSUDO_EVENT=daemon.start\n\
            JITSUDO_PID=7\n\
            JITSUDO_NOTE\n"
            .to_vec();
        expected.extend_from_slice(&3u64.to_le_bytes());
        expected.extend_from_slice(b"a\nb\n");
        assert_eq!(encode(&ev.fields()), expected);
    }

    #[test]
    fn small_entry_is_one_datagram() {
        let path = temp_socket_path();
        let server = listen(&path);
        let ev = Event::new(EventKind::ExecAccept).user("alice");
        let sink = Journald::with_path(&path);
        assert_eq!(sink.send(&ev).expect("send"), Transport::Datagram);
        let mut buf = vec![0; 4096];
        let n = server.recv(&mut buf).expect("recv");
        assert_eq!(&buf[..n], encode(&ev.fields()).as_slice());
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn large_entry_goes_through_a_sealed_memfd() {
        let path = temp_socket_path();
        let server = listen(&path);
        let big = vec![b'a'; 512 * 1024];
        let ev = Event::new(EventKind::ExecAccept).argv([&b"x"[..], &big]);
        let sink = Journald::with_path(&path);
        assert_eq!(sink.send(&ev).expect("send"), Transport::Memfd);

        let mut data = [0u8; 16];
        let received = jitsudo_sys::scm::recv(server.as_fd(), &mut data).expect("recvmsg");
        assert_eq!(received.bytes, 0);
        let [memfd]: [OwnedFd; 1] = received.fds.try_into().expect("one descriptor");
        let seals = fcntl(&memfd, FcntlArg::F_GET_SEALS).expect("F_GET_SEALS");
        let want = SealFlag::F_SEAL_SHRINK | SealFlag::F_SEAL_GROW | SealFlag::F_SEAL_WRITE;
        assert_eq!(seals & want.bits(), want.bits());
        // The descriptor shares the sender's file offset (at the end):
        // read from the start, as journald does with mmap.
        let mut contents = Vec::new();
        let mut file = File::from(memfd);
        file.seek(SeekFrom::Start(0)).expect("seek memfd");
        file.read_to_end(&mut contents).expect("read memfd");
        assert!(contents == encode(&ev.fields()), "memfd holds the entry");
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_socket_prepared_before_journald_listens_reaches_it() {
        let path = temp_socket_path();
        let sink = Journald::with_path(&path);
        sink.prepare();
        let server = listen(&path);
        let ev = Event::new(EventKind::ExecAccept).user("alice");
        assert_eq!(sink.send(&ev).expect("send"), Transport::Datagram);
        let mut buf = vec![0; 4096];
        let n = server.recv(&mut buf).expect("recv");
        assert_eq!(&buf[..n], encode(&ev.fields()).as_slice());
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn reaches_a_restarted_journald() {
        let path = temp_socket_path();
        let sink = Journald::with_path(&path);
        let ev = Event::new(EventKind::DaemonStart);
        let mut buf = vec![0; 4096];

        let first = listen(&path);
        sink.send(&ev).expect("first send");
        assert!(first.recv(&mut buf).is_ok());
        drop(first);
        std::fs::remove_file(&path).expect("remove socket");
        assert!(sink.send(&ev).is_err(), "nobody listens");

        let second = listen(&path);
        sink.send(&ev).expect("send after restart");
        let n = second.recv(&mut buf).expect("recv after restart");
        assert_eq!(&buf[..n], encode(&ev.fields()).as_slice());
        let _ = std::fs::remove_file(&path);
    }
}
