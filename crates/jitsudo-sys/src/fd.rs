//! Descriptors 0-2 and descriptor-table housekeeping.

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;

/// One of the three standard descriptors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Std {
    /// Descriptor 0.
    In = 0,
    /// Descriptor 1.
    Out = 1,
    /// Descriptor 2.
    Err = 2,
}

impl Std {
    /// All three, in descriptor order.
    pub const ALL: [Std; 3] = [Std::In, Std::Out, Std::Err];

    /// The descriptor number.
    pub fn raw(self) -> RawFd {
        self as RawFd
    }

    /// A borrow of this standard descriptor for the rest of the process.
    ///
    /// The jitsudo programs keep descriptors 0-2 open for their whole life:
    /// the client fills closed ones before `main` (std does, and
    /// `startup` records which were closed), the worker's channel is fd 0
    /// until it execs, and a command child overwrites them only with
    /// [`install_std`]. Borrowing them for `'static` is therefore sound in
    /// these programs, the same convention `std::io::stdin()` relies on.
    pub fn borrow(self) -> BorrowedFd<'static> {
        // SAFETY: descriptors 0-2 are open for the life of the process (see
        // above); a BorrowedFd never closes what it borrows.
        unsafe { BorrowedFd::borrow_raw(self.raw()) }
    }
}

/// Whether descriptor `fd` is open in this process (F_GETFD succeeds).
pub fn is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD only reads the descriptor table; an invalid number
    // fails with EBADF and touches nothing.
    unsafe { libc::fcntl(fd, libc::F_GETFD) != -1 }
}

/// Whether `fd` is open without `FD_CLOEXEC`, as every descriptor a
/// process inherited through its exec is.
pub fn is_open_across_exec(fd: RawFd) -> bool {
    // SAFETY: F_GETFD only reads the descriptor's flags; an invalid number
    // fails with EBADF and touches nothing.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    flags != -1 && flags & libc::FD_CLOEXEC == 0
}

/// Which of descriptors 0 to 63 are open in this process (bit n for fd
/// n), in one system call: `poll` over all 64 with no events and no wait
/// reports POLLNVAL for each closed one. Where poll refuses (it takes no
/// more descriptors than `RLIMIT_NOFILE`, which a caller may have set
/// below 64), one [`is_open`] a descriptor instead.
///
/// poll looks descriptors up as for I/O, which `O_PATH` ones do not
/// allow: those count as closed here (where [`is_open`] sees them).
pub fn open_below_64() -> u64 {
    let mut polled = [libc::pollfd {
        fd: 0,
        events: 0,
        revents: 0,
    }; 64];
    for (fd, entry) in (0..).zip(polled.iter_mut()) {
        entry.fd = fd;
    }
    // SAFETY: `polled` is an array of 64 initialised `pollfd`s, ours, and
    // 64 is the count passed: the kernel reads and writes only those
    // entries. A zero timeout returns at once; no events are asked for,
    // so nothing is consumed from any descriptor.
    let rc = unsafe { libc::poll(polled.as_mut_ptr(), 64, 0) };
    if rc < 0 {
        return (0..64)
            .filter(|fd| is_open(*fd))
            .fold(0, |open, fd| open | 1 << fd);
    }
    (0..)
        .zip(polled)
        .filter(|(_, entry)| entry.revents & libc::POLLNVAL == 0)
        .fold(0, |open, (fd, _)| open | 1u64 << fd)
}

/// Whether `fd` is a pipe (or FIFO): a stdio descriptor that is one puts
/// the command in a pipeline (`jitsudo cmd | less`), where the client and
/// the worker leave the terminal to the others, as sudo does.
pub fn is_pipe(fd: BorrowedFd<'_>) -> bool {
    nix::sys::stat::fstat(fd).is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFIFO)
}

/// Puts `source` on standard descriptor `target` (dup2). The copy does not
/// have `FD_CLOEXEC`, so it survives an exec.
pub fn install_std(source: BorrowedFd<'_>, target: Std) -> nix::Result<()> {
    if source.as_raw_fd() == target.raw() {
        return clear_cloexec(source);
    }
    // SAFETY: dup2 onto 0, 1 or 2 replaces a standard descriptor, which by
    // the convention documented on [`Std::borrow`] is never owned by an
    // `OwnedFd`; `source` is a valid open descriptor.
    let rc = unsafe { libc::dup2(source.as_raw_fd(), target.raw()) };
    Errno::result(rc).map(drop)
}

/// A close-on-exec copy of `fd` numbered `min` or above (`F_DUPFD_CLOEXEC`).
pub fn dup_at_least(fd: BorrowedFd<'_>, min: RawFd) -> nix::Result<OwnedFd> {
    use nix::fcntl::{fcntl, FcntlArg};
    let copy = fcntl(fd, FcntlArg::F_DUPFD_CLOEXEC(min))?;
    // SAFETY: the kernel just created `copy` for this call; nothing else
    // in the process knows it, so the OwnedFd is its only owner.
    Ok(unsafe { OwnedFd::from_raw_fd(copy) })
}

/// A close-on-exec copy (numbered 3 or above) of descriptor `fd`, which
/// the process may not own (one inherited from its caller): the copy is
/// owned, the original left as it is. `EBADF` when `fd` is not open.
pub fn dup_raw(fd: RawFd) -> nix::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC only reads the descriptor table; on a number
    // that is not open it fails with EBADF and changes nothing.
    let copy = Errno::result(unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) })?;
    // SAFETY: `copy` was just created by this call, so nothing else in the
    // process refers to it: the OwnedFd is its only owner.
    Ok(unsafe { OwnedFd::from_raw_fd(copy) })
}

/// Puts `source` on descriptor `target` (dup2, not close-on-exec) for the
/// program this process is about to exec, and returns it.
///
/// Only for a forked child on its way to an exec: whatever `target` held
/// is replaced, so nothing in the process may use or close what was there
/// afterwards — the child execs, or reports and ends with
/// [`crate::process::exit_immediately`].
pub fn install_for_exec(source: BorrowedFd<'_>, target: RawFd) -> nix::Result<BorrowedFd<'_>> {
    // SAFETY: dup2 touches no memory; the descriptor it may replace at
    // `target` is, by this function's contract, used by nothing in the
    // process any more (the caller execs or exits next).
    let rc = unsafe { libc::dup2(source.as_raw_fd(), target) };
    let fd = Errno::result(rc)?;
    // SAFETY: `fd` (== `target`) was just made a copy of `source` and is
    // open until the exec; the borrow does not outlive `source`'s.
    Ok(unsafe { BorrowedFd::borrow_raw(fd) })
}

fn clear_cloexec(fd: BorrowedFd<'_>) -> nix::Result<()> {
    use nix::fcntl::{fcntl, FcntlArg, FdFlag};
    fcntl(fd, FcntlArg::F_SETFD(FdFlag::empty())).map(drop)
}

/// Marks every descriptor from `first` up as close-on-exec, so an exec
/// leaks none of them.
pub fn cloexec_from(first: RawFd) -> nix::Result<()> {
    let first = libc::c_uint::try_from(first).map_err(|_| Errno::EINVAL)?;
    // SAFETY: with CLOSE_RANGE_CLOEXEC the kernel only sets a flag on each
    // descriptor in the range; nothing is closed, no memory is touched. The
    // raw system call, because not every C library has a wrapper (musl).
    let rc = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            libc::c_uint::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    Errno::result(rc).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipes_are_told_from_sockets_and_files() {
        let (read, write) = nix::unistd::pipe().unwrap();
        assert!(is_pipe(read.as_fd()) && is_pipe(write.as_fd()));
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        assert!(!is_pipe(a.as_fd()));
        let file = std::fs::File::open("/proc/self/status").unwrap();
        assert!(!is_pipe(file.as_fd()));
    }
    use std::os::fd::AsFd;

    #[test]
    fn open_and_closed_descriptors() {
        let file = std::fs::File::open("/dev/null").unwrap();
        let raw = file.as_raw_fd();
        assert!(is_open(raw));
        drop(file);
        assert!(!is_open(raw));
        assert!(!is_open(-1));
    }

    #[test]
    fn open_descriptors_below_64_in_one_call() {
        let file = std::fs::File::open("/dev/null").unwrap();
        let high = dup_at_least(file.as_fd(), 60).unwrap();
        let raw = high.as_raw_fd();
        assert!(raw < 64, "no free descriptor from 60 to 63");
        let open = open_below_64();
        assert_eq!(open & 0b111, 0b111, "the standard descriptors");
        assert_ne!(open & 1 << raw, 0);
        drop(high);
        assert_eq!(open_below_64() & 1 << raw, 0);
        // An O_PATH descriptor is open, but invisible to poll.
        let path = nix::fcntl::open(
            "/dev/null",
            nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .unwrap();
        assert!(is_open(path.as_raw_fd()));
        assert_eq!(open_below_64() & 1 << path.as_raw_fd(), 0);
    }

    #[test]
    fn descriptors_open_across_exec() {
        use nix::fcntl::{fcntl, FcntlArg, FdFlag};
        let file = std::fs::File::open("/dev/null").unwrap();
        assert!(!is_open_across_exec(file.as_raw_fd()));
        fcntl(file.as_fd(), FcntlArg::F_SETFD(FdFlag::empty())).unwrap();
        assert!(is_open_across_exec(file.as_raw_fd()));
        assert!(!is_open_across_exec(-1));
    }

    #[test]
    fn copies_land_where_asked() {
        let file = std::fs::File::open("/dev/null").unwrap();
        let copy = dup_at_least(file.as_fd(), 40).unwrap();
        assert!(copy.as_raw_fd() >= 40);
        let spare = dup_at_least(file.as_fd(), 50).unwrap();
        let placed = install_for_exec(copy.as_fd(), spare.as_raw_fd()).unwrap();
        assert_eq!(placed.as_raw_fd(), spare.as_raw_fd());
    }

    #[test]
    fn cloexec_from_sets_the_flag() {
        use nix::fcntl::{fcntl, FcntlArg, FdFlag};
        let file = std::fs::File::open("/dev/null").unwrap();
        fcntl(file.as_fd(), FcntlArg::F_SETFD(FdFlag::empty())).unwrap();
        cloexec_from(file.as_raw_fd()).unwrap();
        let flags = fcntl(file.as_fd(), FcntlArg::F_GETFD).unwrap();
        assert_ne!(flags & libc::FD_CLOEXEC, 0);
    }
}
