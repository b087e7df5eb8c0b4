//! The caller's standard descriptors and working directory, as handed to
//! the daemon.

use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd, RawFd};

use nix::fcntl::{fcntl, open, FcntlArg, OFlag};
use nix::sys::stat::Mode;
use nix::unistd::isatty;

/// Which of fds 0, 1, 2 the caller really had open when we started.
#[derive(Debug, Clone, Copy)]
pub struct Stdio {
    /// `present[n]` is true when fd `n` was open.
    pub present: [bool; 3],
}

impl Stdio {
    /// Records which standard descriptors are open and fills the closed
    /// ones with `/dev/null` placeholders, so that no descriptor this client
    /// opens later (the daemon's socket) can land in slot 0, 1 or 2. The
    /// placeholders are never sent: a closed descriptor stays closed for the
    /// command.
    pub fn claim() -> Stdio {
        let mut present = [false; 3];
        for (fd, slot) in present.iter_mut().enumerate() {
            *slot = is_open(fd as RawFd);
            if !*slot {
                occupy(fd as RawFd);
            }
        }
        Stdio { present }
    }

    /// The descriptors to attach to the request, in order.
    pub fn attached(&self) -> Vec<RawFd> {
        (0..3).filter(|fd| self.present[*fd as usize]).collect()
    }

    /// Whether `fd` (0, 1 or 2) is present and a terminal.
    pub fn is_tty(&self, fd: RawFd) -> bool {
        self.present[fd as usize] && isatty(borrow(fd)).unwrap_or(false)
    }
}

fn borrow(fd: RawFd) -> std::os::fd::BorrowedFd<'static> {
    // SAFETY: fds 0-2 stay open for the whole life of the client (closed
    // ones are filled with placeholders by `Stdio::claim` before any use).
    unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) }
}

fn is_open(fd: RawFd) -> bool {
    fcntl(borrow(fd), FcntlArg::F_GETFD).is_ok()
}

fn occupy(fd: RawFd) {
    // The lowest free descriptor is `fd` because every lower one is open.
    // The placeholder must stay open for the life of the process.
    if let Ok(null) = open("/dev/null", OFlag::O_RDWR, Mode::empty()) {
        debug_assert_eq!(null.as_raw_fd(), fd);
        let _ = null.into_raw_fd();
    }
}

/// Opens the caller's working directory as an `O_PATH` descriptor.
pub fn cwd() -> nix::Result<OwnedFd> {
    open(
        ".",
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}
