//! Peer credentials of a Unix socket that `nix` does not wrap.

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use nix::errno::Errno;

/// `SO_PEERGROUPS` (Linux ≥ 4.13), not exported by every libc version.
const SO_PEERGROUPS: libc::c_int = 59;
/// `SO_PEERPIDFD` (Linux ≥ 6.5).
const SO_PEERPIDFD: libc::c_int = 77;
/// Most supplementary groups the kernel allows (`NGROUPS_MAX`).
const NGROUPS_MAX: usize = 65536;

/// A pidfd for the process that connected `sock` (`SO_PEERPIDFD`): unlike
/// the pid in `SO_PEERCRED` it cannot come to name another process.
pub fn peer_pidfd(sock: BorrowedFd<'_>) -> nix::Result<OwnedFd> {
    let mut fd: libc::c_int = -1;
    let mut len = socklen::<libc::c_int>(1);
    // SAFETY: `fd` is writable storage of the `len` bytes passed.
    let rc = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            SO_PEERPIDFD,
            (&mut fd as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    Errno::result(rc)?;
    if fd < 0 {
        return Err(Errno::ESRCH);
    }
    // SAFETY: the kernel created `fd` for this call; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The supplementary groups of the connecting process as they were when
/// it connected (`SO_PEERGROUPS`).
pub fn peer_groups(sock: BorrowedFd<'_>) -> nix::Result<Vec<u32>> {
    let mut groups: Vec<libc::gid_t> = vec![0; 64];
    loop {
        let mut len = socklen::<libc::gid_t>(groups.len());
        // SAFETY: `groups` is writable storage of the `len` bytes passed.
        let rc = unsafe {
            libc::getsockopt(
                sock.as_raw_fd(),
                libc::SOL_SOCKET,
                SO_PEERGROUPS,
                groups.as_mut_ptr().cast(),
                &mut len,
            )
        };
        let count = len as usize / std::mem::size_of::<libc::gid_t>();
        match Errno::result(rc) {
            Ok(_) => {
                groups.truncate(count);
                return Ok(groups);
            }
            // The kernel says how much room it needs.
            Err(Errno::ERANGE) if count > groups.len() && count <= NGROUPS_MAX => {
                groups.resize(count, 0);
            }
            Err(e) => return Err(e),
        }
    }
}

/// The byte length of `n` values of `T`, as a `socklen_t`.
fn socklen<T>(n: usize) -> libc::socklen_t {
    libc::socklen_t::try_from(n * std::mem::size_of::<T>()).unwrap_or(libc::socklen_t::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;
    use std::os::unix::net::UnixStream;

    #[test]
    fn credentials_of_a_socketpair_are_ours() {
        let (a, _b) = UnixStream::pair().unwrap();
        let groups = peer_groups(a.as_fd()).unwrap();
        let mine: Vec<u32> = nix::unistd::getgroups()
            .unwrap()
            .into_iter()
            .map(|g| g.as_raw())
            .collect();
        for gid in &groups {
            assert!(mine.contains(gid));
        }
        let pidfd = peer_pidfd(a.as_fd()).unwrap();
        assert!(crate::pidfd::is_alive(pidfd.as_fd()));
    }
}
