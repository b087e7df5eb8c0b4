//! The caller's standard descriptors and working directory, as handed to
//! the daemon.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd, RawFd};

use jitsudo_proto::PassedFds;

use nix::fcntl::{open, OFlag};

use crate::startup;
use nix::sys::stat::Mode;
use nix::unistd::isatty;

/// Which of fds 0, 1, 2 the caller really had open when we started.
#[derive(Debug, Clone, Copy)]
pub struct Stdio {
    /// `present[n]` is true when fd `n` was open.
    pub present: [bool; 3],
}

impl Stdio {
    /// Which standard descriptors the caller had open. The closed ones hold
    /// /dev/null placeholders by now (put there by the runtime), so no
    /// descriptor this client opens later can land in slot 0, 1 or 2; the
    /// placeholders are never sent: a closed descriptor stays closed for
    /// the command.
    pub fn claim() -> Stdio {
        let closed = startup::closed_fds();
        Stdio {
            present: [0, 1, 2].map(|fd| closed & (1 << fd) == 0),
        }
    }

    /// The descriptors that go with a request: the present ones of fds
    /// 0-2 and the working directory `cwd`.
    pub fn passed<'a>(&self, cwd: &'a OwnedFd) -> PassedFds<BorrowedFd<'a>> {
        PassedFds {
            stdio: [0, 1, 2].map(|fd| self.present[fd as usize].then(|| borrow(fd))),
            cwd: Some(cwd.as_fd()),
        }
    }

    /// Whether `fd` (0, 1 or 2) is present and a terminal.
    pub fn is_tty(&self, fd: RawFd) -> bool {
        self.present[fd as usize] && isatty(borrow(fd)).unwrap_or(false)
    }
}

fn borrow(fd: RawFd) -> BorrowedFd<'static> {
    // SAFETY: fds 0-2 stay open for the whole life of the client (closed
    // ones were filled with /dev/null by the runtime before `main`).
    unsafe { BorrowedFd::borrow_raw(fd) }
}

/// Opens the caller's working directory as an `O_PATH` descriptor.
pub fn cwd() -> nix::Result<OwnedFd> {
    open(
        ".",
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}
