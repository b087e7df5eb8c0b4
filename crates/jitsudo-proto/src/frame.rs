//! Length-prefixed frames over a Unix stream socket, with descriptor passing.

use std::io::IoSlice;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};

use crate::ProtoError;

/// Most descriptors a peer may have pending on one connection: the most a
/// request's layout carries (stdio, the cwd, the descriptors `-C` keeps)
/// and, from the daemon to a worker, the client connection and the
/// executable. More is a protocol error.
pub const MAX_FDS_PER_CONNECTION: usize = crate::FdLayout::MAX_COUNT + 2;

/// Most bytes read per `recvmsg` call into a frame of known length.
const CHUNK: usize = 256 * 1024;

/// The length prefix of a frame.
const PREFIX_LEN: usize = 4;

/// A reader keeps at most this much buffer capacity between frames; a
/// larger buffer (grown for one big frame) is released once it is drained.
const KEPT_CAPACITY: usize = 4096;

/// One decoded frame: its payload bytes.
pub type Frame = Vec<u8>;

/// Writes a whole frame, attaching `fds` to its first byte.
///
/// Uses `MSG_NOSIGNAL`, so a vanished peer yields `EPIPE` rather than killing
/// the process. Blocks until everything is written (the socket must be in
/// blocking mode, or the caller must retry on `WouldBlock` with what is left,
/// which this function does not track).
pub fn send_frame(fd: BorrowedFd<'_>, frame: &[u8], fds: &[RawFd]) -> std::io::Result<()> {
    let mut sent = 0;
    while sent < frame.len() {
        let iov = [IoSlice::new(&frame[sent..])];
        let rights = [ControlMessage::ScmRights(fds)];
        let cmsgs: &[ControlMessage<'_>] = if sent == 0 && !fds.is_empty() {
            &rights
        } else {
            &[]
        };
        match sendmsg::<()>(fd.as_raw_fd(), &iov, cmsgs, MsgFlags::MSG_NOSIGNAL, None) {
            Ok(n) => sent += n,
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Accumulates bytes and descriptors from a socket and splits them into
/// frames.
///
/// Descriptors are pooled as they arrive and handed out with
/// [`FrameReader::take_fds`] when the message that owns them is decoded; every
/// descriptor is received with `MSG_CMSG_CLOEXEC`, so none can leak into a
/// child by accident.
#[derive(Debug)]
pub struct FrameReader {
    buf: Vec<u8>,
    fds: Vec<OwnedFd>,
    max_len: usize,
    read_ahead: usize,
}

impl FrameReader {
    /// A reader that refuses frames longer than `max_len` bytes.
    pub fn new(max_len: usize) -> Self {
        FrameReader {
            buf: Vec::new(),
            fds: Vec::new(),
            max_len,
            read_ahead: 0,
        }
    }

    /// The same reader, asking each `recvmsg` for at least `bytes` (at
    /// most [`CHUNK`]), so a frame's prefix and body, and frames sent
    /// together, come in one call. Only for a reader that consumes its
    /// socket to the end: bytes past a frame stay in this reader (a
    /// reader that hands its socket on reads exactly each frame).
    pub fn with_read_ahead(mut self, bytes: usize) -> Self {
        self.read_ahead = bytes.min(CHUNK);
        self
    }

    /// Performs one `recvmsg` on `fd`. Returns the number of bytes read,
    /// 0 at end of stream. A non-blocking socket yields
    /// `ProtoError::Io(WouldBlock)` when nothing is ready.
    pub fn fill(&mut self, fd: BorrowedFd<'_>) -> Result<usize, ProtoError> {
        let want = self.bytes_wanted();
        let start = self.buf.len();
        // Grow to what this frame needs, not by doubling.
        self.buf.reserve_exact(want);
        self.buf.resize(start + want, 0);
        let result = self.recv_into(fd, start);
        match result {
            Ok(n) => {
                self.buf.truncate(start + n);
                Ok(n)
            }
            Err(e) => {
                self.buf.truncate(start);
                Err(e)
            }
        }
    }

    fn recv_into(&mut self, fd: BorrowedFd<'_>, start: usize) -> Result<usize, ProtoError> {
        let received =
            jitsudo_sys::scm::recv(fd, &mut self.buf[start..]).map_err(std::io::Error::from)?;
        let n = received.bytes;
        let truncated = received.truncated;
        self.fds.extend(received.fds);
        if truncated || self.fds.len() > MAX_FDS_PER_CONNECTION {
            return Err(ProtoError::TooManyFds);
        }
        Ok(n)
    }

    /// How many bytes to ask for: the rest of the length prefix, then the
    /// rest of the frame it announces (bounded by the chunk size). The
    /// buffer thus only ever holds what the peer sent: a connection that
    /// sent nothing or part of a prefix costs no buffer to speak of.
    fn bytes_wanted(&self) -> usize {
        let exact = match self.announced_len() {
            Some(len) if len <= self.max_len => (PREFIX_LEN + len)
                .saturating_sub(self.buf.len())
                .clamp(1, CHUNK),
            _ => PREFIX_LEN.saturating_sub(self.buf.len()).max(1),
        };
        exact.max(self.read_ahead)
    }

    fn announced_len(&self) -> Option<usize> {
        let prefix: [u8; 4] = self.buf.get(..4)?.try_into().ok()?;
        Some(u32::from_be_bytes(prefix) as usize)
    }

    /// Splits off the next complete frame, if one is buffered. An announced
    /// length above the limit is an error as soon as the prefix is seen.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, ProtoError> {
        let Some(len) = self.announced_len() else {
            return Ok(None);
        };
        if len > self.max_len {
            return Err(ProtoError::TooLarge {
                len,
                max: self.max_len,
            });
        }
        if self.buf.len() < 4 + len {
            return Ok(None);
        }
        let payload = self.buf[4..4 + len].to_vec();
        // Frames may hold secrets (password answers): wipe what was read.
        self.buf[..4 + len].fill(0);
        self.buf.drain(..4 + len);
        if self.buf.is_empty() && self.buf.capacity() > KEPT_CAPACITY {
            self.buf = Vec::new();
        }
        Ok(Some(payload))
    }

    /// Reads from a blocking socket until a whole frame is available.
    /// `Ok(None)` means the peer closed the connection between frames.
    pub fn read_frame(&mut self, fd: BorrowedFd<'_>) -> Result<Option<Frame>, ProtoError> {
        loop {
            if let Some(frame) = self.next_frame()? {
                return Ok(Some(frame));
            }
            if self.fill(fd)? == 0 {
                return if self.buf.is_empty() {
                    Ok(None)
                } else {
                    Err(ProtoError::Truncated)
                };
            }
        }
    }

    /// Takes every descriptor received so far.
    pub fn take_fds(&mut self) -> Vec<OwnedFd> {
        std::mem::take(&mut self.fds)
    }

    /// Bytes received but not yet returned as a frame.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{decode, encode, ClientMessage, MAX_MESSAGE_LEN};
    use std::io::Write;
    use std::os::fd::AsFd;
    use std::os::unix::net::UnixStream;

    #[test]
    fn frames_and_fds_cross_a_socketpair() {
        let (a, b) = UnixStream::pair().unwrap();
        let (extra, _keep) = UnixStream::pair().unwrap();
        let mut bytes = encode(&ClientMessage::Signal(2)).unwrap();
        bytes.extend(encode(&ClientMessage::Resume { foreground: true }).unwrap());
        send_frame(a.as_fd(), &bytes, &[extra.as_raw_fd()]).unwrap();
        drop(a);
        let mut reader = FrameReader::new(MAX_MESSAGE_LEN);
        let first = reader.read_frame(b.as_fd()).unwrap().unwrap();
        assert_eq!(
            decode::<ClientMessage>(&first).unwrap(),
            ClientMessage::Signal(2)
        );
        assert_eq!(reader.take_fds().len(), 1);
        let second = reader.read_frame(b.as_fd()).unwrap().unwrap();
        assert_eq!(
            decode::<ClientMessage>(&second).unwrap(),
            ClientMessage::Resume { foreground: true }
        );
        assert!(reader.read_frame(b.as_fd()).unwrap().is_none());
    }

    #[test]
    fn read_ahead_takes_frames_sent_together_in_one_call() {
        let (a, b) = UnixStream::pair().unwrap();
        let (extra, _keep) = UnixStream::pair().unwrap();
        let mut bytes = encode(&ClientMessage::Signal(2)).unwrap();
        bytes.extend(encode(&ClientMessage::Resume { foreground: true }).unwrap());
        send_frame(a.as_fd(), &bytes, &[extra.as_raw_fd()]).unwrap();
        let mut reader = FrameReader::new(MAX_MESSAGE_LEN).with_read_ahead(4096);
        assert_eq!(reader.fill(b.as_fd()).unwrap(), bytes.len());
        let first = reader.next_frame().unwrap().unwrap();
        assert_eq!(
            decode::<ClientMessage>(&first).unwrap(),
            ClientMessage::Signal(2)
        );
        assert!(reader.next_frame().unwrap().is_some());
        assert_eq!(reader.take_fds().len(), 1);
        assert_eq!(reader.buffered(), 0);
    }

    #[test]
    fn oversized_prefix_is_refused_before_the_body() {
        let (mut a, b) = UnixStream::pair().unwrap();
        a.write_all(&[0xff, 0xff, 0xff, 0xff, 1, 2]).unwrap();
        let mut reader = FrameReader::new(1024);
        assert!(matches!(
            reader.read_frame(b.as_fd()),
            Err(ProtoError::TooLarge { .. })
        ));
    }

    #[test]
    fn truncated_frame_is_an_error() {
        let (mut a, b) = UnixStream::pair().unwrap();
        a.write_all(&[0, 0, 0, 10, 1, 2, 3]).unwrap();
        drop(a);
        let mut reader = FrameReader::new(1024);
        assert!(matches!(
            reader.read_frame(b.as_fd()),
            Err(ProtoError::Truncated)
        ));
    }

    #[test]
    fn too_many_fds_are_refused() {
        let (a, b) = UnixStream::pair().unwrap();
        let fds: Vec<RawFd> = vec![a.as_raw_fd(); MAX_FDS_PER_CONNECTION + 1];
        send_frame(a.as_fd(), &[0, 0, 0, 0], &fds).unwrap();
        let mut reader = FrameReader::new(1024);
        let r = reader.read_frame(b.as_fd());
        assert!(matches!(r, Err(ProtoError::TooManyFds)), "{r:?}");
    }

    #[test]
    fn partial_frame_costs_a_small_buffer() {
        let (mut a, b) = UnixStream::pair().unwrap();
        a.write_all(&[0, 0, 0]).unwrap();
        let mut reader = FrameReader::new(MAX_MESSAGE_LEN);
        assert_eq!(reader.fill(b.as_fd()).unwrap(), 3);
        assert!(
            reader.buf.capacity() <= PREFIX_LEN,
            "{}",
            reader.buf.capacity()
        );
    }

    #[test]
    fn buffer_grows_with_the_frame_and_is_released_after() {
        let (a, b) = UnixStream::pair().unwrap();
        let payload = vec![7u8; 1024 * 1024];
        let mut frame = (payload.len() as u32).to_be_bytes().to_vec();
        frame.extend_from_slice(&payload);
        let writer = std::thread::spawn(move || send_frame(a.as_fd(), &frame, &[]).unwrap());
        let mut reader = FrameReader::new(MAX_MESSAGE_LEN);
        let got = reader.read_frame(b.as_fd()).unwrap().unwrap();
        writer.join().unwrap();
        assert_eq!(got.len(), payload.len());
        assert!(reader.buf.capacity() <= KEPT_CAPACITY);
    }

    #[test]
    fn large_frame_arrives_whole() {
        let (a, b) = UnixStream::pair().unwrap();
        let payload = vec![7u8; 3 * 1024 * 1024];
        let mut frame = (payload.len() as u32).to_be_bytes().to_vec();
        frame.extend_from_slice(&payload);
        let writer = std::thread::spawn(move || send_frame(a.as_fd(), &frame, &[]).unwrap());
        let mut reader = FrameReader::new(MAX_MESSAGE_LEN);
        let got = reader.read_frame(b.as_fd()).unwrap().unwrap();
        writer.join().unwrap();
        assert_eq!(got, payload);
    }
}
