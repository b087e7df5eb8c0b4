//! A recorded command's standard streams that are no terminal: each
//! becomes a pipe to the worker, which copies it to the caller's
//! descriptor (or, for standard input with `record_input`, from it) and
//! records it with its timing: standard output as `o`, standard error as
//! `e`, standard input as `i`, byte for byte.
//!
//! Each copy holds at most [`BUFFER`] bytes; past that the worker stops
//! reading its source, so a command that writes faster than its reader
//! (or than the recording is written) blocks, as it would on the caller's
//! pipe. A reader that went away makes the worker close the command's
//! pipe: the command's next write gets SIGPIPE (or EPIPE), as it would
//! writing to the caller's pipe itself.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

use jitsudo_audit::recording::Chunk;
use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::unistd::{pipe2, read, write};

use super::child::is_tty;
use super::received::CallerFds;
use super::record::Shared;

/// Bytes held for one stream before the worker stops reading its source.
const BUFFER: usize = 64 * 1024;

/// Most bytes read at once.
const READ_SIZE: usize = 16 * 1024;

/// Most bytes written to a caller's descriptor at once. The caller's
/// descriptors are shared with the caller's processes, so they are not
/// made non-blocking; a pipe that polls writable takes this much without
/// blocking.
const WRITE_SIZE: usize = libc::PIPE_BUF;

/// How long the copy of an ended command's output goes on without moving
/// a byte (a process it left behind may hold its pipe open) before it
/// stops.
const IDLE: Duration = Duration::from_secs(2);

/// The copies of a recorded command's standard streams.
pub(super) struct Pipes {
    streams: Vec<Stream>,
    recording: Shared,
}

/// One stream: bytes read from `from`, held, written to `to`.
struct Stream {
    from: Option<OwnedFd>,
    to: Option<OwnedFd>,
    held: Vec<u8>,
    /// How its bytes are recorded.
    chunk: fn(Vec<u8>) -> Chunk,
    /// The command's output (copied on after it ends), not its input.
    output: bool,
}

impl Pipes {
    /// Pipes in place of the caller's standard streams that are no
    /// terminal (standard input only with `input`); the copies, and the
    /// ends the command gets, by slot.
    pub(super) fn interpose(
        caller: &CallerFds,
        recording: Shared,
        input: bool,
    ) -> io::Result<(Pipes, [Option<OwnedFd>; 3])> {
        let mut ends: [Option<OwnedFd>; 3] = Default::default();
        let mut streams = Vec::new();
        for (slot, fd) in caller.stdio.iter().enumerate() {
            let Some(fd) = fd else { continue };
            if is_tty(fd.as_fd()) || (slot == 0 && !input) {
                continue;
            }
            let (read_end, write_end) = pipe2(OFlag::O_CLOEXEC)?;
            let callers = fd.try_clone()?;
            let (stream, end) = match slot {
                0 => (
                    Stream::new(callers, write_end, Chunk::Input, false)?,
                    read_end,
                ),
                1 => (
                    Stream::new(read_end, callers, Chunk::Output, true)?,
                    write_end,
                ),
                _ => (
                    Stream::new(read_end, callers, Chunk::Error, true)?,
                    write_end,
                ),
            };
            streams.push(stream);
            ends[slot] = Some(end);
        }
        Ok((Pipes { streams, recording }, ends))
    }

    /// The descriptors to poll: stream index, whether it is the stream's
    /// `to`, the descriptor and what for.
    pub(super) fn interest(&self) -> Vec<(usize, bool, BorrowedFd<'_>, PollFlags)> {
        let mut wanted = Vec::new();
        for (i, stream) in self.streams.iter().enumerate() {
            if let Some(from) = &stream.from {
                if stream.held.len() < BUFFER {
                    wanted.push((i, false, from.as_fd(), PollFlags::POLLIN));
                }
            }
            if let Some(to) = &stream.to {
                if !stream.held.is_empty() {
                    wanted.push((i, true, to.as_fd(), PollFlags::POLLOUT));
                }
            }
        }
        wanted
    }

    /// Moves what stream `i`'s `from` (or `to`) has ready; whether any
    /// byte moved.
    pub(super) fn ready(&mut self, i: usize, to: bool, events: PollFlags) -> bool {
        let Some(stream) = self.streams.get_mut(i) else {
            return false;
        };
        let writable = PollFlags::POLLOUT | PollFlags::POLLHUP | PollFlags::POLLERR;
        let moved = if to {
            events.intersects(writable) && stream.flush()
        } else if events.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR) {
            match stream.fill() {
                Some(bytes) => {
                    self.recording.borrow_mut().keep(&(stream.chunk)(bytes));
                    true
                }
                None => false,
            }
        } else {
            false
        };
        stream.settle();
        moved
    }

    /// The command ended: its input is no longer copied, and its output
    /// is, until every writer closed its pipe and all of it was written,
    /// or nothing moved for [`IDLE`].
    pub(super) fn finish(&mut self) {
        self.streams.retain(|s| s.output);
        let mut last_moved = Instant::now();
        loop {
            let wanted = self.interest();
            let left = IDLE.saturating_sub(last_moved.elapsed());
            if wanted.is_empty() || left.is_zero() {
                return;
            }
            let wait = PollTimeout::try_from(left).unwrap_or(PollTimeout::MAX);
            let mut fds: Vec<PollFd<'_>> = wanted
                .iter()
                .map(|(_, _, fd, events)| PollFd::new(*fd, *events))
                .collect();
            if poll(&mut fds, wait).is_err() {
                return;
            }
            let ready: Vec<_> = (wanted.iter().zip(&fds))
                .filter_map(|((i, to, _, _), fd)| Some((*i, *to, fd.revents()?)))
                .filter(|(_, _, events)| !events.is_empty())
                .collect();
            drop(fds);
            for (i, to, events) in ready {
                if self.ready(i, to, events) {
                    last_moved = Instant::now();
                }
            }
        }
    }
}

impl Stream {
    fn new(
        from: OwnedFd,
        to: OwnedFd,
        chunk: fn(Vec<u8>) -> Chunk,
        output: bool,
    ) -> io::Result<Stream> {
        // The worker's own end of the pipe never blocks it.
        let ours = if output { &from } else { &to };
        fcntl(ours, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
        Ok(Stream {
            from: Some(from),
            to: Some(to),
            held: Vec::with_capacity(READ_SIZE),
            chunk,
            output,
        })
    }

    /// Reads `from` once; the bytes that came.
    fn fill(&mut self) -> Option<Vec<u8>> {
        let from = self.from.as_ref()?;
        let room = BUFFER.saturating_sub(self.held.len()).min(READ_SIZE);
        if room == 0 {
            return None;
        }
        let mut buf = vec![0u8; room];
        match read(from, &mut buf) {
            Ok(n) if n > 0 => {
                buf.truncate(n);
                self.held.extend_from_slice(&buf);
                Some(buf)
            }
            Err(Errno::EAGAIN | Errno::EINTR) => None,
            // End of the stream, or a source that cannot be read.
            _ => {
                self.from = None;
                None
            }
        }
    }

    /// Writes what is held to `to`, once; whether any byte moved. A
    /// reader that is gone ends the stream: what is held is dropped and
    /// the source closed, so its writer learns it as it would have.
    fn flush(&mut self) -> bool {
        let Some(to) = &self.to else { return false };
        let size = self.held.len().min(WRITE_SIZE);
        match write(to, &self.held[..size]) {
            Ok(n) => {
                self.held.drain(..n);
                n > 0
            }
            Err(Errno::EAGAIN | Errno::EINTR) => false,
            Err(_) => {
                self.held.clear();
                self.to = None;
                self.from = None;
                false
            }
        }
    }

    /// Once the source ended and all it gave was written, `to` is closed
    /// (the command's standard input then ends).
    fn settle(&mut self) {
        if self.from.is_none() && self.held.is_empty() {
            self.to = None;
        }
    }
}
