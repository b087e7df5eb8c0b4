//! The caller's standard descriptors and working directory, as handed to
//! the daemon.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use jitsudo_sys::fd::Std;

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
            stdio: Std::ALL.map(|fd| self.is_present(fd).then(|| fd.borrow())),
            cwd: Some(cwd.as_fd()),
        }
    }

    /// Whether the caller had `fd` open.
    pub fn is_present(&self, fd: Std) -> bool {
        self.present[fd as usize]
    }

    /// Whether `fd` is present and a terminal.
    pub fn is_tty(&self, fd: Std) -> bool {
        self.is_present(fd) && isatty(fd.borrow()).unwrap_or(false)
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
