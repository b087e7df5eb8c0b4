//! A recorded session's terminal (`record = true`): the worker keeps the
//! pty master and gives the client one end of a socketpair in its place,
//! copies bytes both ways between the two, and writes what the command
//! shows (and, with `record_input`, what the caller types) to the
//! recording. Unrecorded sessions never come here: their client holds the
//! master itself.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::time::Instant;

use jitsudo_audit::recording::Chunk;
use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::unistd::{read, write};

use super::record::Shared;

/// Bytes held for one direction before the worker stops reading its
/// source (the writer then blocks, as on a terminal nobody reads).
const BUFFER: usize = 64 * 1024;

/// The copy between the pty master and the client's end.
pub(super) struct Tap {
    master: OwnedFd,
    /// The worker's end of the socketpair.
    client: OwnedFd,
    /// The caller's terminal, whose window size the pty follows.
    caller_tty: Option<OwnedFd>,
    to_client: Vec<u8>,
    to_master: Vec<u8>,
    master_open: bool,
    client_open: bool,
    recording: Shared,
    record_input: bool,
    /// The window size last recorded (columns, rows).
    size: Option<(u16, u16)>,
}

/// Which of a [`Tap`]'s descriptors a poll result belongs to.
#[derive(Debug, Clone, Copy)]
pub(super) enum End {
    Master,
    Client,
}

impl Tap {
    /// Taps `master`; returns the tap and the end to give the client.
    pub(super) fn new(
        master: BorrowedFd<'_>,
        caller_tty: Option<OwnedFd>,
        recording: Shared,
        record_input: bool,
    ) -> std::io::Result<(Tap, OwnedFd)> {
        let (ours, theirs) = UnixStream::pair()?;
        let master = master.try_clone_to_owned()?;
        let client = OwnedFd::from(ours);
        for fd in [&master, &client] {
            fcntl(fd, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
        }
        let mut tap = Tap {
            master,
            client,
            caller_tty,
            to_client: Vec::new(),
            to_master: Vec::new(),
            master_open: true,
            client_open: true,
            recording,
            record_input,
            size: None,
        };
        tap.record_size();
        Ok((tap, theirs.into()))
    }

    /// The descriptors to poll and what for (none once nothing is wanted
    /// of one, so that a hung-up end does not wake the worker in a loop).
    pub(super) fn interest(&self) -> Vec<(End, BorrowedFd<'_>, PollFlags)> {
        let mut wanted = Vec::with_capacity(2);
        let mut master = PollFlags::empty();
        if self.master_open && self.to_client.len() < BUFFER {
            master |= PollFlags::POLLIN;
        }
        if self.master_open && !self.to_master.is_empty() {
            master |= PollFlags::POLLOUT;
        }
        if !master.is_empty() {
            wanted.push((End::Master, self.master.as_fd(), master));
        }
        let mut client = PollFlags::empty();
        if self.client_open && self.to_master.len() < BUFFER {
            client |= PollFlags::POLLIN;
        }
        if self.client_open && !self.to_client.is_empty() {
            client |= PollFlags::POLLOUT;
        }
        if !client.is_empty() {
            wanted.push((End::Client, self.client.as_fd(), client));
        }
        wanted
    }

    /// Moves what `end` has ready.
    pub(super) fn ready(&mut self, end: End, events: PollFlags) {
        let readable = PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR;
        match end {
            End::Master => {
                if events.intersects(readable) {
                    self.read_master();
                }
                if events.contains(PollFlags::POLLOUT) {
                    self.flush_master();
                }
            }
            End::Client => {
                if events.intersects(readable) {
                    self.read_client();
                }
                if events.contains(PollFlags::POLLOUT) {
                    self.flush_client();
                }
            }
        }
    }

    /// The caller's terminal changed size: so does the pty (the client
    /// cannot set it on its end, which is no terminal).
    pub(super) fn resize(&mut self) {
        if let Some(tty) = &self.caller_tty {
            jitsudo_sys::tty::copy_window_size(tty.as_fd(), self.master.as_fd());
            self.record_size();
        }
    }

    /// Records the pty's size if it changed: a client sending SIGWINCH
    /// over and over does not fill the recording up to its cap.
    fn record_size(&mut self) {
        let Ok(size) = jitsudo_sys::tty::window_size(self.master.as_fd()) else {
            return;
        };
        let size = (size.ws_col, size.ws_row);
        if self.size != Some(size) {
            self.size = Some(size);
            self.recording
                .borrow_mut()
                .keep(&Chunk::Resize(size.0, size.1));
        }
    }

    /// The command ended: what it left on the pty goes to the recording
    /// and the client before the client is told, until `deadline`.
    pub(super) fn finish(&mut self, deadline: Instant) {
        loop {
            let idle = !self.read_master();
            if !self.client_open {
                self.to_client.clear();
            }
            if self.to_client.is_empty() && (idle || !self.master_open) {
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            if !self.to_client.is_empty() {
                let wait = PollTimeout::try_from(left).unwrap_or(PollTimeout::MAX);
                let mut fds = [PollFd::new(self.client.as_fd(), PollFlags::POLLOUT)];
                let _ = poll(&mut fds, wait);
                self.flush_client();
            }
        }
    }

    /// Reads the master once; whether anything came.
    fn read_master(&mut self) -> bool {
        if !self.master_open || self.to_client.len() >= BUFFER {
            return false;
        }
        let mut buf = [0u8; 16384];
        match read(&self.master, &mut buf) {
            // No process has the pty's slave open any more.
            Ok(0) | Err(Errno::EIO) => self.master_open = false,
            Ok(n) => {
                self.recording
                    .borrow_mut()
                    .keep(&Chunk::Output(buf[..n].to_vec()));
                self.to_client.extend_from_slice(&buf[..n]);
                return true;
            }
            Err(_) => {}
        }
        false
    }

    fn read_client(&mut self) {
        let mut buf = [0u8; 4096];
        match read(&self.client, &mut buf) {
            Ok(0) => self.client_open = false,
            Ok(n) => {
                if self.record_input {
                    self.recording
                        .borrow_mut()
                        .keep(&Chunk::Input(buf[..n].to_vec()));
                }
                self.to_master.extend_from_slice(&buf[..n]);
            }
            Err(Errno::EAGAIN | Errno::EINTR) => {}
            Err(_) => self.client_open = false,
        }
    }

    fn flush_master(&mut self) {
        match write(&self.master, &self.to_master) {
            Ok(n) => drop(self.to_master.drain(..n)),
            Err(Errno::EAGAIN | Errno::EINTR) => {}
            Err(_) => self.to_master.clear(),
        }
    }

    fn flush_client(&mut self) {
        match write(&self.client, &self.to_client) {
            Ok(n) => drop(self.to_client.drain(..n)),
            Err(Errno::EAGAIN | Errno::EINTR) => {}
            // The client is gone: the command is hung up by the supervisor.
            Err(_) => {
                self.client_open = false;
                self.to_client.clear();
            }
        }
    }
}
