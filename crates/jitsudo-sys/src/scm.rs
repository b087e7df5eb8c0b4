//! Receiving descriptors passed with `SCM_RIGHTS`.

use std::io::IoSliceMut;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::cmsg_space;
use nix::errno::Errno;
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};

/// Most descriptors one message may carry (the kernel's `SCM_MAX_FD`).
pub const SCM_MAX_FD: usize = 253;

/// What one `recvmsg` brought.
#[derive(Debug)]
pub struct Received {
    /// Bytes written to the start of the buffer (0: end of stream).
    pub bytes: usize,
    /// Descriptors that came with them, now owned by the caller.
    pub fds: Vec<OwnedFd>,
    /// The kernel dropped descriptors that did not fit (`MSG_CTRUNC`).
    pub truncated: bool,
}

/// Reads into `buf` from the stream socket `sock`, taking ownership of any
/// descriptors attached (close-on-exec). Retries on EINTR.
pub fn recv(sock: BorrowedFd<'_>, buf: &mut [u8]) -> nix::Result<Received> {
    let mut space = cmsg_space!([RawFd; SCM_MAX_FD]);
    let mut iov = [IoSliceMut::new(buf)];
    let msg = loop {
        match recvmsg::<()>(
            sock.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Err(Errno::EINTR) => continue,
            other => break other?,
        }
    };
    let mut fds = Vec::new();
    for cmsg in msg.cmsgs()? {
        if let ControlMessageOwned::ScmRights(raw) = cmsg {
            // SAFETY: the kernel installed each of these descriptors in our
            // table for this very message; nothing else in the process has
            // seen them, so each OwnedFd is the sole owner.
            fds.extend(
                raw.into_iter()
                    .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }),
            );
        }
    }
    Ok(Received {
        bytes: msg.bytes,
        fds,
        truncated: msg.flags.contains(MsgFlags::MSG_CTRUNC),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::socket::{sendmsg, ControlMessage};
    use std::io::IoSlice;
    use std::os::fd::AsFd;
    use std::os::unix::net::UnixStream;

    #[test]
    fn receives_bytes_and_descriptors() {
        let (a, b) = UnixStream::pair().unwrap();
        let file = std::fs::File::open("/dev/null").unwrap();
        let fds = [file.as_raw_fd()];
        let cmsg = [ControlMessage::ScmRights(&fds)];
        sendmsg::<()>(
            a.as_raw_fd(),
            &[IoSlice::new(b"hi")],
            &cmsg,
            MsgFlags::empty(),
            None,
        )
        .unwrap();
        let mut buf = [0u8; 8];
        let got = recv(b.as_fd(), &mut buf).unwrap();
        assert_eq!(&buf[..got.bytes], b"hi");
        assert_eq!(got.fds.len(), 1);
        assert!(!got.truncated);
        drop(a);
        let end = recv(b.as_fd(), &mut buf).unwrap();
        assert_eq!(end.bytes, 0);
    }
}
